//! The copy pipeline: extent-driven, bounded, resumable.
//!
//! ```text
//!   planner task ── work range (1 GiB) ───► extents (dirty bitmap, base:allocation)
//!        │            classify each block: resumed | not dirty | all zero | data
//!        ▼
//!   bounded channel of tasks: Copy(block) | Zero(run of blocks)
//!        ▼
//!   executor ── semaphore (requests in flight) ─► JoinSet of block tasks
//!        │        Copy: read into a pooled buffer → CRC → zero-detect at 4 KiB
//!        │              → write data runs, zero the zero runs
//!        │        Zero: WRITE_ZEROES, or nothing when the target reads as zeroes
//!        ├─ every few seconds: flush, then note the completed blocks as durable
//!        │  (and save them to the checkpoint file, if any)
//!        └─ at the end: final flush, checkpoint marked complete
//!
//!   lost connection (fatal) ─► reopen source and sink ─► forget blocks not yet durable
//!                               ─► another pass over what is left (`reconnects` times)
//! ```
//!
//! Between two NBD clients the executor is replaced by copy lanes (module `lane`): the
//! plan of a few work ranges at a time goes to one task per pair of source and sink
//! connections, which drives both sockets itself (no hand-offs between tasks per block).
//! Blocks a lane hands back (a recoverable error, a sink without WRITE_ZEROES) take the
//! path above.
//!
//! Blocks are `request_size` bytes on a fixed grid, so a block is the unit of planning,
//! of the CRC32 block map and of the checkpoint. Memory is bounded by
//! `requests × request_size` for buffers, at most [`budget::COPY_BUFFER_BUDGET`] (fewer
//! requests run when they are larger), or by a [`budget::BufferBudget`] the copies of a
//! plan share, plus one bit and (with checksums) four bytes per
//! block: never by the amount of data. Zero runs are written with zeroing requests, as
//! nbdcopy does; [`CopyOptions::zero_target_first`] instead zeroes the whole target with one
//! fast zero first (the NBD spec's FAST_ZERO recipe) and then skips zero blocks.

pub mod budget;
pub mod checkpoint;
mod lane;
mod plan;
mod reconnect;
pub mod verify;
pub mod zero;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use self::budget::BufferBudget;
use self::checkpoint::{
    BlockMap, BlockSet, Checkpoint, MAX_BLOCK_SIZE, MAX_COPY_BLOCKS, MIN_BLOCK_SIZE,
    TargetIdentity, zero_crc,
};
use self::plan::{plan, plan_range};
use crate::block::{BlockSink, BlockSource, MetaContext, ZeroFlags};
use crate::error::{Error, ErrorKind, Result};

/// Which ranges an incremental copy transfers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incremental {
    /// The dirty ranges of `qemu:dirty-bitmap:NAME` on the source.
    Bitmap(String),
    /// Changed ranges handed in by a provider (e.g. vSphere changed-block tracking).
    Ranges(Vec<Range<u64>>),
}

