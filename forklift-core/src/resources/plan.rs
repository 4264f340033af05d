//! `Plan`: which VMs move from which provider to which, and how.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::serde_util::{default_true, is_false};
use super::{API_VERSION, Affinity, Condition, ObjectReference, ProviderPair, Ref, resource};

string_enum! {
    /// Migration type (`spec.type`).
    pub enum MigrationType {
        /// Copy disks with the source VM shut down.
        Cold = "cold",
        /// Precopy while the source runs, then a short cutover.
        Warm = "warm",
        /// Live migration between KubeVirt clusters.
        Live = "live",
        /// Only convert guests whose disks were copied already.
        Conversion = "conversion",
    }
}

string_enum! {
    /// Power state of the target VM after migration.
    pub enum TargetPowerState {
        /// Start the VM.
        On = "on",
        /// Leave the VM stopped.
        Off = "off",
        /// Match the source VM's power state.
        Auto = "auto",
    }
}

string_enum! {
    /// Step at which a hook runs.
    pub enum HookStep {
        /// Before the migration of the VM.
        PreHook,
        /// After the migration of the VM.
        PostHook,
    }
}

string_enum! {
    /// Source power state recorded to restore it after migration.
    pub enum PowerState {
        /// Powered on.
        On,
        /// Powered off.
        Off,
        /// Unknown.
        Unknown,
    }
}

resource! {
    /// A `Plan` resource.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Plan(API_VERSION, "Plan") {
        spec: PlanSpec,
        status: PlanStatus,
    }
    /// A plan with the given metadata and spec.
    pub fn new;
}

/// `Plan.spec`: every field of upstream's `PlanSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanSpec {
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Namespace the VMs are created in.
    #[serde(default)]
    pub target_namespace: String,
    /// Service account for migration pods in the target namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_account: String,
    /// Labels copied onto the target VM template.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_labels: BTreeMap<String, String>,
    /// Node selector merged into the target VM template.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_node_selector: BTreeMap<String, String>,
    /// Affinity replacing the target VM template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_affinity: Option<Affinity>,
    /// Labels of the virt-v2v conversion pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub convertor_labels: BTreeMap<String, String>,
    /// Node selector of the conversion pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub convertor_node_selector: BTreeMap<String, String>,
    /// Affinity of the conversion pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convertor_affinity: Option<Affinity>,
    /// Storage class of the conversion scratch PVC (set together with the size).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub conversion_temp_storage_class: String,
    /// Size of the conversion scratch PVC (set together with the class).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub conversion_temp_storage_size: String,
    /// Source and destination providers.
    #[serde(default)]
    pub provider: ProviderPair,
    /// Network and storage maps.
    #[serde(default)]
    pub map: MapRefs,
    /// VMs to migrate.
    #[serde(default)]
    pub vms: Vec<PlanVm>,
    /// Deprecated warm flag; `warm || type == warm` means warm.
    #[serde(default, skip_serializing_if = "is_false")]
    pub warm: bool,
    /// NetworkAttachmentDefinition used for disk transfer pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_network: Option<ObjectReference>,
    /// Archive the plan and clean up.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// oVirt: copy the cluster CPU model and flags.
    #[serde(default, skip_serializing_if = "is_false")]
    pub preserve_cluster_cpu_model: bool,
    /// Preserve static IPs (vSphere, Hyper-V). CRD default true.
    #[serde(rename = "preserveStaticIPs", default = "default_true")]
    pub preserve_static_ips: bool,
    /// EC2: do not add the zone node selector.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_zone_node_selector: bool,
    /// Deprecated and unused.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub disk_bus: String,
    /// PVC name template.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pvc_name_template: String,
    /// Use the PVC name template as `generateName`; absent: false for OpenShift sources, true otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_name_template_use_generate_name: Option<bool>,
    /// Volume name template (vSphere).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub volume_name_template: String,
    /// Network name template (vSphere).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network_name_template: String,
    /// Migrate shared disks. CRD default true.
    #[serde(default = "default_true")]
    pub migrate_shared_disks: bool,
    /// Attach RDM disks as KubeVirt LUNs.
    #[serde(default, skip_serializing_if = "is_false")]
    pub rdm_as_lun: bool,
    /// SCSI reservation on shared RDM LUNs (needs `rdmAsLun`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub scsi_reservation: bool,
    /// Delete the conversion pod after success.
    #[serde(default, skip_serializing_if = "is_false")]
    pub delete_guest_conversion_pod: bool,
    /// Delete the target VM and its disks on failure. CRD default true.
    #[serde(default = "default_true")]
    pub delete_vm_on_fail_migration: bool,
    /// Install legacy Windows drivers; absent means detect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_legacy_drivers: Option<bool>,
    /// Nested virtualization for the target VMs; absent keeps the source setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_nested_virtualization: Option<bool>,
    /// Raw copy: skip guest conversion. CRD default false.
    #[serde(default)]
    pub skip_guest_conversion: bool,
    /// With `skipGuestConversion`: SATA disks, e1000e NIC, USB tablet. CRD default true.
    #[serde(default = "default_true")]
    pub use_compatibility_mode: bool,
    /// Migration type; absent means cold (or warm with the deprecated `warm` flag).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<MigrationType>,
    /// Power state of the target VMs after migration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_power_state: Option<TargetPowerState>,
    /// Run the preflight inspection (vSphere warm). CRD default true.
    #[serde(default = "default_true")]
    pub run_preflight_inspection: bool,
    /// ConfigMap with first-boot and run scripts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customization_scripts: Option<ObjectReference>,
    /// virt-v2v image for this plan.
    #[serde(
        default,
        rename = "virtV2vImage",
        skip_serializing_if = "String::is_empty"
    )]
    pub virt_v2v_image: String,
    /// Use the XFS-compatible virt-v2v image. CRD default false.
    #[serde(default)]
    pub xfs_compatibility: bool,
    /// vSphere tags to VM labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_mapping: Option<TagMapping>,
}

