//! oVirt / RHV: the engine's REST API v4 (JSON) for inventory, power and image transfers,
//! and the disk data through the ovirt-imageio daemon, as upstream Forklift migrates oVirt
//! VMs.
//!
//! ```text
//!   OvirtProvider ── Engine (SSO password grant, renewal, logout; Version: 4; bounded JSON)
//!        ├─ inventory: data centers, clusters (+ServerCPUList), hosts, VMs with
//!        │             follow=disk_attachments.disk,nics,reported_devices,snapshots,
//!        │             storage domains, networks, vNIC profiles → SourceInventory
//!        ├─ power: start / stop / shutdown actions, status polled (bounded)
//!        ├─ disks: POST /imagetransfers (download, raw) → wait `transferring` →
//!        │         imageio BlockSource on transfer_url (else proxy_url); the transfer is
//!        │         finalized when the source is dropped and cancelled on failure; close()
//!        │         finalizes open backups, ends any transfer still open, then logs out.
//!        ├─ warm (`warm`, engine calls in `backup`): a precopy point is an incremental
//!        │         backup (POST /vms/ID/backups from the last precopy's checkpoint →
//!        │         `ready`); its disks are read through image transfers bound to it, the
//!        │         changed areas are their dirty (or, for a full copy, non-zero) extents;
//!        │         removing the point finalizes its transfers and the backup
//!        └─ disk snapshots (`snapshots`): POST /vms/ID/snapshots without memory → `ok`,
//!                  DELETE → gone; provider calls, not used by the migration flows.
//! ```

mod backup;
mod client;
mod config;
pub mod error;
pub mod inventory;
pub mod limits;
pub mod model;
mod ops;
mod poll;
mod snapshots;
mod transfer;
mod warm;

use std::sync::Arc;

pub use client::Engine;
pub use config::OvirtConfig;
pub use error::OvirtError;
pub use limits::OvirtLimit;

use crate::capability::{PowerState, ProviderBackend, ProviderConfig, ProviderType, VmRef};
use crate::error::{Error, Result};

/// A logged-in oVirt engine implementing the provider capabilities.
#[derive(Debug)]
pub struct OvirtProvider {
    engine: Arc<Engine>,
    /// Image transfers opened and not ended yet.
    transfers: Arc<transfer::Transfers>,
    /// Backups (warm precopy points) started and not finalized yet.
    backups: warm::Backups,
}

impl OvirtProvider {
    /// Reads the provider configuration and logs in.
    pub async fn connect(config: &ProviderConfig) -> Result<Self> {
        Self::connect_with(OvirtConfig::from_provider(config)?).await
    }

    /// Logs in with an explicit configuration.
    pub async fn connect_with(config: OvirtConfig) -> Result<Self> {
        let tls = crate::vsphere::tls::client_config(&config.trust)?;
        // The engine's answers are taken as they are: a redirect is never followed (it
        // could send the SSO form, password included, or the bearer token to another host).
        let http = crate::http::peer_client_builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(std::time::Duration::from_secs(30))
            .read_timeout(limits::REQUEST_TIMEOUT)
            .timeout(config.exchange_timeout)
            .build()
            .map_err(|source| Error::Http {
                url: config.api_url.to_string(),
                source,
            })?;
        let engine = Engine::open(http, Arc::new(config)).await?;
        Ok(Self {
            engine: Arc::new(engine),
            transfers: Arc::default(),
            backups: warm::Backups::default(),
        })
    }

    /// The logged-in engine, for calls beyond the capability traits.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Takes a disk-only snapshot (no memory) of every image disk of `vm` and returns its
    /// ID once the engine reports it `ok`.
    pub async fn create_disk_snapshot(&self, vm: &VmRef, description: &str) -> Result<String> {
        let disks: Vec<String> = backup::disk_attachments(&self.engine, vm)
            .await?
            .into_iter()
            .filter(|a| a.disk.storage_type != "lun")
            .map(|a| {
                if a.disk.id.is_empty() {
                    a.id
                } else {
                    a.disk.id
                }
            })
            .collect();
        Ok(snapshots::create(&self.engine, vm, description, &disks).await?)
    }

