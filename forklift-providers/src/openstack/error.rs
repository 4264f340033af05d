//! Errors of the OpenStack provider: every failure names the authentication method or the
//! service and operation, and quotes the cloud's own message (escaped, [`PeerText`]).

use forklift_core::error::PeerText;

use super::limits::OpenstackLimit;

/// Result of OpenStack operations.
pub type Result<T, E = OpenstackError> = std::result::Result<T, E>;

/// Why an OpenStack API refused a request, from its status and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// A quota of the project is exhausted (HTTP 413, or 403 naming a quota).
    Quota,
    /// The policy of the service does not allow the user this operation (HTTP 403).
    Policy,
    /// The resource does not exist (HTTP 404).
    NotFound,
    /// The resource is in a state that does not allow the operation (HTTP 409).
    Conflict,
    /// The token was not accepted (HTTP 401).
    Unauthorized,
    /// Any other status.
    Other,
}

impl Refusal {
    /// Classifies a status and the service's message.
    pub fn classify(status: u16, message: &str) -> Self {
        let quota = message.to_ascii_lowercase().contains("quota");
        match status {
            413 => Self::Quota,
            403 if quota => Self::Quota,
            403 => Self::Policy,
            404 => Self::NotFound,
            409 => Self::Conflict,
            401 => Self::Unauthorized,
            _ => Self::Other,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Quota => ", quota exceeded",
            Self::Policy => ", not allowed by the cloud's policy",
            Self::NotFound => ", not found",
            Self::Conflict => ", conflicting state",
            Self::Unauthorized => ", token refused",
            Self::Other => "",
        }
    }
}

