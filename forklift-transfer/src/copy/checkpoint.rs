//! Completed blocks, their CRC32 block map, and the checkpoint file that lets an
//! interrupted copy resume.
//!
//! The checkpoint is JSON, replaced atomically (write to a temporary file, fsync, rename),
//! and only ever lists blocks whose writes were flushed to the destination first, so a
//! crash at any moment leaves a file that under-reports, never over-reports.
//!
//! A checkpoint is bound to the target it describes ([`TargetIdentity`]): a file's device,
//! inode, size and birth time plus a random generation stored both in the checkpoint and in
//! the file's extended attribute `user.forklift.checkpoint`; an NBD export's name and size.
//! What happens to a checkpoint that does not fit:
//!
//! | checkpoint | outcome |
//! |---|---|
//! | unreadable, not a regular file, larger than [`MAX_CHECKPOINT_BYTES`], or with fields out of range (version, block size, ranges, block map) | typed error naming the file ([`ErrorKind::InvalidFormat`]): it was damaged or tampered with, so it is left for the user to look at |
//! | written for another copy (size, mode) | typed error naming the file ([`ErrorKind::InvalidInput`]) |
//! | written for another target (deleted, replaced, recreated, or no binding) | discarded with a warning and [`CopySummary::checkpoint_discarded`](super::CopySummary::checkpoint_discarded); the copy starts from scratch |
//!
//! An NBD export replaced by another of the same name and size cannot be told apart: NBD
//! offers no identity beyond those.

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

/// Smallest block size of a copy (and of a checkpoint): 4 KiB.
pub const MIN_BLOCK_SIZE: u64 = 4096;
/// Largest block size of a copy (and of a checkpoint): 32 MiB, the largest NBD request.
pub const MAX_BLOCK_SIZE: u64 = 32 << 20;
/// Most blocks a copy tracks: 2^30, i.e. 128 MiB of completed-block bits (and 4 GiB of
/// CRCs with checksums). A copy raises its block size to stay within it (a disk up to
/// 32 PiB); a checkpoint beyond it is refused.
pub const MAX_COPY_BLOCKS: u64 = 1 << 30;
/// Largest checkpoint file read: 256 MiB, enough for the block map of a 32 TiB disk at
/// 1 MiB blocks; a larger file is refused before it is read.
pub const MAX_CHECKPOINT_BYTES: u64 = 256 << 20;

