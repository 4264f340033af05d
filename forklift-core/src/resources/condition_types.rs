//! Condition types and reasons, spelled exactly as upstream (and ours, marked as such).
//!
//! The one home of condition type and reason strings: plan validation, rendering and the map
//! checks all name their conditions from here, so one problem has one type whoever reports it.

/// Upstream reasons (`validation.go`).
pub mod reason {
    /// A reference is empty.
    pub const NOT_SET: &str = "NotSet";
    /// A referenced object does not exist.
    pub const NOT_FOUND: &str = "NotFound";
    /// Something appears twice.
    pub const NOT_UNIQUE: &str = "NotUnique";
    /// The combination is not supported.
    pub const NOT_SUPPORTED: &str = "NotSupported";
    /// A name matches several objects.
    pub const AMBIGUOUS: &str = "Ambiguous";
    /// A value is invalid.
    pub const NOT_VALID: &str = "NotValid";
    /// The destination provider is not `openshift`.
    pub const TYPE_NOT_VALID: &str = "TypeNotValid";
    /// The user asked for it.
    pub const USER_REQUESTED: &str = "UserRequested";
    /// A host is in maintenance mode.
    pub const IN_MAINTENANCE_MODE: &str = "InMaintenanceMode";
    /// Guest tools report no networks.
    pub const MISSING_GUEST_INFORMATION: &str = "MissingGuestInformation";
    /// CBT is off.
    pub const MISSING_CHANGED_BLOCK_TRACKING: &str = "MissingChangedBlockTracking";
    /// Disks need consolidation.
    pub const CONSOLIDATION_NEEDED: &str = "ConsolidationNeeded";
    /// ESXi hosts reachable over SSH.
    pub const PROVIDER_SSH_READY: &str = "ProviderSSHReady";
    /// ESXi hosts not reachable over SSH.
    pub const PROVIDER_SSH_NOT_READY: &str = "ProviderSSHNotReady";
    /// Ours (render): a shared disk the VM does not migrate (it attaches the existing PVC).
    pub const NOT_MIGRATED: &str = "NotMigrated";
}

