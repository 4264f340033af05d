//! Collecting the vSphere inventory and converting it into forklift-core's model.
//!
//! Collection is one container view over the root folder and one property-collector pass
//! (paged with `ContinueRetrievePropertiesEx`); conversion is pure and works on the
//! collected [`ObjectContent`]s, so it is tested without a server.

use std::collections::{BTreeMap, HashMap};

use forklift_core::inventory::{
    CdRom, DatastoreType, Disk, DiskBus, DiskMode, Firmware, GuestDisk, GuestNetwork, Host,
    HostExt, Network, NetworkExt, NetworkKind, Nic, NicNetwork, ProviderExt, SourceInventory,
    Storage, StorageExt, StorageKind, ToolsStatus, Vm, VmExt, VsphereDatastoreExt, VsphereHostExt,
    VsphereVmExt, concerns::vsphere_concerns,
};
use forklift_core::resources::ProviderType;

use super::client::{ObjectContent, PropertySet, Vim25Client};
use super::devices::{Device, parse_devices};
use super::ops::power_state;
use super::soap::MoRef;
use super::xml::Node;
use crate::error::Result;

/// Managed object types in the inventory view.
pub const VIEW_TYPES: &[&str] = &[
    "Folder",
    "Datacenter",
    "ClusterComputeResource",
    "ComputeResource",
    "HostSystem",
    "Datastore",
    "Network",
    "DistributedVirtualPortgroup",
    "OpaqueNetwork",
    "VirtualMachine",
];

/// Properties collected per type.
pub const PROPERTY_SETS: &[PropertySet<'static>] = &[
    PropertySet {
        kind: "Folder",
        paths: &["name", "parent"],
    },
    PropertySet {
        kind: "Datacenter",
        paths: &["name", "parent"],
    },
    PropertySet {
        kind: "ClusterComputeResource",
        paths: &["name", "parent", "configurationEx"],
    },
    PropertySet {
        kind: "ComputeResource",
        paths: &["name", "parent"],
    },
    PropertySet {
        kind: "HostSystem",
        paths: &[
            "name",
            "parent",
            "runtime.inMaintenanceMode",
            "summary.config.product.version",
            "summary.config.sslThumbprint",
            "config.network.vnic",
            "datastore",
        ],
    },
    PropertySet {
        kind: "Datastore",
        paths: &["name", "parent", "summary", "info"],
    },
    PropertySet {
        kind: "Network",
        paths: &["name", "parent"],
    },
    PropertySet {
        kind: "DistributedVirtualPortgroup",
        paths: &[
            "name",
            "parent",
            "key",
            "config.distributedVirtualSwitch",
            "config.defaultPortConfig",
        ],
    },
    PropertySet {
        kind: "OpaqueNetwork",
        paths: &["name", "parent", "summary"],
    },
    PropertySet {
        kind: "VirtualMachine",
        paths: &[
            "name",
            "parent",
            "config",
            "guest",
            "runtime",
            "snapshot",
            "summary.storage",
        ],
    },
];

/// Reads every object of the inventory with one container view.
pub async fn collect_objects(client: &Vim25Client) -> Result<Vec<ObjectContent>> {
    let root = client.content().root_folder.clone();
    let view = client.create_container_view(&root, VIEW_TYPES).await?;
    let objects = client.retrieve_view(&view, PROPERTY_SETS).await;
    if let Err(e) = client.destroy_view(&view).await {
        tracing::debug!("DestroyView failed: {e}");
    }
    objects
}

/// The collected objects indexed for conversion.
struct Objects<'a> {
    by_ref: HashMap<(&'a str, &'a str), &'a ObjectContent>,
    all: &'a [ObjectContent],
}

impl<'a> Objects<'a> {
    fn new(all: &'a [ObjectContent]) -> Self {
        let by_ref = all
            .iter()
            .map(|o| ((o.obj.kind.as_str(), o.obj.value.as_str()), o))
            .collect();
        Self { by_ref, all }
    }

    fn of_kind(&self, kind: &'a str) -> impl Iterator<Item = &'a ObjectContent> + 'a {
        self.all.iter().filter(move |o| o.obj.kind == kind)
    }

    fn get(&self, moref: &MoRef) -> Option<&'a ObjectContent> {
        self.by_ref
            .get(&(moref.kind.as_str(), moref.value.as_str()))
            .copied()
    }

    fn parent(&self, object: &ObjectContent) -> Option<&'a ObjectContent> {
        object
            .prop("parent")
            .and_then(MoRef::from_node)
            .and_then(|p| self.get(&p))
    }

    /// `/DC/vm/folder/name`: names from the datacenter down (the root folder is omitted).
    fn path(&self, object: &ObjectContent) -> String {
        let mut names = vec![name(object)];
        let mut current = object;
        // Bounded: inventories are shallow and a cyclic answer must not hang us.
        for _ in 0..64 {
            let Some(parent) = self.parent(current) else {
                break;
            };
            if parent.prop("parent").is_none() && parent.obj.kind == "Folder" {
                break; // the root folder
            }
            names.push(name(parent));
            current = parent;
        }
        names.reverse();
        format!("/{}", names.join("/"))
    }
}

fn name(object: &ObjectContent) -> String {
    object.text("name").unwrap_or("").to_owned()
}