/// What a checkpoint was written against, so that a target deleted, replaced or recreated
/// since is noticed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TargetIdentity {
    /// A local file or block device (also an image served by qemu-nbd).
    File {
        /// Device number of the file system.
        device: u64,
        /// Inode number.
        inode: u64,
        /// Size in bytes as the copy sees it.
        size: u64,
        /// Birth time (`seconds.nanoseconds`) where the file system records one.
        #[serde(default)]
        born: Option<String>,
        /// The checkpoint generation stored in the file's extended attribute.
        #[serde(default)]
        generation: Option<String>,
    },
    /// An NBD export (wherever it is served: a restarted server may have a new address).
    Nbd {
        /// The export's name.
        export: String,
        /// Export size in bytes.
        size: u64,
    },
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
    /// The target the completed blocks were written to (none: written by a version that
    /// did not bind checkpoints, or for a sink that cannot tell its identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetIdentity>,
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
            target: None,
        }
    }

    /// This checkpoint, bound to `target`.
    pub fn bound_to(mut self, target: Option<TargetIdentity>) -> Self {
        self.target = target;
        self
    }

    /// Why this checkpoint does not describe `current` (the sink's identity now), or `None`
    /// when it does.
    pub fn stale_for(&self, current: Option<&TargetIdentity>) -> Option<String> {
        match (&self.target, current) {
            (saved, current) if saved.as_ref() == current => None,
            (None, Some(_)) => Some("it is not bound to a target".to_owned()),
            (Some(_), None) => Some("the target cannot be identified".to_owned()),
            (Some(saved), Some(current)) => Some(describe_change(saved, current)),
            (None, None) => None,
        }
    }

    /// Reads `path` and checks every field a damaged or tampered file could abuse (see the
    /// [module documentation](self)); `Ok(None)` if it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        use std::io::Read;
        let target = path.display().to_string();
        let io = |e| Error::io(Op::Checkpoint, e).with_target(target.clone());
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        // A FIFO or device would block the read or never end it.
        if !metadata.is_file() {
            return Err(invalid(&target, "Checkpoint is not a regular file".into()));
        }
        if metadata.len() > MAX_CHECKPOINT_BYTES {
            return Err(invalid(
                &target,
                format!(
                    "Checkpoint of {} bytes is larger than the {MAX_CHECKPOINT_BYTES}-byte limit",
                    metadata.len()
                ),
            ));
        }
        let mut text = Vec::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_CHECKPOINT_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(io)?;
        let checkpoint: Self = serde_json::from_slice(&text).map_err(|e| {
            Error::new(ErrorKind::InvalidFormat, "Checkpoint file is not valid")
                .with_source(e)
                .with_op(Op::Checkpoint)
                .with_target(target.clone())
        })?;
        checkpoint.validate().map_err(|why| invalid(&target, why))?;
        Ok(Some(checkpoint))
    }

    /// Checks the fields against each other and the limits; the reason, if they do not fit.
    fn validate(&self) -> std::result::Result<(), String> {
        if self.version != 1 {
            return Err(format!(
                "Checkpoint version {} is not supported",
                self.version
            ));
        }
        let block = self.block_size;
        if !block.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&block) {
            return Err(format!(
                "Checkpoint block_size {block} is not a power of two from {MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE}"
            ));
        }
        let blocks = self.size.div_ceil(block);
        if blocks > MAX_COPY_BLOCKS {
            return Err(format!(
                "Checkpoint size {} at block_size {block} is {blocks} blocks, more than {MAX_COPY_BLOCKS}",
                self.size
            ));
        }
        let mut previous_end = None;
        for [start, end] in &self.completed {
            let ordered = previous_end.is_none_or(|previous| *start > previous);
            if start >= end || *end > blocks || !ordered {
                return Err(format!(
                    "Checkpoint completed range [{start}, {end}) is out of order or outside its {blocks} blocks"
                ));
            }
            previous_end = Some(*end);
        }
        if !self.crcs.is_empty()
            && (self.crcs.len() as u64 != blocks * 8
                || !self.crcs.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(format!(
                "Checkpoint crcs hold {} characters, not 8 hex digits for each of its {blocks} blocks",
                self.crcs.len()
            ));
        }
        Ok(())
    }

    /// Checks that this checkpoint belongs to a copy of `size` bytes in `mode`.
    pub fn check_matches(&self, size: u64, mode: &str, path: &Path) -> Result<()> {
        if self.size != size || self.mode != mode {
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

fn invalid(target: &str, why: String) -> Error {
    Error::new(ErrorKind::InvalidFormat, why)
        .with_op(Op::Checkpoint)
        .with_target(target.to_owned())
}

/// What differs between the identity a checkpoint saved and the target's now.
fn describe_change(saved: &TargetIdentity, current: &TargetIdentity) -> String {
    match (saved, current) {
        (
            TargetIdentity::File {
                device,
                inode,
                size,
                born,
                ..
            },
            TargetIdentity::File {
                device: device_now,
                inode: inode_now,
                size: size_now,
                born: born_now,
                ..
            },
        ) => {
            if (device, inode, born) != (device_now, inode_now, born_now) {
                "the target file was replaced or recreated".to_owned()
            } else if size != size_now {
                format!("the target file changed size from {size} to {size_now} bytes")
            } else {
                "the target file was rewritten since (its checkpoint generation differs)".to_owned()
            }
        }
        (TargetIdentity::Nbd { .. }, TargetIdentity::Nbd { .. }) => {
            "the target export changed (another name or size)".to_owned()
        }
        _ => "the target is of another kind now".to_owned(),
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
    fn tampered_fields_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copy.ckpt");
        let good = Checkpoint::new(1 << 20, 65536, "full", &BlockSet::new(16), None, false);
        let cases: Vec<(Checkpoint, &str)> = vec![
            (
                Checkpoint {
                    block_size: 3,
                    ..good.clone()
                },
                "block_size 3",
            ),
            (
                Checkpoint {
                    block_size: 0,
                    ..good.clone()
                },
                "block_size 0",
            ),
            (
                Checkpoint {
                    block_size: 1 << 40,
                    ..good.clone()
                },
                "power of two",
            ),
            (
                Checkpoint {
                    version: 9,
                    ..good.clone()
                },
                "version 9",
            ),
            (
                Checkpoint {
                    completed: vec![[3, 17]],
                    ..good.clone()
                },
                "[3, 17)",
            ),
            (
                Checkpoint {
                    completed: vec![[5, 5]],
                    ..good.clone()
                },
                "[5, 5)",
            ),
            (
                Checkpoint {
                    completed: vec![[4, 8], [2, 3]],
                    ..good.clone()
                },
                "out of order",
            ),
            (
                Checkpoint {
                    crcs: "00".into(),
                    ..good.clone()
                },
                "crcs",
            ),
            (
                Checkpoint {
                    crcs: "g".repeat(128),
                    ..good.clone()
                },
                "crcs",
            ),
            (
                Checkpoint {
                    size: u64::MAX,
                    block_size: 4096,
                    ..good.clone()
                },
                "blocks",
            ),
        ];
        for (checkpoint, expect) in cases {
            std::fs::write(&path, serde_json::to_vec(&checkpoint).unwrap()).unwrap();
            let error = Checkpoint::load(&path).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidFormat, "{expect}");
            let text = error.to_string();
            assert!(
                text.contains(expect) && text.contains("copy.ckpt"),
                "{text}"
            );
        }
        good.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap().unwrap(), good);
    }

    #[test]
    fn checkpoints_that_are_not_small_regular_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.ckpt");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo with a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let error = Checkpoint::load(&fifo).unwrap_err();
        assert!(error.to_string().contains("regular file"), "{error}");
        let big = dir.path().join("big.ckpt");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_CHECKPOINT_BYTES + 1)
            .unwrap();
        let error = Checkpoint::load(&big).unwrap_err();
        assert!(error.to_string().contains("limit"), "{error}");
    }

    #[test]
    fn staleness_is_explained() {
        let file = |inode, generation: Option<&str>| TargetIdentity::File {
            device: 1,
            inode,
            size: 10,
            born: None,
            generation: generation.map(str::to_owned),
        };
        let bound = Checkpoint::new(10, 4096, "full", &BlockSet::new(1), None, false)
            .bound_to(Some(file(5, Some("a"))));
        assert_eq!(bound.stale_for(Some(&file(5, Some("a")))), None);
        assert!(
            bound
                .stale_for(Some(&file(6, Some("a"))))
                .unwrap()
                .contains("replaced")
        );
        assert!(
            bound
                .stale_for(Some(&file(5, None)))
                .unwrap()
                .contains("generation")
        );
        assert!(bound.stale_for(None).is_some());
        let unbound = Checkpoint {
            target: None,
            ..bound
        };
        assert!(
            unbound
                .stale_for(Some(&file(5, Some("a"))))
                .unwrap()
                .contains("not bound")
        );
        assert_eq!(unbound.stale_for(None), None);
    }

    #[test]
    fn zero_crc_matches_hashing_zeroes() {
        for len in [0u64, 1, 4096, 10_000, 262_144] {
            assert_eq!(zero_crc(len), crc32fast::hash(&vec![0u8; len as usize]));
        }
    }
}
