//! Re-runs: what an earlier run's status file may and may not skip.

use super::*;

#[tokio::test(start_paused = true)]
async fn a_rerun_migrates_again_a_succeeded_vm_whose_disks_are_gone_or_resized() {
    let h = Harness::new();
    let set = manifests(RAW, "", "");
    let (first, _) = run(
        &h.migrator(&set, backend(&h.journal)),
        CancellationToken::new(),
    )
    .await;
    let first = first.unwrap();
    assert_eq!(outcome(&first, "vm-11"), VmOutcome::Succeeded);
    assert_eq!(outcome(&first, "vm-12"), VmOutcome::Succeeded);
    let spec = h.rendered(&set);
    let claims = |id: &str| -> Vec<String> {
        let vm = spec.vms.iter().find(|v| v.source_id == id).unwrap();
        vm.disks.iter().map(|d| d.claim_name.clone()).collect()
    };
    let (web, db) = (claims("vm-11"), claims("vm-12"));
    // The second disk of vm-11 disappears; vm-12's disk is replaced by a smaller one.
    h.destination.disks.lock().unwrap().remove(&web[1]);
    h.destination.disks.lock().unwrap().insert(
        db[0].clone(),
        Arc::new(mock::MemoryDisk::new(&db[0], vec![0; MIB])),
    );
    let before = h.journal.entries().len();
    let (second, events) = run(
        &h.migrator(&set, backend(&h.journal)),
        CancellationToken::new(),
    )
    .await;
    let second = second.unwrap();
    assert_eq!(outcome(&second, "vm-11"), VmOutcome::Succeeded);
    assert_eq!(outcome(&second, "vm-12"), VmOutcome::Succeeded);
    let reasons: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match e {
            MigrationEvent::VmRemigrating { vm, reason, .. } => Some((vm.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "vm-11".to_owned(),
                format!("its disk {} is missing from the destination", web[1])
            ),
            (
                "vm-12".to_owned(),
                format!(
                    "its disk {} holds {MIB} bytes instead of {}",
                    db[0],
                    2 * MIB
                )
            ),
        ]
    );
    let rerun = h.journal.entries()[before..].to_vec();
    for claim in web.iter().chain(&db) {
        assert!(
            rerun.contains(&format!("open_target {claim}")),
            "{claim} copied again: {rerun:#?}"
        );
    }
    let data = BlockSource::size(h.destination.disks.lock().unwrap()[&db[0]].as_ref());
    assert_eq!(data, 2 * MIB as u64);
    // With every disk back in place, a third run skips both.
    let (third, events) = run(
        &h.migrator(&set, backend(&h.journal)),
        CancellationToken::new(),
    )
    .await;
    let third = third.unwrap();
    assert_eq!(outcome(&third, "vm-11"), VmOutcome::Skipped);
    assert_eq!(outcome(&third, "vm-12"), VmOutcome::Skipped);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, MigrationEvent::VmRemigrating { .. }))
    );
}

/// The disks' checkpoints go only when their VM succeeds: a VM that fails after its disks
/// were copied (here its PostHook keeps failing) keeps them, so the next run resumes the
/// disks; `restart` discards them before the disks are created again.
#[tokio::test(start_paused = true)]
async fn checkpoints_stay_until_the_vm_succeeds_and_restart_discards_them() {
    let h = Harness::new();
    h.hooks.failures.lock().unwrap().insert("after".into(), 100);
    let set = manifests(RAW, VM_HOOKS, HOOKS);
    let spec = h.rendered(&set);
    let claims = |id: &str| -> Vec<String> {
        let vm = spec.vms.iter().find(|v| v.source_id == id).unwrap();
        vm.disks.iter().map(|d| d.claim_name.clone()).collect()
    };
    let (web, db) = (claims("vm-11"), claims("vm-12"));
    let (first, _) = run(
        &h.migrator(&set, backend(&h.journal)),
        CancellationToken::new(),
    )
    .await;
    let first = first.unwrap();
    assert_eq!(outcome(&first, "vm-11"), VmOutcome::Failed);
    assert_eq!(outcome(&first, "vm-12"), VmOutcome::Succeeded);
    let web_report = first.vms.iter().find(|v| v.id == "vm-11").unwrap();
    assert_eq!(web_report.disks.len(), 2, "vm-11's disks were copied");
    // Only the succeeded VM's checkpoint went, and only after its VM was created.
    assert_eq!(
        h.journal.with("disk_completed"),
        [format!("disk_completed {}", db[0])]
    );
    assert!(
        h.journal.position(&format!("disk_completed {}", db[0]))
            > h.journal.position("write VirtualMachine db")
    );
    assert!(h.journal.with("discard_checkpoint").is_empty());

    // A re-run with `restart`: every disk of the re-run VM loses its checkpoint before it
    // is created again; the succeeded VM is skipped.
    h.hooks.failures.lock().unwrap().clear();
    let before = h.journal.entries().len();
    let mut options = h.options();
    options.restart = true;
    let migrator =
        Migrator::with_provider(&set, None, backend(&h.journal).provider(), options).unwrap();
    let (second, _) = run(&migrator, CancellationToken::new()).await;
    let second = second.unwrap();
    assert_eq!(outcome(&second, "vm-11"), VmOutcome::Succeeded);
    assert_eq!(outcome(&second, "vm-12"), VmOutcome::Skipped);
    let rerun = h.journal.entries()[before..].to_vec();
    let at = |entry: String| {
        rerun
            .iter()
            .position(|e| *e == entry)
            .unwrap_or_else(|| panic!("{entry} missing: {rerun:#?}"))
    };
    let created = at("write VirtualMachine web".to_owned());
    for claim in &web {
        assert!(at(format!("discard_checkpoint {claim}")) < at(format!("open_target {claim}")));
        assert!(at(format!("disk_completed {claim}")) > created);
    }
    // The skipped VM's disk was only looked at.
    let touched: Vec<_> = rerun.iter().filter(|e| e.contains(&db[0])).collect();
    assert_eq!(touched, [&format!("disk_size {}", db[0])]);
}
