//! Pipeline tests over in-memory disks and the fault-injecting test NBD server (a mock
//! server, for fault injection; real servers are in `tests/`).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::verify::{VerifyOptions, VerifyReport, verify};
use super::*;
use crate::block::{BlockSizes, check_range};
use crate::nbd::server::{Faults, ServerConfig, TestServer};
use crate::nbd::{ConnectOptions, NbdClient};

pub(super) struct MemDisk(pub(super) Mutex<Vec<u8>>);

#[async_trait]
impl BlockSource for MemDisk {
    fn size(&self) -> u64 {
        self.0.lock().unwrap().len() as u64
    }
    async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len() as u64, BlockSource::size(self))?;
        let data = self.0.lock().unwrap();
        buf.copy_from_slice(&data[offset as usize..offset as usize + buf.len()]);
        Ok(())
    }
}

#[async_trait]
impl BlockSink for MemDisk {
    fn size(&self) -> u64 {
        self.0.lock().unwrap().len() as u64
    }
    fn block_sizes(&self) -> BlockSizes {
        BlockSizes::DEFAULT
    }
    async fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        check_range(offset, buf.len() as u64, BlockSink::size(self))?;
        let mut data = self.0.lock().unwrap();
        data[offset as usize..offset as usize + buf.len()].copy_from_slice(buf);
        Ok(())
    }
}

/// 1 MiB-periodic pattern: zero runs of various lengths between data.
pub(super) fn pattern(size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| {
            let block = i / 4096;
            if block % 5 == 0 || (block / 64) % 3 == 0 {
                0
            } else {
                (i % 253) as u8 + 1
            }
        })
        .collect()
}

/// Test servers: a source holding `data` and a destination of the same size filled with
/// `fill`.
pub(super) async fn servers(data: &[u8], fill: u8) -> (TestServer, TestServer) {
    let src = TestServer::start(ServerConfig::default(), data.to_vec())
        .await
        .unwrap();
    let dst = TestServer::start(ServerConfig::default(), vec![fill; data.len()])
        .await
        .unwrap();
    (src, dst)
}

pub(super) fn options() -> CopyOptions {
    CopyOptions {
        request_size: 64 * 1024,
        requests: 8,
        work_size: 1 << 20,
        ..CopyOptions::default()
    }
}

pub(super) async fn nbd(server: &TestServer) -> Arc<NbdClient> {
    Arc::new(
        NbdClient::connect_uri(
            &server.uri(),
            &ConnectOptions {
                connections: 2,
                contexts: vec![MetaContext::BaseAllocation],
                ..Default::default()
            },
        )
        .await
        .unwrap(),
    )
}

/// Copies all of `source` to `sink` with `options`, uncancelled; the copy must succeed.
pub(super) async fn copy_all(
    source: Arc<dyn BlockSource>,
    sink: Arc<dyn BlockSink>,
    options: &CopyOptions,
) -> CopyReport {
    copy(source, sink, options, &CancellationToken::new())
        .await
        .unwrap()
}

