//! The `kubevirt` destination and `forklift deploy` against the test API server and upload
//! proxy of tests/support/fake_apiserver (schema-validating, server-side apply, watches,
//! TLS upload proxy with bearer tokens), and every error a user can act on.

mod common;
#[path = "support/fake_apiserver/mod.rs"]
mod fake_apiserver;
#[path = "cluster_kubevirt/streaming.rs"]
mod streaming;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fake_apiserver::{FakeCluster, Faults};
use forklift::demo::catalog::{CatalogChecksums, build_catalog, demo_vms, sha256_file};
use forklift::demo::manifests::{PLAN, demo_manifests};
use forklift::migrate::kubevirt::{ClusterConfig, KubevirtDestination, KubevirtOptions};
use forklift::migrate::{LocalDestination, MigrateOptions, Migrator, PlanReport, VmOutcome};
use forklift_core::manifest::ManifestSet;
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn forklift() -> Command {
    Command::new(env!("CARGO_BIN_EXE_forklift"))
}

fn demo(dir: &Path) -> (CatalogChecksums, ManifestSet) {
    let sums = build_catalog(&dir.join("catalog"), &dir.join("work"), &demo_vms()).unwrap();
    let names: Vec<String> = demo_vms().iter().map(|v| v.name.clone()).collect();
    let set = ManifestSet::parse("test", &demo_manifests(&dir.join("catalog"), &names));
    assert!(!set.has_errors(), "{:?}", set.diagnostics());
    (sums, set)
}

fn options(cluster: &FakeCluster, dir: &Path) -> KubevirtOptions {
    KubevirtOptions {
        cluster: ClusterConfig {
            kubeconfig: Some(cluster.kubeconfig(dir)),
        },
        upload_proxy_url: None,
        upload_proxy_ca: None,
        staging: dir.join("staging"),
        stage_disks: false,
        data_volume_limit: None,
    }
}

/// A cluster with `faults` (uploads under `dir/uploaded`) and a destination onto it.
async fn cluster_destination(dir: &Path, faults: Faults) -> (FakeCluster, KubevirtDestination) {
    let cluster = FakeCluster::start(faults, &dir.join("uploaded")).await;
    let destination = KubevirtDestination::new(options(&cluster, dir));
    (cluster, destination)
}

async fn migrate(set: &ManifestSet, options: MigrateOptions) -> PlanReport {
    migrate_until(set, options, CancellationToken::new()).await
}

/// Runs the demo plan of `set` until it ends or `cancel` fires, draining its events.
async fn migrate_until(
    set: &ManifestSet,
    options: MigrateOptions,
    cancel: CancellationToken,
) -> PlanReport {
    let migrator = Migrator::new(set, Some(PLAN), options).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let report = migrator.run(tx, cancel).await.unwrap();
    drain.await.unwrap();
    report
}

/// `forklift deploy BUNDLE --kubeconfig KUBECONFIG`, for more arguments to be added.
fn deploy_command(bundle: &Path, kubeconfig: &Path) -> Command {
    let mut command = forklift();
    command
        .arg("deploy")
        .arg(bundle)
        .arg("--kubeconfig")
        .arg(kubeconfig);
    command
}

