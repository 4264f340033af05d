//! Writeback behind the writer for a local file or block device.
//!
//! A copy into a file writes far faster into the page cache than the disk takes it. Left
//! alone, the kernel starts writeback late, a large disk fills memory with dirty pages and
//! evicts everything else, and the final `fdatasync` waits for nearly the whole disk. So,
//! as nbdcopy does, every write starts the writeback of its own range at once
//! (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which does not wait), and once more than
//! [`WRITEBACK_WINDOW`] bytes are in flight the oldest ranges are waited for and dropped
//! from the page cache (`posix_fadvise(POSIX_FADV_DONTNEED)`). The copy then runs at the
//! disk's pace with a bounded amount of dirty memory, and the final `fdatasync` only has
//! the last window (and the file system's metadata) to write.
//!
//! None of this replaces the flush: `sync_file_range` neither writes metadata nor flushes
//! the device's cache, so durability still comes from `fdatasync` in
//! [`BlockSink::flush`](crate::block::BlockSink::flush). Write errors met by the
//! background writeback are reported by that `fdatasync` too (the kernel keeps them for
//! it), and errors `sync_file_range` itself returns are returned to the writer.

use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes written but not yet waited for: past this, the oldest writes are waited for and
/// their pages dropped. 32 MiB keeps a disk busy (several requests queued) while bounding
/// the dirty memory a copy holds and what the final flush waits for.
pub const WRITEBACK_WINDOW: u64 = 32 * 1024 * 1024;

/// The writes of one file whose writeback was started but not waited for.
#[derive(Debug, Default)]
pub(crate) struct Writeback {
    /// `(offset, length)` of each write, oldest first, and their total length.
    pending: Mutex<(VecDeque<(u64, u64)>, u64)>,
    /// Set once the file (its file system) refuses `sync_file_range` or `posix_fadvise`:
    /// the writer then leaves writeback to the kernel.
    off: AtomicBool,
}

impl Writeback {
    /// Starts writeback of a write just made at `offset`, and waits for (and drops from the
    /// page cache) the oldest writes beyond [`WRITEBACK_WINDOW`]. Runs on a blocking thread.
    pub(crate) fn after_write(&self, file: &File, offset: u64, length: u64) -> std::io::Result<()> {
        if length == 0 || self.off.load(Ordering::Relaxed) {
            return Ok(());
        }
        if let Err(error) = sync_range(file, offset, length, libc::SYNC_FILE_RANGE_WRITE) {
            return self.unsupported_or(error);
        }
        loop {
            let oldest = {
                let mut pending = lock(&self.pending);
                let (queue, total) = &mut *pending;
                if *total + length <= WRITEBACK_WINDOW {
                    queue.push_back((offset, length));
                    *total += length;
                    return Ok(());
                }
                match queue.pop_front() {
                    Some(oldest) => {
                        *total -= oldest.1;
                        oldest
                    }
                    None => {
                        // A single write larger than the window: it is its own oldest.
                        drop(pending);
                        return self.settle(file, offset, length);
                    }
                }
            };
            self.settle(file, oldest.0, oldest.1)?;
        }
    }

    /// Forgets the pending writes once a flush made them durable, dropping their now clean
    /// pages from the page cache.
    pub(crate) fn after_flush(&self, file: &File) {
        let ranges = std::mem::take(&mut *lock(&self.pending)).0;
        if self.off.load(Ordering::Relaxed) {
            return;
        }
        for (offset, length) in ranges {
            // Advice only: the data is durable whatever the page cache keeps.
            let _ = advise_dontneed(file, offset, length);
        }
    }

    /// Waits for the writeback of one range and drops its pages.
    fn settle(&self, file: &File, offset: u64, length: u64) -> std::io::Result<()> {
        let wait = libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        if let Err(error) = sync_range(file, offset, length, wait) {
            return self.unsupported_or(error);
        }
        if let Err(error) = advise_dontneed(file, offset, length) {
            return self.unsupported_or(error);
        }
        Ok(())
    }

    /// Turns writeback off where the file cannot do it (`EINVAL`, `ENOSYS`, `ESPIPE`,
    /// `EOPNOTSUPP`); any other error is the writer's.
    fn unsupported_or(&self, error: std::io::Error) -> std::io::Result<()> {
        match error.raw_os_error() {
            Some(libc::EINVAL | libc::ENOSYS | libc::ESPIPE | libc::EOPNOTSUPP) => {
                tracing::debug!("writeback behind the writer is off: {error}");
                self.off.store(true, Ordering::Relaxed);
                lock(&self.pending).0.clear();
                Ok(())
            }
            _ => Err(error),
        }
    }

    /// Bytes whose writeback was started and not yet waited for.
    #[cfg(test)]
    pub(crate) fn pending_bytes(&self) -> u64 {
        lock(&self.pending).1
    }

