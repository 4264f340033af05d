//! The downtime forecast against measured time: on tokio's paused clock, the source's
//! snapshot and change-query latencies are exact, so the forecast's parts can be checked
//! against them and its final sync against the one the run recorded.

use forklift_core::resources::PowerOffMethod;

use super::super::warm_mock::Latency;
use super::*;

const MS: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn the_forecast_is_built_from_measured_latencies_and_matches_the_final_sync() {
    let h = Harness::new();
    let source = Arc::new(warm_source(&h.journal));
    *source.latency.lock().unwrap() = Latency {
        create: 300 * MS,
        remove: 100 * MS,
        query: 10 * MS,
    };
    // The guest rewrites 4 areas before each snapshot after the first.
    for before in 2..=4 {
        source.write_before(
            "vm-12",
            before,
            write(DB, before * 4 * AREA, 4 * AREA, 0x50),
        );
    }
    let set = manifests(WARM, "", &migration("  cancel: [{id: vm-11}]"));
    let mut options = warm_options(&h);
    options.precopy_interval = Some(Duration::from_secs(1));
    let migrator = Migrator::with_provider(
        &set,
        None,
        warm_backend(&h.journal, &source).provider(),
        options,
    )
    .unwrap();
    let mut forecasts = Vec::new();
    let (report, events) = run_with(&migrator, CancellationToken::new(), |m, e| {
        if let MigrationEvent::PrecopyDone {
            vm,
            precopy,
            forecast,
            ..
        } = e
        {
            if vm == "vm-12" {
                forecasts.push(forecast.clone());
                if *precopy == 3 {
                    m.cutover(None).unwrap();
                }
            }
        }
    })
    .await;
    let report = report.unwrap();
    assert_eq!(outcome(&report, "vm-12"), VmOutcome::Succeeded);
    assert_eq!(precopies(&events, "vm-12").len(), 4);

    // After the full copy nothing is known of deltas; after each incremental precopy the
    // forecast for a cutover now counts the running guest's assumed shutdown.
    assert_eq!(forecasts[0], None);
    let before = forecasts[2].clone().unwrap();
    assert!(!before.source_off);
    assert_eq!(before.power_off_millis, 5000);
    assert!(before.dirty_bytes_per_second > 0, "{before:?}");

    // Once the source is off (the mock's guest shuts down at once), the forecast counts
    // the measured power-off and the measured latencies: one create, two removals, the
    // change ids and the changed areas of its one disk.
    let warm = warm_status(&report.status_path, "vm-12");
    let power_off = warm.power_off.clone().unwrap();
    assert_eq!(power_off.method, PowerOffMethod::GuestShutdown);
    let f = warm.forecast.unwrap();
    assert!(f.source_off, "{f:?}");
    assert_eq!(f.power_off_millis, power_off.millis);
    assert_eq!(f.actual_power_off_millis, Some(power_off.millis));
    assert_eq!(
        (
            f.snapshot_create_millis,
            f.snapshot_remove_millis,
            f.change_query_millis
        ),
        (300, 100, 20),
        "{f:?}"
    );
    // The guest wrote 4 areas between snapshots 1 s + copy apart, and nothing after the
    // last precopy's snapshot but the scripted 4 areas: the forecast stays close.
    let actual = f.actual_final_sync_millis.unwrap();
    let predicted = f.final_sync_millis;
    assert!(predicted >= 520, "{f:?}");
    let ratio = actual as f64 / predicted as f64;
    assert!(
        (0.75..=1.25).contains(&ratio),
        "actual {actual} ms, forecast {predicted} ms: {f:?}"
    );
    assert!(f.actual_downtime_millis.unwrap() >= actual + power_off.millis);
}
