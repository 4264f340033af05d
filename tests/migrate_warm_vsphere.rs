//! Warm migration end to end against the project's vCenter simulator (tools/vcsim:
//! snapshots freeze disk data, `QueryChangedDiskAreas` answers from it) and the fake VDDK
//! (reads a disk at a snapshot from the frozen copy): precopies while the test writes into
//! the running VM's disks as a guest would, a cutover set while the run goes, and target
//! images equal to the source disks at the cutover.

#[path = "../forklift-providers/tests/common/vcsim.rs"]
mod vcsim;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use forklift::core::manifest::ManifestSet;
use forklift::migrate::{LocalDestination, MigrateOptions, MigrationEvent, Migrator, VmOutcome};
use forklift::providers::capability::VmRef;
use forklift::providers::{ProviderConfig, open_provider};
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
        let ds = &disk.file[1..disk.file.find(']').unwrap()];
        let folder = disk.local.parent().unwrap().parent().unwrap();
        let link = datastores.join(ds);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(folder, &link).unwrap();
    }
}

fn manifests(sim: &Vcsim, libdir: &Path, vm: &str, datastore: &str, network: &str) -> ManifestSet {
    let ca: String = String::from_utf8(sim.cert_pem())
        .unwrap()
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect();
    let text = format!(
        r#"apiVersion: v1
kind: Secret
metadata: {{name: vcsim-secret, namespace: mtv}}
type: Opaque
stringData:
  user: administrator@vsphere.local
  password: Sim-Passw0rd
  cacert: |
{ca}---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: vcsim, namespace: mtv}}
spec:
  type: vsphere
  url: {url}
  secret: {{name: vcsim-secret, namespace: mtv}}
  settings: {{sdkEndpoint: vcenter, vddkInitImage: "quay.io/example/vddk:8", vddkLibDir: "{libdir}"}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: host, namespace: mtv}}
spec: {{type: openshift, url: ""}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: NetworkMap
metadata: {{name: net, namespace: mtv}}
spec:
  provider: {{source: {{name: vcsim, namespace: mtv}}, destination: {{name: host, namespace: mtv}}}}
  map: [{{source: {{id: "{network}"}}, destination: {{type: pod}}}}]
---
apiVersion: forklift.konveyor.io/v1beta1
kind: StorageMap
metadata: {{name: sto, namespace: mtv}}
spec:
  provider: {{source: {{name: vcsim, namespace: mtv}}, destination: {{name: host, namespace: mtv}}}}
  map: [{{source: {{name: {datastore}}}, destination: {{storageClass: standard}}}}]
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {{name: warm, namespace: mtv}}
spec:
  type: warm
  skipGuestConversion: true
  targetNamespace: apps
  provider: {{source: {{name: vcsim, namespace: mtv}}, destination: {{name: host, namespace: mtv}}}}
  map: {{network: {{name: net, namespace: mtv}}, storage: {{name: sto, namespace: mtv}}}}
  vms: [{{name: {vm}}}]
"#,
        url = sim.url,
        libdir = libdir.display(),
    );
    let set = ManifestSet::parse("warm-e2e", &text);
    assert!(!set.has_errors(), "{:?}", set.diagnostics());
    set
}

/// Writes as the guest would: into the running disk's flat extent.
fn guest_write(disk: &SimDisk, offset: u64, len: usize, seed: u8) {
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(7) ^ seed | 1)
        .collect();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&disk.local)
        .unwrap();
    file.write_all_at(&data, offset).unwrap();
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
    let datastore = disks[0].file[1..disks[0].file.find(']').unwrap()].to_owned();
    // The VM's network, CBT on, and the source off: the simulator's guest has no VMware
    // Tools (a running VM without them is refused), and precopies do not need it running.
    let probe = manifests(&sim, &libdir, &disks[0].vm_name, &datastore, "");
    let config = ProviderConfig::from_manifests(&probe, "mtv/vcsim").unwrap();
    let provider = open_provider(&config).await.unwrap();
    let inventory = provider
        .inventory()
        .unwrap()
        .collect_inventory()
        .await
        .unwrap();
    let source_vm = inventory.vms.iter().find(|v| v.id == disks[0].vm).unwrap();
    let network = source_vm.nics[0].network.id.clone();
    let vm_ref = VmRef::new(source_vm.id.clone());
    provider
        .change_tracking()
        .unwrap()
        .enable_change_tracking(&vm_ref)
        .await
        .unwrap();
    provider.power().unwrap().power_off(&vm_ref).await.unwrap();
    provider.close().await.unwrap();
    let set = manifests(&sim, &libdir, &disks[0].vm_name, &datastore, &network);
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
    assert!(warm.snapshots_left.is_empty());
    assert!(
        warm.precopies.iter().all(|p| p.removed.is_some()),
        "{warm:#?}"
    );
}
