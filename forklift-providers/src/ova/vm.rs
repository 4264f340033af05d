//! OVA VMs as upstream's OVA server reports them, converted from parsed OVF envelopes.

use std::path::{Path, PathBuf};

use forklift_core::credentials::parse_go_bool;
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::ids;
use super::ovf::{Envelope, ExportSource, VirtualSystem};
use super::tar::unsafe_path_reason;
use super::units;

/// Resource types of CIM hardware items.
const RESOURCE_CPU: u32 = 3;
const RESOURCE_MEMORY: u32 = 4;
const RESOURCE_ETHERNET: u32 = 10;

/// How a package is stored in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PackageKind {
    /// A tar archive (`.ova`) holding the descriptor and the disks.
    Ova,
    /// An extracted package: an `.ovf` descriptor with its disks beside it.
    Ovf,
}

/// A package found in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Package {
    /// Absolute path of the `.ova` or `.ovf` file.
    pub path: PathBuf,
    /// Path relative to the catalog root, `/`-separated (the basis of derived IDs).
    pub relative: String,
    /// Storage form.
    pub kind: PackageKind,
}

/// A NIC (`Item` of resource type 10).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OvaNic {
    /// `ElementName`.
    #[serde(rename = "name")]
    pub name: String,
    /// MAC address (`Address`), possibly empty.
    #[serde(rename = "mac")]
    pub mac: String,
    /// Network name (`Connection`).
    #[serde(rename = "Network")]
    pub network: String,
    /// Adapter model (`ResourceSubType`, e.g. `VmxNet3`).
    #[serde(rename = "Model", default)]
    pub model: String,
}

/// A disk of a VM, paired with its file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OvaDisk {
    /// Stable ID (see [`ids`]).
    #[serde(rename = "ID")]
    pub id: String,
    /// The file name inside the package (`href`).
    pub name: String,
    /// For an `.ova`, the archive path; for an `.ovf`, its directory with a trailing slash.
    pub file_path: String,
    /// `capacity` as written.
    pub capacity: String,
    /// `capacityAllocationUnits`.
    pub capacity_allocation_units: String,
    /// Capacity in bytes, when `capacity` and its units are valid.
    pub capacity_bytes: Option<u64>,
    /// `diskId`.
    pub disk_id: String,
    /// `fileRef`.
    pub file_ref: String,
    /// `format`.
    pub format: String,
    /// `populatedSize`, when given.
    pub populated_size: Option<u64>,
    /// Bus of the controller the VM attaches the disk to (`scsi`, `ide`, `sata`, `nvme`),
    /// empty when the hardware section does not say.
    pub controller: String,
}

/// A network of the envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OvaNetwork {
    /// Stable ID (see [`ids`]).
    #[serde(rename = "ID")]
    pub id: String,
    /// `ovf:name`.
    pub name: String,
    /// `Description`.
    pub description: String,
}

/// A hardware device other than CPU, memory and NICs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OvaDevice {
    /// `ElementName` without trailing digits ("Hard Disk 1" is "Hard Disk"), else
    /// `Description`, else `Unknown`.
    pub kind: String,
}

/// A VM (one `VirtualSystem`), with upstream's JSON field names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OvaVm {
    /// Stable ID (see [`ids`]).
    #[serde(rename = "UUID")]
    pub id: String,
    /// `VirtualSystem/Name`.
    pub name: String,
    /// The `.ova` or `.ovf` file.
    pub ovf_path: String,
    /// Path of the package relative to the catalog root.
    pub package: String,
    /// Storage form of the package.
    #[serde(skip)]
    pub package_kind: Option<PackageKind>,
    /// `VMware`, `Xen`, `VirtualBox`, `oVirt` or `Unknown`.
    pub export_source: String,
    /// `osType` (e.g. `rhel9_64Guest`).
    pub os_type: String,
    /// `firmware` from `vmw:Config` (`efi`, `bios`), possibly empty.
    pub firmware: String,
    /// Secure boot (`bootOptions.efiSecureBootEnabled` or `uefi.secureBoot.enabled`).
    pub secure_boot: bool,
    /// Virtual CPUs.
    pub cpu_count: u64,
    /// Cores per socket: 0 when absent, 1 when unparsable (as upstream).
    pub cores_per_socket: u64,
    /// CPU `AllocationUnits`.
    pub cpu_units: String,
    /// Memory `VirtualQuantity`, in [`OvaVm::memory_units`].
    #[serde(rename = "MemoryMB")]
    pub memory_mb: u64,
    /// Memory `AllocationUnits`.
    pub memory_units: String,
    /// Memory in bytes, when the units are valid.
    pub memory_bytes: Option<u64>,
    /// `cpuHotAddEnabled`.
    pub cpu_hot_add_enabled: bool,
    /// `cpuHotRemoveEnabled`.
    pub cpu_hot_remove_enabled: bool,
    /// `memoryHotAddEnabled`.
    pub memory_hot_add_enabled: bool,
    /// CPUs the VM is pinned to (`sched.cpu.affinity`), empty when not pinned.
    pub cpu_affinity: Vec<u32>,
    /// `VirtualSystemType` (e.g. `vmx-19`).
    pub virtual_system_type: String,
    /// NICs in order.
    #[serde(rename = "NICs")]
    pub nics: Vec<OvaNic>,
    /// Disks in order.
    pub disks: Vec<OvaDisk>,
    /// Networks of the envelope.
    pub networks: Vec<OvaNetwork>,
    /// Other devices.
    pub devices: Vec<OvaDevice>,
}

