//! The migration runner: the executor of the plan [`forklift_core::render::render`] produces.
//!
//! ```text
//!  manifests ─► PlanInputs ─► validate ─┐
//!                               render ─┴► blockers? ─► refuse (NotReady), nothing touched
//!                              (this engine's ExecutorProfile)
//!                                   │
//!                                   ▼
//!                               Scheduler ──admit──► VM tasks: TargetVm::phases, in order,
//!                                   ▲                 each phase a step calling a capability
//!                                   └── disk/VM done ◄┘ (provider, transfer, destination, hooks)
//! ```
//!
//! Render decides everything: which itinerary, which phases (flags are computed once,
//! there), which objects. The runner passes render its [`ExecutorProfile`]
//! ([`MigrateOptions::executor_profile`]), so a phase it cannot perform (conversion without
//! a converter, warm precopies, copy offload...) is a Critical condition and the run refuses
//! before touching anything; a phase that a plan setting skips is reported `Skipped` with the
//! reason. The provider, the destination and the hook runner are injected. Status is
//! recorded as upstream's `status.migration.vms[]` by one writer task.
//!
//! [`ExecutorProfile`]: forklift_core::render::ExecutorProfile

pub mod convert;
mod copy;
mod destination;
mod error;
pub mod events;
pub mod hooks;
mod options;
mod plan_inputs;
mod runner;
mod status;
#[cfg(test)]
mod tests;
mod time;
mod vm;
pub mod warm;

pub use destination::{
    Destination, DestinationDisk, DestinationError, LocalDestination, ObjectKind,
};
pub use destination::{bundle, kubevirt};
pub use error::MigrateError;
pub use events::{MigrationEvent, VmOutcome};
pub use options::{
    DEFAULT_HOOK_RETRIES, HookPolicy, MigrateOptions, PlanReport, add_local_refusals,
    local_executor_profile, with_converter,
};
pub use plan_inputs::PlanInputs;
pub use runner::{CancelledVm, Migrator};
pub use status::PROGRESS_WRITE_INTERVAL;
pub use vm::{DiskReport, PhaseRecord, VmReport};
