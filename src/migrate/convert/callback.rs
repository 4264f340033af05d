//! A [`Converter`] that calls user code (Python's `migrate(..., converter=callable)`), as
//! [`CallbackHookRunner`](crate::migrate::hooks::CallbackHookRunner) does for hooks: the
//! user converts the copied disks their own way and says what they found.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::request::{ConversionRequest, Firmware};
use super::{
    ConversionProgress, ConversionReport, ConvertError, Converter, MAX_CONVERSION_WARNINGS,
    MAX_OUTPUT_LINE,
};

/// One copied disk, as the callback sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackDisk {
    /// The raw image to convert in place.
    pub path: PathBuf,
    /// The claim it backs.
    pub claim: String,
}

/// The VM, as the callback sees it (no LUKS passphrases: they stay in the Secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackVm {
    /// Name on the target.
    pub name: String,
    /// `bios` or `uefi`.
    pub firmware: String,
    /// MACs of its NICs, in order.
    pub macs: Vec<String>,
    /// Guest memory in MiB (0: unknown).
    pub memory_mib: u64,
    /// Virtual CPUs (0: unknown).
    pub vcpus: u32,
    /// The plan's `rootDisk`, if set.
    pub root: Option<String>,
    /// Static IPs to keep (virt-v2v `--mac` specs).
    pub static_ips: Vec<String>,
    /// Whether its LUKS volumes are unlocked by NBDE/Clevis.
    pub nbde_clevis: bool,
    /// How many LUKS passphrases its Secret holds.
    pub luks_keys: usize,
    /// Render's conversion environment (`VIRTIO_WIN`...).
    pub env: std::collections::BTreeMap<String, String>,
}

/// What the callback reports back; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CallbackResult {
    /// The guest's OS as an osinfo id (`debian12`, `win2k19`), for status and the
    /// VirtualMachine's preference.
    pub osinfo: Option<String>,
    /// `linux`, `windows`...
    pub os_type: Option<String>,
    /// The product name.
    pub product_name: Option<String>,
    /// Whether virtio drivers are in the guest.
    pub virtio_drivers: bool,
    /// Warnings, recorded in the VM's status (the first [`MAX_CONVERSION_WARNINGS`]).
    pub warnings: Vec<String>,
}

/// `text` cut to at most [`MAX_OUTPUT_LINE`] bytes on a character boundary: what the
/// callback says is kept in the VM's status, so one answer is bounded as one line of
/// virt-v2v output is.
fn bounded(mut text: String) -> String {
    if text.len() > MAX_OUTPUT_LINE {
        let mut end = MAX_OUTPUT_LINE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The future a [`CallbackConverter`]'s callback returns: its result, or why it failed.
pub type ConversionFuture = Pin<Box<dyn Future<Output = Result<CallbackResult, String>> + Send>>;

/// The callback's signature: the disks in order and the VM.
pub type ConversionCallback =
    dyn Fn(Vec<CallbackDisk>, CallbackVm) -> ConversionFuture + Send + Sync;

/// Calls user code to convert each VM.
#[derive(Clone)]
pub struct CallbackConverter {
    callback: Arc<ConversionCallback>,
}

impl std::fmt::Debug for CallbackConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackConverter").finish_non_exhaustive()
    }
}

impl CallbackConverter {
    /// A converter calling `callback`; an `Err(message)` fails the VM's conversion.
    pub fn new(
        callback: impl Fn(Vec<CallbackDisk>, CallbackVm) -> ConversionFuture + Send + Sync + 'static,
    ) -> Self {
        Self {
            callback: Arc::new(callback),
        }
    }
}

#[async_trait]
impl Converter for CallbackConverter {
    fn describe(&self) -> String {
        "a conversion callback".into()
    }

    fn check(&self) -> Result<(), ConvertError> {
        Ok(())
    }

