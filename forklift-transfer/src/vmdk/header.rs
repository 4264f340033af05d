//! The hosted sparse extent header and stream markers (VMDK 1.1 spec, "Hosted Sparse
//! Extent Header" and "Stream-Optimized Compressed Sparse Extents").

use super::error::{Error, Result};

/// Size of a sector, the unit of every VMDK offset.
pub const SECTOR_SIZE: u64 = 512;
/// `gdOffset` value meaning "the grain directory is found through the footer".
pub const GD_AT_END: u64 = u64::MAX;

/// "KDMV" read as a little-endian u32.
const MAGIC: u32 = 0x564d_444b;
const FLAG_NEWLINE_TEST: u32 = 1;
const FLAG_ZEROED_GRAIN_GTE: u32 = 1 << 2;
const FLAG_COMPRESSED: u32 = 1 << 16;
const FLAG_MARKERS: u32 = 1 << 17;

/// Largest grain accepted (sectors): 1 MiB. VMware writes 64 KiB grains, and so does
/// `qemu-img` (it has no option for another size; qemu reads up to 1 GiB). Each reading
/// thread holds up to a grain and its compressed bytes (a grain and 1/8 more), and the copy
/// engine reads with 16 requests in flight: about 34 MiB at 1 MiB grains where 32 MiB
/// grains allowed about 1 GiB. 1 MiB leaves 16 times VMware's size for other writers.
pub const MAX_GRAIN_SECTORS: u64 = 1 << 11;
/// Largest grain table accepted (entries): VMware always writes 512 and qemu refuses more
/// ("L2 table size too big"). Tables are cached by the count, so larger ones would multiply
/// the cache's memory (at 65,536 entries, 128 MiB instead of 1 MiB).
const MAX_GTES_PER_GT: u32 = 512;
/// Largest grain directory accepted (entries, 4 bytes each, held in memory while the extent
/// is open): 32 MiB, exactly what [`MAX_CAPACITY_SECTORS`] takes with VMware's 64 KiB grains
/// and 512-entry tables. Without it only the file's length bounded the directory, so a
/// hostile header (tiny grains and tables, a huge capacity) in a large file made the reader
/// allocate as much memory as the file holds.
const MAX_GD_ENTRIES: u64 = 1 << 23;
/// Largest virtual disk accepted: 256 TiB, beyond any VMDK (62 TiB).
const MAX_CAPACITY_SECTORS: u64 = (256 << 40) / SECTOR_SIZE;

/// How grains are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Grains are stored as is.
    None,
    /// Grains are deflate-compressed (zlib stream) behind a grain marker.
    Deflate,
}

/// A validated sparse extent header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseHeader {
    /// Format version (1, 2 or 3).
    pub version: u32,
    /// Raw flags.
    pub flags: u32,
    /// Extent size in sectors.
    pub capacity: u64,
    /// Grain size in sectors (a power of two).
    pub grain_size: u64,
    /// Sector of the embedded descriptor, 0 when none.
    pub descriptor_offset: u64,
    /// Size of the embedded descriptor in sectors.
    pub descriptor_size: u64,
    /// Grain table entries per grain table.
    pub gtes_per_gt: u32,
    /// Sector of the redundant grain directory.
    pub rgd_offset: u64,
    /// Sector of the grain directory, or [`GD_AT_END`].
    pub gd_offset: u64,
    /// Sectors of metadata before the first grain.
    pub overhead: u64,
    /// Grain compression.
    pub compression: Compression,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

impl SparseHeader {
    /// Whether `sector` starts with the sparse extent magic.
    pub fn has_magic(sector: &[u8]) -> bool {
        sector.len() >= 4 && u32_at(sector, 0) == MAGIC
    }

