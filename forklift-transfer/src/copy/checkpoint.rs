//! Completed blocks, their CRC32 block map, and the checkpoint file that lets an
//! interrupted copy resume.
//!
//! The checkpoint is JSON, replaced atomically (write to a temporary file, fsync, rename),
//! and only ever lists blocks whose writes were flushed to the destination first, so a
//! crash at any moment leaves a file that under-reports, never over-reports.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Op, Result};

/// A fixed-size set of block numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSet {
    words: Vec<u64>,
    len: u64,
}

impl BlockSet {
    /// An empty set for blocks `0..len`.
    pub fn new(len: u64) -> Self {
        Self {
            words: vec![0; len.div_ceil(64) as usize],
            len,
        }
    }

    /// Number of blocks the set can hold.
    pub fn capacity(&self) -> u64 {
        self.len
    }

    /// Adds blocks `start..end`.
    pub fn insert_range(&mut self, start: u64, end: u64) {
        for block in start..end.min(self.len) {
            self.words[(block / 64) as usize] |= 1 << (block % 64);
        }
    }

    /// Whether `block` is in the set.
    pub fn contains(&self, block: u64) -> bool {
        block < self.len && self.words[(block / 64) as usize] & (1 << (block % 64)) != 0
    }

    /// Number of blocks in the set.
    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// The set as sorted, merged `[start, end)` ranges.
    pub fn ranges(&self) -> Vec<[u64; 2]> {
        let mut ranges: Vec<[u64; 2]> = Vec::new();
        for block in 0..self.len {
            if self.contains(block) {
                match ranges.last_mut() {
                    Some(last) if last[1] == block => last[1] = block + 1,
                    _ => ranges.push([block, block + 1]),
                }
            }
        }
        ranges
    }
}

/// CRC32 of every completed block, as the copy saw the source data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockMap {
    /// Block size in bytes (the last block may be shorter).
    pub block_size: u64,
    /// Disk size in bytes.
    pub size: u64,
    crcs: Vec<u32>,
    known: BlockSet,
}

impl BlockMap {
    /// An empty map.
    pub fn new(size: u64, block_size: u64) -> Self {
        let blocks = size.div_ceil(block_size);
        Self {
            block_size,
            size,
            crcs: vec![0; blocks as usize],
            known: BlockSet::new(blocks),
        }
    }

    /// Number of blocks.
    pub fn blocks(&self) -> u64 {
        self.known.capacity()
    }

    /// Records the CRC of `block`.
    pub fn set(&mut self, block: u64, crc: u32) {
        if block < self.blocks() {
            self.crcs[block as usize] = crc;
            self.known.insert_range(block, block + 1);
        }
    }

    /// The CRC of `block`, if recorded.
    pub fn get(&self, block: u64) -> Option<u32> {
        self.known
            .contains(block)
            .then(|| self.crcs[block as usize])
    }

    /// Byte range of `block`.
    pub fn range(&self, block: u64) -> (u64, u64) {
        let start = block * self.block_size;
        (start, (start + self.block_size).min(self.size))
    }
}

/// CRC32 of `length` zero bytes.
pub fn zero_crc(length: u64) -> u32 {
    const CHUNK: [u8; 4096] = [0; 4096];
    let mut hasher = crc32fast::Hasher::new();
    let mut left = length;
    while left > 0 {
        let piece = left.min(CHUNK.len() as u64) as usize;
        hasher.update(&CHUNK[..piece]);
        left -= piece as u64;
    }
    hasher.finalize()
}

/// The on-disk checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Checkpoint {
    /// Format version (1).
    pub version: u32,
    /// Source disk size in bytes.
    pub size: u64,
    /// Block size in bytes.
    pub block_size: u64,
    /// What was being copied: `full`, `bitmap:NAME` or `ranges:HASH`.
    pub mode: String,
    /// Whether the copy finished (and was flushed).
    pub complete: bool,
    /// Completed (and flushed) block ranges, `[start, end)` in block numbers.
    pub completed: Vec<[u64; 2]>,
    /// CRC32 per block as 8 hex digits each, when a block map is kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub crcs: String,
}

impl Checkpoint {
    /// A checkpoint of `completed` blocks with an optional block map.
    pub fn new(
        size: u64,
        block_size: u64,
        mode: &str,
        completed: &BlockSet,
        map: Option<&BlockMap>,
        complete: bool,
    ) -> Self {
        let crcs = map
            .map(|map| {
                let mut hex = String::with_capacity(map.crcs.len() * 8);
                for crc in &map.crcs {
                    hex.push_str(&format!("{crc:08x}"));
                }
                hex
            })
            .unwrap_or_default();
        Self {
            version: 1,
            size,
            block_size,
            mode: mode.to_owned(),
            complete,
            completed: completed.ranges(),
            crcs,
        }
    }

