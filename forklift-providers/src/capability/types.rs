//! The values the capability traits exchange: VM, disk and snapshot references, changed
//! areas, snapshot options and the [`Capability`] names used in "unsupported" errors.

use std::fmt;

/// One of the capabilities a provider may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// Collecting the inventory ([`InventorySource`](super::InventorySource)).
    Inventory,
    /// Power state and power operations ([`PowerControl`](super::PowerControl)).
    Power,
    /// A specific power operation, e.g. guest shutdown.
    PowerOperation(&'static str),
    /// Creating and removing snapshots ([`Snapshots`](super::Snapshots)).
    Snapshots,
    /// Changed block tracking ([`ChangeTracking`](super::ChangeTracking)).
    ChangeTracking,
    /// Reading disks ([`DiskAccess`](super::DiskAccess)).
    DiskAccess,
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inventory => f.write_str("inventory collection"),
            Self::Power => f.write_str("power control"),
            Self::PowerOperation(op) => write!(f, "the power operation '{op}'"),
            Self::Snapshots => f.write_str("snapshots"),
            Self::ChangeTracking => f.write_str("changed block tracking"),
            Self::DiskAccess => f.write_str("disk access"),
        }
    }
}

/// A VM of the source provider, by its provider identifier (vSphere MoRef such as `vm-42`,
/// oVirt/OpenStack UUID, OVA VM id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VmRef(pub String);

impl VmRef {
    /// Wraps an identifier.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The identifier.
    pub fn id(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VmRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A snapshot of a VM (vSphere snapshot MoRef such as `snapshot-7`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapshotRef(pub String);

impl SnapshotRef {
    /// The identifier.
    pub fn id(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SnapshotRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A disk of a VM, identified the way the migration engine identifies disks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DiskRef {
    /// Provider device key (vSphere `key`, e.g. 2000); 0 when the provider has none.
    pub key: i32,
    /// Backing file or disk id (vSphere `[datastore] dir/name.vmdk`).
    pub file: String,
    /// Capacity in bytes.
    pub capacity: u64,
}

/// Options of a snapshot taken for migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRequest {
    /// Snapshot name.
    pub name: String,
    /// Free-form description.
    pub description: String,
    /// Include guest memory (never needed for migration).
    pub memory: bool,
    /// Quiesce the guest file systems through the guest tools.
    pub quiesce: bool,
    /// The change id the copies of this snapshot will ask changes since (the last
    /// completed precopy's), for sources that fix it when the point is taken: an oVirt
    /// incremental backup's `from_checkpoint_id`. vSphere ignores it.
    pub since: Option<String>,
}

impl SnapshotRequest {
    /// A disk-only, non-quiesced snapshot with this name, as warm migration takes them.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: "forklift".into(),
            memory: false,
            quiesce: false,
            since: None,
        }
    }
}

/// A changed (or, for a baseline, allocated) byte range of a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangedArea {
    /// Offset in bytes.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

/// Change identifier meaning "every allocated area", used for a baseline copy.
pub const ALL_ALLOCATED: &str = "*";

/// Power state as seen by the provider.
pub use forklift_core::inventory::PowerState;
