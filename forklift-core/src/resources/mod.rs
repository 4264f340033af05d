//! Typed `forklift.konveyor.io/v1beta1` resources and the Kubernetes pieces they use.
//!
//! Every struct mirrors one object of the CRD schemas: field names are the JSON names
//! (camelCase, except the ForkliftController's snake_case settings), enumerations are Rust
//! enums with the exact upstream spellings, absent optional fields are omitted when saving,
//! and CRD defaults apply when a field is absent. A saved object is therefore what
//! `kubectl apply` accepts, and loading it again gives an equal value.
//!
//! Loading from text with diagnostics lives in `crate::manifest`; this module only holds
//! the data model.

pub mod affinity;
pub mod condition;
pub mod condition_types;
pub mod controller;
pub mod hook;
pub mod host;
pub mod mapping;
pub mod meta;
pub mod migration;
pub mod nad;
mod object;
pub mod plan;
pub mod provider;
pub mod secret;

pub use crate::string_enum::UnknownVariant;
pub use affinity::{
    Affinity, LabelSelector, LabelSelectorRequirement, NodeAffinity, NodeSelector,
    NodeSelectorRequirement, NodeSelectorTerm, PodAffinity, PodAffinityTerm, PodAntiAffinity,
    PreferredSchedulingTerm, WeightedPodAffinityTerm,
};
pub use condition::{Category, Condition, ConditionSet, ConditionStatus};
pub use controller::{
    ForkliftController, ForkliftControllerSettings, ImagePullPolicy, McpOutputFormat, StringBool,
};
pub use hook::{AapConfig, Hook, HookSpec, HookStatus};
pub use host::{Host, HostSpec, HostStatus};
pub use mapping::{
    AccessMode, CsiVolumeImport, CsiVolumeImportVendor, MapStatus, NetworkDestination,
    NetworkDestinationType, NetworkMap, NetworkMapSpec, NetworkPair, NetworkSource, OffloadPlugin,
    StorageDestination, StorageMap, StorageMapSpec, StoragePair, StorageVendor, VolumeMode,
    VsphereXcopyConfig,
};
pub use meta::{ObjectMeta, ObjectReference, OwnerReference, ProviderPair, Ref};
pub use migration::{Migration, MigrationSpec, MigrationStatus, VmCutover};
pub use nad::{NetworkAttachmentDefinition, NetworkAttachmentDefinitionSpec, ROUTE_ANNOTATION};
pub use plan::{
    DowntimeForecast, HookRef, HookStep, MapRefs, MigrationSnapshot, MigrationType, Plan,
    PlanMigrationStatus, PlanSpec, PlanStatus, PlanVm, PowerState, Precopy, PrecopyDelta, Progress,
    SnapshotMapRefs, SnapshotProviderRefs, SnapshotRef, Step, TagMapping, TargetPowerState, Task,
    TaskError, VmError, VmStatus, WarmStatus,
};
pub use plan::{PowerOffMethod, SourcePowerOff};
pub use provider::{Provider, ProviderSpec, ProviderStatus, ProviderType};
pub use secret::{Secret, SecretBytes};

pub(crate) use object::resource;

/// API group of the Forklift resources.
pub const GROUP: &str = "forklift.konveyor.io";
/// `apiVersion` of the Forklift resources.
pub const API_VERSION: &str = object::api_version_text!(API_VERSION);

/// A Kubernetes object kind with its fixed `apiVersion` and `kind`.
pub trait Resource {
    /// The `apiVersion` this kind is served under.
    const API_VERSION: &'static str;
    /// The `kind` name.
    const KIND: &'static str;

    /// The object's metadata.
    fn metadata(&self) -> &ObjectMeta;

    /// The object's metadata, mutable.
    fn metadata_mut(&mut self) -> &mut ObjectMeta;
}

/// Serde helpers shared by the resource modules.
pub(crate) mod serde_util {
    /// `true`, for `#[serde(default = ...)]` on fields whose CRD default is true.
    pub(crate) fn default_true() -> bool {
        true
    }

    /// Whether a bool is false (`skip_serializing_if` for Go `omitempty` booleans).
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(crate) fn is_false(value: &bool) -> bool {
        !*value
    }

    /// Whether an integer is zero (`skip_serializing_if` for Go `omitempty` integers).
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(crate) fn is_zero(value: &i64) -> bool {
        *value == 0
    }
}
