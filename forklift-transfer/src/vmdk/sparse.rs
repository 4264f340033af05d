//! Hosted sparse extents: plain (monolithicSparse, twoGbMaxExtentSparse) and stream-optimized.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::error::{Error, Result};
use super::header::{GD_AT_END, MARKER_FOOTER, Marker, SECTOR_SIZE, SparseHeader};
use super::inflate::{KEEP_SCRATCH_BYTES, with_scratch};
use super::io::{ReadAt, read_exact_at};
use super::scan::{self, GRAIN_HEADER, ScanIndex};

/// Grain tables kept in memory at most (512 entries each by default: 1 MiB of cache).
const GT_CACHE_TABLES: usize = 512;

/// How the grains of a sparse extent are located.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrainLookup {
    /// Through the grain directory at this sector, named by the header.
    Header {
        /// Sector of the grain directory.
        gd_sector: u64,
    },
    /// Through the grain directory at this sector, named by the footer (`GD_AT_END`).
    Footer {
        /// Sector of the grain directory.
        gd_sector: u64,
    },
    /// Through an index built by one scan of the stream markers (see `scan.rs`: one
    /// checkpoint per grain table's worth of grains when they come in disk order).
    MarkerScan,
}

/// Where one grain lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grain {
    /// Never written: reads as zeros (no parent disks are supported).
    Unallocated,
    /// Explicitly zeroed (grain table entry 1).
    Zero,
    /// Stored at this byte offset (grain data, or grain header when compressed).
    Stored(u64),
}

enum Index {
    Directory {
        gd: Vec<u32>,
        gt_cache: Mutex<GtCache>,
    },
    /// Grains in disk order: a table per group, rebuilt from its checkpoint on demand.
    Checkpoints {
        checkpoints: Vec<(u32, u32)>,
        gt_cache: Mutex<GtCache>,
    },
    /// Grains out of order: one entry per grain.
    Scanned { grains: Vec<(u64, u64)> },
}

#[derive(Default)]
struct GtCache {
    tables: HashMap<usize, Arc<Vec<u32>>>,
    order: VecDeque<usize>,
}

/// An open hosted sparse extent.
pub(crate) struct SparseExtent {
    src: Arc<dyn ReadAt>,
    header: SparseHeader,
    lookup: GrainLookup,
    index: Index,
    last_grain: Mutex<Option<(u64, Arc<Vec<u8>>)>>,
}

impl std::fmt::Debug for SparseExtent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparseExtent")
            .field("file", &self.src.name())
            .field("header", &self.header)
            .field("lookup", &self.lookup)
            .finish_non_exhaustive()
    }
}

fn name(src: &dyn ReadAt) -> &str {
    src.name()
}

impl SparseExtent {
    /// Opens the sparse extent held by `src`, whose header is `header`. With `scan_markers`,
    /// a stream is indexed by scanning its markers even when it has a grain directory.
    pub(crate) fn open(
        src: Arc<dyn ReadAt>,
        header: SparseHeader,
        scan_markers: bool,
    ) -> Result<Self> {
        let file = name(src.as_ref()).to_owned();
        let (header, lookup) = if scan_markers && header.has_markers() {
            (header, GrainLookup::MarkerScan)
        } else if header.gd_offset != GD_AT_END {
            let gd_sector = if header.gd_offset != 0 {
                header.gd_offset
            } else {
                header.rgd_offset
            };
            (header, GrainLookup::Header { gd_sector })
        } else {
            match read_footer(src.as_ref(), &header)? {
                Some(footer) => {
                    let gd_sector = footer.gd_offset;
                    (footer, GrainLookup::Footer { gd_sector })
                }
                None if header.has_markers() => (header, GrainLookup::MarkerScan),
                None => {
                    return Err(Error::malformed(
                        &file,
                        "grain directory is at the end but there is no footer",
                    ));
                }
            }
        };
        let index = match lookup {
            GrainLookup::Header { gd_sector } | GrainLookup::Footer { gd_sector } => {
                if gd_sector == 0 {
                    return Err(Error::malformed(&file, "header names no grain directory"));
                }
                Index::Directory {
                    gd: read_directory(src.as_ref(), &header, gd_sector)?,
                    gt_cache: Mutex::default(),
                }
            }
            GrainLookup::MarkerScan => match scan::index(src.as_ref(), &header)? {
                ScanIndex::Checkpoints(checkpoints) => Index::Checkpoints {
                    checkpoints,
                    gt_cache: Mutex::default(),
                },
                ScanIndex::Grains(grains) => Index::Scanned { grains },
            },
        };
        Ok(SparseExtent {
            src,
            header,
            lookup,
            index,
            last_grain: Mutex::new(None),
        })
    }

