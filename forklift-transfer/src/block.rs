//! Block sources and sinks: the two traits every disk backend implements.
//!
//! ```text
//!   BlockSource (read side)              BlockSink (write side)
//!   ├─ size, block_sizes                 ├─ size, block_sizes
//!   ├─ read_at / read_owned              ├─ write_at / write_owned
//!   ├─ can_extents / extents             ├─ write_zeroes (FAST, NO_HOLE)
//!   └─ describe                          ├─ trim, flush
//!                                        └─ is_zero_initialized
//! ```
//!
//! Both take `&self` and are `Send + Sync`, so one handle serves many requests in flight
//! (the NBD client pipelines them; a file uses positioned I/O). `Arc<T>` and `Box<T>`
//! implement the traits whenever `T` does, which makes `Arc<dyn BlockSource>` the natural
//! shared handle. Optional operations have defaults: extents report one data extent for
//! `base:allocation` and a typed [`ErrorKind::Unsupported`] otherwise, trim is unsupported,
//! zeroing falls back to writing zero buffers unless the caller asked for a fast zero.
//!
//! The `*_owned` variants move a buffer in and hand it back: a backend that needs to own the
//! buffer while a request is in flight (the NBD client reads replies straight into it from
//! its reader task) avoids a copy; the defaults call the borrowing variants.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{Error, ErrorKind, Op, Result};

/// Block size constraints of a source or sink, in bytes (NBD `INFO_BLOCK_SIZE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockSizes {
    /// Offsets and lengths must be multiples of this (a power of two, at least 1).
    pub minimum: u32,
    /// Requests of this size and alignment are efficient (a power of two).
    pub preferred: u32,
    /// Largest payload of one read or write request.
    pub maximum: u32,
}

impl BlockSizes {
    /// NBD's defaults when a server advertises nothing: 1 / 4 KiB / 32 MiB.
    pub const DEFAULT: Self = Self {
        minimum: 1,
        preferred: 4096,
        maximum: 32 * 1024 * 1024,
    };
}

impl Default for BlockSizes {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A metadata context that [`BlockSource::extents`] can describe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetaContext {
    /// `base:allocation`: which ranges are allocated and which read as zeroes.
    BaseAllocation,
    /// `qemu:dirty-bitmap:NAME`, or a provider's changed-block list: which ranges changed.
    DirtyBitmap(String),
    /// `qemu:allocation-depth`: which layer of a backing chain holds each range.
    AllocationDepth,
    /// Any other context, by its full name.
    Other(String),
}

impl MetaContext {
    /// The NBD name of the context.
    pub fn name(&self) -> String {
        match self {
            Self::BaseAllocation => "base:allocation".to_owned(),
            Self::DirtyBitmap(bitmap) => format!("qemu:dirty-bitmap:{bitmap}"),
            Self::AllocationDepth => "qemu:allocation-depth".to_owned(),
            Self::Other(name) => name.clone(),
        }
    }

