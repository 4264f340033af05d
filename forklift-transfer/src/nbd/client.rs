//! The NBD client: one or more pipelined connections to one export.
//!
//! Several connections are opened only when the server advertises `CAN_MULTI_CONN`; then
//! requests are spread round-robin and a FLUSH waits until every write issued before it
//! has been acknowledged on every connection (a write gate: writes share it, FLUSH takes
//! it exclusively), as the spec requires.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::RwLock;

use super::connection::{BoxRead, BoxWrite, Completion, Connection, Expect};
use super::handshake::{self, Negotiated, Wanted};
use super::idle::IoTimeout;
use super::proto::{self, Request};
use super::reply::extents_from_status;
use super::tls::{self, TlsSettings};
use super::uri::{Endpoint, NbdUri};
use crate::block::{
    BlockSink, BlockSizes, BlockSource, Extent, MetaContext, ZeroFlags, check_range,
};
use crate::error::{Error, ErrorKind, Op, Result};

/// How to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Connections to open when the server allows multi-conn. Default:
    /// [`default_connections`].
    pub connections: usize,
    /// Requests in flight per connection (nbdcopy's default is 64).
    pub max_in_flight: usize,
    /// Metadata contexts to negotiate for [`BlockSource::extents`].
    pub contexts: Vec<MetaContext>,
    /// Longest time connecting and negotiating one connection may take.
    pub timeout: Duration,
    /// Over Unix sockets, hand WRITE payloads of 64 KiB or more to the kernel by reference
    /// (`vmsplice` + `splice`) instead of copying them: about a fifth less CPU for the
    /// copier at 1 MiB requests (`benches/copy-compare.sh`). On by default.
    pub splice_writes: bool,
}

/// nbdcopy's rule: 4 connections, but no more than the CPUs available. On the 2-CPU
/// loopback benchmark 2 connections cost the servers 10–20% less CPU than 4.
pub fn default_connections() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(4)
        .clamp(1, 4)
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            connections: default_connections(),
            max_in_flight: 64,
            contexts: vec![MetaContext::BaseAllocation],
            timeout: NEGOTIATION_TIMEOUT,
            splice_writes: true,
        }
    }
}

/// Default time connecting and negotiating one connection may take
/// ([`ConnectOptions::timeout`]): a server that dribbles out option replies is cut off here.
pub const NEGOTIATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest wait for each extra multi-conn connection: a server that limits clients may
/// leave them in its accept queue, and the copy goes on with the connections it has.
const EXTRA_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3);

/// Largest TRIM / WRITE_ZEROES / BLOCK_STATUS length sent in one request.
const MAX_EFFECT_LENGTH: u64 = 1 << 31;

/// A connected NBD export. Implements [`BlockSource`] and [`BlockSink`].
///
/// Connections that die (server restart, network loss) stay dead until
/// [`reopen_dead_connections`](Self::reopen_dead_connections) replaces them; the copy
/// pipeline does that through [`BlockSource::reconnect`] / [`BlockSink::reconnect`].
pub struct NbdClient {
    uri: NbdUri,
    options: ConnectOptions,
    /// What the first connection negotiated; later connections must agree on the size.
    negotiated: Negotiated,
    pub(super) slots: Vec<std::sync::RwLock<Arc<Connection>>>,
    next: AtomicUsize,
    write_gate: RwLock<()>,
    /// Every request holds it shared; [`lease`](super::lease) holds it exclusively while
    /// copy lanes drive the connections.
    pub(super) lease_gate: RwLock<()>,
    reopening: tokio::sync::Mutex<()>,
    /// Shared with every connection, also those opened later.
    io_timeout: IoTimeout,
}

impl std::fmt::Debug for NbdClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NbdClient")
            .field("uri", &self.uri.to_string())
            .field("connections", &self.slots.len())
            .finish()
    }
}