/// Called with progress at most every `progress_interval` and once at the end.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Tuning and behaviour of a copy.
#[derive(Clone)]
pub struct CopyOptions {
    /// Bytes per read request and block size of the plan (power of two, 4 KiB–32 MiB;
    /// raised to either side's preferred block size). Default 1 MiB: nbdcopy uses 256 KiB,
    /// but on the 2-CPU loopback benchmark (`benches/copy-compare.sh`) 1 MiB × 16 beat
    /// 256 KiB × 64 and 512 KiB × 32 by 10–20%.
    pub request_size: u32,
    /// Requests in flight across the whole copy; buffers use `requests × request_size`
    /// (default 16 × 1 MiB = 16 MiB, nbdcopy's queue size), at most
    /// [`COPY_BUFFER_BUDGET`](budget::COPY_BUFFER_BUDGET): with larger requests fewer run
    /// ([`budget::requests_in_flight`]; the summary reports how many did).
    pub requests: usize,
    /// Bytes planned at a time (one extent query per context and range; fewer, larger
    /// ranges save round trips, which dominate small incremental copies).
    pub work_size: u64,
    /// Zero-detection granularity in bytes (0 disables detection). nbdcopy's default: 4 KiB.
    /// With detection and checksums off, copy lanes between Unix-socket NBD endpoints pass
    /// READ payloads from socket to socket without copying them into the process.
    pub sparse_granularity: u32,
    /// Copy only these ranges (`None`: the whole disk).
    pub incremental: Option<Incremental>,
    /// The caller guarantees the target already reads as zeroes.
    pub target_is_zero: bool,
    /// Before a full copy, zero the whole target with one `FAST_ZERO` request and skip zero
    /// blocks afterwards. Off by default: on targets that free storage when zeroed (nbdkit
    /// memory, thin volumes) the data written afterwards must be allocated again, which cost
    /// 10–20% on the fully allocated benchmark (`benches/copy-compare.sh`, scenario a).
    pub zero_target_first: bool,
    /// Checkpoint file for resuming; loaded if present, updated while copying.
    pub checkpoint: Option<PathBuf>,
    /// How often the checkpoint is flushed and saved.
    pub checkpoint_interval: Duration,
    /// Keep a CRC32 per block (needed by [`verify::verify`] against the copy).
    pub checksums: bool,
    /// Flush the target at the end.
    pub flush: bool,
    /// Attempts per block for recoverable errors.
    pub retries: u32,
    /// Times a copy reconnects after losing a connection (fatal errors such as a server
    /// restart) before it gives up. Blocks not yet flushed when the connection was lost are
    /// copied again, so the target ends identical. 0 disables reconnecting.
    pub reconnects: u32,
    /// How long requests to an NBD server may wait without a byte from it before the
    /// connection counts as lost (and is reopened, as [`reconnects`](Self::reconnects)
    /// allows). Set on the NBD clients under the source and the sink for the copy (and
    /// kept afterwards). Zero waits forever. Default:
    /// [`DEFAULT_IO_TIMEOUT`](crate::nbd::DEFAULT_IO_TIMEOUT), 5 minutes.
    pub io_timeout: Duration,
    /// Between two NBD clients, copy in lanes: one task drives each pair of source and
    /// sink connections directly (see the `lane` module). On by default; off, every block
    /// goes through [`BlockSource`] and [`BlockSink`] calls.
    pub lanes: bool,
    /// A memory budget for buffers shared with other copies (a plan's disks): blocks wait
    /// for room in it (see [`budget`]). `None`: the copy has a budget of its own,
    /// `requests × request_size`.
    pub buffers: Option<Arc<BufferBudget>>,
    /// Progress callback.
    pub progress: Option<ProgressFn>,
    /// Interval between progress callbacks.
    pub progress_interval: Duration,
}

impl std::fmt::Debug for CopyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyOptions")
            .field("request_size", &self.request_size)
            .field("requests", &self.requests)
            .field("work_size", &self.work_size)
            .field("sparse_granularity", &self.sparse_granularity)
            .field("incremental", &self.incremental)
            .field("target_is_zero", &self.target_is_zero)
            .field("zero_target_first", &self.zero_target_first)
            .field("checkpoint", &self.checkpoint)
            .field("checksums", &self.checksums)
            .field("flush", &self.flush)
            .field("retries", &self.retries)
            .field("reconnects", &self.reconnects)
            .field("io_timeout", &self.io_timeout)
            .field("lanes", &self.lanes)
            .field("buffers", &self.buffers.as_ref().map(|b| b.limit()))
            .finish_non_exhaustive()
    }
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            request_size: 1024 * 1024,
            requests: 16,
            work_size: 1024 * 1024 * 1024,
            sparse_granularity: 4096,
            incremental: None,
            target_is_zero: false,
            zero_target_first: false,
            checkpoint: None,
            checkpoint_interval: Duration::from_secs(2),
            checksums: false,
            flush: true,
            retries: 3,
            reconnects: 3,
            io_timeout: crate::nbd::DEFAULT_IO_TIMEOUT,
            lanes: true,
            buffers: None,
            progress: None,
            progress_interval: Duration::from_millis(250),
        }
    }
}

