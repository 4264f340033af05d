//! The KubeVirt / CDI / core objects `render` produces, typed, serializing to kubectl-ready
//! JSON or YAML (camelCase, empty fields omitted).
//!
//! Only the fields forklift sets are modelled; every one exists in KubeVirt's OpenAPI
//! document (a test validates rendered objects against it).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An empty object (`{}`), for KubeVirt's marker types (`pod: {}`, `masquerade: {}`, `bios: {}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Object metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Name (empty when `generate_name` is used).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Name prefix for server-side generation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub generate_name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A `kubevirt.io/v1` VirtualMachine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachine {
    /// Always `kubevirt.io/v1`.
    pub api_version: String,
    /// Always `VirtualMachine`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: VirtualMachineSpec,
}

/// `VirtualMachine.spec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachineSpec {
    /// `Always`, `Halted`, ...
    pub run_strategy: String,
    /// Instance type reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instancetype: Option<Matcher>,
    /// Preference reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preference: Option<Matcher>,
    /// The VMI template.
    pub template: VmiTemplate,
}

/// An instance type or preference reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    /// Name.
    pub name: String,
    /// `VirtualMachineInstancetype`, `VirtualMachineClusterInstancetype`,
    /// `VirtualMachinePreference` or `VirtualMachineClusterPreference`.
    pub kind: String,
}

/// `spec.template`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmiTemplate {
    /// Template metadata (labels reach the VMI and its pod).
    pub metadata: ObjectMeta,
    /// VMI spec.
    pub spec: VmiSpec,
}

/// `spec.template.spec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmiSpec {
    /// The domain.
    pub domain: DomainSpec,
    /// Networks, one per interface.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<Network>,
    /// Volumes, one per disk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// Node selector.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Affinity (the plan's `targetAffinity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<crate::resources::Affinity>,
}

/// `domain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainSpec {
    /// CPU topology (absent with an instance type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    /// Guest memory (absent with an instance type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// Firmware.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<Firmware>,
    /// Features (SMM for secure boot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Features>,
    /// Clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<Clock>,
    /// Devices.
    pub devices: Devices,
}

/// CPU topology and model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    /// Sockets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<u32>,
    /// Cores per socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    /// Threads per core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// CPU model (`host-model`, a named model).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// Features with policies (`require`, `disable`, `optional`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<CpuFeature>,
    /// Dedicated CPU placement (pinning).
    #[serde(default, skip_serializing_if = "is_false")]
    pub dedicated_cpu_placement: bool,
}

/// A CPU feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuFeature {
    /// Feature name (`vmx`).
    pub name: String,
    /// Policy; empty = KubeVirt's default (`require`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy: String,
}

/// Guest memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    /// Quantity (`4Gi`).
    pub guest: String,
}

/// Firmware.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Firmware {
    /// BIOS or EFI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootloader: Option<Bootloader>,
    /// SMBIOS system serial number.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub serial: String,
    /// SMBIOS UUID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uuid: String,
}

/// Bootloader: exactly one of BIOS or EFI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bootloader {
    /// Legacy BIOS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bios: Option<Empty>,
    /// UEFI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efi: Option<Efi>,
}

/// UEFI settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Efi {
    /// Secure boot (KubeVirt defaults it to true, so it is always written).
    pub secure_boot: bool,
}

/// Domain features.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    /// System management mode (required by secure boot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smm: Option<FeatureState>,
}

/// An enabled/disabled feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureState {
    /// Enabled.
    pub enabled: bool,
}

/// Clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Clock {
    /// Guest timezone.
    pub timezone: String,
}

/// Devices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Devices {
    /// Disks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<Disk>,
    /// Network interfaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<Interface>,
    /// Input devices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    /// TPM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<Tpm>,
}

/// A disk device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    /// Name, matching a volume.
    pub name: String,
    /// A plain disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskTarget>,
    /// A LUN (RDM as LUN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lun: Option<LunTarget>,
    /// Serial number.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub serial: String,
    /// Boot order (1 = first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_order: Option<u32>,
    /// Shared between VMs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shareable: Option<bool>,
    /// Cache mode (`none` for shared disks).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cache: String,
    /// Error policy (`report` for shared RDM LUNs).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error_policy: String,
}

