//! Test doubles for the runner: a source provider backend, a destination and a hook runner,
//! all in memory, recording every capability call in one shared journal so tests can assert
//! the order in which the runner used them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use forklift_core::inventory::SourceInventory;
use forklift_core::resources::Hook;
use forklift_providers::capability::{
    DiskAccess, DiskRef, InventorySource, PowerControl, PowerState, ProviderBackend, SnapshotRef,
    VmRef,
};
use forklift_providers::{Provider, ProviderType};
use forklift_transfer::block::{BlockSink, BlockSource};
use tokio_util::sync::CancellationToken;

use crate::migrate::destination::{Destination, DestinationDisk, DestinationError, ObjectKind};
use crate::migrate::hooks::{HookContext, HookError, HookRunner};

/// Every capability call, in order.
#[derive(Debug, Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Entries that start with `prefix`.
    pub fn with(&self, prefix: &str) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|e| e.starts_with(prefix))
            .collect()
    }

    /// Position of the first entry equal to `entry`.
    pub fn position(&self, entry: &str) -> usize {
        self.entries()
            .iter()
            .position(|e| e == entry)
            .unwrap_or_else(|| panic!("{entry} not in {:#?}", self.entries()))
    }
}

/// A disk in memory.
#[derive(Debug)]
pub struct MemoryDisk {
    name: String,
    data: Mutex<Vec<u8>>,
    /// Reads never complete (until the copy is cancelled and drops them).
    hang: bool,
    /// Where a source disk records `dropped_disk NAME` when the copy lets go of it.
    closed: Option<Journal>,
}

impl Drop for MemoryDisk {
    fn drop(&mut self) {
        if let Some(journal) = &self.closed {
            journal.push(format!("dropped_disk {}", self.name));
        }
    }
}

impl MemoryDisk {
    pub fn new(name: &str, data: Vec<u8>) -> Self {
        Self {
            name: name.to_owned(),
            data: Mutex::new(data),
            hang: false,
            closed: None,
        }
    }

    /// A disk of `size` bytes whose reads never complete.
    pub fn hanging(name: &str, size: u64) -> Self {
        let mut disk = Self::new(name, vec![0; usize::try_from(size).unwrap()]);
        disk.hang = true;
        disk
    }

    pub fn data(&self) -> Vec<u8> {
        self.data.lock().unwrap().clone()
    }
}

#[async_trait]
impl BlockSource for MemoryDisk {
    fn size(&self) -> u64 {
        self.data.lock().unwrap().len() as u64
    }

    fn describe(&self) -> String {
        format!("memory:{}", self.name)
    }

    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> forklift_transfer::Result<()> {
        if self.hang {
            std::future::pending::<()>().await;
        }
        let data = self.data.lock().unwrap();
        let start = usize::try_from(offset).unwrap();
        buf.copy_from_slice(&data[start..start + buf.len()]);
        Ok(())
    }
}

#[async_trait]
impl BlockSink for MemoryDisk {
    fn size(&self) -> u64 {
        self.data.lock().unwrap().len() as u64
    }

    async fn write_at(&self, offset: u64, buf: &[u8]) -> forklift_transfer::Result<()> {
        let mut data = self.data.lock().unwrap();
        let start = usize::try_from(offset).unwrap();
        data[start..start + buf.len()].copy_from_slice(buf);
        Ok(())
    }
}

/// What a source VM's disk returns when opened.
#[derive(Debug, Clone)]
pub enum DiskBehaviour {
    /// Its content.
    Data(Vec<u8>),
    /// Opening fails.
    OpenFails,
    /// Reads never complete.
    Hangs(u64),
}

/// A source provider with inventory, power control and disk access, in memory.
#[derive(Debug)]
pub struct MockBackend {
    pub journal: Journal,
    pub inventory: SourceInventory,
    /// Disk behaviour by backing file.
    pub disks: Mutex<BTreeMap<String, DiskBehaviour>>,
    /// Power state by VM id.
    pub power: Mutex<BTreeMap<String, PowerState>>,
    /// VMs whose guest refuses a shutdown request.
    pub no_guest_shutdown: BTreeSet<String>,
    /// VMs whose guest accepts a shutdown request and never shuts down.
    pub stuck_guests: BTreeSet<String>,
    /// VMs that ignore even a hard power-off.
    pub unstoppable: BTreeSet<String>,
    /// Snapshots and change tracking (warm migration); `None`: the provider has neither.
    pub warm: Option<Arc<super::warm_mock::WarmSource>>,
}

