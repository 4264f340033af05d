//! The one factory that turns a user's disk argument into a source or sink.
//!
//! ```text
//!   nbd://… nbds://… nbd+unix://…   → NbdClient
//!   /dev/… or a raw file             → LocalDisk
//!   qcow2 / VMDK / VHDX / VDI file   → QemuNbdImage (qemu-nbd child process)
//!   a destination that does not exist → created: raw sparse file, or by extension
//!                                       (.qcow2, .vmdk, .vhdx) with qemu-img create
//! ```

use std::path::Path;
use std::sync::Arc;

use crate::block::{BlockSink, BlockSource, MetaContext};
use crate::error::{Error, Result};
use crate::local::{LocalDisk, LocalOptions};
use crate::nbd::{ConnectOptions, NbdClient, NbdUri};
use crate::qemu::{ImageFormat, QemuNbdImage, QemuNbdOptions};

/// How to open disks.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// NBD connection settings (connections, requests in flight, contexts).
    pub connect: ConnectOptions,
    /// A dirty bitmap to expose and negotiate (`qemu:dirty-bitmap:NAME`).
    pub bitmap: Option<String>,
    /// How a raw file or block device sink writes (O_DIRECT or the page cache); other
    /// sinks ignore it.
    pub local: LocalOptions,
}

/// An opened disk, usable as a source and (unless read-only) as a sink.
#[derive(Clone)]
pub struct Opened {
    /// The disk as a source.
    pub source: Arc<dyn BlockSource>,
    /// The same disk as a sink.
    pub sink: Arc<dyn BlockSink>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("disk", &self.source.describe())
            .finish()
    }
}

fn opened<T: BlockSource + BlockSink + 'static>(disk: T) -> Opened {
    let disk = Arc::new(disk);
    Opened {
        source: disk.clone(),
        sink: disk,
    }
}

/// The URI schemes `open_source` and `open_sink` read and write.
const NBD_SCHEMES: [&str; 4] = ["nbd", "nbds", "nbd+unix", "nbds+unix"];

/// Whether `spec` is an NBD URI rather than a path.
pub fn is_nbd_uri(spec: &str) -> bool {
    uri_scheme(spec).is_some_and(|scheme| NBD_SCHEMES.contains(&scheme))
}

/// The scheme of `spec` when it reads as a URI (`scheme://...`, the scheme a letter then
/// letters, digits, `+`, `-` or `.`), so that `http://host/disk` is refused as an unsupported
/// scheme rather than looked for as a file.
fn uri_scheme(spec: &str) -> Option<&str> {
    let (scheme, _) = spec.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

/// Refuses a URI whose scheme is not an NBD one (naming the scheme only: the rest of a URI
/// may hold credentials).
fn refuse_other_schemes(spec: &str) -> Result<()> {
    match uri_scheme(spec) {
        // The scheme holds only letters, digits, `+`, `-` and `.`: safe to show as it is.
        Some(scheme) if !NBD_SCHEMES.contains(&scheme) => Err(Error::invalid_input(format!(
            "Unsupported URI scheme '{scheme}': use nbd://, nbds://, nbd+unix://, nbds+unix:// or a path"
        ))),
        _ => Ok(()),
    }
}

fn connect_options(options: &OpenOptions) -> ConnectOptions {
    let mut connect = options.connect.clone();
    if let Some(bitmap) = &options.bitmap {
        let context = MetaContext::DirtyBitmap(bitmap.clone());
        if !connect.contexts.contains(&context) {
            connect.contexts.push(context);
        }
    }
    connect
}

/// Opens `spec` (URI or path) to read from.
pub async fn open_source(spec: &str, options: &OpenOptions) -> Result<Opened> {
    refuse_other_schemes(spec)?;
    let connect = connect_options(options);
    if is_nbd_uri(spec) {
        return Ok(opened(
            NbdClient::connect(&NbdUri::parse(spec)?, &connect).await?,
        ));
    }
    let path = Path::new(spec);
    let format = ImageFormat::detect(path)?;
    if format == ImageFormat::Raw && options.bitmap.is_none() {
        return Ok(opened(LocalDisk::open(path)?));
    }
    let qemu = QemuNbdOptions {
        format: Some(format),
        read_only: true,
        bitmap: options.bitmap.clone(),
        shared: connect.connections.max(1) as u32,
        ..QemuNbdOptions::default()
    };
    Ok(opened(QemuNbdImage::open(path, &qemu, &connect).await?))
}

/// Opens `spec` to write to; a path that does not exist is created with `size` bytes.
pub async fn open_sink(spec: &str, size: u64, options: &OpenOptions) -> Result<Opened> {
    refuse_other_schemes(spec)?;
    let connect = ConnectOptions {
        contexts: vec![MetaContext::BaseAllocation],
        ..options.connect.clone()
    };
    let direct_ignored = || {
        if options.local.direct {
            tracing::warn!(
                "O_DIRECT applies to raw files and block devices only: {spec} is written as usual"
            );
        }
    };
    if is_nbd_uri(spec) {
        direct_ignored();
        return Ok(opened(
            NbdClient::connect(&NbdUri::parse(spec)?, &connect).await?,
        ));
    }
    let path = Path::new(spec);
    let exists = path
        .try_exists()
        .map_err(|e| Error::io(crate::Op::Connect, e).with_target(spec.to_owned()))?;
    if !exists {
        let by_extension = match path.extension().and_then(|e| e.to_str()) {
            Some("qcow2") => Some(ImageFormat::Qcow2),
            Some("vmdk") => Some(ImageFormat::Vmdk),
            Some("vhdx") => Some(ImageFormat::Vhdx),
            _ => None,
        };
        return match by_extension {
            Some(format) => {
                direct_ignored();
                Ok(opened(
                    QemuNbdImage::create(path, format, size, &connect).await?,
                ))
            }
            None => Ok(opened(LocalDisk::create_with(path, size, &options.local)?)),
        };
    }
    let format = ImageFormat::detect(path)?;
    if format == ImageFormat::Raw {
        return Ok(opened(LocalDisk::open_writable_with(path, &options.local)?));
    }
    direct_ignored();
    let qemu = QemuNbdOptions {
        format: Some(format),
        read_only: false,
        shared: connect.connections.max(1) as u32,
        ..QemuNbdOptions::default()
    };
    Ok(opened(QemuNbdImage::open(path, &qemu, &connect).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[tokio::test]
    async fn other_uri_schemes_are_refused_as_unsupported_not_looked_for_as_files() {
        for spec in [
            "http://x/y",
            "https://user:secret@host/disk",
            "s3://bucket/disk",
        ] {
            let scheme = spec.split_once("://").map(|(s, _)| s).unwrap_or_default();
            let source = open_source(spec, &OpenOptions::default()).await;
            let sink = open_sink(spec, 4096, &OpenOptions::default()).await;
            for error in [source.err(), sink.err()] {
                let error = error.expect(spec);
                assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
                let text = error.to_string();
                assert!(
                    text.contains(&format!("Unsupported URI scheme '{scheme}'")),
                    "{text}"
                );
                assert!(!text.contains("secret"), "{text}");
            }
        }
        // NBD URIs and paths (even with `:` in them) are still told apart as before.
        assert!(is_nbd_uri("nbd+unix:///?socket=/tmp/s"));
        assert!(!is_nbd_uri("http://x/y"));
        assert_eq!(uri_scheme("/tmp/a:b//c"), None);
        assert_eq!(uri_scheme("disk.raw"), None);
    }
}
