//! A VDDK disk as an async [`BlockSource`] (and, when opened writable, [`BlockSink`]).
//!
//! VDDK's threading rules: a connection and its disk handle must be used from one thread at
//! a time, and `Open`/`Close` must not run concurrently anywhere in the process. Each
//! [`VddkDisk`] therefore owns a dedicated OS thread that connects, opens, serves requests
//! from a bounded channel in order, and closes and disconnects when the last handle goes.

use std::ffi::{CStr, CString, c_char};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use super::ffi::{
    self, CRED_UID, MAX_CHUNK_NUMBER, MIN_CHUNK_SIZE, OPEN_READ_ONLY, OPEN_SINGLE_LINK,
    OPEN_UNBUFFERED, SECTOR_SIZE, SPEC_VMX, VixDiskLibConnection, VixDiskLibHandle,
};
use super::library::{OPEN_CLOSE, VddkLibrary, c_string};
use crate::block::{
    BlockSink, BlockSizes, BlockSource, Extent, ExtentFlags, MetaContext, check_range,
};
use crate::error::{Error, ErrorKind, Op, Result};

/// Requests queued per disk before callers wait.
const QUEUE_DEPTH: usize = 16;
/// Largest single VDDK read or write.
const MAX_IO: u64 = 4 * 1024 * 1024;
/// Chunk size for allocation queries: VDDK's minimum, 64 KiB.
const CHUNK_SECTORS: u64 = MIN_CHUNK_SIZE;

/// Where and how to connect (`VixDiskLib_ConnectEx`).
#[derive(Clone)]
pub struct ConnectSpec {
    /// ESXi or vCenter host name (no scheme, no port).
    pub server: String,
    /// vSphere API port; 0 for VDDK's default (443).
    pub port: u32,
    /// NFC port; 0 for VDDK's default (902).
    pub nfc_port: u32,
    /// SHA-1 thumbprint of the server certificate, `AA:BB:...`.
    pub thumbprint: String,
    /// User name.
    pub user: String,
    /// Password (never printed).
    pub password: String,
    /// VM MoRef, e.g. `vm-16` (sent as `moref=vm-16`).
    pub vm_moref: String,
    /// Snapshot MoRef to read from, e.g. `snapshot-7`.
    pub snapshot: Option<String>,
    /// Transport modes in order of preference.
    pub transports: String,
}

impl std::fmt::Debug for ConnectSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectSpec")
            .field("server", &self.server)
            .field("port", &self.port)
            .field("thumbprint", &self.thumbprint)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("vm_moref", &self.vm_moref)
            .field("snapshot", &self.snapshot)
            .field("transports", &self.transports)
            .finish()
    }
}

impl ConnectSpec {
    /// Transports tried when none are given: `file:nbdssl:nbd`, as for migration.
    pub const DEFAULT_TRANSPORTS: &'static str = "file:nbdssl:nbd";
}

/// How to open the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Open read-only (migration always does).
    pub read_only: bool,
    /// Bypass the host cache (`VIXDISKLIB_FLAG_OPEN_UNBUFFERED`); faster on ESXi ≥ 7.0U2.
    pub unbuffered: bool,
    /// Open only the named link, not its parents.
    pub single_link: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            read_only: true,
            unbuffered: true,
            single_link: false,
        }
    }
}

/// What `VixDiskLib_GetInfo` and `GetTransportMode` reported at open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskInfo {
    /// Capacity in bytes.
    pub capacity: u64,
    /// Links in the chain.
    pub links: i32,
    /// Transport in use (`file`, `nbdssl`, `nbd`, `hotadd`, `san`), if reported.
    pub transport: Option<String>,
}

enum Request {
    Read {
        sector: u64,
        buf: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>>>,
    },
    Write {
        sector: u64,
        buf: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>>>,
    },
    Allocated {
        start: u64,
        count: u64,
        reply: oneshot::Sender<Result<Vec<ffi::VixDiskLibBlock>>>,
    },
}

/// An open VDDK disk served by its own thread.
pub struct VddkDisk {
    requests: mpsc::Sender<Request>,
    info: DiskInfo,
    description: String,
    read_only: bool,
    extents: bool,
}

impl std::fmt::Debug for VddkDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VddkDisk")
            .field("disk", &self.description)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// The C side of a connection, owned by the worker thread.
