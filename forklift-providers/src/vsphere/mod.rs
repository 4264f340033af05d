//! VMware vSphere (vCenter or a single ESXi host) over the vim25 SOAP API.
//!
//! ```text
//!   VsphereProvider ── Vim25Client ── SoapTransport ── reqwest + rustls (TlsTrust)
//!        │                 ├─ ServiceContent, Login/Logout
//!        │                 ├─ ContainerView + RetrievePropertiesEx/ContinueRetrieve
//!        │                 ├─ *_Task + polling of Task.info
//!        │                 └─ QueryChangedDiskAreas (looped over startOffset)
//!        ├─ inventory: objects → forklift-core's SourceInventory (disk order, CBT, RDM…)
//!        ├─ power, snapshots, change tracking (capability traits)
//!        └─ disks: datastore files over HTTP (`/folder/…`) as a BlockSource
//! ```

mod client;
pub(crate) mod config;
pub mod datastore;
pub mod devices;
pub mod inventory;
pub mod limits;
mod ops;
mod soap;
pub(crate) mod tls;
pub mod xml;

pub use client::{ObjectContent, PropertySet, ServiceContent, Vim25Client};
pub use config::{PlainHttp, SdkEndpoint, VDDK_LIBDIR_SETTING, VddkSettings, VsphereConfig};
pub use limits::SoapLimit;
pub use soap::{MoRef, SoapTransport};
pub use tls::{TlsTrust, fetch_thumbprint, normalize_thumbprint, thumbprint_of};

use crate::capability::{ProviderBackend, ProviderConfig, ProviderType};
use crate::error::{Error, Result};

// The decoding of a parsed vim25 answer (response or SOAP fault), public for the fuzz
// targets, which decode answers without a server.
pub use soap::{parse_response, take_response};

/// A logged-in vSphere endpoint implementing the provider capabilities.
#[derive(Debug)]
pub struct VsphereProvider {
    client: Vim25Client,
    config: VsphereConfig,
    /// Server certificate thumbprint for VDDK, fetched once.
    thumbprint: tokio::sync::OnceCell<String>,
}

impl VsphereProvider {
    /// Reads the provider configuration, connects and logs in.
    pub async fn connect(config: &ProviderConfig) -> Result<Self> {
        Self::connect_with(VsphereConfig::from_provider(config)?).await
    }

    /// Connects and logs in with an explicit configuration.
    pub async fn connect_with(config: VsphereConfig) -> Result<Self> {
        let tls = tls::client_config(&config.trust)?;
        // A redirect is never followed: a 307 on Login would re-send the password, and
        // any other the session cookie, to wherever it points.
        let http = crate::http::peer_client_builder()
            .use_preconfigured_tls(tls)
            .timeout(config.request_timeout)
            .connect_timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|source| Error::Http {
                url: config.sdk_url.to_string(),
                source,
            })?;
        let transport = SoapTransport::new(http, config.sdk_url.clone());
        let client = Vim25Client::new(transport).await?;
        match (config.endpoint, client.content().is_vcenter()) {
            (SdkEndpoint::Vcenter, false) => tracing::warn!(
                "sdkEndpoint is vcenter but {} answers as an ESXi host",
                config.sdk_url
            ),
            (SdkEndpoint::Esxi, true) => tracing::warn!(
                "sdkEndpoint is esxi but {} answers as a vCenter",
                config.sdk_url
            ),
            _ => {}
        }
        client.login(&config.user, &config.password).await?;
        Ok(Self {
            client,
            config,
            thumbprint: tokio::sync::OnceCell::new(),
        })
    }

    /// The vim25 client, for operations beyond the capability traits.
    pub fn client(&self) -> &Vim25Client {
        &self.client
    }

    /// The configuration in use.
    pub fn config(&self) -> &VsphereConfig {
        &self.config
    }

    /// The SHA-1 thumbprint of the endpoint's certificate: the pinned one, else probed once.
    pub async fn thumbprint(&self) -> Result<String> {
        if let TlsTrust::Thumbprint(pinned) = &self.config.trust {
            return normalize_thumbprint(pinned);
        }
        self.thumbprint
            .get_or_try_init(|| {
                fetch_thumbprint(&self.config.sdk_url, std::time::Duration::from_secs(30))
            })
            .await
            .cloned()
    }

    /// Ends the session.
    pub async fn logout(&self) -> Result<()> {
        self.client.logout().await
    }
}

#[async_trait::async_trait]
impl ProviderBackend for VsphereProvider {
    async fn close(&self) -> Result<()> {
        self.logout().await
    }

    fn provider_type(&self) -> ProviderType {
        ProviderType::VSphere
    }

    fn inventory(&self) -> Option<&dyn crate::capability::InventorySource> {
        Some(self)
    }

    fn power(&self) -> Option<&dyn crate::capability::PowerControl> {
        Some(self)
    }

    fn snapshots(&self) -> Option<&dyn crate::capability::Snapshots> {
        Some(self)
    }

    fn change_tracking(&self) -> Option<&dyn crate::capability::ChangeTracking> {
        Some(self)
    }

    fn disks(&self) -> Option<&dyn crate::capability::DiskAccess> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl crate::capability::InventorySource for VsphereProvider {
    async fn collect_inventory(&self) -> Result<forklift_core::inventory::SourceInventory> {
        let started = std::time::Instant::now();
        let objects = inventory::collect_objects(&self.client).await?;
        let inventory = inventory::convert(
            &objects,
            &self.config.provider_name,
            &self.client.content().api_version,
        );
        tracing::info!(
            vms = inventory.vms.len(),
            hosts = inventory.hosts.len(),
            networks = inventory.networks.len(),
            storages = inventory.storages.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "collected vSphere inventory"
        );
        Ok(inventory)
    }
}
