//! One VM's migration: the phases render listed for it, in order, each a step that calls a
//! typed capability (provider, transfer, destination, hook runner). A phase this engine
//! cannot perform is an error, never a silent skip: render refuses such plans up front.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use forklift_core::error::PeerText;
use forklift_core::inventory::PowerState;
use forklift_core::itinerary::{ItineraryKind, Phase};
use forklift_core::manifest::PlanBundle;
use forklift_core::render::{DiskObject, TargetVm};
use forklift_core::resources::{HookStep, PowerOffMethod, SourcePowerOff};
use forklift_providers::Provider;
use forklift_providers::capability::{PowerControl, VmRef};
use forklift_transfer::copy;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::MigrateError;
use super::convert::{ConversionRequest, Converter};
use super::destination::{Destination, DestinationDisk, ObjectKind};
use super::events::{MigrationEvent, VmOutcome};
use super::hooks::{HookContext, HookRunner};
use super::status::StatusHandle;

/// How often the source's power state is polled while waiting for it to be off.
const POWER_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long a guest may take to shut down when asked before it is powered off hard.
pub const GUEST_SHUTDOWN_GRACE: Duration = Duration::from_secs(5 * 60);
/// How long the source may take to be off at all before its VM fails.
pub const POWER_OFF_LIMIT: Duration = Duration::from_secs(10 * 60);
/// The first wait before a failed hook runs again; doubled for each retry.
const HOOK_RETRY_DELAY: Duration = Duration::from_secs(5);

/// What the VM tells the scheduler loop.
#[derive(Debug)]
pub(crate) enum SchedulerReport {
    /// A disk finished (or will never start): its slot is free.
    DiskDone { vm: String, disk: usize },
}

/// A disk migrated to the destination.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskReport {
    /// Disk index in the provider's order.
    pub index: usize,
    /// Target claim name.
    pub claim: String,
    /// Where the disk is at the destination.
    pub path: String,
    /// What the copy did.
    pub summary: copy::CopySummary,
    /// Whether the image was re-read and found identical to the source.
    pub verified: bool,
}

/// How one phase of a VM went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseRecord {
    /// The phase.
    pub phase: Phase,
    /// Why it had nothing to do, when it had nothing to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// How one VM's migration ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VmReport {
    /// Source VM id.
    pub id: String,
    /// Source VM name.
    pub source_name: String,
    /// Name on the target.
    pub target_name: String,
    /// Target namespace.
    pub namespace: String,
    /// Outcome.
    pub outcome: VmOutcome,
    /// Error text when it failed.
    pub error: Option<String>,
    /// The phases that ran, in order (the failed one last when it failed).
    pub phases: Vec<PhaseRecord>,
    /// Copied disks (a warm VM: one entry per disk and precopy).
    pub disks: Vec<DiskReport>,
    /// A warm VM's precopies and downtime forecast (predicted and actual), as its status
    /// records them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm: Option<forklift_core::resources::WarmStatus>,
}

impl VmReport {
    fn new(target: &TargetVm, namespace: &str) -> Self {
        Self {
            id: target.source_id.clone(),
            source_name: target.source_name.clone(),
            target_name: target.target_name.clone(),
            namespace: namespace.to_owned(),
            outcome: VmOutcome::Succeeded,
            error: None,
            phases: Vec::new(),
            disks: Vec::new(),
            warm: None,
        }
    }

    /// The report of a VM that did not run this time.
    pub(crate) fn without_run(target: &TargetVm, namespace: &str, outcome: VmOutcome) -> Self {
        Self {
            outcome,
            ..Self::new(target, namespace)
        }
    }
}

/// Shared by every VM task of one run.
pub(crate) struct RunContext {
    /// The plan and the objects it references (its hooks among them).
    pub bundle: PlanBundle,
    pub provider: Provider,
    pub destination: Arc<dyn Destination>,
    pub copy: copy::CopyOptions,
    pub verify: bool,
    /// Discard the checkpoints of earlier runs and copy every disk from zero.
    pub restart: bool,
    /// `None` when the caller gave no hook runner; render then refuses plans with hooks.
    pub hooks: Option<Arc<dyn HookRunner>>,
    pub hook_retries: u32,
    /// `None` when the caller gave no converter; render then refuses plans that need one.
    pub converter: Option<Arc<dyn Converter>>,
    /// Every Secret of the manifests (LUKS passphrases).
    pub secrets: Vec<forklift_core::resources::Secret>,
    /// The plan's customization scripts, run after each conversion.
    pub customization_scripts: Vec<super::convert::customize::CustomizationScript>,
    pub status: StatusHandle,
    pub events: mpsc::Sender<MigrationEvent>,
    /// What warm VMs share (precopy interval, cutover times, resume points).
    pub warm: Arc<super::warm::WarmRun>,
}

