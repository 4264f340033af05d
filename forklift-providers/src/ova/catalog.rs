//! The OVA catalog: a directory of packages, scanned, parsed and read in place.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use forklift_core::error::{PeerText, chain};
use forklift_core::inventory::OvaSkipReason;
use forklift_transfer::confined::PackageDir;
use forklift_transfer::vmdk::{FileWindow, VmdkImage};
use serde::Serialize;

use super::cache::PackageStamp;
use super::error::{Error, Result};
use super::ovf::{self, Envelope};
use super::scan::{self, Clock, SETTLE_TIME, Skipped, SystemClock};
use super::tar;
use super::vm::{OvaDisk, OvaNetwork, OvaVm, Package, PackageKind, check_href, virtual_machines};

/// Largest OVF descriptor accepted.
pub const MAX_OVF_BYTES: u64 = 16 << 20;

/// Everything a scan of the catalog found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CatalogInventory {
    /// VMs, one per `VirtualSystem`, `.ova` packages first.
    pub vms: Vec<OvaVm>,
    /// Networks of all packages, one per ID.
    pub networks: Vec<OvaNetwork>,
    /// Disks of all packages, one per ID.
    pub disks: Vec<OvaDisk>,
    /// Files and folders passed over (too recent, empty, links, special files) or that
    /// could not be loaded (unreadable, unsafe, invalid), each with its reason.
    pub skipped: Vec<Skipped>,
}

/// A catalog of OVA packages in a directory (an NFS share mounted by the user).
#[derive(Clone)]
pub struct OvaCatalog {
    root: PathBuf,
    clock: Arc<dyn Clock>,
    settle: Duration,
}

impl std::fmt::Debug for OvaCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OvaCatalog")
            .field("root", &self.root)
            .field("settle", &self.settle)
            .finish()
    }
}

/// Resolves a provider URL to the local catalog directory.
///
/// `server:/export` and `nfs://server/export` name an NFS share, which must be mounted:
/// they resolve to `mount_point`. An absolute path or a `file://` URL names a local directory
/// and needs no mount point.
pub fn resolve_catalog_root(url: &str, mount_point: Option<&Path>) -> Result<PathBuf> {
    let url = url.trim();
    if url.is_empty() {
        return Err(Error::Invalid("The OVA provider URL is empty".into()));
    }
    if let Some(path) = url.strip_prefix("file://") {
        return local_root(path);
    }
    if url.starts_with('/') {
        return local_root(url);
    }
    let (server, export) = if let Some(rest) = url.strip_prefix("nfs://") {
        match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        }
    } else {
        url.split_once(':').unwrap_or((url, ""))
    };
    if server.is_empty() || server.contains('/') || !export.starts_with('/') {
        return Err(Error::Invalid(format!(
            "The OVA provider URL {url:?} is not an NFS share of the form server:/path"
        )));
    }
    let mount = mount_point.ok_or_else(|| {
        Error::Invalid(format!(
            "The NFS share {url} must be mounted; give its local mount point"
        ))
    })?;
    if !mount.is_dir() {
        return Err(Error::Invalid(format!(
            "The mount point {} of {url} is not a directory",
            mount.display()
        )));
    }
    Ok(mount.to_path_buf())
}

fn local_root(path: &str) -> Result<PathBuf> {
    let p = PathBuf::from(path);
    if !p.is_absolute() {
        return Err(Error::Invalid(format!(
            "The catalog path {path:?} is not absolute"
        )));
    }
    Ok(p)
}

