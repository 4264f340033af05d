//! Fuzzes the Go template engine: any input must parse or fail with a typed error, and any
//! parsed template must execute or fail with a typed error, within the execution limits.

use forklift_core::naming::{NetworkNameTemplateData, PvcNameTemplateData, VolumeNameTemplateData};
use forklift_core::template::Template;

/// The target: see the module documentation.
pub fn run(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(template) = Template::parse(text) else {
        return;
    };
    let pvc = PvcNameTemplateData {
        vm_name: "My VM_01".into(),
        target_vm_name: "my-vm-01".into(),
        plan_name: "plan".into(),
        disk_index: i64::from(selector),
        file_name: "disk-1.vmdk".into(),
        ..Default::default()
    };
    let volume = VolumeNameTemplateData {
        pvc_name: "pvc-Ω".into(),
        volume_index: -1,
    };
    let network = NetworkNameTemplateData {
        network_type: "multus".into(),
        network_index: i64::MAX,
        ..Default::default()
    };
    let _ = match selector % 3 {
        0 => template.execute(&pvc),
        1 => template.execute(&volume),
        _ => template.execute(&network),
    };
}
