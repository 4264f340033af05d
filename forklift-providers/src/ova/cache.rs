//! The provider's last scan of its catalog, reused to open disks.
//!
//! Opening a disk resolves a VM ID and a disk ID to a package and a member, which takes a
//! scan: every package of the catalog listed and its descriptor parsed. When every open
//! scanned anew, a plan of 20 VMs with 40 disks made 41 scans of 20 packages, 40 of them at
//! once on the blocking pool. So the provider keeps its last scan ([`ScanCache`]) with the
//! [`PackageStamp`] of every package file it loaded, taken from the open file before it
//! was read. A disk open resolves the IDs in that scan, opens the package and compares the
//! stamp of the handle it is about to read through: the same file, unchanged since the
//! scan, reads as the scan described it. Anything else (the VM or disk not in the scan,
//! the package gone, replaced or written since) rescans once, as every open did before,
//! and resolves in the new scan; a rescan that finds a disk does not compare stamps, as
//! before. Concurrent opens that find the scan stale share one rescan.
//!
//! [`collect_inventory`](crate::capability::InventorySource::collect_inventory) rescans on
//! every request, as upstream's server does, but loads again only what changed: the
//! listing (which files are packages, which are skipped and why) is always taken anew, so
//! a package added, removed or still settling shows at once, and each package listed is
//! loaded again unless its file still has the stamp of the last load, and (an extracted
//! `.ovf`, whose disk files sit beside it) its folder's too: an entry added, removed or
//! renamed there moves the folder's change time. A package that failed to load is loaded
//! again every time (its error may have been mended).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use forklift_transfer::vmdk::VmdkImage;

use super::catalog::{CatalogInventory, OvaCatalog, load_vms_stamped};
use super::error::{Error, Result};
use super::vm::{OvaDisk, OvaVm, Package, PackageKind};

