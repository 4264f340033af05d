//! The API routes of the test engine: objects rendered in the oVirt API model's JSON shapes.

use std::collections::BTreeMap;

use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Answer, EngineDisk, EngineVm, Shared, State, Transfer, answer, fault, not_found};

const API: &str = "/ovirt-engine/api";
const DC: &str = "5849b030-626e-47cb-ad90-3ce782d831b3";
const CLUSTER: &str = "b4f7a1b8-ba62-11ec-8a27-525400aabbcc";
const HOST: &str = "6e4b1f3c-2b2a-4a39-b1c5-2f4e5b9a7c01";
const NETWORK: &str = "00000000-0000-0000-0000-000000000009";
const PROFILE: &str = "0000000a-000a-000a-000a-000000000398";
/// The storage domain of every image disk.
pub const STORAGE_DOMAIN: &str = "072fbaa1-08f3-4a40-9f34-a5ca22dd1d74";

fn link(kind: &str, id: &str) -> Value {
    json!({"href": format!("{API}/{kind}/{id}"), "id": id})
}

/// A page of a collection (`search=page N`, `max`), under the singular key.
fn page(key: &str, items: Vec<Value>, query: &BTreeMap<String, String>) -> Answer {
    let max = query
        .get("max")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let page = query
        .get("search")
        .and_then(|s| s.trim().strip_prefix("page "))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let items: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(max.min(1 << 20)))
        .take(max)
        .collect();
    answer(StatusCode::OK, &json!({ key: items }))
}

