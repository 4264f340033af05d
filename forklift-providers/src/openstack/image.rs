//! Glance image data: downloaded into the staging folder with `Range` resume after a dropped
//! connection, checked against the size and `os_hash_value` Glance records, then opened as
//! a [`BlockSource`] (raw files directly, qcow2 through `qemu-nbd`). The staged file is
//! unlinked as soon as it is open, so it disappears with the source however the copy ends.

use forklift_core::error::PeerText;
use std::path::{Path, PathBuf};

use forklift_transfer::block::BlockSource;
use forklift_transfer::qemu::{ImageFormat, QemuNbdImage, QemuNbdOptions};
use sha2::Digest;
use tokio::io::AsyncWriteExt;

use super::error::{OpenstackError, Result};
use super::limits::{DOWNLOAD_STALL_LIMIT, MAX_DOWNLOAD_RESUMES, MAX_IMAGE_BYTES, OpenstackLimit};
use super::model::Image;
use crate::capability::SecretString;

/// What a download must deliver.
#[derive(Debug, Clone)]
pub struct Expected {
    /// Image ID (for messages).
    pub image: String,
    /// Glance's `size`.
    pub size: u64,
    /// Glance's `os_hash_algo` and `os_hash_value`, when recorded.
    pub hash: Option<(String, String)>,
}

impl Expected {
    /// The expectations of an active image.
    pub fn of(image: &Image) -> Result<Self> {
        let size = image.size.unwrap_or(0);
        if size > MAX_IMAGE_BYTES {
            return Err(OpenstackError::Limit {
                service: "Glance",
                operation: format!("downloading image {}", image.id),
                limit: OpenstackLimit::ImageBytes,
            });
        }
        Ok(Self {
            image: image.id.clone(),
            size,
            hash: image
                .os_hash_algo
                .clone()
                .zip(image.os_hash_value.clone())
                .filter(|(a, v)| !a.is_empty() && !v.is_empty()),
        })
    }
}

enum Hasher {
    Sha512(sha2::Sha512),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
}

