//! Warm migration end to end against the project's vCenter simulator (tools/vcsim:
//! snapshots freeze disk data, `QueryChangedDiskAreas` answers from it) and the fake VDDK
//! (reads a disk at a snapshot from the frozen copy): precopies while the test writes into
//! the running VM's disks as a guest would, a cutover set while the run goes, and target
//! images equal to the source disks at the cutover.

#[path = "../forklift-providers/tests/common/vcsim.rs"]
mod vcsim;
#[path = "common/warm_sim.rs"]
mod warm_sim;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use forklift::core::manifest::ManifestSet;
use forklift::core::resources::PowerOffMethod;
use forklift::migrate::{LocalDestination, MigrateOptions, MigrationEvent, Migrator, VmOutcome};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vcsim::{SimDisk, Vcsim};

const MIB: u64 = 1 << 20;

/// A precopy as its event reports it: number, final, bytes per disk.
type Copied = (usize, bool, Vec<(String, u64)>);

/// Builds the fake `libvixDiskLib` into a libdir of its own; `None` without a C compiler
/// (outside CI).
fn fake_vddk(name: &str) -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("forklift-transfer/tests/fake-vddk/fake_vixdisklib.c");
    let libdir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let lib64 = libdir.join("lib64");
    std::fs::create_dir_all(&lib64).unwrap();
    let partial = lib64.join(format!("build.{}.so", std::process::id()));
    let built = Command::new("cc")
        .args(["-Wall", "-shared", "-fPIC", "-o"])
        .arg(&partial)
        .arg(&source)
        .arg("-lpthread")
        .output();
    match built {
        Ok(output) if output.status.success() => {
            std::fs::rename(&partial, lib64.join("libvixDiskLib.so.8")).unwrap();
            Some(libdir)
        }
        Ok(output) => panic!("fake VDDK: {}", String::from_utf8_lossy(&output.stderr)),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("cc unavailable in CI: {e}")
        }
        Err(e) => {
            eprintln!("skipping: cc unavailable: {e}");
            None
        }
    }
}

/// Points `<libdir>/datastores/<ds>` at the simulator's datastore folder.
fn link_datastores(disks: &[SimDisk], libdir: &Path) {
    let datastores = libdir.join("datastores");
    std::fs::create_dir_all(&datastores).unwrap();
    for disk in disks {
        let ds = warm_sim::datastore_of(&disk.file);
        let folder = disk.local.parent().unwrap().parent().unwrap();
        let link = datastores.join(ds);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(folder, &link).unwrap();
    }
}

/// The warm plan of the VMs `vms` (names) against `sim`, their change tracking on (and
/// powered off when `power_off`).
async fn warm_plan(sim: &Vcsim, libdir: &Path, vms: &[&SimDisk], power_off: bool) -> ManifestSet {
    let ca = String::from_utf8(sim.cert_pem()).unwrap();
    let source = warm_sim::Source {
        url: &sim.url,
        ca_pem: &ca,
        libdir,
        datastore: warm_sim::datastore_of(&vms[0].file),
    };
    let ids: Vec<&str> = vms.iter().map(|d| d.vm.as_str()).collect();
    let network = warm_sim::prepare(&source, &ids, power_off).await.unwrap();
    let names: Vec<&str> = vms.iter().map(|d| d.vm_name.as_str()).collect();
    let set = ManifestSet::parse("warm-e2e", &warm_sim::manifests(&source, &names, &network));
    assert!(!set.has_errors(), "{:?}", set.diagnostics());
    set
}

