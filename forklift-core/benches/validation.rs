//! Plan validation at the guide's limits: a 500-VM, 2,000-disk plan against a 10,000-VM
//! vSphere inventory (goal: under 100 ms), plus a 100-VM plan to show linear scaling.

#![allow(missing_docs)] // criterion_group! generates undocumented items
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use forklift_core::inventory::*;
use forklift_core::resources::{
    MapRefs, NetworkDestination, NetworkDestinationType, NetworkMap, NetworkMapSpec, NetworkPair,
    NetworkSource, ObjectMeta, ObjectReference, Plan, PlanSpec, PlanVm, Provider, ProviderPair,
    ProviderSpec, ProviderType, Ref, StorageDestination, StorageMap, StorageMapSpec, StoragePair,
};
use forklift_core::validation::{PlanResources, Settings, validate};
use std::hint::black_box;

const NS: &str = "openshift-mtv";
const DATASTORES: usize = 20;
const NETWORKS: usize = 20;
const HOSTS: usize = 100;

fn inventory(vms: usize) -> SourceInventory {
    let vm = |i: usize| {
        let mac = format!(
            "00:50:56:{:02x}:{:02x}:{:02x}",
            i >> 16 & 0xff,
            i >> 8 & 0xff,
            i & 0xff
        );
        Vm {
            id: format!("vm-{i}"),
            name: format!("vm-{i}"),
            power_state: PowerState::On,
            host: format!("host-{}", i % HOSTS),
            guest_tools: ToolsStatus::Ok,
            change_tracking_enabled: true,
            disks: (0..4)
                .map(|d| Disk {
                    key: 2000 + d,
                    file: format!("[ds{}] vm-{i}/vm-{i}_{d}.vmdk", i % DATASTORES),
                    storage: format!("ds-{}", (i + d as usize) % DATASTORES),
                    capacity: 10 << 30,
                    ..Default::default()
                })
                .collect(),
            nics: vec![Nic {
                mac: mac.clone(),
                network: NicNetwork {
                    id: format!("net-{}", i % NETWORKS),
                    ..Default::default()
                },
                connected: true,
                ..Default::default()
            }],
            guest_networks: vec![GuestNetwork {
                mac,
                ip: format!("10.{}.{}.{}", i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff),
                prefix_length: 16,
                ..Default::default()
            }],
            ..Default::default()
        }
    };
    SourceInventory {
        provider: ProviderType::VSphere,
        vms: (0..vms).map(vm).collect(),
        networks: (0..NETWORKS)
            .map(|i| Network {
                id: format!("net-{i}"),
                name: format!("Net {i}"),
                ..Default::default()
            })
            .collect(),
        storages: (0..DATASTORES)
            .map(|i| Storage {
                id: format!("ds-{i}"),
                name: format!("ds{i}"),
                ..Default::default()
            })
            .collect(),
        hosts: (0..HOSTS)
            .map(|i| Host {
                id: format!("host-{i}"),
                name: format!("esx{i}"),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn destination(vms: usize) -> DestinationInventory {
    DestinationInventory {
        namespaces: vec![Namespace {
            name: "target".into(),
            ..Default::default()
        }],
        network_attachment_definitions: (0..NETWORKS)
            .map(|i| NetworkAttachmentDefinition {
                namespace: "target".into(),
                name: format!("nad-{i}"),
                ..Default::default()
            })
            .collect(),
        storage_classes: vec![StorageClass {
            name: "standard".into(),
            provisioner: "csi".into(),
            ..Default::default()
        }],
        virtual_machines: (0..vms)
            .map(|i| DestinationVm {
                namespace: "other".into(),
                name: format!("d-{i}"),
                macs: vec![format!(
                    "02:00:00:00:{:02x}:{:02x}",
                    i >> 8 & 0xff,
                    i & 0xff
                )],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn pair() -> ProviderPair {
    ProviderPair {
        source: ObjectReference::new(NS, "vcenter"),
        destination: ObjectReference::new(NS, "host"),
    }
}

fn plan(vms: usize, stride: usize) -> Plan {
    Plan::new(
        ObjectMeta::named(NS, "plan"),
        PlanSpec {
            target_namespace: "target".into(),
            provider: pair(),
            map: MapRefs {
                network: ObjectReference::new(NS, "net"),
                storage: ObjectReference::new(NS, "sto"),
            },
            vms: (0..vms)
                .map(|i| PlanVm::by_id(format!("vm-{}", i * stride)))
                .collect(),
            ..Default::default()
        },
    )
}

fn bench(c: &mut Criterion) {
    let source = inventory(10_000);
    let dest = destination(1_000);
    let providers = vec![
        Provider::new(
            ObjectMeta::named(NS, "vcenter"),
            ProviderSpec {
                type_: Some(ProviderType::VSphere),
                url: "https://vc/sdk".into(),
                ..Default::default()
            },
        ),
        Provider::new(
            ObjectMeta::named(NS, "host"),
            ProviderSpec {
                type_: Some(ProviderType::OpenShift),
                ..Default::default()
            },
        ),
    ];
    let network_maps = vec![NetworkMap::new(
        ObjectMeta::named(NS, "net"),
        NetworkMapSpec {
            provider: pair(),
            map: (0..NETWORKS)
                .map(|i| NetworkPair {
                    source: NetworkSource {
                        id: format!("net-{i}"),
                        ..Default::default()
                    },
                    destination: NetworkDestination {
                        type_: NetworkDestinationType::Multus,
                        namespace: "target".into(),
                        name: format!("nad-{i}"),
                    },
                })
                .collect(),
        },
    )];
    let storage_maps = vec![StorageMap::new(
        ObjectMeta::named(NS, "sto"),
        StorageMapSpec {
            provider: pair(),
            map: (0..DATASTORES)
                .map(|i| StoragePair {
                    source: Ref::by_id(format!("ds-{i}")),
                    destination: StorageDestination {
                        storage_class: "standard".into(),
                        ..Default::default()
                    },
                    offload_plugin: None,
                })
                .collect(),
        },
    )];
    let resources = PlanResources {
        providers: &providers,
        network_maps: &network_maps,
        storage_maps: &storage_maps,
        hooks: &[],
    };
    let settings = Settings::default();
    let mut group = c.benchmark_group("validate_vsphere_10k_inventory");
    for vms in [100usize, 500] {
        let plan = plan(vms, 20);
        let disks: usize = plan.spec.vms.len() * 4;
        group.bench_with_input(
            BenchmarkId::new("plan_vms", format!("{vms}vms_{disks}disks")),
            &plan,
            |b, plan| {
                b.iter(|| black_box(validate(plan, &resources, &source, Some(&dest), &settings)));
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