impl Hasher {
    fn new(image: &str, algorithm: &str) -> Result<Self> {
        match algorithm {
            "sha512" => Ok(Self::Sha512(sha2::Sha512::new())),
            "sha256" => Ok(Self::Sha256(sha2::Sha256::new())),
            "sha384" => Ok(Self::Sha384(sha2::Sha384::new())),
            other => Err(OpenstackError::UnsupportedHash {
                image: image.to_owned(),
                algorithm: other.to_owned(),
            }),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha512(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
        }
    }

    fn finish(self) -> String {
        match self {
            Self::Sha512(h) => hex::encode(h.finalize()),
            Self::Sha256(h) => hex::encode(h.finalize()),
            Self::Sha384(h) => hex::encode(h.finalize()),
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> OpenstackError + '_ {
    move |source| OpenstackError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Downloads `url` (Glance's `/v2/images/<id>/file`) into `path`, resuming with a `Range`
/// request from the last byte received whenever the connection drops or stalls for
/// [`DOWNLOAD_STALL_LIMIT`], at most [`MAX_DOWNLOAD_RESUMES`] times; then checks the size
/// and hash. Returns the number of resumes.
pub async fn download(
    http: &reqwest::Client,
    url: &str,
    token: &SecretString,
    expected: &Expected,
    path: &Path,
) -> Result<u32> {
    let operation = || format!("downloading image {}", expected.image);
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(io_error(path))?;
    let mut hasher = match &expected.hash {
        Some((algorithm, _)) => Some(Hasher::new(&expected.image, algorithm)?),
        None => None,
    };
    let mut received: u64 = 0;
    let mut resumes = 0u32;
    let mut last_percent = 0;
    loop {
        let mut request = http.get(url).header("X-Auth-Token", token.expose());
        if received > 0 {
            request = request.header("Range", format!("bytes={received}-"));
        }
        let attempt = async {
            let mut response = request.send().await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>((status, response.chunk().await.map(|c| (c, response))))
        };
        let outcome = tokio::time::timeout(DOWNLOAD_STALL_LIMIT, attempt).await;
        let dropped = match outcome {
            Ok(Ok((status, first))) => {
                let wanted = if received > 0 { 206 } else { 200 };
                if status != wanted {
                    return Err(OpenstackError::Api {
                        service: "Glance",
                        operation: operation(),
                        status,
                        refusal: super::error::Refusal::classify(status, ""),
                        message: format!("expected HTTP {wanted} for the image data"),
                    });
                }
                match first {
                    Ok((mut chunk, mut response)) => loop {
                        let Some(data) = chunk else { break None };
                        received += data.len() as u64;
                        if received > expected.size {
                            return Err(OpenstackError::ShortImage {
                                image: expected.image.clone(),
                                received,
                                expected: expected.size,
                            });
                        }
                        if let Some(h) = hasher.as_mut() {
                            h.update(&data);
                        }
                        file.write_all(&data).await.map_err(io_error(path))?;
                        let percent = received.saturating_mul(100) / expected.size.max(1);
                        if percent >= last_percent + 10 {
                            last_percent = percent;
                            tracing::info!(image = %PeerText(&expected.image), received,
                                total = expected.size, "image download {percent}%");
                        }
                        match tokio::time::timeout(DOWNLOAD_STALL_LIMIT, response.chunk()).await {
                            Ok(Ok(next)) => chunk = next,
                            Ok(Err(e)) => break Some(e.to_string()),
                            Err(_) => break Some("no data for the stall limit".to_owned()),
                        }
                    },
                    Err(e) => Some(e.to_string()),
                }
            }
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("no answer within the stall limit".to_owned()),
        };
        match dropped {
            None if received == expected.size => break,
            None => {
                // The server ended the body early: resume like a dropped connection.
            }
            Some(_) => {}
        }
        if resumes >= MAX_DOWNLOAD_RESUMES {
            return Err(OpenstackError::Limit {
                service: "Glance",
                operation: operation(),
                limit: OpenstackLimit::DownloadResumes,
            });
        }
        resumes += 1;
        tracing::warn!(image = %PeerText(&expected.image), received,
            reason = %PeerText(dropped.as_deref().unwrap_or("body ended early")),
            "image download interrupted; resuming with a Range request");
    }
    file.flush().await.map_err(io_error(path))?;
    file.sync_all().await.map_err(io_error(path))?;
    if let (Some(h), Some((algorithm, value))) = (hasher, &expected.hash) {
        let actual = h.finish();
        if !actual.eq_ignore_ascii_case(value) {
            return Err(OpenstackError::Checksum {
                image: expected.image.clone(),
                algorithm: algorithm.clone(),
                expected: value.clone(),
                actual,
            });
        }
    }
    Ok(resumes)
}

/// The staging path of an image's data.
pub fn staging_path(dir: &Path, image: &str) -> PathBuf {
    let safe: String = image
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("forklift-openstack-{safe}.img"))
}

/// Opens a staged image as a block source and unlinks the file (the open source keeps its
/// data until it is dropped).
pub async fn open_staged(path: &Path, disk_format: &str) -> Result<Box<dyn BlockSource>> {
    let opened: Result<Box<dyn BlockSource>, forklift_transfer::Error> = match disk_format {
        "qcow2" => {
            let options = QemuNbdOptions {
                format: Some(ImageFormat::Qcow2),
                read_only: true,
                ..QemuNbdOptions::default()
            };
            QemuNbdImage::open(path, &options, &Default::default())
                .await
                .map(|image| Box::new(image) as Box<dyn BlockSource>)
        }
        _ => forklift_transfer::local::LocalDisk::open(path)
            .map(|disk| Box::new(disk) as Box<dyn BlockSource>),
    };
    let removed = tokio::fs::remove_file(path).await;
    let source = opened.map_err(|source| OpenstackError::OpenImage {
        path: path.display().to_string(),
        source: Box::new(source),
    })?;
    removed.map_err(io_error(path))?;
    Ok(source)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sha2::Digest;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// Serves `data`; every answer stops after `cut` bytes of body (closing the connection)
    /// and honours `Range: bytes=N-`. Returns the URL and the Range headers seen.
    async fn flaky_server(
        data: Vec<u8>,
        cut: usize,
    ) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v2/images/i/file", listener.local_addr().unwrap());
        let ranges = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = ranges.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                let start = text
                    .lines()
                    .find_map(|l| l.strip_prefix("range: bytes="))
                    .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
                seen.lock().unwrap().push(format!("{start:?}"));
                let from = start.unwrap_or(0);
                let status = if start.is_some() {
                    "206 Partial Content"
                } else {
                    "200 OK"
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    data.len() - from
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let end = (from + cut).min(data.len());
                let _ = socket.write_all(&data[from..end]).await;
                let _ = socket.shutdown().await;
            }
        });
        (url, ranges)
    }

    fn expected(data: &[u8]) -> Expected {
        Expected {
            image: "i".into(),
            size: data.len() as u64,
            hash: Some(("sha512".into(), hex::encode(sha2::Sha512::digest(data)))),
        }
    }

    #[tokio::test]
    async fn dropped_connections_resume_with_range_requests() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let (url, ranges) = flaky_server(data.clone(), 120_000).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img");
        let resumes = download(
            &reqwest::Client::new(),
            &url,
            &SecretString::new("t"),
            &expected(&data),
            &path,
        )
        .await
        .unwrap();
        assert_eq!(resumes, 2);
        assert_eq!(std::fs::read(&path).unwrap(), data);
        assert_eq!(
            *ranges.lock().unwrap(),
            ["None", "Some(120000)", "Some(240000)"]
        );
    }

