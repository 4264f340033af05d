//! Inventory: data centers, clusters, hosts, VMs (with their disk attachments and disks,
//! NICs, reported devices and snapshots in one paginated `follow=` listing), storage domains,
//! networks and vNIC profiles, converted into `forklift-core`'s model the way upstream's
//! oVirt model does it:
//!
//! - disks in disk-attachment order; the disk ID is the disk's identity (its imageio source
//!   and volume name); image disks map by their storage domain, direct LUN disks are `rdm`
//!   with no storage and the logical unit's size as capacity (≤ 0 is reported by validation
//!   as `InvalidDiskSizes`; LUN disks on engines before 4.5.2.1 as `VMStorageNotSupported`);
//! - BIOS type `cluster_default` resolves to the cluster's; `q35_ovmf` and
//!   `q35_secure_boot` are EFI; the OS type is the OS-map key;
//! - NICs by their vNIC profile's network ID, model = the oVirt NIC interface;
//! - the engine version (`major.minor.build.revision`) in the provider extension.

use std::collections::HashMap;

use forklift_core::inventory::{
    Disk, DiskBus, Firmware, GuestNetwork, Host as CoreHost, Network as CoreNetwork, NetworkKind,
    Nic, NicNetwork, OvirtVmExt, PowerState, ProviderExt, SourceInventory, Storage, StorageKind,
    Vm as CoreVm, VmExt,
};
use forklift_core::resources::ProviderType;

use super::client::Engine;
use super::error::Result;
use super::limits::MAX_CPU_LIST_VERSIONS;
use super::model::{
    ApiRoot, Cluster, DataCenter, Host, Network, StorageDomain, SystemOption, Vm, VnicProfile,
};

/// What the VM listing follows, so one paginated listing carries everything (no N+1).
pub const VM_FOLLOW: &str = "follow=disk_attachments.disk,nics,reported_devices,snapshots";

/// Everything read from the engine, before conversion.
#[derive(Debug, Default)]
pub struct Objects {
    /// The API root (engine version).
    pub root: ApiRoot,
    /// Data centers.
    pub data_centers: Vec<DataCenter>,
    /// Clusters.
    pub clusters: Vec<Cluster>,
    /// Hosts.
    pub hosts: Vec<Host>,
    /// VMs with their followed links.
    pub vms: Vec<Vm>,
    /// Storage domains.
    pub storage_domains: Vec<StorageDomain>,
    /// Networks.
    pub networks: Vec<Network>,
    /// vNIC profiles.
    pub vnic_profiles: Vec<VnicProfile>,
    /// Cluster CPU type name → the engine's CPU entry `level:name:flags:model`
    /// (`ServerCPUList`), for `preserveClusterCpuModel`.
    pub server_cpus: HashMap<String, String>,
}

