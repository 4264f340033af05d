//! Warm migration from oVirt: the warm engine's capabilities mapped onto incremental
//! backup.
//!
//! ```text
//!   Snapshots::create_snapshot  ── check every disk (incremental backup mode, cow) ─► typed
//!        │                         refusal naming the disk before anything is started
//!        └─ POST /vms/ID/backups (from_checkpoint_id = request.since, if the VM still has
//!           that checkpoint; else full) ─► wait `ready` ─► SnapshotRef(backup ID)
//!   ChangeTracking::change_ids  ── every disk of the backup → its to_checkpoint_id (none
//!        when the ready backup names none: warned at once, and the warm engine then stops
//!        with its typed ChangeIdMissing naming the backup)
//!   ChangeTracking::changed_areas(disk, change id)
//!        ├─ ALL_ALLOCATED ─────────► the backup's non-zero extents (context=zero)
//!        ├─ = from_checkpoint_id ─► the dirty extents (context=dirty)
//!        └─ another checkpoint ───► the whole disk (correct, only slower; logged)
//!   DiskAccess::open_disk(.., Some(backup)) ── the image transfer bound to the backup
//!        (one per disk, opened once and shared with changed_areas)
//!   Snapshots::remove_snapshot  ── finalize the backup's transfers, then the backup; then
//!        remove the checkpoints this provider made that precede the backup's start point
//!   ChangeTracking::release_changes (after the cutover) ── remove every checkpoint this
//!        provider made, oldest first
//! ```
//!
//! Every exit path ends what was started: a backup that does not become ready is
//! finalized before the error is returned, a transfer that fails to open is cancelled, and
//! the provider's `close()` finalizes every backup still open (after its transfers).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use forklift_core::error::PeerText;
use forklift_transfer::block::{BlockSource, Extent, MetaContext};
use forklift_transfer::changed::ChangedExtents;
use serde_json::json;

use super::OvirtProvider;
use super::backup;
use super::error::OvirtError;
use super::ops::path_id;
use super::transfer::TransferSource;
use crate::capability::{
    ALL_ALLOCATED, ChangeTracking, ChangedArea, DiskRef, SnapshotRef, SnapshotRequest, Snapshots,
    VmRef,
};
use crate::error::{Error, Result};

/// A backup this provider started and has not finalized yet.
#[derive(Debug)]
struct OpenBackup {
    vm: VmRef,
    id: String,
    /// The checkpoint it is incremental from.
    from: Option<String>,
    /// The checkpoint it creates.
    to: String,
    /// The disks it covers.
    disks: Vec<String>,
    /// The image transfer of each disk read so far, by disk ID.
    sources: tokio::sync::Mutex<BTreeMap<String, Arc<TransferSource>>>,
}

impl OpenBackup {
    /// Every disk of the backup → the checkpoint it creates; none when it names none
    /// (an empty ID would only mislead the warm engine).
    fn change_ids(&self) -> BTreeMap<String, String> {
        self.disks
            .iter()
            .filter(|_| !self.to.is_empty())
            .map(|d| (d.clone(), self.to.clone()))
            .collect()
    }
}

/// The backups of one provider still open, and the checkpoints it created.
#[derive(Debug, Default)]
pub struct Backups {
    open: Mutex<BTreeMap<String, Arc<OpenBackup>>>,
    /// Checkpoints created by this provider's backups, removed once no later backup
    /// starts from them.
    ours: Mutex<BTreeSet<String>>,
}

impl Backups {
    fn get(&self, id: &str) -> Option<Arc<OpenBackup>> {
        self.open.lock().ok().and_then(|o| o.get(id).cloned())
    }

