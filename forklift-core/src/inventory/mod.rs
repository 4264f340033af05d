//! The provider-neutral inventory model.
//!
//! Every provider type (vSphere, oVirt, OpenStack, OVA, Hyper-V, KubeVirt) is described by
//! the same [`SourceInventory`]: virtual machines with their disks, NICs and guest networks,
//! networks, storages and hosts. What only one provider knows lives in typed extensions
//! ([`VmExt`], [`StorageExt`], [`NetworkExt`], [`HostExt`], [`ProviderExt`]) rather than in string
//! maps, so the validator and the renderer read provider detail with the compiler's help.
//!
//! The destination side, the KubeVirt cluster, is described by a [`DestinationInventory`]
//! (namespaces, network attachment definitions, storage classes and profiles, existing VMs and
//! their MACs, service accounts, KubeVirt feature gates, instance types and preferences), so that
//! destination checks run without a cluster.
//!
//! Both serialize to JSON with camelCase keys; `docs/inventory-format.md` documents the format.
//! A user saves an inventory once and validates plans against it offline.

pub mod concerns;
mod destination;
mod entities;
mod ext;
mod source;
mod vm;

pub use destination::{
    ClaimPropertySet, DestinationInventory, DestinationVm, InstanceType, KubevirtConfig, Namespace,
    NetworkAttachmentDefinition, PersistentVolumeClaim, Preference, ServiceAccount, StorageClass,
    StorageProfile,
};
pub use entities::{Host, Network, NetworkKind, Storage, StorageKind};
pub use ext::{
    DatastoreType, GuestDisk, HostExt, HypervVmExt, KubevirtVmExt, KubevirtVolume, NetworkExt,
    OpenstackVmExt, OvaSkipReason, OvaSkippedPackage, OvaVmExt, OvirtVmExt, ProviderExt,
    StorageExt, VmExt, VsphereDatastoreExt, VsphereHostExt, VsphereVmExt,
};
pub use source::{InventoryIndex, Lookup, SourceInventory};
pub use vm::{
    CdRom, Concern, ConcernCategory, Disk, DiskBus, DiskMode, Firmware, GuestNetwork, Nic,
    NicNetwork, PowerState, ToolsStatus, Vm,
};

/// Errors raised while loading an inventory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InventoryError {
    /// The JSON text does not describe an inventory.
    #[error("Invalid {what} inventory JSON: {source}")]
    Json {
        /// Which inventory was being read (`source` or `destination`).
        what: &'static str,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
}

#[cfg(test)]
mod tests;
