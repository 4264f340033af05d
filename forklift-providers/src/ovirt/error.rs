//! Errors of the oVirt provider: every failure names the operation and quotes the engine's
//! own fault (`reason`, `detail`) escaped through [`PeerText`].

use forklift_core::error::PeerText;

use super::limits::OvirtLimit;

/// Result of oVirt operations.
pub type Result<T, E = OvirtError> = std::result::Result<T, E>;

/// Everything that can go wrong talking to an oVirt engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OvirtError {
    /// The SSO endpoint refused the user name and password.
    #[error(
        "oVirt SSO at {url} refused the credentials (HTTP {status}, {}): {}",
        PeerText(code),
        PeerText(message)
    )]
    SsoRefused {
        /// The SSO token URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// SSO error code (`access_denied`, `invalid_grant`...).
        code: String,
        /// SSO error description.
        message: String,
    },
    /// The SSO answer holds no usable token.
    #[error("Unexpected answer of oVirt SSO at {url}: {reason}")]
    BadToken {
        /// The SSO token URL.
        url: String,
        /// What was missing.
        reason: &'static str,
    },
    /// The request did not get an answer (connection, TLS, timeout).
    #[error("oVirt engine: {} ({}) failed", PeerText(operation), PeerText(url))]
    Transport {
        /// What was asked.
        operation: String,
        /// URL requested.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The engine refused a request; its fault is quoted.
    #[error(
        "oVirt engine refused {} (HTTP {status}): {}{}",
        PeerText(operation),
        PeerText(reason),
        if detail.is_empty() { String::new() } else { format!(": {}", PeerText(detail)) }
    )]
    Api {
        /// What was asked.
        operation: String,
        /// HTTP status.
        status: u16,
        /// The fault's `reason` (else the body's start).
        reason: String,
        /// The fault's `detail`.
        detail: String,
    },
    /// An answer is not the JSON this client reads.
    #[error("oVirt engine: unexpected answer to {}", PeerText(operation))]
    Json {
        /// What was asked.
        operation: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// An answer grew past one of the limits of [`limits`](super::limits).
    #[error("oVirt engine: {}: {limit}", PeerText(operation))]
    Limit {
        /// What was asked.
        operation: String,
        /// The limit reached.
        limit: OvirtLimit,
    },
    /// A VM or transfer did not reach a state within its time limit.
    #[error(
        "{} did not become {wanted} within {seconds} s (last: {})",
        PeerText(what),
        PeerText(last)
    )]
    WaitTimeout {
        /// The resource, e.g. `VM 3f2… (web)`.
        what: String,
        /// The state waited for.
        wanted: &'static str,
        /// The limit, in seconds.
        seconds: u64,
        /// The last state seen.
        last: String,
    },
    /// An image transfer ended in a failure or cancelled phase.
    #[error(
        "Image transfer {} of disk {} went to phase {}",
        PeerText(transfer),
        PeerText(disk),
        PeerText(phase)
    )]
    TransferFailed {
        /// Transfer ID.
        transfer: String,
        /// Disk ID.
        disk: String,
        /// The phase it went to.
        phase: String,
    },
    /// A transferring image transfer names neither a `transfer_url` nor a `proxy_url`.
    #[error(
        "Image transfer {} is transferring but names no transfer_url or proxy_url",
        PeerText(transfer)
    )]
    NoTransferUrl {
        /// Transfer ID.
        transfer: String,
    },
    /// The VM has no disk attachment with this disk ID.
    #[error("VM {} has no disk '{}'", PeerText(vm), PeerText(disk))]
    UnknownDisk {
        /// VM ID.
        vm: String,
        /// The disk asked for.
        disk: String,
    },
    /// The engine refused a backup because the VM is already being backed up (HTTP 409):
    /// another backup application's, or one an earlier run left open.
    #[error(
        "VM {vm} is already being backed up (another backup is in progress; finalize it \
         or wait for it): {}",
        PeerText(detail)
    )]
    BackupInProgress {
        /// VM ID.
        vm: String,
        /// The engine's fault detail.
        detail: String,
    },
    /// A backup went to a phase other than the one waited for (`failed`, or finalized by
    /// someone else).
    #[error("Backup {backup} of VM {vm} went to phase {}", PeerText(phase))]
    BackupFailed {
        /// Backup ID.
        backup: String,
        /// VM ID.
        vm: String,
        /// The phase it went to.
        phase: String,
    },
    /// A disk cannot take part in incremental backup, so the VM cannot be migrated warm.
    #[error(
        "Disk '{}' of VM {vm} cannot be migrated warm: {reason} (warm migration from oVirt \
         reads incremental backups: the disk needs incremental backup enabled and the qcow2 \
         (cow) format)",
        PeerText(disk)
    )]
    NotIncremental {
        /// VM ID.
        vm: String,
        /// The disk's ID (and alias).
        disk: String,
        /// What is missing, e.g. `its backup mode is 'none'`.
        reason: String,
    },
    /// A disk snapshot went to a status other than `ok` while being created.
    #[error("Snapshot {snapshot} of VM {vm} went to status {}", PeerText(status))]
    SnapshotFailed {
        /// Snapshot ID.
        snapshot: String,
        /// VM ID.
        vm: String,
        /// The status it went to.
        status: String,
    },
    /// The engine answered a new backup with the ID of one this provider still holds
    /// open: taking it would drop the open one's transfers unfinalized and mix the two.
    #[error(
        "The engine named the new backup of VM {} {}, the ID of a backup still open",
        PeerText(vm),
        PeerText(backup)
    )]
    BackupIdReused {
        /// Backup ID.
        backup: String,
        /// VM ID.
        vm: String,
    },
    /// Checkpoints this provider created could not all be removed after the cutover: one
    /// that is not ours precedes them (the engine removes only the oldest).
    #[error(
        "VM {}: checkpoints {} of this migration are left behind one it did not create; remove them once the older ones are gone",
        PeerText(vm),
        PeerText(checkpoints)
    )]
    CheckpointsLeft {
        /// VM ID.
        vm: String,
        /// The checkpoints left, oldest first, comma-separated.
        checkpoints: String,
    },
    /// A backup this provider did not start, or that is gone, was asked about.
    #[error("Backup {backup} of VM {vm} is not one this provider holds open")]
    UnknownBackup {
        /// Backup ID.
        backup: String,
        /// VM ID.
        vm: String,
    },
    /// An API path built from IDs (of a manifest or of the engine) would address another
    /// resource once parsed (an empty, `.` or `..` segment, a backslash, a control
    /// character); nothing was sent.
    #[error(
        "oVirt engine: refusing the API path '{}': an ID in it is empty, '.' or '..', or holds a backslash or control character",
        PeerText(path)
    )]
    UnsafePath {
        /// The path.
        path: String,
    },
    /// An image transfer names a URL the client will not send its ticket to: not https, or
    /// (for `proxy_url`) not on the engine's host.
    #[error(
        "Image transfer {} names {field} '{}', which is not {wanted}",
        PeerText(transfer),
        PeerText(url),
        wanted = if *field == "proxy_url" { "an https URL on the engine's host" } else { "an https URL" }
    )]
    UnsafeTransferUrl {
        /// Transfer ID.
        transfer: String,
        /// `transfer_url` or `proxy_url`.
        field: &'static str,
        /// The URL, ticket hidden.
        url: String,
    },
}

impl OvirtError {
    /// The HTTP status of an engine refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the engine answered 404 (the object is gone).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}
