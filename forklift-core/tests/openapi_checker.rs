//! The schema checker itself rejects what it should (so a green render test means something).

mod support;

use serde_json::json;
use support::openapi::OpenApi;

#[test]
fn checker_accepts_a_minimal_vm_and_rejects_mistakes() {
    let api = OpenApi::load();
    assert!(api.has("v1.VirtualMachine"));
    let good = json!({
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": "vm", "labels": {"a": "b"}},
        "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {
            "devices": {"disks": [{"name": "d", "disk": {"bus": "virtio"}}]},
            "memory": {"guest": "1Gi"}
        }}}}
    });
    assert_eq!(
        api.validate("v1.VirtualMachine", &good),
        Vec::<String>::new()
    );

    let mut unknown = good.clone();
    unknown["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0]["bsu"] = json!("x");
    let errors = api.validate("v1.VirtualMachine", &unknown);
    assert_eq!(
        errors,
        ["$.spec.template.spec.domain.devices.disks[0].bsu: unknown property"]
    );

    let mut wrong_type = good.clone();
    wrong_type["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0]["bootOrder"] =
        json!("1");
    assert_eq!(api.validate("v1.VirtualMachine", &wrong_type).len(), 1);

    let mut missing = good.clone();
    missing["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    assert_eq!(
        api.validate("v1.VirtualMachine", &missing),
        ["$.spec.template.spec.domain.devices.disks[0]: missing required field name"]
    );

    let mut no_spec = good;
    no_spec.as_object_mut().unwrap().remove("spec");
    assert_eq!(api.validate("v1.VirtualMachine", &no_spec).len(), 1);
}

#[test]
fn checker_handles_data_volumes_and_pvcs() {
    let api = OpenApi::load();
    let dv = json!({
        "apiVersion": "cdi.kubevirt.io/v1beta1",
        "kind": "DataVolume",
        "metadata": {"name": "d"},
        "spec": {"source": {"blank": {}}, "storage": {
            "resources": {"requests": {"storage": "1Gi"}},
            "accessModes": ["ReadWriteOnce"], "volumeMode": "Block"
        }}
    });
    assert!(api.validate_data_volume(&dv).is_empty());
    let mut bad = dv.clone();
    bad["spec"]["source"]["imageio"] = json!({"url": "https://x"});
    assert_eq!(
        api.validate_data_volume(&bad),
        ["$.spec.source.imageio: missing required field diskId"]
    );
    let pvc = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "p"},
        "spec": {"resources": {"requests": {"storage": 5}}, "accessModes": ["ReadWriteMany"]}
    });
    assert!(api.validate_pvc(&pvc).is_empty());
    let mut bad = pvc;
    bad["spec"]["resources"]["requests"]["storage"] = json!(["x"]);
    assert_eq!(api.validate_pvc(&bad).len(), 1);
}
