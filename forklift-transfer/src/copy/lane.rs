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
//! cannot take, are handed back and copied the ordinary way afterwards. A fatal error ends
//! the lane and leaves its connections dead, for the copy to reconnect.

use std::collections::{HashMap, VecDeque};
use std::io::IoSlice;
use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::ReadBuf;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Shared, Task, lock};
use crate::error::{Error, Op, Result};
use crate::nbd::NbdClient;
use crate::nbd::connection::{READ_BUFFER, Transport, reply_decoder, server_error};
use crate::nbd::proto::{self, Request};
use crate::nbd::reply::{ReadAssembly, ReplyDecoder, ReplyEvent};
use crate::nbd::splice::{MIN_SPLICE, PayloadPipe, quarantine};

/// Polls in a row that made progress before a lane lets other tasks run.
const BUDGET: usize = 64;

/// How long a lane that stops (cancelled, or one side failed) waits for the answers to its
/// requests in flight before it gives its connections up.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// Why a lane's poll returned.
enum Wake {
    Finished,
    Failed,
    Cancelled,
    DrainTimedOut,
}

/// Largest WRITE_ZEROES length, as the client sends them.
const MAX_ZERO: u64 = 1 << 31;

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
    deadline: Instant,
    /// Set when a lane fails: the others finish what they started and stop.
    stop: AtomicBool,
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
    fn next(&self, started: bool) -> Next {
        if self.stop.load(Ordering::Relaxed) || (started && Instant::now() >= self.deadline) {
            return Next::Stop;
        }
        match lock(&self.tasks).pop_front() {
            Some(task) => Next::Task(task),
            None => Next::Empty,
        }
    }
}

enum Next {
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
    let mut source_lease = source.lease().await;
    let mut sink_lease = sink.lease().await;
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
        let lane = Lane::new(shared.clone(), src, dst, depth, can_zero);
        let (feed, cancel) = (feed.clone(), cancel.clone());
        running.spawn(lane.run(feed, cancel));
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
struct LaneEnd {
    source: (usize, Result<Transport>),
    sink: (usize, Result<Transport>),
    outcome: Result<()>,
    deferred: Vec<Task>,
}

/// One connection driven by a lane.
struct Side {
    index: usize,
    transport: Transport,
    decoder: ReplyDecoder,
    cookies: u64,
    /// Request bytes not yet written (READ headers).
    out: BytesMut,
    unflushed: bool,
}

impl Side {
    fn new((index, transport): (usize, Transport)) -> Self {
        Self {
            index,
            decoder: reply_decoder(&transport.negotiated),
            transport,
            cookies: 1,
            out: BytesMut::new(),
            unflushed: false,
        }
    }

    fn cookie(&mut self) -> u64 {
        self.cookies += 1;
        self.cookies
    }

    /// Reads more bytes into the decode buffer; `Ready(Ok(()))` when some arrived.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let buf = &mut self.transport.buffered;
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(READ_BUFFER);
        }
        let reader = Pin::new(&mut *self.transport.reader);
        match tokio_util::io::poll_read_buf(reader, cx, buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0)) => Poll::Ready(Err(eof())),
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(Error::from(e).into_fatal())),
        }
    }

    /// Copies payload bytes into `dest`: first what is buffered, then from the socket.
    fn poll_payload(&mut self, cx: &mut Context<'_>, dest: &mut [u8]) -> Poll<Result<usize>> {
        let buffered = &mut self.transport.buffered;
        if !buffered.is_empty() {
            let n = dest.len().min(buffered.len());
            dest[..n].copy_from_slice(&buffered[..n]);
            buffered.advance(n);
            return Poll::Ready(Ok(n));
        }
        let mut read = ReadBuf::new(dest);
        match Pin::new(&mut *self.transport.reader).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(Err(eof())),
            Poll::Ready(Ok(())) => Poll::Ready(Ok(read.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(Error::from(e).into_fatal())),
        }
    }

    /// Writes queued request bytes; `Ok(true)` if any left.
    fn poll_out(&mut self, cx: &mut Context<'_>) -> Result<bool> {
        let mut progress = false;
        while !self.out.is_empty() {
            match Pin::new(&mut *self.transport.writer).poll_write(cx, &self.out) {
                Poll::Ready(Ok(0)) => return Err(write_zero()),
                Poll::Ready(Ok(n)) => {
                    self.out.advance(n);
                    self.unflushed = true;
                    progress = true;
                }
                Poll::Ready(Err(e)) => return Err(Error::io(Op::Read, e).into_fatal()),
                Poll::Pending => break,
            }
        }
        self.poll_flush(cx)?;
        Ok(progress)
    }

    /// Flushes after writes (TLS keeps records until then; sockets ignore it).
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Result<()> {
        if self.unflushed {
            match Pin::new(&mut *self.transport.writer).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Err(Error::io(Op::Write, e).into_fatal()),
                Poll::Pending => {}
            }
        }
        Ok(())
    }
}

