//! Local files and block devices as [`BlockSource`] and [`BlockSink`].
//!
//! Positioned I/O (`pread`/`pwrite`) on a shared descriptor runs on tokio's blocking pool,
//! so many requests can be in flight. Allocation comes from `SEEK_DATA`/`SEEK_HOLE`;
//! zeroing punches holes (or zeroes ranges in place with `no_hole`) through `fallocate`,
//! falling back to writing zeroes where the file system or device cannot. Writes go through
//! the page cache with writeback behind the writer (module `writeback`), or around it with
//! O_DIRECT when [`LocalOptions::direct`] asks (module `direct`).

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use crate::block::{
    BlockSink, BlockSizes, BlockSource, Extent, ExtentFlags, MetaContext, ZeroFlags, check_range,
};
use crate::copy::checkpoint::TargetIdentity;
use crate::error::{Error, ErrorKind, Op, Result};

mod direct;
mod writeback;
pub use direct::DIRECT_CHUNK;
use direct::Direct;
pub use writeback::WRITEBACK_WINDOW;
use writeback::Writeback;

/// How a writable [`LocalDisk`] writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LocalOptions {
    /// Write data with O_DIRECT, around the page cache (see the `direct` module); where the
    /// file system refuses it, a warning is logged and writes go through the page cache.
    pub direct: bool,
}

/// The extended attribute that holds a checkpoint's generation on a target file.
const GENERATION_XATTR: &std::ffi::CStr = c"user.forklift.checkpoint";

/// The identity of an open file or block device (see [`TargetIdentity::File`]): device,
/// inode, size, birth time where the file system records one, and the checkpoint
/// generation stored in its extended attribute, if any.
pub(crate) fn file_identity(file: &File, size: u64, target: &str) -> Result<TargetIdentity> {
    use std::os::unix::fs::MetadataExt;
    let metadata = file
        .metadata()
        .map_err(|e| Error::io(Op::Checkpoint, e).with_target(target.to_owned()))?;
    let born = metadata.created().ok().and_then(|time| {
        let since = time.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(format!("{}.{:09}", since.as_secs(), since.subsec_nanos()))
    });
    Ok(TargetIdentity::File {
        device: metadata.dev(),
        inode: metadata.ino(),
        size,
        born,
        generation: read_generation(file),
    })
}

/// The generation stored on `file`, if any (unreadable counts as none).
fn read_generation(file: &File) -> Option<String> {
    let mut value = [0u8; 64];
    // SAFETY: fgetxattr on a valid descriptor, a NUL-terminated name and a buffer of the
    // length passed.
    let n = unsafe {
        libc::fgetxattr(
            file.as_raw_fd(),
            GENERATION_XATTR.as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    let n = usize::try_from(n).ok()?;
    std::str::from_utf8(&value[..n]).ok().map(str::to_owned)
}

/// Stores `generation` on `file`; `Ok(false)` where the file system or the file type
/// takes no user extended attributes (block devices, some network file systems).
pub(crate) fn mark_file(file: &File, generation: &str, target: &str) -> Result<bool> {
    // SAFETY: fsetxattr on a valid descriptor with a NUL-terminated name and a value of
    // the length passed.
    let done = unsafe {
        libc::fsetxattr(
            file.as_raw_fd(),
            GENERATION_XATTR.as_ptr(),
            generation.as_ptr().cast(),
            generation.len(),
            0,
        )
    };
    if done == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::ENOTSUP | libc::EPERM) => Ok(false),
        _ => Err(Error::io(Op::Checkpoint, error).with_target(target.to_owned())),
    }
}

/// Forgets the generation on `file` (its contents no longer match any checkpoint).
fn unmark_file(file: &File) {
    // SAFETY: fremovexattr on a valid descriptor with a NUL-terminated name. Failure (no
    // such attribute, none supported) leaves nothing to forget.
    let _ = unsafe { libc::fremovexattr(file.as_raw_fd(), GENERATION_XATTR.as_ptr()) };
}

/// A local regular file or block device.
#[derive(Debug, Clone)]
pub struct LocalDisk {
    file: Arc<File>,
    path: PathBuf,
    size: u64,
    block_device: bool,
    writable: bool,
    zero_initialized: bool,
    /// Writeback started behind the writer (see the `writeback` module).
    writeback: Arc<Writeback>,
    /// The O_DIRECT descriptor, when asked for and the file system takes it.
    direct: Option<Arc<Direct>>,
}

