//! Virtual machines as every provider reports them.

use super::ext::VmExt;
use serde::{Deserialize, Serialize};

/// A source virtual machine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Vm {
    /// Provider ID (vSphere MoRef such as `vm-42`, oVirt/OpenStack UUID, OVA derived ID, KubeVirt UID).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Inventory path, e.g. `/Datacenter/vm/folder/name`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Namespace of the VM (KubeVirt sources only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Power state.
    pub power_state: PowerState,
    /// ID of the host running the VM, when the provider has hosts.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// Number of virtual CPUs.
    pub cpu_count: u32,
    /// Cores per socket (0 when the provider does not say).
    pub cores_per_socket: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Firmware.
    pub firmware: Firmware,
    /// Secure Boot is enabled.
    pub secure_boot: bool,
    /// A virtual TPM is attached.
    pub tpm_enabled: bool,
    /// The guest uses Measured Boot (Windows), which blocks migration per the guide.
    pub measured_boot: bool,
    /// The guest is hibernated (suspended to disk inside the guest).
    pub hibernated: bool,
    /// Guest OS identifier (vSphere `guestId`, oVirt OS type, OVF `osType`, ...).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub guest_os: String,
    /// Guest tools (VMware Tools, guest agent, integration services) installation status.
    pub guest_tools: ToolsStatus,
    /// Guest tools are running, when the provider reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest_tools_running: Option<bool>,
    /// Changed block tracking is enabled on the VM.
    pub change_tracking_enabled: bool,
    /// Number of snapshots.
    pub snapshot_count: u32,
    /// The provider asks for a disk consolidation.
    pub consolidation_needed: bool,
    /// The VM is a template.
    pub template: bool,
    /// Disks, in provider order.
    pub disks: Vec<Disk>,
    /// Network interfaces.
    pub nics: Vec<Nic>,
    /// Guest networks reported by the guest tools: one entry per address.
    pub guest_networks: Vec<GuestNetwork>,
    /// CD-ROM / ISO drives.
    pub cdroms: Vec<CdRom>,
    /// Concerns raised by the inventory rules.
    pub concerns: Vec<Concern>,
    /// Provider-specific detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<VmExt>,
}

impl Vm {
    /// Whether the VM is powered on.
    pub fn is_powered_on(&self) -> bool {
        self.power_state == PowerState::On
    }

    /// Total provisioned disk capacity in bytes (negative capacities count as zero).
    pub fn total_disk_capacity(&self) -> u64 {
        self.disks.iter().map(|d| d.capacity.max(0) as u64).sum()
    }

    /// The vSphere extension, when the VM comes from vSphere.
    pub fn vsphere(&self) -> Option<&super::VsphereVmExt> {
        match &self.ext {
            Some(VmExt::Vsphere(ext)) => Some(ext),
            _ => None,
        }
    }

    /// The OVA extension, when the VM comes from an OVA/OVF appliance.
    pub fn ova(&self) -> Option<&super::OvaVmExt> {
        match &self.ext {
            Some(VmExt::Ova(ext)) => Some(ext),
            _ => None,
        }
    }

    /// The KubeVirt extension, when the VM comes from a KubeVirt cluster.
    pub fn kubevirt(&self) -> Option<&super::KubevirtVmExt> {
        match &self.ext {
            Some(VmExt::Kubevirt(ext)) => Some(ext),
            _ => None,
        }
    }

    /// The oVirt extension, when the VM comes from oVirt.
    pub fn ovirt(&self) -> Option<&super::OvirtVmExt> {
        match &self.ext {
            Some(VmExt::Ovirt(ext)) => Some(ext),
            _ => None,
        }
    }

    /// The OpenStack extension, when the VM comes from OpenStack.
    pub fn openstack(&self) -> Option<&super::OpenstackVmExt> {
        match &self.ext {
            Some(VmExt::Openstack(ext)) => Some(ext),
            _ => None,
        }
    }
}

/// Power state of a source VM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PowerState {
    /// Running.
    On,
    /// Stopped.
    Off,
    /// Suspended (paused with memory saved by the hypervisor).
    Suspended,
    /// Unknown or not reported.
    #[default]
    #[serde(other)]
    Unknown,
}

/// Firmware of a VM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Firmware {
    /// Legacy BIOS.
    Bios,
    /// UEFI (`efi`/`uefi` in provider terms).
    #[serde(alias = "uefi")]
    Efi,
    /// Not reported; detected during conversion.
    #[default]
    #[serde(other)]
    Unknown,
}

/// Guest tools installation status (vSphere `toolsStatus` and equivalents).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolsStatus {
    /// Installed and current (`toolsOk`).
    Ok,
    /// Installed but outdated (`toolsOld`).
    Old,
    /// Not installed (`toolsNotInstalled`).
    NotInstalled,
    /// Installed but not running (`toolsNotRunning`).
    NotRunning,
    /// Not reported.
    #[default]
    #[serde(other)]
    Unknown,
}