/// Smallest zero-detection granularity other than 0 (off): 512 bytes, one sector.
pub const MIN_SPARSE_GRANULARITY: u32 = 512;
/// Largest zero-detection granularity: 32 MiB, the largest block.
pub const MAX_SPARSE_GRANULARITY: u32 = MAX_BLOCK_SIZE as u32;

impl CopyOptions {
    /// Checks the values a caller chose: `request_size` a power of two from
    /// [`MIN_BLOCK_SIZE`] to [`MAX_BLOCK_SIZE`], `requests` at least 1, and
    /// `sparse_granularity` 0 or a power of two from [`MIN_SPARSE_GRANULARITY`] to
    /// [`MAX_SPARSE_GRANULARITY`]. [`copy`] refuses invalid options with this check, and the
    /// CLI and the Python bindings call it before they open anything, so every front end
    /// refuses the same values with the same message (an [`ErrorKind::InvalidInput`] naming
    /// the option as the library, the CLI and Python spell it).
    pub fn validate(&self) -> Result<()> {
        let size = u64::from(self.request_size);
        if !size.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&size) {
            return Err(Error::invalid_input(format!(
                "request_size (--request-size) {size} is not a power of two from {MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE}"
            )));
        }
        if self.requests == 0 {
            return Err(Error::invalid_input(
                "requests (--requests) 0: at least one request must be in flight",
            ));
        }
        let sparse = self.sparse_granularity;
        let valid_sparse = sparse == 0
            || (sparse.is_power_of_two()
                && (MIN_SPARSE_GRANULARITY..=MAX_SPARSE_GRANULARITY).contains(&sparse));
        if !valid_sparse {
            return Err(Error::invalid_input(format!(
                "sparse_granularity (--sparse) {sparse} is not 0 or a power of two from {MIN_SPARSE_GRANULARITY} to {MAX_SPARSE_GRANULARITY}"
            )));
        }
        Ok(())
    }
}

/// A progress event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Bytes of the disk dealt with (copied, zeroed, skipped or resumed).
    pub bytes_done: u64,
    /// Bytes of the disk.
    pub bytes_total: u64,
    /// Bytes of data read from the source so far (skipped zero, unallocated and resumed
    /// ranges are not read).
    pub bytes_read: u64,
    /// Average rate so far of `bytes_done`: what an ETA is based on.
    pub bytes_per_second: f64,
    /// Average rate so far of `bytes_read`: the data rate a user compares with the link.
    pub read_bytes_per_second: f64,
    /// Estimated time left.
    pub eta: Option<Duration>,
    /// Time since the copy started.
    pub elapsed: Duration,
}

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopySummary {
    /// Size of the source disk.
    pub bytes_total: u64,
    /// Bytes read from the source.
    pub bytes_read: u64,
    /// Bytes of data written to the target.
    pub bytes_written: u64,
    /// Bytes zeroed on the target with zeroing requests.
    pub bytes_zeroed: u64,
    /// Bytes not written: zero where the target already was, or not dirty.
    pub bytes_skipped: u64,
    /// Bytes a checkpoint showed as already copied.
    pub bytes_resumed: u64,
    /// Wall time.
    pub seconds: f64,
    /// Disk bytes dealt with per second, in MiB/s.
    pub mib_per_s: f64,
    /// Request size used.
    pub request_size: u32,
    /// Requests in flight used.
    pub requests: usize,
    /// Why the checkpoint file was discarded and the copy started from scratch: it was
    /// written for another target (deleted, replaced or recreated since).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_discarded: Option<String>,
}

/// Result of a copy: the summary and, with checksums, the block map.
#[derive(Debug, Clone)]
pub struct CopyReport {
    /// Counters.
    pub summary: CopySummary,
    /// CRC32 per block as read from the source (`checksums` on).
    pub block_map: Option<BlockMap>,
}

#[derive(Default)]
struct Counters {
    read: AtomicU64,
    written: AtomicU64,
    zeroed: AtomicU64,
    skipped: AtomicU64,
    resumed: AtomicU64,
    done: AtomicU64,
}

struct Tracking {
    completed: BlockSet,
    /// Completed blocks known to be on stable storage: resumed from a checkpoint or
    /// completed before a successful flush.
    durable: BlockSet,
    map: Option<BlockMap>,
}

