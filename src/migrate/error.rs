//! Errors of the migration runner.

use std::path::PathBuf;

use forklift_core::itinerary::Phase;
use forklift_core::manifest::PlanSelectError;
use forklift_core::resources::Condition;

use super::convert::ConvertError;
use super::destination::DestinationError;
use super::hooks::HookError;

/// Why a migration could not run or a VM failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The manifests do not name one plan.
    #[error("Manifests")]
    Plan(#[from] PlanSelectError),
    /// The plan's source provider is not in the manifests.
    #[error("Plan {plan}: source provider {provider} not found")]
    SourceProviderNotFound {
        /// `namespace/name` of the plan.
        plan: String,
        /// The provider reference.
        provider: String,
    },
    /// Validation or render found blockers (including capabilities this engine lacks);
    /// nothing was touched.
    #[error("Plan is not ready: {}", summary(.conditions))]
    NotReady {
        /// Every condition validation and render set.
        conditions: Vec<Condition>,
    },
    /// The source refused a snapshot because the VM holds as many as it may (vSphere: 32
    /// in a chain, 28 recommended by the guide).
    #[error(
        "VM {vm}: cannot take a warm migration snapshot: the VM has reached its snapshot limit; remove its snapshots and migrate again"
    )]
    SnapshotLimit {
        /// Source VM name.
        vm: String,
        /// The provider's refusal.
        #[source]
        source: Box<forklift_providers::Error>,
    },
    /// A Migration's cutover time is not an RFC 3339 timestamp.
    #[error(
        "Migration {migration}: {field} {value:?} is not an RFC 3339 time (such as 2026-12-02T15:00:00Z)"
    )]
    InvalidCutover {
        /// `namespace/name` of the Migration.
        migration: String,
        /// The field: `spec.cutover` or `spec.vmCutover[ID]`.
        field: String,
        /// Its value.
        value: String,
    },
    /// The source reported no change id for a disk after a snapshot, so the next precopy
    /// could not ask what changed.
    #[error(
        "VM {vm}: snapshot {snapshot} has no change id for disk {disk}, so no later precopy can copy only what changed since it; is changed block tracking on?"
    )]
    ChangeIdMissing {
        /// Source VM name.
        vm: String,
        /// The disk's backing file.
        disk: String,
        /// The snapshot.
        snapshot: String,
    },
    /// A precopy failed on every attempt.
    #[error("VM {vm}: precopy {precopy} failed {attempts} times")]
    PrecopyFailed {
        /// Source VM name.
        vm: String,
        /// 1-based precopy number.
        precopy: usize,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        source: Box<MigrateError>,
    },
    /// The source provider failed.
    #[error("Source provider")]
    Provider(#[source] Box<forklift_providers::Error>),
    /// A disk transfer failed.
    #[error("Transfer of {what}")]
    Transfer {
        /// Which disk.
        what: String,
        /// The engine's error.
        #[source]
        source: Box<forklift_transfer::Error>,
    },
    /// A copied disk differs from its source.
    #[error("Disk {location}: {blocks} blocks differ from the source after the copy")]
    VerificationFailed {
        /// Where the disk is.
        location: String,
        /// Blocks found different.
        blocks: u64,
    },
    /// A hook failed (after its retries).
    #[error(transparent)]
    Hook(#[from] HookError),
    /// The guest conversion could not run or failed.
    #[error(transparent)]
    Conversion(#[from] ConvertError),
    /// A VM names a Hook the manifests do not hold.
    #[error("Hook {hook} not found")]
    HookNotFound {
        /// `namespace/name` of the hook.
        hook: String,
    },
    /// The destination failed.
    #[error("Destination")]
    Destination(#[from] DestinationError),
    /// A rendered object could not be serialized.
    #[error("Cannot serialize {what}")]
    Serialize {
        /// The object's name.
        what: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// The scheduler rejected its input.
    #[error("Scheduling")]
    Scheduling(#[from] forklift_core::scheduling::Error),
    /// The scheduler admits nothing while nothing runs.
    #[error("The scheduler admits none of the waiting VMs: {}", .waiting.join(", "))]
    SchedulerStalled {
        /// VMs still waiting.
        waiting: Vec<String>,
    },
    /// An injected provider was already used (and closed) by an earlier run.
    #[error("The injected source provider was used by an earlier run")]
    ProviderConsumed,
    /// The scheduler finished a VM before admitting all of its disks.
    #[error("The scheduler did not admit {remaining} disks of VM {vm}")]
    DisksNotAdmitted {
        /// Source VM id.
        vm: String,
        /// Disks never admitted.
        remaining: usize,
    },
    /// Render produced no VirtualMachine for a VM that runs (a render blocker was ignored).
    #[error("No VirtualMachine was rendered for {vm}")]
    NotRendered {
        /// Source VM name.
        vm: String,
    },
    /// A phase reached that this engine cannot perform; render refuses such plans, so this
    /// means a caller ran a VM whose render conditions it did not check.
    #[error("Phase {phase} cannot be performed by this engine")]
    PhaseNotSupported {
        /// The phase.
        phase: Phase,
    },
    /// The source VM did not power off within the limit.
    #[error("VM {vm} is still running after {seconds} s")]
    PowerOffTimeout {
        /// Source VM name.
        vm: String,
        /// How long the runner waited.
        seconds: u64,
    },
    /// A runner task panicked or was aborted.
    #[error("The {what} task failed")]
    Task {
        /// Which task.
        what: &'static str,
        /// The runtime's error.
        #[source]
        source: tokio::task::JoinError,
    },
    /// The status file could not be written at the end of the run.
    #[error("Status file {path}")]
    Status {
        /// The status file.
        path: PathBuf,
        /// The destination's error.
        #[source]
        source: DestinationError,
    },
    /// [`Migrator::cancel_vm`](super::Migrator::cancel_vm) was given a reference that is
    /// neither the id, the source name nor the target name of a VM of the plan.
    #[error("Plan {plan} has no VM {vm:?} (by id, source name or target name)")]
    UnknownVm {
        /// `namespace/name` of the plan.
        plan: String,
        /// The reference given.
        vm: String,
    },
    /// The migration or the VM was cancelled.
    #[error("Cancelled")]
    Cancelled,
}

impl From<forklift_providers::Error> for MigrateError {
    fn from(error: forklift_providers::Error) -> Self {
        Self::Provider(Box::new(error))
    }
}

impl MigrateError {
    /// The message with its chain of causes, for status fields and events.
    pub fn chain(&self) -> String {
        forklift_core::error::chain(self)
    }
}

fn summary(conditions: &[Condition]) -> String {
    let blockers: Vec<String> = conditions
        .iter()
        .filter(|c| c.is_blocker())
        .map(|c| {
            if c.message.is_empty() {
                c.type_.clone()
            } else {
                format!("{} ({})", c.type_, c.message)
            }
        })
        .collect();
    blockers.join("; ")
}