    #[tokio::test]
    async fn data_that_does_not_match_glance_hash_is_refused() {
        let data = vec![9u8; 10_000];
        let (url, _) = flaky_server(data.clone(), usize::MAX / 2).await;
        let mut wrong = expected(&data);
        wrong.hash = Some(("sha512".into(), "00".repeat(64)));
        let dir = tempfile::tempdir().unwrap();
        let err = download(
            &reqwest::Client::new(),
            &url,
            &SecretString::new("t"),
            &wrong,
            &dir.path().join("img"),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, OpenstackError::Checksum { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_server_that_keeps_dropping_hits_the_resume_limit() {
        let data = vec![1u8; 100_000];
        let (url, ranges) = flaky_server(data.clone(), 1).await;
        let dir = tempfile::tempdir().unwrap();
        let err = download(
            &reqwest::Client::new(),
            &url,
            &SecretString::new("t"),
            &expected(&data),
            &dir.path().join("img"),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                OpenstackError::Limit {
                    limit: OpenstackLimit::DownloadResumes,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            ranges.lock().unwrap().len(),
            MAX_DOWNLOAD_RESUMES as usize + 1
        );
    }

    #[test]
    fn images_beyond_the_size_limit_are_refused_before_download() {
        let image = Image {
            id: "big".into(),
            size: Some(MAX_IMAGE_BYTES + 1),
            ..Image::default()
        };
        assert!(matches!(
            Expected::of(&image),
            Err(OpenstackError::Limit {
                limit: OpenstackLimit::ImageBytes,
                ..
            })
        ));
    }

    #[tokio::test]
    async fn unknown_hash_algorithms_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = expected(b"x");
        e.hash = Some(("md4".into(), "00".into()));
        let err = download(
            &reqwest::Client::new(),
            "http://127.0.0.1:9/",
            &SecretString::new("t"),
            &e,
            &dir.path().join("img"),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, OpenstackError::UnsupportedHash { .. }),
            "{err}"
        );
    }
}
