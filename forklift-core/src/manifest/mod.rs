//! Manifests: parsing Kubernetes YAML/JSON text into typed objects, addressing them by
//! kind/namespace/name, and saving them back.
//!
//! This module does no I/O: callers hand it text with a source label (a file path, `-`...),
//! and the facade crate reads files, directories and stdin. Parsing never stops at the first
//! problem: every document is tried, and every finding becomes a [`Diagnostic`] naming the
//! source, the 1-based document number and the field path:
//!
//! ```
//! use forklift_core::manifest::ManifestSet;
//!
//! let text = r#"
//! apiVersion: forklift.konveyor.io/v1beta1
//! kind: Provider
//! metadata: {name: vcenter, namespace: mtv}
//! spec: {type: vsphere, url: "https://vcenter.example.com/sdk", secret: {name: vcenter, namespace: mtv}}
//! ---
//! apiVersion: forklift.konveyor.io/v1beta1
//! kind: Plan
//! metadata: {name: p, namespace: mtv}
//! spec:
//!   targetNamespace: vms
//!   vms: [{id: vm-1, targetPowerState: maybe}]
//! "#;
//! let set = ManifestSet::parse("plan.yaml", text);
//! assert!(set.get("Provider", "mtv", "vcenter").is_some());
//! assert_eq!(
//!     set.diagnostics()[0].to_string(),
//!     r#"plan.yaml#2: spec.vms[0].targetPowerState: unknown variant "maybe", expected one of on, off, auto"#
//! );
//! ```
//!
//! Unknown kinds are reported as errors and kept verbatim (never dropped); unknown fields
//! are warnings with their path; values still holding guide placeholders such as
//! `<namespace>` are warnings. Saving writes what `kubectl apply` accepts, and loading the
//! saved text gives equal objects.

mod decode;
mod diagnostic;
mod names;
mod nesting;
mod object;
mod plan_bundle;
mod strict;
mod yaml;

pub use diagnostic::{Diagnostic, DiagnosticCode, Severity};
pub use nesting::{MAX_FLOW_NESTING, MAX_PARSER_DEPTH};
pub use object::{Object, ObjectKey, ObjectKind, UnknownObject};
pub use plan_bundle::{PlanBundle, PlanSelectError};

use std::collections::BTreeMap;

/// Errors of saving manifests.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Writing JSON failed.
    #[error("Cannot write JSON")]
    Json(#[source] serde_json::Error),
}

/// Result with the manifest [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a loaded object came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Origin {
    /// Source label (file path, `-` for stdin...).
    pub source: String,
    /// 1-based document number within the source.
    pub document: usize,
    /// Path of the object within the document (`items[2]` inside a `List`), empty otherwise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.source, self.document)?;
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        Ok(())
    }
}

/// An object with its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedObject {
    /// Where it came from.
    pub origin: Origin,
    /// The object.
    pub object: Object,
}

/// Parses one text into objects and diagnostics, without collecting them into a set.
pub fn parse_str(source: &str, text: &str) -> (Vec<LoadedObject>, Vec<Diagnostic>) {
    decode::parse_text(source, text)
}

/// A set of loaded objects, addressable by kind/namespace/name, with the diagnostics of
/// loading them. Objects keep their load order.
#[derive(Debug, Clone, Default)]
pub struct ManifestSet {
    objects: Vec<LoadedObject>,
    index: BTreeMap<ObjectKey, usize>,
    diagnostics: Vec<Diagnostic>,
}

