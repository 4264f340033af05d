//! `Provider`: a source or destination of migrations.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{API_VERSION, Condition, ObjectReference, resource};

string_enum! {
    /// Provider type (`spec.type`), spelled as upstream's `ProviderTypes`.
    pub enum ProviderType {
        /// KubeVirt / OpenShift Virtualization (source or destination).
        OpenShift = "openshift",
        /// VMware vSphere (vCenter or ESXi).
        VSphere = "vsphere",
        /// oVirt / Red Hat Virtualization.
        OVirt = "ovirt",
        /// OpenStack.
        OpenStack = "openstack",
        /// Open Virtual Appliance files on an NFS share.
        Ova = "ova",
        /// Amazon EC2.
        Ec2 = "ec2",
        /// Microsoft Hyper-V.
        HyperV = "hyperv",
        /// Nutanix AHV.
        Nutanix = "nutanix",
    }
}

/// vSphere, the most common source: an inventory that does not name its provider (the
/// `provider` key of the inventory JSON is optional) is a vSphere one.
impl Default for ProviderType {
    fn default() -> Self {
        ProviderType::VSphere
    }
}

impl ProviderType {
    /// The name the user guide uses for this provider type.
    pub fn display_name(self) -> &'static str {
        match self {
            ProviderType::OpenShift => "KubeVirt",
            ProviderType::VSphere => "VMware vSphere",
            ProviderType::OVirt => "oVirt",
            ProviderType::OpenStack => "OpenStack",
            ProviderType::Ova => "Open Virtual Appliance (OVA)",
            ProviderType::Ec2 => "Amazon EC2",
            ProviderType::HyperV => "Microsoft Hyper-V",
            ProviderType::Nutanix => "Nutanix",
        }
    }

    /// Whether guest conversion with virt-v2v is needed (upstream `RequiresConversion`).
    pub fn requires_conversion(self) -> bool {
        matches!(
            self,
            ProviderType::VSphere | ProviderType::Ova | ProviderType::HyperV | ProviderType::Ec2
        )
    }

    /// Whether static IP preservation is supported (upstream `SupportsPreserveStaticIps`).
    pub fn supports_preserve_static_ips(self) -> bool {
        matches!(self, ProviderType::VSphere | ProviderType::HyperV)
    }
}

/// Settings keys of `spec.settings` (upstream `provider.go` constants).
pub mod settings {
    /// VDDK init-container image.
    pub const VDDK_INIT_IMAGE: &str = "vddkInitImage";
    /// `vcenter` or `esxi`.
    pub const SDK_ENDPOINT: &str = "sdkEndpoint";
    /// Bool string: pass the VDDK AIO config file.
    pub const USE_VDDK_AIO_OPTIMIZATION: &str = "useVddkAioOptimization";
    /// Overrides the VDDK config-file text.
    pub const VDDK_CONFIG: &str = "vddkConfig";
    /// `vib` or `ssh` (copy offload).
    pub const ESXI_CLONE_METHOD: &str = "esxiCloneMethod";
    /// EC2 target availability zone.
    pub const TARGET_AZ: &str = "target-az";
    /// EC2 target region.
    pub const TARGET_REGION: &str = "target-region";
    /// Nutanix `central` or `element`.
    pub const PRISM_TYPE: &str = "prismType";
    /// Nutanix cluster UUID.
    pub const CLUSTER_UUID: &str = "clusterUuid";
    /// Hyper-V `standalone` or `cluster`.
    pub const MANAGEMENT_TYPE: &str = "managementType";
    /// OVA: bool string enabling the appliance upload endpoints.
    pub const APPLIANCE_MANAGEMENT: &str = "applianceManagement";
}

resource! {
    /// A `Provider` resource.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Provider(API_VERSION, "Provider") {
        spec: ProviderSpec,
        status: ProviderStatus,
    }
    /// A provider with the given metadata and spec.
    pub fn new;
}

impl Provider {
    /// Whether this is the local cluster's "host" provider (`openshift` with an empty URL).
    pub fn is_host(&self) -> bool {
        self.spec.type_ == Some(ProviderType::OpenShift) && self.spec.url.is_empty()
    }

    /// Namespace and name of the Secret `spec.secret` names (its namespace defaulting to the
    /// provider's); `None` when no secret is named.
    pub fn secret_key(&self) -> Option<(&str, &str)> {
        let reference = &self.spec.secret;
        if reference.name.is_empty() {
            return None;
        }
        let namespace = if reference.namespace.is_empty() {
            self.metadata.namespace_or_empty()
        } else {
            reference.namespace.as_str()
        };
        Some((namespace, reference.name.as_str()))
    }

    /// A setting from `spec.settings`.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.spec.settings.get(key).map(String::as_str)
    }
}

/// `Provider.spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderSpec {
    /// Provider type; absent means upstream's `Undefined`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<ProviderType>,
    /// API endpoint URL (OVA: NFS `server:/path`; empty for the host provider).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Secret holding the credentials. Required by the CRD, so always written (possibly `{}`).
    #[serde(default)]
    pub secret: ObjectReference,
    /// Provider-specific settings (see [`settings`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, String>,
}

/// `Provider.status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStatus {
    /// Phase, e.g. `Ready`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// TLS certificate SHA-1 thumbprint of the endpoint.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    /// Service exposing the provider server (OVA, Hyper-V).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ObjectReference>,
    /// Resource version of the secret last used.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret_resource_version: String,
}
