//! One VM's cold migration: upstream's phases, executed against a source provider and the
//! local destination.

use std::collections::BTreeMap;
use std::sync::Arc;

use forklift_core::inventory::PowerState;
use forklift_core::itinerary::{Itinerary, Phase};
use forklift_core::render::{DiskObject, TargetVm};
use forklift_core::resources::HookStep;
use forklift_providers::Provider;
use forklift_providers::capability::{DiskRef, VmRef};
use forklift_transfer::block::{BlockSink, BlockSource};
use forklift_transfer::copy::verify::{VerifyOptions, verify};
use forklift_transfer::copy::{self, CopyOptions};
use forklift_transfer::local::LocalDisk;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::events::{MigrationEvent, VmOutcome};
use super::hooks::{HookContext, HookRunner};
use super::plan_inputs::PlanInputs;
use super::status::StatusBook;
use super::{LocalDestination, MigrateError};

/// What the VM tells the scheduler loop.
#[derive(Debug)]
pub(crate) enum SchedulerReport {
    /// A disk finished (or will never start): its slot is free.
    DiskDone { vm: String, disk: usize },
}

/// A disk migrated to the destination.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskReport {
    /// Disk index in the provider's order.
    pub index: usize,
    /// Target claim name.
    pub claim: String,
    /// Image path at the destination.
    pub path: String,
    /// What the copy did.
    pub summary: copy::CopySummary,
    /// Whether the image was re-read and found identical to the source.
    pub verified: bool,
}

/// How one VM's migration ended.
#[derive(Debug, Clone, serde::Serialize)]
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
    /// Copied disks.
    pub disks: Vec<DiskReport>,
}

/// Shared by every VM task of one run.
pub(crate) struct RunContext {
    pub inputs: PlanInputs,
    pub provider: Provider,
    pub destination: LocalDestination,
    pub copy: CopyOptions,
    pub verify: bool,
    pub hooks: Arc<dyn HookRunner>,
    pub status: StatusBook,
    pub events: mpsc::Sender<MigrationEvent>,
    pub itinerary: Itinerary,
}

impl RunContext {
    async fn emit(&self, event: MigrationEvent) {
        // A dropped receiver only means nobody listens.
        let _ = self.events.send(event).await;
    }
}

/// Why nothing is done in phases that belong to guest conversion (virt-v2v) or to cluster
/// mechanics that a local destination does not have.
fn skip_reason(phase: Phase) -> Option<&'static str> {
    match phase {
        Phase::AllocateDisks
        | Phase::CreateGuestConversionPod
        | Phase::ConvertGuest
        | Phase::CopyDisksVirtV2V => {
            Some("No guest converter is configured: disks are copied raw by the transfer engine")
        }
        Phase::ConvertOpenstackSnapshot => {
            Some("Images are copied as raw: no snapshot conversion is needed")
        }
        Phase::WaitForGuestReboots => Some("The local destination does not start the VM"),
        _ => None,
    }
}

