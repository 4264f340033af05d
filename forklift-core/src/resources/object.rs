//! `resource!`: the one declaration of a Kubernetes object kind's fixed head.
//!
//! Every kind carries the same three leading fields (`apiVersion`, `kind`, `metadata`), the
//! same serde defaults filling in the fixed `apiVersion` and `kind` when a manifest leaves
//! them out, and the same [`Resource`](super::Resource) impl. The macro writes them once;
//! each kind's module writes only its own fields and doc comments.

/// The `apiVersion` constants of the kinds this crate models, as literals: `concat!` (which
/// writes them into the generated doc comments) takes literals, not constants.
macro_rules! api_version_text {
    (API_VERSION) => {
        "forklift.konveyor.io/v1beta1"
    };
    (NAD_API_VERSION) => {
        "k8s.cni.cncf.io/v1"
    };
    (SECRET_API_VERSION) => {
        "v1"
    };
}
pub(crate) use api_version_text;

/// Declares a kind: `pub struct Name(API_CONST, "Kind") { own fields }`, or, for the usual
/// kind, `{ spec: Spec, status: Status }`: a required `spec` ("Desired state"; attributes
/// before it, e.g. `#[serde(default)]`, are kept) and an optional `status` ("Observed
/// state"), omitted when saving while it is `None`.
///
/// Generates the struct (the caller's attributes, then serde with camelCase names) whose
/// fields are `api_version`, `kind`, `metadata` and then the caller's fields in order (the
/// order of the saved keys), the module-level `default_api_version()` and `default_kind()`
/// (serde's `default = "..."` takes a path written as a string, so these names are fixed
/// and a module declares at most one kind), and the `Resource` impl. `API_CONST` names a
/// constant in scope that `api_version_text!` also knows.
///
/// An optional trailing `pub fn new(metadata, spec: Spec);` (with its doc comment; in the
/// usual form just `pub fn new;`) generates the usual constructor of a `spec` + optional
/// `status` kind: the given metadata and spec, no status.
macro_rules! resource {
    (
        $(#[$attr:meta])*
        pub struct $name:ident($api:ident, $kind:literal) {
            $(#[$spec_attr:meta])*
            spec: $spec:ty,
            status: $status:ty $(,)?
        }
        $(
            $(#[$new_attr:meta])*
            pub fn new;
        )?
    ) => {
        $crate::resources::object::resource! {
            $(#[$attr])*
            pub struct $name($api, $kind) {
                /// Desired state.
                $(#[$spec_attr])*
                pub spec: $spec,
                /// Observed state.
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub status: Option<$status>,
            }
            $(
                $(#[$new_attr])*
                pub fn new(metadata, spec: $spec);
            )?
        }
    };
    (
        $(#[$attr:meta])*
        pub struct $name:ident($api:ident, $kind:literal) {
            $($fields:tt)*
        }
        $(
            $(#[$new_attr:meta])*
            pub fn new(metadata, spec: $spec:ty);
        )?
    ) => {
        $(#[$attr])*
        #[derive(::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            #[doc = concat!("Always `", $crate::resources::object::api_version_text!($api), "`.")]
            #[serde(default = "default_api_version")]
            pub api_version: String,
            #[doc = concat!("Always `", $kind, "`.")]
            #[serde(default = "default_kind")]
            pub kind: String,
            /// Metadata.
            #[serde(default)]
            pub metadata: $crate::resources::ObjectMeta,
            $($fields)*
        }

        fn default_api_version() -> String {
            $api.to_owned()
        }

        fn default_kind() -> String {
            $kind.to_owned()
        }

        impl $crate::resources::Resource for $name {
            const API_VERSION: &'static str = $api;
            const KIND: &'static str = $kind;
            fn metadata(&self) -> &$crate::resources::ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut $crate::resources::ObjectMeta {
                &mut self.metadata
            }
        }

        $(
            impl $name {
                $(#[$new_attr])*
                pub fn new(metadata: $crate::resources::ObjectMeta, spec: $spec) -> Self {
                    Self {
                        api_version: default_api_version(),
                        kind: default_kind(),
                        metadata,
                        spec,
                        status: None,
                    }
                }
            }
        )?
    };
}
pub(crate) use resource;
