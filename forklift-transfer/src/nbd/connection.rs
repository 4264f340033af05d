//! One NBD connection in transmission phase: a writer task, a reader task and a map from
//! cookies to waiting requests.
//!
//! ```text
//!   request ──► [pending map: cookie → oneshot] ──► mpsc ──► writer task ──► socket
//!                         ▲                                                     │
//!                         └──────────── reader task ◄── ReplyDecoder ◄──────────┘
//! ```
//!
//! Requests are registered before they are sent, so replies may come back in any order and
//! interleave their chunks. READ data goes from the socket straight into the request's own
//! buffer (which travels with the pending entry). A fatal error (protocol violation, lost
//! connection) marks the connection dead and hands the same error to every waiting request
//! and to every later one. Dropping the connection aborts both tasks.
//!
//! An idle connection can also be [detached](Connection::detach): both tasks stop and hand
//! back the socket halves as a [`Transport`], which a copy lane then drives directly (see
//! `copy::lane`); [`Connection::resume`] starts the tasks again over it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use forklift_core::error::PeerText;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::handshake::Negotiated;
use super::idle::{IoTimeout, timed_out};
use super::proto::{self, Request};
use super::reply::{ReadAssembly, ReplyDecoder, ReplyEvent};
use super::splice::{MIN_SPLICE, PayloadPipe, SentPayload};
use crate::error::{Error, ErrorKind, Op, Result};

/// Reading half of a connection.
pub(crate) type BoxRead = Box<dyn NbdRead>;
/// Writing half of a connection.
pub(crate) type BoxWrite = Box<dyn NbdWrite>;

/// The writing half of a transport, which may offer zero-copy payloads.
pub(crate) trait NbdWrite: AsyncWrite + Send + Unpin {
    /// The Unix socket under this writer, when payloads may be spliced into it.
    fn unix_socket(&self) -> Option<&tokio::net::UnixStream> {
        None
    }

    /// The plain socket half under this writer, or the writer itself (TLS).
    fn into_plain(self: Box<Self>) -> Result<PlainWrite, BoxWrite>;
}

/// The reading half of a transport, which may let payloads be spliced out of it.
pub(crate) trait NbdRead: AsyncRead + Send + Unpin {
    /// The Unix socket under this reader, when payloads may be spliced out of it.
    fn unix_socket(&self) -> Option<&tokio::net::UnixStream> {
        None
    }

    /// The plain socket half under this reader, or the reader itself (TLS).
    fn into_plain(self: Box<Self>) -> Result<PlainRead, BoxRead>;
}

/// The reading half of a plain (not TLS) socket.
pub(crate) enum PlainRead {
    Unix(tokio::net::unix::OwnedReadHalf),
    Tcp(tokio::net::tcp::OwnedReadHalf),
}

/// The writing half of a plain (not TLS) socket.
pub(crate) enum PlainWrite {
    Unix(tokio::net::unix::OwnedWriteHalf),
    Tcp(tokio::net::tcp::OwnedWriteHalf),
}

impl NbdRead for tokio::net::unix::OwnedReadHalf {
    fn unix_socket(&self) -> Option<&tokio::net::UnixStream> {
        Some(self.as_ref())
    }

    fn into_plain(self: Box<Self>) -> Result<PlainRead, BoxRead> {
        Ok(PlainRead::Unix(*self))
    }
}

impl NbdRead for tokio::net::tcp::OwnedReadHalf {
    fn into_plain(self: Box<Self>) -> Result<PlainRead, BoxRead> {
        Ok(PlainRead::Tcp(*self))
    }
}

impl<T: AsyncRead + Send + 'static> NbdRead for tokio::io::ReadHalf<T> {
    fn into_plain(self: Box<Self>) -> Result<PlainRead, BoxRead> {
        Err(self)
    }
}

impl NbdWrite for tokio::net::unix::OwnedWriteHalf {
    fn unix_socket(&self) -> Option<&tokio::net::UnixStream> {
        Some(self.as_ref())
    }

    fn into_plain(self: Box<Self>) -> Result<PlainWrite, BoxWrite> {
        Ok(PlainWrite::Unix(*self))
    }
}

impl NbdWrite for tokio::net::tcp::OwnedWriteHalf {
    fn into_plain(self: Box<Self>) -> Result<PlainWrite, BoxWrite> {
        Ok(PlainWrite::Tcp(*self))
    }
}

