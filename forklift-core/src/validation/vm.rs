//! Per-VM checks (§2.3, §2.4), aggregated into one condition per type with VM references as
//! items, in upstream's order; the guide's per-VM rules follow.

use super::dns::version_less;
use super::plan::SHIFT_ANNOTATION;
use super::{Context, kind, reason};
use crate::inventory::{DatastoreType, Lookup, StorageExt, ToolsStatus, Vm};
use crate::naming::is_dns1123_subdomain;
use crate::resources::{Category, Condition, HookStep, MigrationType, PlanVm, ProviderType, Ref};
use std::collections::{HashMap, HashSet};

/// One aggregated condition: type, category, reason, message.
type Spec = (&'static str, Category, &'static str, &'static str);

/// Aggregated conditions in the order upstream sets them, then ours.
#[derive(Clone, Copy)]
#[repr(usize)]
enum Slot {
    RefNotValid,
    NotFound,
    DuplicateSource,
    AlreadyExists,
    TargetNameNotValid,
    DuplicateAmbiguous,
    NetworksNotMapped,
    StorageNotMapped,
    StorageNotSupported,
    HostNotReady,
    MultiplePod,
    MissingGuestIps,
    MissingCbt,
    UdnSubnet,
    HasSnapshotsWarm,
    PvcTemplate,
    VolumeTemplate,
    NetworkTemplate,
    TargetNameInvalid,
    DuplicateTargetName,
    UnsupportedOvf,
    PowerStateUnsupported,
    MigrationTypeUnsupported,
    GuestTools,
    InvalidDiskSizes,
    MacConflicts,
    MissingPvc,
    LuksAndClevis,
    VddkOffloadMixed,
    CriticalConcerns,
    ConsolidationNeeded,
    HasSnapshotsShift,
    ShiftNasMissing,
    RdmDisk,
    IndependentDisk,
    HookLimit,
    CdromMounted,
    Hibernated,
    NvmeDisk,
    VsanWithoutVddk,
    MeasuredBoot,
    SecureBoot,
    NicWithoutIp,
    LuksNotSupported,
    IncrementalBackupOff,
}

const SLOT_COUNT: usize = Slot::IncrementalBackupOff as usize + 1;
/// Where the per-VM shared disk conditions go in upstream's order.
const SHARED_DISKS_AFTER: usize = Slot::MissingGuestIps as usize;

use Category::{Critical, Warn};

const SPECS: [Spec; SLOT_COUNT] = [
    (
        kind::VM_REF_NOT_VALID,
        Critical,
        reason::NOT_SET,
        "Either `ID` or `Name` required.",
    ),
    (
        kind::VM_NOT_FOUND,
        Critical,
        reason::NOT_FOUND,
        "VM not found.",
    ),
    (
        kind::DUPLICATE_VM,
        Critical,
        reason::NOT_UNIQUE,
        "Duplicate (source) VM.",
    ),
    (
        kind::VM_ALREADY_EXISTS,
        Critical,
        reason::NOT_UNIQUE,
        "Target VM already exists.",
    ),
    (
        kind::TARGET_NAME_NOT_VALID,
        Warn,
        reason::NOT_VALID,
        "Target VM name does not comply with DNS1123 RFC, will be automatically changed.",
    ),
    (
        kind::DUPLICATE_VM,
        Critical,
        reason::AMBIGUOUS,
        "VM reference is ambiguous.",
    ),
    (
        kind::VM_NETWORKS_NOT_MAPPED,
        Critical,
        reason::NOT_VALID,
        "VM has unmapped networks.",
    ),
    (
        kind::VM_STORAGE_NOT_MAPPED,
        Critical,
        reason::NOT_VALID,
        "VM has unmapped storage.",
    ),
    (
        kind::VM_STORAGE_NOT_SUPPORTED,
        Critical,
        reason::NOT_VALID,
        "VM has direct LUN disks, which need oVirt engine 4.5.2.1 or later.",
    ),
    (
        kind::HOST_NOT_READY,
        Warn,
        reason::IN_MAINTENANCE_MODE,
        "VM host is in maintenance mode.",
    ),
    (
        kind::VM_MULTIPLE_POD_NETWORK_MAPPINGS,
        Critical,
        reason::NOT_VALID,
        "VM has more than one interface mapped to the pod network.",
    ),
    (
        kind::VM_MISSING_GUEST_IPS,
        Warn,
        reason::MISSING_GUEST_INFORMATION,
        "Guest information on VM is missing, static IPs cannot be preserved; make sure VMware Tools (or the guest tools) are installed and running.",
    ),
    (
        kind::VM_MISSING_CHANGED_BLOCK_TRACKING,
        Critical,
        reason::MISSING_CHANGED_BLOCK_TRACKING,
        "Changed Block Tracking (CBT) has not been enabled on some VM. This feature is a prerequisite for VM warm migration.",
    ),
    (
        kind::VM_IP_NOT_MATCHING_UDN_SUBNET,
        Warn,
        reason::NOT_VALID,
        "VM IP address on the pod network is outside the user-defined network subnet; it cannot be preserved.",
    ),
    (
        kind::VM_HAS_SNAPSHOTS,
        Critical,
        reason::NOT_VALID,
        "VM has snapshots; warm migration requires a VM without snapshots.",
    ),
    (
        kind::NOT_VALID,
        Critical,
        "",
        "VM PVC name template is invalid.",
    ),
    (
        kind::NOT_VALID,
        Critical,
        "",
        "VM volume name template is invalid.",
    ),
    (
        kind::NOT_VALID,
        Critical,
        "",
        "VM network name template is invalid.",
    ),
    (kind::NOT_VALID, Critical, "", "TargetName is invalid."),
    (
        kind::DUPLICATE_VM,
        Critical,
        reason::NOT_UNIQUE,
        "Duplicate targetName.",
    ),
    (
        kind::UNSUPPORTED_OVF_EXPORT_SOURCE,
        Warn,
        "",
        "The OVF was not exported by VMware; the migration may fail.",
    ),
    (
        kind::VM_POWER_STATE_UNSUPPORTED,
        Critical,
        reason::NOT_SUPPORTED,
        "Live migration requires running VMs.",
    ),
    (
        kind::VM_MIGRATION_TYPE_UNSUPPORTED,
        Critical,
        reason::NOT_SUPPORTED,
        "VM storage is not live-migratable.",
    ),
    (
        kind::GUEST_TOOLS_ISSUE,
        Critical,
        reason::NOT_VALID,
        "VMware Tools are not installed or not running on powered-on VMs.",
    ),
    (
        kind::INVALID_DISK_SIZES,
        Critical,
        reason::NOT_VALID,
        "VM has disks with an invalid (zero or negative) size.",
    ),
    (
        kind::MAC_CONFLICTS,
        Critical,
        reason::NOT_VALID,
        "Source VM MAC addresses are used by destination VMs.",
    ),
    (
        kind::MISSING_PVC_FOR_ONLY_CONVERSION,
        Critical,
        reason::NOT_VALID,
        "Conversion-only migration needs one existing PVC per disk.",
    ),
    (
        kind::LUKS_AND_CLEVIS_INCOMPATIBILITY,
        Warn,
        reason::NOT_VALID,
        "Both LUKS keys and NBDE/Clevis are set; NBDE/Clevis is used.",
    ),
    (
        kind::VDDK_AND_OFFLOAD_MIXED_USAGE,
        Critical,
        reason::NOT_SUPPORTED,
        "VM disks mix copy-offload and VDDK storage mappings.",
    ),
    (
        kind::VM_CRITICAL_CONCERNS,
        Critical,
        reason::NOT_VALID,
        "VM has critical concerns.",
    ),
    (
        kind::VM_CONSOLIDATION_NEEDED,
        Warn,
        reason::CONSOLIDATION_NEEDED,
        "VM disks need consolidation before warm migration.",
    ),
    (
        kind::VM_HAS_SNAPSHOTS,
        Critical,
        reason::NOT_VALID,
        "VM has snapshots, which NetApp Shift does not support.",
    ),
    (
        kind::NET_APP_SHIFT_DATASTORE_NAS_MISSING,
        Critical,
        reason::NOT_VALID,
        "NetApp Shift-mapped datastore lacks NAS remote host or path.",
    ),
    (
        kind::RDM_DISK_WARNING,
        Warn,
        reason::NOT_SUPPORTED,
        "VM has RDM disks, which are not migrated.",
    ),
    (
        kind::INDEPENDENT_DISK_WARNING,
        Warn,
        reason::NOT_SUPPORTED,
        "VM has independent disks, which are not migrated.",
    ),
    (
        kind::VM_HOOK_LIMIT_EXCEEDED,
        Critical,
        reason::NOT_VALID,
        "A VM can have at most one pre-migration hook and one post-migration hook.",
    ),
    (
        kind::VM_CDROM_MOUNTED,
        Warn,
        reason::NOT_VALID,
        "ISO images and CD-ROMs should be unmounted before migration.",
    ),
    (
        kind::VM_HIBERNATED,
        Critical,
        reason::NOT_SUPPORTED,
        "Hibernated VMs cannot be migrated; disable hibernation.",
    ),
    (
        kind::VM_NVME_DISK,
        Critical,
        reason::NOT_SUPPORTED,
        "VMware NVMe disks cannot be migrated.",
    ),
    (
        kind::VM_VSAN_WITHOUT_VDDK,
        Critical,
        reason::NOT_SUPPORTED,
        "VMs backed by vSAN cannot be migrated without a VDDK image.",
    ),
    (
        kind::VM_MEASURED_BOOT,
        Critical,
        reason::NOT_SUPPORTED,
        "Windows VMs with Measured Boot cannot be migrated; re-create them on KubeVirt.",
    ),
    (
        kind::VM_SECURE_BOOT,
        Warn,
        reason::NOT_SUPPORTED,
        "VMs with Secure Boot might not boot after migration; disable Secure Boot on the destination if needed.",
    ),
    (
        kind::VM_NIC_WITHOUT_IP,
        Warn,
        reason::MISSING_GUEST_INFORMATION,
        "A NIC has no IP address; its static IP cannot be preserved.",
    ),
    (
        kind::LUKS_NOT_SUPPORTED,
        Critical,
        reason::NOT_SUPPORTED,
        "LUKS keys are only supported for vSphere and OVA sources.",
    ),
    (
        kind::VM_INCREMENTAL_BACKUP_DISABLED,
        Critical,
        reason::NOT_SUPPORTED,
        "Incremental backup is not enabled on every disk of some VM (it needs the qcow2 format). This is a prerequisite for warm migration from oVirt.",
    ),
];

#[derive(Default)]
struct Aggregates {
    items: Vec<Vec<String>>,
    details: Vec<Vec<String>>,
    shared: Vec<Condition>,
}

impl Aggregates {
    fn new() -> Self {
        Self {
            items: vec![Vec::new(); SLOT_COUNT],
            details: vec![Vec::new(); SLOT_COUNT],
            shared: Vec::new(),
        }
    }

    fn add(&mut self, slot: Slot, item: String) {
        self.items[slot as usize].push(item);
    }

    fn detail(&mut self, slot: Slot, detail: String) {
        self.details[slot as usize].push(detail);
    }

    /// Sets the aggregated conditions in upstream's order, through [`Context::set`].
    fn into_conditions(self, ctx: &mut Context<'_>) {
        let mut shared = Some(self.shared);
        for (i, ((items, details), (type_, category, why, message))) in self
            .items
            .into_iter()
            .zip(self.details)
            .zip(SPECS)
            .enumerate()
        {
            if !items.is_empty() {
                let message = if details.is_empty() {
                    message.to_owned()
                } else {
                    format!("{message} {}", details.join("; "))
                };
                let condition = Condition::new(type_, category)
                    .with_reason(why)
                    .with_message(message);
                // Upstream sets VMRefNotValid once per empty reference, without items.
                ctx.set(if i == Slot::RefNotValid as usize {
                    condition
                } else {
                    condition.with_items(items)
                });
            }
            if i == SHARED_DISKS_AFTER {
                for c in shared.take().unwrap_or_default() {
                    ctx.set(c);
                }
            }
        }
    }
}

impl Context<'_> {
    /// The reference of a plan VM as upstream holds it after `validateVM`: completed with the
    /// inventory's ID and name when the VM is found, as given otherwise.
    pub(crate) fn identified_ref(&self, plan_vm: &PlanVm) -> Ref {
        let r = plan_vm.vm_ref();
        match self
            .index
            .find_vm(&plan_vm.id, &plan_vm.name, &plan_vm.namespace)
            .found()
        {
            Some(vm) => r.identified(&vm.id, &vm.name),
            None => r,
        }
    }
}

