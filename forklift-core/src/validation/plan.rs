//! Provider pair and plan-level checks (§2.1, §2.2).

use super::dns::{is_image_reference, is_quantity, version_less};
use super::{Context, kind, reason};
use crate::inventory::SourceInventory;
use crate::mapping::{NetworkMapper, StorageMapper, validate_network_map, validate_storage_map};
use crate::naming::is_dns1123_subdomain;
use crate::resources::{
    Category, Condition, MigrationType, NetworkDestinationType, ObjectMeta, ObjectReference,
    Provider, ProviderType,
};

/// NetApp Shift storage class annotation and value.
pub(crate) const SHIFT_ANNOTATION: &str = "shift.netapp.io/storage-class-type";
const UDN_NAMESPACE_LABEL: &str = "k8s.ovn.org/primary-user-defined-network";
const UDN_NAD_LABEL: &str = "k8s.ovn.org/user-defined-network";
const ROUTE_ANNOTATION: &str = "forklift.konveyor.io/route";
const DEFAULT_TRANSFER_NETWORK_ANNOTATION: &str = "forklift.konveyor.io/defaultTransferNetwork";

fn matches_ref(meta: &ObjectMeta, r: &ObjectReference, default_namespace: &str) -> bool {
    let ns = if r.namespace.is_empty() {
        default_namespace
    } else {
        r.namespace.as_str()
    };
    meta.name_or_empty() == r.name && meta.namespace_or_empty() == ns
}