impl<T: AsyncWrite + Send + 'static> NbdWrite for tokio::io::WriteHalf<T> {
    fn into_plain(self: Box<Self>) -> Result<PlainWrite, BoxWrite> {
        Err(self)
    }
}

/// Socket read buffer: small enough that most READ payload bytes bypass it and land in
/// the request buffer directly (one copy fewer), large enough for many small replies.
pub(crate) const READ_BUFFER: usize = 16 * 1024;

/// What a finished request hands back.
#[derive(Debug)]
pub(crate) enum Completion {
    Read(Vec<u8>),
    BlockStatus(Vec<(u32, u32)>),
    Done,
}

/// What a request expects in its reply.
pub(crate) enum Expect {
    Read(Vec<u8>),
    BlockStatus(u32),
    Nothing,
}

enum PendingKind {
    Read {
        assembly: ReadAssembly,
        buf: Vec<u8>,
    },
    BlockStatus {
        context_id: u32,
        descriptors: Option<Vec<(u32, u32)>>,
    },
    Plain,
}

struct Pending {
    op: Op,
    offset: u64,
    length: u64,
    kind: PendingKind,
    error: Option<Error>,
    reply: oneshot::Sender<Result<Completion>>,
}

struct State {
    pending: HashMap<u64, Pending>,
    dead: Option<Error>,
    closing: bool,
    /// When the server last sent a byte, or the first request after a quiet spell was
    /// registered: the idle timeout counts from here.
    last_progress: tokio::time::Instant,
}

impl Default for State {
    fn default() -> Self {
        Self {
            pending: HashMap::new(),
            dead: None,
            closing: false,
            last_progress: tokio::time::Instant::now(),
        }
    }
}

struct Shared {
    state: Mutex<State>,
    target: String,
    io_timeout: IoTimeout,
    /// Wakes the idle watch when the first request after a quiet spell is registered.
    activity: tokio::sync::Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the map inconsistent in a way that
        // matters more than losing the connection; keep going with the inner value.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Marks the connection dead and fails every waiting request with `error`.
    fn fail(&self, error: Error) {
        let error = error.into_fatal().with_target(self.target.clone());
        let mut state = self.lock();
        if state.dead.is_none() {
            state.dead = Some(error.clone());
        }
        for (_, pending) in state.pending.drain() {
            let error = error
                .clone()
                .or_context(pending.op, pending.offset, pending.length);
            let _ = pending.reply.send(Err(error));
        }
    }

    /// Notes that the server sent something.
    fn progressed(&self) {
        self.lock().last_progress = tokio::time::Instant::now();
    }

    /// Resolves with the timeout error once requests have waited the idle timeout without
    /// a byte from the server; never while nothing is in flight.
    async fn stalled(&self) -> Error {
        loop {
            let limit = self.io_timeout.get();
            let deadline = {
                let state = self.lock();
                limit
                    .filter(|_| !state.pending.is_empty())
                    .map(|limit| state.last_progress + limit)
            };
            match (deadline, limit) {
                (Some(deadline), Some(limit)) if tokio::time::Instant::now() >= deadline => {
                    return timed_out(limit);
                }
                // Looked at again at least every second: the limit may change meanwhile.
                (Some(deadline), _) => {
                    let recheck = tokio::time::Instant::now() + IDLE_RECHECK;
                    tokio::time::sleep_until(deadline.min(recheck)).await;
                }
                // Nothing waits (or no limit): until a request comes (it sets
                // `last_progress`, so its full allowance counts) or the limit may have changed.
                (None, _) => {
                    tokio::select! {
                        () = self.activity.notified() => {}
                        () = tokio::time::sleep(IDLE_RECHECK) => {}
                    }
                }
            }
        }
    }
}

/// How often a waiting connection looks whether its idle limit was changed.
const IDLE_RECHECK: Duration = Duration::from_secs(1);

struct Outgoing {
    header: [u8; proto::REQUEST_LEN],
    payload: Option<(Vec<u8>, oneshot::Sender<SentPayload>)>,
    disconnect: bool,
    /// Stop and hand the writing half back.
    detach: Option<oneshot::Sender<BoxWrite>>,
}