/// A disk's bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskTarget {
    /// `virtio`, `sata`, `scsi`.
    pub bus: String,
}

/// A LUN's bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LunTarget {
    /// `scsi`.
    pub bus: String,
    /// SCSI persistent reservation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reservation: bool,
}

/// A network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interface {
    /// Name, matching a network.
    pub name: String,
    /// `virtio` or `e1000e`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// MAC address preserved from the source.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    /// Pod network masquerade binding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masquerade: Option<Empty>,
    /// Bridge binding (Multus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<Empty>,
    /// SR-IOV binding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sriov: Option<Empty>,
    /// Network binding plugin (`l2bridge` on UDN namespaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<PluginBinding>,
    /// `down` when the source NIC was not connected at power-on.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
}

/// A network binding plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginBinding {
    /// Plugin name.
    pub name: String,
}

/// A network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    /// Name, matching an interface.
    pub name: String,
    /// The pod network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<Empty>,
    /// A Multus network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multus: Option<MultusNetwork>,
}

/// A Multus network reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultusNetwork {
    /// `<namespace>/<name>` of the NetworkAttachmentDefinition.
    pub network_name: String,
}

/// A volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// Name, matching a disk.
    pub name: String,
    /// The PVC holding the disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<ClaimRef>,
}

/// A PVC reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRef {
    /// PVC name.
    pub claim_name: String,
}

/// An input device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// Name.
    pub name: String,
    /// `tablet`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `virtio` or `usb`.
    pub bus: String,
}

/// TPM device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tpm {
    /// Explicitly disabled when the source had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Persistent TPM state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent: Option<bool>,
}

/// A `cdi.kubevirt.io/v1beta1` DataVolume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVolume {
    /// Always `cdi.kubevirt.io/v1beta1`.
    pub api_version: String,
    /// Always `DataVolume`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: DataVolumeSpec,
}

/// `DataVolume.spec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVolumeSpec {
    /// Where the data comes from.
    pub source: DataVolumeSource,
    /// Storage request (CDI storage API: StorageProfile fills unset modes).
    pub storage: StorageSpec,
}

/// DataVolume sources forklift uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVolumeSource {
    /// An empty disk that virt-v2v fills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blank: Option<Empty>,
    /// VMware VDDK import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vddk: Option<VddkSource>,
    /// oVirt imageio import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imageio: Option<ImageioSource>,
    /// Clone of a PVC (KubeVirt source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc: Option<PvcSource>,
}

/// VDDK import source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VddkSource {
    /// vCenter/ESXi SDK URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// VM UUID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uuid: String,
    /// Disk backing file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub backing_file: String,
    /// Certificate thumbprint.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thumbprint: String,
    /// Credentials secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret_ref: String,
    /// VDDK init image.
    #[serde(
        default,
        rename = "initImageURL",
        skip_serializing_if = "String::is_empty"
    )]
    pub init_image_url: String,
}

/// imageio import source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageioSource {
    /// oVirt engine API URL.
    pub url: String,
    /// Disk ID.
    pub disk_id: String,
    /// Credentials secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret_ref: String,
    /// CA config map.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_config_map: String,
}

/// PVC clone source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PvcSource {
    /// Source namespace.
    pub namespace: String,
    /// Source PVC name.
    pub name: String,
}

/// Storage request of a DataVolume (`spec.storage`) or PVC spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Access modes; empty lets the StorageProfile decide (DataVolumes only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    /// Volume mode; empty lets the StorageProfile decide (DataVolumes only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub volume_mode: String,
    /// Storage class.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_class_name: String,
    /// `requests.storage`.
    pub resources: Resources,
    /// Populator reference (oVirt/OpenStack populator PVCs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source_ref: Option<DataSourceRef>,
}

/// Resource requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    /// `storage` → quantity.
    pub requests: BTreeMap<String, String>,
}

/// A typed object reference for volume populators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSourceRef {
    /// `forklift.konveyor.io`.
    pub api_group: String,
    /// `OvirtVolumePopulator` or `OpenstackVolumePopulator`.
    pub kind: String,
    /// Populator CR name.
    pub name: String,
}

/// A core/v1 PersistentVolumeClaim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaim {
    /// Always `v1`.
    pub api_version: String,
    /// Always `PersistentVolumeClaim`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: StorageSpec,
}
