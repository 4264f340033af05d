//! Progress for migration events: bars on a terminal, plain lines elsewhere.
//!
//! Bars show data rates (bytes read from the source; skipped zero and unallocated ranges
//! move the bar but not the rate) and an ETA, as `forklift copy` does. With `--progress` and
//! stderr redirected (a log file, CI), each disk prints a plain line every
//! [`PLAIN_PROGRESS_INTERVAL`] instead. VMs are named by their target names, not ids; a VM
//! that fails or is cancelled leaves no bar behind.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use forklift::migrate::{MigrationEvent, VmOutcome};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

/// How often a disk's plain progress line is printed when stderr is not a terminal.
pub const PLAIN_PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

/// One disk being copied.
struct DiskBar {
    /// Source VM id.
    vm: String,
    /// What lines and the bar call it: `VM disk N`.
    label: String,
    bar: ProgressBar,
    /// When its last plain line was printed.
    printed: Option<Instant>,
}

/// `12.3 MiB/s`.
fn rate(bytes_per_second: f64) -> String {
    format!("{:.1} MiB/s", bytes_per_second / f64::from(1u32 << 20))
}

/// Consumes events until the channel closes: bars per disk when `bars` and stderr is a
/// terminal, periodic plain lines when `bars` and it is not, and one line per milestone.
pub async fn show(mut events: mpsc::Receiver<MigrationEvent>, bars: bool) {
    let plain_progress = bars && !std::io::stderr().is_terminal();
    let bars = bars && !plain_progress;
    let multi = MultiProgress::with_draw_target(if bars {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template(
        "{prefix:>28} [{bar:30}] {bytes:>10}/{total_bytes:<10} {msg:>12} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let mut disks: HashMap<String, DiskBar> = HashMap::new();
    // Target names by source VM id, and how many disks each VM has shown.
    let mut names: HashMap<String, String> = HashMap::new();
    let mut disk_counts: HashMap<String, usize> = HashMap::new();
    // VM and disk names, and errors, come from the source: printed escaped.
    let say = |multi: &MultiProgress, line: String| {
        let line = super::terminal::line(&line);
        if bars {
            let _ = multi.println(line);
        } else {
            eprintln!("{line}");
        }
    };
    let name_of = |names: &HashMap<String, String>, vm: &str| -> String {
        names.get(vm).cloned().unwrap_or_else(|| vm.to_owned())
    };
    while let Some(event) = events.recv().await {
        match event {
            MigrationEvent::Validated { ready, conditions } => {
                let blockers = conditions.iter().filter(|c| c.is_blocker()).count();
                say(
                    &multi,
                    format!(
                        "validated: ready={ready}, {} conditions, {blockers} blockers",
                        conditions.len()
                    ),
                );
            }
            MigrationEvent::PlanStarted {
                plan,
                vms,
                bytes_total,
            } => {
                say(
                    &multi,
                    format!("plan {plan}: {vms} VMs, {} MiB of disks", bytes_total >> 20),
                );
            }
            MigrationEvent::VmStarted { vm, target_name } => {
                say(&multi, format!("{target_name}: started (source VM {vm})"));
                names.insert(vm, target_name);
            }
            MigrationEvent::VmRemigrating {
                vm,
                target_name,
                reason,
            } => say(
                &multi,
                format!(
                    "{target_name}: recorded as migrated, but {reason}: migrating it again (source VM {vm})"
                ),
            ),
            MigrationEvent::PhaseSkipped { vm, phase, reason } => {
                tracing::debug!(%vm, %phase, %reason, "phase skipped");
            }
            MigrationEvent::PhaseStarted { vm, phase, .. } => tracing::info!(%vm, %phase, "phase"),
            MigrationEvent::ConversionProgress { vm, seconds, stage } => {
                say(&multi, format!("{vm}: conversion [{seconds:6.1}] {stage}"));
            }
            MigrationEvent::DiskProgress {
                vm,
                disk,
                bytes_done,
                bytes_total,
                bytes_per_second,
            } => {
                let entry = disks.entry(disk.clone()).or_insert_with(|| {
                    let count = disk_counts.entry(vm.clone()).or_default();
                    *count += 1;
                    let label = format!("{} disk {count}", name_of(&names, &vm));
                    let bar = multi.add(ProgressBar::new(bytes_total));
                    bar.set_style(style.clone());
                    bar.set_prefix(super::terminal::line(&label));
                    DiskBar {
                        vm: vm.clone(),
                        label,
                        bar,
                        printed: None,
                    }
                });
                entry.bar.set_position(bytes_done);
                entry.bar.set_message(rate(bytes_per_second));
                let due = entry
                    .printed
                    .is_none_or(|at| at.elapsed() >= PLAIN_PROGRESS_INTERVAL);
                // Each disk gets at least one line, even a copy that ends before its first
                // progress tick; a finished one gets no other (its summary line follows).
                if plain_progress && due && (bytes_done < bytes_total || entry.printed.is_none()) {
                    entry.printed = Some(Instant::now());
                    let percent = bytes_done * 100 / bytes_total.max(1);
                    let eta = entry.bar.eta().as_secs();
                    eprintln!(
                        "{}",
                        super::terminal::line(&format!(
                            "{}: {} of {} MiB ({percent}%), {}, ETA {eta} s",
                            entry.label,
                            bytes_done >> 20,
                            bytes_total >> 20,
                            rate(bytes_per_second)
                        ))
                    );
                }
            }
            MigrationEvent::DiskCopied {
                disk,
                summary,
                verified,
                ..
            } => {
                let label = match disks.get(&disk) {
                    Some(entry) => {
                        entry.bar.set_position(summary.bytes_total);
                        entry
                            .bar
                            .finish_with_message(if verified { "verified" } else { "done" });
                        entry.label.clone()
                    }
                    None => disk.clone(),
                };
                let resumed = if summary.bytes_resumed > 0 {
                    format!(
                        ", {} MiB resumed from an earlier run",
                        summary.bytes_resumed >> 20
                    )
                } else {
                    String::new()
                };
                say(
                    &multi,
                    format!(
                        "{label}: {} MiB written, {} MiB skipped{resumed}, {}{}",
                        summary.bytes_written >> 20,
                        (summary.bytes_skipped + summary.bytes_zeroed) >> 20,
                        // Data read, not the disk's size: skipped ranges cost nothing.
                        rate(summary.bytes_read as f64 / summary.seconds.max(1e-9)),
                        if verified {
                            ", verified against the source"
                        } else {
                            ""
                        }
                    ),
                );
            }
            MigrationEvent::PrecopyDone {
                vm,
                precopy,
                last,
                bytes,
                forecast,
            } => {
                // The next precopy's copies start this VM's bars over.
                for entry in disks.values_mut().filter(|d| d.vm == vm) {
                    entry.bar.reset();
                    entry.printed = None;
                }
                for line in super::warm_progress::precopy_lines(
                    &name_of(&names, &vm),
                    precopy,
                    last,
                    &bytes,
                    forecast.as_ref(),
                ) {
                    say(&multi, line);
                }
            }
            MigrationEvent::SourcePoweredOff { vm, power_off } => {
                say(
                    &multi,
                    super::warm_progress::power_off_line(&name_of(&names, &vm), &power_off),
                );
            }
            MigrationEvent::VmCompleted {
                vm,
                target_name,
                outcome,
                error,
            } => {
                // A failed or cancelled VM's unfinished bars go: no stale bar stays on screen.
                for entry in disks.values().filter(|d| d.vm == vm) {
                    if !entry.bar.is_finished() {
                        entry.bar.finish_and_clear();
                    }
                }
                let text = match outcome {
                    VmOutcome::Succeeded => format!("{target_name}: migrated"),
                    VmOutcome::Skipped => {
                        format!("{target_name}: already migrated, skipped")
                    }
                    VmOutcome::Canceled => format!("{target_name}: cancelled"),
                    VmOutcome::Failed => {
                        format!("{target_name}: FAILED: {}", error.unwrap_or_default())
                    }
                };
                say(&multi, text);
            }
            MigrationEvent::PlanCompleted {
                succeeded,
                failed,
                canceled,
                skipped,
            } => say(
                &multi,
                format!(
                    "plan done: {succeeded} succeeded, {failed} failed, {canceled} cancelled, {skipped} skipped"
                ),
            ),
            _ => {}
        }
    }
}