impl Outgoing {
    fn header(header: [u8; proto::REQUEST_LEN]) -> Self {
        Self {
            header,
            payload: None,
            disconnect: false,
            detach: None,
        }
    }
}

/// The socket of a negotiated connection without its tasks: what a copy lane drives.
pub(crate) struct Transport {
    pub(crate) reader: BoxRead,
    pub(crate) writer: BoxWrite,
    /// Bytes read from the socket and not yet decoded (none on an idle connection).
    pub(crate) buffered: BytesMut,
    pub(crate) negotiated: Negotiated,
    pub(crate) target: String,
    /// Requests in flight allowed when the connection's tasks run it.
    pub(crate) max_in_flight: usize,
    /// Whether WRITE payloads may be spliced into the socket.
    pub(crate) splice_writes: bool,
    /// The idle timeout shared with the client (a lane enforces it while it drives this).
    pub(crate) io_timeout: IoTimeout,
}

/// Whatever the reader task hands back when asked to stop.
type Stopped = Option<(BoxRead, BytesMut)>;

struct Tasks {
    reader: JoinHandle<Stopped>,
    writer: JoinHandle<()>,
    stop_reader: oneshot::Sender<()>,
}

/// A negotiated connection with its reader and writer tasks.
pub(crate) struct Connection {
    shared: Arc<Shared>,
    outgoing: mpsc::Sender<Outgoing>,
    permits: Semaphore,
    max_in_flight: usize,
    splice_writes: bool,
    cookies: AtomicU64,
    pub(crate) negotiated: Negotiated,
    tasks: Mutex<Option<Tasks>>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        let tasks = self
            .tasks
            .get_mut()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(tasks) = tasks.take() {
            tasks.reader.abort();
            tasks.writer.abort();
        }
    }
}

/// How long [`Connection::detach`] waits for replies to requests whose callers gave up.
const DETACH_WAIT: Duration = Duration::from_secs(5);

impl Connection {
    /// Starts the tasks of a connection whose handshake is complete.
    pub(crate) fn start(
        reader: BoxRead,
        writer: BoxWrite,
        negotiated: Negotiated,
        max_in_flight: usize,
        splice_writes: bool,
        target: String,
        io_timeout: IoTimeout,
    ) -> Self {
        Self::resume(Transport {
            reader,
            writer,
            buffered: BytesMut::with_capacity(READ_BUFFER),
            negotiated,
            target,
            max_in_flight,
            splice_writes,
            io_timeout,
        })
    }

