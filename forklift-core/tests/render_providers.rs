//! Rendering for oVirt, OpenStack, OVA and KubeVirt sources: objects validate against
//! KubeVirt's OpenAPI document and follow the per-provider rules.

mod support;

use forklift_core::inventory::{DestinationInventory, SourceInventory};
use forklift_core::render::{DiskObject, RenderContext, RenderInput, TargetSpec, render};
use forklift_core::resources::{
    ForkliftControllerSettings, NetworkMap, Plan, Provider, StorageMap,
};
use forklift_core::sizing::{MIB, Overhead, VolumeMode, space_with_overhead};
use serde_json::{Value, json};
use support::openapi::OpenApi;

struct Case {
    plan: Plan,
    networks: NetworkMap,
    storage: StorageMap,
    source_provider: Provider,
    destination_provider: Provider,
    inventory: SourceInventory,
    destination: DestinationInventory,
    settings: ForkliftControllerSettings,
}

fn case(
    kind: &str,
    inventory: Value,
    plan_extra: Value,
    storage_pairs: Value,
    network_pairs: Value,
) -> Case {
    let mut plan = json!({
        "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Plan",
        "metadata": {"name": "p1", "namespace": "mtv", "uid": "uid-1"},
        "spec": {
            "targetNamespace": "target",
            "provider": {"source": {"name": "src", "namespace": "mtv"}, "destination": {"name": "host", "namespace": "mtv"}},
            "map": {"network": {"name": "n"}, "storage": {"name": "s"}},
            "vms": [{"id": "vm-1"}]
        }
    });
    for (k, v) in plan_extra.as_object().unwrap() {
        plan["spec"][k] = v.clone();
    }
    let map_meta = |kind: &str, name: &str, pairs: Value| {
        json!({"apiVersion": "forklift.konveyor.io/v1beta1", "kind": kind,
               "metadata": {"name": name, "namespace": "mtv"},
               "spec": {"provider": {"source": {"name": "src"}, "destination": {"name": "host"}}, "map": pairs}})
    };
    Case {
        plan: serde_json::from_value(plan).unwrap(),
        networks: serde_json::from_value(map_meta("NetworkMap", "n", network_pairs)).unwrap(),
        storage: serde_json::from_value(map_meta("StorageMap", "s", storage_pairs)).unwrap(),
        source_provider: serde_json::from_value(json!({
            "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Provider",
            "metadata": {"name": "src", "namespace": "mtv"},
            "spec": {"type": kind, "url": "https://engine.example.com/ovirt-engine/api"}
        }))
        .unwrap(),
        destination_provider: serde_json::from_value(json!({
            "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Provider",
            "metadata": {"name": "host", "namespace": "mtv"}, "spec": {"type": "openshift"}
        }))
        .unwrap(),
        inventory: serde_json::from_value(inventory).unwrap(),
        destination: serde_json::from_value(json!({
            "storageClasses": [{"name": "rbd", "provisioner": "openshift-storage.rbd.csi.ceph.com"},
                               {"name": "nfs", "provisioner": "example.com/nfs"}],
            "storageProfiles": [{"name": "nfs", "claimPropertySets": [{"accessModes": ["ReadWriteMany"], "volumeMode": "Filesystem"}]}]
        }))
        .unwrap(),
        settings: ForkliftControllerSettings::default(),
    }
}

fn run(c: &Case) -> TargetSpec {
    render(RenderInput {
        plan: &c.plan,
        network_map: Some(&c.networks),
        storage_map: Some(&c.storage),
        hooks: &[],
        source_provider: Some(&c.source_provider),
        destination_provider: Some(&c.destination_provider),
        source: &c.inventory,
        destination: Some(&c.destination),
        settings: &c.settings,
        context: &RenderContext::default(),
    })
}

fn validate(spec: &TargetSpec) {
    let api = OpenApi::load();
    for m in spec.manifests() {
        let errors = match m["kind"].as_str().unwrap() {
            "VirtualMachine" => api.validate("v1.VirtualMachine", &m),
            "DataVolume" => api.validate_data_volume(&m),
            "PersistentVolumeClaim" => api.validate_pvc(&m),
            other => panic!("{other}"),
        };
        assert!(errors.is_empty(), "{}: {errors:?}", m["metadata"]["name"]);
    }
}

fn vm_json(spec: &TargetSpec) -> Value {
    serde_json::to_value(spec.vms[0].virtual_machine.as_ref().unwrap()).unwrap()
}

