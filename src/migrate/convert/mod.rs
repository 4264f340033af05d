//! Guest conversion: what makes a copied VMware (OVA, oVirt...) guest boot on KubeVirt.
//!
//! MTV converts every guest that needs it with virt-v2v: virtio drivers in the initramfs,
//! VMware tools removed, bootloader and fstab fixed, static IPs kept, LUKS volumes unlocked.
//! Here a [`Converter`] does it for the `CreateGuestConversionPod` / `ConvertGuest` phases of
//! render's itinerary, on the disks the engine's own transfer copied (as MTV does for warm and
//! CDI-copied cold disks: copy, then convert in place).
//!
//! Like the hook runner, the converter is injected and opt-in
//! ([`MigrateOptions::converter`](super::MigrateOptions::converter); `forklift migrate
//! --converter virt-v2v`; Python `migrate(..., converter="virt-v2v")`). The engine's
//! [`ExecutorProfile`](forklift_core::render::ExecutorProfile) gains the
//! `GuestConversion` capability only when a converter is configured and
//! [available](Converter::check); otherwise a plan that needs conversion is refused before
//! anything is touched (or runs raw with `skipGuestConversion`, its conversion steps reported
//! as skipped).
//!
//! [`VirtV2vConverter`] runs the real `virt-v2v-in-place` (or `virt-v2v -i libvirtxml -o
//! local` when the in-place program is absent) on a libvirt domain XML generated from the
//! inventory: firmware, disks in order, NICs.

mod callback;
pub mod customize;
mod domain;
mod output;
mod request;
pub(crate) mod step;
mod virt_v2v;

use std::path::PathBuf;

use async_trait::async_trait;
use forklift_core::render::ExecutorCapability;
use forklift_core::resources::Condition;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use callback::{
    CallbackConverter, CallbackDisk, CallbackResult, CallbackVm, ConversionCallback,
    ConversionFuture, callback_vm,
};
pub use domain::domain_xml;
pub use output::{OutputLine, parse_line};
pub use request::{ConversionDisk, ConversionNic, ConversionRequest, Firmware};
pub use virt_v2v::{LIBGUESTFS_TCG_ENV, VirtV2vConverter};

/// Lines of a failed conversion's log quoted in [`ConvertError::Failed`].
pub const CONVERSION_ERROR_LINES: usize = 20;

/// Longest a conversion may run before it is stopped and its VM fails. Under TCG a 1 GiB
/// guest converts in 1 to 3 minutes; a large guest with many kernels takes longer.
pub const CONVERSION_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(2 * 60 * 60);

/// Warnings of one conversion recorded in the VM's status; later ones are counted only.
pub const MAX_CONVERSION_WARNINGS: usize = 50;

/// Bytes of one line of converter output considered; the rest of a longer line is dropped
/// (the full log file keeps it).
pub const MAX_OUTPUT_LINE: usize = 16 * 1024;

/// What a conversion reports while it runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversionProgress {
    /// Seconds since the converter started, as it reports them.
    pub seconds: f64,
    /// The stage it entered (`Inspecting the source`, `Converting ... to run on KVM`).
    pub stage: String,
}