/// Condition types: upstream's (`validation.go`, `controller/validation/provider.go`), then ours.
pub mod kind {
    /// Plan is ready (Required).
    pub const READY: &str = "Ready";
    /// Plan archived (Advisory).
    pub const ARCHIVED: &str = "Archived";
    /// Plan is executing.
    pub const EXECUTING: &str = "Executing";
    /// A VM (or plan) migration succeeded.
    pub const SUCCEEDED: &str = "Succeeded";
    /// Source provider reference.
    pub const SOURCE_PROVIDER_NOT_VALID: &str = "SourceProviderNotValid";
    /// Source provider not ready.
    pub const SOURCE_PROVIDER_NOT_READY: &str = "SourceProviderNotReady";
    /// Destination provider reference / type.
    pub const DESTINATION_PROVIDER_NOT_VALID: &str = "DestinationProviderNotValid";
    /// Destination provider not ready.
    pub const DESTINATION_PROVIDER_NOT_READY: &str = "DestinationProviderNotReady";
    /// Target namespace.
    pub const NAMESPACE_NOT_VALID: &str = "NamespaceNotValid";
    /// Network map reference.
    pub const NETWORK_MAP_REF_NOT_VALID: &str = "NetworkMapRefNotValid";
    /// Network map not ready.
    pub const NETWORK_MAP_NOT_READY: &str = "NetworkMapNotReady";
    /// Static IPs preserved on the pod network.
    pub const NET_MAP_PRESERVING_IPS_ON_POD_NETWORK: &str = "NetMapPreservingIPsOnPodNetwork";
    /// Multus destination outside the target namespace and `default`.
    pub const NET_MAP_DESTINATION_NAD_NOT_VALID: &str = "NetMapDestinationNADNotValid";
    /// Storage map reference.
    pub const STORAGE_REF_NOT_VALID: &str = "StorageRefNotValid";
    /// Storage map not ready.
    pub const STORAGE_MAP_NOT_READY: &str = "StorageMapNotReady";
    /// Unsupported UDN topology.
    pub const UNSUPPORTED_USER_DEFINED_NETWORK: &str = "UnsupportedUserDefinedNetwork";
    /// NetApp Shift with warm migration.
    pub const NET_APP_SHIFT_WARM_NOT_SUPPORTED: &str = "NetAppShiftWarmNotSupported";
    /// Warm migration unsupported by the source.
    pub const WARM_MIGRATION_NOT_READY: &str = "WarmMigrationNotReady";
    /// Migration type unsupported by the source.
    pub const MIGRATION_TYPE_NOT_VALID: &str = "MigrationTypeNotValid";
    /// Transfer network.
    pub const TRANSFER_NETWORK_NOT_VALID: &str = "TransferNetworkNotValid";
    /// Transfer network without route annotation.
    pub const TRANSFER_NETWORK_MISSING_DEFAULT_ROUTE: &str = "TransferNetworkMissingDefaultRoute";
    /// Service account missing.
    pub const SERVICE_ACCOUNT_NOT_VALID: &str = "ServiceAccountNotValid";
    /// Hook reference.
    pub const HOOK_NOT_VALID: &str = "HookNotValid";
    /// Hook not ready.
    pub const HOOK_NOT_READY: &str = "HookNotReady";
    /// Hook step.
    pub const HOOK_STEP_NOT_VALID: &str = "HookStepNotValid";
    /// Hook service account.
    pub const HOOK_SERVICE_ACCOUNT_NOT_VALID: &str = "HookServiceAccountNotValid";
    /// virt-v2v image reference.
    pub const VIRT_V2V_IMAGE_NOT_VALID: &str = "VirtV2vImageNotValid";
    /// VDDK image missing.
    pub const VDDK_INIT_IMAGE_UNAVAILABLE: &str = "VDDKInitImageUnavailable";
    /// Source Kubernetes too old.
    pub const UNSUPPORTED_VERSION: &str = "UnsupportedVersion";
    /// Generic invalid value (templates, target names, temp storage).
    pub const NOT_VALID: &str = "NotValid";
    /// ESXi hosts reachable over SSH.
    pub const SSH_READY: &str = "SSHReady";
    /// ESXi hosts not reachable over SSH.
    pub const SSH_NOT_READY: &str = "SSHNotReady";
    /// Controller namespace enforces restricted pod security.
    pub const RESTRICTED_POD_SECURITY: &str = "RestrictedPodSecurity";
    /// VM reference empty.
    pub const VM_REF_NOT_VALID: &str = "VMRefNotValid";
    /// VM not in the inventory.
    pub const VM_NOT_FOUND: &str = "VMNotFound";
    /// VM duplicated or ambiguous.
    pub const DUPLICATE_VM: &str = "DuplicateVM";
    /// Auto-renamed target name.
    pub const TARGET_NAME_NOT_VALID: &str = "TargetNameNotValid";
    /// Destination VM exists.
    pub const VM_ALREADY_EXISTS: &str = "VMAlreadyExists";
    /// NIC network unmapped.
    pub const VM_NETWORKS_NOT_MAPPED: &str = "VMNetworksNotMapped";
    /// More than one NIC on the pod network.
    pub const VM_MULTIPLE_POD_NETWORK_MAPPINGS: &str = "VMMultiplePodNetworkMappings";
    /// Disk storage unmapped.
    pub const VM_STORAGE_NOT_MAPPED: &str = "VMStorageNotMapped";
    /// Unsupported storage (oVirt direct LUN on old engines).
    pub const VM_STORAGE_NOT_SUPPORTED: &str = "VMStorageNotSupported";
    /// Host in maintenance.
    pub const HOST_NOT_READY: &str = "HostNotReady";
    /// Guest IPs missing for static IP preservation.
    pub const VM_MISSING_GUEST_IPS: &str = "VMMissingGuestIPs";
    /// Guest IP outside the UDN subnet.
    pub const VM_IP_NOT_MATCHING_UDN_SUBNET: &str = "VMIpNotMatchingUdnSubnet";
    /// Live migration: source VM not running.
    pub const VM_POWER_STATE_UNSUPPORTED: &str = "VMPowerStateUnsupported";
    /// Live migration: storage not live-migratable.
    pub const VM_MIGRATION_TYPE_UNSUPPORTED: &str = "VMMigrationTypeUnsupported";
    /// LUKS and NBDE both set.
    pub const LUKS_AND_CLEVIS_INCOMPATIBILITY: &str = "LuksAndClevisIncompatibility";
    /// Guest tools missing or not running.
    pub const GUEST_TOOLS_ISSUE: &str = "GuestToolsIssue";
    /// Disk capacity ≤ 0.
    pub const INVALID_DISK_SIZES: &str = "InvalidDiskSizes";
    /// Source MAC used on the destination.
    pub const MAC_CONFLICTS: &str = "MacConflicts";
    /// Conversion-only plan without PVCs.
    pub const MISSING_PVC_FOR_ONLY_CONVERSION: &str = "MissingPvcForOnlyConversion";
    /// Copy offload and VDDK mixed.
    pub const VDDK_AND_OFFLOAD_MIXED_USAGE: &str = "VDDKAndOffloadMixedUsage";
    /// Critical inventory concerns.
    pub const VM_CRITICAL_CONCERNS: &str = "VMCriticalConcerns";
    /// OVF not exported by VMware.
    pub const UNSUPPORTED_OVF_EXPORT_SOURCE: &str = "UnsupportedOVFExportSource";
    /// RDM disks.
    pub const RDM_DISK_WARNING: &str = "RDMDiskWarning";
    /// Independent disks.
    pub const INDEPENDENT_DISK_WARNING: &str = "IndependentDiskWarning";
    /// CBT off for warm migration.
    pub const VM_MISSING_CHANGED_BLOCK_TRACKING: &str = "VMMissingChangedBlockTracking";
    /// Snapshots present.
    pub const VM_HAS_SNAPSHOTS: &str = "VMHasSnapshots";
    /// Shift-mapped datastore without NAS details.
    pub const NET_APP_SHIFT_DATASTORE_NAS_MISSING: &str = "NetAppShiftDatastoreNASMissing";
    /// Consolidation needed for warm migration.
    pub const VM_CONSOLIDATION_NEEDED: &str = "VMConsolidationNeeded";
    /// Prefix of the per-VM shared disk blocker type (`SharedDisks-<vmID>`).
    pub const SHARED_DISKS_PREFIX: &str = "SharedDisks-";
    /// Prefix of the per-VM shared disk warning type (`SharedWarnDisks-<vmID>`).
    pub const SHARED_WARN_DISKS_PREFIX: &str = "SharedWarnDisks-";