fn is_succeeded(ctx: &Context<'_>, vm: &PlanVm) -> bool {
    let Some(status) = ctx.plan.status.as_ref().and_then(|s| s.migration.as_ref()) else {
        return false;
    };
    status.vms.iter().any(|s| {
        let same = if vm.id.is_empty() {
            s.vm.name == vm.name
        } else {
            s.vm.id == vm.id
        };
        same && s
            .conditions
            .iter()
            .any(|c| c.type_ == kind::SUCCEEDED && c.is_true())
    })
}

fn is_tracked(ctx: &Context<'_>, id: &str) -> bool {
    ctx.plan
        .status
        .as_ref()
        .and_then(|s| s.migration.as_ref())
        .is_some_and(|m| m.vms.iter().any(|s| s.vm.id == id))
}

impl<'a> Context<'a> {
    pub(crate) fn validate_vms(&mut self) {
        let mut agg = Aggregates::new();
        let mut seen_ids: HashSet<&str> = HashSet::new();
        let mut target_names: HashMap<&str, usize> = HashMap::new();
        for vm in &self.plan.spec.vms {
            if !vm.target_name.is_empty() {
                *target_names.entry(vm.target_name.as_str()).or_default() += 1;
            }
        }
        let mac_index = self.destination_macs();
        let shared = SharedDiskIndex::new(self);
        let mut plan_disks = 0usize;
        let mut parsed = super::templates::ParsedTemplates::default();
        let mut per_host: HashMap<&'a str, usize> = HashMap::new();

        for plan_vm in &self.plan.spec.vms {
            if is_succeeded(self, plan_vm) {
                continue;
            }
            let r = plan_vm.vm_ref();
            if r.id.is_empty() && r.name.is_empty() && r.type_.is_empty() {
                agg.add(Slot::RefNotValid, r.to_string());
                continue;
            }
            let vm = match self
                .index
                .find_vm(&plan_vm.id, &plan_vm.name, &plan_vm.namespace)
            {
                Lookup::Found(vm) => vm,
                Lookup::NotFound => {
                    agg.add(Slot::NotFound, r.to_string());
                    continue;
                }
                Lookup::Ambiguous => {
                    agg.add(Slot::DuplicateAmbiguous, r.to_string());
                    continue;
                }
            };
            let item = r.identified(&vm.id, &vm.name).to_string();
            plan_disks += vm.disks.len();
            if !vm.host.is_empty() {
                *per_host.entry(vm.host.as_str()).or_default() += 1;
            }
            if !seen_ids.insert(vm.id.as_str()) {
                agg.add(Slot::DuplicateSource, item.clone());
            }
            self.check_names(&mut agg, plan_vm, vm, &item, &target_names);
            self.check_templates(&mut agg, &mut parsed, plan_vm, vm, &item);
            self.check_mapping(&mut agg, vm, &item);
            self.check_vm_state(&mut agg, plan_vm, vm, &item, &shared);
            self.check_destination(&mut agg, vm, &item, &mac_index);
            self.check_storage_features(&mut agg, vm, &item);
            self.check_guide_vm_rules(&mut agg, plan_vm, vm, &item);
        }
        agg.into_conditions(self);
        self.plan_disk_count = plan_disks;
        self.vms_per_host = per_host
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    }

