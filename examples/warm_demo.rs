//! The warm migration demo (`scripts/warm-demo.sh` runs it): migrates the simulator's VM
//! warm into a local folder while its guest writes steadily into its disks, sets the cutover
//! by editing the Migration manifest, then compares every target image with its source.
//!
//! Environment (from `scripts/lib/vcsim.sh`): `VCSIM_URL`, `VCSIM_CA`, `VCSIM_DISKS`.
//! The VM stays on: the simulator runs it with VMware Tools (`VCSIM_ARGS` in the script), so
//! the cutover asks its guest to shut down. Prints each precopy, the forecast, then the
//! forecast and actual final sync with their ratio, and the downtime.
//! Arguments: `DIR LIBDIR` (work folder, fake VDDK libdir). Exit 0 only when every target
//! disk equals its source at the cutover.

#[path = "../tests/common/warm_sim.rs"]
mod warm_sim;

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use forklift::migrate::{LocalDestination, MigrateOptions, MigrationEvent, Migrator, VmOutcome};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One disk of the simulated VM, as `vcsim -describe` lists it.
struct Disk {
    vm: String,
    vm_name: String,
    file: String,
    local: PathBuf,
}

fn disks(path: &str) -> Result<Vec<Disk>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            match f.as_slice() {
                [vm, name, _key, _capacity, file, local] => Ok(Disk {
                    vm: (*vm).to_owned(),
                    vm_name: (*name).to_owned(),
                    file: (*file).to_owned(),
                    local: PathBuf::from(local),
                }),
                _ => Err(format!("{path}: unexpected line {line:?}")),
            }
        })
        .collect()
}

