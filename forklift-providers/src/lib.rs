//! # forklift-providers: the source layer
//!
//! Provider capability traits (inventory, power, snapshots, change tracking, disk access),
//! the factory [`open_provider`], and the providers implemented so far. Providers fill the
//! provider-neutral inventory model of `forklift-core` and hand disks to `forklift-transfer`
//! as block sources.
//!
//! Implemented ([`implemented_provider_types`]):
//!
//! - [`ova`] (`ova`): directories of `.ova` / `.ovf` packages; inventory and disk access
//!   (no power control: an appliance is not running).
//! - [`vsphere`] (`vsphere`): vCenter or ESXi over the vim25 SOAP API: inventory, power
//!   control, snapshots, change tracking, and disk data through VDDK (VixDiskLib, via FFI)
//!   when configured, otherwise the datastore HTTP interface. Tested against govmomi's
//!   simulator (`tools/vcsim`) with a fake `libvixDiskLib`; real vCenter needs the real VDDK
//!   library for VDDK access.
//!
//! - [`openstack`] (`openstack`): Keystone v3 (the guide's five Secret methods), inventory
//!   from Nova, Cinder, Glance and Neutron, power control, and disk data through Glance
//!   images (Nova `createImage`, Cinder snapshot → volume → image upload). Tested against
//!   real OpenStack services (tests/testbeds/openstack).
//!
//! Planned: oVirt / RHV, KubeVirt / OpenShift, Hyper-V and EC2, whose plans
//! `forklift-core` already models, validates and renders (dry run), and Nutanix.
//! [`open_provider`] refuses them as not implemented yet.

pub mod capability;
pub mod error;
pub mod http;
pub mod imageio;
pub mod openstack;
pub mod ova;
pub mod ovirt;
mod rest;
pub mod vsphere;

pub use capability::{
    Provider, ProviderConfig, ProviderType, implemented_provider_types, open_provider,
};
pub use error::{Error, Result};
