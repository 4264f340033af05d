//! O_DIRECT writes into a local file or block device (`--direct`).
//!
//! Through the page cache, every byte a copy writes is copied into a cache page, tracked as
//! dirty, written back and dropped again (see the `writeback` module). With O_DIRECT the
//! disk reads the data from the writer's memory; on the file benchmark
//! (`benches/file-compare.sh`, case d) `qemu-img convert -t none` was the fastest tool at
//! half the CPU of its page-cache run, so the file sink can do the same on request.
//!
//! O_DIRECT needs the offset, the length and the memory of each write aligned. How it is
//! done here:
//!
//! - A second descriptor, opened with O_DIRECT on the same open file
//!   (`/proc/self/fd/N`), writes the whole aligned units of each write. Everything else
//!   stays on the buffered descriptor: reads, zeroing (`fallocate`, holes are still
//!   punched), and the unaligned head and tail of a write (a disk whose size is not a
//!   multiple of the unit, a sub-page zero-detection run).
//! - The unit is the largest of the page size, the device's logical block size
//!   (`BLKSSZGET`) and the file system's O_DIRECT offset alignment (`statx`
//!   `STATX_DIOALIGN`). Never less than a page, so a page is written either only buffered or
//!   only directly: a dirty cache page overlapping a direct write could be written back over
//!   it later.
//! - A buffer whose memory is page-aligned is written as it is: the copy engine's buffers
//!   are, in a program that installs [`PageAlignedLarge`](crate::alloc::PageAlignedLarge)
//!   as its allocator (the `forklift` binary and the Python module do). Any other buffer's
//!   aligned part is copied into page-aligned bounce buffers of at most [`DIRECT_CHUNK`]
//!   bytes, kept in a small pool for reuse; that copy replaces the one into the page cache,
//!   so no byte is copied more often than without O_DIRECT.
//! - ext4 serializes direct writes into holes (each holds the inode lock until the device
//!   answers) but runs direct writes into allocated blocks in parallel. So the copy
//!   reserves each run of data blocks before writing it ([`BlockSink::reserve`]:
//!   `fallocate`, allocated but reading as zeroes), in one call per run rather than per
//!   write, since `fallocate` waits for the direct writes in flight. Blocks of a reserved
//!   run that turn out to be zero are skipped as ever and stay reserved: they read as
//!   zeroes and take space.
//!
//! [`BlockSink::reserve`]: crate::block::BlockSink::reserve
//! - Where the file system refuses O_DIRECT (the descriptor cannot be opened with it, or
//!   a direct write fails with `EINVAL`), a warning names the file and the sink writes
//!   through the page cache from then on: the copy is the same, only slower or faster.
//!
//! Durability is unchanged: a direct write is on the device but neither its cache nor the
//! file's block allocation is durable until the final `fdatasync`, which covers the whole
//! file whichever descriptor wrote it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Largest direct write and bounce buffer: a larger write is written in pieces of this
/// size, so bounce buffers stay small whatever the request size.
pub const DIRECT_CHUNK: usize = 1024 * 1024;

/// Bounce buffers kept for reuse (at most this many × [`DIRECT_CHUNK`] bytes): the copy
/// engine's default number of requests in flight, so its writes never wait on allocation.
const KEPT_BOUNCES: usize = 16;

/// Alignment of bounce buffers in memory, and of caller buffers written without one (the
/// page [`PageAlignedLarge`](crate::alloc::PageAlignedLarge) aligns to); a file system asking
/// for more is not written directly.
const MEMORY_ALIGN: usize = crate::alloc::PAGE;

/// One page-aligned unit of a bounce buffer.
#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct Page([u8; MEMORY_ALIGN]);

/// A page-aligned buffer for direct writes.
struct Bounce(Vec<Page>);

impl Bounce {
    fn new(bytes: usize) -> Self {
        Self(vec![Page([0; MEMORY_ALIGN]); bytes.div_ceil(MEMORY_ALIGN)])
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        let len = self.0.len() * MEMORY_ALIGN;
        // SAFETY: `Page` is `repr(C)` plain bytes without padding (size equals alignment),
        // so the vector's pages are `len` initialized bytes, borrowed mutably with `self`.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<u8>(), len) }
    }
}

/// The O_DIRECT side of a writable [`LocalDisk`](super::LocalDisk).
pub(crate) struct Direct {
    /// The same open file, opened again with O_DIRECT, write-only.
    file: File,
    /// Offset and length unit of direct writes (a power of two, at least a page).
    unit: u64,
    /// Set once a direct write was refused: everything goes through the page cache.
    off: AtomicBool,
    /// Whether runs of data are reserved before they are written: a regular file, until its
    /// file system refuses `fallocate`.
    reserving: AtomicBool,
    /// Bounce buffers given back, for reuse.
    kept: Mutex<Vec<Bounce>>,
    /// The file, for the warning when O_DIRECT is refused.
    target: String,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct")
            .field("unit", &self.unit)
            .field("off", &self.off.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Whether an error means the file system (or this file) does not take O_DIRECT.
fn refuses_direct(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EINVAL | libc::EOPNOTSUPP))
}

