//! Warm migration from oVirt through incremental backups: the test engine's backups and
//! checkpoints are real qemu dirty bitmaps in the live qcow2 images, the guest's writes
//! between precopies are real `qemu-io` writes into them, and every precopy is read through
//! the real imageio daemon (`extents?context=dirty` for the changed areas). The target disks
//! must be `qemu-img compare`-identical to the sources at the cutover, and no backup,
//! transfer or ticket may be left open, whatever happened.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use forklift::core::manifest::ManifestSet;
use forklift::migrate::{LocalDestination, MigrateOptions, MigrationEvent, Migrator, VmOutcome};
use forklift::migrate::{PlanReport, VmReport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::local_plan::migrate_local;
use super::support::{Setup, VM1, VM2, plan_manifests, run};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// Provider, maps and a WARM plan of `vms`, with a ForkliftController that enables
/// `controller_ovirt_warm_migration` (off by default, as upstream's environment default).
fn warm_plan(setup: &Setup, vms: &[&str]) -> ManifestSet {
    warm_plan_gated(setup, vms, true)
}

/// [`warm_plan`], with the ForkliftController only when `gate`.
fn warm_plan_gated(setup: &Setup, vms: &[&str], gate: bool) -> ManifestSet {
    let dir = setup.dir.path().join("manifests");
    std::fs::create_dir_all(&dir).unwrap();
    setup.provider_manifests(&dir);
    plan_manifests(&dir, vms);
    let provider = std::fs::read_to_string(dir.join("provider.yaml")).unwrap();
    let plan = std::fs::read_to_string(dir.join("plan.yaml"))
        .unwrap()
        .replace("warm: false", "warm: true");
    let controller = "apiVersion: forklift.konveyor.io/v1beta1\nkind: ForkliftController\n\
        metadata: {name: forklift-controller, namespace: konveyor-forklift}\n\
        spec: {controller_ovirt_warm_migration: 'true'}\n";
    let controller = if gate { controller } else { "" };
    let set = ManifestSet::parse(
        "ovirt-warm",
        &format!("{provider}---\n{plan}---\n{controller}"),
    );
    assert!(!set.has_errors(), "{:?}", set.diagnostics());
    set
}

/// A guest write: `len` bytes of `byte` at `offset` of the live qcow2 `image` (its
/// checkpoints' bitmaps record it, as a running VM's would).
fn guest_write(image: &Path, offset: u64, len: u64, byte: u8) {
    run(Command::new("qemu-io")
        .args(["-f", "qcow2", "-c"])
        .arg(format!("write -P {byte} {offset} {len}"))
        .arg(image));
}

fn options(setup: &Setup) -> MigrateOptions {
    let out = setup.dir.path().join("out");
    let mut options = MigrateOptions::new(LocalDestination::new(&out));
    options.precopy_interval = Some(Duration::from_millis(300));
    options.copy.request_size = 64 * 1024;
    options
}

/// Asserts nothing is left open: no backup, no transfer, no imageio ticket.
fn assert_nothing_open(setup: &Setup) {
    assert!(
        setup.engine.open_backups().is_empty(),
        "{:#?}",
        setup.engine.open_backups()
    );
    assert!(
        setup.engine.open_transfers().is_empty(),
        "{:#?}",
        setup.engine.open_transfers()
    );
    assert_eq!(setup.tickets.tickets_on_daemon(), 0);
}

fn vm_report<'a>(report: &'a PlanReport, id: &str) -> &'a VmReport {
    report.vms.iter().find(|v| v.id == id).unwrap()
}

