//! End-to-end rendering of a vSphere plan: every object validates against KubeVirt's OpenAPI
//! document, and the fields follow the upstream rules.

mod support;

use forklift_core::render::{DiskObject, RenderContext, RenderInput, TargetSpec, render};
use forklift_core::resources::condition_types::{kind, reason};
use forklift_core::resources::{Category, HookRef, ObjectReference};
use forklift_core::sizing::{AccessMode, ModeOrigin, VolumeMode};
use serde_json::{Value, json};
use support::fixtures::{self, Resources};
use support::openapi::OpenApi;

fn render_vsphere(mutate: impl FnOnce(&mut Resources), context: &RenderContext) -> TargetSpec {
    let mut res = Resources::load("vsphere-plan.yaml");
    mutate(&mut res);
    let source = fixtures::source("vsphere-source.json");
    let destination = fixtures::destination("destination.json");
    let settings = fixtures::default_settings();
    render(RenderInput {
        plan: &res.plans[0],
        network_map: res.network_maps.first(),
        storage_map: res.storage_maps.first(),
        hooks: &res.hooks,
        source_provider: Some(res.provider("vcenter")),
        destination_provider: Some(res.provider("host")),
        source: &source,
        destination: Some(&destination),
        settings: &settings,
        context,
    })
}

fn validate_all(spec: &TargetSpec) {
    let api = OpenApi::load();
    let mut checked = 0;
    for manifest in spec.manifests() {
        let errors = match manifest["kind"].as_str() {
            Some("VirtualMachine") => api.validate("v1.VirtualMachine", &manifest),
            Some("DataVolume") => api.validate_data_volume(&manifest),
            Some("PersistentVolumeClaim") => api.validate_pvc(&manifest),
            other => panic!("unexpected kind {other:?}"),
        };
        assert!(
            errors.is_empty(),
            "{} {} does not validate:\n{}",
            manifest["kind"],
            manifest["metadata"]["name"],
            errors.join("\n")
        );
        checked += 1;
    }
    assert!(checked > 0);
}

fn vm_json(spec: &TargetSpec, index: usize) -> Value {
    serde_json::to_value(spec.vms[index].virtual_machine.as_ref().unwrap()).unwrap()
}

#[test]
fn vsphere_plan_renders_schema_valid_manifests() {
    let spec = render_vsphere(|_| {}, &RenderContext::default());
    validate_all(&spec);
    assert_eq!(spec.vms.len(), 3);
    // 2 + 1 disks, 2 VMs.
    assert_eq!(spec.manifests().len(), 5);
    let yaml = spec.to_yaml();
    assert_eq!(yaml.matches("\n---\n").count() + 1, 5);
    assert!(yaml.starts_with("---\napiVersion: cdi.kubevirt.io/v1beta1\nkind: DataVolume\n"));
}