impl Direct {
    /// Opens `file` (open at `path`) again with O_DIRECT. `Ok(None)`, with a warning naming
    /// the file, where the file system refuses O_DIRECT; other failures are errors.
    pub(crate) fn open(
        file: &File,
        path: &Path,
        block_device: bool,
    ) -> std::io::Result<Option<Self>> {
        let target = path.display().to_string();
        let Some(unit) = unit(file, block_device) else {
            tracing::warn!(
                "{target}: the file system needs O_DIRECT buffers aligned beyond {MEMORY_ALIGN} bytes; writing through the page cache"
            );
            return Ok(None);
        };
        // The same open file, not whatever the path names by now.
        let fd_path = format!("/proc/self/fd/{}", file.as_raw_fd());
        let direct = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(&fd_path);
        match direct {
            Ok(direct) => Ok(Some(Self {
                file: direct,
                unit,
                off: AtomicBool::new(false),
                reserving: AtomicBool::new(!block_device),
                kept: Mutex::default(),
                target,
            })),
            Err(error) if refuses_direct(&error) => {
                tracing::warn!(
                    "{target}: the file system refuses O_DIRECT ({error}); writing through the page cache"
                );
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Whether writes still go around the page cache.
    pub(crate) fn is_on(&self) -> bool {
        !self.off.load(Ordering::Relaxed)
    }

    /// The offset and length unit of direct writes.
    #[cfg(test)]
    pub(crate) fn unit(&self) -> u64 {
        self.unit
    }

    /// Writes `buf` at `offset`: its whole aligned units directly, the unaligned head and
    /// tail through `buffered` (then handed to `after_buffered`, the writeback behind the
    /// writer). Runs on a blocking thread.
    pub(crate) fn write(
        &self,
        buffered: &File,
        buf: &[u8],
        offset: u64,
        after_buffered: impl Fn(u64, u64) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let end = offset + buf.len() as u64;
        let body_start = offset.next_multiple_of(self.unit).min(end);
        let body_end = (end / self.unit * self.unit).max(body_start);
        let write_buffered = |from: u64, to: u64| -> std::io::Result<()> {
            if from < to {
                let piece = &buf[(from - offset) as usize..(to - offset) as usize];
                buffered.write_all_at(piece, from)?;
                after_buffered(from, to - from)?;
            }
            Ok(())
        };
        write_buffered(offset, body_start)?;
        if body_start < body_end {
            let body = &buf[(body_start - offset) as usize..(body_end - offset) as usize];
            if !self.is_on() {
                write_buffered(body_start, body_end)?;
            } else if let Err(error) = self.write_direct(body, body_start) {
                if !refuses_direct(&error) {
                    return Err(error);
                }
                if !self.off.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "{}: the file system refused an O_DIRECT write ({error}); writing through the page cache",
                        self.target
                    );
                }
                write_buffered(body_start, body_end)?;
            }
        }
        write_buffered(body_end, end)
    }

    /// Writes aligned `body` at the aligned `offset`: from its own memory where that is
    /// page-aligned, else through bounce buffers.
    fn write_direct(&self, body: &[u8], offset: u64) -> std::io::Result<()> {
        if crate::alloc::is_aligned(body, MEMORY_ALIGN) {
            return self.file.write_all_at(body, offset);
        }
        let mut bounce = lock(&self.kept)
            .pop()
            .unwrap_or_else(|| Bounce::new(DIRECT_CHUNK.min(body.len())));
        let mut result = Ok(());
        let mut done = 0;
        while done < body.len() {
            let piece = (body.len() - done).min(DIRECT_CHUNK);
            if bounce.0.len() * MEMORY_ALIGN < piece {
                bounce = Bounce::new(piece);
            }
            let bytes = &mut bounce.bytes_mut()[..piece];
            bytes.copy_from_slice(&body[done..done + piece]);
            result = self.file.write_all_at(bytes, offset + done as u64);
            if result.is_err() {
                break;
            }
            done += piece;
        }
        let mut kept = lock(&self.kept);
        if kept.len() < KEPT_BOUNCES {
            kept.push(bounce);
        }
        result
    }

    /// Allocates `offset..offset + length` of a regular file ahead of its direct writes
    /// (see the module documentation). Where the file system cannot, writes go on into
    /// holes; other failures (no space) are errors. Runs on a blocking thread.
    pub(crate) fn reserve(&self, offset: u64, length: u64) -> std::io::Result<()> {
        if !self.is_on() || !self.reserving.load(Ordering::Relaxed) || length == 0 {
            return Ok(());
        }
        match super::fallocate(&self.file, libc::FALLOC_FL_KEEP_SIZE, offset, length) {
            Err(error) if super::cannot_fallocate(error.raw_os_error()) => {
                tracing::debug!(
                    "{}: no reservation ahead of direct writes: {error}",
                    self.target
                );
                self.reserving.store(false, Ordering::Relaxed);
                Ok(())
            }
            other => other,
        }
    }
}

/// The unit of direct writes on `file`: at least a page, the device's logical block size
/// and the file system's O_DIRECT offset alignment. `None` where the file system needs
/// memory aligned beyond what bounce buffers have.
fn unit(file: &File, block_device: bool) -> Option<u64> {
    // SAFETY: sysconf has no memory effects.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let mut unit = u64::try_from(page).unwrap_or(4096).max(4096);
    if block_device {
        let mut size: libc::c_int = 0;
        // SAFETY: BLKSSZGET writes one int through the pointer passed.
        if unsafe { libc::ioctl(file.as_raw_fd(), libc::BLKSSZGET, &mut size) } == 0 {
            unit = unit.max(u64::try_from(size).unwrap_or(0));
        }
    }
    // SAFETY: statx of the descriptor itself (empty path, AT_EMPTY_PATH) into a zeroed
    // struct it fills.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::statx(
            file.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_DIOALIGN,
            &mut stx,
        )
    };
    if rc == 0 && stx.stx_mask & libc::STATX_DIOALIGN != 0 {
        if stx.stx_dio_mem_align as usize > MEMORY_ALIGN {
            return None;
        }
        unit = unit.max(u64::from(stx.stx_dio_offset_align));
    }
    Some(unit.next_power_of_two())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

#[cfg(test)]
mod tests;
