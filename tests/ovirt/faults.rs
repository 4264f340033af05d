//! Engine faults and TLS: an expired token is renewed once, a VM gone mid-run fails that VM
//! clearly, a transfer already open on the disk (409) is refused with the engine's words,
//! a wrong CA is refused; after each, no transfer this client made is left open.

use forklift::providers::capability::{DiskAccess, DiskRef, PowerControl, ProviderBackend, VmRef};
use forklift::providers::ovirt::OvirtProvider;
use forklift::providers::vsphere::TlsTrust;
use forklift::transfer::BlockSource;

use super::local_plan::migrate_local;
use super::support::{Setup, VM1, VM2, plan_manifests};

fn disk_ref(setup: &Setup, index: usize) -> DiskRef {
    DiskRef {
        key: 0,
        file: setup.disks[index].1.clone(),
        capacity: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_token_is_renewed_once_and_the_call_succeeds() {
    let setup = Setup::start().await;
    let provider = setup.provider().await;
    setup.engine.faults(|f| f.expire_token_once = true);
    let state = provider.power_state(&VmRef::new(VM1)).await.unwrap();
    assert_eq!(state, forklift::core::inventory::PowerState::On);
    assert_eq!(provider.engine().renewals(), 1);
    assert_eq!(setup.engine.state.lock().unwrap().logins, 2);
    provider.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_disk_is_read_through_its_transfer_which_ends_with_the_source() {
    let setup = Setup::start().await;
    // Through the proxy URL when the engine names no transfer URL.
    setup.engine.faults(|f| f.proxy_only = true);
    let provider = setup.provider().await;
    let vm = VmRef::new(VM2);
    provider.power_off(&vm).await.unwrap();
    let source = provider
        .open_disk(&vm, &disk_ref(&setup, 2), None)
        .await
        .unwrap();
    assert_eq!(source.size(), 16 << 20);
    assert_eq!(setup.engine.open_transfers().len(), 1);
    // The pattern qemu-io wrote at 0 (seed 0x33).
    let mut buf = vec![0; 4096];
    source.read_at(0, &mut buf).await.unwrap();
    assert!(buf.iter().all(|b| *b == 0x33));
    drop(source);
    provider.close().await.unwrap();
    assert!(setup.engine.open_transfers().is_empty());
    assert_eq!(setup.engine.transfers()[0].phase, "finished_success");
    assert_eq!(setup.tickets.tickets_on_daemon(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transfer_already_open_on_the_disk_is_refused_with_the_engines_words() {
    let setup = Setup::start().await;
    let provider = setup.provider().await;
    let vm = VmRef::new(VM2);
    provider.power_off(&vm).await.unwrap();
    setup.engine.stale_transfer(&setup.disks[2].1);
    let Err(err) = provider.open_disk(&vm, &disk_ref(&setup, 2), None).await else {
        panic!("the disk opened");
    };
    let text = forklift::core::error::chain(&err);
    assert!(
        text.contains("HTTP 409") && text.contains("is locked"),
        "{text}"
    );
    provider.close().await.unwrap();
    // Only the stale transfer of "another client" remains open.
    assert_eq!(setup.engine.open_transfers().len(), 1);
    assert_eq!(setup.engine.transfers().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_ca_is_refused_for_the_engine_and_for_imageio() {
    let setup = Setup::start().await;
    // The engine's certificate checked against the imageio CA only: refused at login.
    let mut config = setup.config();
    config.trust = TlsTrust::CustomCa(setup.tickets.daemon.ca_pem());
    let err = OvirtProvider::connect_with(config).await.unwrap_err();
    let text = forklift::core::error::chain(&err);
    assert!(text.contains("SSO login"), "{text}");
    assert!(
        text.to_lowercase().contains("certificate") || text.contains("UnknownIssuer"),
        "{text}"
    );
    // The engine trusted but not imageio: the disk fails and its transfer is cancelled.
    let mut config = setup.config();
    config.trust = TlsTrust::CustomCa(setup.engine.ca_pem.clone().into_bytes());
    let provider = OvirtProvider::connect_with(config).await.unwrap();
    let vm = VmRef::new(VM2);
    provider.power_off(&vm).await.unwrap();
    let Err(err) = provider.open_disk(&vm, &disk_ref(&setup, 2), None).await else {
        panic!("the disk opened");
    };
    let text = forklift::core::error::chain(&err);
    assert!(
        text.contains("not trusted") && !text.contains(&setup.engine.transfers()[0].id),
        "the refusal is named and the ticket (the transfer ID here) not shown: {text}"
    );
    provider.close().await.unwrap();
    assert!(setup.engine.open_transfers().is_empty());
    assert_eq!(setup.engine.transfers()[0].phase, "cancelled_user");
    assert_eq!(setup.tickets.tickets_on_daemon(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vm_gone_mid_run_fails_that_vm_and_the_other_migrates() {
    let setup = Setup::start().await;
    setup
        .engine
        .faults(|f| f.vanish_when_stopped = [VM2.to_owned()].into());
    let manifests = setup.dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    setup.provider_manifests(&manifests);
    plan_manifests(&manifests, &[VM1, VM2]);
    let out = setup.dir.path().join("out");
    let (migrated, stderr) = migrate_local(&manifests, &out, &[]);
    assert!(!migrated, "{stderr}");
    assert!(stderr.contains("Entity not found"), "{stderr}");
    assert!(stderr.contains("db"), "{stderr}");
    // The other VM's transfers all finished; nothing is open, no ticket left.
    let transfers = setup.engine.transfers();
    assert_eq!(transfers.len(), 2, "{transfers:#?}");
    assert!(setup.engine.open_transfers().is_empty());
    assert_eq!(setup.tickets.tickets_on_daemon(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listings_follow_every_page_and_stop_at_a_short_one() {
    use forklift::providers::capability::InventorySource;
    let setup = Setup::start().await;
    {
        let mut state = setup.engine.state.lock().unwrap();
        let template = state.vms[1].clone();
        for i in 0..230 {
            let mut vm = template.clone();
            vm.id = format!("1a2b3c4d-9999-4000-8000-{i:012}");
            vm.name = format!("bulk-{i}");
            vm.disks.clear();
            state.vms.push(vm);
        }
    }
    let provider = setup.provider().await;
    let inventory = provider.collect_inventory().await.unwrap();
    assert_eq!(inventory.vms.len(), 232);
    let pages: Vec<String> = setup
        .engine
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("GET /ovirt-engine/api/vms?"))
        .collect();
    // 100 + 100 + 32: the third, short page ends the listing.
    assert_eq!(pages.len(), 3, "{pages:#?}");
    assert!(pages[2].contains("search=page+3"), "{pages:#?}");
    provider.close().await.unwrap();
}
