//! Migration itineraries: the ordered phases a VM walks through, which of them apply to a given
//! VM (predicate [`Flags`]), and how phases group into UI pipeline steps.
//!
//! The lists, flags and phase→step mapping reproduce upstream Forklift (`migrator/base`,
//! `lib/itinerary`, `migrator/ocp/live.go`). The runner asks [`Itinerary::advance`] for the next
//! phase; the warm precopy loop (`AddCheckpoint` → `CopyDisks`) and the cutover jump
//! (`CopyingPaused` → `StorePowerState`) are encoded here, so the runner holds no phase order.
//!
//! ```
//! use forklift_core::itinerary::{Flags, ItineraryKind, Phase, Transition};
//! let cold = ItineraryKind::Cold.itinerary();
//! let flags = Flags::CDI_DISK_COPY | Flags::REQUIRES_CONVERSION;
//! assert_eq!(cold.first(), Phase::Started);
//! // No PreHook: Started goes straight to StorePowerState.
//! assert_eq!(cold.advance(Phase::Started, flags, Transition::Proceed).unwrap(), Phase::StorePowerState);
//! ```

mod flags;
mod phase;

pub use flags::{FlagInputs, Flags};
pub use phase::{Phase, Step};

/// Errors of itinerary walks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The phase does not belong to the itinerary.
    #[error("Phase {phase} is not part of the {itinerary} itinerary")]
    PhaseNotInItinerary {
        /// Itinerary name.
        itinerary: &'static str,
        /// The offending phase.
        phase: Phase,
    },
    /// The phase is in the itinerary but its predicate excludes it for these flags.
    #[error("Phase {phase} of the {itinerary} itinerary does not apply with flags {flags}")]
    PhaseExcluded {
        /// Itinerary name.
        itinerary: &'static str,
        /// The offending phase.
        phase: Phase,
        /// The flags it was evaluated with.
        flags: Flags,
    },
}

/// Result with the itinerary [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One itinerary entry: a phase and the flags that must all be set for it to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The phase.
    pub phase: Phase,
    /// Every flag here must be set (empty = always).
    pub all: Flags,
}

const fn e(phase: Phase, all: Flags) -> Entry {
    Entry { phase, all }
}

const fn a(phase: Phase) -> Entry {
    Entry {
        phase,
        all: Flags::empty(),
    }
}

const fn both(x: Flags, y: Flags) -> Flags {
    Flags::empty().with_if(x, true).with_if(y, true)
}

use Phase as P;

const COLD: &[Entry] = &[
    a(P::Started),
    e(P::PreHook, Flags::HAS_PRE_HOOK),
    a(P::StorePowerState),
    a(P::PowerOffSource),
    a(P::WaitForPowerOff),
    a(P::CreateDataVolumes),
    e(P::CopyDisks, Flags::CDI_DISK_COPY),
    e(P::AllocateDisks, Flags::VIRT_V2V_DISK_COPY),
    e(P::CreateGuestConversionPod, Flags::REQUIRES_CONVERSION),
    e(P::ConvertGuest, Flags::REQUIRES_CONVERSION),
    e(
        P::CopyDisksVirtV2V,
        both(Flags::REQUIRES_CONVERSION, Flags::VIRT_V2V_DISK_COPY),
    ),
    e(
        P::ConvertOpenstackSnapshot,
        Flags::OPENSTACK_IMAGE_MIGRATION,
    ),
    a(P::CreateVM),
    e(P::WaitForGuestReboots, Flags::WINDOWS_WAIT_FOR_GUEST_REBOOT),
    e(P::PostHook, Flags::HAS_POST_HOOK),
    a(P::Completed),
];

const WARM: &[Entry] = &[
    a(P::Started),
    e(P::PreHook, Flags::HAS_PRE_HOOK),
    a(P::CreateInitialSnapshot),
    a(P::WaitForInitialSnapshot),
    e(P::StoreInitialSnapshotDeltas, Flags::VSPHERE),
    e(P::PreflightInspection, Flags::RUN_INSPECTION),
    a(P::CreateDataVolumes),
    a(P::CopyDisks),
    a(P::CopyingPaused),
    e(P::RemovePreviousSnapshot, Flags::VSPHERE),
    e(P::WaitForPreviousSnapshotRemoval, Flags::VSPHERE),
    a(P::CreateSnapshot),
    a(P::WaitForSnapshot),
    e(P::StoreSnapshotDeltas, Flags::VSPHERE),
    a(P::AddCheckpoint),
    a(P::StorePowerState),
    a(P::PowerOffSource),
    a(P::WaitForPowerOff),
    e(P::RemovePenultimateSnapshot, Flags::VSPHERE),
    e(P::WaitForPenultimateSnapshotRemoval, Flags::VSPHERE),
    a(P::CreateFinalSnapshot),
    a(P::WaitForFinalSnapshot),
    a(P::AddFinalCheckpoint),
    a(P::Finalize),
    e(P::RemoveFinalSnapshot, Flags::VSPHERE),
    e(P::CreateGuestConversionPod, Flags::REQUIRES_CONVERSION),
    e(P::ConvertGuest, Flags::REQUIRES_CONVERSION),
    a(P::CreateVM),
    e(P::WaitForGuestReboots, Flags::WINDOWS_WAIT_FOR_GUEST_REBOOT),
    e(P::PostHook, Flags::HAS_POST_HOOK),
    e(
        P::WaitForFinalSnapshotRemoval,
        both(Flags::VSPHERE, Flags::WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION),
    ),
    a(P::Completed),
];

