//! The error type of the provider layer.

use forklift_core::error::PeerText;

use crate::capability::{Capability, ProviderType};

/// The number of CBT snapshots a VM supports during warm migration, per the guide ("A VM
/// can support up to 28 CBT snapshots"); quoted by [`Error::SnapshotLimit`].
pub const MAX_CBT_SNAPSHOTS: usize = 28;

/// Result of provider operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while talking to a source provider.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The provider type does not offer this capability (e.g. power control of an OVA file).
    #[error("{}", unsupported_message(*provider, *capability))]
    Unsupported {
        /// Provider type, when the caller knows it.
        provider: Option<ProviderType>,
        /// The capability asked for.
        capability: Capability,
    },
    /// The provider configuration (Provider resource, settings or secret) is invalid.
    #[error("Invalid provider configuration: {field}: {reason}")]
    Config {
        /// Field, setting or secret key at fault, e.g. `spec.url` or `secret.password`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The provider's Secret lacks a key or holds an invalid value.
    #[error(transparent)]
    Credentials(#[from] forklift_core::credentials::CredentialError),
    /// TLS setup failed (bad CA bundle, unreachable endpoint for the thumbprint probe...).
    #[error("TLS: {0}")]
    Tls(String),
    /// The HTTP request failed before a SOAP answer arrived.
    #[error("HTTP request to {url} failed")]
    Http {
        /// URL without credentials.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an unexpected HTTP status.
    #[error("HTTP {status} from {url}")]
    HttpStatus {
        /// URL without credentials.
        url: String,
        /// Status code.
        status: u16,
    },
    /// A SOAP fault returned by the server. Its type and message are the server's text,
    /// shown escaped ([`PeerText`]).
    #[error("{method} failed: {}: {}", PeerText(fault), PeerText(message))]
    Fault {
        /// The vim25 method that failed.
        method: String,
        /// Fault type, e.g. `InvalidLogin`, `ManagedObjectNotFound`.
        fault: String,
        /// The server's fault string.
        message: String,
    },
    /// The server's answer could not be understood.
    #[error("Unexpected answer to {method}: {}", PeerText(reason))]
    Protocol {
        /// The vim25 method or resource.
        method: String,
        /// What was missing or malformed (may quote the server).
        reason: String,
    },
    /// The server's answer is not XML this client reads (malformed, or beyond the depth,
    /// element or attribute limits of [`xml`](crate::vsphere::xml)).
    #[error("Unexpected answer to {method}")]
    Xml {
        /// The vim25 method.
        method: String,
        /// Why the XML was refused.
        #[source]
        source: crate::vsphere::xml::XmlError,
    },
    /// The server's answers grew past one of the documented limits of the vSphere client
    /// (docs/limits.md, "vSphere (SOAP)"); the server is refused rather than followed.
    #[error("Unexpected answer to {method}: {limit}")]
    LimitExceeded {
        /// The vim25 method or resource.
        method: String,
        /// The limit that was reached.
        limit: crate::vsphere::SoapLimit,
    },
    /// `spec.url` is a plain `http://` URL, which would send the vSphere password in clear
    /// text, and plain HTTP was not allowed ([`ProviderConfig::allow_plain_http`]).
    ///
    /// [`ProviderConfig::allow_plain_http`]: crate::capability::ProviderConfig::allow_plain_http
    #[error(
        "Invalid provider configuration: spec.url: '{url}' is plain http, which sends the \
         password in clear text; use https, or allow it explicitly (forklift \
         --allow-plain-http)"
    )]
    PlainHttp {
        /// The URL as given.
        url: String,
    },
    /// A vSphere task ended in error.
    #[error("Task {task} ({operation}) failed: {}", PeerText(message))]
    Task {
        /// Task MoRef.
        task: String,
        /// What the task was doing.
        operation: String,
        /// The task's error message.
        message: String,
    },
    /// A snapshot could not be created because the VM's snapshot chain is at vSphere's
    /// depth limit (fault `TooManySnapshotLevels`). The guide: "A VM can support up to 28
    /// CBT snapshots"; warm migration fails the VM with this error.
    #[error(
        "Cannot create a snapshot of VM '{}': its snapshot chain is at vSphere's limit \
         ({}); a VM supports up to {MAX_CBT_SNAPSHOTS} CBT snapshots: remove the VM's \
         snapshots, then migrate again",
        PeerText(vm),
        PeerText(fault)
    )]
    SnapshotLimit {
        /// The VM.
        vm: String,
        /// The vSphere fault type.
        fault: String,
    },
    /// An inventory object was not found.
    #[error("{kind} '{}' not found", PeerText(id))]
    NotFound {
        /// Object kind, e.g. `VM`.
        kind: &'static str,
        /// The identifier looked up.
        id: String,
    },
    /// The operation was cancelled by the caller.
    #[error("Cancelled")]
    Cancelled,
    /// The OpenStack provider failed (authentication, an API refusal, a wait, an image).
    #[error(transparent)]
    Openstack(#[from] crate::openstack::OpenstackError),
    /// The oVirt provider failed (SSO, an engine fault, a wait, an image transfer).
    #[error(transparent)]
    Ovirt(#[from] crate::ovirt::OvirtError),
    /// Disk data through ovirt-imageio failed (TLS, the ticket, an answer, retries).
    #[error(transparent)]
    Imageio(#[from] crate::imageio::Error),
    /// The OVA provider failed (scan, package, descriptor or disk).
    #[error(transparent)]
    Ova(#[from] crate::ova::Error),
    /// The block-transfer layer (VDDK, datastore reads) failed.
    #[error(transparent)]
    Transfer(#[from] forklift_transfer::Error),
    /// Local I/O failed.
    #[error("I/O error on {path}")]
    Io {
        /// File involved.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Builds an [`Error::Unsupported`].
    pub fn unsupported(provider: Option<ProviderType>, capability: Capability) -> Self {
        Self::Unsupported {
            provider,
            capability,
        }
    }

    /// Builds an [`Error::Config`].
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Builds an [`Error::Protocol`].
    pub fn protocol(method: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Protocol {
            method: method.into(),
            reason: reason.into(),
        }
    }

    /// Whether this error says the capability is not offered (rather than that it failed).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Self::Unsupported { .. })
    }
}

fn unsupported_message(provider: Option<ProviderType>, capability: Capability) -> String {
    match provider {
        Some(provider) => format!("{provider} providers do not support {capability}"),
        None => format!("The provider does not support {capability}"),
    }
}
