//! A lane's state and its poll loop; reply handling is in `source` and `sink`.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::side::Side;
use super::{Feed, LaneEnd, Next};
use crate::copy::{Shared, Task};
use crate::error::{Error, Result};
use crate::nbd::connection::Transport;
use crate::nbd::proto::{self, Request};
use crate::nbd::reply::ReadAssembly;
use crate::nbd::splice::{PayloadPipe, quarantine};

/// Polls in a row that made progress before a lane lets other tasks run.
const BUDGET: usize = 64;

/// How long a lane that stops (cancelled, or one side failed) waits for the answers to its
/// requests in flight before it gives its connections up.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// Why a lane's poll returned.
pub(super) enum Wake {
    Finished,
    Failed,
    Cancelled,
    DrainTimedOut,
}

/// Largest WRITE_ZEROES length, as the client sends them.
const MAX_ZERO: u64 = 1 << 31;

/// One block in a lane.
pub(super) struct Slot {
    pub(super) task: Option<Task>,
    pub(super) buf: Vec<u8>,
    pub(super) assembly: Option<ReadAssembly>,
    /// Sink requests not answered yet.
    pub(super) waiting: usize,
    pub(super) error: Option<Error>,
    /// Pages of `buf` were spliced into the sink's socket and may still be referenced.
    pub(super) spliced: bool,
}

/// Where the source's reply stream stands.
pub(super) enum SourceRead {
    /// A whole READ payload is passing straight to the sink (see [`Lane::passthrough`]).
    Streaming,
    /// Decoding reply headers.
    Header,
    /// Copying `range` of a slot's buffer from the stream.
    Payload {
        slot: usize,
        range: Range<usize>,
        done: bool,
    },
}

/// What a sink request counts as when it succeeds.
#[derive(Clone, Copy)]
pub(super) enum Counted {
    Written(u64),
    Zeroed(u64),
}

/// A sink request waiting to be sent, or being sent.
pub(super) struct SinkRequest {
    pub(super) slot: usize,
    /// Assigned when sending starts.
    pub(super) cookie: Option<u64>,
    pub(super) header: [u8; proto::REQUEST_LEN],
    pub(super) header_sent: usize,
    /// Range of the slot's buffer to send as payload (empty for WRITE_ZEROES).
    pub(super) payload: Range<usize>,
    /// Payload bytes handed to the socket or the pipe.
    pub(super) payload_sent: usize,
    /// Bytes in the pipe not yet spliced into the socket.
    pub(super) in_pipe: usize,
    pub(super) counted: Counted,
    /// The payload comes from the source's socket (passthrough), not from the buffer.
    pub(super) from_source: bool,
}

/// The answered-to-be state of a sink request.
pub(super) struct Waiting {
    pub(super) slot: usize,
    pub(super) counted: Counted,
    pub(super) error: Option<Error>,
}

pub(super) struct Lane {
    pub(super) shared: Arc<Shared>,
    pub(super) source: Side,
    pub(super) sink: Side,
    pub(super) slots: Vec<Slot>,
    pub(super) free: Vec<usize>,
    pub(super) source_cookies: HashMap<u64, usize>,
    pub(super) source_read: SourceRead,
    pub(super) queue: VecDeque<SinkRequest>,
    pub(super) sink_cookies: HashMap<u64, Waiting>,
    pub(super) pipe: Option<PayloadPipe>,
    pub(super) can_zero: bool,
    /// READ payloads go from the source's socket to the sink's through a pipe, never
    /// copied into this process: only with zero detection and checksums off, between Unix
    /// sockets.
    pub(super) passthrough: bool,
    /// Whether the lane still takes tasks from the feed.
    pub(super) taking: bool,
    /// Tasks taken this episode.
    pub(super) taken: usize,
    /// The feed ran dry.
    pub(super) empty: bool,
    pub(super) cancelled: bool,
    pub(super) source_error: Option<Error>,
    pub(super) sink_error: Option<Error>,
    pub(super) deferred: Vec<Task>,
    /// The idle timeout: when each side last moved a byte (or last had nothing to wait
    /// for), and the timer for the earliest deadline.
    pub(super) source_seen: tokio::time::Instant,
    pub(super) sink_seen: tokio::time::Instant,
    pub(super) idle_timer: Pin<Box<tokio::time::Sleep>>,
}

