//! Provider capability traits and the one factory that opens a provider.
//!
//! A migration needs up to five things from its source: the inventory, power control,
//! snapshots, change tracking and disk access. Each is a small object-safe trait
//! ([`traits`]); a provider implements the ones it can offer and the [`Provider`] handle
//! answers the others with a typed [`Error::Unsupported`](crate::Error::Unsupported), so
//! callers ask `provider.power()?` and never downcast.
//!
//! Providers are opened through [`open_provider`] ([`factory`]) from a [`ProviderConfig`]
//! ([`config`]), keyed by [`ProviderType`]: the single place where a provider type becomes
//! an implementation. The provider type, the secret wrapper and the credentials are
//! `forklift-core`'s, re-exported here.

pub mod config;
pub mod factory;
pub mod traits;
pub mod types;

pub use config::ProviderConfig;
pub use factory::{collect_inventory, implemented_provider_types, open_provider};
pub use forklift_core::credentials::SecretString;
pub use forklift_core::resources::ProviderType;
pub use traits::{
    ChangeTracking, DiskAccess, InventorySource, PowerControl, Provider, ProviderBackend, Snapshots,
};
pub use types::{
    ALL_ALLOCATED, Capability, ChangedArea, DiskRef, PowerState, SnapshotRef, SnapshotRequest,
    VmRef,
};
