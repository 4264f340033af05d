//! The oVirt provider against a REAL engine, when `FORKLIFT_E2E_OVIRT_URL` names one; skipped,
//! with the reason printed, otherwise (no engine can run on CI machines: the other tests use
//! the test engine of tests/support/fake_ovirt_engine).
//!
//! ```sh
//! FORKLIFT_E2E_OVIRT_URL=https://engine.example.com/ovirt-engine/api \
//! FORKLIFT_E2E_OVIRT_USER=admin@internal FORKLIFT_E2E_OVIRT_PASSWORD=... \
//! FORKLIFT_E2E_OVIRT_CA=/path/to/engine-ca.pem FORKLIFT_E2E_OVIRT_VM=some-vm \
//! cargo test --test ovirt real_engine -- --nocapture
//! ```
//!
//! It logs in, reads the whole inventory, and with `FORKLIFT_E2E_OVIRT_VM` reads the first MiB
//! of each disk of that VM through an image transfer (read-only: the VM is not touched), then
//! closes the provider, which finalizes every transfer and logs out. `FORKLIFT_E2E_OVIRT_CA`
//! is a PEM file; without it the system roots are trusted.

use forklift::core::credentials::SecretString;
use forklift::providers::capability::{
    DiskAccess, DiskRef, InventorySource, ProviderBackend, VmRef,
};
use forklift::providers::ovirt::{OvirtConfig, OvirtProvider};
use forklift::providers::vsphere::TlsTrust;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_engine_gives_its_inventory_and_disk_data() {
    let Some(url) = var("FORKLIFT_E2E_OVIRT_URL") else {
        println!(
            "skipped: set FORKLIFT_E2E_OVIRT_URL (and _USER, _PASSWORD, optionally _CA and _VM) to run against a real oVirt engine"
        );
        return;
    };
    let user = var("FORKLIFT_E2E_OVIRT_USER").expect("FORKLIFT_E2E_OVIRT_USER");
    let password = var("FORKLIFT_E2E_OVIRT_PASSWORD").expect("FORKLIFT_E2E_OVIRT_PASSWORD");
    let mut config = OvirtConfig::new("e2e", &url, &user, SecretString::new(password)).unwrap();
    if let Some(ca) = var("FORKLIFT_E2E_OVIRT_CA") {
        config.trust = TlsTrust::CustomCa(std::fs::read(&ca).expect("FORKLIFT_E2E_OVIRT_CA"));
    }
    let provider = OvirtProvider::connect_with(config).await.unwrap();
    let inventory = provider.collect_inventory().await.unwrap();
    println!(
        "inventory: {} VMs, {} hosts, {} networks, {} storage domains",
        inventory.vms.len(),
        inventory.hosts.len(),
        inventory.networks.len(),
        inventory.storages.len()
    );
    assert!(!inventory.hosts.is_empty(), "an engine with no hosts");
    if let Some(name) = var("FORKLIFT_E2E_OVIRT_VM") {
        let vm = inventory
            .vms
            .iter()
            .find(|vm| vm.name == name)
            .unwrap_or_else(|| panic!("no VM named {name} in the inventory"));
        assert!(!vm.disks.is_empty(), "VM {name} has no disks");
        for disk in &vm.disks {
            let capacity = u64::try_from(disk.capacity).expect("a disk of positive size");
            let disk_ref = DiskRef {
                key: 0,
                file: disk.file.clone(),
                capacity,
            };
            let source = provider
                .open_disk(&VmRef::new(vm.id.clone()), &disk_ref, None)
                .await
                .unwrap();
            assert_eq!(source.size(), capacity, "disk {}", disk.file);
            let mut head = vec![0u8; (1 << 20).min(source.size() as usize)];
            source.read_at(0, &mut head).await.unwrap();
            println!(
                "disk {}: {} bytes, first MiB read",
                disk.file,
                source.size()
            );
        }
    }
    provider.close().await.unwrap();
}