/// What tells one state of a package file from another: the file (device and inode), its
/// size, and its modification and change times (the change time moves on every write,
/// rename or `touch`, and cannot be set back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackageStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl PackageStamp {
    /// The stamp of the open `file` (at `path`, for errors).
    pub(crate) fn of(file: &File, path: &Path) -> Result<Self> {
        let m = file.metadata().map_err(|e| Error::io(path, e))?;
        Ok(Self::of_metadata(&m))
    }

    /// The stamp of whatever `path` names now, a link itself rather than its target (a
    /// package replaced by a link is never the file it was).
    fn at(path: &Path) -> Result<Self> {
        let m = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
        Ok(Self::of_metadata(&m))
    }

    fn of_metadata(m: &std::fs::Metadata) -> Self {
        PackageStamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// A package as a scan loaded it, handed back by the next scan while unchanged.
#[derive(Debug, Clone)]
struct Loaded {
    /// The package file's stamp, from the handle it was read through.
    stamp: PackageStamp,
    /// An extracted package's folder, stamped before the load.
    folder: Option<PackageStamp>,
    vms: Vec<OvaVm>,
}

impl Loaded {
    /// Whether `package` is still the file (and folder) this load read.
    fn is_current(&self, package: &Package) -> bool {
        let folder = match package.kind {
            PackageKind::Ova => None,
            PackageKind::Ovf => match package.path.parent().map(PackageStamp::at) {
                Some(Ok(stamp)) => Some(stamp),
                _ => return false,
            },
        };
        folder == self.folder && PackageStamp::at(&package.path).is_ok_and(|s| s == self.stamp)
    }
}

/// Loads `package`, or hands back `previous`'s load of it while unchanged; records what
/// it loaded in `loaded` and counts new loads in `loads`.
fn load_or_reuse(
    package: &Package,
    previous: Option<&CachedScan>,
    loaded: &mut HashMap<PathBuf, Loaded>,
    loads: &AtomicU64,
) -> Result<(Vec<OvaVm>, PackageStamp)> {
    if let Some(earlier) = previous.and_then(|p| p.packages.get(&package.path))
        && earlier.is_current(package)
    {
        loaded.insert(package.path.clone(), earlier.clone());
        return Ok((earlier.vms.clone(), earlier.stamp));
    }
    // Before the load: a folder changed while it runs is seen by the next scan.
    let folder = match package.kind {
        PackageKind::Ova => None,
        PackageKind::Ovf => package.path.parent().map(PackageStamp::at).transpose()?,
    };
    loads.fetch_add(1, Ordering::Relaxed);
    let (vms, stamp) = load_vms_stamped(package)?;
    loaded.insert(
        package.path.clone(),
        Loaded {
            stamp,
            folder,
            vms: vms.clone(),
        },
    );
    Ok((vms, stamp))
}

/// One scan's VMs and the stamps of the packages they came from.
#[derive(Debug)]
pub(crate) struct CachedScan {
    vms: Vec<OvaVm>,
    /// Keyed by [`OvaVm::ovf_path`].
    stamps: HashMap<String, PackageStamp>,
    /// Every package loaded, by path, for the next scan to reuse.
    packages: HashMap<PathBuf, Loaded>,
}

impl CachedScan {
    /// The VM `vm_id` and its disk of ID or file name `disk`.
    fn find(&self, vm_id: &str, disk: &str) -> Result<(&OvaVm, &OvaDisk)> {
        let vm = self
            .vms
            .iter()
            .find(|v| v.id == vm_id)
            .ok_or_else(|| Error::Invalid(format!("VM {vm_id:?} is not in the OVA catalog")))?;
        let found = vm
            .disks
            .iter()
            .find(|d| d.id == disk || d.name == disk)
            .ok_or_else(|| Error::Invalid(format!("VM {vm_id:?} has no disk {disk:?}")))?;
        Ok((vm, found))
    }

    /// Opens the disk if this scan knows it and its package is unchanged; `None` otherwise.
    fn open_if_current(
        &self,
        catalog: &OvaCatalog,
        vm_id: &str,
        disk: &str,
    ) -> Result<Option<VmdkImage>> {
        let Ok((vm, disk)) = self.find(vm_id, disk) else {
            return Ok(None);
        };
        let Some(stamp) = self.stamps.get(&vm.ovf_path) else {
            return Ok(None);
        };
        match catalog.open_disk_if_unchanged(vm, disk, stamp) {
            // Gone or unreadable since the scan: the rescan tells what is there now.
            Err(_) => Ok(None),
            other => other,
        }
    }

    /// Opens the disk as this (fresh) scan describes it.
    fn open(&self, catalog: &OvaCatalog, vm_id: &str, disk: &str) -> Result<VmdkImage> {
        let (vm, disk) = self.find(vm_id, disk)?;
        catalog.open_disk(vm, disk)
    }
}

/// The last scan of a provider's catalog; see the [module documentation](self).
#[derive(Debug, Default)]
pub(crate) struct ScanCache {
    last: tokio::sync::Mutex<Option<Arc<CachedScan>>>,
    /// Scans made, for tests and logs.
    scans: AtomicU64,
    /// Packages loaded (not reused) by those scans.
    loads: Arc<AtomicU64>,
}

impl ScanCache {
    /// Scans `catalog` (on the blocking pool), loading only the packages changed since the
    /// last scan, keeps the result and returns the inventory.
    pub(crate) async fn rescan(&self, catalog: &OvaCatalog) -> Result<CatalogInventory> {
        let mut last = self.last.lock().await;
        let (inventory, cached) = self.scan(catalog, last.clone()).await?;
        *last = Some(cached);
        Ok(inventory)
    }

    async fn scan(
        &self,
        catalog: &OvaCatalog,
        previous: Option<Arc<CachedScan>>,
    ) -> Result<(CatalogInventory, Arc<CachedScan>)> {
        self.scans.fetch_add(1, Ordering::Relaxed);
        let catalog = catalog.clone();
        let loads = self.loads.clone();
        let (inventory, stamps, packages) = blocking(move || {
            let mut packages = HashMap::new();
            let (inventory, stamps) = catalog.scan_with(&mut |package| {
                load_or_reuse(package, previous.as_deref(), &mut packages, &loads)
            })?;
            Ok((inventory, stamps, packages))
        })
        .await?;
        let cached = Arc::new(CachedScan {
            vms: inventory.vms.clone(),
            stamps,
            packages,
        });
        Ok((inventory, cached))
    }

    /// Opens disk `disk` (ID or file name) of VM `vm_id`: through the cached scan when its
    /// package is unchanged, else through a new scan.
    pub(crate) async fn open_disk(
        &self,
        catalog: &OvaCatalog,
        vm_id: &str,
        disk: &str,
    ) -> Result<VmdkImage> {
        let cached = self.last.lock().await.clone();
        if let Some(cached) = cached.clone() {
            let (catalog, vm_id, disk) = (catalog.clone(), vm_id.to_owned(), disk.to_owned());
            let image = blocking(move || cached.open_if_current(&catalog, &vm_id, &disk)).await?;
            if let Some(image) = image {
                return Ok(image);
            }
        }
        let fresh = {
            let mut last = self.last.lock().await;
            match (&*last, &cached) {
                // Another open rescanned since this one looked: use its scan.
                (Some(now), Some(seen)) if !Arc::ptr_eq(now, seen) => now.clone(),
                (Some(now), None) => now.clone(),
                _ => {
                    let (_, fresh) = self.scan(catalog, cached.clone()).await?;
                    *last = Some(fresh.clone());
                    fresh
                }
            }
        };
        let (catalog, vm_id, disk) = (catalog.clone(), vm_id.to_owned(), disk.to_owned());
        blocking(move || fresh.open(&catalog, &vm_id, &disk)).await
    }

    /// How many scans this cache has made.
    #[cfg(test)]
    fn scans(&self) -> u64 {
        self.scans.load(Ordering::Relaxed)
    }

    /// How many packages those scans loaded (not reused).
    #[cfg(test)]
    fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }
}

