//! Plan validation with MTV's conditions, offline.
//!
//! [`validate`] answers "will this plan run?" the way the Forklift plan controller does: it runs
//! upstream's control flow (`pkg/controller/plan/validation.go`), produces the same condition
//! types, categories, reasons and item formats, and adds the user guide's rules that upstream
//! does not enforce under stable condition types of our own (see [`kind`]). Everything is
//! collected; the only early stops are upstream's: a source provider that is not ready, and any
//! blocker after the provider, namespace and map checks (context-dependent checks are skipped).
//!
//! Differences from the controller, by design:
//! - Conditions are returned as a list, keyed by type as upstream's status holds them
//!   ([`ConditionSet`]): when two checks share a type (`NotValid`, `DuplicateVM`,
//!   `VMHasSnapshots`, `HookNotValid`) the one upstream sets last wins, at the place where the
//!   type first appeared.
//! - Resources without `status` (as users write them) count as Ready when
//!   [`Settings::assume_ready`] is set; maps without status are then validated against the
//!   inventories with the map controller's rules ([`crate::mapping::validate_network_map`]).
//! - Without a destination inventory, destination-dependent checks are skipped.
//! - Checks that need a running cluster (VDDK validation job, RBAC, CSIStorageCapacity) are not run.

mod dns;
mod guide;
mod plan;
mod templates;
mod vm;

pub use crate::resources::condition_types::{kind, reason};

use crate::inventory::{DestinationInventory, InventoryIndex, SourceInventory};
use crate::manifest::PlanBundle;
use crate::mapping::{NetworkMapper, StorageMapper};
use crate::resources::{
    Category, Condition, ConditionSet, ConditionStatus, ForkliftControllerSettings, Hook,
    NetworkMap, Plan, Provider, ProviderType, StorageMap,
};

/// Controller settings and feature gates that change validation outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Resources without `status` count as Ready (offline manifests).
    pub assume_ready: bool,
    /// Feature `OCPLiveMigration` (KubeVirt live migration).
    pub feature_ocp_live_migration: bool,
    /// Feature `OvirtWarmMigration` (`controller_ovirt_warm_migration`).
    pub feature_ovirt_warm_migration: bool,
    /// Feature `CopyOffload`.
    pub feature_copy_offload: bool,
    /// Feature `StaticUdnIpAddresses` (`controller_static_udn_ip_addresses`).
    pub feature_static_udn_ip_addresses: bool,
    /// Global VDDK image (`VDDK_IMAGE`), used when the provider sets none.
    pub vddk_image: String,
    /// Global migration service account (`controller_migration_service_account`).
    pub migration_service_account: String,
    /// The controller namespace enforces restricted pod security.
    pub controller_namespace_restricted: bool,
    /// ForkliftController `controller_pvc_name_template` (non-OpenShift sources) or
    /// `controller_ocp_pvc_name_template` (OpenShift sources), when set.
    pub pvc_name_template: Option<String>,
    /// Guide: maximum VMs per plan.
    pub max_vms_per_plan: usize,
    /// Guide: maximum disks per plan.
    pub max_disks_per_plan: usize,
    /// Guide: VMs per ESXi host above which NFC service memory must be raised.
    pub max_vms_per_esxi_host: usize,
}

impl Default for Settings {
    /// Upstream's defaults when no ForkliftController sets the gates (`pkg/settings`
    /// environment defaults): CopyOffload, OCPLiveMigration, OvirtWarmMigration and
    /// StaticUdnIpAddresses off; offline manifests count as Ready.
    fn default() -> Self {
        Self {
            assume_ready: true,
            feature_ocp_live_migration: false,
            feature_ovirt_warm_migration: false,
            feature_copy_offload: false,
            feature_static_udn_ip_addresses: false,
            vddk_image: String::new(),
            migration_service_account: String::new(),
            pvc_name_template: None,
            controller_namespace_restricted: false,
            max_vms_per_plan: 500,
            max_disks_per_plan: 500,
            max_vms_per_esxi_host: 10,
        }
    }
}

impl Settings {
    /// The settings the operator gives the controller from a ForkliftController: its feature
    /// gates, global VDDK image and migration service account; the rest as
    /// [`Settings::default`]. A gate the ForkliftController leaves out has its CRD default
    /// (`"true"` for all four), as the API server fills it in before the operator reads it.
    /// Without a ForkliftController, use [`Settings::default`] (upstream's gates are then
    /// off); [`Settings::for_bundle`] picks between the two.
    pub fn from_controller(controller: &ForkliftControllerSettings) -> Self {
        Self {
            feature_ocp_live_migration: controller.feature_ocp_live_migration.as_bool(),
            feature_ovirt_warm_migration: controller.controller_ovirt_warm_migration.as_bool(),
            feature_copy_offload: controller.feature_copy_offload.as_bool(),
            feature_static_udn_ip_addresses: controller
                .controller_static_udn_ip_addresses
                .as_bool(),
            vddk_image: controller.vddk_image.clone().unwrap_or_default(),
            migration_service_account: controller
                .controller_migration_service_account
                .clone()
                .unwrap_or_default(),
            ..Self::default()
        }
    }

    /// The settings the ForkliftController of the bundle's manifest set gives
    /// ([`Settings::from_controller`]), or [`Settings::default`] when the set holds none:
    /// without a controller upstream's gates are off, not the CRD's defaults.
    pub fn for_bundle(bundle: &PlanBundle) -> Self {
        if bundle.has_controller {
            Self::from_controller(&bundle.settings)
        } else {
            Self::default()
        }
    }
}

