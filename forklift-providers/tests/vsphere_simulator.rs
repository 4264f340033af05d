//! The vSphere provider against govmomi's vCenter simulator (a real vim25 SOAP server).

mod common;

use common::vcsim::Vcsim;
use forklift_core::resources::{ObjectMeta, ObjectReference, Provider, ProviderSpec, Secret};
use forklift_providers::capability::{
    PowerState, ProviderConfig, ProviderType, SnapshotRequest, VmRef,
};
use forklift_providers::vsphere::{
    MoRef, TlsTrust, VsphereConfig, VsphereProvider, fetch_thumbprint, thumbprint_of,
};
use forklift_providers::{Error, open_provider};

/// Any non-empty password logs in to a simulator started without `-username`.
const SIM_PASSWORD: &str = "s3cret-Pa55";

fn config(sim: &Vcsim, trust: TlsTrust) -> VsphereConfig {
    VsphereConfig::new(&sim.url, "user", SIM_PASSWORD.into(), trust).unwrap()
}

async fn connect(sim: &Vcsim) -> VsphereProvider {
    VsphereProvider::connect_with(config(sim, TlsTrust::CustomCa(sim.cert_pem())))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_trust_modes_against_the_simulator() {
    let Some(sim) = Vcsim::start(&[]) else { return };
    let url = url::Url::parse(&sim.url).unwrap();

    // The probe reads the leaf certificate: 20 upper-case hex pairs, not the CA's.
    let thumbprint = fetch_thumbprint(&url, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(thumbprint.len(), 59);
    assert!(thumbprint.split(':').all(|pair| {
        pair.len() == 2
            && pair
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    }));
    let ca_der = rustls_pemfile::certs(&mut sim.cert_pem().as_slice())
        .next()
        .unwrap()
        .unwrap();
    assert_ne!(thumbprint, thumbprint_of(&ca_der));

    // Custom CA, pinned thumbprint and explicit skip all connect.
    for trust in [
        TlsTrust::CustomCa(sim.cert_pem()),
        TlsTrust::Thumbprint(thumbprint.to_lowercase()),
        TlsTrust::InsecureSkipVerify,
    ] {
        let provider = VsphereProvider::connect_with(config(&sim, trust.clone()))
            .await
            .unwrap_or_else(|e| panic!("{trust:?}: {e}"));
        assert!(provider.client().content().is_vcenter());
        provider.logout().await.unwrap();
    }

    // The public roots do not trust a self-signed simulator, nor does a wrong pin.
    for trust in [
        TlsTrust::SystemRoots,
        TlsTrust::Thumbprint("00:".repeat(19) + "00"),
    ] {
        let err = VsphereProvider::connect_with(config(&sim, trust.clone()))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Http { .. }), "{trust:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_an_invalid_login_fault_without_the_password() {
    let Some(sim) = Vcsim::start(&["-username", "admin", "-password", "right"]) else {
        return;
    };
    // Through the Provider and Secret resources, as the CLI builds it.
    let provider = sim_provider(&sim, "wrong-horse");
    let err = open_provider(&provider).await.unwrap_err();
    match &err {
        Error::Fault { method, fault, .. } => {
            assert_eq!(method, "Login");
            assert_eq!(fault, "InvalidLogin");
        }
        other => panic!("unexpected {other}"),
    }
    assert!(!err.to_string().contains("wrong-horse"));
    assert!(!format!("{err:?}").contains("wrong-horse"));

    let opened = open_provider(&sim_provider(&sim, "right")).await.unwrap();
    assert_eq!(opened.provider_type(), ProviderType::VSphere);
    assert!(opened.power().is_ok());
}

/// The simulator as a vSphere Provider whose Secret holds `admin`/`password` and skips TLS
/// verification (the simulator's certificate is self-signed).
fn sim_provider(sim: &Vcsim, password: &str) -> ProviderConfig {
    let meta = ObjectMeta::named("ns", "sim");
    let provider = Provider::new(
        meta.clone(),
        ProviderSpec {
            type_: Some(ProviderType::VSphere),
            url: sim.url.clone(),
            secret: ObjectReference {
                name: "sim".into(),
                ..ObjectReference::default()
            },
            ..ProviderSpec::default()
        },
    );
    let secret = Secret::opaque(
        meta,
        [
            ("user", "admin"),
            ("password", password),
            ("insecureSkipVerify", "true"),
        ],
    );
    ProviderConfig::from_resources(&provider, Some(&secret)).unwrap()
}

async fn first_vm(provider: &VsphereProvider) -> VmRef {
    let client = provider.client();
    let view = client
        .create_container_view(&client.content().root_folder, &["VirtualMachine"])
        .await
        .unwrap();
    let vms = client
        .retrieve_view(
            &view,
            &[forklift_providers::vsphere::PropertySet {
                kind: "VirtualMachine",
                paths: &["name"],
            }],
        )
        .await
        .unwrap();
    client.destroy_view(&view).await.unwrap();
    let mut ids: Vec<String> = vms.into_iter().map(|o| o.obj.value).collect();
    ids.sort();
    VmRef::new(ids.remove(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_snapshot_and_cbt_round_trip() {
    use forklift_providers::capability::{ChangeTracking, PowerControl, Snapshots};
    let Some(sim) = Vcsim::start(&[]) else { return };
    let provider = connect(&sim).await;
    let vm = first_vm(&provider).await;

    // Power: the simulator starts VMs powered on. Losing the session cookie (as when
    // vCenter expires an idle session) makes the client log in again transparently.
    provider.client().transport().clear_cookie();
    assert_eq!(provider.power_state(&vm).await.unwrap(), PowerState::On);
    assert!(provider.client().transport().cookie().is_some());
    provider.power_off(&vm).await.unwrap();
    assert_eq!(provider.power_state(&vm).await.unwrap(), PowerState::Off);
    provider.power_off(&vm).await.unwrap(); // idempotent
    provider.power_on(&vm).await.unwrap();
    assert_eq!(provider.power_state(&vm).await.unwrap(), PowerState::On);
    // This simulator's guests run no VMware Tools (tools/vcsim -tools-running): vSphere
    // refuses to ask such a guest to shut down.
    let refused = provider.shutdown_guest(&vm).await.unwrap_err();
    assert!(
        format!("{refused:?}").contains("ToolsUnavailable"),
        "{refused:?}"
    );
    assert_eq!(provider.power_state(&vm).await.unwrap(), PowerState::On);

    // CBT: enable through ReconfigVM_Task, read back through the property collector.
    provider.enable_change_tracking(&vm).await.unwrap();
    let props = provider
        .client()
        .retrieve_one(
            &MoRef::new("VirtualMachine", vm.id()),
            &["config.changeTrackingEnabled"],
        )
        .await
        .unwrap();
    assert_eq!(props.text("config.changeTrackingEnabled"), Some("true"));

    // Snapshots: create, see it in the VM's snapshot tree, read change ids, remove.
    let snapshot = provider
        .create_snapshot(&vm, &SnapshotRequest::named("forklift-precopy-1"))
        .await
        .unwrap();
    let tree = provider
        .client()
        .retrieve_one(&MoRef::new("VirtualMachine", vm.id()), &["snapshot"])
        .await
        .unwrap();
    let current = tree
        .prop("snapshot")
        .and_then(|s| s.child("currentSnapshot"))
        .map(|n| n.text.clone());
    assert_eq!(current.as_deref(), Some(snapshot.id()));
    let ids = provider.change_ids(&vm, &snapshot).await.unwrap();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(ids.keys().all(|file| file.ends_with(".vmdk")), "{ids:?}");
    provider
        .remove_snapshot(&vm, &snapshot, true)
        .await
        .unwrap();
    let tree = provider
        .client()
        .retrieve_one(&MoRef::new("VirtualMachine", vm.id()), &["snapshot"])
        .await
        .unwrap();
    assert!(tree.prop("snapshot").is_none());

    // Errors name the VM.
    let missing = VmRef::new("vm-does-not-exist");
    let err = provider.power_state(&missing).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    provider.logout().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datastore_http_disk_reads_what_was_uploaded() {
    use forklift_providers::capability::{DiskAccess, DiskRef};
    use forklift_providers::vsphere::datastore::{datastore_url, split_datastore_path};
    use forklift_providers::vsphere::devices::parse_devices;
    let Some(sim) = Vcsim::start(&[]) else { return };
    let provider = connect(&sim).await;
    let vm = first_vm(&provider).await;
    let props = provider
        .client()
        .retrieve_one(
            &MoRef::new("VirtualMachine", vm.id()),
            &["config.hardware.device"],
        )
        .await
        .unwrap();
    let devices = parse_devices(props.prop("config.hardware.device").unwrap());
    let disk = devices.iter().find(|d| d.is_disk()).unwrap();
    let file = disk.disk.as_ref().unwrap().file.clone();
    let capacity = disk.capacity_bytes.unwrap() as u64;
    assert_eq!(capacity, 1024 * 1024);

    // Write 640 KiB of pattern into the flat extent; the rest of the disk reads as zeroes.
    let (ds, path) = split_datastore_path(&file).unwrap();
    let datacenter = provider.datacenter_of(&vm).await.unwrap();
    assert_eq!(datacenter, "DC0");
    let flat = path.replace(".vmdk", "-flat.vmdk");
    let url = datastore_url(
        provider.client().transport().sdk_url(),
        &datacenter,
        ds,
        &flat,
    );
    let pattern: Vec<u8> = (0..640 * 1024u32).map(|i| (i % 251) as u8).collect();
    let cookie = provider.client().transport().cookie().unwrap();
    let put = provider
        .client()
        .transport()
        .http()
        .put(url)
        .header("Cookie", cookie.expose())
        .body(pattern.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());

    let source = provider
        .open_disk(
            &vm,
            &DiskRef {
                key: disk.key,
                file: file.clone(),
                capacity,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(source.size(), capacity);
    let mut buf = vec![0xAAu8; 128 * 1024];
    source.read_at(600 * 1024, &mut buf).await.unwrap();
    assert_eq!(&buf[..40 * 1024], &pattern[600 * 1024..]);
    assert!(buf[40 * 1024..].iter().all(|b| *b == 0));
    let mut head = vec![0u8; 4096];
    source.read_at(4096, &mut head).await.unwrap();
    assert_eq!(&head[..], &pattern[4096..8192]);
    assert!(source.read_at(capacity - 1, &mut [0u8; 2]).await.is_err());

    let missing = DiskRef {
        key: 1,
        file: format!("[{ds}] nowhere/none.vmdk"),
        capacity: 512,
    };
    let err = provider.open_disk(&vm, &missing, None).await.err().unwrap();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_matches_the_simulator_model() {
    use forklift_core::inventory::{DiskBus, NetworkKind, PowerState};
    use forklift_providers::capability::InventorySource;
    // 2 datacenters × (2 clusters × 2 hosts + 1 standalone host); 3 VMs per resource pool;
    // 2 DV port groups and 1 opaque network per datacenter; 2 datastores.
    let Some(sim) = Vcsim::start(&[
        "-dc",
        "2",
        "-cluster",
        "2",
        "-host",
        "2",
        "-standalone-host",
        "1",
        "-vm",
        "3",
        "-ds",
        "2",
        "-pg",
        "2",
        "-nsx",
        "1",
    ]) else {
        return;
    };
    let provider = connect(&sim).await;
    let inventory = provider.collect_inventory().await.unwrap();
    let json = inventory.to_json();
    assert!(
        !json.contains(SIM_PASSWORD),
        "no credentials in the inventory"
    );

    assert_eq!(inventory.hosts.len(), 2 * (2 * 2 + 1));
    assert_eq!(
        inventory
            .hosts
            .iter()
            .filter(|h| !h.cluster.is_empty())
            .count(),
        8
    );
    // Every resource pool (one per cluster, one per standalone host) holds 3 VMs.
    assert_eq!(inventory.vms.len(), 2 * (2 + 1) * 3);
    assert_eq!(
        inventory.storages.len(),
        2 * 2,
        "datastores are per datacenter"
    );
    let count = |kind| inventory.networks.iter().filter(|n| n.kind == kind).count();
    assert_eq!(
        count(NetworkKind::DistributedPortGroup),
        2 * 2 + 2 /* uplink port groups */
    );
    assert_eq!(count(NetworkKind::Opaque), 2);
    assert!(
        count(NetworkKind::Standard) >= 2,
        "VM Network per datacenter"
    );

    for vm in &inventory.vms {
        assert!(vm.id.starts_with("vm-"), "{}", vm.id);
        assert!(vm.path.starts_with("/DC"), "{}", vm.path);
        assert!(vm.path.ends_with(&vm.name));
        assert_eq!(vm.power_state, PowerState::On);
        assert!(
            inventory.hosts.iter().any(|h| h.id == vm.host),
            "{}",
            vm.host
        );
        assert_eq!(vm.cpu_count, 1);
        assert_eq!(vm.memory_mib, 32);
        assert_eq!(vm.disks.len(), 1);
        let disk = &vm.disks[0];
        assert_eq!(disk.bus, DiskBus::Scsi);
        assert_eq!(disk.capacity, 1024 * 1024);
        assert!(
            disk.file.starts_with('[') && disk.file.ends_with(".vmdk"),
            "{}",
            disk.file
        );
        assert!(inventory.storages.iter().any(|s| s.id == disk.storage));
        assert_eq!(vm.nics.len(), 1);
        let nic = &vm.nics[0];
        assert!(!nic.mac.is_empty());
        assert!(
            inventory
                .networks
                .iter()
                .any(|n| n.id == nic.network.id && n.name == nic.network.name),
            "{:?}",
            nic.network
        );
        assert!(!vm.change_tracking_enabled);
        assert!(
            vm.concerns
                .iter()
                .any(|c| c.id == "vmware.changed_block_tracking.disabled")
        );
        let ext = vm.vsphere().unwrap();
        assert!(!ext.uuid.is_empty());
    }
    let standalone = inventory
        .hosts
        .iter()
        .filter(|h| matches!(&h.ext, Some(forklift_core::inventory::HostExt::Vsphere(e)) if e.standalone))
        .count();
    assert_eq!(standalone, 2);
    provider.logout().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vddk_disk_access_uses_moref_snapshot_and_thumbprint_with_a_fake_vddk() {
    use forklift_providers::capability::{DiskAccess, DiskRef, Snapshots};
    use forklift_providers::vsphere::VddkSettings;
    use forklift_providers::vsphere::devices::parse_devices;
    let Some(sim) = Vcsim::start(&[]) else { return };
    let Some(libdir) = common::fake_vddk::build("fake-vddk-vsphere") else {
        return;
    };
    let mut config = config(&sim, TlsTrust::CustomCa(sim.cert_pem()));
    config.vddk = Some(VddkSettings::new(&libdir));
    let provider = VsphereProvider::connect_with(config).await.unwrap();
    let vm = first_vm(&provider).await;

    // The running disk's data, written where the simulator keeps it; the fake VDDK sees the
    // simulator's datastore folder under its own tree.
    let sim_disk = sim.disks().into_iter().find(|d| d.vm == vm.id()).unwrap();
    let folder = sim_disk.local.parent().unwrap().parent().unwrap();
    let ds_name = &sim_disk.file[1..sim_disk.file.find(']').unwrap()];
    std::fs::create_dir_all(libdir.join("datastores")).unwrap();
    let link = libdir.join("datastores").join(ds_name);
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(folder, &link).unwrap();
    let content: Vec<u8> = (0..1024 * 1024u32).map(|i| (i / 512) as u8).collect();
    std::fs::write(&sim_disk.local, &content).unwrap();

    let snapshot = provider
        .create_snapshot(&vm, &SnapshotRequest::named("forklift-vddk"))
        .await
        .unwrap();
    // Written after the snapshot: reads at the snapshot must not see it.
    std::fs::write(&sim_disk.local, vec![0xEEu8; content.len()]).unwrap();

    // The disk as the snapshot records it.
    let props = provider
        .client()
        .retrieve_one(
            &MoRef::new("VirtualMachineSnapshot", snapshot.id()),
            &["config.hardware.device"],
        )
        .await
        .unwrap();
    let devices = parse_devices(props.prop("config.hardware.device").unwrap());
    let device = devices.iter().find(|d| d.is_disk()).unwrap();
    let file = device.disk.as_ref().unwrap().file.clone();
    assert_eq!(file, sim_disk.file);

    let disk = DiskRef {
        key: device.key,
        file: file.clone(),
        capacity: content.len() as u64,
    };
    let source = provider
        .open_disk(&vm, &disk, Some(&snapshot))
        .await
        .unwrap();
    assert_eq!(source.size(), content.len() as u64);
    let mut buf = vec![0u8; 8192];
    source.read_at(512 * 7, &mut buf).await.unwrap();
    assert_eq!(&buf[..], &content[512 * 7..512 * 7 + 8192]);
    drop(source);

    let log = std::fs::read_to_string(libdir.join("connections.log")).unwrap();
    let line = log.lines().last().unwrap();
    let thumbprint = provider.thumbprint().await.unwrap();
    let port = url::Url::parse(&sim.url).unwrap().port().unwrap();
    for expected in [
        "server=127.0.0.1".to_owned(),
        format!("port={port}"),
        format!("vmx=moref={}", vm.id()),
        format!("thumbprint={thumbprint}"),
        "user=user".to_owned(),
        format!("snapshot={}", snapshot.id()),
        "transports=file:nbdssl:nbd".to_owned(),
        format!("path={file}"),
    ] {
        assert!(line.contains(&expected), "{expected} not in {line}");
    }
    assert!(!log.contains(SIM_PASSWORD));
    provider
        .remove_snapshot(&vm, &snapshot, true)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datacenters_inside_folders_have_folder_paths() {
    use forklift_providers::capability::InventorySource;
    let Some(sim) = Vcsim::start(&["-folder", "1"]) else {
        return;
    };
    let provider = connect(&sim).await;
    let vm = first_vm(&provider).await;
    assert_eq!(provider.datacenter_of(&vm).await.unwrap(), "F0/DC0");
    let inventory = provider.collect_inventory().await.unwrap();
    assert!(
        inventory
            .vms
            .iter()
            .all(|v| v.path.starts_with("/F0/DC0/vm/")),
        "{:?}",
        inventory.vms.iter().map(|v| &v.path).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esxi_endpoint_inventory() {
    use forklift_providers::capability::InventorySource;
    use forklift_providers::vsphere::SdkEndpoint;
    let Some(sim) = Vcsim::start(&["-esx"]) else {
        return;
    };
    let mut config = config(&sim, TlsTrust::CustomCa(sim.cert_pem()));
    config.endpoint = SdkEndpoint::Esxi;
    let provider = VsphereProvider::connect_with(config).await.unwrap();
    assert!(!provider.client().content().is_vcenter());
    let inventory = provider.collect_inventory().await.unwrap();
    assert_eq!(inventory.hosts.len(), 1);
    assert_eq!(inventory.vms.len(), 2);
    assert!(
        inventory
            .vms
            .iter()
            .all(|vm| vm.host == inventory.hosts[0].id)
    );
    assert!(inventory.vms.iter().all(|vm| vm.disks.len() == 1));
}
