//! What the engine that will run a plan can do, so that [`render`](super::render) shows
//! exactly what a run will do, and refuses what it cannot.
//!
//! MTV's controller has every capability: virt-v2v, CDI, volume populators, warm precopies,
//! live migration. An embedded engine may have fewer. Render takes an [`ExecutorProfile`]
//! through [`RenderContext`](super::RenderContext) and
//!
//! - decides who copies the disks from it (the engine's own transfer or virt-v2v), so the
//!   phase flags are computed once, here, and the runner walks `TargetVm::phases` as given;
//! - raises one Critical condition per missing capability (reason `NotSupported`, items the
//!   VMs that need it), so a plan that needs something the engine lacks is refused before
//!   anything is touched, never downgraded (a warm plan is never run cold).

use serde::Serialize;

use crate::itinerary::{ItineraryKind, Phase};
use crate::resources::condition_types::{kind, reason};
use crate::resources::{Category, Condition};
use crate::sizing::DiskPath;

/// Who copies the disks of a VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DiskCopier {
    /// As MTV decides (`ShouldUseV2vForTransfer`): virt-v2v copies cold vSphere disks to the
    /// local cluster, OVA and Hyper-V disks; CDI or populators copy the rest.
    Upstream,
    /// The engine's own transfer copies every disk (CDI-style); virt-v2v, when present,
    /// converts the copied disks in place.
    Engine,
}

string_enum! {
    /// A capability a phase or a disk needs from the engine that runs the plan.
    pub enum ExecutorCapability {
        /// Guest conversion (virt-v2v): `CreateGuestConversionPod`, `ConvertGuest`.
        GuestConversion,
        /// virt-v2v copying the disks itself: `AllocateDisks`, `CopyDisksVirtV2V`.
        VirtV2vDiskCopy,
        /// Format conversion of OpenStack image-based disks: `ConvertOpenstackSnapshot`.
        ImageConversion,
        /// Warm migration: precopies from changed blocks, then cutover.
        WarmMigration,
        /// OpenShift-to-OpenShift live migration.
        LiveMigration,
        /// Storage copy offload (vSphere XCOPY) for disks whose storage pair names a plugin.
        CopyOffload,
        /// Volume populators (oVirt, OpenStack) that fill a PVC on the cluster.
        VolumePopulator,
        /// A destination that starts VMs, to wait for Windows first-boot reboots.
        GuestRebootWait,
        /// A runner for the plan's hooks.
        HookRunner,
    }
}

