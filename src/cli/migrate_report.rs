//! How `forklift migrate` prints its plan report: one row per VM (the `-o` formats of
//! [`super::output`]), the whole report with `-o json|yaml`.

use forklift::migrate::{PlanReport, VmOutcome, VmReport};

use super::output::{Printable, cell, header, object_name};

/// The report of a run, printable.
#[derive(serde::Serialize)]
#[serde(transparent)]
pub(super) struct Report<'a>(pub &'a PlanReport);

/// Upstream's name of a VM's result, as `forklift status` shows it.
fn outcome(vm: &VmReport) -> &'static str {
    match vm.outcome {
        VmOutcome::Succeeded => "Succeeded",
        VmOutcome::Failed => "Failed",
        VmOutcome::Canceled => "Canceled",
        VmOutcome::Skipped => "Skipped",
    }
}

impl Printable for Report<'_> {
    fn rows(&self, wide: bool) -> Vec<Vec<String>> {
        let mut titles = vec!["VM", "TARGET", "RESULT", "DISKS", "WRITTEN", "ERROR"];
        if wide {
            titles.extend(["ID", "NAMESPACE", "PHASES", "VERIFIED"]);
        }
        let mut rows = vec![header(&titles)];
        for vm in &self.0.vms {
            let written: u64 = vm.disks.iter().map(|d| d.summary.bytes_written).sum();
            let mut row = vec![
                cell(&vm.source_name),
                cell(&vm.target_name),
                outcome(vm).to_owned(),
                vm.disks.len().to_string(),
                forklift_core::sizing::quantity(written),
                cell(vm.error.as_deref().unwrap_or_default()),
            ];
            if wide {
                row.push(cell(&vm.id));
                row.push(cell(&vm.namespace));
                row.push(vm.phases.len().to_string());
                row.push(
                    if !vm.disks.is_empty() && vm.disks.iter().all(|d| d.verified) {
                        "yes"
                    } else {
                        "no"
                    }
                    .to_owned(),
                );
            }
            rows.push(row);
        }
        rows
    }

    fn names(&self) -> Vec<String> {
        self.0
            .vms
            .iter()
            .filter(|vm| matches!(vm.outcome, VmOutcome::Succeeded | VmOutcome::Skipped))
            .map(|vm| object_name("kubevirt.io/v1", "VirtualMachine", &vm.target_name))
            .collect()
    }
}
