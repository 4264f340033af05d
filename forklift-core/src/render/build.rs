//! Per-VM assembly of the target.

use std::collections::BTreeMap;

use super::executor::DiskCopier;
use super::kubevirt::*;
use super::names;
use super::network::{namespace_has_udn, static_ips, transfer_network_annotations};
use super::osmap::OsMap;
use super::placement::affinity_problems;
use super::resolve;
use super::rules::{self, PowerIntent, keys};
use super::spec::*;
use crate::inventory::InventoryIndex;
use crate::inventory::{Disk as SourceDisk, DiskBus, Firmware as SourceFirmware, PowerState, Vm};
use crate::itinerary::{FlagInputs, Flags, ItineraryKind};
use crate::mapping::{NetworkMapper, StorageMapper};
use crate::resources::condition_types::{kind, reason};
use crate::resources::{
    Category, Condition, HookStep, MigrationType, PlanVm, ProviderType, StoragePair,
    TargetPowerState,
};
use crate::sizing::{self, DiskPath, DiskSize, ModeOrigin, Overhead};

const MIB: u64 = 1 << 20;

fn condition(type_: &str, category: Category, reason: &str, message: String) -> Condition {
    Condition::new(type_, category)
        .with_reason(reason)
        .with_message(message)
}

/// Plan-wide facts computed once.
pub(super) struct PlanFacts<'a> {
    pub input: RenderInput<'a>,
    pub kind: ProviderType,
    pub warm: bool,
    pub migration_type: MigrationType,
    pub local_destination: bool,
    pub uses_offload: bool,
    pub udn: bool,
    pub overhead: Overhead,
    pub vsphere_osmap: OsMap,
    pub ovirt_osmap: OsMap,
    pub plan_labels: BTreeMap<String, String>,
    pub transfer_annotations: BTreeMap<String, String>,
    pub index: InventoryIndex<'a>,
    pub storage_mapper: Option<StorageMapper<'a>>,
    pub network_mapper: Option<NetworkMapper<'a>>,
}

impl<'a> PlanFacts<'a> {
    pub fn new(input: RenderInput<'a>, conditions: &mut Vec<Condition>) -> Self {
        let plan = input.plan;
        let spec = &plan.spec;
        let (vsphere_osmap, ovirt_osmap) = input.context.os_maps(input.settings);
        let mut plan_labels = BTreeMap::new();
        if let Some(uid) = &input.context.migration_uid {
            plan_labels.insert(keys::MIGRATION.to_owned(), uid.clone());
        }
        if let Some(uid) = &plan.metadata.uid {
            plan_labels.insert(keys::PLAN.to_owned(), uid.clone());
        }
        plan_labels.insert(
            keys::PLAN_NAME.to_owned(),
            plan.metadata.name_or_empty().to_owned(),
        );
        plan_labels.insert(
            keys::PLAN_NAMESPACE.to_owned(),
            plan.metadata.namespace_or_empty().to_owned(),
        );
        let mut transfer_annotations = BTreeMap::new();
        if let Some(nad) = spec
            .transfer_network
            .as_ref()
            .filter(|n| !n.name.is_empty())
        {
            let (annotations, problem) = transfer_network_annotations(nad, input.destination);
            transfer_annotations = annotations;
            if let Some(message) = problem {
                conditions.push(condition(
                    kind::TRANSFER_NETWORK_NOT_VALID,
                    Category::Warn,
                    reason::NOT_FOUND,
                    message,
                ));
            }
        }
        if let Some(affinity) = &spec.target_affinity {
            let problems = affinity_problems(affinity);
            if !problems.is_empty() {
                conditions.push(
                    condition(
                        kind::TARGET_AFFINITY_NOT_VALID,
                        Category::Critical,
                        reason::NOT_VALID,
                        "The plan's target affinity rules are not valid.".to_owned(),
                    )
                    .with_items(problems),
                );
            }
        }
        let uses_offload = input.storage_map.is_some_and(|m| {
            m.spec.map.iter().any(|p| {
                p.offload_plugin.as_ref().is_some_and(|o| {
                    o.vsphere_xcopy_config.is_some() || o.csi_volume_import.is_some()
                })
            })
        });
        PlanFacts {
            kind: input.source.provider,
            warm: spec.is_warm(),
            migration_type: spec.migration_type(),
            local_destination: input.destination_provider.is_none_or(|p| p.is_host()),
            uses_offload,
            udn: namespace_has_udn(input.destination, &spec.target_namespace),
            overhead: Overhead {
                filesystem_percent: input.settings.controller_filesystem_overhead.max(0) as u32,
                block_bytes: input.settings.controller_block_overhead.max(0) as u64,
            },
            vsphere_osmap,
            ovirt_osmap,
            plan_labels,
            transfer_annotations,
            index: input.source.index(),
            storage_mapper: input
                .storage_map
                .map(|m| resolve::storage_mapper(m, input.source, input.source_provider)),
            network_mapper: input
                .network_map
                .map(|m| resolve::network_mapper(m, input.source)),
            input,
        }
    }

    fn requires_conversion(&self) -> bool {
        self.kind.requires_conversion()
    }

    fn migrate_shared(&self, pvm: &PlanVm) -> bool {
        pvm.migrate_shared_disks
            .unwrap_or(self.input.plan.spec.migrate_shared_disks)
    }

    /// Upstream `ShouldUseV2vForTransfer`; never when the engine copies every disk itself.
    fn v2v_copies_disks(&self, pvm: &PlanVm) -> bool {
        let spec = &self.input.plan.spec;
        if self.input.context.executor.disk_copier == DiskCopier::Engine {
            return false;
        }
        match self.kind {
            ProviderType::VSphere => {
                !self.warm
                    && self.local_destination
                    && self.migrate_shared(pvm)
                    && !spec.skip_guest_conversion
                    && self.migration_type != MigrationType::Conversion
                    && !self.uses_offload
            }
            ProviderType::Ova | ProviderType::HyperV => true,
            _ => false,
        }
    }