impl LocalDisk {
    /// Opens `path` read-only.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path.as_ref(), false)
    }

    /// Opens an existing file or block device for reading and writing.
    pub fn open_writable(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path.as_ref(), true)
    }

    /// [`open_writable`](Self::open_writable), writing as `options` say.
    pub fn open_writable_with(path: impl AsRef<Path>, options: &LocalOptions) -> Result<Self> {
        Self::open_with(path.as_ref(), true)?.with_options(options)
    }

    /// [`create`](Self::create), writing as `options` say.
    pub fn create_with(path: impl AsRef<Path>, size: u64, options: &LocalOptions) -> Result<Self> {
        Self::create(path, size)?.with_options(options)
    }

    fn with_options(mut self, options: &LocalOptions) -> Result<Self> {
        if options.direct {
            self.direct = Direct::open(&self.file, &self.path, self.block_device)
                .map_err(|e| Error::io(Op::Connect, e).with_target(self.target()))?
                .map(Arc::new);
        }
        Ok(self)
    }

    /// Whether data is written with O_DIRECT: asked for, and not refused by the file
    /// system (so far).
    pub fn is_direct(&self) -> bool {
        self.direct.as_ref().is_some_and(|direct| direct.is_on())
    }

    /// Creates (or truncates) a sparse regular file of `size` bytes; it reads as zeroes, so
    /// a copy need not write zero ranges at all.
    pub fn create(path: impl AsRef<Path>, size: u64) -> Result<Self> {
        let path = path.as_ref();
        let target = path.display().to_string();
        // Checked before the file is touched: a file cannot be longer than 2^63 - 1 bytes.
        if i64::try_from(size).is_err() {
            return Err(Error::invalid_input(format!(
                "Cannot create a file of {size} bytes: files are limited to {} bytes",
                i64::MAX
            ))
            .with_op(Op::Connect)
            .with_target(target));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| Error::io(Op::Connect, e).with_target(target.clone()))?;
        file.set_len(size)
            .map_err(|e| Error::io(Op::Connect, e).with_target(target))?;
        // Truncating keeps the inode and its attributes: a checkpoint bound to the old
        // contents must not match the new ones.
        unmark_file(&file);
        Ok(Self {
            file: Arc::new(file),
            path: path.to_owned(),
            size,
            block_device: false,
            writable: true,
            zero_initialized: true,
            writeback: Arc::default(),
            direct: None,
        })
    }

    fn open_with(path: &Path, writable: bool) -> Result<Self> {
        let target = path.display().to_string();
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(path)
            .map_err(|e| Error::io(Op::Connect, e).with_target(target.clone()))?;
        let metadata = file
            .metadata()
            .map_err(|e| Error::io(Op::Connect, e).with_target(target.clone()))?;
        let block_device = metadata.file_type().is_block_device();
        let size = if block_device {
            // The size of a block device is where its end is.
            // SAFETY: lseek on a valid descriptor owned by `file`.
            let end = unsafe { libc::lseek(file.as_raw_fd(), 0, libc::SEEK_END) };
            if end < 0 {
                return Err(
                    Error::io(Op::Connect, std::io::Error::last_os_error()).with_target(target)
                );
            }
            end as u64
        } else if metadata.is_file() {
            metadata.len()
        } else {
            return Err(Error::invalid_input(format!(
                "{target} is neither a regular file nor a block device"
            )));
        };
        Ok(Self {
            file: Arc::new(file),
            path: path.to_owned(),
            size,
            block_device,
            writable,
            zero_initialized: false,
            writeback: Arc::default(),
            direct: None,
        })
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is a block device.
    pub fn is_block_device(&self) -> bool {
        self.block_device
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        op: Op,
        offset: u64,
        length: u64,
        work: impl FnOnce(&File) -> std::io::Result<T> + Send + 'static,
    ) -> Result<T> {
        let file = self.file.clone();
        let result = tokio::task::spawn_blocking(move || work(&file))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, "I/O worker failed").with_source(e))?;
        result.map_err(|e| {
            Error::io(op, e)
                .with_offset(offset)
                .with_length(length)
                .with_target(self.target())
        })
    }

    fn check_writable(&self, op: Op) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(Error::unsupported("Opened read-only")
                .with_op(op)
                .with_target(self.target()))
        }
    }

    /// `fallocate`, or `Unsupported` when the file system or device cannot.
    async fn fallocate(&self, mode: libc::c_int, offset: u64, length: u64) -> Result<()> {
        let result = self
            .blocking(Op::WriteZeroes, offset, length, move |file| {
                fallocate(file, mode, offset, length)
            })
            .await;
        match result {
            Err(e) if cannot_fallocate(e.errno().map(|n| n as i32)) => {
                Err(Error::unsupported("Zeroing not supported by the file system").with_source(e))
            }
            other => other,
        }
    }
}