    fn check_names(
        &self,
        agg: &mut Aggregates,
        plan_vm: &PlanVm,
        vm: &Vm,
        item: &str,
        target_names: &HashMap<&str, usize>,
    ) {
        let name = if plan_vm.target_name.is_empty() {
            &vm.name
        } else {
            &plan_vm.target_name
        };
        if let Some(dest) = self.dest {
            if dest.vm(self.target_namespace(), name).is_some() && !is_tracked(self, &vm.id) {
                agg.add(Slot::AlreadyExists, item.to_owned());
            }
        }
        if plan_vm.target_name.is_empty() {
            if !is_dns1123_subdomain(&vm.name) {
                agg.add(Slot::TargetNameNotValid, item.to_owned());
            }
        } else {
            if !is_dns1123_subdomain(&plan_vm.target_name) {
                agg.add(Slot::TargetNameInvalid, item.to_owned());
            }
            if target_names
                .get(plan_vm.target_name.as_str())
                .is_some_and(|&n| n > 1)
            {
                agg.add(Slot::DuplicateTargetName, item.to_owned());
            }
        }
    }

    fn check_templates(
        &self,
        agg: &mut Aggregates,
        parsed: &mut super::templates::ParsedTemplates,
        plan_vm: &PlanVm,
        vm: &Vm,
        item: &str,
    ) {
        if let Some(error) = self.pvc_template_error(parsed, plan_vm, vm) {
            agg.add(Slot::PvcTemplate, format!("{item} {error}"));
        }
        let (volume, network) = self.vm_template_invalid(plan_vm);
        if volume {
            agg.add(Slot::VolumeTemplate, item.to_owned());
        }
        if network {
            agg.add(Slot::NetworkTemplate, item.to_owned());
        }
    }

