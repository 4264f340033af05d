//! Predicate flags that decide which itinerary entries apply to a VM.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// A set of predicate flags (upstream `migrator/base/doc.go`, same bit values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u16);

impl Flags {
    /// The VM has a hook with step `PreHook`.
    pub const HAS_PRE_HOOK: Flags = Flags(0x01);
    /// The VM has a hook with step `PostHook`.
    pub const HAS_POST_HOOK: Flags = Flags(0x02);
    /// The source requires guest conversion and the plan does not skip it.
    pub const REQUIRES_CONVERSION: Flags = Flags(0x04);
    /// Disks are copied by CDI or volume populators (`!ShouldUseV2vForTransfer`).
    pub const CDI_DISK_COPY: Flags = Flags(0x08);
    /// Disks are copied by virt-v2v (`ShouldUseV2vForTransfer`).
    pub const VIRT_V2V_DISK_COPY: Flags = Flags(0x10);
    /// The source is OpenStack (image-based disks need a format conversion).
    pub const OPENSTACK_IMAGE_MIGRATION: Flags = Flags(0x20);
    /// The source is vSphere (snapshot deltas and removals).
    pub const VSPHERE: Flags = Flags(0x40);
    /// vSphere warm preflight inspection runs.
    pub const RUN_INSPECTION: Flags = Flags(0x80);
    /// Wait for Windows first-boot reboots after creating the VM.
    pub const WINDOWS_WAIT_FOR_GUEST_REBOOT: Flags = Flags(0x100);
    /// Wait for the final snapshot's consolidation (setting, default on).
    pub const WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION: Flags = Flags(0x200);
    /// Live migration crosses clusters through Submariner (live itinerary only; our bit).
    pub const SUBMARINER: Flags = Flags(0x400);
    /// Live migration targets another cluster (live itinerary only; our bit).
    pub const INTERCLUSTER: Flags = Flags(0x800);

    const NAMES: &'static [(Flags, &'static str)] = &[
        (Self::HAS_PRE_HOOK, "HasPreHook"),
        (Self::HAS_POST_HOOK, "HasPostHook"),
        (Self::REQUIRES_CONVERSION, "RequiresConversion"),
        (Self::CDI_DISK_COPY, "CDIDiskCopy"),
        (Self::VIRT_V2V_DISK_COPY, "VirtV2vDiskCopy"),
        (Self::OPENSTACK_IMAGE_MIGRATION, "OpenstackImageMigration"),
        (Self::VSPHERE, "VSphere"),
        (Self::RUN_INSPECTION, "RunInspection"),
        (
            Self::WINDOWS_WAIT_FOR_GUEST_REBOOT,
            "WindowsWaitForGuestReboot",
        ),
        (
            Self::WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION,
            "WaitForFinalSnapshotConsolidation",
        ),
        (Self::SUBMARINER, "Submariner"),
        (Self::INTERCLUSTER, "Intercluster"),
    ];

    /// No flag set.
    pub const fn empty() -> Self {
        Flags(0)
    }

    /// The raw bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every flag of `other` is set in `self` (an empty `other` is always contained).
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with `other` added when `on` is true.
    pub const fn with_if(self, other: Flags, on: bool) -> Self {
        if on { Flags(self.0 | other.0) } else { self }
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (flag, name) in Self::NAMES {
            if self.contains(*flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("(none)")?;
        }
        Ok(())
    }
}

/// Facts about one VM of a plan from which its [`Flags`] are derived
/// (upstream `BasePredicate.Evaluate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlagInputs {
    /// The VM has a PreHook.
    pub has_pre_hook: bool,
    /// The VM has a PostHook.
    pub has_post_hook: bool,
    /// The source provider type requires guest conversion (vSphere, OVA, Hyper-V, EC2).
    pub source_requires_conversion: bool,
    /// The plan sets `skipGuestConversion` (raw copy mode).
    pub skip_guest_conversion: bool,
    /// virt-v2v copies the disks itself (`ShouldUseV2vForTransfer`).
    pub virt_v2v_copies_disks: bool,
    /// The source is OpenStack.
    pub source_is_openstack: bool,
    /// The source is vSphere.
    pub source_is_vsphere: bool,
    /// vSphere warm preflight inspection runs (`ShouldRunPreflightInspection`).
    pub run_preflight_inspection: bool,
    /// Feature `WindowsWaitForReboot` is on (default on).
    pub feature_windows_wait_for_reboot: bool,
    /// The effective target power state is `off`.
    pub target_power_off: bool,
    /// The inventory says the guest is Windows.
    pub guest_is_windows: bool,
    /// Setting `WaitForFinalSnapshotConsolidation` (default on).
    pub wait_for_final_snapshot_consolidation: bool,
}

impl FlagInputs {
    /// The predicate flags these facts imply.
    pub fn flags(&self) -> Flags {
        let requires_conversion = self.source_requires_conversion && !self.skip_guest_conversion;
        Flags::empty()
            .with_if(Flags::HAS_PRE_HOOK, self.has_pre_hook)
            .with_if(Flags::HAS_POST_HOOK, self.has_post_hook)
            .with_if(Flags::REQUIRES_CONVERSION, requires_conversion)
            .with_if(Flags::CDI_DISK_COPY, !self.virt_v2v_copies_disks)
            .with_if(Flags::VIRT_V2V_DISK_COPY, self.virt_v2v_copies_disks)
            .with_if(Flags::OPENSTACK_IMAGE_MIGRATION, self.source_is_openstack)
            .with_if(Flags::VSPHERE, self.source_is_vsphere)
            .with_if(Flags::RUN_INSPECTION, self.run_preflight_inspection)
            .with_if(
                Flags::WINDOWS_WAIT_FOR_GUEST_REBOOT,
                self.feature_windows_wait_for_reboot
                    && !self.target_power_off
                    && self.guest_is_windows
                    && requires_conversion,
            )
            .with_if(
                Flags::WAIT_FOR_FINAL_SNAPSHOT_CONSOLIDATION,
                self.wait_for_final_snapshot_consolidation,
            )
    }
}
