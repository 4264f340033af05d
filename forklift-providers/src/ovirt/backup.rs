//! Engine operations of oVirt incremental backup (API v4, engine 4.4+): start a backup of
//! some disks of a VM (`POST /vms/ID/backups`, full, or incremental `from_checkpoint_id`),
//! wait for its `ready` phase, finalize it (`POST .../backups/ID/finalize`, then wait for
//! `succeeded`), and the VM's checkpoint chain (`GET /vms/ID/checkpoints`, `DELETE` of the
//! oldest). The data of a ready backup is read through image transfers bound to it
//! ([`transfer::open`](super::transfer::open) with the backup's ID).

use super::poll::{Look, Wait};

use serde_json::{Value, json};

use super::client::Engine;
use super::error::{OvirtError, Result};
use super::limits::{BACKUP_END_LIMIT, BACKUP_READY_LIMIT, MAX_CHECKPOINTS, OvirtLimit};
use super::model::{Backup, Checkpoint, DiskAttachment};
use super::ops::path_id;
use crate::capability::VmRef;

fn backups_path(vm: &VmRef) -> String {
    format!("/vms/{}/backups", path_id(vm.id()))
}

fn backup_path(vm: &VmRef, id: &str) -> String {
    format!("{}/{}", backups_path(vm), path_id(id))
}

/// The VM's disk attachments with their disks (`follow=disk`).
pub async fn disk_attachments(engine: &Engine, vm: &VmRef) -> Result<Vec<DiskAttachment>> {
    engine
        .list(
            &format!("/vms/{}/diskattachments", path_id(vm.id())),
            "disk_attachment",
            "follow=disk",
            false,
            &format!("read the disks of VM {vm}"),
        )
        .await
}

/// Why `attachment`'s disk cannot be backed up incrementally, if it cannot.
pub fn not_incremental(attachment: &DiskAttachment) -> Option<String> {
    let disk = &attachment.disk;
    if !disk.storage_type.is_empty() && disk.storage_type != "image" {
        return Some(format!("it is a {} disk, not an image", disk.storage_type));
    }
    if disk.backup != "incremental" {
        let mode = if disk.backup.is_empty() {
            "unset"
        } else {
            &disk.backup
        };
        return Some(format!("its incremental backup mode is '{mode}'"));
    }
    if disk.format != "cow" {
        return Some(format!("its format is '{}', not cow (qcow2)", disk.format));
    }
    None
}

/// Starts a backup of `disks` of `vm`: incremental from `from` when given, else full. A
/// 409 (the VM is being backed up already) is [`OvirtError::BackupInProgress`].
pub async fn start(
    engine: &Engine,
    vm: &VmRef,
    disks: &[String],
    from: Option<&str>,
) -> Result<Backup> {
    let disks: Vec<Value> = disks.iter().map(|id| json!({ "id": id })).collect();
    let mut body = json!({ "disks": { "disk": disks } });
    if let Some(from) = from {
        body["from_checkpoint_id"] = json!(from);
    }
    let started: Result<Backup> = engine
        .post(
            &backups_path(vm),
            &body,
            &format!("start a backup of VM {vm}"),
        )
        .await;
    match started {
        Err(OvirtError::Api {
            status: 409,
            detail,
            reason,
            ..
        }) => Err(OvirtError::BackupInProgress {
            vm: vm.id().to_owned(),
            detail: if detail.is_empty() { reason } else { detail },
        }),
        Ok(backup) if backup.id.is_empty() => Err(OvirtError::BackupFailed {
            backup: String::new(),
            vm: vm.id().to_owned(),
            phase: backup.phase,
        }),
        other => other,
    }
}

/// Reads a backup.
pub async fn get(engine: &Engine, vm: &VmRef, id: &str) -> Result<Backup> {
    engine
        .get(
            &backup_path(vm, id),
            &format!("read backup {id} of VM {vm}"),
        )
        .await
}

/// Polls the backup until it is `ready` (bounded by [`BACKUP_READY_LIMIT`]); a `failed`
/// or finalizing one is [`OvirtError::BackupFailed`].
pub async fn wait_ready(engine: &Engine, vm: &VmRef, id: &str) -> Result<Backup> {
    let what = || format!("backup {id} of VM {vm}");
    let wait = Wait {
        what: &what,
        wanted: "ready",
        limit: BACKUP_READY_LIMIT,
    };
    wait.poll(|| async {
        let backup = get(engine, vm, id).await?;
        match backup.phase.as_str() {
            "ready" => Ok(Look::Done(backup)),
            "initializing" | "starting" => Ok(Look::Pending(backup.phase)),
            _ => Err(OvirtError::BackupFailed {
                backup: id.to_owned(),
                vm: vm.id().to_owned(),
                phase: backup.phase,
            }),
        }
    })
    .await
}