/// `fallocate(mode)` over `offset..offset + length` of `file`.
fn fallocate(file: &File, mode: libc::c_int, offset: u64, length: u64) -> std::io::Result<()> {
    // SAFETY: fallocate on a valid descriptor; no memory is passed.
    let rc = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            mode,
            offset as libc::off_t,
            length as libc::off_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether `fallocate` failed with `errno` because the file system or device cannot do that
/// mode (rather than because the operation failed).
fn cannot_fallocate(errno: Option<i32>) -> bool {
    matches!(errno, Some(libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL))
}

fn seek(file: &File, offset: u64, whence: libc::c_int) -> std::io::Result<Option<u64>> {
    // SAFETY: lseek on a valid descriptor; positioned I/O elsewhere ignores the file offset.
    let position = unsafe { libc::lseek(file.as_raw_fd(), offset as libc::off_t, whence) };
    if position >= 0 {
        return Ok(Some(position as u64));
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::ENXIO) {
        Ok(None)
    } else {
        Err(error)
    }
}

/// Allocation of a regular file from `SEEK_DATA`/`SEEK_HOLE`; holes read as zeroes.
fn allocation(file: &File, offset: u64, end: u64) -> std::io::Result<Vec<Extent>> {
    let hole = ExtentFlags::HOLE | ExtentFlags::ZERO;
    let mut extents = Vec::new();
    let mut position = offset;
    while position < end {
        match seek(file, position, libc::SEEK_DATA)? {
            None => {
                extents.push(Extent::new(position, end - position, hole));
                break;
            }
            Some(data) if data > position => {
                let stop = data.min(end);
                extents.push(Extent::new(position, stop - position, hole));
                position = stop;
            }
            Some(_) => {
                let stop = seek(file, position, libc::SEEK_HOLE)?
                    .unwrap_or(end)
                    .min(end);
                extents.push(Extent::new(position, stop - position, ExtentFlags::DATA));
                position = stop;
            }
        }
    }
    Ok(extents)
}

#[async_trait]
impl BlockSource for LocalDisk {
    fn size(&self) -> u64 {
        self.size
    }

    fn block_sizes(&self) -> BlockSizes {
        BlockSizes {
            minimum: if self.block_device { 512 } else { 1 },
            preferred: 4096,
            maximum: 32 * 1024 * 1024,
        }
    }

    fn describe(&self) -> String {
        self.target()
    }

    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let data = self.read_owned(offset, vec![0; buf.len()]).await?;
        buf.copy_from_slice(&data);
        Ok(())
    }

    async fn read_owned(&self, offset: u64, mut buf: Vec<u8>) -> Result<Vec<u8>> {
        let length = buf.len() as u64;
        check_range(offset, length, self.size)
            .map_err(|e| e.with_op(Op::Read).with_target(self.target()))?;
        self.blocking(Op::Read, offset, length, move |file| {
            file.read_exact_at(&mut buf, offset)?;
            Ok(buf)
        })
        .await
    }

    fn can_extents(&self, context: &MetaContext) -> bool {
        *context == MetaContext::BaseAllocation && !self.block_device
    }

    async fn extents(
        &self,
        offset: u64,
        length: u64,
        context: &MetaContext,
    ) -> Result<Vec<Extent>> {
        check_range(offset, length, self.size).map_err(|e| e.with_op(Op::Extents))?;
        match context {
            MetaContext::BaseAllocation if !self.block_device => {
                let end = offset + length;
                let result = self
                    .blocking(Op::Extents, offset, length, move |file| {
                        allocation(file, offset, end)
                    })
                    .await;
                match result {
                    // File systems without SEEK_DATA: everything is data.
                    Err(e) if e.errno() == Some(libc::EINVAL as u32) => {
                        Ok(vec![Extent::new(offset, length, ExtentFlags::DATA)])
                    }
                    other => other,
                }
            }
            MetaContext::BaseAllocation => Ok(vec![Extent::new(offset, length, ExtentFlags::DATA)]),
            other => Err(Error::unsupported(format!(
                "Metadata context {other} is not available from a local file"
            ))
            .with_op(Op::Extents)
            .with_target(self.target())),
        }
    }
}

#[async_trait]
impl BlockSink for LocalDisk {
    fn size(&self) -> u64 {
        self.size
    }

    fn block_sizes(&self) -> BlockSizes {
        BlockSource::block_sizes(self)
    }

    fn describe(&self) -> String {
        self.target()
    }