    fn compatibility_mode(&self) -> bool {
        let spec = &self.input.plan.spec;
        spec.skip_guest_conversion && spec.use_compatibility_mode
    }
}

/// vSphere guest ids (`windows9Server64Guest`, `winNetStandardGuest`) and oVirt OS types
/// (`windows_2019x64`) of Windows guests all start with `win`.
fn is_windows(vm: &Vm) -> bool {
    vm.guest_os.to_ascii_lowercase().starts_with("win")
}

/// Renders one plan VM.
pub(super) fn render_vm(facts: &PlanFacts<'_>, pvm: &PlanVm) -> TargetVm {
    let input = facts.input;
    let spec = &input.plan.spec;
    let mut conditions = Vec::new();
    let found = resolve::find_vm(&facts.index, &pvm.id, &pvm.name, &pvm.namespace);
    // Items name the VM as validation does: the inventory's ID and name once found.
    let vm_ref = match found {
        Ok(vm) => pvm.vm_ref().identified(&vm.id, &vm.name),
        Err(_) => pvm.vm_ref(),
    };
    let hooks = hooks(facts, pvm, &vm_ref, &mut conditions);
    let vm = match found {
        Ok(vm) => vm,
        Err(why) => {
            // Validation's types and messages, with upstream's reference string as the item.
            let (type_, message) = if why == reason::NOT_FOUND {
                (kind::VM_NOT_FOUND, "VM not found.")
            } else {
                (kind::DUPLICATE_VM, "VM reference is ambiguous.")
            };
            conditions.push(
                condition(type_, Category::Critical, why, message.to_owned())
                    .with_items([vm_ref.to_string()]),
            );
            return TargetVm {
                source_id: pvm.id.clone(),
                source_name: pvm.name.clone(),
                target_name: pvm.name.clone(),
                renamed: false,
                virtual_machine: None,
                disks: Vec::new(),
                interfaces: Vec::new(),
                hooks,
                itinerary: ItineraryKind::Cold,
                flags: Flags::empty(),
                phases: Vec::new(),
                pipeline: Vec::new(),
                steps: Vec::new(),
                conversion_env: BTreeMap::new(),
                conditions,
            };
        }
    };

    let (target_name, renamed) = match names::target_vm_name(facts, pvm, vm) {
        Ok(named) => named,
        Err(problem) => {
            // Validation's types: an invalid targetName is `NotValid` (no reason), a taken one
            // `VMAlreadyExists`.
            let (type_, why) = match problem {
                crate::naming::Error::TargetNameTaken { .. } => {
                    (kind::VM_ALREADY_EXISTS, reason::NOT_UNIQUE)
                }
                _ => (kind::NOT_VALID, ""),
            };
            conditions.push(condition(
                type_,
                Category::Critical,
                why,
                problem.to_string(),
            ));
            (pvm.target_name.trim().to_owned(), true)
        }
    };
    let v2v_copies = facts.v2v_copies_disks(pvm);
    let requires_conversion = facts.requires_conversion() && !spec.skip_guest_conversion;
    let separate_copy_convert =
        facts.requires_conversion() && facts.kind != ProviderType::Ec2 && !v2v_copies;

    let mut vm_labels = facts.plan_labels.clone();
    vm_labels.insert(keys::VM_ID.to_owned(), vm.id.clone());
    vm_labels.insert(
        keys::RESOURCE.to_owned(),
        keys::RESOURCE_VM_CONFIG.to_owned(),
    );

    // Disks.
    let disks = render_disks(
        facts,
        pvm,
        vm,
        &vm_labels,
        v2v_copies,
        separate_copy_convert,
        &mut conditions,
    );

    // NICs.
    let (interfaces, networks, target_nics) = render_nics(facts, pvm, vm, &mut conditions);

    // Power.
    let intent = pvm
        .target_power_state
        .or(spec.target_power_state)
        .map(|p| match p {
            TargetPowerState::On => PowerIntent::On,
            TargetPowerState::Off => PowerIntent::Off,
            TargetPowerState::Auto => PowerIntent::Auto,
        });
    let windows = is_windows(vm);
    let wait_for_reboot =
        input.settings.feature_windows_wait_for_reboot.as_bool() && windows && requires_conversion;
    let run_strategy =
        rules::run_strategy(intent, vm.power_state == PowerState::On, wait_for_reboot);

    let mut domain = domain(facts, pvm, vm, &disks, interfaces);
    let (instancetype, preference) = instance_type_and_preference(facts, pvm, vm, &mut conditions);
    if instancetype.is_some() {
        domain.cpu = None;
        domain.memory = None;
    }

    let mut labels = vm_labels.clone();
    if facts.requires_conversion() {
        labels.insert(
            keys::GUEST_CONVERTED.to_owned(),
            (!spec.skip_guest_conversion).to_string(),
        );
    }
    let mut annotations = BTreeMap::new();
    if renamed {
        annotations.insert(keys::DISPLAY_NAME.to_owned(), vm.name.clone());
        annotations.insert(keys::ORIGINAL_ID.to_owned(), vm.id.clone());
    }
    if let Some(ext) = vm.vsphere() {
        for (name, value) in &ext.custom_attributes {
            if let Some(key) = sanitize_label_value(name) {
                annotations.insert(format!("vsphere.forklift.konveyor.io/{key}"), value.clone());
            }
        }
    }
    let mut template_labels = spec.target_labels.clone();
    template_labels.insert(keys::APP.to_owned(), target_name.clone());
    let template_annotations: BTreeMap<String, String> = [
        keys::TEMPLATE_FLAVOR,
        keys::TEMPLATE_OS,
        keys::TEMPLATE_WORKLOAD,
    ]
    .iter()
    .map(|k| ((*k).to_owned(), String::new()))
    .collect();

    let volumes = disks
        .iter()
        .map(|d| Volume {
            name: d.volume_name.clone(),
            persistent_volume_claim: Some(ClaimRef {
                claim_name: d.claim_name.clone(),
            }),
        })
        .collect();

    let virtual_machine = VirtualMachine {
        api_version: "kubevirt.io/v1".to_owned(),
        kind: "VirtualMachine".to_owned(),
        metadata: ObjectMeta {
            name: target_name.clone(),
            namespace: spec.target_namespace.clone(),
            labels,
            annotations,
            ..ObjectMeta::default()
        },
        spec: VirtualMachineSpec {
            run_strategy: run_strategy.to_owned(),
            instancetype,
            preference,
            template: VmiTemplate {
                metadata: ObjectMeta {
                    labels: template_labels,
                    annotations: template_annotations,
                    ..ObjectMeta::default()
                },
                spec: VmiSpec {
                    domain,
                    networks,
                    volumes,
                    node_selector: spec.target_node_selector.clone(),
                    affinity: spec.target_affinity.clone(),
                },
            },
        },
    };

    // Itinerary.
    let itinerary = ItineraryKind::select(
        input.context.resume_conversion,
        facts.migration_type == MigrationType::Conversion,
        facts.migration_type == MigrationType::Live,
        facts.warm,
    );
    let flags = FlagInputs {
        has_pre_hook: hooks.iter().any(|h| h.step == HookStep::PreHook),
        has_post_hook: hooks.iter().any(|h| h.step == HookStep::PostHook),
        source_requires_conversion: facts.requires_conversion(),
        skip_guest_conversion: spec.skip_guest_conversion,
        virt_v2v_copies_disks: v2v_copies,
        source_is_openstack: facts.kind == ProviderType::OpenStack,
        source_is_vsphere: facts.kind == ProviderType::VSphere,
        run_preflight_inspection: facts.kind == ProviderType::VSphere
            && facts.warm
            && !spec.skip_guest_conversion
            && spec.run_preflight_inspection,
        feature_windows_wait_for_reboot: input.settings.feature_windows_wait_for_reboot.as_bool(),
        target_power_off: intent == Some(PowerIntent::Off),
        guest_is_windows: windows,
        wait_for_final_snapshot_consolidation: true,
    }
    .flags();
    let it = itinerary.itinerary();
    let steps = step_plans(
        &it,
        flags,
        facts.requires_conversion() && spec.skip_guest_conversion,
    );

    TargetVm {
        source_id: vm.id.clone(),
        source_name: vm.name.clone(),
        target_name: target_name.clone(),
        renamed,
        virtual_machine: Some(virtual_machine),
        disks,
        interfaces: target_nics,
        hooks,
        itinerary,
        flags,
        phases: it.phases(flags),
        pipeline: it.pipeline(flags),
        steps,
        conversion_env: conversion_env(facts, pvm, vm, renamed, &target_name, requires_conversion),
        conditions,
    }
}

