//! The runner against injected doubles on tokio's paused clock: no sleeps, no real servers.
//! Each test checks what the runner did through the journal of capability calls, so a
//! skipped or reordered phase fails it.

mod convert;
mod mock;
mod rerun;
mod warm;
mod warm_mock;

use std::sync::Arc;

use forklift_core::inventory::SourceInventory;
use forklift_core::manifest::ManifestSet;
use forklift_core::render::{RenderContext, RenderInput, TargetSpec, render};
use forklift_transfer::block::BlockSource;
use mock::{DiskBehaviour, Journal, MemoryDestination, MockBackend, ScriptedHooks};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{
    CancelledVm, MigrateError, MigrateOptions, MigrationEvent, Migrator, PlanReport, VmOutcome,
};

const MIB: usize = 1 << 20;

fn inventory() -> SourceInventory {
    let vm = |id: &str, name: &str, host: &str, files: &[&str]| {
        let disks: Vec<_> = files
            .iter()
            .enumerate()
            .map(|(i, file)| {
                serde_json::json!({
                    "key": 2000 + i, "file": file, "storage": "datastore-21",
                    "capacity": 2 * MIB, "mode": "persistent", "bus": "scsi",
                    "controllerKey": 1000, "unitNumber": i
                })
            })
            .collect();
        serde_json::json!({
            "id": id, "name": name, "powerState": "on", "host": host,
            "cpuCount": 2, "coresPerSocket": 1, "memoryMib": 2048, "firmware": "bios",
            "guestOs": "rhel9_64Guest", "guestTools": "ok", "guestToolsRunning": true,
            "disks": disks,
            "nics": [{"name": "nic1", "mac": format!("00:50:56:00:00:{}", &id[3..]),
                      "network": {"id": "network-31"}, "model": "vmxnet3", "connected": true}]
        })
    };
    serde_json::from_value(serde_json::json!({
        "provider": "vsphere",
        "vms": [
            vm("vm-11", "web", "host-1", &["[ds] web/a.vmdk", "[ds] web/b.vmdk"]),
            vm("vm-12", "db", "host-1", &["[ds] db/a.vmdk"]),
        ],
        "networks": [{"id": "network-31", "name": "VM Network", "kind": "standard"}],
        "storages": [{"id": "datastore-21", "name": "ds", "kind": "datastore"}],
        "hosts": [{"id": "host-1", "name": "esx1", "cluster": "c1"}]
    }))
    .unwrap()
}

/// A cold vSphere plan of both VMs; `plan_extra` lines go under `spec:`, `vm_extra` under
/// the first VM, `more` is appended as further documents.
fn manifests(plan_extra: &str, vm_extra: &str, more: &str) -> ManifestSet {
    let text = format!(
        r#"apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: vcenter, namespace: mtv}}
spec: {{type: vsphere, url: "https://vcenter.example/sdk", secret: {{name: vc, namespace: mtv}}, settings: {{vddkInitImage: "quay.io/example/vddk:8"}}}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: host, namespace: mtv}}
spec: {{type: openshift, url: ""}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: NetworkMap
metadata: {{name: net, namespace: mtv}}
spec:
  provider: {{source: {{name: vcenter, namespace: mtv}}, destination: {{name: host, namespace: mtv}}}}
  map: [{{source: {{id: network-31}}, destination: {{type: pod}}}}]
---
apiVersion: forklift.konveyor.io/v1beta1
kind: StorageMap
metadata: {{name: sto, namespace: mtv}}
spec:
  provider: {{source: {{name: vcenter, namespace: mtv}}, destination: {{name: host, namespace: mtv}}}}
  map: [{{source: {{id: datastore-21}}, destination: {{storageClass: standard}}}}]
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {{name: wave, namespace: mtv}}
spec:
  targetNamespace: apps
  provider: {{source: {{name: vcenter, namespace: mtv}}, destination: {{name: host, namespace: mtv}}}}
  map: {{network: {{name: net, namespace: mtv}}, storage: {{name: sto, namespace: mtv}}}}
{plan_extra}
  vms:
    - id: vm-11
{vm_extra}
    - id: vm-12
{more}"#
    );
    let set = ManifestSet::parse("test", &text);
    assert!(!set.has_errors(), "{:?}", set.diagnostics());
    set
}

