//! Inventory concerns: the rule sets upstream evaluates on every collected VM (§2.8).
//!
//! Providers call [`vsphere_concerns`] or [`ova_concerns`] when they fill [`Vm::concerns`]; the
//! plan validator then blocks on the `Critical` ones (`VMCriticalConcerns`). Rule IDs are
//! upstream's, so tools that filter on them keep working.

use super::ext::GuestDisk;
use super::vm::{Concern, ConcernCategory, Vm};

/// Disks per VM above which a concern is raised.
pub const MAX_DISKS_PER_VM: usize = 165;
/// Disk serials longer than this are truncated by KubeVirt.
pub const MAX_DISK_SERIAL_LEN: usize = 20;

const MIB: u64 = 1024 * 1024;

fn concern(id: &str, category: ConcernCategory, label: String, assessment: &str) -> Concern {
    Concern {
        id: id.to_owned(),
        category,
        label,
        assessment: assessment.to_owned(),
    }
}

/// Whether a VM name passes upstream's name rule: an RFC 1123-like label of letters, digits,
/// `-` and `.`, starting and ending alphanumeric, shorter than 64 characters.
pub fn vm_name_is_valid(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.len() >= 64 {
        return false;
    }
    match (bytes.first(), bytes.last()) {
        (None, _) | (_, None) => true,
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
        }
    }
}

/// Guest OS id prefixes virt-v2v cannot convert (lower-case comparison).
const UNSUPPORTED_OS_PREFIXES: &[&str] = &[
    "darwin",
    "dos",
    "freebsd",
    "netware",
    "os2",
    "solaris",
    "win31",
    "win95",
    "win98",
    "winme",
    "winnt",
    "win2000",
    "winxphome",
    "eComStation",
    "openserver",
    "unixware",
];

/// Whether the guest OS id names a family virt-v2v does not convert.
pub fn guest_os_is_unsupported(guest_os: &str) -> bool {
    let lower = guest_os.to_ascii_lowercase();
    UNSUPPORTED_OS_PREFIXES
        .iter()
        .any(|p| lower.starts_with(&p.to_ascii_lowercase()))
}

fn minimum_free_space(path: &str) -> u64 {
    let lower = path.to_ascii_lowercase();
    match lower.as_str() {
        "/" => 100 * MIB,
        "/boot" => 50 * MIB,
        "c:" | "c:\\" | "c:/" => 100 * MIB,
        _ => 10 * MIB,
    }
}

fn free_space_concern(disk: &GuestDisk) -> Option<Concern> {
    let required = minimum_free_space(&disk.disk_path);
    (disk.free_space < required).then(|| {
        concern(
            "vmware.guestDisks.freespace",
            ConcernCategory::Critical,
            format!("Insufficient free space for conversion on '{}'", disk.disk_path),
            "The guest filesystem has less free space than virt-v2v needs for conversion; free up space before migration.",
        )
    })
}