impl Default for PlanSpec {
    /// An empty spec with the CRD defaults applied.
    fn default() -> Self {
        Self {
            description: String::new(),
            target_namespace: String::new(),
            service_account: String::new(),
            target_labels: BTreeMap::new(),
            target_node_selector: BTreeMap::new(),
            target_affinity: None,
            convertor_labels: BTreeMap::new(),
            convertor_node_selector: BTreeMap::new(),
            convertor_affinity: None,
            conversion_temp_storage_class: String::new(),
            conversion_temp_storage_size: String::new(),
            provider: ProviderPair::default(),
            map: MapRefs::default(),
            vms: Vec::new(),
            warm: false,
            transfer_network: None,
            archived: false,
            preserve_cluster_cpu_model: false,
            preserve_static_ips: true,
            skip_zone_node_selector: false,
            disk_bus: String::new(),
            pvc_name_template: String::new(),
            pvc_name_template_use_generate_name: None,
            volume_name_template: String::new(),
            network_name_template: String::new(),
            migrate_shared_disks: true,
            rdm_as_lun: false,
            scsi_reservation: false,
            delete_guest_conversion_pod: false,
            delete_vm_on_fail_migration: true,
            install_legacy_drivers: None,
            enable_nested_virtualization: None,
            skip_guest_conversion: false,
            use_compatibility_mode: true,
            type_: None,
            target_power_state: None,
            run_preflight_inspection: true,
            customization_scripts: None,
            virt_v2v_image: String::new(),
            xfs_compatibility: false,
            tag_mapping: None,
        }
    }
}

impl PlanSpec {
    /// The effective migration type: `type`, else warm when the deprecated flag is set, else cold.
    pub fn migration_type(&self) -> MigrationType {
        match self.type_ {
            Some(t) => t,
            None if self.warm => MigrationType::Warm,
            None => MigrationType::Cold,
        }
    }

    /// Upstream `IsWarm()`: `warm || type == warm`.
    pub fn is_warm(&self) -> bool {
        self.warm || self.type_ == Some(MigrationType::Warm)
    }
}

/// `spec.map`: the network and storage maps a plan uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapRefs {
    /// The NetworkMap.
    #[serde(default)]
    pub network: ObjectReference,
    /// The StorageMap (ignored for `type: conversion`).
    #[serde(default)]
    pub storage: ObjectReference,
}

