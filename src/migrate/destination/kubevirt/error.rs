//! Why a cluster operation failed, each kind a variant a user can act on.

use std::path::PathBuf;

use forklift_core::error::PeerText;

/// What was being done to which resource, for messages (`patch datavolumes ns/name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The API verb (`get`, `create`, `patch`, `delete`, `watch`, `list`).
    pub verb: &'static str,
    /// The resource with its group (`datavolumes.cdi.kubevirt.io`, `namespaces`).
    pub resource: String,
    /// `namespace/name`, `name` or empty for a collection.
    pub object: String,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if !self.object.is_empty() {
            write!(f, " {}", PeerText(&self.object))?;
        }
        Ok(())
    }
}

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// No kubeconfig could be loaded (none given, no `KUBECONFIG`, no `~/.kube/config`, not
    /// in a pod).
    #[error(
        "Cannot find a Kubernetes configuration (--kubeconfig, KUBECONFIG, ~/.kube/config or in-cluster)"
    )]
    NoConfig(#[source] kube::config::InferConfigError),
    /// The kubeconfig given cannot be used.
    #[error("Cannot use the kubeconfig {path}")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The client cannot be built from the configuration (TLS material, auth plugin).
    #[error("Cannot build a Kubernetes client")]
    Client(#[source] Box<kube::Error>),
    /// The API server does not answer.
    #[error("The Kubernetes API server {server} is unreachable")]
    Unreachable {
        /// The server URL.
        server: String,
        /// Why.
        #[source]
        source: Box<kube::Error>,
    },
    /// RBAC denies a request.
    #[error("Forbidden: the cluster does not allow this user to {action}: {}", PeerText(.message))]
    Forbidden {
        /// The denied request.
        action: Action,
        /// The API server's message.
        message: String,
    },
    /// A resource quota refuses an object.
    #[error("Quota exceeded in namespace {}: {action} refused: {}", PeerText(.namespace), PeerText(.message))]
    QuotaExceeded {
        /// The refused request.
        action: Action,
        /// The namespace.
        namespace: String,
        /// The API server's message (names the quota).
        message: String,
    },
    /// An API group the destination needs is not served: its CRDs are not installed.
    #[error("The cluster does not serve {group_version} ({what}): install {what} first")]
    MissingApi {
        /// The group/version (`cdi.kubevirt.io/v1beta1`).
        group_version: &'static str,
        /// What provides it (`CDI`, `KubeVirt`).
        what: &'static str,
    },
    /// The target namespace does not exist and cannot be created.
    #[error("The target namespace {} does not exist and this user may not create it: {}", PeerText(.namespace), PeerText(.message))]
    NamespaceNotAllowed {
        /// The namespace.
        namespace: String,
        /// The API server's message.
        message: String,
    },
    /// A DataVolume names a storage class the cluster does not have.
    #[error("The storage class {} of DataVolume {} does not exist on the cluster (see the plan's StorageMap)", PeerText(.class), PeerText(.data_volume))]
    StorageClassMissing {
        /// The class.
        class: String,
        /// The DataVolume.
        data_volume: String,
    },
    /// The API server refused an object as invalid (422).
    #[error("The API server refused {action} as invalid: {}", PeerText(.message))]
    Invalid {
        /// The request.
        action: Action,
        /// The API server's message (names the fields).
        message: String,
    },
    /// Server-side apply found fields owned by another field manager (409).
    #[error("Conflict on {action}: another field manager owns fields forklift sets: {}", PeerText(.message))]
    Conflict {
        /// The request.
        action: Action,
        /// The API server's message (names the managers and fields).
        message: String,
    },
    /// An object with the name forklift needs exists and was not created by this plan.
    #[error("{kind} {} already exists and was not created by this plan (its plan/vmID labels differ); remove or rename it", PeerText(.name))]
    NotOurs {
        /// The kind.
        kind: &'static str,
        /// `namespace/name`.
        name: String,
    },
    /// Any other API error.
    #[error("{action} failed")]
    Api {
        /// The request.
        action: Action,
        /// The client's error.
        #[source]
        source: Box<kube::Error>,
    },
    /// No upload proxy URL: neither a flag nor the CDIConfig's status gives one.
    #[error(
        "No CDI upload proxy URL: pass --upload-proxy-url, or expose cdi-uploadproxy so CDIConfig status.uploadProxyURL is set"
    )]
    NoUploadProxy,
    /// The upload proxy URL is not a URL.
    #[error("The upload proxy URL {} is not valid", PeerText(.url))]
    UploadProxyUrl {
        /// The URL as given.
        url: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// The upload proxy URL is not https (the upload token would travel in clear text).
    #[error("The upload proxy URL {} is not an https URL; the upload token is never sent in clear text", PeerText(.url))]
    UploadProxyNotHttps {
        /// The URL as given.
        url: String,
    },
    /// A CA bundle for the upload proxy cannot be used.
    #[error("Cannot use the upload proxy CA {origin}")]
    UploadProxyCa {
        /// Where it came from (a file, or the CDIConfig status).
        origin: String,
        /// Why.
        #[source]
        source: Box<reqwest::Error>,
    },
    /// The TLS handshake with the upload proxy failed (certificate not trusted, wrong host).
    #[error(
        "TLS with the CDI upload proxy {url} failed (pass --upload-proxy-ca with the proxy's CA, or check CDIConfig status.uploadProxyCA)"
    )]
    UploadTls {
        /// The proxy URL.
        url: String,
        /// The TLS error.
        #[source]
        source: Box<reqwest::Error>,
    },
    /// Sending a disk to the upload proxy failed.
    #[error("Uploading {} to the CDI upload proxy {url} failed", .path.display())]
    Upload {
        /// The proxy URL.
        url: String,
        /// The image.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<reqwest::Error>,
    },
    /// A streamed disk could not be sent to the upload proxy (the connection failed or the
    /// copy feeding it stopped).
    #[error("Streaming DataVolume {} to the CDI upload proxy {url} failed after {sent} of {size} bytes", PeerText(.data_volume))]
    UploadStream {
        /// The proxy URL.
        url: String,
        /// The DataVolume.
        data_volume: String,
        /// Bytes handed to the connection.
        sent: u64,
        /// The disk's size.
        size: u64,
        /// Why.
        #[source]
        source: Box<reqwest::Error>,
    },
    /// Asking the upload proxy which upload route it serves failed.
    #[error("Cannot reach the CDI upload proxy {url}")]
    UploadProbe {
        /// The proxy URL.
        url: String,
        /// Why.
        #[source]
        source: Box<reqwest::Error>,
    },
    /// An error also handed to the writers of a streamed disk (so both see the same one).
    #[error(transparent)]
    Shared(std::sync::Arc<ClusterError>),
    /// Objects a cleanup could not delete (it went on with the others).
    #[error("Cleanup could not delete {} (deleted: {})", PeerText(&.left.join(", ")), PeerText(&if .deleted.is_empty() { "nothing".to_owned() } else { .deleted.join(", ") }))]
    CleanupIncomplete {
        /// `Kind namespace/name` of what was deleted.
        deleted: Vec<String>,
        /// `Kind namespace/name` of what is left.
        left: Vec<String>,
        /// Why the first of them was left.
        #[source]
        first: Box<ClusterError>,
    },
    /// The upload proxy refused a disk.
    #[error("The CDI upload proxy refused DataVolume {}: HTTP {status}: {}", PeerText(.data_volume), PeerText(.body))]
    UploadRefused {
        /// The DataVolume.
        data_volume: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The UploadTokenRequest came back without a token.
    #[error("The UploadTokenRequest for DataVolume {} returned no token", PeerText(.data_volume))]
    NoToken {
        /// The DataVolume.
        data_volume: String,
    },
    /// A disk image to upload cannot be read.
    #[error("Cannot read the disk image {path}")]
    Image {
        /// The image.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The DataVolume reached phase Failed.
    #[error("DataVolume {} failed: {}", PeerText(.data_volume), PeerText(.message))]
    DataVolumeFailed {
        /// `namespace/name`.
        data_volume: String,
        /// Its last condition's message.
        message: String,
    },
    /// The DataVolume did not reach Succeeded in time.
    #[error("DataVolume {} did not reach phase {wanted} within {seconds} s (last phase {})", PeerText(.data_volume), PeerText(.phase))]
    DataVolumeTimeout {
        /// The phase waited for.
        wanted: &'static str,
        /// `namespace/name`.
        data_volume: String,
        /// The limit.
        seconds: u64,
        /// The last phase seen.
        phase: String,
    },
    /// A disk object or VirtualMachine lacks what the destination needs.
    #[error("The {kind} {} has no {field}", PeerText(.name))]
    MissingField {
        /// The kind.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The missing field.
        field: &'static str,
    },
    /// A DataVolume the VirtualMachine needs holds no disk and this run streamed none into it.
    #[error("DataVolume {} of VirtualMachine {} holds no disk and this run did not copy one into it", PeerText(.data_volume), PeerText(.vm))]
    NotCopied {
        /// The DataVolume.
        data_volume: String,
        /// The VirtualMachine.
        vm: String,
    },
    /// A staged disk image that the VirtualMachine needs is not there.
    #[error("No staged image for DataVolume {} of VirtualMachine {}: its disk was not copied by this run", PeerText(.data_volume), PeerText(.vm))]
    NotStaged {
        /// The DataVolume.
        data_volume: String,
        /// The VirtualMachine.
        vm: String,
    },
}

impl ClusterError {
    /// Classifies an API error of `action` in `namespace`: RBAC denial, quota, invalid
    /// object and conflicts get their own variants.
    pub fn from_api(action: Action, namespace: &str, error: kube::Error) -> Self {
        match &error {
            kube::Error::Api(response) => {
                let message = response.message.clone();
                match response.code {
                    403 if message.contains("exceeded quota") => Self::QuotaExceeded {
                        action,
                        namespace: namespace.to_owned(),
                        message,
                    },
                    403 => Self::Forbidden { action, message },
                    422 if message.contains("exceeded quota") => Self::QuotaExceeded {
                        action,
                        namespace: namespace.to_owned(),
                        message,
                    },
                    422 => Self::Invalid { action, message },
                    409 => Self::Conflict { action, message },
                    _ => Self::Api {
                        action,
                        source: Box::new(error),
                    },
                }
            }
            _ => Self::Api {
                action,
                source: Box::new(error),
            },
        }
    }
}
