//! A source with snapshots and changed block tracking in memory, behaving as vSphere does
//! for warm migration: a snapshot freezes the VM's disks, its change id names that frozen
//! state, and the changed areas since a change id are the 64 KiB areas that differ (every
//! allocated area for `*`). Guest writes are scripted to land before a given snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use async_trait::async_trait;
use forklift_providers::capability::{
    ALL_ALLOCATED, ChangeTracking, ChangedArea, DiskRef, SnapshotRef, SnapshotRequest, Snapshots,
    VmRef,
};
use forklift_transfer::block::BlockSource;

use super::mock::{Journal, MemoryDisk};

/// Granularity of the changed areas.
pub const AREA: usize = 64 * 1024;

/// A guest write: `len` bytes of `byte` at `offset` of disk `file`.
#[derive(Debug, Clone)]
pub struct Write {
    pub file: String,
    pub offset: usize,
    pub len: usize,
    pub byte: u8,
}

#[derive(Debug, Default)]
struct State {
    /// Live content of each disk, by backing file.
    live: BTreeMap<String, Vec<u8>>,
    /// The VM of each disk.
    vm_of: BTreeMap<String, String>,
    /// Snapshots taken so far, per VM (numbers the scripted writes).
    taken: BTreeMap<String, usize>,
    /// Frozen disks by change id.
    frozen: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// Snapshots each VM holds now.
    held: BTreeMap<String, BTreeSet<String>>,
    /// The most snapshots one VM held at once.
    max_held: usize,
    next: usize,
}

#[derive(Debug, Default)]
pub struct WarmSource {
    pub journal: Journal,
    state: Mutex<State>,
    /// Snapshots a VM may hold; creating one more fails with `TooManySnapshotLevels`.
    pub limit: usize,
    /// Writes applied just before a VM's Nth snapshot (1-based), by (VM id, N).
    pub writes: Mutex<BTreeMap<(String, usize), Vec<Write>>>,
    /// Opens at a snapshot that fail before one succeeds.
    pub failing_opens: AtomicU32,
    /// Reads of disks opened at a VM's Nth snapshot and later never complete.
    pub hang_from: Mutex<Option<usize>>,
    /// Removing a snapshot fails.
    pub removal_fails: AtomicBool,
    /// Snapshots name no change id (as an oVirt backup ready without `to_checkpoint_id`).
    pub no_change_ids: AtomicBool,
    /// How long the source takes to answer (none by default).
    pub latency: Mutex<Latency>,
}

/// How long the source takes for each kind of call (slept on tokio's clock, so paused-time
/// tests measure exactly these).
#[derive(Debug, Default, Clone, Copy)]
pub struct Latency {
    pub create: std::time::Duration,
    pub remove: std::time::Duration,
    /// Each of `change_ids` and `changed_areas` (per disk).
    pub query: std::time::Duration,
}

impl WarmSource {
    fn latency(&self) -> Latency {
        *self.latency.lock().unwrap()
    }
}

impl WarmSource {
    pub fn new(journal: &Journal, limit: usize) -> Self {
        Self {
            journal: journal.clone(),
            limit,
            ..Self::default()
        }
    }

    /// Adds disk `file` of `vm` with `data`.
    pub fn disk(self, vm: &str, file: &str, data: Vec<u8>) -> Self {
        {
            let mut s = self.state.lock().unwrap();
            s.live.insert(file.to_owned(), data);
            s.vm_of.insert(file.to_owned(), vm.to_owned());
        }
        self
    }

    /// Scripts `write` to land before `vm`'s snapshot number `before`.
    pub fn write_before(&self, vm: &str, before: usize, write: Write) {
        self.writes
            .lock()
            .unwrap()
            .entry((vm.to_owned(), before))
            .or_default()
            .push(write);
    }

    pub fn live(&self, file: &str) -> Vec<u8> {
        self.state.lock().unwrap().live[file].clone()
    }

    pub fn held(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.state.lock().unwrap().held.clone()
    }

    pub fn max_held(&self) -> usize {
        self.state.lock().unwrap().max_held
    }

    fn holds(&self, vm: &VmRef, snapshot: &SnapshotRef) -> bool {
        self.state
            .lock()
            .unwrap()
            .held
            .get(vm.id())
            .is_some_and(|h| h.contains(snapshot.id()))
    }

    /// Opens `disk` as frozen at `snapshot`.
    pub fn open(
        &self,
        vm: &VmRef,
        disk: &DiskRef,
        snapshot: &SnapshotRef,
    ) -> forklift_providers::Result<Box<dyn BlockSource>> {
        self.journal
            .push(format!("open_disk {vm} {} @{snapshot}", disk.file));
        if !self.holds(vm, snapshot) {
            return Err(not_found(snapshot));
        }
        if self
            .failing_opens
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(forklift_providers::Error::protocol(
                "open_disk",
                "scripted failure",
            ));
        }
        let s = self.state.lock().unwrap();
        let data = s.frozen[&change_id(snapshot)][&disk.file].clone();
        let number = s.taken.get(vm.id()).copied().unwrap_or(0);
        let hang = self.hang_from.lock().unwrap().is_some_and(|n| number >= n);
        Ok(Box::new(if hang {
            MemoryDisk::hanging(&disk.file, data.len() as u64)
        } else {
            MemoryDisk::new(&disk.file, data)
        }))
    }
}

