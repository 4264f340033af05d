//! A small in-memory NBD server with fault injection, for tests and examples.
//!
//! It speaks fixed newstyle with GO/INFO (or only EXPORT_NAME), structured replies,
//! `base:allocation` and one dirty bitmap, and answers out of order on purpose: every
//! request runs in its own task (optionally delayed) and READ replies are split into
//! data and hole chunks sent back to front. [`Faults`] make it drop the connection when a
//! request reaches an offset, answer with error chunks, delay replies or send garbage.
//! It is not a production server: no TLS, no authentication, everything in memory.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::proto::*;
use crate::block::BlockSizes;

/// Behaviour of the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Export name.
    pub export: String,
    /// Accept `NBD_OPT_STRUCTURED_REPLY`.
    pub structured: bool,
    /// Accept `NBD_OPT_GO`/`INFO` (otherwise only `EXPORT_NAME`).
    pub go: bool,
    /// Advertise `CAN_MULTI_CONN`.
    pub multi_conn: bool,
    /// Advertise `READ_ONLY` and refuse writes.
    pub read_only: bool,
    /// Advertise these block sizes with `INFO_BLOCK_SIZE`.
    pub block_sizes: Option<BlockSizes>,
    /// Split READ replies into chunks of this many bytes (sent in reverse order).
    pub chunk_size: u32,
    /// Most descriptors per BLOCK_STATUS chunk (forces the client to loop).
    pub max_extents: usize,
    /// Name and dirty ranges of a dirty bitmap (`qemu:dirty-bitmap:NAME`).
    pub bitmap: Option<(String, Vec<(u64, u64)>)>,
    /// Advertise and accept `WRITE_ZEROES` (and `FAST_ZERO`).
    pub write_zeroes: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            export: String::new(),
            structured: true,
            go: true,
            multi_conn: true,
            read_only: false,
            block_sizes: None,
            chunk_size: 64 * 1024,
            max_extents: 16,
            bitmap: None,
            write_zeroes: true,
        }
    }
}

/// Faults to inject; each one-shot fault fires once and clears itself.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Drop the connection when a READ or WRITE reaches past this offset (one-shot).
    pub drop_at: Option<u64>,
    /// Answer requests covering this offset with this error number, this many times.
    pub error_at: Option<(u64, u32, u32)>,
    /// Delay every reply by up to this long (varied per request, so replies reorder).
    pub delay: Option<Duration>,
    /// Answer the request covering this offset with a reply of bad magic (one-shot).
    pub garbage_at: Option<u64>,
    /// Stop answering on the connection whose READ or WRITE reaches past this offset,
    /// keeping it open (one-shot): a hung server.
    pub stall_at: Option<u64>,
}

struct State {
    data: Mutex<Vec<u8>>,
    faults: Mutex<Faults>,
    config: ServerConfig,
    connections: AtomicU64,
    requests: AtomicU64,
}

/// A running test server on 127.0.0.1; stops when dropped.
pub struct TestServer {
    state: Arc<State>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Starts a server exporting `data`.
    pub async fn start(config: ServerConfig, data: Vec<u8>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            data: Mutex::new(data),
            faults: Mutex::new(Faults::default()),
            config,
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        });
        let accept_state = state.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((socket, _)) = listener.accept().await {
                accept_state.connections.fetch_add(1, Ordering::Relaxed);
                let _ = socket.set_nodelay(true);
                connections.spawn(serve(socket, accept_state.clone()));
            }
        });
        Ok(Self { state, addr, task })
    }

    /// The server's URI.
    pub fn uri(&self) -> String {
        format!("nbd://{}/{}", self.addr, self.state.config.export)
    }

    /// A copy of the exported bytes.
    pub fn data(&self) -> Vec<u8> {
        self.state.data.lock().expect("data lock").clone()
    }

    /// Replaces the faults to inject.
    pub fn set_faults(&self, faults: Faults) {
        *self.state.faults.lock().expect("faults lock") = faults;
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::Relaxed)
    }

    /// Transmission requests received so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }
}