impl ManifestSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding the objects of one text.
    pub fn parse(source: &str, text: &str) -> Self {
        let mut set = Self::new();
        set.add_str(source, text);
        set
    }

    /// Parses `text` and adds its objects; returns how many objects were added.
    pub fn add_str(&mut self, source: &str, text: &str) -> usize {
        let (objects, diagnostics) = decode::parse_text(source, text);
        self.diagnostics.extend(diagnostics);
        let mut added = 0;
        for loaded in objects {
            if self.add_loaded(loaded) {
                added += 1;
            }
        }
        added
    }

    /// Adds an object built in code (origin `source`, document 0 when it has none).
    pub fn insert(&mut self, object: impl Into<Object>) -> bool {
        self.add_loaded(LoadedObject {
            origin: Origin {
                source: "<memory>".to_owned(),
                document: 0,
                path: String::new(),
            },
            object: object.into(),
        })
    }

    /// Adds an object with its origin; a second object with the same key is rejected with a
    /// `duplicate-object` error (unknown kinds are kept even when their keys collide).
    pub fn add_loaded(&mut self, loaded: LoadedObject) -> bool {
        let key = loaded.object.key();
        if loaded.object.is_known() {
            if let Some(&first) = self.index.get(&key) {
                let first = &self.objects[first].origin;
                self.diagnostics.push(Diagnostic::error(
                    DiagnosticCode::DuplicateObject,
                    loaded.origin.source.clone(),
                    Some(loaded.origin.document),
                    loaded.origin.path.clone(),
                    format!("Duplicate {key}, first loaded from {first}; this one is ignored"),
                ));
                return false;
            }
            self.index.insert(key, self.objects.len());
        }
        self.objects.push(loaded);
        true
    }

    /// Records a diagnostic found outside parsing (e.g. an unreadable file).
    pub fn push_diagnostic(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Every object with its origin, in load order.
    pub fn entries(&self) -> &[LoadedObject] {
        &self.objects
    }

    /// Every object, in load order.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.objects.iter().map(|l| &l.object)
    }

    /// Number of objects (unknown kinds included).
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the set holds no object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The object with this kind, namespace (empty for none) and name.
    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&Object> {
        self.index
            .get(&ObjectKey::new(kind, namespace, name))
            .map(|&i| &self.objects[i].object)
    }

    /// The object of type `T` with this namespace and name.
    pub fn get_as<T: ObjectKind>(&self, namespace: &str, name: &str) -> Option<&T> {
        self.get(T::KIND, namespace, name).and_then(T::from_object)
    }

    /// Every object of type `T`, in load order.
    pub fn all<'a, T: ObjectKind + 'a>(&'a self) -> impl Iterator<Item = &'a T> {
        self.objects().filter_map(T::from_object)
    }

    /// The Secret a provider's `spec.secret` names (its namespace defaulting to the provider's).
    pub fn provider_secret(
        &self,
        provider: &crate::resources::Provider,
    ) -> Option<&crate::resources::Secret> {
        let (namespace, name) = provider.secret_key()?;
        self.get_as(namespace, name)
    }

    /// Where the object with this key came from.
    pub fn origin(&self, key: &ObjectKey) -> Option<&Origin> {
        self.index.get(key).map(|&i| &self.objects[i].origin)
    }

    /// Every diagnostic, in the order found.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The objects as multi-document YAML (`---` between documents). Strings YAML 1.1 would
    /// read as booleans or numbers (`on`, `off`, `yes`, `1:30`...) are quoted, so `kubectl`
    /// reads exactly these values back.
    pub fn to_yaml(&self) -> Result<String> {
        let mut out = String::new();
        for (i, object) in self.objects().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            out.push_str(&yaml::to_yaml(
                &serde_json::to_value(object).map_err(Error::Json)?,
            ));
        }
        Ok(out)
    }

    /// The objects as one JSON `v1` `List` (what `kubectl apply -f` accepts for several objects).
    pub fn to_json(&self) -> Result<String> {
        let list = serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": self.objects().collect::<Vec<_>>(),
        });
        serde_json::to_string_pretty(&list).map_err(Error::Json)
    }
}

/// `value` as one YAML document that `kubectl` (YAML 1.1) reads back unchanged: strings such
/// as `on`, `off`, `yes` or `1:30` are quoted, which general-purpose YAML 1.2 writers do not do.
pub fn to_kubectl_yaml(value: &impl serde::Serialize) -> Result<String> {
    Ok(yaml::to_yaml(
        &serde_json::to_value(value).map_err(Error::Json)?,
    ))
}

#[cfg(test)]
mod tests;