/// Bytes a VM's precopies copied: (precopy, last, bytes per disk id).
type Copied = BTreeMap<String, Vec<(usize, bool, BTreeMap<String, u64>)>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn warm_plan_of_two_vms_copies_dirty_extents_and_matches_at_cutover() {
    let setup = Setup::start().await;
    let set = warm_plan(&setup, &[VM1, VM2]);
    let migrator = Migrator::new(&set, None, options(&setup)).unwrap();
    let image = |i: usize| setup.disks[i].2.clone();
    let id = |i: usize| setup.disks[i].1.clone();
    let (tx, mut rx) = mpsc::channel(4096);
    let running = migrator.run(tx, CancellationToken::new());
    tokio::pin!(running);
    let mut copied = Copied::new();
    let result = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            tokio::select! {
                result = &mut running => break result,
                Some(event) = rx.recv() => {
                    let MigrationEvent::PrecopyDone { vm, precopy, last, bytes, .. } = event else {
                        continue;
                    };
                    // The backup of this precopy is frozen; the guest writes on.
                    match (vm.as_str(), precopy) {
                        (VM1, 1) => {
                            guest_write(&image(0), 4 * MIB, 64 * KIB, 0x41);
                            guest_write(&image(0), 20 * MIB, 128 * KIB, 0x42);
                        }
                        (VM2, 1) => guest_write(&image(2), 8 * MIB, MIB, 0x43),
                        (VM1, 2) => guest_write(&image(1), 3 * MIB, 64 * KIB, 0x44),
                        (VM2, 2) => guest_write(&image(2), 0, 192 * KIB, 0x45),
                        _ => {}
                    }
                    let list = copied.entry(vm).or_default();
                    list.push((precopy, last, bytes.into_iter().collect()));
                    let both = [VM1, VM2].iter().all(|v| {
                        copied.get(*v).is_some_and(|l| l.iter().any(|p| p.0 >= 2))
                    });
                    if both {
                        // Idempotent: a later call sets the same "now".
                        migrator.cutover(None).unwrap();
                    }
                }
            }
        }
    })
    .await
    .expect("the warm migration did not end");
    let report = result.unwrap();
    for vm in &report.vms {
        assert_eq!(vm.outcome, VmOutcome::Succeeded, "{report:#?}");
    }
    let bytes = |vm: &str, disk: usize, which: &dyn Fn(usize) -> bool| -> u64 {
        copied[vm]
            .iter()
            .filter(|p| which(p.0))
            .map(|p| p.2.get(&id(disk)).copied().unwrap_or(0))
            .sum()
    };
    // The first precopy reads the allocated data only: 3 areas of 512 KiB per disk.
    for (vm, disk) in [(VM1, 0), (VM1, 1), (VM2, 2)] {
        assert_eq!(bytes(vm, disk, &|n| n == 1), 1536 * KIB, "{copied:#?}");
    }
    // The second exactly what the guest wrote after the first backup ...
    assert_eq!(bytes(VM1, 0, &|n| n == 2), 192 * KIB, "{copied:#?}");
    assert_eq!(bytes(VM1, 1, &|n| n == 2), 0, "{copied:#?}");
    assert_eq!(bytes(VM2, 2, &|n| n == 2), MIB, "{copied:#?}");
    // ... and the later ones (the final one with the source off) what it wrote after the
    // second.
    assert_eq!(bytes(VM1, 0, &|n| n > 2), 0, "{copied:#?}");
    assert_eq!(bytes(VM1, 1, &|n| n > 2), 64 * KIB, "{copied:#?}");
    assert_eq!(bytes(VM2, 2, &|n| n > 2), 192 * KIB, "{copied:#?}");
    for vm in [VM1, VM2] {
        assert!(copied[vm].last().unwrap().1, "{copied:#?}");
        assert_eq!(setup.engine.vm_status(vm).as_deref(), Some("down"));
    }
    // Each target disk equals its source at the cutover.
    for (i, (vm, _, source)) in setup.disks.iter().enumerate() {
        let report = vm_report(&report, vm);
        let index = setup.disks[..i].iter().filter(|d| d.0 == *vm).count();
        let target = report
            .disks
            .iter()
            .rfind(|d| d.index == index)
            .unwrap_or_else(|| panic!("no disk {index} of {vm}: {report:#?}"));
        run(Command::new("qemu-img")
            .args(["compare", "-f", "qcow2", "-F", "raw"])
            .arg(source)
            .arg(&target.path));
    }
    // Every backup after a VM's first started from the previous one's checkpoint, and all
    // ended; after the cutover none of their checkpoints is left on the VM (each removed
    // oldest first, as the engine requires).
    let backups = setup.engine.backups();
    for vm in [VM1, VM2] {
        let mine: Vec<_> = backups.iter().filter(|b| b.vm == vm).collect();
        assert!(mine.len() >= 3, "{mine:#?}");
        assert!(mine[0].from.is_none());
        for pair in mine.windows(2) {
            assert_eq!(pair[1].from.as_deref(), Some(pair[0].to.as_str()));
        }
        assert!(mine.iter().all(|b| b.phase == "succeeded"), "{mine:#?}");
        let left: Vec<String> = setup
            .engine
            .checkpoints(vm)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert!(left.is_empty(), "{vm}: {left:?}");
    }
    assert_nothing_open(&setup);
    // Every transfer was bound to a backup and finalized.
    let transfers = setup.engine.transfers();
    assert!(
        transfers.iter().all(|t| t.backup.is_some()),
        "{transfers:#?}"
    );
    assert!(
        transfers.iter().all(|t| t.phase == "finished_success"),
        "{transfers:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_failing_mid_way_fails_the_vm_and_leaves_nothing_open() {
    let setup = Setup::start().await;
    let set = warm_plan(&setup, &[VM2]);
    let migrator = Migrator::new(&set, None, options(&setup)).unwrap();
    let (tx, mut rx) = mpsc::channel(4096);
    let running = migrator.run(tx, CancellationToken::new());
    tokio::pin!(running);
    let result = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            tokio::select! {
                result = &mut running => break result,
                Some(event) = rx.recv() => {
                    if let MigrationEvent::PrecopyDone { precopy: 1, .. } = event {
                        // The next backup goes to `failed` instead of `ready`.
                        setup.engine.faults(|f| f.fail_backups = true);
                    }
                }
            }
        }
    })
    .await
    .expect("the warm migration did not end");
    let report = result.unwrap();
    let vm = vm_report(&report, VM2);
    assert_eq!(vm.outcome, VmOutcome::Failed, "{report:#?}");
    let error = vm.error.clone().unwrap_or_default();
    assert!(error.contains("went to phase failed"), "{error}");
    let backups = setup.engine.backups();
    assert_eq!(backups.len(), 2, "{backups:#?}");
    assert_eq!(backups[0].phase, "succeeded");
    assert_eq!(backups[1].phase, "failed");
    assert_nothing_open(&setup);
    // The source was not powered off: no cutover happened.
    assert_eq!(setup.engine.vm_status(VM2).as_deref(), Some("up"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_warm_plan_without_the_ovirt_warm_feature_is_refused_before_anything_starts() {
    let setup = Setup::start().await;
    // No ForkliftController: the feature gate is off by default.
    let set = warm_plan_gated(&setup, &[VM1], false);
    let migrator = Migrator::new(&set, None, options(&setup)).unwrap();
    let (tx, _rx) = mpsc::channel(4096);
    match migrator.run(tx, CancellationToken::new()).await {
        Err(forklift::migrate::MigrateError::NotReady { conditions }) => {
            assert!(
                conditions
                    .iter()
                    .any(|c| c.type_ == "WarmMigrationNotReady"),
                "{conditions:#?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let requests = setup.engine.requests();
    assert!(
        !requests
            .iter()
            .any(|r| r.starts_with("POST /ovirt-engine/api")),
        "{requests:#?}"
    );
    assert!(setup.engine.backups().is_empty());
    assert_eq!(setup.engine.vm_status(VM1).as_deref(), Some("up"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forklift_migrate_runs_a_warm_ovirt_plan_whose_cutover_has_come() {
    let setup = Setup::start().await;
    let _ = warm_plan(&setup, &[VM2]);
    let dir = setup.dir.path().join("manifests");
    // The cutover time has passed: one precopy, then the final one with the source off.
    let plan = std::fs::read_to_string(dir.join("plan.yaml")).unwrap();
    let plan = plan.replace("warm: false", "warm: true") + "  cutover: \"2000-01-01T00:00:00Z\"\n";
    std::fs::write(dir.join("plan.yaml"), plan).unwrap();
    std::fs::write(
        dir.join("controller.yaml"),
        "apiVersion: forklift.konveyor.io/v1beta1\nkind: ForkliftController\n\
         metadata: {name: forklift-controller, namespace: konveyor-forklift}\nspec: {}\n",
    )
    .unwrap();
    let out = setup.dir.path().join("out");
    let (migrated, stderr) = migrate_local(&dir, &out, &[]);
    assert!(migrated, "{stderr}");
    let mut files = Vec::new();
    super::support::files_under(&out, &mut files);
    let target = files
        .iter()
        .find(|p| p.to_string_lossy().contains("rhv-plan-db-disk-0-"))
        .filter(|p| !p.extension().is_some_and(|e| e == "yaml" || e == "json"))
        .unwrap_or_else(|| panic!("{files:#?}"));
    run(Command::new("qemu-img")
        .args(["compare", "-f", "qcow2", "-F", "raw"])
        .arg(&setup.disks[2].2)
        .arg(target));
    let backups = setup.engine.backups();
    assert_eq!(backups.len(), 2, "{backups:#?}");
    assert_eq!(backups[1].from.as_deref(), Some(backups[0].to.as_str()));
    assert_eq!(setup.engine.vm_status(VM2).as_deref(), Some("down"));
    assert_nothing_open(&setup);
}
