//! Inventory: Nova servers and flavors, Cinder volumes and volume types, Glance images and
//! Neutron networks, subnets and ports, converted into `forklift-core`'s model the way
//! upstream's OpenStack model does it:
//!
//! - disks: the image-booted root disk first (its ID is the image's, its storage empty: it
//!   maps through the storage map's `glance` pair), then the attached volumes by device name
//!   (`/dev/vda` before `/dev/vdb`), each with its volume type's ID as storage and
//!   Cinder's size (≤ 0 is reported by validation as `InvalidDiskSizes`);
//! - storages: the volume types; networks: Neutron networks (VLAN ID for `vlan` ones);
//! - NICs: the server's Neutron ports, by network ID with their MAC; guest networks: the
//!   ports' fixed IPs with their subnets' prefix and gateway;
//! - a server in ERROR carries a Critical concern, so validation refuses it.

use std::collections::{BTreeMap, HashMap};

use forklift_core::inventory::{
    Concern, ConcernCategory, Disk, DiskBus, Firmware, GuestNetwork, Network as CoreNetwork,
    NetworkKind, Nic, NicNetwork, OpenstackVmExt, PowerState, SourceInventory, Storage,
    StorageKind, Vm, VmExt,
};
use forklift_core::resources::ProviderType;

use super::error::Result;
use super::http::{Service, Session};
use super::model::{Flavor, Image, Network, Port, Server, Subnet, Volume, VolumeType};

/// ID of the concern raised for a server in ERROR state.
pub const SERVER_ERROR_CONCERN: &str = "openstack.server.error";

const GIB: i64 = 1 << 30;

/// Everything read from the cloud, before conversion.
#[derive(Debug, Default)]
pub struct Objects {
    /// Servers.
    pub servers: Vec<Server>,
    /// Flavors.
    pub flavors: Vec<Flavor>,
    /// Volumes.
    pub volumes: Vec<Volume>,
    /// Volume types.
    pub volume_types: Vec<VolumeType>,
    /// Images.
    pub images: Vec<Image>,
    /// Networks.
    pub networks: Vec<Network>,
    /// Subnets.
    pub subnets: Vec<Subnet>,
    /// Ports.
    pub ports: Vec<Port>,
}

/// Reads every object the inventory is made of (paginated, bounded listings).
pub async fn collect_objects(session: &Session) -> Result<Objects> {
    Ok(Objects {
        servers: session
            .list(
                Service::Compute,
                "/servers/detail",
                "servers",
                "listing servers",
            )
            .await?,
        flavors: session
            .list(
                Service::Compute,
                "/flavors/detail?is_public=None",
                "flavors",
                "listing flavors",
            )
            .await?,
        volumes: session
            .list(
                Service::Volume,
                "/volumes/detail",
                "volumes",
                "listing volumes",
            )
            .await?,
        volume_types: session
            .list(
                Service::Volume,
                "/types",
                "volume_types",
                "listing volume types",
            )
            .await?,
        images: session
            .list(Service::Image, "/images", "images", "listing images")
            .await?,
        networks: session
            .list(
                Service::Network,
                "/networks",
                "networks",
                "listing networks",
            )
            .await?,
        subnets: session
            .list(Service::Network, "/subnets", "subnets", "listing subnets")
            .await?,
        ports: session
            .list(Service::Network, "/ports", "ports", "listing ports")
            .await?,
    })
}

/// Maps a server status to a power state.
pub fn power_state(status: &str) -> PowerState {
    match status {
        "ACTIVE" | "VERIFY_RESIZE" | "RESCUE" => PowerState::On,
        "SHUTOFF" | "SHELVED" | "SHELVED_OFFLOADED" | "STOPPED" => PowerState::Off,
        "SUSPENDED" | "PAUSED" => PowerState::Suspended,
        _ => PowerState::Unknown,
    }
}

/// Converts the objects into the provider-neutral inventory.
pub fn convert(objects: &Objects, provider_name: &str) -> SourceInventory {
    let flavors: HashMap<&str, &Flavor> =
        objects.flavors.iter().map(|f| (f.id.as_str(), f)).collect();
    let images: HashMap<&str, &Image> = objects.images.iter().map(|i| (i.id.as_str(), i)).collect();
    let volumes: HashMap<&str, &Volume> =
        objects.volumes.iter().map(|v| (v.id.as_str(), v)).collect();
    let type_ids: HashMap<&str, &str> = objects
        .volume_types
        .iter()
        .flat_map(|t| {
            [
                (t.name.as_str(), t.id.as_str()),
                (t.id.as_str(), t.id.as_str()),
            ]
        })
        .collect();
    let networks: HashMap<&str, &Network> = objects
        .networks
        .iter()
        .map(|n| (n.id.as_str(), n))
        .collect();
    let subnets: HashMap<&str, &Subnet> =
        objects.subnets.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut ports: BTreeMap<&str, Vec<&Port>> = BTreeMap::new();
    for port in &objects.ports {
        ports.entry(port.device_id.as_str()).or_default().push(port);
    }
    let lookups = Lookups {
        flavors,
        images,
        volumes,
        type_ids,
        networks,
        subnets,
    };
    SourceInventory {
        provider: ProviderType::OpenStack,
        provider_name: provider_name.to_owned(),
        vms: objects
            .servers
            .iter()
            .map(|s| {
                convert_server(
                    s,
                    &lookups,
                    ports.get(s.id.as_str()).map(Vec::as_slice).unwrap_or(&[]),
                )
            })
            .collect(),
        networks: objects
            .networks
            .iter()
            .map(|n| CoreNetwork {
                id: n.id.clone(),
                name: n.name.clone(),
                kind: NetworkKind::Standard,
                vlan: (n.network_type.as_deref() == Some("vlan"))
                    .then_some(n.segmentation_id)
                    .flatten()
                    .and_then(|v| u16::try_from(v).ok()),
                ..CoreNetwork::default()
            })
            .collect(),
        storages: objects
            .volume_types
            .iter()
            .map(|t| Storage {
                id: t.id.clone(),
                name: t.name.clone(),
                kind: StorageKind::VolumeType,
                ..Storage::default()
            })
            .collect(),
        hosts: Vec::new(),
        ext: None,
    }
}

