//! `forklift validate` end to end: the real binary over manifests and the example inventories.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{forklift, text};

const COMMON: &str = r#"
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {name: vcenter, namespace: openshift-mtv}
spec: {type: vsphere, url: "https://vcenter.example.com/sdk", secret: {name: vc, namespace: openshift-mtv}, settings: {vddkInitImage: "quay.io/example/vddk:8.0.2"}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {name: host, namespace: openshift-mtv}
spec: {type: openshift}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: NetworkMap
metadata: {name: net, namespace: openshift-mtv}
spec:
  provider: {source: {name: vcenter, namespace: openshift-mtv}, destination: {name: host, namespace: openshift-mtv}}
  map:
    - source: {id: network-31}
      destination: {type: multus, namespace: migrated, name: vlan-20}
    - source: {name: prod-vlan-20}
      destination: {type: pod}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: StorageMap
metadata: {name: sto, namespace: openshift-mtv}
spec:
  provider: {source: {name: vcenter, namespace: openshift-mtv}, destination: {name: host, namespace: openshift-mtv}}
  map:
    - source: {id: datastore-21}
      destination: {storageClass: ocs-storagecluster-ceph-rbd}
    - source: {name: vsanDatastore}
      destination: {storageClass: ocs-storagecluster-ceph-rbd, accessMode: ReadWriteMany}
"#;

fn plan(vm: &str, extra: &str) -> String {
    format!(
        r#"
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {{name: plan, namespace: openshift-mtv}}
spec:
  targetNamespace: migrated
  provider: {{source: {{name: vcenter, namespace: openshift-mtv}}, destination: {{name: host, namespace: openshift-mtv}}}}
  map: {{network: {{name: net, namespace: openshift-mtv}}, storage: {{name: sto, namespace: openshift-mtv}}}}
  vms: [{{id: {vm}}}]
{extra}
"#
    )
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/inventory")
}

fn run(manifests: &str, extra: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("all.yaml"), manifests).unwrap();
    let inventory = examples().join("vsphere-source.json");
    let args = [
        "validate",
        "--manifests",
        text(dir.path()),
        "--inventory",
        text(&inventory),
    ];
    // The report as JSON unless the test asks for another format.
    let format: &[&str] = if extra.contains(&"--output") {
        &[]
    } else {
        &["-o", "json"]
    };
    let output = forklift(&[&args[..], extra, format].concat());
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The report's conditions of `validate` over `manifests` (see [`run`]).
fn conditions(manifests: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let (_, out, err) = run(manifests, extra);
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    report["conditions"].as_array().unwrap().clone()
}

/// The types of [`conditions`].
fn types(manifests: &str, extra: &[&str]) -> Vec<String> {
    conditions(manifests, extra)
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_owned())
        .collect()
}

/// `forklift render` of the manifests in `dir` with the example vSphere inventory.
fn render(dir: &Path, extra: &[&str]) -> Output {
    let inventory = examples().join("vsphere-source.json");
    let args = [
        "render",
        "--manifests",
        text(dir),
        "--inventory",
        text(&inventory),
    ];
    forklift(&[&args[..], extra].concat())
}

