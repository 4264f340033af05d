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

use super::convert::Converter;
use super::destination::Destination;
use super::events::VmOutcome;
use super::hooks::HookRunner;
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
    /// Discard the checkpoints earlier runs left beside half-copied disks and copy every
    /// disk from zero (`forklift migrate --restart`). By default a disk whose copy an
    /// earlier run did not finish (interrupted, cancelled, or its VM failed) resumes from
    /// its checkpoint; checkpoints are removed when their VM succeeds.
    pub restart: bool,
    /// What runs the plan's hooks. `None` (the default): nothing runs them, and a plan with
    /// hooks is refused before anything is touched (Critical `HookRunnerNotAvailable`).
    /// Running them on this machine is a choice the caller makes:
    /// [`AnsibleHookRunner`](super::hooks::AnsibleHookRunner) (`forklift migrate --hooks
    /// local`), or a runner of the embedding program's own.
    pub hooks: Option<Arc<dyn HookRunner>>,
    /// How many times a failed hook is run again before its VM fails.
    pub hook_retries: u32,
    /// What converts the guests. `None` (the default): nothing does, and a plan that needs
    /// conversion is refused before anything is touched (Critical
    /// `GuestConversionNotAvailable`) unless it sets `skipGuestConversion`.
    /// [`VirtV2vConverter`](super::convert::VirtV2vConverter) (`forklift migrate --converter
    /// virt-v2v`) runs the real virt-v2v; the engine has the capability only when its
    /// programs are found ([`Converter::check`]).
    pub converter: Option<Arc<dyn Converter>>,
    /// Validation settings (feature gates, limits); `None` takes them from the manifests'
    /// ForkliftController, with upstream's defaults when there is none.
    pub validation: Option<validation::Settings>,
    /// Lets the source Provider's `spec.url` be plain `http://` (vSphere), over which the
    /// password travels in clear text; see
    /// [`ProviderConfig::allow_plain_http`](forklift_providers::ProviderConfig::allow_plain_http).
    pub allow_plain_http: bool,
    /// Wait between warm precopies; `None` takes the ForkliftController's
    /// `controller_precopy_interval` (minutes, default 60).
    pub precopy_interval: Option<std::time::Duration>,
}

impl std::fmt::Debug for MigrateOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrateOptions")
            .field("destination", &self.destination)
            .field("copy", &self.copy)
            .field("verify", &self.verify)
            .field("restart", &self.restart)
            .field("hooks", &self.hook_policy())
            .field("hook_retries", &self.hook_retries)
            .field("converter", &self.converter)
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
            restart: false,
            hooks: None,
            hook_retries: DEFAULT_HOOK_RETRIES,
            converter: None,
            validation: None,
            allow_plain_http: false,
            precopy_interval: None,
        }
    }

    /// Whether a run with these options runs the plan's hooks (it does when
    /// [`hooks`](Self::hooks) holds a runner).
    pub fn hook_policy(&self) -> HookPolicy {
        if self.hooks.is_some() {
            HookPolicy::Run
        } else {
            HookPolicy::Refuse
        }
    }

    /// What a runner with these options can do. The engine copies every disk itself; it
    /// has no warm or live migration, no copy offload or populators yet, so render refuses
    /// plans that need them; it runs hooks only with a hook runner, and converts guests only
    /// with a converter whose programs are found.
    pub fn executor_profile(&self) -> ExecutorProfile {
        with_converter(
            engine_profile(self.destination.starts_vms(), self.hook_policy()),
            self.converter.as_deref(),
        )
    }
}

/// Whether `forklift migrate` runs a plan's hooks. Hooks are programs run on the operator's
/// machine, so they run only when asked: `forklift migrate --hooks local` (a local
/// `ansible-playbook`), or a [`HookRunner`] in [`MigrateOptions::hooks`] (Python:
/// `migrate(..., hooks="local")` or `hooks=callback`). `forklift validate` and `render`
/// take the same choice, so they describe the same run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HookPolicy {
    /// No hook runner: a plan with hooks is refused with a Critical
    /// `HookRunnerNotAvailable` condition that says how to enable them.
    #[default]
    Refuse,
    /// A hook runner runs the plan's hooks.
    Run,
}

/// What `forklift migrate` does into a local destination, with hooks run or refused as
/// `hooks` says: render with it to see exactly the phases a run executes (and the
/// conditions under which it refuses).
pub fn local_executor_profile(hooks: HookPolicy) -> ExecutorProfile {
    engine_profile(false, hooks)
}

/// `profile` for a run with `converter`: it gains `GuestConversion` when a converter is
/// configured and [can run](Converter::check), so render (and `validate`, `render --converter`)
/// describe the conversion phases a run with it executes; without one, plans that need
/// conversion are refused.
pub fn with_converter(
    profile: ExecutorProfile,
    converter: Option<&dyn Converter>,
) -> ExecutorProfile {
    if converter.is_some_and(|c| c.check().is_ok()) {
        ExecutorProfile::engine(
            profile
                .capabilities
                .into_iter()
                .chain([ExecutorCapability::GuestConversion]),
        )
    } else {
        profile
    }
}

/// Adds to validation's `conditions` the refusals of `forklift migrate` on this machine: one
/// Critical condition per capability the plan needs and this engine lacks (render decides
/// which, with [`local_executor_profile`] and `hooks`). `Ready` is dropped when one is
/// added, as upstream sets it only when nothing blocks.
pub fn add_local_refusals(
    conditions: &mut Vec<Condition>,
    bundle: &PlanBundle,
    source: &SourceInventory,
    destination: Option<&DestinationInventory>,
    hooks: HookPolicy,
    converter: Option<&dyn Converter>,
) {
    let context = RenderContext {
        executor: with_converter(local_executor_profile(hooks), converter),
        ..RenderContext::default()
    };
    let spec = render(RenderInput::for_plan(bundle, source, destination, &context));
    merge_conditions(
        conditions,
        spec.conditions
            .into_iter()
            .filter(ExecutorCapability::is_missing_condition),
    );
    super::convert::explain_missing(conditions, converter);
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

fn engine_profile(destination_starts_vms: bool, hooks: HookPolicy) -> ExecutorProfile {
    // The engine fills every disk itself, so a volume populator's job (OpenStack's Glance
    // image data) is its CopyDisks, which reads qcow2 images as raw (qemu-nbd): the
    // ConvertOpenstackSnapshot conversion is done by then.
    let mut capabilities = vec![
        ExecutorCapability::VolumePopulator,
        ExecutorCapability::ImageConversion,
    ];
    if hooks == HookPolicy::Run {
        capabilities.push(ExecutorCapability::HookRunner);
    }
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
