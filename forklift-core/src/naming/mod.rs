//! Names MTV gives to what it creates: DNS-1123 checks, VM name adjustment and the Go
//! templates for PVC, volume and network names.
//!
//! Everything here reproduces upstream Forklift so that users get the exact names MTV
//! produces. Inputs are plain values (`Option<&str>` for the template settings at each
//! level) so that callers can feed them from plan resources, CLIs or tests alike.
//!
//! ```
//! use forklift_core::naming::{self, PvcNameTemplateData};
//!
//! let target = naming::resolve_target_vm_name(None, None, "Database_Server.Prod", "vm-42");
//! assert_eq!(target, "database-server.prod");
//! let data = PvcNameTemplateData {
//!     plan_name: "nightly".into(),
//!     target_vm_name: target,
//!     disk_index: 0,
//!     ..Default::default()
//! };
//! let template = naming::pvc_name_template(None, None, None, false);
//! assert_eq!(naming::render_pvc_name(template, &data).unwrap(), "nightly-database-server-disk-0");
//! ```

mod dns1123;
mod plan;
mod templates;
mod vm_name;

pub use dns1123::{
    DNS1123_LABEL_MAX_LENGTH, DNS1123_SUBDOMAIN_MAX_LENGTH, dns1123_label_errors,
    dns1123_subdomain_errors, is_dns1123_label, is_dns1123_subdomain,
};
pub use plan::{
    plan_network_name_template, plan_pvc_name_template, plan_target_vm_name,
    plan_volume_name_template, unescape_controller_template,
};
pub use templates::{
    DEFAULT_OCP_PVC_NAME_TEMPLATE, DEFAULT_PVC_NAME_TEMPLATE, NetworkNameTemplateData,
    PvcNameTemplateData, PvcObjectName, VolumeNameTemplateData, network_name,
    network_name_template, pvc_name_template, pvc_object_name, render_pvc_name,
    validate_network_name_template, validate_pvc_name_template, validate_volume_name_template,
    volume_name, volume_name_template,
};
pub use vm_name::{
    COLLISION_CUT_LENGTH, RANDOM_SUFFIX_LENGTH, RandomSource, SeededRandom, change_vm_name,
    change_vm_name_avoiding, new_vm_name, resolve_target_vm_name,
};

/// What a name is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A persistent volume claim.
    Pvc,
    /// A volume of the target VM.
    Volume,
    /// A network interface of the target VM.
    Network,
    /// The target VM.
    Vm,
}

impl std::fmt::Display for NameKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NameKind::Pvc => "PVC",
            NameKind::Volume => "volume",
            NameKind::Network => "network",
            NameKind::Vm => "VM",
        })
    }
}

/// Naming errors.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The name template does not parse or fails to execute.
    #[error("Invalid {kind} name template")]
    Template {
        /// Which name.
        kind: NameKind,
        /// The template error (its class tells parse from execution errors).
        #[source]
        source: crate::template::Error,
    },
    /// The rendered name is empty.
    #[error("The {kind} name template renders an empty name")]
    EmptyName {
        /// Which name.
        kind: NameKind,
    },
    /// The rendered name is not a DNS-1123 label.
    #[error("The {kind} name {name:?} is not a valid DNS-1123 label: {}", reasons.join("; "))]
    NotDns1123Label {
        /// Which name.
        kind: NameKind,
        /// The rendered name.
        name: String,
        /// Kubernetes' validation messages.
        reasons: Vec<String>,
    },
    /// An explicit target VM name is not a DNS-1123 subdomain.
    #[error("Target VM name {name:?} is not a valid DNS-1123 subdomain: {}", reasons.join("; "))]
    InvalidTargetName {
        /// The requested name.
        name: String,
        /// Kubernetes' validation messages.
        reasons: Vec<String>,
    },
    /// An explicit target VM name is already used in the target namespace or the migration.
    #[error("Target VM name {name:?} is already in use")]
    TargetNameTaken {
        /// The requested name.
        name: String,
    },
}

/// Result with the naming [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