    async fn convert(
        &self,
        request: &ConversionRequest,
        _progress: mpsc::Sender<ConversionProgress>,
        cancel: &CancellationToken,
    ) -> Result<ConversionReport, ConvertError> {
        let vm = request.vm_name.clone();
        if request.disks.is_empty() {
            return Err(ConvertError::NoDisks { vm });
        }
        let started = Instant::now();
        let disks = request
            .disks
            .iter()
            .map(|d| CallbackDisk {
                path: d.path.clone(),
                claim: d.claim.clone(),
            })
            .collect();
        let fut = (self.callback)(disks, callback_vm(request));
        let result = tokio::select! {
            result = fut => result.map_err(|message| ConvertError::Callback { vm: vm.clone(), message: bounded(message) })?,
            () = cancel.cancelled() => return Err(ConvertError::Cancelled { vm }),
        };
        let mut warnings = result.warnings;
        warnings.truncate(MAX_CONVERSION_WARNINGS);
        let warnings = warnings.into_iter().map(bounded).collect();
        let named = |text: Option<String>| text.filter(|s| !s.is_empty()).map(bounded);
        Ok(ConversionReport {
            converter: self.describe(),
            osinfo: named(result.osinfo),
            os_type: named(result.os_type),
            product_name: named(result.product_name),
            virtio_drivers: result.virtio_drivers,
            warnings,
            customized: Vec::new(),
            log: request.log.clone(),
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// What the callback is told about the VM of `request`.
pub fn callback_vm(request: &ConversionRequest) -> CallbackVm {
    CallbackVm {
        name: request.vm_name.clone(),
        firmware: match request.firmware {
            Firmware::Bios => "bios",
            Firmware::Uefi => "uefi",
        }
        .into(),
        macs: request.nics.iter().map(|n| n.mac.clone()).collect(),
        memory_mib: request.memory_mib,
        vcpus: request.vcpus,
        root: request.root.clone(),
        static_ips: request.static_ips.clone(),
        nbde_clevis: request.clevis,
        luks_keys: request.luks_keys.len(),
        env: request.env.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::convert::request::{ConversionDisk, ConversionNic};

    fn request() -> ConversionRequest {
        ConversionRequest {
            vm_name: "web".into(),
            disks: vec![ConversionDisk {
                path: "/d/0.img".into(),
                claim: "web-0".into(),
            }],
            nics: vec![ConversionNic {
                mac: "00:50:56:aa:bb:cc".into(),
            }],
            luks_keys: vec![forklift_core::credentials::SecretString::new("pass")],
            ..ConversionRequest::default()
        }
    }

    /// Runs `converter` on [`request`] until done or `cancel`.
    async fn run(
        converter: &CallbackConverter,
        cancel: &CancellationToken,
    ) -> Result<ConversionReport, ConvertError> {
        let (tx, _rx) = mpsc::channel(1);
        converter.convert(&request(), tx, cancel).await
    }

    #[tokio::test]
    async fn the_callback_gets_the_disks_and_vm_and_its_answer_is_the_report() {
        let seen = Arc::new(std::sync::Mutex::new(None));
        let record = seen.clone();
        let converter = CallbackConverter::new(move |disks, vm| {
            *record.lock().unwrap() = Some((disks, vm));
            Box::pin(async {
                Ok(CallbackResult {
                    osinfo: Some("debian12".into()),
                    os_type: Some("linux".into()),
                    warnings: vec!["w".into(); MAX_CONVERSION_WARNINGS + 5],
                    ..CallbackResult::default()
                })
            })
        });
        let report = run(&converter, &CancellationToken::new()).await.unwrap();
        assert_eq!(report.osinfo.as_deref(), Some("debian12"));
        assert_eq!(report.warnings.len(), MAX_CONVERSION_WARNINGS);
        let (disks, vm) = seen.lock().unwrap().take().unwrap();
        assert_eq!(disks[0].path, PathBuf::from("/d/0.img"));
        assert_eq!(vm.macs, ["00:50:56:aa:bb:cc"]);
        assert_eq!(vm.luks_keys, 1);
        // The passphrase itself is never handed over.
        assert!(!serde_json::to_string(&vm).unwrap().contains("pass\""));
    }

    #[tokio::test]
    async fn every_text_of_the_answer_is_bounded_as_a_line_of_converter_output() {
        // Two-byte characters, so a cut at the limit falls inside one.
        let huge = "é".repeat(MAX_OUTPUT_LINE);
        let answer = huge.clone();
        let converter = CallbackConverter::new(move |_, _| {
            let huge = answer.clone();
            Box::pin(async move {
                Ok(CallbackResult {
                    osinfo: Some(huge.clone()),
                    os_type: Some(huge.clone()),
                    product_name: Some(format!("x{huge}")),
                    warnings: vec![huge; MAX_CONVERSION_WARNINGS + 1],
                    ..CallbackResult::default()
                })
            })
        });
        let report = run(&converter, &CancellationToken::new()).await.unwrap();
        let texts = [&report.osinfo, &report.os_type, &report.product_name];
        for text in texts.into_iter().map(|t| t.as_deref().unwrap()) {
            assert!(text.len() <= MAX_OUTPUT_LINE && text.len() >= MAX_OUTPUT_LINE - 1);
        }
        assert!(huge.starts_with(report.osinfo.as_deref().unwrap()));
        assert_eq!(report.warnings.len(), MAX_CONVERSION_WARNINGS);
        assert!(report.warnings.iter().all(|w| w.len() == MAX_OUTPUT_LINE));
    }

    #[tokio::test]
    async fn an_error_fails_the_conversion_with_its_message_and_cancel_stops_waiting() {
        let converter =
            CallbackConverter::new(|_, _| Box::pin(async { Err("no space left".to_owned()) }));
        let err = run(&converter, &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no space left"), "{err}");
        let long =
            CallbackConverter::new(|_, _| Box::pin(async { Err("é".repeat(MAX_OUTPUT_LINE)) }));
        match run(&long, &CancellationToken::new()).await {
            Err(ConvertError::Callback { message, .. }) => {
                assert_eq!(message.len(), MAX_OUTPUT_LINE);
            }
            other => panic!("{other:?}"),
        }
        let never = CallbackConverter::new(|_, _| Box::pin(std::future::pending()));
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = run(&never, &cancel).await.unwrap_err();
        assert!(matches!(err, ConvertError::Cancelled { .. }), "{err}");
    }
}
