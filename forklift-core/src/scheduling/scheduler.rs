//! The incremental admission state machine the runner drives.

use std::collections::{BTreeMap, BTreeSet};

use super::policy::{Granularity, Policy, Scope, Unit};
use super::{Error, Result};

/// One disk of a VM to schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedDisk {
    /// Identifier for reports (disk key, file or ID).
    pub id: String,
    /// Capacity in bytes (used by throughput-based simulations).
    pub size_bytes: u64,
}

/// One VM to schedule, in plan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedVm {
    /// Source VM id (unique within the plan).
    pub id: String,
    /// Source host (ESXi / Hyper-V); `None` when unknown. Ignored by provider-scoped policies.
    pub host: Option<String>,
    /// The disks to transfer.
    pub disks: Vec<SchedDisk>,
}

impl SchedVm {
    /// A VM with `count` disks of `size_bytes` each, named `disk-<i>`.
    pub fn uniform(id: &str, host: Option<&str>, count: usize, size_bytes: u64) -> Self {
        SchedVm {
            id: id.to_owned(),
            host: host.map(str::to_owned),
            disks: (0..count)
                .map(|i| SchedDisk {
                    id: format!("disk-{i}"),
                    size_bytes,
                })
                .collect(),
        }
    }
}

/// What the scheduler let start: a VM and the disk indexes that may start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// Source VM id.
    pub vm: String,
    /// Indexes (into `SchedVm::disks`) of the disks admitted by this call.
    pub disks: Vec<usize>,
    /// Whether this is the VM's first admission (the VM starts migrating).
    pub vm_started: bool,
}

#[derive(Debug, Clone)]
struct VmState {
    vm: SchedVm,
    started: Vec<bool>,
    finished: Vec<bool>,
    admitted: bool,
    done: bool,
}

impl VmState {
    fn unfinished_started(&self) -> u32 {
        self.started
            .iter()
            .zip(&self.finished)
            .filter(|(s, f)| **s && !**f)
            .count() as u32
    }

    fn unstarted(&self) -> impl Iterator<Item = usize> + '_ {
        self.started
            .iter()
            .enumerate()
            .filter(|(_, s)| !**s)
            .map(|(i, _)| i)
    }
}

/// Deterministic admission control for one plan under a [`Policy`].
///
/// Admission order is plan order; per-host budgets are independent. Load from other plans on the
/// same source provider can be added with [`Scheduler::add_external_load`].
#[derive(Debug, Clone)]
pub struct Scheduler {
    policy: Policy,
    vms: Vec<VmState>,
    index: BTreeMap<String, usize>,
    external: BTreeMap<Option<String>, u32>,
}

