//! The oVirt provider's warm capabilities (incremental backups as precopy points) against
//! the test engine and the real imageio daemon, one at a time: the changed areas of a real
//! bitmap, eligibility refused before anything starts, 409 for a backup in progress, a VM
//! gone mid-way, and nothing left open after any of them.

use forklift::providers::Error;
use forklift::providers::capability::{
    ALL_ALLOCATED, ChangeTracking, ChangedArea, DiskAccess, DiskRef, ProviderBackend,
    SnapshotRequest, Snapshots, VmRef,
};
use forklift::providers::ovirt::OvirtError;

use super::support::{Setup, VM1, VM2, run};

const MIB: u64 = 1 << 20;

fn disk_ref(setup: &Setup, i: usize, mib: u64) -> DiskRef {
    DiskRef {
        key: 0,
        file: setup.disks[i].1.clone(),
        capacity: mib * MIB,
    }
}

fn ovirt_error(e: &Error) -> &OvirtError {
    match e {
        Error::Ovirt(o) => o,
        other => panic!("not an oVirt error: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn incremental_backup_answers_the_areas_written_since_its_checkpoint() {
    let setup = Setup::start().await;
    let provider = setup.provider().await;
    let vm = VmRef::new(VM2);
    let disk = disk_ref(&setup, 2, 16);
    let first = provider
        .create_snapshot(&vm, &SnapshotRequest::named("precopy-1"))
        .await
        .unwrap();
    let ids = provider.change_ids(&vm, &first).await.unwrap();
    let checkpoint = ids[&disk.file].clone();
    let allocated = provider
        .changed_areas(&vm, &first, &disk, ALL_ALLOCATED)
        .await
        .unwrap();
    let area = |offset, length| ChangedArea { offset, length };
    // qcow2() wrote 512 KiB at 0, 5 MiB and 15 MiB.
    assert_eq!(
        allocated,
        [
            area(0, MIB / 2),
            area(5 * MIB, MIB / 2),
            area(15 * MIB, MIB / 2)
        ]
    );
    provider.remove_snapshot(&vm, &first, true).await.unwrap();
    run(std::process::Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", "write -P 7 9M 128k"])
        .arg(&setup.disks[2].2));
    let mut request = SnapshotRequest::named("precopy-2");
    request.since = Some(checkpoint.clone());
    let second = provider.create_snapshot(&vm, &request).await.unwrap();
    let changed = provider
        .changed_areas(&vm, &second, &disk, &checkpoint)
        .await
        .unwrap();
    assert_eq!(changed, [area(9 * MIB, 128 << 10)]);
    // The disk as of the backup reads the guest's write.
    let source = provider.open_disk(&vm, &disk, Some(&second)).await.unwrap();
    let mut buf = vec![0u8; 4096];
    source.read_at(9 * MIB, &mut buf).await.unwrap();
    assert!(buf.iter().all(|b| *b == 7));
    drop(source);
    // An unknown change id cannot use the dirty extents: the whole disk is copied.
    let whole = provider
        .changed_areas(&vm, &second, &disk, "not-a-checkpoint")
        .await
        .unwrap();
    assert_eq!(whole, [area(0, 16 * MIB)]);
    assert_eq!(setup.engine.open_transfers().len(), 1);
    provider.remove_snapshot(&vm, &second, true).await.unwrap();
    assert!(setup.engine.open_backups().is_empty());
    assert!(setup.engine.open_transfers().is_empty());
    assert_eq!(setup.tickets.tickets_on_daemon(), 0);
    // The first checkpoint is still the second backup's start; none older is left.
    assert_eq!(setup.engine.checkpoints(VM2).len(), 2);
    // Once the VM migrated, both go, oldest first (the engine removes only the root).
    provider.release_changes(&vm).await.unwrap();
    assert!(setup.engine.checkpoints(VM2).is_empty());

    // A checkpoint another tool made (here another provider) before ours holds ours
    // back: the engine refuses all but the oldest, so ours are named as left.
    let other = setup.provider().await;
    let foreign = other
        .create_snapshot(&vm, &SnapshotRequest::named("other-tool"))
        .await
        .unwrap();
    other.remove_snapshot(&vm, &foreign, true).await.unwrap();
    let third = provider
        .create_snapshot(&vm, &SnapshotRequest::named("precopy-3"))
        .await
        .unwrap();
    let ours = provider.change_ids(&vm, &third).await.unwrap()[&disk.file].clone();
    provider.remove_snapshot(&vm, &third, true).await.unwrap();
    let err = provider.release_changes(&vm).await.unwrap_err();
    assert!(
        matches!(ovirt_error(&err), OvirtError::CheckpointsLeft { checkpoints, .. } if *checkpoints == ours),
        "{err}"
    );
    assert_eq!(setup.engine.checkpoints(VM2).len(), 2);
    // Once the older one is gone, ours goes too.
    other.release_changes(&vm).await.unwrap();
    provider.release_changes(&vm).await.unwrap();
    assert!(setup.engine.checkpoints(VM2).is_empty());
    other.close().await.unwrap();
    provider.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ineligible_disks_in_progress_backups_and_vanished_vms_leave_nothing_open() {
    let setup = Setup::start().await;
    let provider = setup.provider().await;
    let (vm1, vm2) = (VmRef::new(VM1), VmRef::new(VM2));

    // A disk without incremental backup is refused, naming it, before any backup starts.
    setup.engine.state.lock().unwrap().vms[0].disks[1].backup = "none";
    let err = provider
        .create_snapshot(&vm1, &SnapshotRequest::named("p"))
        .await
        .unwrap_err();
    assert!(
        matches!(ovirt_error(&err), OvirtError::NotIncremental { disk, .. } if disk.contains(&setup.disks[1].1)),
        "{err}"
    );
    assert!(setup.engine.backups().is_empty());
    // Enabling change tracking turns it on (the disk is cow); then the backup starts.
    provider.enable_change_tracking(&vm1).await.unwrap();
    assert_eq!(
        setup.engine.state.lock().unwrap().vms[0].disks[1].backup,
        "incremental"
    );

    // Another application's backup in progress: 409, typed.
    let stale = setup.engine.stale_backup(VM1);
    let err = provider
        .create_snapshot(&vm1, &SnapshotRequest::named("p"))
        .await
        .unwrap_err();
    assert!(
        matches!(ovirt_error(&err), OvirtError::BackupInProgress { .. }),
        "{err}"
    );
    assert_eq!(setup.engine.backups().len(), 1);
    setup.engine.state.lock().unwrap().backups[0].phase = "succeeded".into();
    let _ = stale;

    // A VM gone while its backup is read: the removal reports it gone, and neither the
    // transfer nor its ticket stays.
    let backup = provider
        .create_snapshot(&vm2, &SnapshotRequest::named("p"))
        .await
        .unwrap();
    provider
        .changed_areas(&vm2, &backup, &disk_ref(&setup, 2, 16), ALL_ALLOCATED)
        .await
        .unwrap();
    assert_eq!(setup.tickets.tickets_on_daemon(), 1);
    setup.engine.remove_vm(VM2);
    let err = provider
        .remove_snapshot(&vm2, &backup, true)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(setup.engine.open_transfers().is_empty());
    assert_eq!(setup.tickets.tickets_on_daemon(), 0);

    // A backup failing on its way to ready is finalized and reported.
    setup.engine.faults(|f| f.fail_backups = true);
    let err = provider
        .create_snapshot(&vm1, &SnapshotRequest::named("p"))
        .await
        .unwrap_err();
    assert!(
        matches!(ovirt_error(&err), OvirtError::BackupFailed { phase, .. } if phase == "failed"),
        "{err}"
    );
    assert!(setup.engine.open_backups().is_empty());
    assert!(setup.engine.checkpoints(VM1).is_empty());

    // A backup still open at close() is finalized then.
    setup.engine.faults(|f| f.fail_backups = false);
    let open = provider
        .create_snapshot(&vm1, &SnapshotRequest::named("p"))
        .await
        .unwrap();
    provider
        .changed_areas(&vm1, &open, &disk_ref(&setup, 0, 24), ALL_ALLOCATED)
        .await
        .unwrap();
    assert_eq!(provider.open_backups(), std::slice::from_ref(&open.0));
    provider.close().await.unwrap();
    assert!(setup.engine.open_backups().is_empty());
    assert!(setup.engine.open_transfers().is_empty());
    assert_eq!(setup.tickets.tickets_on_daemon(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disk_snapshots_are_taken_without_memory_and_removed() {
    let setup = Setup::start().await;
    let provider = setup.provider().await;
    let vm = VmRef::new(VM1);
    let id = provider
        .create_disk_snapshot(&vm, "forklift test")
        .await
        .unwrap();
    {
        let state = setup.engine.state.lock().unwrap();
        let taken = &state.snapshots[0];
        assert_eq!(
            (taken.id.as_str(), taken.status.as_str()),
            (id.as_str(), "ok")
        );
        assert_eq!(taken.description, "forklift test");
        assert_eq!(
            taken.disks,
            [setup.disks[0].1.clone(), setup.disks[1].1.clone()]
        );
    }
    provider.remove_disk_snapshot(&vm, &id).await.unwrap();
    assert!(setup.engine.state.lock().unwrap().snapshots.is_empty());
    // Removing it again, or snapshotting a VM that is gone: the engine's 404.
    let err = provider.remove_disk_snapshot(&vm, &id).await.unwrap_err();
    assert!(ovirt_error(&err).is_not_found(), "{err}");
    setup.engine.remove_vm(VM2);
    let err = provider
        .create_disk_snapshot(&VmRef::new(VM2), "x")
        .await
        .unwrap_err();
    assert!(ovirt_error(&err).is_not_found(), "{err}");
    provider.close().await.unwrap();
}
