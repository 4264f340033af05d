//! Migration of OpenStack servers: `forklift migrate` of an image-booted server whose disk
//! is a qcow2 with an ext4 file system (the target disk equals it, and nothing the migration
//! created remains), and the volume path's API flow (Cinder snapshot → volume → image).

use std::path::{Path, PathBuf};
use std::process::Command;

use forklift::providers::capability::{DiskAccess, PowerControl};
use forklift::providers::capability::{DiskRef, VmRef};
use forklift::providers::openstack::{CreatedKind, Service};
use forklift::transfer::BlockSource;

use super::cloud;
use super::inventory::provider_manifests;
use super::local_plan::{ColdPlan, files_under, migrate_local, run};
use super::support::testbed;

/// A 48 MiB ext4 file system holding a file, as a qcow2 image.
fn qcow2_with_ext4(dir: &Path) -> PathBuf {
    let content = dir.join("content");
    std::fs::create_dir_all(&content).unwrap();
    let text: String = (0..20_000)
        .map(|i| format!("line {i} of the migrated guest\n"))
        .collect();
    std::fs::write(content.join("hello.txt"), text).unwrap();
    let raw = dir.join("disk.raw");
    std::fs::File::create(&raw)
        .unwrap()
        .set_len(48 << 20)
        .unwrap();
    run(Command::new("mke2fs")
        .args(["-q", "-t", "ext4", "-F", "-d"])
        .arg(&content)
        .arg(&raw));
    let qcow2 = dir.join("disk.qcow2");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&qcow2));
    qcow2
}

fn plan_manifests(dir: &Path, server: &str, net: &str) {
    ColdPlan {
        prefix: "os",
        source: "openstack",
        network: &format!("id: {net}"),
        storage: "name: glance",
        spec: "  skipGuestConversion: true\n",
        vms: &[server],
    }
    .write(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_copies_an_image_booted_server_and_leaves_nothing_behind() {
    let tb = testbed();
    let provider = tb.provider().await;
    let s = provider.session();
    let dir = tempfile::tempdir().unwrap();
    let qcow2 = qcow2_with_ext4(dir.path());
    let image = cloud::image(s, "qcow2", std::fs::read(&qcow2).unwrap()).await;
    let (net, _) = cloud::network(s, 31).await;
    let flavor = cloud::flavor(s).await;
    let server = cloud::server(s, &image, &flavor, &net).await;

    let manifests = dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    provider_manifests(tb, &manifests);
    plan_manifests(&manifests, &server, &net);
    let out = dir.path().join("out");
    let (migrated, stderr) = migrate_local(&manifests, &out, &["--allow-plain-http"]);
    assert!(migrated, "{stderr}");

    // The one disk on the destination holds the guest's file system as the image does.
    let mut files = Vec::new();
    files_under(&out, &mut files);
    let disks: Vec<_> = files
        .iter()
        .filter(|p| !p.extension().is_some_and(|e| e == "yaml" || e == "json"))
        .filter(|p| std::fs::metadata(p).unwrap().len() >= 48 << 20)
        .collect();
    assert_eq!(disks.len(), 1, "{files:?}");
    run(Command::new("qemu-img")
        .args(["compare", "-f", "qcow2", "-F", "raw"])
        .arg(&qcow2)
        .arg(disks[0]));

    // The server was powered off as the plan's targetPowerState leaves the source, and
    // the snapshot image the migration made is gone.
    let vm = VmRef::new(server.clone());
    assert_eq!(
        provider.power_state(&vm).await.unwrap(),
        forklift::core::inventory::PowerState::Off
    );
    let srv = cloud::get(s, Service::Compute, &format!("/servers/{server}"))
        .await
        .unwrap();
    let srv_name = srv["server"]["name"].as_str().unwrap().to_owned();
    let left = cloud::named(s, &format!("forklift-{srv_name}")).await;
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_go_through_snapshot_volume_and_image_and_are_cleaned_up() {
    let tb = testbed();
    let provider = tb.provider().await;
    let s = provider.session();
    let (net, _) = cloud::network(s, 32).await;
    let (_, type_name) = cloud::volume_type(s).await;
    let image = cloud::image(s, "raw", vec![7; 1 << 20]).await;
    let flavor = cloud::flavor(s).await;
    let server = cloud::server(s, &image, &flavor, &net).await;
    let volume = cloud::volume(s, 1, &type_name).await;
    cloud::attach(s, &server, &volume).await;
    let vm = VmRef::new(server.clone());
    provider.power_off(&vm).await.unwrap();

    let disk = DiskRef {
        key: 0,
        file: volume.clone(),
        capacity: 1 << 30,
    };
    let source = provider.open_disk(&vm, &disk, None).await.unwrap();
    // The fake Cinder driver uploads a fixed 1 MiB pattern for any volume.
    assert_eq!(source.size(), 1 << 20);
    let mut buf = vec![0; 8];
    source.read_at(0, &mut buf).await.unwrap();
    assert_eq!(&buf, b"FLVOLUME");
    drop(source);
    let created = provider.created().await;
    let kinds: Vec<_> = created.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            CreatedKind::Snapshot,
            CreatedKind::Volume,
            CreatedKind::Image
        ]
    );
    // Nothing is left in the staging folder: the source was its only holder.
    let staged: Vec<_> = std::fs::read_dir(tb.state.join("staging"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(&created[2].id))
        .collect();
    assert!(staged.is_empty(), "{staged:?}");

    provider.delete_created().await.unwrap();
    assert!(provider.created().await.is_empty());
    for c in &created {
        let path = match c.kind {
            CreatedKind::Image => (Service::Image, format!("/images/{}", c.id)),
            CreatedKind::Volume => (Service::Volume, format!("/volumes/{}", c.id)),
            CreatedKind::Snapshot => (Service::Volume, format!("/snapshots/{}", c.id)),
        };
        assert!(
            cloud::get(s, path.0, &path.1).await.is_none(),
            "{c:?} remains"
        );
    }
    // The source volume is untouched and still attached.
    cloud::wait_for(
        s,
        Service::Volume,
        &format!("/volumes/{volume}"),
        "/volume/status",
        "in-use",
    )
    .await;
}
