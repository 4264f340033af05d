//! Copy lanes against the fault-injecting test NBD server (a mock server, for fault
//! injection), compared with the ordinary path; real servers are in `tests/`.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::tests::{copy_all, nbd, options, pattern, servers};
use super::*;
use crate::nbd::server::{Faults, ServerConfig, TestServer};

async fn copy_once(
    source: &ServerConfig,
    sink: &ServerConfig,
    data: &[u8],
    lanes: bool,
) -> (Vec<u8>, CopySummary) {
    let src = TestServer::start(source.clone(), data.to_vec())
        .await
        .unwrap();
    let dst = TestServer::start(sink.clone(), vec![0x5a; data.len()])
        .await
        .unwrap();
    let report = copy_all(
        nbd(&src).await,
        nbd(&dst).await,
        &CopyOptions {
            lanes,
            checksums: true,
            ..options()
        },
    )
    .await;
    (dst.data(), report.summary)
}

#[tokio::test]
async fn lanes_copy_exactly_what_the_ordinary_path_copies() {
    // Not a multiple of the block size: the last block is short.
    let data = pattern((5 << 20) + 3 * 4096);
    let chunked = ServerConfig {
        chunk_size: 12_288,
        ..Default::default()
    };
    let simple = ServerConfig {
        structured: false,
        ..Default::default()
    };
    let no_zeroes = ServerConfig {
        write_zeroes: false,
        ..Default::default()
    };
    let cases = [
        ("default", ServerConfig::default(), ServerConfig::default()),
        ("reversed chunks", chunked, ServerConfig::default()),
        ("simple replies", simple.clone(), simple),
        (
            "sink without WRITE_ZEROES",
            ServerConfig::default(),
            no_zeroes,
        ),
    ];
    for (name, source, sink) in cases {
        let (laned, by_lanes) = copy_once(&source, &sink, &data, true).await;
        let (ordinary, by_calls) = copy_once(&source, &sink, &data, false).await;
        assert!(laned == data, "{name}: lanes copied exactly");
        assert!(ordinary == data, "{name}: the ordinary path copied exactly");
        let counts = |s: &CopySummary| (s.bytes_read, s.bytes_written, s.bytes_zeroed);
        assert_eq!(counts(&by_lanes), counts(&by_calls), "{name}");
        assert!(by_lanes.bytes_zeroed > 0, "{name}: zero runs found");
    }
}

#[tokio::test]
async fn blocks_failing_in_a_lane_are_retried_without_losing_a_connection() {
    let data = pattern(2 << 20);
    let (src, dst) = servers(&data, 0xcc).await;
    src.set_faults(Faults {
        error_at: Some((300_000, 5, 2)),
        ..Default::default()
    });
    let (source, sink) = (nbd(&src).await, nbd(&dst).await);
    let connections = (src.connections(), dst.connections());
    copy_all(source, sink, &options()).await;
    assert!(dst.data() == data);
    assert_eq!((src.connections(), dst.connections()), connections);
}

#[tokio::test]
async fn cancelled_lanes_drain_and_hand_their_connections_back() {
    let data = pattern(8 << 20);
    let (src, dst) = servers(&data, 0x33).await;
    src.set_faults(Faults {
        delay: Some(Duration::from_millis(3)),
        ..Default::default()
    });
    let (source, sink) = (nbd(&src).await, nbd(&dst).await);
    let connections = (src.connections(), dst.connections());
    let cancel = CancellationToken::new();
    let canceller = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            cancel.cancel();
        })
    };
    let error = copy(source.clone(), sink.clone(), &options(), &cancel)
        .await
        .unwrap_err();
    canceller.await.unwrap();
    assert!(error.is_cancelled(), "{error}");
    assert!(dst.data() != data, "cancelled before the end");

    // The same clients, on the connections the lanes gave back.
    src.set_faults(Faults::default());
    copy_all(source, sink, &options()).await;
    assert!(dst.data() == data);
    assert_eq!((src.connections(), dst.connections()), connections);
}

#[tokio::test]
async fn a_lost_sink_is_reopened_while_the_source_keeps_its_connections() {
    let data = pattern(8 << 20);
    let (src, dst) = servers(&data, 0x44).await;
    dst.set_faults(Faults {
        drop_at: Some(3 << 20),
        ..Default::default()
    });
    let (source, sink) = (nbd(&src).await, nbd(&dst).await);
    let source_connections = src.connections();
    copy_all(
        source,
        sink,
        &CopyOptions {
            checkpoint_interval: Duration::from_millis(1),
            ..options()
        },
    )
    .await;
    assert!(dst.data() == data);
    assert!(dst.connections() > 2, "the sink reconnected");
    assert_eq!(
        src.connections(),
        source_connections,
        "the source's lane drained its reads instead of dropping the connection"
    );
}

#[tokio::test]
async fn requests_wait_for_a_lease_and_run_on_what_it_gives_back() {
    let data = pattern(1 << 20);
    let (src, _dst) = servers(&data, 0).await;
    let client = nbd(&src).await;
    let mut lease = client.lease().await;
    let transports = lease.take();
    assert_eq!(transports.len(), 2);
    let read = tokio::spawn({
        let client = client.clone();
        async move { client.read(4096, vec![0; 4096]).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !read.is_finished(),
        "requests wait while the connections are leased"
    );
    lease.finish(transports.into_iter().map(|(i, t)| (i, Ok(t))).collect());
    assert_eq!(read.await.unwrap().unwrap(), data[4096..8192]);

    // A lease dropped with its transports gone leaves dead connections to reopen.
    let mut lease = client.lease().await;
    drop(lease.take());
    drop(lease);
    let error = client.read(0, vec![0; 4096]).await.unwrap_err();
    assert!(error.is_fatal(), "{error}");
    assert_eq!(client.reopen_dead_connections().await.unwrap(), 2);
    assert_eq!(client.read(0, vec![0; 4096]).await.unwrap(), data[..4096]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_in_opposite_directions_between_the_same_clients_both_finish() {
    let data = pattern(1 << 20);
    let (a, b) = servers(&data, 0x66).await;
    let (a, b) = (nbd(&a).await, nbd(&b).await);
    // Many small rounds: each is a chance for the two copies' leases to interleave.
    for _ in 0..30 {
        let forth = tokio::spawn({
            let (a, b) = (a.clone(), b.clone());
            async move { copy(a, b, &options(), &CancellationToken::new()).await }
        });
        let back = tokio::spawn({
            let (a, b) = (a.clone(), b.clone());
            async move { copy(b, a, &options(), &CancellationToken::new()).await }
        });
        let both = tokio::time::timeout(Duration::from_secs(20), async {
            (forth.await.unwrap(), back.await.unwrap())
        });
        let (forth, back) = both
            .await
            .expect("no deadlock between the two copies' leases");
        forth.unwrap();
        back.unwrap();
    }
}