/// The status pipeline: the steps that run, and the steps MTV would run but a plan setting
/// skips, marked with the reason (so status never claims, nor silently drops, a step).
fn step_plans(
    itinerary: &crate::itinerary::Itinerary,
    flags: Flags,
    conversion_skipped: bool,
) -> Vec<StepPlan> {
    let running = itinerary.pipeline(flags);
    let full = if conversion_skipped {
        itinerary.pipeline(flags | Flags::REQUIRES_CONVERSION)
    } else {
        running.clone()
    };
    full.into_iter()
        .map(|step| StepPlan {
            step,
            skipped: (!running.contains(&step)).then(|| {
                "skipGuestConversion is set: the disks are copied raw and the guest is not \
                 converted"
                    .to_owned()
            }),
        })
        .collect()
}

/// The VM's hook runs. A hook whose step is neither `PreHook` nor `PostHook` never runs (no
/// phase calls it); it is left out and flagged `HookStepNotValid` as validation does.
fn hooks(
    facts: &PlanFacts<'_>,
    pvm: &PlanVm,
    vm_ref: &crate::resources::Ref,
    conditions: &mut Vec<Condition>,
) -> Vec<TargetHook> {
    let plan_ns = facts.input.plan.metadata.namespace_or_empty();
    let invalid: Vec<String> = pvm
        .hooks
        .iter()
        .filter(|h| h.step().is_none())
        .map(|h| format!("VM: {vm_ref} step: {}", h.step))
        .collect();
    if !invalid.is_empty() {
        conditions.push(
            condition(
                kind::HOOK_STEP_NOT_VALID,
                Category::Critical,
                reason::NOT_VALID,
                "Hook step not valid.".to_owned(),
            )
            .with_items(invalid),
        );
    }
    let mut out: Vec<TargetHook> = pvm
        .hooks
        .iter()
        .filter_map(|h| Some((h.step()?, h)))
        .map(|(step, h)| {
            let ns = if h.hook.namespace.is_empty() {
                plan_ns
            } else {
                h.hook.namespace.as_str()
            };
            let image = facts
                .input
                .hooks
                .iter()
                .find(|cr| {
                    cr.metadata.name_or_empty() == h.hook.name
                        && (cr.metadata.namespace_or_empty() == ns
                            || cr.metadata.namespace_or_empty().is_empty())
                })
                .map(|cr| cr.spec.image.clone())
                .filter(|i| !i.is_empty());
            TargetHook {
                step,
                hook: format!("{ns}/{}", h.hook.name),
                image,
            }
        })
        .collect();
    // PreHook runs before PostHook whatever the listing order.
    out.sort_by_key(|h| h.step != HookStep::PreHook);
    out
}

