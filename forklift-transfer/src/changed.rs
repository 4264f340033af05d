//! Changed-extent sources: which byte ranges of a disk changed since a checkpoint, as the
//! precopies of a warm migration need them.
//!
//! ```text
//!   qemu dirty bitmap over NBD ── dirty_bitmap_extents(source, "b1") ─┐
//!   (oVirt incremental backup,                                       ├─ ChangedExtents ── into_incremental()
//!    KubeVirt CBT)                                                    │   ranges, bytes       └─ copy(): only those
//!   provider change lists      ── ChangedExtents::from_areas(...)  ──┘
//!   (vSphere QueryChangedDiskAreas)
//! ```
//!
//! A [`ChangedExtents`] is sorted, merged and inside the disk: the copy and the status
//! (bytes to copy, the downtime forecast) read the same list.

use std::ops::Range;

use crate::block::{BlockSource, Extent, MetaContext, require_extents};
use crate::copy::Incremental;
use crate::error::{Error, Op, Result};

/// Most ranges a changed-extent list may hold (after merging); a source answering more is
/// refused rather than followed. 4 million ranges (~64 MiB of memory) is a 4 TiB disk
/// changed in every other 512 KiB.
pub const MAX_CHANGED_RANGES: usize = 4_000_000;

/// Most bytes one block-status query asks about: NBD lengths are 32-bit, and a server may
/// answer less (the loop goes on from the first byte not covered).
pub const DIRTY_QUERY_SPAN: u64 = 1 << 30;

/// Most block-status queries one listing makes, so that a server that always answers a
/// tiny extent cannot keep the listing going forever: a 64 TiB disk answered in 1 MiB
/// pieces.
pub const MAX_DIRTY_QUERIES: usize = 64 << 20;

/// The changed byte ranges of one disk: sorted, merged and inside the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedExtents {
    ranges: Vec<Range<u64>>,
    size: u64,
}

impl ChangedExtents {
    /// Builds the list from `(offset, length)` areas a provider reported for a disk of
    /// `size` bytes (any order, overlaps allowed; empty areas are dropped). An area past the
    /// end of the disk is refused: it would copy bytes the disk does not have.
    pub fn from_areas(areas: impl IntoIterator<Item = (u64, u64)>, size: u64) -> Result<Self> {
        let mut ranges = Vec::new();
        for (offset, length) in areas {
            if length == 0 {
                continue;
            }
            let end = offset.checked_add(length).filter(|end| *end <= size);
            let Some(end) = end else {
                return Err(Error::protocol(format!(
                    "Changed area at {offset:#x} of {length} bytes is past the end of the \
                     {size}-byte disk"
                ))
                .with_op(Op::Extents));
            };
            ranges.push(offset..end);
        }
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => {
                    if merged.len() >= MAX_CHANGED_RANGES {
                        return Err(too_many());
                    }
                    merged.push(range);
                }
            }
        }
        Ok(Self {
            ranges: merged,
            size,
        })
    }

    /// The ranges, in offset order, none overlapping or touching another.
    pub fn ranges(&self) -> &[Range<u64>] {
        &self.ranges
    }

    /// Bytes changed: what a delta copy transfers at most.
    pub fn bytes(&self) -> u64 {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }

    /// Size of the disk the ranges belong to.
    pub fn disk_size(&self) -> u64 {
        self.size
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The copy mode that transfers exactly these ranges ([`CopyOptions::incremental`]).
    ///
    /// [`CopyOptions::incremental`]: crate::CopyOptions::incremental
    pub fn into_incremental(self) -> Incremental {
        Incremental::Ranges(self.ranges)
    }
}

fn too_many() -> Error {
    Error::protocol(format!(
        "More than {MAX_CHANGED_RANGES} changed ranges (limit MAX_CHANGED_RANGES)"
    ))
    .with_op(Op::Extents)
}

/// The extents dirty in the qemu dirty bitmap `bitmap` of `source`, read through NBD block
/// status with the `qemu:dirty-bitmap:NAME` metadata context (negotiated when the source was
/// opened, e.g. [`OpenOptions::bitmap`](crate::open::OpenOptions::bitmap)).
///
/// This is the changed-block source of oVirt incremental backups and KubeVirt CBT: the
/// caller records [`ChangedExtents::bytes`] and copies with
/// [`ChangedExtents::into_incremental`] onto the previous copy.
pub async fn dirty_bitmap_extents(
    source: &dyn BlockSource,
    bitmap: &str,
) -> Result<ChangedExtents> {
    bounded_dirty_extents(source, bitmap, MAX_DIRTY_QUERIES, MAX_CHANGED_RANGES).await
}