    /// Parses an NBD context name.
    pub fn from_name(name: &str) -> Self {
        match name {
            "base:allocation" => Self::BaseAllocation,
            "qemu:allocation-depth" => Self::AllocationDepth,
            _ => match name.strip_prefix("qemu:dirty-bitmap:") {
                Some(bitmap) => Self::DirtyBitmap(bitmap.to_owned()),
                None => Self::Other(name.to_owned()),
            },
        }
    }
}

impl fmt::Display for MetaContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Status bits of an [`Extent`], normalised across contexts.
///
/// NBD reuses bit 0 for different meanings in different contexts; backends translate
/// into these independent bits so a consumer never needs to know which context produced them.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ExtentFlags(u32);

impl ExtentFlags {
    /// No flag: allocated data (or, for a dirty bitmap, unchanged).
    pub const DATA: Self = Self(0);
    /// Unallocated (`NBD_STATE_HOLE`; allocation depth 0). Contents undefined unless `ZERO`.
    pub const HOLE: Self = Self(1 << 0);
    /// Reads as zeroes (`NBD_STATE_ZERO`). This, not `HOLE`, is what lets a copy skip a range.
    pub const ZERO: Self = Self(1 << 1);
    /// Changed since the bitmap or checkpoint was started (`NBD_STATE_DIRTY`).
    pub const DIRTY: Self = Self(1 << 2);
    /// Allocated in a backing layer, not the top one (allocation depth ≥ 2).
    pub const BACKING: Self = Self(1 << 3);

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Flags from raw bits (unknown bits are kept).
    pub const fn from_bits(bits: u32) -> Self {
        Self(bits)
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets of flags.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether the range reads as zeroes.
    pub const fn is_zero(self) -> bool {
        self.contains(Self::ZERO)
    }

    /// Whether the range is unallocated.
    pub const fn is_hole(self) -> bool {
        self.contains(Self::HOLE)
    }

    /// Whether the range changed.
    pub const fn is_dirty(self) -> bool {
        self.contains(Self::DIRTY)
    }
}

impl std::ops::BitOr for ExtentFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

impl fmt::Debug for ExtentFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::HOLE, "HOLE"),
            (Self::ZERO, "ZERO"),
            (Self::DIRTY, "DIRTY"),
            (Self::BACKING, "BACKING"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| *name)
            .collect();
        if set.is_empty() {
            f.write_str("DATA")
        } else {
            f.write_str(&set.join("|"))
        }
    }
}

/// A byte range of a disk with uniform status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Extent {
    /// First byte of the range.
    pub offset: u64,
    /// Length of the range in bytes (never 0 in a well-formed answer).
    pub length: u64,
    /// Status of the whole range.
    pub flags: ExtentFlags,
}

impl Extent {
    /// A new extent.
    pub const fn new(offset: u64, length: u64, flags: ExtentFlags) -> Self {
        Self {
            offset,
            length,
            flags,
        }
    }

    /// One past the last byte.
    pub const fn end(&self) -> u64 {
        self.offset + self.length
    }
}

/// Flags of [`BlockSink::write_zeroes`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ZeroFlags {
    /// Fail with [`ErrorKind::Unsupported`] unless zeroing is faster than writing zeroes
    /// (`NBD_CMD_FLAG_FAST_ZERO`).
    pub fast: bool,
    /// Keep the range allocated instead of punching a hole (`NBD_CMD_FLAG_NO_HOLE`).
    pub no_hole: bool,
}

/// Where blocks are read from: a disk behind NBD, a file, a VMDK, VDDK, an HTTP datastore…
#[async_trait]
pub trait BlockSource: Send + Sync {
    /// Size of the disk in bytes.
    fn size(&self) -> u64;

    /// Block size constraints for reads.
    fn block_sizes(&self) -> BlockSizes {
        BlockSizes::DEFAULT
    }

    /// A short description for logs and errors (a path or a URI without credentials).
    fn describe(&self) -> String {
        String::from("block source")
    }

    /// Fills `buf` with the bytes at `offset..offset + buf.len()`.
    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()>;

    /// Like [`read_at`](Self::read_at), but takes the buffer by value and hands it back
    /// filled; backends that read asynchronously into the buffer avoid a copy.
    async fn read_owned(&self, offset: u64, mut buf: Vec<u8>) -> Result<Vec<u8>> {
        self.read_at(offset, &mut buf).await?;
        Ok(buf)
    }

    /// Whether [`extents`](Self::extents) answers for `context` with real information.
    fn can_extents(&self, context: &MetaContext) -> bool {
        let _ = context;
        false
    }

    /// Extents of `context` covering at least the start of `offset..offset + length`.
    ///
    /// Answers are contiguous, in order, start at `offset`, and may cover less than asked
    /// (callers loop from the first uncovered byte) or run past the end of the range. The
    /// default describes `base:allocation` as one data extent and refuses other contexts
    /// with [`ErrorKind::Unsupported`].
    async fn extents(
        &self,
        offset: u64,
        length: u64,
        context: &MetaContext,
    ) -> Result<Vec<Extent>> {
        check_range(offset, length, self.size())?;
        match context {
            MetaContext::BaseAllocation => Ok(vec![Extent::new(offset, length, ExtentFlags::DATA)]),
            other => Err(Error::unsupported(format!(
                "Metadata context {other} is not available from {}",
                self.describe()
            ))
            .with_op(Op::Extents)),
        }
    }