/// Upstream's label-value sanitizer for vSphere tag/attribute keys.
fn sanitize_label_value(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut in_run = false;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    let trimmed = out.trim_matches(['_', '.', '-']);
    let cut = names::cut63(trimmed);
    let cut = cut.trim_end_matches(['_', '.', '-']);
    (!cut.is_empty()).then(|| cut.to_owned())
}

fn disk_path(facts: &PlanFacts<'_>, pair: Option<&StoragePair>) -> DiskPath {
    match facts.kind {
        ProviderType::VSphere => {
            let offload = pair.and_then(|p| p.offload_plugin.as_ref());
            if offload.is_some_and(|o| o.vsphere_xcopy_config.is_some()) {
                DiskPath::VsphereXcopy
            } else if offload.is_some_and(|o| o.csi_volume_import.is_some()) {
                DiskPath::VsphereCsiImport
            } else if pair.is_some_and(|p| is_shift_class(facts, &p.destination.storage_class)) {
                DiskPath::VsphereNetAppShift
            } else {
                DiskPath::VsphereDataVolume
            }
        }
        ProviderType::OVirt => {
            if !facts.warm && facts.local_destination {
                DiskPath::OvirtPopulator
            } else {
                DiskPath::OvirtImageio
            }
        }
        ProviderType::OpenStack => DiskPath::OpenstackPopulator,
        ProviderType::HyperV => DiskPath::HypervDataVolume,
        ProviderType::OpenShift => DiskPath::KubevirtCopy,
        _ => DiskPath::OvaDataVolume,
    }
}

fn is_shift_class(facts: &PlanFacts<'_>, class: &str) -> bool {
    facts.input.destination.is_some_and(|d| {
        d.storage_classes.iter().any(|sc| {
            sc.name == class
                && sc
                    .annotations
                    .get("shift.netapp.io/storage-class-type")
                    .is_some_and(|v| v == "shift")
        })
    })
}