    /// Removes a disk snapshot and waits until the engine forgot it.
    pub async fn remove_disk_snapshot(&self, vm: &VmRef, snapshot: &str) -> Result<()> {
        Ok(snapshots::remove(&self.engine, vm, snapshot).await?)
    }

    /// IDs of the backups this provider started and has not finalized yet.
    pub fn open_backups(&self) -> Vec<String> {
        self.backups.open_ids()
    }
}

#[async_trait::async_trait]
impl ProviderBackend for OvirtProvider {
    /// Finalizes every backup still open (its transfers first), ends every image transfer
    /// still open (waiting for those being finalized), then revokes the SSO token; the
    /// first failure is returned after all were tried.
    async fn close(&self) -> Result<()> {
        let backups = self.backups.end_all(self).await;
        let ended = self.transfers.end_all(&self.engine).await;
        self.engine.logout().await?;
        backups?;
        Ok(ended?)
    }

    fn provider_type(&self) -> ProviderType {
        ProviderType::OVirt
    }

    fn inventory(&self) -> Option<&dyn crate::capability::InventorySource> {
        Some(self)
    }

    fn power(&self) -> Option<&dyn crate::capability::PowerControl> {
        Some(self)
    }

    fn disks(&self) -> Option<&dyn crate::capability::DiskAccess> {
        Some(self)
    }

    /// Warm precopy points: incremental backups (`ovirt/warm.rs`).
    fn snapshots(&self) -> Option<&dyn crate::capability::Snapshots> {
        Some(self)
    }

    /// Checkpoints and dirty extents of incremental backups (`ovirt/warm.rs`).
    fn change_tracking(&self) -> Option<&dyn crate::capability::ChangeTracking> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl crate::capability::DiskAccess for OvirtProvider {
    /// Opens the disk whose ID is `disk.file` through a new image transfer; with a
    /// snapshot (a backup this provider started), through the backup's image transfer.
    async fn open_disk(
        &self,
        vm: &VmRef,
        disk: &crate::capability::DiskRef,
        snapshot: Option<&crate::capability::SnapshotRef>,
    ) -> Result<Box<dyn forklift_transfer::block::BlockSource>> {
        if let Some(snapshot) = snapshot {
            return Ok(Box::new(self.open_backup_disk(vm, disk, snapshot).await?));
        }
        let source = transfer::open(&self.engine, &self.transfers, vm, disk, None).await?;
        Ok(Box::new(source))
    }
}

#[async_trait::async_trait]
impl crate::capability::InventorySource for OvirtProvider {
    async fn collect_inventory(&self) -> Result<forklift_core::inventory::SourceInventory> {
        let started = std::time::Instant::now();
        let objects = inventory::collect_objects(&self.engine).await?;
        let inventory = inventory::convert(&objects, &self.engine.config().provider_name);
        tracing::info!(
            vms = inventory.vms.len(),
            networks = inventory.networks.len(),
            storages = inventory.storages.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "collected oVirt inventory"
        );
        Ok(inventory)
    }
}

#[async_trait::async_trait]
impl crate::capability::PowerControl for OvirtProvider {
    async fn power_state(&self, vm: &VmRef) -> Result<PowerState> {
        Ok(ops::power_state(&ops::status(&self.engine, vm).await?))
    }

    async fn power_off(&self, vm: &VmRef) -> Result<()> {
        if ops::status(&self.engine, vm).await? != "down" {
            ops::action(&self.engine, vm, "stop").await?;
            ops::wait_status(&self.engine, vm, "down").await?;
        }
        Ok(())
    }

    async fn power_on(&self, vm: &VmRef) -> Result<()> {
        if ops::status(&self.engine, vm).await? != "up" {
            ops::action(&self.engine, vm, "start").await?;
            ops::wait_status(&self.engine, vm, "up").await?;
        }
        Ok(())
    }

    async fn shutdown_guest(&self, vm: &VmRef) -> Result<()> {
        ops::action(&self.engine, vm, "shutdown").await?;
        Ok(())
    }
}
