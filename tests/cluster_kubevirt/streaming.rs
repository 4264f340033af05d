//! Streamed uploads: the route the proxy serves, a proxy failing mid-stream, cancel
//! mid-upload (objects deleted, or kept and adopted by a re-run, as the plan says), and an
//! oversized API answer.

use std::path::Path;
use std::time::Duration;

use forklift::demo::catalog::{build_catalog, demo_vms, sha256_file};
use forklift::demo::manifests::demo_manifests;
use forklift::migrate::kubevirt::KubevirtDestination;
use forklift::migrate::{MigrateOptions, PlanReport, VmOutcome};
use forklift_core::manifest::ManifestSet;
use tokio_util::sync::CancellationToken;

use super::fake_apiserver::FakeCluster;
use super::{cluster_destination, faults, migrate, migrate_until, options};

/// How long a cancelled run may take to return (it must not hang on the held upload).
const CANCEL_LIMIT: Duration = Duration::from_secs(30);

/// The demo's web VM alone (one 64 MiB disk): its catalog checksum and plan.
fn web_only(dir: &Path, plan_extra: &str) -> (String, ManifestSet) {
    let vms: Vec<_> = demo_vms()
        .into_iter()
        .filter(|v| v.name == "demo-web")
        .collect();
    let sums = build_catalog(&dir.join("catalog"), &dir.join("work"), &vms).unwrap();
    let text = demo_manifests(&dir.join("catalog"), &["demo-web".to_owned()])
        .replace("  warm: false\n", &format!("  warm: false\n{plan_extra}"));
    let set = ManifestSet::parse("test", &text);
    assert!(!set.has_errors(), "{:?}", set.diagnostics());
    (sums.disks[0].sha256.clone(), set)
}

fn received(cluster: &FakeCluster) -> Vec<String> {
    cluster
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("PROXY RECEIVED"))
        .collect()
}

/// The checksum of what the proxy received for the first disk of the report's first VM.
fn first_upload_sha(cluster: &FakeCluster, report: &PlanReport) -> String {
    let vm = &report.vms[0];
    let file = cluster
        .uploads
        .join(&vm.namespace)
        .join(format!("{}.img", vm.disks[0].claim));
    sha256_file(&file).unwrap()
}

fn count(cluster: &FakeCluster, plural: &str) -> usize {
    let state = cluster.state.lock().unwrap();
    state.objects.keys().filter(|(p, _, _)| p == plural).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_without_upload_async_gets_the_synchronous_route() {
    let dir = tempfile::tempdir().unwrap();
    let (sha, set) = web_only(dir.path(), "");
    let (cluster, destination) =
        cluster_destination(dir.path(), faults(|f| f.upload_async = false)).await;
    let report = migrate(&set, MigrateOptions::new(destination)).await;
    assert!(report.succeeded(), "{report:#?}");
    let got = received(&cluster);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("PROXY RECEIVED /v1beta1/upload "),
        "{got:?}"
    );
    assert_eq!(first_upload_sha(&cluster, &report), sha);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_failing_mid_stream_fails_the_vm_with_its_answer_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let (_, set) = web_only(dir.path(), "");
    let (cluster, destination) = cluster_destination(
        dir.path(),
        faults(|f| f.refuse_upload_after = Some(4 << 20)),
    )
    .await;
    let report = tokio::time::timeout(
        CANCEL_LIMIT,
        migrate(&set, MigrateOptions::new(destination)),
    )
    .await
    .expect("a failed upload does not hang the run");
    let vm = &report.vms[0];
    assert_eq!(vm.outcome, VmOutcome::Failed, "{report:#?}");
    let error = vm.error.as_deref().unwrap_or_default();
    // The copy's error carries the upload's own: which DataVolume, what the proxy said (or
    // that the connection broke while sending).
    assert!(
        error.contains(&format!("upload of DataVolume {}/", vm.namespace)),
        "{error}"
    );
    assert!(
        error.contains("the upload server crashed") || error.contains("Streaming DataVolume"),
        "{error}"
    );
    // deleteVmOnFailMigration (default true): the DataVolume is gone, no VM was created.
    assert_eq!(count(&cluster, "datavolumes"), 0);
    assert_eq!(count(&cluster, "virtualmachines"), 0);
}

