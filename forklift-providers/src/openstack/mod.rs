//! OpenStack: Keystone v3 authentication, inventory from Nova, Cinder, Glance and Neutron,
//! power control, and disk data through Glance images, as upstream Forklift migrates
//! OpenStack servers.
//!
//! ```text
//!   OpenstackProvider ── Session (keystone: five auth methods, catalog, renewal)
//!        │                  └─ JSON over reqwest + rustls (bounded answers and listings)
//!        ├─ inventory: servers, flavors, volumes, types, images, networks, ports → SourceInventory
//!        ├─ power: os-stop / os-start, waited for (bounded)
//!        └─ disks: image-booted root → Nova createImage; volume → Cinder snapshot → volume →
//!                  os-volume_upload_image; wait `active`; Glance download (Range resume,
//!                  hash check) → BlockSource. Everything created is deleted at close().
//! ```

mod config;
pub mod error;
pub mod http;
pub mod image;
pub mod inventory;
mod keystone;
pub mod limits;
pub mod model;
mod ops;
mod transfer;

use std::sync::Arc;

pub use config::{INTERFACE_SETTING, Interface, OpenstackConfig, STAGING_SETTING};
pub use error::{OpenstackError, Refusal};
pub use http::{Service, Session};
pub use keystone::{Token, parse_expiry};
pub use limits::OpenstackLimit;
pub use transfer::{Created, CreatedKind};

use crate::capability::{ProviderBackend, ProviderConfig, ProviderType};
use crate::error::{Error, Result};

/// A logged-in OpenStack cloud implementing the provider capabilities.
#[derive(Debug)]
pub struct OpenstackProvider {
    session: Arc<Session>,
    /// Images, snapshots and volumes this provider created, deleted at [`close`](ProviderBackend::close).
    created: transfer::Ledger,
}

impl OpenstackProvider {
    /// Reads the provider configuration and authenticates.
    pub async fn connect(config: &ProviderConfig) -> Result<Self> {
        Self::connect_with(OpenstackConfig::from_provider(config)?).await
    }

    /// Authenticates with an explicit configuration; the catalog must list compute, volumev3,
    /// image and network endpoints for the configured interface and region.
    pub async fn connect_with(config: OpenstackConfig) -> Result<Self> {
        let tls = crate::vsphere::tls::client_config(&config.trust)?;
        // A redirect is never followed: a 307 on the token request would re-send the
        // password, and any other the X-Auth-Token, to wherever it points.
        let http = crate::http::peer_client_builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(std::time::Duration::from_secs(30))
            .read_timeout(limits::REQUEST_TIMEOUT)
            .build()
            .map_err(|source| Error::Http {
                url: config.auth_url.to_string(),
                source,
            })?;
        let session = Session::open(http, Arc::new(config)).await?;
        Ok(Self {
            session: Arc::new(session),
            created: transfer::Ledger::default(),
        })
    }

    /// The authenticated session, for calls beyond the capability traits.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// What the provider created so far and has not deleted yet.
    pub async fn created(&self) -> Vec<Created> {
        self.created.snapshot().await
    }

    /// Deletes everything the provider created (images, then volumes, then snapshots),
    /// waiting (bounded) for each to disappear; failures are logged and the first returned.
    pub async fn delete_created(&self) -> Result<()> {
        transfer::delete_all(&self.session, &self.created).await
    }
}

#[async_trait::async_trait]
impl ProviderBackend for OpenstackProvider {
    async fn close(&self) -> Result<()> {
        self.delete_created().await
    }

    fn provider_type(&self) -> ProviderType {
        ProviderType::OpenStack
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
}

#[async_trait::async_trait]
impl crate::capability::InventorySource for OpenstackProvider {
    async fn collect_inventory(&self) -> Result<forklift_core::inventory::SourceInventory> {
        let started = std::time::Instant::now();
        let objects = inventory::collect_objects(&self.session).await?;
        let inventory = inventory::convert(&objects, &self.session.config().provider_name);
        tracing::info!(
            vms = inventory.vms.len(),
            networks = inventory.networks.len(),
            storages = inventory.storages.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "collected OpenStack inventory"
        );
        Ok(inventory)
    }
}
