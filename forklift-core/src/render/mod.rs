//! Rendering of the KubeVirt target: what a plan will create, exactly.
//!
//! [`render`] turns a plan, its maps, the source and destination inventories and the
//! ForkliftController settings into a [`TargetSpec`]: per VM the final name, the
//! VirtualMachine, one DataVolume or PVC per disk (name, size, modes), the interfaces with
//! MACs and bindings, hooks in order, the itinerary and the conditions that apply. The runner
//! creates exactly these objects, so a dry run and a real run share one code path.
//!
//! Upstream facts reproduced: the target VM skeleton and vSphere/oVirt domain mapping,
//! labels and annotations, run strategy from the target power state, OS preference maps,
//! sizing per transfer path, transfer-network annotations and static IPs for conversion.
//! One deliberate difference: where upstream lets Kubernetes pick a random `generateName`
//! suffix for PVCs, forklift derives the suffix from the plan, VM and disk index, so the
//! VirtualMachine can name its claims before they exist and two renders agree.

mod build;
mod executor;
pub mod kubevirt;
mod names;
mod network;
pub mod osmap;
mod placement;
mod resolve;
pub mod rules;
mod spec;

pub use executor::{DiskCopier, ExecutorCapability, ExecutorProfile};
pub use names::{disk_serial, generated_suffix};
pub use placement::affinity_problems;
pub use spec::{
    DiskObject, RenderContext, RenderInput, StepPlan, TargetDisk, TargetHook, TargetInterface,
    TargetSpec, TargetVm,
};

use crate::resources::condition_types::{kind, reason};
use crate::resources::{Category, Condition};

/// Renders what `input.plan` will create. Never fails: problems become conditions on the
/// plan or on the VM they concern (a VM that cannot be found has no VirtualMachine).
pub fn render(input: RenderInput<'_>) -> TargetSpec {
    let mut conditions = Vec::new();
    let plan = input.plan;
    if plan.spec.target_namespace.is_empty() {
        conditions.push(
            Condition::new(kind::NAMESPACE_NOT_VALID, Category::Critical)
                .with_reason(reason::NOT_SET)
                .with_message("Target namespace is not set."),
        );
    }
    if input.network_map.is_none() {
        conditions.push(
            Condition::new(kind::NETWORK_MAP_REF_NOT_VALID, Category::Critical)
                .with_reason(reason::NOT_FOUND)
                .with_message("The plan's network map was not given; NICs are not rendered."),
        );
    }
    if input.storage_map.is_none()
        && plan.spec.migration_type() != crate::resources::MigrationType::Conversion
    {
        conditions.push(
            Condition::new(kind::STORAGE_REF_NOT_VALID, Category::Critical)
                .with_reason(reason::NOT_FOUND)
                .with_message("The plan's storage map was not given; disks are not rendered."),
        );
    }
    let facts = build::PlanFacts::new(input, &mut conditions);
    let vms: Vec<TargetVm> = plan
        .spec
        .vms
        .iter()
        .map(|pvm| build::render_vm(&facts, pvm))
        .collect();
    duplicates(&vms, &mut conditions);
    missing_capabilities(&input.context.executor, &vms, &mut conditions);
    TargetSpec {
        plan: plan.metadata.name_or_empty().to_owned(),
        target_namespace: plan.spec.target_namespace.clone(),
        vms,
        conditions,
    }
}

/// One Critical condition per capability that some VM needs and the executor lacks, with
/// those VMs as items: the run refuses before anything is touched.
fn missing_capabilities(
    executor: &ExecutorProfile,
    vms: &[TargetVm],
    conditions: &mut Vec<Condition>,
) {
    let mut needed = std::collections::BTreeMap::<ExecutorCapability, Vec<String>>::new();
    for vm in vms.iter().filter(|v| v.virtual_machine.is_some()) {
        let wants = ExecutorCapability::for_itinerary(vm.itinerary)
            .into_iter()
            .chain(
                vm.phases
                    .iter()
                    .filter_map(|p| ExecutorCapability::for_phase(*p)),
            )
            .chain(
                vm.disks
                    .iter()
                    .filter_map(|d| ExecutorCapability::for_disk_path(d.transfer_path)),
            );
        for capability in wants {
            if executor.has(capability) {
                continue;
            }
            let items = needed.entry(capability).or_default();
            let label = if vm.source_name.is_empty() {
                &vm.source_id
            } else {
                &vm.source_name
            };
            if !items.contains(label) {
                items.push(label.clone());
            }
        }
    }
    for (capability, items) in needed {
        conditions.push(capability.missing_condition(items));
    }
}

