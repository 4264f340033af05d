//! How much an oVirt engine may make this client hold, do or wait for. Each limit is listed
//! in docs/limits.md ("oVirt engine"); reaching one fails the call with a typed error instead
//! of following the engine.

use std::time::Duration;

/// Largest JSON answer read from the engine (one page of VMs with their followed disk
/// attachments, NICs, reported devices and snapshots).
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Largest error body read to quote the engine's fault (the rest is dropped).
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Items asked for per page of a searchable collection (`max=`, `search=page N`).
pub const PAGE_SIZE: usize = 100;

/// Most pages one listing follows; an engine that keeps answering full pages is refused here.
pub const MAX_PAGES: usize = 2_000;

/// Most items one listing gathers (VMs, disks, hosts...).
pub const MAX_ITEMS: usize = 200_000;

/// Most bytes of answers one listing reads, its pages together: the items it gathers are
/// held until it ends, so [`MAX_PAGES`] pages of [`MAX_RESPONSE_BYTES`] are not.
pub const MAX_LISTING_BYTES: usize = 512 * 1024 * 1024;

/// Most cluster versions whose `ServerCPUList` an inventory reads (one request each; an
/// engine has a handful).
pub const MAX_CPU_LIST_VERSIONS: usize = 64;

/// An SSO token is renewed this long before the `exp` the engine gave it.
pub const TOKEN_RENEW_MARGIN: Duration = Duration::from_secs(60);

/// Per-request time limit of engine API calls.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Longest one exchange with the engine may take, from sending the request to the last
/// byte of its answer (`OvirtConfig::exchange_timeout`): [`REQUEST_TIMEOUT`] bounds each
/// wait for a byte, this bounds an answer trickled a byte at a time.
pub const EXCHANGE_LIMIT: Duration = Duration::from_secs(600);

/// Time between two polls of a VM or an image transfer that is changing state.
pub const POLL_INTERVAL: Duration = Duration::from_millis(300);

/// Longest wait for a VM to reach the power state asked for.
pub const VM_POWER_LIMIT: Duration = Duration::from_secs(600);

/// Longest wait for an image transfer to reach `transferring` (the engine prepares the
/// image and adds the imageio ticket).
pub const TRANSFER_READY_LIMIT: Duration = Duration::from_secs(300);

/// Longest wait for a finalized or cancelled image transfer to end.
pub const TRANSFER_END_LIMIT: Duration = Duration::from_secs(300);

/// Longest wait for a backup to reach `ready` (the engine adds the checkpoint's bitmaps
/// and exports the disks).
pub const BACKUP_READY_LIMIT: Duration = Duration::from_secs(300);

/// Longest wait for a finalized backup to reach `succeeded` (or be forgotten).
pub const BACKUP_END_LIMIT: Duration = Duration::from_secs(300);

/// Longest wait for a disk snapshot to be created (`snapshot_status` `ok`) or removed.
pub const SNAPSHOT_LIMIT: Duration = Duration::from_secs(600);

/// Most checkpoints of one VM read or removed after a backup (the chain is walked to
/// remove the ones an earlier precopy made and no later one needs).
pub const MAX_CHECKPOINTS: usize = 1_000;

/// A limit of [this module](self) that an engine's answers reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OvirtLimit {
    /// [`MAX_RESPONSE_BYTES`].
    ResponseBytes,
    /// [`MAX_PAGES`].
    Pages,
    /// [`MAX_ITEMS`].
    Items,
    /// [`MAX_CHECKPOINTS`].
    Checkpoints,
    /// [`MAX_LISTING_BYTES`].
    ListingBytes,
}

impl std::fmt::Display for OvirtLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (value, what) = match self {
            Self::ResponseBytes => (MAX_RESPONSE_BYTES as u64, "bytes in one answer"),
            Self::Pages => (
                MAX_PAGES as u64,
                "pages in one listing (the engine keeps answering full pages)",
            ),
            Self::Items => (MAX_ITEMS as u64, "items in one listing"),
            Self::Checkpoints => (MAX_CHECKPOINTS as u64, "checkpoints of one VM"),
            Self::ListingBytes => (MAX_LISTING_BYTES as u64, "bytes of answers in one listing"),
        };
        write!(
            f,
            "more than {value} {what} (the client's limit, see docs/limits.md)"
        )
    }
}