impl MockBackend {
    pub fn new(journal: Journal, inventory: SourceInventory) -> Self {
        let power = inventory
            .vms
            .iter()
            .map(|vm| (vm.id.clone(), vm.power_state))
            .collect();
        Self {
            journal,
            inventory,
            disks: Mutex::new(BTreeMap::new()),
            power: Mutex::new(power),
            no_guest_shutdown: BTreeSet::new(),
            stuck_guests: BTreeSet::new(),
            unstoppable: BTreeSet::new(),
            warm: None,
        }
    }

    pub fn disk(self, file: &str, behaviour: DiskBehaviour) -> Self {
        self.disks
            .lock()
            .unwrap()
            .insert(file.to_owned(), behaviour);
        self
    }

    pub fn provider(self) -> Provider {
        Provider::from_backend(Arc::new(self))
    }
}

#[async_trait]
impl ProviderBackend for MockBackend {
    async fn close(&self) -> forklift_providers::Result<()> {
        self.journal.push("close");
        Ok(())
    }

    fn provider_type(&self) -> ProviderType {
        ProviderType::VSphere
    }

    fn inventory(&self) -> Option<&dyn InventorySource> {
        Some(self)
    }

    fn power(&self) -> Option<&dyn PowerControl> {
        Some(self)
    }

    fn disks(&self) -> Option<&dyn DiskAccess> {
        Some(self)
    }

    fn snapshots(&self) -> Option<&dyn forklift_providers::capability::Snapshots> {
        self.warm
            .as_deref()
            .map(|w| w as &dyn forklift_providers::capability::Snapshots)
    }

    fn change_tracking(&self) -> Option<&dyn forklift_providers::capability::ChangeTracking> {
        self.warm
            .as_deref()
            .map(|w| w as &dyn forklift_providers::capability::ChangeTracking)
    }
}

#[async_trait]
impl InventorySource for MockBackend {
    async fn collect_inventory(&self) -> forklift_providers::Result<SourceInventory> {
        self.journal.push("inventory");
        Ok(self.inventory.clone())
    }
}

#[async_trait]
impl PowerControl for MockBackend {
    async fn power_state(&self, vm: &VmRef) -> forklift_providers::Result<PowerState> {
        self.journal.push(format!("power_state {vm}"));
        Ok(self.power.lock().unwrap()[vm.id()])
    }

    async fn power_off(&self, vm: &VmRef) -> forklift_providers::Result<()> {
        self.journal.push(format!("power_off {vm}"));
        if self.unstoppable.contains(vm.id()) {
            return Ok(());
        }
        self.power
            .lock()
            .unwrap()
            .insert(vm.id().to_owned(), PowerState::Off);
        Ok(())
    }

    async fn power_on(&self, vm: &VmRef) -> forklift_providers::Result<()> {
        self.journal.push(format!("power_on {vm}"));
        self.power
            .lock()
            .unwrap()
            .insert(vm.id().to_owned(), PowerState::On);
        Ok(())
    }

    async fn shutdown_guest(&self, vm: &VmRef) -> forklift_providers::Result<()> {
        self.journal.push(format!("shutdown_guest {vm}"));
        if self.no_guest_shutdown.contains(vm.id()) {
            return Err(forklift_providers::Error::protocol(
                "ShutdownGuest",
                "VMware Tools are not running",
            ));
        }
        if self.stuck_guests.contains(vm.id()) {
            return Ok(());
        }
        self.power
            .lock()
            .unwrap()
            .insert(vm.id().to_owned(), PowerState::Off);
        Ok(())
    }
}

#[async_trait]
impl DiskAccess for MockBackend {
    async fn open_disk(
        &self,
        vm: &VmRef,
        disk: &DiskRef,
        snapshot: Option<&SnapshotRef>,
    ) -> forklift_providers::Result<Box<dyn BlockSource>> {
        if let (Some(warm), Some(snapshot)) = (&self.warm, snapshot) {
            return warm.open(vm, disk, snapshot);
        }
        self.journal.push(format!("open_disk {vm} {}", disk.file));
        let behaviour = self.disks.lock().unwrap().get(&disk.file).cloned();
        match behaviour {
            Some(DiskBehaviour::Data(data)) => Ok(Box::new(MemoryDisk::new(&disk.file, data))),
            Some(DiskBehaviour::Hangs(size)) => {
                let mut disk = MemoryDisk::new(&disk.file, vec![0; usize::try_from(size).unwrap()]);
                disk.hang = true;
                disk.closed = Some(self.journal.clone());
                Ok(Box::new(disk))
            }
            Some(DiskBehaviour::OpenFails) | None => Err(forklift_providers::Error::protocol(
                "open_disk",
                format!("cannot open {}", disk.file),
            )),
        }
    }
}