impl OvaCatalog {
    /// A catalog rooted at `root`, on the system clock, skipping files younger than 30 s.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        OvaCatalog {
            root: root.into(),
            clock: Arc::new(SystemClock),
            settle: SETTLE_TIME,
        }
    }

    /// A catalog for a provider URL (see [`resolve_catalog_root`]).
    pub fn from_url(url: &str, mount_point: Option<&Path>) -> Result<Self> {
        Ok(Self::new(resolve_catalog_root(url, mount_point)?))
    }

    /// Uses `clock` to decide which files are too recent.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Changes how long a file must be left unmodified before it is scanned.
    pub fn with_settle_time(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// The catalog directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Scans and parses every package. A package that fails is reported in
    /// [`CatalogInventory::skipped`], and logged as a warning, and does not stop the scan;
    /// only an unreadable root fails.
    pub fn scan(&self) -> Result<CatalogInventory> {
        self.scan_stamped().map(|(inventory, _)| inventory)
    }

    /// [`scan`](Self::scan), with the stamp of every package file loaded, keyed by the
    /// path as VMs name it ([`OvaVm::ovf_path`]), each taken from the open file before it
    /// was read.
    pub(crate) fn scan_stamped(&self) -> Result<(CatalogInventory, HashMap<String, PackageStamp>)> {
        self.scan_with(&mut load_vms_stamped)
    }

    /// [`scan_stamped`](Self::scan_stamped), each package listed loaded through `load`
    /// (which may hand back an earlier load of an unchanged package): the listing itself
    /// (which files are packages, which are skipped and why) is always taken anew.
    pub(crate) fn scan_with(
        &self,
        load: &mut dyn FnMut(&Package) -> Result<LoadedVms>,
    ) -> Result<(CatalogInventory, HashMap<String, PackageStamp>)> {
        let mut stamps = HashMap::new();
        let found = scan::scan(&self.root, self.clock.as_ref(), self.settle)?;
        let mut inventory = CatalogInventory {
            skipped: found.skipped,
            ..CatalogInventory::default()
        };
        for error in found.errors {
            let path = match &error {
                Error::SeveralOvf { dir, .. } => dir.clone(),
                Error::Io { path, .. } => path.clone(),
                _ => self.root.clone(),
            };
            inventory.skipped.push(Skipped {
                relative: scan::relative(&self.root, &path),
                path,
                reason: skip_reason(&error),
                message: chain(&error),
                retry_after: None,
            });
        }
        for package in &found.packages {
            match load(package) {
                Ok((vms, stamp)) => {
                    stamps.insert(package.path.display().to_string(), stamp);
                    for vm in vms {
                        for n in &vm.networks {
                            if !inventory.networks.iter().any(|m| m.id == n.id) {
                                inventory.networks.push(n.clone());
                            }
                        }
                        for d in &vm.disks {
                            if !inventory.disks.iter().any(|m| m.id == d.id) {
                                inventory.disks.push(d.clone());
                            }
                        }
                        inventory.vms.push(vm);
                    }
                }
                Err(error) => inventory.skipped.push(Skipped {
                    path: package.path.clone(),
                    relative: package.relative.clone(),
                    reason: skip_reason(&error),
                    message: chain(&error),
                    retry_after: None,
                }),
            }
        }
        for skipped in &inventory.skipped {
            // Names come from whoever filled the share: escaped before they reach a terminal.
            let package = PeerText(&skipped.relative);
            let reason = skipped.reason.describe();
            if skipped.message.is_empty() {
                tracing::warn!(%package, reason, "Skipping OVA package");
            } else {
                let error = PeerText(&skipped.message);
                tracing::warn!(%package, reason, %error, "Skipping OVA package");
            }
        }
        Ok((inventory, stamps))
    }

    /// Opens `disk` of `vm` for reading: a disk inside an `.ova` is read in place from the
    /// archive, a disk of an `.ovf` package from the file beside the descriptor.
    pub fn open_disk(&self, vm: &OvaVm, disk: &OvaDisk) -> Result<VmdkImage> {
        self.open_disk_checked(vm, disk, None)?.ok_or_else(|| {
            // Not reached: without a stamp to compare, a package is never "changed".
            Error::Invalid(format!("{} changed while it was opened", vm.ovf_path))
        })
    }

    /// [`open_disk`](Self::open_disk), if the package file is still the one stamped
    /// `stamp` (same file, unchanged since): `None` when it is not, so the caller rescans.
    /// The stamp is compared on the very handle the disk is then read through.
    pub(crate) fn open_disk_if_unchanged(
        &self,
        vm: &OvaVm,
        disk: &OvaDisk,
        stamp: &PackageStamp,
    ) -> Result<Option<VmdkImage>> {
        self.open_disk_checked(vm, disk, Some(stamp))
    }

    fn open_disk_checked(
        &self,
        vm: &OvaVm,
        disk: &OvaDisk,
        stamp: Option<&PackageStamp>,
    ) -> Result<Option<VmdkImage>> {
        let package = PathBuf::from(&vm.ovf_path);
        if !package.starts_with(&self.root) {
            return Err(Error::Invalid(format!(
                "{} is not in the catalog {}",
                package.display(),
                self.root.display()
            )));
        }
        open_disk(
            &package,
            vm.package_kind.unwrap_or_else(|| kind_of(&package)),
            disk,
            stamp,
        )
    }
}

