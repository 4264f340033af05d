//! Plan status as upstream records it (`status.migration.vms[]`), kept at the destination by
//! one task that owns the file.
//!
//! VM tasks send [`StatusHandle`] events; the writer applies them to its own copy and writes
//! the plan with its status through a temporary file and a rename, off the runtime's
//! workers. Phase changes, VM starts and completions are written at once; disk progress is
//! coalesced to at most one write per [`PROGRESS_WRITE_INTERVAL`], so a copy reporting four
//! times a second per disk costs one write a second, not one per tick.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use forklift_core::render::StepPlan;
use forklift_core::resources::{
    Category, Condition, Plan, PlanMigrationStatus, PlanStatus, Progress, Step, Task, VmError,
    VmStatus, WarmStatus,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::destination::{DestinationError, blocking, write_atomic};
use super::events::VmOutcome;
use super::time::now_rfc3339;

/// Condition type upstream sets on a VM that migrated.
pub const SUCCEEDED: &str = "Succeeded";
/// Condition type upstream sets on a VM that failed.
pub const FAILED: &str = "Failed";
/// Condition type upstream sets on a VM that was cancelled.
pub const CANCELED: &str = "Canceled";

/// The longest disk progress waits before it is written.
pub const PROGRESS_WRITE_INTERVAL: Duration = Duration::from_secs(1);

/// Pipeline step phase of a step a plan setting skips (ours: upstream omits the step).
const SKIPPED: &str = "Skipped";

/// Events the writer applies, in the order sent.
#[derive(Debug)]
enum StatusEvent {
    Begin {
        status: Box<VmStatus>,
        steps: Vec<StepPlan>,
    },
    Phase {
        vm: String,
        phase: String,
        step: Option<String>,
    },
    DiskTasks {
        vm: String,
        tasks: Vec<(String, u64)>,
    },
    DiskProgress {
        vm: String,
        task: String,
        bytes_done: u64,
        done: bool,
    },
    Complete {
        vm: String,
        outcome: VmOutcome,
        error: Option<String>,
    },
    Warm {
        vm: String,
        warm: Box<WarmStatus>,
    },
    Converted {
        vm: String,
        operating_system: Option<String>,
        warnings: Option<Condition>,
    },
}

impl StatusEvent {
    /// Whether the event must reach the file now rather than with the next coalesced write.
    fn urgent(&self) -> bool {
        !matches!(self, Self::DiskProgress { done: false, .. })
    }
}

/// Sends status changes to the writer task. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct StatusHandle {
    events: mpsc::Sender<StatusEvent>,
}

/// The writer task and the VMs an earlier run recorded.
pub(crate) struct StatusWriter {
    task: JoinHandle<Option<DestinationError>>,
    path: PathBuf,
    writes: Arc<AtomicUsize>,
}

/// What an earlier run recorded per VM id.
pub(crate) type PreviousStatus = BTreeMap<String, VmStatus>;

/// Whether `status` records a VM that migrated.
pub(crate) fn succeeded(status: &VmStatus) -> bool {
    status.conditions.iter().any(|c| c.type_ == SUCCEEDED)
}

impl StatusWriter {
    /// Reads what an earlier run recorded at `path` (nothing when absent or unreadable).
    pub async fn previous(path: &Path) -> PreviousStatus {
        let path = path.to_path_buf();
        let read = blocking(move || {
            // Bounded like any input: a FIFO or device planted there must not hang the run.
            Ok(
                crate::input::read_text(&path, crate::input::DEFAULT_MAX_INPUT_SIZE)
                    .ok()
                    .and_then(|text| serde_yaml_ng::from_str::<Plan>(&text).ok())
                    .and_then(|p| p.status)
                    .and_then(|s| s.migration)
                    .map(|m| m.vms.into_iter().map(|vm| (vm.vm.id.clone(), vm)).collect())
                    .unwrap_or_default(),
            )
        });
        read.await.unwrap_or_default()
    }