/// `spec.tagMapping`: vSphere tags to VM labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagMapping {
    /// Turn tag mapping off.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// Tag categories copied as labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_tags: Vec<String>,
}

/// A hook attached to a VM at a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookRef {
    /// When the hook runs, as written: the CRD types it as a plain string, so a manifest with
    /// another value loads and validation reports `HookStepNotValid` (see [`HookRef::step`]).
    pub step: String,
    /// The Hook resource.
    pub hook: ObjectReference,
}

impl HookRef {
    /// The step, when it is `PreHook` or `PostHook` (exact spelling, as upstream compares).
    pub fn step(&self) -> Option<HookStep> {
        self.step.parse().ok()
    }
}

/// One entry of `spec.vms`: a source VM reference plus per-VM settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanVm {
    /// Inventory ID of the source VM (wins over the name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Name of the source VM.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace of the source VM (KubeVirt sources only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Type qualifier of the reference.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
    /// Hooks run before and after the migration of this VM.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRef>,
    /// Secret with LUKS passphrases for the VM's encrypted disks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub luks: Option<ObjectReference>,
    /// Unlock LUKS disks with NBDE/Clevis (wins over `luks`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub nbde_clevis: bool,
    /// Root disk for conversion, e.g. `/dev/sdb`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub root_disk: String,
    /// KubeVirt instance type for the target VM.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instance_type: String,
    /// PVC name template overriding the plan's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pvc_name_template: String,
    /// Volume name template overriding the plan's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub volume_name_template: String,
    /// Network name template overriding the plan's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network_name_template: String,
    /// Name of the target VM (otherwise derived from the source name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_name: String,
    /// Power state of the target VM after migration, overriding the plan's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_power_state: Option<TargetPowerState>,
    /// Delete the target VM on failure (the plan-level `true` wins).
    #[serde(default, skip_serializing_if = "is_false")]
    pub delete_vm_on_fail_migration: bool,
    /// Migrate shared disks, overriding the plan's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate_shared_disks: Option<bool>,
    /// Nested virtualization, overriding the plan's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_nested_virtualization: Option<bool>,
    /// Attach RDM disks as LUNs, overriding the plan's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdm_as_lun: Option<bool>,
    /// SCSI reservation for shared RDM LUNs, overriding the plan's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scsi_reservation: Option<bool>,
}

impl PlanVm {
    /// A VM entry referring to the source VM by inventory ID.
    pub fn by_id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// A VM entry referring to the source VM by name.
    pub fn by_name(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// The inventory reference part of the entry.
    pub fn vm_ref(&self) -> Ref {
        Ref {
            id: self.id.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            type_: self.type_.clone(),
        }
    }
}

/// `Plan.status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The destination uses NetApp Shift storage.
    #[serde(default, skip_serializing_if = "is_false")]
    pub net_app_shift_destination: bool,
    /// Migration progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<PlanMigrationStatus>,
}

/// `Plan.status.migration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanMigrationStatus {
    /// When the latest migration started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// When it completed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
    /// Snapshots of the resources of each migration run; the last is active.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<MigrationSnapshot>,
    /// Per-VM status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<VmStatus>,
}

/// One history entry: the resources a migration run used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationSnapshot {
    /// Conditions at the time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The providers.
    pub provider: SnapshotProviderRefs,
    /// The plan.
    pub plan: SnapshotRef,
    /// The maps.
    pub map: SnapshotMapRefs,
    /// The Migration resource.
    pub migration: SnapshotRef,
}

/// Providers of a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotProviderRefs {
    /// Source provider.
    pub source: SnapshotRef,
    /// Destination provider.
    pub destination: SnapshotRef,
}

/// Maps of a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMapRefs {
    /// Network map.
    pub network: SnapshotRef,
    /// Storage map.
    pub storage: SnapshotRef,
}

/// A resource as it was when a migration ran (matched by UID only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID.
    pub uid: String,
    /// Generation.
    pub generation: i64,
}

