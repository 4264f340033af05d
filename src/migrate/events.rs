//! Events a migration reports while it runs.

use forklift_core::resources::Condition;
use forklift_transfer::copy::CopySummary;
use serde::Serialize;

/// How one VM's migration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum VmOutcome {
    /// Every phase completed.
    Succeeded,
    /// A phase failed.
    Failed,
    /// Cancelled by the Migration's `spec.cancel` or a cancel call.
    Canceled,
    /// Already migrated by an earlier run; nothing was done.
    Skipped,
}

/// Something that happened during a migration, in the order it happened.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
#[non_exhaustive]
pub enum MigrationEvent {
    /// The plan was validated; a plan that is not ready does not run.
    #[serde(rename_all = "camelCase")]
    Validated {
        /// Whether no blocker was found.
        ready: bool,
        /// Every condition validation set.
        conditions: Vec<Condition>,
    },
    /// The plan started.
    #[serde(rename_all = "camelCase")]
    PlanStarted {
        /// `namespace/name` of the plan.
        plan: String,
        /// VMs in the plan.
        vms: usize,
        /// Bytes of every disk to copy.
        bytes_total: u64,
    },
    /// A VM was admitted by the scheduler and started.
    #[serde(rename_all = "camelCase")]
    VmStarted {
        /// Source VM id.
        vm: String,
        /// Name on the target.
        target_name: String,
    },
    /// A warm VM's precopy copied what changed (the first: every allocated area).
    #[serde(rename_all = "camelCase")]
    PrecopyDone {
        /// Source VM id.
        vm: String,
        /// 1-based precopy number.
        precopy: usize,
        /// Whether it was the final one, with the source off.
        last: bool,
        /// Bytes copied per disk (backing file).
        bytes: Vec<(String, u64)>,
        /// The downtime forecast after it, once one can be made.
        forecast: Option<forklift_core::resources::DowntimeForecast>,
    },
    /// The source VM reported `poweredOff` after the migration asked it to power off.
    #[serde(rename_all = "camelCase")]
    SourcePoweredOff {
        /// Source VM id.
        vm: String,
        /// How: the guest shut down, or a hard power-off (and why).
        power_off: forklift_core::resources::SourcePowerOff,
    },
    /// A VM entered a phase.
    #[serde(rename_all = "camelCase")]
    PhaseStarted {
        /// Source VM id.
        vm: String,
        /// Upstream phase name.
        phase: String,
        /// Pipeline step the phase belongs to.
        step: String,
    },
    /// A phase did nothing, and why.
    #[serde(rename_all = "camelCase")]
    PhaseSkipped {
        /// Source VM id.
        vm: String,
        /// Upstream phase name.
        phase: String,
        /// Why nothing was done.
        reason: String,
    },
    /// Copy progress of one disk.
    #[serde(rename_all = "camelCase")]
    DiskProgress {
        /// Source VM id.
        vm: String,
        /// Target claim name.
        disk: String,
        /// Bytes dealt with.
        bytes_done: u64,
        /// Bytes of the disk.
        bytes_total: u64,
        /// Average rate of data read from the source; skipped zero and unallocated ranges
        /// advance `bytes_done` but do not count here.
        bytes_per_second: f64,
    },
    /// A disk finished copying.
    #[serde(rename_all = "camelCase")]
    DiskCopied {
        /// Source VM id.
        vm: String,
        /// Target claim name.
        disk: String,
        /// Where the image is.
        path: String,
        /// What the copy did.
        summary: CopySummary,
        /// Whether the image was re-read and compared with the source.
        verified: bool,
    },
    /// The guest conversion entered a stage (virt-v2v's progress lines).
    #[serde(rename_all = "camelCase")]
    ConversionProgress {
        /// Source VM id.
        vm: String,
        /// Seconds since the converter started.
        seconds: f64,
        /// The stage (`Inspecting the source`, `Converting ... to run on KVM`).
        stage: String,
    },
    /// A VM an earlier run recorded as migrated is migrated again, because the destination
    /// no longer holds its disks as that run left them.
    #[serde(rename_all = "camelCase")]
    VmRemigrating {
        /// Source VM id.
        vm: String,
        /// Name on the target.
        target_name: String,
        /// What is wrong with the earlier result (a disk missing or of the wrong size).
        reason: String,
    },
    /// A VM finished.
    #[serde(rename_all = "camelCase")]
    VmCompleted {
        /// Source VM id.
        vm: String,
        /// Name on the target.
        target_name: String,
        /// How it ended.
        outcome: VmOutcome,
        /// The error, when it failed.
        error: Option<String>,
    },
    /// The plan finished.
    #[serde(rename_all = "camelCase")]
    PlanCompleted {
        /// VMs migrated.
        succeeded: usize,
        /// VMs failed.
        failed: usize,
        /// VMs cancelled.
        canceled: usize,
        /// VMs already migrated before.
        skipped: usize,
    },
}
