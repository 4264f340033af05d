//! The warm precopy benchmark (`benches/warm-precopy.sh` runs it): per round, one warm
//! migration of the simulator's VM (one disk, fully written) into a fresh folder: precopy 1
//! copies every allocated area, the guest then rewrites `DIRTY_PERMILLE`‰ of the disk in
//! 64 KiB areas, precopy 2 copies what changed, and the cutover follows. Times come from the
//! migration's own events (phase starts, each disk copy's wall time), so each round gives
//! the full and the incremental copy of the same run, and the fixed costs of a precopy.
//!
//! Environment (from `scripts/lib/vcsim.sh`): `VCSIM_URL`, `VCSIM_CA`, `VCSIM_DISKS`;
//! `ROUNDS` (default 5), `DIRTY_PERMILLE` (default 10, i.e. 1%).
//! Arguments: `DIR LIBDIR` (work folder, fake VDDK libdir).

#[path = "../tests/common/warm_sim.rs"]
mod warm_sim;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use forklift::migrate::{LocalDestination, MigrateOptions, MigrationEvent, Migrator, VmOutcome};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What one round measured, in seconds.
#[derive(Debug, Default, Clone, Copy)]
struct Round {
    /// Precopy 1: the CopyDisks phase (planning from `*` and copying every allocated area).
    full_phase: f64,
    /// Precopy 1: the disk copy alone.
    full_copy: f64,
    /// Precopy 2: the CopyDisks phase (querying the changed areas and copying them).
    delta_phase: f64,
    /// Precopy 2: the disk copy alone.
    delta_copy: f64,
    /// Precopy 2's fixed costs: removing the previous snapshot, taking the new one, reading
    /// its change ids.
    remove: f64,
    create: f64,
    change_ids: f64,
    /// Bytes precopies 1 and 2 copied.
    full_bytes: u64,
    delta_bytes: u64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (run benches/warm-precopy.sh)"))
}

fn env_number(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match bench().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warm-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn bench() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, libdir] = args.as_slice() else {
        return Err("usage: warm_bench DIR LIBDIR".into());
    };
    let (dir, libdir) = (PathBuf::from(dir), PathBuf::from(libdir));
    let rounds = env_number("ROUNDS", 5)?;
    let permille = env_number("DIRTY_PERMILLE", 10)?;
    let url = env("VCSIM_URL")?;
    let ca = std::fs::read_to_string(env("VCSIM_CA")?).map_err(|e| e.to_string())?;
    let disks = std::fs::read_to_string(env("VCSIM_DISKS")?).map_err(|e| e.to_string())?;
    let disk: Vec<&str> = disks
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .ok_or("the simulator lists no disk")?
        .split('\t')
        .collect();
    let [vm, vm_name, _key, capacity, file, local] = disk.as_slice() else {
        return Err(format!("unexpected disk line {disk:?}"));
    };
    let capacity: u64 = capacity.parse().map_err(|_| "bad capacity")?;
    let local = PathBuf::from(local);
    let source = warm_sim::Source {
        url: &url,
        ca_pem: &ca,
        libdir: &libdir,
        datastore: warm_sim::datastore_of(file),
    };
    // The VM off: the cutover then has no guest to wait for.
    let network = warm_sim::prepare(&source, &[vm], true)
        .await
        .map_err(|e| e.to_string())?;
    let manifests = dir.join("manifests");
    std::fs::create_dir_all(&manifests).map_err(|e| e.to_string())?;
    let plan_file = manifests.join("plan.yaml");
    let plan = warm_sim::manifests(&source, &[vm_name], &network);
    std::fs::write(&plan_file, plan).map_err(|e| e.to_string())?;
    let migration_file = manifests.join("migration.yaml");
    std::fs::write(&migration_file, warm_sim::migration(None)).map_err(|e| e.to_string())?;
    let set = forklift::manifests::load_paths(&[&plan_file, &migration_file]);

    let area: u64 = 64 * 1024;
    let dirty_areas = capacity * permille / 1000 / area;
    println!(
        "disk {file}: {} MiB; {dirty_areas} areas of 64 KiB ({} MiB, {permille}‰) rewritten between precopies 1 and 2",
        capacity >> 20,
        (dirty_areas * area) >> 20
    );
    let mut results = Vec::new();
    for round in 1..=rounds {
        let out = dir.join(format!("out-{round}"));
        let _ = std::fs::remove_dir_all(&out);
        let mut options = MigrateOptions::new(LocalDestination::new(&out));
        options.precopy_interval = Some(Duration::from_millis(200));
        let migrator = Migrator::new(&set, None, options).map_err(|e| e.to_string())?;
        let r = one_round(&migrator, &local, capacity, dirty_areas, round).await?;
        println!(
            "round {round}: full copy {:.3} s ({} MiB; phase {:.3} s), {permille}‰ delta {:.4} s ({} KiB; phase {:.4} s): {:.2}% of the full copy ({:.2}% by phase); fixed: snapshot remove {:.3} s, create {:.3} s, change ids {:.3} s",
            r.full_copy,
            r.full_bytes >> 20,
            r.full_phase,
            r.delta_copy,
            r.delta_bytes >> 10,
            r.delta_phase,
            100.0 * r.delta_copy / r.full_copy,
            100.0 * r.delta_phase / r.full_phase,
            r.remove,
            r.create,
            r.change_ids,
        );
        let _ = std::fs::remove_dir_all(&out);
        results.push(r);
    }
    let m = |f: fn(&Round) -> f64| median(results.iter().map(f).collect());
    println!(
        "median of {rounds}: full copy {:.3} s, delta copy {:.4} s, delta/full {:.2}% (phases: {:.3} s, {:.4} s, {:.2}%)",
        m(|r| r.full_copy),
        m(|r| r.delta_copy),
        100.0 * m(|r| r.delta_copy / r.full_copy),
        m(|r| r.full_phase),
        m(|r| r.delta_phase),
        100.0 * m(|r| r.delta_phase / r.full_phase),
    );
    println!(
        "median fixed cost per precopy: snapshot remove {:.3} s, snapshot create {:.3} s, change ids {:.3} s",
        m(|r| r.remove),
        m(|r| r.create),
        m(|r| r.change_ids),
    );
    Ok(())
}