    /// Parses and validates the first 512 bytes of a sparse extent named `file`.
    pub fn parse(file: &str, b: &[u8]) -> Result<Self> {
        if b.len() < SECTOR_SIZE as usize {
            return Err(Error::malformed(file, "header shorter than one sector"));
        }
        if !Self::has_magic(b) {
            return Err(Error::malformed(file, "bad magic (expected \"KDMV\")"));
        }
        let flags = u32_at(b, 8);
        let h = SparseHeader {
            version: u32_at(b, 4),
            flags,
            capacity: u64_at(b, 12),
            grain_size: u64_at(b, 20),
            descriptor_offset: u64_at(b, 28),
            descriptor_size: u64_at(b, 36),
            gtes_per_gt: u32_at(b, 44),
            rgd_offset: u64_at(b, 48),
            gd_offset: u64_at(b, 56),
            overhead: u64_at(b, 64),
            compression: match u16::from_le_bytes([b[77], b[78]]) {
                0 => Compression::None,
                1 => Compression::Deflate,
                other => {
                    return Err(Error::unsupported(
                        file,
                        format!("compression algorithm {other}"),
                    ));
                }
            },
        };
        if !(1..=3).contains(&h.version) {
            return Err(Error::unsupported(
                file,
                format!("sparse extent version {}", h.version),
            ));
        }
        if flags & FLAG_NEWLINE_TEST != 0
            && (b[73] != b'\n' || b[74] != b' ' || b[75] != b'\r' || b[76] != b'\n')
        {
            return Err(Error::malformed(
                file,
                "end-of-line check characters are damaged (file transferred in text mode?)",
            ));
        }
        if !h.grain_size.is_power_of_two() || h.grain_size < 8 || h.grain_size > MAX_GRAIN_SECTORS {
            return Err(Error::malformed(
                file,
                format!(
                    "grain size {} sectors is not a power of two in 8..={MAX_GRAIN_SECTORS}",
                    h.grain_size
                ),
            ));
        }
        if h.gtes_per_gt == 0 || h.gtes_per_gt > MAX_GTES_PER_GT {
            return Err(Error::malformed(
                file,
                format!(
                    "{} grain table entries per table is not in 1..={MAX_GTES_PER_GT}",
                    h.gtes_per_gt
                ),
            ));
        }
        if h.capacity > MAX_CAPACITY_SECTORS {
            return Err(Error::malformed(
                file,
                format!("capacity of {} sectors is implausible", h.capacity),
            ));
        }
        if h.gd_entries() > MAX_GD_ENTRIES {
            return Err(Error::malformed(
                file,
                format!(
                    "a grain directory of {} entries (capacity {} sectors in grains of {} \
                     sectors, {} per table) is beyond the {MAX_GD_ENTRIES} accepted",
                    h.gd_entries(),
                    h.capacity,
                    h.grain_size,
                    h.gtes_per_gt
                ),
            ));
        }
        if h.compressed() && h.compression == Compression::None {
            return Err(Error::malformed(
                file,
                "compressed grains flagged without an algorithm",
            ));
        }
        Ok(h)
    }

    /// Whether grains are compressed (and carry a grain header).
    pub fn compressed(&self) -> bool {
        self.flags & FLAG_COMPRESSED != 0 || self.compression != Compression::None
    }

    /// Whether the extent holds stream markers (streamOptimized).
    pub fn has_markers(&self) -> bool {
        self.flags & FLAG_MARKERS != 0
    }

    /// Whether grain table entry 1 means "zeroed grain".
    pub fn zeroed_grain_gte(&self) -> bool {
        self.flags & FLAG_ZEROED_GRAIN_GTE != 0 || self.version >= 2
    }

    /// Bytes per grain.
    pub fn grain_bytes(&self) -> u64 {
        self.grain_size * SECTOR_SIZE
    }

    /// Number of grains covering the capacity.
    pub fn grain_count(&self) -> u64 {
        self.capacity.div_ceil(self.grain_size)
    }

    /// Number of grain directory entries (grain tables) covering the capacity.
    pub fn gd_entries(&self) -> u64 {
        self.grain_count().div_ceil(u64::from(self.gtes_per_gt))
    }
}

/// Kind of a stream marker (streamOptimized).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    /// A compressed grain: logical sector and compressed size in bytes.
    Grain { lba: u64, size: u32 },
    /// End of stream.
    EndOfStream,
    /// Metadata (grain table, grain directory or footer) of `sectors` sectors follows.
    Metadata { kind: u32, sectors: u64 },
}

/// Marker type of a footer.
pub(crate) const MARKER_FOOTER: u32 = 3;

impl Marker {
    /// Parses the first 16 bytes of a sector as a marker.
    pub(crate) fn parse(file: &str, b: &[u8]) -> Result<Self> {
        let val = u64_at(b, 0);
        let size = u32_at(b, 8);
        if size != 0 {
            return Ok(Marker::Grain { lba: val, size });
        }
        match u32_at(b, 12) {
            0 => Ok(Marker::EndOfStream),
            kind @ 1..=3 => Ok(Marker::Metadata { kind, sectors: val }),
            other => Err(Error::malformed(
                file,
                format!("unknown stream marker type {other}"),
            )),
        }
    }
}
