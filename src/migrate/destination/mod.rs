//! Where a migration lands: the [`Destination`] capability and its implementations.
//!
//! The runner never writes a file itself: it asks the destination to create each disk
//! (a [`BlockSink`] the copy pipeline fills), to write each object render produced, and to
//! remove what a failed VM created. A destination also says what it can do beyond that
//! ([`Destination::starts_vms`]), which render turns into the itinerary.

pub mod bundle;
mod confine;
pub mod kubevirt;
mod local;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use forklift_transfer::block::{BlockSink, BlockSource};

pub use local::LocalDestination;
pub(crate) use local::{blocking, write_atomic};

/// Why a destination operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// A file or directory operation failed.
    #[error("I/O error on {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An object could not be serialized.
    #[error("Cannot serialize {path}")]
    Serialize {
        /// Where it was to be written.
        path: PathBuf,
        /// The serializer's error.
        #[source]
        source: forklift_core::manifest::Error,
    },
    /// A disk image could not be created or opened.
    #[error("Disk image {path}")]
    Disk {
        /// The image.
        path: PathBuf,
        /// The transfer engine's error (boxed: it is large and rare).
        #[source]
        source: Box<forklift_transfer::Error>,
    },
    /// A name that would become a path component is not a DNS-1123 name (it could name a
    /// parent directory, an absolute path or the destination's own `.forklift`).
    #[error(
        "Refusing the {what} {name:?}: not a DNS-1123 name, so not a safe file name in the destination"
    )]
    UnsafeName {
        /// What the name is (`namespace`, `claim`, `plan name`...).
        what: &'static str,
        /// The name (printed escaped).
        name: String,
    },
    /// A path, symlinks resolved, lies outside the destination's root.
    #[error("Refusing to write {path}: it resolves to {resolved}, outside the destination {root}")]
    OutsideRoot {
        /// The path as built.
        path: PathBuf,
        /// Its directory with symlinks resolved.
        resolved: PathBuf,
        /// The destination root, symlinks resolved.
        root: PathBuf,
    },
    /// The cluster refused or failed (`kubevirt` destination).
    #[error(transparent)]
    Cluster(Box<kubevirt::ClusterError>),
    /// A blocking task of the destination died.
    #[error("A destination task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// One target disk, ready to be filled.
#[derive(Clone)]
pub struct DestinationDisk {
    /// What the copy writes to.
    pub sink: Arc<dyn BlockSink>,
    /// The same disk read back, for verification, when the destination can read it.
    pub readback: Option<Arc<dyn BlockSource>>,
    /// Where the copy keeps its checkpoint, so an interrupted copy resumes.
    pub checkpoint: Option<PathBuf>,
    /// Whether the disk reads as zeroes before the copy (holes need not be written).
    pub zero_initialized: bool,
    /// Where the disk is, for reports (a path or a URL).
    pub location: String,
}

impl std::fmt::Debug for DestinationDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestinationDisk")
            .field("location", &self.location)
            .field("checkpoint", &self.checkpoint)
            .field("zero_initialized", &self.zero_initialized)
            .finish_non_exhaustive()
    }
}

/// The kind of object a destination writes, in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A DataVolume or PVC of one disk.
    DiskClaim,
    /// The VirtualMachine.
    VirtualMachine,
}

/// Where VMs land. Implementations are injected into the runner.
#[async_trait]
pub trait Destination: Send + Sync + std::fmt::Debug {
    /// A short description for messages (`local:/path`).
    fn describe(&self) -> String;

    /// Whether created VMs are started (so the runner can wait for guest reboots).
    fn starts_vms(&self) -> bool {
        false
    }

    /// Creates (or reopens, to resume an interrupted copy) the disk `claim` of `size` bytes.
    async fn open_disk(
        &self,
        namespace: &str,
        claim: &str,
        size: u64,
    ) -> Result<DestinationDisk, DestinationError>;

    /// Like [`open_disk`](Self::open_disk), for a disk written in place more than once (warm
    /// precopies): a destination that streams disks keeps this one where it can be
    /// rewritten. The default opens it as any other.
    async fn open_rewritable_disk(
        &self,
        namespace: &str,
        claim: &str,
        size: u64,
    ) -> Result<DestinationDisk, DestinationError> {
        self.open_disk(namespace, claim, size).await
    }

    /// The local file holding disk `claim`, for a guest converter that works on files;
    /// `None` (the default) when the destination keeps its disks elsewhere.
    fn local_disk_path(&self, namespace: &str, claim: &str) -> Option<PathBuf> {
        let _ = (namespace, claim);
        None
    }

    /// Writes one object render produced.
    async fn write_object(
        &self,
        namespace: &str,
        kind: ObjectKind,
        name: &str,
        object: &serde_json::Value,
    ) -> Result<(), DestinationError>;

    /// The VM of `claim` succeeded: the checkpoint of its copy is no longer needed. The
    /// runner calls this only once the whole VM succeeded, so a VM that fails or is
    /// cancelled after this disk was copied resumes it on the next run instead of copying
    /// it again.
    async fn disk_completed(&self, namespace: &str, claim: &str) -> Result<(), DestinationError>;

    /// Forgets any progress an earlier run made on `claim` (`forklift migrate --restart`):
    /// the disk is then created anew and copied from zero.
    async fn discard_checkpoint(
        &self,
        namespace: &str,
        claim: &str,
    ) -> Result<(), DestinationError>;

    /// The size of the disk `claim` when the destination holds it completely copied, `None`
    /// when it does not (absent, or a copy still in progress). A VM an earlier run recorded
    /// as migrated is skipped only when each of its disks is still there at its size.
    async fn disk_size(
        &self,
        namespace: &str,
        claim: &str,
    ) -> Result<Option<u64>, DestinationError>;

    /// Removes what a VM's migration created (missing parts are not an error).
    async fn remove_vm(
        &self,
        namespace: &str,
        vm: &str,
        claims: &[String],
    ) -> Result<(), DestinationError>;

    /// Whether a cancelled VM's objects are removed like a failed one's (when the plan asks
    /// for deleteVmOnFailMigration), as upstream does. `false` (the default) keeps them so
    /// the next run resumes the VM's disks from their checkpoints.
    fn removes_on_cancel(&self) -> bool {
        false
    }

    /// Where the plan's status file is kept; `Err` when the plan's namespace or name cannot
    /// name a file safely (its directory is created).
    fn status_path(&self, plan_namespace: &str, plan: &str) -> Result<PathBuf, DestinationError>;
}
