//! Naming template checks: plan-level volume and network templates, and per VM the PVC,
//! volume and network templates rendered with upstream's test data (§4.2–§4.4).

use super::{Context, kind};
use crate::inventory::{DiskBus, Vm};
use crate::naming::{
    PvcNameTemplateData, dns1123_label_errors, network_name_template, pvc_name_template,
    resolve_target_vm_name, validate_network_name_template, validate_volume_name_template,
    volume_name_template,
};
use crate::template::Template;
use std::collections::HashMap;

/// Parsed PVC name templates, by text: each distinct template is parsed once per validation.
#[derive(Default)]
pub(crate) struct ParsedTemplates {
    parsed: HashMap<String, Result<Template, String>>,
}

impl ParsedTemplates {
    fn get(&mut self, text: &str) -> &Result<Template, String> {
        self.parsed.entry(text.to_owned()).or_insert_with(|| {
            Template::parse(text).map_err(|e| format!("Invalid template syntax: {e}"))
        })
    }
}

/// Upstream `ValidatePVCNameTemplate`: render, trim, non-empty DNS-1123 label.
fn check_pvc_name(template: &Template, data: &PvcNameTemplateData) -> Result<(), String> {
    let rendered = template
        .render(data)
        .map_err(|e| format!("Template execution failed: {e}"))?;
    let name = rendered.trim();
    if name.is_empty() {
        return Err("the template renders an empty name".to_owned());
    }
    let reasons = dns1123_label_errors(name);
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid DNS-1123 label: {}",
            reasons.join("; ")
        ))
    }
}
use crate::resources::{Category, Condition, PlanVm, ProviderType};

/// Disk order of VMware: SATA, IDE, SCSI, NVMe; then controller key, unit number, key.
fn vmware_disk_order(vm: &Vm) -> Vec<usize> {
    let bus_rank = |b: DiskBus| match b {
        DiskBus::Sata => 0,
        DiskBus::Ide => 1,
        DiskBus::Scsi => 2,
        DiskBus::Nvme => 3,
        _ => 4,
    };
    let mut order: Vec<usize> = (0..vm.disks.len()).collect();
    order.sort_by_key(|&i| {
        let d = &vm.disks[i];
        (bus_rank(d.bus), d.controller_key, d.unit_number, d.key)
    });
    order
}

fn file_name(file: &str) -> String {
    file.rsplit(['/', ' ', ']'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl Context<'_> {
    /// Plan-level `NotValid` for the volume and network name templates.
    pub(crate) fn validate_name_templates(&mut self) {
        let spec = &self.plan.spec;
        if !spec.volume_name_template.is_empty() {
            if let Err(e) = validate_volume_name_template(&spec.volume_name_template) {
                self.set(
                    Condition::new(kind::NOT_VALID, Category::Critical)
                        .with_message(format!("Volume name template is invalid: {e}."))
                        .with_items([spec.volume_name_template.clone()]),
                );
            }
        }
        if !spec.network_name_template.is_empty() {
            if let Err(e) = validate_network_name_template(&spec.network_name_template) {
                self.set(
                    Condition::new(kind::NOT_VALID, Category::Critical)
                        .with_message(format!("Network name template is invalid: {e}."))
                        .with_items([spec.network_name_template.clone()]),
                );
            }
        }
    }

    /// The first PVC name template error of a VM, as `template:<t> error:<e>`.
    pub(crate) fn pvc_template_error(
        &self,
        parsed: &mut ParsedTemplates,
        plan_vm: &PlanVm,
        vm: &Vm,
    ) -> Option<String> {
        let openshift = self.kind == ProviderType::OpenShift;
        let template = pvc_name_template(
            Some(&plan_vm.pvc_name_template),
            Some(&self.plan.spec.pvc_name_template),
            self.settings.pvc_name_template.as_deref(),
            openshift,
        );
        let target = (!plan_vm.target_name.is_empty()).then_some(plan_vm.target_name.as_str());
        let base = PvcNameTemplateData {
            vm_name: vm.name.clone(),
            target_vm_name: resolve_target_vm_name(target, None, &vm.name, &vm.id),
            plan_name: self.plan.metadata.name_or_empty().to_owned(),
            vm_id: vm.id.clone(),
            ..Default::default()
        };
        let order: Vec<usize> = match self.kind {
            ProviderType::VSphere => vmware_disk_order(vm),
            _ => (0..vm.disks.len()).collect(),
        };
        let claims = vm
            .kubevirt()
            .map(|k| k.volumes.as_slice())
            .unwrap_or_default();
        let guest_disks = vm
            .vsphere()
            .map(|e| e.guest_disks.as_slice())
            .unwrap_or_default();
        let compiled = match parsed.get(template) {
            Ok(t) => t,
            Err(e) => return Some(format!("template:{template} error:{e}")),
        };
        let mut index = 0i64;
        for &i in &order {
            let disk = &vm.disks[i];
            if self.kind == ProviderType::OVirt && disk.rdm {
                continue;
            }
            let mut data = base.clone();
            data.disk_index = index;
            index += 1;
            match self.kind {
                ProviderType::VSphere => {
                    data.root_disk_index = 1;
                    data.file_name = file_name(&disk.file);
                    data.win_drive_letter = guest_disks
                        .iter()
                        .find(|g| {
                            g.key == disk.key
                                && g.disk_path.len() >= 2
                                && g.disk_path.as_bytes()[1] == b':'
                        })
                        .map(|g| g.disk_path[..1].to_ascii_lowercase())
                        .unwrap_or_default();
                }
                ProviderType::OpenShift => {
                    let claim = claims
                        .iter()
                        .find(|v| v.name == disk.id)
                        .map_or(disk.file.as_str(), |v| v.claim.as_str());
                    data.source_pvc_name = claim.to_owned();
                    data.source_pvc_namespace.clone_from(&vm.namespace);
                }
                _ => data.disk_id.clone_from(&disk.id),
            }
            if let Err(e) = check_pvc_name(compiled, &data) {
                return Some(format!("template:{template} error:{e}"));
            }
        }
        None
    }

    /// Whether a VM's own volume/network templates fail (plan templates are checked once).
    pub(crate) fn vm_template_invalid(&self, plan_vm: &PlanVm) -> (bool, bool) {
        let volume = volume_name_template(Some(&plan_vm.volume_name_template), None)
            .is_some_and(|t| validate_volume_name_template(t).is_err());
        let network = network_name_template(Some(&plan_vm.network_name_template), None)
            .is_some_and(|t| validate_network_name_template(t).is_err());
        (volume, network)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Disk;

    #[test]
    fn vmware_order_and_file_names() {
        let disk = |bus, controller_key, unit_number| Disk {
            bus,
            controller_key,
            unit_number,
            ..Disk::default()
        };
        let vm = Vm {
            disks: vec![
                disk(DiskBus::Scsi, 1000, 1),
                disk(DiskBus::Sata, 15000, 0),
                disk(DiskBus::Scsi, 1000, 0),
            ],
            ..Vm::default()
        };
        assert_eq!(vmware_disk_order(&vm), [1, 2, 0]);
        assert_eq!(file_name("[ds1] web/web_1.vmdk"), "web_1.vmdk");
    }
}