/// Raw copy: no converter runs here, so plans that need one are refused (tested below).
const RAW: &str = "  skipGuestConversion: true";

fn data(seed: u8) -> Vec<u8> {
    (0..2 * MIB)
        .map(|i| if i % 4096 < 512 { seed } else { 0 })
        .collect()
}

/// A backend whose disks all hold data.
fn backend(journal: &Journal) -> MockBackend {
    MockBackend::new(journal.clone(), inventory())
        .disk("[ds] web/a.vmdk", DiskBehaviour::Data(data(1)))
        .disk("[ds] web/b.vmdk", DiskBehaviour::Data(data(2)))
        .disk("[ds] db/a.vmdk", DiskBehaviour::Data(data(3)))
}

struct Harness {
    journal: Journal,
    destination: Arc<MemoryDestination>,
    hooks: Arc<ScriptedHooks>,
    _status: tempfile::TempDir,
}

impl Harness {
    fn new() -> Self {
        let journal = Journal::default();
        let status = tempfile::tempdir().unwrap();
        Self {
            destination: Arc::new(MemoryDestination {
                journal: journal.clone(),
                status_dir: status.path().to_path_buf(),
                ..MemoryDestination::default()
            }),
            hooks: Arc::new(ScriptedHooks {
                journal: journal.clone(),
                ..ScriptedHooks::default()
            }),
            journal,
            _status: status,
        }
    }

    fn options(&self) -> MigrateOptions {
        let mut options = MigrateOptions::new(mock::MemoryDestination::default());
        options.destination = self.destination.clone();
        // Hooks run only when a runner is given: these tests give the scripted one.
        options.hooks = Some(self.hooks.clone());
        options.verify = true;
        options
    }

    fn migrator(&self, set: &ManifestSet, backend: MockBackend) -> Migrator {
        Migrator::with_provider(set, None, backend.provider(), self.options()).unwrap()
    }

    /// What render says this runner will do for `set`.
    fn rendered(&self, set: &ManifestSet) -> TargetSpec {
        let bundle = forklift_core::manifest::PlanBundle::select(set, None).unwrap();
        let context = RenderContext {
            executor: self.options().executor_profile(),
            ..RenderContext::default()
        };
        render(RenderInput::for_plan(&bundle, &inventory(), None, &context))
    }
}

async fn run(
    migrator: &Migrator,
    cancel: CancellationToken,
) -> (Result<PlanReport, MigrateError>, Vec<MigrationEvent>) {
    let (tx, mut rx) = mpsc::channel(4096);
    let collect = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(event) = rx.recv().await {
            events.push(event);
        }
        events
    });
    let result = migrator.run(tx, cancel).await;
    (result, collect.await.unwrap())
}

fn outcome(report: &PlanReport, id: &str) -> VmOutcome {
    report.vms.iter().find(|v| v.id == id).unwrap().outcome
}

#[tokio::test(start_paused = true)]
async fn a_cold_plan_runs_exactly_the_rendered_phases_in_order() {
    let h = Harness::new();
    let set = manifests(RAW, "", "");
    let spec = h.rendered(&set);
    assert!(!spec.has_blockers(), "{:#?}", spec.conditions);
    let (report, events) = run(
        &h.migrator(&set, backend(&h.journal)),
        CancellationToken::new(),
    )
    .await;
    let report = report.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    for target in &spec.vms {
        let vm = report
            .vms
            .iter()
            .find(|v| v.id == target.source_id)
            .unwrap();
        let ran: Vec<_> = vm.phases.iter().map(|p| p.phase).collect();
        assert_eq!(
            ran, target.phases,
            "{} ran other phases than render listed",
            vm.id
        );
        assert!(vm.phases.iter().all(|p| p.skipped.is_none()), "{vm:#?}");
        let started: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                MigrationEvent::PhaseStarted { vm: id, phase, .. } if *id == vm.id => {
                    Some(phase.clone())
                }
                _ => None,
            })
            .collect();
        let listed: Vec<_> = target.phases.iter().map(ToString::to_string).collect();
        assert_eq!(started, listed);
    }
    // The capabilities were called in the itinerary's order for each VM.
    let j = &h.journal;
    for (vm, target, claims) in [("vm-11", "web", 2), ("vm-12", "db", 1)] {
        let power = j.position(&format!("power_state {vm}"));
        let shutdown = j.position(&format!("shutdown_guest {vm}"));
        let first_open = j.position(&format!("open_disk {vm} [ds] {target}/a.vmdk"));
        let vm_written = j.position(&format!("write VirtualMachine {target}"));
        assert!(power < shutdown && shutdown < first_open && first_open < vm_written);
        let claims_written = j
            .entries()
            .iter()
            .enumerate()
            .filter(|(_, e)| e.starts_with("write DiskClaim") && e.contains(target))
            .map(|(i, _)| i)
            .collect::<Vec<_>>();
        assert_eq!(claims_written.len(), claims);
        assert!(claims_written.iter().all(|i| *i < first_open));
    }
    assert_eq!(j.with("close").len(), 1, "the provider is closed once");
    // The target disks hold the source data.
    let disks = h.destination.disks.lock().unwrap();
    let mut contents: Vec<_> = disks.values().map(|d| d.data()).collect();
    contents.sort();
    let mut expected = vec![data(1), data(2), data(3)];
    expected.sort();
    assert_eq!(contents, expected);
}

