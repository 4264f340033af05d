//! The OVA provider: VMs exported from vSphere as OVF packages on an NFS share.
//!
//! ```text
//!   share (mounted)        scan            parse             inventory
//!   ├─ a.ova          ──▶  Package  ──▶  ovf::Envelope ──▶  OvaVm { disks, nics, ... }
//!   ├─ dir/b.ova                                               │
//!   └─ dir/x/vm.ovf                                            ▼
//!                                               open_disk: VmdkImage read in place
//! ```
//!
//! * [`scan`] finds packages as the guide describes (`.ova` down to the first-level
//!   subfolders, `.ovf` down to the second, one `.ovf` per folder, files younger than 30 s
//!   or empty skipped) on an injectable [`Clock`].
//! * [`tar`] lists `.ova` archives (ustar, GNU long names, pax) with the data offset of
//!   every member, so a streamOptimized disk is read in place without extracting it.
//! * [`ovf`] parses descriptors; [`vm`] turns them into upstream's VM records with stable
//!   [`ids`]; [`units`] converts OVF allocation units.
//! * [`appliance`] lists and uploads appliances (`applianceManagement`).
//!
//! Member names and file references that would escape a package (`..`, absolute paths,
//! links, URLs) are rejected; malformed archives, descriptors and disks are typed errors
//! naming the file. Every file of a package (the `.ova` or `.ovf`, the disks an `.ovf`
//! names, the extents of a VMDK descriptor) is opened through
//! [`forklift_transfer::confined::PackageDir::open_file`] and read through that handle: a
//! symbolic link in any component is refused, even one that would stay inside the package
//! (exported packages hold none), and so is anything but a regular file, so a FIFO or device
//! can never block a scan or a copy. An `.ova` holding two members of one name is refused,
//! as `tar -x` and a reader in place would disagree on which one is the disk. Every package
//! passed over is reported with its reason ([`CatalogInventory::skipped`]) and warned about.

pub mod appliance;
mod cache;
pub mod catalog;
mod error;
pub mod ids;
pub mod inventory;
pub mod ovf;
mod provider;
pub mod scan;
pub mod tar;
pub mod units;
pub mod vm;

pub use appliance::{ApplianceInfo, appliance_path, list_appliances, upload_appliance};
pub use catalog::{CatalogInventory, OvaCatalog, load_package, resolve_catalog_root};
pub use error::{Error, Result};
pub use provider::{APPLIANCE_MANAGEMENT_SETTING, MOUNT_POINT_SETTING, OvaProvider};
pub use scan::{Clock, FixedClock, SystemClock};
pub use vm::{OvaDisk, OvaNetwork, OvaNic, OvaVm, Package, PackageKind};
