//! The error type of the provider layer.

use crate::capability::{Capability, ProviderType};

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
    /// A SOAP fault returned by the server.
    #[error("{method} failed: {fault}: {message}")]
    Fault {
        /// The vim25 method that failed.
        method: String,
        /// Fault type, e.g. `InvalidLogin`, `ManagedObjectNotFound`.
        fault: String,
        /// The server's fault string.
        message: String,
    },
    /// The server's answer could not be understood.
    #[error("Unexpected answer to {method}: {reason}")]
    Protocol {
        /// The vim25 method or resource.
        method: String,
        /// What was missing or malformed.
        reason: String,
    },
    /// A vSphere task ended in error.
    #[error("Task {task} ({operation}) failed: {message}")]
    Task {
        /// Task MoRef.
        task: String,
        /// What the task was doing.
        operation: String,
        /// The task's error message.
        message: String,
    },
    /// An inventory object was not found.
    #[error("{kind} '{id}' not found")]
    NotFound {
        /// Object kind, e.g. `VM`.
        kind: &'static str,
        /// The identifier looked up.
        id: String,
    },
    /// The operation was cancelled by the caller.
    #[error("Cancelled")]
    Cancelled,
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