    fn check_mapping(&self, agg: &mut Aggregates, vm: &Vm, item: &str) {
        if let Some(networks) = &self.networks {
            let nics = vm.nics.iter().filter(|n| {
                self.kind != ProviderType::HyperV || n.connected || n.network.name.is_empty()
            });
            if !vm.nics.iter().all(|n| networks.is_mapped(&n.network))
                || nics.count() != vm.nics.len()
            {
                agg.add(Slot::NetworksNotMapped, item.to_owned());
            }
            if networks.pod_network_count(vm.nics.iter().map(|n| &n.network)) > 1 {
                agg.add(Slot::MultiplePod, item.to_owned());
            }
        }
        if let Some(storages) = &self.storages {
            if self.plan.spec.type_ != Some(MigrationType::Conversion)
                && !self.storage_mapped(storages, vm)
            {
                agg.add(Slot::StorageNotMapped, item.to_owned());
            }
        }
        if self.kind == ProviderType::OVirt && vm.disks.iter().any(|d| d.rdm) {
            let engine = match &self.source.ext {
                Some(crate::inventory::ProviderExt::Ovirt { engine_version }) => {
                    engine_version.as_str()
                }
                _ => "",
            };
            if version_less(engine, &[4, 5, 2, 1]) == Some(true) {
                agg.add(Slot::StorageNotSupported, item.to_owned());
            }
        }
    }

