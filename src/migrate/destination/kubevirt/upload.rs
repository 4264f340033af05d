//! Sending a disk image to CDI's upload proxy (bearer token), as `virtctl image-upload`
//! does: `POST /v1beta1/upload-async` where the proxy serves it (the answer comes once the
//! bytes are received; the DataVolume's phase tells the rest), `POST /v1beta1/upload`
//! (answered once the data is written) where it does not. Which one is served is probed
//! once per proxy with a bodiless, tokenless `POST`: CDI's proxy refuses that with 400/401
//! on a route it serves and 404/405 on one it does not, and nothing is uploaded.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::OnceCell;

use forklift_providers::http::{BodyLimits, ErrorBody, read_capped};

use super::error::ClusterError;
use super::stream::{StreamBody, body_stream};

/// The synchronous upload route.
pub const UPLOAD_PATH: &str = "/v1beta1/upload";

/// The asynchronous upload route (CDI ≥ 1.21).
pub const UPLOAD_ASYNC_PATH: &str = "/v1beta1/upload-async";

/// How often a streamed upload logs the bytes sent.
pub const UPLOAD_PROGRESS_INTERVAL: Duration = Duration::from_secs(5);

/// How many times one image is sent before the upload fails (connection errors and 5xx
/// answers are retried; TLS failures and 4xx answers are not).
pub const UPLOAD_ATTEMPTS: u32 = 3;

/// The wait before the second attempt; doubled for each further one.
pub const UPLOAD_RETRY_DELAY: Duration = Duration::from_secs(2);

/// How long connecting to the upload proxy may take.
pub const UPLOAD_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the proxy may stay silent while an image is sent or answered.
pub const UPLOAD_READ_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The most of an upload proxy's answer kept for an error message, in bytes.
pub const UPLOAD_RESPONSE_LIMIT: usize = 16 * 1024;

/// An upload proxy client.
#[derive(Debug, Clone)]
pub struct UploadProxy {
    http: reqwest::Client,
    url: url::Url,
    /// The route uploads go to, probed on first use.
    route: Arc<OnceCell<url::Url>>,
}

