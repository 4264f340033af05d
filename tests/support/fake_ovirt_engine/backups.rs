//! Incremental backup in the test engine, over REAL qemu dirty bitmaps, as the oVirt engine
//! does it through vdsm and libvirt checkpoints:
//!
//! - `POST /vms/ID/backups` (`disks`, optional `from_checkpoint_id`): every disk must have
//!   `backup: incremental` and be cow; a VM with a backup not yet ended answers 409; the
//!   checkpoint must be the VM's. The backup's checkpoint becomes a persistent bitmap in each
//!   live qcow2 (`qemu-img bitmap --add`), so later guest writes (`qemu-io` on the live
//!   image) are tracked for real; the disk as of the backup is frozen into a copy of the
//!   qcow2, bitmaps included. Phases: `initializing` → (next read) `ready` (or `failed`
//!   with [`Faults::fail_backups`](super::Faults)), `finalize` → `finalizing` → `succeeded`.
//! - An image transfer with `backup: {id}` (allowed while the VM runs) gets a REAL imageio
//!   ticket over a qemu-nbd export of the frozen copy, with `--bitmap=<from checkpoint>` and
//!   a `dirty: true` ticket for an incremental backup: `extents?context=dirty` then answers
//!   exactly what the guest wrote since that checkpoint.
//! - `GET /vms/ID/checkpoints` (chain with `parent_id`), `DELETE` of the oldest only
//!   (removes its bitmaps); `PUT /disks/ID` (`backup`).

use std::path::PathBuf;
use std::process::Command;

use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Answer, State, answer, fault, not_found};

const API: &str = "/ovirt-engine/api";

/// A backup of the engine.
#[derive(Debug, Clone)]
pub struct EngineBackup {
    pub id: String,
    pub vm: String,
    pub phase: String,
    pub from: Option<String>,
    pub to: String,
    /// `(disk id, frozen copy)`.
    pub disks: Vec<(String, PathBuf)>,
}

impl EngineBackup {
    /// Whether the backup has not ended (`succeeded` or `failed`).
    pub fn is_open(&self) -> bool {
        !matches!(self.phase.as_str(), "succeeded" | "failed")
    }
}

/// A checkpoint of the engine: a bitmap of that name in each of its disks.
#[derive(Debug, Clone)]
pub struct EngineCheckpoint {
    pub id: String,
    pub vm: String,
    pub parent: Option<String>,
    pub disks: Vec<String>,
}

fn run(command: &mut Command) -> Result<(), String> {
    let out = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn backup_json(b: &EngineBackup) -> Value {
    let mut value = json!({
        "href": format!("{API}/vms/{}/backups/{}", b.vm, b.id), "id": b.id, "phase": b.phase,
        "to_checkpoint_id": b.to, "creation_date": 0,
        "vm": {"href": format!("{API}/vms/{}", b.vm), "id": b.vm},
        "disks": {"disk": b.disks.iter().map(|(d, _)| json!({
            "href": format!("{API}/disks/{d}"), "id": d,
            "backup_mode": if b.from.is_some() { "incremental" } else { "full" }}))
            .collect::<Vec<_>>()},
        "actions": {"link": [{"href": format!("{API}/vms/{}/backups/{}/finalize", b.vm, b.id),
            "rel": "finalize"}]},
    });
    if let Some(from) = &b.from {
        value["from_checkpoint_id"] = json!(from);
    }
    value
}

fn checkpoint_json(c: &EngineCheckpoint) -> Value {
    let mut value = json!({
        "href": format!("{API}/vms/{}/checkpoints/{}", c.vm, c.id), "id": c.id,
        "state": "created", "creation_date": 0, "vm": {"id": c.vm},
        "disks": {"disk": c.disks.iter().map(|d| json!({"id": d})).collect::<Vec<_>>()},
    });
    if let Some(parent) = &c.parent {
        value["parent_id"] = json!(parent);
    }
    value
}

/// The live image of disk `id`.
fn image_of(state: &State, id: &str) -> Option<PathBuf> {
    state
        .vms
        .iter()
        .flat_map(|v| v.disks.iter())
        .find(|d| d.id == id)
        .map(|d| d.image.clone())
}

/// Backup `id` of VM `vm`, or the path the engine's 404 names: the VM (gone) or the backup.
fn backup_mut<'a>(
    state: &'a mut State,
    vm: &str,
    id: &str,
) -> Result<&'a mut EngineBackup, String> {
    if !state.vms.iter().any(|v| v.id == vm) {
        return Err(format!("vms/{vm}"));
    }
    state
        .backups
        .iter_mut()
        .find(|b| b.vm == vm && b.id == id)
        .ok_or_else(|| format!("vms/{vm}/backups/{id}"))
}

