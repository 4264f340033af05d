//! Test fixtures made through the OpenStack APIs as the tests' user (admin on its project):
//! flavors, images with data, networks, volume types, volumes and servers.

use std::time::{Duration, Instant};

use forklift::providers::openstack::{Service, Session};
use reqwest::Method;
use serde_json::{Value, json};

use super::support::unique;

const WAIT: Duration = Duration::from_secs(180);

pub async fn post(session: &Session, service: Service, path: &str, body: Value) -> Value {
    let answer = session
        .send(service, Method::POST, path, Some(&body), path)
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {}", forklift::core::error::chain(&e)));
    serde_json::from_slice(&answer.body).unwrap_or(Value::Null)
}

pub async fn get(session: &Session, service: Service, path: &str) -> Option<Value> {
    match session.get::<Value>(service, path, path).await {
        Ok(v) => Some(v),
        Err(e) if e.refusal() == Some(forklift::providers::openstack::Refusal::NotFound) => None,
        Err(e) => panic!("GET {path}: {e}"),
    }
}

/// Polls `path` until `field` (a JSON pointer) reads `wanted`.
pub async fn wait_for(session: &Session, service: Service, path: &str, field: &str, wanted: &str) {
    let started = Instant::now();
    loop {
        let value = get(session, service, path).await;
        let status = value
            .as_ref()
            .and_then(|v| v.pointer(field))
            .and_then(Value::as_str)
            .unwrap_or("<gone>")
            .to_owned();
        if status == wanted {
            return;
        }
        assert!(
            !status.to_lowercase().starts_with("error") && started.elapsed() < WAIT,
            "{path}: {field} is {status}, waited for {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub async fn flavor(session: &Session) -> String {
    let body = post(
        session,
        Service::Compute,
        "/flavors",
        json!({"flavor": {"name": unique("fl"), "vcpus": 1, "ram": 256, "disk": 1}}),
    )
    .await;
    body["flavor"]["id"].as_str().unwrap().to_owned()
}

/// Uploads `data` as an active image.
pub async fn image(session: &Session, format: &str, data: Vec<u8>) -> String {
    let body = post(
        session,
        Service::Image,
        "/images",
        json!({"name": unique("img"), "disk_format": format, "container_format": "bare",
            "visibility": "private", "hw_firmware_type": "bios", "os_distro": "debian"}),
    )
    .await;
    let id = body["id"].as_str().unwrap().to_owned();
    let url = session
        .url(Service::Image, &format!("/images/{id}/file"))
        .await
        .unwrap();
    let token = session.token().await.unwrap();
    let response = session
        .http()
        .put(url)
        .header("X-Auth-Token", token.value.expose())
        .header("Content-Type", "application/octet-stream")
        .body(data)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{:?}", response.status());
    wait_for(
        session,
        Service::Image,
        &format!("/images/{id}"),
        "/status",
        "active",
    )
    .await;
    id
}

/// A network with one /24 subnet; returns (network, subnet).
pub async fn network(session: &Session, octet: u8) -> (String, String) {
    let net = post(
        session,
        Service::Network,
        "/networks",
        json!({"network": {"name": unique("net")}}),
    )
    .await;
    let net = net["network"]["id"].as_str().unwrap().to_owned();
    let subnet = post(
        session,
        Service::Network,
        "/subnets",
        json!({"subnet": {
        "network_id": net, "ip_version": 4, "cidr": format!("10.{octet}.0.0/24"),
        "gateway_ip": format!("10.{octet}.0.1"), "dns_nameservers": ["10.0.0.53"]}}),
    )
    .await;
    (net, subnet["subnet"]["id"].as_str().unwrap().to_owned())
}

pub async fn volume_type(session: &Session) -> (String, String) {
    let name = unique("vt");
    let body = post(
        session,
        Service::Volume,
        "/types",
        json!({"volume_type": {"name": name}}),
    )
    .await;
    (body["volume_type"]["id"].as_str().unwrap().to_owned(), name)
}

pub async fn volume(session: &Session, size: u32, volume_type: &str) -> String {
    let body = post(
        session,
        Service::Volume,
        "/volumes",
        json!({"volume": {
        "name": unique("vol"), "size": size, "volume_type": volume_type}}),
    )
    .await;
    let id = body["volume"]["id"].as_str().unwrap().to_owned();
    wait_for(
        session,
        Service::Volume,
        &format!("/volumes/{id}"),
        "/volume/status",
        "available",
    )
    .await;
    id
}

/// Boots a server from `image` on `network` and waits until it is ACTIVE.
pub async fn server(session: &Session, image: &str, flavor: &str, network: &str) -> String {
    let body = post(
        session,
        Service::Compute,
        "/servers",
        json!({"server": {
        "name": unique("srv"), "imageRef": image, "flavorRef": flavor,
        "networks": [{"uuid": network}]}}),
    )
    .await;
    let id = body["server"]["id"].as_str().unwrap().to_owned();
    wait_for(
        session,
        Service::Compute,
        &format!("/servers/{id}"),
        "/server/status",
        "ACTIVE",
    )
    .await;
    id
}

pub async fn attach(session: &Session, server: &str, volume: &str) {
    post(
        session,
        Service::Compute,
        &format!("/servers/{server}/os-volume_attachments"),
        json!({"volumeAttachment": {"volumeId": volume}}),
    )
    .await;
    wait_for(
        session,
        Service::Volume,
        &format!("/volumes/{volume}"),
        "/volume/status",
        "in-use",
    )
    .await;
}

/// Images, volumes and snapshots of the project whose names start with `prefix`.
pub async fn named(session: &Session, prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (service, path, key) in [
        (Service::Image, "/images", "images"),
        (Service::Volume, "/volumes/detail", "volumes"),
        (Service::Volume, "/snapshots/detail", "snapshots"),
    ] {
        let items: Vec<Value> = session.list(service, path, key, path).await.unwrap();
        for item in items {
            let name = item["name"].as_str().unwrap_or_default();
            if name.starts_with(prefix) {
                found.push(format!("{key}: {name} ({})", item["status"]));
            }
        }
    }
    found
}
