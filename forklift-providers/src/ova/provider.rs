//! [`OvaProvider`]: the catalog behind the provider capability traits.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use forklift_core::credentials::parse_go_bool;
use forklift_core::inventory::SourceInventory;
use forklift_transfer::block::BlockSource;
use forklift_transfer::vmdk::VmdkSource;

use super::appliance::{self, ApplianceInfo};
use super::cache::{ScanCache, blocking as blocking_ova};
use super::catalog::{CatalogInventory, OvaCatalog};
use super::error::Error as OvaError;
use super::inventory::source_inventory;
use crate::capability::{
    Capability, DiskAccess, DiskRef, InventorySource, ProviderBackend, ProviderConfig,
    ProviderType, SnapshotRef, VmRef,
};
use crate::error::{Error, Result};

/// `spec.settings` key: the local directory where the NFS share of `spec.url` is mounted.
pub const MOUNT_POINT_SETTING: &str = "mountPoint";
/// `spec.settings` key enabling appliance upload, as upstream.
pub use forklift_core::resources::provider::settings::APPLIANCE_MANAGEMENT as APPLIANCE_MANAGEMENT_SETTING;

/// An OVA provider: a catalog directory. It offers inventory and disk access; OVA files
/// have no power state, snapshots or change tracking, so those are typed `Unsupported`.
///
/// Disks open through the provider's last scan while their package is unchanged (see
/// `ova/cache.rs`); clones share that scan.
#[derive(Debug, Clone)]
pub struct OvaProvider {
    name: String,
    catalog: OvaCatalog,
    appliance_management: bool,
    scans: Arc<ScanCache>,
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OvaError> + Send + 'static,
) -> Result<T> {
    Ok(blocking_ova(work).await?)
}

impl OvaProvider {
    /// Opens the provider of `config`: `spec.url` is `server:/path` (resolved against the
    /// `mountPoint` setting), `nfs://server/path`, or a local absolute path.
    pub fn open(config: &ProviderConfig) -> Result<Self> {
        let mount = config.settings.get(MOUNT_POINT_SETTING).map(PathBuf::from);
        let catalog = OvaCatalog::from_url(&config.url, mount.as_deref())
            .map_err(|e| Error::config("spec.url", e.to_string()))?;
        let appliance_management = config
            .settings
            .get(APPLIANCE_MANAGEMENT_SETTING)
            .and_then(|v| parse_go_bool(v))
            // As upstream: unparsable text leaves the appliance endpoints off.
            .unwrap_or(false);
        Ok(Self::new(
            config.name.clone(),
            catalog,
            appliance_management,
        ))
    }

    /// A provider named `name` over `catalog`.
    pub fn new(name: impl Into<String>, catalog: OvaCatalog, appliance_management: bool) -> Self {
        OvaProvider {
            name: name.into(),
            catalog,
            appliance_management,
            scans: Arc::default(),
        }
    }

    /// The catalog.
    pub fn catalog(&self) -> &OvaCatalog {
        &self.catalog
    }

    /// Scans the catalog (on the blocking pool), loading again only the packages changed
    /// since the last scan; the scan then serves disk opens.
    pub async fn scan(&self) -> Result<CatalogInventory> {
        Ok(self.scans.rescan(&self.catalog).await?)
    }

    /// The provider-neutral inventory of the catalog.
    pub async fn source_inventory(&self) -> Result<SourceInventory> {
        Ok(source_inventory(&self.name, &self.scan().await?))
    }

    /// Lists the `.ova` files of the catalog (`GET /appliances`).
    pub async fn appliances(&self) -> Result<Vec<ApplianceInfo>> {
        self.require_appliance_management()?;
        let root = self.catalog.root().to_path_buf();
        blocking(move || appliance::list_appliances(&root)).await
    }

    /// Stores an uploaded `.ova` named `file_name` (`POST /appliances`).
    pub async fn upload_appliance(
        &self,
        file_name: String,
        data: Vec<u8>,
    ) -> Result<ApplianceInfo> {
        self.require_appliance_management()?;
        let root = self.catalog.root().to_path_buf();
        blocking(move || appliance::upload_appliance(&root, &file_name, &data[..])).await
    }

    fn require_appliance_management(&self) -> Result<()> {
        if self.appliance_management {
            Ok(())
        } else {
            Err(Error::config(
                "spec.settings.applianceManagement",
                "appliance management is not enabled for this provider",
            ))
        }
    }
}

impl ProviderBackend for OvaProvider {
    fn provider_type(&self) -> ProviderType {
        ProviderType::Ova
    }

    fn inventory(&self) -> Option<&dyn InventorySource> {
        Some(self)
    }

    fn disks(&self) -> Option<&dyn DiskAccess> {
        Some(self)
    }
}

#[async_trait]
impl InventorySource for OvaProvider {
    /// Rescans the catalog on every request, as upstream's server does, loading again only
    /// the packages changed since the last scan (see `ova/cache.rs`).
    async fn collect_inventory(&self) -> Result<SourceInventory> {
        self.source_inventory().await
    }
}

#[async_trait]
impl DiskAccess for OvaProvider {
    /// Opens a disk by VM ID and disk ID or file name (`href`); a disk inside an `.ova` is
    /// read in place. IDs resolve in the last scan while the disk's package is unchanged,
    /// else in a new one.
    async fn open_disk(
        &self,
        vm: &VmRef,
        disk: &DiskRef,
        snapshot: Option<&SnapshotRef>,
    ) -> Result<Box<dyn BlockSource>> {
        if snapshot.is_some() {
            return Err(Error::unsupported(
                Some(ProviderType::Ova),
                Capability::Snapshots,
            ));
        }
        let image = self
            .scans
            .open_disk(&self.catalog, vm.id(), &disk.file)
            .await?;
        Ok(Box::new(VmdkSource::new(image)))
    }
}