#[tokio::test(start_paused = true)]
async fn status_lists_render_steps_and_reports_skipped_conversion() {
    let h = Harness::new();
    let set = manifests(RAW, "", "");
    let spec = h.rendered(&set);
    let (report, _) = run(
        &h.migrator(&set, backend(&h.journal)),
        CancellationToken::new(),
    )
    .await;
    let report = report.unwrap();
    let text = std::fs::read_to_string(&report.status_path).unwrap();
    let plan: forklift_core::resources::Plan = serde_yaml_ng::from_str(&text).unwrap();
    let vms = plan.status.unwrap().migration.unwrap().vms;
    for target in &spec.vms {
        let status = vms.iter().find(|v| v.vm.id == target.source_id).unwrap();
        let names: Vec<_> = status.pipeline.iter().map(|s| s.name.clone()).collect();
        let listed: Vec<_> = target.steps.iter().map(|s| s.step.to_string()).collect();
        assert_eq!(names, listed);
        let conversion = status
            .pipeline
            .iter()
            .find(|s| s.name == "ImageConversion")
            .expect("the skipped conversion step is listed");
        assert_eq!(conversion.phase, "Skipped");
        assert!(
            status
                .pipeline
                .iter()
                .filter(|s| s.name != "ImageConversion")
                .all(|s| s.phase == "Completed")
        );
    }
    // Nothing claims a conversion that did not happen.
    for object in h.destination.objects.lock().unwrap().values() {
        if object["kind"] == "VirtualMachine" {
            assert_eq!(object["metadata"]["labels"]["guestConverted"], "false");
        }
    }
}

