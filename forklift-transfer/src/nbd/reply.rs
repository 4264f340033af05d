//! Transmission replies, decoded from bytes without I/O.
//!
//! [`ReplyDecoder::decode`] takes what has been read so far and returns one event at a time,
//! or `None` when it needs more bytes. Read data is *not* copied by the decoder: a
//! [`ReplyEvent::Data`] tells the caller how many raw bytes follow, so the connection can
//! move them straight into the request's buffer. Every length is checked against the
//! negotiated limits before the decoder asks for the bytes, so a hostile server cannot make
//! us buffer more than one bounded chunk.

use std::collections::BTreeMap;

use bytes::{Buf, BytesMut};

use super::proto::*;
use crate::block::{Extent, ExtentFlags, MetaContext};
use crate::error::{Error, Op, Result};

/// Longest payload of an unknown error chunk we are willing to skip.
const MAX_UNKNOWN_ERROR_CHUNK: u32 = 64 * 1024 + 16;

/// One decoded reply event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyEvent {
    /// A simple reply. If `errno` is 0 and the request was a READ, the request's length in
    /// raw data bytes follows and the caller must consume them.
    Simple {
        /// Cookie of the request.
        cookie: u64,
        /// Error number, 0 on success.
        errno: u32,
    },
    /// `OFFSET_DATA`: `length` raw data bytes for `offset` follow; the caller consumes them.
    Data {
        /// Cookie of the request.
        cookie: u64,
        /// Offset of the data on the disk.
        offset: u64,
        /// Number of data bytes that follow.
        length: u32,
        /// Last chunk of the reply.
        done: bool,
    },
    /// `OFFSET_HOLE`: `offset..offset + length` reads as zeroes.
    Hole {
        /// Cookie of the request.
        cookie: u64,
        /// Offset of the hole.
        offset: u64,
        /// Length of the hole.
        length: u32,
        /// Last chunk of the reply.
        done: bool,
    },
    /// `BLOCK_STATUS`: descriptors (length, status) for one metadata context.
    BlockStatus {
        /// Cookie of the request.
        cookie: u64,
        /// Context id negotiated with `SET_META_CONTEXT`.
        context_id: u32,
        /// (length, status flags) pairs in order.
        descriptors: Vec<(u32, u32)>,
        /// Last chunk of the reply.
        done: bool,
    },
    /// `ERROR`, `ERROR_OFFSET` or an unknown error chunk: the request failed.
    Error {
        /// Cookie of the request.
        cookie: u64,
        /// Error number (never 0; unknown values are kept).
        errno: u32,
        /// Server's message, possibly empty.
        message: String,
        /// Offset the error concerns (`ERROR_OFFSET`).
        offset: Option<u64>,
        /// Last chunk of the reply.
        done: bool,
    },
    /// `NONE`: the reply is complete.
    None {
        /// Cookie of the request.
        cookie: u64,
    },
}

impl ReplyEvent {
    /// Cookie of the request this event answers.
    pub fn cookie(&self) -> u64 {
        match self {
            Self::Simple { cookie, .. }
            | Self::Data { cookie, .. }
            | Self::Hole { cookie, .. }
            | Self::BlockStatus { cookie, .. }
            | Self::Error { cookie, .. }
            | Self::None { cookie } => *cookie,
        }
    }

    /// Whether this is the last event of its reply (simple replies always are).
    pub fn is_done(&self) -> bool {
        match self {
            Self::Simple { .. } | Self::None { .. } => true,
            Self::Data { done, .. }
            | Self::Hole { done, .. }
            | Self::BlockStatus { done, .. }
            | Self::Error { done, .. } => *done,
        }
    }
}

/// Decodes replies with the limits negotiated for one connection.
#[derive(Debug, Clone, Copy)]
pub struct ReplyDecoder {
    structured: bool,
    max_data: u32,
}

impl ReplyDecoder {
    /// A decoder for a connection that did (or did not) negotiate structured replies and
    /// whose reads never exceed `max_data` bytes.
    pub fn new(structured: bool, max_data: u32) -> Self {
        Self {
            structured,
            max_data,
        }
    }

