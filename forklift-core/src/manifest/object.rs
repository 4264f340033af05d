//! A loaded object of any supported kind, and its address.

use serde::{Serialize, Serializer};
use std::fmt;

use crate::resources::{
    ForkliftController, Hook, Host, Migration, NetworkAttachmentDefinition, NetworkMap, ObjectMeta,
    Plan, Provider, Resource, Secret, StorageMap,
};

/// The address of an object: kind, namespace (empty when unset) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjectKey {
    /// Kind, e.g. `Plan`.
    pub kind: String,
    /// Namespace, empty when the manifest does not set one.
    pub namespace: String,
    /// Name (or `generateName` prefix followed by `*` when only that is set).
    pub name: String,
}

impl ObjectKey {
    /// A key from its parts.
    pub fn new(
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The key of an object with this kind and metadata.
    pub fn from_meta(kind: &str, meta: &ObjectMeta) -> Self {
        let name = match (&meta.name, &meta.generate_name) {
            (Some(name), _) => name.clone(),
            (None, Some(prefix)) => format!("{prefix}*"),
            (None, None) => String::new(),
        };
        Self::new(kind, meta.namespace_or_empty(), name)
    }
}

impl fmt::Display for ObjectKey {
    /// `Kind namespace/name` (or `Kind name` without a namespace).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// An object whose kind forklift does not model; kept verbatim so it is never dropped.
#[derive(Clone, PartialEq)]
pub struct UnknownObject {
    /// Its `apiVersion`.
    pub api_version: String,
    /// Its `kind`.
    pub kind: String,
    /// Its metadata, as far as it parsed.
    pub metadata: ObjectMeta,
    /// The whole document.
    pub raw: serde_json::Value,
}

impl fmt::Debug for UnknownObject {
    /// Like a derived `Debug`, except that the body of anything called `Secret` (say with an
    /// apiVersion we do not know) is not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("UnknownObject");
        s.field("api_version", &self.api_version)
            .field("kind", &self.kind)
            .field("metadata", &self.metadata);
        if self.kind == "Secret" {
            s.finish_non_exhaustive()
        } else {
            s.field("raw", &self.raw).finish()
        }
    }
}

/// One loaded object.
// Sets hold at most thousands of objects; unboxed variants keep matching simple.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Object {
    /// A Provider.
    Provider(Provider),
    /// A NetworkMap.
    NetworkMap(NetworkMap),
    /// A StorageMap.
    StorageMap(StorageMap),
    /// A Plan.
    Plan(Plan),
    /// A Migration.
    Migration(Migration),
    /// A Hook.
    Hook(Hook),
    /// A Host.
    Host(Host),
    /// A ForkliftController.
    ForkliftController(ForkliftController),
    /// A Secret.
    Secret(Secret),
    /// A NetworkAttachmentDefinition.
    NetworkAttachmentDefinition(NetworkAttachmentDefinition),
    /// Any other kind, kept verbatim.
    Unknown(UnknownObject),
}

macro_rules! for_each_kind {
    ($self:expr, $obj:ident => $body:expr, $unknown:ident => $ubody:expr) => {
        match $self {
            Object::Provider($obj) => $body,
            Object::NetworkMap($obj) => $body,
            Object::StorageMap($obj) => $body,
            Object::Plan($obj) => $body,
            Object::Migration($obj) => $body,
            Object::Hook($obj) => $body,
            Object::Host($obj) => $body,
            Object::ForkliftController($obj) => $body,
            Object::Secret($obj) => $body,
            Object::NetworkAttachmentDefinition($obj) => $body,
            Object::Unknown($unknown) => $ubody,
        }
    };
}

impl Object {
    /// The kind name.
    pub fn kind(&self) -> &str {
        for_each_kind!(self, o => o.kind.as_str(), u => u.kind.as_str())
    }

    /// The apiVersion.
    pub fn api_version(&self) -> &str {
        for_each_kind!(self, o => o.api_version.as_str(), u => u.api_version.as_str())
    }

    /// The metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        for_each_kind!(self, o => &o.metadata, u => &u.metadata)
    }

    /// The address of the object.
    pub fn key(&self) -> ObjectKey {
        ObjectKey::from_meta(self.kind(), self.metadata())
    }

    /// Whether the kind is one forklift models.
    pub fn is_known(&self) -> bool {
        !matches!(self, Object::Unknown(_))
    }

    /// The object as a JSON value (what saving writes).
    pub fn to_value(&self) -> serde_json::Value {
        // Serializing our own types to a JSON value cannot fail: every map key is a string.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        for_each_kind!(self, o => o.serialize(serializer), u => u.raw.serialize(serializer))
    }
}

/// A modelled kind that can be looked up in a [`ManifestSet`](super::ManifestSet).
pub trait ObjectKind: Resource + Sized {
    /// The object as this kind, if it is one.
    fn from_object(object: &Object) -> Option<&Self>;
    /// Wraps the value into an [`Object`].
    fn into_object(self) -> Object;
}

macro_rules! object_kind {
    ($($ty:ident),+) => {
        $(
            impl ObjectKind for $ty {
                fn from_object(object: &Object) -> Option<&Self> {
                    match object {
                        Object::$ty(o) => Some(o),
                        _ => None,
                    }
                }
                fn into_object(self) -> Object {
                    Object::$ty(self)
                }
            }
            impl From<$ty> for Object {
                fn from(value: $ty) -> Self {
                    Object::$ty(value)
                }
            }
        )+
    };
}

object_kind!(
    Provider,
    NetworkMap,
    StorageMap,
    Plan,
    Migration,
    Hook,
    Host,
    ForkliftController,
    Secret,
    NetworkAttachmentDefinition
);