/// Names that would collide in the target namespace: VMs, claims, and per VM the volume and
/// interface names.
fn duplicates(vms: &[TargetVm], conditions: &mut Vec<Condition>) {
    fn repeated<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
        let mut seen = std::collections::BTreeMap::<&str, usize>::new();
        for n in names {
            *seen.entry(n).or_default() += 1;
        }
        seen.into_iter()
            .filter(|(_, c)| *c > 1)
            .map(|(n, _)| n.to_owned())
            .collect()
    }
    let rendered = || vms.iter().filter(|v| v.virtual_machine.is_some());
    let checks = [
        (
            kind::DUPLICATE_VM,
            "Duplicate targetName.",
            repeated(rendered().map(|v| v.target_name.as_str())),
        ),
        (
            kind::DUPLICATE_PVC_NAME,
            "Several disks of the plan get the same PVC name.",
            repeated(
                vms.iter()
                    .flat_map(|v| v.disks.iter().map(|d| d.claim_name.as_str())),
            ),
        ),
        (
            kind::DUPLICATE_VOLUME_NAME,
            "A VM gets the same volume or interface name twice.",
            vms.iter()
                .flat_map(|v| {
                    let mut names = repeated(v.disks.iter().map(|d| d.volume_name.as_str()));
                    names.extend(repeated(v.interfaces.iter().map(|i| i.name.as_str())));
                    names
                        .into_iter()
                        .map(move |n| format!("{}: {n}", v.target_name))
                })
                .collect(),
        ),
    ];
    for (type_, message, items) in checks {
        if !items.is_empty() {
            conditions.push(
                Condition::new(type_, Category::Critical)
                    .with_reason(reason::NOT_UNIQUE)
                    .with_message(message)
                    .with_items(items),
            );
        }
    }
}

impl TargetSpec {
    /// Every object to create, in creation order (each VM's disks, then the VM), as JSON.
    pub fn manifests(&self) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for vm in &self.vms {
            for disk in &vm.disks {
                out.push(serde_json::to_value(&disk.object).unwrap_or_default());
            }
            if let Some(machine) = &vm.virtual_machine {
                out.push(serde_json::to_value(machine).unwrap_or_default());
            }
        }
        out
    }

    /// The manifests as multi-document YAML, ready for `kubectl apply -f -`.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for manifest in self.manifests() {
            out.push_str("---\n");
            out.push_str(&crate::manifest::to_kubectl_yaml(&manifest).unwrap_or_default());
        }
        out
    }

    /// Whether any plan or VM condition blocks the plan (Critical or Error).
    pub fn has_blockers(&self) -> bool {
        self.conditions
            .iter()
            .chain(self.vms.iter().flat_map(|v| v.conditions.iter()))
            .any(Condition::is_blocker)
    }

    /// A short human table: one line per disk with names and sizes.
    pub fn table(&self) -> String {
        let rows = self.rows(false);
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for row in rows {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }

    /// The rows of [`table`](Self::table), the header first: one per disk (or per VM
    /// without disks). `wide` adds each disk's source and volume name.
    pub fn rows(&self, wide: bool) -> Vec<Vec<String>> {
        let mut header = vec![
            "VM", "TARGET", "DISK", "CLAIM", "CLASS", "MODE", "CAPACITY", "REQUEST",
        ];
        if wide {
            header.extend(["SOURCE", "VOLUME"]);
        }
        let mut rows = vec![header.into_iter().map(str::to_owned).collect::<Vec<_>>()];
        for vm in &self.vms {
            let source = if vm.source_name.is_empty() {
                vm.source_id.clone()
            } else {
                vm.source_name.clone()
            };
            if vm.disks.is_empty() {
                let mut row = vec![source.clone(), vm.target_name.clone()];
                row.resize(if wide { 10 } else { 8 }, "-".to_owned());
                rows.push(row);
            }
            for d in &vm.disks {
                let mut row = vec![
                    source.clone(),
                    vm.target_name.clone(),
                    d.index.to_string(),
                    d.claim_name.clone(),
                    d.storage_class.clone(),
                    format!("{}/{}", d.volume_mode, short_access(d.access_mode)),
                    crate::sizing::quantity(d.capacity),
                    crate::sizing::quantity(d.requested_bytes),
                ];
                if wide {
                    row.push(d.source.clone());
                    row.push(d.volume_name.clone());
                }
                rows.push(row);
            }
        }
        rows
    }
}

fn short_access(mode: crate::sizing::AccessMode) -> &'static str {
    match mode {
        crate::sizing::AccessMode::ReadWriteOnce => "RWO",
        crate::sizing::AccessMode::ReadWriteMany => "RWX",
        crate::sizing::AccessMode::ReadOnlyMany => "ROX",
    }
}