impl Lane {
    pub(super) fn new(
        shared: Arc<Shared>,
        source: (usize, Transport),
        sink: (usize, Transport),
        depth: usize,
        can_zero: bool,
    ) -> Self {
        let pipe = (sink.1.splice_writes && sink.1.writer.unix_socket().is_some())
            .then(|| PayloadPipe::new().ok())
            .flatten();
        let passthrough = pipe.is_some()
            && source.1.reader.unix_socket().is_some()
            && shared.granularity == 0
            && !shared.checksums;
        let slots = (0..depth)
            .map(|_| Slot {
                task: None,
                buf: Vec::new(),
                assembly: None,
                waiting: 0,
                error: None,
                spliced: false,
            })
            .collect();
        Self {
            shared,
            source: Side::new(source),
            sink: Side::new(sink),
            slots,
            free: (0..depth).rev().collect(),
            source_cookies: HashMap::new(),
            source_read: SourceRead::Header,
            queue: VecDeque::new(),
            sink_cookies: HashMap::new(),
            pipe,
            can_zero,
            passthrough,
            taking: true,
            taken: 0,
            empty: false,
            cancelled: false,
            source_error: None,
            sink_error: None,
            deferred: Vec::new(),
            source_seen: tokio::time::Instant::now(),
            sink_seen: tokio::time::Instant::now(),
            idle_timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    pub(super) async fn run(mut self, feed: Arc<Feed>, cancel: CancellationToken) -> LaneEnd {
        let mut drain_limit = None;
        loop {
            let wake = tokio::select! {
                biased;
                () = cancel.cancelled(), if !self.cancelled => Wake::Cancelled,
                () = sleep_until(drain_limit), if drain_limit.is_some() => Wake::DrainTimedOut,
                step = std::future::poll_fn(|cx| self.poll(cx, &feed)) => step,
            };
            match wake {
                Wake::Finished => break,
                Wake::Cancelled => {
                    self.cancelled = true;
                    self.taking = false;
                }
                Wake::Failed => feed.stop.store(true, Ordering::Relaxed),
                Wake::DrainTimedOut => {
                    let stuck = || {
                        Error::new(
                            crate::ErrorKind::Timeout,
                            "Requests in flight were not answered after the copy stopped",
                        )
                        .into_fatal()
                    };
                    self.source_error.get_or_insert_with(stuck);
                    self.sink_error.get_or_insert_with(stuck);
                    break;
                }
            }
            // Stopping: the answers to what is in flight come soon, or never.
            drain_limit.get_or_insert_with(|| tokio::time::Instant::now() + DRAIN_LIMIT);
        }
        self.end()
    }

    /// A healthy side goes back to its client; a failed one is handed back with its error.
    pub(super) fn end(self) -> LaneEnd {
        let Lane {
            source,
            sink,
            deferred,
            source_error,
            sink_error,
            ..
        } = self;
        let outcome = match (&source_error, &sink_error) {
            (Some(error), _) | (None, Some(error)) => Err(error.clone()),
            (None, None) => Ok(()),
        };
        let back = |transport: Transport, error: Option<Error>| match error {
            None => Ok(transport),
            Some(error) => Err(error.into_fatal()),
        };
        LaneEnd {
            source: (source.index, back(source.transport, source_error)),
            sink: (sink.index, back(sink.transport, sink_error)),
            outcome,
            deferred,
        }
    }

    pub(super) fn in_use(&self) -> bool {
        self.free.len() < self.slots.len()
    }

    pub(super) fn poll(&mut self, cx: &mut Context<'_>, feed: &Feed) -> Poll<Wake> {
        for _ in 0..BUDGET {
            let mut progress = self.take_tasks(feed);
            if self.source_error.is_none() {
                match self.poll_source(cx) {
                    Ok(moved) => {
                        progress |= moved;
                        if moved {
                            self.source_seen = tokio::time::Instant::now();
                        }
                    }
                    Err(error) => {
                        self.fail_source(error);
                        return Poll::Ready(Wake::Failed);
                    }
                }
            }
            if self.sink_error.is_none() {
                match self.poll_sink(cx) {
                    Ok(moved) => {
                        progress |= moved;
                        if moved {
                            self.sink_seen = tokio::time::Instant::now();
                            // Passing through, the source's data moves on the sink's poll.
                            if self.passthrough {
                                self.source_seen = self.sink_seen;
                            }
                        }
                    }
                    Err(error) => {
                        self.fail_sink(error);
                        return Poll::Ready(Wake::Failed);
                    }
                }
            }
            if self.finished() {
                return Poll::Ready(Wake::Finished);
            }
            if !progress {
                return self.poll_idle(cx);
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Whether the source has requests to send or answers to wait for.
    fn source_busy(&self) -> bool {
        self.source_error.is_none()
            && (!self.source_cookies.is_empty() || !self.source.out.is_empty())
    }

    /// Whether the sink has requests to send or answers to wait for.
    fn sink_busy(&self) -> bool {
        self.sink_error.is_none() && (!self.queue.is_empty() || !self.sink_cookies.is_empty())
    }

    /// Enforces the idle timeout (see `nbd::idle`): a side with requests in flight that
    /// moved no byte for that long has lost its server, and fails as a lost connection.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<Wake> {
        loop {
            let now = tokio::time::Instant::now();
            // Time with nothing to wait for does not count.
            if !self.source_busy() {
                self.source_seen = now;
            }
            if !self.sink_busy() {
                self.sink_seen = now;
            }
            let deadline = |seen: tokio::time::Instant, side: &super::side::Side| {
                side.transport
                    .io_timeout
                    .get()
                    .map(|limit| (seen + limit, limit))
            };
            let source = deadline(self.source_seen, &self.source).filter(|_| self.source_busy());
            let sink = deadline(self.sink_seen, &self.sink).filter(|_| self.sink_busy());
            if let Some((_, limit)) = source.filter(|(at, _)| *at <= now) {
                self.fail_source(crate::nbd::idle::timed_out(limit));
                return Poll::Ready(Wake::Failed);
            }
            if let Some((_, limit)) = sink.filter(|(at, _)| *at <= now) {
                self.fail_sink(crate::nbd::idle::timed_out(limit));
                return Poll::Ready(Wake::Failed);
            }
            let Some(next) = [source, sink].into_iter().flatten().map(|(at, _)| at).min() else {
                return Poll::Pending;
            };
            self.idle_timer.as_mut().reset(next);
            if self.idle_timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }

    pub(super) fn poll_source(&mut self, cx: &mut Context<'_>) -> Result<bool> {
        Ok(self.source.poll_out(cx)? | self.poll_source_replies(cx)?)
    }

    pub(super) fn poll_sink(&mut self, cx: &mut Context<'_>) -> Result<bool> {
        Ok(self.poll_sink_requests(cx)? | self.poll_sink_replies(cx)?)
    }

    /// Whether a READ payload is passing from the source to the sink right now.
    pub(super) fn streaming(&self) -> bool {
        matches!(self.source_read, SourceRead::Streaming)
    }

    pub(super) fn finished(&self) -> bool {
        if self.source_error.is_some() || self.sink_error.is_some() {
            // The healthy side is done once its requests are answered.
            let reading = self.source_error.is_none() && !self.source_cookies.is_empty();
            let writing = self.sink_error.is_none()
                && (!self.queue.is_empty() || !self.sink_cookies.is_empty());
            return !reading && !writing;
        }
        !self.in_use() && (!self.taking || self.empty)
    }

    /// The source failed: blocks being read are abandoned; writes already queued go on.
    pub(super) fn fail_source(&mut self, error: Error) {
        tracing::debug!("copy lane source failed: {error}");
        if self.streaming() {
            return self.fail_both(error);
        }
        self.drop_source(error);
    }

    /// Failed mid-passthrough: the sink is in the middle of a payload that will never end,
    /// and the source in the middle of a reply nobody will read.
    fn fail_both(&mut self, error: Error) {
        self.source_read = SourceRead::Header;
        self.drop_source(error.clone());
        self.drop_sink(error);
    }

    fn drop_source(&mut self, error: Error) {
        self.source_error = Some(error);
        self.taking = false;
        for index in std::mem::take(&mut self.source_cookies).into_values() {
            self.release(index);
        }
    }

    /// The sink failed: nothing more is written, reads in flight are answered and dropped.
    /// Blocks with writes in flight stay taken, so spliced buffers are parked, not reused.
    pub(super) fn fail_sink(&mut self, error: Error) {
        tracing::debug!("copy lane sink failed: {error}");
        if self.streaming() {
            return self.fail_both(error);
        }
        self.drop_sink(error);
    }

    fn drop_sink(&mut self, error: Error) {
        self.sink_error = Some(error);
        self.taking = false;
        self.queue.clear();
        self.sink_cookies.clear();
    }

    pub(super) fn take_tasks(&mut self, feed: &Feed) -> bool {
        let mut took = false;
        while self.taking && !self.free.is_empty() {
            match feed.next(self.taken >= self.slots.len()) {
                Next::Task(task) => {
                    took = true;
                    self.taken += 1;
                    self.start(task);
                }
                Next::Empty => {
                    self.empty = true;
                    break;
                }
                Next::Stop => self.taking = false,
            }
        }
        took
    }

    pub(super) fn start(&mut self, task: Task) {
        match task {
            Task::Copy { offset, length } => {
                let Some(index) = self.free.pop() else { return };
                let cookie = self.source.cookie();
                let request = Request {
                    flags: 0,
                    command: proto::CMD_READ,
                    cookie,
                    offset,
                    length: length as u32,
                };
                self.source.out.extend_from_slice(&request.encode());
                self.source_cookies.insert(cookie, index);
                let slot = &mut self.slots[index];
                slot.task = Some(task);
                slot.buf.resize(length as usize, 0);
                slot.assembly = Some(ReadAssembly::new(offset, length as u32));
            }
            Task::Zero { offset, length } => {
                if self.shared.target_zero.load(Ordering::Relaxed) {
                    self.shared
                        .counters
                        .skipped
                        .fetch_add(length, Ordering::Relaxed);
                    self.shared.record_done(task);
                    return;
                }
                if !self.can_zero {
                    self.deferred.push(task);
                    return;
                }
                let Some(index) = self.free.pop() else { return };
                self.slots[index].task = Some(task);
                self.queue_zero(index, offset, length);
                self.after_queueing(index);
            }
        }
    }

    pub(super) fn queue_zero(&mut self, slot: usize, offset: u64, length: u64) {
        let minimum = u64::from(self.sink.transport.negotiated.block_sizes.minimum.max(1));
        let step = MAX_ZERO / minimum * minimum;
        let mut done = 0;
        while done < length {
            let piece = (length - done).min(step);
            self.queue_request(slot, proto::CMD_WRITE_ZEROES, offset + done, piece, 0..0);
            done += piece;
        }
    }

    pub(super) fn queue_request(
        &mut self,
        slot: usize,
        command: u16,
        offset: u64,
        length: u64,
        payload: Range<usize>,
    ) {
        let counted = if command == proto::CMD_WRITE {
            Counted::Written(length)
        } else {
            Counted::Zeroed(length)
        };
        self.slots[slot].waiting += 1;
        self.queue.push_back(SinkRequest {
            slot,
            cookie: None,
            header: Request {
                flags: 0,
                command,
                cookie: 0,
                offset,
                length: length as u32,
            }
            .encode(),
            header_sent: 0,
            payload,
            payload_sent: 0,
            in_pipe: 0,
            counted,
            from_source: false,
        });
    }

    /// A slot whose requests were all queued (or none were needed).
    pub(super) fn after_queueing(&mut self, slot: usize) {
        if self.slots[slot].waiting == 0 {
            self.settle(slot);
        }
    }

    /// A slot with nothing in flight: done, or deferred after an error.
    pub(super) fn settle(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        let Some(task) = slot.task else { return };
        match slot.error.take() {
            Some(error) => {
                tracing::debug!("copy lane hands a block back after: {error}");
                self.deferred.push(task);
            }
            None => self.shared.record_done(task),
        }
        self.release(index);
    }

    /// Frees a slot whose requests are all answered.
    pub(super) fn release(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        if slot.task.take().is_some() {
            slot.assembly = None;
            slot.error = None;
            slot.spliced = false;
            self.free.push(index);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Pages a socket may still read are parked instead of freed.
        if self.spliced && self.task.is_some() {
            quarantine(std::mem::take(&mut self.buf));
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
