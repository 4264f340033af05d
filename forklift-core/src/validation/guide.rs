//! The guide's plan-level rules and the admission webhook's checks (§2.7).

use super::{Context, kind, reason};
use crate::resources::{Category, Condition, ProviderType};

const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";

impl Context<'_> {
    pub(crate) fn validate_guide_plan_rules(&mut self) {
        let vms = self.plan.spec.vms.len();
        let max_vms = self.settings.max_vms_per_plan;
        if vms > max_vms {
            self.set(
                Condition::new(kind::PLAN_VM_LIMIT_EXCEEDED, Category::Critical)
                    .with_reason(reason::NOT_SUPPORTED)
                    .with_message(format!(
                        "The plan has {vms} VMs; a plan cannot contain more than {max_vms} VMs."
                    )),
            );
        }
        let disks = self.plan_disk_count;
        let max_disks = self.settings.max_disks_per_plan;
        if disks > max_disks {
            self.set(Condition::new(kind::PLAN_DISK_LIMIT_EXCEEDED, Category::Critical)
                .with_reason(reason::NOT_SUPPORTED)
                .with_message(format!("The plan has {disks} disks; a plan cannot contain more than {max_disks} disks.")));
        }
        if self.kind == ProviderType::VSphere
            && self.uses_offload()
            && !self.settings.feature_copy_offload
        {
            self.set(Condition::new(kind::COPY_OFFLOAD_DISABLED, Category::Critical)
                .with_reason(reason::NOT_SUPPORTED)
                .with_message("The storage map uses copy offload, but feature CopyOffload is off; set feature_copy_offload to \"true\" in the ForkliftController."));
        }
        if self.kind == ProviderType::VSphere {
            let limit = self.settings.max_vms_per_esxi_host;
            let mut busy: Vec<(String, usize)> = self
                .vms_per_host
                .iter()
                .filter(|(_, n)| **n > limit)
                .map(|(host, n)| {
                    let name = self
                        .index
                        .host(host)
                        .map_or(host.as_str(), |h| h.name.as_str());
                    (name.to_owned(), *n)
                })
                .collect();
            busy.sort();
            if !busy.is_empty() {
                self.set(Condition::new(kind::HOST_NFC_SERVICE_MEMORY, Category::Warn)
                    .with_reason(reason::NOT_VALID)
                    .with_message(format!("More than {limit} VMs of this plan run on one ESXi host; increase the host's NFC service memory or the migration fails."))
                    .with_items(busy.into_iter().map(|(h, n)| format!("{h} ({n} VMs)"))));
            }
        }
    }

    pub(crate) fn validate_admission_rules(&mut self) {
        let (Some(dest), Some(map)) = (self.dest, self.storage_map) else {
            return;
        };
        let remote = self.destination_provider.is_some_and(|p| !p.is_host());
        if self.plan.spec.is_warm() || self.kind == ProviderType::VSphere || remote {
            return;
        }
        let mut classes: Vec<String> = map
            .spec
            .map
            .iter()
            .map(|p| p.destination.storage_class.clone())
            .filter(|c| {
                dest.storage_class(c)
                    .is_some_and(|s| s.provisioner == NO_PROVISIONER)
            })
            .collect();
        classes.dedup();
        if !classes.is_empty() {
            self.set(Condition::new(kind::STORAGE_CLASS_NO_PROVISIONER, Category::Critical)
                .with_reason(reason::NOT_SUPPORTED)
                .with_message("Storage classes with provisioner `kubernetes.io/no-provisioner` cannot be used for this migration.")
                .with_items(classes));
        }
    }
}
