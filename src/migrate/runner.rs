//! The plan-level loop: validate, render, schedule, and run each VM.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use forklift_core::itinerary::{FlagInputs, Flags, ItineraryKind};
use forklift_core::manifest::ManifestSet;
use forklift_core::render::{RenderContext, TargetSpec, TargetVm, render};
use forklift_core::resources::{Condition, HookStep, PlanVm};
use forklift_core::scheduling::{Policy, Scheduler};
use forklift_core::scheduling::{plan_policy, plan_vms};
use forklift_core::validation::{self, PlanResources, is_ready};
use forklift_providers::{Provider, ProviderConfig, ProviderType, open_provider};
use forklift_transfer::copy::CopyOptions;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::events::{MigrationEvent, VmOutcome};
use super::hooks::{AnsibleHookRunner, HookRunner};
use super::plan_inputs::PlanInputs;
use super::status::StatusBook;
use super::vm::{RunContext, SchedulerReport, VmReport, migrate_vm};
use super::{LocalDestination, MigrateError};

/// How a migration runs.
#[derive(Clone)]
pub struct MigrateOptions {
    /// Where the KubeVirt-ready bundle is written.
    pub destination: LocalDestination,
    /// Transfer tuning (request size, requests in flight...).
    pub copy: CopyOptions,
    /// Re-read every copied disk and compare it with the source.
    pub verify: bool,
    /// What runs the plan's hooks (default: a local `ansible-playbook`).
    pub hooks: Arc<dyn HookRunner>,
    /// Validation settings (feature gates, limits).
    pub validation: validation::Settings,
}

impl std::fmt::Debug for MigrateOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrateOptions")
            .field("destination", &self.destination)
            .field("copy", &self.copy)
            .field("verify", &self.verify)
            .finish_non_exhaustive()
    }
}

impl MigrateOptions {
    /// Defaults writing to `destination`.
    pub fn new(destination: LocalDestination) -> Self {
        Self {
            destination,
            copy: CopyOptions::default(),
            verify: false,
            hooks: Arc::new(AnsibleHookRunner::default()),
            validation: validation::Settings::default(),
        }
    }
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanReport {
    /// `namespace/name` of the plan.
    pub plan: String,
    /// Every VM, in plan order.
    pub vms: Vec<VmReport>,
    /// Conditions validation set.
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

/// Runs one plan's migration to a local destination.
pub struct Migrator {
    inputs: PlanInputs,
    source: ProviderConfig,
    options: MigrateOptions,
    vm_tokens: Mutex<HashMap<String, CancellationToken>>,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("plan", &self.inputs.plan_key())
            .finish_non_exhaustive()
    }
}

/// The predicate flags of a VM as this runner executes it: our transfer engine copies the
/// disks (CDI-style), so virt-v2v never does.
pub(crate) fn vm_flags(inputs: &PlanInputs, provider: &Provider, target: &TargetVm) -> Flags {
    let requires_conversion = matches!(
        provider.provider_type(),
        ProviderType::VSphere | ProviderType::Ova | ProviderType::HyperV
    );
    FlagInputs {
        has_pre_hook: target.hooks.iter().any(|h| h.step == HookStep::PreHook),
        has_post_hook: target.hooks.iter().any(|h| h.step == HookStep::PostHook),
        source_requires_conversion: requires_conversion,
        skip_guest_conversion: inputs.bundle.plan.spec.skip_guest_conversion,
        virt_v2v_copies_disks: false,
        source_is_openstack: provider.provider_type() == ProviderType::OpenStack,
        source_is_vsphere: provider.provider_type() == ProviderType::VSphere,
        ..FlagInputs::default()
    }
    .flags()
}

impl Migrator {
    /// Prepares the run of `plan` (`namespace/name`, a name, or the only Plan) from `set`.
    pub fn new(
        set: &ManifestSet,
        plan: Option<&str>,
        options: MigrateOptions,
    ) -> Result<Self, MigrateError> {
        let inputs = PlanInputs::from_manifests(set, plan)?;
        let provider = &inputs.source_provider;
        let key = format!(
            "{}/{}",
            provider.metadata.namespace_or_empty(),
            provider.metadata.name_or_empty()
        );
        let source = ProviderConfig::from_manifests(set, &key)?;
        let vm_tokens = inputs
            .bundle
            .plan
            .spec
            .vms
            .iter()
            .map(|vm| {
                (
                    if vm.id.is_empty() {
                        vm.name.clone()
                    } else {
                        vm.id.clone()
                    },
                    CancellationToken::new(),
                )
            })
            .collect();
        Ok(Self {
            inputs,
            source,
            options,
            vm_tokens: Mutex::new(vm_tokens),
        })
    }

    /// The plan's resolved inputs.
    pub fn inputs(&self) -> &PlanInputs {
        &self.inputs
    }

