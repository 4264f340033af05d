//! Inflating compressed grains without per-grain allocations.
//!
//! A streamOptimized grain is one deflate stream (zlib-wrapped as qemu and VMware write
//! it, or raw) of at most one grain. Building a `flate2::read` decoder per grain allocated
//! its inflate state, its 32 KiB window and a 32 KiB input buffer, and copied the input
//! through that buffer: the three together cost more than the inflation of a text grain.
//! Here each thread keeps one [`GrainInflater`] (a `Decompress` per wrapping, reset between
//! grains) and one buffer for the compressed bytes, and a grain is inflated with a single
//! call from the compressed slice straight into the caller's output.
//!
//! Reads run on the blocking pool, so a copy with many requests in flight inflates on as
//! many threads as the pool has busy, one grain run per request: the parallelism across
//! cores comes from the copy engine's request window, with memory bounded by it.

use std::cell::RefCell;

use flate2::{Decompress, FlushDecompress, Status};

/// Compressed bytes a thread keeps between reads; a larger buffer is dropped after use.
/// Every blocking thread that reads holds one (16 with the copy engine's default window),
/// so this stays small: at 4 MiB per thread a copy's RSS grew from 50 to 78 MiB.
pub(crate) const KEEP_SCRATCH_BYTES: usize = 256 << 10;

/// Why a compressed grain cannot be inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InflateError {
    /// The deflate data is invalid.
    #[error("cannot decompress: {0}")]
    Corrupt(String),
    /// The compressed bytes end before the deflate stream does.
    #[error("cannot decompress: the compressed data ends before its stream does")]
    Truncated,
    /// The stream holds more than one grain.
    #[error("decompresses to more than one grain")]
    TooLong,
}

/// Whether `b` starts with a zlib header (deflate, a valid check value).
pub(crate) fn is_zlib_header(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] & 0x0f == 8 && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0
}

/// Reusable inflate state for grains.
pub(crate) struct GrainInflater {
    zlib: Decompress,
    raw: Decompress,
}

impl Default for GrainInflater {
    fn default() -> Self {
        GrainInflater {
            zlib: Decompress::new(true),
            raw: Decompress::new(false),
        }
    }
}

impl GrainInflater {
    /// Inflates the deflate stream `packed` (zlib-wrapped or raw, told by its first bytes)
    /// into `out`; returns how many bytes it produced (fewer than `out.len()` for a short
    /// last grain). The stream must end within `packed` and within `out.len()` bytes of
    /// output; bytes of `packed` after the end of the stream are ignored (sector padding).
    pub(crate) fn inflate(&mut self, packed: &[u8], out: &mut [u8]) -> Result<usize, InflateError> {
        let zlib = is_zlib_header(packed);
        let d = if zlib { &mut self.zlib } else { &mut self.raw };
        d.reset(zlib);
        let corrupt = |e: flate2::DecompressError| InflateError::Corrupt(e.to_string());
        let status = d
            .decompress(packed, out, FlushDecompress::Finish)
            .map_err(corrupt)?;
        let filled = usize::try_from(d.total_out()).unwrap_or(usize::MAX);
        if status == Status::StreamEnd {
            return Ok(filled);
        }
        if filled < out.len() {
            // Room was left, so the input ran out before the stream's end.
            return Err(InflateError::Truncated);
        }
        // The output is full: the end of the stream (and its checksum) may still follow,
        // or more data, which would not fit in one grain.
        let consumed = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
        let rest = packed.get(consumed..).unwrap_or_default();
        let mut extra = [0u8; 1];
        let status = d
            .decompress(rest, &mut extra, FlushDecompress::Finish)
            .map_err(corrupt)?;
        if d.total_out() > filled as u64 {
            Err(InflateError::TooLong)
        } else if status == Status::StreamEnd {
            Ok(filled)
        } else {
            Err(InflateError::Truncated)
        }
    }
}