fn kind_of(path: &Path) -> PackageKind {
    match path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
    {
        Some(e) if e == "ovf" => PackageKind::Ovf,
        _ => PackageKind::Ova,
    }
}

/// Why a package that failed to load is skipped.
fn skip_reason(error: &Error) -> OvaSkipReason {
    match error {
        Error::Unsafe { .. } | Error::DuplicateMember { .. } => OvaSkipReason::Unsafe,
        Error::Confined(e)
        | Error::Disk(forklift_transfer::vmdk::Error::Confined { source: e, .. }) => {
            if e.is_not_found() {
                OvaSkipReason::Invalid
            } else {
                OvaSkipReason::Unsafe
            }
        }
        Error::Io { .. } => OvaSkipReason::Unreadable,
        Error::SeveralOvf { .. } => OvaSkipReason::SeveralOvf,
        Error::Tar { .. }
        | Error::Ovf { .. }
        | Error::Missing { .. }
        | Error::Disk(_)
        | Error::Invalid(_)
        | Error::AlreadyExists { .. }
        | Error::Unsupported(_) => OvaSkipReason::Invalid,
    }
}

/// Opens the package file at `path` (an `.ova` or `.ovf`) through the confined opener, in
/// the folder that holds it: a link, FIFO or device is refused without blocking. Returns the
/// folder, for the files an `.ovf` names, and the open file.
fn open_package(path: &Path) -> Result<(PackageDir, File)> {
    let (dir, name) = PackageDir::open_parent(path)?;
    let file = dir.open_file(&name)?;
    Ok((dir, file))
}

/// Reads and parses one package: its envelope and its VMs. Every disk file the descriptor
/// references must be present in the package: a member of an `.ova` (whose members must be
/// safe and unique), or a regular file reached without links inside the folder of an `.ovf`.
pub fn load_package(package: &Package) -> Result<(Envelope, Vec<OvaVm>)> {
    load_package_stamped(package).map(|(envelope, vms, _)| (envelope, vms))
}

/// A package's VMs and the stamp of the file they were read from.
pub(crate) type LoadedVms = (Vec<OvaVm>, PackageStamp);

/// [`load_package`]'s VMs and the stamp of the package file they were read from, taken
/// from the open file before it was read.
pub(crate) fn load_vms_stamped(package: &Package) -> Result<LoadedVms> {
    load_package_stamped(package).map(|(_, vms, stamp)| (vms, stamp))
}

