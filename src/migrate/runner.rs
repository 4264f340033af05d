//! The plan-level loop: validate, render with this engine's profile, refuse what cannot run,
//! then schedule and execute each VM's rendered phases.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use forklift_core::error::PeerText;
use forklift_core::inventory::SourceInventory;
use forklift_core::manifest::ManifestSet;
use forklift_core::render::{
    ExecutorProfile, RenderContext, RenderInput, TargetSpec, TargetVm, render,
};
use forklift_core::resources::ProviderType;
use forklift_core::resources::{Condition, PlanVm, VmStatus};
use forklift_core::scheduling::{Policy, Scheduler, plan_policy, plan_vms};
use forklift_core::validation::{self, PlanResources, is_ready};
use forklift_providers::{Provider, ProviderConfig, open_provider};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::MigrateError;
use super::events::{MigrationEvent, VmOutcome};
use super::options::{MigrateOptions, PlanReport, merge_conditions};
use super::plan_inputs::PlanInputs;
use super::status::{StatusWriter, succeeded};
use super::vm::{RunContext, SchedulerReport, VmReport, migrate_vm};

/// Where the run's source provider comes from.
enum SourceProvider {
    /// Opened from the manifests' Provider and Secret when the run starts.
    Config(Box<ProviderConfig>),
    /// Injected by the caller; taken by the first run.
    Injected(Mutex<Option<Provider>>),
}

/// Runs one plan's migration: executes, VM by VM, exactly the phases
/// [`render`] lists, through the injected provider, destination and hook runner.
pub struct Migrator {
    inputs: PlanInputs,
    source: SourceProvider,
    options: MigrateOptions,
    vms: Mutex<Vec<VmHandle>>,
    /// The Migration's cutover times, as the manifest says now or [`Self::cutover`] set.
    cutover: tokio::sync::watch::Sender<super::warm::CutoverTimes>,
}

/// One VM of the plan, as [`Migrator::cancel_vm`] finds it, with its cancel handle.
struct VmHandle {
    /// Inventory id; empty until the run resolved a VM the plan names only by name.
    id: String,
    /// Source name; empty until the run resolved a VM the plan names only by id.
    source_name: String,
    /// Name on the target; known once the run has rendered the plan.
    target_name: Option<String>,
    token: CancellationToken,
}

impl VmHandle {
    fn cancelled(&self) -> CancelledVm {
        CancelledVm {
            id: self.id.clone(),
            source_name: self.source_name.clone(),
            target_name: self.target_name.clone(),
        }
    }
}

/// The VM [`Migrator::cancel_vm`] cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledVm {
    /// Inventory id (empty when the plan names the VM by name and the run has not yet
    /// looked it up).
    pub id: String,
    /// Source name (empty when the plan names the VM by id and the run has not yet looked
    /// it up).
    pub source_name: String,
    /// Name on the target, once the run has rendered the plan.
    pub target_name: Option<String>,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("plan", &self.inputs.plan_key())
            .field("destination", &self.options.destination)
            .finish_non_exhaustive()
    }
}

/// Closes the provider when the run ends, on every path: explicitly after the run, or from
/// `Drop` (on a spawned task) when the run's future is dropped mid-way.
struct ProviderGuard(Option<Provider>);

impl ProviderGuard {
    async fn close(mut self) {
        if let Some(provider) = self.0.take() {
            close_provider(provider).await;
        }
    }
}

impl Drop for ProviderGuard {
    fn drop(&mut self) {
        if let (Some(provider), Ok(runtime)) =
            (self.0.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(close_provider(provider));
        }
    }
}

async fn close_provider(provider: Provider) {
    if let Err(e) = provider.close().await {
        tracing::warn!(error = %PeerText(&forklift_core::error::chain(&e)), "cannot close the source provider");
    }
}

