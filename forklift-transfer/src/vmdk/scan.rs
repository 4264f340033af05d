//! Indexing a streamOptimized extent by its markers, for a stream without a usable grain
//! directory (no footer, or [`OpenOptions::scan_markers`](super::OpenOptions)).
//!
//! Memory stays bounded regardless of the disk's size. VMware and qemu write a stream's
//! grains in disk order, so the normal index is a list of **checkpoints**: for each group of
//! `numGTEsPerGT` grains (one grain table's worth) that holds any grain, the sector of the
//! group's first grain marker, 8 bytes per allocated group (256 KiB for a full 1 TiB disk
//! of 64 KiB grains, where one entry per grain took 256 MiB). A group's table is rebuilt
//! on demand by walking its markers from its checkpoint, and kept in the extent's bounded
//! table cache like a grain table read from a directory.
//!
//! A stream whose grain markers are not in strictly increasing order (repeated or out of
//! order), or lie more than 2 TiB into the file (checkpoints and tables hold `u32` sectors,
//! as grain tables do), is indexed grain by grain instead, the latest marker of a grain winning, up to
//! [`MAX_UNORDERED_GRAINS`] distinct grains; past that the extent is refused with
//! [`Error::Unordered`].

use std::ops::ControlFlow;

use super::error::{Error, Result};
use super::header::{Marker, SECTOR_SIZE, SparseHeader};
use super::io::{ReadAt, read_exact_at};

/// Bytes of a compressed grain header (`lba: u64`, `size: u32`).
pub(crate) const GRAIN_HEADER: u64 = 12;

/// Distinct grains an out-of-order stream may index (16 bytes each: 16 MiB, twice that
/// while repeated markers are squeezed out). In-order streams, which is what VMware and
/// qemu write, do not use this index at all. At 64 KiB grains it covers 64 GiB of
/// allocated data.
pub const MAX_UNORDERED_GRAINS: usize = 1 << 20;

/// How the grains of a scanned stream are found.
#[derive(Debug)]
pub(crate) enum ScanIndex {
    /// Grains in disk order: `(group, sector of the group's first grain marker)` for every
    /// group of `numGTEsPerGT` grains holding any, by group.
    Checkpoints(Vec<(u32, u32)>),
    /// Grains out of order: `(grain, byte offset of its marker)` by grain, one per grain.
    Grains(Vec<(u64, u64)>),
}

impl ScanIndex {
    /// Heap bytes the index holds.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            ScanIndex::Checkpoints(c) => c.capacity() * size_of::<(u32, u32)>(),
            ScanIndex::Grains(g) => g.capacity() * size_of::<(u64, u64)>(),
        }
    }
}

/// Byte offset of the first marker of a stream with header `h`.
fn first_marker(src: &dyn ReadAt, h: &SparseHeader) -> Result<u64> {
    h.overhead
        .checked_mul(SECTOR_SIZE)
        .map(|p| p.max(SECTOR_SIZE))
        .ok_or_else(|| Error::Truncated {
            file: src.name().to_owned(),
            what: "stream marker",
            offset: u64::MAX,
            len: src.len(),
        })
}

/// Walks the markers of the stream from byte `pos` to its end-of-stream marker, calling
/// `on_grain(grain, byte offset of its marker)` for each grain marker until it breaks.
/// Every marker is checked: within the file, and a grain marker naming a grain start inside
/// the disk.
fn walk(
    src: &dyn ReadAt,
    h: &SparseHeader,
    mut pos: u64,
    mut on_grain: impl FnMut(u64, u64) -> Result<ControlFlow<()>>,
) -> Result<()> {
    let file = src.name();
    let len = src.len();
    let truncated = |offset: u64| Error::Truncated {
        file: file.to_owned(),
        what: "stream marker",
        offset,
        len,
    };
    let mut marker = [0u8; 16];
    loop {
        if pos.checked_add(16).is_none_or(|end| end > len) {
            return Err(truncated(pos));
        }
        read_exact_at(src, &mut marker, pos, "stream marker")?;
        let parsed = Marker::parse(file, &marker)?;
        if !matches!(parsed, Marker::Grain { .. }) && pos + SECTOR_SIZE > len {
            return Err(truncated(pos));
        }
        pos = match parsed {
            Marker::EndOfStream => return Ok(()),
            Marker::Grain { lba, size } => {
                if lba % h.grain_size != 0 || lba >= h.capacity {
                    return Err(Error::malformed(
                        file,
                        format!("grain marker at byte {pos} names sector {lba}"),
                    ));
                }
                if on_grain(lba / h.grain_size, pos)?.is_break() {
                    return Ok(());
                }
                (pos + GRAIN_HEADER + u64::from(size)).next_multiple_of(SECTOR_SIZE)
            }
            Marker::Metadata { sectors, .. } => sectors
                .checked_add(1)
                .and_then(|s| s.checked_mul(SECTOR_SIZE))
                .and_then(|s| s.checked_add(pos))
                .ok_or_else(|| truncated(pos))?,
        };
    }
}