impl<'a> Context<'a> {
    fn find_provider(&self, r: &ObjectReference) -> Option<&'a Provider> {
        let ns = self.plan_namespace();
        self.res
            .providers
            .iter()
            .find(|p| matches_ref(&p.metadata, r, ns))
    }

    pub(crate) fn validate_provider_pair(&mut self) {
        let pair = &self.plan.spec.provider;
        // Source.
        if pair.source.name.is_empty() {
            self.set(not_valid(
                kind::SOURCE_PROVIDER_NOT_VALID,
                reason::NOT_SET,
                "Source provider not specified.",
            ));
        } else if let Some(p) = self.find_provider(&pair.source) {
            self.source_provider = Some(p);
            if let Some(t) = p.spec.type_ {
                self.kind = t;
            }
            if !self.is_ready(p.status.as_ref().map(|s| s.conditions.as_slice())) {
                self.set(
                    Condition::new(kind::SOURCE_PROVIDER_NOT_READY, Category::Critical)
                        .with_message("The source provider is not ready."),
                );
            }
        } else {
            self.set(
                not_valid(
                    kind::SOURCE_PROVIDER_NOT_VALID,
                    reason::NOT_FOUND,
                    "Source provider not found.",
                )
                .with_items([pair.source.qualified_name()]),
            );
        }
        // Destination.
        if pair.destination.name.is_empty() {
            self.set(not_valid(
                kind::DESTINATION_PROVIDER_NOT_VALID,
                reason::NOT_SET,
                "Destination provider not specified.",
            ));
        } else if let Some(p) = self.find_provider(&pair.destination) {
            self.destination_provider = Some(p);
            if p.spec.type_ != Some(ProviderType::OpenShift) {
                self.set(not_valid(
                    kind::DESTINATION_PROVIDER_NOT_VALID,
                    reason::TYPE_NOT_VALID,
                    "The destination provider type must be `openshift`.",
                ));
            } else if !self.is_ready(p.status.as_ref().map(|s| s.conditions.as_slice())) {
                self.set(
                    Condition::new(kind::DESTINATION_PROVIDER_NOT_READY, Category::Critical)
                        .with_message("The destination provider is not ready."),
                );
            }
        } else {
            self.set(
                not_valid(
                    kind::DESTINATION_PROVIDER_NOT_VALID,
                    reason::NOT_FOUND,
                    "Destination provider not found.",
                )
                .with_items([pair.destination.qualified_name()]),
            );
        }
    }

    pub(crate) fn validate_target_namespace(&mut self) {
        let ns = self.target_namespace();
        if ns.is_empty() {
            self.set(not_valid(
                kind::NAMESPACE_NOT_VALID,
                reason::NOT_SET,
                "Target namespace must be specified.",
            ));
        } else if !is_dns1123_subdomain(ns) {
            self.set(
                not_valid(
                    kind::NAMESPACE_NOT_VALID,
                    reason::NOT_VALID,
                    "Target namespace is not valid.",
                )
                .with_items([ns.to_owned()]),
            );
        }
    }

    fn source_provider_identity(&self) -> (&'a str, &'a str) {
        self.source_provider.map_or(("", ""), |p| {
            (
                p.metadata.name_or_empty(),
                p.metadata.uid.as_deref().unwrap_or_default(),
            )
        })
    }

    pub(crate) fn validate_network_map(&mut self) {
        let maps = self.res.network_maps;
        let Some(map) = self.find_map(
            &self.plan.spec.map.network,
            maps,
            |m| &m.metadata,
            kind::NETWORK_MAP_REF_NOT_VALID,
            "Network map not found.",
        ) else {
            return;
        };
        self.network_map = Some(map);
        self.networks = Some(NetworkMapper::new(&map.spec.map, Some(self.source)));
        let status = map.status.as_ref().map(|s| s.conditions.as_slice());
        self.require_map_ready(
            status,
            |src, dst| validate_network_map(map, src, dst),
            kind::NETWORK_MAP_NOT_READY,
            "Network map does not have Ready condition.",
        );
        // Static IPs preserved on the pod network without UDN.
        let supports = matches!(self.kind, ProviderType::VSphere | ProviderType::HyperV);
        let to_pod = map
            .spec
            .map
            .iter()
            .any(|p| p.destination.type_ == NetworkDestinationType::Pod);
        if supports && self.plan.spec.preserve_static_ips && to_pod && !self.destination_has_udn() {
            self.set(Condition::new(kind::NET_MAP_PRESERVING_IPS_ON_POD_NETWORK, Category::Warn)
                .with_message("Your network map maps to the pod network; static IPs cannot be preserved there. Map to a user-defined network or a multus network."));
        }
        let target = self.target_namespace();
        let bad: Vec<String> = map
            .spec
            .map
            .iter()
            .filter(|p| p.destination.type_ == NetworkDestinationType::Multus)
            .filter(|p| {
                let d = &p.destination;
                !d.namespace.is_empty() && d.namespace != target && d.namespace != "default"
            })
            .map(|p| format!("{}/{}", p.destination.namespace, p.destination.name))
            .collect();
        if !bad.is_empty() {
            self.set(
                not_valid(
                    kind::NET_MAP_DESTINATION_NAD_NOT_VALID,
                    reason::NOT_VALID,
                    "Multus destinations must be in the target namespace or in `default`.",
                )
                .with_items(bad),
            );
        }
    }

    /// Finds the map `r` names among `maps`; sets `code` with reason `NotSet` when the
    /// reference is empty or `NotFound` when no map matches.
    fn find_map<'m, T>(
        &mut self,
        r: &ObjectReference,
        maps: &'m [T],
        meta: impl Fn(&T) -> &ObjectMeta,
        code: &str,
        not_found: &str,
    ) -> Option<&'m T> {
        if r.name.is_empty() {
            self.set(not_valid(code, reason::NOT_SET, "Map reference not valid."));
            return None;
        }
        let ns = self.plan_namespace();
        let found = maps.iter().find(|m| matches_ref(meta(m), r, ns));
        if found.is_none() {
            self.set(
                not_valid(code, reason::NOT_FOUND, not_found).with_items([r.qualified_name()]),
            );
        }
        found
    }

    /// Sets the critical `code` unless the map is ready: by its own `Ready` condition, or,
    /// when it has no status and `assume_ready` is on, by running its validation offline.
    fn require_map_ready(
        &mut self,
        status: Option<&[Condition]>,
        check: impl Fn(&SourceInventory, &crate::inventory::DestinationInventory) -> Vec<Condition>,
        code: &str,
        message: &str,
    ) {
        let ready = match status {
            Some(c) if !c.is_empty() => self.is_ready(Some(c)),
            _ if self.settings.assume_ready => {
                let found = self.offline_map_conditions(check);
                !found.iter().any(Condition::is_blocker)
            }
            _ => false,
        };
        if !ready {
            self.set(Condition::new(code, Category::Critical).with_message(message));
        }
    }

    /// Runs a map controller validation offline, adding its conditions to the output.
    fn offline_map_conditions(
        &mut self,
        check: impl Fn(&SourceInventory, &crate::inventory::DestinationInventory) -> Vec<Condition>,
    ) -> Vec<Condition> {
        let empty = crate::inventory::DestinationInventory::default();
        let mut found = check(self.source, self.dest.unwrap_or(&empty));
        if self.dest.is_none() {
            found.retain(|c| {
                c.type_ != kind::DESTINATION_NETWORK_NOT_VALID
                    && c.type_ != kind::DESTINATION_STORAGE_NOT_VALID
            });
        }
        for c in &found {
            self.set(c.clone());
        }
        found
    }

    pub(crate) fn validate_storage_map(&mut self) {
        if self.plan.spec.type_ == Some(MigrationType::Conversion) {
            return;
        }
        let maps = self.res.storage_maps;
        let Some(map) = self.find_map(
            &self.plan.spec.map.storage,
            maps,
            |m| &m.metadata,
            kind::STORAGE_REF_NOT_VALID,
            "Storage map not found.",
        ) else {
            return;
        };
        self.storage_map = Some(map);
        let (name, uid) = self.source_provider_identity();
        self.storages = Some(StorageMapper::new(
            &map.spec.map,
            Some(self.source),
            name,
            uid,
        ));
        let status = map.status.as_ref().map(|s| s.conditions.as_slice());
        self.require_map_ready(
            status,
            |src, dst| validate_storage_map(map, src, dst),
            kind::STORAGE_MAP_NOT_READY,
            "Storage map does not have Ready condition.",
        );
    }

    /// Target namespace labeled as primary UDN and holding a UDN NAD.
    pub(crate) fn destination_has_udn(&self) -> bool {
        let Some(dest) = self.dest else { return false };
        let target = self.target_namespace();
        dest.namespace(target)
            .is_some_and(|n| n.labels.contains_key(UDN_NAMESPACE_LABEL))
            && dest
                .network_attachment_definitions
                .iter()
                .any(|n| n.namespace == target && n.labels.contains_key(UDN_NAD_LABEL))
    }

    pub(crate) fn validate_user_defined_network(&mut self) {
        let Some(dest) = self.dest else { return };
        let target = self.target_namespace();
        let bad: Vec<String> = dest
            .network_attachment_definitions
            .iter()
            .filter(|n| n.namespace == target && n.labels.contains_key(UDN_NAD_LABEL))
            .filter(|n| {
                let config: serde_json::Value = serde_json::from_str(&n.config).unwrap_or_default();
                let field = |k: &str| {
                    config
                        .get(k)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_ascii_lowercase()
                };
                field("type") == "ovn-k8s-cni-overlay" && field("topology") == "layer3"
            })
            .map(|n| format!("{}/{}", n.namespace, n.name))
            .collect();
        if !bad.is_empty() {
            self.set(Condition::new(kind::UNSUPPORTED_USER_DEFINED_NETWORK, Category::Critical)
                .with_reason(reason::NOT_SUPPORTED)
                .with_message("The target namespace has a layer3 user-defined network, which is not supported.")
                .with_items(bad));
        }
    }

    /// Whether the storage map sends disks to a NetApp Shift storage class.
    pub(crate) fn uses_net_app_shift(&self) -> bool {
        let (Some(dest), Some(map)) = (self.dest, self.storage_map) else {
            return false;
        };
        map.spec.map.iter().any(|p| {
            dest.storage_class(&p.destination.storage_class)
                .is_some_and(|c| {
                    c.annotations
                        .get(SHIFT_ANNOTATION)
                        .is_some_and(|v| v == "shift")
                })
        })
    }

    pub(crate) fn validate_net_app_shift(&mut self) {
        if self.kind == ProviderType::VSphere
            && self.uses_net_app_shift()
            && self.plan.spec.is_warm()
        {
            self.set(
                Condition::new(kind::NET_APP_SHIFT_WARM_NOT_SUPPORTED, Category::Critical)
                    .with_reason(reason::NOT_SUPPORTED)
                    .with_message("Warm migration is not supported with NetApp Shift storage."),
            );
        }
    }

    fn supports_warm(&self) -> bool {
        match self.kind {
            ProviderType::VSphere => true,
            ProviderType::OVirt => self.settings.feature_ovirt_warm_migration,
            _ => false,
        }
    }

    pub(crate) fn validate_warm_migration(&mut self) {
        if self.plan.spec.is_warm() && !self.supports_warm() {
            self.set(
                Condition::new(kind::WARM_MIGRATION_NOT_READY, Category::Critical)
                    .with_reason(reason::NOT_SUPPORTED)
                    .with_message("Warm migration from the source provider is not supported."),
            );
        }
    }

    /// Live-migration prerequisites for KubeVirt sources: feature and gates on both sides.
    fn live_supported(&self) -> bool {
        const GATE: &str = "DecentralizedLiveMigration";
        let source_gate = match &self.source.ext {
            Some(crate::inventory::ProviderExt::Kubevirt { feature_gates, .. }) => {
                feature_gates.iter().any(|g| g.eq_ignore_ascii_case(GATE))
            }
            _ => false,
        };
        let dest_gate = self.dest.is_some_and(|d| d.kubevirt.has_feature_gate(GATE));
        self.settings.feature_ocp_live_migration && source_gate && dest_gate
    }

    pub(crate) fn validate_migration_type(&mut self) {
        let Some(t) = self.plan.spec.type_ else {
            return;
        };
        let ok = match (self.kind, t) {
            (_, MigrationType::Cold) => true,
            (ProviderType::VSphere, MigrationType::Warm | MigrationType::Conversion) => true,
            (ProviderType::OVirt, MigrationType::Warm) => {
                self.settings.feature_ovirt_warm_migration
            }
            (ProviderType::OpenShift, MigrationType::Live) => self.live_supported(),
            (ProviderType::Nutanix, _) => true,
            _ => false,
        };
        if !ok {
            self.set(
                Condition::new(kind::MIGRATION_TYPE_NOT_VALID, Category::Critical)
                    .with_reason(reason::NOT_SUPPORTED)
                    .with_message(format!(
                        "{t} migration from the source provider is not supported."
                    )),
            );
        }
    }

    pub(crate) fn validate_transfer_network(&mut self) {
        let effective = self
            .plan
            .spec
            .transfer_network
            .clone()
            .filter(|r| !r.name.is_empty())
            .or_else(|| {
                // Mutating webhook: the destination provider's default transfer network.
                let value = self
                    .destination_provider?
                    .metadata
                    .annotations
                    .get(DEFAULT_TRANSFER_NETWORK_ANNOTATION)?;
                let (ns, name) = value
                    .split_once('/')
                    .unwrap_or((self.target_namespace(), value.as_str()));
                self.dest?.nad(ns, name)?;
                Some(ObjectReference::new(ns, name))
            });
        let Some(r) = effective else { return };
        let Some(dest) = self.dest else { return };
        let target = self.target_namespace();
        let ns = if r.namespace.is_empty() {
            target
        } else {
            r.namespace.as_str()
        };
        let Some(nad) = dest.nad(ns, &r.name) else {
            self.set(
                not_valid(
                    kind::TRANSFER_NETWORK_NOT_VALID,
                    reason::NOT_FOUND,
                    "Transfer network not found.",
                )
                .with_items([format!("{ns}/{}", r.name)]),
            );
            return;
        };
        if ns != target && ns != "default" {
            self.set(
                not_valid(
                    kind::TRANSFER_NETWORK_NOT_VALID,
                    reason::NOT_VALID,
                    "Transfer network must be in the target namespace or in `default`.",
                )
                .with_items([format!("{ns}/{}", r.name)]),
            );
            return;
        }
        match nad.annotations.get(ROUTE_ANNOTATION) {
            None => self.set(Condition::new(kind::TRANSFER_NETWORK_MISSING_DEFAULT_ROUTE, Category::Warn)
                .with_reason(reason::NOT_VALID)
                .with_message(format!("Transfer network has no `{ROUTE_ANNOTATION}` annotation; transfers use the pod's default route."))),
            Some(route) if route != "none" && route.parse::<std::net::IpAddr>().is_err() => self.set(
                not_valid(kind::TRANSFER_NETWORK_NOT_VALID, reason::NOT_VALID, "Transfer network default route is not a valid IP address.")
                    .with_items([route.clone()]),
            ),
            Some(_) => {}
        }
    }

    pub(crate) fn validate_service_account(&mut self) {
        let Some(dest) = self.dest else { return };
        let sa = if self.plan.spec.service_account.is_empty() {
            self.settings.migration_service_account.as_str()
        } else {
            self.plan.spec.service_account.as_str()
        };
        if sa.is_empty() {
            return;
        }
        let target = self.target_namespace();
        let mut missing = Vec::new();
        if !dest.has_service_account(target, sa) {
            missing.push(format!("{target}/{sa}"));
        }
        let plan_ns = self.plan_namespace();
        if plan_ns != target && self.uses_local_hooks() && !dest.has_service_account(plan_ns, sa) {
            missing.push(format!("{plan_ns}/{sa}"));
        }
        if !missing.is_empty() {
            self.set(
                not_valid(
                    kind::SERVICE_ACCOUNT_NOT_VALID,
                    reason::NOT_FOUND,
                    "Service account not found.",
                )
                .with_items(missing),
            );
        }
    }

    fn uses_local_hooks(&self) -> bool {
        let ns = self.plan_namespace();
        self.plan.spec.vms.iter().flat_map(|v| &v.hooks).any(|h| {
            self.res
                .hooks
                .iter()
                .find(|x| matches_ref(&x.metadata, &h.hook, ns))
                .is_some_and(|x| x.spec.aap.is_none() && !x.spec.image.is_empty())
        })
    }

    pub(crate) fn validate_hooks(&mut self) {
        let ns = self.plan_namespace();
        let (mut not_set, mut not_found, mut invalid, mut not_ready, mut sa_missing) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut bad_step = Vec::new();
        for vm in &self.plan.spec.vms {
            let vm_item = self.identified_ref(vm).to_string();
            for h in &vm.hooks {
                // Upstream checks the step first, for every hook reference.
                if h.step().is_none() {
                    bad_step.push(format!("VM: {vm_item} step: {}", h.step));
                }
                let item = h.hook.qualified_name();
                if h.hook.name.is_empty() {
                    not_set.push(format!("VM: {vm_item}"));
                    continue;
                }
                let Some(hook) = self
                    .res
                    .hooks
                    .iter()
                    .find(|x| matches_ref(&x.metadata, &h.hook, ns))
                else {
                    not_found.push(item);
                    continue;
                };
                let spec = &hook.spec;
                let executable = match &spec.aap {
                    Some(aap) => {
                        spec.image.is_empty() && spec.playbook.is_empty() && aap.job_template_id > 0
                    }
                    None => !spec.image.is_empty(),
                };
                if !executable {
                    invalid.push(item.clone());
                }
                if !self.is_ready(hook.status.as_ref().map(|s| s.conditions.as_slice())) {
                    not_ready.push(item.clone());
                }
                if spec.aap.is_none() && !spec.service_account.is_empty() {
                    if let Some(dest) = self.dest {
                        if !dest.has_service_account(ns, &spec.service_account) {
                            sa_missing.push(format!("{ns}/{}", spec.service_account));
                        }
                    }
                }
            }
        }
        let groups = [
            (
                kind::HOOK_NOT_VALID,
                reason::NOT_SET,
                "Hook specified by: `namespace` and `name`.",
                not_set,
            ),
            (
                kind::HOOK_NOT_VALID,
                reason::NOT_FOUND,
                "Hook not found.",
                not_found,
            ),
            (
                kind::HOOK_NOT_VALID,
                reason::NOT_VALID,
                "Hook is not executable: AAP hooks need a job template and no image or playbook; local hooks need an image.",
                invalid,
            ),
            (
                kind::HOOK_NOT_READY,
                reason::NOT_FOUND,
                "Hook does not have `Ready` condition.",
                not_ready,
            ),
            (
                kind::HOOK_SERVICE_ACCOUNT_NOT_VALID,
                reason::NOT_FOUND,
                "Hook service account not found in the plan namespace.",
                sa_missing,
            ),
            (
                kind::HOOK_STEP_NOT_VALID,
                reason::NOT_VALID,
                "Hook step not valid.",
                bad_step,
            ),
        ];
        for (type_, why, message, mut items) in groups {
            items.dedup();
            if !items.is_empty() {
                self.set(not_valid(type_, why, message).with_items(items));
            }
        }
    }

    pub(crate) fn validate_virt_v2v_image(&mut self) {
        let image = &self.plan.spec.virt_v2v_image;
        if !image.is_empty() && !is_image_reference(image) {
            self.set(
                not_valid(
                    kind::VIRT_V2V_IMAGE_NOT_VALID,
                    reason::NOT_VALID,
                    "virtV2vImage is not a valid image reference.",
                )
                .with_items([image.clone()]),
            );
        }
    }

    /// The effective VDDK image: the provider's `vddkInitImage`, else the global setting.
    pub(crate) fn vddk_image(&self) -> &str {
        self.source_provider
            .and_then(|p| p.setting("vddkInitImage"))
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.settings.vddk_image)
    }

    pub(crate) fn uses_offload(&self) -> bool {
        self.storage_map.is_some_and(|m| m.uses_offload_plugin())
    }

    pub(crate) fn validate_vddk_image(&mut self) {
        if self.kind != ProviderType::VSphere || !self.vddk_image().is_empty() {
            return;
        }
        let spec = &self.plan.spec;
        if spec.is_warm() || (spec.skip_guest_conversion && !self.uses_offload()) {
            self.set(Condition::new(kind::VDDK_INIT_IMAGE_UNAVAILABLE, Category::Critical)
                .with_reason(reason::NOT_SET)
                .with_message("VDDK init image is required for warm migration and for raw copy without copy offload."));
        }
    }

    pub(crate) fn validate_openshift_version(&mut self) {
        let dest_is_openshift = self
            .destination_provider
            .is_some_and(|p| p.spec.type_ == Some(ProviderType::OpenShift));
        if self.kind != ProviderType::OpenShift || !dest_is_openshift {
            return;
        }
        let version = match &self.source.ext {
            Some(crate::inventory::ProviderExt::Kubevirt {
                kubernetes_version, ..
            }) => kubernetes_version.as_str(),
            _ => "",
        };
        // An unknown version is not checked offline (upstream fails when the query fails).
        if version_less(version, &[1, 26]) == Some(true) {
            self.set(Condition::new(kind::UNSUPPORTED_VERSION, Category::Critical)
                .with_reason(reason::NOT_SUPPORTED)
                .with_message("The source cluster runs Kubernetes older than 1.26, which is not supported.")
                .with_items([version.to_owned()]));
        }
    }

    pub(crate) fn validate_ssh_readiness(&mut self) {
        let xcopy = self.storage_map.is_some_and(|m| {
            m.spec.map.iter().any(|p| {
                p.offload_plugin
                    .as_ref()
                    .is_some_and(|o| o.vsphere_xcopy_config.is_some())
            })
        });
        let ssh = self
            .source_provider
            .and_then(|p| p.setting("esxiCloneMethod"))
            == Some("ssh");
        if self.kind != ProviderType::VSphere || !xcopy || !ssh {
            return;
        }
        let (mut ready, mut not_ready) = (Vec::new(), Vec::new());
        for host in &self.source.hosts {
            let Some(crate::inventory::HostExt::Vsphere(ext)) = &host.ext else {
                continue;
            };
            let item = format!("id:{} ip:{}", host.id, host.management_ip);
            match ext.ssh_ready {
                Some(true) => ready.push(item),
                Some(false) => not_ready.push(item),
                None => {}
            }
        }
        if !ready.is_empty() {
            self.set(
                Condition::new(kind::SSH_READY, Category::Advisory)
                    .with_reason(reason::PROVIDER_SSH_READY)
                    .with_message("ESXi hosts are reachable over SSH for copy offload.")
                    .with_items(ready),
            );
        }
        if !not_ready.is_empty() {
            self.set(
                Condition::new(kind::SSH_NOT_READY, Category::Warn)
                    .with_reason(reason::PROVIDER_SSH_NOT_READY)
                    .with_message("ESXi hosts are not reachable over SSH for copy offload.")
                    .with_items(not_ready),
            );
        }
    }

    pub(crate) fn validate_conversion_temp_storage(&mut self) {
        let spec = &self.plan.spec;
        let (class, size) = (
            &spec.conversion_temp_storage_class,
            &spec.conversion_temp_storage_size,
        );
        let message = match (class.is_empty(), size.is_empty()) {
            (true, true) => return,
            (false, true) | (true, false) => Some(
                "conversionTempStorageClass and conversionTempStorageSize must be set together."
                    .to_owned(),
            ),
            _ if !is_quantity(size) => Some(format!(
                "conversionTempStorageSize '{size}' is not a valid quantity."
            )),
            _ if self.dest.is_some_and(|d| d.storage_class(class).is_none()) => Some(format!(
                "Conversion temporary storage class '{class}' not found."
            )),
            _ => None,
        };
        if let Some(message) = message {
            self.set(Condition::new(kind::NOT_VALID, Category::Critical).with_message(message));
        }
    }

    pub(crate) fn validate_pod_security(&mut self) {
        if self.settings.controller_namespace_restricted {
            self.set(Condition::new(kind::RESTRICTED_POD_SECURITY, Category::Warn)
                .with_message("The controller namespace enforces the restricted pod security standard; migration pods may be rejected."));
        }
    }
}

pub(crate) fn not_valid(type_: &str, why: &str, message: &str) -> Condition {
    Condition::new(type_, Category::Critical)
        .with_reason(why)
        .with_message(message)
}