    /// The NBD client underneath, if any: a copy between two NBD clients drives their
    /// connections directly (one task per source and sink connection pair) instead of going
    /// through this trait one request at a time.
    fn nbd_client(&self) -> Option<&crate::nbd::NbdClient> {
        None
    }

    /// Replaces lost connections with new ones after a fatal error, so a copy can go on.
    /// Sources without connections answer [`ErrorKind::Unsupported`].
    async fn reconnect(&self) -> Result<()> {
        Err(Error::unsupported(format!(
            "{} cannot reconnect",
            self.describe()
        )))
    }
}

/// Where blocks are written to: a disk behind NBD, a file or a block device.
#[async_trait]
pub trait BlockSink: Send + Sync {
    /// Size of the disk in bytes.
    fn size(&self) -> u64;

    /// Block size constraints for writes.
    fn block_sizes(&self) -> BlockSizes {
        BlockSizes::DEFAULT
    }

    /// A short description for logs and errors (a path or a URI without credentials).
    fn describe(&self) -> String {
        String::from("block sink")
    }

    /// Writes `buf` at `offset`.
    async fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()>;

    /// Like [`write_at`](Self::write_at), but takes the buffer by value and hands it back
    /// for reuse; backends that write asynchronously from the buffer avoid a copy.
    async fn write_owned(&self, offset: u64, buf: Vec<u8>) -> Result<Vec<u8>> {
        self.write_at(offset, &buf).await?;
        Ok(buf)
    }

    /// Allocates storage for `offset..offset + length`, which the copy is about to write in
    /// full, ahead of the writes; the range keeps reading as before until written. Only a
    /// sink that gains from it does anything: a local file written with O_DIRECT, where
    /// ext4 runs direct writes into allocated blocks in parallel but serializes those into
    /// holes. The default does nothing.
    async fn reserve(&self, offset: u64, length: u64) -> Result<()> {
        let _ = (offset, length);
        Ok(())
    }

    /// Whether [`write_zeroes`](Self::write_zeroes) is native (cheaper than writing zeroes).
    fn can_write_zeroes(&self) -> bool {
        false
    }

    /// Makes `offset..offset + length` read as zeroes.
    ///
    /// The default writes zero buffers (at most 1 MiB at a time) and refuses a
    /// [`ZeroFlags::fast`] request with [`ErrorKind::Unsupported`].
    async fn write_zeroes(&self, offset: u64, length: u64, flags: ZeroFlags) -> Result<()> {
        check_range(offset, length, self.size())?;
        if flags.fast {
            return Err(
                Error::unsupported("Fast zeroing is not supported").or_context(
                    Op::WriteZeroes,
                    offset,
                    length,
                ),
            );
        }
        const ZERO_CHUNK: u64 = 1024 * 1024;
        let zeroes = vec![0u8; length.min(ZERO_CHUNK) as usize];
        let mut done = 0;
        while done < length {
            let step = (length - done).min(ZERO_CHUNK) as usize;
            self.write_at(offset + done, &zeroes[..step]).await?;
            done += step as u64;
        }
        Ok(())
    }

    /// Whether [`trim`](Self::trim) is supported.
    fn can_trim(&self) -> bool {
        false
    }

    /// Discards `offset..offset + length`; afterwards the contents are undefined.
    async fn trim(&self, offset: u64, length: u64) -> Result<()> {
        Err(Error::unsupported("Trim is not supported").or_context(Op::Trim, offset, length))
    }

    /// Makes every acknowledged write durable.
    async fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// Whether the whole sink already reads as zeroes (a freshly created sparse file), so
    /// zero ranges need not be written at all.
    fn is_zero_initialized(&self) -> bool {
        false
    }

