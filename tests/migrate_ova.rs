//! End to end: an OVA catalog built with real tools (mke2fs, qemu-img), migrated by the
//! runner into a local destination, with re-run, cancel, hooks and failure cleanup.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use forklift::demo::catalog::{CatalogChecksums, build_catalog, demo_vms, sha256_file};
use forklift::demo::manifests::{PLAN, demo_manifests};
use forklift::migrate::hooks::CallbackHookRunner;
use forklift::migrate::{
    LocalDestination, MigrateError, MigrateOptions, MigrationEvent, Migrator, PlanReport, VmOutcome,
};
use forklift_core::manifest::ManifestSet;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn catalog(dir: &Path) -> CatalogChecksums {
    build_catalog(&dir.join("catalog"), &dir.join("work"), &demo_vms()).unwrap()
}

fn manifests(dir: &Path, extra: &str) -> ManifestSet {
    let names: Vec<String> = demo_vms().iter().map(|v| v.name.clone()).collect();
    let text = format!("{}{extra}", demo_manifests(&dir.join("catalog"), &names));
    let set = ManifestSet::parse("test", &text);
    assert!(!set.has_errors(), "{:?}", set.diagnostics());
    set
}

async fn run(
    set: &ManifestSet,
    options: MigrateOptions,
) -> (Result<PlanReport, MigrateError>, Vec<MigrationEvent>) {
    let migrator = Migrator::new(set, Some(PLAN), options).unwrap();
    let (tx, mut rx) = mpsc::channel(1024);
    let collect = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        events
    });
    let result = migrator.run(tx, CancellationToken::new()).await;
    (result, collect.await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ova_plan_migrates_verifies_and_reruns_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let sums = catalog(dir.path());
    let set = manifests(dir.path(), "");
    let out = dir.path().join("out");
    let mut options = MigrateOptions::new(LocalDestination::new(&out));
    options.verify = true;
    let (report, events) = run(&set, options.clone()).await;
    let report = report.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.count(VmOutcome::Succeeded), 2);
    // Every image is bit-identical to the raw disk the VMDK was made from.
    let mut images = 0;
    for vm in &report.vms {
        let expected: Vec<_> = sums
            .disks
            .iter()
            .filter(|d| d.vm == vm.source_name)
            .collect();
        assert_eq!(vm.disks.len(), expected.len(), "{vm:?}");
        for disk in &vm.disks {
            assert!(disk.verified);
            assert_eq!(
                sha256_file(Path::new(&disk.path)).unwrap(),
                expected[disk.index].sha256
            );
            images += 1;
        }
        let vm_yaml = out
            .join(&vm.namespace)
            .join("virtualmachines")
            .join(format!("{}.yaml", vm.target_name));
        let text = std::fs::read_to_string(&vm_yaml).unwrap();
        assert!(text.contains("kind: VirtualMachine"), "{text}");
    }
    assert_eq!(images, 3);
    // The bundle is deployable: each DataVolume is fed by CDI's upload API, and the upload
    // manifest says which image feeds it.
    let namespace = &report.vms[0].namespace;
    let manifest = forklift::migrate::bundle::UploadManifest::load(
        &out.join(namespace)
            .join(forklift::migrate::bundle::UPLOAD_MANIFEST),
    )
    .unwrap();
    assert_eq!(manifest.uploads.len(), 3, "{manifest:?}");
    for vm in &report.vms {
        for disk in &vm.disks {
            let dv = std::fs::read_to_string(
                out.join(namespace)
                    .join("datavolumes")
                    .join(format!("{}.yaml", disk.claim)),
            )
            .unwrap();
            let dv: serde_json::Value = serde_yaml_ng::from_str(&dv).unwrap();
            assert_eq!(
                dv["spec"]["source"],
                serde_json::json!({"upload": {}}),
                "{dv}"
            );
            let entry = manifest.entry(&disk.claim).unwrap();
            assert_eq!(
                out.join(namespace).join(&entry.image),
                Path::new(&disk.path)
            );
            assert_eq!(entry.size, std::fs::metadata(&disk.path).unwrap().len());
        }
    }
    // The renamed VM follows MTV's name adjustment.
    assert!(
        report
            .vms
            .iter()
            .any(|v| v.source_name == "Demo_DB_01" && v.target_name != "Demo_DB_01")
    );
    // Phases follow the cold itinerary, in order, per VM.
    let phases: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            MigrationEvent::PhaseStarted { vm, phase, .. } if vm == &report.vms[0].id => {
                Some(phase.clone())
            }
            _ => None,
        })
        .collect();
    let order = [
        "Started",
        "StorePowerState",
        "PowerOffSource",
        "WaitForPowerOff",
        "CreateDataVolumes",
        "CopyDisks",
        "CreateVM",
        "Completed",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|p| {
            phases
                .iter()
                .position(|x| x == p)
                .unwrap_or_else(|| panic!("{p} missing from {phases:?}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{phases:?}");
    // The status file records upstream's shape.
    let status = std::fs::read_to_string(&report.status_path).unwrap();
    assert!(
        status.contains("type: Succeeded") && status.contains("name: DiskTransfer"),
        "{status}"
    );

    // A second run skips what succeeded and writes nothing new.
    let (again, _) = run(&set, options.clone()).await;
    let again = again.unwrap();
    assert_eq!(again.count(VmOutcome::Skipped), 2);
    assert_eq!(again.bytes_written, 0);

    // The status file still says both succeeded, but one image is deleted and another cut
    // short: neither VM is skipped, each is migrated again with a reason, and the images are
    // whole again.
    let deleted = Path::new(&report.vms[0].disks[0].path);
    std::fs::remove_file(deleted).unwrap();
    let truncated = Path::new(&report.vms[1].disks[0].path);
    let size = std::fs::metadata(truncated).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(truncated)
        .unwrap()
        .set_len(size / 2)
        .unwrap();
    let (third, events) = run(&set, options).await;
    let third = third.unwrap();
    assert_eq!(third.count(VmOutcome::Succeeded), 2, "{third:#?}");
    let reasons: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            MigrationEvent::VmRemigrating { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.ends_with("is missing from the destination"))
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains(&format!("holds {} bytes instead of {size}", size / 2)))
    );
    for vm in &report.vms {
        for disk in &vm.disks {
            let expected = sums
                .disks
                .iter()
                .filter(|d| d.vm == vm.source_name)
                .nth(disk.index)
                .unwrap();
            assert_eq!(sha256_file(Path::new(&disk.path)).unwrap(), expected.sha256);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_in_migration_spec_and_hooks_in_order() {
    let dir = tempfile::tempdir().unwrap();
    catalog(dir.path());
    // Hooks on demo-web (pre and post); Demo_DB_01 is cancelled by the Migration.
    let hooks = r#"---
apiVersion: forklift.konveyor.io/v1beta1
kind: Hook
metadata:
  name: announce
  namespace: forklift-demo
spec:
  image: quay.io/konveyor/hook-runner
  playbook: LSBob3N0czogbG9jYWxob3N0Cg==
"#;
    let text = format!(
        "{}{hooks}",
        demo_manifests(&dir.path().join("catalog"), &demo_vms().iter().map(|v| v.name.clone()).collect::<Vec<_>>())
    )
    .replace(
        "    - name: \"demo-web\"\n",
        "    - name: \"demo-web\"\n      hooks:\n        - step: PreHook\n          hook:\n            name: announce\n            namespace: forklift-demo\n        - step: PostHook\n          hook:\n            name: announce\n            namespace: forklift-demo\n",
    )
    .replace(
        "spec:\n  plan:\n    name: demo-plan",
        "spec:\n  cancel:\n    - id: 9d2e4b6a-1c3f-4a5b-8c7d-0e1f2a3b4c5d\n  plan:\n    name: demo-plan",
    );
    let set = ManifestSet::parse("test", &text);
    assert!(!set.has_errors(), "{:?}", set.diagnostics());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let mut options = MigrateOptions::new(LocalDestination::new(dir.path().join("out")));
    options.hooks = Some(Arc::new(CallbackHookRunner::new(move |hook, ctx| {
        seen.lock().unwrap().push(format!(
            "{}:{}:{}",
            ctx.step,
            ctx.vm_name,
            hook.metadata.name_or_empty()
        ));
        Box::pin(async { Ok(String::new()) })
    })));
    let (report, _) = run(&set, options).await;
    let report = report.unwrap();
    let outcome = |name: &str| {
        report
            .vms
            .iter()
            .find(|v| v.source_name == name)
            .unwrap()
            .outcome
    };
    assert_eq!(outcome("demo-web"), VmOutcome::Succeeded);
    assert_eq!(outcome("Demo_DB_01"), VmOutcome::Canceled);
    assert_eq!(
        *calls.lock().unwrap(),
        vec!["PreHook:demo-web:announce", "PostHook:demo-web:announce"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_vm_is_cleaned_up_when_the_plan_asks() {
    let dir = tempfile::tempdir().unwrap();
    let set = common::demo_with_a_failing_db(dir.path());
    let out = dir.path().join("out");
    let (report, _) = run(&set, MigrateOptions::new(LocalDestination::new(&out))).await;
    let report = report.unwrap();
    let db = report
        .vms
        .iter()
        .find(|v| v.source_name == "Demo_DB_01")
        .unwrap();
    assert_eq!(db.outcome, VmOutcome::Failed, "{report:#?}");
    assert!(db.error.is_some());
    assert!(
        !out.join(&db.namespace)
            .join("virtualmachines")
            .join(format!("{}.yaml", db.target_name))
            .exists()
    );
    let leftovers: Vec<_> = std::fs::read_dir(out.join(&db.namespace).join("disks"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(&db.target_name))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Its disks left the upload manifest; the succeeded VM's stayed.
    let manifest = forklift::migrate::bundle::UploadManifest::load(
        &out.join(&db.namespace)
            .join(forklift::migrate::bundle::UPLOAD_MANIFEST),
    )
    .unwrap();
    assert!(
        manifest
            .uploads
            .iter()
            .all(|e| !e.data_volume.contains(&db.target_name)),
        "{manifest:?}"
    );
    assert!(!manifest.uploads.is_empty());
    let web = report
        .vms
        .iter()
        .find(|v| v.source_name == "demo-web")
        .unwrap();
    assert_eq!(web.outcome, VmOutcome::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_with_blockers_moves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    catalog(dir.path());
    let names = vec!["no-such-vm".to_owned()];
    let set = ManifestSet::parse("test", &demo_manifests(&dir.path().join("catalog"), &names));
    let out = dir.path().join("out");
    let (result, events) = run(&set, MigrateOptions::new(LocalDestination::new(&out))).await;
    assert!(
        matches!(result, Err(MigrateError::NotReady { .. })),
        "{result:?}"
    );
    assert!(matches!(
        events.first(),
        Some(MigrationEvent::Validated { ready: false, .. })
    ));
    assert!(!out.exists());
}