#[allow(clippy::too_many_arguments)]
fn render_disks(
    facts: &PlanFacts<'_>,
    pvm: &PlanVm,
    vm: &Vm,
    vm_labels: &BTreeMap<String, String>,
    v2v_copies: bool,
    separate_copy_convert: bool,
    conditions: &mut Vec<Condition>,
) -> Vec<TargetDisk> {
    let input = facts.input;
    let spec = &input.plan.spec;
    let mut out = Vec::new();
    let mut unmapped = Vec::new();
    let root_index = if pvm.root_disk.is_empty() {
        0
    } else {
        rules::boot_disk_number(&pvm.root_disk)
    };
    let use_generate_name = spec
        .pvc_name_template_use_generate_name
        .unwrap_or(facts.kind != ProviderType::OpenShift);
    let mapper = facts.storage_mapper.as_ref();
    for (index, disk) in vm.disks.iter().enumerate() {
        let identity = disk_identity(facts.kind, disk);
        if disk.shared && !facts.migrate_shared(pvm) {
            conditions.push(condition(
                kind::SHARED_DISK_NOT_MIGRATED,
                Category::Advisory,
                reason::NOT_MIGRATED,
                format!(
                    "Shared disk {identity} is not migrated; the VM attaches the existing PVC."
                ),
            ));
            continue;
        }
        let Some(pair) = mapper.and_then(|m| m.pair_for_disk(vm, disk)) else {
            unmapped.push(identity);
            continue;
        };
        let path = disk_path(facts, Some(pair));
        let class = pair.destination.storage_class.clone();
        let provisioner = input.destination.and_then(|d| {
            d.storage_classes
                .iter()
                .find(|sc| sc.name == class)
                .map(|sc| sc.provisioner.clone())
        });
        let profile = input
            .destination
            .and_then(|d| d.storage_profiles.iter().find(|p| p.name == class))
            .and_then(|p| p.claim_property_sets.first());
        let mut modes = sizing::resolve_modes(
            pair.destination.volume_mode,
            pair.destination.access_mode,
            profile.map(|c| (c.volume_mode.as_str(), c.access_modes.as_slice())),
            provisioner.as_deref(),
        );
        if let Some(forced) = path.forced_volume_mode() {
            modes.volume_mode = forced;
            modes.volume_mode_origin = ModeOrigin::StorageMap;
            if pair.destination.access_mode.is_none() {
                modes.access_mode = crate::sizing::AccessMode::ReadWriteMany;
                modes.access_mode_origin = ModeOrigin::StorageMap;
            }
        }
        let capacity = disk.capacity.max(0) as u64;
        let requested = match sizing::requested_size(
            path,
            DiskSize {
                capacity,
                actual: None,
            },
            modes.volume_mode,
            &facts.overhead,
            None,
        ) {
            Ok(bytes) => bytes,
            Err(err) => {
                conditions.push(condition(
                    kind::DISK_SIZE_NOT_VALID,
                    Category::Critical,
                    reason::NOT_VALID,
                    format!("Disk {identity}: {err}"),
                ));
                continue;
            }
        };

        let claim = match names::pvc_name(facts, pvm, vm, disk, index, root_index) {
            Ok(rendered) => names::claim_name(
                &rendered,
                use_generate_name,
                &format!(
                    "{}/{}/{}",
                    input.plan.metadata.name_or_empty(),
                    vm.id,
                    index
                ),
            ),
            Err(problem) => {
                // Upstream falls back to generateName `<plan>-<vmID>-` at build time.
                // Validation reports the same template as `NotValid` (Critical); here the
                // build-time fallback is only worth a warning.
                conditions.push(condition(
                    kind::NOT_VALID,
                    Category::Warn,
                    "",
                    format!("Disk {identity}: {problem}; using the fallback name."),
                ));
                names::claim_name(
                    &format!(
                        "{}-{}-",
                        input.plan.metadata.name_or_empty(),
                        vm.id.to_ascii_lowercase()
                    ),
                    true,
                    &format!(
                        "{}/{}/{}",
                        input.plan.metadata.name_or_empty(),
                        vm.id,
                        index
                    ),
                )
            }
        };
        let volume_name = names::volume_name(facts, pvm, vm, disk, index, &claim.name);

        let mut labels = vm_labels.clone();
        if separate_copy_convert {
            if let Some(uuid) = vm
                .vsphere()
                .map(|e| e.uuid.clone())
                .filter(|u| !u.is_empty())
            {
                labels.insert(keys::VM_UUID.to_owned(), uuid);
            }
        }
        if disk.shared {
            labels.insert(keys::SHAREABLE.to_owned(), "true".to_owned());
        }
        let mut annotations = facts.transfer_annotations.clone();
        annotations.insert(keys::DISK_SOURCE.to_owned(), identity.clone());
        if facts.kind == ProviderType::VSphere {
            annotations.insert(keys::DISK_INDEX.to_owned(), index.to_string());
        }

        let explicit = |origin: ModeOrigin| {
            matches!(
                origin,
                ModeOrigin::StorageMap | ModeOrigin::ProvisionerDefault
            )
        };
        let object = if path.is_data_volume() {
            annotations.insert(
                keys::CDI_DELETE_AFTER_COMPLETION.to_owned(),
                "false".to_owned(),
            );
            if facts.warm || !facts.local_destination || facts.kind == ProviderType::OpenShift {
                annotations.insert(keys::CDI_BIND_IMMEDIATE.to_owned(), "true".to_owned());
            }
            if facts.warm && !facts.uses_offload {
                annotations.insert(keys::CDI_USE_POPULATOR.to_owned(), "false".to_owned());
            }
            if input
                .settings
                .controller_retain_precopy_importer_pods
                .as_bool()
            {
                annotations.insert(keys::CDI_RETAIN_POD.to_owned(), "true".to_owned());
            }
            DiskObject::DataVolume(Box::new(DataVolume {
                api_version: "cdi.kubevirt.io/v1beta1".to_owned(),
                kind: "DataVolume".to_owned(),
                metadata: ObjectMeta {
                    name: claim.name.clone(),
                    namespace: spec.target_namespace.clone(),
                    labels,
                    annotations,
                    ..ObjectMeta::default()
                },
                spec: DataVolumeSpec {
                    source: data_volume_source(facts, vm, disk, path, v2v_copies),
                    storage: StorageSpec {
                        access_modes: if explicit(modes.access_mode_origin) {
                            vec![modes.access_mode.as_str().to_owned()]
                        } else {
                            Vec::new()
                        },
                        volume_mode: if explicit(modes.volume_mode_origin) {
                            modes.volume_mode.as_str().to_owned()
                        } else {
                            String::new()
                        },
                        storage_class_name: class.clone(),
                        resources: requests(requested),
                        data_source_ref: None,
                    },
                },
            }))
        } else {
            let populator = match path {
                DiskPath::OvirtPopulator => Some("OvirtVolumePopulator"),
                DiskPath::OpenstackPopulator => Some("OpenstackVolumePopulator"),
                DiskPath::VsphereXcopy => Some("VSphereXcopyVolumePopulator"),
                _ => None,
            };
            DiskObject::PersistentVolumeClaim(Box::new(PersistentVolumeClaim {
                api_version: "v1".to_owned(),
                kind: "PersistentVolumeClaim".to_owned(),
                metadata: ObjectMeta {
                    name: claim.name.clone(),
                    namespace: spec.target_namespace.clone(),
                    labels,
                    annotations,
                    ..ObjectMeta::default()
                },
                spec: StorageSpec {
                    access_modes: vec![modes.access_mode.as_str().to_owned()],
                    volume_mode: modes.volume_mode.as_str().to_owned(),
                    storage_class_name: class.clone(),
                    resources: requests(requested),
                    data_source_ref: populator.map(|kind| DataSourceRef {
                        api_group: crate::resources::GROUP.to_owned(),
                        kind: kind.to_owned(),
                        name: claim.name.clone(),
                    }),
                },
            }))
        };
        out.push(TargetDisk {
            index,
            source: identity,
            capacity,
            claim_name: claim.name,
            generate_name_prefix: claim.generate_name,
            volume_name,
            storage_class: class,
            requested_bytes: requested,
            volume_mode: modes.volume_mode,
            volume_mode_origin: modes.volume_mode_origin,
            access_mode: modes.access_mode,
            access_mode_origin: modes.access_mode_origin,
            transfer_path: path,
            object,
        });
    }
    if !unmapped.is_empty() {
        conditions.push(
            condition(
                kind::VM_STORAGE_NOT_MAPPED,
                Category::Critical,
                reason::NOT_VALID,
                "Disks of the VM use storage the storage map does not map.".to_owned(),
            )
            .with_items(unmapped),
        );
    }
    out
}

fn requests(bytes: u64) -> Resources {
    Resources {
        requests: BTreeMap::from([("storage".to_owned(), sizing::quantity(bytes))]),
    }
}

fn disk_identity(kind: ProviderType, disk: &SourceDisk) -> String {
    match kind {
        ProviderType::VSphere if !disk.file.is_empty() => disk.file.clone(),
        _ if !disk.id.is_empty() => disk.id.clone(),
        _ if !disk.file.is_empty() => disk.file.clone(),
        _ => disk.key.to_string(),
    }
}