fn device_kind(element_name: &str, description: &str) -> String {
    let trimmed = element_name.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_whitespace());
    if !trimmed.is_empty() {
        trimmed.to_owned()
    } else if !description.is_empty() {
        description.to_owned()
    } else {
        "Unknown".to_owned()
    }
}

/// The bus of the controller holding the disk `disk_id` in `vs`: the disk item names the disk
/// in `HostResource` (`ovf:/disk/<diskId>`) and its controller in `Parent`.
fn controller_bus(vs: &VirtualSystem, disk_id: &str) -> String {
    let names_disk = |r: &String| r.rsplit('/').next() == Some(disk_id);
    let Some(disk_item) = vs
        .items
        .iter()
        .find(|i| i.host_resource.iter().any(names_disk))
    else {
        return String::new();
    };
    let Some(controller) = vs
        .items
        .iter()
        .find(|i| !disk_item.parent.is_empty() && i.instance_id == disk_item.parent)
    else {
        return String::new();
    };
    let subtype = controller.resource_sub_type.to_ascii_lowercase();
    match controller.resource_type {
        _ if subtype.contains("nvme") => "nvme",
        Some(5) => "ide",
        Some(6) => "scsi",
        Some(20) if subtype.contains("ahci") || subtype.contains("sata") => "sata",
        Some(20) => "sata",
        _ => "",
    }
    .to_owned()
}

fn cpu_affinity(vs: &VirtualSystem) -> Vec<u32> {
    let Some(value) = vs.config_value("sched.cpu.affinity") else {
        return Vec::new();
    };
    if value.trim().is_empty() || value.trim().eq_ignore_ascii_case("all") {
        return Vec::new();
    }
    value
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect()
}

/// Checks an OVF file reference: a relative path inside the package, not a URL.
pub fn check_href(package: &Path, href: &str) -> Result<()> {
    if href.contains("://") {
        return Err(Error::Unsafe {
            package: package.to_path_buf(),
            name: href.to_owned(),
            reason: "remote file references are not supported",
        });
    }
    if let Some(reason) = unsafe_path_reason(href) {
        return Err(Error::Unsafe {
            package: package.to_path_buf(),
            name: href.to_owned(),
            reason,
        });
    }
    Ok(())
}