/// Runs `command` off the runtime's threads (the test cluster is served on them).
async fn run_blocking(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_plan_lands_on_the_cluster_and_a_rerun_adopts_it() {
    let dir = tempfile::tempdir().unwrap();
    let (sums, set) = demo(dir.path());
    let (cluster, destination) = cluster_destination(dir.path(), Faults::default()).await;
    let report = migrate(&set, MigrateOptions::new(destination.clone())).await;
    assert!(report.succeeded(), "{report:#?}");
    let mut disks = 0;
    for vm in &report.vms {
        let namespace = &vm.namespace;
        let stored = cluster
            .object("virtualmachines", namespace, &vm.target_name)
            .expect("the VirtualMachine was applied");
        assert!(!stored.owners.is_empty());
        assert!(
            stored.owners.values().all(|m| m == "forklift"),
            "{:?}",
            stored.owners
        );
        for disk in &vm.disks {
            let dv = cluster
                .object("datavolumes", namespace, &disk.claim)
                .unwrap();
            assert_eq!(dv.object["spec"]["source"], json!({"upload": {}}));
            assert_eq!(
                dv.object["status"]["phase"],
                "Succeeded",
                "{}: {:#?}",
                disk.claim,
                cluster.requests()
            );
            // What the proxy received is the source disk, bit for bit.
            let uploaded = cluster
                .uploads
                .join(namespace)
                .join(format!("{}.img", disk.claim));
            let expected = sums
                .disks
                .iter()
                .filter(|d| d.vm == vm.source_name)
                .nth(disk.index)
                .unwrap();
            assert_eq!(sha256_file(&uploaded).unwrap(), expected.sha256);
            // Streamed from the copy into the upload: nothing was staged.
            assert_eq!(
                disk.path,
                format!("upload of DataVolume {namespace}/{}", disk.claim)
            );
            assert!(
                !dir.path()
                    .join("staging")
                    .join(namespace)
                    .join("disks")
                    .exists()
            );
            disks += 1;
        }
    }
    assert_eq!(disks, 3);
    // Per DataVolume: applied, token, upload, watched to Succeeded; the VM only after.
    let requests = cluster.requests();
    let first = |needle: &str| {
        requests
            .iter()
            .position(|r| r.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in {requests:#?}"))
    };
    assert!(first("PATCH /apis/cdi.kubevirt.io") < first("uploadtokenrequests"));
    assert!(first("uploadtokenrequests") < first("PROXY POST /v1beta1/upload"));
    // The proxy serves upload-async: every disk went there.
    let received: Vec<_> = requests
        .iter()
        .filter(|r| r.starts_with("PROXY RECEIVED"))
        .collect();
    assert_eq!(received.len(), 3, "{received:?}");
    assert!(
        received
            .iter()
            .all(|r| r.starts_with("PROXY RECEIVED /v1beta1/upload-async ")),
        "{received:?}"
    );
    assert!(first("PROXY POST") < first("watch=true"));
    assert!(first("watch=true") < first("PATCH /apis/kubevirt.io/v1"));

    // A re-run adopts what the first created: nothing is uploaded again.
    let uploads_before = requests
        .iter()
        .filter(|r| r.starts_with("PROXY POST"))
        .count();
    let again = migrate(&set, MigrateOptions::new(destination)).await;
    assert_eq!(again.count(VmOutcome::Skipped), 2, "{again:#?}");
    let uploads_after = cluster
        .requests()
        .iter()
        .filter(|r| r.starts_with("PROXY POST"))
        .count();
    assert_eq!(uploads_before, uploads_after);
}

/// A bundle of one VM with one 1 MiB disk, written as `forklift migrate --destination local:`
/// writes it.
fn small_bundle(dir: &Path) -> PathBuf {
    let root = dir.join("bundle");
    let bundle = LocalDestination::new(&root);
    let labels = json!({"plan": "plan-uid", "vmID": "vm-1"});
    let dv = json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
        "metadata": {"name": "web-disk-0", "namespace": "apps", "labels": labels},
        "spec": {"source": {"blank": {}}, "storage": {"storageClassName": "standard",
                 "resources": {"requests": {"storage": "1Mi"}}}}});
    let vm = json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": "web", "namespace": "apps", "labels": labels},
        "spec": {"runStrategy": "Always", "template": {"spec": {
            "domain": {"devices": {"disks": [{"name": "disk0", "disk": {"bus": "virtio"}}]}},
            "volumes": [{"name": "disk0", "dataVolume": {"name": "web-disk-0"}}]}}}});
    let image = bundle.disk_path("apps", "web-disk-0").unwrap();
    std::fs::create_dir_all(image.parent().unwrap()).unwrap();
    let data: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(&image, data).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use forklift::migrate::{Destination, ObjectKind};
        bundle
            .write_object("apps", ObjectKind::DiskClaim, "web-disk-0", &dv)
            .await
            .unwrap();
        bundle
            .write_object("apps", ObjectKind::VirtualMachine, "web", &vm)
            .await
            .unwrap();
    });
    root
}