/// The vSphere rule set.
pub fn vsphere_concerns(vm: &Vm) -> Vec<Concern> {
    use ConcernCategory::{Critical, Information, Warning};
    let mut out = Vec::new();
    let mut push = |id: &str, category, label: &str, assessment: &str| {
        out.push(concern(
            &format!("vmware.{id}"),
            category,
            label.to_owned(),
            assessment,
        ));
    };
    if !vm.change_tracking_enabled {
        push(
            "changed_block_tracking.disabled",
            Warning,
            "Changed Block Tracking (CBT) not enabled",
            "CBT must be enabled on the VM for warm migration.",
        );
    }
    if vm.disks.iter().any(|d| !d.change_tracking_enabled) {
        push(
            "changed_block_tracking.disk.disabled",
            Warning,
            "Changed Block Tracking (CBT) not enabled on a disk",
            "CBT must be enabled on every disk for warm migration.",
        );
    }
    if vm.consolidation_needed {
        push(
            "consolidation_needed",
            Warning,
            "VM disks need consolidation",
            "Consolidate the VM's disks before a warm migration.",
        );
    }
    if vm.disks.iter().any(|d| d.storage.is_empty()) {
        push(
            "datastore.missing",
            Critical,
            "Disk is not located on a datastore",
            "A disk is not on a datastore; the VM cannot be migrated.",
        );
    }
    if vm.disks.len() > MAX_DISKS_PER_VM {
        push(
            "disk.count.exceeds.limit",
            Warning,
            "VM has more disks than supported",
            "KubeVirt supports at most 165 disks per VM.",
        );
    }
    if vm.disks.iter().any(|d| d.mode.is_independent()) {
        push(
            "disk_mode.independent",
            Warning,
            "Independent disk detected",
            "Independent disks cannot be transferred with warm migration.",
        );
    }
    if vm
        .disks
        .iter()
        .any(|d| d.serial.len() > MAX_DISK_SERIAL_LEN)
    {
        push(
            "disk_serial.truncated",
            Information,
            "Disk serial number will be truncated",
            "Disk serials longer than 20 characters are truncated on the destination.",
        );
    }
    if vm.disks.iter().any(|d| d.bus == super::DiskBus::Nvme) {
        push(
            "disk.nvme.detected",
            Critical,
            "Disk NVMe was detected",
            "NVMe disks are not supported; the VM cannot be migrated.",
        );
    }
    if vm.disks.iter().any(|d| d.rdm) {
        push(
            "disk.rdm.detected",
            Warning,
            "Raw Device Mapped disk detected",
            "RDM disks are not copied unless migrated as LUNs.",
        );
    }
    if vm.disks.iter().any(|d| d.shared) {
        push(
            "disk.shared.detected",
            Warning,
            "Shared disk detected",
            "Shared disks are migrated once and attached to every VM that uses them.",
        );
    }
    if vm.snapshot_count > 0 {
        push(
            "snapshot.detected",
            Information,
            "VM snapshot detected",
            "Snapshots are not migrated; warm migration requires a VM without snapshots.",
        );
    }
    if vm.tpm_enabled {
        push(
            "tpm.detected",
            Warning,
            "TPM detected",
            "The vTPM state is not migrated.",
        );
    }
    if vm.power_state == super::PowerState::On && vm.guest_networks.iter().all(|g| g.ip.is_empty())
    {
        push(
            "vm_missing_ip.detected",
            Warning,
            "VM is missing IP addresses",
            "The guest reports no IP address; static IPs cannot be preserved.",
        );
    }
    if !vm_name_is_valid(&vm.name) {
        push(
            "vm.name.invalid",
            Warning,
            "Invalid VM Name",
            "The VM name is not DNS-compliant and will be adjusted on the destination.",
        );
    }
    if guest_os_is_unsupported(&vm.guest_os) {
        push(
            "os.unsupported",
            Warning,
            "Unsupported operating system detected",
            "The guest OS is not supported for conversion with virt-v2v.",
        );
    }
    for disk in &vm.disks {
        if disk.capacity <= 0 {
            out.push(concern(
                "vmware.disk.capacity.invalid",
                Critical,
                format!(
                    "Disk '{}' has an invalid capacity of {} bytes",
                    disk.file, disk.capacity
                ),
                "Disk capacity must be greater than zero.",
            ));
        }
    }
    if let Some(ext) = vm.vsphere() {
        vsphere_ext_concerns(vm, ext, &mut out);
    }
    out
}