impl Migrator {
    /// Prepares the run of `plan` (`namespace/name`, a name, or the only Plan) from `set`;
    /// the source provider is opened from the manifests when the run starts.
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
        let mut config = ProviderConfig::from_manifests(set, &key)?;
        config.allow_plain_http = options.allow_plain_http;
        let source = SourceProvider::Config(Box::new(config));
        Ok(Self::assemble(inputs, source, options))
    }

    /// Prepares the run of `plan` from `set` with an already opened source `provider`
    /// (embedding programs and tests inject their own). The run closes it when it ends.
    pub fn with_provider(
        set: &ManifestSet,
        plan: Option<&str>,
        provider: Provider,
        options: MigrateOptions,
    ) -> Result<Self, MigrateError> {
        let inputs = PlanInputs::from_manifests(set, plan)?;
        let source = SourceProvider::Injected(Mutex::new(Some(provider)));
        Ok(Self::assemble(inputs, source, options))
    }

    fn assemble(inputs: PlanInputs, source: SourceProvider, options: MigrateOptions) -> Self {
        let vms = inputs
            .bundle
            .plan
            .spec
            .vms
            .iter()
            .map(|vm| VmHandle {
                id: vm.id.clone(),
                source_name: vm.name.clone(),
                target_name: None,
                token: CancellationToken::new(),
            })
            .collect();
        let cutover =
            tokio::sync::watch::Sender::new(super::warm::CutoverTimes::of(&inputs.migration));
        Self {
            inputs,
            source,
            options,
            vms: Mutex::new(vms),
            cutover,
        }
    }

    /// Sets the cutover of the plan's warm VMs to `at` (RFC 3339), or now when `None`, as
    /// editing the Migration's `spec.cutover` does: each VM cuts over when its precopy
    /// pauses (`CopyingPaused`). Per-VM `vmCutover` times keep precedence.
    pub fn cutover(&self, at: Option<&str>) -> Result<(), MigrateError> {
        let at = match at {
            Some(at) => {
                let mut times = self.cutover.borrow().clone();
                times.cutover = Some(at.to_owned());
                // Refuse a bad time here rather than fail the VMs with it.
                times.for_vm("")?;
                at.to_owned()
            }
            None => super::time::now_rfc3339(),
        };
        self.cutover.send_modify(|times| times.cutover = Some(at));
        Ok(())
    }

    /// The plan's resolved inputs.
    pub fn inputs(&self) -> &PlanInputs {
        &self.inputs
    }

    /// What this runner can do with its options: render takes it, so `forklift render`
    /// shows exactly the phases this runner executes, and refuses what it cannot.
    pub fn executor_profile(&self) -> ExecutorProfile {
        self.options.executor_profile()
    }

    /// Cancels one VM of the plan, found by its inventory id, its source name or its name on
    /// the target (the names events show; the target name once the run has rendered the
    /// plan), in that order of precedence. Its migration stops at the next opportunity and is
    /// cleaned up; cancelling before the VM starts keeps it from starting. Returns the VM;
    /// [`MigrateError::UnknownVm`] when the plan has no VM of that reference.
    pub fn cancel_vm(&self, vm: &str) -> Result<CancelledVm, MigrateError> {
        let vms = self.vms();
        let by = |key: fn(&VmHandle) -> Option<&str>| {
            vms.iter()
                .find(|h| key(h).is_some_and(|k| !k.is_empty() && k == vm))
        };
        let found = by(|h| Some(&h.id))
            .or_else(|| by(|h| Some(&h.source_name)))
            .or_else(|| by(|h| h.target_name.as_deref()));
        match found {
            Some(handle) => {
                handle.token.cancel();
                Ok(handle.cancelled())
            }
            None => Err(MigrateError::UnknownVm {
                plan: self.inputs.plan_key(),
                vm: vm.to_owned(),
            }),
        }
    }

    fn vms(&self) -> std::sync::MutexGuard<'_, Vec<VmHandle>> {
        self.vms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Completes each VM's handle with what render resolved (id, source and target name).
    fn resolve_vms(&self, spec: &TargetSpec) {
        let mut vms = self.vms();
        for target in &spec.vms {
            let handle = vms.iter_mut().find(|h| {
                (!h.id.is_empty() && h.id == target.source_id)
                    || (h.id.is_empty() && h.source_name == target.source_name)
            });
            if let Some(handle) = handle {
                handle.id.clone_from(&target.source_id);
                handle.source_name.clone_from(&target.source_name);
                handle.target_name = Some(target.target_name.clone());
            }
        }
    }

    /// The token of one VM's run: cancelled with the plan or through [`Self::cancel_vm`].
    fn vm_token(&self, id: &str, run: &CancellationToken) -> CancellationToken {
        let combined = run.child_token();
        if let Some(handle) = self.vms().iter().find(|h| h.id == id) {
            let (own, combined) = (handle.token.clone(), combined.clone());
            tokio::spawn(async move {
                tokio::select! {
                    () = own.cancelled() => combined.cancel(),
                    () = combined.cancelled() => {}
                }
            });
        }
        combined
    }

    async fn open_source(&self) -> Result<Provider, MigrateError> {
        match &self.source {
            SourceProvider::Config(config) => Ok(open_provider(config).await?),
            SourceProvider::Injected(slot) => slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
                .ok_or(MigrateError::ProviderConsumed),
        }
    }

    /// Validates, renders and migrates the plan, sending events as it goes. A plan with
    /// blockers (validation's, render's, or a phase this engine cannot perform) fails with
    /// [`MigrateError::NotReady`] before anything is touched. VMs that an earlier run
    /// migrated are skipped. The source provider is closed on every path.
    pub async fn run(
        &self,
        events: mpsc::Sender<MigrationEvent>,
        cancel: CancellationToken,
    ) -> Result<PlanReport, MigrateError> {
        let guard = ProviderGuard(Some(self.open_source().await?));
        let result = match &guard.0 {
            Some(provider) => self.run_with(provider, &events, &cancel).await,
            None => Err(MigrateError::ProviderConsumed),
        };
        guard.close().await;
        result
    }

    /// Validation and render of the plan against `provider`'s inventory; `Err(NotReady)`
    /// when anything blocks.
    async fn prepare(
        &self,
        provider: &Provider,
        events: &mpsc::Sender<MigrationEvent>,
    ) -> Result<Prepared, MigrateError> {
        let bundle = &self.inputs.bundle;
        let mut inventory = provider.inventory()?.collect_inventory().await?;
        let (mut spec, mut conditions) = self.render_against(&inventory, provider);
        // A resumed warm VM still holds the snapshot its interrupted run took: not a
        // stranger's. Only then is the earlier status read (a refused plan touches nothing
        // else), and the plan validated and rendered again without our snapshots.
        if bundle.plan.spec.is_warm()
            && conditions
                .iter()
                .any(|c| c.type_ == validation::kind::VM_HAS_SNAPSHOTS)
        {
            let plan = &bundle.plan;
            let status_path = self.options.destination.status_path(
                plan.metadata.namespace_or_empty(),
                plan.metadata.name_or_empty(),
            )?;
            inventory = super::warm::discount_own_snapshots(
                inventory,
                &StatusWriter::previous(&status_path).await,
            );
            (spec, conditions) = self.render_against(&inventory, provider);
        }
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
        let (sched_vms, _missing) = plan_vms(&bundle.plan, &inventory);
        let limit = u32::try_from(bundle.settings.controller_max_vm_inflight.max(1)).unwrap_or(1);
        let policy =
            plan_policy(&bundle.plan, &inventory, &bundle.settings, true).unwrap_or_else(|| {
                Policy::for_migration(ProviderType::Ova, bundle.plan.spec.is_warm(), true, limit)
            });
        Ok(Prepared {
            spec,
            conditions,
            sched_vms,
            policy,
            inventory,
        })
    }

    /// Validation and render against `inventory`: the spec this engine would execute and
    /// every condition (validation's and render's, each once).
    fn render_against(
        &self,
        inventory: &SourceInventory,
        provider: &Provider,
    ) -> (TargetSpec, Vec<Condition>) {
        let inputs = &self.inputs;
        let bundle = &inputs.bundle;
        let mut conditions = validation::validate(
            &bundle.plan,
            &PlanResources::of(bundle),
            inventory,
            None,
            &self
                .options
                .validation
                .clone()
                .unwrap_or_else(|| validation::Settings::for_bundle(bundle)),
        );
        let context = RenderContext {
            migration_uid: inputs.migration.metadata.uid.clone(),
            executor: super::warm::profile_for(self.executor_profile(), provider),
            ..RenderContext::default()
        };
        let spec = render(RenderInput::for_plan(bundle, inventory, None, &context));
        // Render's conditions block too: a disk it could not size, a capability this engine
        // lacks. Validation already reports some of the same problems; report each once.
        let rendered = spec
            .conditions
            .iter()
            .chain(spec.vms.iter().flat_map(|v| v.conditions.iter()));
        merge_conditions(&mut conditions, rendered.cloned());
        super::convert::explain_missing(&mut conditions, self.options.converter.as_deref());
        (spec, conditions)
    }

    /// What [`run`](Self::run) would do, without doing it: opens the source, reads its
    /// inventory, validates and renders with this engine's profile, and closes the source.
    /// Nothing at the source or the destination changes. Returns the spec and every
    /// condition, blockers included (the caller decides what a blocker means).
    pub async fn dry_run(&self) -> Result<(TargetSpec, Vec<Condition>), MigrateError> {
        let guard = ProviderGuard(Some(self.open_source().await?));
        let result = async {
            let provider = guard.0.as_ref().ok_or(MigrateError::ProviderConsumed)?;
            let inventory = provider.inventory()?.collect_inventory().await?;
            Ok(self.render_against(&inventory, provider))
        }
        .await;
        guard.close().await;
        result
    }

    async fn run_with(
        &self,
        provider: &Provider,
        events: &mpsc::Sender<MigrationEvent>,
        cancel: &CancellationToken,
    ) -> Result<PlanReport, MigrateError> {
        let started = Instant::now();
        let Prepared {
            spec,
            conditions,
            sched_vms,
            policy,
            inventory,
        } = self.prepare(provider, events).await?;
        self.resolve_vms(&spec);
        let plan = &self.inputs.bundle.plan;
        let destination = &self.options.destination;
        let status_path = destination.status_path(
            plan.metadata.namespace_or_empty(),
            plan.metadata.name_or_empty(),
        )?;
        let previous = StatusWriter::previous(&status_path).await;
        let (writer, status) = StatusWriter::spawn(plan, status_path, previous.clone());
        let interval = self
            .options
            .precopy_interval
            .unwrap_or_else(|| self.inputs.bundle.settings.precopy_interval());
        let warm =
            super::warm::WarmRun::new(interval, &inventory, &previous, self.cutover.subscribe());
        // The Migration's file is read again for a new cutover time while the run goes.
        let watching = CancellationToken::new();
        let _stop_watching = watching.clone().drop_guard();
        if let Some(path) = &self.inputs.migration_file {
            let meta = &self.inputs.migration.metadata;
            tokio::spawn(super::warm::watch_migration_file(
                path.clone(),
                (
                    meta.namespace_or_empty().to_owned(),
                    meta.name_or_empty().to_owned(),
                ),
                crate::input::DEFAULT_MAX_INPUT_SIZE,
                self.cutover.clone(),
                watching,
            ));
        }
        let ctx = Arc::new(RunContext {
            bundle: self.inputs.bundle.clone(),
            provider: provider.clone(),
            destination: destination.clone(),
            copy: super::copy::plan_copy_options(&self.options.copy),
            verify: self.options.verify,
            restart: self.options.restart,
            hooks: self.options.hooks.clone(),
            hook_retries: self.options.hook_retries,
            converter: self.options.converter.clone(),
            secrets: self.inputs.secrets.clone(),
            customization_scripts: self.inputs.customization_scripts.clone(),
            status: status.clone(),
            events: events.clone(),
            warm,
        });

        // Decide per VM: skipped (done before), cancelled up front, or to run.
        let mut reports: BTreeMap<String, VmReport> = BTreeMap::new();
        let mut to_run: BTreeMap<String, TargetVm> = BTreeMap::new();
        for target in &spec.vms {
            let done_before = previous.get(&target.source_id).is_some_and(succeeded);
            let stale = if done_before {
                self.stale_result(target, &spec.target_namespace).await?
            } else {
                None
            };
            if let Some(reason) = &stale {
                tracing::warn!(vm = %PeerText(&target.source_id), %reason, "recorded as migrated, migrating again");
                let _ = events
                    .send(MigrationEvent::VmRemigrating {
                        vm: target.source_id.clone(),
                        target_name: target.target_name.clone(),
                        reason: reason.clone(),
                    })
                    .await;
            }
            let outcome = if done_before && stale.is_none() {
                VmOutcome::Skipped
            } else if self.cancelled_up_front(target) {
                status.begin(self.vm_status(target), &[]).await;
                status
                    .complete(&target.source_id, VmOutcome::Canceled, None)
                    .await;
                VmOutcome::Canceled
            } else {
                to_run.insert(target.source_id.clone(), target.clone());
                continue;
            };
            reports.insert(
                target.source_id.clone(),
                VmReport::without_run(target, &spec.target_namespace, outcome),
            );
            let _ = events
                .send(MigrationEvent::VmCompleted {
                    vm: target.source_id.clone(),
                    target_name: target.target_name.clone(),
                    outcome,
                    error: None,
                })
                .await;
        }
        let bytes_total: u64 = to_run
            .values()
            .flat_map(|t| t.disks.iter().map(|d| d.capacity))
            .sum();
        let _ = events
            .send(MigrationEvent::PlanStarted {
                plan: self.inputs.plan_key(),
                vms: spec.vms.len(),
                bytes_total,
            })
            .await;

        let sched_vms = sched_vms
            .into_iter()
            .filter(|vm| to_run.contains_key(&vm.id))
            .collect();
        let outcome = self
            .schedule(&ctx, &to_run, Scheduler::new(policy, sched_vms)?, cancel)
            .await;
        // Every VM task has ended: the handles they held are gone; this one is the last.
        drop(ctx);
        drop(status);
        let status_path = writer.path().to_path_buf();
        let status_error = writer.finish().await;
        reports.extend(outcome?);
        if let Some(source) = status_error {
            return Err(MigrateError::Status {
                path: status_path,
                source,
            });
        }
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
            plan: self.inputs.plan_key(),
            conditions,
            bytes_written,
            bytes_total,
            seconds: started.elapsed().as_secs_f64(),
            status_path: status_path.display().to_string(),
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

    /// Why the result an earlier run recorded for `target` cannot be trusted (a disk missing
    /// or of another size than render expects), or `None` when every disk is still in place.
    async fn stale_result(
        &self,
        target: &TargetVm,
        namespace: &str,
    ) -> Result<Option<String>, MigrateError> {
        for disk in &target.disks {
            let size = self
                .options
                .destination
                .disk_size(namespace, &disk.claim_name)
                .await?;
            match size {
                Some(size) if size == disk.capacity => {}
                Some(size) => {
                    return Ok(Some(format!(
                        "its disk {} holds {size} bytes instead of {}",
                        disk.claim_name, disk.capacity
                    )));
                }
                None => {
                    return Ok(Some(format!(
                        "its disk {} is missing from the destination",
                        disk.claim_name
                    )));
                }
            }
        }
        Ok(None)
    }

    fn cancelled_up_front(&self, target: &TargetVm) -> bool {
        self.inputs
            .migration
            .spec
            .cancel
            .iter()
            .any(|r| r.id == target.source_id)
    }

    /// The VM's status entry for a new run, keyed by its inventory id.
    fn vm_status(&self, target: &TargetVm) -> VmStatus {
        let base = super::vm::plan_vm(&self.inputs.bundle.plan, target)
            .cloned()
            .unwrap_or_else(PlanVm::default);
        let mut status = VmStatus::for_vm(base);
        status.vm.id = target.source_id.clone();
        status.vm.name = target.source_name.clone();
        if target.renamed {
            status.new_name = target.target_name.clone();
        }
        status
    }

    /// Admits VMs and disks as the scheduler allows and runs each admitted VM on its own
    /// task; returns every VM's report once all have ended.
    async fn schedule(
        &self,
        ctx: &Arc<RunContext>,
        to_run: &BTreeMap<String, TargetVm>,
        mut scheduler: Scheduler,
        cancel: &CancellationToken,
    ) -> Result<BTreeMap<String, VmReport>, MigrateError> {
        let mut reports = BTreeMap::new();
        let (report_tx, mut report_rx) = mpsc::channel::<SchedulerReport>(64);
        let mut admitted_tx: HashMap<String, mpsc::Sender<usize>> = HashMap::new();
        let mut running: JoinSet<VmReport> = JoinSet::new();
        let result = loop {
            for admission in scheduler.admit() {
                let Some(target) = to_run.get(&admission.vm) else {
                    continue;
                };
                if admission.vm_started {
                    // Room for every disk of the VM, so admitting never waits.
                    let (tx, rx) = mpsc::channel(target.disks.len().max(1) + 1);
                    admitted_tx.insert(admission.vm.clone(), tx);
                    ctx.status
                        .begin(self.vm_status(target), &target.steps)
                        .await;
                    let token = self.vm_token(&target.source_id, cancel);
                    running.spawn(migrate_vm(
                        ctx.clone(),
                        target.clone(),
                        rx,
                        report_tx.clone(),
                        token,
                    ));
                }
                if let Some(tx) = admitted_tx.get(&admission.vm) {
                    for disk in admission.disks {
                        let _ = tx.send(disk).await;
                    }
                }
            }
            if scheduler.is_finished() {
                break Ok(());
            }
            if running.is_empty() {
                // Nothing runs and nothing was admitted: waiting would never end.
                break Err(MigrateError::SchedulerStalled {
                    waiting: scheduler.waiting().into_iter().map(str::to_owned).collect(),
                });
            }
            tokio::select! {
                Some(SchedulerReport::DiskDone { vm, disk }) = report_rx.recv() => {
                    if let Err(e) = scheduler.disk_finished(&vm, disk) {
                        break Err(e.into());
                    }
                }
                Some(joined) = running.join_next() => {
                    let report = match joined {
                        Ok(report) => report,
                        Err(source) => break Err(MigrateError::Task { what: "VM", source }),
                    };
                    admitted_tx.remove(&report.id);
                    if let Err(e) = scheduler.vm_finished(&report.id) {
                        break Err(e.into());
                    }
                    reports.insert(report.id.clone(), report);
                }
                else => break Ok(()),
            }
        };
        // On an error, stop the VMs still running; each cleans up and reports.
        if result.is_err() {
            for handle in self.vms().iter() {
                handle.token.cancel();
            }
        }
        while let Some(joined) = running.join_next().await {
            if let Ok(report) = joined {
                reports.insert(report.id.clone(), report);
            }
        }
        result.map(|()| reports)
    }
}

/// What validation and render decided, for a plan that is ready.
struct Prepared {
    spec: TargetSpec,
    conditions: Vec<Condition>,
    sched_vms: Vec<forklift_core::scheduling::SchedVm>,
    policy: Policy,
    inventory: forklift_core::inventory::SourceInventory,
}
