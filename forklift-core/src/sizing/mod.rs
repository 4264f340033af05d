//! Disk sizing: how large each target volume is requested, and with which volume and access
//! modes.
//!
//! Sizes follow upstream Forklift (`pkg/controller/plan/util`): capacities are aligned up to
//! 1 MiB; where Forklift (rather than CDI) allocates the volume, it adds the ForkliftController
//! `controller_filesystem_overhead` percentage on Filesystem volumes and the fixed
//! `controller_block_overhead` on Block volumes. Which rule applies depends on the transfer path
//! ([`DiskPath`]). Modes come from the storage map, else the destination's CDI StorageProfile,
//! else the guide's per-provisioner table ([`default_modes_for_provisioner`]).
//!
//! ```
//! use forklift_core::sizing::{space_with_overhead, Overhead, VolumeMode, MIB};
//! let ovh = Overhead::default(); // 10 %, 0 bytes
//! assert_eq!(space_with_overhead(9 * MIB, VolumeMode::Filesystem, &ovh).unwrap(), 10 * MIB);
//! assert_eq!(space_with_overhead(MIB + 1, VolumeMode::Block, &ovh).unwrap(), 2 * MIB);
//! ```

mod modes;

pub use modes::{
    AccessMode, ModeOrigin, ResolvedModes, VolumeMode, default_modes_for_provisioner, resolve_modes,
};

/// One mebibyte.
pub const MIB: u64 = 1 << 20;

/// Upstream `DefaultAlignBlockSize`: a multiple of 512, 4k, 8k, 32k and 64k block sizes.
pub const ALIGN_BYTES: u64 = MIB;

/// Errors of sizing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The filesystem overhead percentage is 100 or more.
    #[error("controller_filesystem_overhead must be below 100, got {0}")]
    FilesystemOverhead(u32),
    /// A CDI overhead fraction outside `[0, 1)`.
    #[error("CDI filesystem overhead must be in [0, 1), got {0}")]
    CdiOverhead(f64),
    /// The computed size does not fit in 64 bits.
    #[error("Disk size {0} bytes overflows with overhead")]
    Overflow(u64),
}

/// Result with the sizing [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The ForkliftController overhead settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overhead {
    /// `controller_filesystem_overhead`: percent of a Filesystem volume reserved for the
    /// filesystem (default 10).
    pub filesystem_percent: u32,
    /// `controller_block_overhead`: bytes added to Block volumes (default 0).
    pub block_bytes: u64,
}

impl Default for Overhead {
    fn default() -> Self {
        Overhead {
            filesystem_percent: 10,
            block_bytes: 0,
        }
    }
}

/// CDI's default filesystem overhead fraction when `CDIConfig` sets none.
pub const CDI_DEFAULT_FILESYSTEM_OVERHEAD: f64 = 0.055;

/// Rounds `bytes` up to a multiple of `multiple` (`multiple` 0 leaves it unchanged); saturates.
pub fn align_up(bytes: u64, multiple: u64) -> u64 {
    if multiple == 0 {
        return bytes;
    }
    match bytes % multiple {
        0 => bytes,
        rem => bytes.saturating_add(multiple - rem),
    }
}

/// Upstream `CalculateSpaceWithOverhead`: align to 1 MiB, then divide by `1 - percent/100` for
/// Filesystem (rounded up) or add the block overhead for Block.
///
/// The division uses `f64` like upstream, so results match it byte for byte.
pub fn space_with_overhead(bytes: u64, mode: VolumeMode, overhead: &Overhead) -> Result<u64> {
    let aligned = align_up(bytes, ALIGN_BYTES);
    match mode {
        VolumeMode::Filesystem => {
            if overhead.filesystem_percent >= 100 {
                return Err(Error::FilesystemOverhead(overhead.filesystem_percent));
            }
            let fraction = 1.0 - f64::from(overhead.filesystem_percent) / 100.0;
            divide_up(aligned, fraction, bytes)
        }
        VolumeMode::Block => aligned
            .checked_add(overhead.block_bytes)
            .ok_or(Error::Overflow(bytes)),
    }
}

/// Upstream `CalculateSpaceWithCDIOverhead`: `ceil(align(bytes) / (1 - fraction))`, the formula
/// CDI itself applies with its `CDIConfig` filesystem overhead.
pub fn space_with_cdi_overhead(bytes: u64, fraction: f64) -> Result<u64> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(Error::CdiOverhead(fraction));
    }
    divide_up(align_up(bytes, ALIGN_BYTES), 1.0 - fraction, bytes)
}

fn divide_up(aligned: u64, fraction: f64, original: u64) -> Result<u64> {
    let value = (aligned as f64 / fraction).ceil();
    if value >= u64::MAX as f64 {
        return Err(Error::Overflow(original));
    }
    Ok(value as u64)
}

