//! Planning: which blocks of a work range to copy, zero or skip, from the resumed set, the
//! dirty ranges and the source's allocation.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Incremental, Shared, Task, lock, retryable};
use crate::block::{Extent, MetaContext};
use crate::error::{Error, Op, Result};

/// Queries `context` over `start..end`, looping over partial answers and retrying
/// recoverable failures.
async fn fetch_extents(
    shared: &Shared,
    start: u64,
    end: u64,
    context: &MetaContext,
) -> Result<Vec<Extent>> {
    let source = &*shared.source;
    let mut extents = Vec::new();
    let mut position = start;
    let mut attempt = 1;
    while position < end {
        let answer = match source.extents(position, end - position, context).await {
            Ok(answer) => answer,
            Err(error) if retryable(&error) && attempt < shared.retries => {
                tracing::warn!("retrying extents after recoverable error: {error}");
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                attempt += 1;
                continue;
            }
            Err(error) => return Err(error),
        };
        let reached = answer.last().map(Extent::end).unwrap_or(position);
        if answer.first().map(|e| e.offset) != Some(position) || reached <= position {
            return Err(Error::protocol(format!(
                "Extents of {context} from {} did not start at {position:#x} or made no progress",
                source.describe()
            ))
            .into_recoverable()
            .with_op(Op::Extents));
        }
        extents.extend(answer);
        position = reached;
    }
    Ok(extents)
}

/// Marks `flags[i]` for every block `first + i` overlapping an extent that `pick` selects.
fn mark(
    flags: &mut [bool],
    first: u64,
    block: u64,
    extents: &[Extent],
    pick: impl Fn(&Extent) -> bool,
) {
    for extent in extents.iter().filter(|e| pick(e) && e.length > 0) {
        let from = (extent.offset / block).saturating_sub(first) as usize;
        let to = ((extent.end().div_ceil(block)).saturating_sub(first) as usize).min(flags.len());
        for flag in flags.iter_mut().take(to).skip(from) {
            *flag = true;
        }
    }
}

pub(super) async fn plan(
    shared: Arc<Shared>,
    incremental: Option<Incremental>,
    work_size: u64,
    tx: mpsc::Sender<Result<Task>>,
) {
    let mut ranges = match &incremental {
        Some(Incremental::Ranges(ranges)) => ranges.clone(),
        _ => Vec::new(),
    };
    ranges.sort_by_key(|r| r.start);
    let mut start = 0;
    while start < shared.size {
        let end = (start + work_size).min(shared.size);
        let planned = match plan_range(&shared, &incremental, &ranges, start, end).await {
            Ok(tasks) => reserve_runs(&shared, &tasks).await.map(|()| tasks),
            Err(error) => Err(error),
        };
        match planned {
            Ok(tasks) => {
                for task in tasks {
                    if tx.send(Ok(task)).await.is_err() {
                        return;
                    }
                }
            }
            Err(error) => {
                let _ = tx.send(Err(error)).await;
                return;
            }
        }
        start = end;
    }
}

/// Reserves each run of adjacent blocks to copy in the sink ([`BlockSink::reserve`]) before
/// the run's tasks are handed out: one call per run, ahead of its writes.
///
/// [`BlockSink::reserve`]: crate::block::BlockSink::reserve
async fn reserve_runs(shared: &Shared, tasks: &[Task]) -> Result<()> {
    let mut run: Option<(u64, u64)> = None;
    for task in tasks {
        let next = match *task {
            Task::Copy { offset, length } => match &mut run {
                Some((_, end)) if *end == offset => {
                    *end += length;
                    continue;
                }
                _ => Some((offset, offset + length)),
            },
            Task::Zero { .. } => None,
        };
        if let Some((start, end)) = std::mem::replace(&mut run, next) {
            shared.sink.reserve(start, end - start).await?;
        }
    }
    if let Some((start, end)) = run {
        shared.sink.reserve(start, end - start).await?;
    }
    Ok(())
}

pub(super) async fn plan_range(
    shared: &Shared,
    incremental: &Option<Incremental>,
    ranges: &[Range<u64>],
    start: u64,
    end: u64,
) -> Result<Vec<Task>> {
    let block = shared.block;
    let first = start / block;
    let count = (end.div_ceil(block) - first) as usize;
    let resumed: Vec<bool> = {
        let tracking = lock(&shared.tracking);
        (0..count)
            .map(|i| tracking.completed.contains(first + i as u64))
            .collect()
    };
    let mut wanted = match incremental {
        None => vec![true; count],
        Some(Incremental::Bitmap(name)) => {
            let context = MetaContext::DirtyBitmap(name.clone());
            let dirty = fetch_extents(shared, start, end, &context).await?;
            let mut wanted = vec![false; count];
            mark(&mut wanted, first, block, &dirty, |e| e.flags.is_dirty());
            wanted
        }
        Some(Incremental::Ranges(_)) => {
            let mut wanted = vec![false; count];
            let overlapping: Vec<Extent> = ranges
                .iter()
                .filter(|r| r.start < end && r.end > start)
                .map(|r| Extent::new(r.start, r.end - r.start, crate::ExtentFlags::DIRTY))
                .collect();
            mark(&mut wanted, first, block, &overlapping, |_| true);
            wanted
        }
    };
    for (want, done) in wanted.iter_mut().zip(&resumed) {
        if *done {
            *want = false;
        }
    }
    let mut data = vec![true; count];
    let allocation = MetaContext::BaseAllocation;
    // Changed areas a source reported (vSphere CBT) are read as they are: zero detection
    // handles any that became zero, and asking for the allocation of the whole window
    // around a few small areas costs a round trip per window, proportional to the window
    // where the source finds allocation by reading (as the fake VDDK of the tests does).
    let ranges_given = matches!(incremental, Some(Incremental::Ranges(_)));
    if !ranges_given && wanted.iter().any(|&w| w) && shared.source.can_extents(&allocation) {
        let extents = fetch_extents(shared, start, end, &allocation).await?;
        data = vec![false; count];
        mark(&mut data, first, block, &extents, |e| !e.flags.is_zero());
    }

    let mut tasks = Vec::new();
    let mut zero_run: Option<(u64, u64)> = None;
    for i in 0..count {
        let offset = (first + i as u64) * block;
        let length = block.min(shared.size - offset);
        let task = if resumed[i] {
            shared.counters.resumed.fetch_add(length, Ordering::Relaxed);
            shared.counters.done.fetch_add(length, Ordering::Relaxed);
            None
        } else if !wanted[i] {
            shared.counters.skipped.fetch_add(length, Ordering::Relaxed);
            shared.counters.done.fetch_add(length, Ordering::Relaxed);
            None
        } else if !data[i] {
            zero_run = Some(match zero_run {
                Some((run_start, run_length)) => (run_start, run_length + length),
                None => (offset, length),
            });
            continue;
        } else {
            Some(Task::Copy { offset, length })
        };
        if let Some((offset, length)) = zero_run.take() {
            tasks.push(Task::Zero { offset, length });
        }
        tasks.extend(task);
    }
    if let Some((offset, length)) = zero_run {
        tasks.push(Task::Zero { offset, length });
    }
    Ok(tasks)
}
