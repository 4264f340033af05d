//! Errors of the OVA provider.

use std::path::PathBuf;

/// Errors raised while scanning, parsing, reading or uploading OVA packages. Each names the
/// file (and, inside an archive, the member) it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("Cannot access {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A tar archive is malformed.
    #[error("{archive} is not a valid tar archive: {reason}")]
    Tar {
        /// The archive.
        archive: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A tar member or an OVF file reference would escape the package.
    #[error("{package}: {name:?} is rejected: {reason}")]
    Unsafe {
        /// The package (`.ova` or `.ovf`).
        package: PathBuf,
        /// The member name or href.
        name: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// A tar archive holds two members of one name (after normalisation): `tar -x` keeps
    /// the last, a reader in place could take either, so the package is ambiguous.
    #[error(
        "{package}: the archive holds {name:?} more than once; a package with duplicate members is ambiguous and is refused"
    )]
    DuplicateMember {
        /// The archive.
        package: PathBuf,
        /// The member name, normalised.
        name: String,
    },
    /// A file of a package could not be opened inside it: a link in its path, not a
    /// regular file, outside the package, or missing.
    #[error(transparent)]
    Confined(#[from] forklift_transfer::confined::ConfineError),
    /// An OVF descriptor is malformed.
    #[error("{file} is not a valid OVF descriptor: {reason}")]
    Ovf {
        /// The descriptor (`.ovf`, or `archive.ova!member.ovf`).
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A package lacks something it must hold.
    #[error("{package}: {what}")]
    Missing {
        /// The package.
        package: PathBuf,
        /// What is missing.
        what: String,
    },
    /// A folder holds more than one `.ovf` descriptor.
    #[error("{dir} holds more than one .ovf file ({files}); only one is allowed per folder")]
    SeveralOvf {
        /// The folder.
        dir: PathBuf,
        /// The descriptors found, comma-separated.
        files: String,
    },
    /// A disk image could not be opened.
    #[error(transparent)]
    Disk(#[from] forklift_transfer::vmdk::Error),
    /// The request is invalid (a bad URL, a bad upload file name).
    #[error("{0}")]
    Invalid(String),
    /// An uploaded appliance already exists.
    #[error("An appliance named {name:?} already exists at {path}")]
    AlreadyExists {
        /// The file name.
        name: String,
        /// Where it is.
        path: PathBuf,
    },
    /// The operation is not supported for this package.
    #[error("{0}")]
    Unsupported(String),
}

/// Result of the OVA provider.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
