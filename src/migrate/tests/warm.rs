//! Warm migration against a source with snapshots and change tracking in memory
//! ([`WarmSource`]): precopies copy what changed, the cutover, snapshot cleanup, retries,
//! refusals, and resuming after a kill.

use std::collections::BTreeSet;
use std::time::Duration;

use forklift_core::itinerary::Phase;
use forklift_core::resources::{Plan, WarmStatus};

mod forecast;

use super::warm_mock::{AREA, WarmSource, Write};
use super::*;
use crate::migrate::LocalDestination;
use crate::migrate::destination::Destination as _;

const WARM: &str = "  skipGuestConversion: true\n  type: warm";
const INTERVAL: Duration = Duration::from_secs(30);

/// The test inventory with change tracking on, as a warm plan needs.
fn warm_inventory() -> SourceInventory {
    let mut inventory = inventory();
    for vm in &mut inventory.vms {
        vm.change_tracking_enabled = true;
    }
    inventory
}

fn warm_source(journal: &Journal) -> WarmSource {
    WarmSource::new(journal, 32)
        .disk("vm-11", "[ds] web/a.vmdk", data(1))
        .disk("vm-11", "[ds] web/b.vmdk", data(2))
        .disk("vm-12", "[ds] db/a.vmdk", data(3))
}

fn warm_backend(journal: &Journal, source: &Arc<WarmSource>) -> MockBackend {
    let mut backend = MockBackend::new(journal.clone(), warm_inventory());
    backend.warm = Some(source.clone());
    backend
}

fn write(file: &str, offset: usize, len: usize, byte: u8) -> Write {
    Write {
        file: file.into(),
        offset,
        len,
        byte,
    }
}

/// A Migration document for the plan, with `spec` lines.
fn migration(spec: &str) -> String {
    format!(
        "---\napiVersion: forklift.konveyor.io/v1beta1\nkind: Migration\nmetadata: {{name: go, namespace: mtv}}\nspec:\n  plan: {{name: wave, namespace: mtv}}\n{spec}\n"
    )
}

fn warm_options(h: &Harness) -> MigrateOptions {
    let mut options = h.options();
    options.verify = false;
    options.precopy_interval = Some(INTERVAL);
    options.copy.request_size = 64 * 1024;
    options
}

/// A migrator of `set` over the warm test source, with the warm test options.
fn warm_migrator(h: &Harness, source: &Arc<WarmSource>, set: &ManifestSet) -> Migrator {
    Migrator::with_provider(
        set,
        None,
        warm_backend(&h.journal, source).provider(),
        warm_options(h),
    )
    .unwrap()
}

/// Runs the warm plan over `source` with its cutover due at once and vm-11 cancelled up
/// front, so whatever happens is vm-12's own.
async fn run_vm12_cut_over(h: &Harness, source: &Arc<WarmSource>) -> PlanReport {
    let set = manifests(
        WARM,
        "",
        &migration("  cutover: \"2000-01-01T00:00:00Z\"\n  cancel: [{id: vm-11}]"),
    );
    let migrator = warm_migrator(h, source, &set);
    let (report, _) = run_with(&migrator, CancellationToken::new(), |_, _| {}).await;
    report.unwrap()
}

/// Runs `migrator`, calling `on_event` with each event (and the migrator) as it comes.
async fn run_with(
    migrator: &Migrator,
    cancel: CancellationToken,
    mut on_event: impl FnMut(&Migrator, &MigrationEvent),
) -> (Result<PlanReport, MigrateError>, Vec<MigrationEvent>) {
    let (tx, mut rx) = mpsc::channel(4096);
    let mut events = Vec::new();
    let run = migrator.run(tx, cancel);
    tokio::pin!(run);
    let result = loop {
        tokio::select! {
            result = &mut run => break result,
            Some(event) = rx.recv() => {
                on_event(migrator, &event);
                events.push(event);
            }
        }
    };
    while let Ok(event) = rx.try_recv() {
        events.push(event);
    }
    (result, events)
}

/// A precopy as its event reports it: number, final, bytes per disk.
type Copied = (usize, bool, Vec<(String, u64)>);

fn precopies(events: &[MigrationEvent], vm: &str) -> Vec<Copied> {
    events
        .iter()
        .filter_map(|e| match e {
            MigrationEvent::PrecopyDone {
                vm: id,
                precopy,
                last,
                bytes,
                ..
            } if id == vm => Some((*precopy, *last, bytes.clone())),
            _ => None,
        })
        .collect()
}

