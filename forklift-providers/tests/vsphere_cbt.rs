//! Warm migration's sources of changed blocks on vSphere, against the project's vCenter
//! simulator (tools/vcsim: snapshots freeze disk data, `QueryChangedDiskAreas` answers from
//! it) and the FAKE VDDK (reads a disk at a snapshot from the frozen copy). The tests write
//! into the running VM's disk files as a guest would.

mod common;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use common::vcsim::{SimDisk, Vcsim};
use forklift_providers::Error;
use forklift_providers::capability::{
    ALL_ALLOCATED, ChangeTracking, ChangedArea, DiskAccess, DiskRef, SnapshotRef, SnapshotRequest,
    Snapshots, VmRef,
};
use forklift_providers::vsphere::{TlsTrust, VddkSettings, VsphereConfig, VsphereProvider};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;
/// The simulator's CBT granularity.
const BLOCK: u64 = 64 * KIB;

/// A provider reading disks through the fake VDDK, whose datastore tree is the simulator's.
async fn provider_with_vddk(sim: &Vcsim, name: &str) -> Option<VsphereProvider> {
    let libdir = common::fake_vddk::build(name)?;
    link_datastores(sim, &libdir);
    let mut config = VsphereConfig::new(
        &sim.url,
        "user",
        "any-password".into(),
        TlsTrust::CustomCa(sim.cert_pem()),
    )
    .unwrap();
    config.vddk = Some(VddkSettings::new(&libdir));
    Some(VsphereProvider::connect_with(config).await.unwrap())
}

/// Points `<libdir>/datastores/<ds>` at the simulator's datastore folder, where the fake VDDK
/// resolves `[ds] dir/disk.vmdk`.
fn link_datastores(sim: &Vcsim, libdir: &Path) {
    let datastores = libdir.join("datastores");
    std::fs::create_dir_all(&datastores).unwrap();
    for disk in sim.disks() {
        let ds = disk.file[1..disk.file.find(']').unwrap()].to_owned();
        let folder = disk.local.parent().unwrap().parent().unwrap();
        let link = datastores.join(ds);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(folder, &link).unwrap();
    }
}

fn disk_ref(disk: &SimDisk) -> DiskRef {
    DiskRef {
        key: disk.key,
        file: disk.file.clone(),
        capacity: disk.capacity,
    }
}

/// Writes as the guest would: into the running disk's flat extent.
fn guest_write(disk: &SimDisk, offset: u64, data: &[u8]) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&disk.local)
        .unwrap();
    file.write_all_at(data, offset).unwrap();
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect()
}

fn area(offset: u64, length: u64) -> ChangedArea {
    ChangedArea { offset, length }
}

/// The frozen copies of a snapshot: `<vm dir>/<snapshot>/`.
fn frozen_dir(disk: &SimDisk, snapshot: &SnapshotRef) -> PathBuf {
    disk.local.parent().unwrap().join(snapshot.id())
}

