//! [`open_provider`]: the one place where a provider type becomes an implementation.

use std::sync::Arc;

use super::{Provider, ProviderConfig, ProviderType};
use crate::error::{Error, Result};

/// Opens the provider, collects its inventory and closes the session.
pub async fn collect_inventory(
    config: &ProviderConfig,
) -> Result<forklift_core::inventory::SourceInventory> {
    let provider = open_provider(config).await?;
    let inventory = provider.inventory()?.collect_inventory().await;
    if let Err(e) = provider.close().await {
        tracing::warn!(provider = %config.name, "closing the provider session failed: {e}");
    }
    inventory
}

/// Opens a provider: the one place where a provider type becomes an implementation.
///
/// Connecting providers (vSphere) log in here, so configuration and credential errors
/// surface immediately.
pub async fn open_provider(config: &ProviderConfig) -> Result<Provider> {
    match config.provider_type {
        ProviderType::VSphere => {
            let provider = crate::vsphere::VsphereProvider::connect(config).await?;
            Ok(Provider::from_backend(Arc::new(provider)))
        }
        ProviderType::Ova => Ok(Provider::from_backend(Arc::new(
            crate::ova::OvaProvider::open(config)?,
        ))),
        other => Err(Error::config(
            "spec.type",
            format!("provider type '{other}' is not implemented yet"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unimplemented_types_are_config_errors() {
        let config = ProviderConfig::new(ProviderType::Nutanix, "n", "https://prism");
        let err = open_provider(&config).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid provider configuration: spec.type: provider type 'nutanix' is not implemented yet"
        );
    }
}