#[test]
fn web_vm_domain_follows_upstream_mapping() {
    let spec = render_vsphere(|_| {}, &RenderContext::default());
    let web = &spec.vms[0];
    assert_eq!(web.target_name, "web-01");
    assert!(!web.renamed);
    let vm = vm_json(&spec, 0);
    let domain = &vm["spec"]["template"]["spec"]["domain"];
    assert_eq!(
        domain["cpu"],
        json!({"sockets": 2, "cores": 2, "features": [
        {"name": "vmx", "policy": "disable"}, {"name": "svm", "policy": "disable"}]})
    );
    assert_eq!(domain["memory"]["guest"], "8Gi");
    assert_eq!(
        domain["firmware"],
        json!({"bootloader": {"efi": {"secureBoot": true}},
               "serial": "VMware-42 2c 6a 2a 5e a9 10 83-39 f3 3b 14 0f ff b4 44"})
    );
    assert_eq!(domain["features"]["smm"]["enabled"], true);
    assert_eq!(domain["devices"]["tpm"], json!({"persistent": true}));
    assert_eq!(
        domain["devices"]["inputs"],
        json!([{"name": "tablet", "type": "tablet", "bus": "virtio"}])
    );
    // rootDisk /dev/sdb → second disk boots first.
    let disks = domain["devices"]["disks"].as_array().unwrap();
    assert_eq!(disks[0]["disk"]["bus"], "virtio");
    assert_eq!(disks[0]["serial"], "6000C29a-1111");
    assert!(disks[0].get("bootOrder").is_none());
    assert_eq!(disks[1]["bootOrder"], 1);
    assert_eq!(disks[1]["serial"].as_str().unwrap().len(), 20);
    // NICs: pod masquerade with MAC, multus bridge down, ignored NIC skipped.
    let ifaces = domain["devices"]["interfaces"].as_array().unwrap();
    assert_eq!(
        ifaces[0],
        json!({"name": "net-0", "model": "virtio", "macAddress": "00:50:56:aa:bb:01", "masquerade": {}})
    );
    assert_eq!(
        ifaces[1],
        json!({"name": "net-1", "model": "virtio", "macAddress": "00:50:56:aa:bb:02", "bridge": {}, "state": "down"})
    );
    assert_eq!(ifaces.len(), 2);
    assert_eq!(
        vm["spec"]["template"]["spec"]["networks"],
        json!([{"name": "net-0", "pod": {}}, {"name": "net-1", "multus": {"networkName": "vms/storage-vlan"}}])
    );
    // Power: VM-level `on` wins over plan `auto`.
    assert_eq!(vm["spec"]["runStrategy"], "Always");
    // Preference from the vSphere osmap, cluster-scoped.
    assert_eq!(
        vm["spec"]["preference"],
        json!({"name": "rhel.9", "kind": "VirtualMachineClusterPreference"})
    );
    // Labels and scheduling.
    let labels = &vm["metadata"]["labels"];
    assert_eq!(labels["plan"], "8f1c0a4e-0000-4000-8000-000000000001");
    assert_eq!(labels["plan-name"], "wave-1");
    assert_eq!(labels["plan-namespace"], "openshift-mtv");
    assert_eq!(labels["vmID"], "vm-101");
    assert_eq!(labels["guestConverted"], "true");
    assert_eq!(
        vm["metadata"]["annotations"]["vsphere.forklift.konveyor.io/Cost_Center"],
        "4711"
    );
    let template = &vm["spec"]["template"];
    assert_eq!(
        template["metadata"]["labels"],
        json!({"team": "payments", "app": "web-01"})
    );
    assert_eq!(
        template["spec"]["nodeSelector"],
        json!({"dataCenter": "east"})
    );
    assert_eq!(
        template["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
            [0]["weight"],
        100
    );
    // Hooks in execution order whatever the listing order.
    let hooks: Vec<_> = web.hooks.iter().map(|h| h.step.as_str()).collect();
    assert_eq!(hooks, ["PreHook", "PostHook"]);
    assert_eq!(
        web.hooks[0].image.as_deref(),
        Some("quay.io/konveyor/hook-runner")
    );
    assert_eq!(web.phases.first().map(|p| p.as_str()), Some("Started"));
    assert!(web.phases.iter().any(|p| p.as_str() == "CopyDisksVirtV2V"));
    // Static IPs for conversion: IPv4 first, link-local dropped.
    assert_eq!(
        web.conversion_env["V2V_staticIPs"],
        "00:50:56:aa:bb:01:ip:10.0.0.10,10.0.0.1,24,10.0.0.2_00:50:56:aa:bb:01:ip:2001:db8::10,2001:db8::1,64"
    );
}

#[test]
fn web_vm_disks_sizes_modes_and_names() {
    let spec = render_vsphere(|_| {}, &RenderContext::default());
    let web = &spec.vms[0];
    assert_eq!(web.disks.len(), 2);
    let d0 = &web.disks[0];
    // Default template, generateName on (non-OpenShift source), deterministic suffix.
    assert_eq!(
        d0.generate_name_prefix.as_deref(),
        Some("wave-1-web-01-disk-0-")
    );
    assert!(d0.claim_name.starts_with("wave-1-web-01-disk-0-"));
    assert_eq!(d0.claim_name.len(), "wave-1-web-01-disk-0-".len() + 5);
    assert_eq!(d0.volume_name, "vol-0");
    // vSphere DataVolume: aligned capacity, CDI adds filesystem overhead.
    assert_eq!(d0.requested_bytes, 20 << 30);
    // Ceph RBD: guide table gives Block/RWO, written explicitly.
    assert_eq!(
        (d0.volume_mode, d0.access_mode),
        (VolumeMode::Block, AccessMode::ReadWriteOnce)
    );
    assert_eq!(d0.volume_mode_origin, ModeOrigin::ProvisionerDefault);
    let DiskObject::DataVolume(dv) = &d0.object else {
        panic!("expected a DataVolume")
    };
    let dv = serde_json::to_value(dv).unwrap();
    assert_eq!(
        dv["spec"]["source"],
        json!({"blank": {}}),
        "cold local: virt-v2v copies"
    );
    assert_eq!(dv["spec"]["storage"]["volumeMode"], "Block");
    assert_eq!(
        dv["spec"]["storage"]["resources"]["requests"]["storage"],
        "20Gi"
    );
    assert_eq!(
        dv["metadata"]["annotations"]["forklift.konveyor.io/disk-source"],
        "[ssd-ds] web-01/web-01.vmdk"
    );
    assert_eq!(
        dv["metadata"]["annotations"]["cdi.kubevirt.io/storage.deleteAfterCompletion"],
        "false"
    );
    // Second disk: unaligned capacity rounded up to 1 MiB; map sets modes.
    let d1 = &web.disks[1];
    assert_eq!(d1.requested_bytes, (10 << 30) + (1 << 20));
    assert_eq!(d1.storage_class, "nfs-csi");
    assert_eq!(d1.access_mode_origin, ModeOrigin::StorageMap);
    // The VM mounts exactly the claims rendered.
    let vm = vm_json(&spec, 0);
    let claims: Vec<_> = vm["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v["persistentVolumeClaim"]["claimName"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(claims, [d0.claim_name.clone(), d1.claim_name.clone()]);
    // Rendering twice gives the same names.
    let again = render_vsphere(|_| {}, &RenderContext::default());
    assert_eq!(again.vms[0].disks[0].claim_name, d0.claim_name);
}

#[test]
fn renamed_vm_with_instance_type() {
    let spec = render_vsphere(|_| {}, &RenderContext::default());
    let db = &spec.vms[1];
    assert!(db.renamed);
    assert_ne!(db.target_name, "Legacy_DB.Server");
    let vm = vm_json(&spec, 1);
    assert_eq!(
        vm["metadata"]["annotations"]["openshift.io/display-name"],
        "Legacy_DB.Server"
    );
    assert_eq!(vm["metadata"]["annotations"]["original-ID"], "vm-202");
    assert_eq!(
        vm["spec"]["instancetype"],
        json!({"name": "u1.large", "kind": "VirtualMachineClusterInstancetype"})
    );
    let domain = &vm["spec"]["template"]["spec"]["domain"];
    assert!(domain.get("cpu").is_none() && domain.get("memory").is_none());
    assert_eq!(domain["firmware"]["bootloader"], json!({"bios": {}}));
    assert_eq!(domain["devices"]["tpm"], json!({"enabled": false}));
    // Windows with WindowsWaitForReboot (default on): always started.
    assert_eq!(vm["spec"]["runStrategy"], "Always");
    assert_eq!(db.conversion_env["V2V_NewName"], db.target_name);
    assert_eq!(db.conversion_env["V2V_multipleIPsPerNic"], "true");
    assert!(
        db.phases
            .iter()
            .any(|p| p.as_str() == "WaitForGuestReboots")
    );
}

#[test]
fn missing_vm_is_a_condition_not_a_failure() {
    let spec = render_vsphere(|_| {}, &RenderContext::default());
    let missing = &spec.vms[2];
    assert!(missing.virtual_machine.is_none());
    // Validation's type, reason and item (upstream's reference string).
    let c = &missing.conditions[0];
    assert_eq!(
        (c.type_.as_str(), c.reason.as_str(), c.category),
        (kind::VM_NOT_FOUND, reason::NOT_FOUND, Category::Critical)
    );
    let plan_vm = Resources::load("vsphere-plan.yaml").plans[0].spec.vms[2].vm_ref();
    assert_eq!(c.items, [plan_vm.to_string()]);
    assert!(c.items[0].ends_with("' "), "{:?}", c.items);
    assert!(spec.has_blockers());
}

#[test]
fn hooks_with_an_unknown_step_are_left_out_and_flagged() {
    let spec = render_vsphere(
        |r| {
            r.plans[0].spec.vms[0].hooks = vec![
                HookRef {
                    step: "Cutover".into(),
                    hook: ObjectReference::new("", "h"),
                },
                HookRef {
                    step: "PostHook".into(),
                    hook: ObjectReference::new("", "h"),
                },
            ];
        },
        &RenderContext::default(),
    );
    let web = &spec.vms[0];
    assert_eq!(web.hooks.len(), 1);
    assert_eq!(web.hooks[0].step.as_str(), "PostHook");
    let c = web
        .conditions
        .iter()
        .find(|c| c.type_ == kind::HOOK_STEP_NOT_VALID)
        .unwrap_or_else(|| panic!("{:?}", web.conditions));
    assert_eq!(
        (c.reason.as_str(), c.category),
        (reason::NOT_VALID, Category::Critical)
    );
    assert_eq!(c.items.len(), 1);
    assert_eq!(c.items, ["VM: id:vm-101 name:'web-01'  step: Cutover"]);
    assert!(spec.has_blockers());
}

#[test]
fn power_states_plan_and_vm_level() {
    use forklift_core::resources::TargetPowerState as P;
    for (plan, vm_level, expected_web) in [
        (Some(P::Off), None, "Halted"),
        (Some(P::Auto), None, "Halted"), // web-01 is powered off at the source
        (None, Some(P::On), "Always"),
        (Some(P::On), Some(P::Off), "Halted"),
        (None, None, "Halted"),
    ] {
        let spec = render_vsphere(
            |r| {
                r.plans[0].spec.target_power_state = plan;
                r.plans[0].spec.vms[0].target_power_state = vm_level;
            },
            &RenderContext::default(),
        );
        assert_eq!(
            vm_json(&spec, 0)["spec"]["runStrategy"],
            expected_web,
            "{plan:?} {vm_level:?}"
        );
    }
}

#[test]
fn compatibility_mode_uses_sata_e1000e_usb() {
    let spec = render_vsphere(
        |r| r.plans[0].spec.skip_guest_conversion = true,
        &RenderContext::default(),
    );
    validate_all(&spec);
    let vm = vm_json(&spec, 0);
    let devices = &vm["spec"]["template"]["spec"]["domain"]["devices"];
    assert_eq!(devices["disks"][0]["disk"]["bus"], "sata");
    assert_eq!(devices["interfaces"][0]["model"], "e1000e");
    assert_eq!(devices["inputs"][0]["bus"], "usb");
    assert_eq!(vm["metadata"]["labels"]["guestConverted"], "false");
    // Raw copy: CDI imports over VDDK.
    let DiskObject::DataVolume(dv) = &spec.vms[0].disks[0].object else {
        panic!()
    };
    let vddk = dv.spec.source.vddk.as_ref().unwrap();
    assert_eq!(vddk.backing_file, "[ssd-ds] web-01/web-01.vmdk");
    assert_eq!(vddk.init_image_url, "quay.io/example/vddk:8");
    assert!(spec.vms[0].conversion_env.is_empty());
}

#[test]
fn warm_plan_uses_vddk_and_bind_immediate() {
    let spec = render_vsphere(|r| r.plans[0].spec.warm = true, &RenderContext::default());
    validate_all(&spec);
    let DiskObject::DataVolume(dv) = &spec.vms[0].disks[0].object else {
        panic!()
    };
    assert!(dv.spec.source.vddk.is_some());
    let ann = &dv.metadata.annotations;
    assert_eq!(
        ann["cdi.kubevirt.io/storage.bind.immediate.requested"],
        "true"
    );
    assert_eq!(ann["cdi.kubevirt.io/storage.usePopulator"], "false");
    assert_eq!(
        dv.metadata.labels["vmUUID"],
        "422c6a2a-5ea9-1083-39f3-3b140fffb444"
    );
    assert_eq!(
        spec.vms[0].itinerary,
        forklift_core::itinerary::ItineraryKind::Warm
    );
}

#[test]
fn invalid_affinity_is_reported() {
    let spec = render_vsphere(
        |r| {
            let aff = r.plans[0].spec.target_affinity.as_mut().unwrap();
            let node = aff.node_affinity.as_mut().unwrap();
            node.preferred[0].weight = 101;
            node.preferred[0].preference.match_expressions[0]
                .values
                .clear();
            aff.pod_anti_affinity.as_mut().unwrap().preferred[0]
                .pod_affinity_term
                .topology_key
                .clear();
        },
        &RenderContext::default(),
    );
    let cond = spec
        .conditions
        .iter()
        .find(|c| c.type_ == kind::TARGET_AFFINITY_NOT_VALID)
        .unwrap();
    assert_eq!(cond.items.len(), 3, "{:?}", cond.items);
    assert!(cond.items[0].ends_with("weight: 101 is outside 1-100"));
}

#[test]
fn osmap_config_map_overrides_preference() {
    let context = RenderContext {
        vsphere_osmap: Some([("rhel9_64Guest".to_owned(), "windows.2k22".to_owned())].into()),
        ..RenderContext::default()
    };
    let spec = render_vsphere(|_| {}, &context);
    assert_eq!(
        vm_json(&spec, 0)["spec"]["preference"]["name"],
        "windows.2k22"
    );
}

#[test]
fn transfer_network_annotation_from_route() {
    let spec = render_vsphere(
        |r| {
            r.plans[0].spec.transfer_network = Some(
                serde_json::from_value(json!({"name": "storage-vlan", "namespace": "vms"}))
                    .unwrap(),
            )
        },
        &RenderContext::default(),
    );
    // The fixture NAD has no route: legacy default-network annotation.
    let DiskObject::DataVolume(dv) = &spec.vms[0].disks[0].object else {
        panic!()
    };
    assert_eq!(
        dv.metadata.annotations["v1.multus-cni.io/default-network"],
        "vms/storage-vlan"
    );
}

#[test]
fn unmapped_storage_and_network_are_conditions() {
    let spec = render_vsphere(
        |r| {
            r.storage_maps[0].spec.map.truncate(1);
            r.network_maps[0].spec.map.truncate(1);
        },
        &RenderContext::default(),
    );
    let web = &spec.vms[0];
    assert_eq!(web.disks.len(), 1);
    let types: Vec<_> = web.conditions.iter().map(|c| c.type_.as_str()).collect();
    assert!(
        types.contains(&kind::VM_STORAGE_NOT_MAPPED)
            && types.contains(&kind::VM_NETWORKS_NOT_MAPPED),
        "{types:?}"
    );
    validate_all(&spec);
}

#[test]
fn custom_templates_name_claims_volumes_and_interfaces() {
    let spec = render_vsphere(
        |r| {
            let plan = &mut r.plans[0].spec;
            plan.pvc_name_template =
                "{{if eq .DiskIndex .RootDiskIndex}}root{{else}}data{{end}}-{{.DiskIndex}}".into();
            plan.pvc_name_template_use_generate_name = Some(false);
            plan.volume_name_template = "disk-{{.VolumeIndex}}".into();
            plan.network_name_template = "{{.NetworkType}}-{{.NetworkIndex}}".into();
        },
        &RenderContext::default(),
    );
    validate_all(&spec);
    let web = &spec.vms[0];
    // rootDisk /dev/sdb → RootDiskIndex 1.
    let claims: Vec<_> = web.disks.iter().map(|d| d.claim_name.as_str()).collect();
    assert_eq!(claims, ["data-0", "root-1"]);
    assert!(web.disks.iter().all(|d| d.generate_name_prefix.is_none()));
    let volumes: Vec<_> = web.disks.iter().map(|d| d.volume_name.as_str()).collect();
    assert_eq!(volumes, ["disk-0", "disk-1"]);
    let nics: Vec<_> = web.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(nics, ["pod-0", "multus-1"]);
}

#[test]
fn invalid_pvc_template_is_a_condition() {
    let spec = render_vsphere(
        |r| r.plans[0].spec.pvc_name_template = "{{.VmName}}_Disk".into(),
        &RenderContext::default(),
    );
    let cond = spec.vms[0]
        .conditions
        .iter()
        .find(|c| c.type_ == kind::NOT_VALID)
        .unwrap();
    assert!(
        cond.message.contains("is not a valid DNS-1123 label"),
        "{}",
        cond.message
    );
    assert_eq!(cond.category, Category::Warn);
    assert!(
        spec.vms[0].disks[0]
            .claim_name
            .starts_with("wave-1-vm-101-")
    );
    validate_all(&spec);
}

#[test]
fn colliding_names_are_blockers() {
    let spec = render_vsphere(
        |r| {
            let plan = &mut r.plans[0].spec;
            plan.pvc_name_template = "{{.PlanName}}-disk".into();
            plan.pvc_name_template_use_generate_name = Some(false);
            plan.volume_name_template = "disk".into();
            plan.vms[1].target_name = "web-01".into();
        },
        &RenderContext::default(),
    );
    let types: Vec<_> = spec.conditions.iter().map(|c| c.type_.as_str()).collect();
    assert!(types.contains(&kind::DUPLICATE_VM), "{types:?}");
    assert!(types.contains(&kind::DUPLICATE_PVC_NAME), "{types:?}");
    let volumes = spec
        .conditions
        .iter()
        .find(|c| c.type_ == kind::DUPLICATE_VOLUME_NAME)
        .unwrap();
    assert_eq!(volumes.items, ["web-01: disk"]);
}