    /// The effective header (the footer's for `GD_AT_END` streams).
    pub(crate) fn header(&self) -> &SparseHeader {
        &self.header
    }

    /// How grains are located.
    pub(crate) fn lookup(&self) -> GrainLookup {
        self.lookup
    }

    fn file(&self) -> &str {
        self.src.name()
    }

    /// Where grain `g` lives.
    pub(crate) fn grain(&self, g: u64) -> Result<Grain> {
        match &self.index {
            Index::Scanned { grains } => {
                Ok(match grains.binary_search_by_key(&g, |&(grain, _)| grain) {
                    Ok(i) => Grain::Stored(grains[i].1),
                    Err(_) => Grain::Unallocated,
                })
            }
            Index::Checkpoints {
                checkpoints,
                gt_cache,
            } => {
                let per_gt = u64::from(self.header.gtes_per_gt);
                let Some((group, sector)) = checkpoint_of(checkpoints, g / per_gt) else {
                    return Ok(Grain::Unallocated);
                };
                let table = self.cached_table(gt_cache, group as usize, || {
                    scan::group_table(self.src.as_ref(), &self.header, group, sector)
                })?;
                Ok(match table[(g % per_gt) as usize] {
                    0 => Grain::Unallocated,
                    sector => Grain::Stored(u64::from(sector) * SECTOR_SIZE),
                })
            }
            Index::Directory { gd, gt_cache } => {
                let per_gt = u64::from(self.header.gtes_per_gt);
                let Ok(gd_index) = usize::try_from(g / per_gt) else {
                    return Ok(Grain::Unallocated);
                };
                let Some(&gde) = gd.get(gd_index) else {
                    return Ok(Grain::Unallocated);
                };
                if gde == 0 {
                    return Ok(Grain::Unallocated);
                }
                let table = self.cached_table(gt_cache, gd_index, || self.read_grain_table(gde))?;
                let gte = table[(g % per_gt) as usize];
                Ok(match gte {
                    0 => Grain::Unallocated,
                    1 if self.header.zeroed_grain_gte() => Grain::Zero,
                    sector => Grain::Stored(u64::from(sector) * SECTOR_SIZE),
                })
            }
        }
    }

    /// Whether the whole grain table holding grain `g` is absent: returns the number of
    /// grains from `g` to the end of that table when it is, to skip them at once.
    pub(crate) fn absent_table_run(&self, g: u64) -> Option<u64> {
        let per_gt = u64::from(self.header.gtes_per_gt);
        let absent = match &self.index {
            Index::Directory { gd, .. } => {
                let gd_index = usize::try_from(g / per_gt).ok()?;
                matches!(gd.get(gd_index), Some(0) | None)
            }
            Index::Checkpoints { checkpoints, .. } => {
                checkpoint_of(checkpoints, g / per_gt).is_none()
            }
            Index::Scanned { .. } => false,
        };
        absent.then(|| per_gt - g % per_gt)
    }

    /// Table `index` from `cache`, built by `build` (and cached) when absent.
    fn cached_table(
        &self,
        cache: &Mutex<GtCache>,
        index: usize,
        build: impl FnOnce() -> Result<Vec<u32>>,
    ) -> Result<Arc<Vec<u32>>> {
        if let Some(t) = cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .tables
            .get(&index)
        {
            return Ok(t.clone());
        }
        let table = Arc::new(build()?);
        let mut guard = cache.lock().unwrap_or_else(|e| e.into_inner());
        if guard.order.len() >= GT_CACHE_TABLES {
            if let Some(old) = guard.order.pop_front() {
                guard.tables.remove(&old);
            }
        }
        if guard.tables.insert(index, table.clone()).is_none() {
            guard.order.push_back(index);
        }
        Ok(table)
    }

