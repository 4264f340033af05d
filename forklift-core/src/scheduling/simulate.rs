//! Discrete-event simulation of a plan under a [`Policy`], for planning and reports.

use std::collections::BTreeMap;
use std::time::Duration;

use super::policy::Policy;
use super::scheduler::{SchedVm, Scheduler};
use super::{Error, Result};

/// When one disk transfer runs in the simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskRun {
    /// Source VM id.
    pub vm: String,
    /// Disk index within the VM.
    pub disk: usize,
    /// Admission order (0-based) of this disk over the whole plan.
    pub order: usize,
    /// Start offset from the plan start.
    pub start: Duration,
    /// End offset from the plan start.
    pub end: Duration,
}

/// When one VM runs in the simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmRun {
    /// Source VM id.
    pub vm: String,
    /// Admission order (0-based) of the VM.
    pub order: usize,
    /// Start of its first disk (or admission time for a VM without disks).
    pub start: Duration,
    /// End of its last disk.
    pub end: Duration,
}

/// Result of [`simulate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    /// The policy simulated.
    pub policy: Policy,
    /// Every disk, in admission order.
    pub disks: Vec<DiskRun>,
    /// Every VM, in admission order.
    pub vms: Vec<VmRun>,
    /// End of the last transfer.
    pub makespan: Duration,
}

/// Simulates `vms` under `policy`, where `duration(vm, disk_index)` is how long each disk takes.
///
/// Disks of a VM admitted disk-by-disk or VM-by-VM with disk budgets run in parallel (one importer
/// per disk); under VM budgets (virt-v2v copies) they run one after another. Events at the same
/// instant are processed together, in plan order, before new admissions.
pub fn simulate(
    policy: Policy,
    vms: &[SchedVm],
    mut duration: impl FnMut(&SchedVm, usize) -> Duration,
) -> Result<Simulation> {
    let mut scheduler = Scheduler::new(policy, vms.to_vec())?;
    let sequential = policy.sequential_disks();
    let plan_order: BTreeMap<&str, usize> = vms
        .iter()
        .enumerate()
        .map(|(i, vm)| (vm.id.as_str(), i))
        .collect();

    let mut now = Duration::ZERO;
    // Running disks: (end, plan index, disk index).
    let mut running: Vec<(Duration, usize, usize)> = Vec::new();
    // Admitted but not started (sequential VMs): plan index -> queue of disk indexes.
    let mut queued: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut disk_runs: Vec<DiskRun> = Vec::new();
    let mut vm_runs: BTreeMap<usize, VmRun> = BTreeMap::new();
    let mut vm_order = 0usize;
    let mut remaining: Vec<usize> = vms.iter().map(|vm| vm.disks.len()).collect();

    let mut start_disk = |vi: usize,
                          d: usize,
                          now: Duration,
                          running: &mut Vec<(Duration, usize, usize)>,
                          disk_runs: &mut Vec<DiskRun>| {
        let end = now + duration(&vms[vi], d);
        running.push((end, vi, d));
        disk_runs.push(DiskRun {
            vm: vms[vi].id.clone(),
            disk: d,
            order: disk_runs.len(),
            start: now,
            end,
        });
    };

    loop {
        let mut released = false;
        for admission in scheduler.admit() {
            let vi = plan_order[admission.vm.as_str()];
            if admission.vm_started {
                vm_runs.insert(
                    vi,
                    VmRun {
                        vm: admission.vm.clone(),
                        order: vm_order,
                        start: now,
                        end: now,
                    },
                );
                vm_order += 1;
            }
            if vms[vi].disks.is_empty() {
                scheduler.vm_finished(&admission.vm)?;
                released = true;
                continue;
            }
            if sequential {
                let mut disks = admission.disks.into_iter();
                if let Some(first) = disks.next() {
                    start_disk(vi, first, now, &mut running, &mut disk_runs);
                }
                queued.entry(vi).or_default().extend(disks);
            } else {
                for d in admission.disks {
                    start_disk(vi, d, now, &mut running, &mut disk_runs);
                }
            }
        }
        if released {
            // A VM without disks freed its slot at once: admit again at the same instant.
            continue;
        }
        if running.is_empty() {
            break;
        }
        // Advance to the earliest end; finish everything that ends then, in plan order.
        let next = running.iter().map(|r| r.0).min().unwrap_or(now);
        now = next;
        let mut ending: Vec<(usize, usize)> = running
            .iter()
            .filter(|r| r.0 == now)
            .map(|r| (r.1, r.2))
            .collect();
        ending.sort_unstable();
        running.retain(|r| r.0 != now);
        for (vi, d) in ending {
            let id = vms[vi].id.as_str();
            scheduler.disk_finished(id, d)?;
            remaining[vi] -= 1;
            if let Some(run) = vm_runs.get_mut(&vi) {
                run.end = now;
            }
            if sequential {
                let queue = queued.entry(vi).or_default();
                if !queue.is_empty() {
                    let next_disk = queue.remove(0);
                    start_disk(vi, next_disk, now, &mut running, &mut disk_runs);
                }
            }
            if remaining[vi] == 0 {
                scheduler.vm_finished(id)?;
            }
        }
    }

    if let Some(id) = scheduler.waiting().first() {
        // External load from other plans never drains in a simulation.
        return Err(Error::Stalled {
            vm: (*id).to_owned(),
        });
    }
    let mut vms_out: Vec<VmRun> = vm_runs.into_values().collect();
    vms_out.sort_by_key(|r| r.order);
    let makespan = disk_runs.iter().map(|r| r.end).max().unwrap_or_default();
    Ok(Simulation {
        policy,
        disks: disk_runs,
        vms: vms_out,
        makespan,
    })
}

/// [`simulate`] with every disk taking `size / bytes_per_second` (at least one millisecond).
pub fn simulate_throughput(
    policy: Policy,
    vms: &[SchedVm],
    bytes_per_second: u64,
) -> Result<Simulation> {
    if bytes_per_second == 0 {
        return Err(Error::ZeroThroughput);
    }
    simulate(policy, vms, |vm, d| {
        let secs = vm.disks[d].size_bytes as f64 / bytes_per_second as f64;
        Duration::from_secs_f64(secs).max(Duration::from_millis(1))
    })
}
