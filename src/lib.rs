//! # forklift: migrate virtual machines onto KubeVirt
//!
//! The facade of the workspace. It re-exports the layers and runs migrations:
//!
//! - [`core`]: resources, inventory model, naming, validation and rendering (no I/O);
//! - [`transfer`]: the async block-transfer engine (NBD, VDDK, VMDK, copy pipeline);
//! - [`providers`]: vSphere, oVirt, OpenStack, OVA, KubeVirt and local sources.

pub mod manifests;

pub use forklift_core as core;
pub use forklift_providers as providers;
pub use forklift_transfer as transfer;

pub mod demo;
pub mod migrate;