impl ExecutorCapability {
    /// The condition type raised when the capability is missing.
    pub fn condition_type(self) -> &'static str {
        match self {
            Self::GuestConversion => kind::GUEST_CONVERSION_NOT_AVAILABLE,
            Self::VirtV2vDiskCopy => kind::VIRT_V2V_DISK_COPY_NOT_AVAILABLE,
            Self::ImageConversion => kind::IMAGE_CONVERSION_NOT_AVAILABLE,
            Self::WarmMigration => kind::WARM_MIGRATION_NOT_AVAILABLE,
            Self::LiveMigration => kind::LIVE_MIGRATION_NOT_AVAILABLE,
            Self::CopyOffload => kind::COPY_OFFLOAD_NOT_AVAILABLE,
            Self::VolumePopulator => kind::VOLUME_POPULATOR_NOT_AVAILABLE,
            Self::GuestRebootWait => kind::GUEST_REBOOT_WAIT_NOT_AVAILABLE,
            Self::HookRunner => kind::HOOK_RUNNER_NOT_AVAILABLE,
        }
    }

    /// Whether `condition` is the one raised for a missing capability.
    pub fn is_missing_condition(condition: &Condition) -> bool {
        Self::ALL
            .iter()
            .any(|c| c.condition_type() == condition.type_)
    }

    /// What is missing and what the user can do about it.
    pub fn message(self) -> &'static str {
        match self {
            Self::GuestConversion => {
                "The guests need conversion (virt-v2v) and this engine has no guest converter; \
                 convert them with this machine's virt-v2v (`forklift migrate --converter \
                 virt-v2v`, Python: `migrate(..., converter=\"virt-v2v\")`), or set \
                 skipGuestConversion (raw copy, with useCompatibilityMode for SATA and \
                 e1000e devices) to migrate without conversion."
            }
            Self::VirtV2vDiskCopy => {
                "The plan has virt-v2v copy the disks and this engine has no virt-v2v disk copy."
            }
            Self::ImageConversion => {
                "Image-based disks need a format conversion and this engine cannot convert images."
            }
            Self::WarmMigration => {
                "Warm migration (precopies, then cutover) is not available in this engine; \
                 migrate cold (warm: false) or use an engine that runs precopies."
            }
            Self::LiveMigration => "Live migration is not available in this engine.",
            Self::CopyOffload => {
                "Disks are mapped to a storage copy-offload plugin and this engine has no copy \
                 offload; remove offloadPlugin from the storage map to copy over the network."
            }
            Self::VolumePopulator => {
                "Disks are filled by a volume populator and this engine has none."
            }
            Self::GuestRebootWait => {
                "Windows guests are waited for through their first-boot reboots and the \
                 destination does not start VMs; set targetPowerState: off."
            }
            Self::HookRunner => {
                "The plan has hooks, which run programs on this machine, and none was asked \
                 to run them; run the playbooks with a local ansible-playbook with \
                 `forklift migrate --hooks local` (Python: `migrate(..., hooks=\"local\")`), or \
                 give the engine a hook runner."
            }
        }
    }

    /// The capability a phase needs beyond the provider, transfer and destination, if any.
    pub fn for_phase(phase: Phase) -> Option<Self> {
        Some(match phase {
            Phase::CreateGuestConversionPod | Phase::ConvertGuest => Self::GuestConversion,
            Phase::AllocateDisks | Phase::CopyDisksVirtV2V => Self::VirtV2vDiskCopy,
            Phase::ConvertOpenstackSnapshot => Self::ImageConversion,
            Phase::WaitForGuestReboots => Self::GuestRebootWait,
            Phase::PreHook | Phase::PostHook => Self::HookRunner,
            _ => return None,
        })
    }

    /// The capability an itinerary needs as a whole, if any.
    pub fn for_itinerary(kind: ItineraryKind) -> Option<Self> {
        match kind {
            ItineraryKind::Warm => Some(Self::WarmMigration),
            ItineraryKind::Live => Some(Self::LiveMigration),
            _ => None,
        }
    }

    /// The capability a disk's transfer path needs, if any.
    pub fn for_disk_path(path: DiskPath) -> Option<Self> {
        match path {
            DiskPath::VsphereXcopy | DiskPath::VsphereCsiImport => Some(Self::CopyOffload),
            DiskPath::OvirtPopulator | DiskPath::OpenstackPopulator => Some(Self::VolumePopulator),
            _ => None,
        }
    }

    /// The condition raised when the VMs `items` need this missing capability.
    pub fn missing_condition(self, items: Vec<String>) -> Condition {
        Condition::new(self.condition_type(), Category::Critical)
            .with_reason(reason::NOT_SUPPORTED)
            .with_message(self.message())
            .with_items(items)
    }
}

/// What the engine that runs the plan can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorProfile {
    /// Who copies the disks.
    pub disk_copier: DiskCopier,
    /// Capabilities the engine has; a phase needing any other is refused.
    pub capabilities: Vec<ExecutorCapability>,
}

impl Default for ExecutorProfile {
    /// MTV's controller, which has every capability.
    fn default() -> Self {
        Self::mtv()
    }
}

impl ExecutorProfile {
    /// MTV's controller on a cluster: every capability, upstream's disk-copy rule.
    pub fn mtv() -> Self {
        Self {
            disk_copier: DiskCopier::Upstream,
            capabilities: ExecutorCapability::ALL.to_vec(),
        }
    }

    /// An engine that copies every disk itself and has exactly `capabilities`.
    pub fn engine(capabilities: impl IntoIterator<Item = ExecutorCapability>) -> Self {
        let mut capabilities: Vec<_> = capabilities.into_iter().collect();
        capabilities.sort();
        capabilities.dedup();
        Self {
            disk_copier: DiskCopier::Engine,
            capabilities,
        }
    }

    /// Whether the engine has `capability`.
    pub fn has(&self, capability: ExecutorCapability) -> bool {
        self.capabilities.contains(&capability)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_that_needs_a_capability_names_one() {
        assert_eq!(
            ExecutorCapability::for_phase(Phase::ConvertGuest),
            Some(ExecutorCapability::GuestConversion)
        );
        assert_eq!(ExecutorCapability::for_phase(Phase::CopyDisks), None);
        assert_eq!(
            ExecutorCapability::for_itinerary(ItineraryKind::Warm),
            Some(ExecutorCapability::WarmMigration)
        );
        assert_eq!(ExecutorCapability::for_itinerary(ItineraryKind::Cold), None);
    }

    #[test]
    fn engine_profile_has_only_what_it_is_given() {
        let profile = ExecutorProfile::engine([ExecutorCapability::HookRunner]);
        assert!(profile.has(ExecutorCapability::HookRunner));
        assert!(!profile.has(ExecutorCapability::GuestConversion));
        assert_eq!(profile.disk_copier, DiskCopier::Engine);
        assert!(ExecutorProfile::default().has(ExecutorCapability::WarmMigration));
        let condition = ExecutorCapability::WarmMigration.missing_condition(vec!["vm1".into()]);
        assert_eq!(condition.type_, "WarmMigrationNotAvailable");
        assert!(condition.is_blocker());
    }
}