    async fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.write_owned(offset, buf.to_vec()).await.map(drop)
    }

    async fn write_owned(&self, offset: u64, buf: Vec<u8>) -> Result<Vec<u8>> {
        self.check_writable(Op::Write)?;
        let length = buf.len() as u64;
        check_range(offset, length, self.size)
            .map_err(|e| e.with_op(Op::Write).with_target(self.target()))?;
        let writeback = self.writeback.clone();
        let direct = self.direct.clone();
        self.blocking(Op::Write, offset, length, move |file| {
            match direct {
                Some(direct) => direct.write(file, &buf, offset, |at, length| {
                    writeback.after_write(file, at, length)
                })?,
                None => {
                    file.write_all_at(&buf, offset)?;
                    writeback.after_write(file, offset, length)?;
                }
            }
            Ok(buf)
        })
        .await
    }

    async fn reserve(&self, offset: u64, length: u64) -> Result<()> {
        self.check_writable(Op::Write)?;
        check_range(offset, length, self.size)
            .map_err(|e| e.with_op(Op::Write).with_target(self.target()))?;
        let Some(direct) = self.direct.clone().filter(|direct| direct.is_on()) else {
            // Through the page cache the file system allocates at writeback, in order.
            return Ok(());
        };
        self.blocking(Op::Write, offset, length, move |_| {
            direct.reserve(offset, length)
        })
        .await
    }

    fn can_write_zeroes(&self) -> bool {
        true
    }

    async fn write_zeroes(&self, offset: u64, length: u64, flags: ZeroFlags) -> Result<()> {
        self.check_writable(Op::WriteZeroes)?;
        check_range(offset, length, self.size).map_err(|e| e.with_op(Op::WriteZeroes))?;
        if length == 0 {
            return Ok(());
        }
        let mode = if flags.no_hole {
            libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE
        } else {
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE
        };
        match self.fallocate(mode, offset, length).await {
            Err(e) if e.kind() == ErrorKind::Unsupported && !flags.fast => {
                const CHUNK: u64 = 1 << 20;
                let mut zeroes = vec![0u8; CHUNK.min(length) as usize];
                let mut done = 0;
                while done < length {
                    let piece = (length - done).min(CHUNK) as usize;
                    zeroes.resize(piece, 0);
                    zeroes = self.write_owned(offset + done, zeroes).await?;
                    done += piece as u64;
                }
                Ok(())
            }
            other => other.map_err(|e| e.or_context(Op::WriteZeroes, offset, length)),
        }
    }

    fn can_trim(&self) -> bool {
        true
    }

    async fn trim(&self, offset: u64, length: u64) -> Result<()> {
        self.check_writable(Op::Trim)?;
        check_range(offset, length, self.size).map_err(|e| e.with_op(Op::Trim))?;
        self.fallocate(
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            offset,
            length,
        )
        .await
        .map_err(|e| e.with_op(Op::Trim))
    }

    async fn flush(&self) -> Result<()> {
        if !self.writable {
            return Ok(());
        }
        let writeback = self.writeback.clone();
        self.blocking(Op::Flush, 0, 0, move |file| {
            file.sync_data()?;
            writeback.after_flush(file);
            Ok(())
        })
        .await
    }

    fn is_zero_initialized(&self) -> bool {
        self.zero_initialized
    }

    fn identity(&self) -> Result<Option<TargetIdentity>> {
        file_identity(&self.file, self.size, &self.target()).map(Some)
    }

    fn mark_generation(&self, generation: &str) -> Result<bool> {
        mark_file(&self.file, generation, &self.target())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_refuses_sizes_no_file_can_have_before_touching_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.img");
        let error = LocalDisk::create(&path, 1 << 63).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains(&(1u64 << 63).to_string()));
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn sparse_file_round_trip_with_extents_and_holes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.raw");
        let disk = LocalDisk::create(&path, 4 << 20).unwrap();
        assert!(disk.is_zero_initialized());
        disk.write_owned(1 << 20, vec![9u8; 65536]).await.unwrap();
        let extents = disk
            .extents(0, 4 << 20, &MetaContext::BaseAllocation)
            .await
            .unwrap();
        let data: Vec<_> = extents.iter().filter(|e| !e.flags.is_zero()).collect();
        assert_eq!(data.len(), 1);
        assert!(data[0].offset <= 1 << 20 && data[0].end() >= (1 << 20) + 65536);
        disk.write_zeroes(1 << 20, 65536, ZeroFlags::default())
            .await
            .unwrap();
        let back = disk.read_owned(1 << 20, vec![1; 65536]).await.unwrap();
        assert!(back.iter().all(|&b| b == 0));
        let extents = disk
            .extents(0, 4 << 20, &MetaContext::BaseAllocation)
            .await
            .unwrap();
        assert!(extents.iter().all(|e| e.flags.is_zero()), "{extents:?}");
        BlockSink::flush(&disk).await.unwrap();

        let reader = LocalDisk::open(&path).unwrap();
        assert_eq!(BlockSource::size(&reader), 4 << 20);
        assert_eq!(
            reader.write_at(0, &[1]).await.unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(
            reader
                .read_owned(4 << 20, vec![0; 1])
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::OutOfBounds
        );
        assert_eq!(
            LocalDisk::open(dir.path().join("missing"))
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
    }
}