struct Lookups<'a> {
    flavors: HashMap<&'a str, &'a Flavor>,
    images: HashMap<&'a str, &'a Image>,
    volumes: HashMap<&'a str, &'a Volume>,
    type_ids: HashMap<&'a str, &'a str>,
    networks: HashMap<&'a str, &'a Network>,
    subnets: HashMap<&'a str, &'a Subnet>,
}

fn convert_server(server: &Server, l: &Lookups<'_>, ports: &[&Port]) -> Vm {
    let flavor = l.flavors.get(server.flavor.id.as_str()).copied();
    let image_id = server.image_id();
    let image = image_id.and_then(|id| l.images.get(id).copied());
    let mut disks = Vec::new();
    if let Some(image_id) = image_id {
        // Upstream sizes the image-based disk from the image: its virtual size when Glance
        // computed one, else the flavor's root disk, else the image data size.
        let capacity = image
            .and_then(|i| i.virtual_size)
            .map(|s| i64::try_from(s).unwrap_or(i64::MAX))
            .or_else(|| flavor.filter(|f| f.disk > 0).map(|f| f.disk as i64 * GIB))
            .or_else(|| {
                image
                    .and_then(|i| i.size)
                    .map(|s| i64::try_from(s).unwrap_or(i64::MAX))
            })
            .unwrap_or(0);
        disks.push(Disk {
            id: image_id.to_owned(),
            file: image.and_then(|i| i.name.clone()).unwrap_or_default(),
            capacity,
            bus: DiskBus::Virtio,
            ..Disk::default()
        });
    }
    let mut attached: Vec<(&str, &str)> = server
        .volumes_attached
        .iter()
        .map(|v| {
            let device = l
                .volumes
                .get(v.id.as_str())
                .and_then(|vol| vol.attachments.iter().find(|a| a.server_id == server.id))
                .map(|a| a.device.as_str())
                .unwrap_or("");
            (device, v.id.as_str())
        })
        .collect();
    // Device names order the disks (`/dev/vda` boots); unknown devices go last, by ID.
    attached.sort_by(|a, b| (a.0.is_empty(), a.0, a.1).cmp(&(b.0.is_empty(), b.0, b.1)));
    for (_, id) in &attached {
        let volume = l.volumes.get(id).copied();
        disks.push(Disk {
            id: (*id).to_owned(),
            file: volume.and_then(|v| v.name.clone()).unwrap_or_default(),
            storage: volume
                .and_then(|v| v.volume_type.as_deref())
                .map(|t| l.type_ids.get(t).copied().unwrap_or(t).to_owned())
                .unwrap_or_default(),
            capacity: volume.map(|v| v.size.saturating_mul(GIB)).unwrap_or(0),
            bus: DiskBus::Virtio,
            ..Disk::default()
        });
    }
    let property = |key: &str| image.and_then(|i| i.property(key));
    let nic_model = property("hw_vif_model").unwrap_or("virtio");
    let nics = ports
        .iter()
        .map(|p| Nic {
            name: if p.name.is_empty() {
                p.id.clone()
            } else {
                p.name.clone()
            },
            mac: p.mac_address.clone(),
            network: NicNetwork {
                id: p.network_id.clone(),
                name: l
                    .networks
                    .get(p.network_id.as_str())
                    .map(|n| n.name.clone())
                    .unwrap_or_default(),
                ..NicNetwork::default()
            },
            model: nic_model.to_owned(),
            connected: p.admin_state_up,
        })
        .collect();
    let guest_networks = ports
        .iter()
        .flat_map(|p| p.fixed_ips.iter().map(move |ip| (p, ip)))
        .map(|(p, ip)| {
            let subnet = l.subnets.get(ip.subnet_id.as_str());
            GuestNetwork {
                mac: p.mac_address.clone(),
                ip: ip.ip_address.clone(),
                prefix_length: subnet
                    .and_then(|s| s.cidr.split_once('/'))
                    .and_then(|(_, len)| len.parse().ok())
                    .unwrap_or(0),
                gateway: subnet
                    .and_then(|s| s.gateway_ip.clone())
                    .unwrap_or_default(),
                dns: subnet
                    .map(|s| s.dns_nameservers.clone())
                    .unwrap_or_default(),
                origin: "fixed".to_owned(),
                ..GuestNetwork::default()
            }
        })
        .collect();
    let mut concerns = Vec::new();
    if server.status == "ERROR" {
        concerns.push(Concern {
            id: SERVER_ERROR_CONCERN.to_owned(),
            category: ConcernCategory::Critical,
            label: "Server in ERROR state".to_owned(),
            assessment: format!(
                "Nova reports the server in ERROR{}; it cannot be powered off or snapshotted \
                 reliably. Repair or rebuild it in OpenStack before migrating it.",
                server
                    .fault
                    .as_ref()
                    .map(|f| format!(" ({})", forklift_core::error::escape_peer_text(&f.message)))
                    .unwrap_or_default()
            ),
        });
    }
    Vm {
        id: server.id.clone(),
        name: server.name.clone(),
        power_state: power_state(&server.status),
        host: server.host.clone().unwrap_or_default(),
        cpu_count: flavor.map(|f| f.vcpus).unwrap_or(0),
        memory_mib: flavor.map(|f| f.ram).unwrap_or(0),
        firmware: match property("hw_firmware_type") {
            Some("uefi") => Firmware::Efi,
            _ => Firmware::Bios,
        },
        secure_boot: property("os_secure_boot") == Some("required"),
        guest_os: property("os_distro")
            .or_else(|| property("os_type"))
            .unwrap_or_default()
            .to_owned(),
        disks,
        nics,
        guest_networks,
        concerns,
        ext: Some(VmExt::Openstack(OpenstackVmExt {
            project_id: server.tenant_id.clone(),
            flavor_id: server.flavor.id.clone(),
            image_id: image_id.unwrap_or_default().to_owned(),
            volumes: attached.iter().map(|(_, id)| (*id).to_owned()).collect(),
        })),
        ..Vm::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{Attachment, IdRef};
    use super::*;

    fn objects() -> Objects {
        let server = Server {
            id: "srv".into(),
            name: "vm1".into(),
            status: "ACTIVE".into(),
            tenant_id: "proj".into(),
            flavor: IdRef { id: "f1".into() },
            image: serde_json::json!({"id": "img"}),
            volumes_attached: vec![IdRef { id: "vol-c".into() }, IdRef { id: "vol-b".into() }],
            ..Server::default()
        };
        let volume = |id: &str, device: &str, size| Volume {
            id: id.into(),
            size,
            volume_type: Some("fast".into()),
            attachments: vec![Attachment {
                server_id: "srv".into(),
                device: device.into(),
            }],
            ..Volume::default()
        };
        Objects {
            servers: vec![server],
            flavors: vec![Flavor {
                id: "f1".into(),
                vcpus: 2,
                ram: 2048,
                disk: 10,
                ..Flavor::default()
            }],
            volumes: vec![
                volume("vol-c", "/dev/vdc", 0),
                volume("vol-b", "/dev/vdb", 2),
            ],
            volume_types: vec![VolumeType {
                id: "type-id".into(),
                name: "fast".into(),
            }],
            images: vec![Image {
                id: "img".into(),
                virtual_size: Some(1 << 30),
                ..Image::default()
            }],
            ..Objects::default()
        }
    }

    #[test]
    fn root_image_first_then_volumes_by_device_with_type_ids() {
        let inventory = convert(&objects(), "os");
        let vm = &inventory.vms[0];
        let ids: Vec<_> = vm.disks.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["img", "vol-b", "vol-c"]);
        assert_eq!(vm.disks[0].storage, "");
        assert_eq!(vm.disks[0].capacity, 1 << 30);
        assert_eq!(vm.disks[1].storage, "type-id");
        assert_eq!(vm.disks[1].capacity, 2 << 30);
        // A zero-size volume stays zero: validation reports InvalidDiskSizes.
        assert_eq!(vm.disks[2].capacity, 0);
        assert_eq!((vm.cpu_count, vm.memory_mib), (2, 2048));
        assert!(vm.openstack().unwrap().image_booted());
        assert_eq!(inventory.storages[0].kind, StorageKind::VolumeType);
    }

    #[test]
    fn servers_in_error_carry_a_critical_concern() {
        let mut objects = objects();
        objects.servers[0].status = "ERROR".into();
        objects.servers[0].fault = Some(super::super::model::Fault {
            message: "No valid host\u{1b}[2J".into(),
        });
        let vm = &convert(&objects, "os").vms[0];
        let concern = &vm.concerns[0];
        assert_eq!(concern.id, SERVER_ERROR_CONCERN);
        assert_eq!(concern.category, ConcernCategory::Critical);
        assert!(
            !concern.assessment.contains('\u{1b}'),
            "{}",
            concern.assessment
        );
    }
}