fn ovirt() -> Case {
    case(
        "ovirt",
        json!({"provider": "ovirt",
            "storages": [{"id": "sd-1", "name": "data"}],
            "networks": [{"id": "vnic-1", "name": "ovirtmgmt"}],
            "vms": [{"id": "vm-1", "name": "app", "powerState": "on", "cpuCount": 4, "coresPerSocket": 2,
                "memoryMib": 2048, "firmware": "efi", "secureBoot": true, "guestOs": "windows_2022",
                "disks": [{"id": "disk-a", "storage": "sd-1", "capacity": 5368709121_i64, "bus": "scsi"},
                          {"id": "disk-b", "storage": "sd-1", "capacity": 1073741824, "bus": "ide"}],
                "nics": [{"name": "nic1", "mac": "56:6f:00:00:00:01", "model": "e1000", "network": {"id": "vnic-1"}}],
                "ext": {"ovirt": {"clusterCpuModel": "1:Secure Intel Cascadelake:vmx:Cascadelake-Server,-hle"}}}]}),
        json!({"preserveClusterCpuModel": true}),
        json!([{"source": {"id": "sd-1"}, "destination": {"storageClass": "rbd"}}]),
        json!([{"source": {"id": "vnic-1"}, "destination": {"type": "pod"}}]),
    )
}

#[test]
fn ovirt_cold_local_uses_populator_pvcs_with_forklift_overhead() {
    let c = ovirt();
    let spec = run(&c);
    validate(&spec);
    let vm = &spec.vms[0];
    assert_eq!(vm.disks.len(), 2);
    let DiskObject::PersistentVolumeClaim(pvc) = &vm.disks[0].object else {
        panic!("expected a populator PVC")
    };
    // Ceph RBD → Block by the guide's table; Block adds the (zero) block overhead to the
    // 1 MiB-aligned size.
    assert_eq!(vm.disks[0].volume_mode, VolumeMode::Block);
    assert_eq!(vm.disks[0].requested_bytes, 5 * 1024 * MIB + MIB);
    let source_ref = pvc.spec.data_source_ref.as_ref().unwrap();
    assert_eq!(
        (source_ref.api_group.as_str(), source_ref.kind.as_str()),
        ("forklift.konveyor.io", "OvirtVolumePopulator")
    );
    // Volume names are disk ids; buses follow the oVirt interface.
    let json = vm_json(&spec);
    let domain = &json["spec"]["template"]["spec"]["domain"];
    assert_eq!(domain["devices"]["disks"][0]["name"], "disk-a");
    assert_eq!(domain["devices"]["disks"][0]["disk"]["bus"], "scsi");
    assert_eq!(domain["devices"]["disks"][1]["disk"]["bus"], "sata");
    assert_eq!(domain["devices"]["disks"][0]["bootOrder"], 1);
    assert_eq!(domain["devices"]["interfaces"][0]["model"], "e1000");
    // EFI with secure boot forced off; serial and uuid are the VM id.
    assert_eq!(
        domain["firmware"],
        json!({"bootloader": {"efi": {"secureBoot": false}}, "serial": "vm-1", "uuid": "vm-1"})
    );
    assert!(domain.get("features").is_none());
    // Cluster CPU model preserved.
    assert_eq!(domain["cpu"]["model"], "Cascadelake-Server");
    assert_eq!(
        domain["cpu"]["features"],
        json!([{"name": "hle", "policy": "disable"}])
    );
    assert_eq!(domain["devices"]["tpm"], json!({"persistent": true}));
    assert_eq!(json["spec"]["preference"]["name"], "windows.2k22.virtio");
    // oVirt needs no guest conversion.
    assert!(json["metadata"]["labels"].get("guestConverted").is_none());
    assert!(!vm.phases.iter().any(|p| p.as_str() == "ConvertGuest"));
}

#[test]
fn ovirt_filesystem_overhead_applies_to_populator_pvcs() {
    let mut c = ovirt();
    c.storage.spec.map[0].destination.storage_class = "nfs".into();
    c.settings.controller_filesystem_overhead = 20;
    let spec = run(&c);
    validate(&spec);
    let disk = &spec.vms[0].disks[0];
    assert_eq!(disk.volume_mode, VolumeMode::Filesystem);
    let overhead = Overhead {
        filesystem_percent: 20,
        block_bytes: 0,
    };
    assert_eq!(
        disk.requested_bytes,
        space_with_overhead(5368709121, VolumeMode::Filesystem, &overhead).unwrap()
    );
}