/// The VMs of `envelope`, read from `package`.
///
/// As upstream, every disk and network of the envelope belongs to every `VirtualSystem` of
/// it. Disks are paired with their file through `fileRef` (upstream pairs by position).
pub fn virtual_machines(envelope: &Envelope, package: &Package) -> Result<Vec<OvaVm>> {
    let descriptor = package.path.display().to_string();
    let file_path = match package.kind {
        PackageKind::Ova => descriptor.clone(),
        PackageKind::Ovf => {
            let dir = package
                .path
                .parent()
                .unwrap_or(Path::new("/"))
                .display()
                .to_string();
            if dir.ends_with('/') {
                dir
            } else {
                format!("{dir}/")
            }
        }
    };
    let mut disks = Vec::with_capacity(envelope.disks.len());
    for disk in &envelope.disks {
        let file = envelope.file_of(disk).ok_or_else(|| Error::Ovf {
            file: descriptor.clone(),
            reason: format!(
                "disk {:?} refers to file id {:?}, which References does not list",
                disk.disk_id, disk.file_ref
            ),
        })?;
        check_href(&package.path, &file.href)?;
        let capacity_bytes = disk
            .capacity
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|c| units::to_bytes(c, &disk.capacity_allocation_units).ok());
        disks.push(OvaDisk {
            id: ids::disk_id(&package.relative, &file.href),
            name: file.href.clone(),
            file_path: file_path.clone(),
            capacity: disk.capacity.clone(),
            capacity_allocation_units: disk.capacity_allocation_units.clone(),
            capacity_bytes,
            disk_id: disk.disk_id.clone(),
            file_ref: disk.file_ref.clone(),
            format: disk.format.clone(),
            populated_size: disk.populated_size,
            controller: String::new(),
        });
    }
    let networks: Vec<OvaNetwork> = envelope
        .networks
        .iter()
        .map(|n| OvaNetwork {
            id: ids::network_id(&n.name),
            name: n.name.clone(),
            description: n.description.clone(),
        })
        .collect();
    let export_source: ExportSource = envelope.export_source();
    let mut vms = Vec::with_capacity(envelope.virtual_systems.len());
    for (index, vs) in envelope.virtual_systems.iter().enumerate() {
        let mut vm = OvaVm {
            id: ids::vm_id(&package.relative, index, &vs.id),
            name: vs.name.clone(),
            ovf_path: descriptor.clone(),
            package: package.relative.clone(),
            package_kind: Some(package.kind),
            export_source: export_source.as_str().to_owned(),
            os_type: vs.os_type.clone(),
            virtual_system_type: vs.virtual_system_type.clone(),
            disks: disks
                .iter()
                .map(|d| OvaDisk {
                    controller: controller_bus(vs, &d.disk_id),
                    ..d.clone()
                })
                .collect(),
            networks: networks.clone(),
            cpu_affinity: cpu_affinity(vs),
            ..OvaVm::default()
        };
        for item in &vs.items {
            match item.resource_type {
                Some(RESOURCE_CPU) => {
                    vm.cpu_count = item.virtual_quantity.unwrap_or_default();
                    vm.cpu_units = item.allocation_units.clone();
                    vm.cores_per_socket = match &item.cores_per_socket {
                        None => 0,
                        Some(c) => c.trim().parse().unwrap_or(1),
                    };
                }
                Some(RESOURCE_MEMORY) => {
                    vm.memory_mb = item.virtual_quantity.unwrap_or_default();
                    vm.memory_units = item.allocation_units.clone();
                    vm.memory_bytes = units::to_bytes(vm.memory_mb, &vm.memory_units).ok();
                }
                Some(RESOURCE_ETHERNET) => vm.nics.push(OvaNic {
                    name: item.element_name.clone(),
                    mac: item.address.clone(),
                    network: item.connection.first().cloned().unwrap_or_default(),
                    model: item.resource_sub_type.clone(),
                }),
                _ => vm.devices.push(OvaDevice {
                    kind: device_kind(&item.element_name, &item.description),
                }),
            }
        }
        for entry in vs.config.iter().chain(&vs.extra_config) {
            match entry.key.as_str() {
                "firmware" => vm.firmware = entry.value.clone(),
                "bootOptions.efiSecureBootEnabled" | "uefi.secureBoot.enabled" => {
                    vm.secure_boot = parse_go_bool(&entry.value).unwrap_or(vm.secure_boot)
                }
                "memoryHotAddEnabled" => {
                    vm.memory_hot_add_enabled = parse_go_bool(&entry.value).unwrap_or(false)
                }
                "cpuHotAddEnabled" => {
                    vm.cpu_hot_add_enabled = parse_go_bool(&entry.value).unwrap_or(false)
                }
                "cpuHotRemoveEnabled" => {
                    vm.cpu_hot_remove_enabled = parse_go_bool(&entry.value).unwrap_or(false)
                }
                _ => {}
            }
        }
        vms.push(vm);
    }
    Ok(vms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_kinds_follow_upstream() {
        assert_eq!(device_kind("Hard Disk 1", ""), "Hard Disk");
        assert_eq!(device_kind("12", "SCSI Controller"), "SCSI Controller");
        assert_eq!(device_kind("", ""), "Unknown");
    }
}
