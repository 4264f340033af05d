//! How much an ovirt-imageio daemon may make this client hold, do or wait for. Each limit is
//! listed in docs/limits.md ("oVirt image I/O"); reaching one fails the call with a typed
//! [`Error`](super::Error) instead of following the daemon.

use std::time::Duration;

/// Largest `GET /images/ID/extents` answer read. imageio answers the whole disk at once;
/// one extent is about 65 bytes of JSON, so this holds [`MAX_EXTENTS`] with room to spare.
pub const MAX_EXTENTS_RESPONSE_BYTES: usize = 128 * 1024 * 1024;

/// Most extents one answer may list (a 64 TiB disk fragmented at 64 KiB would need far more;
/// real images coalesce into runs, and a daemon listing more is refused).
pub const MAX_EXTENTS: usize = 1_000_000;

/// Largest `OPTIONS` answer read (a few features and two numbers).
pub const MAX_OPTIONS_RESPONSE_BYTES: usize = 64 * 1024;

/// Largest error body read to quote the daemon's message (the rest is dropped); at most
/// [`QUOTED_CHARS`] characters of it reach a message.
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Characters of an error body quoted in a message.
pub const QUOTED_CHARS: usize = 500;

/// Attempts per range after the first one fails on a dropped connection, a stall, a short
/// body or a 5xx answer (each on a fresh connection, with backoff from
/// [`RETRY_FIRST_BACKOFF`] doubling up to [`RETRY_MAX_BACKOFF`]).
pub const MAX_READ_RETRIES: u32 = 8;

/// First wait before a retry.
pub const RETRY_FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// Longest wait between two retries.
pub const RETRY_MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Default time a request may go without a byte from the daemon (the answer's head, or the
/// next piece of its body) before the connection counts as dropped and the range is retried.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Default time one request may take from sending it to the last byte of its answer
/// (`ImageioOptions::request_timeout`), then it is retried as dropped: the stall timeout
/// bounds each wait for a byte, this bounds a daemon trickling them (a 32 MiB range within
/// it needs about 55 KB/s).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// Default time to establish a TCP and TLS connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default number of HTTP connections (requests in flight) per disk; capped by the daemon's
/// `max_readers` from `OPTIONS` and by [`MAX_CONNECTIONS`].
pub const DEFAULT_CONNECTIONS: usize = 4;

/// Most connections per disk, whatever the caller or the daemon says.
pub const MAX_CONNECTIONS: usize = 32;

/// Largest single ranged GET (the copy pipeline asks for 1 MiB by default).
pub const MAX_READ_BYTES: u32 = 32 * 1024 * 1024;

/// Which limit an answer reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageioLimit {
    /// [`MAX_EXTENTS_RESPONSE_BYTES`].
    #[error(
        "the extents answer is larger than {} bytes",
        MAX_EXTENTS_RESPONSE_BYTES
    )]
    ExtentsBytes,
    /// [`MAX_EXTENTS`].
    #[error("the extents answer lists more than {} extents", MAX_EXTENTS)]
    Extents,
    /// [`MAX_OPTIONS_RESPONSE_BYTES`].
    #[error(
        "the OPTIONS answer is larger than {} bytes",
        MAX_OPTIONS_RESPONSE_BYTES
    )]
    OptionsBytes,
}
