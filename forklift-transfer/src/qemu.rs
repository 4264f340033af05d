//! Disk images (qcow2, VMDK, VHDX, raw…) through a `qemu-nbd` child process.
//!
//! [`QemuNbd`] starts `qemu-nbd` on a private Unix socket and stops it when dropped;
//! [`QemuNbdImage`] is that server plus a connected [`NbdClient`], usable as a
//! [`BlockSource`] or [`BlockSink`]. The image format is named explicitly when known
//! (probing raw images is unsafe), see [`ImageFormat::detect`].

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::block::{BlockSink, BlockSizes, BlockSource, Extent, MetaContext, ZeroFlags};
use crate::error::{Error, ErrorKind, Op, Result};
use crate::nbd::{ConnectOptions, Endpoint, NbdClient, NbdUri};

/// A disk image format qemu understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFormat {
    /// Raw bytes.
    Raw,
    /// QEMU copy-on-write v2/v3.
    Qcow2,
    /// VMware VMDK (sparse extent or descriptor).
    Vmdk,
    /// Hyper-V VHDX.
    Vhdx,
    /// VirtualBox VDI.
    Vdi,
}

impl ImageFormat {
    /// The name qemu uses (`-f NAME`).
    pub fn qemu_name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Qcow2 => "qcow2",
            Self::Vmdk => "vmdk",
            Self::Vhdx => "vhdx",
            Self::Vdi => "vdi",
        }
    }

    /// Recognises a format from the first bytes of an image (at least 512 for all formats);
    /// anything unrecognised is raw.
    pub fn from_header(header: &[u8]) -> Self {
        if header.starts_with(b"QFI\xfb") {
            Self::Qcow2
        } else if header.starts_with(b"KDMV")
            || header.starts_with(b"COWD")
            || header.starts_with(b"# Disk DescriptorFile")
        {
            Self::Vmdk
        } else if header.starts_with(b"vhdxfile") {
            Self::Vhdx
        } else if header.len() >= 68 && header[64..68] == [0x7f, 0x10, 0xda, 0xbe] {
            Self::Vdi
        } else {
            Self::Raw
        }
    }

    /// Reads the header of `path` and recognises its format.
    pub fn detect(path: &Path) -> Result<Self> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)
            .map_err(|e| Error::io(Op::Connect, e).with_target(path.display().to_string()))?;
        let mut header = vec![0u8; 512];
        let mut filled = 0;
        while filled < header.len() {
            match file.read(&mut header[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => {
                    return Err(Error::io(Op::Connect, e).with_target(path.display().to_string()));
                }
            }
        }
        Ok(Self::from_header(&header[..filled]))
    }
}

/// How to run `qemu-nbd`.
#[derive(Debug, Clone)]
pub struct QemuNbdOptions {
    /// Image format; detected from the header when `None`.
    pub format: Option<ImageFormat>,
    /// Export read-only (`-r`).
    pub read_only: bool,
    /// Export this persistent bitmap as `qemu:dirty-bitmap:NAME` (`-B`).
    pub bitmap: Option<String>,
    /// Export `qemu:allocation-depth` (`-A`).
    pub allocation_depth: bool,
    /// Concurrent connections allowed (`-e`); several enable multi-conn.
    pub shared: u32,
    /// Cache mode (`--cache`), e.g. `none`, `writeback`.
    pub cache: Option<String>,
    /// AIO mode (`--aio`), e.g. `threads`, `native`, `io_uring`.
    pub aio: Option<String>,
    /// Pass discards to the image (`--discard=unmap`).
    pub discard: bool,
    /// Extra arguments, appended before the image path.
    pub extra_args: Vec<String>,
}

impl Default for QemuNbdOptions {
    fn default() -> Self {
        Self {
            format: None,
            read_only: true,
            bitmap: None,
            allocation_depth: false,
            shared: 4,
            cache: None,
            aio: None,
            discard: true,
            extra_args: Vec::new(),
        }
    }
}

/// A `qemu-nbd` process serving one image on a private Unix socket; killed when dropped.
#[derive(Debug)]
pub struct QemuNbd {
    child: Child,
    dir: PathBuf,
    uri: NbdUri,
}

impl Drop for QemuNbd {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn private_dir() -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("forklift-qemu-nbd-{}-{n}", std::process::id()));
    let mut builder = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .map_err(|e| Error::io(Op::Connect, e).with_target(dir.display().to_string()))?;
    Ok(dir)
}

