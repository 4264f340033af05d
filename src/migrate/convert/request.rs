//! What one VM's conversion is given.

use std::collections::BTreeMap;
use std::path::PathBuf;

use forklift_core::credentials::SecretString;

/// The guest's firmware, from the inventory (render's domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Firmware {
    /// Legacy BIOS.
    #[default]
    Bios,
    /// UEFI.
    Uefi,
}

/// One copied disk, in the VM's disk order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionDisk {
    /// The raw image the transfer wrote.
    pub path: PathBuf,
    /// The claim it backs (for messages).
    pub claim: String,
}

/// One NIC of the source VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionNic {
    /// Its MAC address.
    pub mac: String,
}

/// Everything one conversion needs.
#[derive(Debug, Clone, Default)]
pub struct ConversionRequest {
    /// Name of the VM on the target (the converted domain's name).
    pub vm_name: String,
    /// Disks in the VM's order; the first is the boot disk unless `root` says otherwise.
    pub disks: Vec<ConversionDisk>,
    /// Firmware.
    pub firmware: Firmware,
    /// NICs in the VM's order.
    pub nics: Vec<ConversionNic>,
    /// Guest memory in MiB (0: unknown, the converter's default).
    pub memory_mib: u64,
    /// Virtual CPUs (0: unknown).
    pub vcpus: u32,
    /// virt-v2v's `--root`: `first`, or a device such as `/dev/sdb` (the plan's `rootDisk`).
    pub root: Option<String>,
    /// Static IPs to keep, virt-v2v `--mac` specs (`MAC:ip:IP,GW,LEN,DNS...`), from
    /// `preserveStaticIPs` and the inventory's guest networks.
    pub static_ips: Vec<String>,
    /// LUKS passphrases from the VM's `luks` Secret, tried on every encrypted device.
    pub luks_keys: Vec<SecretString>,
    /// Unlock LUKS devices with NBDE/Clevis (`nbdeClevis`; wins over `luks_keys`).
    pub clevis: bool,
    /// Render's conversion environment (`VIRTIO_WIN`, `V2V_*`), passed to the converter.
    pub env: BTreeMap<String, String>,
    /// XFS-compatibility mode (`xfsCompatibility`): no `--no-fstrim`.
    pub xfs_compatibility: bool,
    /// The plan's `customizationScripts`, run by virt-customize after the conversion as
    /// upstream's naming rules say.
    pub customization_scripts: Vec<super::customize::CustomizationScript>,
    /// Where the converter's full log goes (kept next to the plan's status).
    pub log: PathBuf,
    /// A private directory for the domain XML and key files, removed afterwards.
    pub work_dir: PathBuf,
}