/// How a target disk is created, which decides who adds filesystem overhead (upstream §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum DiskPath {
    /// vSphere CDI DataVolume (VDDK import or blank disk for virt-v2v): aligned capacity; CDI
    /// adds its overhead.
    VsphereDataVolume,
    /// vSphere XCOPY populator PVC: exact capacity, Block.
    VsphereXcopy,
    /// vSphere CSI volume import PVC: exact capacity, Block.
    VsphereCsiImport,
    /// vSphere NetApp Shift PVC: CDI formula applied by Forklift, Filesystem.
    VsphereNetAppShift,
    /// oVirt imageio DataVolume: max(provisioned, actual), unaligned; CDI adds overhead.
    OvirtImageio,
    /// oVirt populator PVC: Forklift overhead.
    OvirtPopulator,
    /// OpenStack populator PVC: Forklift overhead on the image's virtual size.
    OpenstackPopulator,
    /// OVA blank DataVolume: capacity as declared, unaligned; CDI adds overhead.
    OvaDataVolume,
    /// Hyper-V blank DataVolume: capacity; CDI adds overhead.
    HypervDataVolume,
    /// KubeVirt source: the source PVC's size is kept.
    KubevirtCopy,
}

impl DiskPath {
    /// Whether the object is a DataVolume (CDI applies StorageProfile and overhead) rather
    /// than a PVC Forklift sizes itself.
    pub fn is_data_volume(self) -> bool {
        matches!(
            self,
            Self::VsphereDataVolume
                | Self::OvirtImageio
                | Self::OvaDataVolume
                | Self::HypervDataVolume
                | Self::KubevirtCopy
        )
    }

    /// The volume mode this path forces, if any.
    pub fn forced_volume_mode(self) -> Option<VolumeMode> {
        match self {
            Self::VsphereXcopy | Self::VsphereCsiImport => Some(VolumeMode::Block),
            Self::VsphereNetAppShift => Some(VolumeMode::Filesystem),
            _ => None,
        }
    }
}

/// The size facts of one source disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiskSize {
    /// Virtual capacity (provisioned size) in bytes.
    pub capacity: u64,
    /// Allocated size in bytes when the source reports it (oVirt `actualSize`).
    pub actual: Option<u64>,
}

/// The size to request for a disk on `path` with the volume's `mode`.
///
/// `cdi_overhead` is the destination CDIConfig filesystem overhead (NetApp Shift only; `None`
/// uses CDI's default 0.055).
pub fn requested_size(
    path: DiskPath,
    size: DiskSize,
    mode: VolumeMode,
    overhead: &Overhead,
    cdi_overhead: Option<f64>,
) -> Result<u64> {
    match path {
        DiskPath::VsphereDataVolume => Ok(align_up(size.capacity, ALIGN_BYTES)),
        DiskPath::VsphereXcopy | DiskPath::VsphereCsiImport => Ok(size.capacity),
        DiskPath::VsphereNetAppShift => space_with_cdi_overhead(
            size.capacity,
            cdi_overhead.unwrap_or(CDI_DEFAULT_FILESYSTEM_OVERHEAD),
        ),
        DiskPath::OvirtImageio => Ok(size.capacity.max(size.actual.unwrap_or(0))),
        DiskPath::OvirtPopulator | DiskPath::OpenstackPopulator => {
            space_with_overhead(size.capacity, mode, overhead)
        }
        DiskPath::OvaDataVolume | DiskPath::HypervDataVolume | DiskPath::KubevirtCopy => {
            Ok(size.capacity)
        }
    }
}

/// Formats bytes as a Kubernetes quantity the way Go's `resource.NewQuantity(_, BinarySI)`
/// does: the largest binary suffix that divides exactly (`10Gi`), else plain bytes.
pub fn quantity(bytes: u64) -> String {
    const SUFFIXES: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if bytes == 0 {
        return "0".to_owned();
    }
    let mut value = bytes;
    let mut suffix = "";
    for s in SUFFIXES {
        if value % 1024 != 0 {
            break;
        }
        value /= 1024;
        suffix = s;
    }
    format!("{value}{suffix}")
}

/// Parses a Kubernetes quantity in bytes (`10Gi`, `500M`, `1e3`, `1048576`); `None` when
/// malformed, negative, fractional in bytes or too large.
pub fn parse_quantity(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() {
        return None;
    }
    let multiplier: u128 = match suffix {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        "Ei" => 1 << 60,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "P" => 1_000_000_000_000_000,
        "E" => 1_000_000_000_000_000_000,
        _ => return None,
    };
    let (int, frac) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if frac.contains('.') || frac.len() > 18 {
        return None;
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let scale = 10u128.pow(frac.len() as u32);
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let total = int.checked_mul(scale)?.checked_add(frac_value)?;
    let bytes = total.checked_mul(multiplier)?;
    // Kubernetes rounds fractional byte quantities up.
    let bytes = bytes.div_ceil(scale);
    u64::try_from(bytes).ok()
}

#[cfg(test)]
mod tests;