    fn storage_mapped(&self, storages: &crate::mapping::StorageMapper<'_>, vm: &Vm) -> bool {
        match self.kind {
            ProviderType::HyperV => vm.disks.iter().all(|d| match &vm.ext {
                Some(crate::inventory::VmExt::Hyperv(h)) => {
                    h.smb_paths.get(&d.id).is_some_and(|p| !p.is_empty())
                }
                _ => false,
            }),
            ProviderType::OVirt => vm
                .disks
                .iter()
                .filter(|d| !d.rdm)
                .all(|d| storages.pair_for_disk(vm, d).is_some()),
            _ => storages.all_disks_mapped(vm),
        }
    }

    fn check_vm_state(
        &self,
        agg: &mut Aggregates,
        plan_vm: &PlanVm,
        vm: &Vm,
        item: &str,
        shared: &SharedDiskIndex<'_>,
    ) {
        let spec = &self.plan.spec;
        let warm = spec.is_warm();
        let vsphere = self.kind == ProviderType::VSphere;
        if self.index.host(&vm.host).is_some_and(|h| h.in_maintenance) {
            agg.add(Slot::HostNotReady, item.to_owned());
        }
        let supports_static = matches!(self.kind, ProviderType::VSphere | ProviderType::HyperV);
        if supports_static && spec.preserve_static_ips && !self.static_ips_ok(vm) {
            agg.add(Slot::MissingGuestIps, item.to_owned());
        }
        if vsphere {
            shared.check(self, plan_vm, vm, item, agg);
        }
        if warm && vsphere && !vm.change_tracking_enabled {
            agg.add(Slot::MissingCbt, item.to_owned());
        }
        // oVirt's inventory sets the flag from every image disk's `backup: incremental`.
        if warm && self.kind == ProviderType::OVirt && !vm.change_tracking_enabled {
            agg.add(Slot::IncrementalBackupOff, item.to_owned());
        }
        if supports_static && spec.preserve_static_ips && !self.udn_static_ips_ok(vm) {
            agg.add(Slot::UdnSubnet, item.to_owned());
        }
        let has_snapshot =
            vm.snapshot_count > 0 || vm.vsphere().is_some_and(|e| !e.current_snapshot.is_empty());
        if warm && vsphere && has_snapshot {
            agg.add(Slot::HasSnapshotsWarm, item.to_owned());
        }
        if vm.concerns.iter().any(|c| c.id == "ova.source.unsupported") {
            agg.add(Slot::UnsupportedOvf, item.to_owned());
        }
        if self.kind == ProviderType::OpenShift && spec.type_ == Some(MigrationType::Live) {
            let ext = vm.kubevirt();
            if !ext.is_some_and(|k| k.instance_running) {
                agg.add(Slot::PowerStateUnsupported, item.to_owned());
            }
            if !ext.is_some_and(|k| k.storage_live_migratable) {
                agg.add(Slot::MigrationTypeUnsupported, item.to_owned());
            }
        }
        if vsphere && vm.is_powered_on() {
            let tools_missing = matches!(
                vm.guest_tools,
                ToolsStatus::Unknown | ToolsStatus::NotInstalled
            );
            let not_running = vm.guest_tools_running == Some(false)
                || vm
                    .vsphere()
                    .is_some_and(|e| e.tools_running_status == "guestToolsNotRunning");
            if tools_missing || not_running {
                agg.add(Slot::GuestTools, item.to_owned());
            }
        }
        if vm.disks.iter().any(|d| d.capacity <= 0) {
            agg.add(Slot::InvalidDiskSizes, item.to_owned());
        }
        if plan_vm.luks.as_ref().is_some_and(|l| !l.name.is_empty()) && plan_vm.nbde_clevis {
            agg.add(Slot::LuksAndClevis, item.to_owned());
        }
        let critical: Vec<_> = vm
            .concerns
            .iter()
            .filter(|c| c.category == crate::inventory::ConcernCategory::Critical)
            .collect();
        for concern in critical {
            agg.add(
                Slot::CriticalConcerns,
                format!("{item} ({})", concern.label),
            );
        }
        if warm && vsphere && vm.consolidation_needed {
            agg.add(Slot::ConsolidationNeeded, item.to_owned());
        }
        if vsphere && !self.uses_offload() {
            let rdm = if warm {
                vm.disks.iter().any(|d| d.rdm && d.physical_mode)
            } else {
                vm.disks.iter().any(|d| d.rdm)
            };
            if rdm {
                agg.add(Slot::RdmDisk, item.to_owned());
            }
            if vm.disks.iter().any(|d| d.mode.is_independent()) {
                agg.add(Slot::IndependentDisk, item.to_owned());
            }
        }
    }

