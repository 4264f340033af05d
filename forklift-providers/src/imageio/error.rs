//! Errors of the imageio data path. Every message names the image by its redacted URL (the
//! ticket ID in the path is a bearer credential and never appears) and quotes the daemon's
//! own text escaped ([`PeerText`]) and bounded ([`QUOTED_CHARS`]).

use forklift_core::error::PeerText;
use forklift_transfer::error::ErrorKind;

use super::limits::{ImageioLimit, QUOTED_CHARS};

/// Result of imageio operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading a disk through ovirt-imageio.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transfer URL is not an imageio image URL (`https://HOST:PORT/images/TICKET`).
    #[error(
        "'{}' is not an imageio image URL (https://HOST:PORT/images/TICKET): {reason}",
        PeerText(url)
    )]
    BadUrl {
        /// The URL as given, ticket included only when it could not be recognised.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The CA bundle given to trust the daemon holds no usable certificate.
    #[error("The imageio CA bundle is unusable: {reason}")]
    BadCa {
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS handshake failed: the daemon's certificate is not signed by the configured CA,
    /// names another host, or the daemon does not speak TLS.
    #[error("{url}: TLS refused: the daemon's certificate is not trusted (wrong CA or host name?)")]
    Tls {
        /// Redacted image URL.
        url: String,
        /// The handshake error.
        #[source]
        source: reqwest::Error,
    },
    /// The request got no answer (connection refused or reset, body cut short).
    #[error("{url}: {operation} failed")]
    Transport {
        /// Redacted image URL.
        url: String,
        /// What was asked.
        operation: &'static str,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The body of a ranged GET ended before the range was complete (the connection was
    /// closed under it).
    #[error("{url}: the daemon sent {received} of {expected} bytes at {offset}")]
    ShortBody {
        /// Redacted image URL.
        url: String,
        /// First byte asked for.
        offset: u64,
        /// Bytes received.
        received: u64,
        /// Bytes asked for.
        expected: u64,
    },
    /// The daemon sent no byte for the stall timeout.
    #[error("{url}: {operation} stalled: no data for {seconds} s")]
    Stalled {
        /// Redacted image URL.
        url: String,
        /// What was asked.
        operation: &'static str,
        /// The stall timeout, in seconds.
        seconds: u64,
    },
    /// A request (its answer's body included) took longer than
    /// [`ImageioOptions::request_timeout`](super::ImageioOptions::request_timeout): a
    /// daemon trickling bytes, each within the stall timeout.
    #[error("{url}: {operation} took longer than {seconds} s")]
    TooSlow {
        /// Redacted image URL.
        url: String,
        /// What was asked.
        operation: &'static str,
        /// The limit, in seconds.
        seconds: u64,
    },
    /// The ticket does not exist (any more): removed by the engine (transfer finalized or
    /// cancelled), expired, or never added. imageio answers 403 "No such ticket" or 404.
    #[error("{url}: the transfer ticket is gone (HTTP {status}): {}", PeerText(&excerpt(body)))]
    TicketGone {
        /// Redacted image URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The daemon's message.
        body: String,
    },
    /// The daemon answered with another error status.
    #[error("{url}: {operation}: HTTP {status}: {}", PeerText(&excerpt(body)))]
    Status {
        /// Redacted image URL.
        url: String,
        /// What was asked.
        operation: &'static str,
        /// HTTP status.
        status: u16,
        /// The daemon's message (its first bytes).
        body: String,
    },
    /// An extents answer is not JSON of imageio's shape.
    #[error("{url}: the extents answer is not imageio's JSON")]
    ExtentsJson {
        /// Redacted image URL.
        url: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// An extents answer is JSON but does not describe the disk: a gap, an overlap, an empty
    /// extent, or an end other than the disk's size.
    #[error("{url}: bad extents answer: {reason}")]
    BadExtents {
        /// Redacted image URL.
        url: String,
        /// What is wrong, with the offending offsets.
        reason: String,
    },
    /// An answer is not what the request asked for (no `Content-Range`, another range, an
    /// undecodable `OPTIONS` body).
    #[error("{url}: unexpected answer to {operation}: {reason}")]
    BadAnswer {
        /// Redacted image URL.
        url: String,
        /// What was asked.
        operation: &'static str,
        /// What was wrong (may quote a header, escaped).
        reason: String,
    },
    /// The image has another size than the caller expected.
    #[error("{url}: the image has {actual} bytes, expected {expected}")]
    SizeMismatch {
        /// Redacted image URL.
        url: String,
        /// The size the caller expected.
        expected: u64,
        /// The size the daemon reports.
        actual: u64,
    },
    /// A range kept failing after [`MAX_READ_RETRIES`](super::limits::MAX_READ_RETRIES)
    /// retries; the last failure is the source.
    #[error("{url}: reading {length} bytes at {offset} failed {attempts} times")]
    TooManyRetries {
        /// Redacted image URL.
        url: String,
        /// First byte of the range.
        offset: u64,
        /// Length of the range.
        length: u64,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        #[source]
        last: Box<Error>,
    },
    /// An answer grew past one of the limits of [`limits`](super::limits).
    #[error("{url}: {operation}: {limit}")]
    Limit {
        /// Redacted image URL.
        url: String,
        /// What was asked.
        operation: &'static str,
        /// The limit reached.
        limit: ImageioLimit,
    },
    /// The HTTP client could not be built.
    #[error("Cannot set up the HTTP client for {url}")]
    Client {
        /// Redacted image URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
}

/// The start of a peer's text, whitespace collapsed, at most [`QUOTED_CHARS`] characters.
pub fn excerpt(body: &str) -> String {
    let collapsed = body.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(QUOTED_CHARS).collect()
}

impl Error {
    /// Whether trying the same request again on a fresh connection may succeed: transport
    /// failures, stalls, short bodies and 5xx answers. TLS refusals, 4xx answers and bad
    /// answers are final.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. }
            | Self::Stalled { .. }
            | Self::TooSlow { .. }
            | Self::ShortBody { .. } => true,
            Self::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The kind under which the transfer engine sees this error.
    pub fn transfer_kind(&self) -> ErrorKind {
        match self {
            Self::BadUrl { .. } | Self::BadCa { .. } => ErrorKind::InvalidInput,
            Self::Tls { .. } => ErrorKind::Tls,
            Self::Transport { .. } => ErrorKind::Io,
            Self::ShortBody { .. } => ErrorKind::Disconnected,
            Self::Stalled { .. } | Self::TooSlow { .. } => ErrorKind::Timeout,
            Self::TicketGone { .. } => ErrorKind::NotFound,
            Self::Status { .. } => ErrorKind::Server,
            Self::ExtentsJson { .. } | Self::BadExtents { .. } | Self::BadAnswer { .. } => {
                ErrorKind::Protocol
            }
            Self::SizeMismatch { .. } => ErrorKind::Mismatch,
            Self::TooManyRetries { last, .. } => last.transfer_kind(),
            Self::Limit { .. } => ErrorKind::Protocol,
            Self::Client { .. } => ErrorKind::Io,
        }
    }
}

impl Error {
    /// The imageio error in `error`'s chain, if any: itself, a source, or the cause a
    /// transfer error shares (an `Arc`, whose own `source` skips the error it holds).
    pub fn find_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Error> {
        let mut current = Some(error);
        while let Some(e) = current {
            if let Some(found) = e.downcast_ref::<Error>() {
                return Some(found);
            }
            let shared = e.downcast_ref::<forklift_transfer::error::Source>();
            if let Some(found) = shared.and_then(|inner| inner.downcast_ref::<Error>()) {
                return Some(found);
            }
            current = e.source();
        }
        None
    }
}

/// The transfer engine's view: the kind from [`Error::transfer_kind`], always recoverable
/// (the daemon's connections are made per request, so there is nothing to reopen; the copy's
/// own block retries apply), with this error as the source for callers that downcast.
impl From<Error> for forklift_transfer::Error {
    fn from(error: Error) -> Self {
        let kind = error.transfer_kind();
        forklift_transfer::Error::new(kind, "imageio")
            .with_source(error)
            .into_recoverable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gone(body: &str) -> Error {
        Error::TicketGone {
            url: "https://h:1/images/(ticket)".to_owned(),
            status: 403,
            body: excerpt(body),
        }
    }

    #[test]
    fn peer_text_is_escaped_and_bounded() {
        let hostile = format!("No such ticket\u{1b}[31m red\n{}", "x".repeat(10_000));
        let text = gone(&hostile).to_string();
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(text.len() < 1_000, "{} bytes", text.len());
        assert!(text.contains("No such ticket"));
        assert_eq!(excerpt("a \n\t b"), "a b");
    }

    #[test]
    fn kinds_and_retries_follow_the_failure() {
        let status = |status| Error::Status {
            url: String::new(),
            operation: "ranged GET",
            status,
            body: String::new(),
        };
        assert!(status(503).is_transient() && !status(400).is_transient());
        assert!(!gone("").is_transient());
        let short = Error::ShortBody {
            url: String::new(),
            offset: 0,
            received: 1,
            expected: 2,
        };
        assert!(short.is_transient());
        let retries = Error::TooManyRetries {
            url: String::new(),
            offset: 0,
            length: 2,
            attempts: 9,
            last: Box::new(short),
        };
        assert!(!retries.is_transient());
        assert_eq!(retries.transfer_kind(), ErrorKind::Disconnected);
        assert_eq!(gone("").transfer_kind(), ErrorKind::NotFound);
        assert_eq!(status(500).transfer_kind(), ErrorKind::Server);

        // The transfer engine sees the kind, a recoverable error, and this error as source.
        let transfer = forklift_transfer::Error::from(gone("No such ticket t"));
        assert_eq!(transfer.kind(), ErrorKind::NotFound);
        assert!(transfer.is_recoverable());
        assert!(matches!(
            Error::find_in(&transfer),
            Some(Error::TicketGone { status: 403, .. })
        ));
        assert!(Error::find_in(&std::io::Error::other("x")).is_none());
    }
}