fn data_volume_source(
    facts: &PlanFacts<'_>,
    vm: &Vm,
    disk: &SourceDisk,
    path: DiskPath,
    v2v_copies: bool,
) -> DataVolumeSource {
    let provider = facts.input.source_provider;
    let url = provider.map(|p| p.spec.url.clone()).unwrap_or_default();
    match path {
        DiskPath::VsphereDataVolume if !v2v_copies => DataVolumeSource {
            vddk: Some(VddkSource {
                url,
                uuid: vm.vsphere().map(|e| e.uuid.clone()).unwrap_or_default(),
                backing_file: disk.file.clone(),
                thumbprint: provider
                    .and_then(|p| p.status.as_ref())
                    .map(|s| s.fingerprint.clone())
                    .unwrap_or_default(),
                secret_ref: String::new(),
                init_image_url: provider
                    .and_then(|p| p.setting(crate::resources::provider::settings::VDDK_INIT_IMAGE))
                    .unwrap_or_default()
                    .to_owned(),
            }),
            ..DataVolumeSource::default()
        },
        DiskPath::OvirtImageio => DataVolumeSource {
            imageio: Some(ImageioSource {
                url,
                disk_id: disk.id.clone(),
                secret_ref: String::new(),
                cert_config_map: String::new(),
            }),
            ..DataVolumeSource::default()
        },
        DiskPath::KubevirtCopy => DataVolumeSource {
            pvc: Some(PvcSource {
                namespace: vm.namespace.clone(),
                name: kubevirt_claim(vm, disk),
            }),
            ..DataVolumeSource::default()
        },
        _ => DataVolumeSource {
            blank: Some(Empty {}),
            ..DataVolumeSource::default()
        },
    }
}

pub(super) fn kubevirt_claim(vm: &Vm, disk: &SourceDisk) -> String {
    vm.kubevirt()
        .and_then(|e| {
            e.volumes
                .iter()
                .find(|v| v.name == disk.id || v.claim == disk.id || v.name == disk.file)
        })
        .map_or_else(|| disk.id.clone(), |v| v.claim.clone())
}

fn render_nics(
    facts: &PlanFacts<'_>,
    pvm: &PlanVm,
    vm: &Vm,
    conditions: &mut Vec<Condition>,
) -> (Vec<Interface>, Vec<Network>, Vec<TargetInterface>) {
    let mut interfaces = Vec::new();
    let mut networks = Vec::new();
    let mut report = Vec::new();
    let mut unmapped = Vec::new();
    let compat = facts.compatibility_mode();
    let pairs = facts
        .network_mapper
        .as_ref()
        .map(|m| resolve::network_pairs(m, vm))
        .unwrap_or_else(|| vec![None; vm.nics.len()]);
    for (nic, pair) in vm.nics.iter().zip(pairs) {
        let Some(pair) = pair else {
            unmapped.push(if nic.name.is_empty() {
                nic.mac.clone()
            } else {
                nic.name.clone()
            });
            continue;
        };
        use crate::resources::NetworkDestinationType as T;
        let dest = &pair.destination;
        if dest.type_ == T::Ignored {
            continue;
        }
        let index = interfaces.len();
        let name = names::network_name(facts, pvm, nic, dest, index);
        let model = if compat {
            "e1000e".to_owned()
        } else if facts.kind == ProviderType::OVirt
            && matches!(
                nic.model.as_str(),
                "e1000" | "e1000e" | "rtl8139" | "virtio"
            )
        {
            nic.model.clone()
        } else {
            "virtio".to_owned()
        };
        let mut iface = Interface {
            name: name.clone(),
            model: model.clone(),
            mac_address: nic.mac.clone(),
            ..Interface::default()
        };
        if facts.kind == ProviderType::VSphere && !nic.connected {
            iface.state = "down".to_owned();
        }
        let (binding, network_label, network) = match dest.type_ {
            T::Pod => {
                if facts.udn {
                    iface.binding = Some(PluginBinding {
                        name: "l2bridge".to_owned(),
                    });
                } else {
                    iface.masquerade = Some(Empty {});
                }
                (
                    if facts.udn { "l2bridge" } else { "masquerade" },
                    "pod".to_owned(),
                    Network {
                        name: name.clone(),
                        pod: Some(Empty {}),
                        multus: None,
                    },
                )
            }
            _ => {
                iface.bridge = Some(Empty {});
                let qualified = format!("{}/{}", dest.namespace, dest.name);
                (
                    "bridge",
                    qualified.clone(),
                    Network {
                        name: name.clone(),
                        pod: None,
                        multus: Some(MultusNetwork {
                            network_name: qualified,
                        }),
                    },
                )
            }
        };
        report.push(TargetInterface {
            name,
            mac: nic.mac.clone(),
            model,
            binding: binding.to_owned(),
            network: network_label,
        });
        interfaces.push(iface);
        networks.push(network);
    }
    if !unmapped.is_empty() {
        conditions.push(
            condition(
                kind::VM_NETWORKS_NOT_MAPPED,
                Category::Critical,
                reason::NOT_VALID,
                "NICs of the VM use networks the network map does not map.".to_owned(),
            )
            .with_items(unmapped),
        );
    }
    (interfaces, networks, report)
}