fn warm_status(path: &str, vm: &str) -> WarmStatus {
    let text = std::fs::read_to_string(path).unwrap();
    let plan: Plan = serde_yaml_ng::from_str(&text).unwrap();
    let vms = plan.status.unwrap().migration.unwrap().vms;
    vms.into_iter()
        .find(|v| v.vm.id == vm)
        .unwrap()
        .warm
        .unwrap()
}

/// What render makes of `set` for the warm inventory.
fn warm_spec(set: &ManifestSet) -> TargetSpec {
    let bundle = forklift_core::manifest::PlanBundle::select(set, None).unwrap();
    render(RenderInput::for_plan(
        &bundle,
        &warm_inventory(),
        None,
        &RenderContext::default(),
    ))
}

const A: &str = "[ds] web/a.vmdk";
const B: &str = "[ds] web/b.vmdk";
const DB: &str = "[ds] db/a.vmdk";

#[tokio::test(start_paused = true)]
async fn precopies_copy_only_what_changed_and_the_cutover_copies_the_last_changes() {
    let h = Harness::new();
    let source = Arc::new(warm_source(&h.journal));
    // Between precopy 1 and 2 the guest writes one area of disk a; after precopy 2, before
    // the final snapshot, two areas of disk b.
    source.write_before("vm-11", 2, write(A, 1 << 20, AREA, 0xaa));
    source.write_before("vm-11", 3, write(B, 3 * AREA, 2 * AREA, 0xbb));
    let set = manifests(WARM, "", "");
    let migrator = warm_migrator(&h, &source, &set);
    let started = tokio::time::Instant::now();
    let (report, events) = run_with(&migrator, CancellationToken::new(), |m, e| {
        // The cutover is set while the run goes, once vm-11's second precopy is done.
        if matches!(e, MigrationEvent::PrecopyDone { vm, precopy: 2, .. } if vm == "vm-11") {
            m.cutover(None).unwrap();
        }
    })
    .await;
    let report = report.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let full = 2 * MIB as u64;
    let area = AREA as u64;
    assert_eq!(
        precopies(&events, "vm-11"),
        [
            (1, false, vec![(A.into(), full), (B.into(), full)]),
            (2, false, vec![(A.into(), area), (B.into(), 0)]),
            (3, true, vec![(A.into(), 0), (B.into(), 2 * area)]),
        ]
    );
    // The interval was waited once (between precopy 1 and 2), the cutover came at once.
    let waited = started.elapsed();
    assert!(waited >= INTERVAL && waited < 2 * INTERVAL, "{waited:?}");
    // Each target disk equals its source as it was when the source was off.
    let spec = warm_spec(&set);
    for target in &spec.vms {
        for disk in &target.disks {
            let copied = h.destination.disks.lock().unwrap()[&disk.claim_name].data();
            assert!(
                copied == source.live(&disk.source),
                "{} differs",
                disk.source
            );
        }
    }
    // Never more than one snapshot at a time, none left.
    assert_eq!(source.max_held(), 1);
    assert!(
        source.held().values().all(BTreeSet::is_empty),
        "{:?}",
        source.held()
    );
    // The itinerary's loop ran: CopyDisks twice (twice for vm-11), then the cutover phases.
    let web = report.vms.iter().find(|v| v.id == "vm-11").unwrap();
    let ran: Vec<Phase> = web.phases.iter().map(|p| p.phase).collect();
    assert_eq!(ran.iter().filter(|p| **p == Phase::CopyDisks).count(), 2);
    let cut = ran
        .iter()
        .position(|p| *p == Phase::StorePowerState)
        .unwrap();
    assert_eq!(ran[cut - 1], Phase::CopyingPaused);
    assert!(
        ran.ends_with(&[
            Phase::CreateVM,
            Phase::WaitForFinalSnapshotRemoval,
            Phase::Completed
        ]),
        "{ran:?}"
    );
    // The guest was asked to shut down before the final snapshot.
    let j = &h.journal;
    let last_snapshot = j
        .entries()
        .iter()
        .rposition(|e| e == "create_snapshot vm-11 forklift-migration-precopy")
        .unwrap();
    assert!(j.position("shutdown_guest vm-11") < last_snapshot);
    // Status: every precopy with its snapshot, change ids, bytes and times.
    let warm = warm_status(&report.status_path, "vm-11");
    assert_eq!(warm.successes, 3);
    assert_eq!(warm.failures, 0);
    assert_eq!(warm.precopies.len(), 3);
    for p in &warm.precopies {
        assert!(
            p.start.is_some() && p.end.is_some() && p.removed.is_some(),
            "{p:?}"
        );
        assert_eq!(p.deltas.len(), 2);
        assert!(p.deltas.iter().all(|d| d.delta_id.contains(&p.snapshot)));
    }
    assert_eq!(warm.precopies[1].deltas[0].bytes_copied, area);
    assert!(warm.precopies[2].last);
    assert!(warm.next_precopy_at.is_none());
    assert!(warm.snapshots_left.is_empty());
    // The device keys reached the change tracking (vSphere asks by key).
    assert!(
        !j.with("changed_areas vm-11 [ds] web/b.vmdk key 2001")
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn a_cutover_time_in_the_past_cuts_over_after_the_first_precopy() {
    let h = Harness::new();
    let source = Arc::new(warm_source(&h.journal));
    let set = manifests(WARM, "", &migration("  cutover: \"2000-01-01T00:00:00Z\""));
    let migrator = warm_migrator(&h, &source, &set);
    let started = tokio::time::Instant::now();
    let (report, events) = run_with(&migrator, CancellationToken::new(), |_, _| {}).await;
    assert!(report.unwrap().succeeded());
    assert!(started.elapsed() < INTERVAL, "the interval was waited");
    let db = precopies(&events, "vm-12");
    assert_eq!(db.len(), 2, "{db:?}");
    assert!(db[1].1, "the second precopy is the final one");
    assert_eq!(db[1].2, [(DB.to_owned(), 0)]);
}

#[tokio::test(start_paused = true)]
async fn a_bad_cutover_time_fails_the_vms_naming_the_field() {
    let h = Harness::new();
    let source = Arc::new(warm_source(&h.journal));
    let set = manifests(WARM, "", &migration("  cutover: \"tomorrow noon\""));
    let migrator = warm_migrator(&h, &source, &set);
    let (report, _) = run_with(&migrator, CancellationToken::new(), |_, _| {}).await;
    let report = report.unwrap();
    let web = report.vms.iter().find(|v| v.id == "vm-11").unwrap();
    assert_eq!(web.outcome, VmOutcome::Failed);
    assert!(
        web.error
            .as_deref()
            .unwrap()
            .contains("Migration mtv/go: spec.cutover \"tomorrow noon\""),
        "{web:?}"
    );
    // The failed VMs' snapshots were removed.
    assert!(source.held().values().all(BTreeSet::is_empty));
    // And the API refuses such a time up front.
    assert!(matches!(
        migrator.cutover(Some("noon")),
        Err(MigrateError::InvalidCutover { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn cancelling_mid_precopy_removes_the_snapshots() {
    let h = Harness::new();
    let source = Arc::new(warm_source(&h.journal));
    *source.hang_from.lock().unwrap() = Some(2);
    let set = manifests(WARM, "", "");
    let migrator = warm_migrator(&h, &source, &set);
    let cancel = CancellationToken::new();
    let on_second = cancel.clone();
    let (report, _) = run_with(&migrator, cancel, |_, e| {
        if matches!(e, MigrationEvent::PrecopyDone { vm, precopy: 1, .. } if vm == "vm-12") {
            // The second precopy's reads hang: cancel while it copies.
            let token = on_second.clone();
            tokio::spawn(async move {
                tokio::time::sleep(INTERVAL + Duration::from_secs(1)).await;
                token.cancel();
            });
        }
    })
    .await;
    let report = report.unwrap();
    assert_eq!(outcome(&report, "vm-11"), VmOutcome::Canceled);
    assert_eq!(outcome(&report, "vm-12"), VmOutcome::Canceled);
    let removed = h.journal.with("remove_snapshot vm-12");
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert!(
        source.held().values().all(BTreeSet::is_empty),
        "{:?}",
        source.held()
    );
    assert!(
        warm_status(&report.status_path, "vm-12")
            .snapshots_left
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_precopy_is_retried_then_fails_the_vm_reporting_snapshots_it_could_not_remove() {
    let h = Harness::new();
    let source = Arc::new(warm_source(&h.journal));
    // Two failed attempts are retried.
    source
        .failing_opens
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let report = run_vm12_cut_over(&h, &source).await;
    assert_eq!(outcome(&report, "vm-12"), VmOutcome::Succeeded);
    let warm = warm_status(&report.status_path, "vm-12");
    assert_eq!((warm.failures, warm.consecutive_failures), (2, 0));
    assert_eq!(warm.successes, 2);

    // Now every attempt fails, and the snapshot cannot be removed either.
    let h = Harness::new();
    let source = Arc::new(warm_source(&h.journal));
    source.failing_opens.store(
        1 + crate::migrate::warm::PRECOPY_RETRIES,
        std::sync::atomic::Ordering::SeqCst,
    );
    source
        .removal_fails
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let report = run_vm12_cut_over(&h, &source).await;
    let db = report.vms.iter().find(|v| v.id == "vm-12").unwrap();
    assert_eq!(db.outcome, VmOutcome::Failed);
    let error = db.error.as_deref().unwrap();
    assert!(error.contains("precopy 1 failed 4 times"), "{error}");
    assert!(
        error.contains("snapshots left on the source: snapshot-1"),
        "{error}"
    );
    let warm = warm_status(&report.status_path, "vm-12");
    assert_eq!(warm.failures, 4);
    assert_eq!(warm.snapshots_left, ["snapshot-1"]);
}

/// A snapshot that names no change id (an oVirt backup ready without `to_checkpoint_id`)
/// fails the VM, and the warm status says why: the precopy counted as failed, its reason
/// naming the snapshot and the disk.
#[tokio::test(start_paused = true)]
async fn a_snapshot_without_change_ids_shows_in_the_warm_status() {
    let h = Harness::new();
    let source = Arc::new(warm_source(&h.journal));
    source
        .no_change_ids
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let report = run_vm12_cut_over(&h, &source).await;
    let db = report.vms.iter().find(|v| v.id == "vm-12").unwrap();
    assert_eq!(db.outcome, VmOutcome::Failed);
    let warm = warm_status(&report.status_path, "vm-12");
    assert_eq!((warm.failures, warm.consecutive_failures), (1, 1));
    assert_eq!(warm.successes, 0);
    let why = warm.last_failure.as_deref().unwrap_or_default();
    assert!(
        why.contains("snapshot snapshot-1 has no change id for disk [ds] db/a.vmdk"),
        "{why}"
    );
    assert!(
        why.contains("no later precopy can copy only what changed"),
        "{why}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_snapshot_limit_fails_the_vm_clearly() {
    let h = Harness::new();
    let source = Arc::new(WarmSource::new(&h.journal, 0).disk("vm-12", DB, data(3)));
    let set = manifests(WARM, "", &migration("  cancel: [{id: vm-11}]"));
    let migrator = warm_migrator(&h, &source, &set);
    let (report, _) = run_with(&migrator, CancellationToken::new(), |_, _| {}).await;
    let report = report.unwrap();
    let db = report.vms.iter().find(|v| v.id == "vm-12").unwrap();
    assert_eq!(db.outcome, VmOutcome::Failed);
    assert!(
        db.error.as_deref().unwrap().starts_with(
            "VM db: cannot take a warm migration snapshot: the VM has reached its snapshot limit"
        ),
        "{db:?}"
    );
}

async fn refused_warm(backend: MockBackend, expected: &str) {
    let h = Harness::new();
    let set = manifests(WARM, "", "");
    let migrator =
        Migrator::with_provider(&set, None, backend.provider(), warm_options(&h)).unwrap();
    let (result, _) = run_with(&migrator, CancellationToken::new(), |_, _| {}).await;
    match result {
        Err(MigrateError::NotReady { conditions }) => {
            assert!(
                conditions.iter().any(|c| c.type_ == expected),
                "{expected} not in {conditions:#?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn warm_plans_are_refused_without_snapshots_with_cbt_off_or_with_snapshots() {
    let journal = Journal::default();
    // A provider without snapshots and change tracking: this engine cannot run it.
    refused_warm(
        MockBackend::new(journal.clone(), warm_inventory()),
        "WarmMigrationNotAvailable",
    )
    .await;
    let source = Arc::new(warm_source(&journal));
    let mut backend = warm_backend(&journal, &source);
    backend.inventory.vms[0].change_tracking_enabled = false;
    refused_warm(backend, "VMMissingChangedBlockTracking").await;
    let mut backend = warm_backend(&journal, &source);
    backend.inventory.vms[1].snapshot_count = 1;
    refused_warm(backend, "VMHasSnapshots").await;
    assert!(journal.with("create_snapshot").is_empty());
}

/// Killed mid-precopy (the run's future dropped: no cleanup runs), a new run resumes from
/// the last completed precopy: it removes the snapshot the killed run left and copies only
/// what changed since, into the images the first run wrote.
#[tokio::test]
async fn a_rerun_after_a_kill_resumes_from_the_last_completed_precopy() {
    let out = tempfile::tempdir().unwrap();
    let journal = Journal::default();
    let source = Arc::new(warm_source(&journal));
    source.write_before("vm-12", 2, write(DB, 0, AREA, 0x11));
    source.write_before("vm-12", 3, write(DB, 5 * AREA, AREA, 0x22));
    *source.hang_from.lock().unwrap() = Some(2);
    let options = || {
        let mut options = MigrateOptions::new(LocalDestination::new(out.path()));
        options.precopy_interval = Some(Duration::from_millis(50));
        options.copy.request_size = 64 * 1024;
        options
    };
    let only_db = migration("  cancel: [{id: vm-11}]");
    let set = manifests(WARM, "", &only_db);
    let first = Migrator::with_provider(
        &set,
        None,
        warm_backend(&journal, &source).provider(),
        options(),
    )
    .unwrap();
    let (tx, mut rx) = mpsc::channel(4096);
    let run = first.run(tx, CancellationToken::new());
    let status = LocalDestination::new(out.path())
        .status_path("mtv", "wave")
        .unwrap();
    let killed = async {
        // Until the second precopy hangs in its copy and the status records its snapshot
        // (events are drained meanwhile).
        loop {
            while rx.try_recv().is_ok() {}
            let text = std::fs::read_to_string(&status).unwrap_or_default();
            if text.contains("snapshot: snapshot-2")
                && !journal
                    .with("open_disk vm-12 [ds] db/a.vmdk @snapshot-2")
                    .is_empty()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        r = run => panic!("the run ended: {r:?}"),
        () = killed => {}
    }
    assert_eq!(
        source.held()["vm-12"].len(),
        1,
        "the killed run left its snapshot"
    );
    *source.hang_from.lock().unwrap() = None;

    let set = manifests(
        WARM,
        "",
        &migration("  cancel: [{id: vm-11}]\n  cutover: \"2000-01-01T00:00:00Z\""),
    );
    // The source reports the snapshot the killed run left: ours, so validation lets the
    // VM resume (a stranger's snapshot refuses it, tested above).
    let mut backend = warm_backend(&journal, &source);
    backend.inventory.vms[1].snapshot_count = 1;
    let second = Migrator::with_provider(&set, None, backend.provider(), options()).unwrap();
    let (report, events) = tokio::time::timeout(
        Duration::from_secs(60),
        run_with(&second, CancellationToken::new(), |_, _| {}),
    )
    .await
    .unwrap();
    let report = report.unwrap();
    assert_eq!(
        outcome(&report, "vm-12"),
        VmOutcome::Succeeded,
        "{report:#?}"
    );
    let copied = precopies(&events, "vm-12");
    // Not the whole disk again: the two areas written since the first precopy, then nothing.
    assert_eq!(
        copied,
        [
            (2, false, vec![(DB.to_owned(), 2 * AREA as u64)]),
            (3, true, vec![(DB.to_owned(), 0)]),
        ]
    );
    assert_eq!(
        journal.with("remove_snapshot vm-12 snapshot-2").len(),
        1,
        "{:#?}",
        journal.entries()
    );
    assert!(source.held()["vm-12"].is_empty());
    let spec = warm_spec(&set);
    let db = spec.vms.iter().find(|v| v.source_id == "vm-12").unwrap();
    let image = std::fs::read(
        LocalDestination::new(out.path())
            .disk_path("apps", &db.disks[0].claim_name)
            .unwrap(),
    )
    .unwrap();
    assert!(
        image == source.live(DB),
        "the image differs from the source"
    );
    let warm = warm_status(&report.status_path, "vm-12");
    assert_eq!(warm.precopies.len(), 3);
    assert_eq!(warm.precopies[0].deltas[0].bytes_copied, 2 * MIB as u64);
}

/// Our extension: with `forklift.konveyor.io/max-downtime` the VM cuts over at the first
/// precopy whose forecast fits; the forecast and the measured values end in the status.
#[tokio::test]
async fn the_max_downtime_annotation_cuts_over_when_the_forecast_fits() {
    let h = Harness::new();
    let source = Arc::new(warm_source(&h.journal));
    source.write_before("vm-12", 2, write(DB, 0, 4 * AREA, 0x33));
    source.write_before("vm-12", 3, write(DB, 8 * AREA, AREA, 0x44));
    let migration = migration("  cancel: [{id: vm-11}]").replace(
        "metadata: {name: go, namespace: mtv}",
        "metadata: {name: go, namespace: mtv, annotations: {forklift.konveyor.io/max-downtime: 1h}}",
    );
    let set = manifests(WARM, "", &migration);
    let mut options = warm_options(&h);
    options.precopy_interval = Some(Duration::from_millis(100));
    let migrator = Migrator::with_provider(
        &set,
        None,
        warm_backend(&h.journal, &source).provider(),
        options,
    )
    .unwrap();
    let (report, events) = tokio::time::timeout(
        Duration::from_secs(60),
        run_with(&migrator, CancellationToken::new(), |_, _| {}),
    )
    .await
    .expect("no automatic cutover");
    let report = report.unwrap();
    assert_eq!(outcome(&report, "vm-12"), VmOutcome::Succeeded);
    let copied = precopies(&events, "vm-12");
    // Precopy 1 has no dirty rate yet; precopy 2's forecast fits an hour.
    assert_eq!(copied.len(), 3, "{copied:?}");
    assert_eq!(copied[1].2, [(DB.to_owned(), 4 * AREA as u64)]);
    assert_eq!(copied[2], (3, true, vec![(DB.to_owned(), AREA as u64)]));
    let db = report.vms.iter().find(|v| v.id == "vm-12").unwrap();
    let forecast = db.warm.as_ref().unwrap().forecast.clone().unwrap();
    assert!(forecast.dirty_bytes_per_second > 0 && forecast.copy_bytes_per_second > 0);
    assert!(forecast.downtime_millis >= forecast.final_sync_millis);
    assert!(forecast.actual_final_sync_millis.is_some(), "{forecast:?}");
    assert!(forecast.actual_downtime_millis.is_some(), "{forecast:?}");
}

/// The cutover is set by editing the Migration's manifest file while the run goes, as one
/// edits the CR: the runner reads it again every `CUTOVER_POLL_INTERVAL`.
#[tokio::test(start_paused = true)]
async fn editing_the_migration_file_cuts_over() {
    let dir = tempfile::tempdir().unwrap();
    let only_db = migration("  cancel: [{id: vm-11}]");
    let full = manifests(WARM, "", "");
    let plan_file = dir.path().join("plan.yaml");
    std::fs::write(&plan_file, full.to_yaml().unwrap()).unwrap();
    let migration_file = dir.path().join("migration.yaml");
    std::fs::write(&migration_file, &only_db).unwrap();
    let set = crate::manifests::load_paths(&[&plan_file, &migration_file]);
    assert!(!set.has_errors(), "{:?}", set.diagnostics());
    let h = Harness::new();
    let source = Arc::new(warm_source(&h.journal));
    let migrator = warm_migrator(&h, &source, &set);
    let edited = only_db.replace(
        "  cancel: [{id: vm-11}]",
        "  cancel: [{id: vm-11}]\n  cutover: \"2001-01-01T00:00:00Z\"",
    );
    let (report, events) = tokio::time::timeout(
        Duration::from_secs(3600),
        run_with(&migrator, CancellationToken::new(), |_, e| {
            if matches!(e, MigrationEvent::PrecopyDone { precopy: 1, .. }) {
                std::fs::write(&migration_file, &edited).unwrap();
            }
        }),
    )
    .await
    .expect("the edited cutover was not seen");
    assert_eq!(outcome(&report.unwrap(), "vm-12"), VmOutcome::Succeeded);
    let copied = precopies(&events, "vm-12");
    assert!(copied.last().unwrap().1, "{copied:?}");
}