struct Session {
    library: Arc<VddkLibrary>,
    connection: VixDiskLibConnection,
    handle: VixDiskLibHandle,
    /// Strings referenced by the connect parameters, alive until disconnect.
    _strings: Vec<CString>,
    params: ConnectParams,
}

enum ConnectParams {
    Library(*mut ffi::VixDiskLibConnectParams),
    Owned(Box<ffi::VixDiskLibConnectParams>),
}

impl ConnectParams {
    fn as_mut_ptr(&mut self) -> *mut ffi::VixDiskLibConnectParams {
        match self {
            Self::Library(ptr) => *ptr,
            Self::Owned(boxed) => &mut **boxed,
        }
    }
}

impl VddkDisk {
    /// Connects to the host, opens `path` (`[datastore] vm/disk.vmdk`, or a local file with
    /// the `file` transport) and starts the disk's thread.
    pub async fn open(
        library: Arc<VddkLibrary>,
        spec: ConnectSpec,
        path: &str,
        options: OpenOptions,
    ) -> Result<Self> {
        let c_path = c_string(path, "Disk path")?;
        let description = format!("vddk://{}/{}#{}", spec.server, spec.vm_moref, path);
        let extents = library.can_query_allocated_blocks();
        let (requests, receiver) = mpsc::channel(QUEUE_DEPTH);
        let (opened_tx, opened_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("vddk-disk".into())
            .spawn(move || {
                let session = match Session::open(library, &spec, &c_path, options) {
                    Ok(session) => session,
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                let info = session.info();
                if opened_tx.send(info).is_ok() {
                    session.serve(receiver);
                }
                // Dropping the session closes and disconnects on this thread.
            })
            .map_err(|e| {
                Error::new(ErrorKind::Io, "Cannot start the VDDK thread").with_source(e)
            })?;
        let info = opened_rx
            .await
            .map_err(|_| Error::disconnected("VDDK thread ended during open"))??;
        tracing::info!(disk = %description, capacity = info.capacity, transport = ?info.transport, "VDDK disk open");
        Ok(Self {
            requests,
            info,
            description,
            read_only: options.read_only,
            extents,
        })
    }

    /// What VDDK reported at open.
    pub fn info(&self) -> &DiskInfo {
        &self.info
    }

    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T>>) -> Request) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(make(reply))
            .await
            .map_err(|_| Error::disconnected("VDDK disk thread has stopped"))?;
        answer
            .await
            .map_err(|_| Error::disconnected("VDDK disk thread has stopped"))?
    }

    /// Reads whole sectors into `buf` (its length a multiple of 512).
    async fn read_sectors(&self, sector: u64, buf: Vec<u8>) -> Result<Vec<u8>> {
        self.call(|reply| Request::Read { sector, buf, reply })
            .await
    }

    fn error_context(&self, error: Error, op: Op, offset: u64, length: u64) -> Error {
        error
            .or_context(op, offset, length)
            .with_target(self.description.clone())
    }
}

// SAFETY: the raw pointers in Session are only used on the worker thread that created them;
// Session moves into that thread once, before any use.
unsafe impl Send for Session {}

