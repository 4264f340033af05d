//! Plan status as upstream records it (`status.migration.vms[]`), kept at the destination.

use std::collections::BTreeMap;
use std::sync::Mutex;

use forklift_core::resources::{
    Category, Condition, Plan, PlanMigrationStatus, PlanStatus, Progress, Step, Task, VmError,
    VmStatus,
};

use super::MigrateError;
use super::destination::{LocalDestination, write_atomic};
use super::time::now_rfc3339;

/// Condition type upstream sets on a VM that migrated.
pub const SUCCEEDED: &str = "Succeeded";
/// Condition type upstream sets on a VM that failed.
pub const FAILED: &str = "Failed";
/// Condition type upstream sets on a VM that was cancelled.
pub const CANCELED: &str = "Canceled";

/// The live status of a plan's VMs, saved after every change.
#[derive(Debug)]
pub struct StatusBook {
    plan: Plan,
    vms: Mutex<BTreeMap<String, VmStatus>>,
    destination: LocalDestination,
}

impl StatusBook {
    /// Starts the book of `plan`, keeping what an earlier run recorded.
    pub fn open(plan: &Plan, destination: &LocalDestination) -> Self {
        let path = destination.status_path(
            plan.metadata.namespace_or_empty(),
            plan.metadata.name_or_empty(),
        );
        let previous: BTreeMap<String, VmStatus> = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_yaml_ng::from_str::<Plan>(&text).ok())
            .and_then(|p| p.status)
            .and_then(|s| s.migration)
            .map(|m| m.vms.into_iter().map(|vm| (vm.vm.id.clone(), vm)).collect())
            .unwrap_or_default();
        Self {
            plan: plan.clone(),
            vms: Mutex::new(previous),
            destination: destination.clone(),
        }
    }

    /// Whether an earlier run migrated the VM.
    pub fn already_succeeded(&self, vm_id: &str) -> bool {
        self.lock()
            .get(vm_id)
            .is_some_and(|vm| vm.conditions.iter().any(|c| c.type_ == SUCCEEDED))
    }

    /// Resets the VM's status for a new run with the given pipeline steps.
    pub fn begin(&self, status: VmStatus, steps: &[(String, String)]) {
        let mut status = status;
        status.pipeline = steps
            .iter()
            .map(|(name, description)| Step {
                name: name.clone(),
                description: description.clone(),
                phase: "Pending".into(),
                ..Step::default()
            })
            .collect();
        status.started = Some(now_rfc3339());
        status.phase = "Started".into();
        self.lock().insert(status.vm.id.clone(), status);
    }

    /// Records that the VM entered `phase` of `step`.
    pub fn enter_phase(&self, vm: &str, phase: &str, step: Option<&str>) {
        self.update(vm, |status| {
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
        });
    }

    /// Sets the per-disk tasks of the `DiskTransfer` step (progress in MiB, as upstream).
    pub fn set_disk_tasks(&self, vm: &str, tasks: &[(String, u64)]) {
        self.update(vm, |status| {
            if let Some(step) = status
                .pipeline
                .iter_mut()
                .find(|s| s.name == "DiskTransfer")
            {
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
        });
    }

    /// Updates one disk task's progress.
    pub fn disk_progress(&self, vm: &str, task: &str, bytes_done: u64, done: bool) {
        self.update(vm, |status| {
            if let Some(step) = status
                .pipeline
                .iter_mut()
                .find(|s| s.name == "DiskTransfer")
            {
                if let Some(t) = step.tasks.iter_mut().find(|t| t.name == task) {
                    t.progress.completed = mib(bytes_done).min(t.progress.total);
                    if t.started.is_none() {
                        t.started = Some(now_rfc3339());
                    }
                    t.phase = if done { "Completed" } else { "Running" }.into();
                    if done {
                        t.progress.completed = t.progress.total;
                        t.completed = Some(now_rfc3339());
                    }
                }
                step.progress.completed = step.tasks.iter().map(|t| t.progress.completed).sum();
            }
        });
    }

    /// Marks the VM completed; `error` when its phase failed.
    pub fn complete(&self, vm: &str, outcome: &str, error: Option<&str>) {
        self.update(vm, |status| {
            let now = now_rfc3339();
            if let Some(message) = error {
                status.error = Some(VmError {
                    phase: status.phase.clone(),
                    reasons: vec![message.to_owned()],
                });
                if let Some(step) = status.pipeline.iter_mut().find(|s| s.phase == "Running") {
                    step.error = Some(VmError {
                        phase: step.name.clone(),
                        reasons: vec![message.to_owned()],
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
            let mut condition = Condition::new(outcome, Category::Advisory)
                .with_reason(if outcome == CANCELED {
                    "UserRequested"
                } else {
                    outcome
                })
                .with_message(match outcome {
                    SUCCEEDED => "The VM migration has SUCCEEDED.",
                    CANCELED => "The VM migration has been CANCELED.",
                    _ => "The VM migration has FAILED.",
                });
            condition.durable = true;
            condition.last_transition_time = now.clone();
            status
                .conditions
                .retain(|c| ![SUCCEEDED, FAILED, CANCELED].contains(&c.type_.as_str()));
            status.conditions.push(condition);
        });
    }

    /// Writes the plan with its status to the destination.
    pub fn save(&self) -> Result<(), MigrateError> {
        let mut plan = self.plan.clone();
        let vms: Vec<VmStatus> = self.lock().values().cloned().collect();
        let status = plan.status.get_or_insert_with(PlanStatus::default);
        let migration = status
            .migration
            .get_or_insert_with(PlanMigrationStatus::default);
        migration.vms = vms;
        let path = self.destination.status_path(
            plan.metadata.namespace_or_empty(),
            plan.metadata.name_or_empty(),
        );
        let text = forklift_core::manifest::to_kubectl_yaml(&plan).map_err(|e| {
            MigrateError::Destination {
                path: path.clone(),
                message: e.to_string(),
            }
        })?;
        write_atomic(&path, text.as_bytes())
    }

    fn update(&self, vm: &str, change: impl FnOnce(&mut VmStatus)) {
        let changed = match self.lock().get_mut(vm) {
            Some(status) => {
                let before = status.clone();
                change(status);
                *status != before
            }
            None => false,
        };
        // Progress arrives several times a second per disk; only a change is worth a write.
        if !changed {
            return;
        }
        // Status is best effort: a failed save must not fail the migration it describes.
        if let Err(e) = self.save() {
            tracing::warn!(error = %e.chain(), "cannot save plan status");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, VmStatus>> {
        self.vms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn mib(bytes: u64) -> i64 {
    i64::try_from(bytes.div_ceil(1 << 20)).unwrap_or(i64::MAX)
}