impl Scheduler {
    /// A scheduler for `vms` (plan order). VM ids must be unique.
    pub fn new(policy: Policy, vms: Vec<SchedVm>) -> Result<Self> {
        let mut index = BTreeMap::new();
        let mut states = Vec::with_capacity(vms.len());
        for (i, vm) in vms.into_iter().enumerate() {
            if vm.id.is_empty() {
                return Err(Error::EmptyVmId { position: i });
            }
            if index.insert(vm.id.clone(), i).is_some() {
                return Err(Error::DuplicateVm { id: vm.id });
            }
            let n = vm.disks.len();
            states.push(VmState {
                vm,
                started: vec![false; n],
                finished: vec![false; n],
                admitted: false,
                done: false,
            });
        }
        Ok(Scheduler {
            policy: Policy {
                limit: policy.limit.max(1),
                ..policy
            },
            vms: states,
            index,
            external: BTreeMap::new(),
        })
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Counts `units` already in flight on `host` from other plans (host ignored for
    /// provider-scoped policies).
    pub fn add_external_load(&mut self, host: Option<&str>, units: u32) {
        let key = self.key(host.map(str::to_owned).as_ref());
        *self.external.entry(key).or_default() += units;
    }

    fn key(&self, host: Option<&String>) -> Option<String> {
        match self.policy.scope {
            Scope::Provider => None,
            Scope::PerHost => host.cloned(),
        }
    }

    fn cost(&self, state: &VmState) -> u32 {
        if !state.admitted || state.done {
            return 0;
        }
        match self.policy.unit {
            Unit::Vm => 1,
            Unit::Disk => state.unfinished_started(),
        }
    }

    /// Units in flight per budget key (`None` = provider-wide or unknown host), this plan plus
    /// external load.
    pub fn in_flight(&self) -> BTreeMap<Option<String>, u32> {
        let mut load = self.external.clone();
        for state in &self.vms {
            let cost = self.cost(state);
            if cost > 0 {
                *load.entry(self.key(state.vm.host.as_ref())).or_default() += cost;
            }
        }
        load
    }

    /// Admits everything the budget allows now, in plan order, and marks it started.
    pub fn admit(&mut self) -> Vec<Admission> {
        let mut load = self.in_flight();
        let limit = self.policy.limit;
        let mut out = Vec::new();
        for i in 0..self.vms.len() {
            let key = self.key(self.vms[i].vm.host.as_ref());
            let used = load.get(&key).copied().unwrap_or(0);
            let state = &self.vms[i];
            if state.done || used >= limit {
                continue;
            }
            let unstarted: Vec<usize> = state.unstarted().collect();
            let admit: Vec<usize> = match (self.policy.unit, self.policy.granularity) {
                (Unit::Vm, _) => {
                    if state.admitted {
                        continue;
                    }
                    unstarted
                }
                (Unit::Disk, Granularity::PerDisk) => {
                    if state.admitted && unstarted.is_empty() {
                        continue;
                    }
                    unstarted
                        .into_iter()
                        .take((limit - used) as usize)
                        .collect()
                }
                (Unit::Disk, Granularity::PerVm) => {
                    if state.admitted {
                        continue;
                    }
                    let cost = unstarted.len() as u32;
                    if cost + used <= limit || used == 0 {
                        unstarted
                    } else {
                        continue;
                    }
                }
            };
            let vm_started = !state.admitted;
            let state = &mut self.vms[i];
            state.admitted = true;
            for &d in &admit {
                state.started[d] = true;
            }
            if state.vm.disks.is_empty() {
                // Nothing to transfer: the VM holds no disk budget; a VM budget is released by
                // `vm_finished`.
                if self.policy.unit == Unit::Disk {
                    state.done = true;
                }
            }
            let added = match self.policy.unit {
                Unit::Vm => 1,
                Unit::Disk => admit.len() as u32,
            };
            *load.entry(key).or_default() += added;
            out.push(Admission {
                vm: state.vm.id.clone(),
                disks: admit,
                vm_started,
            });
        }
        out
    }

    fn state_mut(&mut self, vm: &str) -> Result<&mut VmState> {
        let i = *self
            .index
            .get(vm)
            .ok_or_else(|| Error::UnknownVm { id: vm.to_owned() })?;
        Ok(&mut self.vms[i])
    }

    /// Reports that one admitted disk finished transferring. When it was the VM's last disk and
    /// the policy counts disks, the VM is done.
    pub fn disk_finished(&mut self, vm: &str, disk: usize) -> Result<()> {
        let unit = self.policy.unit;
        let state = self.state_mut(vm)?;
        if disk >= state.vm.disks.len() {
            return Err(Error::UnknownDisk {
                vm: vm.to_owned(),
                index: disk,
            });
        }
        if !state.started[disk] {
            return Err(Error::DiskNotStarted {
                vm: vm.to_owned(),
                index: disk,
            });
        }
        state.finished[disk] = true;
        if unit == Unit::Disk && state.finished.iter().all(|f| *f) {
            state.done = true;
        }
        Ok(())
    }

    /// Reports that an admitted VM finished (or failed, or was canceled): it no longer counts.
    pub fn vm_finished(&mut self, vm: &str) -> Result<()> {
        let state = self.state_mut(vm)?;
        state.done = true;
        state.admitted = true;
        Ok(())
    }

    /// VM ids not yet admitted, or (per-disk policies) with disks still waiting.
    pub fn waiting(&self) -> Vec<&str> {
        self.vms
            .iter()
            .filter(|s| !s.done && (!s.admitted || s.unstarted().next().is_some()))
            .map(|s| s.vm.id.as_str())
            .collect()
    }

    /// Whether every VM is done.
    pub fn is_finished(&self) -> bool {
        self.vms.iter().all(|s| s.done)
    }

    /// Hosts with VMs of this plan (for reports); `None` for unknown hosts.
    pub fn hosts(&self) -> BTreeSet<Option<String>> {
        self.vms.iter().map(|s| s.vm.host.clone()).collect()
    }
}
