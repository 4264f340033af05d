//! Datastore files over HTTP (`/folder/<path>?dcPath=<datacenter>&dsName=<datastore>`) as a
//! [`BlockSource`]: the disk path when VDDK is not available.
//!
//! Reads are ranged GETs with the vim25 session cookie. A flat extent shorter than the disk
//! (thin files on NFS, the simulator's empty files) reads as zeroes past its end.

use async_trait::async_trait;
use forklift_transfer::block::{BlockSizes, BlockSource, check_range};
use forklift_transfer::error::{ErrorKind, Op};

use crate::capability::SecretString;
use crate::error::{Error, Result};

/// Largest single ranged GET.
const MAX_REQUEST: u32 = 16 * 1024 * 1024;

/// `[datastore] dir/name.vmdk` split into datastore name and path.
pub fn split_datastore_path(file: &str) -> Result<(&str, &str)> {
    let rest = file
        .strip_prefix('[')
        .ok_or_else(|| Error::config("disk.file", format!("'{file}' is not '[datastore] path'")))?;
    let (datastore, path) = rest
        .split_once(']')
        .ok_or_else(|| Error::config("disk.file", format!("'{file}' is not '[datastore] path'")))?;
    let path = path.trim_start();
    if datastore.is_empty() || path.is_empty() {
        return Err(Error::config(
            "disk.file",
            format!("'{file}' is not '[datastore] path'"),
        ));
    }
    Ok((datastore, path))
}

/// The data extent of a flat disk: `name.vmdk` (descriptor) → `name-flat.vmdk`.
pub fn flat_extent_path(path: &str) -> String {
    match path.strip_suffix(".vmdk") {
        Some(stem) if !stem.ends_with("-flat") => format!("{stem}-flat.vmdk"),
        _ => path.to_owned(),
    }
}

/// The URL of a datastore file.
pub fn datastore_url(
    sdk_url: &url::Url,
    datacenter: &str,
    datastore: &str,
    path: &str,
) -> url::Url {
    let mut url = sdk_url.clone();
    url.set_path("/folder/");
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty();
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
    }
    url.query_pairs_mut()
        .clear()
        .append_pair("dcPath", datacenter)
        .append_pair("dsName", datastore);
    url
}

/// A datastore file read with ranged GETs.
pub struct DatastoreFile {
    http: reqwest::Client,
    url: url::Url,
    cookie: Option<SecretString>,
    /// Disk size presented to readers.
    size: u64,
    /// Bytes actually present in the file.
    file_length: u64,
}

impl std::fmt::Debug for DatastoreFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatastoreFile")
            .field("url", &self.url.as_str())
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl DatastoreFile {
    /// Opens a file: a HEAD request checks it exists and reads its length. `size` is the
    /// disk capacity; `None` uses the file's length.
    pub async fn open(
        http: reqwest::Client,
        url: url::Url,
        cookie: Option<SecretString>,
        size: Option<u64>,
    ) -> Result<Self> {
        let mut request = http.head(url.clone());
        if let Some(cookie) = &cookie {
            request = request.header("Cookie", cookie.expose());
        }
        let response = request.send().await.map_err(|source| Error::Http {
            url: url.to_string(),
            source,
        })?;
        match response.status().as_u16() {
            200 => {}
            404 => {
                return Err(Error::NotFound {
                    kind: "datastore file",
                    id: url.path().to_owned(),
                });
            }
            status => {
                return Err(Error::HttpStatus {
                    url: url.to_string(),
                    status,
                });
            }
        }
        let file_length = response
            .headers()
            .get(reqwest::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| Error::protocol(url.as_str(), "HEAD answered without Content-Length"))?;
        Ok(Self {
            http,
            url,
            cookie,
            size: size.unwrap_or(file_length),
            file_length,
        })
    }

    fn transfer_error(&self, kind: ErrorKind, message: String) -> forklift_transfer::Error {
        forklift_transfer::Error::new(kind, message).with_target(self.describe())
    }
}

#[async_trait]
impl BlockSource for DatastoreFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn block_sizes(&self) -> BlockSizes {
        BlockSizes {
            minimum: 1,
            preferred: 1024 * 1024,
            maximum: MAX_REQUEST,
        }
    }

    fn describe(&self) -> String {
        self.url.to_string()
    }

    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> forklift_transfer::Result<()> {
        let length = buf.len() as u64;
        check_range(offset, length, self.size)?;
        // Past the end of the file the disk reads as zeroes.
        let present = self.file_length.saturating_sub(offset).min(length) as usize;
        buf[present..].fill(0);
        if present == 0 {
            return Ok(());
        }
        let mut request = self.http.get(self.url.clone()).header(
            reqwest::header::RANGE,
            format!("bytes={}-{}", offset, offset + present as u64 - 1),
        );
        if let Some(cookie) = &self.cookie {
            request = request.header("Cookie", cookie.expose());
        }
        let mut response = request.send().await.map_err(|e| {
            self.transfer_error(ErrorKind::Io, "ranged GET failed".into())
                .with_source(e)
                .or_context(Op::Read, offset, length)
        })?;
        let status = response.status().as_u16();
        let skip = match status {
            206 => 0,
            // A server that ignores Range sends the whole file: skip to the offset.
            200 => offset,
            404 => {
                return Err(self
                    .transfer_error(ErrorKind::NotFound, "datastore file vanished".into())
                    .or_context(Op::Read, offset, length));
            }
            other => {
                return Err(self
                    .transfer_error(ErrorKind::Server, format!("HTTP {other}"))
                    .or_context(Op::Read, offset, length));
            }
        };
        let mut skipped = 0u64;
        let mut filled = 0usize;
        while filled < present {
            let chunk = response.chunk().await.map_err(|e| {
                self.transfer_error(ErrorKind::Disconnected, "body read failed".into())
                    .with_source(e)
                    .or_context(Op::Read, offset, length)
            })?;
            let Some(chunk) = chunk else { break };
            let mut data = &chunk[..];
            if skipped < skip {
                let drop = (skip - skipped).min(data.len() as u64) as usize;
                skipped += drop as u64;
                data = &data[drop..];
            }
            let take = data.len().min(present - filled);
            buf[filled..filled + take].copy_from_slice(&data[..take]);
            filled += take;
        }
        if filled < present {
            return Err(self
                .transfer_error(
                    ErrorKind::Protocol,
                    format!("short read: {filled} of {present} bytes"),
                )
                .or_context(Op::Read, offset, length));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datastore_paths_and_urls() {
        let (ds, path) = split_datastore_path("[LocalDS_0] DC0 VM/disk1.vmdk").unwrap();
        assert_eq!((ds, path), ("LocalDS_0", "DC0 VM/disk1.vmdk"));
        assert!(split_datastore_path("disk1.vmdk").is_err());
        assert!(split_datastore_path("[] x").is_err());
        assert_eq!(flat_extent_path("a/b.vmdk"), "a/b-flat.vmdk");
        assert_eq!(flat_extent_path("a/b-flat.vmdk"), "a/b-flat.vmdk");
        let sdk = url::Url::parse("https://vc.example.com/sdk").unwrap();
        let url = datastore_url(&sdk, "DC 0", "ds&1", "vm 1/disk-flat.vmdk");
        assert_eq!(
            url.as_str(),
            "https://vc.example.com/folder/vm%201/disk-flat.vmdk?dcPath=DC+0&dsName=ds%261"
        );
    }
}