#[test]
fn ovirt_warm_uses_imageio_data_volumes() {
    let mut c = ovirt();
    c.plan.spec.warm = true;
    let spec = run(&c);
    validate(&spec);
    let DiskObject::DataVolume(dv) = &spec.vms[0].disks[0].object else {
        panic!()
    };
    let imageio = dv.spec.source.imageio.as_ref().unwrap();
    assert_eq!(imageio.disk_id, "disk-a");
    assert_eq!(imageio.url, "https://engine.example.com/ovirt-engine/api");
    assert_eq!(
        spec.vms[0].disks[0].requested_bytes, 5368709121,
        "unaligned; CDI adds overhead"
    );
}

#[test]
fn openstack_and_ova_and_kubevirt_sources() {
    // OpenStack: populator PVC.
    let c = case(
        "openstack",
        json!({"provider": "openstack", "storages": [{"id": "tripleo", "name": "tripleo"}],
            "vms": [{"id": "vm-1", "name": "os-vm", "cpuCount": 1, "memoryMib": 512,
                "disks": [{"id": "vol-1", "storage": "tripleo", "capacity": 1073741824}]}]}),
        json!({}),
        json!([{"source": {"name": "tripleo"}, "destination": {"storageClass": "rbd"}}]),
        json!([]),
    );
    let spec = run(&c);
    validate(&spec);
    let DiskObject::PersistentVolumeClaim(pvc) = &spec.vms[0].disks[0].object else {
        panic!()
    };
    assert_eq!(
        pvc.spec.data_source_ref.as_ref().unwrap().kind,
        "OpenstackVolumePopulator"
    );
    assert!(
        spec.vms[0]
            .phases
            .iter()
            .any(|p| p.as_str() == "ConvertOpenstackSnapshot")
    );

    // OVA: blank DataVolume, virt-v2v copies, capacity as declared.
    let c = case(
        "ova",
        json!({"provider": "ova",
            "vms": [{"id": "vm-1", "name": "appliance", "cpuCount": 2, "coresPerSocket": 1, "memoryMib": 1024,
                "disks": [{"id": "disk-1", "file": "appliance-disk1.vmdk", "capacity": 1000000000}]}]}),
        json!({}),
        json!([{"source": {"id": "disk-1"}, "destination": {"storageClass": "nfs"}}]),
        json!([]),
    );
    let spec = run(&c);
    validate(&spec);
    let vm = &spec.vms[0];
    let DiskObject::DataVolume(dv) = &vm.disks[0].object else {
        panic!()
    };
    assert!(dv.spec.source.blank.is_some());
    assert_eq!(vm.disks[0].requested_bytes, 1_000_000_000);
    // The NFS profile decides the modes: left unset on the DataVolume for CDI.
    assert!(dv.spec.storage.volume_mode.is_empty());
    assert!(vm.phases.iter().any(|p| p.as_str() == "CopyDisksVirtV2V"));

    // KubeVirt: clone of the source PVC, source names kept, no generateName.
    let c = case(
        "openshift",
        json!({"provider": "openshift",
            "networks": [{"id": "nad-1", "name": "br", "namespace": "src"}],
            "vms": [{"id": "vm-1", "name": "fedora", "namespace": "src", "cpuCount": 1, "memoryMib": 1024,
                "disks": [{"id": "rootdisk", "capacity": 10737418240_i64, "storage": "rbd"}],
                "nics": [{"name": "default", "mac": "02:00:00:00:00:01", "network": {"pod": true}},
                         {"name": "bridge", "mac": "02:00:00:00:00:02", "network": {"name": "br", "namespace": "src"}}],
                "ext": {"kubevirt": {"volumes": [{"name": "rootdisk", "claim": "fedora-root"}]}}}]}),
        json!({}),
        json!([{"source": {"name": "rbd"}, "destination": {"storageClass": "rbd"}}]),
        json!([{"source": {"type": "pod"}, "destination": {"type": "pod"}},
               {"source": {"name": "br", "namespace": "src"}, "destination": {"type": "multus", "namespace": "target", "name": "br"}}]),
    );
    let spec = run(&c);
    validate(&spec);
    let vm = &spec.vms[0];
    assert_eq!(vm.disks[0].claim_name, "fedora-root");
    assert_eq!(vm.disks[0].volume_name, "rootdisk");
    let DiskObject::DataVolume(dv) = &vm.disks[0].object else {
        panic!()
    };
    let pvc = dv.spec.source.pvc.as_ref().unwrap();
    assert_eq!(
        (pvc.namespace.as_str(), pvc.name.as_str()),
        ("src", "fedora-root")
    );
    let names: Vec<_> = vm
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i.binding.as_str()))
        .collect();
    assert_eq!(names, [("default", "masquerade"), ("bridge", "bridge")]);
}