const ONLY_CONVERSION: &[Entry] = &[
    a(P::Started),
    e(P::PreHook, Flags::HAS_PRE_HOOK),
    a(P::StorePowerState),
    a(P::PowerOffSource),
    a(P::WaitForPowerOff),
    a(P::CreateGuestConversionPod),
    a(P::ConvertGuest),
    a(P::CreateVM),
    e(P::WaitForGuestReboots, Flags::WINDOWS_WAIT_FOR_GUEST_REBOOT),
    e(P::PostHook, Flags::HAS_POST_HOOK),
    a(P::Completed),
];

const RESUME_CONVERSION: &[Entry] = &[
    a(P::Started),
    e(P::PreHook, Flags::HAS_PRE_HOOK),
    a(P::CreateGuestConversionPod),
    a(P::ConvertGuest),
    a(P::CreateVM),
    e(P::WaitForGuestReboots, Flags::WINDOWS_WAIT_FOR_GUEST_REBOOT),
    e(P::PostHook, Flags::HAS_POST_HOOK),
    a(P::Completed),
];

const LIVE: &[Entry] = &[
    a(P::Started),
    e(P::PreHook, Flags::HAS_PRE_HOOK),
    a(P::CreateSecrets),
    a(P::CreateConfigMaps),
    a(P::EnsurePreference),
    a(P::EnsureInstanceType),
    a(P::EnsureDataVolumes),
    a(P::EnsurePersistentVolumeClaims),
    a(P::CreateTarget),
    a(P::SetOwnerReferences),
    e(
        P::CreateServiceExports,
        both(Flags::SUBMARINER, Flags::INTERCLUSTER),
    ),
    a(P::WaitForTargetVMI),
    a(P::CreateVirtualMachineInstanceMigrations),
    a(P::WaitForStateTransfer),
    e(P::PostHook, Flags::HAS_POST_HOOK),
    a(P::Completed),
];

/// Which itinerary a VM follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ItineraryKind {
    /// Cold migration.
    Cold,
    /// Warm migration (precopies, then cutover).
    Warm,
    /// Plan `type: conversion`: convert pre-existing PVCs only.
    OnlyConversion,
    /// Migration `resumeConversion: true`: re-run conversion on already copied PVCs.
    ResumeConversion,
    /// OpenShift→OpenShift live migration.
    Live,
}

impl ItineraryKind {
    /// Upstream's selection: resumeConversion, then `type: conversion`, then live, then warm, else cold.
    pub fn select(resume_conversion: bool, conversion_only: bool, live: bool, warm: bool) -> Self {
        if resume_conversion {
            Self::ResumeConversion
        } else if conversion_only {
            Self::OnlyConversion
        } else if live {
            Self::Live
        } else if warm {
            Self::Warm
        } else {
            Self::Cold
        }
    }

    /// The itinerary of this kind.
    pub fn itinerary(self) -> Itinerary {
        let (name, entries) = match self {
            Self::Cold => ("Cold", COLD),
            Self::Warm => ("Warm", WARM),
            Self::OnlyConversion => ("OnlyConversion", ONLY_CONVERSION),
            Self::ResumeConversion => ("ResumeConversion", RESUME_CONVERSION),
            Self::Live => ("Live", LIVE),
        };
        Itinerary {
            kind: self,
            name,
            entries,
        }
    }
}

/// How the current phase ended, for [`Itinerary::advance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The phase finished normally.
    Proceed,
    /// Warm `CopyingPaused` with a cutover time that has passed: leave the precopy loop.
    Cutover,
}

/// An ordered list of phases with predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Itinerary {
    kind: ItineraryKind,
    name: &'static str,
    entries: &'static [Entry],
}

impl Itinerary {
    /// Upstream name (`Cold`, `Warm`, `OnlyConversion`, `ResumeConversion`, `Live`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The kind of this itinerary.
    pub fn kind(&self) -> ItineraryKind {
        self.kind
    }