    /// Holds `open` until it is finalized; refused when the engine reused the ID of a
    /// backup still open (the open one is kept).
    fn insert_new(&self, open: Arc<OpenBackup>) -> std::result::Result<(), OvirtError> {
        let mut all = self.open.lock().unwrap_or_else(|e| e.into_inner());
        match all.entry(open.id.clone()) {
            std::collections::btree_map::Entry::Occupied(_) => Err(OvirtError::BackupIdReused {
                backup: open.id.clone(),
                vm: open.vm.id().to_owned(),
            }),
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(open);
                Ok(())
            }
        }
    }

    fn take(&self, id: &str) -> Option<Arc<OpenBackup>> {
        self.open.lock().ok().and_then(|mut o| o.remove(id))
    }

    fn ours(&self) -> BTreeSet<String> {
        self.ours.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// IDs of the backups still open.
    pub fn open_ids(&self) -> Vec<String> {
        self.open
            .lock()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Finalizes every backup still open (its transfers first); the first failure is
    /// returned after all were tried.
    pub async fn end_all(&self, provider: &OvirtProvider) -> Result<()> {
        let all: Vec<Arc<OpenBackup>> = self
            .open
            .lock()
            .map(|mut o| std::mem::take(&mut *o).into_values().collect())
            .unwrap_or_default();
        let mut first = None;
        for open in all {
            if let Err(e) = provider.end_backup(&open).await {
                tracing::warn!(backup = %PeerText(&open.id), vm = %PeerText(open.vm.id()),
                    "cannot finalize the backup: {e}");
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl OvirtProvider {
    /// The backup `snapshot` names, as this provider holds it.
    fn open_backup(&self, vm: &VmRef, snapshot: &SnapshotRef) -> Result<Arc<OpenBackup>> {
        self.backups
            .get(snapshot.id())
            .filter(|b| b.vm == *vm)
            .ok_or_else(|| {
                OvirtError::UnknownBackup {
                    backup: snapshot.id().to_owned(),
                    vm: vm.id().to_owned(),
                }
                .into()
            })
    }

    /// The image transfer of `disk` in `open`, opened on first use and kept until the
    /// backup is finalized.
    async fn backup_source(
        &self,
        open: &OpenBackup,
        disk: &DiskRef,
    ) -> Result<Arc<TransferSource>> {
        if !open.disks.contains(&disk.file) {
            return Err(OvirtError::UnknownDisk {
                vm: open.vm.id().to_owned(),
                disk: disk.file.clone(),
            }
            .into());
        }
        let mut sources = open.sources.lock().await;
        if let Some(source) = sources.get(&disk.file) {
            return Ok(source.clone());
        }
        let source = super::transfer::open(
            &self.engine,
            &self.transfers,
            &open.vm,
            disk,
            Some(&open.id),
        )
        .await?;
        let source = Arc::new(source);
        sources.insert(disk.file.clone(), source.clone());
        Ok(source)
    }

    /// Ends the backup's transfers, then finalizes it; then removes the checkpoints this
    /// provider made that precede the backup's start point (no later precopy starts from
    /// them: the next one starts from this backup's start point or its end point).
    async fn end_backup(&self, open: &OpenBackup) -> Result<()> {
        let sources: Vec<Arc<TransferSource>> = std::mem::take(&mut *open.sources.lock().await)
            .into_values()
            .collect();
        let mut first: Option<Error> = None;
        for source in sources {
            if let Err(e) = source.finish().await {
                tracing::warn!(backup = %PeerText(&open.id), "cannot finalize an image transfer: {e}");
                first.get_or_insert(e.into());
            }
        }
        match backup::finalize(&self.engine, &open.vm, &open.id).await {
            Err(e) if e.is_not_found() => {
                return Err(Error::NotFound {
                    kind: "backup",
                    id: open.id.clone(),
                });
            }
            Err(e) => return Err(e.into()),
            Ok(()) => {}
        }
        if let Some(e) = first {
            return Err(e);
        }
        if let Some(from) = &open.from {
            self.remove_checkpoints_before(&open.vm, Some(from)).await?;
        }
        Ok(())
    }

    /// Removes, oldest first, the checkpoints of this provider before `keep` in the VM's
    /// chain (all of them without `keep`; the engine removes only the root). Stops at the
    /// first that is not ours; returns the IDs of ours left on the VM.
    async fn remove_checkpoints_before(
        &self,
        vm: &VmRef,
        keep: Option<&str>,
    ) -> Result<Vec<String>> {
        let ours = self.backups.ours();
        let chain = backup::checkpoints(&self.engine, vm).await?;
        if keep.is_some_and(|keep| !chain.iter().any(|c| c.id == keep)) {
            return Ok(Vec::new());
        }
        let mut left: Vec<String> = chain
            .iter()
            .filter(|c| ours.contains(&c.id))
            .map(|c| c.id.clone())
            .collect();
        for checkpoint in chain {
            if Some(checkpoint.id.as_str()) == keep || !ours.contains(&checkpoint.id) {
                break;
            }
            backup::remove_checkpoint(&self.engine, vm, &checkpoint.id).await?;
            if let Ok(mut o) = self.backups.ours.lock() {
                o.remove(&checkpoint.id);
            }
            left.retain(|id| *id != checkpoint.id);
            tracing::debug!(vm = %PeerText(vm.id()), checkpoint = %PeerText(&checkpoint.id),
                "removed an old checkpoint");
        }
        Ok(left)
    }

    /// The VM's image disks (direct LUNs are not copied), refused with
    /// [`OvirtError::NotIncremental`] naming the first that cannot be backed up
    /// incrementally.
    async fn incremental_disks(&self, vm: &VmRef) -> Result<Vec<String>> {
        let attachments = backup::disk_attachments(&self.engine, vm).await?;
        let mut disks = Vec::new();
        for attachment in attachments.iter().filter(|a| a.disk.storage_type != "lun") {
            let id = if attachment.disk.id.is_empty() {
                attachment.id.clone()
            } else {
                attachment.disk.id.clone()
            };
            if let Some(reason) = backup::not_incremental(attachment) {
                let name = match attachment.disk.alias.as_str() {
                    "" => id,
                    alias => format!("{id} ({alias})"),
                };
                return Err(OvirtError::NotIncremental {
                    vm: vm.id().to_owned(),
                    disk: name,
                    reason,
                }
                .into());
            }
            disks.push(id);
        }
        Ok(disks)
    }
}

#[async_trait]
impl Snapshots for OvirtProvider {
    /// Starts a backup of every disk of the VM (incremental from `request.since` when the
    /// VM still has that checkpoint) and returns once it is ready; its ID is the snapshot.
    async fn create_snapshot(&self, vm: &VmRef, request: &SnapshotRequest) -> Result<SnapshotRef> {
        let disks = self.incremental_disks(vm).await?;
        let from = match request.since.as_deref().filter(|s| *s != ALL_ALLOCATED) {
            Some(since) => {
                let chain = backup::checkpoints(&self.engine, vm).await?;
                let found = chain.iter().any(|c| c.id == since && c.state != "invalid");
                if !found {
                    tracing::warn!(vm = %PeerText(vm.id()), checkpoint = %PeerText(since),
                        "the VM no longer has the checkpoint of the last precopy; taking a full backup");
                }
                found.then_some(since)
            }
            None => None,
        };
        let started = backup::start(&self.engine, vm, &disks, from).await?;
        let ready = match backup::wait_ready(&self.engine, vm, &started.id).await {
            Ok(ready) => ready,
            Err(e) => {
                if let Err(end) = backup::finalize(&self.engine, vm, &started.id).await {
                    tracing::warn!(backup = %PeerText(&started.id), vm = %PeerText(vm.id()),
                        "cannot finalize the backup: {end}");
                }
                return Err(e.into());
            }
        };
        let to = created_checkpoint(
            vm,
            &started.id,
            started.to_checkpoint_id,
            ready.to_checkpoint_id,
        );
        if let (false, Ok(mut ours)) = (to.is_empty(), self.backups.ours.lock()) {
            ours.insert(to.clone());
        }
        tracing::info!(vm = %PeerText(vm.id()), backup = %PeerText(&started.id),
            from = %PeerText(from.unwrap_or("(full)")), checkpoint = %PeerText(&to), "backup ready");
        let open = Arc::new(OpenBackup {
            vm: vm.clone(),
            id: started.id.clone(),
            from: from.map(str::to_owned),
            to,
            disks,
            sources: tokio::sync::Mutex::default(),
        });
        // Not finalized when refused: its ID names the backup still open.
        self.backups.insert_new(open)?;
        Ok(SnapshotRef(started.id))
    }

    /// Finalizes the backup (its transfers first). A backup this provider does not hold
    /// (one an earlier run left) is finalized by ID; one gone is [`Error::NotFound`].
    async fn remove_snapshot(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
        _consolidate: bool,
    ) -> Result<()> {
        let open = match self.backups.take(snapshot.id()) {
            Some(open) => open,
            None => Arc::new(OpenBackup {
                vm: vm.clone(),
                id: snapshot.id().to_owned(),
                from: None,
                to: String::new(),
                disks: Vec::new(),
                sources: tokio::sync::Mutex::default(),
            }),
        };
        self.end_backup(&open).await
    }
}

#[async_trait]
impl ChangeTracking for OvirtProvider {
    /// Sets every cow image disk of the VM to incremental backup; a raw or LUN disk is
    /// refused with [`OvirtError::NotIncremental`].
    async fn enable_change_tracking(&self, vm: &VmRef) -> Result<()> {
        for attachment in backup::disk_attachments(&self.engine, vm).await? {
            let disk = &attachment.disk;
            if disk.backup == "incremental" {
                continue;
            }
            let mut wanted = attachment.clone();
            wanted.disk.backup = "incremental".into();
            if let Some(reason) = backup::not_incremental(&wanted) {
                return Err(OvirtError::NotIncremental {
                    vm: vm.id().to_owned(),
                    disk: disk.id.clone(),
                    reason,
                }
                .into());
            }
            let _: serde_json::Value = self
                .engine
                .put(
                    &format!("/disks/{}", path_id(&disk.id)),
                    &json!({ "backup": "incremental" }),
                    &format!("enable incremental backup of disk {}", disk.id),
                )
                .await?;
        }
        Ok(())
    }

    /// Removes every checkpoint this provider's backups created on the VM, oldest first
    /// (the engine removes only the root), as upstream removes its last warm snapshot
    /// once the VM migrated. One that precedes ours and is not ours (another backup
    /// tool's) keeps ours behind it: [`OvirtError::CheckpointsLeft`] names them.
    async fn release_changes(&self, vm: &VmRef) -> Result<()> {
        let left = self.remove_checkpoints_before(vm, None).await?;
        if left.is_empty() {
            return Ok(());
        }
        Err(OvirtError::CheckpointsLeft {
            vm: vm.id().to_owned(),
            checkpoints: left.join(", "),
        }
        .into())
    }

    /// Every disk of the backup → the checkpoint the backup creates; none when the backup
    /// names no checkpoint (warned when the backup is ready).
    async fn change_ids(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
    ) -> Result<BTreeMap<String, String>> {
        Ok(self.open_backup(vm, snapshot)?.change_ids())
    }

    async fn changed_areas(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
        disk: &DiskRef,
        change_id: &str,
    ) -> Result<Vec<ChangedArea>> {
        let open = self.open_backup(vm, snapshot)?;
        let source = self.backup_source(&open, disk).await?;
        let image = source.image();
        let size = image.size();
        let (context, wanted): (MetaContext, fn(&Extent) -> bool) = if change_id == ALL_ALLOCATED {
            (MetaContext::BaseAllocation, |e| !e.flags.is_zero())
        } else if open.from.as_deref() == Some(change_id) {
            (MetaContext::DirtyBitmap(change_id.to_owned()), |e| {
                e.flags.is_dirty()
            })
        } else {
            // The backup starts from another checkpoint than the copy's base (a run resumed
            // after a later precopy was started): copy everything, zeroes included.
            tracing::warn!(vm = %PeerText(vm.id()), backup = %PeerText(&open.id),
                disk = %PeerText(&disk.file), change_id = %PeerText(change_id),
                "the backup does not start at this change id; copying the whole disk");
            return Ok(vec![ChangedArea {
                offset: 0,
                length: size,
            }]);
        };
        if size == 0 {
            return Ok(Vec::new());
        }
        let extents = image.extents(0, size, &context).await?;
        areas(&extents, wanted, size)
    }
}

/// The checkpoint backup `backup` of `vm` creates: the ready backup's `to_checkpoint_id`,
/// else the one the started backup named. Empty when neither names one (an engine that
/// did not create a checkpoint): no later precopy can start from this backup, so that is
/// warned here, naming the VM and the backup, instead of surfacing only as the warm
/// engine's missing change id.
fn created_checkpoint(vm: &VmRef, backup: &str, started: String, ready: String) -> String {
    let to = if ready.is_empty() { started } else { ready };
    if to.is_empty() {
        tracing::warn!(vm = %PeerText(vm.id()), backup = %PeerText(backup),
            "the ready backup names no checkpoint (no to_checkpoint_id): no later precopy \
             can start from it, so the disks have no change id");
    }
    to
}

/// The extents `wanted` keeps, as areas of a `size`-byte disk: sorted and merged by
/// [`ChangedExtents::from_areas`] (the warm engine's own list, so both merge alike), an
/// extent past the end of the disk refused.
fn areas(extents: &[Extent], wanted: fn(&Extent) -> bool, size: u64) -> Result<Vec<ChangedArea>> {
    let kept = extents
        .iter()
        .filter(|e| wanted(e))
        .map(|e| (e.offset, e.length));
    Ok(ChangedExtents::from_areas(kept, size)?
        .ranges()
        .iter()
        .map(|r| ChangedArea {
            offset: r.start,
            length: r.end - r.start,
        })
        .collect())
}

impl OvirtProvider {
    /// Opens `disk` as of backup `snapshot`: the image transfer bound to the backup, shared
    /// with `changed_areas`; the transfer ends when the backup is finalized, not when the
    /// returned source is dropped.
    pub(super) async fn open_backup_disk(
        &self,
        vm: &VmRef,
        disk: &DiskRef,
        snapshot: &SnapshotRef,
    ) -> Result<Arc<TransferSource>> {
        let open = self.open_backup(vm, snapshot)?;
        self.backup_source(&open, disk).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forklift_transfer::block::ExtentFlags;

    fn open_backup(id: &str, vm: &str, to: &str) -> Arc<OpenBackup> {
        Arc::new(OpenBackup {
            vm: VmRef::new(vm),
            id: id.into(),
            from: None,
            to: to.into(),
            disks: vec!["d1".into()],
            sources: tokio::sync::Mutex::default(),
        })
    }

    #[test]
    fn a_backup_id_the_engine_reuses_is_refused_and_the_open_backup_kept() {
        let backups = Backups::default();
        backups.insert_new(open_backup("b1", "vm1", "c1")).unwrap();
        let err = backups
            .insert_new(open_backup("b1", "vm2", "c2"))
            .unwrap_err();
        assert!(
            matches!(&err, OvirtError::BackupIdReused { backup, vm } if backup == "b1" && vm == "vm2"),
            "{err}"
        );
        let kept = backups.get("b1").unwrap();
        assert_eq!((kept.vm.id(), kept.to.as_str()), ("vm1", "c1"));
        assert_eq!(backups.open_ids(), ["b1"]);
    }

    /// Warnings logged while `f` runs, each as its message and fields.
    fn warnings(f: impl FnOnce()) -> Vec<String> {
        use tracing::field::{Field, Visit};
        #[derive(Default)]
        struct Capture(Mutex<Vec<String>>);
        struct Line<'a>(&'a mut String);
        impl Visit for Line<'_> {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={value:?}", field.name()));
            }
        }
        impl tracing::Subscriber for Capture {
            fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
                tracing::span::Id::from_u64(1)
            }
            fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
            fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
            fn event(&self, event: &tracing::Event<'_>) {
                if *event.metadata().level() == tracing::Level::WARN {
                    let mut line = String::new();
                    event.record(&mut Line(&mut line));
                    self.0.lock().unwrap().push(line);
                }
            }
            fn enter(&self, _: &tracing::span::Id) {}
            fn exit(&self, _: &tracing::span::Id) {}
        }
        let capture = Arc::new(Capture::default());
        tracing::subscriber::with_default(capture.clone(), f);
        capture.0.lock().unwrap().clone()
    }

    #[test]
    fn a_backup_naming_no_checkpoint_is_warned_naming_vm_and_backup() {
        let vm = VmRef::new("vm-1");
        let mut to = String::from("unset");
        let logged = warnings(|| {
            to = created_checkpoint(&vm, "b\x1b[31m", String::new(), String::new());
        });
        assert_eq!(to, "");
        assert_eq!(logged.len(), 1, "{logged:?}");
        let line = &logged[0];
        assert!(line.contains("no to_checkpoint_id"), "{line}");
        assert!(line.contains("vm=vm-1"), "{line}");
        // Peer text is escaped: no raw escape character reaches a terminal.
        assert!(
            line.contains("backup=b") && !line.contains('\x1b'),
            "{line}"
        );
        // Named by the ready backup, or else by the started one: no warning.
        let logged = warnings(|| {
            assert_eq!(
                created_checkpoint(&vm, "b", "c1".into(), String::new()),
                "c1"
            );
            assert_eq!(created_checkpoint(&vm, "b", "c1".into(), "c2".into()), "c2");
        });
        assert!(logged.is_empty(), "{logged:?}");
    }

    #[test]
    fn a_backup_naming_no_checkpoint_gives_no_change_ids() {
        let backups = Backups::default();
        backups.insert_new(open_backup("b1", "vm1", "")).unwrap();
        assert!(backups.get("b1").unwrap().change_ids().is_empty());
        backups.insert_new(open_backup("b2", "vm1", "c2")).unwrap();
        let ids = backups.get("b2").unwrap().change_ids();
        assert_eq!(ids, BTreeMap::from([("d1".to_owned(), "c2".to_owned())]));
    }

    #[test]
    fn wanted_extents_become_merged_areas() {
        let e = |offset, length, flags| Extent::new(offset, length, flags);
        let extents = [
            e(0, 10, ExtentFlags::DIRTY),
            e(10, 5, ExtentFlags::DIRTY),
            e(15, 5, ExtentFlags::DATA),
            e(20, 4, ExtentFlags::DIRTY),
        ];
        let got = areas(&extents, |e| e.flags.is_dirty(), 24).unwrap();
        let want = [
            ChangedArea {
                offset: 0,
                length: 15,
            },
            ChangedArea {
                offset: 20,
                length: 4,
            },
        ];
        assert_eq!(got, want);
        let allocated = areas(
            &[e(0, 8, ExtentFlags::ZERO), e(8, 8, ExtentFlags::DATA)],
            |e| !e.flags.is_zero(),
            16,
        )
        .unwrap();
        assert_eq!(
            allocated,
            [ChangedArea {
                offset: 8,
                length: 8
            }]
        );
        // An extent the engine reports past the end of the disk is refused here.
        assert!(areas(&[e(0, 32, ExtentFlags::DIRTY)], |e| e.flags.is_dirty(), 16).is_err());
    }
}