/// Per-thread state for reading compressed grains.
#[derive(Default)]
pub(crate) struct Scratch {
    /// The inflate state.
    pub(crate) inflater: GrainInflater,
    /// Compressed bytes of the grains being read.
    pub(crate) packed: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

/// Runs `work` with this thread's [`Scratch`] (created on first use). A nested call (which
/// the readers never make) gets a fresh one instead of failing.
pub(crate) fn with_scratch<T>(work: impl FnOnce(&mut Scratch) -> T) -> T {
    SCRATCH.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            return work(&mut Scratch::default());
        };
        let scratch = slot.get_or_insert_with(Scratch::default);
        let result = work(scratch);
        if scratch.packed.capacity() > KEEP_SCRATCH_BYTES {
            scratch.packed = Vec::new();
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::{DeflateEncoder, ZlibEncoder};
    use proptest::prelude::*;

    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn text(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| b"forklift vmdk "[i % 14] ^ (i / 977) as u8)
            .collect()
    }

    #[test]
    fn whole_and_short_grains_in_both_wrappings() {
        let mut inflater = GrainInflater::default();
        let mut out = vec![0xAA; 65536];
        for data in [text(65536), text(3000), vec![0u8; 65536], Vec::new()] {
            for packed in [zlib(&data), raw(&data)] {
                let n = inflater.inflate(&packed, &mut out).unwrap();
                assert_eq!(&out[..n], &data[..]);
            }
        }
    }

    #[test]
    fn padding_after_the_stream_is_ignored() {
        let data = text(65536);
        let mut packed = zlib(&data);
        packed.resize(packed.len() + 500, 0);
        let mut out = vec![0; 65536];
        assert_eq!(
            GrainInflater::default().inflate(&packed, &mut out),
            Ok(65536)
        );
        assert_eq!(out, data);
    }

    #[test]
    fn too_long_truncated_and_corrupt_streams_are_errors() {
        let mut inflater = GrainInflater::default();
        let mut out = vec![0; 4096];
        let long = zlib(&text(4097));
        assert_eq!(
            inflater.inflate(&long, &mut out),
            Err(InflateError::TooLong)
        );
        let whole = zlib(&text(4096));
        for cut in [0, 2, whole.len() / 2, whole.len() - 1] {
            let got = inflater.inflate(&whole[..cut], &mut out);
            assert!(
                matches!(got, Err(InflateError::Truncated | InflateError::Corrupt(_))),
                "cut at {cut}: {got:?}"
            );
        }
        let mut bad = whole.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff; // the Adler-32 check
        assert!(matches!(
            inflater.inflate(&bad, &mut out),
            Err(InflateError::Corrupt(_))
        ));
        // The state is reset between grains: a good grain after failures still inflates.
        assert_eq!(inflater.inflate(&whole, &mut out), Ok(4096));
        assert_eq!(out, text(4096));
    }

    #[test]
    fn scratch_is_reused_and_large_buffers_are_dropped() {
        with_scratch(|s| s.packed.resize(1024, 7));
        assert!(with_scratch(|s| s.packed.capacity()) >= 1024);
        with_scratch(|s| s.packed.resize(KEEP_SCRATCH_BYTES + 1, 0));
        assert_eq!(with_scratch(|s| s.packed.capacity()), 0);
        // A nested call works on its own scratch.
        with_scratch(|outer| {
            outer.packed.push(1);
            with_scratch(|inner| assert!(inner.packed.is_empty()));
        });
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any bytes inflate exactly when one big-buffer decode finds a complete stream
        /// that fits, to the same bytes; otherwise they fail. Never a panic.
        #[test]
        fn matches_a_one_shot_decode(
            data in proptest::collection::vec(any::<u8>(), 0..6000),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
            room in 1usize..8192,
            wrap in any::<bool>(),
        ) {
            let mut packed = if wrap { zlib(&data) } else { raw(&data) };
            for (at, v) in flips {
                let at = at % packed.len();
                packed[at] = v;
            }
            let mut out = vec![0; room];
            let got = GrainInflater::default().inflate(&packed, &mut out);
            let zlib_wrapped = is_zlib_header(&packed);
            let mut reference = Decompress::new(zlib_wrapped);
            let mut big = vec![0; room + (1 << 20)];
            let status = reference.decompress(&packed, &mut big, FlushDecompress::Finish);
            let produced = reference.total_out() as usize;
            let fits = matches!(status, Ok(Status::StreamEnd)) && produced <= room;
            match got {
                Ok(n) => {
                    prop_assert!(fits);
                    prop_assert_eq!(&out[..n], &big[..produced]);
                }
                Err(InflateError::TooLong) => prop_assert!(produced > room),
                Err(_) => prop_assert!(!fits),
            }
        }
    }
}