impl NbdClient {
    /// Connects to `uri`, negotiating as `options` asks.
    pub async fn connect(uri: &NbdUri, options: &ConnectOptions) -> Result<Self> {
        let io_timeout = IoTimeout::default();
        let first = open_timed(uri, options, &io_timeout).await?;
        let mut connections = vec![first];
        let negotiated = connections[0].negotiated.clone();
        if options.connections > 1 && negotiated.flags & proto::TFLAG_CAN_MULTI_CONN != 0 {
            // Extra connections are a bonus: a server that limits clients (qemu-nbd -e)
            // may still advertise multi-conn and leave extra clients waiting in its accept
            // queue, so keep whatever opens within a few seconds.
            let extra = ConnectOptions {
                timeout: options.timeout.min(EXTRA_CONNECTION_TIMEOUT),
                ..options.clone()
            };
            let more = futures::future::join_all(
                (1..options.connections).map(|_| open_timed(uri, &extra, &io_timeout)),
            )
            .await;
            for connection in more {
                match connection {
                    Ok(connection) if connection.negotiated.size == negotiated.size => {
                        connections.push(connection);
                    }
                    Ok(_) => {
                        return Err(Error::protocol("Connections disagree on the export size")
                            .with_target(uri.to_string()));
                    }
                    Err(error) => tracing::debug!("extra NBD connection to {uri} failed: {error}"),
                }
            }
        }
        tracing::debug!(
            uri = %uri,
            size = negotiated.size,
            connections = connections.len(),
            structured = negotiated.structured,
            "connected to NBD export"
        );
        Ok(Self {
            uri: uri.clone(),
            options: options.clone(),
            negotiated,
            slots: connections
                .into_iter()
                .map(|c| std::sync::RwLock::new(Arc::new(c)))
                .collect(),
            next: AtomicUsize::new(0),
            write_gate: RwLock::new(()),
            lease_gate: RwLock::new(()),
            reopening: tokio::sync::Mutex::new(()),
            io_timeout,
        })
    }

    /// Sets how long requests may wait without a byte from the server before their
    /// connection counts as lost (a fatal [`ErrorKind::Timeout`]; zero: forever). Applies to
    /// every connection of this client at once, also to those reopened later. Default:
    /// [`DEFAULT_IO_TIMEOUT`](super::DEFAULT_IO_TIMEOUT).
    pub fn set_io_timeout(&self, timeout: Duration) {
        self.io_timeout.set(timeout);
    }

    /// Replaces every dead connection with a new one negotiated like the first; returns how
    /// many were replaced. Fails when the server cannot be reached or now serves an export
    /// of another size.
    pub async fn reopen_dead_connections(&self) -> Result<usize> {
        let _one_at_a_time = self.reopening.lock().await;
        let _lease = self.lease_gate.read().await;
        let mut replaced = 0;
        for slot in &self.slots {
            if read_slot(slot).dead().is_none() {
                continue;
            }
            let fresh = open_timed(&self.uri, &self.options, &self.io_timeout).await?;
            if fresh.negotiated.size != self.negotiated.size {
                return Err(Error::protocol(format!(
                    "Export size changed from {} to {} bytes across a reconnect",
                    self.negotiated.size, fresh.negotiated.size
                ))
                .with_target(self.uri.to_string())
                .into_fatal());
            }
            *slot.write().unwrap_or_else(|poison| poison.into_inner()) = Arc::new(fresh);
            replaced += 1;
        }
        if replaced > 0 {
            tracing::info!(uri = %self.uri, replaced, "reopened NBD connections");
        }
        Ok(replaced)
    }

    /// Parses `uri` and connects with `options`.
    pub async fn connect_uri(uri: &str, options: &ConnectOptions) -> Result<Self> {
        Self::connect(&NbdUri::parse(uri)?, options).await
    }

