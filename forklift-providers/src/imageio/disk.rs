//! [`ImageioDisk`]: one ticket's image read over HTTPS with ranged GETs on a few keep-alive
//! connections, its extents fetched once per context and kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use forklift_transfer::block::{BlockSizes, BlockSource, Extent, MetaContext, check_range};
use forklift_transfer::error::Op;
use tokio::sync::{OnceCell, Semaphore};

use super::error::{Error, Result, excerpt};
use super::limits::{
    ImageioLimit, MAX_CONNECTIONS, MAX_ERROR_BODY_BYTES, MAX_EXTENTS_RESPONSE_BYTES,
    MAX_OPTIONS_RESPONSE_BYTES, MAX_READ_BYTES, MAX_READ_RETRIES, RETRY_FIRST_BACKOFF,
    RETRY_MAX_BACKOFF,
};
use super::parse::{self, Context, ExtentsError, Features};
use super::{ImageioOptions, ImageioTls};

/// Counters of what an [`ImageioDisk`] did, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageioStats {
    /// Image bytes received by ranged GETs.
    pub bytes_read: u64,
    /// Ranged GETs sent (retries included).
    pub requests: u64,
    /// Ranges tried again after a transient failure.
    pub retries: u64,
}

/// An image behind an imageio ticket, as a [`BlockSource`].
pub struct ImageioDisk {
    http: reqwest::Client,
    url: url::Url,
    extents_url: url::Url,
    dirty_url: url::Url,
    /// The URL with the ticket hidden, for messages.
    shown: String,
    size: u64,
    features: Features,
    permits: Semaphore,
    connections: usize,
    options: ImageioOptions,
    zero_extents: OnceCell<Arc<Vec<Extent>>>,
    /// Dirty extents, when the ticket was made with `dirty: true` (fetched by `open`).
    dirty_extents: Option<Arc<Vec<Extent>>>,
    bytes_read: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
}

impl std::fmt::Debug for ImageioDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageioDisk")
            .field("url", &self.shown)
            .field("size", &self.size)
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

