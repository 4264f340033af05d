use super::*;
use crate::resources::ProviderType;

fn sample() -> SourceInventory {
    SourceInventory {
        provider: ProviderType::VSphere,
        vms: vec![
            Vm {
                id: "vm-1".into(),
                name: "web".into(),
                ..Vm::default()
            },
            Vm {
                id: "vm-2".into(),
                name: "db".into(),
                ..Vm::default()
            },
            Vm {
                id: "vm-3".into(),
                name: "db".into(),
                ..Vm::default()
            },
        ],
        networks: vec![Network {
            id: "net-1".into(),
            name: "VM Network".into(),
            ..Network::default()
        }],
        storages: vec![Storage {
            id: "ds-1".into(),
            name: "ds".into(),
            ..Storage::default()
        }],
        ..SourceInventory::default()
    }
}

#[test]
fn lookup_prefers_id_then_unique_name() {
    let inv = sample();
    let index = inv.index();
    for (id, name, expected) in [
        ("vm-2", "web", Some("vm-2")),
        ("", "web", Some("vm-1")),
        ("vm-9", "web", None),
        ("", "nope", None),
        ("", "", None),
    ] {
        assert_eq!(
            inv.find_vm(id, name, "").found().map(|v| v.id.as_str()),
            expected
        );
        assert_eq!(
            index.find_vm(id, name, "").found().map(|v| v.id.as_str()),
            expected
        );
    }
    assert_eq!(inv.find_vm("", "db", ""), Lookup::Ambiguous);
    assert!(matches!(index.find_vm("", "db", ""), Lookup::Ambiguous));
    assert_eq!(
        index
            .find_network("", "VM Network")
            .found()
            .map(|n| n.id.as_str()),
        Some("net-1")
    );
    assert_eq!(
        index
            .find_storage("ds-1", "")
            .found()
            .map(|s| s.name.as_str()),
        Some("ds")
    );
}

#[test]
fn json_round_trip_uses_camel_case_and_typed_extensions() {
    let mut inv = sample();
    inv.vms[0].ext = Some(VmExt::Vsphere(VsphereVmExt {
        uuid: "4207".into(),
        ..Default::default()
    }));
    inv.vms[0].power_state = PowerState::On;
    inv.vms[0].disks.push(Disk {
        key: 2000,
        capacity: 1 << 30,
        mode: DiskMode::IndependentPersistent,
        bus: DiskBus::Nvme,
        ..Disk::default()
    });
    let text = inv.to_json();
    assert!(text.contains("\"powerState\": \"on\""));
    assert!(text.contains("\"independent_persistent\""));
    assert!(text.contains("\"vsphere\": {"));
    assert_eq!(SourceInventory::from_json(&text).unwrap(), inv);
}

#[test]
fn unknown_enum_values_fall_back_instead_of_failing() {
    let inv = SourceInventory::from_json(
        r#"{"provider":"ova","vms":[{"id":"a","powerState":"weird","guestTools":"toolsFancy",
            "disks":[{"bus":"scsi2","mode":"undoable"}],
            "concerns":[{"id":"x","category":"Info","label":"l"}]}]}"#,
    )
    .unwrap();
    let vm = &inv.vms[0];
    assert_eq!(vm.power_state, PowerState::Unknown);
    assert_eq!(vm.guest_tools, ToolsStatus::Unknown);
    assert_eq!(vm.disks[0].bus, DiskBus::Unknown);
    assert_eq!(vm.disks[0].mode, DiskMode::Other);
    assert_eq!(vm.concerns[0].category, ConcernCategory::Information);
}

#[test]
fn invalid_json_names_the_inventory() {
    let err = DestinationInventory::from_json("{\"namespaces\": 3}").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Invalid destination inventory JSON")
    );
}