    /// Upstream `UdnStaticIPs` (feature `StaticUdnIpAddresses`): the guest IPs of NICs mapped to
    /// the pod network must lie in the subnet of the target namespace's UDN that allows
    /// persistent IPs.
    fn udn_static_ips_ok(&self, vm: &Vm) -> bool {
        if !self.settings.feature_static_udn_ip_addresses || !self.destination_has_udn() {
            return true;
        }
        let (Some(dest), Some(networks)) = (self.dest, &self.networks) else {
            return true;
        };
        let target = self.target_namespace();
        let subnets: Option<Vec<String>> = dest
            .network_attachment_definitions
            .iter()
            .filter(|n| {
                n.namespace == target && n.labels.contains_key("k8s.ovn.org/user-defined-network")
            })
            .find_map(|n| {
                let config: serde_json::Value = serde_json::from_str(&n.config).ok()?;
                if !config
                    .get("allowPersistentIPs")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false)
                {
                    return None;
                }
                let subnets = match config.get("subnets")? {
                    serde_json::Value::String(s) => {
                        s.split(',').map(|x| x.trim().to_owned()).collect()
                    }
                    serde_json::Value::Array(a) => a
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    _ => return None,
                };
                Some(subnets)
            });
        let Some(subnets) = subnets else { return true };
        let allocated = networks.allocate(vm.nics.iter().map(|n| &n.network));
        vm.nics
            .iter()
            .zip(allocated)
            .filter(|(_, p)| {
                p.is_some_and(|p| {
                    p.destination.type_ == crate::resources::NetworkDestinationType::Pod
                })
            })
            .all(|(nic, _)| {
                vm.guest_networks
                    .iter()
                    .filter(|g| g.mac.eq_ignore_ascii_case(&nic.mac) && !g.ip.is_empty())
                    .all(|g| {
                        subnets
                            .iter()
                            .any(|s| super::dns::cidr_contains(s, &g.ip) == Some(true))
                    })
            })
    }

    /// Upstream `StaticIPs`: guest networks reported and every guest MAC is a NIC MAC.
    fn static_ips_ok(&self, vm: &Vm) -> bool {
        if !vm.nics.is_empty() && vm.guest_networks.is_empty() {
            return false;
        }
        let case_insensitive = self.kind == ProviderType::HyperV;
        vm.guest_networks.iter().all(|g| {
            vm.nics.iter().any(|n| {
                if case_insensitive {
                    n.mac.eq_ignore_ascii_case(&g.mac)
                } else {
                    n.mac == g.mac
                }
            })
        })
    }

    fn destination_macs(&self) -> HashMap<String, Vec<String>> {
        let mut index: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(dest) = self.dest {
            for vm in &dest.virtual_machines {
                for mac in &vm.macs {
                    index
                        .entry(mac.to_ascii_lowercase())
                        .or_default()
                        .push(format!("{}/{}", vm.namespace, vm.name));
                }
            }
        }
        index
    }

    fn check_destination(
        &self,
        agg: &mut Aggregates,
        vm: &Vm,
        item: &str,
        macs: &HashMap<String, Vec<String>>,
    ) {
        let live = self.plan.spec.type_ == Some(MigrationType::Live);
        if !macs.is_empty() && (self.kind != ProviderType::OpenShift || live) {
            let mut by_vm: Vec<(String, Vec<&str>)> = Vec::new();
            for nic in vm.nics.iter().filter(|n| !n.mac.is_empty()) {
                for owner in macs
                    .get(&nic.mac.to_ascii_lowercase())
                    .into_iter()
                    .flatten()
                {
                    match by_vm.iter_mut().find(|(o, _)| o == owner) {
                        Some((_, list)) => list.push(&nic.mac),
                        None => by_vm.push((owner.clone(), vec![&nic.mac])),
                    }
                }
            }
            if !by_vm.is_empty() {
                agg.add(Slot::MacConflicts, item.to_owned());
                for (owner, list) in by_vm {
                    agg.detail(
                        Slot::MacConflicts,
                        format!(
                            "MACs {} conflict with destination VM {owner}",
                            list.join(", ")
                        ),
                    );
                }
            }
        }
        if self.plan.spec.type_ == Some(MigrationType::Conversion)
            && self.kind == ProviderType::VSphere
        {
            if let Some(dest) = self.dest {
                let uuid = vm.vsphere().map(|e| e.uuid.as_str()).unwrap_or_default();
                let target = self.target_namespace();
                let count = dest
                    .persistent_volume_claims
                    .iter()
                    .filter(|p| p.namespace == target)
                    .filter(|p| {
                        p.labels.get("vmID").is_some_and(|v| *v == vm.id)
                            && p.labels.get("vmUUID").is_some_and(|v| v == uuid)
                    })
                    .count();
                if count != vm.disks.len() {
                    agg.add(Slot::MissingPvc, item.to_owned());
                }
            }
        }
    }

    fn check_storage_features(&self, agg: &mut Aggregates, vm: &Vm, item: &str) {
        if self.kind != ProviderType::VSphere {
            return;
        }
        let Some(storages) = &self.storages else {
            return;
        };
        // Upstream checks the mix only with the feature on; with it off, the plan is refused
        // by our CopyOffloadDisabled rule instead.
        if self.uses_offload() && self.settings.feature_copy_offload {
            let mixed = vm.disks.iter().any(|d| {
                storages.pair_for_disk(vm, d).is_some_and(|p| {
                    !p.offload_plugin.as_ref().is_some_and(|o| {
                        o.vsphere_xcopy_config.is_some() || o.csi_volume_import.is_some()
                    })
                })
            });
            if mixed {
                agg.add(Slot::VddkOffloadMixed, item.to_owned());
            }
        }
        if self.uses_net_app_shift() {
            let dest = self.dest;
            let is_shift = |class: &str| {
                dest.and_then(|d| d.storage_class(class)).is_some_and(|c| {
                    c.annotations
                        .get(SHIFT_ANNOTATION)
                        .is_some_and(|v| v == "shift")
                })
            };
            let has_snapshot = vm.snapshot_count > 0
                || vm.vsphere().is_some_and(|e| !e.current_snapshot.is_empty());
            if has_snapshot {
                agg.add(Slot::HasSnapshotsShift, item.to_owned());
            }
            let nas_missing =
                vm.disks.iter().any(|d| {
                    storages
                        .pair_for_disk(vm, d)
                        .is_some_and(|p| is_shift(&p.destination.storage_class))
                        && !self.index.find_storage(&d.storage, "").found().is_some_and(
                            |s| match &s.ext {
                                Some(StorageExt::Vsphere(x)) => {
                                    !x.remote_host.is_empty() && !x.remote_path.is_empty()
                                }
                                None => false,
                            },
                        )
                });
            if nas_missing {
                agg.add(Slot::ShiftNasMissing, item.to_owned());
            }
        }
    }

    fn check_guide_vm_rules(&self, agg: &mut Aggregates, plan_vm: &PlanVm, vm: &Vm, item: &str) {
        let pre = plan_vm
            .hooks
            .iter()
            .filter(|h| h.step() == Some(HookStep::PreHook))
            .count();
        let post = plan_vm
            .hooks
            .iter()
            .filter(|h| h.step() == Some(HookStep::PostHook))
            .count();
        if pre > 1 || post > 1 {
            agg.add(Slot::HookLimit, item.to_owned());
        }
        if vm.cdroms.iter().any(|c| c.is_mounted()) {
            agg.add(Slot::CdromMounted, item.to_owned());
        }
        if vm.hibernated {
            agg.add(Slot::Hibernated, item.to_owned());
        }
        let vsphere = self.kind == ProviderType::VSphere;
        if vsphere
            && vm
                .disks
                .iter()
                .any(|d| d.bus == crate::inventory::DiskBus::Nvme)
        {
            agg.add(Slot::NvmeDisk, item.to_owned());
        }
        if vsphere && self.vddk_image().is_empty() && !self.uses_offload() {
            let on_vsan = vm.disks.iter().any(|d| {
                self.index.find_storage(&d.storage, "").found().is_some_and(|s| {
                    matches!(&s.ext, Some(StorageExt::Vsphere(x)) if x.datastore_type == DatastoreType::Vsan)
                })
            });
            if on_vsan {
                agg.add(Slot::VsanWithoutVddk, item.to_owned());
            }
        }
        if vm.measured_boot {
            agg.add(Slot::MeasuredBoot, item.to_owned());
        }
        if vm.secure_boot {
            agg.add(Slot::SecureBoot, item.to_owned());
        }
        let supports_static = matches!(self.kind, ProviderType::VSphere | ProviderType::HyperV);
        if supports_static && self.plan.spec.preserve_static_ips && !vm.guest_networks.is_empty() {
            let without_ip = vm.nics.iter().any(|n| {
                !vm.guest_networks
                    .iter()
                    .any(|g| g.mac.eq_ignore_ascii_case(&n.mac) && !g.ip.is_empty())
            });
            if without_ip {
                agg.add(Slot::NicWithoutIp, item.to_owned());
            }
        }
        if plan_vm.luks.as_ref().is_some_and(|l| !l.name.is_empty())
            && !matches!(self.kind, ProviderType::VSphere | ProviderType::Ova)
        {
            agg.add(Slot::LuksNotSupported, item.to_owned());
        }
    }
}