    /// Lists the metadata contexts matching `queries` (e.g. `["qemu:dirty-bitmap:"]`).
    pub async fn list_meta_contexts(uri: &NbdUri, queries: &[String]) -> Result<Vec<String>> {
        let listing = async {
            let (mut stream, _flags) = dial(uri).await?;
            let names = handshake::list_meta_contexts(&mut stream, &uri.export, queries).await;
            handshake::abort(&mut stream).await;
            names
        };
        tokio::time::timeout(ConnectOptions::default().timeout, listing)
            .await
            .unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Timeout,
                    "Listing metadata contexts timed out",
                ))
            })
            .map_err(|e| e.with_target(uri.to_string()))
    }

    fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    fn has(&self, flag: u16) -> bool {
        self.negotiated().flags & flag != 0
    }

    /// The URI this client is connected to.
    pub fn uri(&self) -> &NbdUri {
        &self.uri
    }

    /// Number of open connections.
    pub fn connection_count(&self) -> usize {
        self.slots.len()
    }

    /// Whether the export is read-only.
    pub fn is_read_only(&self) -> bool {
        self.has(proto::TFLAG_READ_ONLY)
    }

    /// Whether the server allows several connections to share the export.
    pub fn can_multi_conn(&self) -> bool {
        self.has(proto::TFLAG_CAN_MULTI_CONN)
    }

    /// Whether the server supports `FAST_ZERO`.
    pub fn can_fast_zero(&self) -> bool {
        self.has(proto::TFLAG_SEND_FAST_ZERO) && self.has(proto::TFLAG_SEND_WRITE_ZEROES)
    }

    /// Whether structured replies were negotiated.
    pub fn is_structured(&self) -> bool {
        self.negotiated().structured
    }

    /// The metadata contexts the server selected.
    pub fn contexts(&self) -> Vec<MetaContext> {
        self.negotiated()
            .contexts
            .iter()
            .map(|(_, c)| c.clone())
            .collect()
    }

    fn pick(&self) -> Arc<Connection> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        // Skip dead connections while a live one remains; requests on a dead one fail fast.
        (0..n)
            .map(|i| read_slot(&self.slots[(start + i) % n]))
            .find(|c| c.dead().is_none())
            .unwrap_or_else(|| read_slot(&self.slots[start % n]))
    }

    fn check(&self, op: Op, offset: u64, length: u64) -> Result<()> {
        let size = self.negotiated().size;
        check_range(offset, length, size)
            .map_err(|e| e.with_op(op).with_target(self.uri.to_string()))?;
        let minimum = u64::from(self.negotiated().block_sizes.minimum);
        let aligned = offset % minimum == 0 && (length % minimum == 0 || offset + length == size);
        if !aligned {
            return Err(Error::invalid_input(format!(
                "Request not aligned to the export's {minimum}-byte minimum block size"
            ))
            .or_context(op, offset, length)
            .with_target(self.uri.to_string()));
        }
        Ok(())
    }

    fn check_writable(&self, op: Op) -> Result<()> {
        if self.is_read_only() {
            return Err(Error::new(ErrorKind::Unsupported, "Export is read-only")
                .with_op(op)
                .with_target(self.uri.to_string()));
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes at `offset` into `buf` (at most the maximum block size).
    pub async fn read(&self, offset: u64, buf: Vec<u8>) -> Result<Vec<u8>> {
        let length = buf.len() as u64;
        self.check(Op::Read, offset, length)?;
        if length > u64::from(self.negotiated().block_sizes.maximum) {
            return Err(
                Error::invalid_input("Read larger than the maximum block size").or_context(
                    Op::Read,
                    offset,
                    length,
                ),
            );
        }
        if length == 0 {
            return Ok(buf);
        }
        let request = Request {
            flags: 0,
            command: proto::CMD_READ,
            cookie: 0,
            offset,
            length: length as u32,
        };
        let _lease = self.lease_gate.read().await;
        match self
            .pick()
            .submit(Op::Read, request, Expect::Read(buf), None)
            .await?
        {
            (Completion::Read(buf), _) => Ok(buf),
            _ => Err(Error::protocol("Read completed without data")),
        }
    }

    /// Writes `buf` at `offset` and hands the buffer back (at most the maximum block size).
    pub async fn write(&self, offset: u64, buf: Vec<u8>) -> Result<Vec<u8>> {
        let length = buf.len() as u64;
        self.check_writable(Op::Write)?;
        self.check(Op::Write, offset, length)?;
        if length > u64::from(self.negotiated().block_sizes.maximum) {
            return Err(
                Error::invalid_input("Write larger than the maximum block size").or_context(
                    Op::Write,
                    offset,
                    length,
                ),
            );
        }
        if length == 0 {
            return Ok(buf);
        }
        let _lease = self.lease_gate.read().await;
        let _gate = self.write_gate.read().await;
        let request = Request {
            flags: 0,
            command: proto::CMD_WRITE,
            cookie: 0,
            offset,
            length: length as u32,
        };
        let (_, returned) = self
            .pick()
            .submit(Op::Write, request, Expect::Nothing, Some(buf))
            .await?;
        Ok(returned.unwrap_or_default())
    }

    async fn effect(
        &self,
        op: Op,
        command: u16,
        flags: u16,
        offset: u64,
        length: u64,
    ) -> Result<()> {
        let _lease = self.lease_gate.read().await;
        let _gate = self.write_gate.read().await;
        let minimum = u64::from(self.negotiated().block_sizes.minimum);
        let step = MAX_EFFECT_LENGTH / minimum * minimum;
        let mut done = 0;
        while done < length {
            let piece = (length - done).min(step);
            let request = Request {
                flags,
                command,
                cookie: 0,
                offset: offset + done,
                length: piece as u32,
            };
            self.pick()
                .submit(op, request, Expect::Nothing, None)
                .await?;
            done += piece;
        }
        Ok(())
    }

    /// One BLOCK_STATUS request; the answer may cover less than asked.
    pub async fn block_status(
        &self,
        offset: u64,
        length: u64,
        context: &MetaContext,
    ) -> Result<Vec<Extent>> {
        self.check(Op::Extents, offset, length)?;
        let _lease = self.lease_gate.read().await;
        let connection = self.pick();
        let id = connection
            .negotiated
            .contexts
            .iter()
            .find(|(_, c)| c == context)
            .map(|(id, _)| *id)
            .ok_or_else(|| {
                Error::unsupported(format!("Metadata context {context} was not negotiated"))
                    .with_op(Op::Extents)
                    .with_target(self.uri.to_string())
            })?;
        let minimum = u64::from(connection.negotiated.block_sizes.minimum);
        let length = length.min(MAX_EFFECT_LENGTH / minimum * minimum).max(1);
        let request = Request {
            flags: 0,
            command: proto::CMD_BLOCK_STATUS,
            cookie: 0,
            offset,
            length: length as u32,
        };
        match connection
            .submit(Op::Extents, request, Expect::BlockStatus(id), None)
            .await?
        {
            (Completion::BlockStatus(descriptors), _) => {
                extents_from_status(context, offset, length, &descriptors)
                    .map_err(|e| e.with_target(self.uri.to_string()))
            }
            _ => Err(Error::protocol("Block status completed without extents")),
        }
    }

    /// Closes every connection politely (`NBD_CMD_DISC` after the requests in flight).
    pub async fn disconnect(&self) {
        let _lease = self.lease_gate.read().await;
        let connections: Vec<Arc<Connection>> = self.slots.iter().map(read_slot).collect();
        futures::future::join_all(connections.iter().map(|c| c.disconnect())).await;
    }
}

#[async_trait]
impl BlockSource for NbdClient {
    fn size(&self) -> u64 {
        self.negotiated().size
    }

    fn block_sizes(&self) -> BlockSizes {
        self.negotiated().block_sizes
    }

    fn describe(&self) -> String {
        self.uri.to_string()
    }

    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let maximum = self.negotiated().block_sizes.maximum as usize;
        let mut done = 0;
        while done < buf.len() {
            let piece = (buf.len() - done).min(maximum);
            let data = self.read(offset + done as u64, vec![0; piece]).await?;
            buf[done..done + piece].copy_from_slice(&data);
            done += piece;
        }
        Ok(())
    }

    async fn read_owned(&self, offset: u64, mut buf: Vec<u8>) -> Result<Vec<u8>> {
        if buf.len() <= self.negotiated().block_sizes.maximum as usize {
            return self.read(offset, buf).await;
        }
        self.read_at(offset, &mut buf).await?;
        Ok(buf)
    }

    fn can_extents(&self, context: &MetaContext) -> bool {
        self.negotiated().contexts.iter().any(|(_, c)| c == context)
    }

    async fn extents(
        &self,
        offset: u64,
        length: u64,
        context: &MetaContext,
    ) -> Result<Vec<Extent>> {
        if !self.can_extents(context) && *context == MetaContext::BaseAllocation {
            check_range(offset, length, self.negotiated().size)?;
            return Ok(vec![Extent::new(offset, length, crate::ExtentFlags::DATA)]);
        }
        let end = offset + length;
        let mut extents: Vec<Extent> = Vec::new();
        let mut position = offset;
        while position < end {
            for extent in self.block_status(position, end - position, context).await? {
                match extents.last_mut() {
                    Some(last) if last.flags == extent.flags => last.length += extent.length,
                    _ => extents.push(extent),
                }
                position = extent.end();
            }
        }
        Ok(extents)
    }

    fn nbd_client(&self) -> Option<&NbdClient> {
        Some(self)
    }

    async fn reconnect(&self) -> Result<()> {
        self.reopen_dead_connections().await.map(drop)
    }
}

