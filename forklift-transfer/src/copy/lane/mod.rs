//! Copy lanes: between two NBD clients, one task per pair of connections does all the work.
//!
//! ```text
//!   lane task ── READ headers ──────────► source connection
//!       ▲   ◄── replies, data straight into the block's buffer
//!       │       CRC, zero detection
//!       └──── WRITE / WRITE_ZEROES ──────► sink connection (payload spliced on Unix sockets)
//!           ◄── replies: block done, buffer reused
//! ```
//!
//! Going through [`BlockSource`](crate::BlockSource) and [`BlockSink`](crate::BlockSink)
//! costs a block about six hand-offs between tasks (block task, connection writers and
//! readers); on a machine with few CPUs those wake-ups, not the work, decide the throughput.
//! A lane instead polls both sockets itself, in nbdcopy's style: a reply is decoded, its
//! data lands in the block's buffer and the write is queued in the same poll.
//!
//! An episode leases every connection of both clients (requests through the clients wait
//! meanwhile), pairs them into lanes, and runs the lanes over a shared queue of tasks until
//! the queue is empty or a deadline passes (the copy then flushes and saves its checkpoint).
//! Blocks that fail with a recoverable error, and zero runs a sink without WRITE_ZEROES
//! cannot take, are handed back and copied the ordinary way afterwards. A fatal error on one
//! side ends the lane: the other side's requests in flight are answered first (so a healthy
//! server never sees a client vanish mid-request), that connection goes back to its client,
//! and the failed one is left dead for the copy to reconnect.

mod driver;
mod side;
mod sink;
mod source;
mod thread;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{
    CopyOptions, Incremental, Shared, Task, lock, plan_range, run_with_retries, save_checkpoint,
};
use crate::error::{Error, Result};
use crate::nbd::NbdClient;
use crate::nbd::connection::Transport;

/// The two clients of a copy, when it can run in lanes.
pub(super) fn clients<'a>(
    source: &'a dyn crate::BlockSource,
    sink: &'a dyn crate::BlockSink,
) -> Option<(&'a NbdClient, &'a NbdClient)> {
    let (source, sink) = (source.nbd_client()?, sink.nbd_client()?);
    // One client on both sides would lease itself twice; a read-only sink must fail the
    // ordinary way, with its own error.
    (!std::ptr::eq(source, sink) && !sink.is_read_only()).then_some((source, sink))
}

/// Tasks shared by the lanes of an episode.
pub(super) struct Feed {
    tasks: Mutex<VecDeque<Task>>,
    /// Lanes take no new task once this passes.
    pub(super) deadline: Instant,
    /// Set when a lane fails: the others finish what they started and stop.
    pub(super) stop: AtomicBool,
}

impl Feed {
    pub(super) fn new(tasks: VecDeque<Task>, deadline: Instant) -> Self {
        Self {
            tasks: Mutex::new(tasks),
            deadline,
            stop: AtomicBool::new(false),
        }
    }

    /// Takes the tasks no lane took.
    pub(super) fn take_remaining(&self) -> VecDeque<Task> {
        std::mem::take(&mut *lock(&self.tasks))
    }

    /// The next task, unless the lanes are to stop: after a failure, or past the deadline
    /// once `started` (a lane takes a window's worth of tasks first, so every episode makes
    /// progress however short its deadline).
    pub(super) fn next(&self, started: bool) -> Next {
        if self.stop.load(Ordering::Relaxed) || (started && Instant::now() >= self.deadline) {
            return Next::Stop;
        }
        match lock(&self.tasks).pop_front() {
            Some(task) => Next::Task(task),
            None => Next::Empty,
        }
    }
}

pub(super) enum Next {
    Task(Task),
    Empty,
    Stop,
}