/// Routes the backup, checkpoint and disk-update requests; `None` for other paths.
pub(super) fn route(
    state: &mut State,
    method: &Method,
    parts: &[&str],
    body: &Value,
) -> Option<Answer> {
    Some(match (method.clone(), parts) {
        (Method::GET, ["vms", vm, "backups"]) => {
            let items: Vec<Value> = state
                .backups
                .iter()
                .filter(|b| b.vm == *vm)
                .map(backup_json)
                .collect();
            answer(StatusCode::OK, &json!({ "backup": items }))
        }
        (Method::POST, ["vms", vm, "backups"]) => start(state, vm, body),
        (Method::GET, ["vms", vm, "backups", id]) => {
            let fail = state.faults.fail_backups;
            let b = match backup_mut(state, vm, id) {
                Ok(b) => b,
                Err(missing) => return Some(not_found(&missing)),
            };
            // One read per transition, as the engine's phases move on between polls.
            match b.phase.as_str() {
                "initializing" if fail => b.phase = "failed".into(),
                "initializing" => b.phase = "ready".into(),
                "finalizing" => b.phase = "succeeded".into(),
                _ => {}
            }
            let (value, failed) = (backup_json(b), b.phase == "failed");
            if failed {
                end_backup(state, id, false);
            }
            answer(StatusCode::OK, &value)
        }
        (Method::POST, ["vms", vm, "backups", id, "finalize"]) => {
            let b = match backup_mut(state, vm, id) {
                Ok(b) => b,
                Err(missing) => return Some(not_found(&missing)),
            };
            if b.is_open() && b.phase != "finalizing" {
                b.phase = "finalizing".into();
                end_backup(state, id, true);
            }
            answer(StatusCode::OK, &json!({"status": "complete"}))
        }
        (Method::GET, ["vms", vm, "checkpoints"]) => {
            if !state.vms.iter().any(|v| v.id == *vm) {
                return Some(not_found(&format!("vms/{vm}")));
            }
            let items: Vec<Value> = state
                .checkpoints
                .iter()
                .filter(|c| c.vm == *vm)
                .map(checkpoint_json)
                .collect();
            answer(StatusCode::OK, &json!({ "checkpoint": items }))
        }
        (Method::DELETE, ["vms", vm, "checkpoints", id]) => remove_checkpoint(state, vm, id),
        (Method::PUT, ["disks", id]) => {
            let wanted = body.get("backup").and_then(Value::as_str);
            let Some(disk) = state
                .vms
                .iter_mut()
                .flat_map(|v| v.disks.iter_mut())
                .find(|d| d.id == *id)
            else {
                return Some(not_found(&format!("disks/{id}")));
            };
            match wanted {
                Some("incremental") if disk.format != "cow" => fault(
                    409,
                    "Operation Failed",
                    "[Cannot edit Virtual Disk. Incremental backup is supported only for QCOW2 disks.]",
                ),
                Some(mode @ ("incremental" | "none")) => {
                    disk.backup = if mode == "incremental" {
                        "incremental"
                    } else {
                        "none"
                    };
                    answer(StatusCode::OK, &json!({"id": id, "backup": mode}))
                }
                _ => fault(400, "Bad Request", "unsupported disk update"),
            }
        }
        _ => return None,
    })
}

fn start(state: &mut State, vm: &str, body: &Value) -> Answer {
    let Some(found) = state.vms.iter().find(|v| v.id == vm) else {
        return not_found(&format!("vms/{vm}"));
    };
    let vm_disks = found.disks.clone();
    if state.backups.iter().any(|b| b.vm == vm && b.is_open()) {
        return fault(
            409,
            "Operation Failed",
            "[Cannot backup VM. The VM is during a backup operation.]",
        );
    }
    let asked = super::ids_in(body, "/disks/disk", "/id");
    if asked.is_empty() {
        return fault(400, "Bad Request", "a backup needs disks");
    }
    for id in &asked {
        let Some(disk) = vm_disks.iter().find(|d| d.id == *id) else {
            return not_found(&format!("disks/{id}"));
        };
        if disk.backup != "incremental" || disk.format != "cow" {
            return fault(
                409,
                "Operation Failed",
                &format!(
                    "[Cannot backup VM. Disk {} is not enabled for incremental backup.]",
                    disk.alias
                ),
            );
        }
    }
    let from = body
        .get("from_checkpoint_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(from) = &from {
        if !state
            .checkpoints
            .iter()
            .any(|c| c.vm == vm && c.id == *from)
        {
            return fault(
                400,
                "Bad Request",
                &format!("[Cannot backup VM. Checkpoint {from} does not exist.]"),
            );
        }
    }
    let id = state.id();
    let to = state.id();
    // The checkpoint's bitmap starts tracking now; the frozen copy is the disk as of now.
    let mut disks = Vec::new();
    for disk in &asked {
        let Some(image) = image_of(state, disk) else {
            continue;
        };
        let frozen = image.with_file_name(format!("{disk}.backup-{id}.qcow2"));
        let made = run(Command::new("qemu-img")
            .args(["bitmap", "--add"])
            .arg(&image)
            .arg(&to))
        .and_then(|()| {
            run(Command::new("cp")
                .arg("--sparse=always")
                .arg(&image)
                .arg(&frozen))
        });
        if let Err(e) = made {
            return fault(500, "Operation Failed", &format!("vdsm: {e}"));
        }
        disks.push((disk.clone(), frozen));
    }
    let parent = state
        .checkpoints
        .iter()
        .rfind(|c| c.vm == vm)
        .map(|c| c.id.clone());
    state.checkpoints.push(EngineCheckpoint {
        id: to.clone(),
        vm: vm.to_owned(),
        parent,
        disks: asked,
    });
    let backup = EngineBackup {
        id,
        vm: vm.to_owned(),
        phase: "initializing".into(),
        from,
        to,
        disks,
    };
    let value = backup_json(&backup);
    state.backups.push(backup);
    answer(StatusCode::CREATED, &value)
}