/// Per-VM migration status: the VM entry plus progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmStatus {
    /// The plan's VM entry this status is for (its fields sit beside the progress fields).
    #[serde(flatten)]
    pub vm: PlanVm,
    /// When the VM's migration started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// When it completed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
    /// Pipeline steps.
    #[serde(default)]
    pub pipeline: Vec<Step>,
    /// Current itinerary phase.
    #[serde(default)]
    pub phase: String,
    /// Error, if the migration failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<VmError>,
    /// Warm migration progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm: Option<WarmStatus>,
    /// Source power state to restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_power_state: Option<PowerState>,
    /// Source firmware (`bios`/`efi`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub firmware: String,
    /// Detected guest operating system.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operating_system: String,
    /// Boot disk index found by inspection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_boot_disk: Option<i64>,
    /// Adjusted target name when the source name was not DNS-1123.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub new_name: String,
    /// Whether the disks were copied (used to resume conversion).
    #[serde(default, skip_serializing_if = "is_false")]
    pub disks_copied: bool,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl VmStatus {
    /// A fresh status for a VM entry.
    pub fn for_vm(vm: PlanVm) -> Self {
        Self {
            vm,
            ..Self::default()
        }
    }
}

/// Phase and reasons of an error or warning.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmError {
    /// Phase in which it happened.
    pub phase: String,
    /// Reasons, de-duplicated.
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// Alias used for task errors and warnings (same shape).
pub type TaskError = VmError;

/// Completed/total progress of a step or task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Units done.
    pub completed: i64,
    /// Units in total.
    pub total: i64,
}

/// A pipeline step: a task with sub-tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Step name.
    pub name: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Phase (`Pending`, `Running`, `Completed`...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// Reason for the phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Progress.
    pub progress: Progress,
    /// Annotations, e.g. `unit: MB`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Start time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// Completion time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
    /// Error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
    /// Warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<TaskError>,
    /// Sub-tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
}

/// A task of a step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Task name.
    pub name: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// Reason for the phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Progress.
    pub progress: Progress,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Start time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// Completion time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
    /// Error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
    /// Warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<TaskError>,
}

/// Warm migration counters and precopies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmStatus {
    /// Successful precopies.
    pub successes: i64,
    /// Failed precopies.
    pub failures: i64,
    /// Failures in a row.
    pub consecutive_failures: i64,
    /// When the next precopy runs (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_precopy_at: Option<String>,
    /// Precopies so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precopies: Vec<Precopy>,
    /// Why the last precopy failed (ours; upstream keeps only the counters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
    /// Snapshots of this migration that could not be removed after a failure or cancel
    /// (ours): they must be removed by hand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots_left: Vec<String>,
    /// The downtime forecast of the last precopy, and after cutover what it was (ours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<DowntimeForecast>,
    /// How the source was powered off at the cutover (ours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_off: Option<SourcePowerOff>,
}

/// How the source VM was powered off at the cutover (ours).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourcePowerOff {
    /// What powered it off.
    pub method: PowerOffMethod,
    /// From asking the source to power off until it reported `poweredOff`.
    pub millis: u64,
    /// Why the guest was not (only) asked to shut down, when it was not.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// What powered the source VM off (upstream asks the guest, then powers off hard).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum PowerOffMethod {
    /// It was off already: nothing was done.
    #[default]
    AlreadyOff,
    /// The guest shut down when asked (VMware Tools running).
    GuestShutdown,
    /// The guest could not be asked (no running tools): powered off hard at once.
    HardPowerOff,
    /// The guest was asked but did not shut down in time: powered off hard.
    HardPowerOffAfterTimeout,
}