struct Shared {
    source: Arc<dyn BlockSource>,
    sink: Arc<dyn BlockSink>,
    size: u64,
    block: u64,
    granularity: usize,
    target_zero: AtomicBool,
    counters: Counters,
    tracking: Mutex<Tracking>,
    /// Where block buffers come from (and wait for room).
    buffers: Arc<BufferBudget>,
    retries: u32,
    checksums: bool,
    /// The target the checkpoint is bound to.
    target: Option<TargetIdentity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Task {
    Copy { offset: u64, length: u64 },
    Zero { offset: u64, length: u64 },
}

impl Task {
    fn range(self) -> (u64, u64) {
        match self {
            Task::Copy { offset, length } | Task::Zero { offset, length } => (offset, length),
        }
    }
}

fn mode_name(incremental: &Option<Incremental>) -> String {
    match incremental {
        None => "full".to_owned(),
        Some(Incremental::Bitmap(name)) => format!("bitmap:{name}"),
        Some(Incremental::Ranges(ranges)) => {
            let mut hasher = crc32fast::Hasher::new();
            for range in ranges {
                hasher.update(&range.start.to_le_bytes());
                hasher.update(&range.end.to_le_bytes());
            }
            format!("ranges:{:08x}", hasher.finalize())
        }
    }
}

/// Picks the block size: a power of two within 4 KiB–32 MiB, at least both sides'
/// preferred size and at most both sides' maximum payload; raised (up to 32 MiB) so a large
/// disk stays within [`MAX_COPY_BLOCKS`].
fn block_size(requested: u32, source: &dyn BlockSource, sink: &dyn BlockSink) -> u64 {
    let (src, dst) = (source.block_sizes(), sink.block_sizes());
    let (min, max) = (MIN_BLOCK_SIZE as u32, MAX_BLOCK_SIZE as u32);
    let mut size = requested.clamp(min, max).next_power_of_two();
    size = size.max(src.preferred).max(dst.preferred).min(max);
    let maximum = src.maximum.min(dst.maximum).max(min);
    while size > maximum && size > min {
        size /= 2;
    }
    let mut size = u64::from(size);
    while source.size().div_ceil(size) > MAX_COPY_BLOCKS && size < MAX_BLOCK_SIZE {
        size *= 2;
    }
    size
}

/// Copies `source` into `sink` as `options` says; see the [module documentation](self).
pub async fn copy(
    source: Arc<dyn BlockSource>,
    sink: Arc<dyn BlockSink>,
    options: &CopyOptions,
    cancel: &CancellationToken,
) -> Result<CopyReport> {
    options.validate()?;
    let started = Instant::now();
    let size = source.size();
    if sink.size() < size {
        return Err(Error::invalid_input(format!(
            "Destination {} ({} bytes) is smaller than source {} ({size} bytes)",
            sink.describe(),
            sink.size(),
            source.describe()
        )));
    }
    for client in [source.nbd_client(), sink.nbd_client()]
        .into_iter()
        .flatten()
    {
        client.set_io_timeout(options.io_timeout);
    }
    if let Some(Incremental::Bitmap(name)) = &options.incremental {
        crate::block::require_extents(&*source, &MetaContext::DirtyBitmap(name.clone()))?;
    }
    let block = block_size(options.request_size, &*source, &*sink);
    let blocks = size.div_ceil(block);
    if blocks > MAX_COPY_BLOCKS {
        return Err(Error::invalid_input(format!(
            "Source {} of {size} bytes is too large to copy: more than {MAX_COPY_BLOCKS} blocks of {block} bytes",
            source.describe()
        )));
    }
    let mode = mode_name(&options.incremental);
    let checksums = options.checksums;

    let mut completed = BlockSet::new(blocks);
    let mut map = checksums.then(|| BlockMap::new(size, block));
    let mut block = block;
    let mut target = None;
    let mut checkpoint_discarded = None;
    if let Some(path) = &options.checkpoint {
        let current = sink.identity()?;
        let saved = Checkpoint::load(path)?;
        if let Some(saved) = &saved {
            saved.check_matches(size, &mode, path)?;
        }
        match saved.map(|saved| (saved.stale_for(current.as_ref()), saved)) {
            Some((None, saved)) => {
                // The plan follows the checkpoint's grid, whatever request size is asked now.
                block = saved.block_size;
                completed = saved.completed_set();
                if checksums {
                    map = Some(
                        saved
                            .block_map()
                            .unwrap_or_else(|| BlockMap::new(size, block)),
                    );
                }
                target = current;
                tracing::info!(
                    completed = completed.count(),
                    blocks = completed.capacity(),
                    "resuming from checkpoint {}",
                    path.display()
                );
            }
            stale => {
                if let Some((Some(why), _)) = stale {
                    tracing::warn!(
                        "discarding checkpoint {}: {why}; copying from scratch",
                        path.display()
                    );
                    checkpoint_discarded = Some(format!(
                        "Checkpoint {} was discarded: {why}",
                        path.display()
                    ));
                }
                target = bind_new_checkpoint(&*sink, size, block, &mode, path)?;
            }
        }
    }
    let resuming = completed.count() > 0;

    // Fewer requests when they are large: one copy's buffers stay within its budget.
    let requests = budget::requests_in_flight(options.requests, block);
    let mut granularity = options.sparse_granularity as usize;
    if granularity > 0 {
        granularity = granularity.max(sink.block_sizes().minimum as usize);
    }
    let shared = Arc::new(Shared {
        source: source.clone(),
        sink: sink.clone(),
        size,
        block,
        granularity,
        target_zero: AtomicBool::new(options.target_is_zero || sink.is_zero_initialized()),
        counters: Counters::default(),
        tracking: Mutex::new(Tracking {
            durable: completed.clone(),
            completed,
            map,
        }),
        buffers: options
            .buffers
            .clone()
            .unwrap_or_else(|| Arc::new(BufferBudget::new(requests as u64 * block))),
        retries: options.retries.max(1),
        checksums,
        target,
    });

    if options.zero_target_first
        && options.incremental.is_none()
        && !resuming
        && !shared.target_zero.load(Ordering::Relaxed)
        && sink.can_write_zeroes()
        && size > 0
    {
        let fast = ZeroFlags {
            fast: true,
            no_hole: false,
        };
        match sink.write_zeroes(0, size, fast).await {
            Ok(()) => {
                tracing::debug!("target zeroed with one fast zero request");
                shared.target_zero.store(true, Ordering::Relaxed);
            }
            Err(e) if e.kind() == ErrorKind::Unsupported => {}
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => tracing::debug!("fast zero of the whole target failed: {e}"),
        }
    }

    let mut reconnects_left = options.reconnects;
    let lanes = options
        .lanes
        .then(|| lane::clients(&*source, &*sink))
        .flatten();
    let outcome = loop {
        let outcome = match lanes {
            Some((from, to)) => {
                let _reporter = spawn_reporter(&shared, options, started);
                lane::pass(&shared, from, to, options, requests, &mode, cancel).await
            }
            None => pass(&shared, options, requests, &mode, cancel, started).await,
        };
        match outcome {
            Err(error) if reconnects_left > 0 && lost_connection(&error, cancel) => {
                reconnects_left -= 1;
                tracing::warn!("{error}; reconnecting");
                // Before reopening anything: a flush only vouches for writes acknowledged by
                // the server instance it reaches, and a restarted one may have lost them.
                reconnect::rewind(&shared).await;
                if let Err(failed) = reconnect::reopen(&shared, cancel).await {
                    tracing::warn!("cannot reconnect: {failed}");
                    break Err(error);
                }
            }
            other => break other,
        }
    };
    let outcome = match outcome {
        Ok(()) => finish(&shared, options, &mode).await,
        Err(error) => {
            if options.checkpoint.is_some() {
                save_checkpoint(&shared, options, &mode, false).await;
            }
            Err(error)
        }
    };
    if let Some(callback) = &options.progress {
        callback(&progress_of(&shared, started));
    }
    outcome?;

    let seconds = started.elapsed().as_secs_f64();
    let c = &shared.counters;
    let summary = CopySummary {
        bytes_total: size,
        bytes_read: c.read.load(Ordering::Relaxed),
        bytes_written: c.written.load(Ordering::Relaxed),
        bytes_zeroed: c.zeroed.load(Ordering::Relaxed),
        bytes_skipped: c.skipped.load(Ordering::Relaxed),
        bytes_resumed: c.resumed.load(Ordering::Relaxed),
        seconds,
        mib_per_s: size as f64 / (1024.0 * 1024.0) / seconds.max(1e-9),
        request_size: block as u32,
        requests,
        checkpoint_discarded,
    };
    let block_map = lock(&shared.tracking).map.clone();
    Ok(CopyReport { summary, block_map })
}

/// Starts a new checkpoint at `path` for a copy from scratch: marks the sink with a fresh
/// generation (where it can store one) and saves an empty checkpoint bound to the sink's
/// identity at once, so a stale file never outlives this point. Returns that identity.
fn bind_new_checkpoint(
    sink: &dyn BlockSink,
    size: u64,
    block: u64,
    mode: &str,
    path: &std::path::Path,
) -> Result<Option<TargetIdentity>> {
    let generation = uuid::Uuid::new_v4().simple().to_string();
    if !sink.mark_generation(&generation)? {
        tracing::debug!(
            "{} cannot store a checkpoint generation; binding by identity only",
            sink.describe()
        );
    }
    let target = sink.identity()?;
    let empty = BlockSet::new(size.div_ceil(block));
    Checkpoint::new(size, block, mode, &empty, None, false)
        .bound_to(target.clone())
        .save(path)?;
    Ok(target)
}

/// One run of planner and executor over the blocks not yet completed.
async fn pass(
    shared: &Arc<Shared>,
    options: &CopyOptions,
    requests: usize,
    mode: &str,
    cancel: &CancellationToken,
    started: Instant,
) -> Result<()> {
    let (tx, rx) = mpsc::channel(requests * 2);
    let planner_shared = shared.clone();
    let incremental = options.incremental.clone();
    let work_size = options.work_size.max(shared.block) / shared.block * shared.block;
    let stop = cancel.child_token();
    let planner_stop = stop.clone();
    // Both helper tasks end with this pass even when its future is dropped mid-way (the
    // caller was cancelled): a reporter left running would call the progress callback, and
    // keep whatever it holds alive, forever.
    let mut planner = AbortOnDropHandle::new(tokio::spawn(async move {
        tokio::select! {
            _ = planner_stop.cancelled() => {}
            _ = plan(planner_shared, incremental, work_size, tx) => {}
        }
    }));
    let _reporter = spawn_reporter(shared, options, started);
    let outcome = execute(shared, rx, requests, options, mode, &stop, cancel).await;
    stop.cancel();
    planner.abort();
    let _ = (&mut planner).await;
    outcome
}

/// Calls the progress callback every `progress_interval` until the handle is dropped.
fn spawn_reporter(
    shared: &Arc<Shared>,
    options: &CopyOptions,
    started: Instant,
) -> Option<AbortOnDropHandle<()>> {
    let callback = options.progress.clone()?;
    let shared = shared.clone();
    let interval = options.progress_interval;
    Some(AbortOnDropHandle::new(tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            callback(&progress_of(&shared, started));
        }
    })))
}

