//! The migration runner: runs a Plan from a Migration, VM by VM, along MTV's cold
//! itinerary, into a local KubeVirt-ready bundle.
//!
//! ```text
//!  manifests ─► PlanInputs ─► validate ─► render ─► Scheduler ──admit──► VM tasks
//!                                                     ▲                   │ phases: PreHook, StorePowerState,
//!                                                     └── disk/VM done ◄──┘ PowerOff, CreateDataVolumes,
//!                                                                           CopyDisks, CreateVM, PostHook
//! ```
//!
//! What is created is exactly what [`forklift_core::render::render`] returns; status is
//! recorded as upstream's `status.migration.vms[]` in the destination.

mod destination;
mod error;
pub mod events;
pub mod hooks;
mod plan_inputs;
mod runner;
mod status;
mod time;
mod vm;

pub use destination::LocalDestination;
pub use error::MigrateError;
pub use events::{MigrationEvent, VmOutcome};
pub use plan_inputs::PlanInputs;
pub use runner::{MigrateOptions, Migrator, PlanReport};
pub use vm::{DiskReport, VmReport};