/// Drops a backup's frozen copies; a backup that did not succeed takes its checkpoint
/// (and bitmaps) with it.
fn end_backup(state: &mut State, id: &str, succeeded: bool) {
    let Some(b) = state.backups.iter().find(|b| b.id == id).cloned() else {
        return;
    };
    for (_, frozen) in &b.disks {
        let _ = std::fs::remove_file(frozen);
    }
    if !succeeded {
        drop_checkpoint(state, &b.to);
    }
}

fn drop_checkpoint(state: &mut State, id: &str) {
    let Some(at) = state.checkpoints.iter().position(|c| c.id == id) else {
        return;
    };
    let checkpoint = state.checkpoints.remove(at);
    for disk in &checkpoint.disks {
        if let Some(image) = image_of(state, disk) {
            let _ = run(Command::new("qemu-img")
                .args(["bitmap", "--remove"])
                .arg(&image)
                .arg(id));
        }
    }
    for c in state.checkpoints.iter_mut() {
        if c.parent.as_deref() == Some(id) {
            c.parent.clone_from(&checkpoint.parent);
        }
    }
}

fn remove_checkpoint(state: &mut State, vm: &str, id: &str) -> Answer {
    if !state.vms.iter().any(|v| v.id == vm) {
        return not_found(&format!("vms/{vm}"));
    }
    let Some(c) = state.checkpoints.iter().find(|c| c.vm == vm && c.id == id) else {
        return not_found(&format!("vms/{vm}/checkpoints/{id}"));
    };
    if c.parent.is_some() {
        return fault(
            409,
            "Operation Failed",
            "[Cannot remove checkpoint. Only the oldest checkpoint of the VM can be removed.]",
        );
    }
    if state
        .backups
        .iter()
        .any(|b| b.is_open() && (b.to == id || b.from.as_deref() == Some(id)))
    {
        return fault(
            409,
            "Operation Failed",
            "[Cannot remove checkpoint. A backup that uses it is in progress.]",
        );
    }
    drop_checkpoint(state, id);
    answer(StatusCode::OK, &json!({"status": "complete"}))
}

/// For a transfer with `backup: {id}` on `disk`: the frozen image and the bitmap its
/// ticket serves, or the fault refusing the transfer.
pub(super) fn transfer_source(
    state: &State,
    backup: &str,
    disk: &str,
) -> Result<(PathBuf, Option<String>), Box<Answer>> {
    let Some(b) = state.backups.iter().find(|b| b.id == backup) else {
        return Err(Box::new(not_found(&format!("backups/{backup}"))));
    };
    if b.phase != "ready" {
        return Err(Box::new(fault(
            409,
            "Operation Failed",
            &format!(
                "[Cannot transfer Virtual Disk: backup {backup} is {}.]",
                b.phase
            ),
        )));
    }
    match b.disks.iter().find(|(d, _)| d == disk) {
        Some((_, frozen)) => Ok((frozen.clone(), b.from.clone())),
        None => Err(Box::new(fault(
            409,
            "Operation Failed",
            &format!("[Cannot transfer Virtual Disk: disk {disk} is not in backup {backup}.]"),
        ))),
    }
}

/// Forgets a VM as the engine does when it is removed: its backups end (their frozen
/// copies dropped) and its checkpoints go.
pub fn forget_vm(state: &mut State, vm: &str) {
    let ids: Vec<String> = state
        .backups
        .iter()
        .filter(|b| b.vm == vm)
        .map(|b| b.id.clone())
        .collect();
    for id in ids {
        end_backup(state, &id, true);
    }
    state.backups.retain(|b| b.vm != vm);
    state.checkpoints.retain(|c| c.vm != vm);
    state.vms.retain(|v| v.id != vm);
}