    /// Starts the tasks again over a transport a copy lane handed back.
    pub(crate) fn resume(transport: Transport) -> Self {
        let Transport {
            reader,
            writer,
            buffered,
            negotiated,
            target,
            max_in_flight,
            splice_writes,
            io_timeout,
        } = transport;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            target,
            io_timeout,
            activity: tokio::sync::Notify::new(),
        });
        let max_in_flight = max_in_flight.max(1);
        let (tx, rx) = mpsc::channel(max_in_flight + 1);
        let decoder = reply_decoder(&negotiated);
        let (stop_reader, stop) = oneshot::channel();
        let reader_shared = shared.clone();
        let reader = tokio::spawn(async move {
            match read_loop(reader, buffered, &reader_shared, decoder, stop).await {
                Ok(Some(stopped)) => Some(stopped),
                Ok(None) => {
                    reader_shared.fail(Error::disconnected("Connection closed"));
                    None
                }
                Err(error) => {
                    tracing::debug!("NBD connection reader stopped: {error}");
                    reader_shared.fail(error);
                    None
                }
            }
        });
        let writer_shared = shared.clone();
        let writer = tokio::spawn(async move {
            if let Err(error) = write_loop(writer, rx, splice_writes, &writer_shared).await {
                tracing::debug!("NBD connection writer stopped: {error}");
                writer_shared.fail(error);
            }
        });
        Self {
            shared,
            outgoing: tx,
            permits: Semaphore::new(max_in_flight),
            max_in_flight,
            splice_writes,
            cookies: AtomicU64::new(1),
            negotiated,
            tasks: Mutex::new(Some(Tasks {
                reader,
                writer,
                stop_reader,
            })),
        }
    }

    /// A connection that failed with `error` and has no tasks: it fails every request
    /// until the client replaces it.
    pub(crate) fn failed(negotiated: Negotiated, error: Error, target: String) -> Self {
        let (tx, _) = mpsc::channel(1);
        let shared = Shared {
            state: Mutex::new(State::default()),
            target,
            io_timeout: IoTimeout::default(),
            activity: tokio::sync::Notify::new(),
        };
        shared.fail(error);
        Self {
            shared: Arc::new(shared),
            outgoing: tx,
            permits: Semaphore::new(1),
            max_in_flight: 1,
            splice_writes: false,
            cookies: AtomicU64::new(1),
            negotiated,
            tasks: Mutex::new(None),
        }
    }

    /// Stops both tasks of an idle connection and hands its socket back. The connection is
    /// dead afterwards. Waits for the requests in flight, and for replies to requests whose
    /// callers gave up (a lane must not receive them), at most [`DETACH_WAIT`].
    pub(crate) async fn detach(&self) -> Result<Transport> {
        let _all = self
            .permits
            .acquire_many(self.max_in_flight as u32)
            .await
            .map_err(|_| Error::disconnected("Connection closed"))?;
        let waited = std::time::Instant::now();
        loop {
            {
                let state = self.shared.lock();
                if let Some(error) = &state.dead {
                    return Err(error.clone());
                }
                if state.pending.is_empty() {
                    break;
                }
            }
            if waited.elapsed() > DETACH_WAIT {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    "Replies to abandoned requests did not arrive",
                ));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let tasks = self
            .tasks
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take()
            .ok_or_else(|| Error::disconnected("Connection already handed over"))?;
        self.shared.lock().dead = Some(Error::disconnected("Connection handed to a copy lane"));
        let (give_back, writer) = oneshot::channel();
        let mut detach = Outgoing::header([0; proto::REQUEST_LEN]);
        detach.detach = Some(give_back);
        let writer = match self.outgoing.send(detach).await {
            Ok(()) => writer.await.ok(),
            Err(_) => None,
        };
        let _ = tasks.stop_reader.send(());
        let reader = tasks.reader.await.ok().flatten();
        tasks.writer.abort();
        match (reader, writer) {
            (Some((reader, buffered)), Some(writer)) => Ok(Transport {
                reader,
                writer,
                buffered,
                negotiated: self.negotiated.clone(),
                target: self.shared.target.clone(),
                max_in_flight: self.max_in_flight,
                splice_writes: self.splice_writes,
                io_timeout: self.shared.io_timeout.clone(),
            }),
            _ => Err(Error::disconnected("Connection closed while handed over")),
        }
    }

    /// Whether a fatal error has killed the connection.
    pub(crate) fn dead(&self) -> Option<Error> {
        self.shared.lock().dead.clone()
    }

    /// Sends one request and waits for its complete reply. A WRITE's payload is handed back
    /// once it has been written to the socket.
    pub(crate) async fn submit(
        &self,
        op: Op,
        request: Request,
        expect: Expect,
        payload: Option<Vec<u8>>,
    ) -> Result<(Completion, Option<Vec<u8>>)> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::disconnected("Connection closed"))?;
        let cookie = self.cookies.fetch_add(1, Ordering::Relaxed);
        let request = Request { cookie, ..request };
        let length = u64::from(request.length);
        let kind = match expect {
            Expect::Read(buf) => PendingKind::Read {
                assembly: ReadAssembly::new(request.offset, request.length),
                buf,
            },
            Expect::BlockStatus(context_id) => PendingKind::BlockStatus {
                context_id,
                descriptors: None,
            },
            Expect::Nothing => PendingKind::Plain,
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        {
            let mut state = self.shared.lock();
            if let Some(error) = &state.dead {
                return Err(error.clone().or_context(op, request.offset, length));
            }
            if state.pending.is_empty() {
                // The idle clock starts with the first request after a quiet spell.
                state.last_progress = tokio::time::Instant::now();
                self.shared.activity.notify_one();
            }
            state.pending.insert(
                cookie,
                Pending {
                    op,
                    offset: request.offset,
                    length,
                    kind,
                    error: None,
                    reply: reply_tx,
                },
            );
        }
        let (payload, give_back) = match payload {
            Some(buf) => {
                let (tx, rx) = oneshot::channel();
                (Some((buf, tx)), Some(rx))
            }
            None => (None, None),
        };
        let mut outgoing = Outgoing::header(request.encode());
        outgoing.payload = payload;
        let sent = self.outgoing.send(outgoing).await;
        if sent.is_err() {
            self.shared.lock().pending.remove(&cookie);
            return Err(self.dead_error(op, request.offset, length));
        }
        let completion = match reply_rx.await {
            Ok(result) => result?,
            Err(_) => return Err(self.dead_error(op, request.offset, length)),
        };
        // The reply came, so the server has read the whole payload: its memory is ours again.
        let returned = match give_back {
            Some(rx) => rx.await.ok().map(SentPayload::release),
            None => None,
        };
        Ok((completion, returned))
    }

    fn dead_error(&self, op: Op, offset: u64, length: u64) -> Error {
        self.dead()
            .unwrap_or_else(|| Error::disconnected("Connection closed"))
            .or_context(op, offset, length)
    }

    /// Sends `NBD_CMD_DISC` once every request in flight has been answered.
    pub(crate) async fn disconnect(&self) {
        // Taking every permit waits for the requests in flight.
        let _all = self.permits.acquire_many(self.max_in_flight as u32).await;
        self.shared.lock().closing = true;
        let request = Request {
            flags: 0,
            command: proto::CMD_DISC,
            cookie: 0,
            offset: 0,
            length: 0,
        };
        let mut outgoing = Outgoing::header(request.encode());
        outgoing.disconnect = true;
        let _ = self.outgoing.send(outgoing).await;
    }
}