/// Runs catalog work on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Io {
            path: "OVA catalog".into(),
            source: std::io::Error::other(e.to_string()),
        })?
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::{Duration, SystemTime};

    use forklift_transfer::block::BlockSource;
    use forklift_transfer::vmdk::VmdkSource;

    use super::*;
    use crate::ova::FixedClock;

    const VM: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

    /// An extracted package `dir/vm.ovf` of VM [`VM`] with one monolithicFlat disk
    /// `disk.vmdk` of one sector, filled with `fill`.
    fn write_package(dir: &Path, fill: u8) {
        std::fs::create_dir_all(dir).unwrap();
        let ovf = format!(
            r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
  <References><File ovf:href="disk.vmdk" ovf:id="file1"/></References>
  <DiskSection><Disk ovf:capacity="512" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <VirtualSystem ovf:id="{VM}"><Name>vm-{fill}</Name></VirtualSystem>
</Envelope>"#
        );
        std::fs::write(dir.join("vm.ovf"), ovf).unwrap();
        std::fs::write(
            dir.join("disk.vmdk"),
            "# Disk DescriptorFile\ncreateType=\"monolithicFlat\"\nRW 1 FLAT \"disk-flat.vmdk\" 0\n",
        )
        .unwrap();
        std::fs::write(dir.join("disk-flat.vmdk"), [fill; 512]).unwrap();
    }

    fn catalog(root: &Path) -> OvaCatalog {
        // Every file counts as settled.
        OvaCatalog::new(root).with_clock(Arc::new(FixedClock(
            SystemTime::now() + Duration::from_secs(3600),
        )))
    }

    async fn first_byte(cache: &ScanCache, catalog: &OvaCatalog) -> u8 {
        let image = cache.open_disk(catalog, VM, "disk.vmdk").await.unwrap();
        let source = VmdkSource::new(image);
        let mut buf = vec![0u8; 512];
        source.read_at(0, &mut buf).await.unwrap();
        buf[0]
    }

    #[tokio::test]
    async fn disks_open_from_one_scan_while_the_package_is_unchanged() {
        let root = tempfile::tempdir().unwrap();
        write_package(&root.path().join("a"), 7);
        let (catalog, cache) = (catalog(root.path()), ScanCache::default());
        // The first open scans; the next ones, concurrent or not, reuse that scan.
        assert_eq!(first_byte(&cache, &catalog).await, 7);
        let (a, b, c) = tokio::join!(
            first_byte(&cache, &catalog),
            first_byte(&cache, &catalog),
            first_byte(&cache, &catalog)
        );
        assert_eq!((a, b, c), (7, 7, 7));
        assert_eq!(cache.scans(), 1);
        // The inventory always rescans, and its scan serves the next opens.
        let inventory = cache.rescan(&catalog).await.unwrap();
        assert_eq!(inventory.vms.len(), 1);
        assert_eq!(first_byte(&cache, &catalog).await, 7);
        assert_eq!(cache.scans(), 2);
    }

    #[tokio::test]
    async fn a_changed_moved_or_removed_package_is_rescanned() {
        let root = tempfile::tempdir().unwrap();
        write_package(&root.path().join("a"), 1);
        let (catalog, cache) = (catalog(root.path()), ScanCache::default());
        assert_eq!(first_byte(&cache, &catalog).await, 1);

        // The descriptor rewritten in place (same inode, same size: the change time moves,
        // once the filesystem's clock has ticked).
        std::thread::sleep(Duration::from_millis(20));
        write_package(&root.path().join("a"), 2);
        assert_eq!(first_byte(&cache, &catalog).await, 2);
        assert_eq!(cache.scans(), 2);

        // The package moved to another folder: the cached path is gone.
        std::fs::rename(root.path().join("a"), root.path().join("b")).unwrap();
        assert_eq!(first_byte(&cache, &catalog).await, 2);
        assert_eq!(cache.scans(), 3);

        // Removed: the rescan does not find the VM, and says so.
        std::fs::remove_dir_all(root.path().join("b")).unwrap();
        let err = cache
            .open_disk(&catalog, VM, "disk.vmdk")
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("is not in the OVA catalog"),
            "{err}"
        );
        assert_eq!(cache.scans(), 4);
    }

    /// The names of the VMs an inventory lists, sorted.
    fn names(inventory: &CatalogInventory) -> Vec<String> {
        let mut names: Vec<String> = inventory.vms.iter().map(|v| v.name.clone()).collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn inventory_requests_load_only_what_changed() {
        let root = tempfile::tempdir().unwrap();
        write_package(&root.path().join("a"), 1);
        write_package(&root.path().join("b"), 2);
        let (catalog, cache) = (catalog(root.path()), ScanCache::default());
        let first = cache.rescan(&catalog).await.unwrap();
        assert_eq!(names(&first), ["vm-1", "vm-2"]);
        assert_eq!(cache.loads(), 2);

        // Nothing changed: the same inventory, no package loaded again.
        let again = cache.rescan(&catalog).await.unwrap();
        assert_eq!(names(&again), ["vm-1", "vm-2"]);
        assert_eq!(again.vms, first.vms);
        assert_eq!(cache.loads(), 2);
        // The reused scan still serves disk opens.
        assert!([1, 2].contains(&first_byte(&cache, &catalog).await));
        assert_eq!((cache.scans(), cache.loads()), (2, 2));

        // A package added: it shows, loaded alone.
        write_package(&root.path().join("c"), 3);
        let added = cache.rescan(&catalog).await.unwrap();
        assert_eq!(names(&added), ["vm-1", "vm-2", "vm-3"]);
        assert_eq!(cache.loads(), 3);

        // A package rewritten in place (once the filesystem's clock has ticked): loaded
        // again, and its new contents show.
        std::thread::sleep(Duration::from_millis(20));
        write_package(&root.path().join("b"), 4);
        let rewritten = cache.rescan(&catalog).await.unwrap();
        assert_eq!(names(&rewritten), ["vm-1", "vm-3", "vm-4"]);
        assert_eq!(cache.loads(), 4);

        // A package removed: it is gone, nothing loaded.
        std::fs::remove_dir_all(root.path().join("c")).unwrap();
        let removed = cache.rescan(&catalog).await.unwrap();
        assert_eq!(names(&removed), ["vm-1", "vm-4"]);
        assert_eq!(cache.loads(), 4);

        // The disk file beside an unchanged descriptor removed: its folder changed, so the
        // package is loaded again and now refused.
        std::fs::remove_file(root.path().join("a/disk.vmdk")).unwrap();
        let missing = cache.rescan(&catalog).await.unwrap();
        assert_eq!(names(&missing), ["vm-4"]);
        assert_eq!(missing.skipped.len(), 1, "{:?}", missing.skipped);
        assert!(missing.skipped[0].message.contains("does not exist"));
        assert_eq!(cache.loads(), 5);
        // A package that failed is loaded again each time (it may have been mended).
        write_package(&root.path().join("a"), 5);
        let mended = cache.rescan(&catalog).await.unwrap();
        assert_eq!(names(&mended), ["vm-4", "vm-5"]);
        assert_eq!(cache.loads(), 6);
    }

    #[tokio::test]
    async fn an_unknown_disk_rescans_once_and_fails() {
        let root = tempfile::tempdir().unwrap();
        write_package(&root.path().join("a"), 3);
        let (catalog, cache) = (catalog(root.path()), ScanCache::default());
        cache.rescan(&catalog).await.unwrap();
        let err = cache
            .open_disk(&catalog, VM, "other.vmdk")
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("has no disk \"other.vmdk\""),
            "{err}"
        );
        assert_eq!(cache.scans(), 2);
    }

    #[test]
    fn stamps_tell_a_rewritten_file_from_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path: PathBuf = dir.path().join("p.ova");
        std::fs::write(&path, b"one").unwrap();
        let stamp = |p: &Path| PackageStamp::of(&File::open(p).unwrap(), p).unwrap();
        let first = stamp(&path);
        assert_eq!(stamp(&path), first);
        // Same size and content, written again once the filesystem's clock has ticked: the
        // change time differs.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&path, b"one").unwrap();
        assert_ne!(stamp(&path), first);
    }
}