fn text(node: Option<&Node>, name: &str) -> String {
    node.and_then(|n| n.child_text(name))
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// Converts collected objects into the provider-neutral inventory.
pub fn convert(
    objects: &[ObjectContent],
    provider_name: &str,
    api_version: &str,
) -> SourceInventory {
    let objects = Objects::new(objects);
    let hosts = convert_hosts(&objects);
    let storages = convert_storages(&objects);
    let networks = convert_networks(&objects);
    let clusters = cluster_facts(&objects);
    let opaque_by_network_id: HashMap<String, &Network> = objects
        .of_kind("OpaqueNetwork")
        .filter_map(|o| {
            let id = text(o.prop("summary"), "opaqueNetworkId");
            let network = networks.iter().find(|n| n.id == o.obj.value)?;
            (!id.is_empty()).then_some((id, network))
        })
        .collect();
    let mut vms: Vec<Vm> = objects
        .of_kind("VirtualMachine")
        .map(|o| convert_vm(&objects, o, &networks, &opaque_by_network_id, &clusters))
        .collect();
    vms.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.id.cmp(&b.id)));
    SourceInventory {
        provider: ProviderType::VSphere,
        provider_name: provider_name.to_owned(),
        vms,
        networks,
        storages,
        hosts,
        ext: Some(ProviderExt::Vsphere {
            api_version: api_version.to_owned(),
        }),
    }
}