async fn write_loop(
    mut writer: BoxWrite,
    mut rx: mpsc::Receiver<Outgoing>,
    splice_writes: bool,
    shared: &Shared,
) -> Result<()> {
    // Request headers queue up here and leave together with the next payload (one
    // vectored write) or when the queue runs dry.
    let mut headers: Vec<u8> = Vec::with_capacity(64 * proto::REQUEST_LEN);
    let pipe = writer
        .unix_socket()
        .filter(|_| splice_writes)
        .and_then(|_| PayloadPipe::new().ok());
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(message) = next {
            if let Some(give_back) = message.detach {
                // Only sent to an idle connection: nothing is queued behind it.
                writer.flush().await.map_err(|e| Error::io(Op::Write, e))?;
                let _ = give_back.send(writer);
                return Ok(());
            }
            headers.extend_from_slice(&message.header);
            if let Some((payload, give_back)) = message.payload {
                let sent = match (&pipe, writer.unix_socket()) {
                    (Some(pipe), Some(_)) if payload.len() >= MIN_SPLICE => {
                        // Wrapped before the first page leaves: however this ends (error,
                        // abort), the memory is not freed while the socket may read it.
                        let payload = SentPayload::spliced(payload);
                        writer
                            .write_all(&headers)
                            .await
                            .map_err(|e| Error::io(Op::Write, e))?;
                        if let Some(socket) = writer.unix_socket() {
                            pipe.send(socket, payload.bytes())
                                .await
                                .map_err(|e| Error::io(Op::Write, e))?;
                        }
                        payload
                    }
                    _ => {
                        write_all_vectored(&mut writer, &headers, &payload)
                            .await
                            .map_err(|e| Error::io(Op::Write, e))?;
                        SentPayload::copied(payload)
                    }
                };
                headers.clear();
                // A server still taking a large payload is making progress too.
                shared.progressed();
                // If the request is gone (cancelled, failed), the payload comes back and is
                // dropped here: parked when spliced.
                let _ = give_back.send(sent);
            }
            if message.disconnect {
                writer
                    .write_all(&headers)
                    .await
                    .map_err(|e| Error::io(Op::Disconnect, e))?;
                let _ = writer.flush().await;
                let _ = writer.shutdown().await;
                return Ok(());
            }
            next = rx.try_recv().ok();
        }
        if !headers.is_empty() {
            writer
                .write_all(&headers)
                .await
                .map_err(|e| Error::io(Op::Write, e))?;
            headers.clear();
        }
        writer.flush().await.map_err(|e| Error::io(Op::Write, e))?;
    }
    Ok(())
}

