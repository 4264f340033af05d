//! Disk data of a server, as upstream Forklift reads it: an image-booted root disk through
//! a Nova `createImage` snapshot; each volume through a Cinder snapshot, a volume made from
//! it and `os-volume_upload_image`; then the Glance image's data ([`image`](super::image)).
//! Every image, snapshot and volume created is recorded in the [`Ledger`] before it is
//! waited for, so [`delete_all`] removes it whether the migration succeeds or fails.

use forklift_core::error::PeerText;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::OpenstackProvider;
use super::error::{OpenstackError, Refusal};
use super::http::{Service, Session, decode};
use super::image::{Expected, download, open_staged, staging_path};
use super::limits::{
    DELETE_LIMIT, IMAGE_ACTIVE_LIMIT, POLL_INTERVAL, SNAPSHOT_UPLOAD_GRACE, VOLUME_READY_LIMIT,
};
use super::model::{Image, Server, Snapshot, Volume};
use crate::capability::{DiskAccess, DiskRef, SnapshotRef, VmRef};
use crate::error::Result;

/// Kind of a resource the migration created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CreatedKind {
    /// A Glance image (deleted first: it may hold a volume in `uploading`).
    Image,
    /// A Cinder volume made from a snapshot.
    Volume,
    /// A Cinder snapshot (deleted last: the volume made from it depends on it).
    Snapshot,
}

/// A resource the migration created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Kind.
    pub kind: CreatedKind,
    /// ID.
    pub id: String,
}

/// The resources created and not yet deleted.
#[derive(Debug, Default)]
pub struct Ledger(tokio::sync::Mutex<Vec<Created>>);

impl Ledger {
    async fn record(&self, kind: CreatedKind, id: &str) {
        self.0.lock().await.push(Created {
            kind,
            id: id.to_owned(),
        });
    }

    /// A copy of the entries.
    pub async fn snapshot(&self) -> Vec<Created> {
        self.0.lock().await.clone()
    }
}