fn follows(query: &BTreeMap<String, String>) -> Vec<String> {
    query
        .get("follow")
        .map(|f| f.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default()
}

fn disk_json(d: &EngineDisk) -> Value {
    let mut disk = json!({
        "href": format!("{API}/disks/{}", d.id), "id": d.id, "alias": d.alias, "name": d.alias,
        "format": d.format, "backup": d.backup, "sparse": "true", "shareable": "false", "status": "ok",
        "provisioned_size": d.provisioned_size.to_string(), "actual_size": d.actual_size.to_string(),
        "storage_type": if d.lun_size.is_some() { "lun" } else { "image" },
        "actions": {"link": [{"href": format!("{API}/disks/{}/copy", d.id), "rel": "copy"}]},
        "link": [{"href": format!("{API}/disks/{}/statistics", d.id), "rel": "statistics"}],
    });
    match d.lun_size {
        Some(size) => {
            disk["lun_storage"] = json!({"type": "iscsi", "logical_units": {"logical_unit": [
                {"id": "36001405f9a3c3ad", "size": size.to_string()}]}});
        }
        None => {
            disk["storage_domains"] =
                json!({"storage_domain": [link("storagedomains", STORAGE_DOMAIN)]});
        }
    }
    disk
}

fn attachment_json(vm: &EngineVm, d: &EngineDisk, inline_disk: bool) -> Value {
    json!({
        "href": format!("{API}/vms/{}/diskattachments/{}", vm.id, d.id), "id": d.id,
        "active": "true", "bootable": d.bootable.to_string(), "interface": d.interface,
        "pass_discard": "false", "read_only": "false",
        "disk": if inline_disk { disk_json(d) } else { link("disks", &d.id) },
        "vm": link("vms", &vm.id),
    })
}

fn vm_json(vm: &EngineVm, follow: &[String]) -> Value {
    let id = &vm.id;
    let sub = |name: &str| json!({"href": format!("{API}/vms/{id}/{name}"), "rel": name});
    let mut value = json!({
        "href": format!("{API}/vms/{id}"), "id": id, "name": vm.name, "status": vm.status,
        "type": "server", "origin": "ovirt", "stateless": "false",
        "memory": vm.memory, "cpu": {"architecture": "x86_64",
            "topology": {"sockets": vm.sockets.to_string(), "cores": "1", "threads": "1"}},
        "bios": {"type": vm.bios_type, "boot_menu": {"enabled": "false"}},
        "os": {"type": vm.os_type, "boot": {"devices": {"device": ["hd"]}}},
        "high_availability": {"enabled": "false", "priority": "0"},
        "placement_policy": {"affinity": "migratable"},
        "custom_properties": {"custom_property": []},
        "cluster": link("clusters", &vm.cluster),
        "template": link("templates", "00000000-0000-0000-0000-000000000000"),
        "actions": {"link": (["start", "stop", "shutdown", "backup"].iter()
            .map(|a| json!({"href": format!("{API}/vms/{id}/{a}"), "rel": a})).collect::<Vec<_>>())},
        "link": (["diskattachments", "nics", "reporteddevices", "snapshots", "backups",
            "checkpoints"].iter()
            .map(|s| sub(s)).collect::<Vec<_>>()),
    });
    if vm.status == "up" {
        value["host"] = link("hosts", HOST);
    }
    let wants = |name: &str| {
        follow
            .iter()
            .any(|f| f == name || f.starts_with(&format!("{name}.")))
    };
    if wants("disk_attachments") {
        let inline = follow.iter().any(|f| f == "disk_attachments.disk");
        value["disk_attachments"] = json!({"disk_attachment": vm.disks.iter()
            .map(|d| attachment_json(vm, d, inline)).collect::<Vec<_>>()});
    }
    if wants("nics") {
        value["nics"] = json!({"nic": vm.nics.iter().enumerate().map(|(i, (name, mac, profile))| json!({
            "href": format!("{API}/vms/{id}/nics/{i}"), "id": format!("{id}-nic{i}"),
            "name": name, "interface": "virtio", "linked": "true", "plugged": "true",
            "mac": {"address": mac}, "vnic_profile": link("vnicprofiles", profile),
            "vm": link("vms", id)})).collect::<Vec<_>>()});
    }
    if wants("reported_devices") {
        value["reported_devices"] = json!({"reported_device": []});
    }
    if wants("snapshots") {
        value["snapshots"] = json!({"snapshot": [{"id": format!("{id}-active"),
            "snapshot_type": "active", "description": "Active VM", "snapshot_status": "ok"}]});
    }
    value
}

/// Advances a VM's pending status change by one read.
fn tick(state: &mut State, id: &str) {
    let mut vanished = false;
    if let Some(vm) = state.vms.iter_mut().find(|v| v.id == id) {
        if let Some((target, left)) = vm.target.take() {
            if left == 0 {
                vm.status = target;
                vanished = vm.status == "down" && state.faults.vanish_when_stopped.contains(id);
            } else {
                vm.target = Some((target, left - 1));
            }
        }
    }
    if vanished {
        state.vms.retain(|v| v.id != id);
    }
}

fn transfer_json(t: &Transfer) -> Value {
    let mut value = json!({
        "href": format!("{API}/imagetransfers/{}", t.id), "id": t.id, "phase": t.phase,
        "direction": "download", "format": "raw", "active": "false", "shallow": "false",
        "timeout_policy": "legacy", "inactivity_timeout": "60",
        "disk": link("disks", &t.disk), "image": {"id": t.disk},
        "actions": {"link": (["cancel", "finalize", "extend", "pause", "resume"].iter()
            .map(|a| json!({"href": format!("{API}/imagetransfers/{}/{a}", t.id), "rel": a}))
            .collect::<Vec<_>>())},
    });
    if let Some(backup) = &t.backup {
        value["backup"] = json!({"id": backup});
    }
    if t.phase == "transferring" && !t.transfer_url.is_empty() {
        value["proxy_url"] = json!(t.transfer_url);
        value["transfer_url"] = json!(t.transfer_url);
    }
    value
}

fn find_disk<'a>(state: &'a State, disk: &str) -> Option<(&'a EngineVm, &'a EngineDisk)> {
    state
        .vms
        .iter()
        .find_map(|vm| vm.disks.iter().find(|d| d.id == disk).map(|d| (vm, d)))
}