impl Session {
    fn open(
        library: Arc<VddkLibrary>,
        spec: &ConnectSpec,
        path: &CStr,
        options: OpenOptions,
    ) -> Result<Self> {
        let symbols = *library.symbols();
        let server = c_string(&spec.server, "Server name")?;
        let thumbprint = c_string(&spec.thumbprint, "Thumbprint")?;
        let user = c_string(&spec.user, "User name")?;
        let password = c_string(&spec.password, "Password")?;
        let vmx = c_string(&format!("moref={}", spec.vm_moref), "VM MoRef")?;
        let snapshot = spec
            .snapshot
            .as_deref()
            .map(|s| c_string(s, "Snapshot MoRef"))
            .transpose()?;
        let transports = c_string(
            if spec.transports.is_empty() {
                ConnectSpec::DEFAULT_TRANSPORTS
            } else {
                &spec.transports
            },
            "Transport modes",
        )?;
        let mut params = match symbols.AllocateConnectParams {
            // SAFETY: returns a zeroed struct owned by VDDK, freed with FreeConnectParams.
            Some(allocate) => {
                let ptr = unsafe { allocate() };
                if ptr.is_null() {
                    return Err(Error::new(
                        ErrorKind::Io,
                        "VixDiskLib_AllocateConnectParams failed",
                    ));
                }
                ConnectParams::Library(ptr)
            }
            // SAFETY: all-zero is a valid value of this plain C struct.
            None => ConnectParams::Owned(Box::new(unsafe { std::mem::zeroed() })),
        };
        let raw = params.as_mut_ptr();
        // SAFETY: raw points to a live, writable struct; the strings outlive the connection
        // (they move into the Session).
        unsafe {
            (*raw).vmxSpec = vmx.as_ptr().cast_mut();
            (*raw).serverName = server.as_ptr().cast_mut();
            (*raw).thumbPrint = thumbprint.as_ptr().cast_mut();
            (*raw).credType = CRED_UID;
            (*raw).creds.uid = ffi::VixDiskLibUidPasswdCreds {
                userName: user.as_ptr().cast_mut(),
                password: password.as_ptr().cast_mut(),
            };
            (*raw).port = spec.port;
            (*raw).nfcHostPort = spec.nfc_port;
            (*raw).specType = SPEC_VMX;
        }
        let mut session = Self {
            library,
            connection: std::ptr::null_mut(),
            handle: std::ptr::null_mut(),
            _strings: Vec::new(),
            params,
        };
        let guard = OPEN_CLOSE.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: parameters are filled in; out-pointer is valid.
        let err = unsafe {
            (symbols.ConnectEx)(
                raw,
                c_char::from(options.read_only),
                snapshot.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                transports.as_ptr(),
                &mut session.connection,
            )
        };
        session._strings = [
            Some(server),
            Some(thumbprint),
            Some(user),
            Some(password),
            Some(vmx),
            snapshot,
            Some(transports),
        ]
        .into_iter()
        .flatten()
        .collect();
        session.library.check(err, "VixDiskLib_ConnectEx")?;
        let mut flags = 0;
        if options.read_only {
            flags |= OPEN_READ_ONLY;
        }
        if options.unbuffered {
            flags |= OPEN_UNBUFFERED;
        }
        if options.single_link {
            flags |= OPEN_SINGLE_LINK;
        }
        // SAFETY: connection is live; out-pointer is valid.
        let err = unsafe {
            (symbols.Open)(
                session.connection,
                path.as_ptr(),
                flags,
                &mut session.handle,
            )
        };
        drop(guard);
        session.library.check(err, "VixDiskLib_Open")?;
        Ok(session)
    }

    fn info(&self) -> Result<DiskInfo> {
        let symbols = self.library.symbols();
        let mut info: *mut ffi::VixDiskLibInfo = std::ptr::null_mut();
        // SAFETY: handle is open; VDDK allocates the info, freed below.
        let err = unsafe { (symbols.GetInfo)(self.handle, &mut info) };
        self.library.check(err, "VixDiskLib_GetInfo")?;
        if info.is_null() {
            return Err(Error::protocol(
                "VixDiskLib_GetInfo returned no information",
            ));
        }
        // SAFETY: info is valid until FreeInfo.
        let (capacity, links) = unsafe { ((*info).capacity, (*info).numLinks) };
        // SAFETY: info came from GetInfo.
        unsafe { (symbols.FreeInfo)(info) };
        let transport = symbols.GetTransportMode.and_then(|get| {
            // SAFETY: returns a static string owned by VDDK.
            let mode = unsafe { get(self.handle) };
            // SAFETY: non-null strings from VDDK are NUL-terminated.
            (!mode.is_null()).then(|| {
                unsafe { CStr::from_ptr(mode) }
                    .to_string_lossy()
                    .into_owned()
            })
        });
        Ok(DiskInfo {
            capacity: capacity.checked_mul(SECTOR_SIZE).ok_or_else(|| {
                Error::protocol("VixDiskLib_GetInfo reported an impossible capacity")
            })?,
            links,
            transport,
        })
    }

    fn serve(&self, mut requests: mpsc::Receiver<Request>) {
        while let Some(request) = requests.blocking_recv() {
            match request {
                Request::Read {
                    sector,
                    mut buf,
                    reply,
                } => {
                    let sectors = buf.len() as u64 / SECTOR_SIZE;
                    // SAFETY: buf holds `sectors` whole sectors; handle is open on this thread.
                    let err = unsafe {
                        (self.library.symbols().Read)(
                            self.handle,
                            sector,
                            sectors,
                            buf.as_mut_ptr(),
                        )
                    };
                    let _ = reply.send(self.library.check(err, "VixDiskLib_Read").map(|()| buf));
                }
                Request::Write { sector, buf, reply } => {
                    let sectors = buf.len() as u64 / SECTOR_SIZE;
                    // SAFETY: as for Read.
                    let err = unsafe {
                        (self.library.symbols().Write)(self.handle, sector, sectors, buf.as_ptr())
                    };
                    let _ = reply.send(self.library.check(err, "VixDiskLib_Write").map(|()| buf));
                }
                Request::Allocated {
                    start,
                    count,
                    reply,
                } => {
                    let _ = reply.send(self.allocated(start, count));
                }
            }
        }
    }