    /// The NBD client underneath, if any; see [`BlockSource::nbd_client`].
    fn nbd_client(&self) -> Option<&crate::nbd::NbdClient> {
        None
    }

    /// Whether [`reconnect`](Self::reconnect) can do anything (a sink over connections).
    fn can_reconnect(&self) -> bool {
        false
    }

    /// What this sink writes to, so a checkpoint can be bound to it and refused once the
    /// target is replaced (see [`copy::checkpoint`](crate::copy::checkpoint)). `None`: the
    /// sink cannot tell, and its checkpoints are trusted as they are.
    fn identity(&self) -> Result<Option<crate::copy::checkpoint::TargetIdentity>> {
        Ok(None)
    }

    /// Stores a checkpoint's `generation` with the target (a file's extended attribute),
    /// so the checkpoint matches only this target; `Ok(false)` where it cannot be stored.
    fn mark_generation(&self, generation: &str) -> Result<bool> {
        let _ = generation;
        Ok(false)
    }

    /// Replaces lost connections with new ones after a fatal error, so a copy can go on.
    /// Writes acknowledged but not flushed before the loss may be gone. Sinks without
    /// connections answer [`ErrorKind::Unsupported`].
    async fn reconnect(&self) -> Result<()> {
        Err(Error::unsupported(format!(
            "{} cannot reconnect",
            self.describe()
        )))
    }
}

/// Checks that `offset..offset + length` lies within a disk of `size` bytes.
pub fn check_range(offset: u64, length: u64, size: u64) -> Result<()> {
    match offset.checked_add(length) {
        Some(end) if end <= size => Ok(()),
        _ => Err(Error::out_of_bounds(offset, length, size)),
    }
}

macro_rules! forward_source {
    ($($wrapper:ident),*) => {$(
        #[async_trait]
        impl<T: BlockSource + ?Sized> BlockSource for $wrapper<T> {
            fn size(&self) -> u64 {
                (**self).size()
            }
            fn block_sizes(&self) -> BlockSizes {
                (**self).block_sizes()
            }
            fn describe(&self) -> String {
                (**self).describe()
            }
            async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
                (**self).read_at(offset, buf).await
            }
            async fn read_owned(&self, offset: u64, buf: Vec<u8>) -> Result<Vec<u8>> {
                (**self).read_owned(offset, buf).await
            }
            fn can_extents(&self, context: &MetaContext) -> bool {
                (**self).can_extents(context)
            }
            async fn extents(
                &self,
                offset: u64,
                length: u64,
                context: &MetaContext,
            ) -> Result<Vec<Extent>> {
                (**self).extents(offset, length, context).await
            }
            fn nbd_client(&self) -> Option<&crate::nbd::NbdClient> {
                BlockSource::nbd_client(&**self)
            }
            async fn reconnect(&self) -> Result<()> {
                BlockSource::reconnect(&**self).await
            }
        }

        #[async_trait]
        impl<T: BlockSink + ?Sized> BlockSink for $wrapper<T> {
            fn size(&self) -> u64 {
                (**self).size()
            }
            fn block_sizes(&self) -> BlockSizes {
                (**self).block_sizes()
            }
            fn describe(&self) -> String {
                (**self).describe()
            }
            async fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
                (**self).write_at(offset, buf).await
            }
            async fn write_owned(&self, offset: u64, buf: Vec<u8>) -> Result<Vec<u8>> {
                (**self).write_owned(offset, buf).await
            }
            async fn reserve(&self, offset: u64, length: u64) -> Result<()> {
                (**self).reserve(offset, length).await
            }
            fn can_write_zeroes(&self) -> bool {
                (**self).can_write_zeroes()
            }
            async fn write_zeroes(&self, offset: u64, length: u64, flags: ZeroFlags) -> Result<()> {
                (**self).write_zeroes(offset, length, flags).await
            }
            fn can_trim(&self) -> bool {
                (**self).can_trim()
            }
            async fn trim(&self, offset: u64, length: u64) -> Result<()> {
                (**self).trim(offset, length).await
            }
            async fn flush(&self) -> Result<()> {
                (**self).flush().await
            }
            fn is_zero_initialized(&self) -> bool {
                (**self).is_zero_initialized()
            }
            fn can_reconnect(&self) -> bool {
                BlockSink::can_reconnect(&**self)
            }
            fn identity(&self) -> Result<Option<crate::copy::checkpoint::TargetIdentity>> {
                (**self).identity()
            }
            fn mark_generation(&self, generation: &str) -> Result<bool> {
                (**self).mark_generation(generation)
            }
            fn nbd_client(&self) -> Option<&crate::nbd::NbdClient> {
                BlockSink::nbd_client(&**self)
            }
            async fn reconnect(&self) -> Result<()> {
                BlockSink::reconnect(&**self).await
            }
        }
    )*};
}