/// Whether `error` means a connection is gone (and reconnecting may help).
fn lost_connection(error: &Error, cancel: &CancellationToken) -> bool {
    !cancel.is_cancelled()
        && error.is_fatal()
        && matches!(
            error.kind(),
            ErrorKind::Disconnected | ErrorKind::Io | ErrorKind::Protocol | ErrorKind::Timeout
        )
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

fn progress_of(shared: &Shared, started: Instant) -> Progress {
    let done = shared.counters.done.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
    let left = shared.size.saturating_sub(done);
    let eta = (rate > 0.0).then(|| Duration::from_secs_f64(left as f64 / rate));
    let read = shared.counters.read.load(Ordering::Relaxed);
    Progress {
        bytes_done: done,
        bytes_total: shared.size,
        bytes_read: read,
        bytes_per_second: rate,
        read_bytes_per_second: read as f64 / elapsed.as_secs_f64().max(1e-9),
        eta,
        elapsed,
    }
}

async fn finish(shared: &Shared, options: &CopyOptions, mode: &str) -> Result<()> {
    if options.flush {
        shared.sink.flush().await?;
    }
    if let Some(path) = &options.checkpoint {
        let tracking = lock(&shared.tracking);
        Checkpoint::new(
            shared.size,
            shared.block,
            mode,
            &tracking.completed,
            tracking.map.as_ref(),
            true,
        )
        .bound_to(shared.target.clone())
        .save(path)?;
    }
    Ok(())
}

/// Flushes, then records the blocks completed before the flush. Best effort when called
/// after a failure: if the flush fails, the previous checkpoint stays.
async fn save_checkpoint(
    shared: &Shared,
    options: &CopyOptions,
    mode: &str,
    strict: bool,
) -> Option<Error> {
    let completed = match flush_durable(shared).await {
        Ok(completed) => completed,
        Err(error) => {
            tracing::warn!("not updating the checkpoint, flush failed: {error}");
            return strict.then_some(error);
        }
    };
    let path = options.checkpoint.as_ref()?;
    // CRCs of completed blocks never change, so a map taken after the flush fits them.
    let map = lock(&shared.tracking).map.clone();
    let checkpoint = Checkpoint::new(
        shared.size,
        shared.block,
        mode,
        &completed,
        map.as_ref(),
        false,
    )
    .bound_to(shared.target.clone());
    match checkpoint.save(path) {
        Ok(()) => None,
        Err(error) => {
            tracing::warn!("cannot save checkpoint: {error}");
            strict.then_some(error)
        }
    }
}

/// Flushes the target; once that succeeds, every block completed before it is durable.
/// Returns those blocks.
async fn flush_durable(shared: &Shared) -> Result<BlockSet> {
    let completed = lock(&shared.tracking).completed.clone();
    shared.sink.flush().await?;
    lock(&shared.tracking).durable = completed.clone();
    Ok(completed)
}

async fn execute(
    shared: &Arc<Shared>,
    mut rx: mpsc::Receiver<Result<Task>>,
    requests: usize,
    options: &CopyOptions,
    mode: &str,
    stop: &CancellationToken,
    cancel: &CancellationToken,
) -> Result<()> {
    let permits = Arc::new(Semaphore::new(requests));
    let mut running: JoinSet<Result<()>> = JoinSet::new();
    let mut next_save = Instant::now() + options.checkpoint_interval;
    let periodic = shared.flushes_periodically(options);
    let mut failure: Option<Error> = None;
    loop {
        let task = tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                failure = Some(Error::cancelled());
                break;
            }
            Some(joined) = running.join_next(), if !running.is_empty() => {
                if let Some(error) = joined_error(joined) {
                    failure = Some(error);
                    break;
                }
                continue;
            }
            task = rx.recv() => task,
        };
        let Some(task) = task else { break };
        let task = match task {
            Ok(task) => task,
            Err(error) => {
                failure = Some(error);
                break;
            }
        };
        let permit = tokio::select! {
            _ = cancel.cancelled() => {
                failure = Some(Error::cancelled());
                break;
            }
            permit = permits.clone().acquire_owned() => permit.expect("semaphore never closed"),
        };
        let task_shared = shared.clone();
        running.spawn(async move {
            let result = run_with_retries(&task_shared, task).await;
            drop(permit);
            result
        });
        if periodic && Instant::now() >= next_save {
            if let Some(error) = save_checkpoint(shared, options, mode, true).await {
                failure = Some(error);
                break;
            }
            next_save = Instant::now() + options.checkpoint_interval;
        }
    }
    if failure.is_some() {
        stop.cancel();
        running.abort_all();
    }
    while let Some(joined) = running.join_next().await {
        if let (None, Some(error)) = (&failure, joined_error(joined)) {
            failure = Some(error);
        }
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

fn joined_error(joined: std::result::Result<Result<()>, tokio::task::JoinError>) -> Option<Error> {
    match joined {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error),
        Err(join) if join.is_cancelled() => None,
        Err(join) => Some(Error::new(ErrorKind::Io, "Copy task failed").with_source(join)),
    }
}