fn domain(
    facts: &PlanFacts<'_>,
    pvm: &PlanVm,
    vm: &Vm,
    disks: &[TargetDisk],
    interfaces: Vec<Interface>,
) -> DomainSpec {
    let input = facts.input;
    let spec = &input.plan.spec;
    let compat = facts.compatibility_mode();

    // Firmware.
    let secure_boot = vm.secure_boot && facts.kind != ProviderType::OVirt;
    let efi = vm.firmware == SourceFirmware::Efi;
    let (serial, uuid) = match facts.kind {
        ProviderType::VSphere => {
            let source_uuid = vm.vsphere().map(|e| e.uuid.clone()).unwrap_or_default();
            let serial = if input.settings.feature_vmware_system_serial_number.as_bool() {
                rules::vmware_serial(&source_uuid)
            } else {
                source_uuid
            };
            (serial, String::new())
        }
        ProviderType::OVirt => (vm.id.clone(), vm.id.clone()),
        _ => (String::new(), String::new()),
    };
    let firmware = Firmware {
        bootloader: Some(if efi {
            Bootloader {
                bios: None,
                efi: Some(Efi { secure_boot }),
            }
        } else {
            Bootloader {
                bios: Some(Empty {}),
                efi: None,
            }
        }),
        serial,
        uuid,
    };
    let features = (efi && secure_boot).then_some(Features {
        smm: Some(FeatureState { enabled: true }),
    });

    // CPU.
    let mut cpu = if vm.cpu_count > 0 {
        let cores = vm.cores_per_socket.max(1);
        Some(Cpu {
            sockets: Some((vm.cpu_count / cores).max(1)),
            cores: Some(cores),
            ..Cpu::default()
        })
    } else {
        None
    };
    let nested = pvm
        .enable_nested_virtualization
        .or(spec.enable_nested_virtualization)
        .or_else(|| vm.vsphere().map(|e| e.nested_hv_enabled));
    if let Some(on) = nested {
        let policy = if on { "optional" } else { "disable" };
        let cpu = cpu.get_or_insert_with(Cpu::default);
        for name in ["vmx", "svm"] {
            cpu.features.push(CpuFeature {
                name: name.to_owned(),
                policy: policy.to_owned(),
            });
        }
    }
    if let Some(ext) = vm.ovirt() {
        let model = if !ext.cpu_model.is_empty() {
            Some(ext.cpu_model.as_str())
        } else if spec.preserve_cluster_cpu_model && !ext.cluster_cpu_model.is_empty() {
            Some(ext.cluster_cpu_model.as_str())
        } else {
            None
        };
        if let Some(model) = model {
            let (name, features) = parse_cpu_model(model);
            let cpu = cpu.get_or_insert_with(Cpu::default);
            cpu.model = name;
            cpu.features.extend(features);
        }
    }

    // Disks.
    let boot_index = if pvm.root_disk.is_empty() {
        0
    } else {
        rules::boot_disk_number(&pvm.root_disk)
    };
    let rdm_as_lun = pvm.rdm_as_lun.unwrap_or(spec.rdm_as_lun);
    let scsi_reservation = pvm.scsi_reservation.unwrap_or(spec.scsi_reservation);
    let devices_disks = disks
        .iter()
        .map(|d| {
            let source = &vm.disks[d.index];
            let bus = if compat {
                "sata"
            } else if facts.kind == ProviderType::OVirt {
                match source.bus {
                    DiskBus::Scsi => "scsi",
                    DiskBus::Sata | DiskBus::Ide => "sata",
                    _ => "virtio",
                }
            } else {
                "virtio"
            };
            let serial = match facts.kind {
                ProviderType::OVirt if !source.id.is_empty() => {
                    names::disk_serial(&source.id, &vm.id, &source.key.to_string())
                }
                _ => names::disk_serial(&source.serial, &vm.id, &source.key.to_string()),
            };
            let lun = source.rdm && rdm_as_lun;
            Disk {
                name: d.volume_name.clone(),
                disk: (!lun).then(|| DiskTarget {
                    bus: bus.to_owned(),
                }),
                lun: lun.then(|| LunTarget {
                    bus: "scsi".to_owned(),
                    reservation: source.shared && scsi_reservation,
                }),
                serial,
                boot_order: (d.index == boot_index).then_some(1),
                shareable: source.shared.then_some(true),
                cache: if source.shared {
                    "none".to_owned()
                } else {
                    String::new()
                },
                error_policy: if source.shared && lun {
                    "report".to_owned()
                } else {
                    String::new()
                },
            }
        })
        .collect();

    let tpm = match facts.kind {
        ProviderType::VSphere => Some(if vm.tpm_enabled {
            Tpm {
                enabled: None,
                persistent: Some(true),
            }
        } else {
            Tpm {
                enabled: Some(false),
                persistent: None,
            }
        }),
        ProviderType::OVirt => matches!(vm.guest_os.as_str(), "windows_2022" | "windows_11")
            .then_some(Tpm {
                enabled: None,
                persistent: Some(true),
            }),
        _ => vm.tpm_enabled.then_some(Tpm {
            enabled: None,
            persistent: Some(true),
        }),
    };

    DomainSpec {
        cpu,
        memory: (vm.memory_mib > 0).then(|| Memory {
            guest: sizing::quantity(vm.memory_mib.saturating_mul(MIB)),
        }),
        firmware: Some(firmware),
        features,
        clock: None,
        devices: Devices {
            disks: devices_disks,
            interfaces,
            inputs: vec![Input {
                name: "tablet".to_owned(),
                kind: "tablet".to_owned(),
                bus: if compat { "usb" } else { "virtio" }.to_owned(),
            }],
            tpm,
        },
    }
}