/// Indexes the stream `src` (header `h`) by one walk of its markers, two when they turn out
/// not to be in disk order.
pub(crate) fn index(src: &dyn ReadAt, h: &SparseHeader) -> Result<ScanIndex> {
    match checkpoints(src, h)? {
        Some(c) => Ok(ScanIndex::Checkpoints(c)),
        None => Ok(ScanIndex::Grains(every_grain(src, h)?)),
    }
}

/// The checkpoints of an in-order stream; `None` when a grain marker does not follow the
/// previous one, or lies past the 2 TiB a `u32` sector reaches (as grain tables do).
fn checkpoints(src: &dyn ReadAt, h: &SparseHeader) -> Result<Option<Vec<(u32, u32)>>> {
    let per_gt = u64::from(h.gtes_per_gt);
    let mut out: Vec<(u32, u32)> = Vec::new();
    let mut last: Option<u64> = None;
    let mut ordered = true;
    walk(src, h, first_marker(src, h)?, |g, pos| {
        let sector = u32::try_from(pos / SECTOR_SIZE);
        // The header bounds the group count (`MAX_GD_ENTRIES`), so it fits.
        let group = u32::try_from(g / per_gt);
        let (true, Ok(sector), Ok(group)) = (last.is_none_or(|l| l < g), sector, group) else {
            ordered = false;
            return Ok(ControlFlow::Break(()));
        };
        if out.last().is_none_or(|&(last_group, _)| last_group < group) {
            out.push((group, sector));
        }
        last = Some(g);
        Ok(ControlFlow::Continue(()))
    })?;
    out.shrink_to_fit();
    Ok(ordered.then_some(out))
}

/// Every grain of the stream, by grain, the latest marker of a grain winning.
fn every_grain(src: &dyn ReadAt, h: &SparseHeader) -> Result<Vec<(u64, u64)>> {
    let limit = MAX_UNORDERED_GRAINS;
    // Repeated markers are squeezed out whenever the index reaches twice what it may keep,
    // so they cannot grow it with the file (one entry per 512-byte sector).
    let compact_at = usize::try_from(h.grain_count())
        .unwrap_or(usize::MAX)
        .min(limit)
        .saturating_mul(2)
        .max(1024);
    let too_many = || Error::Unordered {
        file: src.name().to_owned(),
        limit,
    };
    let mut grains: Vec<(u64, u64)> = Vec::new();
    walk(src, h, first_marker(src, h)?, |g, pos| {
        grains.push((g, pos));
        if grains.len() >= compact_at {
            latest_per_grain(&mut grains);
            if grains.len() > limit {
                return Err(too_many());
            }
        }
        Ok(ControlFlow::Continue(()))
    })?;
    latest_per_grain(&mut grains);
    if grains.len() > limit {
        return Err(too_many());
    }
    Ok(grains)
}

/// Sorts `grains` by grain and keeps one entry per grain: a later marker for the same grain
/// supersedes an earlier one.
fn latest_per_grain(grains: &mut Vec<(u64, u64)>) {
    grains.sort_unstable();
    grains.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 = kept.1.max(later.1);
        }
        same
    });
    grains.shrink_to_fit();
}