/// Runs `forklift deploy` on a fresh small bundle against a cluster with `faults`; returns
/// the exit code, stderr and the cluster.
async fn deploy_with(
    faults: Faults,
    extra: &[&str],
) -> (i32, String, String, FakeCluster, tempfile::TempDir) {
    let (dir, bundle, cluster) = bundle_and_cluster(faults).await;
    let mut command = deploy_command(&bundle, &cluster.kubeconfig(dir.path()));
    command.args(extra);
    let output = run_blocking(command).await;
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        cluster,
        dir,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_pushes_a_bundle_and_a_second_deploy_adopts_it() {
    let (code, stdout, stderr, cluster, dir) = deploy_with(Faults::default(), &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"apps/web\""), "{stdout}");
    let uploaded = cluster.uploads.join("apps/web-disk-0.img");
    assert_eq!(
        std::fs::read(&uploaded).unwrap(),
        std::fs::read(dir.path().join("bundle/apps/disks/web-disk-0.img")).unwrap()
    );
    let dv = cluster.object("datavolumes", "apps", "web-disk-0").unwrap();
    assert_eq!(dv.object["spec"]["source"], json!({"upload": {}}));
    assert_eq!(
        dv.object["metadata"]["annotations"]["forklift.konveyor.io/source-disk-size"],
        "1048576"
    );
    assert!(cluster.object("virtualmachines", "apps", "web").is_some());
    // The namespace was created.
    assert!(cluster.state.lock().unwrap().namespaces.contains("apps"));
    // Deploy again: the DataVolume is adopted, not uploaded again.
    let kubeconfig = cluster.kubeconfig(dir.path());
    let output = run_blocking(deploy_command(&dir.path().join("bundle"), &kubeconfig)).await;
    assert!(output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("\"adopted\": [\n    \"apps/web-disk-0\"")
    );
    let uploads = cluster
        .requests()
        .iter()
        .filter(|r| r.starts_with("PROXY POST"))
        .count();
    assert_eq!(uploads, 1);
}

fn faults(change: impl FnOnce(&mut Faults)) -> Faults {
    let mut faults = Faults::default();
    change(&mut faults);
    faults
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_server_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = small_bundle_blocking(dir.path()).await;
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\n")).unwrap();
    let output = run_blocking(deploy_command(&bundle, &kubeconfig)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "API server http://127.0.0.1:{port}/ is unreachable"
        )),
        "{stderr}"
    );
}

async fn small_bundle_blocking(dir: &Path) -> PathBuf {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || small_bundle(&dir))
        .await
        .unwrap()
}

