//! Convenience wrappers taking naming settings from plan and controller resources.

use super::templates::{network_name_template, pvc_name_template, volume_name_template};
use super::vm_name::resolve_target_vm_name;
use crate::resources::controller::ForkliftControllerSettings;
use crate::resources::plan::{PlanSpec, PlanVm, VmStatus};

fn set(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Un-escapes a ForkliftController template setting: the operator stores `\{` and `\}` so
/// that Ansible leaves the Go template alone, and the controller removes the backslashes
/// before parsing.
pub fn unescape_controller_template(setting: &str) -> String {
    setting.replace("\\{", "{").replace("\\}", "}")
}

/// The PVC name template for a VM of a plan: VM, plan, then the controller setting for the
/// source type (un-escaped), then MTV's default.
pub fn plan_pvc_name_template(
    plan: &PlanSpec,
    vm: &PlanVm,
    controller: Option<&ForkliftControllerSettings>,
    source_is_openshift: bool,
) -> String {
    let setting = controller.and_then(|c| {
        if source_is_openshift {
            c.controller_ocp_pvc_name_template.as_deref()
        } else {
            c.controller_pvc_name_template.as_deref()
        }
    });
    let unescaped = setting.map(unescape_controller_template);
    pvc_name_template(
        set(&vm.pvc_name_template),
        set(&plan.pvc_name_template),
        unescaped.as_deref(),
        source_is_openshift,
    )
    .to_owned()
}

/// The volume name template for a VM of a plan (`None`: the default `vol-<i>`).
pub fn plan_volume_name_template<'a>(plan: &'a PlanSpec, vm: &'a PlanVm) -> Option<&'a str> {
    volume_name_template(
        set(&vm.volume_name_template),
        set(&plan.volume_name_template),
    )
}

/// The network name template for a VM of a plan (`None`: the default `net-<i>`).
pub fn plan_network_name_template<'a>(plan: &'a PlanSpec, vm: &'a PlanVm) -> Option<&'a str> {
    network_name_template(
        set(&vm.network_name_template),
        set(&plan.network_name_template),
    )
}

/// `.TargetVmName` for a VM of a plan, from its `targetName`, the `newName` recorded in its
/// migration status, or its source name and ID ([`resolve_target_vm_name`]).
pub fn plan_target_vm_name(
    vm: &PlanVm,
    status: Option<&VmStatus>,
    source_name: &str,
    vm_id: &str,
) -> String {
    let new_name = status.map(|s| s.new_name.as_str());
    resolve_target_vm_name(set(&vm.target_name), new_name, source_name, vm_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_resolve_from_resources() {
        let mut plan = PlanSpec::default();
        let mut vm = PlanVm::by_name("Web_01");
        let controller = ForkliftControllerSettings {
            controller_pvc_name_template: Some(
                "\\{\\{.PlanName\\}\\}-\\{\\{.DiskIndex\\}\\}".into(),
            ),
            ..Default::default()
        };
        assert_eq!(
            plan_pvc_name_template(&plan, &vm, Some(&controller), false),
            "{{.PlanName}}-{{.DiskIndex}}"
        );
        assert_eq!(
            plan_pvc_name_template(&plan, &vm, Some(&controller), true),
            "{{.SourcePVCName}}"
        );
        plan.pvc_name_template = "plan-{{.DiskIndex}}".into();
        assert_eq!(
            plan_pvc_name_template(&plan, &vm, Some(&controller), false),
            "plan-{{.DiskIndex}}"
        );
        vm.pvc_name_template = "vm-{{.DiskIndex}}".into();
        assert_eq!(
            plan_pvc_name_template(&plan, &vm, None, false),
            "vm-{{.DiskIndex}}"
        );
        assert_eq!(plan_volume_name_template(&plan, &vm), None);
        plan.network_name_template = "n{{.NetworkIndex}}".into();
        assert_eq!(
            plan_network_name_template(&plan, &vm),
            Some("n{{.NetworkIndex}}")
        );
        assert_eq!(plan_target_vm_name(&vm, None, "Web_01", "vm-1"), "web-01");
        vm.target_name = "front".into();
        assert_eq!(plan_target_vm_name(&vm, None, "Web_01", "vm-1"), "front");
    }
}