/// oVirt CPU model strings: `[..:..:..:]model[,+feature,-feature,feature]`.
fn parse_cpu_model(raw: &str) -> (String, Vec<CpuFeature>) {
    let spec = raw.split(':').nth(3).unwrap_or(raw);
    let mut items = spec.split(',').map(str::trim).filter(|s| !s.is_empty());
    let model = items.next().unwrap_or_default().to_owned();
    let features = items
        .map(|f| {
            let (policy, name) = match f.as_bytes()[0] {
                b'+' => ("require", &f[1..]),
                b'-' => ("disable", &f[1..]),
                _ => ("", f),
            };
            CpuFeature {
                name: name.to_owned(),
                policy: policy.to_owned(),
            }
        })
        .filter(|f| !f.name.is_empty())
        .collect();
    (model, features)
}

fn instance_type_and_preference(
    facts: &PlanFacts<'_>,
    pvm: &PlanVm,
    vm: &Vm,
    conditions: &mut Vec<Condition>,
) -> (Option<Matcher>, Option<Matcher>) {
    let input = facts.input;
    let namespace = &input.plan.spec.target_namespace;
    let instancetype = (!pvm.instance_type.is_empty()).then(|| {
        let known = input.destination.map(|d| &d.instance_types);
        let namespaced = known.is_some_and(|l| {
            l.iter()
                .any(|i| i.name == pvm.instance_type && i.namespace == *namespace)
        });
        let cluster = known.is_some_and(|l| {
            l.iter()
                .any(|i| i.name == pvm.instance_type && i.namespace.is_empty())
        });
        if known.is_some_and(|l| !l.is_empty()) && !namespaced && !cluster {
            conditions.push(condition(
                kind::INSTANCE_TYPE_NOT_FOUND,
                Category::Warn,
                reason::NOT_FOUND,
                format!(
                    "Instance type {} is not in the destination inventory.",
                    pvm.instance_type
                ),
            ));
        }
        Matcher {
            name: pvm.instance_type.clone(),
            kind: if namespaced {
                "VirtualMachineInstancetype"
            } else {
                "VirtualMachineClusterInstancetype"
            }
            .to_owned(),
        }
    });

    let detected = input.context.detected_os.get(&vm.id).map(String::as_str);
    let os_key = super::osmap::os_key(facts.kind, detected, &vm.guest_os).to_owned();
    let preference_name = super::osmap::preference_for(
        facts.kind,
        &facts.vsphere_osmap,
        &facts.ovirt_osmap,
        &os_key,
    );
    let preference = preference_name.and_then(|name| {
        let known = input.destination.map(|d| &d.preferences);
        let namespaced = known.is_some_and(|l| {
            l.iter()
                .any(|p| p.name == name && p.namespace == *namespace)
        });
        let cluster =
            known.is_some_and(|l| l.iter().any(|p| p.name == name && p.namespace.is_empty()));
        if known.is_some_and(|l| !l.is_empty()) && !namespaced && !cluster {
            conditions.push(condition(
                kind::PREFERENCE_NOT_FOUND,
                Category::Advisory,
                reason::NOT_FOUND,
                format!(
                    "Preference {name} for OS {os_key} is not on the destination; none is set."
                ),
            ));
            return None;
        }
        Some(Matcher {
            name: name.to_owned(),
            kind: if namespaced {
                "VirtualMachinePreference"
            } else {
                "VirtualMachineClusterPreference"
            }
            .to_owned(),
        })
    });
    (instancetype, preference)
}

fn conversion_env(
    facts: &PlanFacts<'_>,
    pvm: &PlanVm,
    vm: &Vm,
    renamed: bool,
    target_name: &str,
    requires_conversion: bool,
) -> BTreeMap<String, String> {
    let spec = &facts.input.plan.spec;
    let mut env = BTreeMap::new();
    if !requires_conversion {
        return env;
    }
    if renamed {
        env.insert("V2V_NewName".to_owned(), target_name.to_owned());
    }
    if facts.kind == ProviderType::VSphere {
        env.insert("V2V_source".to_owned(), "vSphere".to_owned());
        if spec.preserve_static_ips {
            let (entries, multiple) = static_ips(&vm.guest_networks, is_windows(vm));
            if !entries.is_empty() {
                env.insert("V2V_staticIPs".to_owned(), entries.join("_"));
                env.insert("V2V_preserveStaticIPs".to_owned(), "true".to_owned());
            }
            if multiple && is_windows(vm) {
                env.insert("V2V_multipleIPsPerNic".to_owned(), "true".to_owned());
            }
        }
        let guest = vm
            .vsphere()
            .map(|e| format!("{} {}", vm.guest_os, e.guest_name))
            .unwrap_or_else(|| vm.guest_os.clone());
        let legacy = spec
            .install_legacy_drivers
            .unwrap_or_else(|| rules::is_legacy_windows(&guest));
        if legacy {
            env.insert(
                "VIRTIO_WIN".to_owned(),
                "/usr/local/virtio-win-legacy.iso".to_owned(),
            );
        }
    }
    if pvm.nbde_clevis {
        env.insert("V2V_NBDE_CLEVIS".to_owned(), "true".to_owned());
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_models() {
        let (m, f) =
            parse_cpu_model("1:Secure Intel Cascadelake:vmx,nx:Cascadelake-Server,-hle,+pcid,mpx");
        assert_eq!(m, "Cascadelake-Server");
        assert_eq!(
            f.iter()
                .map(|f| (f.name.as_str(), f.policy.as_str()))
                .collect::<Vec<_>>(),
            [("hle", "disable"), ("pcid", "require"), ("mpx", "")]
        );
        assert_eq!(parse_cpu_model("Haswell-noTSX").0, "Haswell-noTSX");
    }

    #[test]
    fn sanitizer() {
        assert_eq!(sanitize_label_value("My Tag!").as_deref(), Some("My_Tag"));
        assert_eq!(sanitize_label_value("--ok--").as_deref(), Some("ok"));
        assert_eq!(sanitize_label_value("!!!"), None);
    }
}