/// A fresh small bundle and a cluster with `faults` (uploads under `up`), in a new folder.
async fn bundle_and_cluster(faults: Faults) -> (tempfile::TempDir, PathBuf, FakeCluster) {
    let dir = tempfile::tempdir().unwrap();
    let bundle = small_bundle_blocking(dir.path()).await;
    let cluster = FakeCluster::start(faults, &dir.path().join("up")).await;
    (dir, bundle, cluster)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_denial_names_the_verb_and_resource() {
    let f = faults(|f| {
        f.forbidden.insert(("patch".into(), "datavolumes".into()));
    });
    let (code, _, stderr, cluster, _dir) = deploy_with(f, &[]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "does not allow this user to patch datavolumes.cdi.kubevirt.io apps/web-disk-0"
        ),
        "{stderr}"
    );
    assert!(cluster.object("virtualmachines", "apps", "web").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_that_may_not_be_created_is_a_clear_refusal() {
    let f = faults(|f| {
        f.forbidden.insert(("create".into(), "namespaces".into()));
    });
    let (code, _, stderr, _cluster, _dir) = deploy_with(f, &[]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("target namespace apps does not exist and this user may not create it"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_crds_say_which() {
    for (gv, what) in [
        ("kubevirt.io/v1", "KubeVirt"),
        ("cdi.kubevirt.io/v1beta1", "CDI"),
    ] {
        let f = faults(|f| {
            f.missing_apis.insert(gv.into());
        });
        let (code, _, stderr, cluster, _dir) = deploy_with(f, &[]).await;
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains(&format!(
                "does not serve {gv} ({what}): install {what} first"
            )),
            "{stderr}"
        );
        assert!(
            cluster.state.lock().unwrap().objects.is_empty(),
            "nothing created"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absent_storage_class_is_named() {
    let f = faults(|f| {
        f.storage_classes.clear();
    });
    let (code, _, stderr, cluster, _dir) = deploy_with(f, &[]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("storage class standard of DataVolume web-disk-0 does not exist"),
        "{stderr}"
    );
    assert!(
        cluster
            .object("datavolumes", "apps", "web-disk-0")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_upload_proxy_is_a_tls_failure_and_what_was_created_is_reported() {
    let f = faults(|f| f.advertise_ca = false);
    let (code, _, stderr, cluster, _dir) = deploy_with(f, &[]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("TLS with the CDI upload proxy"), "{stderr}");
    assert!(stderr.contains("created before the failure"), "{stderr}");
    assert!(stderr.contains("\"apps/web-disk-0\""), "{stderr}");
    assert!(
        cluster
            .requests()
            .iter()
            .all(|r| !r.starts_with("PROXY POST"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_ca_flag_makes_an_unadvertised_proxy_trusted() {
    let (dir, bundle, cluster) = bundle_and_cluster(faults(|f| f.advertise_ca = false)).await;
    let mut command = deploy_command(&bundle, &cluster.kubeconfig(dir.path()));
    command
        .arg("--upload-proxy-ca")
        .arg(cluster.ca_file(dir.path()));
    let output = run_blocking(command).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exceeded_quota_is_named() {
    let f = faults(|f| {
        f.quota_exceeded.insert("datavolumes".into());
    });
    let (code, _, stderr, _cluster, _dir) = deploy_with(f, &[]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("Quota exceeded in namespace apps"),
        "{stderr}"
    );
    assert!(stderr.contains("exceeded quota: storage-quota"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_owned_by_another_manager_conflicts_and_foreign_objects_are_not_adopted() {
    let (dir, bundle, cluster) = bundle_and_cluster(Faults::default()).await;
    // Someone else's DataVolume of the same name: never adopted.
    cluster.seed(
        "datavolumes",
        "apps",
        "web-disk-0",
        json!({"apiVersion": "cdi.kubevirt.io/v1beta1",
        "kind": "DataVolume", "metadata": {"name": "web-disk-0", "namespace": "apps"},
        "spec": {"source": {"blank": {}}, "storage": {}}}),
        "kubectl",
    );
    let kubeconfig = cluster.kubeconfig(dir.path());
    let output = run_blocking(deploy_command(&bundle, &kubeconfig)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("DataVolume apps/web-disk-0 already exists and was not created by this plan"),
        "{stderr}"
    );
    // Ours by its labels, but another manager owns the storage class with another value.
    cluster.seed(
        "datavolumes",
        "apps",
        "web-disk-0",
        json!({"apiVersion": "cdi.kubevirt.io/v1beta1",
        "kind": "DataVolume", "metadata": {"name": "web-disk-0", "namespace": "apps",
        "labels": {"plan": "plan-uid", "vmID": "vm-1"}},
        "spec": {"storage": {"storageClassName": "fast"}}}),
        "kubectl",
    );
    let output = run_blocking(deploy_command(&bundle, &kubeconfig)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Conflict on patch datavolumes.cdi.kubevirt.io apps/web-disk-0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("conflict with \\\"kubectl\\\": .spec.storage.storageClassName")
            || stderr.contains("conflict with \"kubectl\": .spec.storage.storageClassName"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_import_names_the_data_volume_and_its_reason() {
    let f = faults(|f| f.fail_import = true);
    let (code, _, stderr, cluster, _dir) = deploy_with(f, &[]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("DataVolume apps/web-disk-0 failed: Unable to process data"),
        "{stderr}"
    );
    assert!(cluster.object("virtualmachines", "apps", "web").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_server_rejects_what_the_api_server_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = FakeCluster::start(Faults::default(), &dir.path().join("up")).await;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/apis/cdi.kubevirt.io/v1beta1/namespaces/default/datavolumes/x?fieldManager=t",
        cluster.api_url
    );
    let send = |body: serde_json::Value| {
        http.patch(&url)
            .header("content-type", "application/apply-patch+yaml")
            .body(body.to_string())
            .send()
    };
    let base = json!({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "x"},
        "spec": {"source": {"upload": {}}, "storage": {}}});
    let mut unknown = base.clone();
    unknown["spec"]["source"]["upload"]["bogus"] = json!(1);
    let mut wrong_type = base.clone();
    wrong_type["spec"]["storage"]["resources"] = json!("10Gi");
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("spec");
    for bad in [unknown, wrong_type, missing] {
        let answer = send(bad.clone()).await.unwrap();
        assert_eq!(answer.status(), 422, "{bad}");
        let status: serde_json::Value =
            serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "Invalid");
    }
    assert_eq!(send(base).await.unwrap().status(), 201);
    // Without a fieldManager an apply is a bad request.
    let answer = http
        .patch(url.replace("?fieldManager=t", ""))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
}

/// Deploys a small bundle through the library against a cluster with `faults`.
async fn deploy_in_process(
    faults: Faults,
    limit: Option<std::time::Duration>,
) -> (
    Result<forklift::migrate::kubevirt::DeployReport, forklift::migrate::kubevirt::DeployFailure>,
    FakeCluster,
    std::time::Duration,
    tempfile::TempDir,
) {
    let (dir, bundle, cluster) = bundle_and_cluster(faults).await;
    let mut options = options(&cluster, dir.path());
    options.data_volume_limit = limit;
    let deployer = forklift::migrate::kubevirt::Deployer::new(options);
    let started = std::time::Instant::now();
    let result = forklift::migrate::kubevirt::deploy_bundle(&bundle, &deployer).await;
    (result, cluster, started.elapsed(), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_volume_that_never_succeeds_fails_at_the_limit() {
    let limit = std::time::Duration::from_secs(2);
    let (result, cluster, took, _dir) =
        deploy_in_process(faults(|f| f.stall_import = true), Some(limit)).await;
    let failure = result.unwrap_err();
    let text = forklift_core::error::chain(&failure.source);
    assert!(
        text.contains("did not reach phase Succeeded within 2 s (last phase UploadReady)"),
        "{text}"
    );
    assert!(took < limit + std::time::Duration::from_secs(5), "{took:?}");
    // Reported, not left silently: the DataVolume is in the failure's report.
    assert_eq!(failure.created.data_volumes, ["apps/web-disk-0"]);
    assert!(cluster.object("virtualmachines", "apps", "web").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_retried_up_to_the_limit_and_the_answer_is_capped() {
    use forklift::migrate::kubevirt::{UPLOAD_ATTEMPTS, UPLOAD_RESPONSE_LIMIT};
    // One transient failure: the second attempt succeeds.
    let (result, cluster, _, _dir) =
        deploy_in_process(faults(|f| f.proxy_failures = 1), None).await;
    assert!(result.is_ok(), "{:?}", result.err().map(|f| f.source));
    let posts = |c: &FakeCluster| {
        c.requests()
            .iter()
            .filter(|r| r.starts_with("PROXY POST"))
            .count()
    };
    assert_eq!(posts(&cluster), 2);
    // Failing every attempt: refused after UPLOAD_ATTEMPTS, the proxy's text capped.
    let (result, cluster, _, _dir) =
        deploy_in_process(faults(|f| f.proxy_failures = 100), None).await;
    let text = forklift_core::error::chain(&result.unwrap_err().source);
    assert!(
        text.contains("HTTP 503"),
        "{}",
        &text[..200.min(text.len())]
    );
    assert!(text.len() < UPLOAD_RESPONSE_LIMIT + 1024, "{}", text.len());
    assert_eq!(posts(&cluster), UPLOAD_ATTEMPTS as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_bundle_manifest_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = small_bundle_blocking(dir.path()).await;
    let vm = bundle.join("apps/virtualmachines/web.yaml");
    std::fs::File::options()
        .append(true)
        .open(&vm)
        .unwrap()
        .set_len(forklift::migrate::kubevirt::MAX_BUNDLE_OBJECT_SIZE + 1)
        .unwrap();
    let cluster = FakeCluster::start(Faults::default(), &dir.path().join("up")).await;
    let output = run_blocking(deploy_command(&bundle, &cluster.kubeconfig(dir.path()))).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("web.yaml"), "{stderr}");
    assert!(cluster.state.lock().unwrap().objects.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_vm_is_removed_from_the_cluster_when_the_plan_asks() {
    let dir = tempfile::tempdir().unwrap();
    let set = common::demo_with_a_failing_db(dir.path());
    let (cluster, destination) = cluster_destination(dir.path(), Faults::default()).await;
    let report = migrate(&set, MigrateOptions::new(destination)).await;
    let db = report
        .vms
        .iter()
        .find(|v| v.source_name == "Demo_DB_01")
        .unwrap();
    assert_eq!(db.outcome, VmOutcome::Failed, "{report:#?}");
    let web = report
        .vms
        .iter()
        .find(|v| v.source_name == "demo-web")
        .unwrap();
    assert_eq!(web.outcome, VmOutcome::Succeeded);
    let state = cluster.state.lock().unwrap();
    let left: Vec<_> = state
        .objects
        .keys()
        .filter(|(_, _, name)| name.contains("demo-db-01"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(
        state
            .objects
            .keys()
            .any(|(plural, _, name)| plural == "virtualmachines" && *name == web.target_name)
    );
    // The failed VM's DataVolumes were deleted (with watch events for them).
    assert!(
        state
            .events
            .iter()
            .any(|e| e.kind == "DELETED" && e.name.contains("demo-db-01"))
    );
    // Its staged images went too.
    let staged = dir.path().join("staging").join(&db.namespace).join("disks");
    let leftovers: Vec<_> = std::fs::read_dir(&staged)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().contains("demo-db-01"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The README's "Deploying to a cluster": the demo's bundle deployed with `forklift deploy`,
/// and the demo's plan migrated with `forklift migrate --destination kubevirt`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_commands_deploy_the_demo_and_migrate_onto_a_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo-out");
    let mut demo = forklift();
    demo.arg("demo").arg("--dir").arg(&demo_dir);
    let output = run_blocking(demo).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let cluster = FakeCluster::start(Faults::default(), &dir.path().join("deployed")).await;
    let deploy = deploy_command(&demo_dir.join("out"), &cluster.kubeconfig(dir.path()));
    let output = run_blocking(deploy).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["virtualMachines"].as_array().unwrap().len(),
        2,
        "{report}"
    );
    for dv in report["uploaded"].as_array().unwrap() {
        let (namespace, name) = dv.as_str().unwrap().split_once('/').unwrap();
        let image = format!("{name}.img");
        assert_eq!(
            std::fs::read(cluster.uploads.join(namespace).join(&image)).unwrap(),
            std::fs::read(
                demo_dir
                    .join("out")
                    .join(namespace)
                    .join("disks")
                    .join(&image)
            )
            .unwrap(),
            "{dv}"
        );
    }
    assert_eq!(report["uploaded"].as_array().unwrap().len(), 3);

    let other = FakeCluster::start(Faults::default(), &dir.path().join("migrated")).await;
    let other_dir = dir.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let mut migrate = forklift();
    migrate
        .arg("migrate")
        .arg("--manifests")
        .arg(demo_dir.join("manifests.yaml"))
        .arg("--destination")
        .arg("kubevirt")
        .arg("--kubeconfig")
        .arg(other.kubeconfig(&other_dir))
        .arg("--staging")
        .arg(dir.path().join("staging"));
    let output = run_blocking(migrate).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let vms = other
        .state
        .lock()
        .unwrap()
        .objects
        .keys()
        .filter(|(plural, _, _)| plural == "virtualmachines")
        .count();
    assert_eq!(vms, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_image_symlinked_out_of_the_bundle_is_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = small_bundle_blocking(dir.path()).await;
    let secret = dir.path().join("secret.img");
    std::fs::write(&secret, b"not for the cluster").unwrap();
    let image = bundle.join("apps/disks/web-disk-0.img");
    std::fs::remove_file(&image).unwrap();
    std::os::unix::fs::symlink(&secret, &image).unwrap();
    let cluster = FakeCluster::start(Faults::default(), &dir.path().join("up")).await;
    let output = run_blocking(deploy_command(&bundle, &cluster.kubeconfig(dir.path()))).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("web-disk-0.img"), "{stderr}");
    assert!(stderr.contains("outside the destination"), "{stderr}");
    assert!(cluster.requests().iter().all(|r| !r.starts_with("PROXY")));
    assert!(
        cluster.state.lock().unwrap().objects.is_empty(),
        "nothing created"
    );
}