/// [`load_package`], and the stamp of the package file, taken before anything is read.
fn load_package_stamped(package: &Package) -> Result<(Envelope, Vec<OvaVm>, PackageStamp)> {
    let (dir, file) = open_package(&package.path)?;
    let stamp = PackageStamp::of(&file, &package.path)?;
    match package.kind {
        PackageKind::Ova => {
            let members = tar::list(&file, &package.path)?;
            tar::check_members(&package.path, &members)?;
            let descriptor = members
                .iter()
                .find(|m| m.kind == tar::MemberKind::File && m.has_suffix(".ovf"))
                .ok_or_else(|| Error::Missing {
                    package: package.path.clone(),
                    what: "unexpected end of file while looking for .ovf".into(),
                })?;
            if descriptor.size > MAX_OVF_BYTES {
                return Err(Error::Ovf {
                    file: tar::member_label(&package.path, &descriptor.name),
                    reason: format!("descriptor is larger than {MAX_OVF_BYTES} bytes"),
                });
            }
            let mut xml = vec![0u8; descriptor.size as usize];
            file.read_exact_at(&mut xml, descriptor.data_offset)
                .map_err(|e| Error::io(&package.path, e))?;
            let envelope = ovf::parse(&tar::member_label(&package.path, &descriptor.name), &xml)?;
            let vms = virtual_machines(&envelope, package)?;
            for f in &envelope.references {
                if envelope.disks.iter().any(|d| d.file_ref == f.id)
                    && tar::find(&members, &f.href).is_none()
                {
                    return Err(Error::Missing {
                        package: package.path.clone(),
                        what: format!(
                            "disk file {:?} referenced by the descriptor is not in the archive",
                            f.href
                        ),
                    });
                }
            }
            Ok((envelope, vms, stamp))
        }
        PackageKind::Ovf => {
            let mut xml = Vec::new();
            file.take(MAX_OVF_BYTES + 1)
                .read_to_end(&mut xml)
                .map_err(|e| Error::io(&package.path, e))?;
            if xml.len() as u64 > MAX_OVF_BYTES {
                return Err(Error::Ovf {
                    file: package.path.display().to_string(),
                    reason: format!("descriptor is larger than {MAX_OVF_BYTES} bytes"),
                });
            }
            let envelope = ovf::parse(&package.path.display().to_string(), &xml)?;
            let vms = virtual_machines(&envelope, package)?;
            for f in &envelope.references {
                if envelope.disks.iter().any(|d| d.file_ref == f.id) {
                    extracted_file(&package.path, &dir, &f.href)?;
                }
            }
            Ok((envelope, vms, stamp))
        }
    }
}

/// Opens the file `href` of the extracted package `package` in `dir`: present, regular, and
/// reached without a link in any component.
fn extracted_file(package: &Path, dir: &PackageDir, href: &str) -> Result<File> {
    check_href(package, href)?;
    dir.open_file(href).map_err(|e| {
        if e.is_not_found() {
            Error::Missing {
                package: package.to_path_buf(),
                what: format!("disk file {href:?} referenced by the descriptor does not exist"),
            }
        } else {
            Error::Confined(e)
        }
    })
}

/// Opens `disk` of the package at `package`; `None` when `stamp` is given and the package
/// file no longer matches it.
fn open_disk(
    package: &Path,
    kind: PackageKind,
    disk: &OvaDisk,
    stamp: Option<&PackageStamp>,
) -> Result<Option<VmdkImage>> {
    let format = disk.format.to_ascii_lowercase();
    if !format.is_empty() && !format.contains("vmdk") {
        return Err(Error::Unsupported(format!(
            "{}: disk {:?} has format {:?}; only VMDK disks are supported",
            package.display(),
            disk.name,
            disk.format
        )));
    }
    check_href(package, &disk.name)?;
    let (dir, file) = open_package(package)?;
    if let Some(stamp) = stamp {
        if PackageStamp::of(&file, package)? != *stamp {
            return Ok(None);
        }
    }
    let image = match kind {
        PackageKind::Ova => {
            let members = tar::list(&file, package)?;
            tar::check_members(package, &members)?;
            let member = tar::find(&members, &disk.name).ok_or_else(|| Error::Missing {
                package: package.to_path_buf(),
                what: format!("disk file {:?} is not in the archive", disk.name),
            })?;
            let window = FileWindow::new(
                Arc::new(file),
                member.data_offset,
                member.size,
                tar::member_label(package, &member.name),
            );
            VmdkImage::open_single(Arc::new(window))?
        }
        // The disk and every extent its descriptor names are opened inside the package's
        // folder through the same confined opener.
        PackageKind::Ovf => VmdkImage::open_in(&dir, &disk.name)?,
    };
    Ok(Some(image))
}