/// Reads every object the inventory is made of (paginated, bounded listings).
pub async fn collect_objects(engine: &Engine) -> Result<Objects> {
    let root: ApiRoot = engine.get("/", "read the API root").await?;
    let clusters: Vec<Cluster> = engine
        .list("/clusters", "cluster", "", true, "list clusters")
        .await?;
    let mut server_cpus = HashMap::new();
    let mut versions: Vec<String> = clusters
        .iter()
        .map(|c| format!("{}.{}", c.version.major, c.version.minor))
        .collect();
    versions.sort();
    versions.dedup();
    if versions.len() > MAX_CPU_LIST_VERSIONS {
        // One request per version: an engine naming thousands is not followed.
        tracing::warn!(
            versions = versions.len(),
            "the engine's clusters name more than {MAX_CPU_LIST_VERSIONS} versions; \
             ServerCPUList is read for the first {MAX_CPU_LIST_VERSIONS} only"
        );
        versions.truncate(MAX_CPU_LIST_VERSIONS);
    }
    for version in versions {
        // The CPU list is an engine option; an engine that hides it only loses the
        // cluster CPU model (preserveClusterCpuModel then has nothing to preserve).
        let path = format!("/options/ServerCPUList?version={version}");
        match engine
            .get::<SystemOption>(&path, "read ServerCPUList")
            .await
        {
            Ok(option) => {
                for value in option.values.items {
                    parse_server_cpus(&value.value, &mut server_cpus);
                }
            }
            Err(e) => tracing::debug!(
                "no ServerCPUList for {}: {e}",
                forklift_core::error::PeerText(&version)
            ),
        }
    }
    Ok(Objects {
        data_centers: engine
            .list("/datacenters", "data_center", "", true, "list data centers")
            .await?,
        hosts: engine
            .list("/hosts", "host", "", true, "list hosts")
            .await?,
        vms: engine
            .list("/vms", "vm", VM_FOLLOW, true, "list VMs")
            .await?,
        storage_domains: engine
            .list(
                "/storagedomains",
                "storage_domain",
                "",
                true,
                "list storage domains",
            )
            .await?,
        networks: engine
            .list("/networks", "network", "", true, "list networks")
            .await?,
        vnic_profiles: engine
            .list(
                "/vnicprofiles",
                "vnic_profile",
                "",
                false,
                "list vNIC profiles",
            )
            .await?,
        root,
        clusters,
        server_cpus,
    })
}

/// Reads `ServerCPUList` (`level:name:flags:model:arch; …`) into name → `level:name:flags:model`.
fn parse_server_cpus(list: &str, into: &mut HashMap<String, String>) {
    for entry in list.split(';') {
        let fields: Vec<&str> = entry.trim().split(':').collect();
        if fields.len() >= 4 && !fields[1].is_empty() {
            into.insert(fields[1].to_owned(), fields[..4].join(":"));
        }
    }
}

fn power_state(status: &str) -> PowerState {
    match status {
        "up" | "powering_up" | "powering_down" | "reboot_in_progress" | "migrating"
        | "wait_for_launch" | "restoring_state" | "saving_state" => PowerState::On,
        "down" => PowerState::Off,
        "paused" | "suspended" => PowerState::Suspended,
        _ => PowerState::Unknown,
    }
}

fn bus(interface: &str) -> DiskBus {
    match interface {
        "virtio_scsi" | "spapr_vscsi" => DiskBus::Scsi,
        "sata" => DiskBus::Sata,
        "ide" => DiskBus::Ide,
        "virtio" => DiskBus::Virtio,
        _ => DiskBus::Unknown,
    }
}

/// Prefix length of an oVirt netmask (`255.255.255.0` or `24`).
fn prefix_length(netmask: &str) -> u8 {
    if let Ok(n) = netmask.parse::<u8>() {
        return n;
    }
    netmask
        .parse::<std::net::Ipv4Addr>()
        .map(|m| u32::from(m).count_ones() as u8)
        .unwrap_or(0)
}