fn vsphere_ext_concerns(vm: &Vm, ext: &super::VsphereVmExt, out: &mut Vec<Concern>) {
    use ConcernCategory::{Critical, Information, Warning};
    let mut push = |id: &str, category, label: &str, assessment: &str| {
        out.push(concern(
            &format!("vmware.{id}"),
            category,
            label.to_owned(),
            assessment,
        ));
    };
    if !ext.cpu_affinity.is_empty() {
        push(
            "cpu_affinity.detected",
            Warning,
            "CPU affinity detected",
            "CPU affinity is not migrated.",
        );
    }
    if ext.cpu_hot_add_enabled || ext.cpu_hot_remove_enabled || ext.memory_hot_add_enabled {
        push(
            "cpu_memory.hotplug.enabled",
            Warning,
            "CPU/Memory hotplug detected",
            "Hot-plug settings are not migrated.",
        );
    }
    if ext.dpm_enabled {
        push(
            "dpm.enabled",
            Information,
            "vSphere DPM detected",
            "DPM has no KubeVirt equivalent.",
        );
    }
    if ext.drs_enabled {
        push(
            "drs.enabled",
            Information,
            "VM running in a DRS-enabled cluster",
            "DRS rules are not migrated.",
        );
    }
    if ext.fault_tolerance_enabled {
        push(
            "fault_tolerance.enabled",
            Information,
            "Fault tolerance",
            "Fault tolerance is not migrated.",
        );
    }
    if ext.host_affinity {
        push(
            "host_affinity.detected",
            Warning,
            "VM-Host affinity detected",
            "VM-host affinity rules are not migrated.",
        );
    }
    if !ext.numa_node_affinity.is_empty() {
        push(
            "numa_affinity.detected",
            Warning,
            "NUMA node affinity detected",
            "NUMA node affinity is not migrated.",
        );
    }
    if ext.passthrough_supported {
        push(
            "passthrough_device.detected",
            Critical,
            "Passthrough device detected",
            "Passthrough devices are not supported; the VM cannot be migrated unless the device is removed.",
        );
    }
    if ext.sriov_supported {
        push(
            "device.sriov.detected",
            Warning,
            "SR-IOV passthrough adapter configuration detected",
            "SR-IOV adapters are not migrated.",
        );
    }
    if ext.usb_supported {
        push(
            "usb_controller.detected",
            Warning,
            "USB controller detected",
            "USB controllers are not migrated.",
        );
    }
    if vm.power_state == super::PowerState::On {
        if ext.host_name.is_empty() {
            push(
                "hostname.empty",
                Warning,
                "Empty Host Name",
                "The guest reports no host name.",
            );
        } else if matches!(
            ext.host_name.as_str(),
            "localhost" | "localhost.localdomain"
        ) {
            push(
                "hostname.default",
                Warning,
                "Default Host Name",
                "The guest uses a default host name.",
            );
        }
    }
    if ext
        .guest_disks
        .iter()
        .any(|g| g.key != 0 && !vm.disks.iter().any(|d| d.key == g.key))
    {
        push(
            "guestDisks.key.not_found",
            Information,
            "Guest disk key not found",
            "A guest filesystem could not be matched to a virtual disk.",
        );
    }
    out.extend(ext.guest_disks.iter().filter_map(free_space_concern));
}