/// Everything that can go wrong talking to OpenStack.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenstackError {
    /// Keystone refused the credentials themselves (HTTP 401 on an unscoped attempt too).
    #[error(
        "{method} authentication at {url} was refused (HTTP 401): the credentials are wrong \
         or expired: {}",
        PeerText(message)
    )]
    AuthRefused {
        /// The guide's name of the authentication method.
        method: &'static str,
        /// Keystone's token URL.
        url: String,
        /// Keystone's message.
        message: String,
    },
    /// The credentials are valid, but Keystone refused the project scope: the project does
    /// not exist (in that domain) or the user has no role on it.
    #[error(
        "{method} authentication at {url}: the credentials are valid but the project {} is \
         unknown or the user has no role on it: {}",
        PeerText(project),
        PeerText(message)
    )]
    UnknownProject {
        /// The guide's name of the authentication method.
        method: &'static str,
        /// Keystone's token URL.
        url: String,
        /// The project as the Secret names it (`projectName` in `domainName`, or `projectID`).
        project: String,
        /// Keystone's message.
        message: String,
    },
    /// Keystone answered the authentication with another error status.
    #[error(
        "{method} authentication at {url} failed (HTTP {status}): {}",
        PeerText(message)
    )]
    AuthFailed {
        /// The guide's name of the authentication method.
        method: &'static str,
        /// Keystone's token URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Keystone's message.
        message: String,
    },
    /// The token's catalog has no endpoint of a service type for the interface and region.
    #[error(
        "{method} authentication succeeded, but the catalog has no {interface} endpoint of \
         service type '{service_type}'{}",
        region.as_deref().map(|r| format!(" in region '{}'", PeerText(r))).unwrap_or_default()
    )]
    MissingEndpoint {
        /// The guide's name of the authentication method.
        method: &'static str,
        /// Service type looked up (`compute`, `image`, `volumev3`, `network`).
        service_type: &'static str,
        /// Interface looked up.
        interface: &'static str,
        /// Region, when the Secret names one.
        region: Option<String>,
    },
    /// Keystone's answer to an authentication lacks the token or is not a token.
    #[error("Unexpected answer of {url} to {method} authentication: {reason}")]
    BadToken {
        /// The guide's name of the authentication method.
        method: &'static str,
        /// Keystone's token URL.
        url: String,
        /// What was missing.
        reason: &'static str,
    },
    /// The request did not get an answer (connection, TLS, timeout).
    #[error("{service}: {operation} ({url}) failed")]
    Transport {
        /// Service name (`Keystone`, `Nova`, `Cinder`, `Glance`, `Neutron`).
        service: &'static str,
        /// What was asked.
        operation: String,
        /// URL requested.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// An API refused a request; its message is quoted.
    #[error("{service} refused {operation} (HTTP {status}{}): {}", refusal.describe(), PeerText(message))]
    Api {
        /// Service name.
        service: &'static str,
        /// What was asked.
        operation: String,
        /// HTTP status.
        status: u16,
        /// Classification of the refusal.
        refusal: Refusal,
        /// The service's message (from its JSON fault, else the body's start).
        message: String,
    },
    /// An answer is not the JSON this client reads.
    #[error("{service}: unexpected answer to {operation}")]
    Json {
        /// Service name.
        service: &'static str,
        /// What was asked.
        operation: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// An answer grew past one of the limits of [`limits`](super::limits).
    #[error("{service}: {operation}: {limit}")]
    Limit {
        /// Service name.
        service: &'static str,
        /// What was asked.
        operation: String,
        /// The limit reached.
        limit: OpenstackLimit,
    },
    /// A resource did not reach a state within its time limit.
    #[error(
        "{what} did not become {wanted} within {seconds} s (last status: {})",
        PeerText(last)
    )]
    WaitTimeout {
        /// The resource, e.g. `image 3f2… (forklift-vm1-disk0)`.
        what: String,
        /// The state waited for.
        wanted: &'static str,
        /// The limit, in seconds.
        seconds: u64,
        /// The last status seen.
        last: String,
    },
    /// A resource went to an error state while being waited for.
    #[error("{what} went to status {}{}", PeerText(status), fault.as_deref().map(|f| format!(": {}", PeerText(f))).unwrap_or_default())]
    ResourceFailed {
        /// The resource.
        what: String,
        /// Its status.
        status: String,
        /// The fault message, when the service reports one.
        fault: Option<String>,
    },
    /// A server in ERROR cannot be migrated.
    #[error("Server '{}' ({id}) is in ERROR state{}; fix or rebuild it in OpenStack before migrating it", PeerText(name), fault.as_deref().map(|f| format!(" ({})", PeerText(f))).unwrap_or_default())]
    ServerInError {
        /// Server ID.
        id: String,
        /// Server name.
        name: String,
        /// Nova's fault message.
        fault: Option<String>,
    },
    /// The downloaded image data does not match Glance's checksum.
    #[error(
        "Image {image}: the downloaded data has {algorithm} {actual}, Glance records {expected}"
    )]
    Checksum {
        /// Image ID.
        image: String,
        /// Hash algorithm (`sha512`...).
        algorithm: String,
        /// Glance's value.
        expected: String,
        /// The value of the bytes received.
        actual: String,
    },
    /// Glance sent a different number of bytes than the image's size.
    #[error("Image {image}: Glance sent {received} bytes, the image has {expected}")]
    ShortImage {
        /// Image ID.
        image: String,
        /// Bytes received.
        received: u64,
        /// Glance's `size`.
        expected: u64,
    },
    /// The image's `os_hash_algo` is not one this client computes.
    #[error(
        "Image {image}: cannot verify data hashed with '{}'",
        PeerText(algorithm)
    )]
    UnsupportedHash {
        /// Image ID.
        image: String,
        /// Glance's `os_hash_algo`.
        algorithm: String,
    },
    /// A disk of the VM is neither its image-booted root disk nor an attached volume.
    #[error("Server {server} has no disk '{}'", PeerText(disk))]
    UnknownDisk {
        /// Server ID.
        server: String,
        /// The disk asked for.
        disk: String,
    },
    /// A staged image could not be opened as a disk (qemu-nbd for qcow2, the file for raw).
    #[error("Cannot open the staged image {path}")]
    OpenImage {
        /// The staged file.
        path: String,
        /// Why.
        #[source]
        source: Box<forklift_transfer::Error>,
    },
    /// Local I/O on the image staging folder failed.
    #[error("I/O on {path}")]
    Io {
        /// File involved.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl OpenstackError {
    /// How the cloud refused the request, for [`OpenstackError::Api`].
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            Self::Api { refusal, .. } => Some(*refusal),
            _ => None,
        }
    }
}