/// The resources a plan refers to besides itself: providers, maps and hooks. Lookups go by the
/// plan's references (a reference without namespace means the plan's namespace).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanResources<'a> {
    /// Providers.
    pub providers: &'a [Provider],
    /// Network maps.
    pub network_maps: &'a [NetworkMap],
    /// Storage maps.
    pub storage_maps: &'a [StorageMap],
    /// Hooks.
    pub hooks: &'a [Hook],
}

impl<'a> PlanResources<'a> {
    /// The providers, maps and hooks of the bundle's manifest set.
    pub fn of(bundle: &'a PlanBundle) -> Self {
        Self {
            providers: &bundle.providers,
            network_maps: &bundle.network_maps,
            storage_maps: &bundle.storage_maps,
            hooks: &bundle.hooks,
        }
    }
}

/// Validates a plan. See the module documentation for the flow. The result holds at most one
/// condition per type (upstream's overwrite semantics).
pub fn validate(
    plan: &Plan,
    resources: &PlanResources<'_>,
    source: &SourceInventory,
    destination: Option<&DestinationInventory>,
    settings: &Settings,
) -> Vec<Condition> {
    let mut ctx = Context::new(plan, resources, source, destination, settings);
    ctx.run();
    ctx.out.into_vec()
}

/// Whether the conditions contain no blocker (a true Critical or Error condition).
pub fn is_ready(conditions: &[Condition]) -> bool {
    !conditions.iter().any(Condition::is_blocker)
}

/// Everything the checks share.
pub(crate) struct Context<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) res: &'a PlanResources<'a>,
    pub(crate) source: &'a SourceInventory,
    pub(crate) index: InventoryIndex<'a>,
    pub(crate) dest: Option<&'a DestinationInventory>,
    pub(crate) settings: &'a Settings,
    pub(crate) kind: ProviderType,
    pub(crate) source_provider: Option<&'a Provider>,
    pub(crate) destination_provider: Option<&'a Provider>,
    pub(crate) network_map: Option<&'a NetworkMap>,
    pub(crate) storage_map: Option<&'a StorageMap>,
    pub(crate) networks: Option<NetworkMapper<'a>>,
    pub(crate) storages: Option<StorageMapper<'a>>,
    /// The one place conditions go in (through [`Context::set`]).
    out: ConditionSet,
    pub(crate) plan_disk_count: usize,
    pub(crate) vms_per_host: std::collections::HashMap<String, usize>,
}

impl<'a> Context<'a> {
    fn new(
        plan: &'a Plan,
        res: &'a PlanResources<'a>,
        source: &'a SourceInventory,
        dest: Option<&'a DestinationInventory>,
        settings: &'a Settings,
    ) -> Self {
        Self {
            plan,
            res,
            source,
            index: source.index(),
            dest,
            settings,
            kind: source.provider,
            source_provider: None,
            destination_provider: None,
            network_map: None,
            storage_map: None,
            networks: None,
            storages: None,
            out: ConditionSet::new(),
            plan_disk_count: 0,
            vms_per_host: std::collections::HashMap::new(),
        }
    }

    pub(crate) fn plan_namespace(&self) -> &'a str {
        self.plan.metadata.namespace_or_empty()
    }

    pub(crate) fn target_namespace(&self) -> &'a str {
        &self.plan.spec.target_namespace
    }

    /// Sets a condition with upstream's `SetCondition` semantics: a condition of the same type
    /// set earlier is replaced.
    pub(crate) fn set(&mut self, condition: Condition) {
        self.out.set(condition);
    }

    pub(crate) fn has(&self, type_: &str) -> bool {
        self.out.has(type_)
    }

    fn has_blocker(&self) -> bool {
        self.out.has_blocker()
    }

    /// Whether a resource with these status conditions counts as Ready.
    pub(crate) fn is_ready(&self, status: Option<&[Condition]>) -> bool {
        match status {
            Some(conditions) if !conditions.is_empty() => conditions
                .iter()
                .any(|c| c.type_ == kind::READY && c.status == ConditionStatus::True),
            _ => self.settings.assume_ready,
        }
    }

    fn run(&mut self) {
        self.validate_provider_pair();
        if self.has(kind::SOURCE_PROVIDER_NOT_READY) {
            return;
        }
        self.validate_target_namespace();
        self.validate_network_map();
        self.validate_storage_map();
        if self.has_blocker() {
            return;
        }
        self.validate_user_defined_network();
        self.validate_net_app_shift();
        self.validate_warm_migration();
        self.validate_migration_type();
        let executing = self.plan.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == kind::EXECUTING && c.is_true())
        });
        if !executing {
            self.validate_vms();
        }
        self.validate_transfer_network();
        self.validate_service_account();
        self.validate_hooks();
        self.validate_virt_v2v_image();
        if !self.has(kind::VIRT_V2V_IMAGE_NOT_VALID) {
            self.validate_vddk_image();
        }
        self.validate_openshift_version();
        self.validate_name_templates();
        self.validate_ssh_readiness();
        self.validate_conversion_temp_storage();
        self.validate_pod_security();
        self.validate_guide_plan_rules();
        self.validate_admission_rules();
        self.finish();
    }

    fn finish(&mut self) {
        if self.plan.spec.archived {
            self.set(
                Condition::new(kind::ARCHIVED, Category::Advisory)
                    .with_reason(reason::USER_REQUESTED)
                    .with_message("The migration plan has been archived."),
            );
        }
        if !self.has_blocker() && !self.plan.spec.archived {
            self.set(
                Condition::new(kind::READY, Category::Required)
                    .with_message("The migration plan is ready."),
            );
        }
    }
}

#[cfg(test)]
mod tests;
