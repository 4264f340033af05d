//! Which unit `controller_max_vm_inflight` counts, and where.

use std::fmt;

use crate::resources::ProviderType;

/// What one unit of the in-flight limit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// One disk being transferred.
    Disk,
    /// One VM being migrated, whatever its disk count.
    Vm,
}

/// Over which set of VMs the limit applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// All VMs of the source provider share one budget.
    Provider,
    /// Each source host (ESXi / Hyper-V host) has its own budget.
    PerHost,
}

/// Whether a VM's disks are admitted one by one or all together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// Disks are admitted individually: the 16th disk of a limit of 15 waits, whatever VM it
    /// belongs to (guide, oVirt/OpenStack/KubeVirt).
    PerDisk,
    /// A VM is admitted with all its remaining disks when they fit the budget, or alone on an idle
    /// budget when it has more disks than the limit (upstream vSphere scheduler).
    PerVm,
}

/// The scheduling policy of one plan: unit, scope, granularity and limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy {
    /// The counted unit.
    pub unit: Unit,
    /// The budget's scope.
    pub scope: Scope,
    /// Admission granularity (only meaningful for [`Unit::Disk`]).
    pub granularity: Granularity,
    /// `controller_max_vm_inflight` (≥ 1; default 20).
    pub limit: u32,
}

/// ForkliftController default of `controller_max_vm_inflight`.
pub const DEFAULT_MAX_VM_INFLIGHT: u32 = 20;

impl Policy {
    /// The guide's semantics of `controller_max_vm_inflight` for a migration:
    ///
    /// - oVirt, OpenStack, KubeVirt: disks across the provider, admitted disk by disk;
    /// - OVA: VMs across the provider;
    /// - vSphere cold to the local cluster (virt-v2v copies): VMs per ESXi host;
    /// - vSphere cold to a remote cluster, and vSphere warm: disks per ESXi host;
    /// - Hyper-V (not covered by the guide): VMs per Hyper-V host, as upstream;
    /// - EC2 and Nutanix, for which neither the guide nor upstream define the limit (see
    ///   [`Policy::covers`]): VMs across the provider, as OVA (one virt-v2v conversion per VM).
    ///
    /// A `limit` of 0 is raised to 1 (the CRD minimum), as upstream's positive-limit parsing does.
    pub fn for_migration(
        source: ProviderType,
        warm: bool,
        local_destination: bool,
        limit: u32,
    ) -> Self {
        let limit = limit.max(1);
        let (unit, scope, granularity) = match source {
            ProviderType::OVirt | ProviderType::OpenStack | ProviderType::OpenShift => {
                (Unit::Disk, Scope::Provider, Granularity::PerDisk)
            }
            ProviderType::Ova | ProviderType::Ec2 | ProviderType::Nutanix => {
                (Unit::Vm, Scope::Provider, Granularity::PerVm)
            }
            ProviderType::HyperV => (Unit::Vm, Scope::PerHost, Granularity::PerVm),
            ProviderType::VSphere if !warm && local_destination => {
                (Unit::Vm, Scope::PerHost, Granularity::PerVm)
            }
            ProviderType::VSphere => (Unit::Disk, Scope::PerHost, Granularity::PerVm),
        };
        Policy {
            unit,
            scope,
            granularity,
            limit,
        }
    }

    /// Whether the guide (or upstream, for Hyper-V) defines the in-flight semantics of this
    /// source type: every type but EC2 and Nutanix.
    pub fn covers(source: ProviderType) -> bool {
        !matches!(source, ProviderType::Ec2 | ProviderType::Nutanix)
    }

    /// Whether a VM's disks are copied one after another once it is admitted (virt-v2v copies
    /// sequentially) rather than in parallel (one importer per disk). Used by simulations.
    pub fn sequential_disks(&self) -> bool {
        self.unit == Unit::Vm
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            Unit::Disk => "disks",
            Unit::Vm => "VMs",
        };
        let scope = match self.scope {
            Scope::Provider => "in flight",
            Scope::PerHost => "in flight per host",
        };
        write!(f, "at most {} {unit} {scope}", self.limit)?;
        if self.unit == Unit::Disk {
            match self.granularity {
                Granularity::PerDisk => f.write_str(" (admitted disk by disk)"),
                Granularity::PerVm => f.write_str(" (admitted VM by VM)"),
            }?;
        }
        Ok(())
    }
}
