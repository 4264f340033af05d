//! Disk data: an image transfer per disk (`POST /imagetransfers`, `direction: download`,
//! `format: raw`), waited for until `transferring`, read through the imageio daemon at its
//! `transfer_url` (else the engine's `proxy_url`).
//!
//! No transfer is left open: a failure while opening cancels it; the opened source holds an
//! [`OpenTransfer`] whose drop finalizes it (a task registered in [`Transfers`]); the
//! provider's `close()` waits for those tasks and then cancels whatever is still listed (a
//! source leaked or a drop outside a runtime).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use forklift_transfer::block::{BlockSizes, BlockSource, Extent, MetaContext};
use serde_json::json;

use super::client::Engine;
use super::error::{OvirtError, Result};
use super::limits::{POLL_INTERVAL, TRANSFER_END_LIMIT, TRANSFER_READY_LIMIT};
use super::model::{DiskAttachment, ImageTransfer};
use super::ops::path_id;
use crate::capability::{DiskRef, VmRef};
use crate::imageio::{ImageioDisk, ImageioOptions, ImageioTls};

/// The transfers of one provider still open, and the tasks finalizing dropped ones.
#[derive(Debug, Default)]
pub struct Transfers {
    /// Transfer ID → disk ID.
    open: Mutex<BTreeMap<String, String>>,
    ending: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Transfers {
    fn add(&self, id: &str, disk: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.insert(id.to_owned(), disk.to_owned());
        }
    }

