//! `forklift inventory` and `forklift migrate` of a 2-VM oVirt plan into the local
//! destination: the target disks are `qemu-img compare`-identical to the sources, every
//! image transfer is finalized, every imageio ticket removed, the SSO token revoked.

use std::path::PathBuf;
use std::process::Command;

use forklift::core::inventory::SourceInventory;

use super::local_plan::migrate_local;
use super::support::{NETWORK, STORAGE_DOMAIN, Setup, VM1, VM2, files_under, plan_manifests};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inventory_verb_reads_the_engine_in_one_followed_listing() {
    let setup = Setup::start().await;
    let manifests = setup.dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    setup.provider_manifests(&manifests);
    let out = setup.dir.path().join("inventory.json");
    let run = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(["inventory", "--manifests"])
        .arg(&manifests)
        .args(["--provider", "rhv", "--output-file"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let inv = SourceInventory::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(inv.vms.len(), 2);
    let web = inv.vms.iter().find(|v| v.id == VM1).unwrap();
    assert_eq!(web.name, "web");
    assert_eq!(web.disks.len(), 2);
    assert_eq!(web.disks[0].storage, STORAGE_DOMAIN);
    assert_eq!(web.disks[0].capacity, 24 << 20);
    assert_eq!(web.nics[0].network.id, NETWORK);
    assert_eq!(web.cpu_count, 2);
    let ext = web.ovirt().unwrap();
    // cluster_default resolved to the cluster's BIOS type; the cluster CPU from ServerCPUList.
    assert_eq!(ext.bios_type, "q35_sea_bios");
    assert!(
        ext.cluster_cpu_model
            .ends_with(":Cascadelake-Server-noTSX,+md-clear"),
        "{}",
        ext.cluster_cpu_model
    );
    assert_eq!(
        inv.ext,
        Some(forklift::core::inventory::ProviderExt::Ovirt {
            engine_version: "4.5.2.1".into()
        })
    );
    let requests = setup.engine.requests();
    // No N+1: the VMs' disks, NICs and devices came inline with the VM listing.
    assert!(
        !requests.iter().any(|r| r.contains("/vms/")),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /ovirt-engine/api/vms?") && r.contains("follow=")),
        "{requests:#?}"
    );
    let state = setup.engine.state.lock().unwrap();
    assert_eq!(state.unversioned, 0, "requests without Version: 4");
    assert_eq!((state.logins, state.logouts), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrate_copies_two_vms_through_image_transfers_and_closes_them() {
    let setup = Setup::start().await;
    let manifests = setup.dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    setup.provider_manifests(&manifests);
    plan_manifests(&manifests, &[VM1, VM2]);
    let out = setup.dir.path().join("out");
    let (migrated, stderr) = migrate_local(&manifests, &out, &[]);
    assert!(migrated, "{stderr}");

    // Each source disk has a target disk with the same content (raw vs qcow2).
    let mut files = Vec::new();
    files_under(&out, &mut files);
    let targets: Vec<&PathBuf> = files
        .iter()
        .filter(|p| !p.extension().is_some_and(|e| e == "yaml" || e == "json"))
        .filter(|p| std::fs::metadata(p).unwrap().len() >= 8 << 20)
        .collect();
    assert_eq!(targets.len(), 3, "{files:#?}");
    // PVC names follow the default template `<plan>-<vm>-disk-<index>` (generated suffix).
    let names = [
        "rhv-plan-web-disk-0-",
        "rhv-plan-web-disk-1-",
        "rhv-plan-db-disk-0-",
    ];
    for ((_, _, source), name) in setup.disks.iter().zip(names) {
        let target = targets
            .iter()
            .find(|t| t.to_string_lossy().contains(name))
            .unwrap_or_else(|| panic!("no target disk {name}: {targets:#?}"));
        super::support::run(
            Command::new("qemu-img")
                .args(["compare", "-f", "qcow2", "-F", "raw"])
                .arg(source)
                .arg(target),
        );
    }
    // Both VMs were powered off (targetPowerState off leaves them so); every transfer was
    // finalized and its ticket removed from the daemon; the token was revoked.
    assert_eq!(setup.engine.vm_status(VM1).as_deref(), Some("down"));
    assert_eq!(setup.engine.vm_status(VM2).as_deref(), Some("down"));
    let transfers = setup.engine.transfers();
    assert_eq!(transfers.len(), 3, "{transfers:#?}");
    assert!(
        transfers.iter().all(|t| t.phase == "finished_success"),
        "{transfers:#?}"
    );
    assert_eq!(setup.tickets.tickets_on_daemon(), 0);
    let state = setup.engine.state.lock().unwrap();
    assert_eq!(state.logins, state.logouts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn validate_flags_direct_luns_on_old_engines_and_empty_luns() {
    let setup = Setup::start().await;
    setup.engine.faults(|f| f.old_engine = true);
    {
        let mut state = setup.engine.state.lock().unwrap();
        let vm = state.vms.iter_mut().find(|v| v.id == VM2).unwrap();
        let mut lun = vm.disks[0].clone();
        lun.id = "d2000000-0000-4000-8000-0000000000ff".into();
        lun.lun_size = Some(0);
        lun.bootable = false;
        vm.disks.push(lun);
    }
    let manifests = setup.dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    setup.provider_manifests(&manifests);
    plan_manifests(&manifests, &[VM1, VM2]);
    let run = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(["validate", "-o", "json", "--manifests"])
        .arg(&manifests)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stdout}\n{stderr}");
    // The LUN needs engine 4.5.2.1; its logical unit reports no size.
    for condition in ["VMStorageNotSupported", "InvalidDiskSizes"] {
        assert!(
            stdout.contains(condition),
            "{condition}:\n{stdout}\n{stderr}"
        );
    }
    assert!(stdout.contains(VM2), "{stdout}");
    assert!(!stdout.contains(VM1), "only db is concerned:\n{stdout}");
}
