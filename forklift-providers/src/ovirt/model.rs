//! The oVirt API v4 JSON shapes this client reads. The engine writes most scalars as
//! strings (`"true"`, `"2"`) and sizes as numbers; [`num`] and [`flag`] accept both.
//! Collections nest their items under the singular name (`{"vm": [...]}`, followed links as
//! `"nics": {"nic": [...]}`); absent fields default.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A number written as a JSON number or a decimal string; anything else reads as 0.
pub fn num<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
            .unwrap_or(0),
        Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    })
}

/// A boolean written as `true` or `"true"`; anything else reads as false.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

/// A link to another object (`{"id": …, "href": …}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Ref {
    /// Object ID.
    pub id: String,
    /// Object href.
    pub href: String,
}

/// A followed sub-collection: `{"<singular>": [...]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct List<T> {
    /// The items, whatever the singular key is called.
    #[serde(alias = "disk_attachment", alias = "nic", alias = "reported_device")]
    #[serde(alias = "snapshot", alias = "storage_domain", alias = "logical_unit")]
    #[serde(alias = "ip", alias = "custom_property", alias = "system_option_value")]
    #[serde(alias = "disk")]
    pub items: Vec<T>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        Self { items: Vec::new() }
    }
}

/// The API root: `product_info.version`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ApiRoot {
    /// Product information.
    pub product_info: ProductInfo,
}

/// `product_info` of the API root.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProductInfo {
    /// Product name.
    pub name: String,
    /// Engine version.
    pub version: Version,
}

/// An engine or host version.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Version {
    /// Major.
    #[serde(deserialize_with = "num")]
    pub major: i64,
    /// Minor.
    #[serde(deserialize_with = "num")]
    pub minor: i64,
    /// Build.
    #[serde(deserialize_with = "num")]
    pub build: i64,
    /// Revision.
    #[serde(deserialize_with = "num")]
    pub revision: i64,
    /// Full version text.
    pub full_version: String,
}

impl Version {
    /// `major.minor.build.revision`.
    pub fn dotted(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.major, self.minor, self.build, self.revision
        )
    }
}

/// A data center.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DataCenter {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A cluster.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Cluster {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Its data center.
    pub data_center: Ref,
    /// CPU type of the cluster.
    pub cpu: ClusterCpu,
    /// Default BIOS type of the cluster's VMs (`q35_ovmf`...).
    pub bios_type: String,
    /// Compatibility version.
    pub version: Version,
}

/// `cpu` of a cluster.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ClusterCpu {
    /// CPU type name, e.g. `Secure Intel Cascadelake Server Family`.
    #[serde(rename = "type")]
    pub type_: String,
}

/// A host.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Host {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Status (`up`, `maintenance`...).
    pub status: String,
    /// Its cluster.
    pub cluster: Ref,
    /// Its VDSM version.
    pub version: Version,
}

/// A VM, with the links the inventory follows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Vm {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Status (`up`, `down`, `powering_up`...).
    pub status: String,
    /// Host running the VM.
    pub host: Ref,
    /// Its cluster.
    pub cluster: Ref,
    /// CPU topology.
    pub cpu: VmCpu,
    /// Memory in bytes.
    #[serde(deserialize_with = "num")]
    pub memory: i64,
    /// BIOS.
    pub bios: Bios,
    /// Operating system.
    pub os: Os,
    /// Custom CPU model.
    pub custom_cpu_model: String,
    /// High availability.
    pub high_availability: Enabled,
    /// Placement policy.
    pub placement_policy: PlacementPolicy,
    /// Custom properties.
    pub custom_properties: List<CustomProperty>,
    /// Disk attachments (followed, with their disks).
    pub disk_attachments: List<DiskAttachment>,
    /// NICs (followed).
    pub nics: List<Nic>,
    /// Devices the guest agent reports (followed).
    pub reported_devices: List<ReportedDevice>,
    /// Snapshots (followed), including the `active` one.
    pub snapshots: List<Snapshot>,
}

/// `cpu` of a VM.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VmCpu {
    /// Topology.
    pub topology: Topology,
}

/// A CPU topology.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Topology {
    /// Sockets.
    #[serde(deserialize_with = "num")]
    pub sockets: i64,
    /// Cores per socket.
    #[serde(deserialize_with = "num")]
    pub cores: i64,
    /// Threads per core.
    #[serde(deserialize_with = "num")]
    pub threads: i64,
}