#[async_trait]
impl BlockSink for NbdClient {
    fn size(&self) -> u64 {
        self.negotiated().size
    }

    fn block_sizes(&self) -> BlockSizes {
        self.negotiated().block_sizes
    }

    fn describe(&self) -> String {
        self.uri.to_string()
    }

    async fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        let maximum = self.negotiated().block_sizes.maximum as usize;
        for (i, piece) in buf.chunks(maximum).enumerate() {
            self.write(offset + (i * maximum) as u64, piece.to_vec())
                .await?;
        }
        Ok(())
    }

    async fn write_owned(&self, offset: u64, buf: Vec<u8>) -> Result<Vec<u8>> {
        if buf.len() <= self.negotiated().block_sizes.maximum as usize {
            return self.write(offset, buf).await;
        }
        self.write_at(offset, &buf).await?;
        Ok(buf)
    }

    fn can_write_zeroes(&self) -> bool {
        self.has(proto::TFLAG_SEND_WRITE_ZEROES)
    }

    async fn write_zeroes(&self, offset: u64, length: u64, flags: ZeroFlags) -> Result<()> {
        self.check_writable(Op::WriteZeroes)?;
        self.check(Op::WriteZeroes, offset, length)?;
        if flags.fast && !self.can_fast_zero() {
            return Err(
                Error::unsupported("Server does not support fast zeroing").or_context(
                    Op::WriteZeroes,
                    offset,
                    length,
                ),
            );
        }
        if !self.can_write_zeroes() {
            // Fall back to writing zero buffers, at most 1 MiB at a time.
            let chunk = (1u64 << 20).min(length) as usize;
            let mut zeroes = vec![0u8; chunk];
            let mut done = 0;
            while done < length {
                let piece = (length - done).min(chunk as u64) as usize;
                zeroes.resize(piece, 0);
                zeroes = self.write(offset + done, zeroes).await?;
                done += piece as u64;
            }
            return Ok(());
        }
        let mut command_flags = 0;
        if flags.fast {
            command_flags |= proto::CMD_FLAG_FAST_ZERO;
        }
        if flags.no_hole {
            command_flags |= proto::CMD_FLAG_NO_HOLE;
        }
        self.effect(
            Op::WriteZeroes,
            proto::CMD_WRITE_ZEROES,
            command_flags,
            offset,
            length,
        )
        .await
    }

    fn can_trim(&self) -> bool {
        self.has(proto::TFLAG_SEND_TRIM)
    }

    async fn trim(&self, offset: u64, length: u64) -> Result<()> {
        self.check_writable(Op::Trim)?;
        self.check(Op::Trim, offset, length)?;
        if !self.can_trim() {
            return Err(
                Error::unsupported("Server does not support trim").or_context(
                    Op::Trim,
                    offset,
                    length,
                ),
            );
        }
        self.effect(Op::Trim, proto::CMD_TRIM, 0, offset, length)
            .await
    }

    async fn flush(&self) -> Result<()> {
        if !self.has(proto::TFLAG_SEND_FLUSH) {
            return Ok(());
        }
        let _lease = self.lease_gate.read().await;
        // Exclusive: waits until every write issued before has been acknowledged.
        let _gate = self.write_gate.write().await;
        let request = Request {
            flags: 0,
            command: proto::CMD_FLUSH,
            cookie: 0,
            offset: 0,
            length: 0,
        };
        if self.slots.len() == 1 || self.can_multi_conn() {
            self.pick()
                .submit(Op::Flush, request, Expect::Nothing, None)
                .await?;
        }
        Ok(())
    }

    fn can_reconnect(&self) -> bool {
        true
    }

    /// The export's name and size: NBD gives no other identity. The server's address is
    /// left out on purpose, so a copy resumes against a server restarted elsewhere.
    fn identity(&self) -> Result<Option<crate::copy::checkpoint::TargetIdentity>> {
        Ok(Some(crate::copy::checkpoint::TargetIdentity::Nbd {
            export: self.uri.export.clone(),
            size: self.negotiated().size,
        }))
    }

    fn nbd_client(&self) -> Option<&NbdClient> {
        Some(self)
    }

    async fn reconnect(&self) -> Result<()> {
        self.reopen_dead_connections().await.map(drop)
    }
}