    // ---- Ours: the guide's rules upstream does not enforce. Stable names. ----

    /// Ours: more than 500 VMs in a plan (guide: "A plan cannot contain more than 500 VMs").
    pub const PLAN_VM_LIMIT_EXCEEDED: &str = "PlanVMLimitExceeded";
    /// Ours: more than 500 disks in a plan.
    pub const PLAN_DISK_LIMIT_EXCEEDED: &str = "PlanDiskLimitExceeded";
    /// Ours: more than one pre- or post-migration hook for a VM.
    pub const VM_HOOK_LIMIT_EXCEEDED: &str = "VMHookLimitExceeded";
    /// Ours: more than 10 VMs from one ESXi host (NFC service memory).
    pub const HOST_NFC_SERVICE_MEMORY: &str = "HostNFCServiceMemory";
    /// Ours: ISO / CD-ROM still mounted.
    pub const VM_CDROM_MOUNTED: &str = "VMCdromMounted";
    /// Ours: hibernated guest.
    pub const VM_HIBERNATED: &str = "VMHibernated";
    /// Ours: VMware NVMe disk.
    pub const VM_NVME_DISK: &str = "VMNvmeDisk";
    /// Ours: vSAN-backed VM without VDDK.
    pub const VM_VSAN_WITHOUT_VDDK: &str = "VMVsanWithoutVDDK";
    /// Ours: Windows Measured Boot.
    pub const VM_MEASURED_BOOT: &str = "VMMeasuredBoot";
    /// Ours: Secure Boot enabled.
    pub const VM_SECURE_BOOT: &str = "VMSecureBoot";
    /// Ours: a NIC without IP while static IPs are preserved.
    pub const VM_NIC_WITHOUT_IP: &str = "VMNicWithoutIP";
    /// Ours (admission webhook): storage class with `kubernetes.io/no-provisioner`.
    pub const STORAGE_CLASS_NO_PROVISIONER: &str = "StorageClassNoProvisioner";
    /// Ours (admission webhook): LUKS keys for a source other than vSphere or OVA.
    pub const LUKS_NOT_SUPPORTED: &str = "LuksNotSupported";
    /// Ours: a warm plan from oVirt with a VM disk whose incremental backup is off (oVirt's
    /// warm migration reads the changes between precopies from incremental backups).
    pub const VM_INCREMENTAL_BACKUP_DISABLED: &str = "VMIncrementalBackupDisabled";
    /// Ours: the storage map uses copy offload while feature CopyOffload is off (the guide's
    /// first step of a copy-offload migration is to turn it on).
    pub const COPY_OFFLOAD_DISABLED: &str = "CopyOffloadDisabled";

