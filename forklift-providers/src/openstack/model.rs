//! The OpenStack API objects this provider reads (the fields it uses; everything else is
//! ignored), as Nova 2.1, Cinder v3, Glance v2 and Neutron v2.0 return them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// A Nova server (`/servers/detail`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Server {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// `ACTIVE`, `SHUTOFF`, `ERROR`, …
    pub status: String,
    /// Project.
    pub tenant_id: String,
    /// Flavor reference.
    pub flavor: IdRef,
    /// Image reference: an object, or `""` for volume-booted servers.
    pub image: Value,
    /// Attached volumes.
    #[serde(rename = "os-extended-volumes:volumes_attached")]
    pub volumes_attached: Vec<IdRef>,
    /// Addresses by network name.
    pub addresses: BTreeMap<String, Vec<Address>>,
    /// Security groups.
    pub security_groups: Vec<NameRef>,
    /// Compute host (admin only).
    #[serde(rename = "OS-EXT-SRV-ATTR:host")]
    pub host: Option<String>,
    /// Nova's task in progress (`image_uploading`…); null when idle.
    #[serde(rename = "OS-EXT-STS:task_state")]
    pub task_state: Option<String>,
    /// The fault of a server in ERROR.
    pub fault: Option<Fault>,
}

impl Server {
    /// The image the server booted from; `None` when booted from a volume.
    pub fn image_id(&self) -> Option<&str> {
        self.image
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
    }
}

/// `{"id": …}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IdRef {
    /// ID.
    pub id: String,
}

/// `{"name": …}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NameRef {
    /// Name.
    pub name: String,
}

/// A server fault.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Fault {
    /// Message.
    pub message: String,
}

/// One address of a server on a network.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Address {
    /// IP address.
    pub addr: String,
    /// 4 or 6.
    pub version: u8,
    /// `fixed` or `floating`.
    #[serde(rename = "OS-EXT-IPS:type")]
    pub kind: String,
    /// MAC of the port.
    #[serde(rename = "OS-EXT-IPS-MAC:mac_addr")]
    pub mac: String,
}

/// A Nova flavor (`/flavors/detail`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Flavor {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub ram: u64,
    /// Root disk in GiB.
    pub disk: u64,
}

/// A Cinder volume (`/volumes/detail`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Volume {
    /// ID.
    pub id: String,
    /// Name (may be null).
    pub name: Option<String>,
    /// Status.
    pub status: String,
    /// Size in GiB (Cinder's `size`; 0 is invalid).
    pub size: i64,
    /// Volume type name.
    pub volume_type: Option<String>,
    /// `"true"` or `"false"`.
    pub bootable: String,
    /// Attachments.
    pub attachments: Vec<Attachment>,
}

/// A volume attachment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Attachment {
    /// Server.
    pub server_id: String,
    /// Device, e.g. `/dev/vdb`.
    pub device: String,
}

/// A Cinder volume type (`/types`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VolumeType {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A Cinder snapshot (`/snapshots/detail`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    /// ID.
    pub id: String,
    /// Status.
    pub status: String,
    /// Volume.
    pub volume_id: String,
}

/// A Glance image (`/v2/images`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Image {
    /// ID.
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// `queued`, `saving`, `active`, `killed`, …
    pub status: String,
    /// `qcow2`, `raw`, …
    pub disk_format: Option<String>,
    /// `bare`, …
    pub container_format: Option<String>,
    /// Bytes of image data.
    pub size: Option<u64>,
    /// Guest-visible size, when Glance computed it.
    pub virtual_size: Option<u64>,
    /// Hash algorithm of `os_hash_value`.
    pub os_hash_algo: Option<String>,
    /// Hash of the data.
    pub os_hash_value: Option<String>,
    /// Every other property (`hw_firmware_type`, `os_distro`, …).
    #[serde(flatten)]
    pub properties: BTreeMap<String, Value>,
}

impl Image {
    /// A string property.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(key).and_then(Value::as_str)
    }
}

/// A Neutron network.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Network {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// `flat`, `vlan`, `vxlan`, …
    #[serde(rename = "provider:network_type")]
    pub network_type: Option<String>,
    /// VLAN ID or VNI.
    #[serde(rename = "provider:segmentation_id")]
    pub segmentation_id: Option<u32>,
}

/// A Neutron subnet.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Subnet {
    /// ID.
    pub id: String,
    /// CIDR.
    pub cidr: String,
    /// Gateway.
    pub gateway_ip: Option<String>,
    /// DNS servers.
    pub dns_nameservers: Vec<String>,
}

/// A Neutron port.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Port {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Network.
    pub network_id: String,
    /// MAC.
    pub mac_address: String,
    /// Server (or router…) the port belongs to.
    pub device_id: String,
    /// Administratively up.
    pub admin_state_up: bool,
    /// Fixed IPs.
    pub fixed_ips: Vec<FixedIp>,
}

/// A fixed IP of a port.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FixedIp {
    /// Subnet.
    pub subnet_id: String,
    /// Address.
    pub ip_address: String,
}