pub(super) fn read_slot(slot: &std::sync::RwLock<Arc<Connection>>) -> Arc<Connection> {
    slot.read()
        .unwrap_or_else(|poison| poison.into_inner())
        .clone()
}

/// Connected socket before TLS.
enum Plain {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Plain {
    fn as_stream(&mut self) -> &mut (dyn Stream + '_) {
        match self {
            Self::Tcp(s) => s,
            Self::Unix(s) => s,
        }
    }
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

async fn dial(uri: &NbdUri) -> Result<(Box<dyn Stream>, u16)> {
    let (mut plain, flags) = connect_plain(uri).await?;
    if uri.tls {
        handshake::start_tls(plain.as_stream()).await?;
        let tls = upgrade(uri, plain).await?;
        return Ok((tls, flags));
    }
    let stream: Box<dyn Stream> = match plain {
        Plain::Tcp(s) => Box::new(s),
        Plain::Unix(s) => Box::new(s),
    };
    Ok((stream, flags))
}

async fn connect_plain(uri: &NbdUri) -> Result<(Plain, u16)> {
    let target = uri.to_string();
    let mut plain = match &uri.endpoint {
        Endpoint::Tcp { host, port } => {
            let stream = TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|e| Error::io(Op::Connect, e).with_target(target.clone()))?;
            stream
                .set_nodelay(true)
                .map_err(|e| Error::io(Op::Connect, e).with_target(target.clone()))?;
            enlarge_socket_buffers(&stream);
            Plain::Tcp(stream)
        }
        Endpoint::Unix(path) => {
            let stream = UnixStream::connect(path)
                .await
                .map_err(|e| Error::io(Op::Connect, e).with_target(target.clone()))?;
            enlarge_socket_buffers(&stream);
            Plain::Unix(stream)
        }
    };
    let flags = handshake::greet(plain.as_stream())
        .await
        .map_err(|e| e.with_target(target))?;
    Ok((plain, flags))
}

async fn upgrade(uri: &NbdUri, plain: Plain) -> Result<Box<dyn Stream>> {
    let (connector, name) = tls::connector(&TlsSettings {
        certificates: uri.tls_certificates.clone(),
        verify_peer: uri.tls_verify_peer,
        server_name: uri.tls_server_name(),
    })?;
    let map = |e: std::io::Error| {
        Error::new(ErrorKind::Tls, "TLS handshake failed")
            .with_source(e)
            .with_op(Op::Handshake)
            .with_target(uri.to_string())
            .into_fatal()
    };
    Ok(match plain {
        Plain::Tcp(s) => Box::new(connector.connect(name, s).await.map_err(map)?),
        Plain::Unix(s) => Box::new(connector.connect(name, s).await.map_err(map)?),
    })
}

/// Asks for 4 MiB socket buffers (capped by `net.core.[rw]mem_max`): a 256 KiB request
/// then crosses the socket in one or two system calls instead of many. Best effort.
fn enlarge_socket_buffers(socket: &impl std::os::fd::AsRawFd) {
    let size: libc::c_int = 4 << 20;
    for option in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
        // SAFETY: setsockopt on a valid descriptor with a pointer to a live c_int of the
        // length passed.
        let _ = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
}

async fn open_timed(
    uri: &NbdUri,
    options: &ConnectOptions,
    io_timeout: &IoTimeout,
) -> Result<Connection> {
    tokio::time::timeout(options.timeout, open(uri, options, io_timeout))
        .await
        .unwrap_or_else(|_| {
            Err(
                Error::new(ErrorKind::Timeout, "Connecting and negotiating timed out")
                    .with_op(Op::Connect)
                    .with_target(uri.to_string())
                    .into_fatal(),
            )
        })
}

async fn open(
    uri: &NbdUri,
    options: &ConnectOptions,
    io_timeout: &IoTimeout,
) -> Result<Connection> {
    let target = uri.to_string();
    let (mut plain, flags) = connect_plain(uri).await?;
    let wanted = Wanted {
        export: uri.export.clone(),
        contexts: options.contexts.clone(),
        tls_active: uri.tls,
    };
    let (reader, writer, negotiated): (BoxRead, BoxWrite, Negotiated) = if uri.tls {
        handshake::start_tls(plain.as_stream())
            .await
            .map_err(|e| e.with_target(target.clone()))?;
        let mut stream = upgrade(uri, plain).await?;
        let negotiated = handshake::negotiate(&mut stream, flags, &wanted)
            .await
            .map_err(|e| e.with_target(target.clone()))?;
        let (r, w) = tokio::io::split(stream);
        (Box::new(r), Box::new(w), negotiated)
    } else {
        let negotiated = handshake::negotiate(plain.as_stream(), flags, &wanted)
            .await
            .map_err(|e| e.with_target(target.clone()))?;
        match plain {
            Plain::Tcp(s) => {
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w), negotiated)
            }
            Plain::Unix(s) => {
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w), negotiated)
            }
        }
    };
    Ok(Connection::start(
        reader,
        writer,
        negotiated,
        options.max_in_flight,
        options.splice_writes,
        target,
        io_timeout.clone(),
    ))
}

/// Shared handle type used by the copy pipeline.
pub type SharedClient = Arc<NbdClient>;
