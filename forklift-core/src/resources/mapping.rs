//! `NetworkMap` and `StorageMap`: how source networks and storage map onto the destination.

use serde::{Deserialize, Serialize};

use super::{API_VERSION, Condition, ProviderPair, Ref, resource};

string_enum! {
    /// Destination network type of a network pair.
    pub enum NetworkDestinationType {
        /// The pod network.
        Pod = "pod",
        /// A Multus NetworkAttachmentDefinition.
        Multus = "multus",
        /// The source network is not mapped (its NICs are dropped).
        Ignored = "ignored",
    }
}

string_enum! {
    /// PVC access mode.
    pub enum AccessMode {
        /// Single-node read-write.
        ReadWriteOnce,
        /// Multi-node read-write.
        ReadWriteMany,
        /// Multi-node read-only.
        ReadOnlyMany,
    }
}

string_enum! {
    /// PVC volume mode.
    pub enum VolumeMode {
        /// A filesystem holding a disk image.
        Filesystem,
        /// A raw block device.
        Block,
    }
}

string_enum! {
    /// Storage array of the vSphere XCOPY copy-offload plugin.
    pub enum StorageVendor {
        /// IBM FlashSystem.
        FlashSystem = "flashsystem",
        /// Hitachi Vantara.
        Vantara = "vantara",
        /// NetApp ONTAP.
        Ontap = "ontap",
        /// HPE Primera / 3PAR.
        Primera3Par = "primera3par",
        /// Pure Storage FlashArray.
        PureFlashArray = "pureFlashArray",
        /// Dell PowerFlex.
        PowerFlex = "powerflex",
        /// Dell PowerMax.
        PowerMax = "powermax",
        /// Dell PowerStore.
        PowerStore = "powerstore",
        /// Infinidat InfiniBox.
        InfiniBox = "infinibox",
    }
}

string_enum! {
    /// Storage array of the CSI volume-import copy-offload plugin.
    pub enum CsiVolumeImportVendor {
        /// HPE Primera / 3PAR.
        Primera3Par = "primera3par",
        /// NetApp ONTAP.
        Ontap = "ontap",
    }
}

/// `status` of both map kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MapStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Source objects the map's sources resolved to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Ref>,
}

// `resource!` declares one kind a module (its serde defaults have fixed names): each map
// kind lives in a module of its own, re-exported here.
mod network_map {
    use super::{API_VERSION, MapStatus, NetworkMapSpec, resource};

    resource! {
        /// A `NetworkMap` resource.
        #[derive(Debug, Clone, PartialEq)]
        pub struct NetworkMap(API_VERSION, "NetworkMap") {
            spec: NetworkMapSpec,
            status: MapStatus,
        }
        /// A network map with the given metadata and spec.
        pub fn new;
    }
}
pub use network_map::NetworkMap;

/// `NetworkMap.spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkMapSpec {
    /// Source and destination providers.
    pub provider: ProviderPair,
    /// The pairs.
    #[serde(default)]
    pub map: Vec<NetworkPair>,
}

/// One source network and where it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPair {
    /// The source network.
    pub source: NetworkSource,
    /// The destination.
    pub destination: NetworkDestination,
}

/// Source side of a network pair: an inventory reference plus an optional VLAN.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NetworkSource {
    /// Inventory ID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace (KubeVirt sources).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Type qualifier (`pod` selects the KubeVirt pod network).
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
    /// VLAN ID as a decimal string, 1–4094 (CRD pattern).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<String>,
}

impl NetworkSource {
    /// The inventory reference part.
    pub fn as_ref(&self) -> Ref {
        Ref {
            id: self.id.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            type_: self.type_.clone(),
        }
    }
}

impl From<Ref> for NetworkSource {
    fn from(r: Ref) -> Self {
        Self {
            id: r.id,
            name: r.name,
            namespace: r.namespace,
            type_: r.type_,
            vlan: None,
        }
    }
}

/// Destination side of a network pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NetworkDestination {
    /// Destination type.
    #[serde(rename = "type")]
    pub type_: NetworkDestinationType,
    /// NetworkAttachmentDefinition namespace (multus only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// NetworkAttachmentDefinition name (multus) or informational name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

impl Default for NetworkDestination {
    fn default() -> Self {
        Self {
            type_: NetworkDestinationType::Pod,
            namespace: String::new(),
            name: String::new(),
        }
    }
}

mod storage_map {
    use super::{API_VERSION, MapStatus, StorageMapSpec, resource};

    resource! {
        /// A `StorageMap` resource.
        #[derive(Debug, Clone, PartialEq)]
        pub struct StorageMap(API_VERSION, "StorageMap") {
            spec: StorageMapSpec,
            status: MapStatus,
        }
        /// A storage map with the given metadata and spec.
        pub fn new;
    }
}
pub use storage_map::StorageMap;

impl StorageMap {
    /// Whether any pair uses a copy-offload plugin (upstream `IsUsingOffloadPlugin`).
    pub fn uses_offload_plugin(&self) -> bool {
        self.spec.map.iter().any(|pair| {
            pair.offload_plugin
                .as_ref()
                .is_some_and(|p| p.vsphere_xcopy_config.is_some() || p.csi_volume_import.is_some())
        })
    }
}

/// `StorageMap.spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageMapSpec {
    /// Source and destination providers.
    pub provider: ProviderPair,
    /// The pairs.
    #[serde(default)]
    pub map: Vec<StoragePair>,
}

/// One source storage (datastore, storage domain, volume type...) and where it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoragePair {
    /// The source storage (`glance` names OpenStack image-based disks).
    pub source: Ref,
    /// The destination.
    pub destination: StorageDestination,
    /// Copy-offload configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offload_plugin: Option<OffloadPlugin>,
}

/// Destination side of a storage pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageDestination {
    /// Storage class.
    pub storage_class: String,
    /// Volume mode; absent lets the CDI StorageProfile decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mode: Option<VolumeMode>,
    /// Access mode; absent lets the CDI StorageProfile decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<AccessMode>,
}

/// Copy-offload plugin configuration of a storage pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffloadPlugin {
    /// vSphere XCOPY through the storage array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vsphere_xcopy_config: Option<VsphereXcopyConfig>,
    /// CSI volume import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_volume_import: Option<CsiVolumeImport>,
}

/// vSphere XCOPY copy-offload settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VsphereXcopyConfig {
    /// Name of the secret with the storage array credentials.
    pub secret_ref: String,
    /// Storage array product.
    pub storage_vendor_product: StorageVendor,
    /// ESXi hosts reserved for migration copies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dedicated_migration_hosts: Vec<String>,
}

/// CSI volume-import copy-offload settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CsiVolumeImport {
    /// Name of the secret with the storage array credentials.
    pub secret_ref: String,
    /// Storage array product.
    pub storage_vendor_product: CsiVolumeImportVendor,
}
