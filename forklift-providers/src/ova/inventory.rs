//! The catalog as the provider-neutral inventory of `forklift-core`.
//!
//! Storage is exposed in both forms users meet: the single `Dummy storage for source
//! provider <name>` the guide tells StorageMaps to name (every disk of the provider is on
//! it), and one storage per disk with the disk's ID and file name, as current upstream
//! reports. Each VM disk refers to its own per-disk storage; a map entry naming the dummy
//! storage covers all of them. Concerns are upstream's OVA rule set (§2.8).

use forklift_core::inventory::{
    ConcernCategory, Disk, DiskBus, Firmware, Network, NetworkKind, Nic, NicNetwork, OvaVmExt,
    PowerState, ProviderExt, SourceInventory, Storage, StorageKind, Vm, VmExt, concerns,
};
use forklift_core::resources::ProviderType;

use super::catalog::CatalogInventory;
use super::ids;
use super::vm::{OvaDisk, OvaVm};

const MIB: u64 = 1 << 20;

/// Name of the single storage the guide's OVA StorageMaps refer to.
pub fn dummy_storage_name(provider_name: &str) -> String {
    format!("Dummy storage for source provider {provider_name}")
}

/// ID of the dummy storage: stable per provider name (upstream used the provider's UID).
pub fn dummy_storage_id(provider_name: &str) -> String {
    ids::storage_id(provider_name)
}

fn bus(controller: &str) -> DiskBus {
    match controller {
        "scsi" => DiskBus::Scsi,
        "ide" => DiskBus::Ide,
        "sata" => DiskBus::Sata,
        "nvme" => DiskBus::Nvme,
        _ => DiskBus::Unknown,
    }
}

fn disk(index: usize, d: &OvaDisk) -> Disk {
    Disk {
        id: d.id.clone(),
        key: i32::try_from(index).unwrap_or(i32::MAX),
        file: d.name.clone(),
        storage: d.id.clone(),
        capacity: d
            .capacity_bytes
            .and_then(|c| i64::try_from(c).ok())
            .unwrap_or(0),
        bus: bus(&d.controller),
        unit_number: i32::try_from(index).unwrap_or(i32::MAX),
        ..Disk::default()
    }
}

/// The inventory VM for an OVA VM, concerns included.
pub fn vm(ova: &OvaVm) -> Vm {
    let firmware = match ova.firmware.to_ascii_lowercase().as_str() {
        "efi" | "uefi" => Firmware::Efi,
        "bios" => Firmware::Bios,
        _ => Firmware::Unknown,
    };
    let memory_mib = match ova.memory_bytes {
        Some(bytes) => bytes.div_ceil(MIB),
        // Units upstream cannot read either: keep the quantity as MiB.
        None => ova.memory_mb,
    };
    let mut vm = Vm {
        id: ova.id.clone(),
        name: ova.name.clone(),
        path: ova.package.clone(),
        power_state: PowerState::Off,
        cpu_count: u32::try_from(ova.cpu_count).unwrap_or(u32::MAX),
        cores_per_socket: u32::try_from(ova.cores_per_socket).unwrap_or(u32::MAX),
        memory_mib,
        firmware,
        secure_boot: ova.secure_boot,
        guest_os: ova.os_type.clone(),
        disks: ova
            .disks
            .iter()
            .enumerate()
            .map(|(i, d)| disk(i, d))
            .collect(),
        nics: ova
            .nics
            .iter()
            .map(|n| Nic {
                name: n.name.clone(),
                mac: n.mac.clone(),
                network: NicNetwork {
                    id: ids::network_id(&n.network),
                    name: n.network.clone(),
                    ..NicNetwork::default()
                },
                model: n.model.clone(),
                connected: true,
            })
            .collect(),
        ext: Some(VmExt::Ova(OvaVmExt {
            ovf_path: ova.ovf_path.clone(),
            export_source: ova.export_source.clone(),
            os_type: ova.os_type.clone(),
            cpu_units: ova.cpu_units.clone(),
            memory_units: ova.memory_units.clone(),
            cpu_hot_add_enabled: ova.cpu_hot_add_enabled,
            cpu_hot_remove_enabled: ova.cpu_hot_remove_enabled,
            memory_hot_add_enabled: ova.memory_hot_add_enabled,
            cpu_affinity: ova
                .cpu_affinity
                .iter()
                .filter_map(|&c| i32::try_from(c).ok())
                .collect(),
            devices: ova.devices.iter().map(|d| d.kind.clone()).collect(),
        })),
        ..Vm::default()
    };
    vm.concerns = concerns::ova_concerns(&vm);
    vm
}

/// The source inventory of provider `provider_name` for a scanned catalog.
pub fn source_inventory(provider_name: &str, catalog: &CatalogInventory) -> SourceInventory {
    let mut storages = vec![Storage {
        id: dummy_storage_id(provider_name),
        name: dummy_storage_name(provider_name),
        kind: StorageKind::OvaDisk,
        capacity: Some(catalog.disks.iter().filter_map(|d| d.capacity_bytes).sum()),
        ..Storage::default()
    }];
    storages.extend(catalog.disks.iter().map(|d| Storage {
        id: d.id.clone(),
        name: d.name.clone(),
        path: format!(
            "{}{}",
            d.file_path,
            if d.file_path.ends_with('/') {
                d.name.as_str()
            } else {
                ""
            }
        ),
        kind: StorageKind::OvaDisk,
        capacity: d.capacity_bytes,
        ..Storage::default()
    }));
    SourceInventory {
        provider: ProviderType::Ova,
        provider_name: provider_name.to_owned(),
        vms: catalog.vms.iter().map(vm).collect(),
        networks: catalog
            .networks
            .iter()
            .map(|n| Network {
                id: n.id.clone(),
                name: n.name.clone(),
                kind: NetworkKind::Standard,
                ..Network::default()
            })
            .collect(),
        storages,
        hosts: Vec::new(),
        ext: Some(ProviderExt::Ova {
            skipped: catalog.skipped.iter().map(|s| s.to_model()).collect(),
        }),
    }
}

/// Whether `vm` carries a concern that blocks migration.
pub fn has_critical_concern(vm: &Vm) -> bool {
    vm.concerns
        .iter()
        .any(|c| c.category == ConcernCategory::Critical)
}
