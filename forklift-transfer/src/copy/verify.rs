//! `verify`: re-read source and target and compare them block by block.
//!
//! Each block's CRC32 from the source, from the target and (when the copy kept one) from the
//! block map must agree. Blocks the source reports as zero are not read from the source.
//! Reads are bounded like the copy: `requests` blocks in flight, one pooled buffer each.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::checkpoint::{BlockMap, zero_crc};
use crate::block::{BlockSource, MetaContext};
use crate::error::{Error, ErrorKind, Op, Result};

/// Most mismatching ranges listed in a report.
const MAX_LISTED: usize = 1000;

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Block size when no block map is given.
    pub block_size: u64,
    /// Blocks in flight.
    pub requests: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            block_size: 1 << 20,
            requests: 16,
        }
    }
}

/// Outcome of a verification.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// Bytes compared.
    pub bytes_checked: u64,
    /// Blocks compared.
    pub blocks_checked: u64,
    /// Blocks that differ.
    pub blocks_mismatched: u64,
    /// The first mismatching ranges (offset, length), at most 1000.
    pub mismatches: Vec<(u64, u64)>,
    /// Wall time.
    pub seconds: f64,
}

impl VerifyReport {
    /// Whether source and target were identical (and matched the block map).
    pub fn is_identical(&self) -> bool {
        self.blocks_mismatched == 0
    }
}

/// Compares `source` with `target` over the source's size.
pub async fn verify(
    source: Arc<dyn BlockSource>,
    target: Arc<dyn BlockSource>,
    map: Option<&BlockMap>,
    options: &VerifyOptions,
    cancel: &CancellationToken,
) -> Result<VerifyReport> {
    let started = Instant::now();
    let size = source.size();
    if target.size() < size {
        return Err(Error::new(
            ErrorKind::Mismatch,
            format!("Target has {} bytes, source {size}", target.size()),
        )
        .with_op(Op::Verify));
    }
    let block = map
        .map(|m| m.block_size)
        .unwrap_or(options.block_size.max(4096));
    if map.is_some_and(|m| m.size != size) {
        return Err(
            Error::invalid_input("Block map is for a disk of another size").with_op(Op::Verify),
        );
    }
    let blocks = size.div_ceil(block);
    let zero_source = source.can_extents(&MetaContext::BaseAllocation);
    let pool = std::sync::Mutex::new(Vec::<Vec<u8>>::new());
    let check = |index: u64| {
        let source = source.clone();
        let target = target.clone();
        let pool = &pool;
        async move {
            let offset = index * block;
            let length = block.min(size - offset);
            let take = || {
                let mut buf = pool
                    .lock()
                    .map(|mut p| p.pop())
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                buf.resize(length as usize, 0);
                buf
            };
            let source_is_zero = zero_source
                && source
                    .extents(offset, length, &MetaContext::BaseAllocation)
                    .await?
                    .iter()
                    .all(|e| e.flags.is_zero() || e.end() <= offset);
            let source_crc = if source_is_zero {
                zero_crc(length)
            } else {
                let buf = source.read_owned(offset, take()).await?;
                let crc = crc32fast::hash(&buf);
                if let Ok(mut p) = pool.lock() {
                    p.push(buf);
                }
                crc
            };
            let buf = target.read_owned(offset, take()).await?;
            let target_crc = crc32fast::hash(&buf);
            if let Ok(mut p) = pool.lock() {
                p.push(buf);
            }
            Ok::<_, Error>((index, offset, length, source_crc, target_crc))
        }
    };
    let mut report = VerifyReport {
        bytes_checked: 0,
        blocks_checked: 0,
        blocks_mismatched: 0,
        mismatches: Vec::new(),
        seconds: 0.0,
    };
    let mut results = futures::stream::iter(0..blocks)
        .map(check)
        .buffer_unordered(options.requests.max(1));
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => return Err(Error::cancelled().with_op(Op::Verify)),
            next = results.next() => next,
        };
        let Some(result) = next else { break };
        let (index, offset, length, source_crc, target_crc) =
            result.map_err(|e| e.or_context(Op::Verify, 0, 0))?;
        let recorded = map.and_then(|m| m.get(index));
        report.blocks_checked += 1;
        report.bytes_checked += length;
        if source_crc != target_crc || recorded.is_some_and(|crc| crc != source_crc) {
            report.blocks_mismatched += 1;
            if report.mismatches.len() < MAX_LISTED {
                report.mismatches.push((offset, length));
            }
        }
    }
    report.mismatches.sort_unstable();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