impl RunContext {
    pub(crate) async fn emit(&self, event: MigrationEvent) {
        // A dropped receiver only means nobody listens.
        let _ = self.events.send(event).await;
    }

    fn target_namespace(&self) -> &str {
        &self.bundle.plan.spec.target_namespace
    }
}

/// What the phases of one VM hand to each other.
#[derive(Default)]
pub(crate) struct VmState {
    /// Disks created by `CreateDataVolumes`, by disk index.
    pub disks: BTreeMap<usize, DestinationDisk>,
    /// The source's power state before the migration touched it.
    pub restore_power: Option<PowerState>,
    /// A warm VM's precopies and snapshots.
    pub warm: super::warm::WarmVm,
    /// The conversion `CreateGuestConversionPod` prepared for `ConvertGuest`.
    pub conversion: Option<ConversionRequest>,
    /// How the source is being powered off, and since when.
    pub power_off: Option<(SourcePowerOff, tokio::time::Instant)>,
    /// The preference `ConvertGuest` chose from the inspected OS, for `CreateVM`.
    pub preference: Option<forklift_core::render::kubevirt::Matcher>,
}

/// Runs every phase of `target` in render's order; disks are copied as the scheduler admits
/// them through `admitted`.
pub(crate) async fn migrate_vm(
    ctx: Arc<RunContext>,
    target: TargetVm,
    mut admitted: mpsc::Receiver<usize>,
    reports: mpsc::Sender<SchedulerReport>,
    cancel: CancellationToken,
) -> VmReport {
    let mut report = VmReport::new(&target, ctx.target_namespace());
    ctx.emit(MigrationEvent::VmStarted {
        vm: report.id.clone(),
        target_name: report.target_name.clone(),
    })
    .await;
    let mut state = VmState::default();
    let mut result = Ok(());
    // An index, not an iterator: the warm itinerary loops back (AddCheckpoint → CopyDisks)
    // and jumps to the cutover (CopyingPaused → StorePowerState).
    let mut at = 0;
    while let Some(&phase) = target.phases.get(at) {
        if cancel.is_cancelled() {
            result = Err(MigrateError::Cancelled);
            break;
        }
        let step = target.step_of(phase);
        ctx.status
            .enter_phase(&report.id, phase.as_str(), step.map(|s| s.as_str()))
            .await;
        ctx.emit(MigrationEvent::PhaseStarted {
            vm: report.id.clone(),
            phase: phase.to_string(),
            step: step.map(|s| s.to_string()).unwrap_or_default(),
        })
        .await;
        let mut step_ctx = Step {
            ctx: &ctx,
            target: &target,
            state: &mut state,
            report: &mut report,
            cancel: &cancel,
        };
        let outcome = if phase == Phase::CopyDisks || super::warm::handles(phase) {
            // The copy watches the token and stops its disk tasks itself (bounded): dropping
            // it here would leave them running, holding the files and the event sender.
            // Warm phases are not dropped either: a snapshot taken must be recorded so that
            // it is removed; the pause between precopies watches the token itself.
            step_ctx.run(phase, &mut admitted, &reports).await
        } else {
            tokio::select! {
                r = step_ctx.run(phase, &mut admitted, &reports) => r,
                () = cancel.cancelled() => Err(MigrateError::Cancelled),
            }
        };
        match outcome {
            Ok(skipped) => {
                if let Some(reason) = &skipped {
                    tracing::info!(vm = %PeerText(&target.source_name), %phase, %reason, "phase skipped");
                    ctx.emit(MigrationEvent::PhaseSkipped {
                        vm: report.id.clone(),
                        phase: phase.to_string(),
                        reason: reason.clone(),
                    })
                    .await;
                }
                report.phases.push(PhaseRecord { phase, skipped });
                let power_off = state.power_off.as_ref().map(|(p, _)| p);
                super::warm::after_phase(&ctx, &target, &mut state.warm, power_off, phase).await;
            }
            Err(e) => {
                report.phases.push(PhaseRecord {
                    phase,
                    skipped: None,
                });
                result = Err(e);
                break;
            }
        }
        at = match state.warm.take_jump() {
            Some(next) => match target.phases.iter().position(|p| *p == next) {
                Some(i) => i,
                None => {
                    result = Err(MigrateError::PhaseNotSupported { phase: next });
                    break;
                }
            },
            None => at + 1,
        };
    }
    finish(&ctx, &target, &mut report, &mut state, result).await;
    // Ends the watchers that link this VM's token to its cancel handle.
    cancel.cancel();
    report
}

