use super::*;
use crate::inventory::*;
use crate::resources::{
    MapRefs, NetworkDestination, NetworkDestinationType, NetworkMap, NetworkMapSpec, NetworkPair,
    NetworkSource, ObjectMeta, ObjectReference, Plan, PlanSpec, ProviderPair, ProviderType, Ref,
    StorageDestination, StorageMap, StorageMapSpec, StoragePair,
};

fn multus(ns: &str, name: &str) -> NetworkDestination {
    NetworkDestination {
        type_: NetworkDestinationType::Multus,
        namespace: ns.into(),
        name: name.into(),
    }
}

fn pod() -> NetworkDestination {
    NetworkDestination::default()
}

fn net_pair(source: NetworkSource, destination: NetworkDestination) -> NetworkPair {
    NetworkPair {
        source,
        destination,
    }
}

fn by_id(id: &str) -> NetworkSource {
    NetworkSource {
        id: id.into(),
        ..Default::default()
    }
}

fn nic_id(id: &str) -> NicNetwork {
    NicNetwork {
        id: id.into(),
        ..Default::default()
    }
}

#[test]
fn nad_pool_fans_nics_of_one_network_out_to_distinct_nads() {
    let pairs = vec![
        net_pair(by_id("net-1"), multus("t", "nad-a")),
        net_pair(by_id("net-1"), multus("t", "nad-b")),
        net_pair(by_id("net-2"), multus("t", "nad-c")),
    ];
    let mapper = NetworkMapper::new(&pairs, None);
    let nics = [
        nic_id("net-1"),
        nic_id("net-1"),
        nic_id("net-2"),
        nic_id("net-1"),
        nic_id("net-9"),
    ];
    let names: Vec<Option<&str>> = mapper
        .allocate(&nics)
        .into_iter()
        .map(|p| p.map(|p| p.destination.name.as_str()))
        .collect();
    // Third NIC on net-1 finds every NAD taken and reuses the first; net-9 is unmapped.
    assert_eq!(
        names,
        [
            Some("nad-a"),
            Some("nad-b"),
            Some("nad-c"),
            Some("nad-a"),
            None
        ]
    );
}

#[test]
fn non_multus_pairs_win_and_count_as_pod_networks() {
    let pairs = vec![
        net_pair(by_id("net-1"), multus("t", "nad-a")),
        net_pair(by_id("net-1"), pod()),
    ];
    let mapper = NetworkMapper::new(&pairs, None);
    let nics = [nic_id("net-1"), nic_id("net-1")];
    assert_eq!(mapper.pod_network_count(&nics), 2);
    let ignored = vec![net_pair(
        by_id("net-1"),
        NetworkDestination {
            type_: NetworkDestinationType::Ignored,
            ..Default::default()
        },
    )];
    let mapper = NetworkMapper::new(&ignored, None);
    assert!(mapper.is_mapped(&nic_id("net-1")));
    assert_eq!(mapper.pod_network_count(&nics), 0);
}

#[test]
fn kubevirt_sources_resolve_by_pod_type_and_namespace_name() {
    let pairs = vec![
        net_pair(
            NetworkSource {
                type_: "pod".into(),
                ..Default::default()
            },
            pod(),
        ),
        net_pair(
            NetworkSource {
                name: "src-ns/vlan10".into(),
                ..Default::default()
            },
            multus("t", "a"),
        ),
        net_pair(
            NetworkSource {
                namespace: "src-ns".into(),
                name: "vlan20".into(),
                ..Default::default()
            },
            multus("t", "b"),
        ),
    ];
    let mapper = NetworkMapper::new(&pairs, None);
    let pod_nic = NicNetwork {
        pod: true,
        ..Default::default()
    };
    let vlan10 = NicNetwork {
        namespace: "src-ns".into(),
        name: "vlan10".into(),
        ..Default::default()
    };
    let vlan20 = NicNetwork {
        name: "src-ns/vlan20".into(),
        ..Default::default()
    };
    let other = NicNetwork {
        namespace: "other".into(),
        name: "vlan10".into(),
        ..Default::default()
    };
    assert_eq!(
        mapper.candidates(&pod_nic)[0].destination.type_,
        NetworkDestinationType::Pod
    );
    assert_eq!(mapper.candidates(&vlan10)[0].destination.name, "a");
    assert_eq!(mapper.candidates(&vlan20)[0].destination.name, "b");
    assert!(!mapper.is_mapped(&other));
}