fn convert_hosts(objects: &Objects<'_>) -> Vec<Host> {
    let mut hosts: Vec<Host> = objects
        .of_kind("HostSystem")
        .map(|o| {
            let parent = objects.parent(o);
            let standalone = parent.is_some_and(|p| p.obj.kind == "ComputeResource");
            let cluster = parent
                .filter(|p| p.obj.kind == "ClusterComputeResource")
                .map(|p| p.obj.value.clone())
                .unwrap_or_default();
            let vnic_ips: Vec<String> = o
                .prop("config.network.vnic")
                .map(|v| {
                    v.children
                        .iter()
                        .filter_map(|vnic| vnic.path(&["spec", "ip", "ipAddress"]))
                        .map(|ip| ip.text.trim().to_owned())
                        .filter(|ip| !ip.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let datastores = o
                .prop("datastore")
                .map(|d| {
                    d.children
                        .iter()
                        .filter_map(MoRef::from_node)
                        .map(|m| m.value)
                        .collect()
                })
                .unwrap_or_default();
            // A standalone host's path is its compute resource's path plus its own name.
            Host {
                id: o.obj.value.clone(),
                name: name(o),
                path: objects.path(o),
                cluster,
                in_maintenance: o.text("runtime.inMaintenanceMode").map(str::trim) == Some("true"),
                thumbprint: o
                    .text("summary.config.sslThumbprint")
                    .unwrap_or("")
                    .trim()
                    .to_owned(),
                management_ip: vnic_ips.first().cloned().unwrap_or_default(),
                product_version: o
                    .text("summary.config.product.version")
                    .unwrap_or("")
                    .trim()
                    .to_owned(),
                ext: Some(HostExt::Vsphere(VsphereHostExt {
                    standalone,
                    datastores,
                    network_adapters: vnic_ips,
                    ssh_ready: None,
                })),
            }
        })
        .collect();
    hosts.sort_by(|a, b| a.path.cmp(&b.path));
    hosts
}

fn convert_storages(objects: &Objects<'_>) -> Vec<Storage> {
    let mut storages: Vec<Storage> = objects
        .of_kind("Datastore")
        .map(|o| {
            let summary = o.prop("summary");
            let info = o.prop("info");
            let datastore_type = match text(summary, "type").to_ascii_uppercase().as_str() {
                "VMFS" => DatastoreType::Vmfs,
                "NFS" => DatastoreType::Nfs,
                "NFS41" => DatastoreType::Nfs41,
                "VSAN" => DatastoreType::Vsan,
                "VVOL" => DatastoreType::Vvol,
                _ => DatastoreType::Other,
            };
            let nas = info.and_then(|i| i.child("nas"));
            let backing_devices = info
                .and_then(|i| i.child("vmfs"))
                .map(|vmfs| {
                    vmfs.children_named("extent")
                        .filter_map(|e| e.child_text("diskName"))
                        .map(|d| d.trim().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let maintenance = text(summary, "maintenanceMode");
            Storage {
                id: o.obj.value.clone(),
                name: name(o),
                path: objects.path(o),
                kind: StorageKind::Datastore,
                capacity: summary.and_then(|s| s.child_parse("capacity")),
                free: summary.and_then(|s| s.child_parse("freeSpace")),
                ext: Some(StorageExt::Vsphere(VsphereDatastoreExt {
                    datastore_type,
                    remote_host: text(nas, "remoteHost"),
                    remote_path: text(nas, "remotePath"),
                    backing_devices,
                    maintenance: !maintenance.is_empty() && maintenance != "normal",
                })),
            }
        })
        .collect();
    storages.sort_by(|a, b| a.path.cmp(&b.path));
    storages
}

fn convert_networks(objects: &Objects<'_>) -> Vec<Network> {
    let mut networks: Vec<Network> = objects
        .all
        .iter()
        .filter_map(|o| {
            let (kind, dv_switch, key, vlan) = match o.obj.kind.as_str() {
                "Network" => (NetworkKind::Standard, String::new(), String::new(), None),
                "DistributedVirtualPortgroup" => {
                    let vlan = o
                        .prop("config.defaultPortConfig")
                        .and_then(|c| c.child("vlan"))
                        .filter(|v| {
                            v.xsi_type() == Some("VmwareDistributedVirtualSwitchVlanIdSpec")
                        })
                        .and_then(|v| v.child_parse::<u16>("vlanId"))
                        .filter(|id| *id != 0);
                    (
                        NetworkKind::DistributedPortGroup,
                        o.prop("config.distributedVirtualSwitch")
                            .and_then(MoRef::from_node)
                            .map(|m| m.value)
                            .unwrap_or_default(),
                        o.text("key").unwrap_or(&o.obj.value).trim().to_owned(),
                        vlan,
                    )
                }
                "OpaqueNetwork" => (
                    NetworkKind::Opaque,
                    String::new(),
                    text(o.prop("summary"), "opaqueNetworkId"),
                    None,
                ),
                _ => return None,
            };
            Some(Network {
                id: o.obj.value.clone(),
                name: name(o),
                namespace: String::new(),
                path: objects.path(o),
                kind,
                vlan,
                ext: Some(NetworkExt::Vsphere { dv_switch, key }),
            })
        })
        .collect();
    networks.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.id.cmp(&b.id)));
    networks
}

/// DRS/DPM/HA flags and VM→host affinity per cluster.
#[derive(Debug, Default)]
struct ClusterFacts {
    drs: bool,
    dpm: bool,
    ha: bool,
    /// VMs named by an enabled VM-host affinity rule.
    affine_vms: Vec<String>,
}

fn cluster_facts(objects: &Objects<'_>) -> HashMap<String, ClusterFacts> {
    objects
        .of_kind("ClusterComputeResource")
        .map(|o| {
            let config = o.prop("configurationEx");
            let enabled = |path: &[&str]| {
                config
                    .and_then(|c| c.path(path))
                    .is_some_and(|n| n.text.trim() == "true")
            };
            let mut facts = ClusterFacts {
                drs: enabled(&["drsConfig", "enabled"]),
                dpm: enabled(&["dpmConfigInfo", "enabled"]),
                ha: enabled(&["dasConfig", "enabled"]),
                affine_vms: Vec::new(),
            };
            if let Some(config) = config {
                let vm_groups: HashMap<&str, Vec<String>> = config
                    .children_named("group")
                    .filter(|g| g.xsi_type() == Some("ClusterVmGroup"))
                    .map(|g| {
                        (
                            g.child_text("name").unwrap_or(""),
                            g.children_named("vm")
                                .filter_map(MoRef::from_node)
                                .map(|m| m.value)
                                .collect(),
                        )
                    })
                    .collect();
                for rule in config.children_named("rule") {
                    if rule.xsi_type() == Some("ClusterVmHostRuleInfo")
                        && rule.child_bool("enabled").unwrap_or(false)
                    {
                        if let Some(vms) = rule
                            .child_text("vmGroupName")
                            .and_then(|g| vm_groups.get(g))
                        {
                            facts.affine_vms.extend(vms.iter().cloned());
                        }
                    }
                }
            }
            (o.obj.value.clone(), facts)
        })
        .collect()
}

/// Rank of a bus in VMware disk order (§9.1): SATA, IDE, SCSI, NVMe, then others.
fn bus_rank(bus: DiskBus) -> u8 {
    match bus {
        DiskBus::Sata => 0,
        DiskBus::Ide => 1,
        DiskBus::Scsi => 2,
        DiskBus::Nvme => 3,
        _ => 4,
    }
}

/// Sorts disks as upstream's `SortedDisksAsVmware`.
pub fn sort_disks_as_vmware(disks: &mut [Disk]) {
    disks.sort_by(|a, b| {
        bus_rank(a.bus)
            .cmp(&bus_rank(b.bus))
            .then(a.controller_key.cmp(&b.controller_key))
            .then(a.unit_number.cmp(&b.unit_number))
            .then(a.key.cmp(&b.key))
    });
}

fn bus_of(name: &str) -> DiskBus {
    match name {
        "ide" => DiskBus::Ide,
        "sata" => DiskBus::Sata,
        "nvme" => DiskBus::Nvme,
        "usb" => DiskBus::Usb,
        "scsi" => DiskBus::Scsi,
        _ => DiskBus::Unknown,
    }
}

fn disk_mode(mode: &str) -> DiskMode {
    match mode {
        "" | "persistent" => DiskMode::Persistent,
        "nonpersistent" => DiskMode::Nonpersistent,
        "independent_persistent" => DiskMode::IndependentPersistent,
        "independent_nonpersistent" => DiskMode::IndependentNonpersistent,
        _ => DiskMode::Other,
    }
}

fn extra_config(config: Option<&Node>) -> BTreeMap<String, String> {
    config
        .map(|c| {
            c.children_named("extraConfig")
                .filter_map(|option| {
                    Some((
                        option.child_text("key")?.trim().to_owned(),
                        option.child_text("value").unwrap_or("").trim().to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn is_true(value: Option<&String>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn convert_disks(devices: &[Device], extra: &BTreeMap<String, String>) -> Vec<Disk> {
    let controllers: HashMap<i32, &'static str> = devices
        .iter()
        .filter_map(|d| d.controller_bus().map(|bus| (d.key, bus)))
        .collect();
    let mut disks: Vec<Disk> = devices
        .iter()
        .filter(|d| d.is_disk())
        .map(|d| {
            let backing = d.disk.clone().unwrap_or_default();
            let controller_key = d.controller_key.unwrap_or_default();
            let unit = d.unit_number.unwrap_or_default();
            let bus_name = controllers.get(&controller_key).copied().unwrap_or("");
            // Per-disk CBT: `<bus><controller index>:<unit>.ctkEnabled`, index = key mod 100.
            let ctk_key = format!("{bus_name}{}:{unit}.ctkEnabled", controller_key % 100);
            Disk {
                id: String::new(),
                key: d.key,
                file: backing.file.clone(),
                storage: backing.datastore.map(|m| m.value).unwrap_or_default(),
                capacity: d.capacity_bytes.unwrap_or_default(),
                shared: backing.shared,
                rdm: backing.rdm,
                physical_mode: backing.physical_mode,
                mode: disk_mode(&backing.disk_mode),
                bus: bus_of(bus_name),
                serial: backing.uuid.clone(),
                controller_key,
                unit_number: unit,
                change_tracking_enabled: is_true(extra.get(&ctk_key)),
                encrypted: backing.encrypted,
            }
        })
        .collect();
    sort_disks_as_vmware(&mut disks);
    disks
}

fn nic_model(kind: &str) -> String {
    match kind {
        "VirtualVmxnet3" => "vmxnet3",
        "VirtualVmxnet3Vrdma" => "vmxnet3vrdma",
        "VirtualVmxnet2" => "vmxnet2",
        "VirtualVmxnet" => "vmxnet",
        "VirtualE1000e" => "e1000e",
        "VirtualE1000" => "e1000",
        "VirtualPCNet32" => "pcnet32",
        "VirtualSriovEthernetCard" => "sriov",
        other => other,
    }
    .to_owned()
}

fn convert_nics(
    devices: &[Device],
    networks: &[Network],
    opaque: &HashMap<String, &Network>,
) -> Vec<Nic> {
    devices
        .iter()
        .filter(|d| d.is_nic())
        .map(|d| {
            let network = if !d.portgroup_key.is_empty() {
                networks
                    .iter()
                    .find(|n| {
                        n.kind == NetworkKind::DistributedPortGroup
                            && (n.id == d.portgroup_key
                                || matches!(&n.ext, Some(NetworkExt::Vsphere { key, .. }) if *key == d.portgroup_key))
                    })
                    .map(|n| (n.id.clone(), n.name.clone()))
                    .unwrap_or_else(|| (d.portgroup_key.clone(), String::new()))
            } else if !d.opaque_network_id.is_empty() {
                opaque
                    .get(&d.opaque_network_id)
                    .map(|n| (n.id.clone(), n.name.clone()))
                    .unwrap_or_else(|| (d.opaque_network_id.clone(), String::new()))
            } else if let Some(moref) = &d.network {
                let name = networks
                    .iter()
                    .find(|n| n.id == moref.value)
                    .map(|n| n.name.clone())
                    .unwrap_or_else(|| d.summary.clone());
                (moref.value.clone(), name)
            } else {
                (String::new(), d.summary.clone())
            };
            Nic {
                name: d.label.clone(),
                mac: d.mac.clone(),
                network: NicNetwork {
                    id: network.0,
                    name: network.1,
                    namespace: String::new(),
                    pod: false,
                },
                model: nic_model(&d.kind),
                connected: d.start_connected || d.connected,
            }
        })
        .collect()
}

fn is_link_local(ip: &str) -> bool {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_link_local(),
        Ok(std::net::IpAddr::V6(v6)) => (v6.segments()[0] & 0xffc0) == 0xfe80,
        Err(_) => false,
    }
}

fn is_ipv4(ip: &str) -> bool {
    ip.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Guest addresses with prefix, origin, gateway and DNS (§9.8): link-local addresses are
/// skipped, IPv4 entries come first (stable order otherwise).
fn convert_guest_networks(guest: Option<&Node>) -> Vec<GuestNetwork> {
    let Some(guest) = guest else {
        return Vec::new();
    };
    let stacks: Vec<&Node> = guest.children_named("ipStack").collect();
    let dns: Vec<String> = stacks
        .first()
        .and_then(|s| s.path(&["dnsConfig"]))
        .map(|d| {
            d.children_named("ipAddress")
                .map(|a| a.text.trim().to_owned())
                .collect()
        })
        .unwrap_or_default();
    // Default routes: (device index, gateway).
    let routes: Vec<(String, String)> = stacks
        .iter()
        .filter_map(|s| s.child("ipRouteConfig"))
        .flat_map(|c| c.children_named("ipRoute"))
        .filter(|r| {
            matches!(
                r.child_text("network").map(str::trim),
                Some("0.0.0.0" | "::")
            ) && r.child_parse::<u32>("prefixLength") == Some(0)
        })
        .filter_map(|r| {
            let gateway = r.child("gateway")?;
            let ip = gateway.child_text("ipAddress")?.trim().to_owned();
            (!ip.is_empty()).then(|| (text(Some(gateway), "device"), ip))
        })
        .collect();
    let gateway_for = |device: &str, ip: &str| -> String {
        let v4 = is_ipv4(ip);
        let same_family = |g: &&(String, String)| is_ipv4(&g.1) == v4;
        routes
            .iter()
            .filter(same_family)
            .find(|(dev, _)| dev == device)
            .or_else(|| {
                routes
                    .iter()
                    .filter(same_family)
                    .find(|(dev, _)| dev.is_empty())
            })
            .map(|(_, gw)| gw.clone())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for (index, net) in guest.children_named("net").enumerate() {
        let mac = net.child_text("macAddress").unwrap_or("").trim().to_owned();
        let device = index.to_string();
        let configured: Vec<(String, u8, String)> = net
            .child("ipConfig")
            .map(|c| {
                c.children_named("ipAddress")
                    .filter_map(|a| {
                        Some((
                            a.child_text("ipAddress")?.trim().to_owned(),
                            a.child_parse("prefixLength").unwrap_or(0),
                            a.child_text("origin").unwrap_or("").trim().to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let addresses = if configured.is_empty() {
            net.children_named("ipAddress")
                .map(|a| (a.text.trim().to_owned(), 0, String::new()))
                .collect()
        } else {
            configured
        };
        for (ip, prefix_length, origin) in addresses {
            if ip.is_empty() || is_link_local(&ip) {
                continue;
            }
            out.push(GuestNetwork {
                device: String::new(),
                mac: mac.clone(),
                gateway: gateway_for(&device, &ip),
                ip,
                prefix_length,
                dns: dns.clone(),
                origin,
            });
        }
    }
    // IPv4 first, otherwise stable.
    out.sort_by_key(|g| !is_ipv4(&g.ip));
    out
}

fn count_snapshots(node: &Node) -> u32 {
    node.children_named("rootSnapshotList")
        .chain(node.children_named("childSnapshotList"))
        .map(|child| 1 + count_snapshots(child))
        .sum()
}

fn convert_vm(
    objects: &Objects<'_>,
    o: &ObjectContent,
    networks: &[Network],
    opaque: &HashMap<String, &Network>,
    clusters: &HashMap<String, ClusterFacts>,
) -> Vm {
    let config = o.prop("config");
    let guest = o.prop("guest");
    let runtime = o.prop("runtime");
    let snapshot = o.prop("snapshot");
    let devices = config
        .and_then(|c| c.child("hardware"))
        .map(parse_devices)
        .unwrap_or_default();
    let extra = extra_config(config);
    let hardware = config.and_then(|c| c.child("hardware"));
    let host = runtime
        .and_then(|r| r.child("host"))
        .and_then(MoRef::from_node);
    let cluster = host
        .as_ref()
        .and_then(|h| objects.get(h))
        .and_then(|h| objects.parent(h))
        .filter(|p| p.obj.kind == "ClusterComputeResource")
        .and_then(|p| clusters.get(&p.obj.value));
    let tools_status = text(guest, "toolsStatus");
    let tools_running = text(guest, "toolsRunningStatus");
    let bool_of =
        |node: Option<&Node>, name: &str| node.and_then(|n| n.child_bool(name)).unwrap_or(false);
    let guest_disks = guest
        .map(|g| {
            g.children_named("disk")
                .map(|d| GuestDisk {
                    key: d
                        .child("mappings")
                        .and_then(|m| m.child_parse("key"))
                        .unwrap_or(0),
                    disk_path: d.child_text("diskPath").unwrap_or("").to_owned(),
                    capacity: d.child_parse("capacity").unwrap_or(0),
                    free_space: d.child_parse("freeSpace").unwrap_or(0),
                    filesystem_type: d.child_text("filesystemType").unwrap_or("").to_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    let ext = VsphereVmExt {
        uuid: text(config, "uuid"),
        instance_uuid: text(config, "instanceUuid"),
        guest_name: {
            let name = text(guest, "guestFullName");
            if name.is_empty() {
                text(config, "guestFullName")
            } else {
                name
            }
        },
        host_name: text(guest, "hostName"),
        tools_running_status: tools_running.clone(),
        tools_version_status: {
            let v2 = text(guest, "toolsVersionStatus2");
            if v2.is_empty() {
                text(guest, "toolsVersionStatus")
            } else {
                v2
            }
        },
        current_snapshot: text(snapshot, "currentSnapshot"),
        cpu_hot_add_enabled: bool_of(config, "cpuHotAddEnabled"),
        cpu_hot_remove_enabled: bool_of(config, "cpuHotRemoveEnabled"),
        memory_hot_add_enabled: bool_of(config, "memoryHotAddEnabled"),
        cpu_affinity: config
            .and_then(|c| c.child("cpuAffinity"))
            .map(|a| {
                a.children_named("affinitySet")
                    .filter_map(Node::parse)
                    .collect()
            })
            .unwrap_or_default(),
        numa_node_affinity: extra
            .get("numa.nodeAffinity")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        fault_tolerance_enabled: config.is_some_and(|c| c.child("ftInfo").is_some()),
        nested_hv_enabled: bool_of(config, "nestedHVEnabled"),
        passthrough_supported: devices.iter().any(|d| d.kind == "VirtualPCIPassthrough"),
        sriov_supported: devices.iter().any(|d| d.kind == "VirtualSriovEthernetCard"),
        usb_supported: devices.iter().any(|d| {
            matches!(
                d.kind.as_str(),
                "VirtualUSBController" | "VirtualUSBXHCIController"
            )
        }),
        storage_used: o
            .prop("summary.storage")
            .and_then(|s| s.child_parse("committed"))
            .unwrap_or(0),
        drs_enabled: cluster.is_some_and(|c| c.drs),
        dpm_enabled: cluster.is_some_and(|c| c.dpm),
        ha_enabled: cluster.is_some_and(|c| c.ha),
        host_affinity: cluster.is_some_and(|c| c.affine_vms.contains(&o.obj.value)),
        guest_disks,
        tags: BTreeMap::new(),
        custom_attributes: BTreeMap::new(),
    };
    let mut vm = Vm {
        id: o.obj.value.clone(),
        name: name(o),
        path: objects.path(o),
        namespace: String::new(),
        power_state: power_state(&text(runtime, "powerState")),
        host: host.map(|h| h.value).unwrap_or_default(),
        cpu_count: hardware.and_then(|h| h.child_parse("numCPU")).unwrap_or(0),
        cores_per_socket: hardware
            .and_then(|h| h.child_parse("numCoresPerSocket"))
            .unwrap_or(0),
        memory_mib: hardware
            .and_then(|h| h.child_parse("memoryMB"))
            .unwrap_or(0),
        firmware: match text(config, "firmware").as_str() {
            "efi" => Firmware::Efi,
            "bios" => Firmware::Bios,
            _ => Firmware::Unknown,
        },
        secure_boot: config
            .and_then(|c| c.path(&["bootOptions", "efiSecureBootEnabled"]))
            .is_some_and(|n| n.text.trim() == "true"),
        tpm_enabled: devices.iter().any(|d| d.kind == "VirtualTPM"),
        measured_boot: false,
        hibernated: false,
        guest_os: text(config, "guestId"),
        guest_tools: match tools_status.as_str() {
            "toolsOk" => ToolsStatus::Ok,
            "toolsOld" => ToolsStatus::Old,
            "toolsNotInstalled" => ToolsStatus::NotInstalled,
            "toolsNotRunning" => ToolsStatus::NotRunning,
            _ => ToolsStatus::Unknown,
        },
        guest_tools_running: (!tools_running.is_empty())
            .then(|| tools_running == "guestToolsRunning"),
        change_tracking_enabled: bool_of(config, "changeTrackingEnabled")
            || is_true(extra.get("ctkEnabled")),
        snapshot_count: snapshot.map(count_snapshots).unwrap_or(0),
        consolidation_needed: bool_of(runtime, "consolidationNeeded"),
        template: bool_of(config, "template"),
        disks: convert_disks(&devices, &extra),
        nics: convert_nics(&devices, networks, opaque),
        guest_networks: convert_guest_networks(guest),
        cdroms: devices
            .iter()
            .filter(|d| d.kind == "VirtualCdrom")
            .map(|d| CdRom {
                name: d.label.clone(),
                iso: d.file.clone(),
                connected: d.connected || d.start_connected,
            })
            .collect(),
        concerns: Vec::new(),
        ext: Some(VmExt::Vsphere(ext)),
    };
    vm.concerns = vsphere_concerns(&vm);
    vm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vsphere::xml::parse;

    fn obj(kind: &str, value: &str, props: &[(&str, &str)]) -> ObjectContent {
        ObjectContent {
            obj: MoRef::new(kind, value),
            props: props
                .iter()
                .map(|(name, xml)| {
                    // `<x type=..>` stands for a MoRef-valued property: the val is the ref.
                    let wrapped = match xml.strip_prefix("<x ") {
                        Some(moref) => format!("<val {}", moref.replace("</x>", "</val>")),
                        None => format!(
                            r#"<val xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{xml}</val>"#
                        ),
                    };
                    (name.to_string(), parse(&wrapped).unwrap())
                })
                .collect(),
        }
    }

    const VM_CONFIG: &str = r#"
        <uuid>4213a1b2-0000-0000-0000-000000000001</uuid><guestId>rhel9_64Guest</guestId>
        <firmware>efi</firmware><bootOptions><efiSecureBootEnabled>true</efiSecureBootEnabled></bootOptions>
        <changeTrackingEnabled>true</changeTrackingEnabled><template>false</template>
        <hardware><numCPU>4</numCPU><numCoresPerSocket>2</numCoresPerSocket><memoryMB>8192</memoryMB>
          <device xsi:type="VirtualLsiLogicController"><key>1000</key><busNumber>0</busNumber></device>
          <device xsi:type="ParaVirtualSCSIController"><key>1001</key><busNumber>1</busNumber></device>
          <device xsi:type="VirtualAHCIController"><key>15000</key><busNumber>0</busNumber></device>
          <device xsi:type="VirtualNVMEController"><key>31000</key><busNumber>0</busNumber></device>
          <device xsi:type="VirtualDisk"><key>2001</key><controllerKey>1001</controllerKey><unitNumber>0</unitNumber>
            <capacityInBytes>2147483648</capacityInBytes>
            <backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds1] vm1/vm1_2-000001.vmdk</fileName>
              <datastore type="Datastore">datastore-11</datastore><diskMode>independent_persistent</diskMode>
              <uuid>6000C29a-1</uuid><sharing>sharingMultiWriter</sharing></backing></device>
          <device xsi:type="VirtualDisk"><key>2000</key><controllerKey>1000</controllerKey><unitNumber>0</unitNumber>
            <capacityInBytes>10737418240</capacityInBytes>
            <backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds1] vm1/vm1.vmdk</fileName>
              <datastore type="Datastore">datastore-11</datastore><diskMode>persistent</diskMode></backing></device>
          <device xsi:type="VirtualDisk"><key>16000</key><controllerKey>15000</controllerKey><unitNumber>1</unitNumber>
            <capacityInKB>1024</capacityInKB>
            <backing xsi:type="VirtualDiskRawDiskMappingVer1BackingInfo"><fileName>[ds1] vm1/rdm.vmdk</fileName>
              <datastore type="Datastore">datastore-11</datastore><compatibilityMode>physicalMode</compatibilityMode>
              <lunUuid>0200</lunUuid></backing></device>
          <device xsi:type="VirtualDisk"><key>32000</key><controllerKey>31000</controllerKey><unitNumber>0</unitNumber>
            <capacityInBytes>1073741824</capacityInBytes>
            <backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds1] vm1/nvme.vmdk</fileName></backing></device>
          <device xsi:type="VirtualVmxnet3"><key>4000</key><deviceInfo><label>Network adapter 1</label></deviceInfo>
            <macAddress>00:50:56:aa:bb:01</macAddress>
            <backing xsi:type="VirtualEthernetCardNetworkBackingInfo"><network type="Network">network-7</network></backing>
            <connectable><startConnected>true</startConnected><connected>true</connected></connectable></device>
          <device xsi:type="VirtualTPM"><key>11000</key></device>
        </hardware>
        <extraConfig><key>ctkEnabled</key><value>TRUE</value></extraConfig>
        <extraConfig><key>scsi0:0.ctkEnabled</key><value>TRUE</value></extraConfig>
        <extraConfig><key>scsi1:0.ctkEnabled</key><value>FALSE</value></extraConfig>
        <extraConfig><key>sata0:1.ctkEnabled</key><value>true</value></extraConfig>"#;

    const VM_GUEST: &str = r#"
        <toolsStatus>toolsOk</toolsStatus><toolsRunningStatus>guestToolsRunning</toolsRunningStatus>
        <hostName>web1</hostName>
        <net><macAddress>00:50:56:aa:bb:01</macAddress>
          <ipConfig>
            <ipAddress><ipAddress>fe80::250:56ff:feaa:bb01</ipAddress><prefixLength>64</prefixLength></ipAddress>
            <ipAddress><ipAddress>2001:db8::10</ipAddress><prefixLength>64</prefixLength><origin>manual</origin></ipAddress>
            <ipAddress><ipAddress>192.0.2.10</ipAddress><prefixLength>24</prefixLength><origin>manual</origin></ipAddress>
          </ipConfig></net>
        <ipStack><dnsConfig><ipAddress>192.0.2.53</ipAddress></dnsConfig>
          <ipRouteConfig>
            <ipRoute><network>0.0.0.0</network><prefixLength>0</prefixLength><gateway><ipAddress>192.0.2.1</ipAddress><device>0</device></gateway></ipRoute>
            <ipRoute><network>::</network><prefixLength>0</prefixLength><gateway><ipAddress>2001:db8::1</ipAddress><device>0</device></gateway></ipRoute>
            <ipRoute><network>192.0.2.0</network><prefixLength>24</prefixLength><gateway><device>0</device></gateway></ipRoute>
          </ipRouteConfig></ipStack>
        <disk><diskPath>/</diskPath><capacity>100</capacity><freeSpace>40</freeSpace><filesystemType>xfs</filesystemType>
          <mappings><key>2000</key></mappings></disk>"#;

    fn sample() -> Vec<ObjectContent> {
        vec![
            obj("Folder", "group-d1", &[("name", "Datacenters")]),
            obj(
                "Datacenter",
                "datacenter-2",
                &[
                    ("name", "DC"),
                    ("parent", r#"<x type="Folder">group-d1</x>"#),
                ],
            ),
            obj(
                "Folder",
                "group-h4",
                &[
                    ("name", "host"),
                    ("parent", r#"<x type="Datacenter">datacenter-2</x>"#),
                ],
            ),
            obj(
                "Folder",
                "group-v3",
                &[
                    ("name", "vm"),
                    ("parent", r#"<x type="Datacenter">datacenter-2</x>"#),
                ],
            ),
            obj(
                "Folder",
                "group-n5",
                &[
                    ("name", "network"),
                    ("parent", r#"<x type="Datacenter">datacenter-2</x>"#),
                ],
            ),
            obj(
                "ClusterComputeResource",
                "domain-c8",
                &[
                    ("name", "Cluster"),
                    ("parent", r#"<x type="Folder">group-h4</x>"#),
                    (
                        "configurationEx",
                        r#"<drsConfig><enabled>true</enabled></drsConfig><dasConfig><enabled>true</enabled></dasConfig>
                           <group xsi:type="ClusterVmGroup"><name>pinned</name><vm type="VirtualMachine">vm-20</vm></group>
                           <rule xsi:type="ClusterVmHostRuleInfo"><enabled>true</enabled><vmGroupName>pinned</vmGroupName></rule>"#,
                    ),
                ],
            ),
            obj(
                "HostSystem",
                "host-10",
                &[
                    ("name", "esx1.example.com"),
                    (
                        "parent",
                        r#"<x type="ClusterComputeResource">domain-c8</x>"#,
                    ),
                    ("runtime.inMaintenanceMode", "true"),
                    ("summary.config.sslThumbprint", "AA:BB"),
                    ("summary.config.product.version", "8.0.2"),
                    (
                        "config.network.vnic",
                        "<HostVirtualNic><spec><ip><ipAddress>10.0.0.5</ipAddress></ip></spec></HostVirtualNic>",
                    ),
                ],
            ),
            obj(
                "Network",
                "network-7",
                &[
                    ("name", "VM Network"),
                    ("parent", r#"<x type="Folder">group-n5</x>"#),
                ],
            ),
            obj(
                "VirtualMachine",
                "vm-20",
                &[
                    ("name", "web1"),
                    ("parent", r#"<x type="Folder">group-v3</x>"#),
                    ("config", VM_CONFIG),
                    ("guest", VM_GUEST),
                    (
                        "runtime",
                        r#"<powerState>poweredOff</powerState><host type="HostSystem">host-10</host>"#,
                    ),
                    (
                        "snapshot",
                        r#"<currentSnapshot type="VirtualMachineSnapshot">snapshot-31</currentSnapshot>
                           <rootSnapshotList><name>a</name><childSnapshotList><name>b</name></childSnapshotList></rootSnapshotList>"#,
                    ),
                ],
            ),
        ]
    }

    #[test]
    fn converts_a_vm_with_every_disk_kind() {
        let inventory = convert(&sample(), "vcenter", "8.0.2.0");
        let vm = &inventory.vms[0];
        assert_eq!(vm.path, "/DC/vm/web1");
        assert_eq!(
            (vm.cpu_count, vm.cores_per_socket, vm.memory_mib),
            (4, 2, 8192)
        );
        assert_eq!(vm.firmware, Firmware::Efi);
        assert!(vm.secure_boot && vm.tpm_enabled && vm.change_tracking_enabled);
        assert_eq!(vm.snapshot_count, 2);
        assert_eq!(vm.guest_tools, ToolsStatus::Ok);

        // VMware order: SATA, IDE, SCSI (by controller key), NVMe.
        let keys: Vec<i32> = vm.disks.iter().map(|d| d.key).collect();
        assert_eq!(keys, vec![16000, 2000, 2001, 32000]);
        let [rdm, first, shared, nvme] = &vm.disks[..] else {
            panic!()
        };
        assert!(rdm.rdm && rdm.physical_mode && rdm.change_tracking_enabled);
        assert_eq!(rdm.capacity, 1024 * 1024);
        assert!(first.change_tracking_enabled && !shared.change_tracking_enabled);
        assert!(shared.shared && shared.mode.is_independent());
        assert_eq!(shared.file, "[ds1] vm1/vm1_2-000001.vmdk");
        assert_eq!(nvme.bus, DiskBus::Nvme);
        assert!(nvme.storage.is_empty());

        let nic = &vm.nics[0];
        assert_eq!(nic.network.id, "network-7");
        assert_eq!(nic.network.name, "VM Network");
        assert_eq!(nic.model, "vmxnet3");

        // Link-local skipped, IPv4 first, gateways per family, DNS from the IP stack.
        let ips: Vec<(&str, u8, &str)> = vm
            .guest_networks
            .iter()
            .map(|g| (g.ip.as_str(), g.prefix_length, g.gateway.as_str()))
            .collect();
        assert_eq!(
            ips,
            vec![
                ("192.0.2.10", 24, "192.0.2.1"),
                ("2001:db8::10", 64, "2001:db8::1")
            ]
        );
        assert_eq!(vm.guest_networks[0].dns, vec!["192.0.2.53"]);
        assert_eq!(vm.guest_networks[0].origin, "manual");

        let ext = vm.vsphere().unwrap();
        assert!(ext.drs_enabled && ext.ha_enabled && ext.host_affinity);
        assert_eq!(ext.current_snapshot, "snapshot-31");
        assert_eq!(ext.guest_disks[0].key, 2000);

        let ids: Vec<&str> = vm.concerns.iter().map(|c| c.id.as_str()).collect();
        for expected in [
            "vmware.disk.rdm.detected",
            "vmware.disk.shared.detected",
            "vmware.disk_mode.independent",
            "vmware.datastore.missing",
            "vmware.snapshot.detected",
            "vmware.tpm.detected",
            "vmware.host_affinity.detected",
        ] {
            assert!(ids.contains(&expected), "{expected} not in {ids:?}");
        }

        let host = &inventory.hosts[0];
        assert!(host.in_maintenance);
        assert_eq!(host.cluster, "domain-c8");
        assert_eq!(host.path, "/DC/host/Cluster/esx1.example.com");
        assert_eq!(host.management_ip, "10.0.0.5");
        assert_eq!(inventory.provider_name, "vcenter");
    }

    #[test]
    fn missing_properties_do_not_panic() {
        let objects = vec![
            obj("VirtualMachine", "vm-1", &[]),
            obj("HostSystem", "host-1", &[]),
        ];
        let inventory = convert(&objects, "", "");
        assert_eq!(inventory.vms[0].disks.len(), 0);
        assert_eq!(inventory.vms[0].path, "/");
    }
}