/// Writes `first` then `second` with as few (vectored) writes as the socket allows.
async fn write_all_vectored(
    writer: &mut BoxWrite,
    first: &[u8],
    second: &[u8],
) -> std::io::Result<()> {
    let (mut a, mut b) = (first, second);
    while !a.is_empty() || !b.is_empty() {
        let slices = [std::io::IoSlice::new(a), std::io::IoSlice::new(b)];
        let n = writer.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        let from_a = n.min(a.len());
        a = &a[from_a..];
        b = &b[n - from_a..];
    }
    Ok(())
}

/// The decoder for replies on a connection that negotiated `negotiated`.
pub(crate) fn reply_decoder(negotiated: &Negotiated) -> ReplyDecoder {
    let max_data = negotiated
        .block_sizes
        .maximum
        .max(proto::MAX_REQUEST_PAYLOAD);
    ReplyDecoder::new(negotiated.structured, max_data)
}

/// Reads replies until the connection ends (`Ok(None)` after a polite disconnect) or `stop`
/// fires, which hands back the reading half and what was read but not decoded.
async fn read_loop(
    mut reader: BoxRead,
    mut buf: BytesMut,
    shared: &Shared,
    decoder: ReplyDecoder,
    mut stop: oneshot::Receiver<()>,
) -> Result<Stopped> {
    loop {
        let Some(event) = decoder.decode(&mut buf)? else {
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(READ_BUFFER);
            }
            // `read_buf` is cancel safe: when `stop` wins, nothing was read.
            let n = tokio::select! {
                biased;
                _ = &mut stop => return Ok(Some((reader, buf))),
                n = reader.read_buf(&mut buf) => n.map_err(Error::from)?,
                error = shared.stalled() => return Err(error),
            };
            if n > 0 {
                shared.progressed();
            }
            if n == 0 {
                let state = shared.lock();
                if state.closing && state.pending.is_empty() {
                    return Ok(None);
                }
                return Err(Error::disconnected("Server closed the connection"));
            }
            continue;
        };
        handle(event, &mut reader, &mut buf, shared).await?;
    }
}

/// Copies `dest.len()` payload bytes into `dest`: first what is buffered, then straight
/// from the socket, under the idle timeout.
async fn fill(
    reader: &mut BoxRead,
    buf: &mut BytesMut,
    dest: &mut [u8],
    shared: &Shared,
) -> Result<()> {
    let mut filled = dest.len().min(buf.len());
    dest[..filled].copy_from_slice(&buf[..filled]);
    buf.advance(filled);
    while filled < dest.len() {
        let n = tokio::select! {
            n = reader.read(&mut dest[filled..]) => n.map_err(Error::from)?,
            error = shared.stalled() => return Err(error),
        };
        if n == 0 {
            return Err(Error::from(std::io::Error::from(
                std::io::ErrorKind::UnexpectedEof,
            )));
        }
        shared.progressed();
        filled += n;
    }
    Ok(())
}

fn unknown_cookie(cookie: u64) -> Error {
    Error::protocol(format!("Reply for unknown cookie {cookie}"))
}