    /// Reads the grain table at sector `gde`.
    fn read_grain_table(&self, gde: u32) -> Result<Vec<u32>> {
        let entries = self.header.gtes_per_gt as usize;
        let mut raw = vec![0u8; entries * 4];
        read_exact_at(
            self.src.as_ref(),
            &mut raw,
            u64::from(gde) * SECTOR_SIZE,
            "grain table",
        )?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Reads the bytes of grain `g` stored at byte offset `at` into `out` (a whole grain,
    /// or less for the last grain of the extent).
    pub(crate) fn read_grain(&self, g: u64, at: u64, out: &mut [u8]) -> Result<()> {
        if !self.header.compressed() {
            return read_exact_at(self.src.as_ref(), out, at, "grain");
        }
        let grain_bytes = self.header.grain_bytes() as usize;
        if out.len() == grain_bytes {
            // A whole grain: inflate straight into the caller's buffer.
            return self.inflate_grain(g, at, out);
        }
        if let Some((cached, data)) = self
            .last_grain
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            if *cached == g {
                out.copy_from_slice(&data[..out.len()]);
                return Ok(());
            }
        }
        // Part of a grain: keep it, the next read is likely the rest of it.
        let mut data = vec![0u8; grain_bytes];
        self.inflate_grain(g, at, &mut data)?;
        out.copy_from_slice(&data[..out.len()]);
        *self.last_grain.lock().unwrap_or_else(|e| e.into_inner()) = Some((g, Arc::new(data)));
        Ok(())
    }

    /// Reads stored (uncompressed) grain bytes at byte offset `at`.
    pub(crate) fn read_grain_bytes(&self, out: &mut [u8], at: u64) -> Result<()> {
        read_exact_at(self.src.as_ref(), out, at, "grain")
    }

    /// Most bytes a compressed grain takes in the stream, header included: deflate never
    /// expands data by more than a few bytes per 16 KiB block.
    pub(crate) fn max_packed_bytes(&self) -> u64 {
        let grain_bytes = self.header.grain_bytes();
        GRAIN_HEADER + grain_bytes + grain_bytes / 8 + 1024
    }

    /// Checks the header of compressed grain `g` at byte `at`; returns its compressed size.
    fn grain_size_from(&self, g: u64, at: u64, head: &[u8]) -> Result<usize> {
        let lba = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
        let size = u32::from_le_bytes(head[8..12].try_into().unwrap_or_default()) as u64;
        if lba != g * self.header.grain_size {
            return Err(Error::malformed(
                self.file(),
                format!(
                    "grain at byte {at} is for sector {lba}, expected sector {}",
                    g * self.header.grain_size
                ),
            ));
        }
        if size == 0 || size > self.max_packed_bytes() - GRAIN_HEADER {
            return Err(Error::malformed(
                self.file(),
                format!("grain at byte {at} has implausible size {size}"),
            ));
        }
        Ok(size as usize)
    }

    /// Inflates `packed` (the compressed bytes of the grain at byte `at`) into `out` and
    /// zero-fills what a short last grain leaves.
    fn inflate_packed(
        &self,
        inflater: &mut super::inflate::GrainInflater,
        at: u64,
        packed: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        let filled = inflater.inflate(packed, out).map_err(|reason| {
            Error::malformed(self.file(), format!("grain at byte {at}: {reason}"))
        })?;
        // A short last grain is legal (qemu compresses only the bytes inside the disk).
        out[filled..].fill(0);
        Ok(())
    }

    /// Inflates compressed grain `g` whose header is at byte `at` into `out` (one grain long).
    fn inflate_grain(&self, g: u64, at: u64, out: &mut [u8]) -> Result<()> {
        let mut head = [0u8; GRAIN_HEADER as usize];
        read_exact_at(self.src.as_ref(), &mut head, at, "compressed grain header")?;
        let size = self.grain_size_from(g, at, &head)?;
        with_scratch(|scratch| {
            scratch.packed.resize(size, 0);
            read_exact_at(
                self.src.as_ref(),
                &mut scratch.packed,
                at + GRAIN_HEADER,
                "compressed grain",
            )?;
            self.inflate_packed(&mut scratch.inflater, at, &scratch.packed, out)
        })
    }

    /// Reads a run of compressed grains `(grain, byte offset)`, at increasing offsets no
    /// more than [`max_packed_bytes`](Self::max_packed_bytes) apart, into `out`: one grain
    /// after the other, each whole except perhaps the extent's short last one. The stream
    /// bytes of the whole run are read with one positional read (instead of two per grain),
    /// bounded by [`RUN_BYTES`] so the per-thread buffer stays small.
    pub(crate) fn read_grain_run(&self, run: &[(u64, u64)], out: &mut [u8]) -> Result<()> {
        let (Some(&(_, first)), Some(&(_, last))) = (run.first(), run.last()) else {
            return Ok(());
        };
        let len = self.src.len();
        let end = last.saturating_add(self.max_packed_bytes()).min(len);
        if first >= end || end - first > RUN_BYTES {
            // Not a run this reader builds; read grain by grain.
            return self.read_grains_one_by_one(run, out);
        }
        let grain_bytes = self.header.grain_bytes() as usize;
        with_scratch(|scratch| {
            scratch.packed.resize((end - first) as usize, 0);
            read_exact_at(
                self.src.as_ref(),
                &mut scratch.packed,
                first,
                "compressed grains",
            )?;
            for (&(g, at), dst) in run.iter().zip(out.chunks_mut(grain_bytes)) {
                let off = (at - first) as usize;
                let head = scratch.packed.get(off..off + GRAIN_HEADER as usize);
                let (Some(head), true) = (head, dst.len() == grain_bytes) else {
                    // Cut by the end of the file, or the extent's short last grain.
                    self.read_grain(g, at, dst)?;
                    continue;
                };
                let size = self.grain_size_from(g, at, head)?;
                let body = off + GRAIN_HEADER as usize;
                match scratch.packed.get(body..body + size) {
                    Some(packed) => self.inflate_packed(&mut scratch.inflater, at, packed, dst)?,
                    // Past the end of the file: the single read names what is missing.
                    None => self.read_grain(g, at, dst)?,
                }
            }
            Ok(())
        })
    }

    fn read_grains_one_by_one(&self, run: &[(u64, u64)], out: &mut [u8]) -> Result<()> {
        let grain_bytes = self.header.grain_bytes() as usize;
        for (&(g, at), dst) in run.iter().zip(out.chunks_mut(grain_bytes)) {
            self.read_grain(g, at, dst)?;
        }
        Ok(())
    }
}

/// Most stream bytes one [`SparseExtent::read_grain_run`] reads at once.
pub(crate) const RUN_BYTES: u64 = KEEP_SCRATCH_BYTES as u64;

fn read_directory(src: &dyn ReadAt, h: &SparseHeader, gd_sector: u64) -> Result<Vec<u32>> {
    let entries = h.gd_entries();
    let bytes = entries.checked_mul(4).filter(|&b| b <= src.len());
    let offset = gd_sector.checked_mul(SECTOR_SIZE);
    let (Some(bytes), Some(offset)) = (bytes, offset) else {
        return Err(Error::Truncated {
            file: src.name().to_owned(),
            what: "grain directory",
            offset: gd_sector.saturating_mul(SECTOR_SIZE),
            len: src.len(),
        });
    };
    let mut raw = vec![0u8; bytes as usize];
    read_exact_at(src, &mut raw, offset, "grain directory")?;
    Ok(raw
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Reads the footer of a `GD_AT_END` stream: footer marker, header copy, end-of-stream marker.
fn read_footer(src: &dyn ReadAt, h: &SparseHeader) -> Result<Option<SparseHeader>> {
    if src.len() < 3 * SECTOR_SIZE {
        return Ok(None);
    }
    let mut tail = vec![0u8; 3 * SECTOR_SIZE as usize];
    read_exact_at(src, &mut tail, src.len() - 3 * SECTOR_SIZE, "footer")?;
    let marker = Marker::parse(src.name(), &tail[..16]);
    if !matches!(
        marker,
        Ok(Marker::Metadata {
            kind: MARKER_FOOTER,
            ..
        })
    ) {
        return Ok(None);
    }
    let footer = SparseHeader::parse(src.name(), &tail[512..1024])?;
    if footer.gd_offset == GD_AT_END || footer.gd_offset == 0 {
        return Ok(None);
    }
    if footer.grain_size != h.grain_size
        || footer.capacity != h.capacity
        || footer.gtes_per_gt != h.gtes_per_gt
    {
        return Err(Error::malformed(
            src.name(),
            "footer disagrees with the header",
        ));
    }
    Ok(Some(footer))
}

/// The checkpoint `(group, sector)` of group `group`, when it holds any grain.
fn checkpoint_of(checkpoints: &[(u32, u32)], group: u64) -> Option<(u32, u32)> {
    let group = u32::try_from(group).ok()?;
    let i = checkpoints.binary_search_by_key(&group, |&(g, _)| g).ok()?;
    Some(checkpoints[i])
}
