//! Rendering of the KubeVirt target: what a plan will create, exactly.
//!
//! `render` turns a plan, its maps, the source and destination inventories and the controller
//! settings into a list of typed objects (VirtualMachine, DataVolumes or
//! PVCs) per VM. The runner creates exactly these objects: there is one code path for dry
//! runs and real runs.

pub mod kubevirt;
pub mod osmap;
pub mod rules;