    /// Decodes one event from the front of `buf`, or returns `None` if more bytes are needed.
    ///
    /// All errors are fatal: the stream cannot be resynchronised after them.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<ReplyEvent>> {
        if buf.len() < 4 {
            return Ok(None);
        }
        match be32(&buf[0..4]) {
            SIMPLE_REPLY_MAGIC => {
                if buf.len() < SIMPLE_REPLY_LEN {
                    return Ok(None);
                }
                let errno = be32(&buf[4..8]);
                let cookie = be64(&buf[8..16]);
                buf.advance(SIMPLE_REPLY_LEN);
                Ok(Some(ReplyEvent::Simple { cookie, errno }))
            }
            STRUCTURED_REPLY_MAGIC if self.structured => self.decode_chunk(buf),
            STRUCTURED_REPLY_MAGIC => Err(fatal(
                "Structured reply although structured replies were not negotiated",
            )),
            EXTENDED_REPLY_MAGIC => Err(fatal(
                "Extended reply header although extended headers were not negotiated",
            )),
            magic => Err(fatal(format!("Bad reply magic {magic:#x}"))),
        }
    }

    fn decode_chunk(&self, buf: &mut BytesMut) -> Result<Option<ReplyEvent>> {
        if buf.len() < CHUNK_HEADER_LEN {
            return Ok(None);
        }
        let flags = be16(&buf[4..6]);
        let kind = be16(&buf[6..8]);
        let cookie = be64(&buf[8..16]);
        let length = be32(&buf[16..20]);
        let done = flags & REPLY_FLAG_DONE != 0;
        let payload = &buf[CHUNK_HEADER_LEN..];
        let event = match kind {
            CHUNK_NONE => {
                if length != 0 || !done {
                    return Err(fatal("NONE chunk with a payload or without the DONE flag"));
                }
                buf.advance(CHUNK_HEADER_LEN);
                return Ok(Some(ReplyEvent::None { cookie }));
            }
            CHUNK_OFFSET_DATA => {
                if length <= 8 || length - 8 > self.max_data {
                    return Err(fatal(format!(
                        "OFFSET_DATA chunk of {length} bytes (limit {} + 8)",
                        self.max_data
                    )));
                }
                if payload.len() < 8 {
                    return Ok(None);
                }
                let offset = be64(&payload[0..8]);
                buf.advance(CHUNK_HEADER_LEN + 8);
                return Ok(Some(ReplyEvent::Data {
                    cookie,
                    offset,
                    length: length - 8,
                    done,
                }));
            }
            CHUNK_OFFSET_HOLE => {
                if length != 12 {
                    return Err(fatal(format!("OFFSET_HOLE chunk of {length} bytes")));
                }
                if payload.len() < 12 {
                    return Ok(None);
                }
                let offset = be64(&payload[0..8]);
                let size = be32(&payload[8..12]);
                if size == 0 {
                    return Err(fatal("OFFSET_HOLE chunk of zero size"));
                }
                ReplyEvent::Hole {
                    cookie,
                    offset,
                    length: size,
                    done,
                }
            }
            CHUNK_BLOCK_STATUS => {
                let count = length.checked_sub(4).map(|n| (n / 8, n % 8));
                match count {
                    Some((n, 0)) if (1..=MAX_BLOCK_STATUS_EXTENTS).contains(&n) => {}
                    _ => {
                        return Err(fatal(format!(
                            "BLOCK_STATUS chunk of {length} bytes is not 4 + 8 × (1..=2^20)"
                        )));
                    }
                }
                if payload.len() < length as usize {
                    buf.reserve(CHUNK_HEADER_LEN + length as usize - buf.len());
                    return Ok(None);
                }
                let context_id = be32(&payload[0..4]);
                let descriptors = payload[4..length as usize]
                    .chunks_exact(8)
                    .map(|d| (be32(&d[0..4]), be32(&d[4..8])))
                    .collect();
                ReplyEvent::BlockStatus {
                    cookie,
                    context_id,
                    descriptors,
                    done,
                }
            }
            CHUNK_ERROR | CHUNK_ERROR_OFFSET => {
                let extra = if kind == CHUNK_ERROR_OFFSET { 8 } else { 0 };
                if length < 6 + extra || length > 6 + MAX_STRING as u32 + extra {
                    return Err(fatal(format!("Error chunk of {length} bytes")));
                }
                if payload.len() < length as usize {
                    return Ok(None);
                }
                let errno = be32(&payload[0..4]);
                let message_len = be16(&payload[4..6]) as u32;
                if 6 + message_len + extra != length {
                    return Err(fatal(format!(
                        "Error chunk of {length} bytes with a {message_len}-byte message"
                    )));
                }
                if errno == 0 {
                    return Err(fatal("Error chunk with error number 0"));
                }
                let end = 6 + message_len as usize;
                let message = String::from_utf8_lossy(&payload[6..end]).into_owned();
                let offset = (extra == 8).then(|| be64(&payload[end..end + 8]));
                ReplyEvent::Error {
                    cookie,
                    errno,
                    message,
                    offset,
                    done,
                }
            }
            other if other & CHUNK_FLAG_ERROR != 0 => {
                // An unknown error chunk fails the request but the stream stays usable.
                if length > MAX_UNKNOWN_ERROR_CHUNK {
                    return Err(fatal(format!(
                        "Unknown error chunk type {other:#x} of {length} bytes"
                    )));
                }
                if payload.len() < length as usize {
                    return Ok(None);
                }
                let errno = if length >= 4 { be32(&payload[0..4]) } else { 0 };
                ReplyEvent::Error {
                    cookie,
                    errno: if errno == 0 { 22 } else { errno },
                    message: format!("unknown error chunk type {other:#x}"),
                    offset: None,
                    done,
                }
            }
            other => {
                return Err(fatal(format!("Unknown reply chunk type {other}")));
            }
        };
        buf.advance(CHUNK_HEADER_LEN + length as usize);
        Ok(Some(event))
    }
}