/// Which inventory VMs share which disk files, and which plan VMs migrate them.
struct SharedDiskIndex<'a> {
    users: HashMap<&'a str, Vec<&'a Vm>>,
    plan_users: HashMap<&'a str, usize>,
}

impl<'a> SharedDiskIndex<'a> {
    fn new(ctx: &Context<'a>) -> Self {
        let mut index = Self {
            users: HashMap::new(),
            plan_users: HashMap::new(),
        };
        if ctx.kind != ProviderType::VSphere {
            return index;
        }
        let plan_shared: HashSet<&str> = ctx
            .plan
            .spec
            .vms
            .iter()
            .filter_map(|p| ctx.index.find_vm(&p.id, &p.name, &p.namespace).found())
            .flat_map(|vm| {
                vm.disks
                    .iter()
                    .filter(|d| d.shared)
                    .map(|d| d.file.as_str())
            })
            .collect();
        if plan_shared.is_empty() {
            return index;
        }
        for vm in &ctx.source.vms {
            for disk in vm
                .disks
                .iter()
                .filter(|d| plan_shared.contains(d.file.as_str()))
            {
                index.users.entry(disk.file.as_str()).or_default().push(vm);
            }
        }
        for p in &ctx.plan.spec.vms {
            let migrates = p
                .migrate_shared_disks
                .unwrap_or(ctx.plan.spec.migrate_shared_disks);
            if let (true, Some(vm)) = (
                migrates,
                ctx.index.find_vm(&p.id, &p.name, &p.namespace).found(),
            ) {
                for d in vm.disks.iter().filter(|d| d.shared) {
                    *index.plan_users.entry(d.file.as_str()).or_default() += 1;
                }
            }
        }
        index
    }