/// Writes as the guest would: into the running disk's flat extent.
fn guest_write(disk: &SimDisk, offset: u64, len: usize, seed: u8) {
    warm_sim::guest_write(&disk.local, offset, len, seed).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_migration_of_a_simulated_vm_copies_deltas_and_matches_at_cutover() {
    let Some(sim) = Vcsim::start_warm_source(2, 32, 8) else {
        return;
    };
    let Some(libdir) = fake_vddk("warm-e2e-vddk") else {
        return;
    };
    let disks = sim.disks();
    link_datastores(&disks, &libdir);
    // CBT on, and the source off: this simulator's guest has no VMware Tools (a running VM
    // without them is refused), and precopies do not need it running.
    let set = warm_plan(&sim, &libdir, &[&disks[0]], true).await;
    let out = tempfile::tempdir().unwrap();
    let mut options = MigrateOptions::new(LocalDestination::new(out.path()));
    options.precopy_interval = Some(Duration::from_millis(500));
    options.copy.request_size = 64 * 1024;
    let migrator = Migrator::new(&set, None, options).unwrap();
    let (tx, mut rx) = mpsc::channel(4096);
    let run = migrator.run(tx, CancellationToken::new());
    tokio::pin!(run);
    let mut copied: Vec<Copied> = Vec::new();
    let result = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            tokio::select! {
                result = &mut run => break result,
                Some(event) = rx.recv() => {
                    if let MigrationEvent::PrecopyDone { precopy, last, bytes, .. } = event {
                        match precopy {
                            // Between precopies the guest writes 2 areas into disk 0 ...
                            1 => {
                                guest_write(&disks[0], 4 * MIB, 64 * 1024, 1);
                                guest_write(&disks[0], 20 * MIB, 64 * 1024, 2);
                            }
                            // ... then one into disk 1, and the cutover is set.
                            2 => {
                                guest_write(&disks[1], 12 * MIB, 128 * 1024, 3);
                                migrator.cutover(None).unwrap();
                            }
                            _ => {}
                        }
                        copied.push((precopy, last, bytes));
                    }
                }
            }
        }
    })
    .await
    .expect("the warm migration did not end");
    let report = result.unwrap();
    let vm = &report.vms[0];
    assert_eq!(vm.outcome, VmOutcome::Succeeded, "{report:#?}");
    let names: Vec<&str> = disks.iter().map(|d| d.file.as_str()).collect();
    let bytes = |n: usize| -> Vec<u64> {
        let (_, _, b) = &copied[n];
        names
            .iter()
            .map(|name| b.iter().find(|(d, _)| d == name).unwrap().1)
            .collect()
    };
    assert_eq!(copied.len(), 3, "{copied:?}");
    assert!(copied[2].1);
    // The first precopy copies the allocated data (8 MiB per disk), not the whole 32 MiB.
    assert_eq!(bytes(0), [8 * MIB, 8 * MIB]);
    // Then only what the guest wrote.
    assert_eq!(bytes(1), [128 * 1024, 0]);
    assert_eq!(bytes(2), [0, 128 * 1024]);
    // Each target disk equals its source at the cutover (the source is off since).
    let spec_disks = &vm.disks;
    for (i, disk) in disks.iter().enumerate() {
        let target = spec_disks.iter().find(|d| d.index == i).unwrap();
        let image = std::fs::read(&target.path).unwrap();
        let source = std::fs::read(&disk.local).unwrap();
        assert!(image == source, "disk {i} differs from its source");
    }
    let warm = vm.warm.as_ref().unwrap();
    // The source was off: nothing powered it off, and the forecast counts no power-off.
    let power_off = warm.power_off.as_ref().unwrap();
    assert_eq!(power_off.method, PowerOffMethod::AlreadyOff);
    let forecast = warm.forecast.as_ref().unwrap();
    assert!(forecast.source_off, "{forecast:?}");
    assert_eq!(forecast.power_off_millis, 0);
    assert!(forecast.actual_final_sync_millis.is_some(), "{forecast:?}");
    assert!(warm.snapshots_left.is_empty());
    assert!(
        warm.precopies.iter().all(|p| p.removed.is_some()),
        "{warm:#?}"
    );
}