/// Decodes a complete byte stream of replies, skipping the data bytes that follow
/// [`ReplyEvent::Data`] and [`ReplyEvent::Simple`] READ replies of `simple_read_length`
/// bytes. `on_event` returns `false` to stop. Used by tests, benches and fuzz targets.
pub fn decode_stream(
    decoder: ReplyDecoder,
    bytes: &[u8],
    simple_read_length: usize,
    mut on_event: impl FnMut(&ReplyEvent) -> bool,
) -> Result<()> {
    let mut buf = BytesMut::from(bytes);
    while let Some(event) = decoder.decode(&mut buf)? {
        let skip = match event {
            ReplyEvent::Data { length, .. } => length as usize,
            ReplyEvent::Simple { errno: 0, .. } => simple_read_length,
            _ => 0,
        };
        buf.advance(skip.min(buf.len()));
        if !on_event(&event) {
            break;
        }
    }
    Ok(())
}

fn fatal(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::protocol(message)
}

/// Tracks which bytes of one READ have arrived, so a reply that leaves gaps, overlaps or
/// strays outside the request is caught (stale buffer contents never leak into a copy).
#[derive(Debug, Clone)]
pub struct ReadAssembly {
    offset: u64,
    length: u32,
    covered: u64,
    pieces: BTreeMap<u64, u64>,
}

impl ReadAssembly {
    /// Tracks a READ of `length` bytes at `offset`.
    pub fn new(offset: u64, length: u32) -> Self {
        Self {
            offset,
            length,
            covered: 0,
            pieces: BTreeMap::new(),
        }
    }

    /// Accepts a data or hole chunk and returns the byte range of the request's buffer it
    /// fills; a chunk outside the request or overlapping an earlier one is fatal.
    pub fn accept(&mut self, offset: u64, length: u32) -> Result<std::ops::Range<usize>> {
        // Checked: a chunk offset near 2^64 must not wrap around into the request.
        let start = offset
            .checked_sub(self.offset)
            .filter(|start| {
                start
                    .checked_add(u64::from(length))
                    .is_some_and(|end| end <= u64::from(self.length))
            })
            .ok_or_else(|| {
                fatal(format!(
                    "Chunk {offset:#x}+{length:#x} outside the read {:#x}+{:#x}",
                    self.offset, self.length
                ))
                .with_op(Op::Read)
            })?;
        let end = start + u64::from(length);
        let before = self.pieces.range(..start).next_back();
        let overlaps_previous = before.is_some_and(|(_, &prev_end)| prev_end > start);
        let overlaps_next = self.pieces.range(start..end).next().is_some();
        if overlaps_previous || overlaps_next {
            return Err(fatal(format!(
                "Chunk {offset:#x}+{length:#x} overlaps another"
            )));
        }
        // Merge with touching neighbours so the map stays small for in-order replies.
        let mut new_start = start;
        let mut new_end = end;
        if let Some((&prev_start, &prev_end)) = before {
            if prev_end == start {
                new_start = prev_start;
                self.pieces.remove(&prev_start);
            }
        }
        if let Some(next_end) = self.pieces.remove(&end) {
            new_end = next_end;
        }
        self.pieces.insert(new_start, new_end);
        self.covered += u64::from(length);
        Ok(start as usize..end as usize)
    }