impl UploadProxy {
    /// A client for the proxy at `url` (a bare host gets `https://`), trusting the system's
    /// roots plus `ca_pem` (from `--upload-proxy-ca` or CDIConfig `status.uploadProxyCA`).
    pub fn new(url: &str, ca_pem: Option<(&str, &[u8])>) -> Result<Self, ClusterError> {
        let with_scheme = if url.contains("://") {
            url.to_owned()
        } else {
            format!("https://{url}")
        };
        let url = url::Url::parse(&with_scheme).map_err(|source| ClusterError::UploadProxyUrl {
            url: url.to_owned(),
            source,
        })?;
        // The upload token is a bearer credential and the disk the guest's data: never in
        // clear text (the URL may come from the cluster's CDIConfig status).
        if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
            return Err(ClusterError::UploadProxyNotHttps {
                url: url.to_string(),
            });
        }
        // A redirect is never followed: it would take the token (or, with a 307, the disk)
        // to wherever the answer points.
        let mut builder = forklift_providers::http::peer_client_builder()
            .use_rustls_tls()
            .connect_timeout(UPLOAD_CONNECT_TIMEOUT)
            .read_timeout(UPLOAD_READ_TIMEOUT);
        if let Some((origin, pem)) = ca_pem {
            let ca_error = |e| ClusterError::UploadProxyCa {
                origin: origin.to_owned(),
                source: Box::new(e),
            };
            for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(ca_error)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| ClusterError::UploadProxyCa {
            origin: "the TLS configuration".to_owned(),
            source: Box::new(e),
        })?;
        Ok(Self {
            http,
            url,
            route: Arc::default(),
        })
    }

    /// The proxy's URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The route uploads go to: [`UPLOAD_ASYNC_PATH`] unless the proxy answers the probe
    /// with 404 or 405, then [`UPLOAD_PATH`].
    pub async fn route(&self) -> Result<&url::Url, ClusterError> {
        self.route
            .get_or_try_init(|| async {
                let join = |path: &str| {
                    self.url
                        .join(path)
                        .map_err(|source| ClusterError::UploadProxyUrl {
                            url: self.url.to_string(),
                            source,
                        })
                };
                let probe = join(UPLOAD_ASYNC_PATH)?;
                let answer = self
                    .http
                    .post(probe.clone())
                    .header(reqwest::header::CONTENT_LENGTH, 0)
                    .send()
                    .await
                    .map_err(|e| self.probe_error(e))?;
                let status = answer.status().as_u16();
                // The answer is read (capped) so the connection can be reused; it is not
                // used, so an answer that cannot be read only costs the connection.
                let _ = read_capped(answer, ANSWER_LIMITS).await;
                if matches!(status, 404 | 405) {
                    tracing::info!(proxy = %self.url, status, "upload-async is not served; using upload");
                    join(UPLOAD_PATH)
                } else {
                    Ok(probe)
                }
            })
            .await
    }

    fn probe_error(&self, e: reqwest::Error) -> ClusterError {
        if is_tls_failure(&e) {
            ClusterError::UploadTls {
                url: self.url.to_string(),
                source: Box::new(e),
            }
        } else {
            ClusterError::UploadProbe {
                url: self.url.to_string(),
                source: Box::new(e),
            }
        }
    }

    /// Sends the streamed disk `body` for `data_volume` with `token`. Not retried: the
    /// bytes came from the copy once. Logs the bytes sent every
    /// [`UPLOAD_PROGRESS_INTERVAL`].
    pub async fn upload_stream(
        &self,
        body: StreamBody,
        data_volume: &str,
        token: &str,
    ) -> Result<(), ClusterError> {
        let endpoint = self.route().await?.clone();
        let StreamBody {
            chunks,
            size,
            outcome,
        } = body;
        let sent = Arc::new(AtomicU64::new(0));
        let request = self
            .http
            .post(endpoint)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, size)
            .body(reqwest::Body::wrap_stream(body_stream(
                chunks,
                size,
                sent.clone(),
            )))
            .send();
        let mut request = std::pin::pin!(request);
        let mut ticks = tokio::time::interval(UPLOAD_PROGRESS_INTERVAL);
        ticks.tick().await;
        let answer = loop {
            tokio::select! {
                answer = &mut request => break answer,
                _ = ticks.tick() => {
                    tracing::info!(%data_volume, sent = sent.load(Ordering::Relaxed), size, "uploading");
                }
            }
        };
        let result = match answer {
            Ok(answer) => self.judge(answer, data_volume).await,
            Err(e) if is_tls_failure(&e) => Err(ClusterError::UploadTls {
                url: self.url.to_string(),
                source: Box::new(e),
            }),
            Err(e) => Err(ClusterError::UploadStream {
                url: self.url.to_string(),
                data_volume: data_volume.to_owned(),
                sent: sent.load(Ordering::Relaxed),
                size,
                source: Box::new(e),
            }),
        };
        match result {
            Ok(()) => {
                tracing::info!(%data_volume, sent = sent.load(Ordering::Relaxed), size, "uploaded");
                Ok(())
            }
            Err(e) => {
                // Writers still filling the sink learn why the upload ended.
                let e = Arc::new(e);
                outcome.send_replace(Some(e.clone()));
                Err(ClusterError::Shared(e))
            }
        }
    }

    async fn judge(
        &self,
        answer: reqwest::Response,
        data_volume: &str,
    ) -> Result<(), ClusterError> {
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let body = match read_capped(answer, ANSWER_LIMITS).await {
            Ok(body) => String::from_utf8_lossy(&body).trim().to_owned(),
            // The status is the refusal; its text is only quoted.
            Err(error) => {
                tracing::warn!(data_volume, %error, "the upload proxy's refusal could not be read");
                String::new()
            }
        };
        Err(ClusterError::UploadRefused {
            data_volume: data_volume.to_owned(),
            status: status.as_u16(),
            body,
        })
    }

    /// Sends `image` for `data_volume` with `token`, retrying transient failures.
    pub async fn upload(
        &self,
        image: &Path,
        data_volume: &str,
        token: &str,
    ) -> Result<(), ClusterError> {
        let endpoint = self.route().await?.clone();
        let mut attempt = 1;
        loop {
            match self.send(&endpoint, image, data_volume, token).await {
                Err(e) if attempt < UPLOAD_ATTEMPTS && retryable(&e) => {
                    tracing::warn!(%data_volume, attempt, error = %forklift_core::error::escape_peer_text(&forklift_core::error::chain(&e)),
                        "upload failed; retrying");
                    tokio::time::sleep(UPLOAD_RETRY_DELAY * 2u32.pow(attempt - 1)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn send(
        &self,
        endpoint: &url::Url,
        image: &Path,
        data_volume: &str,
        token: &str,
    ) -> Result<(), ClusterError> {
        let file = tokio::fs::File::open(image)
            .await
            .map_err(|source| ClusterError::Image {
                path: image.to_path_buf(),
                source,
            })?;
        let length = file
            .metadata()
            .await
            .map_err(|source| ClusterError::Image {
                path: image.to_path_buf(),
                source,
            })?
            .len();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let answer = self
            .http
            .post(endpoint.clone())
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, length)
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(e, image))?;
        self.judge(answer, data_volume).await
    }

    fn transport_error(&self, e: reqwest::Error, image: &Path) -> ClusterError {
        if is_tls_failure(&e) {
            ClusterError::UploadTls {
                url: self.url.to_string(),
                source: Box::new(e),
            }
        } else {
            ClusterError::Upload {
                url: self.url.to_string(),
                path: image.to_path_buf(),
                source: Box::new(e),
            }
        }
    }
}

/// What is kept of a proxy's answer: it is only quoted, so its first
/// [`UPLOAD_RESPONSE_LIMIT`] bytes (a success body past them is refused, and not wanted).
const ANSWER_LIMITS: BodyLimits = BodyLimits {
    success: UPLOAD_RESPONSE_LIMIT,
    error: ErrorBody::Cut(UPLOAD_RESPONSE_LIMIT),
};

fn retryable(e: &ClusterError) -> bool {
    match e {
        ClusterError::Upload { .. } => true,
        ClusterError::UploadRefused { status, .. } => *status >= 500,
        _ => false,
    }
}

/// Whether a transport error is a TLS failure: a rustls error anywhere in its chain. An
/// I/O error's `source()` skips the error it wraps, so wrapped errors are entered through
/// `get_ref()` too.
fn is_tls_failure(e: &reqwest::Error) -> bool {
    has_rustls_error(e, 0)
}

/// The deepest error chain [`is_tls_failure`] walks (chains are a handful deep).
const ERROR_CHAIN_DEPTH: usize = 32;

fn has_rustls_error(error: &(dyn std::error::Error + 'static), depth: usize) -> bool {
    if depth > ERROR_CHAIN_DEPTH {
        return false;
    }
    if error.downcast_ref::<rustls::Error>().is_some() {
        return true;
    }
    if let Some(inner) = error
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
    {
        if has_rustls_error(inner, depth + 1) {
            return true;
        }
    }
    error
        .source()
        .is_some_and(|next| has_rustls_error(next, depth + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_proxies_are_used() {
        for url in [
            "http://cdi-uploadproxy.example:443",
            "ftp://cdi-uploadproxy.example",
            "file:///tmp/x",
        ] {
            let err = UploadProxy::new(url, None).unwrap_err();
            assert!(
                matches!(err, ClusterError::UploadProxyNotHttps { .. }),
                "{url}: {err}"
            );
        }
        let proxy = UploadProxy::new("cdi-uploadproxy.example:31001", None).unwrap();
        assert_eq!(proxy.url().scheme(), "https");
    }
}