    // ---- Ours: problems only rendering sees. ----

    /// Ours (render): the plan's target affinity rules are not valid.
    pub const TARGET_AFFINITY_NOT_VALID: &str = "TargetAffinityNotValid";
    /// Ours (render): a disk's requested size cannot be computed (overhead settings, overflow).
    pub const DISK_SIZE_NOT_VALID: &str = "DiskSizeNotValid";
    /// Ours (render): the VM's instance type is not on the destination.
    pub const INSTANCE_TYPE_NOT_FOUND: &str = "InstanceTypeNotFound";
    /// Ours (render): the OS preference is not on the destination.
    pub const PREFERENCE_NOT_FOUND: &str = "PreferenceNotFound";
    /// Ours (render): several disks of the plan get the same PVC name.
    pub const DUPLICATE_PVC_NAME: &str = "DuplicatePVCName";
    /// Ours (render): a shared disk is not migrated with this VM.
    pub const SHARED_DISK_NOT_MIGRATED: &str = "SharedDiskNotMigrated";
    /// Ours (render): a VM gets the same volume or interface name twice.
    pub const DUPLICATE_VOLUME_NAME: &str = "DuplicateVolumeName";

    // ---- Map controller (`pkg/controller/map/*/validation.go`). ----

    /// A source network of a network map.
    pub const SOURCE_NETWORK_NOT_VALID: &str = "SourceNetworkNotValid";
    /// A destination network of a network map.
    pub const DESTINATION_NETWORK_NOT_VALID: &str = "DestinationNetworkNotValid";
    /// A source storage of a storage map.
    pub const SOURCE_STORAGE_NOT_VALID: &str = "SourceStorageNotValid";
    /// A destination storage class of a storage map.
    pub const DESTINATION_STORAGE_NOT_VALID: &str = "DestinationStorageNotValid";

    // ---- Ours: a phase or disk needs a capability the engine running the plan lacks
    // (`render::ExecutorCapability`); Critical, reason NotSupported. ----

    /// Guest conversion (virt-v2v) is needed and no converter is configured.
    pub const GUEST_CONVERSION_NOT_AVAILABLE: &str = "GuestConversionNotAvailable";
    /// virt-v2v would copy the disks and the engine cannot.
    pub const VIRT_V2V_DISK_COPY_NOT_AVAILABLE: &str = "VirtV2vDiskCopyNotAvailable";
    /// Image-based disks need a format conversion the engine cannot do.
    pub const IMAGE_CONVERSION_NOT_AVAILABLE: &str = "ImageConversionNotAvailable";
    /// A warm plan and no warm-migration engine.
    pub const WARM_MIGRATION_NOT_AVAILABLE: &str = "WarmMigrationNotAvailable";
    /// A live plan and no live-migration engine.
    pub const LIVE_MIGRATION_NOT_AVAILABLE: &str = "LiveMigrationNotAvailable";
    /// Disks mapped to a copy-offload plugin and no copy offload.
    pub const COPY_OFFLOAD_NOT_AVAILABLE: &str = "CopyOffloadNotAvailable";
    /// Disks filled by a volume populator and no populator.
    pub const VOLUME_POPULATOR_NOT_AVAILABLE: &str = "VolumePopulatorNotAvailable";
    /// Windows first-boot reboots to wait for and a destination that does not start VMs.
    pub const GUEST_REBOOT_WAIT_NOT_AVAILABLE: &str = "GuestRebootWaitNotAvailable";
    /// Hooks and no hook runner.
    pub const HOOK_RUNNER_NOT_AVAILABLE: &str = "HookRunnerNotAvailable";
}