    /// Whether every byte has arrived.
    pub fn is_complete(&self) -> bool {
        self.covered == u64::from(self.length)
    }
}

/// Converts one BLOCK_STATUS answer into extents starting at `offset`, clipped to
/// `offset + length`; flags are translated for `context`.
///
/// A descriptor of length 0 is a protocol violation; a server that answers less than the
/// whole range is fine (the caller loops).
pub fn extents_from_status(
    context: &MetaContext,
    offset: u64,
    length: u64,
    descriptors: &[(u32, u32)],
) -> Result<Vec<Extent>> {
    let end = offset.saturating_add(length);
    let mut extents: Vec<Extent> = Vec::with_capacity(descriptors.len().min(1024));
    let mut position = offset;
    for &(len, status) in descriptors {
        if position >= end {
            break;
        }
        if len == 0 {
            return Err(fatal("Block status descriptor of length 0").with_op(Op::Extents));
        }
        let len = u64::from(len).min(end - position);
        let flags = status_flags(context, status);
        match extents.last_mut() {
            Some(last) if last.flags == flags => last.length += len,
            _ => extents.push(Extent::new(position, len, flags)),
        }
        position += len;
    }
    if extents.is_empty() {
        return Err(fatal("Block status reply without descriptors").with_op(Op::Extents));
    }
    Ok(extents)
}

