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
