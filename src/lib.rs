//! # forklift: migrate virtual machines onto KubeVirt
//!
//! The facade of the workspace. It re-exports the layers and runs migrations:
//!
//! - [`core`]: resources, inventory model, naming, validation and rendering (no I/O);
//! - [`transfer`]: the async block-transfer engine (NBD, VDDK, VMDK, copy pipeline);
//! - [`providers`]: the source providers: OVA, VMware vSphere, OpenStack and oVirt today, the
//!   others planned.
//!
//! ## What runs end to end today
//!
//! [`migrate`] runs a plan from an OVA (`ova`), VMware vSphere (`vsphere`), OpenStack
//! (`openstack`) or oVirt / RHV (`ovirt`) source
//! ([`providers::implemented_provider_types`]) into a local folder bundle
//! ([`migrate::LocalDestination`]: raw disk images, DataVolume and VirtualMachine YAML, the
//! plan's status) or onto a KubeVirt cluster. Migrations are cold, or warm where the source
//! offers snapshots and changed blocks (vSphere). Guest conversion runs when a converter is
//! given ([`migrate::convert`]: the real virt-v2v, or a caller's own); without one, a plan
//! needs `skipGuestConversion: true` (MTV's raw copy mode). What cannot run here (a plan that
//! needs conversion without a converter, warm from a source without changed blocks, live
//! migration, copy offload) is refused before anything is touched, with a Critical
//! `...NotAvailable` condition ([`core::render::ExecutorCapability::condition_type`]). Hooks
//! run locally ([`migrate::hooks`]).
//!
//! Planned: KubeVirt / OpenShift, Hyper-V, EC2 and Nutanix sources
//! (validated and rendered already, refused by [`providers::open_provider`]); warm migration
//! from oVirt (incremental backups); live migration.
//!
//! Destinations: a local bundle ([`migrate::LocalDestination`]) whose DataVolumes take their
//! data through CDI's upload API (`forklift deploy` pushes it), or a cluster
//! ([`migrate::kubevirt::KubevirtDestination`]).

pub mod input;
pub mod manifests;

pub use forklift_core as core;
pub use forklift_providers as providers;
pub use forklift_transfer as transfer;

pub mod demo;
pub mod migrate;

/// The README's Rust example, compiled as a doc test so it keeps up with the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
