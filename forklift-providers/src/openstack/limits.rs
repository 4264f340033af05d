//! How much an OpenStack cloud may make this client hold, do or wait for. Each limit is listed
//! in docs/limits.md ("OpenStack"); reaching one fails the call with a typed error instead of
//! following the cloud.

use std::time::Duration;

/// Largest JSON answer read from any OpenStack API (a Keystone token with its catalog, one
/// page of a listing). A page of [`PAGE_SIZE`] servers with their addresses stays far below.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Largest error body read to quote the service's message (the rest is dropped).
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Items asked for per page of a listing (`limit=`).
pub const PAGE_SIZE: usize = 200;

/// Most pages one listing follows (`marker=` or Glance's `next` link). A cloud that keeps
/// handing out a next page is refused here.
pub const MAX_PAGES: usize = 2_000;

/// Most items one listing gathers (servers, volumes, images, ports...).
pub const MAX_ITEMS: usize = 200_000;

/// A token is renewed this long before Keystone says it expires, so no request starts with a
/// token that expires on the way.
pub const TOKEN_RENEW_MARGIN: Duration = Duration::from_secs(300);

/// Time between two polls of a resource that is changing state (server power, snapshot,
/// volume, image).
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Longest wait for a server to reach the power state asked for.
pub const SERVER_POWER_LIMIT: Duration = Duration::from_secs(600);

/// Longest wait for a Cinder snapshot or volume to become `available`.
pub const VOLUME_READY_LIMIT: Duration = Duration::from_secs(1_800);

/// Longest wait for a Glance image to become `active` (Nova `createImage` or Cinder's
/// `os-volume_upload_image` copying the data).
pub const IMAGE_ACTIVE_LIMIT: Duration = Duration::from_secs(3_600);

/// How long an image Nova's `createImage` made may stay `queued` once the server has no
/// task left: Nova has finished (or given up on) the snapshot without uploading its data.
pub const SNAPSHOT_UPLOAD_GRACE: Duration = Duration::from_secs(15);

/// Longest wait for a deleted resource to disappear during cleanup.
pub const DELETE_LIMIT: Duration = Duration::from_secs(300);

/// Most times one image download resumes (a `Range` request from the last byte received)
/// after the connection dropped.
pub const MAX_DOWNLOAD_RESUMES: u32 = 16;

/// Largest image downloaded (Glance's `size`): 64 TiB, beyond any volume Cinder creates.
pub const MAX_IMAGE_BYTES: u64 = 64 << 40;

/// Per-request time limit of API calls (image data streams have none: a download is bounded
/// by its progress, see [`DOWNLOAD_STALL_LIMIT`]).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Longest time an image download may go without receiving a byte before it is treated as a
/// dropped connection (and resumed).
pub const DOWNLOAD_STALL_LIMIT: Duration = Duration::from_secs(60);

/// A limit of [this module](self) that a cloud's answers reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenstackLimit {
    /// [`MAX_RESPONSE_BYTES`].
    ResponseBytes,
    /// [`MAX_PAGES`].
    Pages,
    /// [`MAX_ITEMS`].
    Items,
    /// [`MAX_DOWNLOAD_RESUMES`].
    DownloadResumes,
    /// [`MAX_IMAGE_BYTES`].
    ImageBytes,
}

impl std::fmt::Display for OpenstackLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (value, what) = match self {
            Self::ResponseBytes => (MAX_RESPONSE_BYTES as u64, "bytes in one answer"),
            Self::Pages => (
                MAX_PAGES as u64,
                "pages in one listing (the cloud keeps handing out a next page)",
            ),
            Self::Items => (MAX_ITEMS as u64, "items in one listing"),
            Self::DownloadResumes => (
                u64::from(MAX_DOWNLOAD_RESUMES),
                "resumed connections for one image download",
            ),
            Self::ImageBytes => (MAX_IMAGE_BYTES, "bytes of image data"),
        };
        write!(
            f,
            "more than {value} {what} (the client's limit, see docs/limits.md)"
        )
    }
}