/// The predicted final sync and downtime of a warm migration, from the measured precopies
/// (ours, not upstream's). Durations in milliseconds, rates in bytes per second.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DowntimeForecast {
    /// Bytes the guest dirtied per second, measured between the snapshots of the recent
    /// incremental precopies.
    pub dirty_bytes_per_second: u64,
    /// Delta copy throughput of the recent incremental precopies (not the first, full one).
    pub copy_bytes_per_second: u64,
    /// Bytes the final delta is expected to copy.
    pub final_bytes: u64,
    /// Predicted final sync: removing the previous snapshot, taking the final one, reading
    /// its changes, copying them and removing it.
    pub final_sync_millis: u64,
    /// Predicted downtime: power-off, final sync and VM creation.
    pub downtime_millis: u64,
    /// Whether the forecast was made once the source was off, just before the final sync
    /// (then `power_off_millis` was measured); otherwise after a precopy, for a cutover now.
    #[serde(default)]
    pub source_off: bool,
    /// Power-off time the forecast counts: 0 for a source already off, the measured one
    /// once the source is off, else an assumed guest shutdown.
    #[serde(default)]
    pub power_off_millis: u64,
    /// Part of `final_sync_millis`: taking the final snapshot (measured on recent ones).
    #[serde(default)]
    pub snapshot_create_millis: u64,
    /// Part of `final_sync_millis`, twice: removing a snapshot (measured on recent ones).
    #[serde(default)]
    pub snapshot_remove_millis: u64,
    /// Part of `final_sync_millis`: reading change ids and changed areas (measured on
    /// recent incremental precopies).
    #[serde(default)]
    pub change_query_millis: u64,
    /// Part of `final_sync_millis`: copying `final_bytes`.
    #[serde(default)]
    pub copy_millis: u64,
    /// Measured final sync, once cutover ran: from the source reported off until the final
    /// snapshot was removed (removing the previous snapshot, taking the final one, reading
    /// its changes, copying them, removing it), as `final_sync_millis` counts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_final_sync_millis: Option<u64>,
    /// Measured power-off, once cutover ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_power_off_millis: Option<u64>,
    /// Measured downtime (power-off asked until the target VM exists), once cutover ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_downtime_millis: Option<u64>,
}

/// One precopy round.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Precopy {
    /// Start time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// End time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Source snapshot (MoRef or ID).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub snapshot: String,
    /// Task that created the snapshot.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub create_task_id: String,
    /// Task that removed the snapshot.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remove_task_id: String,
    /// Per-disk change IDs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deltas: Vec<PrecopyDelta>,
    /// When the snapshot was removed (RFC 3339; ours: upstream records the task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<String>,
    /// Whether this is the final precopy, taken with the source off (ours).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub last: bool,
}

/// A disk's change ID after a precopy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrecopyDelta {
    /// Disk identifier.
    pub disk: String,
    /// Change ID.
    pub delta_id: String,
    /// Bytes this precopy copied for the disk (ours).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bytes_copied: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_take_crd_defaults() {
        let spec: PlanSpec = serde_json::from_str(r#"{"targetNamespace":"ns"}"#).unwrap();
        assert!(spec.preserve_static_ips);
        assert!(spec.migrate_shared_disks);
        assert!(spec.delete_vm_on_fail_migration);
        assert!(spec.use_compatibility_mode);
        assert!(spec.run_preflight_inspection);
        assert!(!spec.skip_guest_conversion);
        assert!(!spec.xfs_compatibility);
        assert_eq!(
            spec,
            PlanSpec {
                target_namespace: "ns".into(),
                ..PlanSpec::default()
            }
        );
    }

    #[test]
    fn migration_type_honours_the_deprecated_warm_flag() {
        let mut spec = PlanSpec {
            warm: true,
            ..PlanSpec::default()
        };
        assert_eq!(spec.migration_type(), MigrationType::Warm);
        spec.type_ = Some(MigrationType::Live);
        assert_eq!(spec.migration_type(), MigrationType::Live);
        assert!(spec.is_warm());
    }

    #[test]
    fn vm_status_keeps_the_vm_entry() {
        let vm = PlanVm {
            target_power_state: Some(TargetPowerState::Off),
            ..PlanVm::by_id("vm-1")
        };
        let status = VmStatus {
            phase: "DiskTransfer".into(),
            ..VmStatus::for_vm(vm.clone())
        };
        assert_eq!(status.vm, vm);
        // The entry's fields sit beside the progress fields, as in MTV's status.
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["id"], "vm-1");
        assert_eq!(json["targetPowerState"], "off");
        assert_eq!(json["phase"], "DiskTransfer");
        let back: VmStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back, status);
    }
}