/// What a successful conversion did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversionReport {
    /// The converter that ran (`virt-v2v-in-place 2.2.0`).
    pub converter: String,
    /// The inspected operating system as an osinfo id (`debian12`, `win2k19`), when found.
    pub osinfo: Option<String>,
    /// The inspector's OS type (`linux`, `windows`), when found.
    pub os_type: Option<String>,
    /// The inspected product name (`Debian GNU/Linux 12 (bookworm)`), when found.
    pub product_name: Option<String>,
    /// Whether the converter reported virtio drivers installed in the guest.
    pub virtio_drivers: bool,
    /// What it warned about (at most [`MAX_CONVERSION_WARNINGS`]).
    pub warnings: Vec<String>,
    /// What the customization after it did: the plan's scripts it ran or installed (by
    /// name), and whether it pinned interface names; empty when nothing was customized.
    pub customized: Vec<String>,
    /// Where its full log is.
    pub log: PathBuf,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Why a conversion could not run or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// A program the converter needs is not installed.
    #[error(
        "{program} is not installed (or not in PATH); install virt-v2v and libguestfs-tools \
         (scripts/setup-v2v.sh), or set skipGuestConversion to copy the disks raw"
    )]
    NotInstalled {
        /// The program.
        program: String,
    },
    /// A disk to convert is not a local file (the destination keeps its disks elsewhere).
    #[error("Disk {claim} of VM {vm} is not a local file the converter can open")]
    DiskNotLocal {
        /// Target VM name.
        vm: String,
        /// The disk's claim.
        claim: String,
    },
    /// The VM has no disk to convert.
    #[error("VM {vm} has no disk to convert")]
    NoDisks {
        /// Target VM name.
        vm: String,
    },
    /// The VM's LUKS Secret is not in the manifests.
    #[error("VM {vm}: the LUKS Secret {secret} is not in the manifests")]
    LuksSecretNotFound {
        /// Source VM name.
        vm: String,
        /// `namespace/name` of the Secret.
        secret: String,
    },
    /// The VM's LUKS Secret holds no key.
    #[error("VM {vm}: the LUKS Secret {secret} holds no passphrase")]
    LuksSecretEmpty {
        /// Source VM name.
        vm: String,
        /// `namespace/name` of the Secret.
        secret: String,
    },
    /// A file the conversion needs could not be written or read.
    #[error("Conversion of {vm}: {path}")]
    Io {
        /// Target VM name.
        vm: String,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The program could not be started.
    #[error("Conversion of {vm}: cannot run {program}")]
    Spawn {
        /// Target VM name.
        vm: String,
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The converter exited with a failure.
    #[error("Conversion of {vm} failed ({status}); log {}:\n{tail}", .log.display())]
    Failed {
        /// Target VM name.
        vm: String,
        /// Exit status.
        status: String,
        /// The last lines of its output (control characters escaped).
        tail: String,
        /// Its full log.
        log: PathBuf,
    },
    /// virt-customize (the customization after the conversion) exited with a failure.
    #[error("Customization of {vm} after its conversion failed ({status}); log {}:\n{tail}", .log.display())]
    CustomizeFailed {
        /// Target VM name.
        vm: String,
        /// Exit status.
        status: String,
        /// The last lines of its output (control characters escaped).
        tail: String,
        /// The full log (conversion and customization).
        log: PathBuf,
    },
    /// The plan's `customizationScripts` ConfigMap is not in the manifests.
    #[error("The customizationScripts ConfigMap {config_map} of the plan is not in the manifests")]
    CustomizationScriptsNotFound {
        /// `namespace/name` of the ConfigMap.
        config_map: String,
    },
    /// The `customizationScripts` ConfigMap holds more scripts than are taken.
    #[error(
        "The customizationScripts ConfigMap {config_map} holds {count} scripts; at most {max} are run"
    )]
    TooManyCustomizationScripts {
        /// `namespace/name` of the ConfigMap.
        config_map: String,
        /// How many of its keys are scripts.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A script of the `customizationScripts` ConfigMap is larger than allowed.
    #[error(
        "Script {script} of the customizationScripts ConfigMap {config_map} has {bytes} bytes; at most {max} are allowed"
    )]
    CustomizationScriptTooLarge {
        /// `namespace/name` of the ConfigMap.
        config_map: String,
        /// The script's key.
        script: String,
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The `customizationScripts` ConfigMap's `data` is not a mapping of keys to text.
    #[error(
        "The data of the customizationScripts ConfigMap {config_map} is {found}, not a mapping of script names to text"
    )]
    CustomizationScriptsNotMapping {
        /// `namespace/name` of the ConfigMap.
        config_map: String,
        /// What it is instead (`a list`, `a number`...).
        found: &'static str,
    },
    /// A script of the `customizationScripts` ConfigMap is not text (a number, a list, a
    /// mapping or null), which a ConfigMap's `data` never holds; it is refused rather than
    /// run as an empty script.
    #[error(
        "Script {script} of the customizationScripts ConfigMap {config_map} is {found}, not text"
    )]
    CustomizationScriptNotText {
        /// `namespace/name` of the ConfigMap.
        config_map: String,
        /// The script's key.
        script: String,
        /// What it is instead (`a number`, `null`...).
        found: &'static str,
    },
    /// No passphrase opened an encrypted volume of the guest.
    #[error(
        "Conversion of {vm}: none of the {keys} passphrase(s) of the VM's luks Secret opens its \
         encrypted volume (virt-v2v: {said}); check the Secret, or use nbdeClevis; log {}",
        .log.display()
    )]
    LuksKeyRejected {
        /// Target VM name.
        vm: String,
        /// How many passphrases were offered.
        keys: usize,
        /// What virt-v2v said (control characters escaped).
        said: String,
        /// Its full log.
        log: PathBuf,
    },
    /// A conversion callback (user code) failed.
    #[error("Conversion of {vm} by the callback failed: {message}")]
    Callback {
        /// Target VM name.
        vm: String,
        /// What it said (at most [`MAX_OUTPUT_LINE`] bytes).
        message: String,
    },
    /// The conversion ran longer than its limit.
    #[error("Conversion of {vm} exceeded {seconds} s; log {}", .log.display())]
    TimedOut {
        /// Target VM name.
        vm: String,
        /// The limit.
        seconds: u64,
        /// Its full log.
        log: PathBuf,
    },
    /// The migration was cancelled while the conversion ran.
    #[error("Conversion of {vm} was cancelled")]
    Cancelled {
        /// Target VM name.
        vm: String,
    },
}

/// When a converter is configured but cannot run, says why in the `GuestConversionNotAvailable`
/// conditions render raised (which otherwise say no converter was asked for).
pub(crate) fn explain_missing(conditions: &mut [Condition], converter: Option<&dyn Converter>) {
    let Some(Err(problem)) = converter.map(Converter::check) else {
        return;
    };
    for condition in conditions
        .iter_mut()
        .filter(|c| c.type_ == ExecutorCapability::GuestConversion.condition_type())
    {
        condition.message = format!(
            "The guests need conversion and the configured converter cannot run: {problem}."
        );
    }
}

/// Converts the copied disks of one VM so the guest boots on KubeVirt.
#[async_trait]
pub trait Converter: Send + Sync + std::fmt::Debug {
    /// A short description for messages (`virt-v2v-in-place (/usr/bin/virt-v2v-in-place)`).
    fn describe(&self) -> String;

    /// Whether it can run on this machine: `Err` names what is missing.
    fn check(&self) -> Result<(), ConvertError>;

    /// Converts the disks of `request` in place; stage changes go to `progress` as they
    /// happen. Its full log is written to `request.log`.
    async fn convert(
        &self,
        request: &ConversionRequest,
        progress: mpsc::Sender<ConversionProgress>,
        cancel: &CancellationToken,
    ) -> Result<ConversionReport, ConvertError>;
}
