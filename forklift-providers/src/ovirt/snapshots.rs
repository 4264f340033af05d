//! Disk snapshots of a VM (`POST /vms/ID/snapshots` with `persist_memorystate: false` and
//! the disks as `disk_attachments`), waited for until their `snapshot_status` is `ok`, and
//! removed (`DELETE`, waited for until the engine forgets them). Both waits are bounded by
//! [`SNAPSHOT_LIMIT`]. Warm migration reads incremental backups instead
//! ([`warm`](super::warm)); these are for callers that need a frozen disk chain.

use super::poll::{Look, Wait};

use forklift_core::error::PeerText;
use serde_json::{Value, json};

use super::client::Engine;
use super::error::{OvirtError, Result};
use super::limits::SNAPSHOT_LIMIT;
use super::model::Snapshot;
use super::ops::path_id;
use crate::capability::VmRef;

fn snapshot_path(vm: &VmRef, id: &str) -> String {
    format!("/vms/{}/snapshots/{}", path_id(vm.id()), path_id(id))
}

/// Takes a disk-only snapshot of `disks` of `vm` and returns its ID once it is `ok`. One
/// that the engine does not finish in time is removed (best effort) before the error.
pub async fn create(
    engine: &Engine,
    vm: &VmRef,
    description: &str,
    disks: &[String],
) -> Result<String> {
    let attachments: Vec<Value> = disks
        .iter()
        .map(|id| json!({ "disk": { "id": id } }))
        .collect();
    let body = json!({
        "description": description,
        "persist_memorystate": false,
        "disk_attachments": { "disk_attachment": attachments },
    });
    let created: Snapshot = engine
        .post(
            &format!("/vms/{}/snapshots", path_id(vm.id())),
            &body,
            &format!("snapshot VM {vm}"),
        )
        .await?;
    if created.id.is_empty() {
        return Err(OvirtError::SnapshotFailed {
            snapshot: String::new(),
            vm: vm.id().to_owned(),
            status: created.snapshot_status,
        });
    }
    match wait_ok(engine, vm, &created.id).await {
        Ok(()) => Ok(created.id),
        Err(e) => {
            if let Err(removal) = remove(engine, vm, &created.id).await {
                tracing::warn!(vm = %PeerText(vm.id()), snapshot = %PeerText(&created.id),
                    "cannot remove the snapshot: {removal}");
            }
            Err(e)
        }
    }
}

async fn wait_ok(engine: &Engine, vm: &VmRef, id: &str) -> Result<()> {
    let what = || format!("snapshot {id} of VM {vm}");
    let wait = Wait {
        what: &what,
        wanted: "ok",
        limit: SNAPSHOT_LIMIT,
    };
    wait.poll(|| async {
        let snapshot: Snapshot = engine
            .get(
                &snapshot_path(vm, id),
                &format!("read snapshot {id} of VM {vm}"),
            )
            .await?;
        match snapshot.snapshot_status.as_str() {
            "ok" => Ok(Look::Done(())),
            "locked" => Ok(Look::Pending(snapshot.snapshot_status)),
            _ => Err(OvirtError::SnapshotFailed {
                snapshot: id.to_owned(),
                vm: vm.id().to_owned(),
                status: snapshot.snapshot_status,
            }),
        }
    })
    .await
}

/// Removes a snapshot and waits until the engine no longer lists it (its data merged
/// into the disks). One already gone answers the 404 error.
pub async fn remove(engine: &Engine, vm: &VmRef, id: &str) -> Result<()> {
    let path = snapshot_path(vm, id);
    engine
        .send(
            reqwest::Method::DELETE,
            &path,
            None,
            &format!("remove snapshot {id} of VM {vm}"),
        )
        .await?;
    let what = || format!("removal of snapshot {id} of VM {vm}");
    let wait = Wait {
        what: &what,
        wanted: "removed",
        limit: SNAPSHOT_LIMIT,
    };
    wait.poll(|| async {
        match engine.get::<Snapshot>(&path, "read the snapshot").await {
            Ok(snapshot) => Ok(Look::Pending(snapshot.snapshot_status)),
            Err(e) if e.is_not_found() => Ok(Look::Done(())),
            Err(e) => Err(e),
        }
    })
    .await
}