    /// Whether the file refused writeback control.
    #[cfg(test)]
    pub(crate) fn is_off(&self) -> bool {
        self.off.load(Ordering::Relaxed)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

fn sync_range(file: &File, offset: u64, length: u64, flags: libc::c_uint) -> std::io::Result<()> {
    // SAFETY: sync_file_range on a valid descriptor; no memory is passed.
    let rc = unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            length as libc::off64_t,
            flags,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn advise_dontneed(file: &File, offset: u64, length: u64) -> std::io::Result<()> {
    // SAFETY: posix_fadvise on a valid descriptor; no memory is passed. It returns the error
    // number instead of setting errno.
    let rc = unsafe {
        libc::posix_fadvise(
            file.as_raw_fd(),
            offset as libc::off_t,
            length as libc::off_t,
            libc::POSIX_FADV_DONTNEED,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::from_raw_os_error(rc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BlockSink, BlockSource};
    use crate::local::LocalDisk;

    /// Whether `path` is on tmpfs, where pages are memory and cannot be dropped.
    fn on_tmpfs(path: &std::path::Path) -> bool {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: statfs with a NUL-terminated path and a zeroed struct to fill.
        let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::statfs(c.as_ptr(), &mut fs) }, 0);
        fs.f_type == libc::TMPFS_MAGIC
    }

    /// How many of the pages of `file` in `range` are in the page cache (`mincore`).
    fn resident_pages(file: &File, offset: u64, length: u64) -> usize {
        let page = 4096usize;
        // SAFETY: a shared read-only mapping of `length` bytes of a file at least that
        // long, unmapped before returning; mincore fills one byte per page.
        unsafe {
            let map = libc::mmap(
                std::ptr::null_mut(),
                length as usize,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                offset as libc::off_t,
            );
            assert_ne!(map, libc::MAP_FAILED);
            let mut vec = vec![0u8; (length as usize).div_ceil(page)];
            assert_eq!(libc::mincore(map, length as usize, vec.as_mut_ptr()), 0);
            libc::munmap(map, length as usize);
            vec.iter().filter(|&&b| b & 1 == 1).count()
        }
    }

    fn pattern(i: u64, length: usize) -> Vec<u8> {
        (0..length)
            .map(|j| (i as usize * 31 + j / 4096) as u8)
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_are_written_back_behind_the_writer_and_dropped_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.raw");
        let (chunk, chunks) = (1u64 << 20, 96u64);
        let disk = LocalDisk::create(&path, chunk * chunks).unwrap();
        for i in 0..chunks {
            disk.write_owned(i * chunk, pattern(i, chunk as usize))
                .await
                .unwrap();
            // Never more than the window waits for writeback.
            assert!(disk.writeback.pending_bytes() <= WRITEBACK_WINDOW);
        }
        assert!(!disk.writeback.is_off());
        assert!(disk.writeback.pending_bytes() > 0);
        if on_tmpfs(dir.path()) {
            eprintln!("tmpfs keeps its pages: not checking the page cache");
        } else {
            // The first writes are beyond the window: written back and dropped from the
            // page cache, so a copy does not fill memory with the disk.
            let early = chunk * (chunks - WRITEBACK_WINDOW / chunk - 8);
            let resident = resident_pages(&disk.file, 0, early);
            assert!(
                resident < (early / 4096 / 10) as usize,
                "{resident} of {} early pages still cached",
                early / 4096
            );
        }
        BlockSink::flush(&disk).await.unwrap();
        assert_eq!(disk.writeback.pending_bytes(), 0);
        // The data is all there, read back through a new descriptor.
        let reader = LocalDisk::open(&path).unwrap();
        for i in 0..chunks {
            let back = reader
                .read_owned(i * chunk, vec![0; chunk as usize])
                .await
                .unwrap();
            assert!(back == pattern(i, chunk as usize), "chunk {i} differs");
        }
    }

    #[test]
    fn a_write_larger_than_the_window_is_waited_for_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("big")).unwrap();
        let length = WRITEBACK_WINDOW + 4096;
        std::os::unix::fs::FileExt::write_all_at(&file, &vec![7u8; length as usize], 0).unwrap();
        let writeback = Writeback::default();
        writeback.after_write(&file, 0, length).unwrap();
        assert_eq!(writeback.pending_bytes(), 0);
        assert!(!writeback.is_off());
    }

    #[test]
    fn descriptors_without_writeback_control_fall_back_to_the_kernel() {
        // A pipe refuses sync_file_range (ESPIPE): the writer goes on without it.
        let mut fds = [0; 2];
        // SAFETY: pipe fills two descriptors, each then owned by one File.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let (read, write) = unsafe {
            use std::os::fd::FromRawFd;
            (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1]))
        };
        let writeback = Writeback::default();
        writeback.after_write(&write, 0, 4096).unwrap();
        assert!(writeback.is_off());
        assert_eq!(writeback.pending_bytes(), 0);
        writeback.after_write(&write, 4096, 4096).unwrap();
        writeback.after_flush(&write);
        drop(read);
    }
}