fn retryable(error: &Error) -> bool {
    error.is_recoverable()
        && matches!(
            error.kind(),
            ErrorKind::Io | ErrorKind::Server | ErrorKind::Timeout
        )
}

async fn run_with_retries(shared: &Shared, task: Task) -> Result<()> {
    let mut attempt = 1;
    loop {
        match run(shared, task).await {
            Ok(()) => break,
            Err(error) if retryable(&error) && attempt < shared.retries => {
                tracing::warn!("retrying after recoverable error: {error}");
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
    shared.record_done(task);
    Ok(())
}

impl Shared {
    /// Whether completed blocks are flushed and noted durable every checkpoint interval:
    /// for a checkpoint file, and for a sink whose lost connection may be reopened (a file
    /// sink outlives a source's loss and is flushed then).
    fn flushes_periodically(&self, options: &CopyOptions) -> bool {
        options.checkpoint.is_some() || (options.reconnects > 0 && self.sink.can_reconnect())
    }

    /// Counts `task` as done and marks its blocks completed (zero blocks get their CRC).
    fn record_done(&self, task: Task) {
        let (offset, length) = task.range();
        self.counters.done.fetch_add(length, Ordering::Relaxed);
        let first = offset / self.block;
        let end = (offset + length).div_ceil(self.block);
        let mut tracking = lock(&self.tracking);
        tracking.completed.insert_range(first, end);
        if let (Task::Zero { .. }, Some(map)) = (task, tracking.map.as_mut()) {
            let full = zero_crc(self.block);
            for block in first..end {
                let (start, stop) = map.range(block);
                let crc = if stop - start == self.block {
                    full
                } else {
                    zero_crc(stop - start)
                };
                map.set(block, crc);
            }
        }
    }

    /// Records the CRC of a block read at `offset` (with checksums on) and splits `buf` into
    /// runs of data and zeroes `(start, end, is_zero)` to write.
    fn runs_of(&self, offset: u64, buf: &[u8]) -> Vec<(usize, usize, bool)> {
        if self.checksums {
            let crc = crc32fast::hash(buf);
            if let Some(map) = lock(&self.tracking).map.as_mut() {
                map.set(offset / self.block, crc);
            }
        }
        if self.granularity == 0 {
            vec![(0, buf.len(), false)]
        } else if zero::is_zero(buf) {
            vec![(0, buf.len(), true)]
        } else {
            zero::zero_runs(buf, self.granularity)
        }
    }

    async fn zero(&self, offset: u64, length: u64) -> Result<()> {
        if self.target_zero.load(Ordering::Relaxed) {
            self.counters.skipped.fetch_add(length, Ordering::Relaxed);
            return Ok(());
        }
        self.sink
            .write_zeroes(offset, length, ZeroFlags::default())
            .await?;
        self.counters.zeroed.fetch_add(length, Ordering::Relaxed);
        Ok(())
    }
}

async fn run(shared: &Shared, task: Task) -> Result<()> {
    let (offset, length) = match task {
        Task::Zero { offset, length } => return shared.zero(offset, length).await,
        Task::Copy { offset, length } => (offset, length),
    };
    // Contents are overwritten by the read; only the length matters.
    let (buf, lease) = shared.buffers.take(length as usize).await;
    let buf = shared.source.read_owned(offset, buf).await?;
    shared.counters.read.fetch_add(length, Ordering::Relaxed);
    let runs = shared.runs_of(offset, &buf);
    if let [(_, _, false)] = runs.as_slice() {
        let buf = shared.sink.write_owned(offset, buf).await?;
        shared.counters.written.fetch_add(length, Ordering::Relaxed);
        lease.give_back(buf);
        return Ok(());
    }
    for (start, end, is_zero) in runs {
        let at = offset + start as u64;
        let len = (end - start) as u64;
        if is_zero {
            shared.zero(at, len).await?;
        } else {
            shared.sink.write_at(at, &buf[start..end]).await?;
            shared.counters.written.fetch_add(len, Ordering::Relaxed);
        }
    }
    lease.give_back(buf);
    Ok(())
}

#[cfg(test)]
mod lane_tests;
#[cfg(test)]
mod tests;
