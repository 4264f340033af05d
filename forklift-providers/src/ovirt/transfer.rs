//! Disk data: an image transfer per disk (`POST /imagetransfers`, `direction: download`,
//! `format: raw`), waited for until `transferring`, read through the imageio daemon at its
//! `transfer_url` (else the engine's `proxy_url`).
//!
//! No transfer is left open: a failure while opening cancels it; the opened source holds an
//! [`OpenTransfer`] whose drop finalizes it (a task registered in [`Transfers`]); the
//! provider's `close()` waits for those tasks and then cancels whatever is still listed (a
//! source leaked or a drop outside a runtime).

use super::poll::{Look, Wait};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use forklift_core::error::PeerText;
use forklift_transfer::block::{BlockSizes, BlockSource, Extent, MetaContext};
use serde_json::json;

use super::client::Engine;
use super::error::{OvirtError, Result};
use super::limits::{TRANSFER_END_LIMIT, TRANSFER_READY_LIMIT};
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
                tracing::warn!(transfer = %PeerText(&id), "cannot cancel the image transfer: {e}");
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
    let what = || format!("image transfer {id}");
    let wait = Wait {
        what: &what,
        wanted: "finished",
        limit: TRANSFER_END_LIMIT,
    };
    wait.poll(|| async {
        let transfer: ImageTransfer = match engine.get(&path, "read the image transfer").await {
            Ok(t) => t,
            Err(e) if e.is_not_found() => return Ok(Look::Done(())),
            Err(e) => return Err(e),
        };
        Ok(
            if transfer.phase.starts_with("finished") || transfer.phase.starts_with("cancelled") {
                Look::Done(())
            } else {
                Look::Pending(transfer.phase)
            },
        )
    })
    .await
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
                Err(e) => tracing::warn!(transfer = %PeerText(&id), "cannot finalize the image transfer: {e}"),
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
                tracing::warn!(transfer = %PeerText(&created.id), "cannot cancel the image transfer: {cancel}");
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
    let what = || format!("image transfer {id} of disk {disk}");
    let wait = Wait {
        what: &what,
        wanted: "transferring",
        limit: TRANSFER_READY_LIMIT,
    };
    let transfer = wait
        .poll(|| async {
            let transfer: ImageTransfer = engine.get(&path, "read the image transfer").await?;
            match transfer.phase.as_str() {
                "transferring" => Ok(Look::Done(transfer)),
                "initializing" | "resuming" => Ok(Look::Pending(transfer.phase)),
                _ => Err(OvirtError::TransferFailed {
                    transfer: id.to_owned(),
                    disk: disk.to_owned(),
                    phase: transfer.phase,
                }),
            }
        })
        .await?;
    let url = transfer_target(&transfer, id, &engine.config().api_url)?;
    let options = ImageioOptions {
        expected_size: u64::try_from(provisioned).ok().filter(|s| *s > 0),
        ..ImageioOptions::default()
    };
    Ok(ImageioDisk::open(&url, &tls, options).await?)
}

/// The imageio URL of a transferring transfer: its `transfer_url` (the daemon on the host
/// doing the transfer, which may be any host of the engine), else its `proxy_url` (the
/// engine's own imageio proxy, so it must be on the engine's host). Either must be https:
/// its path holds the ticket, a bearer credential.
pub(crate) fn transfer_target(
    transfer: &ImageTransfer,
    id: &str,
    engine: &url::Url,
) -> Result<url::Url> {
    let (field, text) = if !transfer.transfer_url.is_empty() {
        ("transfer_url", &transfer.transfer_url)
    } else if !transfer.proxy_url.is_empty() {
        ("proxy_url", &transfer.proxy_url)
    } else {
        return Err(OvirtError::NoTransferUrl {
            transfer: id.to_owned(),
        });
    };
    let unsafe_url = |url: String| OvirtError::UnsafeTransferUrl {
        transfer: id.to_owned(),
        field,
        url,
    };
    let url = url::Url::parse(text).map_err(|_| unsafe_url("(not a URL)".to_owned()))?;
    let off_engine = field == "proxy_url" && url.host() != engine.host();
    if url.scheme() != "https" || off_engine {
        return Err(unsafe_url(format!(
            "{}://{}/(ticket)",
            url.scheme(),
            url.host_str().unwrap_or_default()
        )));
    }
    Ok(url)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(transfer_url: &str, proxy_url: &str) -> ImageTransfer {
        ImageTransfer {
            id: "t".into(),
            phase: "transferring".into(),
            transfer_url: transfer_url.into(),
            proxy_url: proxy_url.into(),
        }
    }

    #[test]
    fn transfer_urls_must_be_https_and_a_proxy_the_engines_host() {
        let engine = url::Url::parse("https://engine.example/ovirt-engine/api").unwrap();
        let target = |t: &ImageTransfer| transfer_target(t, "t", &engine);
        // The daemon of the host doing the transfer: any host, https only.
        let direct = target(&transfer("https://host7:54322/images/T1", "")).unwrap();
        assert_eq!(direct.host_str(), Some("host7"));
        let proxy = target(&transfer("", "https://engine.example:54323/images/T1")).unwrap();
        assert_eq!(proxy.port(), Some(54323));
        for (t, p) in [
            ("http://host7:54322/images/SECRET", ""),
            ("file:///images/SECRET", ""),
            ("", "https://elsewhere.example:54323/images/SECRET"),
            ("", "http://engine.example:54323/images/SECRET"),
            ("not a url SECRET", ""),
        ] {
            let err = target(&transfer(t, p)).unwrap_err();
            assert!(matches!(err, OvirtError::UnsafeTransferUrl { .. }), "{err}");
            assert!(!err.to_string().contains("SECRET"), "{err}");
        }
        assert!(matches!(
            target(&transfer("", "")),
            Err(OvirtError::NoTransferUrl { .. })
        ));
        // Peer text in messages is escaped.
        let err = transfer_target(&transfer("", ""), "t\u{1b}[2J", &engine).unwrap_err();
        assert!(!err.to_string().contains('\u{1b}'), "{err}");
    }

    #[test]
    fn a_transfer_shows_no_ticket_in_debug() {
        let t = transfer(
            "https://host7:54322/images/SECRET",
            "https://engine:54323/images/SECRET",
        );
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("SECRET") && shown.contains("host7"),
            "{shown}"
        );
    }
}
