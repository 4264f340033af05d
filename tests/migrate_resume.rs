//! End to end: a VM that did not succeed keeps its disks' checkpoints, so the next run
//! resumes each disk instead of copying it again; `restart` copies from zero. Runs the
//! runner on an OVA catalog built with real tools into a local destination.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use forklift::demo::catalog::{CatalogChecksums, build_catalog, demo_vms, sha256_file};
use forklift::demo::manifests::{PLAN, demo_manifests};
use forklift::migrate::hooks::CallbackHookRunner;
use forklift::migrate::{
    LocalDestination, MigrateOptions, MigrationEvent, Migrator, PlanReport, VmOutcome, VmReport,
};
use forklift_core::manifest::ManifestSet;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const DB: &str = "Demo_DB_01";

fn catalog(dir: &Path) -> CatalogChecksums {
    build_catalog(&dir.join("catalog"), &dir.join("work"), &demo_vms()).unwrap()
}

/// The demo plan; with `post_hook`, Demo_DB_01 runs the hook `after` once its VM exists.
fn manifests(dir: &Path, post_hook: bool) -> ManifestSet {
    let names: Vec<String> = demo_vms().iter().map(|v| v.name.clone()).collect();
    let mut text = demo_manifests(&dir.join("catalog"), &names);
    if post_hook {
        // deleteVmOnFailMigration (on by default) would delete the failed VM's images; a
        // cancelled VM keeps them whatever it says.
        text = text.replace(
            "  warm: false\n",
            "  warm: false\n  deleteVmOnFailMigration: false\n",
        );
        let line = format!("    - name: \"{DB}\"\n");
        assert!(text.contains(&line), "{text}");
        text = text.replace(
            &line,
            &format!("{line}      hooks:\n        - step: PostHook\n          hook:\n            name: after\n            namespace: forklift-demo\n"),
        );
        text.push_str(
            "---\napiVersion: forklift.konveyor.io/v1beta1\nkind: Hook\nmetadata:\n  name: after\n  namespace: forklift-demo\nspec:\n  image: quay.io/konveyor/hook-runner\n  playbook: LSBob3N0czogbG9jYWxob3N0Cg==\n",
        );
    }
    let set = ManifestSet::parse("test", &text);
    assert!(!set.has_errors(), "{:?}", set.diagnostics());
    set
}

/// Runs the plan; `on_event` sees every event as it comes and may cancel the run.
async fn run(
    set: &ManifestSet,
    options: MigrateOptions,
    on_event: impl Fn(&MigrationEvent, &CancellationToken) + Send + 'static,
) -> (PlanReport, Vec<MigrationEvent>) {
    let migrator = Migrator::new(set, Some(PLAN), options).unwrap();
    let (tx, mut rx) = mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let collect = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            on_event(&e, &token);
            events.push(e);
        }
        events
    });
    let report = migrator.run(tx, cancel).await.unwrap();
    (report, collect.await.unwrap())
}

fn vm<'a>(report: &'a PlanReport, name: &str) -> &'a VmReport {
    report
        .vms
        .iter()
        .find(|v| v.source_name == name)
        .unwrap_or_else(|| panic!("{name} missing: {report:#?}"))
}

/// Every image of `vm` is bit-identical to the raw disk its VMDK was made from.
fn assert_identical(sums: &CatalogChecksums, vm: &VmReport) {
    let expected: Vec<_> = sums
        .disks
        .iter()
        .filter(|d| d.vm == vm.source_name)
        .collect();
    assert_eq!(vm.disks.len(), expected.len(), "{vm:#?}");
    for disk in &vm.disks {
        assert_eq!(
            sha256_file(Path::new(&disk.path)).unwrap(),
            expected[disk.index].sha256,
            "{}",
            disk.path
        );
    }
}

fn checkpoints(out: &Path, vm: &VmReport) -> Vec<String> {
    std::fs::read_dir(out.join(&vm.namespace).join("disks"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".checkpoint"))
        .collect()
}

/// Options with a hook runner whose hook fails while `fail` is set (no retries).
fn options(out: &Path, fail: &Arc<AtomicBool>) -> MigrateOptions {
    let mut options = MigrateOptions::new(LocalDestination::new(out));
    options.verify = true;
    options.hook_retries = 0;
    let fail = fail.clone();
    options.hooks = Some(Arc::new(CallbackHookRunner::new(move |_, _| {
        let failed = fail.load(Ordering::SeqCst);
        Box::pin(async move {
            if failed {
                Err("scripted failure".to_owned())
            } else {
                Ok(String::new())
            }
        })
    })));
    options
}