/// A virtual disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Disk {
    /// Provider disk ID where the provider has one (OVA disk ID, oVirt disk attachment,
    /// OpenStack volume ID, KubeVirt volume name).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// vSphere device key (e.g. 2000).
    pub key: i32,
    /// Backing file (`[datastore] dir/name.vmdk`), OVA href, or volume name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file: String,
    /// ID of the storage the disk lives on (datastore, storage domain, volume type, storage class,
    /// or the OVA disk's own storage entity). Empty for OpenStack image-booted root disks.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub storage: String,
    /// Capacity in bytes (upstream keeps a signed value; ≤ 0 is invalid).
    pub capacity: i64,
    /// The disk is shared with other VMs (multi-writer).
    pub shared: bool,
    /// Raw device mapping (vSphere) or direct LUN (oVirt).
    pub rdm: bool,
    /// RDM in physical compatibility mode.
    pub physical_mode: bool,
    /// Disk mode.
    pub mode: DiskMode,
    /// Bus of the controller the disk hangs on.
    pub bus: DiskBus,
    /// Disk serial (vSphere backing UUID).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub serial: String,
    /// Controller device key (vSphere), e.g. 1000.
    pub controller_key: i32,
    /// Unit number on the controller.
    pub unit_number: i32,
    /// Changed block tracking enabled on this disk.
    pub change_tracking_enabled: bool,
    /// The disk lives on a LUKS-encrypted device, when known.
    pub encrypted: bool,
}

/// Disk mode (vSphere terms, other providers report `persistent`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskMode {
    /// Normal disk, included in snapshots.
    #[default]
    Persistent,
    /// Changes discarded at power off.
    Nonpersistent,
    /// Independent disk, excluded from snapshots, persistent.
    IndependentPersistent,
    /// Independent disk, excluded from snapshots, discarded at power off.
    IndependentNonpersistent,
    /// Other legacy modes (`undoable`, `append`).
    #[serde(other)]
    Other,
}

impl DiskMode {
    /// Whether the disk is independent (excluded from snapshots).
    pub fn is_independent(self) -> bool {
        matches!(
            self,
            Self::IndependentPersistent | Self::IndependentNonpersistent
        )
    }
}

/// Bus of a disk's controller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiskBus {
    /// SCSI.
    #[default]
    Scsi,
    /// SATA.
    Sata,
    /// IDE.
    Ide,
    /// NVMe.
    Nvme,
    /// Virtio.
    Virtio,
    /// USB.
    Usb,
    /// Not reported.
    #[serde(other)]
    Unknown,
}

/// A network interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Nic {
    /// Device label (e.g. `Network adapter 1`) or OVF element name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// MAC address as the provider reports it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mac: String,
    /// The source network the NIC is attached to.
    pub network: NicNetwork,
    /// Device model (`vmxnet3`, `e1000e`, `virtio`, ...).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// Whether the NIC is connected.
    pub connected: bool,
}

/// The source network of a NIC, in the form the provider's map lookup uses: vSphere/oVirt/OpenStack
/// by ID, OVA by network name, KubeVirt by `pod` or `namespace/name` of the NAD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NicNetwork {
    /// Network ID.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Network name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// NAD namespace (KubeVirt multus networks).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The NIC is on the pod network (KubeVirt sources).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pod: bool,
}

/// One IP address reported by the guest on one interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GuestNetwork {
    /// Guest device name (e.g. `eth0`) when reported.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub device: String,
    /// MAC of the interface.
    pub mac: String,
    /// IP address (v4 or v6).
    pub ip: String,
    /// Prefix length.
    pub prefix_length: u8,
    /// Default gateway of the interface's family, when known.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    /// DNS servers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// Address origin (`manual`, `dhcp`, ...), when reported.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub origin: String,
}

/// A CD-ROM drive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CdRom {
    /// Device label.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Mounted ISO file or host device, empty when nothing is mounted.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub iso: String,
    /// The drive is connected.
    pub connected: bool,
}

impl CdRom {
    /// Whether media is still mounted (a prerequisite violation).
    pub fn is_mounted(&self) -> bool {
        self.connected || !self.iso.is_empty()
    }
}

/// A concern raised by the inventory's rules about one VM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Concern {
    /// Stable rule ID, e.g. `vmware.disk.capacity.invalid`.
    pub id: String,
    /// Severity.
    pub category: ConcernCategory,
    /// Short label.
    pub label: String,
    /// Longer assessment.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub assessment: String,
}

/// Concern severity; only `Critical` blocks a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConcernCategory {
    /// Blocks migration.
    Critical,
    /// May degrade the migrated VM.
    #[default]
    Warning,
    /// Informational.
    #[serde(alias = "Info")]
    Information,
    /// Advisory.
    Advisory,
}
