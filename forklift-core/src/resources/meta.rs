//! Kubernetes object metadata and the reference types Forklift resources use.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Kubernetes `ObjectMeta`: the fields users write plus the ones the API server reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name, unique within its namespace and kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Prefix from which the API server generates a unique name when `name` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    /// Namespace of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Unique identifier assigned by the API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Objects that own this one (garbage-collection parents).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
    /// Opaque version used for optimistic concurrency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Sequence number of the desired state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Creation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Deletion time (RFC 3339), set when deletion was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<String>,
    /// Seconds allowed for graceful deletion, set with `deletionTimestamp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    /// Finalizers that must be removed before the object is deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
    /// Server-side-apply field ownership, kept verbatim so exported objects load without warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields: Vec<serde_json::Value>,
}

impl ObjectMeta {
    /// Metadata with a name and namespace.
    pub fn named(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..Self::default()
        }
    }

    /// The name, or `""` when unset.
    pub fn name_or_empty(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// The namespace, or `""` when unset.
    pub fn namespace_or_empty(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }
}

/// Kubernetes `OwnerReference`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// API version of the owner.
    pub api_version: String,
    /// Kind of the owner.
    pub kind: String,
    /// Name of the owner.
    pub name: String,
    /// UID of the owner.
    pub uid: String,
    /// Whether the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Whether the owner cannot be deleted before this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

/// Kubernetes `ObjectReference` (Go `core.ObjectReference`; empty fields are omitted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// API version of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Path of a field within the referent, when the reference points inside an object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field_path: String,
    /// Kind of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Name of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Resource version of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// UID of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

impl ObjectReference {
    /// A reference by namespace and name.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            ..Self::default()
        }
    }

    /// Whether neither name nor namespace is set (upstream `IsNotSet` checks name only;
    /// we expose both).
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.namespace.is_empty()
    }

    /// `namespace/name`, the form used in messages.
    pub fn qualified_name(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }
}

/// Forklift's source-inventory reference (`ref.Ref`): an ID, or a name (and namespace for
/// KubeVirt sources), plus an optional type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ref {
    /// Inventory ID of the object (wins over the name when both are set).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Name of the object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace of the object (KubeVirt sources only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Type qualifier (e.g. `pod` for the OpenShift pod network).
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
}

impl Ref {
    /// A reference by inventory ID.
    pub fn by_id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// A reference by name.
    pub fn by_name(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Whether neither ID nor name is set (upstream `NotSet`).
    pub fn is_not_set(&self) -> bool {
        self.id.is_empty() && self.name.is_empty()
    }

    /// Reads a condition item written in upstream's `Ref.String()` form (see the `Display`
    /// impl) back into a reference; `None` for an item of another form (`namespace/name`, a
    /// storage class, a host...).
    pub fn from_item(item: &str) -> Option<Self> {
        let (type_, rest) = match item.strip_prefix('(') {
            Some(rest) => rest.split_once(") ")?,
            None => ("", item),
        };
        let (id, rest) = rest.strip_prefix("id:")?.split_once(" name:'")?;
        let name = rest
            .strip_suffix("' ")
            .or_else(|| rest.strip_suffix('\''))?;
        Some(Self {
            id: id.to_owned(),
            name: name.to_owned(),
            namespace: String::new(),
            type_: type_.to_owned(),
        })
    }

    /// The reference completed with the found object's ID and name, as upstream's inventory
    /// lookup (`Finder.VM(ref)`) writes them into the plan's reference: condition items then
    /// name the VM as the inventory does.
    pub fn identified(mut self, id: &str, name: &str) -> Self {
        id.clone_into(&mut self.id);
        name.clone_into(&mut self.name);
        self
    }
}

impl std::fmt::Display for Ref {
    /// Upstream's `Ref.String()` form, used in condition items:
    /// `(<type>) id:<id> name:'<name>' ` (the type prefix only when set; trailing space kept).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.type_.is_empty() {
            write!(f, "({}) ", self.type_)?;
        }
        write!(f, "id:{} name:'{}' ", self.id, self.name)
    }
}

/// A source/destination pair of provider references (`spec.provider` of maps and plans).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderPair {
    /// The source provider.
    pub source: ObjectReference,
    /// The destination provider.
    pub destination: ObjectReference,
}

#[cfg(test)]
mod tests {
    use super::Ref;

    #[test]
    fn condition_items_read_back_into_references() {
        let typed = Ref {
            type_: "pod".into(),
            ..Ref::by_id("vm-1").identified("vm-1", "it's web")
        };
        for r in [
            Ref::by_id("vm-3002").identified("vm-3002", "Billing_App_01"),
            typed,
        ] {
            assert_eq!(Ref::from_item(&r.to_string()), Some(r));
        }
        assert_eq!(Ref::from_item("openshift-mtv/net"), None);
        assert_eq!(Ref::from_item("esx-1 (3 VMs)"), None);
    }
}