    fn allocated(&self, start: u64, count: u64) -> Result<Vec<ffi::VixDiskLibBlock>> {
        let symbols = self.library.symbols();
        let (Some(query), Some(free)) = (symbols.QueryAllocatedBlocks, symbols.FreeBlockList)
        else {
            return Err(Error::unsupported("This VDDK has no QueryAllocatedBlocks"));
        };
        let mut list: *mut ffi::VixDiskLibBlockList = std::ptr::null_mut();
        // SAFETY: handle open on this thread; VDDK allocates the list, freed below.
        let err = unsafe { query(self.handle, start, count, CHUNK_SECTORS, &mut list) };
        self.library.check(err, "VixDiskLib_QueryAllocatedBlocks")?;
        if list.is_null() {
            return Ok(Vec::new());
        }
        // SAFETY: numBlocks entries follow the header (flexible array member).
        let blocks = unsafe {
            let n = (*list).numBlocks as usize;
            let first = std::ptr::addr_of!((*list).blocks).cast::<ffi::VixDiskLibBlock>();
            std::slice::from_raw_parts(first, n).to_vec()
        };
        // SAFETY: list came from QueryAllocatedBlocks.
        unsafe { free(list) };
        Ok(blocks)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let symbols = *self.library.symbols();
        let _guard = OPEN_CLOSE.lock().unwrap_or_else(|e| e.into_inner());
        if !self.handle.is_null() {
            // SAFETY: handle opened on this thread and not yet closed.
            let err = unsafe { (symbols.Close)(self.handle) };
            if let Err(e) = self.library.check(err, "VixDiskLib_Close") {
                tracing::warn!("{e}");
            }
        }
        if !self.connection.is_null() {
            // SAFETY: connection made on this thread and not yet closed.
            let err = unsafe { (symbols.Disconnect)(self.connection) };
            if let Err(e) = self.library.check(err, "VixDiskLib_Disconnect") {
                tracing::warn!("{e}");
            }
        }
        if let (ConnectParams::Library(ptr), Some(free)) = (&self.params, symbols.FreeConnectParams)
        {
            // SAFETY: allocated by AllocateConnectParams; VDDK no longer uses it.
            unsafe { free(*ptr) };
        }
    }
}

fn align_down(value: u64) -> u64 {
    value - value % SECTOR_SIZE
}

fn align_up(value: u64) -> u64 {
    value.div_ceil(SECTOR_SIZE) * SECTOR_SIZE
}

#[async_trait]
impl BlockSource for VddkDisk {
    fn size(&self) -> u64 {
        self.info.capacity
    }

    fn block_sizes(&self) -> BlockSizes {
        BlockSizes {
            minimum: SECTOR_SIZE as u32,
            preferred: 4096,
            maximum: MAX_IO as u32,
        }
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let length = buf.len() as u64;
        check_range(offset, length, self.info.capacity)?;
        let mut done = 0u64;
        while done < length {
            // Any unaligned head or tail goes through a sector-aligned bounce buffer.
            let position = offset + done;
            let start = align_down(position);
            let end =
                align_up((position + (length - done)).min(start + MAX_IO)).min(self.info.capacity);
            let data = self
                .read_sectors(start / SECTOR_SIZE, vec![0u8; (end - start) as usize])
                .await
                .map_err(|e| self.error_context(e, Op::Read, offset, length))?;
            let skip = (position - start) as usize;
            let take = (data.len() - skip).min((length - done) as usize);
            buf[done as usize..done as usize + take].copy_from_slice(&data[skip..skip + take]);
            done += take as u64;
        }
        Ok(())
    }