/// Translates a raw NBD status word of `context` into normalised flags.
pub fn status_flags(context: &MetaContext, status: u32) -> ExtentFlags {
    match context {
        MetaContext::BaseAllocation => {
            let mut flags = ExtentFlags::DATA;
            if status & STATE_HOLE != 0 {
                flags = flags | ExtentFlags::HOLE;
            }
            if status & STATE_ZERO != 0 {
                flags = flags | ExtentFlags::ZERO;
            }
            flags
        }
        MetaContext::DirtyBitmap(_) => {
            if status & STATE_DIRTY != 0 {
                ExtentFlags::DIRTY
            } else {
                ExtentFlags::DATA
            }
        }
        MetaContext::AllocationDepth => match status {
            0 => ExtentFlags::HOLE,
            1 => ExtentFlags::DATA,
            _ => ExtentFlags::BACKING,
        },
        MetaContext::Other(_) => ExtentFlags::from_bits(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use proptest::prelude::*;

    pub(crate) fn chunk(flags: u16, kind: u16, cookie: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = STRUCTURED_REPLY_MAGIC.to_be_bytes().to_vec();
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&cookie.to_be_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn decode_all(decoder: ReplyDecoder, bytes: &[u8]) -> Result<Vec<ReplyEvent>> {
        let mut buf = BytesMut::from(bytes);
        let mut events = Vec::new();
        while let Some(event) = decoder.decode(&mut buf)? {
            if let ReplyEvent::Data { length, .. } = event {
                let take = (length as usize).min(buf.len());
                buf.advance(take);
            }
            events.push(event);
        }
        Ok(events)
    }

    #[test]
    fn decodes_every_chunk_type() {
        let mut bytes = Vec::new();
        let mut data = 4096u64.to_be_bytes().to_vec();
        data.extend_from_slice(&[9; 100]);
        bytes.extend(chunk(0, CHUNK_OFFSET_DATA, 1, &data));
        let mut hole = 4196u64.to_be_bytes().to_vec();
        hole.extend_from_slice(&50u32.to_be_bytes());
        bytes.extend(chunk(0, CHUNK_OFFSET_HOLE, 1, &hole));
        let mut status = 3u32.to_be_bytes().to_vec();
        for v in [4096u32, 3, 8192, 0] {
            status.extend_from_slice(&v.to_be_bytes());
        }
        bytes.extend(chunk(REPLY_FLAG_DONE, CHUNK_BLOCK_STATUS, 2, &status));
        let mut error = 5u32.to_be_bytes().to_vec();
        error.extend_from_slice(&2u16.to_be_bytes());
        error.extend_from_slice(b"no");
        error.extend_from_slice(&77u64.to_be_bytes());
        bytes.extend(chunk(0, CHUNK_ERROR_OFFSET, 3, &error));
        bytes.extend(chunk(0, 0x8123, 3, &[0, 0, 0, 12]));
        bytes.extend(chunk(REPLY_FLAG_DONE, CHUNK_NONE, 1, &[]));
        let mut simple = SIMPLE_REPLY_MAGIC.to_be_bytes().to_vec();
        simple.extend_from_slice(&0u32.to_be_bytes());
        simple.extend_from_slice(&4u64.to_be_bytes());
        bytes.extend(simple);

        let events = decode_all(ReplyDecoder::new(true, 1 << 20), &bytes).unwrap();
        assert_eq!(
            events,
            vec![
                ReplyEvent::Data {
                    cookie: 1,
                    offset: 4096,
                    length: 100,
                    done: false
                },
                ReplyEvent::Hole {
                    cookie: 1,
                    offset: 4196,
                    length: 50,
                    done: false
                },
                ReplyEvent::BlockStatus {
                    cookie: 2,
                    context_id: 3,
                    descriptors: vec![(4096, 3), (8192, 0)],
                    done: true
                },
                ReplyEvent::Error {
                    cookie: 3,
                    errno: 5,
                    message: "no".into(),
                    offset: Some(77),
                    done: false
                },
                ReplyEvent::Error {
                    cookie: 3,
                    errno: 12,
                    message: "unknown error chunk type 0x8123".into(),
                    offset: None,
                    done: false
                },
                ReplyEvent::None { cookie: 1 },
                ReplyEvent::Simple {
                    cookie: 4,
                    errno: 0
                },
            ]
        );
    }

    #[test]
    fn hostile_chunks_are_fatal_protocol_errors() {
        let decoder = ReplyDecoder::new(true, 65536);
        let mut too_big = 0u64.to_be_bytes().to_vec();
        too_big.extend_from_slice(&[0; 16]);
        let mut header_only = chunk(0, CHUNK_OFFSET_DATA, 1, &too_big);
        header_only[16..20].copy_from_slice(&(65536u32 + 9).to_be_bytes());
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![0xde, 0xad, 0xbe, 0xef], "magic"),
            (chunk(0, 77, 1, &[]), "Unknown reply chunk type"),
            (chunk(0, CHUNK_NONE, 1, &[]), "NONE"),
            (header_only, "OFFSET_DATA"),
            (chunk(0, CHUNK_OFFSET_HOLE, 1, &[0; 11]), "OFFSET_HOLE"),
            (chunk(0, CHUNK_BLOCK_STATUS, 1, &[0; 9]), "BLOCK_STATUS"),
            (chunk(0, CHUNK_ERROR, 1, &[0, 0, 0, 5, 0, 9]), "message"),
            (chunk(0, CHUNK_ERROR, 1, &[0, 0, 0, 0, 0, 0]), "number 0"),
            (EXTENDED_REPLY_MAGIC.to_be_bytes().to_vec(), "Extended"),
        ];
        for (bytes, expect) in cases {
            let error = decode_all(decoder, &bytes).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Protocol, "{expect}");
            assert!(error.is_fatal());
            assert!(error.to_string().contains(expect), "{error} !~ {expect}");
        }
        let simple_only = ReplyDecoder::new(false, 65536);
        assert!(decode_all(simple_only, &chunk(1, CHUNK_NONE, 1, &[])).is_err());
    }

    #[test]
    fn huge_block_status_length_is_refused_before_buffering() {
        let mut header = chunk(0, CHUNK_BLOCK_STATUS, 1, &[]);
        header[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        let mut buf = BytesMut::from(&header[..]);
        assert!(ReplyDecoder::new(true, 1 << 20).decode(&mut buf).is_err());
        assert!(buf.capacity() < 4096);
    }

    #[test]
    fn read_assembly_finds_gaps_overlaps_and_strays() {
        let mut read = ReadAssembly::new(1000, 300);
        assert_eq!(read.accept(1100, 100).unwrap(), 100..200);
        assert_eq!(read.accept(1000, 100).unwrap(), 0..100);
        assert!(!read.is_complete());
        assert!(read.accept(1150, 10).is_err());
        assert!(read.accept(1250, 100).is_err());
        assert!(read.accept(999, 1).is_err());
        assert_eq!(read.accept(1200, 100).unwrap(), 200..300);
        assert!(read.is_complete());
    }

    #[test]
    fn read_assembly_refuses_chunks_that_wrap_around() {
        // Found by the nbd_reply fuzz target: offset + length overflowed (a panic with
        // overflow checks, a wrapped range accepted without them).
        let mut read = ReadAssembly::new(0, 1 << 16);
        assert!(read.accept(u64::MAX - 10, 20).is_err());
        let mut read = ReadAssembly::new(4096, 4096);
        assert!(read.accept(u64::MAX, u32::MAX).is_err());
        assert!(!read.is_complete());
    }

    #[test]
    fn block_status_translation_per_context() {
        let descriptors = [(4096, 3), (4096, 3), (8192, 0), (1 << 20, 2)];
        let extents =
            extents_from_status(&MetaContext::BaseAllocation, 0, 16384, &descriptors).unwrap();
        assert_eq!(
            extents,
            vec![
                Extent::new(0, 8192, ExtentFlags::HOLE | ExtentFlags::ZERO),
                Extent::new(8192, 8192, ExtentFlags::DATA),
            ]
        );
        let dirty = MetaContext::DirtyBitmap("b".into());
        let extents = extents_from_status(&dirty, 100, 1 << 30, &[(10, 1), (5, 0)]).unwrap();
        assert_eq!(extents[0], Extent::new(100, 10, ExtentFlags::DIRTY));
        assert_eq!(extents[1], Extent::new(110, 5, ExtentFlags::DATA));
        let depth = extents_from_status(
            &MetaContext::AllocationDepth,
            0,
            30,
            &[(10, 0), (10, 1), (10, 2)],
        )
        .unwrap();
        assert_eq!(depth[0].flags, ExtentFlags::HOLE);
        assert_eq!(depth[2].flags, ExtentFlags::BACKING);
        assert!(extents_from_status(&MetaContext::BaseAllocation, 0, 10, &[(0, 0)]).is_err());
    }

    proptest! {
        #[test]
        fn decoder_never_panics_and_respects_limits(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_all(ReplyDecoder::new(true, 4096), &bytes);
        }

        #[test]
        fn split_input_decodes_like_whole_input(split in 0usize..80, hole_len in 1u32..1_000_000) {
            let mut hole = 0u64.to_be_bytes().to_vec();
            hole.extend_from_slice(&hole_len.to_be_bytes());
            let mut bytes = chunk(0, CHUNK_OFFSET_HOLE, 9, &hole);
            bytes.extend(chunk(REPLY_FLAG_DONE, CHUNK_NONE, 9, &[]));
            let decoder = ReplyDecoder::new(true, 4096);
            let split = split.min(bytes.len());
            let mut buf = BytesMut::from(&bytes[..split]);
            let mut events = Vec::new();
            while let Some(e) = decoder.decode(&mut buf).unwrap() { events.push(e); }
            buf.extend_from_slice(&bytes[split..]);
            while let Some(e) = decoder.decode(&mut buf).unwrap() { events.push(e); }
            prop_assert_eq!(events.len(), 2);
            prop_assert_eq!(&events[0], &ReplyEvent::Hole { cookie: 9, offset: 0, length: hole_len, done: false });
        }

        #[test]
        fn read_assembly_accepts_any_partition(cuts in proptest::collection::btree_set(1u32..4096, 0..20)) {
            let mut bounds: Vec<u32> = vec![0];
            bounds.extend(cuts);
            bounds.push(4096);
            let mut read = ReadAssembly::new(1 << 20, 4096);
            for pair in bounds.windows(2).rev() {
                read.accept((1 << 20) + u64::from(pair[0]), pair[1] - pair[0]).unwrap();
            }
            prop_assert!(read.is_complete());
        }
    }
}