    fn check(
        &self,
        ctx: &Context<'_>,
        plan_vm: &PlanVm,
        vm: &Vm,
        item: &str,
        agg: &mut Aggregates,
    ) {
        let shared: Vec<&str> = vm
            .disks
            .iter()
            .filter(|d| d.shared)
            .map(|d| d.file.as_str())
            .collect();
        if shared.is_empty() {
            return;
        }
        // Upstream (`validateVM`): no reason, the VM reference as the only item, and the type
        // `SharedWarnDisks-<id>` for Warn, else `SharedDisks-<id>`.
        let condition = |category: Category, message: String| {
            let prefix = if category == Category::Warn {
                kind::SHARED_WARN_DISKS_PREFIX
            } else {
                kind::SHARED_DISKS_PREFIX
            };
            Condition::new(format!("{prefix}{}", vm.id), category)
                .with_message(message)
                .with_items([item.to_owned()])
        };
        let critical = |message: String| condition(Category::Critical, message);
        let warn = |message: String| condition(Category::Warn, message);
        if ctx.plan.spec.is_warm() {
            // Upstream leaves the category empty, so not a blocker and, not being Warn, typed
            // `SharedDisks-<id>`. Our categories have no empty value: Advisory is the closest
            // non-blocking one that keeps upstream's type.
            agg.shared.push(condition(
                Category::Advisory,
                "The shared disks cannot be used with warm migration".to_owned(),
            ));
            return;
        }
        let mut running: Vec<&str> = shared
            .iter()
            .flat_map(|f| self.users.get(f).into_iter().flatten())
            .filter(|other| {
                other.id != vm.id && other.power_state != crate::inventory::PowerState::Off
            })
            .map(|other| other.name.as_str())
            .collect();
        running.sort_unstable();
        running.dedup();
        if !running.is_empty() {
            let names: Vec<String> = running.iter().map(|n| format!("'{n}'")).collect();
            agg.shared.push(critical(format!(
                "Virtual Machines {} are running with attached shared disk, please power them off",
                names.join(", ")
            )));
            return;
        }
        let target = ctx.target_namespace();
        let existing = |file: &str| {
            ctx.dest.is_some_and(|d| {
                d.persistent_volume_claims.iter().any(|p| {
                    p.namespace == target
                        && p.labels.get("shareable").is_some_and(|v| v == "true")
                        && p.annotations
                            .get("forklift.konveyor.io/disk-source")
                            .is_some_and(|v| v == file)
                })
            })
        };
        let migrates = plan_vm
            .migrate_shared_disks
            .unwrap_or(ctx.plan.spec.migrate_shared_disks);
        if !migrates {
            let missing: Vec<&str> = shared.iter().copied().filter(|f| !existing(f)).collect();
            if !missing.is_empty() {
                agg.shared.push(warn(format!(
                    "Missing shared disks PVC {}, the disk will not be attached",
                    missing.join(", ")
                )));
            }
            return;
        }
        let present: Vec<&str> = shared.iter().copied().filter(|f| existing(f)).collect();
        if !present.is_empty() {
            agg.shared.push(warn(format!(
                "Already existing shared disks PVCs {}, the disks will be duplicated",
                present.join(", ")
            )));
        } else if let Some((file, n)) = shared
            .iter()
            .find_map(|f| self.plan_users.get(f).filter(|&&n| n > 1).map(|n| (f, *n)))
        {
            agg.shared.push(warn(format!(
                "the shared disk '{file}' will be coppied {n}x, set migrateSharedDisks to false on all but one VM"
            )));
        }
    }
}