fn eof() -> Error {
    Error::disconnected("Server closed the connection")
}

fn write_zero() -> Error {
    Error::io(Op::Write, std::io::ErrorKind::WriteZero.into()).into_fatal()
}

fn unknown_cookie(cookie: u64) -> Error {
    Error::protocol(format!("Reply for unknown cookie {cookie}"))
}

/// One block in a lane.
struct Slot {
    task: Option<Task>,
    buf: Vec<u8>,
    assembly: Option<ReadAssembly>,
    /// Sink requests not answered yet.
    waiting: usize,
    error: Option<Error>,
    /// Pages of `buf` were spliced into the sink's socket and may still be referenced.
    spliced: bool,
}

/// Where the source's reply stream stands.
enum SourceRead {
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
enum Counted {
    Written(u64),
    Zeroed(u64),
}

/// A sink request waiting to be sent, or being sent.
struct SinkRequest {
    slot: usize,
    /// Assigned when sending starts.
    cookie: Option<u64>,
    header: [u8; proto::REQUEST_LEN],
    header_sent: usize,
    /// Range of the slot's buffer to send as payload (empty for WRITE_ZEROES).
    payload: Range<usize>,
    /// Payload bytes handed to the socket or the pipe.
    payload_sent: usize,
    /// Bytes in the pipe not yet spliced into the socket.
    in_pipe: usize,
    counted: Counted,
}

/// The answered-to-be state of a sink request.
struct Waiting {
    slot: usize,
    counted: Counted,
    error: Option<Error>,
}

struct Lane {
    shared: Arc<Shared>,
    source: Side,
    sink: Side,
    slots: Vec<Slot>,
    free: Vec<usize>,
    source_cookies: HashMap<u64, usize>,
    source_read: SourceRead,
    queue: VecDeque<SinkRequest>,
    sink_cookies: HashMap<u64, Waiting>,
    pipe: Option<PayloadPipe>,
    can_zero: bool,
    /// Whether the lane still takes tasks from the feed.
    taking: bool,
    /// Tasks taken this episode.
    taken: usize,
    /// The feed ran dry.
    empty: bool,
    cancelled: bool,
    source_error: Option<Error>,
    sink_error: Option<Error>,
    deferred: Vec<Task>,
}

impl Lane {
    fn new(
        shared: Arc<Shared>,
        source: (usize, Transport),
        sink: (usize, Transport),
        depth: usize,
        can_zero: bool,
    ) -> Self {
        let pipe = (sink.1.splice_writes && sink.1.writer.unix_socket().is_some())
            .then(|| PayloadPipe::new().ok())
            .flatten();
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
            taking: true,
            taken: 0,
            empty: false,
            cancelled: false,
            source_error: None,
            sink_error: None,
            deferred: Vec::new(),
        }
    }

