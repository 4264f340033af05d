//! Disk snapshots in the test engine: `POST /vms/ID/snapshots` (`description`,
//! `persist_memorystate`, `disk_attachments` of the VM's disks) makes a `locked` snapshot that
//! is `ok` on the next read; `DELETE` locks it and the engine forgets it on the next read, as
//! the real engine merges the layer in the background. A VM that is gone answers 404.

use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Answer, State, answer, fault, not_found};

const API: &str = "/ovirt-engine/api";

/// A snapshot of the engine.
#[derive(Debug, Clone)]
pub struct EngineSnapshot {
    pub id: String,
    pub vm: String,
    pub description: String,
    /// `locked`, `ok`.
    pub status: String,
    pub disks: Vec<String>,
    /// Removal asked: gone on the next read.
    pub removing: bool,
}

/// The JSON of a snapshot.
pub fn snapshot_json(s: &EngineSnapshot) -> Value {
    json!({
        "href": format!("{API}/vms/{}/snapshots/{}", s.vm, s.id), "id": s.id,
        "description": s.description, "snapshot_status": s.status,
        "snapshot_type": "regular", "persist_memorystate": "false",
        "vm": {"href": format!("{API}/vms/{}", s.vm), "id": s.vm},
    })
}

/// Routes the snapshot requests; `None` for other paths.
pub(super) fn route(
    state: &mut State,
    method: &Method,
    parts: &[&str],
    body: &Value,
) -> Option<Answer> {
    let vm = match parts {
        ["vms", vm, "snapshots", ..] => (*vm).to_owned(),
        _ => return None,
    };
    let Some(found) = state.vms.iter().find(|v| v.id == vm) else {
        return Some(not_found(&format!("vms/{vm}")));
    };
    let vm_disks: Vec<String> = found.disks.iter().map(|d| d.id.clone()).collect();
    Some(match (method.clone(), &parts[3..]) {
        (Method::POST, []) => {
            if body.get("persist_memorystate").and_then(Value::as_bool) != Some(false) {
                return Some(fault(
                    400,
                    "Bad Request",
                    "persist_memorystate must be false here",
                ));
            }
            let disks = super::ids_in(body, "/disk_attachments/disk_attachment", "/disk/id");
            if let Some(d) = disks.iter().find(|d| !vm_disks.contains(d)) {
                return Some(not_found(&format!("disks/{d}")));
            }
            if state
                .snapshots
                .iter()
                .any(|s| s.vm == vm && s.status == "locked")
            {
                return Some(fault(
                    409,
                    "Operation Failed",
                    "[Cannot create Snapshot. Snapshot is currently being created for VM.]",
                ));
            }
            let snapshot = EngineSnapshot {
                id: state.id(),
                vm,
                description: body
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                status: "locked".into(),
                disks,
                removing: false,
            };
            let value = snapshot_json(&snapshot);
            state.snapshots.push(snapshot);
            answer(StatusCode::CREATED, &value)
        }
        (Method::GET, [id]) => {
            let Some(at) = state
                .snapshots
                .iter()
                .position(|s| s.vm == vm && s.id == *id)
            else {
                return Some(not_found(&format!("vms/{vm}/snapshots/{id}")));
            };
            if state.snapshots[at].removing {
                state.snapshots.remove(at);
                return Some(not_found(&format!("vms/{vm}/snapshots/{id}")));
            }
            let s = &mut state.snapshots[at];
            s.status = "ok".into();
            answer(StatusCode::OK, &snapshot_json(s))
        }
        (Method::DELETE, [id]) => {
            let Some(s) = state
                .snapshots
                .iter_mut()
                .find(|s| s.vm == vm && s.id == *id)
            else {
                return Some(not_found(&format!("vms/{vm}/snapshots/{id}")));
            };
            s.status = "locked".into();
            s.removing = true;
            answer(StatusCode::OK, &json!({"status": "complete"}))
        }
        _ => return None,
    })
}
