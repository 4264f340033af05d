//! `Host`: an ESXi host override for direct transfers.

use serde::{Deserialize, Serialize};

use super::{API_VERSION, Condition, ObjectReference, Ref, resource};

resource! {
    /// A `Host` resource.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Host(API_VERSION, "Host") {
        spec: HostSpec,
        status: HostStatus,
    }
    /// A host with the given metadata and spec.
    pub fn new;
}

/// `Host.spec`: the inventory host reference plus how to reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostSpec {
    /// Inventory ID of the host.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Name of the host.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace qualifier of the reference.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Type qualifier of the reference.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
    /// The vSphere provider the host belongs to.
    #[serde(default)]
    pub provider: ObjectReference,
    /// IP address used for transfers.
    #[serde(default)]
    pub ip_address: String,
    /// Secret with the host's credentials.
    #[serde(default)]
    pub secret: ObjectReference,
}

impl HostSpec {
    /// The inventory reference part.
    pub fn host_ref(&self) -> Ref {
        Ref {
            id: self.id.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            type_: self.type_.clone(),
        }
    }
}

/// `Host.status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
