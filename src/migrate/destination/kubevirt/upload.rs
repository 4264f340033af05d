//! Sending a disk image to CDI's upload proxy (`POST /v1beta1/upload`, bearer token), as
//! `virtctl image-upload` does.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;

use super::error::ClusterError;

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
        let mut builder = reqwest::Client::builder()
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
        Ok(Self { http, url })
    }

    /// The proxy's URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// Sends `image` for `data_volume` with `token`, retrying transient failures.
    pub async fn upload(
        &self,
        image: &Path,
        data_volume: &str,
        token: &str,
    ) -> Result<(), ClusterError> {
        let endpoint =
            self.url
                .join("/v1beta1/upload")
                .map_err(|source| ClusterError::UploadProxyUrl {
                    url: self.url.to_string(),
                    source,
                })?;
        let mut attempt = 1;
        loop {
            match self.send(&endpoint, image, data_volume, token).await {
                Err(e) if attempt < UPLOAD_ATTEMPTS && retryable(&e) => {
                    tracing::warn!(%data_volume, attempt, error = %forklift_core::error::chain(&e),
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
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let body = read_limited(answer).await;
        Err(ClusterError::UploadRefused {
            data_volume: data_volume.to_owned(),
            status: status.as_u16(),
            body,
        })
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

/// Reads at most [`UPLOAD_RESPONSE_LIMIT`] bytes of an answer, as text.
async fn read_limited(answer: reqwest::Response) -> String {
    let mut kept = Vec::new();
    let mut chunks = answer.bytes_stream();
    while let Some(Ok(chunk)) = chunks.next().await {
        let room = UPLOAD_RESPONSE_LIMIT - kept.len();
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if kept.len() >= UPLOAD_RESPONSE_LIMIT {
            break;
        }
    }
    String::from_utf8_lossy(&kept).trim().to_owned()
}

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