/// The table of group `group` of an in-order stream, whose first grain marker is at sector
/// `sector`: for each of its `numGTEsPerGT` grains, the sector of its marker, 0 when absent
/// (the shape of a grain table, so the extent's table cache holds it).
pub(crate) fn group_table(
    src: &dyn ReadAt,
    h: &SparseHeader,
    group: u32,
    sector: u32,
) -> Result<Vec<u32>> {
    let per_gt = u64::from(h.gtes_per_gt);
    let mut table = vec![0u32; h.gtes_per_gt as usize];
    let start = u64::from(sector) * SECTOR_SIZE;
    walk(src, h, start, |g, pos| {
        let in_group = g / per_gt == u64::from(group);
        match (in_group, u32::try_from(pos / SECTOR_SIZE)) {
            (true, Ok(s)) => {
                table[(g % per_gt) as usize] = s;
                Ok(ControlFlow::Continue(()))
            }
            _ => Ok(ControlFlow::Break(())),
        }
    })?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmdk::io::MemoryWindow;

    const GRAIN_SECTORS: u64 = 128;

    fn header(capacity: u64) -> SparseHeader {
        let mut b = vec![0u8; 512];
        b[0..4].copy_from_slice(b"KDMV");
        b[4..8].copy_from_slice(&3u32.to_le_bytes());
        b[8..12].copy_from_slice(&(1u32 << 16 | 1 << 17).to_le_bytes());
        b[12..20].copy_from_slice(&capacity.to_le_bytes());
        b[20..28].copy_from_slice(&GRAIN_SECTORS.to_le_bytes());
        b[44..48].copy_from_slice(&512u32.to_le_bytes());
        b[56..64].copy_from_slice(&u64::MAX.to_le_bytes());
        b[64..72].copy_from_slice(&1u64.to_le_bytes());
        b[77..79].copy_from_slice(&1u16.to_le_bytes());
        SparseHeader::parse("t.vmdk", &b).unwrap()
    }

    /// A stream of one-sector grain markers for `grains`, with a grain-table metadata
    /// marker (one sector) after every `meta_every` grains, then the end-of-stream marker.
    fn stream(grains: &[u64], meta_every: usize) -> (MemoryWindow, Vec<u64>) {
        let mut out = vec![0u8; 512];
        let mut at = Vec::new();
        for (i, &g) in grains.iter().enumerate() {
            at.push(out.len() as u64);
            let mut m = [0u8; 512];
            m[0..8].copy_from_slice(&(g * GRAIN_SECTORS).to_le_bytes());
            m[8..12].copy_from_slice(&100u32.to_le_bytes());
            out.extend_from_slice(&m);
            if meta_every != 0 && (i + 1) % meta_every == 0 {
                let mut meta = [0u8; 1024];
                meta[0..8].copy_from_slice(&1u64.to_le_bytes());
                meta[12..16].copy_from_slice(&1u32.to_le_bytes());
                out.extend_from_slice(&meta);
            }
        }
        out.extend_from_slice(&[0u8; 512]);
        (MemoryWindow::new("t.vmdk", out), at)
    }

    /// Where each grain in `0..count` is found through `index`, as the extent does.
    fn locate(src: &dyn ReadAt, h: &SparseHeader, index: &ScanIndex, g: u64) -> Option<u64> {
        match index {
            ScanIndex::Grains(v) => v
                .binary_search_by_key(&g, |&(grain, _)| grain)
                .ok()
                .map(|i| v[i].1),
            ScanIndex::Checkpoints(c) => {
                let group = (g / u64::from(h.gtes_per_gt)) as u32;
                let i = c.binary_search_by_key(&group, |&(grp, _)| grp).ok()?;
                let table = group_table(src, h, group, c[i].1).unwrap();
                let s = table[(g % u64::from(h.gtes_per_gt)) as usize];
                (s != 0).then_some(u64::from(s) * SECTOR_SIZE)
            }
        }
    }

    #[test]
    fn an_ordered_stream_keeps_one_checkpoint_per_group() {
        let grains: Vec<u64> = (0..1500).filter(|g| g % 3 != 1).chain([4000]).collect();
        let (src, at) = stream(&grains, 7);
        let h = header(5000 * GRAIN_SECTORS);
        let index = index(&src, &h).unwrap();
        let ScanIndex::Checkpoints(c) = &index else {
            panic!("not checkpoints: {index:?}")
        };
        assert_eq!(c.iter().map(|&(g, _)| g).collect::<Vec<_>>(), [0, 1, 2, 7]);
        for g in 0..5000 {
            let want = grains.iter().position(|&x| x == g).map(|i| at[i]);
            assert_eq!(locate(&src, &h, &index, g), want, "grain {g}");
        }
    }

    #[test]
    fn an_unordered_stream_is_indexed_by_grain_and_the_last_marker_wins() {
        let grains = [5, 2, 9, 2, 700, 5];
        let (src, at) = stream(&grains, 0);
        let h = header(1000 * GRAIN_SECTORS);
        let index = index(&src, &h).unwrap();
        assert!(
            matches!(index, ScanIndex::Grains(ref v) if v.len() == 4),
            "{index:?}"
        );
        assert_eq!(locate(&src, &h, &index, 2), Some(at[3]));
        assert_eq!(locate(&src, &h, &index, 5), Some(at[5]));
        assert_eq!(locate(&src, &h, &index, 9), Some(at[2]));
        assert_eq!(locate(&src, &h, &index, 700), Some(at[4]));
        assert_eq!(locate(&src, &h, &index, 3), None);
    }

    #[test]
    fn a_repeated_marker_is_not_in_order() {
        let (src, at) = stream(&[1, 2, 2, 3], 0);
        let h = header(10 * GRAIN_SECTORS);
        let index = index(&src, &h).unwrap();
        assert!(matches!(index, ScanIndex::Grains(_)), "{index:?}");
        assert_eq!(locate(&src, &h, &index, 2), Some(at[2]));
    }

    /// A stream of `count` one-sector grain markers, marker `i` for grain `grain(i)`, made
    /// up as it is read (a million markers would take 512 MiB in memory).
    struct Procedural {
        count: u64,
        grain: fn(u64) -> u64,
    }

    impl ReadAt for Procedural {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
            let sector = offset / SECTOR_SIZE;
            let within = (offset % SECTOR_SIZE) as usize;
            let mut m = [0u8; 512];
            if (1..=self.count).contains(&sector) {
                m[0..8].copy_from_slice(&((self.grain)(sector - 1) * GRAIN_SECTORS).to_le_bytes());
                m[8..12].copy_from_slice(&100u32.to_le_bytes());
            }
            let n = buf.len().min(512 - within);
            buf[..n].copy_from_slice(&m[within..within + n]);
            Ok(n)
        }

        fn len(&self) -> u64 {
            (self.count + 2) * SECTOR_SIZE
        }

        fn name(&self) -> &str {
            "t.vmdk"
        }
    }

    #[test]
    fn an_unordered_stream_past_the_limit_is_refused_naming_the_file() {
        // One grain past the limit's worth, then the limit's worth from the start.
        let limit = MAX_UNORDERED_GRAINS as u64;
        let src = Procedural {
            count: limit + 1,
            grain: |i| i.checked_sub(1).unwrap_or(MAX_UNORDERED_GRAINS as u64),
        };
        let h = header((limit + 2) * GRAIN_SECTORS);
        match index(&src, &h) {
            Err(Error::Unordered { file, limit }) => {
                assert_eq!((file.as_str(), limit), ("t.vmdk", MAX_UNORDERED_GRAINS));
            }
            other => panic!("not refused: {other:?}"),
        }
        // As many repeats of three grains squeeze out and stay under the limit.
        let src = Procedural {
            count: limit + 1,
            grain: |i| i % 3,
        };
        let index = index(&src, &header(3 * GRAIN_SECTORS)).unwrap();
        assert!(
            matches!(index, ScanIndex::Grains(ref v) if v.len() == 3),
            "{index:?}"
        );
    }

    #[test]
    fn a_huge_sparse_capacity_costs_only_its_allocated_groups() {
        // 256 TiB of capacity, three grains near its start, middle and end.
        let h = header((256u64 << 40) / SECTOR_SIZE);
        let last = h.grain_count() - 1;
        let grains = [0, last / 2, last];
        let (src, at) = stream(&grains, 0);
        let index = index(&src, &h).unwrap();
        assert!(
            matches!(index, ScanIndex::Checkpoints(ref c) if c.len() == 3),
            "{index:?}"
        );
        assert!(index.heap_bytes() <= 64, "{} bytes", index.heap_bytes());
        for (i, &g) in grains.iter().enumerate() {
            assert_eq!(locate(&src, &h, &index, g), Some(at[i]));
            assert_eq!(locate(&src, &h, &index, g.saturating_sub(1).max(1)), None);
        }
    }

    #[test]
    fn a_marker_past_the_capacity_is_refused() {
        let (src, _) = stream(&[0, 10], 0);
        let err = index(&src, &header(10 * GRAIN_SECTORS)).unwrap_err();
        assert!(
            matches!(err, Error::Malformed { ref file, .. } if file == "t.vmdk"),
            "{err}"
        );
    }

    /// Index memory of a 1 TiB stream with one grain every 1 MiB (16 Ki grains of 64 KiB):
    /// `cargo test -p forklift-transfer --lib index_memory -- --nocapture`.
    #[test]
    fn index_memory_of_a_sparse_terabyte() {
        let h = header((1u64 << 40) / SECTOR_SIZE);
        let src = Procedural {
            count: h.grain_count() / 16,
            grain: |i| i * 16,
        };
        let ordered = index(&src, &h).unwrap();
        // What the index took before checkpoints: one entry per grain.
        let per_grain = ScanIndex::Grains(every_grain(&src, &h).unwrap());
        println!(
            "1 TiB, a grain every 1 MiB ({} grains): checkpoints {} bytes, one entry per grain {} bytes",
            src.count,
            ordered.heap_bytes(),
            per_grain.heap_bytes()
        );
        assert_eq!(ordered.heap_bytes(), 32768 * 8);
        assert_eq!(per_grain.heap_bytes(), (1 << 20) * 16);
    }
}
