//! How a migration runs, and what it reports.

use std::sync::Arc;

use forklift_core::inventory::{DestinationInventory, SourceInventory};
use forklift_core::manifest::PlanBundle;
use forklift_core::render::{
    ExecutorCapability, ExecutorProfile, RenderContext, RenderInput, render,
};
use forklift_core::resources::Condition;
use forklift_core::validation;
use forklift_transfer::copy::CopyOptions;
use serde::Serialize;

use super::destination::Destination;
use super::events::VmOutcome;
use super::hooks::{AnsibleHookRunner, HookRunner};
use super::vm::VmReport;

/// Upstream's `HOOK_RETRY`: how many times a failed hook is run again.
pub const DEFAULT_HOOK_RETRIES: u32 = 3;

/// How a migration runs: the injected destination and hook runner, and tuning.
#[derive(Clone)]
pub struct MigrateOptions {
    /// Where VMs land.
    pub destination: Arc<dyn Destination>,
    /// Transfer tuning (request size, requests in flight...).
    pub copy: CopyOptions,
    /// Re-read every copied disk and compare it with the source.
    pub verify: bool,
    /// What runs the plan's hooks (default: a local `ansible-playbook`).
    pub hooks: Arc<dyn HookRunner>,
    /// How many times a failed hook is run again before its VM fails.
    pub hook_retries: u32,
    /// Validation settings (feature gates, limits); `None` takes them from the manifests'
    /// ForkliftController, with upstream's defaults when there is none.
    pub validation: Option<validation::Settings>,
}

impl std::fmt::Debug for MigrateOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrateOptions")
            .field("destination", &self.destination)
            .field("copy", &self.copy)
            .field("verify", &self.verify)
            .field("hook_retries", &self.hook_retries)
            .finish_non_exhaustive()
    }
}

impl MigrateOptions {
    /// Defaults writing to `destination`.
    pub fn new(destination: impl Destination + 'static) -> Self {
        Self {
            destination: Arc::new(destination),
            copy: CopyOptions::default(),
            verify: false,
            hooks: Arc::new(AnsibleHookRunner::default()),
            hook_retries: DEFAULT_HOOK_RETRIES,
            validation: None,
        }
    }

    /// What a runner with these options can do. The engine copies every disk itself; it
    /// has no guest converter, no warm or live migration, no copy offload or populators
    /// yet, so render refuses plans that need them.
    pub fn executor_profile(&self) -> ExecutorProfile {
        engine_profile(self.destination.starts_vms())
    }
}

/// What `forklift migrate` does into a local destination: render with it to see exactly the
/// phases a run executes (and the conditions under which it refuses).
pub fn local_executor_profile() -> ExecutorProfile {
    engine_profile(false)
}

/// Adds to validation's `conditions` the refusals of `forklift migrate` on this machine: one
/// Critical condition per capability the plan needs and this engine lacks (render decides
/// which, with [`local_executor_profile`]). `Ready` is dropped when one is added, as
/// upstream sets it only when nothing blocks.
pub fn add_local_refusals(
    conditions: &mut Vec<Condition>,
    bundle: &PlanBundle,
    source: &SourceInventory,
    destination: Option<&DestinationInventory>,
) {
    let context = RenderContext {
        executor: local_executor_profile(),
        ..RenderContext::default()
    };
    let spec = render(RenderInput::for_plan(bundle, source, destination, &context));
    merge_conditions(
        conditions,
        spec.conditions
            .into_iter()
            .filter(ExecutorCapability::is_missing_condition),
    );
}

/// Adds to validation's `conditions` each of `more` not already there; drops `Ready` when
/// the result blocks the plan, as upstream sets it only when nothing blocks.
pub(crate) fn merge_conditions(
    conditions: &mut Vec<Condition>,
    more: impl IntoIterator<Item = Condition>,
) {
    for condition in more {
        if !conditions.contains(&condition) {
            conditions.push(condition);
        }
    }
    if !validation::is_ready(conditions) {
        conditions.retain(|c| c.type_ != validation::kind::READY);
    }
}

fn engine_profile(destination_starts_vms: bool) -> ExecutorProfile {
    let mut capabilities = vec![ExecutorCapability::HookRunner];
    if destination_starts_vms {
        capabilities.push(ExecutorCapability::GuestRebootWait);
    }
    ExecutorProfile::engine(capabilities)
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanReport {
    /// `namespace/name` of the plan.
    pub plan: String,
    /// Every VM, in plan order.
    pub vms: Vec<VmReport>,
    /// Conditions validation and render set.
    pub conditions: Vec<Condition>,
    /// Bytes of data written to the destination.
    pub bytes_written: u64,
    /// Bytes of every migrated disk.
    pub bytes_total: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Where the plan status was written.
    pub status_path: String,
}

impl PlanReport {
    /// VMs that ended with `outcome`.
    pub fn count(&self, outcome: VmOutcome) -> usize {
        self.vms.iter().filter(|v| v.outcome == outcome).count()
    }

    /// Whether no VM failed or was cancelled.
    pub fn succeeded(&self) -> bool {
        self.vms
            .iter()
            .all(|v| matches!(v.outcome, VmOutcome::Succeeded | VmOutcome::Skipped))
    }
}