/// A VM that fails after its disks were copied keeps their checkpoints: the next run copies
/// nothing again; `restart` discards them and copies everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_vm_resumes_its_copied_disks_and_restart_copies_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let sums = catalog(dir.path());
    let set = manifests(dir.path(), true);
    let out = dir.path().join("out");
    let fail = Arc::new(AtomicBool::new(true));

    // 1: Demo_DB_01's PostHook fails after its disks were copied and its VM created.
    let (first, _) = run(&set, options(&out, &fail), |_, _| {}).await;
    let db = vm(&first, DB);
    assert_eq!(db.outcome, VmOutcome::Failed, "{first:#?}");
    assert_eq!(db.disks.len(), 2);
    assert!(db.disks.iter().all(|d| d.summary.bytes_resumed == 0));
    assert_identical(&sums, db);
    assert_eq!(
        checkpoints(&out, db).len(),
        2,
        "kept while the VM has not succeeded"
    );

    // 2: with `restart`, the checkpoints are discarded and the disks copied from zero.
    let mut restart = options(&out, &fail);
    restart.restart = true;
    let (second, _) = run(&set, restart, |_, _| {}).await;
    let db = vm(&second, DB);
    assert_eq!(db.outcome, VmOutcome::Failed, "{second:#?}");
    for disk in &db.disks {
        assert_eq!(disk.summary.bytes_resumed, 0, "{disk:#?}");
        assert!(disk.summary.bytes_written > 0, "{disk:#?}");
    }
    assert_identical(&sums, db);

    // 3: the hook passes; every disk resumes from its complete checkpoint: nothing is
    // written again, the images still match, and the checkpoints are gone.
    fail.store(false, Ordering::SeqCst);
    let (third, _) = run(&set, options(&out, &fail), |_, _| {}).await;
    let db = vm(&third, DB);
    assert_eq!(db.outcome, VmOutcome::Succeeded, "{third:#?}");
    assert_eq!(db.disks.len(), 2);
    for disk in &db.disks {
        let s = &disk.summary;
        assert_eq!(s.bytes_resumed, s.bytes_total, "{disk:#?}");
        assert_eq!(s.bytes_written, 0, "{disk:#?}");
        assert!(disk.verified);
    }
    assert_identical(&sums, db);
    assert!(checkpoints(&out, db).is_empty());
    assert_eq!(vm(&third, "demo-web").outcome, VmOutcome::Skipped);
}