    fn remove(&self, id: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(id);
        }
    }

    /// Transfer IDs still open.
    pub fn open_ids(&self) -> Vec<String> {
        self.open
            .lock()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Waits for the finalizing tasks, then cancels every transfer still open; the first
    /// failure is returned after all were tried.
    pub async fn end_all(&self, engine: &Engine) -> Result<()> {
        let tasks: Vec<_> = self
            .ending
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        for task in tasks {
            let _ = task.await;
        }
        let mut first = None;
        for id in self.open_ids() {
            let ended = end(engine, &id, "cancel").await;
            self.remove(&id);
            if let Err(e) = ended {
                tracing::warn!(transfer = %id, "cannot cancel the image transfer: {e}");
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

/// Finalizes (`finalize`) or cancels (`cancel`) a transfer and waits (bounded) until the
/// engine reports it ended or forgets it.
async fn end(engine: &Engine, id: &str, action: &'static str) -> Result<()> {
    let path = format!("/imagetransfers/{}", path_id(id));
    let _: serde_json::Value = engine
        .post(
            &format!("{path}/{action}"),
            &json!({}),
            &format!("{action} image transfer {id}"),
        )
        .await?;
    let started = Instant::now();
    loop {
        let transfer: ImageTransfer = match engine.get(&path, "read the image transfer").await {
            Ok(t) => t,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        if transfer.phase.starts_with("finished") || transfer.phase.starts_with("cancelled") {
            return Ok(());
        }
        if started.elapsed() >= TRANSFER_END_LIMIT {
            return Err(OvirtError::WaitTimeout {
                what: format!("image transfer {id}"),
                wanted: "finished",
                seconds: TRANSFER_END_LIMIT.as_secs(),
                last: transfer.phase,
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// An open transfer; dropping it finalizes the transfer in a task registered with the
/// provider's [`Transfers`].
#[derive(Debug)]
pub struct OpenTransfer {
    id: String,
    /// Cleared when the transfer was already ended (cancelled, or finished by
    /// [`TransferSource::finish`]).
    armed: AtomicBool,
    engine: Arc<Engine>,
    transfers: Arc<Transfers>,
}

impl Drop for OpenTransfer {
    fn drop(&mut self) {
        if !self.armed.swap(false, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime: close() cancels it, as it is still listed.
            return;
        };
        let (id, engine, transfers) =
            (self.id.clone(), self.engine.clone(), self.transfers.clone());
        let task = runtime.spawn(async move {
            match end(&engine, &id, "finalize").await {
                Ok(()) => transfers.remove(&id),
                Err(e) => tracing::warn!(transfer = %id, "cannot finalize the image transfer: {e}"),
            }
        });
        if let Ok(mut ending) = self.transfers.ending.lock() {
            ending.push(task);
        }
    }
}

/// Creates a download transfer of `disk` of `vm` (bound to `backup` when given: the disk
/// as of that backup, with its dirty extents when the backup is incremental), waits until
/// it is `transferring`, and opens its image; the transfer is cancelled if anything on the
/// way fails.
pub async fn open(
    engine: &Arc<Engine>,
    transfers: &Arc<Transfers>,
    vm: &VmRef,
    disk: &DiskRef,
    backup: Option<&str>,
) -> crate::error::Result<TransferSource> {
    let tls = match &engine.config().trust {
        crate::vsphere::TlsTrust::CustomCa(pem) => ImageioTls::CaPem(pem.clone()),
        crate::vsphere::TlsTrust::InsecureSkipVerify => ImageioTls::InsecureSkipVerify,
        _ => {
            return Err(crate::error::Error::config(
                "secret.cacert",
                "an oVirt provider's Secret needs cacert (the engine CA, which also signs the \
                 hosts' imageio certificates) or insecureSkipVerify to read disks",
            ));
        }
    };
    // The disk must be attached to this VM (a VM gone since the inventory answers 404 here).
    let attachment: DiskAttachment = engine
        .get(
            &format!(
                "/vms/{}/diskattachments/{}",
                path_id(vm.id()),
                path_id(&disk.file)
            ),
            &format!("read disk {} of VM {vm}", disk.file),
        )
        .await?;
    let disk_id = if attachment.disk.id.is_empty() {
        disk.file.clone()
    } else {
        attachment.disk.id.clone()
    };
    let mut body = json!({"disk": {"id": disk_id}, "direction": "download", "format": "raw"});
    if let Some(backup) = backup {
        body["backup"] = json!({ "id": backup });
    }
    let created: ImageTransfer = engine
        .post(
            "/imagetransfers",
            &body,
            &format!("start an image transfer of disk {disk_id}"),
        )
        .await?;
    if created.id.is_empty() {
        return Err(OvirtError::TransferFailed {
            transfer: String::new(),
            disk: disk_id,
            phase: created.phase,
        }
        .into());
    }
    transfers.add(&created.id, &disk_id);
    let guard = OpenTransfer {
        id: created.id.clone(),
        armed: AtomicBool::new(true),
        engine: engine.clone(),
        transfers: transfers.clone(),
    };
    match open_image(
        engine,
        &created.id,
        &disk_id,
        tls,
        attachment.disk.provisioned_size,
    )
    .await
    {
        Ok(image) => Ok(TransferSource {
            image,
            _transfer: guard,
        }),
        Err(e) => {
            // Cancel now rather than finalize on drop.
            guard.armed.store(false, Ordering::Release);
            drop(guard);
            if let Err(cancel) = end(engine, &created.id, "cancel").await {
                tracing::warn!(transfer = %created.id, "cannot cancel the image transfer: {cancel}");
            } else {
                transfers.remove(&created.id);
            }
            Err(e)
        }
    }
}

async fn open_image(
    engine: &Engine,
    id: &str,
    disk: &str,
    tls: ImageioTls,
    provisioned: i64,
) -> crate::error::Result<ImageioDisk> {
    let path = format!("/imagetransfers/{}", path_id(id));
    let started = Instant::now();
    let transfer = loop {
        let transfer: ImageTransfer = engine.get(&path, "read the image transfer").await?;
        match transfer.phase.as_str() {
            "transferring" => break transfer,
            "initializing" | "resuming" => {}
            _ => {
                return Err(OvirtError::TransferFailed {
                    transfer: id.to_owned(),
                    disk: disk.to_owned(),
                    phase: transfer.phase,
                }
                .into());
            }
        }
        if started.elapsed() >= TRANSFER_READY_LIMIT {
            return Err(OvirtError::WaitTimeout {
                what: format!("image transfer {id} of disk {disk}"),
                wanted: "transferring",
                seconds: TRANSFER_READY_LIMIT.as_secs(),
                last: transfer.phase,
            }
            .into());
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    let url = [&transfer.transfer_url, &transfer.proxy_url]
        .into_iter()
        .find(|u| !u.is_empty())
        .ok_or_else(|| OvirtError::NoTransferUrl {
            transfer: id.to_owned(),
        })?;
    let url = url::Url::parse(url).map_err(|e| {
        crate::error::Error::protocol(
            "image transfer",
            format!("transfer URL of {id} is not a URL: {e}"),
        )
    })?;
    let options = ImageioOptions {
        expected_size: u64::try_from(provisioned).ok().filter(|s| *s > 0),
        ..ImageioOptions::default()
    };
    Ok(ImageioDisk::open(&url, &tls, options).await?)
}

/// A disk being read through an image transfer; dropping it finalizes the transfer.
#[derive(Debug)]
pub struct TransferSource {
    image: ImageioDisk,
    _transfer: OpenTransfer,
}

impl TransferSource {
    /// Finalizes the transfer now and waits until it ended (rather than when the source is
    /// dropped); a second call, or the drop afterwards, does nothing.
    pub async fn finish(&self) -> Result<()> {
        let guard = &self._transfer;
        if !guard.armed.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let ended = end(&guard.engine, &guard.id, "finalize").await;
        if ended.is_ok() {
            guard.transfers.remove(&guard.id);
        }
        ended
    }

    /// The image, for its dirty and allocation extents.
    pub fn image(&self) -> &ImageioDisk {
        &self.image
    }
}

#[async_trait]
impl BlockSource for TransferSource {
    fn size(&self) -> u64 {
        self.image.size()
    }

    fn block_sizes(&self) -> BlockSizes {
        self.image.block_sizes()
    }

    fn describe(&self) -> String {
        self.image.describe()
    }

    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> forklift_transfer::Result<()> {
        self.image.read_at(offset, buf).await
    }

    async fn read_owned(&self, offset: u64, buf: Vec<u8>) -> forklift_transfer::Result<Vec<u8>> {
        self.image.read_owned(offset, buf).await
    }

    fn can_extents(&self, context: &MetaContext) -> bool {
        self.image.can_extents(context)
    }

    async fn extents(
        &self,
        offset: u64,
        length: u64,
        context: &MetaContext,
    ) -> forklift_transfer::Result<Vec<Extent>> {
        self.image.extents(offset, length, context).await
    }

    async fn reconnect(&self) -> forklift_transfer::Result<()> {
        self.image.reconnect().await
    }
}