impl CreatedKind {
    fn path(self, id: &str) -> (Service, String) {
        match self {
            Self::Image => (Service::Image, format!("/images/{id}")),
            Self::Volume => (Service::Volume, format!("/volumes/{id}")),
            Self::Snapshot => (Service::Volume, format!("/snapshots/{id}")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Volume => "volume",
            Self::Snapshot => "snapshot",
        }
    }
}

/// Deletes every recorded resource, images first, then volumes, then snapshots, each
/// waited for until it is gone (bounded by [`DELETE_LIMIT`]). Entries that fail stay in
/// the ledger; the first failure is returned after trying them all.
pub async fn delete_all(session: &Session, ledger: &Ledger) -> Result<()> {
    let mut entries = std::mem::take(&mut *ledger.0.lock().await);
    entries.sort_by_key(|c| c.kind);
    let mut first_error = None;
    let mut kept = Vec::new();
    for entry in entries {
        match delete_one(session, &entry).await {
            Ok(()) => {
                tracing::info!(kind = entry.kind.name(), id = %PeerText(&entry.id), "deleted")
            }
            Err(e) => {
                tracing::warn!(kind = entry.kind.name(), id = %PeerText(&entry.id),
                    error = %forklift_core::error::chain(&e), "cannot delete what the migration created");
                first_error.get_or_insert(e);
                kept.push(entry);
            }
        }
    }
    ledger.0.lock().await.extend(kept);
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

async fn delete_one(session: &Session, entry: &Created) -> Result<(), OpenstackError> {
    let (service, path) = entry.kind.path(&entry.id);
    let what = format!("{} {}", entry.kind.name(), entry.id);
    let started = tokio::time::Instant::now();
    let mut deleted = false;
    loop {
        if !deleted {
            match session
                .send(
                    service,
                    Method::DELETE,
                    &path,
                    None,
                    &format!("deleting {what}"),
                )
                .await
            {
                Ok(_) => deleted = true,
                Err(e) if e.refusal() == Some(Refusal::NotFound) => return Ok(()),
                // A volume still busy (`uploading`, `creating`) refuses deletion for a while.
                Err(e)
                    if matches!(e.refusal(), Some(Refusal::Conflict | Refusal::Other))
                        && started.elapsed() < DELETE_LIMIT => {}
                Err(e) => return Err(e),
            }
        } else {
            match session
                .send(
                    service,
                    Method::GET,
                    &path,
                    None,
                    &format!("reading {what}"),
                )
                .await
            {
                Err(e) if e.refusal() == Some(Refusal::NotFound) => return Ok(()),
                Err(e) => return Err(e),
                Ok(answer) => {
                    // Glance keeps deleted images readable with status `deleted` for admins.
                    let body: Value = decode(service, "reading", &answer.body)?;
                    let status = body
                        .get("status")
                        .or_else(|| body.get(entry.kind.name()).and_then(|o| o.get("status")))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if status == "deleted" {
                        return Ok(());
                    }
                    if status == "error_deleting" {
                        return Err(OpenstackError::ResourceFailed {
                            what,
                            status: status.to_owned(),
                            fault: None,
                        });
                    }
                }
            }
        }
        if started.elapsed() >= DELETE_LIMIT {
            return Err(OpenstackError::WaitTimeout {
                what,
                wanted: "deleted",
                seconds: DELETE_LIMIT.as_secs(),
                last: "present".to_owned(),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Polls `read` until its status is `wanted`; an `error*` or `killed` status fails, and so
/// does reaching `limit`.
async fn wait_status<F, Fut>(
    what: &str,
    wanted: &'static str,
    limit: Duration,
    mut read: F,
) -> Result<(), OpenstackError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<String, OpenstackError>>,
{
    let started = tokio::time::Instant::now();
    loop {
        let status = read().await?;
        if status == wanted {
            return Ok(());
        }
        if status.starts_with("error") || status == "killed" || status == "deleted" {
            return Err(OpenstackError::ResourceFailed {
                what: what.to_owned(),
                status,
                fault: None,
            });
        }
        if started.elapsed() >= limit {
            return Err(OpenstackError::WaitTimeout {
                what: what.to_owned(),
                wanted,
                seconds: limit.as_secs(),
                last: status,
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[derive(Deserialize)]
struct VolumeBody {
    volume: Volume,
}

#[derive(Deserialize)]
struct SnapshotBody {
    snapshot: Snapshot,
}

#[derive(Deserialize)]
struct UploadBody {
    #[serde(rename = "os-volume_upload_image")]
    upload: UploadDetail,
}

#[derive(Deserialize)]
struct UploadDetail {
    image_id: String,
}

impl OpenstackProvider {
    async fn image(&self, id: &str) -> Result<Image, OpenstackError> {
        self.session
            .get(
                Service::Image,
                &format!("/images/{id}"),
                &format!("reading image {id}"),
            )
            .await
    }

    async fn volume(&self, id: &str) -> Result<Volume, OpenstackError> {
        let body: VolumeBody = self
            .session
            .get(
                Service::Volume,
                &format!("/volumes/{id}"),
                &format!("reading volume {id}"),
            )
            .await?;
        Ok(body.volume)
    }

    async fn wait_image_active(&self, id: &str) -> Result<Image, OpenstackError> {
        wait_status(
            &format!("image {id}"),
            "active",
            IMAGE_ACTIVE_LIMIT,
            || async { Ok(self.image(id).await?.status) },
        )
        .await?;
        self.image(id).await
    }

    async fn wait_volume(&self, id: &str) -> Result<(), OpenstackError> {
        wait_status(
            &format!("volume {id}"),
            "available",
            VOLUME_READY_LIMIT,
            || async { Ok(self.volume(id).await?.status) },
        )
        .await
    }

    /// Waits until Nova's snapshot task of `vm` is over; an image still `queued` for
    /// [`SNAPSHOT_UPLOAD_GRACE`] after that will never receive data (Nova gave up).
    async fn wait_server_snapshot(&self, vm: &VmRef, image: &str) -> Result<(), OpenstackError> {
        let started = tokio::time::Instant::now();
        let mut idle_since = None;
        loop {
            let status = self.image(image).await?.status;
            if status != "queued" {
                return Ok(());
            }
            let server = self.server(vm).await?;
            match (&server.task_state, idle_since) {
                (Some(_), _) => idle_since = None,
                (None, None) => idle_since = Some(tokio::time::Instant::now()),
                (None, Some(since)) if since.elapsed() >= SNAPSHOT_UPLOAD_GRACE => {
                    return Err(OpenstackError::ResourceFailed {
                        what: format!("image {image} of server {vm}'s snapshot"),
                        status,
                        fault: Some(
                            "Nova finished the snapshot task without uploading data; see \
                             nova-compute's log"
                                .to_owned(),
                        ),
                    });
                }
                (None, Some(_)) => {}
            }
            if started.elapsed() >= IMAGE_ACTIVE_LIMIT {
                return Err(OpenstackError::WaitTimeout {
                    what: format!("image {image}"),
                    wanted: "active",
                    seconds: IMAGE_ACTIVE_LIMIT.as_secs(),
                    last: status,
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Nova `createImage` of an image-booted server; returns the new image's ID.
    async fn snapshot_server(&self, server: &Server, name: &str) -> Result<String, OpenstackError> {
        let answer = self
            .session
            .send(
                Service::Compute,
                Method::POST,
                &format!("/servers/{}/action", server.id),
                Some(&json!({"createImage": {"name": name,
                    "metadata": {"forklift_source_server": server.id}}})),
                &format!("createImage of server {}", server.id),
            )
            .await?;
        // Microversions before 2.45 name the image in the Location header, later ones in
        // the body.
        let from_body = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|b| b.get("image_id").and_then(Value::as_str).map(str::to_owned));
        let from_header = answer
            .headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.rsplit('/').next())
            .map(str::to_owned);
        let id = from_body.or(from_header).filter(|id| !id.is_empty());
        id.ok_or_else(|| OpenstackError::ResourceFailed {
            what: format!("createImage of server {}", server.id),
            status: "no image ID in the answer".to_owned(),
            fault: None,
        })
    }

    /// Cinder snapshot → volume → `os-volume_upload_image`; returns the image's ID. Each
    /// resource is recorded before it is waited for.
    async fn upload_volume(&self, volume_id: &str, name: &str) -> Result<String, OpenstackError> {
        let source = self.volume(volume_id).await?;
        let answer = self
            .session
            .send(
                Service::Volume,
                Method::POST,
                "/snapshots",
                Some(&json!({"snapshot": {"volume_id": volume_id, "force": true, "name": name}})),
                &format!("snapshot of volume {volume_id}"),
            )
            .await?;
        let snapshot: SnapshotBody = decode(Service::Volume, "creating a snapshot", &answer.body)?;
        let snapshot = snapshot.snapshot.id;
        self.created.record(CreatedKind::Snapshot, &snapshot).await;
        wait_status(
            &format!("snapshot {snapshot}"),
            "available",
            VOLUME_READY_LIMIT,
            || async {
                let body: SnapshotBody = self
                    .session
                    .get(
                        Service::Volume,
                        &format!("/snapshots/{snapshot}"),
                        "reading a snapshot",
                    )
                    .await?;
                Ok(body.snapshot.status)
            },
        )
        .await?;
        let answer = self
            .session
            .send(
                Service::Volume,
                Method::POST,
                "/volumes",
                Some(
                    &json!({"volume": {"snapshot_id": snapshot, "size": source.size,
                    "name": name, "volume_type": source.volume_type}}),
                ),
                &format!("volume from snapshot {snapshot}"),
            )
            .await?;
        let volume: VolumeBody = decode(Service::Volume, "creating a volume", &answer.body)?;
        let volume = volume.volume.id;
        self.created.record(CreatedKind::Volume, &volume).await;
        self.wait_volume(&volume).await?;
        let answer = self
            .session
            .send(
                Service::Volume,
                Method::POST,
                &format!("/volumes/{volume}/action"),
                Some(
                    &json!({"os-volume_upload_image": {"image_name": name, "force": true,
                    "disk_format": "raw", "container_format": "bare"}}),
                ),
                &format!("os-volume_upload_image of volume {volume}"),
            )
            .await?;
        let upload: UploadBody = decode(Service::Volume, "os-volume_upload_image", &answer.body)?;
        Ok(upload.upload.image_id)
    }

    /// The active Glance image holding `disk`'s data, created for this migration.
    async fn image_of_disk(&self, vm: &VmRef, disk: &DiskRef) -> Result<Image, OpenstackError> {
        let server = Self::usable(self.server(vm).await?)?;
        let name = format!("forklift-{}-{}", server.name, disk.file);
        let image_id = if server.image_id() == Some(disk.file.as_str()) {
            let id = self.snapshot_server(&server, &name).await?;
            self.created.record(CreatedKind::Image, &id).await;
            self.wait_server_snapshot(vm, &id).await?;
            id
        } else if server.volumes_attached.iter().any(|v| v.id == disk.file) {
            let id = self.upload_volume(&disk.file, &name).await?;
            self.created.record(CreatedKind::Image, &id).await;
            id
        } else {
            return Err(OpenstackError::UnknownDisk {
                server: server.id,
                disk: disk.file.clone(),
            });
        };
        self.wait_image_active(&image_id).await
    }
}

#[async_trait]
impl DiskAccess for OpenstackProvider {
    /// Snapshots the disk into a Glance image (`disk.file` is the root disk's image ID or
    /// the volume ID, as the inventory names disks), downloads it to the staging folder and
    /// opens it. The server should be off (the migration powers it off first).
    async fn open_disk(
        &self,
        vm: &VmRef,
        disk: &DiskRef,
        snapshot: Option<&SnapshotRef>,
    ) -> Result<Box<dyn forklift_transfer::block::BlockSource>> {
        let _ = snapshot;
        let image = self.image_of_disk(vm, disk).await?;
        let expected = Expected::of(&image)?;
        let url = self
            .session
            .url(Service::Image, &format!("/images/{}/file", image.id))
            .await?;
        let path = staging_path(&self.session.config().staging_dir, &image.id);
        let token = self.session.token().await?;
        let resumes = download(self.session.http(), &url, &token.value, &expected, &path).await;
        let resumes = match resumes {
            Ok(resumes) => resumes,
            Err(e) => {
                let _ = tokio::fs::remove_file(&path).await;
                return Err(e.into());
            }
        };
        tracing::info!(vm = %PeerText(vm.id()), image = %PeerText(&image.id), bytes = expected.size,
            resumes, "image downloaded");
        let format = image.disk_format.as_deref().unwrap_or("raw");
        Ok(open_staged(&path, format).await?)
    }
}