#[test]
fn destination_lookups() {
    let dest = DestinationInventory {
        instance_types: vec![
            InstanceType {
                name: "u1.small".into(),
                ..Default::default()
            },
            InstanceType {
                name: "u1.small".into(),
                namespace: "ns".into(),
                cpu: 2,
                ..Default::default()
            },
        ],
        kubevirt: KubevirtConfig {
            feature_gates: vec!["decentralizedLiveMigration".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(dest.instance_type("ns", "u1.small").unwrap().cpu, 2);
    assert_eq!(dest.instance_type("other", "u1.small").unwrap().cpu, 0);
    assert!(dest.kubevirt.has_feature_gate("DecentralizedLiveMigration"));
}

#[test]
fn example_inventories_load_and_round_trip() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/inventory");
    let source = SourceInventory::from_json(
        &std::fs::read_to_string(format!("{dir}/vsphere-source.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(source.provider, ProviderType::VSphere);
    assert_eq!(source.vms.len(), 2);
    assert_eq!(
        source.vms[0].vsphere().unwrap().guest_disks[0].disk_path,
        "/"
    );
    assert!(
        matches!(&source.storages[1].ext, Some(StorageExt::Vsphere(x)) if x.datastore_type == DatastoreType::Vsan)
    );
    assert_eq!(
        SourceInventory::from_json(&source.to_json()).unwrap(),
        source
    );
    let dest = DestinationInventory::from_json(
        &std::fs::read_to_string(format!("{dir}/destination.json")).unwrap(),
    )
    .unwrap();
    assert!(dest.nad("migrated", "vlan-20").is_some());
    assert_eq!(
        DestinationInventory::from_json(&dest.to_json()).unwrap(),
        dest
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary text never panics the loaders: it parses or yields a typed error.
        #[test]
        fn loaders_never_panic(text in "\\PC{0,200}") {
            let _ = SourceInventory::from_json(&text);
            let _ = DestinationInventory::from_json(&text);
        }

        /// Any VM with arbitrary scalar fields survives a JSON round trip unchanged.
        #[test]
        fn vm_round_trips(
            id in "[a-z0-9-]{0,12}",
            capacity in any::<i64>(),
            cpu in any::<u32>(),
            shared in any::<bool>(),
            mac in "[0-9a-f:]{0,17}",
        ) {
            let inv = SourceInventory {
                vms: vec![Vm {
                    id,
                    cpu_count: cpu,
                    disks: vec![Disk { capacity, shared, ..Disk::default() }],
                    nics: vec![Nic { mac, ..Nic::default() }],
                    ..Vm::default()
                }],
                ..SourceInventory::default()
            };
            prop_assert_eq!(SourceInventory::from_json(&inv.to_json()).unwrap(), inv);
        }
    }
}

#[test]
fn inventory_json_spells_providers_as_spec_type() {
    // The spellings the inventory JSON used before the provider type moved to
    // `resources::ProviderType` (the lowercase variant names of the former `ProviderKind`).
    let spellings = [
        (ProviderType::VSphere, "vsphere"),
        (ProviderType::OVirt, "ovirt"),
        (ProviderType::OpenStack, "openstack"),
        (ProviderType::Ova, "ova"),
        (ProviderType::OpenShift, "openshift"),
        (ProviderType::HyperV, "hyperv"),
        (ProviderType::Ec2, "ec2"),
        (ProviderType::Nutanix, "nutanix"),
    ];
    assert_eq!(spellings.len(), ProviderType::ALL.len());
    for (provider, text) in spellings {
        let inventory = SourceInventory {
            provider,
            ..SourceInventory::default()
        };
        let json = serde_json::to_value(&inventory).unwrap();
        assert_eq!(json["provider"], text);
        let back = SourceInventory::from_json(&json.to_string()).unwrap();
        assert_eq!(back.provider, provider);
    }
    assert_eq!(SourceInventory::default().provider, ProviderType::VSphere);
    assert!(SourceInventory::from_json(r#"{"provider":"vmware"}"#).is_err());
}