    /// Reads `path`; `Ok(None)` if it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        let target = path.display().to_string();
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(Op::Checkpoint, e).with_target(target)),
        };
        let checkpoint: Self = serde_json::from_slice(&text).map_err(|e| {
            Error::new(ErrorKind::InvalidFormat, "Checkpoint file is not valid")
                .with_source(e)
                .with_op(Op::Checkpoint)
                .with_target(target.clone())
        })?;
        if checkpoint.version != 1 {
            return Err(Error::new(
                ErrorKind::InvalidFormat,
                format!("Checkpoint version {} is not supported", checkpoint.version),
            )
            .with_target(target));
        }
        Ok(Some(checkpoint))
    }

    /// Checks that this checkpoint belongs to a copy of `size` bytes in `mode`.
    pub fn check_matches(&self, size: u64, mode: &str, path: &Path) -> Result<()> {
        if self.size != size || self.mode != mode || self.block_size == 0 {
            return Err(Error::invalid_input(format!(
                "Checkpoint was written for another copy ({} bytes, {}), not this one ({size} bytes, {mode})",
                self.size, self.mode
            ))
            .with_op(Op::Checkpoint)
            .with_target(path.display().to_string()));
        }
        Ok(())
    }

    /// The completed blocks.
    pub fn completed_set(&self) -> BlockSet {
        let mut set = BlockSet::new(self.size.div_ceil(self.block_size));
        for [start, end] in &self.completed {
            set.insert_range(*start, *end);
        }
        set
    }

    /// The block map restricted to completed blocks, if one was kept.
    pub fn block_map(&self) -> Option<BlockMap> {
        if self.crcs.is_empty() {
            return None;
        }
        let mut map = BlockMap::new(self.size, self.block_size);
        let completed = self.completed_set();
        for block in 0..map.blocks() {
            let at = block as usize * 8;
            let crc = self
                .crcs
                .get(at..at + 8)
                .and_then(|hex| u32::from_str_radix(hex, 16).ok());
            if let (true, Some(crc)) = (completed.contains(block), crc) {
                map.set(block, crc);
            }
        }
        Some(map)
    }

    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let target = path.display().to_string();
        let io = |e| Error::io(Op::Checkpoint, e).with_target(target.clone());
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        serde_json::to_writer(&mut file, self).map_err(|e| {
            Error::new(ErrorKind::Io, "Cannot write checkpoint")
                .with_source(e)
                .with_target(target.clone())
        })?;
        file.write_all(b"\n").map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_set_ranges_merge() {
        let mut set = BlockSet::new(200);
        set.insert_range(3, 70);
        set.insert_range(70, 72);
        set.insert_range(150, 250);
        assert_eq!(set.ranges(), vec![[3, 72], [150, 200]]);
        assert_eq!(set.count(), 69 + 50);
        assert!(set.contains(199) && !set.contains(200) && !set.contains(2));
    }

    #[test]
    fn checkpoint_round_trips_with_block_map() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copy.ckpt");
        assert!(Checkpoint::load(&path).unwrap().is_none());
        let mut done = BlockSet::new(10);
        done.insert_range(2, 5);
        let mut map = BlockMap::new(10 * 4096 - 100, 4096);
        for b in 2..5 {
            map.set(b, 0xdead_0000 + b as u32);
        }
        let checkpoint = Checkpoint::new(10 * 4096 - 100, 4096, "full", &done, Some(&map), false);
        checkpoint.save(&path).unwrap();
        let loaded = Checkpoint::load(&path).unwrap().unwrap();
        assert_eq!(loaded, checkpoint);
        assert_eq!(loaded.completed_set(), done);
        assert_eq!(loaded.block_map().unwrap(), map);
        loaded
            .check_matches(10 * 4096 - 100, "full", &path)
            .unwrap();
        let other = loaded.check_matches(1, "full", &path).unwrap_err();
        assert_eq!(other.kind(), ErrorKind::InvalidInput);
        assert_eq!(map.range(9), (9 * 4096, 10 * 4096 - 100));
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(
            Checkpoint::load(&path).unwrap_err().kind(),
            ErrorKind::InvalidFormat
        );
    }

    #[test]
    fn zero_crc_matches_hashing_zeroes() {
        for len in [0u64, 1, 4096, 10_000, 262_144] {
            assert_eq!(zero_crc(len), crc32fast::hash(&vec![0u8; len as usize]));
        }
    }
}