/// Runs one warm migration and measures it.
async fn one_round(
    migrator: &Migrator,
    local: &std::path::Path,
    capacity: u64,
    dirty_areas: u64,
    round: u64,
) -> Result<Round, String> {
    let (tx, mut rx) = mpsc::channel(4096);
    let run = migrator.run(tx, CancellationToken::new());
    tokio::pin!(run);
    let mut r = Round::default();
    // When each phase last started, and the disk copy seconds of the running precopy.
    let mut started: BTreeMap<String, Instant> = BTreeMap::new();
    let mut copy_seconds = 0.0;
    let result = loop {
        tokio::select! {
            result = &mut run => break result,
            Some(event) = rx.recv() => match event {
                MigrationEvent::PhaseStarted { phase, .. } => {
                    started.insert(phase, Instant::now());
                }
                MigrationEvent::DiskCopied { summary, .. } => copy_seconds += summary.seconds,
                MigrationEvent::PrecopyDone { precopy, bytes, .. } => {
                    let now = Instant::now();
                    let since = |phase: &str| started.get(phase).map_or(0.0, |t| (now - *t).as_secs_f64());
                    let between = |a: &str, b: &str| match (started.get(a), started.get(b)) {
                        (Some(a), Some(b)) => (*b - *a).as_secs_f64(),
                        _ => 0.0,
                    };
                    let copied: u64 = bytes.iter().map(|(_, n)| n).sum();
                    match precopy {
                        1 => {
                            (r.full_phase, r.full_copy, r.full_bytes) = (since("CopyDisks"), copy_seconds, copied);
                            // The guest rewrites areas spread over the disk.
                            let stride = (capacity / 65_536 / dirty_areas.max(1)).max(1);
                            for i in 0..dirty_areas {
                                let offset = (i * stride + round) % (capacity / 65_536) * 65_536;
                                warm_sim::guest_write(local, offset, 65_536, round as u8 ^ i as u8)
                                    .map_err(|e| format!("{}: {e}", local.display()))?;
                            }
                        }
                        2 => {
                            (r.delta_phase, r.delta_copy, r.delta_bytes) = (since("CopyDisks"), copy_seconds, copied);
                            r.remove = between("RemovePreviousSnapshot", "CreateSnapshot");
                            r.create = between("CreateSnapshot", "StoreSnapshotDeltas");
                            r.change_ids = between("StoreSnapshotDeltas", "CopyDisks");
                            migrator.cutover(None).map_err(|e| e.to_string())?;
                        }
                        _ => {}
                    }
                    copy_seconds = 0.0;
                }
                _ => {}
            },
        }
    };
    let report = result.map_err(|e| forklift::core::error::chain(&e))?;
    match report.vms.first() {
        Some(vm) if vm.outcome == VmOutcome::Succeeded => Ok(r),
        Some(vm) => Err(format!(
            "round {round}: the VM did not migrate: {:?} {}",
            vm.outcome,
            vm.error.clone().unwrap_or_default()
        )),
        None => Err("no VM in the report".into()),
    }
}
