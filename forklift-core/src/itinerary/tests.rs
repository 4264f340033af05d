use super::*;

fn names(phases: &[Phase]) -> Vec<&'static str> {
    phases.iter().map(|p| p.as_str()).collect()
}

fn walk(it: Itinerary, flags: Flags) -> Vec<Phase> {
    let mut out = vec![it.first()];
    let mut current = it.first();
    while current != Phase::Completed {
        current = it.advance(current, flags, Transition::Proceed).unwrap();
        // Leave the warm loop on its second pass so the walk terminates.
        if current == Phase::CopyingPaused && out.contains(&Phase::CopyingPaused) {
            out.push(current);
            current = it.advance(current, flags, Transition::Cutover).unwrap();
        }
        out.push(current);
    }
    out
}

#[test]
fn cold_vsphere_local_with_virt_v2v_copy() {
    let flags = FlagInputs {
        source_requires_conversion: true,
        virt_v2v_copies_disks: true,
        source_is_vsphere: true,
        ..Default::default()
    }
    .flags();
    let it = ItineraryKind::Cold.itinerary();
    assert_eq!(
        names(&walk(it, flags)),
        [
            "Started",
            "StorePowerState",
            "PowerOffSource",
            "WaitForPowerOff",
            "CreateDataVolumes",
            "AllocateDisks",
            "CreateGuestConversionPod",
            "ConvertGuest",
            "CopyDisksVirtV2V",
            "CreateVM",
            "Completed"
        ]
    );
    assert_eq!(
        it.pipeline(flags)
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        [
            "Initialize",
            "DiskAllocation",
            "ImageConversion",
            "DiskTransferV2v",
            "VirtualMachineCreation"
        ]
    );
}

#[test]
fn cold_openstack_with_hooks() {
    let flags = FlagInputs {
        has_pre_hook: true,
        has_post_hook: true,
        source_is_openstack: true,
        ..Default::default()
    }
    .flags();
    let it = ItineraryKind::Cold.itinerary();
    assert_eq!(
        names(&it.phases(flags)),
        [
            "Started",
            "PreHook",
            "StorePowerState",
            "PowerOffSource",
            "WaitForPowerOff",
            "CreateDataVolumes",
            "CopyDisks",
            "ConvertOpenstackSnapshot",
            "CreateVM",
            "PostHook",
            "Completed"
        ]
    );
    assert_eq!(walk(it, flags), it.phases(flags));
    assert_eq!(
        it.step(Phase::ConvertOpenstackSnapshot, flags),
        Some(Step::DiskTransfer)
    );
    assert_eq!(
        it.step(Phase::PowerOffSource, flags),
        Some(Step::Initialize)
    );
}

#[test]
fn warm_vsphere_loop_and_cutover() {
    let flags = FlagInputs {
        source_requires_conversion: true,
        source_is_vsphere: true,
        run_preflight_inspection: true,
        feature_windows_wait_for_reboot: true,
        guest_is_windows: true,
        wait_for_final_snapshot_consolidation: true,
        ..Default::default()
    }
    .flags();
    let it = ItineraryKind::Warm.itinerary();
    assert_eq!(
        it.advance(Phase::AddCheckpoint, flags, Transition::Proceed)
            .unwrap(),
        Phase::CopyDisks
    );
    assert_eq!(
        it.advance(Phase::CopyingPaused, flags, Transition::Proceed)
            .unwrap(),
        Phase::RemovePreviousSnapshot
    );
    assert_eq!(
        it.advance(Phase::CopyingPaused, flags, Transition::Cutover)
            .unwrap(),
        Phase::StorePowerState
    );
    let walked = walk(it, flags);
    let tail: Vec<_> = walked
        .iter()
        .skip_while(|p| **p != Phase::StorePowerState)
        .copied()
        .collect();
    assert_eq!(
        names(&tail),
        [
            "StorePowerState",
            "PowerOffSource",
            "WaitForPowerOff",
            "RemovePenultimateSnapshot",
            "WaitForPenultimateSnapshotRemoval",
            "CreateFinalSnapshot",
            "WaitForFinalSnapshot",
            "AddFinalCheckpoint",
            "Finalize",
            "RemoveFinalSnapshot",
            "CreateGuestConversionPod",
            "ConvertGuest",
            "CreateVM",
            "WaitForGuestReboots",
            "WaitForFinalSnapshotRemoval",
            "Completed"
        ]
    );
    // The loop ran twice: CopyDisks appears twice.
    assert_eq!(walked.iter().filter(|p| **p == Phase::CopyDisks).count(), 2);
    assert_eq!(
        it.step(Phase::CreateDataVolumes, flags),
        Some(Step::DiskTransfer)
    );
    assert_eq!(it.step(Phase::PowerOffSource, flags), Some(Step::Cutover));
    assert_eq!(
        it.pipeline(flags)
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        [
            "Initialize",
            "PreflightInspection",
            "DiskTransfer",
            "Cutover",
            "ImageConversion",
            "VirtualMachineCreation",
            "WaitForGuestReboots",
            "WaitForFinalSnapshotConsolidation"
        ]
    );
}

