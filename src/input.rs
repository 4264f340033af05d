//! Reading the files a user hands to forklift (manifests, inventory JSON) with bounds.
//!
//! A path given on the command line or found in a manifests directory may name anything:
//! `/dev/zero` (endless), a FIFO (an open that blocks until a writer appears), a symlink to
//! either, or a multi-gigabyte file. Every such file is read here: only regular files (after
//! following symlinks), opened with `O_NONBLOCK` so that opening a FIFO cannot block, checked
//! with `fstat` on the opened descriptor (so a file swapped after the check is still caught),
//! and read up to a size cap ([`DEFAULT_MAX_INPUT_SIZE`] unless the caller says otherwise;
//! `--max-input-size` on the command line). Standard input (`-`) is read up to the same cap.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Largest manifest or inventory file read by default: 64 MiB. Kubernetes itself refuses
/// objects over about 1.5 MiB, and the biggest real inventories are a few MiB; beyond that
/// the parsers' memory (around 30 bytes per input byte for YAML) becomes the problem.
pub const DEFAULT_MAX_INPUT_SIZE: u64 = 64 << 20;

/// Why an input file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// Opening, inspecting or reading the file failed.
    #[error("Cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The path (after following symlinks) is not a regular file.
    #[error("{path} is {what}, not a regular file")]
    NotRegular {
        /// The path as given.
        path: PathBuf,
        /// What it is (`a directory`, `a FIFO`, `a character device`...).
        what: &'static str,
    },
    /// The file (or standard input) is larger than the cap.
    #[error(
        "{path} is larger than {limit} bytes (the input size limit; raise it with --max-input-size)"
    )]
    TooLarge {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// The cap in bytes.
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error("{path} is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Offset of the first invalid byte.
        offset: usize,
    },
}

/// The contents of the regular file `path`, refusing anything else and anything larger than
/// `limit` bytes.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let io = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    // O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting.
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    let kind = metadata.file_type();
    if !kind.is_file() {
        return Err(InputError::NotRegular {
            path: path.to_path_buf(),
            what: describe(kind),
        });
    }
    if metadata.len() > limit {
        return Err(too_large(path, limit));
    }
    // The size may change under us: read at most one byte beyond the cap to notice.
    read_capped(file, path, limit)
}

/// Standard input, up to `limit` bytes.
pub fn read_stdin(limit: u64) -> Result<Vec<u8>, InputError> {
    read_capped(std::io::stdin().lock(), Path::new("-"), limit)
}

/// The text of `path` (`-` for standard input), bounded as [`read_file`] says.
pub fn read_text(path: &Path, limit: u64) -> Result<String, InputError> {
    let bytes = if path == Path::new("-") {
        read_stdin(limit)?
    } else {
        read_file(path, limit)?
    };
    String::from_utf8(bytes).map_err(|e| InputError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })
}

impl InputError {
    /// What is wrong, without the path (for reports that name the file already, such as
    /// manifest diagnostics).
    pub fn reason(&self) -> String {
        match self {
            InputError::Io { source, .. } => format!("Cannot read: {source}"),
            InputError::NotRegular { what, .. } => {
                format!("Not a regular file ({what}); only regular files are read")
            }
            InputError::TooLarge { limit, .. } => format!(
                "Larger than {limit} bytes (the input size limit; raise it with --max-input-size)"
            ),
            InputError::NotUtf8 { offset, .. } => {
                format!("Not UTF-8 text (invalid byte at offset {offset})")
            }
        }
    }
}

fn read_capped(reader: impl Read, path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(too_large(path, limit));
    }
    Ok(bytes)
}

fn too_large(path: &Path, limit: u64) -> InputError {
    InputError::TooLarge {
        path: path.to_path_buf(),
        limit,
    }
}

fn describe(kind: std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn reads_regular_files_and_symlinks_to_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        std::fs::write(&file, "x: 1\n").unwrap();
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_text(&link, 5).unwrap(), "x: 1\n");
    }

    #[test]
    fn refuses_devices_symlinks_to_them_fifos_and_directories_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let fifo = dir.path().join("fifo.yaml");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let started = Instant::now();
        for (path, what) in [
            (Path::new("/dev/zero"), "a character device"),
            (link.as_path(), "a character device"),
            (fifo.as_path(), "a FIFO"),
            (dir.path(), "a directory"),
        ] {
            let err = read_file(path, DEFAULT_MAX_INPUT_SIZE).unwrap_err();
            assert!(
                matches!(&err, InputError::NotRegular { path: p, what: w } if p == path && *w == what),
                "{err:?}"
            );
            assert!(err.to_string().contains(&path.display().to_string()));
        }
        assert!(started.elapsed() < Duration::from_secs(5), "nothing blocks");
    }

    #[test]
    fn the_size_cap_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.json");
        std::fs::write(&file, vec![b' '; 100]).unwrap();
        assert_eq!(read_file(&file, 100).unwrap().len(), 100);
        let err = read_file(&file, 99).unwrap_err();
        assert!(
            matches!(err, InputError::TooLarge { limit: 99, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("big.json"), "{err}");
        // A reader that grows past what fstat said is cut at the cap too.
        let err = read_capped(std::io::repeat(b'a'), Path::new("-"), 10).unwrap_err();
        assert!(matches!(err, InputError::TooLarge { limit: 10, .. }));
    }

    #[test]
    fn names_the_file_that_is_not_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.yaml");
        std::fs::write(&file, [b'a', 0xff]).unwrap();
        let err = read_text(&file, 10).unwrap_err();
        assert!(
            matches!(err, InputError::NotUtf8 { offset: 1, .. }),
            "{err:?}"
        );
    }
}
