//! `forklift inventory` of the testbed, and the inventory's refusal of servers in ERROR.

use std::path::Path;
use std::process::Command;

use forklift::core::inventory::{ConcernCategory, SourceInventory};
use forklift::providers::capability::PowerControl;
use forklift::providers::capability::VmRef;
use forklift::providers::openstack::{OpenstackError, Service};

use super::cloud;
use super::support::{Testbed, testbed};

/// Secret + Provider manifests for the tests' user (password method).
pub fn provider_manifests(tb: &Testbed, dir: &Path) {
    let yaml = format!(
        r#"apiVersion: v1
kind: Secret
metadata: {{name: os-secret, namespace: konveyor-forklift}}
type: Opaque
stringData:
  username: {user}
  password: {password}
  projectName: {project}
  domainName: {domain}
  regionName: RegionOne
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: openstack, namespace: konveyor-forklift}}
spec:
  type: openstack
  url: {url}
  secret: {{name: os-secret, namespace: konveyor-forklift}}
  settings:
    imageStagingDir: {staging}
"#,
        user = tb.get("user.username"),
        password = tb.get("user.password"),
        project = tb.get("user.project"),
        domain = tb.get("user.domain"),
        url = tb.auth_url(),
        staging = tb.state.join("staging").display(),
    );
    std::fs::create_dir_all(tb.state.join("staging")).unwrap();
    std::fs::write(dir.join("provider.yaml"), yaml).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_verb_reads_servers_volumes_and_ports() {
    let tb = testbed();
    let provider = tb.provider().await;
    let s = provider.session();
    let (net, _) = cloud::network(s, 21).await;
    let (type_id, type_name) = cloud::volume_type(s).await;
    let image = cloud::image(s, "raw", vec![0x5a; 1 << 20]).await;
    let flavor = cloud::flavor(s).await;
    let server = cloud::server(s, &image, &flavor, &net).await;
    let volume = cloud::volume(s, 1, &type_name).await;
    cloud::attach(s, &server, &volume).await;

    let dir = tempfile::tempdir().unwrap();
    provider_manifests(tb, dir.path());
    let out = dir.path().join("inventory.json");
    let plain = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(["inventory", "--manifests"])
        .arg(dir.path())
        .args(["--provider", "openstack"])
        .output()
        .unwrap();
    assert!(!plain.status.success());
    assert!(
        String::from_utf8_lossy(&plain.stderr).contains("plain http"),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let run = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(["inventory", "--allow-plain-http", "--manifests"])
        .arg(dir.path())
        .args(["--provider", "openstack", "--output-file"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(!stderr.contains(&tb.get("user.password")), "{stderr}");
    let inventory = SourceInventory::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let vm = inventory
        .vms
        .iter()
        .find(|v| v.id == server)
        .expect("the server");
    assert_eq!((vm.cpu_count, vm.memory_mib), (1, 256));
    let disks: Vec<_> = vm
        .disks
        .iter()
        .map(|d| (d.id.as_str(), d.storage.as_str()))
        .collect();
    assert_eq!(
        disks,
        [(image.as_str(), ""), (volume.as_str(), type_id.as_str())]
    );
    assert_eq!(vm.disks[0].capacity, 1 << 20, "the image's virtual size");
    assert_eq!(vm.disks[1].capacity, 1 << 30);
    let ext = vm.openstack().unwrap();
    assert!(ext.image_booted());
    assert_eq!(ext.volumes, std::slice::from_ref(&volume));
    assert_eq!(vm.nics.len(), 1);
    assert_eq!(vm.nics[0].network.id, net);
    assert_eq!(vm.nics[0].mac.len(), 17);
    let ip = &vm.guest_networks[0];
    assert!(ip.ip.starts_with("10.21.0."), "{ip:?}");
    assert_eq!((ip.prefix_length, ip.gateway.as_str()), (24, "10.21.0.1"));
    assert!(inventory.networks.iter().any(|n| n.id == net));
    assert!(
        inventory
            .storages
            .iter()
            .any(|st| st.id == type_id && st.name == type_name)
    );
}

/// A server Nova could not schedule (its flavor wants more disk than the fake host has) is in
/// ERROR: the inventory raises a Critical concern
/// (validation refuses the VM) and power operations refuse it with Nova's fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_in_error_are_refused() {
    let tb = testbed();
    let provider = tb.provider().await;
    let s = provider.session();
    let (net, _) = cloud::network(s, 22).await;
    let image = cloud::image(s, "raw", vec![1; 4096]).await;
    let huge = cloud::post(
        s,
        Service::Compute,
        "/flavors",
        serde_json::json!({"flavor": {
        "name": super::support::unique("huge"), "vcpus": 1, "ram": 256, "disk": 10_000_000}}),
    )
    .await;
    let huge = huge["flavor"]["id"].as_str().unwrap().to_owned();
    let body = cloud::post(
        s,
        Service::Compute,
        "/servers",
        serde_json::json!({"server": {
        "name": super::support::unique("err"), "imageRef": image, "flavorRef": huge,
        "networks": [{"uuid": net}]}}),
    )
    .await;
    let id = body["server"]["id"].as_str().unwrap().to_owned();
    cloud::wait_for(
        s,
        Service::Compute,
        &format!("/servers/{id}"),
        "/server/status",
        "ERROR",
    )
    .await;

    use forklift::providers::capability::InventorySource;
    let inventory = provider.collect_inventory().await.unwrap();
    let vm = inventory.vms.iter().find(|v| v.id == id).unwrap();
    let concern = vm
        .concerns
        .iter()
        .find(|c| c.id == "openstack.server.error")
        .unwrap();
    assert_eq!(concern.category, ConcernCategory::Critical);

    let err = provider
        .power_off(&VmRef::new(id.clone()))
        .await
        .unwrap_err();
    let forklift::providers::Error::Openstack(OpenstackError::ServerInError { fault, .. }) = &err
    else {
        panic!("{err}")
    };
    assert!(fault.is_some(), "{err}");
    assert!(err.to_string().contains("ERROR state"), "{err}");
}

/// Quota refusals reach the user with Cinder's own message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_refusals_quote_the_service() {
    let tb = testbed();
    let admin = forklift::core::credentials::OpenStackAuth::Password {
        username: tb.get("admin.username"),
        password: forklift::core::credentials::SecretString::new(tb.get("admin.password")),
        project_name: tb.get("admin.project"),
        domain_name: tb.get("admin.domain"),
    };
    let provider =
        forklift::providers::openstack::OpenstackProvider::connect_with(tb.config(admin))
            .await
            .unwrap();
    let s = provider.session();
    let project = tb.get("admin.project_id");
    let answer = s
        .send(
            Service::Volume,
            reqwest::Method::PUT,
            &format!("/os-quota-sets/{project}"),
            Some(&serde_json::json!({"quota_set": {"volumes": 0}})),
            "setting a quota",
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let err = s
        .send(
            Service::Volume,
            reqwest::Method::POST,
            "/volumes",
            Some(&serde_json::json!({"volume": {"size": 1, "name": "over-quota"}})),
            "creating a volume",
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.refusal(),
        Some(forklift::providers::openstack::Refusal::Quota),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("quota exceeded"), "{text}");
    assert!(text.to_lowercase().contains("volume"), "{text}");
}