fn change_id(snapshot: &SnapshotRef) -> String {
    format!("52 00 cb {}/1", snapshot.id())
}

fn not_found(snapshot: &SnapshotRef) -> forklift_providers::Error {
    forklift_providers::Error::NotFound {
        kind: "snapshot",
        id: snapshot.id().to_owned(),
    }
}

#[async_trait]
impl Snapshots for WarmSource {
    async fn create_snapshot(
        &self,
        vm: &VmRef,
        request: &SnapshotRequest,
    ) -> forklift_providers::Result<SnapshotRef> {
        self.journal
            .push(format!("create_snapshot {vm} {}", request.name));
        tokio::time::sleep(self.latency().create).await;
        let mut s = self.state.lock().unwrap();
        if s.held.get(vm.id()).map_or(0, BTreeSet::len) >= self.limit {
            return Err(forklift_providers::Error::Fault {
                method: "CreateSnapshot_Task".into(),
                fault: "TooManySnapshotLevels".into(),
                message: "Exceeded the maximum number of permitted snapshots.".into(),
            });
        }
        let number = {
            let taken = s.taken.entry(vm.id().to_owned()).or_default();
            *taken += 1;
            *taken
        };
        let writes = self
            .writes
            .lock()
            .unwrap()
            .remove(&(vm.id().to_owned(), number))
            .unwrap_or_default();
        for w in writes {
            s.live.get_mut(&w.file).unwrap()[w.offset..w.offset + w.len].fill(w.byte);
        }
        s.next += 1;
        let snapshot = SnapshotRef(format!("snapshot-{}", s.next));
        let frozen: BTreeMap<String, Vec<u8>> = s
            .live
            .iter()
            .filter(|(file, _)| s.vm_of[*file] == vm.id())
            .map(|(f, d)| (f.clone(), d.clone()))
            .collect();
        s.frozen.insert(change_id(&snapshot), frozen);
        let held = s.held.entry(vm.id().to_owned()).or_default();
        held.insert(snapshot.0.clone());
        let count = held.len();
        s.max_held = s.max_held.max(count);
        Ok(snapshot)
    }

    async fn remove_snapshot(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
        _consolidate: bool,
    ) -> forklift_providers::Result<()> {
        self.journal
            .push(format!("remove_snapshot {vm} {snapshot}"));
        tokio::time::sleep(self.latency().remove).await;
        if self.removal_fails.load(Ordering::SeqCst) {
            return Err(forklift_providers::Error::protocol(
                "RemoveSnapshot_Task",
                "scripted failure",
            ));
        }
        let mut s = self.state.lock().unwrap();
        let held = s.held.entry(vm.id().to_owned()).or_default();
        if held.remove(snapshot.id()) {
            Ok(())
        } else {
            Err(not_found(snapshot))
        }
    }
}

#[async_trait]
impl ChangeTracking for WarmSource {
    async fn enable_change_tracking(&self, _vm: &VmRef) -> forklift_providers::Result<()> {
        Ok(())
    }

    async fn change_ids(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
    ) -> forklift_providers::Result<BTreeMap<String, String>> {
        tokio::time::sleep(self.latency().query).await;
        if !self.holds(vm, snapshot) {
            return Err(not_found(snapshot));
        }
        if self.no_change_ids.load(Ordering::SeqCst) {
            return Ok(BTreeMap::new());
        }
        let s = self.state.lock().unwrap();
        Ok(s.frozen[&change_id(snapshot)]
            .keys()
            .map(|file| (file.clone(), change_id(snapshot)))
            .collect())
    }

    async fn changed_areas(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
        disk: &DiskRef,
        change_id_since: &str,
    ) -> forklift_providers::Result<Vec<ChangedArea>> {
        self.journal.push(format!(
            "changed_areas {vm} {} key {} since {change_id_since}",
            disk.file, disk.key
        ));
        tokio::time::sleep(self.latency().query).await;
        if !self.holds(vm, snapshot) {
            return Err(not_found(snapshot));
        }
        // vSphere asks by device key; a missing key would query another disk.
        if disk.key == 0 {
            return Err(forklift_providers::Error::protocol(
                "QueryChangedDiskAreas",
                "no device key",
            ));
        }
        let s = self.state.lock().unwrap();
        let now = &s.frozen[&change_id(snapshot)][&disk.file];
        let before = if change_id_since == ALL_ALLOCATED {
            None
        } else {
            Some(
                s.frozen
                    .get(change_id_since)
                    .and_then(|f| f.get(&disk.file))
                    .ok_or_else(|| {
                        forklift_providers::Error::protocol(
                            "QueryChangedDiskAreas",
                            "unknown change id",
                        )
                    })?,
            )
        };
        Ok(now
            .chunks(AREA)
            .enumerate()
            .filter(|(i, chunk)| match before {
                None => chunk.iter().any(|b| *b != 0),
                Some(before) => before[i * AREA..i * AREA + chunk.len()] != **chunk,
            })
            .map(|(i, chunk)| ChangedArea {
                offset: (i * AREA) as u64,
                length: chunk.len() as u64,
            })
            .collect())
    }
}