async fn bounded_dirty_extents(
    source: &dyn BlockSource,
    bitmap: &str,
    max_queries: usize,
    max_ranges: usize,
) -> Result<ChangedExtents> {
    let context = MetaContext::DirtyBitmap(bitmap.to_owned());
    require_extents(source, &context)?;
    let size = source.size();
    let mut dirty: Vec<Range<u64>> = Vec::new();
    let mut position = 0;
    let mut queries = 0usize;
    while position < size {
        if queries >= max_queries {
            return Err(Error::protocol(format!(
                "{} answered {max_queries} block-status queries for {context} without \
                 reaching the end of the disk (limit MAX_DIRTY_QUERIES)",
                source.describe()
            ))
            .with_op(Op::Extents));
        }
        queries += 1;
        let length = (size - position).min(DIRTY_QUERY_SPAN);
        let answer = source.extents(position, length, &context).await?;
        let reached = answer.last().map(Extent::end).unwrap_or(position);
        if answer.first().map(|e| e.offset) != Some(position) || reached <= position {
            return Err(Error::protocol(format!(
                "Extents of {context} from {} did not start at {position:#x} or made no progress",
                source.describe()
            ))
            .with_op(Op::Extents));
        }
        for extent in answer.iter().filter(|e| e.flags.is_dirty() && e.length > 0) {
            let start = extent.offset.min(size);
            let end = extent.end().min(size);
            match dirty.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ if start < end => {
                    if dirty.len() >= max_ranges {
                        return Err(too_many());
                    }
                    dirty.push(start..end);
                }
                _ => {}
            }
        }
        position = reached.min(size);
    }
    Ok(ChangedExtents {
        ranges: dirty,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::ExtentFlags;
    use async_trait::async_trait;

    /// A 1 MiB disk whose bitmap is dirty in every other 4 KiB block, answered at most
    /// `per_answer` extents at a time.
    struct Checkerboard {
        per_answer: usize,
    }

    #[async_trait]
    impl BlockSource for Checkerboard {
        fn size(&self) -> u64 {
            1 << 20
        }
        fn can_extents(&self, context: &MetaContext) -> bool {
            matches!(context, MetaContext::DirtyBitmap(name) if name == "b1")
        }
        async fn read_at(&self, _offset: u64, buf: &mut [u8]) -> Result<()> {
            buf.fill(0);
            Ok(())
        }
        async fn extents(&self, offset: u64, length: u64, _: &MetaContext) -> Result<Vec<Extent>> {
            let end = (offset + length).min(self.size());
            Ok((0..self.per_answer as u64)
                .map(|i| offset + i * 4096)
                .take_while(|start| *start < end)
                .map(|start| {
                    let flags = if (start / 4096) % 2 == 0 {
                        ExtentFlags::DIRTY
                    } else {
                        ExtentFlags::DATA
                    };
                    Extent::new(start, 4096, flags)
                })
                .collect())
        }
    }

    #[tokio::test]
    async fn dirty_listing_loops_merges_and_stops_at_its_limits() {
        let source = Checkerboard { per_answer: 3 };
        let changed = dirty_bitmap_extents(&source, "b1").await.unwrap();
        assert_eq!(changed.ranges().len(), 128);
        assert_eq!(changed.bytes(), 512 * 1024);
        assert_eq!(changed.ranges()[1], 8192..12288);

        let err = dirty_bitmap_extents(&source, "other").await.unwrap_err();
        assert!(err.to_string().contains("qemu:dirty-bitmap:other"), "{err}");
        // 256 blocks answered 3 at a time need 86 queries; 128 dirty ranges.
        let err = bounded_dirty_extents(&source, "b1", 85, 1000)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("MAX_DIRTY_QUERIES"), "{err}");
        let err = bounded_dirty_extents(&source, "b1", 1000, 127)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("MAX_CHANGED_RANGES"), "{err}");
        assert_eq!(
            bounded_dirty_extents(&source, "b1", 86, 128).await.unwrap(),
            changed
        );
    }

    #[test]
    fn areas_are_sorted_merged_and_bounded_by_the_disk() {
        let changed =
            ChangedExtents::from_areas([(4096, 4096), (0, 4096), (100, 10), (10_000, 0)], 1 << 20)
                .unwrap();
        assert_eq!(
            changed.ranges(),
            &[Range {
                start: 0,
                end: 8192
            }]
        );
        assert_eq!(changed.bytes(), 8192);
        assert!(!changed.is_empty());
        assert_eq!(
            changed.clone().into_incremental(),
            Incremental::Ranges(vec![Range {
                start: 0,
                end: 8192
            }])
        );
        let err = ChangedExtents::from_areas([(1 << 20, 1)], 1 << 20).unwrap_err();
        assert!(err.to_string().contains("past the end"), "{err}");
        let err = ChangedExtents::from_areas([(u64::MAX, 2)], u64::MAX).unwrap_err();
        assert!(err.to_string().contains("past the end"), "{err}");
    }
}