/// Cancelled mid-copy (one disk of Demo_DB_01 copied, the other under way; the plan keeps
/// the default deleteVmOnFailMigration: true): the next run resumes both, writing less than
/// the disks hold, and the images match the source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_cancelled_mid_copy_resumes_each_disk() {
    let dir = tempfile::tempdir().unwrap();
    let sums = catalog(dir.path());
    let set = manifests(dir.path(), false);
    let out = dir.path().join("out");
    let mut slow = MigrateOptions::new(LocalDestination::new(&out));
    // Small requests one at a time and frequent checkpoints: the copy is slow enough to be
    // cancelled midway, and a checkpoint records what was done.
    slow.copy.request_size = 4096;
    slow.copy.requests = 1;
    slow.copy.checkpoint_interval = std::time::Duration::from_millis(1);
    let db_id = std::sync::OnceLock::new();
    let (first, first_events) = run(&set, slow, move |event, cancel| match event {
        MigrationEvent::VmStarted { vm, target_name } if target_name.starts_with("demo-db") => {
            let _ = db_id.set(vm.clone());
        }
        // The first disk of Demo_DB_01 to finish cancels the plan.
        MigrationEvent::DiskCopied { vm, .. } if db_id.get() == Some(vm) => cancel.cancel(),
        _ => {}
    })
    .await;
    let db = vm(&first, DB);
    assert_eq!(db.outcome, VmOutcome::Canceled, "{first:#?}");
    let copied_first: Vec<String> = first_events
        .iter()
        .filter_map(|e| match e {
            MigrationEvent::DiskCopied { vm, disk, .. } if *vm == db.id => Some(disk.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(copied_first.len(), 1, "one disk finished before the cancel");

    let mut options = MigrateOptions::new(LocalDestination::new(&out));
    options.verify = true;
    let (second, _) = run(&set, options, |_, _| {}).await;
    let db = vm(&second, DB);
    assert_eq!(db.outcome, VmOutcome::Succeeded, "{second:#?}");
    assert_identical(&sums, db);
    let (mut written, mut total) = (0, 0);
    for disk in &db.disks {
        let s = &disk.summary;
        assert!(s.checkpoint_discarded.is_none(), "{disk:#?}");
        if copied_first.contains(&disk.claim) {
            assert_eq!(s.bytes_resumed, s.bytes_total, "{disk:#?}");
        } else {
            assert!(s.bytes_resumed > 0, "{disk:#?}");
        }
        written += s.bytes_written + s.bytes_zeroed;
        total += s.bytes_total;
    }
    assert!(written < total, "wrote {written} of {total}");
    assert!(checkpoints(&out, db).is_empty());
}

fn forklift_migrate(manifests: &Path, out: &Path, extra: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_forklift"));
    command
        .arg("migrate")
        .arg("--manifests")
        .arg(manifests)
        .arg("--destination")
        .arg(format!("local:{}", out.display()))
        .args(extra)
        .stdin(std::process::Stdio::null());
    command
}

/// Whether a checkpoint under `out` records copied blocks.
fn some_progress_recorded(out: &Path) -> bool {
    let Ok(namespaces) = std::fs::read_dir(out) else {
        return false;
    };
    namespaces
        .flatten()
        .filter_map(|ns| std::fs::read_dir(ns.path().join("disks")).ok())
        .flat_map(|disks| disks.flatten())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".checkpoint"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .any(|c| c["completed"].as_array().is_some_and(|r| !r.is_empty()))
}

/// Runs `forklift migrate` and kills it with SIGKILL as soon as a checkpoint records copied
/// blocks.
fn kill_mid_copy(manifests: &Path, out: &Path) {
    let mut child = forklift_migrate(manifests, out, &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !some_progress_recorded(out) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed mid-copy"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The disks of every VM of the JSON report that ran, with the report.
fn ran_disks(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["vms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["outcome"] == "succeeded")
        .flat_map(|v| v["disks"].as_array().unwrap().clone())
        .collect()
}

fn assert_matches_catalog(sums: &CatalogChecksums, disks: &[serde_json::Value]) {
    for disk in disks {
        let path = disk["path"].as_str().unwrap();
        let sha = sha256_file(Path::new(path)).unwrap();
        assert!(
            sums.disks.iter().any(|d| d.sha256 == sha),
            "{path} matches no source disk"
        );
    }
}

/// `forklift migrate` killed with SIGKILL mid-copy: the next run resumes (writes less than
/// the disks hold) and the images match the source; after another kill, `--restart` copies
/// everything from zero.
#[test]
fn a_killed_cli_run_resumes_and_restart_copies_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let sums = catalog(dir.path());
    let names: Vec<String> = demo_vms().iter().map(|v| v.name.clone()).collect();
    let manifests = dir.path().join("plan.yaml");
    std::fs::write(
        &manifests,
        demo_manifests(&dir.path().join("catalog"), &names),
    )
    .unwrap();
    let report_of = |out: &Path, extra: &[&str]| -> serde_json::Value {
        let extra = [extra, &["-o", "json"][..]].concat();
        let output = forklift_migrate(&manifests, out, &extra).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
    };
    let sum = |disks: &[serde_json::Value], keys: &[&str]| -> u64 {
        disks
            .iter()
            .map(|d| {
                keys.iter()
                    .map(|k| d["summary"][k].as_u64().unwrap())
                    .sum::<u64>()
            })
            .sum()
    };

    let out = dir.path().join("out");
    kill_mid_copy(&manifests, &out);
    let disks = ran_disks(&report_of(&out, &[]));
    assert!(!disks.is_empty());
    assert_matches_catalog(&sums, &disks);
    let total = sum(&disks, &["bytesTotal"]);
    assert!(sum(&disks, &["bytesResumed"]) > 0, "{disks:#?}");
    assert!(
        sum(&disks, &["bytesWritten", "bytesZeroed"]) < total,
        "{disks:#?}"
    );

    let again = dir.path().join("again");
    kill_mid_copy(&manifests, &again);
    let disks = ran_disks(&report_of(&again, &["--restart"]));
    assert!(!disks.is_empty());
    assert_matches_catalog(&sums, &disks);
    assert_eq!(sum(&disks, &["bytesResumed"]), 0, "{disks:#?}");
}
