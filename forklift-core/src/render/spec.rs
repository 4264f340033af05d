//! Inputs and outputs of [`render`](super::render).

use std::collections::BTreeMap;

use serde::Serialize;

use super::executor::ExecutorProfile;
use super::kubevirt::{DataVolume, PersistentVolumeClaim, VirtualMachine};
use super::osmap::OsMap;
use crate::inventory::{DestinationInventory, SourceInventory};
use crate::itinerary::{Flags, ItineraryKind, Phase, Step};
use crate::manifest::PlanBundle;
use crate::resources::{
    Condition, ForkliftControllerSettings, Hook, HookStep, NetworkMap, Plan, Provider, StorageMap,
};
use crate::sizing::{AccessMode, DiskPath, ModeOrigin, VolumeMode};

/// Everything `render` reads. Only `plan` and `source` are required; absent maps leave
/// disks and NICs unmapped (reported as conditions), an absent destination inventory means
/// nothing is known about the cluster (CDI StorageProfiles decide unset modes).
#[derive(Debug, Clone, Copy)]
pub struct RenderInput<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// Its network map.
    pub network_map: Option<&'a NetworkMap>,
    /// Its storage map.
    pub storage_map: Option<&'a StorageMap>,
    /// Hooks the plan's VMs reference (for images in the report; order comes from the plan).
    pub hooks: &'a [Hook],
    /// The source provider (URL, settings, fingerprint for VDDK sources).
    pub source_provider: Option<&'a Provider>,
    /// The destination provider (an empty URL means the local "host" cluster).
    pub destination_provider: Option<&'a Provider>,
    /// The source inventory.
    pub source: &'a SourceInventory,
    /// The destination inventory.
    pub destination: Option<&'a DestinationInventory>,
    /// ForkliftController settings.
    pub settings: &'a ForkliftControllerSettings,
    /// Extra context only known at run time.
    pub context: &'a RenderContext,
}

impl<'a> RenderInput<'a> {
    /// The input for the bundle's plan: the maps and providers it references, the hooks and
    /// ForkliftController settings of its manifest set, with the inventories and run-time
    /// context.
    pub fn for_plan(
        bundle: &'a PlanBundle,
        source: &'a SourceInventory,
        destination: Option<&'a DestinationInventory>,
        context: &'a RenderContext,
    ) -> Self {
        Self {
            plan: &bundle.plan,
            network_map: bundle.network_map(),
            storage_map: bundle.storage_map(),
            hooks: &bundle.hooks,
            source_provider: bundle.source_provider(),
            destination_provider: bundle.destination_provider(),
            source,
            destination,
            settings: &bundle.settings,
            context,
        }
    }
}

/// Run-time facts the dry run can be told about.
#[derive(Debug, Clone, Default)]
pub struct RenderContext {
    /// UID of the Migration (label `migration`); omitted when unknown.
    pub migration_uid: Option<String>,
    /// Data of the vSphere OS-map config map (named by `vsphere_osmap_configmap_name`).
    pub vsphere_osmap: Option<BTreeMap<String, String>>,
    /// Data of the oVirt OS-map config map.
    pub ovirt_osmap: Option<BTreeMap<String, String>>,
    /// OS detected by virt-v2v per source VM id (`status.vms[].operatingSystem`, vSphere).
    pub detected_os: BTreeMap<String, String>,
    /// `status.vms[].newName` per source VM id, when a run already renamed it.
    pub new_names: BTreeMap<String, String>,
    /// `Migration.spec.resumeConversion`.
    pub resume_conversion: bool,
    /// What the engine that runs the plan can do (default: MTV's controller).
    pub executor: ExecutorProfile,
}

impl RenderContext {
    /// The vSphere and oVirt OS maps render uses: the defaults, with the OS-map config maps
    /// of this context applied as the settings name them.
    pub fn os_maps(&self, settings: &ForkliftControllerSettings) -> (OsMap, OsMap) {
        let vsphere = match &self.vsphere_osmap {
            Some(data) => OsMap::vsphere_default().with_config_map(
                &settings.vsphere_osmap_configmap_name,
                super::osmap::VSPHERE_CONFIG_MAP,
                data,
            ),
            None => OsMap::vsphere_default(),
        };
        let ovirt = match &self.ovirt_osmap {
            Some(data) => OsMap::ovirt_default().with_config_map(
                &settings.ovirt_osmap_configmap_name,
                super::osmap::OVIRT_CONFIG_MAP,
                data,
            ),
            None => OsMap::ovirt_default(),
        };
        (vsphere, ovirt)
    }
}