/// Starts or stops the VMware Tools of VM `name` in the simulator (its test control,
/// tools/vcsim/guest.go), as a guest whose tools service stops.
async fn set_tools_running(sim: &Vcsim, name: &str, running: bool) {
    let ca = reqwest::Certificate::from_pem(&sim.cert_pem()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let base = sim.url.trim_end_matches("/sdk");
    let answer = client
        .post(format!("{base}/forklift/tools?vm={name}&running={running}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 204, "{answer:?}");
}

/// The cutover powers running sources off as upstream does: a guest whose VMware Tools run
/// is asked to shut down (the simulator's takes 1.5 s) and the run waits until it is off; a
/// guest whose tools stopped after validation cannot be asked (vSphere's ToolsUnavailable)
/// and is powered off hard. Both end in the status and the events; the forecast made once
/// the source is off counts the measured power-off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutover_shuts_a_guest_with_tools_down_and_powers_one_without_off() {
    let Some(sim) = Vcsim::start(&[
        "-cluster",
        "0",
        "-host",
        "0",
        "-standalone-host",
        "1",
        "-vm",
        "2",
        "-disk-mib",
        "8",
        "-fill-mib",
        "1",
        "-tools-running",
        "*",
        "-guest-shutdown",
        "1500ms",
    ]) else {
        return;
    };
    let Some(libdir) = fake_vddk("warm-shutdown-vddk") else {
        return;
    };
    let disks = sim.disks();
    assert_eq!(disks.len(), 2, "{disks:?}");
    link_datastores(&disks, &libdir);
    let (with_tools, without) = (&disks[0], &disks[1]);
    let set = warm_plan(&sim, &libdir, &[with_tools, without], false).await;
    let out = tempfile::tempdir().unwrap();
    let mut options = MigrateOptions::new(LocalDestination::new(out.path()));
    options.precopy_interval = Some(Duration::from_millis(300));
    let migrator = Migrator::new(&set, None, options).unwrap();
    let (tx, mut rx) = mpsc::channel(4096);
    let run = migrator.run(tx, CancellationToken::new());
    tokio::pin!(run);
    let mut powered_off = Vec::new();
    let mut second_precopies = 0;
    let result = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            tokio::select! {
                result = &mut run => break result,
                Some(event) = rx.recv() => match event {
                    // Validation passed with both guests' tools running; now one stops.
                    MigrationEvent::PrecopyDone { precopy: 1, vm, .. } if vm == without.vm => {
                        set_tools_running(&sim, &without.vm_name, false).await;
                    }
                    // Cut over once both made an incremental precopy (a dirty rate).
                    MigrationEvent::PrecopyDone { precopy: 2, .. } => {
                        second_precopies += 1;
                        if second_precopies == 2 {
                            migrator.cutover(None).unwrap();
                        }
                    }
                    MigrationEvent::SourcePoweredOff { vm, power_off } => {
                        powered_off.push((vm, power_off));
                    }
                    _ => {}
                },
            }
        }
    })
    .await
    .expect("the warm migration did not end");
    let report = result.unwrap();
    let status = |disk: &SimDisk| {
        let vm = report.vms.iter().find(|v| v.id == disk.vm).unwrap();
        assert_eq!(vm.outcome, VmOutcome::Succeeded, "{report:#?}");
        vm.warm.clone().unwrap()
    };
    let event = |disk: &SimDisk| {
        let found: Vec<_> = powered_off
            .iter()
            .filter(|(vm, _)| *vm == disk.vm)
            .collect();
        assert_eq!(found.len(), 1, "{powered_off:?}");
        found[0].1.clone()
    };

    let warm = status(with_tools);
    let shut_down = warm.power_off.clone().unwrap();
    assert_eq!(shut_down.method, PowerOffMethod::GuestShutdown, "{warm:#?}");
    assert!(shut_down.millis >= 1500, "{shut_down:?}");
    assert_eq!(event(with_tools), shut_down);
    let forecast = warm.forecast.unwrap();
    assert!(forecast.source_off, "{forecast:?}");
    assert_eq!(forecast.power_off_millis, shut_down.millis);
    assert_eq!(forecast.actual_power_off_millis, Some(shut_down.millis));
    assert!(forecast.downtime_millis >= forecast.final_sync_millis + shut_down.millis);

    let warm = status(without);
    let hard = warm.power_off.clone().unwrap();
    assert_eq!(hard.method, PowerOffMethod::HardPowerOff, "{warm:#?}");
    assert!(hard.reason.contains("ToolsUnavailable"), "{hard:?}");
    assert_eq!(event(without), hard);

    // Both sources are off in the simulator, and the targets equal them.
    let provider = forklift::providers::open_provider(
        &forklift::providers::ProviderConfig::from_manifests(&set, "mtv/vcsim").unwrap(),
    )
    .await
    .unwrap();
    for disk in [with_tools, without] {
        let vm = forklift::providers::capability::VmRef::new(disk.vm.clone());
        let state = provider.power().unwrap().power_state(&vm).await.unwrap();
        assert_eq!(
            state,
            forklift::core::inventory::PowerState::Off,
            "{}",
            disk.vm
        );
        let target = report
            .vms
            .iter()
            .find(|v| v.id == disk.vm)
            .and_then(|v| v.disks.first())
            .unwrap();
        let image = std::fs::read(&target.path).unwrap();
        assert!(image == std::fs::read(&disk.local).unwrap(), "{}", disk.vm);
    }
    provider.close().await.unwrap();
}
