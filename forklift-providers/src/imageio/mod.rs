//! Disk data through oVirt's image I/O daemon (ovirt-imageio), the data path of an oVirt
//! image transfer: the engine adds a ticket to the daemon and hands out a transfer URL
//! (`https://HOST:54322/images/TICKET`); [`ImageioDisk`] reads that image as a
//! [`BlockSource`](forklift_transfer::block::BlockSource) for the copy pipeline.
//!
//! ```text
//!   ImageioDisk::open ── OPTIONS /images/T ────────────── features, max_readers
//!                    ├─ GET /images/T, Range: bytes=0-0 ─ size (Content-Range)
//!                    └─ GET /images/T/extents?context=dirty ── 200: dirty extents kept
//!                                                             404: ticket made without dirty
//!   read_at ─── semaphore (connections) ─► GET /images/T, Range ─► 206 into the buffer
//!                 └─ dropped connection, stall, short body, 5xx: retry on a fresh connection
//!   extents ─── GET /images/T/extents (once, kept) ─► zero/hole flags (base:allocation)
//! ```
//!
//! The ticket ID is a bearer credential: messages, logs and `Debug` show the URL with the
//! ticket replaced by `(ticket)`. Limits: [`limits`] (docs/limits.md, "oVirt image I/O").

mod disk;
pub mod error;
pub mod limits;
pub mod parse;

use std::sync::Arc;
use std::time::Duration;

pub use disk::{ImageioDisk, ImageioStats};
pub use error::{Error, Result};
pub use limits::ImageioLimit;

/// How the daemon's certificate is checked.
#[derive(Clone, PartialEq, Eq)]
pub enum ImageioTls {
    /// Only these PEM-encoded CA certificates (the engine's CA, which signs the hosts' and
    /// the proxy's certificates); the certificate must also name the URL's host.
    CaPem(Vec<u8>),
    /// No verification at all (`insecureSkipVerify: true`): an explicit opt-in.
    InsecureSkipVerify,
}

impl std::fmt::Debug for ImageioTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CaPem(pem) => write!(f, "CaPem({} bytes)", pem.len()),
            Self::InsecureSkipVerify => f.write_str("InsecureSkipVerify"),
        }
    }
}

impl ImageioTls {
    /// The rustls configuration: the CA's certificates as the only roots, or no checks.
    pub fn client_config(&self) -> Result<rustls::ClientConfig> {
        use forklift_transfer::nbd::tls::NoVerification;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::BadCa {
                reason: e.to_string(),
            })?;
        match self {
            Self::CaPem(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                    let cert = cert.map_err(|e| Error::BadCa {
                        reason: e.to_string(),
                    })?;
                    roots.add(cert).map_err(|e| Error::BadCa {
                        reason: e.to_string(),
                    })?;
                }
                if roots.is_empty() {
                    return Err(Error::BadCa {
                        reason: "it contains no PEM certificate".to_owned(),
                    });
                }
                Ok(builder.with_root_certificates(roots).with_no_client_auth())
            }
            Self::InsecureSkipVerify => Ok(builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification))
                .with_no_client_auth()),
        }
    }
}

/// Tuning of an [`ImageioDisk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageioOptions {
    /// HTTP connections (requests in flight) to the daemon; capped by its `max_readers` and
    /// [`limits::MAX_CONNECTIONS`]. Default [`limits::DEFAULT_CONNECTIONS`].
    pub connections: usize,
    /// Time to establish a connection. Default [`limits::DEFAULT_CONNECT_TIMEOUT`].
    pub connect_timeout: Duration,
    /// Time a request may go without a byte before it counts as dropped and is retried.
    /// Default [`limits::DEFAULT_STALL_TIMEOUT`].
    pub stall_timeout: Duration,
    /// Time one request may take, its answer's body included, before it counts as dropped
    /// and is retried. Default [`limits::DEFAULT_REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
    /// Retries of one range after transient failures. Default [`limits::MAX_READ_RETRIES`]
    /// (a larger value is lowered to it).
    pub retries: u32,
    /// The size the caller expects (the disk's provisioned size from the engine); another
    /// size fails [`ImageioDisk::open`] with [`Error::SizeMismatch`].
    pub expected_size: Option<u64>,
}

impl Default for ImageioOptions {
    fn default() -> Self {
        Self {
            connections: limits::DEFAULT_CONNECTIONS,
            connect_timeout: limits::DEFAULT_CONNECT_TIMEOUT,
            stall_timeout: limits::DEFAULT_STALL_TIMEOUT,
            request_timeout: limits::DEFAULT_REQUEST_TIMEOUT,
            retries: limits::MAX_READ_RETRIES,
            expected_size: None,
        }
    }
}
