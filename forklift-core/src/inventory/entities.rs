//! Networks, storages and hosts of a source provider.

use super::ext::{HostExt, NetworkExt, StorageExt};
use serde::{Deserialize, Serialize};

/// A source network (port group, oVirt network, Neutron network, OVF network, NAD).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Network {
    /// Provider ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Namespace (KubeVirt NADs).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Inventory path.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// What kind of network this is.
    pub kind: NetworkKind,
    /// VLAN ID, when the provider reports one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    /// Provider-specific detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<NetworkExt>,
}

/// Kind of a source network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NetworkKind {
    /// Standard network / port group.
    #[default]
    Standard,
    /// vSphere distributed port group.
    DistributedPortGroup,
    /// NSX opaque network.
    Opaque,
    /// KubeVirt pod network.
    Pod,
    /// KubeVirt multus network (NAD).
    Multus,
    /// Anything else.
    #[serde(other)]
    Other,
}

/// A source storage entity that storage maps refer to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Storage {
    /// Provider ID (datastore MoRef, storage domain UUID, volume type ID, storage class name,
    /// OVA disk ID).
    pub id: String,
    /// Name.
    pub name: String,
    /// Inventory path.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// What kind of storage this is.
    pub kind: StorageKind,
    /// Capacity in bytes, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
    /// Free space in bytes, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free: Option<u64>,
    /// Provider-specific detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<StorageExt>,
}

/// Kind of a source storage entity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StorageKind {
    /// vSphere datastore.
    #[default]
    Datastore,
    /// oVirt storage domain.
    StorageDomain,
    /// OpenStack volume type.
    VolumeType,
    /// KubeVirt storage class.
    StorageClass,
    /// One OVA/OVF disk (each OVA disk is its own storage entity upstream).
    OvaDisk,
    /// Anything else.
    #[serde(other)]
    Other,
}

/// A hypervisor host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Host {
    /// Provider ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Inventory path, e.g. `/Datacenter/host/Cluster/esx1.example.com`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// ID of the cluster the host belongs to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// The host is in maintenance mode (or, for Hyper-V clusters, paused/down).
    pub in_maintenance: bool,
    /// SHA-1 TLS thumbprint (`AA:BB:...`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub thumbprint: String,
    /// Management IP address.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub management_ip: String,
    /// Product version, e.g. `8.0.2`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub product_version: String,
    /// Provider-specific detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<HostExt>,
}
