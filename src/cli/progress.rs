//! Progress bars for migration events.

use std::collections::HashMap;

use forklift::migrate::{MigrationEvent, VmOutcome};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

/// Consumes events until the channel closes: bars per disk when `bars`, one line per
/// milestone on stderr otherwise.
pub async fn show(mut events: mpsc::Receiver<MigrationEvent>, bars: bool) {
    let multi = MultiProgress::with_draw_target(if bars {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template(
        "{prefix:>28} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let mut disks: HashMap<String, ProgressBar> = HashMap::new();
    // VM and disk names, and errors, come from the source: printed escaped.
    let say = |multi: &MultiProgress, line: String| {
        let line = super::terminal::line(&line);
        if bars {
            let _ = multi.println(line);
        } else {
            eprintln!("{line}");
        }
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
                say(&multi, format!("{vm}: started as {target_name}"))
            }
            MigrationEvent::VmRemigrating {
                vm,
                target_name,
                reason,
            } => say(
                &multi,
                format!(
                    "{vm}: recorded as migrated as {target_name}, but {reason}: migrating it again"
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
                disk,
                bytes_done,
                bytes_total,
                ..
            } => {
                let bar = disks.entry(disk.clone()).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new(bytes_total));
                    bar.set_style(style.clone());
                    bar.set_prefix(super::terminal::line(&disk));
                    bar
                });
                bar.set_position(bytes_done);
            }
            MigrationEvent::DiskCopied {
                disk,
                summary,
                verified,
                ..
            } => {
                if let Some(bar) = disks.get(&disk) {
                    bar.set_position(summary.bytes_total);
                    bar.finish_with_message(if verified { "verified" } else { "done" });
                }
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
                        "{disk}: {} MiB written, {} MiB skipped{resumed}, {:.1} MiB/s{}",
                        summary.bytes_written >> 20,
                        (summary.bytes_skipped + summary.bytes_zeroed) >> 20,
                        summary.mib_per_s,
                        if verified {
                            ", verified against the source"
                        } else {
                            ""
                        }
                    ),
                );
            }
            MigrationEvent::VmCompleted {
                vm,
                target_name,
                outcome,
                error,
            } => {
                let text = match outcome {
                    VmOutcome::Succeeded => format!("{vm}: migrated as {target_name}"),
                    VmOutcome::Skipped => {
                        format!("{vm}: already migrated as {target_name}, skipped")
                    }
                    VmOutcome::Canceled => format!("{vm}: cancelled"),
                    VmOutcome::Failed => format!("{vm}: FAILED: {}", error.unwrap_or_default()),
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
