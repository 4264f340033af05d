//! Typed, provider-specific extensions of the neutral model.
//!
//! Each enum is externally tagged by provider in JSON, e.g. `"ext": {"vsphere": {...}}`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Provider-specific VM detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VmExt {
    /// VMware vSphere.
    Vsphere(VsphereVmExt),
    /// oVirt / RHV.
    Ovirt(OvirtVmExt),
    /// OpenStack.
    Openstack(OpenstackVmExt),
    /// OVA / OVF appliance.
    Ova(OvaVmExt),
    /// Hyper-V.
    Hyperv(HypervVmExt),
    /// KubeVirt (OpenShift Virtualization).
    Kubevirt(KubevirtVmExt),
}

/// vSphere VM detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VsphereVmExt {
    /// BIOS UUID.
    pub uuid: String,
    /// Instance UUID.
    pub instance_uuid: String,
    /// Guest full name reported by VMware Tools.
    pub guest_name: String,
    /// Guest host name.
    pub host_name: String,
    /// Raw `toolsRunningStatus` (`guestToolsRunning`, `guestToolsNotRunning`, ...).
    pub tools_running_status: String,
    /// Raw `toolsVersionStatus`.
    pub tools_version_status: String,
    /// MoRef of the current snapshot, empty when none.
    pub current_snapshot: String,
    /// CPU hot-add enabled.
    pub cpu_hot_add_enabled: bool,
    /// CPU hot-remove enabled.
    pub cpu_hot_remove_enabled: bool,
    /// Memory hot-add enabled.
    pub memory_hot_add_enabled: bool,
    /// CPU affinity set.
    pub cpu_affinity: Vec<i32>,
    /// NUMA node affinity.
    pub numa_node_affinity: Vec<String>,
    /// Fault tolerance enabled.
    pub fault_tolerance_enabled: bool,
    /// Nested hardware virtualization exposed to the guest.
    pub nested_hv_enabled: bool,
    /// A PCI passthrough device is attached.
    pub passthrough_supported: bool,
    /// An SR-IOV NIC is attached.
    pub sriov_supported: bool,
    /// A USB controller is attached.
    pub usb_supported: bool,
    /// Storage used by the VM (committed bytes).
    pub storage_used: u64,
    /// DRS is enabled on the VM's cluster.
    pub drs_enabled: bool,
    /// DPM is enabled on the VM's cluster.
    pub dpm_enabled: bool,
    /// HA is enabled on the VM's cluster.
    pub ha_enabled: bool,
    /// The VM has a VM-host affinity rule.
    pub host_affinity: bool,
    /// Guest filesystems reported by VMware Tools.
    pub guest_disks: Vec<GuestDisk>,
    /// vSphere tags (category → tags) for tag mapping.
    pub tags: BTreeMap<String, Vec<String>>,
    /// Custom attributes.
    pub custom_attributes: BTreeMap<String, String>,
}

/// A guest filesystem reported by the guest tools.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GuestDisk {
    /// Key of the virtual disk backing the filesystem (0 when unknown).
    pub key: i32,
    /// Mount point or drive (`/`, `/boot`, `C:\\`).
    pub disk_path: String,
    /// Capacity in bytes.
    pub capacity: u64,
    /// Free space in bytes.
    pub free_space: u64,
    /// Filesystem type (`xfs`, `ext4`, `btrfs`, `NTFS`).
    pub filesystem_type: String,
}

/// oVirt VM detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OvirtVmExt {
    /// Cluster ID.
    pub cluster: String,
    /// Custom CPU model.
    pub cpu_model: String,
    /// Cluster CPU model (for `preserveClusterCpuModel`).
    pub cluster_cpu_model: String,
    /// HA enabled.
    pub ha_enabled: bool,
    /// Placement policy affinity.
    pub placement_policy_affinity: String,
    /// Bios type as oVirt reports it (`q35_ovmf`, `i440fx_sea_bios`, ...).
    pub bios_type: String,
    /// Disk attachment IDs of direct-LUN disks.
    pub lun_disks: Vec<String>,
}