/// Compares `source` with `target` (over `map`'s blocks when given) with the default options.
async fn verify_all(
    source: Arc<dyn BlockSource>,
    target: Arc<dyn BlockSource>,
    map: Option<&BlockMap>,
) -> VerifyReport {
    verify(
        source,
        target,
        map,
        &VerifyOptions::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn memory_to_memory_copies_exactly_and_counts() {
    let data = pattern(3 * 1024 * 1024 + 4000);
    let source = Arc::new(MemDisk(Mutex::new(data.clone())));
    let sink = Arc::new(MemDisk(Mutex::new(vec![0xee; data.len()])));
    let report = copy_all(
        source,
        sink.clone(),
        &CopyOptions {
            checksums: true,
            ..options()
        },
    )
    .await;
    assert_eq!(*sink.0.lock().unwrap(), data);
    let s = report.summary;
    assert_eq!(s.bytes_total, data.len() as u64);
    assert_eq!(
        s.bytes_read,
        data.len() as u64,
        "no extents: everything read"
    );
    assert_eq!(s.bytes_written + s.bytes_zeroed, data.len() as u64);
    assert!(s.bytes_zeroed > 0);
    let map = report.block_map.unwrap();
    assert_eq!(map.get(0), Some(crc32fast::hash(&data[..65536])));
}

#[tokio::test]
async fn nbd_to_nbd_writes_zero_runs_without_zeroing_the_target_first() {
    let data = pattern(4 << 20);
    let (src, dst) = servers(&data, 0xff).await;
    let report = copy_all(nbd(&src).await, nbd(&dst).await, &options()).await;
    assert_eq!(dst.data(), data);
    let s = &report.summary;
    assert_eq!(
        s.bytes_skipped, 0,
        "the target was not known to be zero: {s:?}"
    );
    assert!(
        s.bytes_zeroed > 0,
        "zero runs became zeroing requests: {s:?}"
    );
    assert_eq!(s.bytes_written + s.bytes_zeroed, data.len() as u64, "{s:?}");
}

#[tokio::test]
async fn nbd_to_nbd_uses_extents_fast_zero_and_verifies() {
    let data = pattern(4 << 20);
    let src = TestServer::start(
        ServerConfig {
            chunk_size: 12_288,
            ..Default::default()
        },
        data.clone(),
    )
    .await
    .unwrap();
    let dst = TestServer::start(ServerConfig::default(), vec![0xff; 4 << 20])
        .await
        .unwrap();
    src.set_faults(Faults {
        delay: Some(Duration::from_millis(2)),
        ..Default::default()
    });
    let source = nbd(&src).await;
    let sink = nbd(&dst).await;
    let report = copy_all(
        source.clone(),
        sink.clone(),
        &CopyOptions {
            checksums: true,
            zero_target_first: true,
            ..options()
        },
    )
    .await;
    assert_eq!(dst.data(), data);
    let s = &report.summary;
    assert!(
        s.bytes_skipped > 0,
        "target fast-zeroed, zero blocks skipped: {s:?}"
    );
    assert!(
        s.bytes_read < data.len() as u64,
        "zero extents not read: {s:?}"
    );
    assert_eq!(s.bytes_zeroed, 0);

    let verified = verify_all(source.clone(), sink.clone(), report.block_map.as_ref()).await;
    assert!(verified.is_identical(), "{verified:?}");
    assert_eq!(verified.bytes_checked, data.len() as u64);
    sink.write(70 * 1024, vec![1; 1024]).await.unwrap();
    let verified = verify_all(source, sink, report.block_map.as_ref()).await;
    assert_eq!(verified.blocks_mismatched, 1);
    assert_eq!(verified.mismatches, vec![(65536, 65536)]);
}

#[tokio::test]
async fn incremental_copies_only_dirty_ranges() {
    let data = pattern(2 << 20);
    let dirty = vec![(100_000, 5000), (1_500_000, 70_000)];
    let src = TestServer::start(
        ServerConfig {
            bitmap: Some(("b0".into(), dirty.clone())),
            max_extents: 3,
            ..Default::default()
        },
        data.clone(),
    )
    .await
    .unwrap();
    let source = Arc::new(
        NbdClient::connect_uri(
            &src.uri(),
            &ConnectOptions {
                contexts: vec![
                    MetaContext::BaseAllocation,
                    MetaContext::DirtyBitmap("b0".into()),
                ],
                ..Default::default()
            },
        )
        .await
        .unwrap(),
    );
    let old = vec![0x55u8; 2 << 20];
    for incremental in [
        Incremental::Bitmap("b0".into()),
        Incremental::Ranges(dirty.iter().map(|&(s, l)| s..s + l).collect()),
    ] {
        let sink = Arc::new(MemDisk(Mutex::new(old.clone())));
        let report = copy_all(
            source.clone(),
            sink.clone(),
            &CopyOptions {
                incremental: Some(incremental),
                ..options()
            },
        )
        .await;
        let result = sink.0.lock().unwrap().clone();
        let block = 65536;
        for (i, (got, old)) in result.chunks(block).zip(old.chunks(block)).enumerate() {
            let (start, end) = ((i * block) as u64, ((i + 1) * block) as u64);
            let touched = dirty.iter().any(|&(s, l)| s < end && s + l > start);
            if touched {
                assert_eq!(got, &data[i * block..(i + 1) * block], "block {i}");
            } else {
                assert_eq!(got, old, "block {i} must be untouched");
            }
        }
        let s = &report.summary;
        assert_eq!(s.bytes_skipped, (2 << 20) - 3 * 65536, "{s:?}");
        assert!(s.bytes_read <= 3 * 65536, "{s:?}");
    }
    let missing = copy(
        source,
        Arc::new(MemDisk(Mutex::new(old))),
        &CopyOptions {
            incremental: Some(Incremental::Bitmap("nope".into())),
            ..options()
        },
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn disconnect_mid_copy_resumes_to_identical_image() {
    let data = pattern(8 << 20);
    let (src, dst) = servers(&data, 0xab).await;
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("copy.ckpt");
    let opts = CopyOptions {
        checkpoint: Some(checkpoint.clone()),
        checkpoint_interval: Duration::ZERO,
        checksums: true,
        requests: 4,
        reconnects: 0,
        ..options()
    };
    dst.set_faults(Faults {
        drop_at: Some(5 << 20),
        ..Default::default()
    });
    let error = copy(
        nbd(&src).await,
        nbd(&dst).await,
        &opts,
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(error.is_fatal(), "{error}");
    let saved = Checkpoint::load(&checkpoint).unwrap().unwrap();
    assert!(!saved.complete);
    assert!(
        saved.completed_set().count() > 0,
        "progress was checkpointed"
    );

    let report = copy_all(nbd(&src).await, nbd(&dst).await, &opts).await;
    assert_eq!(dst.data(), data);
    let s = report.summary;
    assert!(s.bytes_resumed > 0, "{s:?}");
    assert!(s.bytes_read + s.bytes_resumed <= data.len() as u64, "{s:?}");
    assert!(Checkpoint::load(&checkpoint).unwrap().unwrap().complete);
    let verified = verify_all(nbd(&src).await, nbd(&dst).await, report.block_map.as_ref()).await;
    assert!(
        verified.is_identical(),
        "block map survives the resume: {verified:?}"
    );
}

#[tokio::test]
async fn lost_connections_are_reopened_and_the_copy_ends_identical() {
    let data = pattern(8 << 20);
    let (src, dst) = servers(&data, 0xab).await;
    src.set_faults(Faults {
        drop_at: Some(3 << 20),
        ..Default::default()
    });
    dst.set_faults(Faults {
        drop_at: Some(6 << 20),
        ..Default::default()
    });
    let (source, sink) = (nbd(&src).await, nbd(&dst).await);
    let report = copy_all(
        source.clone(),
        sink.clone(),
        &CopyOptions {
            checksums: true,
            requests: 4,
            checkpoint_interval: Duration::from_millis(1),
            ..options()
        },
    )
    .await;
    assert_eq!(dst.data(), data);
    assert!(src.connections() >= 2 && dst.connections() >= 2);
    let verified = verify_all(source, sink, report.block_map.as_ref()).await;
    assert!(verified.is_identical(), "{verified:?}");
}

#[tokio::test]
async fn without_reconnects_a_lost_connection_ends_the_copy() {
    let data = pattern(4 << 20);
    let (src, dst) = servers(&data, 0).await;
    src.set_faults(Faults {
        drop_at: Some(1 << 20),
        ..Default::default()
    });
    let error = copy(
        nbd(&src).await,
        nbd(&dst).await,
        &CopyOptions {
            reconnects: 0,
            ..options()
        },
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(error.is_fatal(), "{error}");
}

#[tokio::test]
async fn sources_that_cannot_reconnect_fail_with_the_original_error() {
    struct Failing;
    #[async_trait]
    impl BlockSource for Failing {
        fn size(&self) -> u64 {
            1 << 20
        }
        async fn read_at(&self, _offset: u64, _buf: &mut [u8]) -> Result<()> {
            Err(Error::disconnected("Gone").into_fatal())
        }
    }
    let sink = Arc::new(MemDisk(Mutex::new(vec![0; 1 << 20])));
    let error = copy(
        Arc::new(Failing),
        sink,
        &options(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Disconnected, "{error}");
}

#[tokio::test]
async fn recoverable_errors_are_retried_and_cancellation_stops() {
    let data = pattern(1 << 20);
    let src = TestServer::start(ServerConfig::default(), data.clone())
        .await
        .unwrap();
    src.set_faults(Faults {
        error_at: Some((300_000, 5, 2)),
        ..Default::default()
    });
    let sink = Arc::new(MemDisk(Mutex::new(vec![0; 1 << 20])));
    copy_all(nbd(&src).await, sink.clone(), &options()).await;
    assert_eq!(*sink.0.lock().unwrap(), data);

    src.set_faults(Faults {
        error_at: Some((300_000, 5, 100)),
        ..Default::default()
    });
    let error = copy(
        nbd(&src).await,
        sink.clone(),
        &options(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Server);

    let cancel = CancellationToken::new();
    cancel.cancel();
    let error = copy(nbd(&src).await, sink, &options(), &cancel)
        .await
        .unwrap_err();
    assert!(error.is_cancelled());
}

#[tokio::test]
async fn progress_reaches_the_total_and_checkpoint_mismatch_is_refused() {
    let data = pattern(1 << 20);
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink_events = events.clone();
    let dir = tempfile::tempdir().unwrap();
    let opts = CopyOptions {
        progress: Some(Arc::new(move |p: &Progress| {
            sink_events.lock().unwrap().push(*p)
        })),
        progress_interval: Duration::from_millis(1),
        checkpoint: Some(dir.path().join("c")),
        ..options()
    };
    let source = Arc::new(MemDisk(Mutex::new(data.clone())));
    let sink = Arc::new(MemDisk(Mutex::new(vec![0; 1 << 20])));
    copy_all(source, sink, &opts).await;
    let last = *events.lock().unwrap().last().unwrap();
    assert_eq!(last.bytes_done, 1 << 20);
    assert_eq!(last.bytes_total, 1 << 20);

    let other = Arc::new(MemDisk(Mutex::new(vec![0; 2 << 20])));
    let error = copy(other.clone(), other, &opts, &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
}

/// A server that stops answering mid-copy: the idle timeout ends the connection, the copy
/// reconnects and ends identical, with lanes and without.
#[tokio::test]
async fn a_hung_server_times_out_and_the_copy_reconnects() {
    for lanes in [true, false] {
        let data = pattern(4 << 20);
        let (src, dst) = servers(&data, 0xab).await;
        src.set_faults(Faults {
            stall_at: Some(1 << 20),
            ..Default::default()
        });
        dst.set_faults(Faults {
            stall_at: Some(3 << 20),
            ..Default::default()
        });
        let started = std::time::Instant::now();
        copy_all(
            nbd(&src).await,
            nbd(&dst).await,
            &CopyOptions {
                io_timeout: Duration::from_millis(300),
                lanes,
                ..options()
            },
        )
        .await;
        assert_eq!(dst.data(), data, "lanes: {lanes}");
        assert!(src.connections() >= 3 && dst.connections() >= 3);
        assert!(started.elapsed() < Duration::from_secs(20));
    }
}

/// A checkpoint is bound to the file it was written for: once that file is deleted and
/// made again, or recreated in place, the checkpoint is discarded (with the reason in the
/// summary) and the copy starts from scratch; the same file resumes.
#[tokio::test]
async fn a_checkpoint_for_a_replaced_target_is_discarded() {
    use crate::local::LocalDisk;
    let data = pattern(2 << 20);
    let dir = tempfile::tempdir().unwrap();
    let (image, checkpoint) = (dir.path().join("dst.img"), dir.path().join("dst.ckpt"));
    let opts = CopyOptions {
        checkpoint: Some(checkpoint.clone()),
        ..options()
    };
    let source = Arc::new(MemDisk(Mutex::new(data.clone())));
    let run = |sink: LocalDisk| {
        let (source, opts) = (source.clone(), opts.clone());
        async move { copy_all(source, Arc::new(sink), &opts).await.summary }
    };
    let first = run(LocalDisk::create(&image, data.len() as u64).unwrap()).await;
    assert_eq!(first.checkpoint_discarded, None);
    assert_eq!(std::fs::read(&image).unwrap(), data);

    // The same file: the complete checkpoint is trusted, nothing is copied again.
    let again = run(LocalDisk::open_writable(&image).unwrap()).await;
    assert_eq!(again.checkpoint_discarded, None);
    assert_eq!(again.bytes_read, 0);

    // Deleted and made again (what a user's `rm` and a rerun do).
    std::fs::remove_file(&image).unwrap();
    let fresh = run(LocalDisk::create(&image, data.len() as u64).unwrap()).await;
    let why = fresh
        .checkpoint_discarded
        .expect("stale checkpoint discarded");
    assert!(why.contains("dst.ckpt"), "{why}");
    assert_eq!(std::fs::read(&image).unwrap(), data);

    // Recreated in place: same inode, contents gone.
    let truncated = run(LocalDisk::create(&image, data.len() as u64).unwrap()).await;
    assert!(truncated.checkpoint_discarded.is_some());
    assert_eq!(std::fs::read(&image).unwrap(), data);

    // Replaced by another file moved over it.
    let other = dir.path().join("other.img");
    std::fs::write(&other, vec![0u8; data.len()]).unwrap();
    std::fs::rename(&other, &image).unwrap();
    let replaced = run(LocalDisk::open_writable(&image).unwrap()).await;
    assert!(replaced.checkpoint_discarded.is_some());
    assert_eq!(std::fs::read(&image).unwrap(), data);
}

#[tokio::test]
async fn huge_sources_raise_the_block_size_to_stay_within_the_block_limit() {
    struct Huge;
    #[async_trait]
    impl BlockSource for Huge {
        fn size(&self) -> u64 {
            1 << 62
        }
        async fn read_at(&self, _: u64, _: &mut [u8]) -> Result<()> {
            Ok(())
        }
    }
    let sink = Arc::new(MemDisk(Mutex::new(Vec::new())));
    assert_eq!(block_size(4096, &Huge, &*sink), MAX_BLOCK_SIZE);
    // 2^62 bytes is more than 2^30 blocks of 32 MiB: refused before anything is allocated.
    struct Sink;
    #[async_trait]
    impl BlockSink for Sink {
        fn size(&self) -> u64 {
            1 << 62
        }
        async fn write_at(&self, _: u64, _: &[u8]) -> Result<()> {
            Ok(())
        }
    }
    let error = copy(
        Arc::new(Huge),
        Arc::new(Sink),
        &options(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("too large"), "{error}");
}

/// One check of the caller's options, which `copy` applies before touching either disk:
/// the values it refuses are the ones the CLI and the Python bindings refuse.
#[tokio::test]
async fn copy_refuses_invalid_options_and_writes_nothing() {
    let invalid = [
        (
            "request_size (--request-size) 1000",
            CopyOptions {
                request_size: 1000,
                ..options()
            },
        ),
        (
            "request_size (--request-size) 2048",
            CopyOptions {
                request_size: 2048,
                ..options()
            },
        ),
        (
            "request_size (--request-size) 67108864",
            CopyOptions {
                request_size: 64 << 20,
                ..options()
            },
        ),
        (
            "requests (--requests) 0",
            CopyOptions {
                requests: 0,
                ..options()
            },
        ),
        (
            "sparse_granularity (--sparse) 1000",
            CopyOptions {
                sparse_granularity: 1000,
                ..options()
            },
        ),
        (
            "sparse_granularity (--sparse) 256",
            CopyOptions {
                sparse_granularity: 256,
                ..options()
            },
        ),
    ];
    for (expected, options) in invalid {
        let source = Arc::new(MemDisk(Mutex::new(vec![1; 1 << 16])));
        let sink = Arc::new(MemDisk(Mutex::new(vec![0; 1 << 16])));
        let error = copy(source, sink.clone(), &options, &CancellationToken::new())
            .await
            .expect_err(expected);
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
        assert!(error.to_string().starts_with(expected), "{error}");
        assert!(sink.0.lock().unwrap().iter().all(|&b| b == 0), "{expected}");
    }
    for valid in [
        CopyOptions {
            request_size: 4096,
            sparse_granularity: 0,
            ..options()
        },
        CopyOptions {
            request_size: 32 << 20,
            sparse_granularity: 512,
            ..options()
        },
        CopyOptions::default(),
    ] {
        valid.validate().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_sharing_a_budget_smaller_than_their_requests_copy_exactly() {
    // Four copies of 8 requests × 64 KiB each share room for three buffers in all.
    let budget = Arc::new(BufferBudget::new(3 * 64 * 1024));
    let mut copies = tokio::task::JoinSet::new();
    for i in 0..4 {
        let data = pattern(1024 * 1024 + i * 4096);
        let source = Arc::new(MemDisk(Mutex::new(data.clone())));
        let sink = Arc::new(MemDisk(Mutex::new(vec![0xee; data.len()])));
        let options = CopyOptions {
            buffers: Some(budget.clone()),
            ..options()
        };
        copies.spawn(async move {
            copy(source, sink.clone(), &options, &CancellationToken::new())
                .await
                .unwrap();
            assert!(*sink.0.lock().unwrap() == data, "copy {i} differs");
        });
    }
    while let Some(done) = copies.join_next().await {
        done.unwrap();
    }
    // Kept for reuse, within the limit.
    assert!(budget.held() > 0 && budget.held() <= budget.limit());
}

#[tokio::test]
async fn a_block_cancelled_while_waiting_for_buffers_leaves_the_budget_whole() {
    // The waiter is promised the free MiB while it queues for two (a fair queue); aborting
    // it (a copy cancelled) must hand that MiB back, or the budget shrinks for good.
    const MIB: usize = 1024 * 1024;
    let budget = Arc::new(BufferBudget::new(4 * MIB as u64));
    let (buf, lease) = budget.take(3 * MIB).await;
    let waiter = tokio::spawn({
        let budget = budget.clone();
        async move { budget.take(2 * MIB).await }
    });
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    waiter.abort();
    assert!(waiter.await.unwrap_err().is_cancelled());
    lease.give_back(buf);
    let whole = tokio::time::timeout(std::time::Duration::from_secs(10), budget.take(4 * MIB));
    let (buf, _lease) = whole
        .await
        .expect("the cancelled wait kept part of the budget");
    assert_eq!(buf.len(), 4 * MIB);
}

/// A memory sink that records the ranges reserved ahead of the writes.
struct Reserving {
    disk: MemDisk,
    reserved: Mutex<Vec<(u64, u64)>>,
}

impl Reserving {
    fn check_reserved(&self, offset: u64, length: u64) {
        let reserved = self.reserved.lock().unwrap();
        let end = offset + length;
        assert!(
            reserved
                .iter()
                .any(|&(at, length)| at <= offset && end <= at + length),
            "write {offset:#x}..{end:#x} was not reserved first: {reserved:x?}"
        );
    }
}

#[async_trait]
impl BlockSink for Reserving {
    fn size(&self) -> u64 {
        BlockSink::size(&self.disk)
    }
    async fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.check_reserved(offset, buf.len() as u64);
        self.disk.write_at(offset, buf).await
    }
    async fn reserve(&self, offset: u64, length: u64) -> Result<()> {
        self.reserved.lock().unwrap().push((offset, length));
        Ok(())
    }
    fn is_zero_initialized(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn each_run_of_data_is_reserved_once_before_it_is_written() {
    const MIB: u64 = 1 << 20;
    // Data at 0..1 MiB and 3..5 MiB (with a zero page inside), holes elsewhere.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src.raw");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(8 * MIB).unwrap();
    let data = vec![0x3c; MIB as usize];
    use std::os::unix::fs::FileExt;
    file.write_all_at(&data, 0).unwrap();
    file.write_all_at(&data, 3 * MIB).unwrap();
    file.write_all_at(&data, 4 * MIB).unwrap();
    file.write_all_at(&[0; 4096], 3 * MIB + 8192).unwrap();
    let sink = Arc::new(Reserving {
        disk: MemDisk(Mutex::new(vec![0; (8 * MIB) as usize])),
        reserved: Mutex::default(),
    });
    let source = Arc::new(crate::local::LocalDisk::open(&path).unwrap());
    let options = CopyOptions {
        work_size: 8 * MIB,
        ..options()
    };
    copy_all(source, sink.clone(), &options).await;
    assert_eq!(
        *sink.reserved.lock().unwrap(),
        [(0, MIB), (3 * MIB, 2 * MIB)],
        "one reservation per run of data, none for holes"
    );
    let copied = sink.disk.0.lock().unwrap();
    assert!(copied[..MIB as usize] == data[..]);
    assert!(
        copied[(3 * MIB + 8192) as usize..][..4096]
            .iter()
            .all(|&b| b == 0)
    );
    assert!(
        copied[MIB as usize..(3 * MIB) as usize]
            .iter()
            .all(|&b| b == 0)
    );
}
