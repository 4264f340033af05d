//! From a plan and the source inventory to the scheduler's inputs.

use super::policy::Policy;
use super::scheduler::{SchedDisk, SchedVm};
use crate::inventory::{Lookup, SourceInventory};
use crate::resources::{ForkliftControllerSettings, Plan};

/// The plan's VMs as scheduler inputs, in plan order, and the plan entries the inventory
/// could not resolve (by id or unique name).
pub fn plan_vms(plan: &Plan, inventory: &SourceInventory) -> (Vec<SchedVm>, Vec<String>) {
    let mut vms = Vec::new();
    let mut missing = Vec::new();
    for entry in &plan.spec.vms {
        match inventory.find_vm(&entry.id, &entry.name, &entry.namespace) {
            Lookup::Found(vm) => vms.push(SchedVm {
                id: vm.id.clone(),
                host: (!vm.host.is_empty()).then(|| vm.host.clone()),
                disks: vm
                    .disks
                    .iter()
                    .enumerate()
                    .map(|(i, d)| SchedDisk {
                        id: if d.file.is_empty() && d.id.is_empty() {
                            i.to_string()
                        } else if d.file.is_empty() {
                            d.id.clone()
                        } else {
                            d.file.clone()
                        },
                        size_bytes: d.capacity.max(0) as u64,
                    })
                    .collect(),
            }),
            _ => missing.push(if entry.id.is_empty() {
                entry.name.clone()
            } else {
                entry.id.clone()
            }),
        }
    }
    (vms, missing)
}

/// The policy for a plan: source type from the inventory, warm from the plan, the limit
/// from `controller_max_vm_inflight`. `None` for sources the guide does not cover ([`Policy::covers`]).
pub fn plan_policy(
    plan: &Plan,
    inventory: &SourceInventory,
    settings: &ForkliftControllerSettings,
    local_destination: bool,
) -> Option<Policy> {
    let source = inventory.provider;
    Policy::covers(source).then(|| {
        Policy::for_migration(
            source,
            plan.spec.is_warm(),
            local_destination,
            u32::try_from(settings.controller_max_vm_inflight.max(1)).unwrap_or(1),
        )
    })
}