    /// Every entry, including those a VM's flags would skip.
    pub fn entries(&self) -> &'static [Entry] {
        self.entries
    }

    /// The first phase (always `Started`).
    pub fn first(&self) -> Phase {
        self.entries[0].phase
    }

    /// Whether `phase` runs for a VM with `flags`.
    pub fn includes(&self, phase: Phase, flags: Flags) -> bool {
        self.entries
            .iter()
            .any(|entry| entry.phase == phase && flags.contains(entry.all))
    }

    /// The phases a VM with `flags` walks through, in order (loops unrolled once).
    pub fn phases(&self, flags: Flags) -> Vec<Phase> {
        self.entries
            .iter()
            .filter(|entry| flags.contains(entry.all))
            .map(|entry| entry.phase)
            .collect()
    }

    fn position(&self, phase: Phase) -> Result<usize> {
        self.entries
            .iter()
            .position(|entry| entry.phase == phase)
            .ok_or(Error::PhaseNotInItinerary {
                itinerary: self.name,
                phase,
            })
    }

    /// The next included phase after `current` in list order; `Completed` stays `Completed`.
    pub fn next(&self, current: Phase, flags: Flags) -> Result<Phase> {
        let at = self.position(current)?;
        Ok(self.entries[at + 1..]
            .iter()
            .find(|entry| flags.contains(entry.all))
            .map_or(Phase::Completed, |entry| entry.phase))
    }

    /// The phase after `current` given how it ended, including the warm loop and cutover jumps.
    ///
    /// Errors when `current` is not in this itinerary or its predicate excludes it.
    pub fn advance(&self, current: Phase, flags: Flags, transition: Transition) -> Result<Phase> {
        if !self.includes(current, flags) {
            self.position(current)?;
            return Err(Error::PhaseExcluded {
                itinerary: self.name,
                phase: current,
                flags,
            });
        }
        if self.kind == ItineraryKind::Warm {
            match (current, transition) {
                (Phase::AddCheckpoint, _) => return Ok(Phase::CopyDisks),
                (Phase::CopyingPaused, Transition::Cutover) => return Ok(Phase::StorePowerState),
                _ => {}
            }
        }
        self.next(current, flags)
    }

    /// The pipeline step `phase` belongs to, or `None` for `Completed`.
    pub fn step(&self, phase: Phase, flags: Flags) -> Option<Step> {
        let warm = self.kind == ItineraryKind::Warm;
        Some(match phase {
            P::Started
            | P::CreateInitialSnapshot
            | P::WaitForInitialSnapshot
            | P::StoreInitialSnapshotDeltas => Step::Initialize,
            P::PreHook => Step::PreHook,
            P::PostHook => Step::PostHook,
            P::CreateDataVolumes => {
                if flags.contains(Flags::RUN_INSPECTION) {
                    Step::DiskTransfer
                } else {
                    Step::Initialize
                }
            }
            P::StorePowerState | P::PowerOffSource | P::WaitForPowerOff => {
                if warm {
                    Step::Cutover
                } else {
                    Step::Initialize
                }
            }
            P::AllocateDisks => Step::DiskAllocation,
            P::CopyDisks
            | P::CopyingPaused
            | P::RemovePreviousSnapshot
            | P::WaitForPreviousSnapshotRemoval
            | P::CreateSnapshot
            | P::WaitForSnapshot
            | P::StoreSnapshotDeltas
            | P::AddCheckpoint
            | P::ConvertOpenstackSnapshot => Step::DiskTransfer,
            P::RemovePenultimateSnapshot
            | P::WaitForPenultimateSnapshotRemoval
            | P::CreateFinalSnapshot
            | P::WaitForFinalSnapshot
            | P::AddFinalCheckpoint
            | P::Finalize
            | P::RemoveFinalSnapshot => Step::Cutover,
            P::CreateGuestConversionPod | P::ConvertGuest => Step::ImageConversion,
            P::CopyDisksVirtV2V => Step::DiskTransferV2v,
            P::CreateVM => Step::VirtualMachineCreation,
            P::WaitForGuestReboots => Step::WaitForGuestReboots,
            P::PreflightInspection => Step::PreflightInspection,
            P::WaitForFinalSnapshotRemoval => Step::WaitForFinalSnapshotConsolidation,
            P::CreateSecrets
            | P::CreateConfigMaps
            | P::EnsurePreference
            | P::EnsureInstanceType
            | P::EnsureDataVolumes
            | P::EnsurePersistentVolumeClaims
            | P::CreateTarget
            | P::SetOwnerReferences
            | P::CreateServiceExports
            | P::WaitForTargetVMI => Step::PrepareTarget,
            P::CreateVirtualMachineInstanceMigrations | P::WaitForStateTransfer => {
                Step::Synchronization
            }
            P::Completed => return None,
        })
    }

    /// The distinct pipeline steps of a VM with `flags`, in order of first appearance
    /// (the `status.vms[].pipeline` list).
    pub fn pipeline(&self, flags: Flags) -> Vec<Step> {
        let mut steps: Vec<Step> = Vec::new();
        for phase in self.phases(flags) {
            if let Some(step) = self.step(phase, flags) {
                if !steps.contains(&step) {
                    steps.push(step);
                }
            }
        }
        steps
    }
}

#[cfg(test)]
mod tests;