#[test]
fn a_clean_plan_is_ready_and_exits_zero() {
    let destination = examples().join("destination.json");
    let manifests = format!("{COMMON}---{}", plan("vm-101", ""));
    let (code, out, err) = run(
        &manifests,
        &["--destination", destination.to_str().unwrap(), "--as-mtv"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ready"], true);
    let conditions = report["conditions"].as_array().unwrap();
    assert_eq!(conditions.last().unwrap()["type"], "Ready");
    // What `forklift migrate` here would do: the guest needs virt-v2v, which it lacks.
    let (code, out, _) = run(
        &manifests,
        &["--destination", destination.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    let here: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(here["ready"], false);
    let types: Vec<_> = here["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        types.contains(&"GuestConversionNotAvailable".to_owned()),
        "{types:?}"
    );
    assert!(!types.contains(&"Ready".to_owned()), "{types:?}");
    // Static IPs cannot be kept on the pod network the second pair maps to: a warning only.
    assert_eq!(conditions[0]["type"], "NetMapPreservingIPsOnPodNetwork");
    assert_eq!(conditions[0]["category"], "Warn");
}

#[test]
fn blockers_exit_one_and_list_every_condition() {
    let destination = examples().join("destination.json");
    let manifests = format!("{COMMON}---{}", plan("vm-102", "  warm: true"));
    let (code, out, err) = run(
        &manifests,
        &[
            "--destination",
            destination.to_str().unwrap(),
            "--output",
            "yaml",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let report: serde_json::Value = serde_yaml_ng::from_str(&out).unwrap();
    assert_eq!(report["ready"], false);
    let types: Vec<&str> = report["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    // Host in maintenance (Warn) and two warnings about the snapshot/CBT-free cold plan.
    assert!(types.contains(&"HostNotReady"), "{types:?}");
    assert!(types.contains(&"VMMissingGuestIPs"), "{types:?}");
    assert!(
        types.contains(&"VMMultiplePodNetworkMappings")
            || types.contains(&"NetMapPreservingIPsOnPodNetwork"),
        "{types:?}"
    );
}

#[test]
fn unloadable_inputs_exit_two() {
    let (code, _, err) = run("kind: Plan\nspec: [not, a, map]\n", &[]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(
        &format!("{COMMON}---{}", plan("vm-101", "")),
        &["--destination", "/nonexistent.json"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent.json"), "{err}");
    let (code, _, err) = run(COMMON, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("No Plan"), "{err}");
}

/// The guide's own OVA map examples (`Dummy storage for source provider <name>`), placeholders
/// filled in, validate against an OVA inventory.
#[test]
fn guide_ova_maps_with_dummy_storage_are_ready() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/seed-manifests");
    let fill = |name: &str| {
        std::fs::read_to_string(shared.join(name))
            .unwrap()
            .replace("<network_map>", "net")
            .replace("<storage_map>", "sto")
            .replace("<namespace>", "openshift-mtv")
            .replace("<source_provider>", "ova")
            .replace("<destination_provider>", "host")
            .replace("<provider_name>", "ova")
            .replace("<storage_class>", "standard")
            .replace("<access_mode>", "ReadWriteOnce")
            .replace("<network_name>", "pod")
            .replace("<network_attachment_definition_namespace>", "migrated")
            .replace("<network_attachment_definition>", "nad-1")
            .replace("<source_network_id>", "net-a")
    };
    let manifests = format!(
        "{}\n---\n{}\n---\n{}",
        fill("networkmap-ova.yaml"),
        fill("storagemap-ova-dummy.yaml"),
        r#"
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {name: ova, namespace: openshift-mtv}
spec: {type: ova, url: "nfs.example.com:/ova"}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {name: host, namespace: openshift-mtv}
spec: {type: openshift}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {name: plan, namespace: openshift-mtv}
spec:
  targetNamespace: migrated
  provider: {source: {name: ova, namespace: openshift-mtv}, destination: {name: host, namespace: openshift-mtv}}
  map: {network: {name: net, namespace: openshift-mtv}, storage: {name: sto, namespace: openshift-mtv}}
  vms: [{name: appliance}]
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("ova.json");
    std::fs::write(
        &inventory,
        r#"{"provider": "ova", "providerName": "ova",
            "vms": [{"id": "c0ffee00-0000-4000-8000-000000000001", "name": "appliance", "powerState": "off",
                     "disks": [{"id": "d1", "file": "appliance-disk1.vmdk", "storage": "d1", "capacity": 1073741824},
                               {"id": "d2", "file": "appliance-disk2.vmdk", "storage": "d2", "capacity": 2147483648}],
                     "nics": [{"mac": "00:50:56:00:00:01", "network": {"id": "net-a", "name": "VM Network"}}],
                     "ext": {"ova": {"ovfPath": "/ova/appliance.ova", "exportSource": "VMware"}}}],
            "networks": [{"id": "net-a", "name": "VM Network"}],
            "storages": [{"id": "d1", "name": "appliance-disk1.vmdk", "kind": "ovaDisk"},
                         {"id": "d2", "name": "appliance-disk2.vmdk", "kind": "ovaDisk"}]}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("all.yaml"), manifests).unwrap();
    let all = dir.path().join("all.yaml");
    let output = forklift(&[
        "validate",
        "--manifests",
        text(&all),
        "--inventory",
        text(&inventory),
        "--as-mtv",
        "-o",
        "json",
    ]);
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The seed network map sends the same source network to the pod network and to a NAD;
    // the non-multus pair wins (upstream's NAD pool), so the single NIC is on the pod network.
    assert!(out.contains("\"Ready\""), "{out}");
}

/// Copy offload is off unless a ForkliftController among the manifests turns it on (here the
/// guide's own ForkliftController example, which sets `feature_copy_offload: "true"`).
#[test]
fn copy_offload_needs_the_forklift_controller_of_the_manifests() {
    let offloaded = COMMON.replace(
        "destination: {storageClass: ocs-storagecluster-ceph-rbd",
        "offloadPlugin: {vsphereXcopyConfig: {secretRef: array, storageVendorProduct: ontap}}\n      \
         destination: {storageClass: ocs-storagecluster-ceph-rbd",
    );
    assert_ne!(offloaded, COMMON);
    let manifests = format!("{offloaded}---{}", plan("vm-101", ""));
    let without = types(&manifests, &[]);
    assert!(
        without.iter().any(|t| t == "CopyOffloadDisabled"),
        "{without:?}"
    );

    let controller = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/seed-manifests/forkliftcontroller-settings.yaml"),
    )
    .unwrap();
    assert!(controller.contains("feature_copy_offload: \"true\""));
    let with = types(&format!("{manifests}\n---\n{controller}"), &[]);
    assert!(!with.iter().any(|t| t == "CopyOffloadDisabled"), "{with:?}");
}

#[test]
fn hooks_are_refused_unless_validate_and_render_are_told_they_run() {
    let hooked = plan("vm-101", "").replace(
        "vms: [{id: vm-101}]",
        "vms: [{id: vm-101, hooks: [{step: PreHook, hook: {name: pre, namespace: openshift-mtv}}]}]",
    );
    let manifests = format!(
        "{COMMON}---{hooked}---\napiVersion: forklift.konveyor.io/v1beta1\nkind: Hook\n\
         metadata: {{name: pre, namespace: openshift-mtv}}\n\
         spec: {{image: quay.io/konveyor/hook-runner, playbook: LSBob3N0czogbG9jYWxob3N0Cg==}}\n"
    );
    let refusal = "HookRunnerNotAvailable".to_owned();
    assert!(types(&manifests, &[]).contains(&refusal));
    assert!(!types(&manifests, &["--hooks", "local"]).contains(&refusal));
    assert!(!types(&manifests, &["--as-mtv"]).contains(&refusal));

    // render describes the same run.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("all.yaml"), &manifests).unwrap();
    let render = |extra: &[&str]| String::from_utf8(render(dir.path(), extra).stderr).unwrap();
    let refused = render(&[]);
    assert!(
        refused.contains("Critical HookRunnerNotAvailable") && refused.contains("--hooks local"),
        "{refused}"
    );
    assert!(!render(&["--hooks", "local"]).contains("HookRunnerNotAvailable"));
}

#[test]
fn conversion_is_refused_unless_validate_and_render_are_told_a_converter_runs() {
    let manifests = format!("{COMMON}---{}", plan("vm-101", ""));
    let conversion = |extra: &[&str]| -> Option<String> {
        conditions(&manifests, extra)
            .iter()
            .find(|c| c["type"] == "GuestConversionNotAvailable")
            .map(|c| c["message"].as_str().unwrap().to_owned())
    };
    assert!(conversion(&[]).is_some());
    let installed = Command::new("sh")
        .args(["-c", "command -v virt-v2v-in-place || command -v virt-v2v"])
        .output()
        .is_ok_and(|o| o.status.success());
    let with = conversion(&["--converter", "virt-v2v"]);
    if installed {
        assert_eq!(with, None);
    } else {
        // Configured but not runnable: the refusal says why.
        assert!(with.unwrap().contains("not installed"));
    }

    // render describes the same run: the conversion phases instead of the refusal.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("all.yaml"), &manifests).unwrap();
    let render = |extra: &[&str]| {
        let args = [&["--json"], extra].concat();
        String::from_utf8(render(dir.path(), &args).stdout).unwrap()
    };
    assert!(render(&[]).contains("GuestConversionNotAvailable"));
    if installed {
        let converted = render(&["--converter", "virt-v2v"]);
        assert!(
            !converted.contains("GuestConversionNotAvailable"),
            "{converted}"
        );
        assert!(converted.contains("ConvertGuest"), "{converted}");
    }
}