pub(super) fn route(
    shared: &Shared,
    state: &mut State,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &Value,
) -> Answer {
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(answer) = super::backups::route(state, method, &parts, body) {
        return answer;
    }
    if let Some(answer) = super::snapshots::route(state, method, &parts, body) {
        return answer;
    }
    match (method.clone(), parts.as_slice()) {
        (Method::GET, []) => answer(
            StatusCode::OK,
            &json!({
            "product_info": {"name": "oVirt Engine", "vendor": "ovirt.org",
                "version": {"build": "2", "full_version": "4.5.2.1-1.el8", "major": "4",
                    "minor": "5", "revision": if state.faults.old_engine { "0" } else { "1" }}},
            "special_objects": {}, "summary": {}, "time": 0,
            "link": [{"href": format!("{API}/vms"), "rel": "vms"}]}),
        ),
        (Method::GET, ["datacenters"]) => page(
            "data_center",
            vec![json!({
            "href": format!("{API}/datacenters/{DC}"), "id": DC, "name": "Default",
            "status": "up", "local": "false"})],
            query,
        ),
        (Method::GET, ["clusters"]) => page(
            "cluster",
            vec![json!({
            "href": format!("{API}/clusters/{CLUSTER}"), "id": CLUSTER, "name": "Default",
            "bios_type": "q35_sea_bios",
            "cpu": {"architecture": "x86_64", "type": "Secure Intel Cascadelake Server Family"},
            "version": {"major": "4", "minor": "7"}, "data_center": link("datacenters", DC)})],
            query,
        ),
        (Method::GET, ["options", "ServerCPUList"]) => answer(
            StatusCode::OK,
            &json!({
            "name": "ServerCPUList", "type": "string", "values": {"system_option_value": [{
                "value": "1:Intel Nehalem Family:vmx,nx,model_Nehalem:Nehalem:x86_64; 21:Secure Intel Cascadelake Server Family:vmx,md-clear,mds-no,model_Cascadelake-Server-noTSX:Cascadelake-Server-noTSX,+md-clear:x86_64",
                "version": query.get("version").cloned().unwrap_or_default()}]}}),
        ),
        (Method::GET, ["hosts"]) => page(
            "host",
            vec![json!({
            "href": format!("{API}/hosts/{HOST}"), "id": HOST, "name": "host1",
            "address": "192.0.2.10", "status": "up", "cluster": link("clusters", CLUSTER),
            "version": {"full_version": "vdsm-4.50.2.2-1.el8", "major": "4", "minor": "50"}})],
            query,
        ),
        (Method::GET, ["storagedomains"]) => page(
            "storage_domain",
            vec![json!({
            "href": format!("{API}/storagedomains/{STORAGE_DOMAIN}"), "id": STORAGE_DOMAIN,
            "name": "nfs-data", "type": "data", "available": 107374182400_i64,
            "used": 21474836480_i64, "storage": {"type": "nfs", "address": "192.0.2.20",
            "path": "/exports/data"}})],
            query,
        ),
        (Method::GET, ["networks"]) => page(
            "network",
            vec![json!({
            "href": format!("{API}/networks/{NETWORK}"), "id": NETWORK, "name": "ovirtmgmt",
            "data_center": link("datacenters", DC), "usages": {"usage": ["vm", "management"]}})],
            query,
        ),
        (Method::GET, ["vnicprofiles"]) => answer(
            StatusCode::OK,
            &json!({"vnic_profile": [{
            "href": format!("{API}/vnicprofiles/{PROFILE}"), "id": PROFILE, "name": "ovirtmgmt",
            "pass_through": {"mode": "disabled"}, "network": link("networks", NETWORK)}]}),
        ),
        (Method::GET, ["vms"]) => {
            let ids: Vec<String> = state.vms.iter().map(|v| v.id.clone()).collect();
            for id in &ids {
                tick(state, id);
            }
            let follow = follows(query);
            let items = state.vms.iter().map(|vm| vm_json(vm, &follow)).collect();
            page("vm", items, query)
        }
        (Method::GET, ["vms", id]) => {
            tick(state, id);
            match state.vms.iter().find(|v| v.id == *id) {
                Some(vm) => answer(StatusCode::OK, &vm_json(vm, &follows(query))),
                None => not_found(&format!("vms/{id}")),
            }
        }
        (Method::GET, ["vms", id, "diskattachments"]) => {
            match state.vms.iter().find(|v| v.id == *id) {
                None => not_found(&format!("vms/{id}")),
                Some(vm) => {
                    let inline = follows(query).iter().any(|f| f == "disk");
                    let items: Vec<Value> = vm
                        .disks
                        .iter()
                        .map(|d| attachment_json(vm, d, inline))
                        .collect();
                    answer(StatusCode::OK, &json!({ "disk_attachment": items }))
                }
            }
        }
        (Method::GET, ["vms", id, "diskattachments", disk]) => {
            match state.vms.iter().find(|v| v.id == *id) {
                None => not_found(&format!("vms/{id}")),
                Some(vm) => match vm.disks.iter().find(|d| d.id == *disk) {
                    Some(d) => answer(StatusCode::OK, &attachment_json(vm, d, true)),
                    None => not_found(&format!("vms/{id}/diskattachments/{disk}")),
                },
            }
        }
        (Method::POST, ["vms", id, action @ ("start" | "stop" | "shutdown")]) => {
            let Some(vm) = state.vms.iter_mut().find(|v| v.id == *id) else {
                return not_found(&format!("vms/{id}"));
            };
            let (now, target) = match *action {
                "start" => ("powering_up", "up"),
                _ => ("powering_down", "down"),
            };
            if vm.status != target {
                vm.status = now.to_owned();
                vm.target = Some((target.to_owned(), 1));
            }
            answer(
                StatusCode::OK,
                &json!({"status": "complete",
                "job": {"href": format!("{API}/jobs/{id}"), "id": id}}),
            )
        }
        (Method::GET, ["imagetransfers"]) => answer(
            StatusCode::OK,
            &json!({"image_transfer":
            state.transfers.iter().map(transfer_json).collect::<Vec<_>>()}),
        ),
        (Method::POST, ["imagetransfers"]) => create_transfer(state, body),
        (Method::GET, ["imagetransfers", id]) => {
            let Some(index) = state.transfers.iter().position(|t| t.id == *id) else {
                return not_found(&format!("imagetransfers/{id}"));
            };
            if state.transfers[index].phase == "initializing" {
                let disk = state.transfers[index].disk.clone();
                let Some((_, d)) = find_disk(state, &disk) else {
                    state.transfers[index].phase = "finished_failure".into();
                    return answer(StatusCode::OK, &transfer_json(&state.transfers[index]));
                };
                let (mut image, size) = (d.image.clone(), d.provisioned_size);
                let mut bitmap = None;
                if let Some(backup) = state.transfers[index].backup.clone() {
                    match super::backups::transfer_source(state, &backup, &disk) {
                        Ok((frozen, from)) => (image, bitmap) = (frozen, from),
                        Err(_) => {
                            state.transfers[index].phase = "finished_failure".into();
                            return answer(StatusCode::OK, &transfer_json(&state.transfers[index]));
                        }
                    }
                }
                match shared
                    .tickets
                    .add_backup(id, &image, size, bitmap.as_deref())
                {
                    Ok(url) => {
                        let t = &mut state.transfers[index];
                        t.transfer_url = url;
                        t.ticket = true;
                        t.phase = "transferring".into();
                    }
                    Err(e) => {
                        eprintln!("test engine: adding the imageio ticket failed: {e}");
                        state.transfers[index].phase = "paused_system".into();
                    }
                }
            }
            let mut value = transfer_json(&state.transfers[index]);
            if state.faults.proxy_only {
                if let Some(map) = value.as_object_mut() {
                    map.remove("transfer_url");
                }
            }
            answer(StatusCode::OK, &value)
        }
        (Method::POST, ["imagetransfers", id, action @ ("finalize" | "cancel")]) => {
            let Some(t) = state.transfers.iter_mut().find(|t| t.id == *id) else {
                return not_found(&format!("imagetransfers/{id}"));
            };
            if t.ticket {
                shared.tickets.remove(id);
                t.ticket = false;
            }
            t.phase = if *action == "finalize" {
                "finished_success"
            } else {
                "cancelled_user"
            }
            .into();
            answer(StatusCode::OK, &json!({"status": "complete"}))
        }
        _ => fault(
            404,
            "Not Found",
            &format!("{method} {API}{path} is not served"),
        ),
    }
}