#[test]
fn names_resolve_to_inventory_ids_and_back() {
    let inventory = SourceInventory {
        networks: vec![Network {
            id: "net-7".into(),
            name: "VM Network".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let pairs = vec![net_pair(
        NetworkSource {
            name: "VM Network".into(),
            ..Default::default()
        },
        pod(),
    )];
    let mapper = NetworkMapper::new(&pairs, Some(&inventory));
    assert!(mapper.is_mapped(&nic_id("net-7")));
    // OVA NICs refer to networks by name.
    let pairs = vec![net_pair(by_id("net-7"), pod())];
    let mapper = NetworkMapper::new(&pairs, Some(&inventory));
    assert!(mapper.is_mapped(&NicNetwork {
        name: "VM Network".into(),
        ..Default::default()
    }));
}

#[test]
fn vlan_bounds() {
    assert_eq!(parse_vlan("1"), Ok(1));
    assert_eq!(parse_vlan("4094"), Ok(4094));
    for bad in ["0", "4095", "010", "x", ""] {
        assert!(parse_vlan(bad).is_err(), "{bad}");
    }
}

fn storage_pair(source: Ref, class: &str) -> StoragePair {
    StoragePair {
        source,
        destination: StorageDestination {
            storage_class: class.into(),
            ..Default::default()
        },
        offload_plugin: None,
    }
}

fn disk(id: &str, storage: &str) -> Disk {
    Disk {
        id: id.into(),
        storage: storage.into(),
        capacity: 1,
        ..Default::default()
    }
}

#[test]
fn storage_forms() {
    // vSphere: by datastore ID or name.
    let inventory = SourceInventory {
        storages: vec![Storage {
            id: "ds-1".into(),
            name: "fast".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let pairs = vec![storage_pair(Ref::by_name("fast"), "gold")];
    let mapper = StorageMapper::new(&pairs, Some(&inventory), "", "");
    let vm = Vm {
        disks: vec![disk("", "ds-1")],
        ..Default::default()
    };
    assert_eq!(
        mapper
            .pair_for_disk(&vm, &vm.disks[0])
            .unwrap()
            .destination
            .storage_class,
        "gold"
    );

    // OVA: per-disk entries win over the dummy catch-all.
    let ova = SourceInventory {
        provider: ProviderType::Ova,
        ..Default::default()
    };
    let pairs = vec![
        storage_pair(Ref::by_name(dummy_storage_name("my-ova")), "bronze"),
        storage_pair(Ref::by_id("disk-2"), "gold"),
    ];
    let mapper = StorageMapper::new(&pairs, Some(&ova), "my-ova", "uid-1");
    let vm = Vm {
        disks: vec![disk("disk-1", "disk-1"), disk("disk-2", "disk-2")],
        ..Default::default()
    };
    let classes: Vec<&str> = vm
        .disks
        .iter()
        .map(|d| {
            mapper
                .pair_for_disk(&vm, d)
                .unwrap()
                .destination
                .storage_class
                .as_str()
        })
        .collect();
    assert_eq!(classes, ["bronze", "gold"]);
    assert!(mapper.all_disks_mapped(&vm));
    // The dummy form of another provider does not apply; the provider UID form does.
    let mapper = StorageMapper::new(&pairs[..1], Some(&ova), "other", "");
    assert!(!mapper.all_disks_mapped(&vm));
    let pairs = vec![storage_pair(Ref::by_id("uid-1"), "bronze")];
    assert!(StorageMapper::new(&pairs, Some(&ova), "my-ova", "uid-1").all_disks_mapped(&vm));

    // OpenStack: image-booted root disk through `glance`.
    let openstack = SourceInventory {
        provider: ProviderType::OpenStack,
        ..Default::default()
    };
    let vm = Vm {
        disks: vec![disk("root", ""), disk("vol-1", "vt-1")],
        ext: Some(VmExt::Openstack(OpenstackVmExt {
            image_id: "img".into(),
            ..Default::default()
        })),
        ..Default::default()
    };
    let without_glance = vec![storage_pair(Ref::by_id("vt-1"), "gold")];
    assert!(!StorageMapper::new(&without_glance, Some(&openstack), "", "").all_disks_mapped(&vm));
    let with_glance = vec![
        storage_pair(Ref::by_id("vt-1"), "gold"),
        storage_pair(Ref::by_name(GLANCE_SOURCE), "silver"),
    ];
    let mapper = StorageMapper::new(&with_glance, Some(&openstack), "", "");
    assert!(mapper.all_disks_mapped(&vm));
    assert_eq!(
        mapper
            .pair_for_disk(&vm, &vm.disks[0])
            .unwrap()
            .destination
            .storage_class,
        "silver"
    );

    // KubeVirt: storage class names by source name; a volume without class is unmapped.
    let kubevirt = SourceInventory {
        provider: ProviderType::OpenShift,
        ..Default::default()
    };
    let pairs = vec![storage_pair(Ref::by_name("ocs-rbd"), "gold")];
    let mapper = StorageMapper::new(&pairs, Some(&kubevirt), "", "");
    assert!(mapper.all_disks_mapped(&Vm {
        disks: vec![disk("v", "ocs-rbd")],
        ..Default::default()
    }));
    assert!(!mapper.all_disks_mapped(&Vm {
        disks: vec![disk("v", "")],
        ..Default::default()
    }));
}

fn providers(src: &str) -> ProviderPair {
    ProviderPair {
        source: ObjectReference::new("ns", src),
        destination: ObjectReference::new("ns", "host"),
    }
}

#[test]
fn ownerless_maps_become_plan_owned_copies() {
    let mut plan = Plan::new(
        ObjectMeta::named("ns", "plan-a"),
        PlanSpec {
            provider: providers("vcenter"),
            map: MapRefs::default(),
            ..Default::default()
        },
    );
    plan.metadata.uid = Some("uid-plan".into());
    let map = NetworkMap::new(
        ObjectMeta::named("ns", "shared-net"),
        NetworkMapSpec {
            provider: providers("vcenter"),
            map: vec![net_pair(by_id("n"), pod())],
        },
    );
    assert!(is_ownerless(&map.metadata));
    let copy = plan_owned_network_map(&map, &plan).unwrap();
    assert_eq!(copy.metadata.generate_name.as_deref(), Some("plan-a-"));
    assert_eq!(copy.metadata.owner_references[0].uid, "uid-plan");
    assert_eq!(copy.metadata.owner_references[0].kind, "Plan");
    assert_eq!(copy.spec, map.spec);
    assert!(!is_ownerless(&copy.metadata));

    let other = StorageMap::new(
        ObjectMeta::named("ns", "shared-sto"),
        StorageMapSpec {
            provider: providers("ovirt"),
            map: vec![],
        },
    );
    let err = plan_owned_storage_map(&other, &plan).unwrap_err();
    assert!(matches!(
        err,
        MappingError::ProviderMismatch { side: "source", .. }
    ));
    assert!(err.to_string().contains("ns/ovirt"));
}

#[test]
fn map_controller_conditions() {
    let inventory = SourceInventory {
        networks: vec![
            Network {
                id: "a".into(),
                name: "dup".into(),
                ..Default::default()
            },
            Network {
                id: "b".into(),
                name: "dup".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let dest = DestinationInventory::default();
    let map = NetworkMap::new(
        ObjectMeta::named("ns", "m"),
        NetworkMapSpec {
            provider: providers("s"),
            map: vec![
                net_pair(NetworkSource::default(), pod()),
                net_pair(
                    NetworkSource {
                        name: "dup".into(),
                        ..Default::default()
                    },
                    pod(),
                ),
                net_pair(
                    NetworkSource {
                        id: "zz".into(),
                        vlan: Some("5000".into()),
                        ..Default::default()
                    },
                    multus("", "x"),
                ),
                net_pair(by_id("a"), multus("t", "missing")),
            ],
        },
    );
    let found: Vec<(String, String)> = validate_network_map(&map, &inventory, &dest)
        .into_iter()
        .map(|c| (c.type_, c.reason))
        .collect();
    let expect = |t: &str, r: &str| (t.to_owned(), r.to_owned());
    for e in [
        expect("SourceNetworkNotValid", "NotSet"),
        expect("SourceNetworkNotValid", "Ambiguous"),
        expect("SourceNetworkNotValid", "NotFound"),
        expect("SourceNetworkNotValid", "NotValid"),
        expect("DestinationNetworkNotValid", "Ambiguous"),
        expect("DestinationNetworkNotValid", "NotFound"),
    ] {
        assert!(found.contains(&e), "{e:?} not in {found:?}");
    }
}