forward_source!(Arc, Box);

/// Returns [`ErrorKind::Unsupported`] unless `context` is one `source` can describe.
pub fn require_extents(source: &dyn BlockSource, context: &MetaContext) -> Result<()> {
    if source.can_extents(context) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "Metadata context {context} is not available from {}",
                source.describe()
            ),
        )
        .with_op(Op::Extents))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Memory(Mutex<Vec<u8>>);

    #[async_trait]
    impl BlockSource for Memory {
        fn size(&self) -> u64 {
            self.0.lock().unwrap().len() as u64
        }
        async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
            check_range(offset, buf.len() as u64, BlockSource::size(self))?;
            let data = self.0.lock().unwrap();
            buf.copy_from_slice(&data[offset as usize..offset as usize + buf.len()]);
            Ok(())
        }
    }

    #[async_trait]
    impl BlockSink for Memory {
        fn size(&self) -> u64 {
            self.0.lock().unwrap().len() as u64
        }
        async fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
            check_range(offset, buf.len() as u64, BlockSink::size(self))?;
            let mut data = self.0.lock().unwrap();
            data[offset as usize..offset as usize + buf.len()].copy_from_slice(buf);
            Ok(())
        }
    }

    #[tokio::test]
    async fn defaults_work_through_arc_dyn() {
        let memory = Arc::new(Memory(Mutex::new(vec![7u8; 3 << 20])));
        let sink: Arc<dyn BlockSink> = memory.clone();
        sink.write_zeroes(1, (2 << 20) + 5, ZeroFlags::default())
            .await
            .unwrap();
        let fast = sink
            .write_zeroes(
                0,
                1,
                ZeroFlags {
                    fast: true,
                    no_hole: false,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(fast.kind(), ErrorKind::Unsupported);
        assert_eq!(
            sink.trim(0, 1).await.unwrap_err().kind(),
            ErrorKind::Unsupported
        );

        let source: Arc<dyn BlockSource> = memory;
        let buf = source.read_owned(0, vec![0; 4]).await.unwrap();
        assert_eq!(buf, [7, 0, 0, 0]);
        let extents = source
            .extents(0, 100, &MetaContext::BaseAllocation)
            .await
            .unwrap();
        assert_eq!(extents, [Extent::new(0, 100, ExtentFlags::DATA)]);
        let dirty = MetaContext::DirtyBitmap("b0".into());
        let err = source.extents(0, 100, &dirty).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(require_extents(&*source, &dirty).is_err());
        assert_eq!(
            source
                .extents(3 << 20, 1, &MetaContext::BaseAllocation)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::OutOfBounds
        );
    }

    #[test]
    fn context_names_round_trip() {
        for name in [
            "base:allocation",
            "qemu:dirty-bitmap:b0",
            "qemu:allocation-depth",
            "x:y",
        ] {
            assert_eq!(MetaContext::from_name(name).name(), name);
        }
        assert_eq!(
            format!("{:?}", ExtentFlags::HOLE | ExtentFlags::ZERO),
            "HOLE|ZERO"
        );
    }
}