/// A destination in memory.
#[derive(Debug, Default)]
pub struct MemoryDestination {
    pub journal: Journal,
    pub disks: Mutex<BTreeMap<String, Arc<MemoryDisk>>>,
    pub objects: Mutex<BTreeMap<String, serde_json::Value>>,
    pub status_dir: PathBuf,
    /// Whether disks have (fake) local files, for a guest converter.
    pub local_files: bool,
}

#[async_trait]
impl Destination for MemoryDestination {
    fn describe(&self) -> String {
        "memory".into()
    }

    fn local_disk_path(&self, _namespace: &str, claim: &str) -> Option<PathBuf> {
        self.local_files.then(|| self.status_dir.join(claim))
    }

    async fn open_disk(
        &self,
        _namespace: &str,
        claim: &str,
        size: u64,
    ) -> Result<DestinationDisk, DestinationError> {
        self.journal.push(format!("open_target {claim}"));
        let disk = Arc::new(MemoryDisk::new(
            claim,
            vec![0; usize::try_from(size).unwrap()],
        ));
        self.disks
            .lock()
            .unwrap()
            .insert(claim.to_owned(), disk.clone());
        Ok(DestinationDisk {
            readback: Some(disk.clone()),
            sink: disk,
            checkpoint: None,
            zero_initialized: true,
            location: format!("memory:{claim}"),
        })
    }

    async fn write_object(
        &self,
        _namespace: &str,
        kind: ObjectKind,
        name: &str,
        object: &serde_json::Value,
    ) -> Result<(), DestinationError> {
        self.journal.push(format!("write {kind:?} {name}"));
        self.objects
            .lock()
            .unwrap()
            .insert(name.to_owned(), object.clone());
        Ok(())
    }

    async fn disk_completed(&self, _namespace: &str, claim: &str) -> Result<(), DestinationError> {
        self.journal.push(format!("disk_completed {claim}"));
        Ok(())
    }

    async fn discard_checkpoint(
        &self,
        _namespace: &str,
        claim: &str,
    ) -> Result<(), DestinationError> {
        self.journal.push(format!("discard_checkpoint {claim}"));
        Ok(())
    }

    async fn disk_size(
        &self,
        _namespace: &str,
        claim: &str,
    ) -> Result<Option<u64>, DestinationError> {
        self.journal.push(format!("disk_size {claim}"));
        Ok(self
            .disks
            .lock()
            .unwrap()
            .get(claim)
            .map(|d| BlockSource::size(d.as_ref())))
    }

    async fn remove_vm(
        &self,
        _namespace: &str,
        vm: &str,
        claims: &[String],
    ) -> Result<(), DestinationError> {
        self.journal.push(format!("remove_vm {vm}"));
        self.objects.lock().unwrap().remove(vm);
        for claim in claims {
            self.objects.lock().unwrap().remove(claim);
            self.disks.lock().unwrap().remove(claim);
        }
        Ok(())
    }

    fn status_path(&self, plan_namespace: &str, plan: &str) -> Result<PathBuf, DestinationError> {
        Ok(self
            .status_dir
            .join(plan_namespace)
            .join(format!("{plan}.status.yaml")))
    }
}

/// A hook runner that records each run and fails the first `failures[hook]` runs of a hook.
#[derive(Debug, Default)]
pub struct ScriptedHooks {
    pub journal: Journal,
    pub failures: Mutex<BTreeMap<String, u32>>,
}

#[async_trait]
impl HookRunner for ScriptedHooks {
    async fn run(
        &self,
        hook: &Hook,
        context: &HookContext,
        _cancel: &CancellationToken,
    ) -> Result<String, HookError> {
        let name = hook.metadata.name_or_empty().to_owned();
        self.journal
            .push(format!("hook {} {name} {}", context.step, context.vm_id));
        let mut failures = self.failures.lock().unwrap();
        match failures.get_mut(&name) {
            Some(left) if *left > 0 => {
                *left -= 1;
                Err(HookError::Callback {
                    hook: name,
                    message: "scripted failure".into(),
                })
            }
            _ => Ok("ok".into()),
        }
    }
}