/// What a plan will create.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetSpec {
    /// Plan name.
    pub plan: String,
    /// Target namespace.
    pub target_namespace: String,
    /// One entry per plan VM, in plan order.
    pub vms: Vec<TargetVm>,
    /// Conditions about the plan as a whole.
    pub conditions: Vec<Condition>,
}

/// What one VM becomes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetVm {
    /// Source VM id (empty when the VM is not in the inventory).
    pub source_id: String,
    /// Source VM name.
    pub source_name: String,
    /// Final name of the target VirtualMachine.
    pub target_name: String,
    /// Whether the target name differs from the source name.
    pub renamed: bool,
    /// The VirtualMachine to create (absent when the VM cannot be rendered).
    pub virtual_machine: Option<VirtualMachine>,
    /// One entry per migrated disk, in disk order.
    pub disks: Vec<TargetDisk>,
    /// One entry per mapped NIC.
    pub interfaces: Vec<TargetInterface>,
    /// Hooks in execution order.
    pub hooks: Vec<TargetHook>,
    /// The itinerary the VM follows.
    pub itinerary: ItineraryKind,
    /// The predicate flags that select its phases (computed here only).
    #[serde(serialize_with = "flags_text")]
    pub flags: Flags,
    /// The phases it walks through (precopy loop once).
    pub phases: Vec<Phase>,
    /// The pipeline steps that run, shown in status.
    pub pipeline: Vec<Step>,
    /// The status pipeline: `pipeline` with the steps a plan setting skips, and why.
    pub steps: Vec<StepPlan>,
    /// Environment for the conversion pod derived from the plan (`V2V_staticIPs`, ...).
    pub conversion_env: BTreeMap<String, String>,
    /// Conditions that apply to this VM.
    pub conditions: Vec<Condition>,
}

impl TargetVm {
    /// The pipeline step `phase` belongs to for this VM.
    pub fn step_of(&self, phase: Phase) -> Option<Step> {
        self.itinerary.itinerary().step(phase, self.flags)
    }
}

fn flags_text<S: serde::Serializer>(flags: &Flags, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(flags)
}

/// One step of the status pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepPlan {
    /// The step.
    pub step: Step,
    /// Why it does not run, when a plan setting skips it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// The volume object of one disk.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum DiskObject {
    /// A CDI DataVolume.
    DataVolume(Box<DataVolume>),
    /// A plain PVC (volume populators, offload).
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
}

/// One target disk.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetDisk {
    /// Disk index in the provider's order.
    pub index: usize,
    /// Source identity (vSphere backing file, otherwise disk id).
    pub source: String,
    /// Source capacity in bytes.
    pub capacity: u64,
    /// Name of the claim the VM mounts.
    pub claim_name: String,
    /// The generateName prefix when the plan uses generated names (the suffix of
    /// `claim_name` is derived deterministically so the VM can reference it).
    pub generate_name_prefix: Option<String>,
    /// Volume name in the VM.
    pub volume_name: String,
    /// Storage class.
    pub storage_class: String,
    /// Requested size in bytes.
    pub requested_bytes: u64,
    /// Resolved volume mode.
    pub volume_mode: VolumeMode,
    /// Where it came from.
    pub volume_mode_origin: ModeOrigin,
    /// Resolved access mode.
    pub access_mode: AccessMode,
    /// Where it came from.
    pub access_mode_origin: ModeOrigin,
    /// How the disk is created and filled (decides sizing and the capability it needs).
    pub transfer_path: DiskPath,
    /// The object to create.
    pub object: DiskObject,
}

/// One target network interface.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetInterface {
    /// Interface (and network) name in the VM.
    pub name: String,
    /// MAC address (preserved from the source).
    pub mac: String,
    /// NIC model.
    pub model: String,
    /// `masquerade`, `bridge`, `l2bridge` or `sriov`.
    pub binding: String,
    /// `pod` or `<namespace>/<name>`.
    pub network: String,
}

/// One hook run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetHook {
    /// `PreHook` or `PostHook`.
    pub step: HookStep,
    /// `<namespace>/<name>` of the Hook CR.
    pub hook: String,
    /// Its image when the Hook CR was given.
    pub image: Option<String>,
}
