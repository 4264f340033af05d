//! The scheduling policy: how `controller_max_vm_inflight` limits what migrates at once.
//!
//! The guide's semantics ("Configuring the controller_max_vm_inflight parameter") as a pure,
//! deterministic admission controller that the runner drives ([`Scheduler`]), and a
//! discrete-event [`simulate`] call that returns the admission order and start times for given
//! disk durations. Where the guide and upstream differ (upstream counts oVirt/OpenStack VMs, the
//! guide counts their disks), the guide wins.
//!
//! ```
//! use forklift_core::resources::ProviderType;
//! use forklift_core::scheduling::{simulate, Policy, SchedVm};
//! use std::time::Duration;
//! let policy = Policy::for_migration(ProviderType::OVirt, false, true, 15);
//! let vms = [
//!     SchedVm::uniform("a", None, 5, 1 << 30),
//!     SchedVm::uniform("b", None, 5, 1 << 30),
//!     SchedVm::uniform("c", None, 6, 1 << 30),
//! ];
//! let sim = simulate(policy, &vms, |_, _| Duration::from_secs(60)).unwrap();
//! // The 16th disk waits for the first to finish.
//! assert_eq!(sim.disks[15].start, Duration::from_secs(60));
//! ```

mod adapter;
mod policy;
mod scheduler;
mod simulate;

pub use adapter::{plan_policy, plan_vms};
pub use policy::{DEFAULT_MAX_VM_INFLIGHT, Granularity, Policy, Scope, Unit};
pub use scheduler::{Admission, SchedDisk, SchedVm, Scheduler};
pub use simulate::{DiskRun, Simulation, VmRun, simulate, simulate_throughput};

/// Errors of the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two VMs share an id.
    #[error("VM {id} appears twice in the plan")]
    DuplicateVm {
        /// The id.
        id: String,
    },
    /// A VM has an empty id.
    #[error("VM at position {position} has an empty id")]
    EmptyVmId {
        /// Position in plan order.
        position: usize,
    },
    /// An event names a VM the scheduler does not know.
    #[error("VM {id} is not part of the schedule")]
    UnknownVm {
        /// The id.
        id: String,
    },
    /// An event names a disk index out of range.
    #[error("VM {vm} has no disk {index}")]
    UnknownDisk {
        /// VM id.
        vm: String,
        /// Disk index.
        index: usize,
    },
    /// A disk was reported finished before it was admitted.
    #[error("Disk {index} of VM {vm} finished before it was admitted")]
    DiskNotStarted {
        /// VM id.
        vm: String,
        /// Disk index.
        index: usize,
    },
    /// A throughput of zero bytes per second.
    #[error("Throughput must be positive")]
    ZeroThroughput,
    /// The simulation ended with work that could never be admitted.
    #[error("VM {vm} can never be admitted")]
    Stalled {
        /// The first waiting VM.
        vm: String,
    },
}

/// Result with the scheduling [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
