//! Errors of the VMDK readers.

use std::io;

/// Errors raised while opening or reading a VMDK image. Each names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the file failed.
    #[error("Cannot read {file}: {source}")]
    Io {
        /// File (or archive member) being read.
        file: String,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// The file ends before a structure it announces.
    #[error("{file} is truncated: {what} at byte {offset} lies beyond its end ({len} bytes)")]
    Truncated {
        /// File (or archive member) being read.
        file: String,
        /// Structure that was expected.
        what: &'static str,
        /// Byte offset of the structure.
        offset: u64,
        /// Length of the file.
        len: u64,
    },
    /// The file is not a VMDK image or its metadata is inconsistent.
    #[error("{file} is not a valid VMDK image: {reason}")]
    Malformed {
        /// File (or archive member) being read.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The image is valid but uses a feature these readers do not support.
    #[error("{file} uses an unsupported VMDK feature: {feature}")]
    Unsupported {
        /// File (or archive member) being read.
        file: String,
        /// The feature.
        feature: String,
    },
    /// A file of the image cannot be opened inside its directory: missing, a link, not a
    /// regular file, or named outside it.
    #[error("{source}")]
    Confined {
        /// The file asked for, as a path.
        file: String,
        /// Why it cannot be opened.
        #[source]
        source: crate::confined::ConfineError,
    },
    /// A stream read by its markers that needs one index entry per grain (its grain
    /// markers are not in disk order, or lie more than 2 TiB into the file) and names more
    /// grains than such an index may hold ([`MAX_UNORDERED_GRAINS`](super::MAX_UNORDERED_GRAINS)).
    #[error(
        "{file}: its stream markers are out of disk order (or lie past 2 TiB into the file) \
         and name more than {limit} grains, more than such a stream may index; convert it \
         (qemu-img convert) or give it a grain directory"
    )]
    Unordered {
        /// File (or archive member) being read.
        file: String,
        /// Grains such a stream may index.
        limit: usize,
    },
    /// A read outside the virtual disk was requested.
    #[error("Read of {len} bytes at {offset} is beyond the {capacity}-byte disk {file}")]
    OutOfRange {
        /// Image being read.
        file: String,
        /// Requested offset.
        offset: u64,
        /// Requested length.
        len: u64,
        /// Virtual disk size in bytes.
        capacity: u64,
    },
}

/// Result of the VMDK readers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(file: &str, source: io::Error) -> Self {
        Error::Io {
            file: file.to_owned(),
            source,
        }
    }

    pub(crate) fn malformed(file: &str, reason: impl Into<String>) -> Self {
        Error::Malformed {
            file: file.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(file: &str, feature: impl Into<String>) -> Self {
        Error::Unsupported {
            file: file.to_owned(),
            feature: feature.into(),
        }
    }

    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            Error::Io { file, .. }
            | Error::Truncated { file, .. }
            | Error::Malformed { file, .. }
            | Error::Unsupported { file, .. }
            | Error::OutOfRange { file, .. }
            | Error::Unordered { file, .. }
            | Error::Confined { file, .. } => file,
        }
    }
}