/// Runs one episode; returns the tasks to copy the ordinary way.
pub(super) async fn episode(
    shared: &Arc<Shared>,
    source: &NbdClient,
    sink: &NbdClient,
    feed: &Arc<Feed>,
    requests: usize,
    cancel: &CancellationToken,
) -> Result<Vec<Task>> {
    // Always in the same order (by address), so two copies running in opposite directions
    // between the same clients cannot each hold one lease and wait for the other.
    let (mut source_lease, mut sink_lease) =
        if std::ptr::from_ref(source) < std::ptr::from_ref(sink) {
            let first = source.lease().await;
            (first, sink.lease().await)
        } else {
            let first = sink.lease().await;
            (source.lease().await, first)
        };
    let mut sources = source_lease.take();
    let mut sinks = sink_lease.take();
    let lanes = sources.len().min(sinks.len());
    if lanes == 0 {
        // Give back what was taken; the ordinary path reports the dead connections.
        source_lease.finish(sources.into_iter().map(|(i, t)| (i, Ok(t))).collect());
        sink_lease.finish(sinks.into_iter().map(|(i, t)| (i, Ok(t))).collect());
        return Ok(lock(&feed.tasks).drain(..).collect());
    }
    let mut source_back: Vec<(usize, Result<Transport>)> =
        sources.drain(lanes..).map(|(i, t)| (i, Ok(t))).collect();
    let mut sink_back: Vec<(usize, Result<Transport>)> =
        sinks.drain(lanes..).map(|(i, t)| (i, Ok(t))).collect();
    let depth = (requests / lanes).max(1);
    let can_zero = crate::BlockSink::can_write_zeroes(sink);
    let mut running = JoinSet::new();
    for (src, dst) in sources.into_iter().zip(sinks) {
        let setup = thread::Setup {
            shared: shared.clone(),
            depth,
            can_zero,
            feed: feed.clone(),
            cancel: cancel.clone(),
        };
        running.spawn(thread::run(setup, src, dst));
    }
    let mut failure = None;
    let mut deferred = Vec::new();
    while let Some(joined) = running.join_next().await {
        let end = joined
            .map_err(|e| Error::new(crate::ErrorKind::Io, "Copy lane failed").with_source(e))?;
        source_back.push(end.source);
        sink_back.push(end.sink);
        deferred.extend(end.deferred);
        if let (None, Err(error)) = (&failure, end.outcome) {
            failure = Some(error);
        }
    }
    source_lease.finish(source_back);
    sink_lease.finish(sink_back);
    match failure {
        Some(error) => Err(error),
        None if cancel.is_cancelled() => Err(Error::cancelled()),
        None => Ok(deferred),
    }
}

/// What a lane hands back.
pub(super) struct LaneEnd {
    pub(super) source: (usize, Result<Transport>),
    pub(super) sink: (usize, Result<Transport>),
    pub(super) outcome: Result<()>,
    pub(super) deferred: Vec<Task>,
}

/// One pass over the blocks not yet completed, in copy lanes: plan work ranges, copy their
/// tasks in an episode, flush and save the checkpoint when due, and go on.
pub(super) async fn pass(
    shared: &Arc<Shared>,
    source: &crate::nbd::NbdClient,
    sink: &crate::nbd::NbdClient,
    options: &CopyOptions,
    requests: usize,
    mode: &str,
    cancel: &CancellationToken,
) -> Result<()> {
    let periodic = shared.flushes_periodically(options);
    let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
    let mut next_save = Instant::now() + options.checkpoint_interval;
    let mut ranges = match &options.incremental {
        Some(Incremental::Ranges(ranges)) => ranges.clone(),
        _ => Vec::new(),
    };
    ranges.sort_by_key(|r| r.start);
    let work_size = options.work_size.max(shared.block) / shared.block * shared.block;
    // Planning waits for the lanes to hand the connections back, so sparse plans (an
    // incremental copy) gather several work ranges' tasks before an episode.
    let batch = (requests * 16).max(256);
    // Ranges of an incremental copy are planned several at once, so their extent queries
    // share round trips; at most about 8192 blocks' tasks are planned ahead that way.
    let per_range = (work_size / shared.block).max(1);
    let at_once = match options.incremental {
        Some(_) => (8192 / per_range).clamp(1, 8),
        None => 1,
    };
    let mut tasks = std::collections::VecDeque::new();
    let mut start = 0;
    loop {
        while start < shared.size && tasks.len() < batch {
            let mut planning = Vec::new();
            while start < shared.size && (planning.len() as u64) < at_once {
                let end = (start + work_size).min(shared.size);
                planning.push(plan_range(
                    shared,
                    &options.incremental,
                    &ranges,
                    start,
                    end,
                ));
                start = end;
            }
            for planned in futures::future::try_join_all(planning).await? {
                tasks.extend(planned);
            }
        }
        if tasks.is_empty() {
            break;
        }
        if cancel.is_cancelled() {
            return Err(Error::cancelled());
        }
        let deadline = if periodic { next_save } else { far };
        let feed = Arc::new(Feed::new(std::mem::take(&mut tasks), deadline));
        let deferred = episode(shared, source, sink, &feed, requests, cancel).await?;
        tasks = feed.take_remaining();
        for task in deferred {
            tokio::select! {
                () = cancel.cancelled() => return Err(Error::cancelled()),
                done = run_with_retries(shared, task) => done?,
            }
        }
        if periodic && Instant::now() >= next_save {
            if let Some(error) = save_checkpoint(shared, options, mode, true).await {
                return Err(error);
            }
            next_save = Instant::now() + options.checkpoint_interval;
        }
    }
    Ok(())
}