/// Finalizes the backup and waits (bounded by [`BACKUP_END_LIMIT`]) until it `succeeded`,
/// `failed` or the engine forgot it. A backup already gone answers the 404 error.
pub async fn finalize(engine: &Engine, vm: &VmRef, id: &str) -> Result<()> {
    let path = backup_path(vm, id);
    let _: Value = engine
        .post(
            &format!("{path}/finalize"),
            &json!({}),
            &format!("finalize backup {id} of VM {vm}"),
        )
        .await?;
    let what = || format!("backup {id} of VM {vm}");
    let wait = Wait {
        what: &what,
        wanted: "succeeded",
        limit: BACKUP_END_LIMIT,
    };
    wait.poll(|| async {
        let backup = match get(engine, vm, id).await {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Ok(Look::Done(())),
            Err(e) => return Err(e),
        };
        Ok(if matches!(backup.phase.as_str(), "succeeded" | "failed") {
            Look::Done(())
        } else {
            Look::Pending(backup.phase)
        })
    })
    .await
}

/// The VM's checkpoints, oldest first (ordered by their `parent_id` links; checkpoints
/// outside the chain follow in the engine's order).
pub async fn checkpoints(engine: &Engine, vm: &VmRef) -> Result<Vec<Checkpoint>> {
    let operation = format!("read the checkpoints of VM {vm}");
    let all: Vec<Checkpoint> = engine
        .list(
            &format!("/vms/{}/checkpoints", path_id(vm.id())),
            "checkpoint",
            "",
            false,
            &operation,
        )
        .await?;
    if all.len() > MAX_CHECKPOINTS {
        return Err(OvirtError::Limit {
            operation,
            limit: OvirtLimit::Checkpoints,
        });
    }
    Ok(chain_order(all))
}

/// Orders checkpoints by their parent links, root first.
pub fn chain_order(mut all: Vec<Checkpoint>) -> Vec<Checkpoint> {
    let mut ordered = Vec::with_capacity(all.len());
    let mut parent = String::new();
    while let Some(at) = all.iter().position(|c| c.parent_id == parent) {
        let next = all.remove(at);
        parent.clone_from(&next.id);
        ordered.push(next);
        if parent.is_empty() {
            break;
        }
    }
    ordered.extend(all);
    ordered
}

/// Removes a checkpoint (the engine removes only the oldest of the chain).
pub async fn remove_checkpoint(engine: &Engine, vm: &VmRef, id: &str) -> Result<()> {
    engine
        .send(
            reqwest::Method::DELETE,
            &format!("/vms/{}/checkpoints/{}", path_id(vm.id()), path_id(id)),
            None,
            &format!("remove checkpoint {id} of VM {vm}"),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ovirt::model::Disk;

    fn checkpoint(id: &str, parent: &str) -> Checkpoint {
        Checkpoint {
            id: id.into(),
            parent_id: parent.into(),
            state: "created".into(),
        }
    }

    #[test]
    fn checkpoints_are_ordered_root_first_by_parent_links() {
        let ordered = chain_order(vec![
            checkpoint("c", "b"),
            checkpoint("a", ""),
            checkpoint("x", "gone"),
            checkpoint("b", "a"),
        ]);
        let ids: Vec<&str> = ordered.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "x"]);
    }

    #[test]
    fn only_incremental_cow_image_disks_can_be_backed_up_incrementally() {
        let attachment = |backup: &str, format: &str, storage: &str| DiskAttachment {
            disk: Disk {
                backup: backup.into(),
                format: format.into(),
                storage_type: storage.into(),
                ..Disk::default()
            },
            ..DiskAttachment::default()
        };
        assert_eq!(
            not_incremental(&attachment("incremental", "cow", "image")),
            None
        );
        assert!(
            not_incremental(&attachment("none", "cow", "image"))
                .unwrap()
                .contains("'none'")
        );
        assert!(
            not_incremental(&attachment("incremental", "raw", "image"))
                .unwrap()
                .contains("raw")
        );
        assert!(
            not_incremental(&attachment("incremental", "cow", "lun"))
                .unwrap()
                .contains("lun")
        );
    }
}