fn convert_vm(objects: &Objects, vm: &Vm) -> CoreVm {
    let cluster = objects.clusters.iter().find(|c| c.id == vm.cluster.id);
    let bios_type = if vm.bios.type_ == "cluster_default" || vm.bios.type_.is_empty() {
        cluster.map(|c| c.bios_type.clone()).unwrap_or_default()
    } else {
        vm.bios.type_.clone()
    };
    let firmware = match bios_type.as_str() {
        "q35_ovmf" | "q35_secure_boot" => Firmware::Efi,
        "" => Firmware::Unknown,
        _ => Firmware::Bios,
    };
    let profiles: HashMap<&str, &VnicProfile> = objects
        .vnic_profiles
        .iter()
        .map(|p| (p.id.as_str(), p))
        .collect();
    let mut disks = Vec::new();
    let mut lun_disks = Vec::new();
    for attachment in &vm.disk_attachments.items {
        let disk = &attachment.disk;
        let lun = disk.storage_type == "lun";
        let id = if attachment.id.is_empty() {
            disk.id.clone()
        } else {
            attachment.id.clone()
        };
        if lun {
            lun_disks.push(id.clone());
        }
        let capacity = if lun {
            disk.lun_storage
                .logical_units
                .items
                .first()
                .map(|u| u.size)
                .unwrap_or(0)
        } else {
            disk.provisioned_size
        };
        disks.push(Disk {
            file: if disk.alias.is_empty() {
                disk.name.clone()
            } else {
                disk.alias.clone()
            },
            id,
            storage: if lun {
                String::new()
            } else {
                disk.storage_domains
                    .items
                    .first()
                    .map(|s| s.id.clone())
                    .unwrap_or_default()
            },
            capacity,
            shared: disk.shareable,
            rdm: lun,
            bus: bus(&attachment.interface),
            serial: disk.id.clone(),
            // Warm migration reads incremental backups (ovirt/warm.rs).
            change_tracking_enabled: super::backup::not_incremental(attachment).is_none(),
            ..Disk::default()
        });
    }
    let nics = vm
        .nics
        .items
        .iter()
        .map(|n| {
            let profile = profiles.get(n.vnic_profile.id.as_str());
            let network_id = profile.map(|p| p.network.id.clone()).unwrap_or_default();
            let network_name = objects
                .networks
                .iter()
                .find(|net| net.id == network_id)
                .map(|net| net.name.clone())
                .unwrap_or_default();
            Nic {
                name: n.name.clone(),
                mac: n.mac.address.clone(),
                network: NicNetwork {
                    id: network_id,
                    name: network_name,
                    ..NicNetwork::default()
                },
                model: if profile.is_some_and(|p| p.pass_through.mode == "enabled") {
                    "sriov".to_owned()
                } else {
                    n.interface.clone()
                },
                connected: n.plugged && n.linked,
            }
        })
        .collect();
    let guest_networks = vm
        .reported_devices
        .items
        .iter()
        .flat_map(|d| {
            d.ips.items.iter().map(move |ip| GuestNetwork {
                device: d.name.clone(),
                mac: d.mac.address.clone(),
                ip: ip.address.clone(),
                prefix_length: prefix_length(&ip.netmask),
                gateway: ip.gateway.clone(),
                ..GuestNetwork::default()
            })
        })
        .collect();
    let topology = &vm.cpu.topology;
    let threads = topology.threads.max(1);
    let cores = topology.cores.max(1);
    // Peer numbers: saturate rather than overflow (a panic in debug builds).
    let cpu_count = topology
        .sockets
        .max(1)
        .saturating_mul(cores)
        .saturating_mul(threads);
    CoreVm {
        id: vm.id.clone(),
        name: vm.name.clone(),
        path: cluster
            .map(|c| format!("/{}/{}", c.name, vm.name))
            .unwrap_or_default(),
        power_state: power_state(&vm.status),
        host: vm.host.id.clone(),
        cpu_count: u32::try_from(cpu_count).unwrap_or(u32::MAX),
        cores_per_socket: u32::try_from(cores.saturating_mul(threads)).unwrap_or(u32::MAX),
        memory_mib: u64::try_from(vm.memory / (1 << 20)).unwrap_or(0),
        firmware,
        secure_boot: bios_type == "q35_secure_boot",
        guest_os: vm.os.type_.clone(),
        snapshot_count: vm
            .snapshots
            .items
            .iter()
            .filter(|s| s.snapshot_type != "active")
            .count() as u32,
        // Direct LUNs are not copied, so they need no backup.
        change_tracking_enabled: disks.iter().all(|d| d.rdm || d.change_tracking_enabled),
        disks,
        nics,
        guest_networks,
        ext: Some(VmExt::Ovirt(OvirtVmExt {
            cluster: vm.cluster.id.clone(),
            cpu_model: vm.custom_cpu_model.clone(),
            cluster_cpu_model: cluster
                .and_then(|c| objects.server_cpus.get(&c.cpu.type_))
                .cloned()
                .unwrap_or_default(),
            ha_enabled: vm.high_availability.enabled,
            placement_policy_affinity: vm.placement_policy.affinity.clone(),
            bios_type,
            lun_disks,
        })),
        ..CoreVm::default()
    }
}