    /// Cancels one VM (by id, or by name for VMs the plan names); returns whether it is in
    /// the plan. Its migration stops at the next opportunity and is cleaned up.
    pub fn cancel_vm(&self, vm: &str) -> bool {
        let tokens = self
            .vm_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match tokens.get(vm) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    fn vm_token(&self, id: &str, name: &str, run: &CancellationToken) -> CancellationToken {
        let tokens = self
            .vm_tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let combined = run.child_token();
        for own in [tokens.get(id), tokens.get(name)].into_iter().flatten() {
            let (own, combined) = (own.clone(), combined.clone());
            tokio::spawn(async move {
                tokio::select! {
                    () = own.cancelled() => combined.cancel(),
                    () = combined.cancelled() => {}
                }
            });
        }
        combined
    }

    /// Validates, renders and migrates the plan, sending events as it goes. A plan with
    /// blockers fails with [`MigrateError::NotReady`] before anything moves. VMs that an
    /// earlier run migrated are skipped.
    pub async fn run(
        &self,
        events: mpsc::Sender<MigrationEvent>,
        cancel: CancellationToken,
    ) -> Result<PlanReport, MigrateError> {
        let started = Instant::now();
        let inputs = &self.inputs;
        let provider = open_provider(&self.source).await?;
        let inventory = provider.inventory()?.collect_inventory().await?;
        let resources = PlanResources {
            providers: &inputs.bundle.providers,
            network_maps: &inputs.bundle.network_maps,
            storage_maps: &inputs.bundle.storage_maps,
            hooks: &inputs.bundle.hooks,
        };
        let conditions = validation::validate(
            &inputs.bundle.plan,
            &resources,
            &inventory,
            None,
            &self.options.validation,
        );
        let ready = is_ready(&conditions);
        let _ = events
            .send(MigrationEvent::Validated {
                ready,
                conditions: conditions.clone(),
            })
            .await;
        if !ready {
            return Err(MigrateError::NotReady { conditions });
        }
        let context = RenderContext {
            migration_uid: inputs.migration.metadata.uid.clone(),
            ..RenderContext::default()
        };
        let spec: TargetSpec = render(inputs.bundle.render_input(&inventory, None, &context));
        let status = StatusBook::open(&inputs.bundle.plan, &self.options.destination);
        let itinerary = ItineraryKind::Cold.itinerary();
        let ctx = Arc::new(RunContext {
            inputs: inputs.clone(),
            provider: provider.clone(),
            destination: self.options.destination.clone(),
            copy: self.options.copy.clone(),
            verify: self.options.verify,
            hooks: self.options.hooks.clone(),
            status,
            events: events.clone(),
            itinerary,
        });

        // Decide per VM: skipped (done before), cancelled up front, or to run.
        let cancelled_up_front: Vec<&str> = inputs
            .migration
            .spec
            .cancel
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        let mut reports: BTreeMap<String, VmReport> = BTreeMap::new();
        let mut to_run: BTreeMap<String, TargetVm> = BTreeMap::new();
        for target in &spec.vms {
            let skipped = ctx.status.already_succeeded(&target.source_id);
            let cancelled = cancelled_up_front.contains(&target.source_id.as_str());
            if skipped || cancelled {
                let outcome = if skipped {
                    VmOutcome::Skipped
                } else {
                    VmOutcome::Canceled
                };
                if cancelled && !skipped {
                    ctx.status.begin(
                        forklift_core::resources::VmStatus::for_vm(PlanVm {
                            id: target.source_id.clone(),
                            name: target.source_name.clone(),
                            ..Default::default()
                        }),
                        &[],
                    );
                    ctx.status
                        .complete(&target.source_id, super::status::CANCELED, None);
                }
                reports.insert(
                    target.source_id.clone(),
                    report_without_run(target, &inputs.bundle.plan.spec.target_namespace, outcome),
                );
                let _ = events
                    .send(MigrationEvent::VmCompleted {
                        vm: target.source_id.clone(),
                        target_name: target.target_name.clone(),
                        outcome,
                        error: None,
                    })
                    .await;
            } else {
                to_run.insert(target.source_id.clone(), target.clone());
            }
        }
        let bytes_total: u64 = to_run
            .values()
            .flat_map(|t| t.disks.iter().map(|d| d.capacity))
            .sum();
        let _ = events
            .send(MigrationEvent::PlanStarted {
                plan: inputs.plan_key(),
                vms: spec.vms.len(),
                bytes_total,
            })
            .await;

        let (sched_vms, _missing) = plan_vms(&inputs.bundle.plan, &inventory);
        let sched_vms: Vec<_> = sched_vms
            .into_iter()
            .filter(|vm| to_run.contains_key(&vm.id))
            .collect();
        let policy = plan_policy(
            &inputs.bundle.plan,
            &inventory,
            &inputs.bundle.settings,
            true,
        )
        .unwrap_or_else(|| {
            Policy::for_migration(
                ProviderType::Ova,
                false,
                true,
                u32::try_from(inputs.bundle.settings.controller_max_vm_inflight.max(1))
                    .unwrap_or(1),
            )
        });
        let mut scheduler = Scheduler::new(policy, sched_vms)?;
        let (report_tx, mut report_rx) = mpsc::channel::<SchedulerReport>(64);
        let mut admitted_tx: HashMap<String, mpsc::Sender<usize>> = HashMap::new();
        let mut running: JoinSet<VmReport> = JoinSet::new();
        loop {
            for admission in scheduler.admit() {
                let Some(target) = to_run.get(&admission.vm) else {
                    continue;
                };
                if admission.vm_started {
                    let (tx, rx) = mpsc::channel(target.disks.len().max(1) + 1);
                    admitted_tx.insert(admission.vm.clone(), tx);
                    let flags = vm_flags(inputs, &provider, target);
                    let phases = ctx.itinerary.phases(flags);
                    let steps: Vec<(String, String)> = ctx
                        .itinerary
                        .pipeline(flags)
                        .into_iter()
                        .map(|s| {
                            (
                                s.as_str().to_owned(),
                                step_description(s.as_str()).to_owned(),
                            )
                        })
                        .collect();
                    let base = inputs
                        .bundle
                        .plan
                        .spec
                        .vms
                        .iter()
                        .find(|v| {
                            v.id == target.source_id
                                || (v.id.is_empty() && v.name == target.source_name)
                        })
                        .cloned()
                        .unwrap_or_default();
                    let mut vm_status = forklift_core::resources::VmStatus::for_vm(base);
                    vm_status.vm.id = target.source_id.clone();
                    vm_status.vm.name = target.source_name.clone();
                    vm_status.new_name = if target.renamed {
                        target.target_name.clone()
                    } else {
                        String::new()
                    };
                    ctx.status.begin(vm_status, &steps);
                    let token = self.vm_token(&target.source_id, &target.source_name, &cancel);
                    running.spawn(migrate_vm(
                        ctx.clone(),
                        target.clone(),
                        phases,
                        rx,
                        report_tx.clone(),
                        token,
                    ));
                }
                if let Some(tx) = admitted_tx.get(&admission.vm) {
                    for disk in admission.disks {
                        // The channel holds every disk of the VM, so this never waits.
                        let _ = tx.send(disk).await;
                    }
                }
            }
            if scheduler.is_finished() {
                break;
            }
            tokio::select! {
                Some(report) = report_rx.recv() => match report {
                    SchedulerReport::DiskDone { vm, disk } => scheduler.disk_finished(&vm, disk)?,
                },
                Some(joined) = running.join_next() => {
                    let report = joined.map_err(|e| MigrateError::Manifest(format!("VM task failed: {e}")))?;
                    scheduler.vm_finished(&report.id)?;
                    admitted_tx.remove(&report.id);
                    reports.insert(report.id.clone(), report);
                }
                else => break,
            }
        }
        while let Some(joined) = running.join_next().await {
            let report =
                joined.map_err(|e| MigrateError::Manifest(format!("VM task failed: {e}")))?;
            reports.insert(report.id.clone(), report);
        }
        ctx.status.save()?;
        let vms: Vec<VmReport> = spec
            .vms
            .iter()
            .filter_map(|t| reports.remove(&t.source_id))
            .collect();
        let bytes_written = vms
            .iter()
            .flat_map(|v| v.disks.iter().map(|d| d.summary.bytes_written))
            .sum();
        let report = PlanReport {
            plan: inputs.plan_key(),
            conditions,
            bytes_written,
            bytes_total,
            seconds: started.elapsed().as_secs_f64(),
            status_path: self
                .options
                .destination
                .status_path(
                    inputs.bundle.plan.metadata.namespace_or_empty(),
                    inputs.bundle.plan.metadata.name_or_empty(),
                )
                .display()
                .to_string(),
            vms,
        };
        let _ = events
            .send(MigrationEvent::PlanCompleted {
                succeeded: report.count(VmOutcome::Succeeded),
                failed: report.count(VmOutcome::Failed),
                canceled: report.count(VmOutcome::Canceled),
                skipped: report.count(VmOutcome::Skipped),
            })
            .await;
        Ok(report)
    }
}

fn report_without_run(target: &TargetVm, namespace: &str, outcome: VmOutcome) -> VmReport {
    VmReport {
        id: target.source_id.clone(),
        source_name: target.source_name.clone(),
        target_name: target.target_name.clone(),
        namespace: namespace.to_owned(),
        outcome,
        error: None,
        disks: Vec::new(),
    }
}

/// Upstream's step descriptions (`migrator/base/migrator.go`).
fn step_description(step: &str) -> &'static str {
    match step {
        "Initialize" => "Initialize migration.",
        "PreHook" => "Run pre-migration hook.",
        "PostHook" => "Run post-migration hook.",
        "DiskAllocation" => "Allocate disks.",
        "DiskTransfer" => "Transfer disks.",
        "Cutover" => "Finalize disk transfer.",
        "ImageConversion" => "Convert image to kubevirt.",
        "DiskTransferV2v" => "Copy disks.",
        "VirtualMachineCreation" => "Create VM.",
        "WaitForGuestReboots" => "Wait for guest reboots.",
        _ => "",
    }
}