    /// Starts the writer of `plan`'s status at `path`, keeping the VMs of `previous`.
    pub fn spawn(plan: &Plan, path: PathBuf, previous: PreviousStatus) -> (Self, StatusHandle) {
        let (events, rx) = mpsc::channel(256);
        let writes = Arc::new(AtomicUsize::new(0));
        let file = StatusFile {
            plan: plan.clone(),
            path: path.clone(),
            writes: writes.clone(),
        };
        let task = tokio::spawn(write_loop(file, previous, rx));
        (Self { task, path, writes }, StatusHandle { events })
    }

    /// Where the status is written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many times the file was written so far.
    #[cfg(test)]
    fn writes(&self) -> usize {
        self.writes.load(Ordering::Relaxed)
    }

    /// Waits until every event sent before the last handle was dropped is written; returns
    /// the last write error, if the last write failed.
    pub async fn finish(self) -> Option<DestinationError> {
        let result = self.task.await.unwrap_or(None);
        tracing::debug!(path = %self.path.display(), writes = self.writes.load(Ordering::Relaxed), "status file closed");
        result
    }
}

impl StatusHandle {
    async fn send(&self, event: StatusEvent) {
        // The writer ends only when every handle is gone, so a send fails only during a
        // panic elsewhere; status is best effort and must not fail the migration.
        let _ = self.events.send(event).await;
    }

    /// Resets the VM's status for a new run with the given pipeline.
    pub async fn begin(&self, status: VmStatus, steps: &[StepPlan]) {
        self.send(StatusEvent::Begin {
            status: Box::new(status),
            steps: steps.to_vec(),
        })
        .await;
    }

    /// Records that the VM entered `phase` of `step`.
    pub async fn enter_phase(&self, vm: &str, phase: &str, step: Option<&str>) {
        self.send(StatusEvent::Phase {
            vm: vm.to_owned(),
            phase: phase.to_owned(),
            step: step.map(str::to_owned),
        })
        .await;
    }

    /// Sets the per-disk tasks of the `DiskTransfer` step (progress in MiB, as upstream).
    pub async fn set_disk_tasks(&self, vm: &str, tasks: Vec<(String, u64)>) {
        self.send(StatusEvent::DiskTasks {
            vm: vm.to_owned(),
            tasks,
        })
        .await;
    }

    /// Reports a disk's progress from a synchronous callback: dropped when the writer lags
    /// (a later report supersedes it).
    pub fn disk_progress(&self, vm: &str, task: &str, bytes_done: u64) {
        let _ = self.events.try_send(StatusEvent::DiskProgress {
            vm: vm.to_owned(),
            task: task.to_owned(),
            bytes_done,
            done: false,
        });
    }

    /// Marks a disk task completed.
    pub async fn disk_done(&self, vm: &str, task: &str, bytes: u64) {
        self.send(StatusEvent::DiskProgress {
            vm: vm.to_owned(),
            task: task.to_owned(),
            bytes_done: bytes,
            done: true,
        })
        .await;
    }

    /// Replaces the VM's warm migration status (`status.migration.vms[].warm`).
    pub async fn set_warm(&self, vm: &str, warm: WarmStatus) {
        self.send(StatusEvent::Warm {
            vm: vm.to_owned(),
            warm: Box::new(warm),
        })
        .await;
    }

    /// Records a successful guest conversion: the disks were copied and converted, the
    /// inspected OS (`operatingSystem`), and a `ConversionHasWarnings` condition when it warned.
    pub async fn converted(
        &self,
        vm: &str,
        operating_system: Option<String>,
        warnings: Option<Condition>,
    ) {
        self.send(StatusEvent::Converted {
            vm: vm.to_owned(),
            operating_system,
            warnings,
        })
        .await;
    }

    /// Marks the VM completed with `outcome`; `error` when a phase failed.
    pub async fn complete(&self, vm: &str, outcome: VmOutcome, error: Option<String>) {
        self.send(StatusEvent::Complete {
            vm: vm.to_owned(),
            outcome,
            error,
        })
        .await;
    }
}

/// The file the writer owns.
struct StatusFile {
    plan: Plan,
    path: PathBuf,
    writes: Arc<AtomicUsize>,
}