/// Runs the plan and cancels it once the proxy holds the upload; returns the report.
async fn cancel_mid_upload(
    set: &ManifestSet,
    destination: KubevirtDestination,
    cluster: &FakeCluster,
) -> PlanReport {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let state = cluster.state.clone();
    tokio::spawn(async move {
        while !state
            .lock()
            .unwrap()
            .requests
            .iter()
            .any(|r| r.starts_with("PROXY HOLD"))
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        trigger.cancel();
    });
    let run = migrate_until(set, MigrateOptions::new(destination), cancel);
    tokio::time::timeout(CANCEL_LIMIT, run)
        .await
        .expect("a cancel during an upload does not hang")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_mid_upload_deletes_what_the_run_created() {
    let dir = tempfile::tempdir().unwrap();
    let (_, set) = web_only(dir.path(), "");
    let (cluster, destination) =
        cluster_destination(dir.path(), faults(|f| f.hold_upload_after = Some(1 << 20))).await;
    let report = cancel_mid_upload(&set, destination, &cluster).await;
    assert_eq!(report.vms[0].outcome, VmOutcome::Canceled, "{report:#?}");
    // Upstream: a cancelled VM's DataVolumes (and VM) go when deleteVmOnFailMigration is set
    // (its default).
    assert_eq!(count(&cluster, "datavolumes"), 0);
    assert_eq!(count(&cluster, "virtualmachines"), 0);
    let state = cluster.state.lock().unwrap();
    assert!(
        state
            .events
            .iter()
            .any(|e| e.kind == "DELETED" && e.plural == "datavolumes")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_that_keeps_objects_is_adopted_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (sha, set) = web_only(dir.path(), "  deleteVmOnFailMigration: false\n");
    let (cluster, destination) =
        cluster_destination(dir.path(), faults(|f| f.hold_upload_after = Some(1 << 20))).await;
    let report = cancel_mid_upload(&set, destination, &cluster).await;
    assert_eq!(report.vms[0].outcome, VmOutcome::Canceled, "{report:#?}");
    // Kept, as the plan says.
    assert_eq!(count(&cluster, "datavolumes"), 1);
    // The next run (a new process: a new destination) adopts the DataVolume and streams the
    // disk into it again.
    cluster.faults(|f| f.hold_upload_after = None);
    let destination = KubevirtDestination::new(options(&cluster, dir.path()));
    let again = migrate(&set, MigrateOptions::new(destination)).await;
    assert!(again.succeeded(), "{again:#?}");
    assert_eq!(count(&cluster, "datavolumes"), 1);
    assert_eq!(count(&cluster, "virtualmachines"), 1);
    assert_eq!(first_upload_sha(&cluster, &again), sha);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_api_answer_fails_the_request_instead_of_being_read() {
    use forklift::migrate::kubevirt::API_RESPONSE_LIMIT;
    let (result, _cluster, _, _dir) = super::deploy_in_process(
        faults(|f| {
            f.oversized_get
                .insert("datavolumes".to_owned(), API_RESPONSE_LIMIT + 1024);
        }),
        None,
    )
    .await;
    let text = forklift_core::error::chain(&result.unwrap_err().source);
    assert!(text.contains("get datavolumes.cdi.kubevirt.io"), "{text}");
    assert!(text.contains("length limit exceeded"), "{text}");
    // A bit under the limit is read as usual (the cap is the limit, not something smaller).
    let (result, _cluster, _, _dir) = super::deploy_in_process(
        faults(|f| {
            f.oversized_get
                .insert("datavolumes".to_owned(), API_RESPONSE_LIMIT - 4096);
        }),
        None,
    )
    .await;
    let text = forklift_core::error::chain(&result.unwrap_err().source);
    assert!(!text.contains("length limit exceeded"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_rewritten_in_place_is_staged_and_others_are_streamed() {
    use forklift::migrate::Destination;
    let dir = tempfile::tempdir().unwrap();
    let (_cluster, destination) = cluster_destination(dir.path(), faults(|_| {})).await;
    // Warm precopies write the same disk again: it gets a local image and a checkpoint.
    let warm = destination
        .open_rewritable_disk("apps", "warm-disk", 1 << 20)
        .await
        .unwrap();
    assert!(warm.checkpoint.is_some());
    assert!(Path::new(&warm.location).is_file(), "{}", warm.location);
    // A cold disk is streamed: no local image, no checkpoint.
    let cold = destination
        .open_disk("apps", "cold-disk", 1 << 20)
        .await
        .unwrap();
    assert!(cold.checkpoint.is_none());
    assert_eq!(cold.location, "upload of DataVolume apps/cold-disk");
}