/// OpenStack VM detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OpenstackVmExt {
    /// Project (tenant) ID.
    pub project_id: String,
    /// Flavor ID.
    pub flavor_id: String,
    /// Image the VM was booted from; empty for volume-booted VMs.
    pub image_id: String,
    /// Volume IDs attached.
    pub volumes: Vec<String>,
}

impl OpenstackVmExt {
    /// Whether the VM was booted from an image (its root disk maps through `glance`).
    pub fn image_booted(&self) -> bool {
        !self.image_id.is_empty()
    }
}

/// OVA / OVF appliance VM detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OvaVmExt {
    /// Path of the `.ova` file or `.ovf` descriptor on the share.
    pub ovf_path: String,
    /// Guessed exporter: `VMware`, `VirtualBox`, `Xen`, `oVirt` or `Unknown`.
    pub export_source: String,
    /// OVF `osType` attribute.
    pub os_type: String,
    /// OVF allocation units of the CPU item.
    pub cpu_units: String,
    /// OVF allocation units of the memory item (e.g. `byte * 2^20`).
    pub memory_units: String,
    /// CPU hot-add enabled.
    pub cpu_hot_add_enabled: bool,
    /// CPU hot-remove enabled.
    pub cpu_hot_remove_enabled: bool,
    /// Memory hot-add enabled.
    pub memory_hot_add_enabled: bool,
    /// CPU affinity set.
    pub cpu_affinity: Vec<i32>,
    /// Kinds of other virtual hardware items (e.g. `Hard Disk`, `USB Controller`).
    pub devices: Vec<String>,
}

/// Hyper-V VM detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HypervVmExt {
    /// Generation (1 = BIOS, 2 = UEFI).
    pub generation: u8,
    /// SMB paths of the disks, by disk ID.
    pub smb_paths: BTreeMap<String, String>,
    /// Number of checkpoints.
    pub checkpoints: u32,
}

/// KubeVirt VM detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KubevirtVmExt {
    /// A VirtualMachineInstance exists (the VM runs).
    pub instance_running: bool,
    /// The VM's `StorageLiveMigratable` condition is True.
    pub storage_live_migratable: bool,
    /// Instance type name, when the VM uses one.
    pub instance_type: String,
    /// Preference name, when the VM uses one.
    pub preference: String,
    /// Volumes with their PVC / DataVolume and storage class.
    pub volumes: Vec<KubevirtVolume>,
}

/// A KubeVirt VM volume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KubevirtVolume {
    /// Volume name.
    pub name: String,
    /// PVC or DataVolume name.
    pub claim: String,
    /// Storage class of the claim; empty when the claim has none.
    pub storage_class: String,
}

/// Provider-specific storage detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StorageExt {
    /// vSphere datastore.
    Vsphere(VsphereDatastoreExt),
}

/// vSphere datastore detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VsphereDatastoreExt {
    /// Datastore type.
    #[serde(rename = "type")]
    pub datastore_type: DatastoreType,
    /// NAS remote host (NFS datastores).
    pub remote_host: String,
    /// NAS remote path (NFS datastores).
    pub remote_path: String,
    /// Backing device names (VMFS extents), used by copy offload.
    pub backing_devices: Vec<String>,
    /// In maintenance mode.
    pub maintenance: bool,
}

/// vSphere datastore type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatastoreType {
    /// VMFS.
    #[default]
    Vmfs,
    /// NFS v3.
    Nfs,
    /// NFS v4.1.
    Nfs41,
    /// vSAN (needs VDDK).
    Vsan,
    /// Virtual volumes.
    Vvol,
    /// Anything else.
    #[serde(other)]
    Other,
}