/// The OVA rule set.
pub fn ova_concerns(vm: &Vm) -> Vec<Concern> {
    use ConcernCategory::{Critical, Warning};
    let mut out = Vec::new();
    if let Some(ext) = vm.ova() {
        if !ext.cpu_affinity.is_empty() {
            out.push(concern(
                "ova.cpu_affinity.detected",
                Warning,
                "CPU affinity detected".into(),
                "CPU affinity is not migrated.",
            ));
        }
        if ext.cpu_hot_add_enabled || ext.cpu_hot_remove_enabled || ext.memory_hot_add_enabled {
            out.push(concern(
                "ova.cpu_memory.hotplug.enabled",
                Warning,
                "CPU/Memory hotplug detected".into(),
                "Hot-plug settings are not migrated.",
            ));
        }
        if ext.export_source != "VMware" {
            out.push(concern(
                "ova.source.unsupported",
                Warning,
                "Unsupported OVF export source".into(),
                "Only OVF files exported from VMware are supported; the migration may fail.",
            ));
        }
    }
    if vm.disks.len() > MAX_DISKS_PER_VM {
        out.push(concern(
            "ova.disk.count.exceeds.limit",
            Warning,
            "VM has more disks than supported".into(),
            "KubeVirt supports at most 165 disks per VM.",
        ));
    }
    for disk in vm.disks.iter().filter(|d| d.capacity <= 0) {
        out.push(concern(
            "ova.disk.capacity.invalid",
            Critical,
            format!(
                "Disk '{}' has an invalid capacity of {} bytes",
                disk.file, disk.capacity
            ),
            "Disk capacity must be greater than zero.",
        ));
    }
    if !vm_name_is_valid(&vm.name) {
        out.push(concern(
            "ova.name.invalid",
            Warning,
            "Invalid VM Name".into(),
            "The VM name is not DNS-compliant and will be adjusted on the destination.",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Disk, DiskBus, OvaVmExt, VmExt, VsphereVmExt};

    fn ids(concerns: &[Concern]) -> Vec<&str> {
        concerns.iter().map(|c| c.id.as_str()).collect()
    }

    fn clean_vsphere_vm() -> Vm {
        Vm {
            id: "vm-1".into(),
            name: "web-1".into(),
            change_tracking_enabled: true,
            disks: vec![Disk {
                key: 2000,
                storage: "ds-1".into(),
                capacity: 1 << 30,
                change_tracking_enabled: true,
                ..Disk::default()
            }],
            guest_os: "rhel9_64Guest".into(),
            ext: Some(VmExt::Vsphere(VsphereVmExt::default())),
            ..Vm::default()
        }
    }

    #[test]
    fn a_clean_vm_has_no_concerns() {
        assert_eq!(
            ids(&vsphere_concerns(&clean_vsphere_vm())),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn each_vsphere_rule_fires_on_its_trigger() {
        type Mutate = fn(&mut Vm);
        let cases: &[(&str, Mutate)] = &[
            ("vmware.changed_block_tracking.disabled", |vm| {
                vm.change_tracking_enabled = false
            }),
            ("vmware.changed_block_tracking.disk.disabled", |vm| {
                vm.disks[0].change_tracking_enabled = false
            }),
            ("vmware.datastore.missing", |vm| vm.disks[0].storage.clear()),
            ("vmware.disk.capacity.invalid", |vm| {
                vm.disks[0].capacity = 0
            }),
            ("vmware.disk.nvme.detected", |vm| {
                vm.disks[0].bus = DiskBus::Nvme
            }),
            ("vmware.disk.shared.detected", |vm| {
                vm.disks[0].shared = true
            }),
            ("vmware.disk.rdm.detected", |vm| vm.disks[0].rdm = true),
            ("vmware.snapshot.detected", |vm| vm.snapshot_count = 1),
            ("vmware.tpm.detected", |vm| vm.tpm_enabled = true),
            ("vmware.vm.name.invalid", |vm| vm.name = "bad_name".into()),
            ("vmware.os.unsupported", |vm| {
                vm.guest_os = "solaris11_64Guest".into()
            }),
            ("vmware.disk.count.exceeds.limit", |vm| {
                let disk = vm.disks[0].clone();
                vm.disks = vec![disk; 166];
            }),
            ("vmware.passthrough_device.detected", |vm| {
                vm.ext = Some(VmExt::Vsphere(VsphereVmExt {
                    passthrough_supported: true,
                    ..Default::default()
                }));
            }),
            ("vmware.guestDisks.freespace", |vm| {
                let disk = GuestDisk {
                    disk_path: "/".into(),
                    free_space: 99 * MIB,
                    ..Default::default()
                };
                vm.ext = Some(VmExt::Vsphere(VsphereVmExt {
                    guest_disks: vec![disk],
                    ..Default::default()
                }));
            }),
        ];
        for (id, mutate) in cases {
            let mut vm = clean_vsphere_vm();
            mutate(&mut vm);
            let found = vsphere_concerns(&vm);
            assert!(
                ids(&found).contains(id),
                "{id} not raised: {:?}",
                ids(&found)
            );
        }
    }

    #[test]
    fn ova_rules() {
        let mut vm = Vm {
            name: "ok".into(),
            disks: vec![Disk {
                capacity: 10,
                ..Disk::default()
            }],
            ext: Some(VmExt::Ova(OvaVmExt {
                export_source: "VMware".into(),
                ..Default::default()
            })),
            ..Vm::default()
        };
        assert!(ova_concerns(&vm).is_empty());
        vm.disks[0].capacity = -1;
        vm.ext = Some(VmExt::Ova(OvaVmExt {
            export_source: "VirtualBox".into(),
            ..Default::default()
        }));
        let found = ova_concerns(&vm);
        assert_eq!(
            ids(&found),
            ["ova.source.unsupported", "ova.disk.capacity.invalid"]
        );
        assert_eq!(found[1].category, ConcernCategory::Critical);
    }

    #[test]
    fn name_rule_matches_upstream_pattern() {
        for (name, ok) in [
            ("", true),
            ("a", true),
            ("a.b-c", true),
            ("-a", false),
            ("a_", false),
            (&"a".repeat(64), false),
        ] {
            assert_eq!(vm_name_is_valid(name), ok, "{name}");
        }
    }

    #[test]
    fn free_space_thresholds_depend_on_the_mount_point() {
        let disk = |path: &str, free| GuestDisk {
            disk_path: path.into(),
            free_space: free,
            ..Default::default()
        };
        assert!(free_space_concern(&disk("/boot", 49 * MIB)).is_some());
        assert!(free_space_concern(&disk("/boot", 50 * MIB)).is_none());
        assert!(free_space_concern(&disk("C:\\", 99 * MIB)).is_some());
        assert!(free_space_concern(&disk("/data", 11 * MIB)).is_none());
    }
}