    async fn read_owned(&self, offset: u64, buf: Vec<u8>) -> Result<Vec<u8>> {
        let length = buf.len() as u64;
        if offset % SECTOR_SIZE == 0 && length % SECTOR_SIZE == 0 && length <= MAX_IO {
            check_range(offset, length, self.info.capacity)?;
            return self
                .read_sectors(offset / SECTOR_SIZE, buf)
                .await
                .map_err(|e| self.error_context(e, Op::Read, offset, length));
        }
        let mut buf = buf;
        self.read_at(offset, &mut buf).await?;
        Ok(buf)
    }

    fn can_extents(&self, context: &MetaContext) -> bool {
        self.extents && *context == MetaContext::BaseAllocation
    }

    /// Allocated ranges from `QueryAllocatedBlocks` in 64 KiB chunks; gaps are reported as
    /// holes that read as zeroes, and a tail shorter than a chunk as data.
    async fn extents(
        &self,
        offset: u64,
        length: u64,
        context: &MetaContext,
    ) -> Result<Vec<Extent>> {
        check_range(offset, length, self.info.capacity)?;
        if !self.can_extents(context) {
            return Err(Error::unsupported(format!(
                "Metadata context {context} is not available from {}",
                self.description
            ))
            .with_op(Op::Extents));
        }
        let chunk = CHUNK_SECTORS * SECTOR_SIZE;
        let start = offset - offset % chunk;
        let whole_chunks_end = self.info.capacity - self.info.capacity % chunk;
        if start >= whole_chunks_end {
            // The partial last chunk cannot be queried.
            return Ok(vec![Extent::new(
                offset,
                self.info.capacity - offset,
                ExtentFlags::DATA,
            )]);
        }
        let max_span = MAX_CHUNK_NUMBER * chunk;
        let end = (offset + length)
            .div_ceil(chunk)
            .saturating_mul(chunk)
            .min(start + max_span)
            .min(whole_chunks_end);
        let blocks = self
            .call(|reply| Request::Allocated {
                start: start / SECTOR_SIZE,
                count: (end - start) / SECTOR_SIZE,
                reply,
            })
            .await
            .map_err(|e| self.error_context(e, Op::Extents, offset, length))?;
        let mut extents: Vec<Extent> = Vec::new();
        let mut push = |from: u64, to: u64, flags: ExtentFlags| {
            let from = from.max(offset);
            if to <= from {
                return;
            }
            match extents.last_mut() {
                Some(last) if last.flags == flags && last.end() == from => last.length += to - from,
                _ => extents.push(Extent::new(from, to - from, flags)),
            }
        };
        let hole = ExtentFlags::HOLE | ExtentFlags::ZERO;
        let mut cursor = start;
        for block in blocks {
            let (b_start, b_end) = (
                block.offset.saturating_mul(SECTOR_SIZE),
                block
                    .offset
                    .saturating_add(block.length)
                    .saturating_mul(SECTOR_SIZE)
                    .min(end),
            );
            if b_start < cursor || b_start >= end {
                continue; // out of order or out of range: ignore rather than trust
            }
            push(cursor, b_start, hole);
            push(b_start, b_end, ExtentFlags::DATA);
            cursor = b_end;
        }
        push(cursor, end, hole);
        if extents.is_empty() {
            return Err(Error::protocol("QueryAllocatedBlocks covered nothing"));
        }
        Ok(extents)
    }
}

#[async_trait]
impl BlockSink for VddkDisk {
    fn size(&self) -> u64 {
        self.info.capacity
    }

    fn block_sizes(&self) -> BlockSizes {
        BlockSource::block_sizes(self)
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    async fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        let length = buf.len() as u64;
        check_range(offset, length, self.info.capacity)?;
        if self.read_only {
            return Err(self.error_context(
                Error::unsupported("The VDDK disk was opened read-only"),
                Op::Write,
                offset,
                length,
            ));
        }
        if offset % SECTOR_SIZE != 0 || length % SECTOR_SIZE != 0 {
            return Err(self.error_context(
                Error::invalid_input("VDDK writes must be whole 512-byte sectors"),
                Op::Write,
                offset,
                length,
            ));
        }
        for (i, piece) in buf.chunks(MAX_IO as usize).enumerate() {
            let sector = (offset + i as u64 * MAX_IO) / SECTOR_SIZE;
            let data = piece.to_vec();
            self.call(|reply| Request::Write {
                sector,
                buf: data,
                reply,
            })
            .await
            .map_err(|e| self.error_context(e, Op::Write, offset, length))?;
        }
        Ok(())
    }
}
