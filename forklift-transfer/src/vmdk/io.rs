//! Positional reads over files and windows of files.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use super::error::{Error, Result};

/// A byte container read at arbitrary offsets: a whole file, or a window of one (a member of
/// a tar archive). Implementations must be safe to call from several threads at once.
pub trait ReadAt: Send + Sync {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read, 0 at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Length of the container in bytes.
    fn len(&self) -> u64;

    /// Whether the container holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Name used in error messages (a path, or `archive.ova!member`).
    fn name(&self) -> &str;

    /// The data runs of `[offset, offset + len)` as `(offset, length)` pairs, when the
    /// container knows which ranges are holes (a sparse file); `None` when it does not.
    fn data_runs(&self, offset: u64, len: u64) -> Option<Vec<(u64, u64)>> {
        let _ = (offset, len);
        None
    }
}

impl std::fmt::Debug for dyn ReadAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, or reports what was missing.
pub(crate) fn read_exact_at(
    src: &dyn ReadAt,
    buf: &mut [u8],
    offset: u64,
    what: &'static str,
) -> Result<()> {
    let truncated = || Error::Truncated {
        file: src.name().to_owned(),
        what,
        offset,
        len: src.len(),
    };
    let end = offset.checked_add(buf.len() as u64).ok_or_else(truncated)?;
    if end > src.len() {
        return Err(truncated());
    }
    let mut done = 0;
    while done < buf.len() {
        match src.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => return Err(truncated()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(src.name(), e)),
        }
    }
    Ok(())
}

/// A read-only window `[start, start + len)` of a file, named for error messages.
///
/// A whole file is the window starting at 0 that spans it; a streamOptimized VMDK inside an
/// `.ova` is the window of its tar member's data.
#[derive(Debug, Clone)]
pub struct FileWindow {
    file: Arc<File>,
    start: u64,
    len: u64,
    name: String,
}

impl FileWindow {
    /// A window of `file`. Reads never go past `start + len`.
    pub fn new(file: Arc<File>, start: u64, len: u64, name: impl Into<String>) -> Self {
        FileWindow {
            file,
            start,
            len,
            name: name.into(),
        }
    }

    /// The whole of `file` (opened through [`crate::confined::PackageDir::open_file`]),
    /// named `name`.
    pub fn whole(file: File, name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let len = file.metadata().map_err(|e| Error::io(&name, e))?.len();
        Ok(FileWindow::new(Arc::new(file), 0, len, name))
    }

    /// Offset of the window in the underlying file.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The underlying file.
    pub fn file(&self) -> &Arc<File> {
        &self.file
    }
}

impl ReadAt for FileWindow {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = buf
            .len()
            .min(usize::try_from(self.len - offset).unwrap_or(usize::MAX));
        self.file.read_at(&mut buf[..n], self.start + offset)
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn data_runs(&self, offset: u64, len: u64) -> Option<Vec<(u64, u64)>> {
        use std::os::fd::AsRawFd;
        let end = offset.checked_add(len)?.min(self.len);
        let fd = self.file.as_raw_fd();
        let mut runs = Vec::new();
        let mut pos = offset;
        while pos < end {
            let abs = i64::try_from(self.start.checked_add(pos)?).ok()?;
            // SAFETY: lseek on a file descriptor owned by `self.file`, which outlives the call.
            let data = unsafe { libc::lseek(fd, abs, libc::SEEK_DATA) };
            if data < 0 {
                // ENXIO: no data after `pos`; anything else: the filesystem cannot tell.
                return (std::io::Error::last_os_error().raw_os_error() == Some(libc::ENXIO))
                    .then_some(runs);
            }
            let data_start = (data as u64).saturating_sub(self.start);
            if data_start >= end {
                break;
            }
            // SAFETY: as above.
            let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
            if hole < 0 {
                return None;
            }
            let data_end = (hole as u64).saturating_sub(self.start).min(end);
            if data_end <= data_start {
                return None;
            }
            runs.push((data_start, data_end - data_start));
            pos = data_end;
        }
        Some(runs)
    }
}

/// An in-memory container, for tests, fuzzing and small embedded images.
#[derive(Debug, Clone)]
pub struct MemoryWindow {
    name: String,
    data: Vec<u8>,
}

impl MemoryWindow {
    /// Wraps `data`, named `name` in error messages.
    pub fn new(name: impl Into<String>, data: Vec<u8>) -> Self {
        MemoryWindow {
            name: name.into(),
            data,
        }
    }
}

impl ReadAt for MemoryWindow {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        if start >= self.data.len() {
            return Ok(0);
        }
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        Ok(n)
    }

    fn len(&self) -> u64 {
        self.data.len() as u64
    }

    fn name(&self) -> &str {
        &self.name
    }
}