/// Converts the engine's objects into the neutral inventory.
pub fn convert(objects: &Objects, provider_name: &str) -> SourceInventory {
    let dc_name = |id: &str| {
        objects
            .data_centers
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.name.clone())
            .unwrap_or_default()
    };
    SourceInventory {
        provider: ProviderType::OVirt,
        provider_name: provider_name.to_owned(),
        vms: objects
            .vms
            .iter()
            .map(|vm| convert_vm(objects, vm))
            .collect(),
        networks: objects
            .networks
            .iter()
            .map(|n| CoreNetwork {
                id: n.id.clone(),
                name: n.name.clone(),
                path: format!("/{}/{}", dc_name(&n.data_center.id), n.name),
                kind: NetworkKind::Standard,
                vlan: u16::try_from(n.vlan.id).ok().filter(|v| *v > 0),
                ..CoreNetwork::default()
            })
            .collect(),
        storages: objects
            .storage_domains
            .iter()
            .map(|s| Storage {
                id: s.id.clone(),
                name: s.name.clone(),
                path: format!("/{}", s.name),
                kind: StorageKind::StorageDomain,
                capacity: u64::try_from(s.available.saturating_add(s.used)).ok(),
                free: u64::try_from(s.available).ok(),
                ext: None,
            })
            .collect(),
        hosts: objects
            .hosts
            .iter()
            .map(|h| CoreHost {
                id: h.id.clone(),
                name: h.name.clone(),
                cluster: h.cluster.id.clone(),
                in_maintenance: h.status == "maintenance",
                management_ip: h.address.clone(),
                product_version: h.version.full_version.clone(),
                ..CoreHost::default()
            })
            .collect(),
        ext: Some(ProviderExt::Ovirt {
            engine_version: objects.root.product_info.version.dotted(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn objects() -> Objects {
        Objects {
            root: serde_json::from_value(json!({"product_info": {"version":
                {"major": "4", "minor": "5", "build": "2", "revision": "0"}}}))
            .unwrap(),
            clusters: serde_json::from_value(json!([{"id": "c1", "name": "Default",
                "bios_type": "q35_ovmf", "cpu": {"type": "Secure Intel Cascadelake Server Family"},
                "version": {"major": 4, "minor": 7}}]))
            .unwrap(),
            vnic_profiles: serde_json::from_value(json!([
                {"id": "p1", "name": "ovirtmgmt", "network": {"id": "n1"}},
                {"id": "p2", "name": "sriov", "network": {"id": "n1"}, "pass_through": {"mode": "enabled"}}]))
            .unwrap(),
            networks: serde_json::from_value(json!([{"id": "n1", "name": "ovirtmgmt",
                "data_center": {"id": "dc"}, "vlan": {"id": "0"}}]))
            .unwrap(),
            vms: serde_json::from_value(json!([{"id": "v1", "name": "web", "status": "up",
                "cluster": {"id": "c1"}, "bios": {"type": "cluster_default"},
                "os": {"type": "rhel_9x64"}, "memory": 2147483648_i64,
                "cpu": {"topology": {"sockets": "2", "cores": "2", "threads": "1"}},
                "disk_attachments": {"disk_attachment": [
                    {"id": "d1", "bootable": "true", "interface": "virtio_scsi",
                     "disk": {"id": "d1", "alias": "web_Disk1", "storage_type": "image",
                              "provisioned_size": "10737418240",
                              "storage_domains": {"storage_domain": [{"id": "sd1"}]}}},
                    {"id": "d2", "interface": "virtio",
                     "disk": {"id": "d2", "storage_type": "lun",
                              "lun_storage": {"logical_units": {"logical_unit": [{"id": "l", "size": "0"}]}}}}]},
                "nics": {"nic": [{"name": "nic1", "interface": "e1000", "plugged": "true",
                    "linked": "true", "mac": {"address": "56:6f:00:00:00:01"},
                    "vnic_profile": {"id": "p1"}},
                    {"name": "nic2", "interface": "virtio", "vnic_profile": {"id": "p2"}}]},
                "reported_devices": {"reported_device": [{"name": "eth0",
                    "mac": {"address": "56:6f:00:00:00:01"},
                    "ips": {"ip": [{"address": "10.0.0.5", "version": "v4",
                        "netmask": "255.255.255.0", "gateway": "10.0.0.1"}]}}]},
                "snapshots": {"snapshot": [{"id": "s0", "snapshot_type": "active"},
                    {"id": "s1", "snapshot_type": "regular"}]}}]))
            .unwrap(),
            server_cpus: [(
                "Secure Intel Cascadelake Server Family".to_owned(),
                "6:Secure Intel Cascadelake Server Family:vmx,ssbd:Cascadelake-Server".to_owned(),
            )]
            .into(),
            ..Objects::default()
        }
    }

    #[test]
    fn vms_convert_as_upstream_models_them() {
        let inv = convert(&objects(), "rhv");
        assert_eq!(
            inv.ext,
            Some(ProviderExt::Ovirt {
                engine_version: "4.5.2.0".into()
            })
        );
        let vm = &inv.vms[0];
        assert_eq!(vm.power_state, PowerState::On);
        assert_eq!((vm.cpu_count, vm.cores_per_socket), (4, 2));
        assert_eq!(vm.memory_mib, 2048);
        // cluster_default resolves to the cluster's q35_ovmf: EFI.
        assert_eq!(vm.firmware, Firmware::Efi);
        assert_eq!(vm.guest_os, "rhel_9x64");
        assert_eq!(vm.snapshot_count, 1);
        let ext = vm.ovirt().unwrap();
        assert_eq!(ext.bios_type, "q35_ovmf");
        assert_eq!(ext.lun_disks, ["d2"]);
        assert_eq!(
            ext.cluster_cpu_model,
            "6:Secure Intel Cascadelake Server Family:vmx,ssbd:Cascadelake-Server"
        );
        // Disks in attachment order; the image disk maps by storage domain, the LUN by none.
        assert_eq!(vm.disks[0].id, "d1");
        assert_eq!(vm.disks[0].storage, "sd1");
        assert_eq!(vm.disks[0].capacity, 10 << 30);
        assert_eq!(vm.disks[0].bus, DiskBus::Scsi);
        assert!(vm.disks[1].rdm && vm.disks[1].storage.is_empty());
        assert_eq!(vm.disks[1].capacity, 0);
        // NICs by the profile's network; SR-IOV profiles make sriov NICs.
        assert_eq!(vm.nics[0].network.id, "n1");
        assert_eq!(vm.nics[0].model, "e1000");
        assert!(vm.nics[0].connected);
        assert_eq!(vm.nics[1].model, "sriov");
        assert_eq!(vm.guest_networks[0].prefix_length, 24);
    }

    #[test]
    fn server_cpu_lists_key_by_cpu_name() {
        let mut map = HashMap::new();
        parse_server_cpus(
            "1:Intel Nehalem Family:vmx,nx,model_Nehalem:Nehalem:x86_64; 2:Bad; ",
            &mut map,
        );
        assert_eq!(
            map["Intel Nehalem Family"],
            "1:Intel Nehalem Family:vmx,nx,model_Nehalem:Nehalem"
        );
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn huge_cpu_topologies_saturate_instead_of_overflowing() {
        let mut objects = objects();
        objects.vms[0].cpu.topology.sockets = i64::MAX / 2;
        objects.vms[0].cpu.topology.cores = i64::MAX;
        objects.vms[0].cpu.topology.threads = 3;
        let vm = &convert(&objects, "rhv").vms[0];
        assert_eq!((vm.cpu_count, vm.cores_per_socket), (u32::MAX, u32::MAX));
    }
}