impl QemuNbd {
    /// Starts `qemu-nbd` for `image` and waits until its socket accepts connections.
    pub async fn start(image: &Path, options: &QemuNbdOptions) -> Result<Self> {
        let target = image.display().to_string();
        let format = match options.format {
            Some(format) => format,
            None => ImageFormat::detect(image)?,
        };
        let dir = private_dir()?;
        let socket = dir.join("nbd.sock");
        let mut command = Command::new("qemu-nbd");
        command
            .arg("--persistent")
            .arg("-k")
            .arg(&socket)
            .arg("-f")
            .arg(format.qemu_name())
            .arg("-e")
            .arg(options.shared.max(1).to_string());
        if options.read_only {
            command.arg("-r");
        }
        if let Some(bitmap) = &options.bitmap {
            command.arg("-B").arg(bitmap);
        }
        if options.allocation_depth {
            command.arg("-A");
        }
        if let Some(cache) = &options.cache {
            command.arg(format!("--cache={cache}"));
        }
        if let Some(aio) = &options.aio {
            command.arg(format!("--aio={aio}"));
        }
        if options.discard && !options.read_only {
            command.arg("--discard=unmap");
        }
        command
            .args(&options.extra_args)
            .arg(image)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = command.spawn().map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                ErrorKind::NotFound
            } else {
                ErrorKind::Io
            };
            Error::new(kind, "Cannot start qemu-nbd (is qemu-utils installed?)")
                .with_source(e)
                .with_op(Op::Connect)
                .with_target(target.clone())
        })?;
        let mut server = Self {
            child,
            dir,
            uri: NbdUri {
                endpoint: Endpoint::Unix(socket.clone()),
                export: String::new(),
                tls: false,
                tls_certificates: None,
                tls_verify_peer: true,
                tls_hostname: None,
            },
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = server
                .child
                .try_wait()
                .map_err(|e| Error::io(Op::Connect, e))?
            {
                let mut stderr = String::new();
                if let Some(mut pipe) = server.child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr).await;
                }
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("qemu-nbd exited with {status}: {}", stderr.trim()),
                )
                .with_op(Op::Connect)
                .with_target(target));
            }
            if tokio::net::UnixStream::connect(&socket).await.is_ok() {
                return Ok(server);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(
                    Error::new(ErrorKind::Timeout, "qemu-nbd did not start listening")
                        .with_op(Op::Connect)
                        .with_target(target),
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The `nbd+unix://` URI of the export.
    pub fn uri(&self) -> &NbdUri {
        &self.uri
    }
}

/// An image served by `qemu-nbd` and a client connected to it.
#[derive(Debug)]
pub struct QemuNbdImage {
    // Field order matters: the client disconnects before the server is killed.
    client: NbdClient,
    server: QemuNbd,
    path: PathBuf,
    zero_initialized: bool,
}

impl QemuNbdImage {
    /// Serves `image` with `options` and connects with `connect`.
    pub async fn open(
        image: &Path,
        options: &QemuNbdOptions,
        connect: &ConnectOptions,
    ) -> Result<Self> {
        let server = QemuNbd::start(image, options).await?;
        let mut connect = connect.clone();
        if let Some(bitmap) = &options.bitmap {
            let context = MetaContext::DirtyBitmap(bitmap.clone());
            if !connect.contexts.contains(&context) {
                connect.contexts.push(context);
            }
        }
        if options.allocation_depth && !connect.contexts.contains(&MetaContext::AllocationDepth) {
            connect.contexts.push(MetaContext::AllocationDepth);
        }
        connect.connections = connect.connections.min(options.shared.max(1) as usize);
        let client = NbdClient::connect(server.uri(), &connect).await?;
        Ok(Self {
            client,
            server,
            path: image.to_owned(),
            zero_initialized: false,
        })
    }

    /// Creates a new image with `qemu-img create` and opens it for writing; the new image
    /// reads as zeroes.
    pub async fn create(
        image: &Path,
        format: ImageFormat,
        size: u64,
        connect: &ConnectOptions,
    ) -> Result<Self> {
        let output = Command::new("qemu-img")
            .arg("create")
            .arg("-q")
            .arg("-f")
            .arg(format.qemu_name())
            .arg(image)
            .arg(size.to_string())
            .output()
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    "Cannot run qemu-img (is qemu-utils installed?)",
                )
                .with_source(e)
                .with_target(image.display().to_string())
            })?;
        if !output.status.success() {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "qemu-img create failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            )
            .with_target(image.display().to_string()));
        }
        let options = QemuNbdOptions {
            format: Some(format),
            read_only: false,
            ..QemuNbdOptions::default()
        };
        let mut opened = Self::open(image, &options, connect).await?;
        opened.zero_initialized = true;
        Ok(opened)
    }

    /// The connected client.
    pub fn client(&self) -> &NbdClient {
        &self.client
    }

    /// The running server.
    pub fn server(&self) -> &QemuNbd {
        &self.server
    }

    /// Disconnects politely and stops the server.
    pub async fn close(self) {
        self.client.disconnect().await;
    }
}