/// `bios` of a VM.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Bios {
    /// BIOS type (`cluster_default`, `q35_ovmf`, `q35_secure_boot`, `i440fx_sea_bios`...).
    #[serde(rename = "type")]
    pub type_: String,
}

/// `os` of a VM.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Os {
    /// OS type, e.g. `rhel_9x64`.
    #[serde(rename = "type")]
    pub type_: String,
}

/// `{"enabled": …}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Enabled {
    /// Enabled.
    #[serde(deserialize_with = "flag")]
    pub enabled: bool,
}

/// `placement_policy` of a VM.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PlacementPolicy {
    /// `migratable`, `user_migratable`, `pinned`.
    pub affinity: String,
}

/// A custom property.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CustomProperty {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// A disk attachment of a VM (its ID is the disk's ID).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DiskAttachment {
    /// ID.
    pub id: String,
    /// Bootable.
    #[serde(deserialize_with = "flag")]
    pub bootable: bool,
    /// Interface (`virtio`, `virtio_scsi`, `sata`, `ide`).
    pub interface: String,
    /// Active (plugged).
    #[serde(deserialize_with = "flag")]
    pub active: bool,
    /// The disk (followed).
    pub disk: Disk,
}

/// A disk.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Disk {
    /// ID.
    pub id: String,
    /// Alias.
    pub alias: String,
    /// Name.
    pub name: String,
    /// `cow` or `raw`.
    pub format: String,
    /// Thin provisioned.
    #[serde(deserialize_with = "flag")]
    pub sparse: bool,
    /// Shared between VMs.
    #[serde(deserialize_with = "flag")]
    pub shareable: bool,
    /// Virtual size in bytes.
    #[serde(deserialize_with = "num")]
    pub provisioned_size: i64,
    /// Allocated size in bytes.
    #[serde(deserialize_with = "num")]
    pub actual_size: i64,
    /// `image`, `lun`, `cinder`, `managed_block_storage`.
    pub storage_type: String,
    /// Status (`ok`, `locked`, `illegal`).
    pub status: String,
    /// Storage domains holding the disk.
    pub storage_domains: List<Ref>,
    /// Direct LUN storage.
    pub lun_storage: LunStorage,
    /// Incremental backup mode (`incremental` or `none`): warm migration needs
    /// `incremental` (and the `cow` format).
    pub backup: String,
}

/// `lun_storage` of a direct LUN disk.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LunStorage {
    /// Storage type (`iscsi`, `fcp`).
    #[serde(rename = "type")]
    pub type_: String,
    /// Logical units.
    pub logical_units: List<LogicalUnit>,
}

/// A logical unit of a LUN disk.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LogicalUnit {
    /// LUN ID.
    pub id: String,
    /// Size in bytes.
    #[serde(deserialize_with = "num")]
    pub size: i64,
}

/// A NIC of a VM.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Nic {
    /// ID.
    pub id: String,
    /// Name (`nic1`).
    pub name: String,
    /// Model (`virtio`, `e1000`, `e1000e`, `rtl8139`, `pci_passthrough`).
    pub interface: String,
    /// MAC.
    pub mac: Mac,
    /// Plugged.
    #[serde(deserialize_with = "flag")]
    pub plugged: bool,
    /// Link up.
    #[serde(deserialize_with = "flag")]
    pub linked: bool,
    /// vNIC profile.
    pub vnic_profile: Ref,
}

/// `{"address": "56:6f:…"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Mac {
    /// The MAC address.
    pub address: String,
}

/// A device the guest agent reports.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReportedDevice {
    /// Guest device name.
    pub name: String,
    /// MAC.
    pub mac: Mac,
    /// IP addresses.
    pub ips: List<Ip>,
}

/// An IP address reported by the guest.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Ip {
    /// Address.
    pub address: String,
    /// `v4` or `v6`.
    pub version: String,
    /// Gateway.
    pub gateway: String,
    /// Netmask (v4 dotted, or a prefix length).
    pub netmask: String,
}

/// A snapshot of a VM.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    /// ID.
    pub id: String,
    /// `active`, `regular`, `preview`, `stateless`.
    pub snapshot_type: String,
    /// `ok`, `locked` (being created or removed), `in_preview`.
    pub snapshot_status: String,
    /// Description.
    pub description: String,
}