/// `https://HOST:PORT/images/TICKET` → the URL with `(ticket)` in place of the ticket.
fn check_url(url: &url::Url) -> Result<String> {
    let bad = |reason| Error::BadUrl {
        url: redact_any(url),
        reason,
    };
    if url.scheme() != "https" {
        return Err(bad("the scheme must be https (the ticket is a credential)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("unexpected query or fragment"));
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    match segments.as_slice() {
        ["images", ticket] if !ticket.is_empty() => {}
        _ => return Err(bad("the path must be /images/TICKET")),
    }
    Ok(redact_any(url))
}

/// Scheme, host and port of `url`, then `/images/(ticket)`: nothing of the path is shown.
fn redact_any(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}/images/(ticket)", url.scheme()),
        None => format!("{}://{host}/images/(ticket)", url.scheme()),
    }
}

/// Whether a transport error is a TLS refusal: a `rustls::Error` somewhere in its chain,
/// looking inside every `io::Error` too (hyper wraps the handshake error in two of them, and
/// `io::Error::source` skips the error it wraps).
fn is_tls_refusal(error: &reqwest::Error) -> bool {
    fn holds_rustls(e: &(dyn std::error::Error + 'static), depth: usize) -> bool {
        if depth > 16 {
            return false;
        }
        if e.is::<rustls::Error>() {
            return true;
        }
        let wrapped = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        if wrapped.is_some_and(|inner| holds_rustls(inner, depth + 1)) {
            return true;
        }
        e.source().is_some_and(|next| holds_rustls(next, depth + 1))
    }
    holds_rustls(error, 0)
}

impl ImageioDisk {
    /// Opens the image of a transfer URL: builds the HTTPS client for `tls`, asks `OPTIONS`
    /// for the features, reads the size from a one-byte ranged GET, and (when the ticket
    /// offers extents) fetches the dirty extents, which exist only when the ticket was made
    /// with `dirty: true`.
    pub async fn open(url: &url::Url, tls: &ImageioTls, options: ImageioOptions) -> Result<Self> {
        let shown = check_url(url)?;
        let config = tls.client_config()?;
        let wanted = options.connections.clamp(1, MAX_CONNECTIONS);
        // imageio never redirects; a redirect elsewhere is not followed.
        let http = crate::http::peer_client_builder()
            .use_preconfigured_tls(config)
            .http1_only()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(wanted)
            .connect_timeout(options.connect_timeout)
            .build()
            .map_err(|source| Error::Client {
                url: shown.clone(),
                source,
            })?;
        let mut extents_url = url.clone();
        extents_url.set_path(&format!("{}/extents", url.path()));
        let mut dirty_url = extents_url.clone();
        dirty_url.set_query(Some("context=dirty"));
        let mut disk = Self {
            http,
            url: url.clone(),
            extents_url,
            dirty_url,
            shown,
            size: 0,
            features: Features::default(),
            permits: Semaphore::new(wanted),
            connections: wanted,
            options,
            zero_extents: OnceCell::new(),
            dirty_extents: None,
            bytes_read: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        };
        disk.features = disk.fetch_features().await?;
        if let Some(readers) = disk.features.max_readers {
            let readers = usize::try_from(readers).unwrap_or(MAX_CONNECTIONS).max(1);
            if readers < disk.connections {
                disk.permits.forget_permits(disk.connections - readers);
                disk.connections = readers;
            }
        }
        disk.size = disk.fetch_size().await?;
        match disk.options.expected_size {
            Some(expected) if expected != disk.size => {
                return Err(Error::SizeMismatch {
                    url: disk.shown.clone(),
                    expected,
                    actual: disk.size,
                });
            }
            _ => {}
        }
        if disk.features.has("extents") {
            disk.dirty_extents = disk.fetch_extents(Context::Dirty).await?.map(Arc::new);
        }
        tracing::debug!(url = %disk.shown, size = disk.size, connections = disk.connections,
            features = ?disk.features.features, dirty = disk.dirty_extents.is_some(), "imageio image opened");
        Ok(disk)
    }

    /// What `OPTIONS` offered.
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// Connections (requests in flight) used.
    pub fn connections(&self) -> usize {
        self.connections
    }

    /// Whether the ticket answers dirty extents (it was made with `dirty: true`).
    pub fn has_dirty_extents(&self) -> bool {
        self.dirty_extents.is_some()
    }

    /// What this disk did so far.
    pub fn stats(&self) -> ImageioStats {
        ImageioStats {
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }

    /// The ticket ID (the URL's last segment, checked by `check_url`).
    fn ticket(&self) -> &str {
        self.url.path().rsplit('/').next().unwrap_or_default()
    }

    fn transport(&self, operation: &'static str, source: reqwest::Error) -> Error {
        // reqwest names the URL, ticket included, in its messages.
        let source = source.without_url();
        if is_tls_refusal(&source) {
            Error::Tls {
                url: self.shown.clone(),
                source,
            }
        } else {
            Error::Transport {
                url: self.shown.clone(),
                operation,
                source,
            }
        }
    }

    fn stalled(&self, operation: &'static str) -> Error {
        Error::Stalled {
            url: self.shown.clone(),
            operation,
            seconds: self.options.stall_timeout.as_secs(),
        }
    }

    fn too_slow(&self, operation: &'static str) -> Error {
        Error::TooSlow {
            url: self.shown.clone(),
            operation,
            seconds: self.options.request_timeout.as_secs(),
        }
    }

    /// Sends a request, waiting at most the stall timeout for the answer's head.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        operation: &'static str,
    ) -> Result<reqwest::Response> {
        match tokio::time::timeout(self.options.stall_timeout, request.send()).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(self.transport(operation, e)),
            Err(_) => Err(self.stalled(operation)),
        }
    }

    /// The next piece of a body, waiting at most the stall timeout.
    async fn chunk(
        &self,
        response: &mut reqwest::Response,
        operation: &'static str,
    ) -> Result<Option<bytes::Bytes>> {
        match tokio::time::timeout(self.options.stall_timeout, response.chunk()).await {
            Ok(Ok(chunk)) => Ok(chunk),
            Ok(Err(e)) => Err(self.transport(operation, e)),
            Err(_) => Err(self.stalled(operation)),
        }
    }

    /// Reads a whole body of at most `limit` bytes; `None` when it is longer.
    async fn body(
        &self,
        response: &mut reqwest::Response,
        limit: usize,
        operation: &'static str,
    ) -> Result<Option<Vec<u8>>> {
        let mut body = Vec::new();
        while let Some(chunk) = self.chunk(response, operation).await? {
            if body.len() + chunk.len() > limit {
                return Ok(None);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }

    /// The error of a non-success answer: 403 and 404 mean the ticket is gone (imageio
    /// answers 403 "No such ticket"), anything else quotes the first bytes of the body.
    async fn refusal(&self, mut response: reqwest::Response, operation: &'static str) -> Error {
        let status = response.status().as_u16();
        let mut body = Vec::new();
        // The body is only quoted: its start is enough, and a broken one is no worse.
        while body.len() < MAX_ERROR_BODY_BYTES {
            match self.chunk(&mut response, operation).await {
                Ok(Some(chunk)) => {
                    let take = chunk.len().min(MAX_ERROR_BODY_BYTES - body.len());
                    body.extend_from_slice(&chunk[..take]);
                }
                _ => break,
            }
        }
        // imageio's messages name the ticket ("No such ticket ID"): it is a credential.
        let body = String::from_utf8_lossy(&body).replace(self.ticket(), "(ticket)");
        let body = excerpt(&body);
        match status {
            403 | 404 => Error::TicketGone {
                url: self.shown.clone(),
                status,
                body,
            },
            _ => Error::Status {
                url: self.shown.clone(),
                operation,
                status,
                body,
            },
        }
    }

    /// After the `tries`-th attempt failed with `error`: the wait before the next attempt,
    /// or the error to return (final errors as they are; transient ones once the retries
    /// ran out, as [`Error::TooManyRetries`]).
    fn retry_or_fail(
        &self,
        tries: u32,
        error: Error,
        offset: u64,
        length: u64,
    ) -> Result<Duration> {
        let retries = self.options.retries.min(MAX_READ_RETRIES);
        if !error.is_transient() {
            return Err(error);
        }
        if tries > retries {
            return Err(Error::TooManyRetries {
                url: self.shown.clone(),
                offset,
                length,
                attempts: tries,
                last: Box::new(error),
            });
        }
        self.retries.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(url = %self.shown, offset, length, error = %error,
            "imageio request failed; retrying on a fresh connection");
        let doubled = RETRY_FIRST_BACKOFF.saturating_mul(1 << (tries - 1).min(16));
        Ok(doubled.min(RETRY_MAX_BACKOFF))
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries run out.
    async fn retrying<T, F, Fut>(&self, offset: u64, length: u64, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut tries = 0u32;
        loop {
            tries += 1;
            let bounded = tokio::time::timeout(self.options.request_timeout, attempt());
            match bounded
                .await
                .unwrap_or_else(|_| Err(self.too_slow("request")))
            {
                Ok(value) => return Ok(value),
                Err(e) => tokio::time::sleep(self.retry_or_fail(tries, e, offset, length)?).await,
            }
        }
    }

    async fn fetch_features(&self) -> Result<Features> {
        const OP: &str = "OPTIONS";
        self.retrying(0, 0, || async move {
            let request = self
                .http
                .request(reqwest::Method::OPTIONS, self.url.clone());
            let mut response = self.send(request, OP).await?;
            if !response.status().is_success() {
                return Err(self.refusal(response, OP).await);
            }
            let body = self
                .body(&mut response, MAX_OPTIONS_RESPONSE_BYTES, OP)
                .await?
                .ok_or_else(|| Error::Limit {
                    url: self.shown.clone(),
                    operation: OP,
                    limit: ImageioLimit::OptionsBytes,
                })?;
            parse::parse_features(&body).map_err(|e| Error::BadAnswer {
                url: self.shown.clone(),
                operation: OP,
                reason: e.to_string(),
            })
        })
        .await
    }

    async fn fetch_size(&self) -> Result<u64> {
        const OP: &str = "reading the image size";
        self.retrying(0, 1, || async move {
            let request = self
                .http
                .get(self.url.clone())
                .header(reqwest::header::RANGE, "bytes=0-0");
            let mut response = self.send(request, OP).await?;
            if response.status().as_u16() != 206 {
                if response.status().is_success() {
                    return Err(self.bad_answer(OP, "a ranged GET was not answered 206".to_owned()));
                }
                return Err(self.refusal(response, OP).await);
            }
            let range = self.content_range(&response, OP)?;
            // Drain the one byte so the connection can be reused.
            let _ = self.body(&mut response, 1, OP).await?;
            Ok(range.size)
        })
        .await
    }

    fn bad_answer(&self, operation: &'static str, reason: String) -> Error {
        Error::BadAnswer {
            url: self.shown.clone(),
            operation,
            reason,
        }
    }

    fn content_range(
        &self,
        response: &reqwest::Response,
        operation: &'static str,
    ) -> Result<parse::ContentRange> {
        let header = response.headers().get(reqwest::header::CONTENT_RANGE);
        let value = header.and_then(|v| v.to_str().ok()).unwrap_or("");
        parse::parse_content_range(value).ok_or_else(|| {
            self.bad_answer(
                operation,
                format!(
                    "Content-Range '{}' is not 'bytes FIRST-LAST/SIZE'",
                    forklift_core::error::PeerText(&excerpt(value))
                ),
            )
        })
    }

    /// Fetches the extents of `context` for the whole disk; `Ok(None)` when a dirty answer is
    /// refused with 404 (imageio: "Ticket does not support dirty extents").
    async fn fetch_extents(&self, context: Context) -> Result<Option<Vec<Extent>>> {
        const OP: &str = "GET extents";
        let url = match context {
            Context::Zero => &self.extents_url,
            Context::Dirty => &self.dirty_url,
        };
        self.retrying(0, self.size, || async move {
            let mut response = self.send(self.http.get(url.clone()), OP).await?;
            let status = response.status().as_u16();
            if context == Context::Dirty && status == 404 {
                return Ok(None);
            }
            if !response.status().is_success() {
                return Err(self.refusal(response, OP).await);
            }
            let body = self
                .body(&mut response, MAX_EXTENTS_RESPONSE_BYTES, OP)
                .await?
                .ok_or_else(|| Error::Limit {
                    url: self.shown.clone(),
                    operation: OP,
                    limit: ImageioLimit::ExtentsBytes,
                })?;
            match parse::parse_extents(&body, self.size, context) {
                Ok(extents) => Ok(Some(extents)),
                Err(ExtentsError::Json(source)) => Err(Error::ExtentsJson {
                    url: self.shown.clone(),
                    source,
                }),
                Err(ExtentsError::TooMany) => Err(Error::Limit {
                    url: self.shown.clone(),
                    operation: OP,
                    limit: ImageioLimit::Extents,
                }),
                Err(ExtentsError::Shape(reason)) => Err(Error::BadExtents {
                    url: self.shown.clone(),
                    reason,
                }),
            }
        })
        .await
    }

    /// One ranged GET into `buf`.
    async fn read_once(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        const OP: &str = "ranged GET";
        let length = buf.len() as u64;
        let last = offset + length - 1;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let request = self
            .http
            .get(self.url.clone())
            .header(reqwest::header::RANGE, format!("bytes={offset}-{last}"));
        let mut response = self.send(request, OP).await?;
        match response.status().as_u16() {
            206 => {
                let range = self.content_range(&response, OP)?;
                if (range.first, range.last, range.size) != (offset, last, self.size) {
                    return Err(self.bad_answer(
                        OP,
                        format!(
                            "asked for bytes {offset}-{last}/{}, got {}-{}/{}",
                            self.size, range.first, range.last, range.size
                        ),
                    ));
                }
            }
            // A server that ignores Range sends the whole image: only right for a read of all of it.
            200 if offset == 0 && length == self.size => {}
            200 => {
                return Err(self.bad_answer(
                    OP,
                    "the ranged GET was answered with the whole image".to_owned(),
                ));
            }
            _ => return Err(self.refusal(response, OP).await),
        }
        let mut filled = 0usize;
        while let Some(chunk) = self.chunk(&mut response, OP).await? {
            let end = filled + chunk.len();
            if end > buf.len() {
                // Never read past the range: the connection is dropped with the response.
                return Err(self.bad_answer(
                    OP,
                    format!("the body runs past the {length} bytes asked for"),
                ));
            }
            buf[filled..end].copy_from_slice(&chunk);
            filled = end;
            self.bytes_read
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        if filled < buf.len() {
            return Err(Error::ShortBody {
                url: self.shown.clone(),
                offset,
                received: filled as u64,
                expected: length,
            });
        }
        Ok(())
    }

    /// The kept extents of `context`, fetched on first use.
    async fn extents_of(&self, context: &MetaContext) -> Result<Option<Arc<Vec<Extent>>>> {
        match context {
            MetaContext::BaseAllocation => {
                let extents = self
                    .zero_extents
                    .get_or_try_init(|| async move {
                        let all = self.fetch_extents(Context::Zero).await?.unwrap_or_default();
                        Ok::<_, Error>(Arc::new(all))
                    })
                    .await?;
                Ok(Some(extents.clone()))
            }
            MetaContext::DirtyBitmap(_) => Ok(self.dirty_extents.clone()),
            _ => Ok(None),
        }
    }
}

#[async_trait]
impl BlockSource for ImageioDisk {
    fn size(&self) -> u64 {
        self.size
    }

    fn block_sizes(&self) -> BlockSizes {
        // imageio has no alignment; the copy's request size decides the read size.
        BlockSizes {
            minimum: 1,
            preferred: 4096,
            maximum: MAX_READ_BYTES,
        }
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }

    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> forklift_transfer::Result<()> {
        let length = buf.len() as u64;
        check_range(offset, length, self.size)?;
        if buf.is_empty() {
            return Ok(());
        }
        if length > u64::from(MAX_READ_BYTES) {
            let mut done = 0usize;
            for piece in buf.chunks_mut(MAX_READ_BYTES as usize) {
                let at = offset + done as u64;
                done += piece.len();
                self.read_at(at, piece).await?;
            }
            return Ok(());
        }
        // The semaphore is never closed; a closed one would only mean no limit.
        let _permit = self.permits.acquire().await.ok();
        let mut tries = 0u32;
        loop {
            tries += 1;
            // Each attempt writes the whole range again from its start.
            let bounded =
                tokio::time::timeout(self.options.request_timeout, self.read_once(offset, buf));
            let failed = match bounded
                .await
                .unwrap_or_else(|_| Err(self.too_slow("ranged GET")))
            {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            match self.retry_or_fail(tries, failed, offset, length) {
                Ok(wait) => tokio::time::sleep(wait).await,
                Err(e) => {
                    return Err(forklift_transfer::Error::from(e).or_context(
                        Op::Read,
                        offset,
                        length,
                    ));
                }
            }
        }
    }

    fn can_extents(&self, context: &MetaContext) -> bool {
        match context {
            MetaContext::BaseAllocation => self.features.has("extents"),
            MetaContext::DirtyBitmap(_) => self.dirty_extents.is_some(),
            _ => false,
        }
    }

    async fn extents(
        &self,
        offset: u64,
        length: u64,
        context: &MetaContext,
    ) -> forklift_transfer::Result<Vec<Extent>> {
        check_range(offset, length, self.size)?;
        forklift_transfer::block::require_extents(self, context)?;
        let all = self.extents_of(context).await.map_err(|e| {
            forklift_transfer::Error::from(e).or_context(Op::Extents, offset, length)
        })?;
        match all {
            Some(all) => Ok(parse::slice_extents(&all, offset, length)),
            // `can_extents` said yes, so this cannot happen; never answer an empty list.
            None => Err(forklift_transfer::Error::unsupported(format!(
                "Metadata context {context} is not available from {}",
                self.shown
            ))
            .with_op(Op::Extents)),
        }
    }

    /// Nothing to reopen: every request takes a pooled connection or makes a new one.
    async fn reconnect(&self) -> forklift_transfer::Result<()> {
        Ok(())
    }
}