async fn serve(socket: TcpStream, state: Arc<State>) {
    let (mut reader, mut writer) = socket.into_split();
    let Ok(Some(structured)) = negotiate(&mut reader, &mut writer, &state).await else {
        return;
    };
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(64);
    let writer_task = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let _ = transmission(&mut reader, &state, structured, tx).await;
    writer_task.abort();
}

async fn read_option(reader: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<(u32, Vec<u8>)> {
    let mut header = [0u8; 16];
    reader.read_exact(&mut header).await?;
    if be64(&header[0..8]) != IHAVEOPT {
        return Err(std::io::Error::other("bad option magic"));
    }
    let option = be32(&header[8..12]);
    let length = be32(&header[12..16]);
    if length > 65536 {
        return Err(std::io::Error::other("option too long"));
    }
    let mut data = vec![0u8; length as usize];
    reader.read_exact(&mut data).await?;
    Ok((option, data))
}

fn transmission_flags(config: &ServerConfig) -> u16 {
    let mut flags = TFLAG_HAS_FLAGS | TFLAG_SEND_FLUSH | TFLAG_SEND_TRIM;
    if config.write_zeroes {
        flags |= TFLAG_SEND_WRITE_ZEROES | TFLAG_SEND_FAST_ZERO;
    }
    if config.multi_conn {
        flags |= TFLAG_CAN_MULTI_CONN;
    }
    if config.read_only {
        flags |= TFLAG_READ_ONLY;
    }
    flags
}

fn parse_queries(data: &[u8]) -> Option<(String, Vec<String>)> {
    let name_len = be32(data.get(0..4)?) as usize;
    let export = String::from_utf8(data.get(4..4 + name_len)?.to_vec()).ok()?;
    let mut at = 4 + name_len;
    let count = be32(data.get(at..at + 4)?);
    at += 4;
    let mut queries = Vec::new();
    for _ in 0..count {
        let len = be32(data.get(at..at + 4)?) as usize;
        queries.push(String::from_utf8(data.get(at + 4..at + 4 + len)?.to_vec()).ok()?);
        at += 4 + len;
    }
    Some((export, queries))
}

fn contexts(config: &ServerConfig) -> Vec<(u32, String)> {
    let mut all = vec![(1, "base:allocation".to_owned())];
    if let Some((name, _)) = &config.bitmap {
        all.push((2, format!("qemu:dirty-bitmap:{name}")));
    }
    all
}

/// Returns whether structured replies were negotiated, or `None` if the client left.
async fn negotiate(
    reader: &mut tokio::net::tcp::OwnedReadHalf,
    writer: &mut tokio::net::tcp::OwnedWriteHalf,
    state: &State,
) -> std::io::Result<Option<(bool, Vec<u32>)>> {
    let config = &state.config;
    let mut greeting = NBD_MAGIC.to_be_bytes().to_vec();
    greeting.extend_from_slice(&IHAVEOPT.to_be_bytes());
    greeting.extend_from_slice(&(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES).to_be_bytes());
    writer.write_all(&greeting).await?;
    let client_flags = reader.read_u32().await?;
    let mut structured = false;
    let mut selected: Vec<u32> = Vec::new();
    loop {
        let (option, data) = read_option(reader).await?;
        match option {
            OPT_STRUCTURED_REPLY if config.structured => {
                structured = true;
                writer
                    .write_all(&encode_option_reply(option, REP_ACK, &[]))
                    .await?;
            }
            OPT_SET_META_CONTEXT | OPT_LIST_META_CONTEXT if structured => {
                let Some((_, queries)) = parse_queries(&data) else {
                    writer
                        .write_all(&encode_option_reply(option, REP_ERR_INVALID, &[]))
                        .await?;
                    continue;
                };
                let mut out = Vec::new();
                let mut chosen = Vec::new();
                for (id, name) in contexts(config) {
                    let wanted = queries.iter().any(|q| {
                        q == &name
                            || (option == OPT_LIST_META_CONTEXT && name.starts_with(q.as_str()))
                    });
                    if wanted {
                        let mut payload = id.to_be_bytes().to_vec();
                        payload.extend_from_slice(name.as_bytes());
                        out.extend(encode_option_reply(option, REP_META_CONTEXT, &payload));
                        chosen.push(id);
                    }
                }
                if option == OPT_SET_META_CONTEXT {
                    selected = chosen;
                }
                out.extend(encode_option_reply(option, REP_ACK, &[]));
                writer.write_all(&out).await?;
            }
            OPT_GO | OPT_INFO if config.go => {
                let name_len = data.get(0..4).map(be32).unwrap_or(u32::MAX) as usize;
                let name = data.get(4..4usize.saturating_add(name_len));
                if name != Some(config.export.as_bytes()) {
                    writer
                        .write_all(&encode_option_reply(
                            option,
                            REP_ERR_UNKNOWN,
                            b"no such export",
                        ))
                        .await?;
                    continue;
                }
                let size = state.data.lock().expect("data lock").len() as u64;
                let mut export = INFO_EXPORT.to_be_bytes().to_vec();
                export.extend_from_slice(&size.to_be_bytes());
                export.extend_from_slice(&transmission_flags(config).to_be_bytes());
                let mut out = encode_option_reply(option, REP_INFO, &export);
                if let Some(sizes) = config.block_sizes {
                    let mut info = INFO_BLOCK_SIZE.to_be_bytes().to_vec();
                    for v in [sizes.minimum, sizes.preferred, sizes.maximum] {
                        info.extend_from_slice(&v.to_be_bytes());
                    }
                    out.extend(encode_option_reply(option, REP_INFO, &info));
                }
                out.extend(encode_option_reply(option, REP_ACK, &[]));
                writer.write_all(&out).await?;
                if option == OPT_GO {
                    return Ok(Some((structured, selected)));
                }
            }
            OPT_EXPORT_NAME => {
                if data != config.export.as_bytes() {
                    return Ok(None);
                }
                let size = state.data.lock().expect("data lock").len() as u64;
                let mut out = size.to_be_bytes().to_vec();
                out.extend_from_slice(&transmission_flags(config).to_be_bytes());
                if client_flags & CLIENT_NO_ZEROES == 0 {
                    out.extend_from_slice(&[0u8; 124]);
                }
                writer.write_all(&out).await?;
                return Ok(Some((structured, selected)));
            }
            OPT_ABORT => {
                let _ = writer
                    .write_all(&encode_option_reply(option, REP_ACK, &[]))
                    .await;
                return Ok(None);
            }
            _ => {
                writer
                    .write_all(&encode_option_reply(option, REP_ERR_UNSUP, &[]))
                    .await?
            }
        }
    }
}

fn chunk(flags: u16, kind: u16, cookie: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = STRUCTURED_REPLY_MAGIC.to_be_bytes().to_vec();
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&cookie.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn simple(cookie: u64, errno: u32) -> Vec<u8> {
    let mut out = SIMPLE_REPLY_MAGIC.to_be_bytes().to_vec();
    out.extend_from_slice(&errno.to_be_bytes());
    out.extend_from_slice(&cookie.to_be_bytes());
    out
}

fn error_reply(structured: bool, cookie: u64, errno: u32) -> Vec<u8> {
    if structured {
        let mut payload = errno.to_be_bytes().to_vec();
        payload.extend_from_slice(&8u16.to_be_bytes());
        payload.extend_from_slice(b"injected");
        chunk(REPLY_FLAG_DONE, CHUNK_ERROR, cookie, &payload)
    } else {
        simple(cookie, errno)
    }
}

enum Fault {
    None,
    Drop,
    Stall,
    Error(u32),
    Garbage,
}

fn take_fault(state: &State, request: &Request) -> (Fault, Option<Duration>) {
    let mut faults = state.faults.lock().expect("faults lock");
    let start = request.offset;
    let end = start + u64::from(request.length);
    let data_op = matches!(request.command, CMD_READ | CMD_WRITE);
    if let Some(at) = faults.drop_at {
        if data_op && end > at {
            faults.drop_at = None;
            return (Fault::Drop, faults.delay);
        }
    }
    if let Some(at) = faults.stall_at {
        if data_op && end > at {
            faults.stall_at = None;
            return (Fault::Stall, faults.delay);
        }
    }
    if let Some(at) = faults.garbage_at {
        if (start..end).contains(&at) {
            faults.garbage_at = None;
            return (Fault::Garbage, faults.delay);
        }
    }
    if let Some((at, errno, count)) = faults.error_at {
        if (start..end).contains(&at) && count > 0 {
            faults.error_at = (count > 1).then_some((at, errno, count - 1));
            return (Fault::Error(errno), faults.delay);
        }
    }
    (Fault::None, faults.delay)
}

async fn transmission(
    reader: &mut tokio::net::tcp::OwnedReadHalf,
    state: &Arc<State>,
    (structured, selected): (bool, Vec<u32>),
    tx: mpsc::Sender<Vec<u8>>,
) -> std::io::Result<()> {
    loop {
        let mut header = [0u8; REQUEST_LEN];
        reader.read_exact(&mut header).await?;
        let request = Request::decode(&header).map_err(|e| std::io::Error::other(e.to_string()))?;
        state.requests.fetch_add(1, Ordering::Relaxed);
        let mut payload = Vec::new();
        if request.command == CMD_WRITE {
            if request.length > MAX_REQUEST_PAYLOAD {
                return Err(std::io::Error::other("write too large"));
            }
            payload = vec![0u8; request.length as usize];
            reader.read_exact(&mut payload).await?;
        }
        if request.command == CMD_DISC {
            return Ok(());
        }
        let (fault, delay) = take_fault(state, &request);
        let reply = match fault {
            Fault::Drop => return Ok(()),
            Fault::Stall => {
                // Read on (so the client's writes never block) but never answer.
                let mut sink = [0u8; 64 * 1024];
                while reader.read(&mut sink).await? > 0 {}
                return Ok(());
            }
            Fault::Garbage => vec![0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0],
            Fault::Error(errno) => error_reply(structured, request.cookie, errno),
            Fault::None => execute(state, &request, payload, structured, &selected),
        };
        let tx = tx.clone();
        let delay = delay.map(|d| d.mul_f64(((request.cookie * 7919) % 10) as f64 / 10.0));
        tokio::spawn(async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let _ = tx.send(reply).await;
        });
    }
}

fn execute(
    state: &State,
    request: &Request,
    payload: Vec<u8>,
    structured: bool,
    selected: &[u32],
) -> Vec<u8> {
    let config = &state.config;
    let cookie = request.cookie;
    let mut data = state.data.lock().expect("data lock");
    let start = request.offset as usize;
    let end = start.saturating_add(request.length as usize);
    let writes = matches!(request.command, CMD_WRITE | CMD_WRITE_ZEROES | CMD_TRIM);
    if end > data.len() {
        return error_reply(structured, cookie, 22);
    }
    if writes && config.read_only {
        return error_reply(structured, cookie, 1);
    }
    if request.command == CMD_WRITE_ZEROES && !config.write_zeroes {
        return error_reply(structured, cookie, 22);
    }
    match request.command {
        CMD_READ if structured => {
            let chunk_size = config.chunk_size.max(1) as usize;
            let pieces: Vec<(usize, usize)> = (start..end)
                .step_by(chunk_size)
                .map(|s| (s, (s + chunk_size).min(end)))
                .collect();
            let mut out = Vec::with_capacity(end - start + 64 * pieces.len());
            for (i, &(s, e)) in pieces.iter().enumerate().rev() {
                let flags = if i == 0 { REPLY_FLAG_DONE } else { 0 };
                let mut body = (s as u64).to_be_bytes().to_vec();
                if data[s..e].iter().all(|&b| b == 0) {
                    body.extend_from_slice(&((e - s) as u32).to_be_bytes());
                    out.extend(chunk(flags, CHUNK_OFFSET_HOLE, cookie, &body));
                } else {
                    body.extend_from_slice(&data[s..e]);
                    out.extend(chunk(flags, CHUNK_OFFSET_DATA, cookie, &body));
                }
            }
            if pieces.is_empty() {
                out.extend(chunk(REPLY_FLAG_DONE, CHUNK_NONE, cookie, &[]));
            }
            out
        }
        CMD_READ => {
            let mut out = simple(cookie, 0);
            out.extend_from_slice(&data[start..end]);
            out
        }
        CMD_WRITE => {
            data[start..end].copy_from_slice(&payload);
            done(structured, cookie)
        }
        CMD_WRITE_ZEROES | CMD_TRIM => {
            data[start..end].fill(0);
            done(structured, cookie)
        }
        CMD_FLUSH => done(structured, cookie),
        CMD_BLOCK_STATUS if structured && !selected.is_empty() => {
            let mut out = Vec::new();
            for (n, &id) in selected.iter().enumerate() {
                let descriptors = if id == 1 {
                    allocation(&data, start, end, config.max_extents)
                } else {
                    let ranges = config
                        .bitmap
                        .as_ref()
                        .map(|(_, r)| r.as_slice())
                        .unwrap_or(&[]);
                    dirty(
                        ranges,
                        start as u64,
                        end as u64,
                        data.len() as u64,
                        config.max_extents,
                    )
                };
                let mut body = id.to_be_bytes().to_vec();
                for (len, flags) in descriptors {
                    body.extend_from_slice(&len.to_be_bytes());
                    body.extend_from_slice(&flags.to_be_bytes());
                }
                let flags = if n + 1 == selected.len() {
                    REPLY_FLAG_DONE
                } else {
                    0
                };
                out.extend(chunk(flags, CHUNK_BLOCK_STATUS, cookie, &body));
            }
            out
        }
        _ => error_reply(structured, cookie, 22),
    }
}

fn done(structured: bool, cookie: u64) -> Vec<u8> {
    if structured {
        chunk(REPLY_FLAG_DONE, CHUNK_NONE, cookie, &[])
    } else {
        simple(cookie, 0)
    }
}

/// `base:allocation` from the data: 4 KiB blocks of zeroes are HOLE|ZERO.
fn allocation(data: &[u8], start: usize, end: usize, max: usize) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    let mut at = start;
    while at < end && out.len() <= max {
        let block_end = ((at / 4096 + 1) * 4096).min(data.len());
        let flags = if data[at..block_end].iter().all(|&b| b == 0) {
            STATE_HOLE | STATE_ZERO
        } else {
            0
        };
        let len = (block_end - at) as u32;
        match out.last_mut() {
            Some(last) if last.1 == flags => last.0 += len,
            _ => out.push((len, flags)),
        }
        at = block_end;
    }
    out.truncate(max.max(1));
    out
}

fn dirty(ranges: &[(u64, u64)], start: u64, end: u64, size: u64, max: usize) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    let mut at = start;
    while at < end && out.len() < max.max(1) {
        let inside = ranges.iter().find(|(s, l)| (*s..s + l).contains(&at));
        let (next, flags) = match inside {
            Some((s, l)) => ((s + l).min(size), STATE_DIRTY),
            None => {
                let next = ranges
                    .iter()
                    .map(|(s, _)| *s)
                    .filter(|s| *s > at)
                    .min()
                    .unwrap_or(size);
                (next.min(size), 0)
            }
        };
        let next = next.min(at + (1 << 30));
        out.push(((next - at) as u32, flags));
        at = next;
    }
    out
}