#[test]
fn warm_ovirt_skips_vsphere_phases() {
    let flags = FlagInputs::default().flags();
    let it = ItineraryKind::Warm.itinerary();
    let phases = it.phases(flags);
    for p in [
        Phase::StoreInitialSnapshotDeltas,
        Phase::RemovePreviousSnapshot,
        Phase::StoreSnapshotDeltas,
        Phase::RemoveFinalSnapshot,
        Phase::WaitForFinalSnapshotRemoval,
        Phase::PreflightInspection,
    ] {
        assert!(!phases.contains(&p), "{p} should be skipped");
    }
    assert_eq!(
        it.advance(Phase::CopyingPaused, flags, Transition::Proceed)
            .unwrap(),
        Phase::CreateSnapshot
    );
    assert_eq!(
        it.step(Phase::CreateDataVolumes, flags),
        Some(Step::Initialize)
    );
}

#[test]
fn conversion_itineraries() {
    let flags = Flags::HAS_POST_HOOK | Flags::WINDOWS_WAIT_FOR_GUEST_REBOOT;
    assert_eq!(
        names(&ItineraryKind::OnlyConversion.itinerary().phases(flags)),
        [
            "Started",
            "StorePowerState",
            "PowerOffSource",
            "WaitForPowerOff",
            "CreateGuestConversionPod",
            "ConvertGuest",
            "CreateVM",
            "WaitForGuestReboots",
            "PostHook",
            "Completed"
        ]
    );
    assert_eq!(
        names(
            &ItineraryKind::ResumeConversion
                .itinerary()
                .phases(Flags::empty())
        ),
        [
            "Started",
            "CreateGuestConversionPod",
            "ConvertGuest",
            "CreateVM",
            "Completed"
        ]
    );
}

#[test]
fn live_itinerary_service_exports_need_both_flags() {
    let it = ItineraryKind::Live.itinerary();
    assert!(!it.includes(Phase::CreateServiceExports, Flags::SUBMARINER));
    assert!(it.includes(
        Phase::CreateServiceExports,
        Flags::SUBMARINER | Flags::INTERCLUSTER
    ));
    assert_eq!(
        it.step(Phase::WaitForStateTransfer, Flags::empty()),
        Some(Step::Synchronization)
    );
    assert_eq!(it.phases(Flags::empty()).len(), 13);
}

#[test]
fn selection_order() {
    // (resume conversion, only conversion, live, warm) → the itinerary, first match wins.
    for (flags, expected) in [
        ((true, true, true, true), ItineraryKind::ResumeConversion),
        ((false, true, false, true), ItineraryKind::OnlyConversion),
        ((false, false, true, true), ItineraryKind::Live),
        ((false, false, false, true), ItineraryKind::Warm),
        ((false, false, false, false), ItineraryKind::Cold),
    ] {
        let (resume, only, live, warm) = flags;
        assert_eq!(
            ItineraryKind::select(resume, only, live, warm),
            expected,
            "{flags:?}"
        );
    }
}

#[test]
fn errors_name_the_phase() {
    let cold = ItineraryKind::Cold.itinerary();
    let err = cold
        .advance(Phase::CopyingPaused, Flags::empty(), Transition::Proceed)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Phase CopyingPaused is not part of the Cold itinerary"
    );
    let err = cold
        .advance(Phase::PreHook, Flags::empty(), Transition::Proceed)
        .unwrap_err();
    assert!(matches!(err, Error::PhaseExcluded { .. }));
    assert_eq!(
        cold.next(Phase::Completed, Flags::empty()).unwrap(),
        Phase::Completed
    );
}

#[test]
fn windows_reboot_flag_needs_conversion_and_power() {
    let base = FlagInputs {
        source_requires_conversion: true,
        feature_windows_wait_for_reboot: true,
        guest_is_windows: true,
        ..Default::default()
    };
    assert!(base.flags().contains(Flags::WINDOWS_WAIT_FOR_GUEST_REBOOT));
    let off = FlagInputs {
        target_power_off: true,
        ..base
    };
    assert!(!off.flags().contains(Flags::WINDOWS_WAIT_FOR_GUEST_REBOOT));
    let raw = FlagInputs {
        skip_guest_conversion: true,
        ..base
    };
    assert!(!raw.flags().contains(Flags::WINDOWS_WAIT_FOR_GUEST_REBOOT));
    assert!(!raw.flags().contains(Flags::REQUIRES_CONVERSION));
}

#[test]
fn names_round_trip() {
    for p in Phase::ALL {
        assert_eq!(Phase::parse(p.as_str()), Some(*p));
    }
    for s in Step::ALL {
        assert_eq!(Step::parse(s.as_str()), Some(*s));
    }
    assert_eq!(
        (Flags::VSPHERE | Flags::HAS_PRE_HOOK).to_string(),
        "HasPreHook|VSphere"
    );
}