/// Runs every phase of `target` in order; disks are copied as the scheduler admits them
/// through `admitted`.
pub(crate) async fn migrate_vm(
    ctx: Arc<RunContext>,
    target: TargetVm,
    phases: Vec<Phase>,
    mut admitted: mpsc::Receiver<usize>,
    reports: mpsc::Sender<SchedulerReport>,
    cancel: CancellationToken,
) -> VmReport {
    let namespace = ctx.inputs.bundle.plan.spec.target_namespace.clone();
    let mut report = VmReport {
        id: target.source_id.clone(),
        source_name: target.source_name.clone(),
        target_name: target.target_name.clone(),
        namespace: namespace.clone(),
        outcome: VmOutcome::Succeeded,
        error: None,
        disks: Vec::new(),
    };
    ctx.emit(MigrationEvent::VmStarted {
        vm: report.id.clone(),
        target_name: report.target_name.clone(),
    })
    .await;
    let mut state = VmState {
        sinks: BTreeMap::new(),
        restore_power: None,
    };
    let mut result = Ok(());
    for phase in phases {
        if cancel.is_cancelled() {
            result = Err(MigrateError::Cancelled);
            break;
        }
        let step = ctx.itinerary.step(phase, flags_of(&ctx, &target));
        ctx.status
            .enter_phase(&report.id, phase.as_str(), step.map(|s| s.as_str()));
        ctx.emit(MigrationEvent::PhaseStarted {
            vm: report.id.clone(),
            phase: phase.to_string(),
            step: step.map(|s| s.to_string()).unwrap_or_default(),
        })
        .await;
        let outcome = tokio::select! {
            r = run_phase(&ctx, &target, phase, &mut state, &mut admitted, &reports, &mut report, &cancel) => r,
            () = cancel.cancelled() => Err(MigrateError::Cancelled),
        };
        match outcome {
            Ok(Some(reason)) => {
                ctx.emit(MigrationEvent::PhaseSkipped {
                    vm: report.id.clone(),
                    phase: phase.to_string(),
                    reason: reason.clone(),
                })
                .await;
            }
            Ok(None) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    finish(&ctx, &target, &mut report, &state, result).await;
    // Ends the watchers that link this VM's token to its cancel handle.
    cancel.cancel();
    report
}

struct VmState {
    sinks: BTreeMap<usize, LocalDisk>,
    restore_power: Option<PowerState>,
}

fn flags_of(ctx: &RunContext, target: &TargetVm) -> forklift_core::itinerary::Flags {
    super::runner::vm_flags(&ctx.inputs, &ctx.provider, target)
}

/// Runs one phase; `Ok(Some(reason))` when it had nothing to do.
#[allow(clippy::too_many_arguments)]
async fn run_phase(
    ctx: &Arc<RunContext>,
    target: &TargetVm,
    phase: Phase,
    state: &mut VmState,
    admitted: &mut mpsc::Receiver<usize>,
    reports: &mpsc::Sender<SchedulerReport>,
    report: &mut VmReport,
    cancel: &CancellationToken,
) -> Result<Option<String>, MigrateError> {
    let vm_ref = VmRef::new(target.source_id.clone());
    let namespace = &report.namespace;
    match phase {
        Phase::Started | Phase::Completed => Ok(None),
        Phase::PreHook | Phase::PostHook => {
            let step = if phase == Phase::PreHook {
                HookStep::PreHook
            } else {
                HookStep::PostHook
            };
            run_hooks(ctx, target, step, namespace, cancel).await
        }
        Phase::StorePowerState => match ctx.provider.power() {
            Ok(power) => {
                let current = power.power_state(&vm_ref).await?;
                state.restore_power = Some(current);
                Ok(None)
            }
            Err(_) => Ok(Some("The source provider has no power state".into())),
        },
        Phase::PowerOffSource => match ctx.provider.power() {
            Ok(power) if state.restore_power == Some(PowerState::On) => {
                if power.shutdown_guest(&vm_ref).await.is_err() {
                    power.power_off(&vm_ref).await?;
                }
                Ok(None)
            }
            Ok(_) => Ok(Some("The source VM is not running".into())),
            Err(_) => Ok(Some("The source provider has no power control".into())),
        },
        Phase::WaitForPowerOff => match ctx.provider.power() {
            Ok(power) if state.restore_power == Some(PowerState::On) => {
                while power.power_state(&vm_ref).await? != PowerState::Off {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Ok(None)
            }
            _ => Ok(Some("Nothing to wait for".into())),
        },
        Phase::CreateDataVolumes => {
            for disk in &target.disks {
                let sink = ctx
                    .destination
                    .open_disk(namespace, &disk.claim_name, disk.capacity)?;
                let object = match &disk.object {
                    DiskObject::DataVolume(dv) => serde_json::to_value(dv),
                    DiskObject::PersistentVolumeClaim(pvc) => serde_json::to_value(pvc),
                }
                .map_err(|e| MigrateError::Manifest(e.to_string()))?;
                ctx.destination.write_manifest(
                    namespace,
                    "datavolumes",
                    &disk.claim_name,
                    &object,
                )?;
                state.sinks.insert(disk.index, sink);
            }
            let tasks: Vec<(String, u64)> = target
                .disks
                .iter()
                .map(|d| (d.source.clone(), d.capacity))
                .collect();
            ctx.status.set_disk_tasks(&report.id, &tasks);
            Ok(None)
        }
        Phase::CopyDisks => copy_disks(ctx, target, state, admitted, reports, report, cancel)
            .await
            .map(|()| None),
        Phase::CreateVM => match &target.virtual_machine {
            Some(vm) => {
                ctx.destination.write_manifest(
                    namespace,
                    "virtualmachines",
                    &target.target_name,
                    vm,
                )?;
                Ok(None)
            }
            None => Err(MigrateError::Manifest(format!(
                "no VirtualMachine was rendered for {}",
                target.source_name
            ))),
        },
        other => Ok(Some(
            skip_reason(other)
                .unwrap_or("Not applicable to the local destination")
                .to_owned(),
        )),
    }
}

async fn run_hooks(
    ctx: &RunContext,
    target: &TargetVm,
    step: HookStep,
    namespace: &str,
    cancel: &CancellationToken,
) -> Result<Option<String>, MigrateError> {
    let hooks: Vec<_> = target.hooks.iter().filter(|h| h.step == step).collect();
    if hooks.is_empty() {
        return Ok(Some("The VM has no hook for this step".into()));
    }
    let context = HookContext {
        step: step.to_string(),
        plan_namespace: ctx
            .inputs
            .bundle
            .plan
            .metadata
            .namespace_or_empty()
            .to_owned(),
        plan_name: ctx.inputs.bundle.plan.metadata.name_or_empty().to_owned(),
        vm_id: target.source_id.clone(),
        vm_name: target.source_name.clone(),
        target_name: target.target_name.clone(),
        target_namespace: namespace.to_owned(),
    };
    for hook_ref in hooks {
        let hook =
            ctx.inputs.bundle.hook(&hook_ref.hook).ok_or_else(|| {
                MigrateError::Manifest(format!("Hook {} not found", hook_ref.hook))
            })?;
        let output = ctx.hooks.run(hook, &context, cancel).await?;
        tracing::info!(vm = %target.source_name, hook = %hook_ref.hook, %output, "hook ran");
    }
    Ok(None)
}

async fn copy_disks(
    ctx: &Arc<RunContext>,
    target: &TargetVm,
    state: &mut VmState,
    admitted: &mut mpsc::Receiver<usize>,
    reports: &mpsc::Sender<SchedulerReport>,
    report: &mut VmReport,
    cancel: &CancellationToken,
) -> Result<(), MigrateError> {
    let disks_api = ctx.provider.disks()?;
    let mut remaining: Vec<usize> = target.disks.iter().map(|d| d.index).collect();
    let mut running = JoinSet::new();
    let mut first_error = None;
    // A failed disk stops its siblings through this child token: cancelling the VM's own
    // token would let the phase loop report the VM as cancelled instead of failed.
    let siblings = cancel.child_token();
    while !remaining.is_empty() || !running.is_empty() {
        tokio::select! {
            Some(index) = admitted.recv(), if !remaining.is_empty() => {
                remaining.retain(|i| *i != index);
                let Some(disk) = target.disks.iter().find(|d| d.index == index) else {
                    let _ = reports.send(SchedulerReport::DiskDone { vm: report.id.clone(), disk: index }).await;
                    continue;
                };
                let sink = state.sinks.get(&index).cloned().ok_or_else(|| {
                    MigrateError::Manifest(format!("disk {} was not created", disk.claim_name))
                })?;
                let disk_ref = DiskRef { key: 0, file: disk.source.clone(), capacity: disk.capacity };
                let source: Arc<dyn BlockSource> =
                    Arc::from(disks_api.open_disk(&VmRef::new(target.source_id.clone()), &disk_ref, None).await?);
                let job = DiskJob {
                    vm: report.id.clone(),
                    index,
                    claim: disk.claim_name.clone(),
                    task: disk.source.clone(),
                    namespace: report.namespace.clone(),
                };
                running.spawn(copy_one(ctx.clone(), job, source, sink, siblings.clone()));
            }
            Some(joined) = running.join_next() => {
                let (index, result) = joined.map_err(|e| MigrateError::Manifest(format!("disk task failed: {e}")))?;
                let _ = reports.send(SchedulerReport::DiskDone { vm: report.id.clone(), disk: index }).await;
                match result {
                    Ok(disk) => {
                        ctx.status.disk_progress(&report.id, &disk.1, disk.0.summary.bytes_total, true);
                        report.disks.push(disk.0);
                    }
                    Err(e) => {
                        siblings.cancel();
                        first_error.get_or_insert(e);
                    }
                }
            }
            else => break,
        }
        if first_error.is_some() && running.is_empty() {
            break;
        }
    }
    match first_error {
        Some(e) => Err(e),
        None if !remaining.is_empty() => Err(MigrateError::Manifest(
            "the scheduler stopped admitting disks".into(),
        )),
        None => Ok(()),
    }
}

struct DiskJob {
    vm: String,
    index: usize,
    claim: String,
    task: String,
    namespace: String,
}

async fn copy_one(
    ctx: Arc<RunContext>,
    job: DiskJob,
    source: Arc<dyn BlockSource>,
    sink: LocalDisk,
    cancel: CancellationToken,
) -> (usize, Result<(DiskReport, String), MigrateError>) {
    let mut options = ctx.copy.clone();
    let verify_after = ctx.verify;
    let events = ctx.events.clone();
    let checkpoint = ctx.destination.checkpoint_path(&job.namespace, &job.claim);
    options.checkpoint = Some(checkpoint.clone());
    options.checksums = verify_after;
    options.target_is_zero = sink.is_zero_initialized();
    let (vm, claim, task) = (job.vm.clone(), job.claim.clone(), job.task.clone());
    let progress_ctx = ctx.clone();
    options.progress = Some(Arc::new(move |p: &copy::Progress| {
        progress_ctx
            .status
            .disk_progress(&vm, &task, p.bytes_done, false);
        // Progress is advisory: when the listener lags, an update is dropped, never queued.
        let _ = progress_ctx.events.try_send(MigrationEvent::DiskProgress {
            vm: vm.clone(),
            disk: claim.clone(),
            bytes_done: p.bytes_done,
            bytes_total: p.bytes_total,
            bytes_per_second: p.bytes_per_second,
        });
    }));
    let sink = Arc::new(sink);
    let what = format!("{} to {}", source.describe(), sink.path().display());
    let result = async {
        let copied = copy::copy(
            source.clone(),
            sink.clone() as Arc<dyn BlockSink>,
            &options,
            &cancel,
        )
        .await
        .map_err(|e| transfer_error(&what, e))?;
        let mut verified = false;
        if verify_after {
            let target: Arc<dyn BlockSource> = sink.clone();
            let check = verify(
                source,
                target,
                copied.block_map.as_ref(),
                &VerifyOptions::default(),
                &cancel,
            )
            .await
            .map_err(|e| transfer_error(&what, e))?;
            if !check.is_identical() {
                return Err(MigrateError::Destination {
                    path: sink.path().to_path_buf(),
                    message: format!(
                        "{} blocks differ from the source after the copy",
                        check.blocks_mismatched
                    ),
                });
            }
            verified = true;
        }
        let _ = std::fs::remove_file(&checkpoint);
        let report = DiskReport {
            index: job.index,
            claim: job.claim.clone(),
            path: sink.path().display().to_string(),
            summary: copied.summary,
            verified,
        };
        let _ = events
            .send(MigrationEvent::DiskCopied {
                vm: job.vm.clone(),
                disk: job.claim.clone(),
                path: report.path.clone(),
                summary: report.summary.clone(),
                verified,
            })
            .await;
        Ok((report, job.task.clone()))
    }
    .await;
    (job.index, result)
}

fn transfer_error(what: &str, source: forklift_transfer::Error) -> MigrateError {
    if source.is_cancelled() {
        MigrateError::Cancelled
    } else {
        MigrateError::Transfer {
            what: what.to_owned(),
            source: Box::new(source),
        }
    }
}

async fn finish(
    ctx: &RunContext,
    target: &TargetVm,
    report: &mut VmReport,
    state: &VmState,
    result: Result<(), MigrateError>,
) {
    let (outcome, error) = match &result {
        Ok(()) => (VmOutcome::Succeeded, None),
        Err(MigrateError::Cancelled) => (VmOutcome::Canceled, None),
        Err(e) => (VmOutcome::Failed, Some(e.chain())),
    };
    if outcome != VmOutcome::Succeeded {
        // Upstream powers a cancelled or failed source back on when it was running.
        if state.restore_power == Some(PowerState::On) {
            if let Ok(power) = ctx.provider.power() {
                let _ = power.power_on(&VmRef::new(target.source_id.clone())).await;
            }
        }
        let plan_wants = ctx.inputs.bundle.plan.spec.delete_vm_on_fail_migration;
        let vm_wants = ctx.inputs.bundle.plan.spec.vms.iter().any(|v| {
            v.delete_vm_on_fail_migration
                && (v.id == target.source_id || v.name == target.source_name)
        });
        if plan_wants || vm_wants {
            let claims: Vec<String> = target.disks.iter().map(|d| d.claim_name.clone()).collect();
            if let Err(e) =
                ctx.destination
                    .remove_vm(&report.namespace, &target.target_name, &claims)
            {
                tracing::warn!(vm = %target.source_name, error = %e.chain(), "cleanup after failure failed");
            }
        }
    }
    let condition = match outcome {
        VmOutcome::Succeeded => super::status::SUCCEEDED,
        VmOutcome::Canceled => super::status::CANCELED,
        _ => super::status::FAILED,
    };
    ctx.status.complete(&report.id, condition, error.as_deref());
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