async fn read(
    provider: &VsphereProvider,
    vm: &VmRef,
    disk: &SimDisk,
    at: Option<&SnapshotRef>,
    offset: u64,
    len: usize,
) -> Vec<u8> {
    let source = provider.open_disk(vm, &disk_ref(disk), at).await.unwrap();
    assert_eq!(source.size(), disk.capacity);
    let mut buf = vec![0u8; len];
    source.read_at(offset, &mut buf).await.unwrap();
    buf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_areas_follow_guest_writes_between_snapshots() {
    // One VM with two empty 8 MiB disks; answers cover 1 MiB, so each query loops 8 times.
    let Some(sim) = Vcsim::start(&[
        "-cluster",
        "0",
        "-host",
        "0",
        "-standalone-host",
        "1",
        "-vm",
        "1",
        "-vm-disks",
        "2",
        "-disk-mib",
        "8",
        "-cbt-page-bytes",
        "1048576",
    ]) else {
        return;
    };
    let Some(provider) = provider_with_vddk(&sim, "fake-vddk-cbt").await else {
        return;
    };
    let disks = sim.disks();
    assert_eq!(disks.len(), 2);
    let (d0, d1) = (&disks[0], &disks[1]);
    assert_eq!(d0.capacity, 8 * MIB);
    let vm = VmRef::new(d0.vm.clone());

    // Data before the first snapshot: 100 KiB at 0 and a few bytes at 3 MiB + 10.
    let first = pattern(1, 100 * KIB as usize);
    guest_write(d0, 0, &first);
    guest_write(d0, 3 * MIB + 10, &pattern(2, 4990));

    provider.enable_change_tracking(&vm).await.unwrap();
    let s1 = provider
        .create_snapshot(&vm, &SnapshotRequest::named("precopy-1"))
        .await
        .unwrap();
    let ids1 = provider.change_ids(&vm, &s1).await.unwrap();
    assert_eq!(ids1.len(), 2, "{ids1:?}");
    let id1 = ids1[&d0.file].clone();
    assert!(id1.starts_with("52 ") && id1.ends_with("/1"), "{id1}");

    // The baseline: every allocated area, rounded out to 64 KiB; nothing on the empty disk.
    let all = provider
        .changed_areas(&vm, &s1, &disk_ref(d0), ALL_ALLOCATED)
        .await
        .unwrap();
    assert_eq!(all, vec![area(0, 2 * BLOCK), area(3 * MIB, BLOCK)]);
    let all = provider
        .changed_areas(&vm, &s1, &disk_ref(d1), ALL_ALLOCATED)
        .await
        .unwrap();
    assert_eq!(all, vec![]);

    // The guest writes: one block, a write straddling two blocks at 5 MiB, and the last
    // sector of the second disk.
    let second = pattern(3, 100);
    guest_write(d0, BLOCK + 100, &second);
    guest_write(d0, 5 * MIB - 1, &[7, 7]);
    guest_write(d1, 8 * MIB - 512, &[9; 512]);
    let s2 = provider
        .create_snapshot(&vm, &SnapshotRequest::named("precopy-2"))
        .await
        .unwrap();
    let ids2 = provider.change_ids(&vm, &s2).await.unwrap();
    assert!(ids2[&d0.file].ends_with("/2"), "{ids2:?}");
    let changed = provider
        .changed_areas(&vm, &s2, &disk_ref(d0), &id1)
        .await
        .unwrap();
    assert_eq!(
        changed,
        vec![area(BLOCK, BLOCK), area(5 * MIB - BLOCK, 2 * BLOCK)]
    );
    let changed = provider
        .changed_areas(&vm, &s2, &disk_ref(d1), &ids1[&d1.file])
        .await
        .unwrap();
    assert_eq!(changed, vec![area(8 * MIB - BLOCK, BLOCK)]);

    // Through the fake VDDK: S1 still holds the data as it was, S2 and the running disk the
    // new data.
    let at = BLOCK + 100;
    let old = &first[at as usize..at as usize + 100];
    assert_eq!(
        read(&provider, &vm, d0, Some(&s1), at - 100, 200).await[100..],
        old[..]
    );
    assert_eq!(
        read(&provider, &vm, d0, Some(&s2), at - 100, 200).await[100..],
        second[..]
    );
    assert_eq!(
        read(&provider, &vm, d0, None, at - 100, 200).await[100..],
        second[..]
    );

    // Removing S1 deletes its frozen copies; as with CBT its change id stays usable, which
    // upstream's flow needs (it removes the previous snapshot before copying the next).
    let frozen1 = frozen_dir(d0, &s1);
    assert!(frozen1.join(d0.local.file_name().unwrap()).is_file());
    provider.remove_snapshot(&vm, &s1, false).await.unwrap();
    assert!(!frozen1.exists(), "{} left behind", frozen1.display());
    let changed = provider
        .changed_areas(&vm, &s2, &disk_ref(d0), &id1)
        .await
        .unwrap();
    assert_eq!(
        changed,
        vec![area(BLOCK, BLOCK), area(5 * MIB - BLOCK, 2 * BLOCK)]
    );
    let err = provider
        .open_disk(&vm, &disk_ref(d0), Some(&s1))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, Error::NotFound { .. } | Error::Fault { .. }),
        "{err}"
    );

    // Change ids vSphere does not know are faults, as vSphere reports them.
    let fault_of = |err: Error| match err {
        Error::Fault { method, fault, .. } => {
            assert_eq!(method, "QueryChangedDiskAreas");
            fault
        }
        other => panic!("unexpected {other}"),
    };
    let unknown = format!("{}/99", id1.rsplit_once('/').unwrap().0);
    let err = provider
        .changed_areas(&vm, &s2, &disk_ref(d0), &unknown)
        .await
        .unwrap_err();
    assert_eq!(fault_of(err), "FileFault");
    let err = provider
        .changed_areas(&vm, &s2, &disk_ref(d0), "bogus")
        .await
        .unwrap_err();
    assert_eq!(fault_of(err), "InvalidArgument");

    let frozen2 = frozen_dir(d0, &s2);
    provider.remove_snapshot(&vm, &s2, false).await.unwrap();
    assert!(!frozen2.exists());
    provider.logout().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_chain_limit_is_a_typed_error_and_cbt_off_has_no_change_ids() {
    let Some(sim) = Vcsim::start(&[
        "-cluster",
        "0",
        "-host",
        "0",
        "-standalone-host",
        "1",
        "-vm",
        "1",
        "-max-snapshot-levels",
        "3",
    ]) else {
        return;
    };
    let Some(provider) = provider_with_vddk(&sim, "fake-vddk-cbt-limit").await else {
        return;
    };
    let disk = sim.disks().remove(0);
    let vm = VmRef::new(disk.vm.clone());

    // Change tracking off: the snapshot carries no change ids and CBT queries fault.
    let mut snapshots = Vec::new();
    let s = provider
        .create_snapshot(&vm, &SnapshotRequest::named("no-cbt"))
        .await
        .unwrap();
    let ids = provider.change_ids(&vm, &s).await.unwrap();
    assert!(ids.values().all(String::is_empty), "{ids:?}");
    let err = provider
        .changed_areas(&vm, &s, &disk_ref(&disk), ALL_ALLOCATED)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Fault { fault, .. } if fault == "FileFault"),
        "{err}"
    );
    snapshots.push(s);

    for n in 2..=3 {
        snapshots.push(
            provider
                .create_snapshot(&vm, &SnapshotRequest::named(format!("s{n}")))
                .await
                .unwrap(),
        );
    }
    let err = provider
        .create_snapshot(&vm, &SnapshotRequest::named("one-too-many"))
        .await
        .unwrap_err();
    match &err {
        Error::SnapshotLimit { vm: id, fault } => {
            assert_eq!(id, vm.id());
            assert_eq!(fault, "TooManySnapshotLevels");
        }
        other => panic!("unexpected {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(vm.id()) && text.contains("28 CBT snapshots"),
        "{text}"
    );

    // Removing the snapshots frees the chain and every frozen copy.
    for s in snapshots.iter().rev() {
        provider.remove_snapshot(&vm, s, false).await.unwrap();
    }
    for s in &snapshots {
        assert!(!frozen_dir(&disk, s).exists());
    }
    let again = provider
        .create_snapshot(&vm, &SnapshotRequest::named("after-cleanup"))
        .await
        .unwrap();
    provider.remove_snapshot(&vm, &again, false).await.unwrap();
    provider.logout().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_source_disks_hold_data_that_a_baseline_finds() {
    // The demo's source: one VM, two disks of 4 MiB holding 1 MiB of data each.
    let Some(sim) = Vcsim::start_warm_source(2, 4, 1) else {
        return;
    };
    let Some(provider) = provider_with_vddk(&sim, "fake-vddk-warm-source").await else {
        return;
    };
    let disks = sim.disks();
    assert_eq!(disks.len(), 2);
    assert!(
        disks
            .iter()
            .all(|d| d.vm_name == "DC0_H0_VM0" && d.capacity == 4 * MIB)
    );
    assert_ne!(disks[0].file, disks[1].file);
    let vm = VmRef::new(disks[0].vm.clone());
    provider.enable_change_tracking(&vm).await.unwrap();
    let s1 = provider
        .create_snapshot(&vm, &SnapshotRequest::named("baseline"))
        .await
        .unwrap();
    for disk in &disks {
        let data = std::fs::read(&disk.local).unwrap();
        assert_eq!(data.len() as u64, 4 * MIB);
        assert!(data[..MIB as usize].iter().filter(|b| **b == 0).count() < 16 * 1024);
        assert!(data[MIB as usize..].iter().all(|b| *b == 0));
        let all = provider
            .changed_areas(&vm, &s1, &disk_ref(disk), ALL_ALLOCATED)
            .await
            .unwrap();
        assert_eq!(all, vec![area(0, MIB)]);
        let at_s1 = read(&provider, &vm, disk, Some(&s1), MIB - 4096, 8192).await;
        assert_eq!(
            at_s1[..],
            data[(MIB - 4096) as usize..(MIB + 4096) as usize]
        );
    }
    assert_ne!(
        std::fs::read(&disks[0].local).unwrap(),
        std::fs::read(&disks[1].local).unwrap(),
        "each disk has its own data"
    );
    let id1 = provider.change_ids(&vm, &s1).await.unwrap()[&disks[0].file].clone();
    provider.remove_snapshot(&vm, &s1, false).await.unwrap();
    assert!(!frozen_dir(&disks[0], &s1).exists());

    // Turning change tracking off and on again starts a new series, as with VMware: the
    // old change id is unknown to the new one.
    let moref = forklift_providers::vsphere::MoRef::new("VirtualMachine", vm.id());
    let off = "<spec><changeTrackingEnabled>false</changeTrackingEnabled></spec>";
    provider
        .client()
        .run_task("ReconfigVM_Task", &moref, off)
        .await
        .unwrap();
    provider.enable_change_tracking(&vm).await.unwrap();
    let s2 = provider
        .create_snapshot(&vm, &SnapshotRequest::named("after-reset"))
        .await
        .unwrap();
    let id2 = provider.change_ids(&vm, &s2).await.unwrap()[&disks[0].file].clone();
    assert!(id2.ends_with("/1") && id2 != id1, "{id1} then {id2}");
    let err = provider
        .changed_areas(&vm, &s2, &disk_ref(&disks[0]), &id1)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Fault { fault, .. } if fault == "FileFault"),
        "{err}"
    );
    provider.remove_snapshot(&vm, &s2, false).await.unwrap();
}
