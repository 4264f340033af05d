//! Property: whatever the plan and inventory hold, `render` does not panic, and every
//! object it returns validates against KubeVirt's OpenAPI document.

mod support;

use std::sync::OnceLock;

use forklift_core::inventory::{Disk, Nic, NicNetwork, SourceInventory, Vm};
use forklift_core::render::{RenderContext, RenderInput, render};
use forklift_core::resources::{
    ForkliftControllerSettings, NetworkMap, Plan, PlanVm, ProviderType, StorageMap,
    TargetPowerState,
};
use proptest::prelude::*;
use serde_json::json;
use support::openapi::OpenApi;

fn api() -> &'static OpenApi {
    static API: OnceLock<OpenApi> = OnceLock::new();
    API.get_or_init(OpenApi::load)
}

fn kinds() -> impl Strategy<Value = ProviderType> {
    // Every type but EC2 and Nutanix, which no inventory collector produces.
    let collected = ProviderType::ALL
        .iter()
        .copied()
        .filter(|t| !matches!(t, ProviderType::Ec2 | ProviderType::Nutanix));
    prop::sample::select(collected.collect::<Vec<_>>())
}

fn disk() -> impl Strategy<Value = Disk> {
    (
        any::<i64>(),
        0u8..3,
        "\\PC{0,12}",
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(capacity, storage, serial, shared, rdm)| Disk {
            id: format!("disk-{storage}-{}", capacity.rem_euclid(97)),
            file: format!("[ds{storage}] vm/disk.vmdk"),
            storage: format!("ds-{storage}"),
            capacity,
            serial,
            shared,
            rdm,
            ..Disk::default()
        })
}

fn nic() -> impl Strategy<Value = Nic> {
    (0u8..4, any::<bool>(), any::<bool>()).prop_map(|(net, pod, connected)| Nic {
        name: format!("nic-{net}"),
        mac: format!("00:50:56:00:00:{net:02x}"),
        network: NicNetwork {
            id: format!("net-{net}"),
            pod,
            ..NicNetwork::default()
        },
        connected,
        ..Nic::default()
    })
}

fn vm() -> impl Strategy<Value = Vm> {
    (
        "\\PC{0,20}",
        0u32..64,
        0u32..8,
        0u64..1_000_000,
        prop::collection::vec(disk(), 0..4),
        prop::collection::vec(nic(), 0..3),
        any::<bool>(),
        "[a-z0-9_]{0,16}",
    )
        .prop_map(|(name, cpus, cores, mem, disks, nics, efi, os)| Vm {
            name,
            cpu_count: cpus,
            cores_per_socket: cores,
            memory_mib: mem,
            disks,
            nics,
            secure_boot: efi,
            firmware: if efi {
                forklift_core::inventory::Firmware::Efi
            } else {
                forklift_core::inventory::Firmware::Bios
            },
            guest_os: os,
            ..Vm::default()
        })
}

fn settings() -> ForkliftControllerSettings {
    ForkliftControllerSettings::default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn render_never_panics_and_output_validates(
        kind in kinds(),
        vms in prop::collection::vec(vm(), 1..4),
        root in "(/dev/sd[a-z]|\\PC{0,6})",
        template in prop_oneof![Just(String::new()), "\\PC{0,24}", Just("{{.VmName}}-{{.DiskIndex}}".to_owned())],
        target_name in prop_oneof![Just(String::new()), "[a-zA-Z0-9._-]{0,20}"],
        warm: bool,
        skip: bool,
        power in prop::option::of(prop_oneof![Just(TargetPowerState::On), Just(TargetPowerState::Off), Just(TargetPowerState::Auto)]),
    ) {
        let mut vms = vms;
        for (i, vm) in vms.iter_mut().enumerate() {
            vm.id = format!("vm-{i}");
        }
        let inventory = SourceInventory { provider: kind, vms: vms.clone(), ..SourceInventory::default() };
        let mut plan: Plan = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "mtv"},
            "spec": {"targetNamespace": "t"}
        })).unwrap();
        plan.spec.warm = warm;
        plan.spec.skip_guest_conversion = skip;
        plan.spec.pvc_name_template = template;
        plan.spec.target_power_state = power;
        plan.spec.vms = vms.iter().map(|v| PlanVm {
            id: v.id.clone(),
            root_disk: root.clone(),
            target_name: target_name.clone(),
            ..PlanVm::default()
        }).collect();
        let storage: StorageMap = serde_json::from_value(json!({
            "metadata": {"name": "s"}, "spec": {"provider": {"source": {}, "destination": {}},
            "map": [{"source": {"id": "ds-0"}, "destination": {"storageClass": "a"}},
                    {"source": {"id": "ds-1"}, "destination": {"storageClass": "b", "volumeMode": "Block"}}]}
        })).unwrap();
        let network: NetworkMap = serde_json::from_value(json!({
            "metadata": {"name": "n"}, "spec": {"provider": {"source": {}, "destination": {}},
            "map": [{"source": {"id": "net-0"}, "destination": {"type": "pod"}},
                    {"source": {"id": "net-1"}, "destination": {"type": "multus", "namespace": "t", "name": "x"}},
                    {"source": {"id": "net-2"}, "destination": {"type": "ignored"}}]}
        })).unwrap();
        let settings = settings();
        let spec = render(RenderInput {
            plan: &plan,
            network_map: Some(&network),
            storage_map: Some(&storage),
            hooks: &[],
            source_provider: None,
            destination_provider: None,
            source: &inventory,
            destination: None,
            settings: &settings,
            context: &RenderContext::default(),
        });
        prop_assert_eq!(spec.vms.len(), vms.len());
        for m in spec.manifests() {
            let errors = match m["kind"].as_str().unwrap_or_default() {
                "VirtualMachine" => api().validate("v1.VirtualMachine", &m),
                "DataVolume" => api().validate_data_volume(&m),
                "PersistentVolumeClaim" => api().validate_pvc(&m),
                other => vec![format!("unexpected kind {other}")],
            };
            prop_assert!(errors.is_empty(), "{:?}\n{}", errors, serde_json::to_string_pretty(&m).unwrap());
        }
        // Every volume the VM mounts is one of the claims rendered for it.
        for vm in &spec.vms {
            if let Some(machine) = &vm.virtual_machine {
                let claims: Vec<_> = vm.disks.iter().map(|d| d.claim_name.as_str()).collect();
                for volume in &machine.spec.template.spec.volumes {
                    let claim = volume.persistent_volume_claim.as_ref().map(|c| c.claim_name.as_str());
                    prop_assert!(claim.is_some_and(|c| claims.contains(&c)));
                }
            }
        }
    }
}
