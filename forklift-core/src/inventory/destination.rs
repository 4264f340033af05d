//! The destination KubeVirt cluster, as far as plan validation needs it.

use super::InventoryError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Facts about the destination cluster, so destination checks run without a cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DestinationInventory {
    /// Namespaces with their labels.
    pub namespaces: Vec<Namespace>,
    /// Network attachment definitions.
    pub network_attachment_definitions: Vec<NetworkAttachmentDefinition>,
    /// Storage classes.
    pub storage_classes: Vec<StorageClass>,
    /// CDI storage profiles (one per storage class).
    pub storage_profiles: Vec<StorageProfile>,
    /// Existing virtual machines.
    pub virtual_machines: Vec<DestinationVm>,
    /// Existing persistent volume claims (shared disks, conversion-only plans).
    pub persistent_volume_claims: Vec<PersistentVolumeClaim>,
    /// Service accounts.
    pub service_accounts: Vec<ServiceAccount>,
    /// KubeVirt configuration.
    pub kubevirt: KubevirtConfig,
    /// Instance types (cluster-wide when `namespace` is empty).
    pub instance_types: Vec<InstanceType>,
    /// Preferences (cluster-wide when `namespace` is empty).
    pub preferences: Vec<Preference>,
}

/// A namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Namespace {
    /// Name.
    pub name: String,
    /// Labels (e.g. `k8s.ovn.org/primary-user-defined-network`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A Multus network attachment definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NetworkAttachmentDefinition {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels (e.g. `k8s.ovn.org/user-defined-network`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations (e.g. `forklift.konveyor.io/route`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// CNI configuration JSON (`spec.config`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub config: String,
}

/// A storage class.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StorageClass {
    /// Name.
    pub name: String,
    /// Provisioner (e.g. `kubernetes.io/no-provisioner`, `csi.trident.netapp.io`).
    pub provisioner: String,
    /// Cluster default storage class.
    pub default: bool,
    /// Virtualization default storage class.
    pub virt_default: bool,
    /// Annotations (e.g. `shift.netapp.io/storage-class-type`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Parameters.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
}

/// A CDI storage profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StorageProfile {
    /// Storage class name (profiles are named after their class).
    pub name: String,
    /// Claim property sets in preference order.
    pub claim_property_sets: Vec<ClaimPropertySet>,
}

/// Access modes and volume mode a storage profile recommends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClaimPropertySet {
    /// Access modes (`ReadWriteOnce`, `ReadWriteMany`, `ReadOnlyMany`).
    pub access_modes: Vec<String>,
    /// Volume mode (`Filesystem` or `Block`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub volume_mode: String,
}

/// An existing VM on the destination.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DestinationVm {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// MAC addresses of its interfaces.
    pub macs: Vec<String>,
    /// Labels (Forklift's `plan`/`vmID` labels identify migrated VMs).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// An existing persistent volume claim.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PersistentVolumeClaim {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations (e.g. `forklift.konveyor.io/disk-source`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Storage class.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub storage_class: String,
}

/// A service account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceAccount {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// KubeVirt configuration of the destination cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KubevirtConfig {
    /// Enabled feature gates (`spec.configuration.developerConfiguration.featureGates`).
    pub feature_gates: Vec<String>,
    /// KubeVirt version, e.g. `v1.5.0`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Kubernetes version, e.g. `1.31.2`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kubernetes_version: String,
}

impl KubevirtConfig {
    /// Whether a feature gate is enabled (case-insensitive, like upstream).
    pub fn has_feature_gate(&self, gate: &str) -> bool {
        self.feature_gates
            .iter()
            .any(|g| g.eq_ignore_ascii_case(gate))
    }
}

/// A VirtualMachine(Cluster)InstanceType.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InstanceType {
    /// Name.
    pub name: String,
    /// Namespace; empty for a cluster instance type.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Guest CPUs.
    pub cpu: u32,
    /// Guest memory, as a Kubernetes quantity (e.g. `4Gi`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub memory: String,
}

/// A VirtualMachine(Cluster)Preference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Preference {
    /// Name.
    pub name: String,
    /// Namespace; empty for a cluster preference.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

impl DestinationInventory {
    /// Parses a destination inventory from JSON.
    pub fn from_json(text: &str) -> Result<Self, InventoryError> {
        serde_json::from_str(text).map_err(|source| InventoryError::Json {
            what: "destination",
            source,
        })
    }

    /// Serializes the inventory as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A namespace by name.
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.name == name)
    }

    /// A NAD by namespace and name.
    pub fn nad(&self, namespace: &str, name: &str) -> Option<&NetworkAttachmentDefinition> {
        self.network_attachment_definitions
            .iter()
            .find(|n| n.namespace == namespace && n.name == name)
    }

    /// A storage class by name.
    pub fn storage_class(&self, name: &str) -> Option<&StorageClass> {
        self.storage_classes.iter().find(|s| s.name == name)
    }

    /// The storage profile of a storage class.
    pub fn storage_profile(&self, class: &str) -> Option<&StorageProfile> {
        self.storage_profiles.iter().find(|p| p.name == class)
    }

    /// Whether a service account exists.
    pub fn has_service_account(&self, namespace: &str, name: &str) -> bool {
        self.service_accounts
            .iter()
            .any(|s| s.namespace == namespace && s.name == name)
    }

    /// A VM by namespace and name.
    pub fn vm(&self, namespace: &str, name: &str) -> Option<&DestinationVm> {
        self.virtual_machines
            .iter()
            .find(|v| v.namespace == namespace && v.name == name)
    }

    /// An instance type visible from `namespace` (namespaced first, then cluster-wide).
    pub fn instance_type(&self, namespace: &str, name: &str) -> Option<&InstanceType> {
        self.instance_types
            .iter()
            .find(|i| i.name == name && i.namespace == namespace)
            .or_else(|| {
                self.instance_types
                    .iter()
                    .find(|i| i.name == name && i.namespace.is_empty())
            })
    }

    /// A preference visible from `namespace` (namespaced first, then cluster-wide).
    pub fn preference(&self, namespace: &str, name: &str) -> Option<&Preference> {
        self.preferences
            .iter()
            .find(|p| p.name == name && p.namespace == namespace)
            .or_else(|| {
                self.preferences
                    .iter()
                    .find(|p| p.name == name && p.namespace.is_empty())
            })
    }
}
