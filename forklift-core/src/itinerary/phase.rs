//! Phase and pipeline-step names, spelled exactly as upstream stores them in `status.vms[].phase`
//! and `status.vms[].pipeline[].name`.

use std::fmt;

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The upstream spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant),)+
                }
            }

            /// Parses the upstream spelling (exact, case-sensitive).
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($variant) => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// A migration phase of one VM (`status.vms[].phase`).
    Phase {
        /// First phase of every itinerary.
        Started,
        /// Runs the VM's PreHook.
        PreHook,
        /// Records the source power state.
        StorePowerState,
        /// Shuts the source VM down.
        PowerOffSource,
        /// Polls until the source VM is off.
        WaitForPowerOff,
        /// Creates DataVolumes / populator PVCs.
        CreateDataVolumes,
        /// CDI (or populator) copies the disks.
        CopyDisks,
        /// virt-v2v allocates empty disks it will fill itself.
        AllocateDisks,
        /// Creates the virt-v2v conversion pod or Conversion CR.
        CreateGuestConversionPod,
        /// virt-v2v converts the guest.
        ConvertGuest,
        /// virt-v2v copies the disks (cold vSphere to the local cluster, OVA, Hyper-V).
        CopyDisksVirtV2V,
        /// Converts OpenStack image-based PVCs to raw.
        ConvertOpenstackSnapshot,
        /// Creates the target VirtualMachine.
        CreateVM,
        /// Waits for Windows guests to finish their first-boot reboots.
        WaitForGuestReboots,
        /// Runs the VM's PostHook.
        PostHook,
        /// Terminal phase.
        Completed,
        /// Warm: first snapshot.
        CreateInitialSnapshot,
        /// Warm: waits for the first snapshot.
        WaitForInitialSnapshot,
        /// Warm (vSphere): records change ids of the first snapshot.
        StoreInitialSnapshotDeltas,
        /// Warm (vSphere): deep inspection of the first snapshot.
        PreflightInspection,
        /// Warm: waits between precopies.
        CopyingPaused,
        /// Warm (vSphere): removes the previous precopy snapshot.
        RemovePreviousSnapshot,
        /// Warm (vSphere): waits for that removal.
        WaitForPreviousSnapshotRemoval,
        /// Warm: next precopy snapshot.
        CreateSnapshot,
        /// Warm: waits for the snapshot.
        WaitForSnapshot,
        /// Warm (vSphere): records change ids.
        StoreSnapshotDeltas,
        /// Warm: adds a DataVolume checkpoint, then loops back to `CopyDisks`.
        AddCheckpoint,
        /// Warm (vSphere): removes the penultimate snapshot.
        RemovePenultimateSnapshot,
        /// Warm (vSphere): waits for that removal.
        WaitForPenultimateSnapshotRemoval,
        /// Warm: snapshot of the powered-off VM.
        CreateFinalSnapshot,
        /// Warm: waits for it.
        WaitForFinalSnapshot,
        /// Warm: last DataVolume checkpoint.
        AddFinalCheckpoint,
        /// Warm: waits for the final delta copy.
        Finalize,
        /// Warm (vSphere): removes the final snapshot.
        RemoveFinalSnapshot,
        /// Warm (vSphere): waits for consolidation of the final snapshot.
        WaitForFinalSnapshotRemoval,
        /// Live: copies secrets.
        CreateSecrets,
        /// Live: copies config maps.
        CreateConfigMaps,
        /// Live: ensures the preference exists on the target.
        EnsurePreference,
        /// Live: ensures the instance type exists on the target.
        EnsureInstanceType,
        /// Live: ensures DataVolumes.
        EnsureDataVolumes,
        /// Live: ensures PVCs.
        EnsurePersistentVolumeClaims,
        /// Live: creates the target VM.
        CreateTarget,
        /// Live: sets owner references.
        SetOwnerReferences,
        /// Live: creates Submariner service exports.
        CreateServiceExports,
        /// Live: waits for the target VMI.
        WaitForTargetVMI,
        /// Live: creates the VMI migrations.
        CreateVirtualMachineInstanceMigrations,
        /// Live: waits for the state transfer.
        WaitForStateTransfer,
    }
}

named_enum! {
    /// A pipeline step: the UI-level grouping of phases (`status.vms[].pipeline[].name`).
    Step {
        /// Preparation.
        Initialize,
        /// The PreHook.
        PreHook,
        /// virt-v2v disk allocation.
        DiskAllocation,
        /// CDI / populator disk transfer.
        DiskTransfer,
        /// Warm cutover (and cold power-off).
        Cutover,
        /// Guest conversion.
        ImageConversion,
        /// virt-v2v disk transfer.
        DiskTransferV2v,
        /// Target VM creation.
        VirtualMachineCreation,
        /// Windows first-boot reboots.
        WaitForGuestReboots,
        /// The PostHook.
        PostHook,
        /// vSphere warm deep inspection.
        PreflightInspection,
        /// Final snapshot consolidation.
        WaitForFinalSnapshotConsolidation,
        /// Live: target preparation (our grouping of the live itinerary).
        PrepareTarget,
        /// Live: state synchronization (our grouping of the live itinerary).
        Synchronization,
    }
}
