//! Map resolution: which destination each source NIC and disk goes to.
//!
//! A [`NetworkMapper`] resolves NICs against a NetworkMap's pairs by source ID, `type: pod`,
//! name or `namespace/name` (KubeVirt), and allocates NAD-pool destinations so several NICs on
//! one source network fan out to distinct NetworkAttachmentDefinitions (upstream
//! `adapter/base/network.go`). A [`StorageMapper`] resolves disks by storage ID or name,
//! including the OVA `Dummy storage for source provider <name>` catch-all, per-disk OVA
//! entries, `glance` for image-booted OpenStack VMs and storage class names for KubeVirt.
//! [`validate_network_map`] and [`validate_storage_map`] raise the map controller's
//! conditions, and [`plan_owned_network_map`] / [`plan_owned_storage_map`] turn an ownerless
//! map into the plan-owned copy a plan uses.

mod network;
mod ownerless;
mod storage;
mod validate;

pub use network::{NetworkMapper, parse_vlan};
pub use ownerless::{
    MappingError, is_ownerless, plan_owned_network_map, plan_owned_storage_map,
    plan_owner_reference,
};
pub use storage::{DUMMY_STORAGE_PREFIX, GLANCE_SOURCE, StorageMapper, dummy_storage_name};
pub use validate::{validate_network_map, validate_storage_map};

#[cfg(test)]
mod tests;
