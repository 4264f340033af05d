//! The capability traits a provider implements and the [`Provider`] handle that hands them
//! out, answering a missing one with a typed [`Error::Unsupported`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::{
    Capability, ChangedArea, DiskRef, PowerState, ProviderType, SnapshotRef, SnapshotRequest, VmRef,
};
use crate::error::{Error, Result};

/// Collects the source inventory.
#[async_trait]
pub trait InventorySource: Send + Sync {
    /// Reads the whole inventory: VMs with disks, NICs and guest networks, networks, storages
    /// and hosts, converted into the provider-neutral model.
    async fn collect_inventory(&self) -> Result<forklift_core::inventory::SourceInventory>;
}

/// Reads and changes the power state of VMs.
#[async_trait]
pub trait PowerControl: Send + Sync {
    /// Current power state.
    async fn power_state(&self, vm: &VmRef) -> Result<PowerState>;
    /// Hard power off; returns once the VM is off.
    async fn power_off(&self, vm: &VmRef) -> Result<()>;
    /// Power on; returns once the VM is on.
    async fn power_on(&self, vm: &VmRef) -> Result<()>;
    /// Asks the guest OS to shut down (returns when the request is accepted, not when the VM
    /// is off). Providers without guest integration answer [`Error::Unsupported`].
    async fn shutdown_guest(&self, vm: &VmRef) -> Result<()> {
        let _ = vm;
        Err(Error::unsupported(
            None,
            Capability::PowerOperation("shutdown guest"),
        ))
    }
}

/// Creates and removes VM snapshots.
#[async_trait]
pub trait Snapshots: Send + Sync {
    /// Takes a snapshot and returns its reference once the snapshot exists.
    async fn create_snapshot(&self, vm: &VmRef, request: &SnapshotRequest) -> Result<SnapshotRef>;
    /// Removes a snapshot, consolidating its delta into the parent when `consolidate` is set.
    async fn remove_snapshot(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
        consolidate: bool,
    ) -> Result<()>;
}

/// Changed block tracking, the basis of warm migration.
#[async_trait]
pub trait ChangeTracking: Send + Sync {
    /// Enables change tracking on the VM (and hence on its disks).
    async fn enable_change_tracking(&self, vm: &VmRef) -> Result<()>;

    /// Change identifiers of the VM's disks as of a snapshot, keyed by the disk's base backing
    /// file (snapshot suffix trimmed).
    async fn change_ids(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
    ) -> Result<BTreeMap<String, String>>;

    /// Areas of `disk` changed between `change_id` and `snapshot`, in offset order. With
    /// [`ALL_ALLOCATED`](super::ALL_ALLOCATED) as `change_id`, every allocated area.
    async fn changed_areas(
        &self,
        vm: &VmRef,
        snapshot: &SnapshotRef,
        disk: &DiskRef,
        change_id: &str,
    ) -> Result<Vec<ChangedArea>>;

    /// The warm migration of `vm` cut over (its last changes copied, its last snapshot
    /// removed): removes what change tracking kept on the source only for later precopies
    /// (oVirt: the checkpoints this provider's backups created). The default keeps nothing
    /// of the kind.
    async fn release_changes(&self, vm: &VmRef) -> Result<()> {
        let _ = vm;
        Ok(())
    }
}

/// Opens VM disks for reading.
#[async_trait]
pub trait DiskAccess: Send + Sync {
    /// Opens `disk` of `vm` (as of `snapshot` when given) as a block source.
    async fn open_disk(
        &self,
        vm: &VmRef,
        disk: &DiskRef,
        snapshot: Option<&SnapshotRef>,
    ) -> Result<Box<dyn forklift_transfer::block::BlockSource>>;
}

/// The implementation behind a [`Provider`]: it hands out the capabilities it offers.
///
/// Every accessor defaults to `None`, so an implementation lists only what it supports.
#[async_trait]
pub trait ProviderBackend: Send + Sync {
    /// Ends the provider's session (vSphere logout); the default has nothing to end.
    async fn close(&self) -> Result<()> {
        Ok(())
    }

    /// The provider type.
    fn provider_type(&self) -> ProviderType;
    /// Inventory collection, if supported.
    fn inventory(&self) -> Option<&dyn InventorySource> {
        None
    }
    /// Power control, if supported.
    fn power(&self) -> Option<&dyn PowerControl> {
        None
    }
    /// Snapshots, if supported.
    fn snapshots(&self) -> Option<&dyn Snapshots> {
        None
    }
    /// Change tracking, if supported.
    fn change_tracking(&self) -> Option<&dyn ChangeTracking> {
        None
    }
    /// Disk access, if supported.
    fn disks(&self) -> Option<&dyn DiskAccess> {
        None
    }
}

/// An opened source provider. Cheap to clone; share it between tasks.
#[derive(Clone)]
pub struct Provider {
    backend: Arc<dyn ProviderBackend>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("type", &self.provider_type())
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// Wraps a backend; [`open_provider`](super::open_provider) is the usual way to get one.
    pub fn from_backend(backend: Arc<dyn ProviderBackend>) -> Self {
        Self { backend }
    }

    /// The provider type.
    pub fn provider_type(&self) -> ProviderType {
        self.backend.provider_type()
    }

    fn missing(&self, capability: Capability) -> Error {
        Error::unsupported(Some(self.provider_type()), capability)
    }

    /// Inventory collection, or [`Error::Unsupported`].
    pub fn inventory(&self) -> Result<&dyn InventorySource> {
        self.backend
            .inventory()
            .ok_or_else(|| self.missing(Capability::Inventory))
    }

    /// Power control, or [`Error::Unsupported`].
    pub fn power(&self) -> Result<&dyn PowerControl> {
        self.backend
            .power()
            .ok_or_else(|| self.missing(Capability::Power))
    }

    /// Snapshots, or [`Error::Unsupported`].
    pub fn snapshots(&self) -> Result<&dyn Snapshots> {
        self.backend
            .snapshots()
            .ok_or_else(|| self.missing(Capability::Snapshots))
    }

    /// Change tracking, or [`Error::Unsupported`].
    pub fn change_tracking(&self) -> Result<&dyn ChangeTracking> {
        self.backend
            .change_tracking()
            .ok_or_else(|| self.missing(Capability::ChangeTracking))
    }

    /// Disk access, or [`Error::Unsupported`].
    pub fn disks(&self) -> Result<&dyn DiskAccess> {
        self.backend
            .disks()
            .ok_or_else(|| self.missing(Capability::DiskAccess))
    }

    /// Ends the session; the handle must not be used afterwards.
    pub async fn close(&self) -> Result<()> {
        self.backend.close().await
    }

    /// Whether the provider offers `capability`.
    pub fn can(&self, capability: Capability) -> bool {
        match capability {
            Capability::Inventory => self.backend.inventory().is_some(),
            Capability::Power | Capability::PowerOperation(_) => self.backend.power().is_some(),
            Capability::Snapshots => self.backend.snapshots().is_some(),
            Capability::ChangeTracking => self.backend.change_tracking().is_some(),
            Capability::DiskAccess => self.backend.disks().is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct InventoryOnly;

    impl ProviderBackend for InventoryOnly {
        fn provider_type(&self) -> ProviderType {
            ProviderType::Ova
        }
    }

    #[test]
    fn missing_capabilities_are_typed_unsupported_errors() {
        let provider = Provider::from_backend(Arc::new(InventoryOnly));
        let err = provider.power().err().unwrap();
        assert!(err.is_unsupported());
        assert_eq!(
            err.to_string(),
            "ova providers do not support power control"
        );
        assert!(!provider.can(Capability::Snapshots));
    }
}
