//! Phase and pipeline-step names, spelled exactly as upstream stores them in `status.vms[].phase`
//! and `status.vms[].pipeline[].name`.

string_enum! {
    /// A migration phase of one VM (`status.vms[].phase`).
    pub enum Phase {
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

string_enum! {
    /// A pipeline step: the UI-level grouping of phases (`status.vms[].pipeline[].name`).
    pub enum Step {
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

impl Step {
    /// Upstream's description of the step in `status.vms[].pipeline[].description`
    /// (`migrator/base/migrator.go`); empty for steps upstream does not describe.
    pub fn description(self) -> &'static str {
        match self {
            Self::Initialize => "Initialize migration.",
            Self::PreHook => "Run pre-migration hook.",
            Self::PostHook => "Run post-migration hook.",
            Self::DiskAllocation => "Allocate disks.",
            Self::DiskTransfer => "Transfer disks.",
            Self::Cutover => "Finalize disk transfer.",
            Self::ImageConversion => "Convert image to kubevirt.",
            Self::DiskTransferV2v => "Copy disks.",
            Self::VirtualMachineCreation => "Create VM.",
            Self::WaitForGuestReboots => "Wait for guest reboots.",
            Self::PreflightInspection
            | Self::WaitForFinalSnapshotConsolidation
            | Self::PrepareTarget
            | Self::Synchronization => "",
        }
    }
}