/// One phase's view of the VM.
struct Step<'a> {
    ctx: &'a Arc<RunContext>,
    target: &'a TargetVm,
    state: &'a mut VmState,
    report: &'a mut VmReport,
    cancel: &'a CancellationToken,
}

impl Step<'_> {
    /// Runs one phase; `Ok(Some(reason))` when it had nothing to do.
    async fn run(
        &mut self,
        phase: Phase,
        admitted: &mut mpsc::Receiver<usize>,
        reports: &mpsc::Sender<SchedulerReport>,
    ) -> Result<Option<String>, MigrateError> {
        match phase {
            Phase::Started | Phase::Completed => Ok(None),
            Phase::PreHook => self.run_hooks(HookStep::PreHook).await,
            Phase::PostHook => self.run_hooks(HookStep::PostHook).await,
            Phase::StorePowerState => self.store_power_state().await,
            Phase::PowerOffSource => self.power_off_source().await,
            Phase::WaitForPowerOff => self.wait_for_power_off().await,
            Phase::CreateDataVolumes => {
                self.create_disks().await?;
                super::warm::prepare_images(
                    self.ctx,
                    self.target,
                    &mut self.state.warm,
                    &mut self.state.disks,
                )
                .await
                .map(|()| None)
            }
            Phase::CopyDisks if self.target.itinerary != ItineraryKind::Warm => {
                super::copy::copy_disks(self.copy_job(), admitted, reports)
                    .await
                    .map(|()| None)
            }
            phase if phase == Phase::CopyDisks || super::warm::handles(phase) => {
                let step = super::warm::WarmStep {
                    ctx: self.ctx,
                    target: self.target,
                    warm: &mut self.state.warm,
                    disks: &self.state.disks,
                    report: self.report,
                    cancel: self.cancel,
                };
                super::warm::run_phase(step, phase, admitted, reports).await
            }
            Phase::CreateGuestConversionPod => {
                self.state.conversion =
                    Some(super::convert::step::prepare(self.ctx, self.target).await?);
                Ok(None)
            }
            Phase::ConvertGuest => {
                let request =
                    self.state
                        .conversion
                        .take()
                        .ok_or(MigrateError::PhaseNotSupported {
                            phase: Phase::ConvertGuest,
                        })?;
                let report =
                    super::convert::step::convert(self.ctx, self.target, &request, self.cancel)
                        .await?;
                self.state.preference =
                    super::convert::step::preference_after(self.ctx, self.target, &report);
                Ok(None)
            }
            Phase::CreateVM => self.create_vm().await.map(|()| None),
            Phase::ConvertOpenstackSnapshot => Ok(Some(
                "CopyDisks read the images as raw; nothing is left to convert".to_owned(),
            )),
            phase => Err(MigrateError::PhaseNotSupported { phase }),
        }
    }

    fn vm_ref(&self) -> VmRef {
        VmRef::new(self.target.source_id.clone())
    }

    fn copy_job(&mut self) -> super::copy::CopyJob<'_> {
        super::copy::CopyJob {
            ctx: self.ctx,
            target: self.target,
            disks: &self.state.disks,
            report: self.report,
            cancel: self.cancel,
            warm: None,
        }
    }

    /// The provider's power control, or why a power phase has nothing to do.
    fn power(&self) -> Result<&dyn PowerControl, String> {
        self.ctx
            .provider
            .power()
            .map_err(|_| "The source provider has no power control".to_owned())
    }

    /// Power control for a source that was running when the migration began.
    fn power_of_running_source(&self) -> Result<&dyn PowerControl, String> {
        let power = self.power()?;
        if self.state.restore_power == Some(PowerState::On) {
            Ok(power)
        } else {
            Err("The source VM was not running".to_owned())
        }
    }

    async fn store_power_state(&mut self) -> Result<Option<String>, MigrateError> {
        let power = match self.power() {
            Ok(power) => power,
            Err(reason) => return Ok(Some(reason)),
        };
        self.state.restore_power = Some(power.power_state(&self.vm_ref()).await?);
        Ok(None)
    }

    async fn power_off_source(&mut self) -> Result<Option<String>, MigrateError> {
        let power = match self.power_of_running_source() {
            Ok(power) => power,
            Err(reason) => return Ok(Some(reason)),
        };
        let vm = self.vm_ref();
        // Upstream asks the guest first and powers off when the guest cannot be asked.
        let started = tokio::time::Instant::now();
        let mut record = SourcePowerOff {
            method: PowerOffMethod::GuestShutdown,
            ..SourcePowerOff::default()
        };
        if let Err(e) = power.shutdown_guest(&vm).await {
            let reason = forklift_core::error::chain(&e);
            tracing::info!(vm = %PeerText(&self.target.source_name), error = %reason,
                "guest shutdown refused; powering off");
            power.power_off(&vm).await?;
            record.method = PowerOffMethod::HardPowerOff;
            record.reason = format!("the guest shutdown was refused: {reason}");
        }
        self.state.power_off = Some((record, started));
        Ok(None)
    }

    async fn wait_for_power_off(&mut self) -> Result<Option<String>, MigrateError> {
        let power = match self.power_of_running_source() {
            Ok(power) => power,
            Err(reason) => return Ok(Some(reason)),
        };
        let vm = self.vm_ref();
        let started = tokio::time::Instant::now();
        let mut forced = false;
        while power.power_state(&vm).await? != PowerState::Off {
            let waited = started.elapsed();
            if waited >= POWER_OFF_LIMIT {
                return Err(MigrateError::PowerOffTimeout {
                    vm: self.target.source_name.clone(),
                    seconds: waited.as_secs(),
                });
            }
            if !forced && waited >= GUEST_SHUTDOWN_GRACE {
                tracing::warn!(vm = %PeerText(&self.target.source_name), "the guest did not shut down; powering off");
                power.power_off(&vm).await?;
                forced = true;
            }
            tokio::time::sleep(POWER_POLL_INTERVAL).await;
        }
        if let Some((record, since)) = self.state.power_off.as_mut() {
            if forced {
                record.method = PowerOffMethod::HardPowerOffAfterTimeout;
                record.reason = format!(
                    "the guest did not shut down in {} s",
                    GUEST_SHUTDOWN_GRACE.as_secs()
                );
            }
            record.millis = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
            let event = MigrationEvent::SourcePoweredOff {
                vm: self.report.id.clone(),
                power_off: record.clone(),
            };
            self.ctx.emit(event).await;
        }
        Ok(None)
    }

    async fn create_disks(&mut self) -> Result<(), MigrateError> {
        let namespace = self.ctx.target_namespace().to_owned();
        for disk in &self.target.disks {
            if self.ctx.restart {
                self.ctx
                    .destination
                    .discard_checkpoint(&namespace, &disk.claim_name)
                    .await?;
            }
            let destination = &self.ctx.destination;
            let opened = if self.target.itinerary == ItineraryKind::Warm {
                // Precopies rewrite it in place.
                destination
                    .open_rewritable_disk(&namespace, &disk.claim_name, disk.capacity)
                    .await?
            } else {
                destination
                    .open_disk(&namespace, &disk.claim_name, disk.capacity)
                    .await?
            };
            let object = match &disk.object {
                DiskObject::DataVolume(dv) => serde_json::to_value(dv),
                DiskObject::PersistentVolumeClaim(pvc) => serde_json::to_value(pvc),
            }
            .map_err(|e| MigrateError::Serialize {
                what: disk.claim_name.clone(),
                source: e,
            })?;
            self.ctx
                .destination
                .write_object(&namespace, ObjectKind::DiskClaim, &disk.claim_name, &object)
                .await?;
            self.state.disks.insert(disk.index, opened);
        }
        let tasks = self
            .target
            .disks
            .iter()
            .map(|d| (d.source.clone(), d.capacity))
            .collect();
        self.ctx.status.set_disk_tasks(&self.report.id, tasks).await;
        Ok(())
    }

    async fn create_vm(&mut self) -> Result<(), MigrateError> {
        let vm = self
            .target
            .virtual_machine
            .as_ref()
            .ok_or_else(|| MigrateError::NotRendered {
                vm: self.target.source_name.clone(),
            })?;
        // The inspected OS decides the preference, as upstream creates the VM after the
        // conversion.
        let mut vm = vm.clone();
        if let Some(preference) = self.state.preference.take() {
            vm.spec.preference = Some(preference);
        }
        let object = serde_json::to_value(&vm).map_err(|e| MigrateError::Serialize {
            what: self.target.target_name.clone(),
            source: e,
        })?;
        self.ctx
            .destination
            .write_object(
                self.ctx.target_namespace(),
                ObjectKind::VirtualMachine,
                &self.target.target_name,
                &object,
            )
            .await?;
        Ok(())
    }

    /// Runs the VM's hooks of `step` in render's order; a failed hook runs again up to the
    /// retry count (upstream `HOOK_RETRY`), then fails the VM.
    async fn run_hooks(&mut self, step: HookStep) -> Result<Option<String>, MigrateError> {
        let hooks: Vec<_> = self
            .target
            .hooks
            .iter()
            .filter(|h| h.step == step)
            .collect();
        let ctx = self.ctx;
        // Without a runner render refused the plan already; never run hooks by default.
        let Some(runner) = ctx.hooks.as_ref().filter(|_| !hooks.is_empty()) else {
            return Err(MigrateError::PhaseNotSupported {
                phase: if step == HookStep::PreHook {
                    Phase::PreHook
                } else {
                    Phase::PostHook
                },
            });
        };
        let context = HookContext {
            step: step.to_string(),
            plan_namespace: ctx.bundle.plan.metadata.namespace_or_empty().to_owned(),
            plan_name: ctx.bundle.plan.metadata.name_or_empty().to_owned(),
            vm_id: self.target.source_id.clone(),
            vm_name: self.target.source_name.clone(),
            target_name: self.target.target_name.clone(),
            target_namespace: ctx.target_namespace().to_owned(),
        };
        for hook_ref in hooks {
            let hook =
                ctx.bundle
                    .hook(&hook_ref.hook)
                    .ok_or_else(|| MigrateError::HookNotFound {
                        hook: hook_ref.hook.clone(),
                    })?;
            let mut attempt = 0;
            let output = loop {
                match runner.run(hook, &context, self.cancel).await {
                    Ok(output) => break output,
                    Err(e) if e.is_retryable() && attempt < ctx.hook_retries => {
                        attempt += 1;
                        tracing::warn!(vm = %PeerText(&self.target.source_name), hook = %hook_ref.hook,
                            attempt, error = %PeerText(&forklift_core::error::chain(&e)), "hook failed; retrying");
                        tokio::time::sleep(HOOK_RETRY_DELAY * 2u32.pow(attempt - 1)).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            tracing::info!(vm = %PeerText(&self.target.source_name), hook = %hook_ref.hook,
                output = %PeerText(&output.to_string()), "hook ran");
        }
        Ok(None)
    }
}

/// Records how the VM ended. On success the disks' checkpoints go. On failure or cancel, a
/// running source is powered back on; a failed VM's target objects are removed when the
/// plan asks for it (upstream's deleteVmOnFailMigration), a cancelled VM's are kept so the
/// next run resumes it, unless the destination removes on cancel as upstream does
/// (`Destination::removes_on_cancel`, the cluster).
async fn finish(
    ctx: &RunContext,
    target: &TargetVm,
    report: &mut VmReport,
    state: &mut VmState,
    result: Result<(), MigrateError>,
) {
    let (outcome, mut error) = match &result {
        Ok(()) => (VmOutcome::Succeeded, None),
        Err(MigrateError::Cancelled) => (VmOutcome::Canceled, None),
        Err(e) => (VmOutcome::Failed, Some(e.chain())),
    };
    // Never leave a warm migration's snapshot behind; say which could not be removed.
    let left = super::warm::clean_up(ctx, target, &mut state.warm).await;
    if target.itinerary == ItineraryKind::Warm {
        report.warm = Some(state.warm.status.clone());
    }
    if !left.is_empty() && outcome == VmOutcome::Failed {
        let note = format!("snapshots left on the source: {}", left.join(", "));
        error = Some(error.map_or(note.clone(), |e| format!("{e}; {note}")));
    }
    if outcome == VmOutcome::Succeeded && target.itinerary == ItineraryKind::Warm {
        super::warm::release_changes(ctx, target).await;
    }
    if outcome == VmOutcome::Succeeded {
        // Only now may the disks' checkpoints go: until the VM succeeded, a re-run resumes
        // each disk from its checkpoint. A checkpoint that cannot be removed only makes the
        // next run re-migrate the VM (resuming every disk at once), so it is a warning.
        for disk in &target.disks {
            if let Err(e) = ctx
                .destination
                .disk_completed(&report.namespace, &disk.claim_name)
                .await
            {
                tracing::warn!(vm = %PeerText(&target.source_name), disk = %disk.claim_name,
                    error = %PeerText(&forklift_core::error::chain(&e)), "cannot remove the checkpoint");
            }
        }
    } else {
        if state.restore_power == Some(PowerState::On) {
            if let Ok(power) = ctx.provider.power() {
                let vm = VmRef::new(target.source_id.clone());
                if let Err(e) = power.power_on(&vm).await {
                    tracing::warn!(vm = %PeerText(&target.source_name), error = %PeerText(&forklift_core::error::chain(&e)),
                        "cannot power the source back on");
                }
            }
        }
        let plan_wants = ctx.bundle.plan.spec.delete_vm_on_fail_migration;
        let vm_wants = ctx.bundle.plan.spec.vms.iter().any(|v| {
            v.delete_vm_on_fail_migration
                && (v.id == target.source_id || v.name == target.source_name)
        });
        // Upstream's deleteVmOnFailMigration (on by default) deletes a failed VM's target
        // objects; here that is the VM, the disk claims, the images and their checkpoints
        // (a checkpoint without its image is useless), so such a VM is copied from zero on
        // the next run. A cancelled VM did not fail: it keeps its images and checkpoints, so
        // the next run resumes its disks (`--restart` copies them from zero), as does a VM
        // whose plan sets deleteVmOnFailMigration: false.
        // A destination that removes on cancel (the cluster, as upstream) does so for a
        // cancelled VM too.
        let removes = outcome == VmOutcome::Failed
            || (outcome == VmOutcome::Canceled && ctx.destination.removes_on_cancel());
        if removes && (plan_wants || vm_wants) {
            let claims: Vec<String> = target.disks.iter().map(|d| d.claim_name.clone()).collect();
            if let Err(e) = ctx
                .destination
                .remove_vm(&report.namespace, &target.target_name, &claims)
                .await
            {
                tracing::warn!(vm = %PeerText(&target.source_name), error = %PeerText(&forklift_core::error::chain(&e)),
                    "cleanup after failure failed");
                // What could not be removed is said in the VM's status.
                let note = format!("cleanup: {}", forklift_core::error::chain(&e));
                error = Some(error.map_or(note.clone(), |e| format!("{e}; {note}")));
            }
        }
    }
    ctx.status
        .complete(&report.id, outcome, error.clone())
        .await;
    report.outcome = outcome;
    report.error = error.clone();
    ctx.emit(MigrationEvent::VmCompleted {
        vm: report.id.clone(),
        target_name: report.target_name.clone(),
        outcome,
        error,
    })
    .await;
}

/// The plan's entry for `target`: by inventory id, or by name for an entry without one.
pub(crate) fn plan_vm<'a>(
    plan: &'a forklift_core::resources::Plan,
    target: &TargetVm,
) -> Option<&'a forklift_core::resources::PlanVm> {
    plan.spec
        .vms
        .iter()
        .find(|v| v.id == target.source_id || (v.id.is_empty() && v.name == target.source_name))
}
