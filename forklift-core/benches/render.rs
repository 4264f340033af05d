//! Rendering and scheduling at the guide's tested maxima: a 500-VM, 2,000-disk vSphere plan
//! rendered to manifests (and to YAML), and the in-flight scheduler simulated over it.

#![allow(missing_docs)] // criterion_group! generates undocumented items
use criterion::{Criterion, criterion_group, criterion_main};
use forklift_core::inventory::*;
use forklift_core::render::{RenderContext, RenderInput, render};
use forklift_core::resources::ProviderType;
use forklift_core::resources::{ForkliftControllerSettings, NetworkMap, Plan, PlanVm, StorageMap};
use forklift_core::scheduling::{Policy, SchedVm, simulate_throughput};
use serde_json::json;
use std::hint::black_box;

const VMS: usize = 500;
const DISKS: usize = 4;

fn inventory() -> SourceInventory {
    let vm = |i: usize| Vm {
        id: format!("vm-{i}"),
        name: format!("VM_{i}.example"),
        host: format!("host-{}", i % 20),
        cpu_count: 4,
        cores_per_socket: 2,
        memory_mib: 8192,
        guest_os: "rhel9_64Guest".into(),
        disks: (0..DISKS)
            .map(|d| Disk {
                key: 2000 + d as i32,
                file: format!("[ds-{}] vm-{i}/disk{d}.vmdk", d % 2),
                storage: format!("ds-{}", d % 2),
                capacity: (20 + d as i64) << 30,
                ..Disk::default()
            })
            .collect(),
        nics: vec![Nic {
            mac: format!("00:50:56:00:{:02x}:{:02x}", i >> 8, i & 0xff),
            network: NicNetwork {
                id: "net-0".into(),
                ..NicNetwork::default()
            },
            connected: true,
            ..Nic::default()
        }],
        ..Vm::default()
    };
    SourceInventory {
        provider: ProviderType::VSphere,
        vms: (0..VMS).map(vm).collect(),
        ..SourceInventory::default()
    }
}

fn bench(c: &mut Criterion) {
    let inventory = inventory();
    let mut plan: Plan = serde_json::from_value(json!({
        "metadata": {"name": "wave", "namespace": "mtv"},
        "spec": {"targetNamespace": "vms"}
    }))
    .unwrap();
    plan.spec.vms = inventory.vms.iter().map(|v| PlanVm::by_id(&v.id)).collect();
    let storage: StorageMap = serde_json::from_value(json!({
        "metadata": {"name": "s"}, "spec": {"provider": {"source": {}, "destination": {}},
        "map": [{"source": {"id": "ds-0"}, "destination": {"storageClass": "a"}},
                {"source": {"id": "ds-1"}, "destination": {"storageClass": "b"}}]}
    }))
    .unwrap();
    let network: NetworkMap = serde_json::from_value(json!({
        "metadata": {"name": "n"}, "spec": {"provider": {"source": {}, "destination": {}},
        "map": [{"source": {"id": "net-0"}, "destination": {"type": "pod"}}]}
    }))
    .unwrap();
    let settings = ForkliftControllerSettings::default();
    let context = RenderContext::default();
    let input = RenderInput {
        plan: &plan,
        network_map: Some(&network),
        storage_map: Some(&storage),
        hooks: &[],
        source_provider: None,
        destination_provider: None,
        source: &inventory,
        destination: None,
        settings: &settings,
        context: &context,
    };
    c.bench_function("render 500 VMs / 2000 disks", |b| {
        b.iter(|| black_box(render(black_box(input))))
    });
    let spec = render(input);
    c.bench_function("render 500 VMs to YAML", |b| {
        b.iter(|| black_box(spec.to_yaml()))
    });

    let sched: Vec<SchedVm> = inventory
        .vms
        .iter()
        .map(|v| SchedVm::uniform(&v.id, Some(&v.host), DISKS, 20 << 30))
        .collect();
    for (name, family, warm) in [
        (
            "simulate vSphere warm, 2000 disks",
            ProviderType::VSphere,
            true,
        ),
        ("simulate oVirt, 2000 disks", ProviderType::OVirt, false),
    ] {
        let policy = Policy::for_migration(family, warm, true, 20);
        c.bench_function(name, |b| {
            b.iter(|| black_box(simulate_throughput(policy, black_box(&sched), 200 << 20)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
