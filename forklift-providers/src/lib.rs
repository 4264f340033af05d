//! # forklift-providers: the source layer
//!
//! Provider capability traits (inventory, power, snapshots, change tracking, disk access)
//! and their vSphere, oVirt, OpenStack, OVA, KubeVirt and local implementations. Providers
//! fill the provider-neutral inventory model of `forklift-core` and hand disks to
//! `forklift-transfer` as block sources.

pub mod capability;
pub mod error;
pub mod ova;
pub mod vsphere;

pub use capability::{Provider, ProviderConfig, ProviderType, open_provider};
pub use error::{Error, Result};