/// The guest: from its start until `stop`, writes a 64 KiB area into each disk every
/// 100 ms (a steady 640 KiB/s per disk, about 1% of a 256 MiB disk per 4 s), spread over
/// the first 64 MiB. Returns the bytes written.
fn guest(
    disks: Vec<PathBuf>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Result<u64, String>> {
    std::thread::spawn(move || {
        let area: u64 = 64 * 1024;
        let span: u64 = 64 << 20;
        let mut written = 0;
        for i in 0u64.. {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            for (d, local) in disks.iter().enumerate() {
                let offset = (i * 7919 + d as u64 * 104_729) * area % span;
                warm_sim::guest_write(local, offset, area as usize, (i as u8) ^ (d as u8))
                    .map_err(|e| format!("{}: {e}", local.display()))?;
                written += area;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(written)
    })
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (run scripts/warm-demo.sh)"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match demo().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("warm-demo: {e}");
            ExitCode::from(2)
        }
    }
}

async fn demo() -> Result<bool, String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, libdir] = args.as_slice() else {
        return Err("usage: warm_demo DIR LIBDIR".into());
    };
    let (dir, libdir) = (PathBuf::from(dir), PathBuf::from(libdir));
    let url = env("VCSIM_URL")?;
    let ca = std::fs::read_to_string(env("VCSIM_CA")?).map_err(|e| e.to_string())?;
    let disks = disks(&env("VCSIM_DISKS")?)?;
    let first = disks.first().ok_or("the simulator lists no disk")?;

    // CBT on; the VM stays on (its VMware Tools run, so the cutover asks the guest to shut
    // down; the simulator's guest takes a second).
    let source = warm_sim::Source {
        url: &url,
        ca_pem: &ca,
        libdir: &libdir,
        datastore: warm_sim::datastore_of(&first.file),
    };
    let network = warm_sim::prepare(&source, &[&first.vm], false)
        .await
        .map_err(|e| e.to_string())?;

    let manifests_dir = dir.join("manifests");
    std::fs::create_dir_all(&manifests_dir).map_err(|e| e.to_string())?;
    let plan_file = manifests_dir.join("plan.yaml");
    let migration_file = manifests_dir.join("migration.yaml");
    let plan = warm_sim::manifests(&source, &[&first.vm_name], &network);
    std::fs::write(&plan_file, plan).map_err(|e| e.to_string())?;
    std::fs::write(&migration_file, warm_sim::migration(None)).map_err(|e| e.to_string())?;
    let set = forklift::manifests::load_paths(&[&plan_file, &migration_file]);
    let out = dir.join("out");
    let mut options = MigrateOptions::new(LocalDestination::new(&out));
    options.precopy_interval = Some(Duration::from_secs(2));
    let migrator = Migrator::new(&set, None, options).map_err(|e| e.to_string())?;
    let (tx, mut rx) = mpsc::channel(4096);
    let run = migrator.run(tx, CancellationToken::new());
    tokio::pin!(run);
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writer = None;
    let result = loop {
        tokio::select! {
            result = &mut run => break result,
            Some(event) = rx.recv() => {
                // A guest asked to shut down stops writing (the source is off a second later,
                // long before the final snapshot).
                if let MigrationEvent::PhaseStarted { phase, .. } = &event {
                    if phase == "PowerOffSource" {
                        stop.store(true, Ordering::SeqCst);
                    }
                    continue;
                }
                if let MigrationEvent::SourcePoweredOff { power_off, .. } = &event {
                    println!("source powered off: {:?} in {:.2} s{}", power_off.method,
                        power_off.millis as f64 / 1000.0,
                        if power_off.reason.is_empty() { String::new() } else { format!(" ({})", power_off.reason) });
                    continue;
                }
                let MigrationEvent::PrecopyDone { precopy, last, bytes, forecast, .. } = event else {
                    continue;
                };
                for (disk, n) in &bytes {
                    println!("precopy {precopy}{}: disk {disk} copied {n} bytes", if last { " (final)" } else { "" });
                }
                if last {
                    continue;
                }
                if let Some(f) = &forecast {
                    println!(
                        "  forecast if cut over now: final sync {:.3} s, downtime {:.2} s (guest shutdown assumed {:.0} s)",
                        f.final_sync_millis as f64 / 1000.0,
                        f.downtime_millis as f64 / 1000.0,
                        f.power_off_millis as f64 / 1000.0,
                    );
                }
                // The guest starts writing after the first precopy ...
                if precopy == 1 {
                    let locals = disks.iter().map(|d| d.local.clone()).collect();
                    writer = Some(guest(locals, stop.clone()));
                    println!("  the guest writes 64 KiB into each disk every 100 ms");
                }
                // ... and the cutover is set in the Migration manifest after the third.
                if precopy == 3 {
                    let now = forklift::core::time::format_rfc3339(unix_now());
                    std::fs::write(&migration_file, warm_sim::migration(Some(&now))).map_err(|e| e.to_string())?;
                    println!("  cutover set to {now} in {}", migration_file.display());
                }
            }
        }
    };
    stop.store(true, Ordering::SeqCst);
    if let Some(writer) = writer {
        let written = writer.join().map_err(|_| "the guest writer panicked")??;
        println!("the guest wrote {written} bytes in all");
    }
    let report = result.map_err(|e| forklift::core::error::chain(&e))?;
    println!("migration took {:.1} s", started.elapsed().as_secs_f64());
    let Some(vm) = report.vms.first() else {
        return Err("no VM in the report".into());
    };
    if vm.outcome != VmOutcome::Succeeded {
        println!(
            "the VM did not migrate: {:?} {}",
            vm.outcome,
            vm.error.clone().unwrap_or_default()
        );
        return Ok(false);
    }
    if let Some(f) = vm.warm.as_ref().and_then(|w| w.forecast.as_ref()) {
        let secs = |ms: u64| ms as f64 / 1000.0;
        let actual = f.actual_final_sync_millis.unwrap_or_default();
        println!(
            "final sync (source off until the final snapshot is removed): forecast {:.3} s, actual {:.3} s, actual/forecast {:.2}",
            secs(f.final_sync_millis),
            secs(actual),
            actual as f64 / f.final_sync_millis.max(1) as f64,
        );
        println!(
            "  forecast parts: snapshot remove {:.3} s (x2), create {:.3} s, change query {:.3} s, copy {:.3} s of {} bytes ({} B/s dirtied, {} B/s copied)",
            secs(f.snapshot_remove_millis),
            secs(f.snapshot_create_millis),
            secs(f.change_query_millis),
            secs(f.copy_millis),
            f.final_bytes,
            f.dirty_bytes_per_second,
            f.copy_bytes_per_second,
        );
        println!(
            "downtime: forecast {:.2} s, actual {:.2} s (power-off {:.2} s measured)",
            secs(f.downtime_millis),
            secs(f.actual_downtime_millis.unwrap_or_default()),
            secs(f.actual_power_off_millis.unwrap_or_default()),
        );
    }
    let mut identical = true;
    for (i, disk) in disks.iter().enumerate() {
        let Some(target) = vm.disks.iter().find(|d| d.index == i) else {
            println!("disk {}: no target", disk.file);
            identical = false;
            continue;
        };
        let compare = Command::new("qemu-img")
            .args(["compare", "-q", "-f", "raw", "-F", "raw", &target.path])
            .arg(&disk.local)
            .status()
            .map_err(|e| format!("qemu-img: {e}"))?;
        println!(
            "qemu-img compare {} {}: {}",
            target.path,
            disk.local.display(),
            if compare.success() {
                "identical"
            } else {
                "DIFFERENT"
            }
        );
        identical &= compare.success();
    }
    Ok(identical)
}

/// Seconds since the epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