/// A storage domain.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StorageDomain {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// `data`, `iso`, `export`, `image`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Free bytes.
    #[serde(deserialize_with = "num")]
    pub available: i64,
    /// Used bytes.
    #[serde(deserialize_with = "num")]
    pub used: i64,
}

/// A logical network.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Network {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Its data center.
    pub data_center: Ref,
    /// VLAN.
    pub vlan: Vlan,
}

/// `vlan` of a network.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Vlan {
    /// VLAN ID (0 when none).
    #[serde(deserialize_with = "num")]
    pub id: i64,
}

/// A vNIC profile.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VnicProfile {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// The network.
    pub network: Ref,
    /// Pass-through (SR-IOV).
    pub pass_through: PassThrough,
}

/// `pass_through` of a vNIC profile.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PassThrough {
    /// `enabled` or `disabled`.
    pub mode: String,
}

/// An image transfer. Its URLs end with the imageio ticket, a bearer credential: `Debug`
/// shows them up to the host only.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct ImageTransfer {
    /// ID.
    pub id: String,
    /// Phase (`initializing`, `transferring`, `finished_success`...).
    pub phase: String,
    /// Direct URL on the host's imageio daemon.
    pub transfer_url: String,
    /// URL through the engine's imageio proxy.
    pub proxy_url: String,
}

/// A VM backup (`/vms/ID/backups/ID`), the point a warm precopy reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Backup {
    /// ID.
    pub id: String,
    /// `initializing`, `starting`, `ready`, `finalizing`, `succeeded`, `failed`.
    pub phase: String,
    /// The checkpoint the backup is incremental from (empty for a full backup).
    pub from_checkpoint_id: String,
    /// The checkpoint the backup creates.
    pub to_checkpoint_id: String,
    /// The disks backed up.
    pub disks: List<Ref>,
}

/// A VM checkpoint (`/vms/ID/checkpoints`): the point an incremental backup starts from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Checkpoint {
    /// ID.
    pub id: String,
    /// The checkpoint before it (empty for the first of the chain).
    pub parent_id: String,
    /// `created` or `invalid`.
    pub state: String,
}

impl std::fmt::Debug for ImageTransfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |url: &str| match url::Url::parse(url) {
            Ok(u) if !url.is_empty() => {
                format!(
                    "{}://{}/(ticket)",
                    u.scheme(),
                    u.host_str().unwrap_or_default()
                )
            }
            _ if url.is_empty() => String::new(),
            _ => "(hidden)".to_owned(),
        };
        f.debug_struct("ImageTransfer")
            .field("id", &self.id)
            .field("phase", &self.phase)
            .field("transfer_url", &hidden(&self.transfer_url))
            .field("proxy_url", &hidden(&self.proxy_url))
            .finish()
    }
}

/// A system option value (`/options/ServerCPUList`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SystemOption {
    /// Values per cluster version.
    pub values: List<SystemOptionValue>,
}

/// One value of a system option.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SystemOptionValue {
    /// The value.
    pub value: String,
    /// Cluster version it applies to.
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_from_strings_and_numbers_and_lists_from_singular_keys() {
        let vm: Vm = serde_json::from_value(serde_json::json!({
            "id": "v", "memory": 1073741824, "cpu": {"topology": {"sockets": "2", "cores": "1"}},
            "high_availability": {"enabled": "true"},
            "nics": {"nic": [{"name": "nic1", "plugged": true, "mac": {"address": "56:6f:00:00:00:01"}}]},
            "disk_attachments": {"disk_attachment": [{"id": "d", "bootable": "true",
                "disk": {"id": "d", "provisioned_size": "1048576", "sparse": "false"}}]}
        }))
        .unwrap();
        assert_eq!(vm.memory, 1 << 30);
        assert_eq!(vm.cpu.topology.sockets, 2);
        assert!(vm.high_availability.enabled);
        assert!(vm.nics.items[0].plugged);
        let attachment = &vm.disk_attachments.items[0];
        assert!(attachment.bootable);
        assert_eq!(attachment.disk.provisioned_size, 1 << 20);
        assert!(!attachment.disk.sparse);
    }
}