    async fn run(mut self, feed: Arc<Feed>, cancel: CancellationToken) -> LaneEnd {
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
    fn end(self) -> LaneEnd {
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

    fn in_use(&self) -> bool {
        self.free.len() < self.slots.len()
    }

    fn poll(&mut self, cx: &mut Context<'_>, feed: &Feed) -> Poll<Wake> {
        for _ in 0..BUDGET {
            let mut progress = self.take_tasks(feed);
            if self.source_error.is_none() {
                match self.poll_source(cx) {
                    Ok(moved) => progress |= moved,
                    Err(error) => {
                        self.fail_source(error);
                        return Poll::Ready(Wake::Failed);
                    }
                }
            }
            if self.sink_error.is_none() {
                match self.poll_sink(cx) {
                    Ok(moved) => progress |= moved,
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
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn poll_source(&mut self, cx: &mut Context<'_>) -> Result<bool> {
        Ok(self.source.poll_out(cx)? | self.poll_source_replies(cx)?)
    }

    fn poll_sink(&mut self, cx: &mut Context<'_>) -> Result<bool> {
        Ok(self.poll_sink_requests(cx)? | self.poll_sink_replies(cx)?)
    }

    fn finished(&self) -> bool {
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
    fn fail_source(&mut self, error: Error) {
        tracing::debug!("copy lane source failed: {error}");
        self.source_error = Some(error);
        self.taking = false;
        for index in std::mem::take(&mut self.source_cookies).into_values() {
            self.release(index);
        }
    }

    /// The sink failed: nothing more is written, reads in flight are answered and dropped.
    /// Blocks with writes in flight stay taken, so spliced buffers are parked, not reused.
    fn fail_sink(&mut self, error: Error) {
        tracing::debug!("copy lane sink failed: {error}");
        self.sink_error = Some(error);
        self.taking = false;
        self.queue.clear();
        self.sink_cookies.clear();
    }

    fn take_tasks(&mut self, feed: &Feed) -> bool {
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

    fn start(&mut self, task: Task) {
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

    fn queue_zero(&mut self, slot: usize, offset: u64, length: u64) {
        let minimum = u64::from(self.sink.transport.negotiated.block_sizes.minimum.max(1));
        let step = MAX_ZERO / minimum * minimum;
        let mut done = 0;
        while done < length {
            let piece = (length - done).min(step);
            self.queue_request(slot, proto::CMD_WRITE_ZEROES, offset + done, piece, 0..0);
            done += piece;
        }
    }

    fn queue_request(
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
        });
    }

    /// A slot whose requests were all queued (or none were needed).
    fn after_queueing(&mut self, slot: usize) {
        if self.slots[slot].waiting == 0 {
            self.settle(slot);
        }
    }

    /// A slot with nothing in flight: done, or deferred after an error.
    fn settle(&mut self, index: usize) {
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
    fn release(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        if slot.task.take().is_some() {
            slot.assembly = None;
            slot.error = None;
            slot.spliced = false;
            self.free.push(index);
        }
    }

    fn poll_source_replies(&mut self, cx: &mut Context<'_>) -> Result<bool> {
        let mut progress = false;
        loop {
            match &mut self.source_read {
                SourceRead::Payload { slot, range, done } => {
                    let (index, done) = (*slot, *done);
                    let dest = &mut self.slots[index].buf[range.clone()];
                    let Poll::Ready(n) = self.source.poll_payload(cx, dest) else {
                        return Ok(progress);
                    };
                    let n = n?;
                    progress = true;
                    range.start += n;
                    if range.start >= range.end {
                        self.source_read = SourceRead::Header;
                        if done {
                            self.read_done(index)?;
                        }
                    }
                }
                SourceRead::Header => {
                    match self
                        .source
                        .decoder
                        .decode(&mut self.source.transport.buffered)?
                    {
                        Some(event) => {
                            progress = true;
                            self.source_event(event)?;
                        }
                        None if self.source_cookies.is_empty() => return Ok(progress),
                        None => match self.source.poll_fill(cx) {
                            Poll::Pending => return Ok(progress),
                            Poll::Ready(result) => {
                                result?;
                                progress = true;
                            }
                        },
                    }
                }
            }
        }
    }

    fn source_slot(&self, cookie: u64) -> Result<usize> {
        self.source_cookies
            .get(&cookie)
            .copied()
            .ok_or_else(|| unknown_cookie(cookie))
    }

    fn source_event(&mut self, event: ReplyEvent) -> Result<()> {
        let cookie = event.cookie();
        let index = self.source_slot(cookie)?;
        let done = event.is_done();
        let slot = &mut self.slots[index];
        let assembly = slot
            .assembly
            .as_mut()
            .ok_or_else(|| Error::protocol("Reply for a block not being read"))?;
        match event {
            ReplyEvent::Simple { errno: 0, .. } => {
                let length = slot.buf.len();
                let (offset, _) = slot.task.map(Task::range).unwrap_or_default();
                let range = assembly.accept(offset, length as u32)?;
                self.source_read = SourceRead::Payload {
                    slot: index,
                    range,
                    done: true,
                };
                return Ok(());
            }
            ReplyEvent::Simple { errno, .. } => {
                slot.error.get_or_insert(server_error(errno, ""));
            }
            ReplyEvent::Data { offset, length, .. } => {
                let range = assembly.accept(offset, length)?;
                self.source_read = SourceRead::Payload {
                    slot: index,
                    range,
                    done,
                };
                return Ok(());
            }
            ReplyEvent::Hole { offset, length, .. } => {
                let range = assembly.accept(offset, length)?;
                slot.buf[range].fill(0);
            }
            ReplyEvent::Error {
                errno,
                message,
                offset,
                ..
            } => {
                let mut error = server_error(errno, &message);
                if let Some(offset) = offset {
                    error = error.with_offset(offset);
                }
                slot.error.get_or_insert(error);
            }
            ReplyEvent::None { .. } => {}
            ReplyEvent::BlockStatus { .. } => {
                return Err(Error::protocol("Block status chunk in reply to a read"));
            }
        }
        if done {
            self.read_done(index)?;
        }
        Ok(())
    }

    /// The last chunk of a READ arrived: queue the writes.
    fn read_done(&mut self, index: usize) -> Result<()> {
        self.source_cookies.retain(|_, slot| *slot != index);
        let slot = &mut self.slots[index];
        let (offset, length) = slot.task.map(Task::range).unwrap_or_default();
        if slot.error.is_none()
            && !slot
                .assembly
                .as_ref()
                .is_some_and(ReadAssembly::is_complete)
        {
            return Err(Error::protocol(format!(
                "Read reply for {offset:#x}+{length:#x} left gaps"
            )));
        }
        if slot.error.is_some() {
            self.settle(index);
            return Ok(());
        }
        if self.cancelled || self.sink_error.is_some() {
            self.release(index);
            return Ok(());
        }
        let counters = &self.shared.counters;
        counters.read.fetch_add(length, Ordering::Relaxed);
        let runs = self.shared.runs_of(offset, &self.slots[index].buf);
        let target_zero = self.shared.target_zero.load(Ordering::Relaxed);
        for (start, end, is_zero) in runs {
            let at = offset + start as u64;
            let len = (end - start) as u64;
            if !is_zero {
                self.queue_request(index, proto::CMD_WRITE, at, len, start..end);
            } else if target_zero {
                self.shared
                    .counters
                    .skipped
                    .fetch_add(len, Ordering::Relaxed);
            } else if self.can_zero {
                self.queue_request(index, proto::CMD_WRITE_ZEROES, at, len, 0..0);
            } else {
                // The buffer holds the zeroes: write them as data.
                self.queue_request(index, proto::CMD_WRITE, at, len, start..end);
                if let Some(request) = self.queue.back_mut() {
                    request.counted = Counted::Zeroed(len);
                }
            }
        }
        self.after_queueing(index);
        Ok(())
    }

    fn poll_sink_requests(&mut self, cx: &mut Context<'_>) -> Result<bool> {
        let mut progress = false;
        while let Some(request) = self.queue.front_mut() {
            if request.cookie.is_none() {
                let cookie = self.sink.cookie();
                request.cookie = Some(cookie);
                request.header[8..16].copy_from_slice(&cookie.to_be_bytes());
                self.sink_cookies.insert(
                    cookie,
                    Waiting {
                        slot: request.slot,
                        counted: request.counted,
                        error: None,
                    },
                );
            }
            let header_sent = request.header_sent;
            let slot = &mut self.slots[request.slot];
            let payload = &slot.buf[request.payload.clone()];
            let splice = self.pipe.as_ref().filter(|_| payload.len() >= MIN_SPLICE);
            let step = match splice {
                Some(pipe) if header_sent == proto::REQUEST_LEN => {
                    let Some(socket) = self.sink.transport.writer.unix_socket() else {
                        return Err(Error::protocol("Splice without a Unix socket"));
                    };
                    if request.in_pipe == 0 && request.payload_sent < payload.len() {
                        let end = payload.len().min(request.payload_sent + pipe.capacity());
                        let queued = pipe.queue(&payload[request.payload_sent..end]);
                        if queued <= 0 {
                            return Err(
                                Error::io(Op::Write, std::io::Error::last_os_error()).into_fatal()
                            );
                        }
                        slot.spliced = true;
                        request.payload_sent += queued as usize;
                        request.in_pipe = queued as usize;
                    }
                    match pipe.poll_drain(socket, cx, request.in_pipe) {
                        Poll::Ready(Ok(n)) => {
                            request.in_pipe -= n;
                            Poll::Ready(Ok(()))
                        }
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                        Poll::Pending => Poll::Pending,
                    }
                }
                _ => {
                    let header = &request.header[header_sent..];
                    let rest = &payload[request.payload_sent..];
                    let writer = Pin::new(&mut *self.sink.transport.writer);
                    let written = if splice.is_some() {
                        writer.poll_write(cx, header)
                    } else {
                        writer.poll_write_vectored(cx, &[IoSlice::new(header), IoSlice::new(rest)])
                    };
                    match written {
                        Poll::Ready(Ok(0)) => return Err(write_zero()),
                        Poll::Ready(Ok(n)) => {
                            let from_header = n.min(header.len());
                            request.header_sent += from_header;
                            request.payload_sent += n - from_header;
                            self.sink.unflushed = true;
                            Poll::Ready(Ok(()))
                        }
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                        Poll::Pending => Poll::Pending,
                    }
                }
            };
            match step {
                Poll::Pending => break,
                Poll::Ready(Err(e)) => return Err(Error::io(Op::Write, e).into_fatal()),
                Poll::Ready(Ok(())) => progress = true,
            }
            if request.header_sent == proto::REQUEST_LEN
                && request.payload_sent == request.payload.len()
                && request.in_pipe == 0
            {
                self.queue.pop_front();
            }
        }
        self.sink.poll_flush(cx)?;
        Ok(progress)
    }

    fn poll_sink_replies(&mut self, cx: &mut Context<'_>) -> Result<bool> {
        let mut progress = false;
        loop {
            match self
                .sink
                .decoder
                .decode(&mut self.sink.transport.buffered)?
            {
                Some(event) => {
                    progress = true;
                    self.sink_event(event)?;
                }
                None if self.sink_cookies.is_empty() => return Ok(progress),
                None => match self.sink.poll_fill(cx) {
                    Poll::Pending => return Ok(progress),
                    Poll::Ready(result) => {
                        result?;
                        progress = true;
                    }
                },
            }
        }
    }

    fn sink_event(&mut self, event: ReplyEvent) -> Result<()> {
        let cookie = event.cookie();
        let done = event.is_done();
        let waiting = self
            .sink_cookies
            .get_mut(&cookie)
            .ok_or_else(|| unknown_cookie(cookie))?;
        match event {
            ReplyEvent::Simple { errno: 0, .. } | ReplyEvent::None { .. } => {}
            ReplyEvent::Simple { errno, .. } => {
                waiting.error.get_or_insert(server_error(errno, ""));
            }
            ReplyEvent::Error { errno, message, .. } => {
                waiting.error.get_or_insert(server_error(errno, &message));
            }
            _ => return Err(Error::protocol("Data in reply to a write")),
        }
        if !done {
            return Ok(());
        }
        let Some(waiting) = self.sink_cookies.remove(&cookie) else {
            return Err(unknown_cookie(cookie));
        };
        let slot = &mut self.slots[waiting.slot];
        match waiting.error {
            Some(error) => {
                slot.error.get_or_insert(error);
            }
            None => {
                let counters = &self.shared.counters;
                match waiting.counted {
                    Counted::Written(n) => counters.written.fetch_add(n, Ordering::Relaxed),
                    Counted::Zeroed(n) => counters.zeroed.fetch_add(n, Ordering::Relaxed),
                };
            }
        }
        slot.waiting -= 1;
        if slot.waiting == 0 {
            self.settle(waiting.slot);
        }
        Ok(())
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