async fn handle(
    event: ReplyEvent,
    reader: &mut BoxRead,
    buf: &mut BytesMut,
    shared: &Shared,
) -> Result<()> {
    let cookie = event.cookie();
    let done = event.is_done();
    match event {
        ReplyEvent::Simple { errno, .. } => {
            let mut pending = shared
                .lock()
                .pending
                .remove(&cookie)
                .ok_or_else(|| unknown_cookie(cookie))?;
            if errno != 0 {
                pending.error = Some(server_error(errno, ""));
            } else if let PendingKind::Read { buf: data, .. } = &mut pending.kind {
                fill(reader, buf, data, shared).await?;
                let PendingKind::Read { buf: data, .. } = pending.kind else {
                    unreachable!("matched above")
                };
                let _ = pending.reply.send(Ok(Completion::Read(data)));
                return Ok(());
            } else if matches!(pending.kind, PendingKind::BlockStatus { .. }) {
                return Err(Error::protocol("Simple reply to BLOCK_STATUS"));
            }
            complete(pending)
        }
        ReplyEvent::Data { offset, length, .. } => {
            let (range, mut data) = {
                let mut state = shared.lock();
                let pending = state
                    .pending
                    .get_mut(&cookie)
                    .ok_or_else(|| unknown_cookie(cookie))?;
                match &mut pending.kind {
                    PendingKind::Read { assembly, buf } => {
                        (assembly.accept(offset, length)?, std::mem::take(buf))
                    }
                    _ => return Err(Error::protocol("Data chunk in reply to a non-read")),
                }
            };
            fill(reader, buf, &mut data[range], shared).await?;
            let mut state = shared.lock();
            let pending = state
                .pending
                .get_mut(&cookie)
                .ok_or_else(|| unknown_cookie(cookie))?;
            if let PendingKind::Read { buf, .. } = &mut pending.kind {
                *buf = data;
            }
            if done {
                let pending = state
                    .pending
                    .remove(&cookie)
                    .ok_or_else(|| unknown_cookie(cookie))?;
                drop(state);
                complete(pending)?;
            }
            Ok(())
        }
        other => {
            let mut state = shared.lock();
            let pending = state
                .pending
                .get_mut(&cookie)
                .ok_or_else(|| unknown_cookie(cookie))?;
            match other {
                ReplyEvent::Hole { offset, length, .. } => match &mut pending.kind {
                    PendingKind::Read { assembly, buf } => {
                        let range = assembly.accept(offset, length)?;
                        buf[range].fill(0);
                    }
                    _ => return Err(Error::protocol("Hole chunk in reply to a non-read")),
                },
                ReplyEvent::BlockStatus {
                    context_id,
                    descriptors,
                    ..
                } => match &mut pending.kind {
                    PendingKind::BlockStatus {
                        context_id: wanted,
                        descriptors: slot,
                    } => {
                        if context_id == *wanted {
                            if slot.is_some() {
                                return Err(Error::protocol(
                                    "Two block status chunks for one context",
                                ));
                            }
                            *slot = Some(descriptors);
                        }
                    }
                    _ => {
                        return Err(Error::protocol(
                            "Block status chunk in reply to another command",
                        ));
                    }
                },
                ReplyEvent::Error {
                    errno,
                    message,
                    offset,
                    ..
                } => {
                    if pending.error.is_none() {
                        let mut error = server_error(errno, &message);
                        if let Some(offset) = offset {
                            error = error.with_offset(offset);
                        }
                        pending.error = Some(error);
                    }
                }
                ReplyEvent::None { .. } => {}
                ReplyEvent::Simple { .. } | ReplyEvent::Data { .. } => {
                    unreachable!("handled above")
                }
            }
            if done {
                let pending = state
                    .pending
                    .remove(&cookie)
                    .ok_or_else(|| unknown_cookie(cookie))?;
                drop(state);
                complete(pending)?;
            }
            Ok(())
        }
    }
}

/// The error for a failed request; the server's `message` is shown escaped ([`PeerText`]).
pub(crate) fn server_error(errno: u32, message: &str) -> Error {
    let name = proto::errno_name(errno);
    if message.is_empty() {
        Error::server(errno, format!("Server returned {name} ({errno})"))
    } else {
        Error::server(
            errno,
            format!("Server returned {name} ({errno}): {}", PeerText(message)),
        )
    }
}

/// Finishes a request whose last chunk arrived. A reply that claims success but left parts
/// of a read or the block status missing is a fatal protocol violation.
fn complete(pending: Pending) -> Result<()> {
    let Pending {
        op,
        offset,
        length,
        kind,
        error,
        reply,
    } = pending;
    if let Some(error) = error {
        let _ = reply.send(Err(error.or_context(op, offset, length)));
        return Ok(());
    }
    let completion = match kind {
        PendingKind::Read { assembly, buf } => {
            if !assembly.is_complete() {
                return Err(Error::protocol(format!(
                    "Read reply for {offset:#x}+{length:#x} left gaps"
                )));
            }
            Completion::Read(buf)
        }
        PendingKind::BlockStatus { descriptors, .. } => match descriptors {
            Some(descriptors) => Completion::BlockStatus(descriptors),
            None => {
                return Err(Error::protocol(
                    "Block status reply without the requested context",
                ));
            }
        },
        PendingKind::Plain => Completion::Done,
    };
    let _ = reply.send(Ok(completion));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_error_messages_are_escaped() {
        let error = server_error(5, "bad\x1b]0;pwned\x07");
        assert_eq!(
            error.to_string(),
            "Server returned EIO (5): bad\\x1b]0;pwned\\x07"
        );
        assert_eq!(server_error(5, "").to_string(), "Server returned EIO (5)");
    }
}