/// Provider-specific network detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NetworkExt {
    /// vSphere network detail.
    Vsphere {
        /// Distributed switch ID for DV port groups.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        dv_switch: String,
        /// Port group key.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        key: String,
    },
    /// KubeVirt NAD detail.
    Kubevirt {
        /// CNI config JSON of the NAD.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        config: String,
    },
}

/// Provider-specific host detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HostExt {
    /// vSphere ESXi host.
    Vsphere(VsphereHostExt),
}

/// vSphere ESXi host detail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VsphereHostExt {
    /// The parent is a standalone `ComputeResource` rather than a cluster.
    pub standalone: bool,
    /// Datastore IDs the host sees.
    pub datastores: Vec<String>,
    /// Network adapters' IP addresses (for transfer network selection).
    pub network_adapters: Vec<String>,
    /// The ESXi host is reachable over SSH for copy offload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh_ready: Option<bool>,
}

/// Provider-level detail of a source inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProviderExt {
    /// vSphere: API version and endpoint.
    Vsphere {
        /// vCenter/ESXi API version, e.g. `8.0.2`.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        api_version: String,
    },
    /// oVirt: engine version.
    Ovirt {
        /// Engine version `major.minor.build.revision`, e.g. `4.5.2.1`.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        engine_version: String,
    },
    /// OVA: the packages of the catalog that were passed over.
    Ova {
        /// Every file or folder the scan passed over or could not load, with why, so a
        /// catalog that yields fewer VMs than expected says which packages are missing.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skipped: Vec<OvaSkippedPackage>,
    },
    /// KubeVirt: cluster facts needed by live migration checks.
    Kubevirt {
        /// KubeVirt feature gates of the source cluster.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        feature_gates: Vec<String>,
        /// Kubernetes version, e.g. `1.31.2`.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        kubernetes_version: String,
    },
}

/// A file or folder of an OVA catalog that a scan passed over, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OvaSkippedPackage {
    /// Path relative to the catalog root, `/`-separated. Chosen by whoever wrote the
    /// catalog: print it through `PeerText`.
    pub path: String,
    /// Why, as a kind.
    pub reason: OvaSkipReason,
    /// Why, in words (the error, naming the file and member); empty when the kind says it
    /// all. Holds package-supplied names: print it through `PeerText`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// For a file modified too recently: seconds from the scan until it has been unchanged
    /// for the settle time, when a scan picks it up (unless it is written to again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// Why an OVA catalog entry was passed over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OvaSkipReason {
    /// Modified within the settle time: probably still being copied.
    RecentlyModified,
    /// Zero bytes long.
    Empty,
    /// A symbolic link (never followed).
    Link,
    /// A FIFO, device, socket or other file that is not a regular file.
    NotRegularFile,
    /// A folder holding more than one `.ovf` descriptor.
    SeveralOvf,
    /// A file or folder that could not be read.
    Unreadable,
    /// A package that would reach outside itself or is ambiguous: an escaping or linked
    /// name, a special or duplicate member, a disk file that is a link or not a regular file.
    Unsafe,
    /// A package that is malformed, incomplete or unsupported.
    Invalid,
    /// A reason this reader does not know.
    #[default]
    #[serde(other)]
    Unknown,
}

impl OvaSkipReason {
    /// The reason in words, for listings.
    pub fn describe(self) -> &'static str {
        match self {
            OvaSkipReason::RecentlyModified => "modified too recently (still being copied?)",
            OvaSkipReason::Empty => "empty",
            OvaSkipReason::Link => "a symbolic link",
            OvaSkipReason::NotRegularFile => "not a regular file",
            OvaSkipReason::SeveralOvf => "a folder with more than one .ovf",
            OvaSkipReason::Unreadable => "unreadable",
            OvaSkipReason::Unsafe => "unsafe",
            OvaSkipReason::Invalid => "invalid",
            OvaSkipReason::Unknown => "skipped",
        }
    }
}