fn create_transfer(state: &mut State, body: &Value) -> Answer {
    let disk = body
        .pointer("/disk/id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let direction = body
        .get("direction")
        .and_then(Value::as_str)
        .unwrap_or("upload");
    let format = body.get("format").and_then(Value::as_str).unwrap_or("cow");
    if direction != "download" || format != "raw" {
        return fault(
            400,
            "Bad Request",
            &format!("this engine serves raw downloads only (got {direction}, {format})"),
        );
    }
    let Some((vm, d)) = find_disk(state, &disk) else {
        return not_found(&format!("disks/{disk}"));
    };
    let backup = body
        .pointer("/backup/id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if d.lun_size.is_some() {
        return fault(
            409,
            "Operation Failed",
            "[Cannot transfer Virtual Disk: The operation is not supported for LUN disks.]",
        );
    }
    if let Some(backup) = &backup {
        if let Err(refused) = super::backups::transfer_source(state, backup, &disk) {
            return *refused;
        }
    } else if vm.status != "down" {
        return fault(
            409,
            "Operation Failed",
            &format!("[Cannot transfer Virtual Disk: VM {} is running.]", vm.name),
        );
    }
    if state
        .transfers
        .iter()
        .any(|t| t.disk == disk && matches!(t.phase.as_str(), "initializing" | "transferring"))
    {
        return fault(
            409,
            "Operation Failed",
            &format!(
                "[Cannot transfer Virtual Disk: Disk {disk} is locked. Please try again later.]"
            ),
        );
    }
    let id = state.id();
    let transfer = Transfer {
        id,
        disk,
        phase: "initializing".into(),
        transfer_url: String::new(),
        ticket: false,
        backup,
    };
    let value = transfer_json(&transfer);
    state.transfers.push(transfer);
    answer(StatusCode::CREATED, &value)
}