async fn refused(plan_extra: &str, expected: &str) {
    let h = Harness::new();
    let set = manifests(plan_extra, "", "");
    let (result, events) = run(
        &h.migrator(&set, backend(&h.journal)),
        CancellationToken::new(),
    )
    .await;
    match result {
        Err(MigrateError::NotReady { conditions }) => {
            let condition = conditions
                .iter()
                .find(|c| c.type_ == expected)
                .unwrap_or_else(|| panic!("{expected} not in {conditions:#?}"));
            assert_eq!(condition.category.to_string(), "Critical");
            assert!(!condition.message.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        events.as_slice(),
        [MigrationEvent::Validated { ready: false, .. }]
    ));
    // Nothing was touched: only the inventory was read, and the provider closed.
    assert_eq!(h.journal.entries(), ["inventory", "close"]);
}

#[tokio::test(start_paused = true)]
async fn a_warm_plan_is_refused_never_run_cold() {
    refused(&format!("{RAW}\n  warm: true"), "WarmMigrationNotAvailable").await;
}

#[tokio::test(start_paused = true)]
async fn a_plan_that_needs_conversion_is_refused_without_a_converter() {
    refused("", "GuestConversionNotAvailable").await;
}

#[tokio::test(start_paused = true)]
async fn a_render_blocker_stops_the_run() {
    // An unmapped datastore: render cannot create the disk, so the VM must not run without it.
    let h = Harness::new();
    let mut inventory = inventory();
    inventory.vms[1].disks[0].storage = "datastore-99".into();
    let set = manifests(RAW, "", "");
    let backend = MockBackend::new(h.journal.clone(), inventory);
    let (result, _) = run(&h.migrator(&set, backend), CancellationToken::new()).await;
    let Err(MigrateError::NotReady { conditions }) = result else {
        panic!("{result:?}")
    };
    assert!(conditions.iter().any(|c| c.is_blocker()), "{conditions:#?}");
    assert_eq!(h.journal.entries(), ["inventory", "close"]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_disk_fails_its_vm_only_and_powers_it_back_on() {
    let h = Harness::new();
    let set = manifests(RAW, "", "");
    let backend = backend(&h.journal).disk("[ds] db/a.vmdk", DiskBehaviour::OpenFails);
    let (report, _) = run(&h.migrator(&set, backend), CancellationToken::new()).await;
    let report = report.unwrap();
    assert_eq!(outcome(&report, "vm-11"), VmOutcome::Succeeded);
    assert_eq!(outcome(&report, "vm-12"), VmOutcome::Failed);
    let db = report.vms.iter().find(|v| v.id == "vm-12").unwrap();
    assert!(
        db.error.as_deref().unwrap().contains("cannot open"),
        "{db:?}"
    );
    assert_eq!(db.phases.last().unwrap().phase.as_str(), "CopyDisks");
    assert_eq!(h.journal.with("power_on"), ["power_on vm-12"]);
    assert!(h.journal.with("write VirtualMachine db").is_empty());
    // deleteVmOnFailMigration defaults to true (CRD): what the failed VM created is removed.
    assert_eq!(h.journal.with("remove_vm"), ["remove_vm db"]);
    assert_eq!(h.destination.disks.lock().unwrap().len(), 2);
    assert_eq!(h.journal.with("close").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_vm_keeps_what_it_created_when_the_plan_says_so() {
    let h = Harness::new();
    let set = manifests(&format!("{RAW}\n  deleteVmOnFailMigration: false"), "", "");
    let backend = backend(&h.journal).disk("[ds] db/a.vmdk", DiskBehaviour::OpenFails);
    let (report, _) = run(&h.migrator(&set, backend), CancellationToken::new()).await;
    assert_eq!(outcome(&report.unwrap(), "vm-12"), VmOutcome::Failed);
    assert!(h.journal.with("remove_vm").is_empty());
    assert_eq!(h.destination.disks.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn cancelling_one_vm_leaves_the_others_running() {
    let h = Harness::new();
    let set = manifests(RAW, "", "");
    let backend = backend(&h.journal).disk("[ds] db/a.vmdk", DiskBehaviour::Hangs(2 * MIB as u64));
    let migrator = Arc::new(h.migrator(&set, backend));
    let canceller = migrator.clone();
    let journal = h.journal.clone();
    tokio::spawn(async move {
        while journal.with("open_disk vm-12").is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(canceller.cancel_vm("vm-12").unwrap().id, "vm-12");
    });
    let (report, _) = run(&migrator, CancellationToken::new()).await;
    let report = report.unwrap();
    assert_eq!(outcome(&report, "vm-11"), VmOutcome::Succeeded);
    assert_eq!(outcome(&report, "vm-12"), VmOutcome::Canceled);
    assert_eq!(h.journal.with("power_on"), ["power_on vm-12"]);
    assert!(matches!(
        migrator.cancel_vm("no-such-vm"),
        Err(MigrateError::UnknownVm { vm, .. }) if vm == "no-such-vm"
    ));
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_plan_cancels_every_vm_and_closes_the_provider() {
    let h = Harness::new();
    let set = manifests(RAW, "", "");
    let backend = MockBackend::new(h.journal.clone(), inventory())
        .disk("[ds] web/a.vmdk", DiskBehaviour::Hangs(2 * MIB as u64))
        .disk("[ds] web/b.vmdk", DiskBehaviour::Hangs(2 * MIB as u64))
        .disk("[ds] db/a.vmdk", DiskBehaviour::Hangs(2 * MIB as u64));
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let journal = h.journal.clone();
    tokio::spawn(async move {
        while journal.with("open_disk").len() < 3 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        trigger.cancel();
    });
    let (report, events) = run(&h.migrator(&set, backend), cancel).await;
    let report = report.unwrap();
    assert_eq!(report.count(VmOutcome::Canceled), 2, "{report:#?}");
    assert!(matches!(
        events.last(),
        Some(MigrationEvent::PlanCompleted { canceled: 2, .. })
    ));
    assert_eq!(h.journal.with("close").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_copy_ends_every_task_and_lets_go_of_its_disks_before_cleanup() {
    let h = Harness::new();
    // A cancelled VM keeps its images (to resume them); its source is powered back on.
    let set = manifests(RAW, "", "");
    let backend = backend(&h.journal).disk("[ds] db/a.vmdk", DiskBehaviour::Hangs(2 * MIB as u64));
    let migrator = Arc::new(h.migrator(&set, backend));
    let cancel = CancellationToken::new();
    let (trigger, journal) = (cancel.clone(), h.journal.clone());
    let cancelling = tokio::spawn(async move {
        // Mid-copy: the disk is open and its reads are under way.
        while journal.with("open_disk vm-12").is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        trigger.cancel();
    });
    let (tx, mut rx) = mpsc::channel(4096);
    let report = migrator.run(tx, cancel).await.unwrap();
    cancelling.await.unwrap();
    assert_eq!(
        outcome(&report, "vm-12"),
        VmOutcome::Canceled,
        "{report:#?}"
    );
    // Every sender is gone once the run returned: the channel ends right after its events.
    let drained = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        while rx.recv().await.is_some() {}
    });
    assert!(drained.await.is_ok(), "an event sender outlived the run");
    // Nothing the run spawned is left (copies, reporters, watchers, the status writer).
    let alive = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    assert_eq!(alive, 0, "tasks still running after the run returned");
    // The copy let go of the source disk before the VM's cleanup (powering the source back
    // on), and the cancelled VM's target was kept for the next run to resume.
    let entries = h.journal.entries();
    let closed = entries
        .iter()
        .position(|e| e == "dropped_disk [ds] db/a.vmdk");
    let cleanup = entries.iter().position(|e| e == "power_on vm-12");
    assert!(
        matches!((closed, cleanup), (Some(c), Some(r)) if c < r),
        "{entries:#?}"
    );
    assert!(
        !entries.iter().any(|e| e.starts_with("remove_vm")),
        "{entries:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn cancel_vm_finds_a_vm_by_id_source_name_or_target_name() {
    // A source name that is no DNS label, so the target name differs from it.
    let mut renamed = inventory();
    renamed.vms[1].name = "DB_01".into();
    for reference in ["vm-12", "DB_01", "db-01"] {
        let h = Harness::new();
        let set = manifests(RAW, "", "");
        let backend = MockBackend::new(h.journal.clone(), renamed.clone())
            .disk("[ds] web/a.vmdk", DiskBehaviour::Data(data(1)))
            .disk("[ds] web/b.vmdk", DiskBehaviour::Data(data(2)))
            .disk("[ds] db/a.vmdk", DiskBehaviour::Hangs(2 * MIB as u64));
        let migrator = Arc::new(h.migrator(&set, backend));
        let (canceller, journal) = (migrator.clone(), h.journal.clone());
        let cancelling = tokio::spawn(async move {
            while journal.with("open_disk vm-12").is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            canceller.cancel_vm(reference)
        });
        let (report, _) = run(&migrator, CancellationToken::new()).await;
        let cancelled = cancelling.await.unwrap().unwrap();
        assert_eq!(
            cancelled,
            CancelledVm {
                id: "vm-12".into(),
                source_name: "DB_01".into(),
                target_name: Some("db-01".into()),
            },
            "{reference}"
        );
        let report = report.unwrap();
        assert_eq!(
            outcome(&report, "vm-12"),
            VmOutcome::Canceled,
            "{reference}"
        );
        assert_eq!(
            outcome(&report, "vm-11"),
            VmOutcome::Succeeded,
            "{reference}"
        );
    }
}

#[test]
fn cancel_vm_names_an_unknown_reference() {
    let h = Harness::new();
    let migrator = h.migrator(&manifests(RAW, "", ""), backend(&h.journal));
    let error = migrator.cancel_vm("vm-99").unwrap_err();
    assert!(
        matches!(&error, MigrateError::UnknownVm { vm, plan } if vm == "vm-99" && plan == "mtv/wave"),
        "{error:?}"
    );
    assert!(error.to_string().contains("\"vm-99\""), "{error}");
    // Before the run the plan's own references work; the target name needs render.
    assert_eq!(migrator.cancel_vm("vm-11").unwrap().id, "vm-11");
}

const HOOKS: &str = r#"---
apiVersion: forklift.konveyor.io/v1beta1
kind: Hook
metadata: {name: before, namespace: mtv}
spec: {image: quay.io/konveyor/hook-runner, playbook: ""}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Hook
metadata: {name: after, namespace: mtv}
spec: {image: quay.io/konveyor/hook-runner, playbook: ""}
"#;

const VM_HOOKS: &str = "      hooks:\n        - {hook: {name: after, namespace: mtv}, step: PostHook}\n        - {hook: {name: before, namespace: mtv}, step: PreHook}";

#[tokio::test(start_paused = true)]
async fn hooks_run_in_order_and_a_failed_hook_is_retried() {
    let h = Harness::new();
    h.hooks.failures.lock().unwrap().insert("before".into(), 2);
    let set = manifests(RAW, VM_HOOKS, HOOKS);
    let (report, _) = run(
        &h.migrator(&set, backend(&h.journal)),
        CancellationToken::new(),
    )
    .await;
    let report = report.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let j = &h.journal;
    assert_eq!(
        j.with("hook"),
        [
            "hook PreHook before vm-11",
            "hook PreHook before vm-11",
            "hook PreHook before vm-11",
            "hook PostHook after vm-11",
        ]
    );
    // PreHook before anything touches the source; PostHook after the VM exists.
    assert!(j.position("hook PreHook before vm-11") < j.position("power_state vm-11"));
    assert!(j.position("hook PostHook after vm-11") > j.position("write VirtualMachine web"));
}

#[tokio::test(start_paused = true)]
async fn a_plan_with_hooks_is_refused_without_a_hook_runner() {
    let h = Harness::new();
    let set = manifests(RAW, VM_HOOKS, HOOKS);
    let mut options = h.options();
    options.hooks = None;
    assert_eq!(
        MigrateOptions::new(mock::MemoryDestination::default()).hook_policy(),
        super::HookPolicy::Refuse,
        "hooks never run by default"
    );
    let migrator =
        Migrator::with_provider(&set, None, backend(&h.journal).provider(), options).unwrap();
    let (result, _) = run(&migrator, CancellationToken::new()).await;
    let Err(MigrateError::NotReady { conditions }) = result else {
        panic!("{result:?}")
    };
    let condition = conditions
        .iter()
        .find(|c| c.type_ == "HookRunnerNotAvailable")
        .unwrap_or_else(|| panic!("{conditions:#?}"));
    assert!(condition.is_blocker());
    assert!(
        condition.message.contains("--hooks local"),
        "{}",
        condition.message
    );
    assert_eq!(condition.items, ["web"]);
    // Refused before anything was touched; no hook ran.
    assert_eq!(h.journal.entries(), ["inventory", "close"]);
}

#[tokio::test(start_paused = true)]
async fn a_hook_that_keeps_failing_fails_its_vm_before_the_source_is_touched() {
    let h = Harness::new();
    h.hooks
        .failures
        .lock()
        .unwrap()
        .insert("before".into(), 100);
    let set = manifests(RAW, VM_HOOKS, HOOKS);
    let (report, _) = run(
        &h.migrator(&set, backend(&h.journal)),
        CancellationToken::new(),
    )
    .await;
    let report = report.unwrap();
    assert_eq!(outcome(&report, "vm-11"), VmOutcome::Failed);
    assert_eq!(outcome(&report, "vm-12"), VmOutcome::Succeeded);
    // One run and DEFAULT_HOOK_RETRIES more.
    assert_eq!(
        h.journal.with("hook PreHook").len(),
        1 + super::DEFAULT_HOOK_RETRIES as usize
    );
    assert!(h.journal.with("power_state vm-11").is_empty());
    assert!(h.journal.with("hook PostHook").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_rerun_skips_vms_that_succeeded_and_finishes_the_rest() {
    let h = Harness::new();
    let set = manifests(RAW, "", "");
    let failing = backend(&h.journal).disk("[ds] db/a.vmdk", DiskBehaviour::OpenFails);
    let (first, _) = run(&h.migrator(&set, failing), CancellationToken::new()).await;
    assert_eq!(outcome(&first.unwrap(), "vm-12"), VmOutcome::Failed);
    let before = h.journal.entries().len();
    let (second, _) = run(
        &h.migrator(&set, backend(&h.journal)),
        CancellationToken::new(),
    )
    .await;
    let second = second.unwrap();
    assert_eq!(outcome(&second, "vm-11"), VmOutcome::Skipped);
    assert_eq!(outcome(&second, "vm-12"), VmOutcome::Succeeded);
    let rerun: Vec<_> = h.journal.entries()[before..].to_vec();
    assert!(
        !rerun
            .iter()
            .any(|e| e.contains("vm-11") || e.contains(" web")),
        "{rerun:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_scheduler_admits_vms_in_plan_order_within_the_inflight_limit() {
    let h = Harness::new();
    let controller = r#"---
apiVersion: forklift.konveyor.io/v1beta1
kind: ForkliftController
metadata: {name: forklift-controller, namespace: mtv}
spec: {controller_max_vm_inflight: 1}
"#;
    let set = manifests(RAW, "", controller);
    let (report, _) = run(
        &h.migrator(&set, backend(&h.journal)),
        CancellationToken::new(),
    )
    .await;
    assert!(report.unwrap().succeeded());
    let j = &h.journal;
    // One VM at a time on the host: db starts only after web is complete.
    assert!(j.position("write VirtualMachine web") < j.position("power_state vm-12"));
}

#[tokio::test(start_paused = true)]
async fn a_guest_that_refuses_shutdown_is_powered_off() {
    let h = Harness::new();
    let set = manifests(RAW, "", "");
    let mut backend = backend(&h.journal);
    backend.no_guest_shutdown.insert("vm-12".into());
    let (report, _) = run(&h.migrator(&set, backend), CancellationToken::new()).await;
    assert!(report.unwrap().succeeded());
    assert_eq!(h.journal.with("power_off"), ["power_off vm-12"]);
}

#[tokio::test(start_paused = true)]
async fn a_guest_that_does_not_shut_down_is_powered_off_after_the_grace_period() {
    let h = Harness::new();
    let set = manifests(RAW, "", "");
    let mut backend = backend(&h.journal);
    backend.stuck_guests.insert("vm-11".into());
    let started = tokio::time::Instant::now();
    let (report, _) = run(&h.migrator(&set, backend), CancellationToken::new()).await;
    assert!(report.unwrap().succeeded());
    assert_eq!(h.journal.with("power_off"), ["power_off vm-11"]);
    assert!(started.elapsed() >= super::vm::GUEST_SHUTDOWN_GRACE);
}

#[tokio::test(start_paused = true)]
async fn a_source_that_never_powers_off_fails_its_vm_at_the_limit() {
    let h = Harness::new();
    let set = manifests(RAW, "", "");
    let mut backend = backend(&h.journal);
    backend.stuck_guests.insert("vm-12".into());
    backend.unstoppable.insert("vm-12".into());
    let (report, _) = run(&h.migrator(&set, backend), CancellationToken::new()).await;
    let report = report.unwrap();
    assert_eq!(outcome(&report, "vm-11"), VmOutcome::Succeeded);
    let db = report.vms.iter().find(|v| v.id == "vm-12").unwrap();
    assert_eq!(db.outcome, VmOutcome::Failed);
    assert!(
        db.error.as_deref().unwrap().contains("still running"),
        "{db:?}"
    );
    assert!(h.journal.with("open_disk vm-12").is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_injected_provider_serves_one_run() {
    let h = Harness::new();
    let set = manifests(RAW, "", "");
    let migrator = h.migrator(&set, backend(&h.journal));
    assert!(run(&migrator, CancellationToken::new()).await.0.is_ok());
    let (again, _) = run(&migrator, CancellationToken::new()).await;
    assert!(
        matches!(again, Err(MigrateError::ProviderConsumed)),
        "{again:?}"
    );
}

#[test]
fn memory_disks_read_back_what_was_written() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let disk = mock::MemoryDisk::new("d", vec![0; 8]);
        forklift_transfer::block::BlockSink::write_at(&disk, 2, &[7, 7])
            .await
            .unwrap();
        let mut buf = [0; 4];
        disk.read_at(1, &mut buf).await.unwrap();
        assert_eq!(buf, [0, 7, 7, 0]);
    });
}