#[async_trait]
impl BlockSource for QemuNbdImage {
    fn size(&self) -> u64 {
        BlockSource::size(&self.client)
    }
    fn block_sizes(&self) -> BlockSizes {
        BlockSource::block_sizes(&self.client)
    }
    fn describe(&self) -> String {
        self.path.display().to_string()
    }
    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.client.read_at(offset, buf).await
    }
    async fn read_owned(&self, offset: u64, buf: Vec<u8>) -> Result<Vec<u8>> {
        self.client.read_owned(offset, buf).await
    }
    fn can_extents(&self, context: &MetaContext) -> bool {
        self.client.can_extents(context)
    }
    async fn extents(
        &self,
        offset: u64,
        length: u64,
        context: &MetaContext,
    ) -> Result<Vec<Extent>> {
        self.client.extents(offset, length, context).await
    }
    fn nbd_client(&self) -> Option<&NbdClient> {
        Some(&self.client)
    }
}

#[async_trait]
impl BlockSink for QemuNbdImage {
    fn size(&self) -> u64 {
        BlockSink::size(&self.client)
    }
    fn block_sizes(&self) -> BlockSizes {
        BlockSink::block_sizes(&self.client)
    }
    fn describe(&self) -> String {
        self.path.display().to_string()
    }
    async fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.client.write_at(offset, buf).await
    }
    async fn write_owned(&self, offset: u64, buf: Vec<u8>) -> Result<Vec<u8>> {
        self.client.write_owned(offset, buf).await
    }
    fn can_write_zeroes(&self) -> bool {
        self.client.can_write_zeroes()
    }
    async fn write_zeroes(&self, offset: u64, length: u64, flags: ZeroFlags) -> Result<()> {
        self.client.write_zeroes(offset, length, flags).await
    }
    fn can_trim(&self) -> bool {
        self.client.can_trim()
    }
    async fn trim(&self, offset: u64, length: u64) -> Result<()> {
        self.client.trim(offset, length).await
    }
    async fn flush(&self) -> Result<()> {
        BlockSink::flush(&self.client).await
    }
    fn nbd_client(&self) -> Option<&NbdClient> {
        Some(&self.client)
    }
    fn is_zero_initialized(&self) -> bool {
        self.zero_initialized
    }
    /// The image file's identity: a checkpoint belongs to the file, whatever serves it.
    fn identity(&self) -> Result<Option<crate::copy::checkpoint::TargetIdentity>> {
        let (file, target) = self.image_file()?;
        crate::local::file_identity(&file, BlockSink::size(&self.client), &target).map(Some)
    }
    fn mark_generation(&self, generation: &str) -> Result<bool> {
        let (file, target) = self.image_file()?;
        crate::local::mark_file(&file, generation, &target)
    }
}

impl QemuNbdImage {
    fn image_file(&self) -> Result<(std::fs::File, String)> {
        let target = self.path.display().to_string();
        let file = std::fs::File::open(&self.path)
            .map_err(|e| Error::io(Op::Checkpoint, e).with_target(target.clone()))?;
        Ok((file, target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_magic() {
        assert_eq!(
            ImageFormat::from_header(b"QFI\xfb\0\0\0\x03"),
            ImageFormat::Qcow2
        );
        assert_eq!(ImageFormat::from_header(b"KDMV\x01"), ImageFormat::Vmdk);
        assert_eq!(
            ImageFormat::from_header(b"# Disk DescriptorFile\nversion=1"),
            ImageFormat::Vmdk
        );
        assert_eq!(ImageFormat::from_header(b"vhdxfile"), ImageFormat::Vhdx);
        let mut vdi = vec![0u8; 72];
        vdi[64..68].copy_from_slice(&[0x7f, 0x10, 0xda, 0xbe]);
        assert_eq!(ImageFormat::from_header(&vdi), ImageFormat::Vdi);
        assert_eq!(ImageFormat::from_header(&[0u8; 512]), ImageFormat::Raw);
        assert_eq!(ImageFormat::from_header(&[]), ImageFormat::Raw);
    }
}