async fn write_loop(
    file: StatusFile,
    mut vms: PreviousStatus,
    mut rx: mpsc::Receiver<StatusEvent>,
) -> Option<DestinationError> {
    let mut last_error = None;
    let mut dirty = false;
    let mut next_write = Instant::now();
    loop {
        let event = if dirty {
            tokio::select! {
                event = rx.recv() => event,
                () = tokio::time::sleep_until(next_write) => {
                    last_error = file.write(&vms).await;
                    dirty = false;
                    next_write = Instant::now() + PROGRESS_WRITE_INTERVAL;
                    continue;
                }
            }
        } else {
            rx.recv().await
        };
        let Some(event) = event else { break };
        let urgent = event.urgent();
        if apply(&mut vms, event) {
            dirty = true;
        }
        if dirty && urgent {
            last_error = file.write(&vms).await;
            dirty = false;
            next_write = Instant::now() + PROGRESS_WRITE_INTERVAL;
        }
    }
    if dirty {
        last_error = file.write(&vms).await;
    }
    last_error
}

impl StatusFile {
    /// Writes the plan with its status; returns the error, already logged, when it fails.
    async fn write(&self, vms: &PreviousStatus) -> Option<DestinationError> {
        let path = &self.path;
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut plan = self.plan.clone();
        let status = plan.status.get_or_insert_with(PlanStatus::default);
        let migration = status
            .migration
            .get_or_insert_with(PlanMigrationStatus::default);
        migration.vms = vms.values().cloned().collect();
        let text = match forklift_core::manifest::to_kubectl_yaml(&plan) {
            Ok(text) => text,
            Err(source) => {
                return Some(DestinationError::Serialize {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let target = path.to_path_buf();
        let result = tokio::task::spawn_blocking(move || write_atomic(&target, text.as_bytes()))
            .await
            .map_err(DestinationError::Task)
            .and_then(|r| r);
        match result {
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(error = %forklift_core::error::chain(&e), "cannot save plan status");
                Some(e)
            }
        }
    }
}

/// Applies `event`; returns whether the status changed.
fn apply(vms: &mut PreviousStatus, event: StatusEvent) -> bool {
    let vm = match &event {
        StatusEvent::Begin { status, .. } => status.vm.id.clone(),
        StatusEvent::Phase { vm, .. }
        | StatusEvent::DiskTasks { vm, .. }
        | StatusEvent::DiskProgress { vm, .. }
        | StatusEvent::Complete { vm, .. }
        | StatusEvent::Warm { vm, .. }
        | StatusEvent::Converted { vm, .. } => vm.clone(),
    };
    if let StatusEvent::Begin { status, steps } = event {
        vms.insert(vm, begun(*status, &steps));
        return true;
    }
    let Some(status) = vms.get_mut(&vm) else {
        return false;
    };
    let before = status.clone();
    match event {
        StatusEvent::Begin { .. } => {}
        StatusEvent::Phase { phase, step, .. } => enter_phase(status, &phase, step.as_deref()),
        StatusEvent::DiskTasks { tasks, .. } => set_disk_tasks(status, &tasks),
        StatusEvent::DiskProgress {
            task,
            bytes_done,
            done,
            ..
        } => disk_progress(status, &task, bytes_done, done),
        StatusEvent::Complete { outcome, error, .. } => complete(status, outcome, error),
        StatusEvent::Warm { warm, .. } => status.warm = Some(*warm),
        StatusEvent::Converted {
            operating_system,
            warnings,
            ..
        } => {
            status.disks_copied = true;
            if let Some(os) = operating_system {
                status.operating_system = os;
            }
            if let Some(condition) = warnings {
                status.conditions.retain(|c| c.type_ != condition.type_);
                status.conditions.push(condition);
            }
        }
    }
    *status != before
}

fn begun(mut status: VmStatus, steps: &[StepPlan]) -> VmStatus {
    status.pipeline = steps
        .iter()
        .map(|plan| {
            let mut step = Step {
                name: plan.step.to_string(),
                description: plan.step.description().to_owned(),
                phase: "Pending".into(),
                ..Step::default()
            };
            if let Some(reason) = &plan.skipped {
                step.phase = SKIPPED.into();
                step.annotations
                    .insert("forklift.konveyor.io/skipped".into(), reason.clone());
            }
            step
        })
        .collect();
    status.started = Some(now_rfc3339());
    status.phase = "Started".into();
    status
}

fn enter_phase(status: &mut VmStatus, phase: &str, step: Option<&str>) {
    status.phase = phase.to_owned();
    let now = now_rfc3339();
    for s in &mut status.pipeline {
        if Some(s.name.as_str()) == step {
            if s.started.is_none() {
                s.started = Some(now.clone());
            }
            s.phase = "Running".into();
        } else if s.phase == "Running" {
            s.phase = "Completed".into();
            s.completed = Some(now.clone());
        }
    }
}

fn disk_transfer(status: &mut VmStatus) -> Option<&mut Step> {
    status
        .pipeline
        .iter_mut()
        .find(|s| s.name == "DiskTransfer")
}

fn set_disk_tasks(status: &mut VmStatus, tasks: &[(String, u64)]) {
    let Some(step) = disk_transfer(status) else {
        return;
    };
    step.annotations.insert("unit".into(), "MB".into());
    step.tasks = tasks
        .iter()
        .map(|(name, bytes)| Task {
            name: name.clone(),
            phase: "Pending".into(),
            progress: Progress {
                completed: 0,
                total: mib(*bytes),
            },
            annotations: BTreeMap::from([("unit".to_owned(), "MB".to_owned())]),
            ..Task::default()
        })
        .collect();
    step.progress = Progress {
        completed: 0,
        total: step.tasks.iter().map(|t| t.progress.total).sum(),
    };
}

fn disk_progress(status: &mut VmStatus, task: &str, bytes_done: u64, done: bool) {
    let Some(step) = disk_transfer(status) else {
        return;
    };
    if let Some(t) = step.tasks.iter_mut().find(|t| t.name == task) {
        if t.started.is_none() {
            t.started = Some(now_rfc3339());
        }
        if done {
            t.phase = "Completed".into();
            t.progress.completed = t.progress.total;
            t.completed = Some(now_rfc3339());
        } else if t.phase != "Completed" {
            t.phase = "Running".into();
            t.progress.completed = mib(bytes_done).min(t.progress.total);
        }
    }
    step.progress.completed = step.tasks.iter().map(|t| t.progress.completed).sum();
}

fn complete(status: &mut VmStatus, outcome: VmOutcome, error: Option<String>) {
    let now = now_rfc3339();
    if let Some(message) = &error {
        status.error = Some(VmError {
            phase: status.phase.clone(),
            reasons: vec![message.clone()],
        });
        if let Some(step) = status.pipeline.iter_mut().find(|s| s.phase == "Running") {
            step.error = Some(VmError {
                phase: step.name.clone(),
                reasons: vec![message.clone()],
            });
        }
    }
    for step in &mut status.pipeline {
        if step.phase == "Running" {
            step.phase = "Completed".into();
            step.completed = Some(now.clone());
        }
    }
    status.phase = "Completed".into();
    status.completed = Some(now.clone());
    let (type_, reason, message) = match outcome {
        VmOutcome::Succeeded | VmOutcome::Skipped => {
            (SUCCEEDED, SUCCEEDED, "The VM migration has SUCCEEDED.")
        }
        VmOutcome::Canceled => (
            CANCELED,
            "UserRequested",
            "The VM migration has been CANCELED.",
        ),
        VmOutcome::Failed => (FAILED, FAILED, "The VM migration has FAILED."),
    };
    let mut condition = Condition::new(type_, Category::Advisory)
        .with_reason(reason)
        .with_message(message);
    condition.durable = true;
    condition.last_transition_time = now;
    status
        .conditions
        .retain(|c| ![SUCCEEDED, FAILED, CANCELED].contains(&c.type_.as_str()));
    status.conditions.push(condition);
}

fn mib(bytes: u64) -> i64 {
    i64::try_from(bytes.div_ceil(1 << 20)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use forklift_core::itinerary::Step as PipelineStep;
    use forklift_core::resources::PlanVm;

    fn plan() -> Plan {
        serde_yaml_ng::from_str(
            "apiVersion: forklift.konveyor.io/v1beta1\nkind: Plan\nmetadata: {name: p, namespace: ns}\nspec: {}\n",
        )
        .unwrap()
    }

    fn vm(id: &str) -> VmStatus {
        VmStatus::for_vm(PlanVm {
            id: id.into(),
            ..Default::default()
        })
    }

    fn read(path: &Path) -> Plan {
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn steps() -> Vec<StepPlan> {
        vec![
            StepPlan {
                step: PipelineStep::DiskTransfer,
                skipped: None,
            },
            StepPlan {
                step: PipelineStep::ImageConversion,
                skipped: Some("skipGuestConversion".into()),
            },
        ]
    }

    #[tokio::test]
    async fn progress_is_coalesced_and_phase_changes_are_written_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let (writer, handle) = StatusWriter::spawn(&plan(), path.clone(), PreviousStatus::new());
        handle.begin(vm("vm-1"), &steps()).await;
        handle
            .set_disk_tasks("vm-1", vec![("disk".into(), 100 << 20)])
            .await;
        handle
            .enter_phase("vm-1", "CopyDisks", Some("DiskTransfer"))
            .await;
        for mib in 1..=50u64 {
            handle.disk_progress("vm-1", "disk", mib << 20);
        }
        handle
            .complete("vm-1", VmOutcome::Failed, Some("boom".into()))
            .await;
        drop(handle);
        let writes = writer.writes.clone();
        assert!(writer.finish().await.is_none());
        // Four changes that are written at once; the 50 progress reports (well within one
        // interval) ride along with them instead of costing a write each.
        // (A fifth, timed write is possible only on a machine that stalls for a second.)
        assert!((4..=5).contains(&writes.load(Ordering::Relaxed)));
        let vms = read(&path).status.unwrap().migration.unwrap().vms;
        let step = &vms[0].pipeline[0];
        assert_eq!(step.tasks[0].progress.completed, 50);
        assert_eq!(step.phase, "Completed");
        assert_eq!(vms[0].pipeline[1].phase, "Skipped");
        assert_eq!(
            vms[0].pipeline[1].annotations["forklift.konveyor.io/skipped"],
            "skipGuestConversion"
        );
        assert_eq!(vms[0].conditions[0].type_, FAILED);
        assert_eq!(vms[0].error.as_ref().unwrap().reasons, ["boom"]);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[tokio::test(start_paused = true)]
    async fn pending_progress_is_written_after_the_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let (writer, handle) = StatusWriter::spawn(&plan(), path.clone(), PreviousStatus::new());
        handle.begin(vm("vm-1"), &steps()).await;
        handle
            .set_disk_tasks("vm-1", vec![("disk".into(), 100 << 20)])
            .await;
        let settled = |n: usize| {
            let writer = &writer;
            async move {
                for _ in 0..1000 {
                    if writer.writes() >= n {
                        return;
                    }
                    tokio::task::yield_now().await;
                }
            }
        };
        settled(2).await;
        handle.disk_progress("vm-1", "disk", 7 << 20);
        tokio::time::sleep(PROGRESS_WRITE_INTERVAL / 4).await;
        assert_eq!(writer.writes(), 2, "progress alone waits for the interval");
        tokio::time::sleep(PROGRESS_WRITE_INTERVAL * 2).await;
        settled(3).await;
        assert_eq!(
            writer.writes(),
            3,
            "then it is written without another event"
        );
        drop(handle);
        assert!(writer.finish().await.is_none());
        let vms = read(&path).status.unwrap().migration.unwrap().vms;
        assert_eq!(vms[0].pipeline[0].tasks[0].progress.completed, 7);
    }

    #[tokio::test]
    async fn an_earlier_run_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/s.yaml");
        let (writer, handle) = StatusWriter::spawn(&plan(), path.clone(), PreviousStatus::new());
        handle.begin(vm("vm-1"), &[]).await;
        handle.complete("vm-1", VmOutcome::Succeeded, None).await;
        handle.begin(vm("vm-2"), &[]).await;
        drop(handle);
        assert!(writer.finish().await.is_none());
        let previous = StatusWriter::previous(&path).await;
        assert!(succeeded(&previous["vm-1"]));
        assert!(!succeeded(&previous["vm-2"]));
        assert!(
            StatusWriter::previous(&dir.path().join("absent"))
                .await
                .is_empty()
        );
    }
}
