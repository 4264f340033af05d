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
use crate::local::LocalDisk;
use crate::nbd::{ConnectOptions, NbdClient, NbdUri};
use crate::qemu::{ImageFormat, QemuNbdImage, QemuNbdOptions};

/// How to open disks.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// NBD connection settings (connections, requests in flight, contexts).
    pub connect: ConnectOptions,
    /// A dirty bitmap to expose and negotiate (`qemu:dirty-bitmap:NAME`).
    pub bitmap: Option<String>,
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

/// Whether `spec` is an NBD URI rather than a path.
pub fn is_nbd_uri(spec: &str) -> bool {
    ["nbd://", "nbds://", "nbd+unix://", "nbds+unix://"]
        .iter()
        .any(|scheme| spec.starts_with(scheme))
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
    let connect = ConnectOptions {
        contexts: vec![MetaContext::BaseAllocation],
        ..options.connect.clone()
    };
    if is_nbd_uri(spec) {
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
            Some(format) => Ok(opened(
                QemuNbdImage::create(path, format, size, &connect).await?,
            )),
            None => Ok(opened(LocalDisk::create(path, size)?)),
        };
    }
    let format = ImageFormat::detect(path)?;
    if format == ImageFormat::Raw {
        return Ok(opened(LocalDisk::open_writable(path)?));
    }
    let qemu = QemuNbdOptions {
        format: Some(format),
        read_only: false,
        shared: connect.connections.max(1) as u32,
        ..QemuNbdOptions::default()
    };
    Ok(opened(QemuNbdImage::open(path, &qemu, &connect).await?))
}
