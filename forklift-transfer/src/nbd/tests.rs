//! Client against the in-process server (a mock server: used for fault injection only;
//! the real-server tests live in `tests/nbd_real_servers.rs`).

use std::time::Duration;

use super::server::{Faults, ServerConfig, TestServer};
use super::{ConnectOptions, NbdClient};
use crate::block::{
    BlockSink, BlockSizes, BlockSource, Extent, ExtentFlags, MetaContext, ZeroFlags,
};
use crate::error::ErrorKind;

fn pattern(size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| {
            if (i / 4096) % 3 == 0 {
                0
            } else {
                (i % 251) as u8 + 1
            }
        })
        .collect()
}

async fn connect(server: &TestServer, options: ConnectOptions) -> NbdClient {
    NbdClient::connect_uri(&server.uri(), &options)
        .await
        .unwrap()
}

#[tokio::test]
async fn reads_reassemble_out_of_order_chunks_over_multi_conn() {
    let data = pattern(1 << 20);
    let server = TestServer::start(
        ServerConfig {
            chunk_size: 5000,
            ..Default::default()
        },
        data.clone(),
    )
    .await
    .unwrap();
    server.set_faults(Faults {
        delay: Some(Duration::from_millis(5)),
        ..Default::default()
    });
    let client = connect(
        &server,
        ConnectOptions {
            connections: 4,
            ..ConnectOptions::default()
        },
    )
    .await;
    assert_eq!(client.connection_count(), 4);
    assert!(client.is_structured());
    let reads = (0..16u64).map(|i| client.read(i * 65536, vec![0xaa; 65536]));
    let results = futures::future::try_join_all(reads).await.unwrap();
    assert_eq!(results.concat(), data);
    let mut odd = vec![0u8; 100_000];
    client.read_at(12345, &mut odd).await.unwrap();
    assert_eq!(odd, data[12345..112_345]);
    client.disconnect().await;
}

#[tokio::test]
async fn writes_zeroes_trim_and_flush_reach_the_server() {
    let server = TestServer::start(ServerConfig::default(), vec![1u8; 256 * 1024])
        .await
        .unwrap();
    let client = connect(&server, ConnectOptions::default()).await;
    let buf = client.write(4096, vec![7u8; 8192]).await.unwrap();
    assert_eq!(buf.len(), 8192, "write hands its buffer back");
    client
        .write_zeroes(
            65536,
            65536,
            ZeroFlags {
                fast: true,
                no_hole: false,
            },
        )
        .await
        .unwrap();
    client.trim(0, 4096).await.unwrap();
    BlockSink::flush(&client).await.unwrap();
    let data = server.data();
    assert!(data[..4096].iter().all(|&b| b == 0));
    assert!(data[4096..12288].iter().all(|&b| b == 7));
    assert!(data[65536..131072].iter().all(|&b| b == 0));
    assert!(data[131072..].iter().all(|&b| b == 1));
}

#[tokio::test]
async fn block_status_loops_over_partial_answers() {
    let data = pattern(1 << 20);
    let server = TestServer::start(
        ServerConfig {
            max_extents: 2,
            bitmap: Some(("b0".into(), vec![(65536, 4096), (500_000, 10_000)])),
            ..Default::default()
        },
        data.clone(),
    )
    .await
    .unwrap();
    let dirty = MetaContext::DirtyBitmap("b0".into());
    let client = connect(
        &server,
        ConnectOptions {
            contexts: vec![MetaContext::BaseAllocation, dirty.clone()],
            ..Default::default()
        },
    )
    .await;
    assert!(client.can_extents(&dirty));
    let extents = client
        .extents(0, 1 << 20, &MetaContext::BaseAllocation)
        .await
        .unwrap();
    assert_eq!(extents.first().unwrap().offset, 0);
    assert_eq!(extents.iter().map(|e| e.length).sum::<u64>(), 1 << 20);
    for extent in &extents {
        let zero = data[extent.offset as usize..extent.end() as usize]
            .iter()
            .all(|&b| b == 0);
        assert_eq!(extent.flags.is_zero(), zero, "{extent:?}");
    }
    assert!(server.requests() > 3, "the client had to loop");
    let dirty_extents = client.extents(0, 1 << 20, &dirty).await.unwrap();
    let dirty_only: Vec<Extent> = dirty_extents
        .into_iter()
        .filter(|e| e.flags.is_dirty())
        .collect();
    assert_eq!(
        dirty_only,
        vec![
            Extent::new(65536, 4096, ExtentFlags::DIRTY),
            Extent::new(500_000, 10_000, ExtentFlags::DIRTY)
        ]
    );
    let names = NbdClient::list_meta_contexts(client.uri(), &["qemu:dirty-bitmap:".into()])
        .await
        .unwrap();
    assert_eq!(names, ["qemu:dirty-bitmap:b0"]);
}

#[tokio::test]
async fn old_servers_get_export_name_and_simple_replies() {
    let data = pattern(300_000);
    let server = TestServer::start(
        ServerConfig {
            structured: false,
            go: false,
            export: "old".into(),
            ..Default::default()
        },
        data.clone(),
    )
    .await
    .unwrap();
    let client = connect(&server, ConnectOptions::default()).await;
    assert!(!client.is_structured());
    assert_eq!(BlockSource::size(&client), 300_000);
    let got = client.read_owned(0, vec![0; 300_000]).await.unwrap();
    assert_eq!(got, data);
    let extents = client
        .extents(0, 10, &MetaContext::BaseAllocation)
        .await
        .unwrap();
    assert_eq!(extents, [Extent::new(0, 10, ExtentFlags::DATA)]);
    let error = client
        .extents(0, 10, &MetaContext::DirtyBitmap("x".into()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn advertised_block_sizes_are_obeyed() {
    let server = TestServer::start(
        ServerConfig {
            block_sizes: Some(BlockSizes {
                minimum: 512,
                preferred: 4096,
                maximum: 65536,
            }),
            ..Default::default()
        },
        vec![3u8; 1 << 20],
    )
    .await
    .unwrap();
    let client = connect(&server, ConnectOptions::default()).await;
    assert_eq!(BlockSource::block_sizes(&client).maximum, 65536);
    let unaligned = client.read(100, vec![0; 512]).await.unwrap_err();
    assert_eq!(unaligned.kind(), ErrorKind::InvalidInput);
    let too_big = client.read(0, vec![0; 131072]).await.unwrap_err();
    assert_eq!(too_big.kind(), ErrorKind::InvalidInput);
    // The trait methods split large requests at the maximum.
    let big = client.read_owned(0, vec![0; 200 * 1024]).await.unwrap();
    assert!(big.iter().all(|&b| b == 3));
    assert_eq!(server.requests(), 4);
}

#[tokio::test]
async fn error_replies_are_recoverable_and_the_connection_survives() {
    let server = TestServer::start(ServerConfig::default(), vec![5u8; 1 << 20])
        .await
        .unwrap();
    server.set_faults(Faults {
        error_at: Some((70_000, 5, 1)),
        ..Default::default()
    });
    let client = connect(
        &server,
        ConnectOptions {
            connections: 1,
            ..Default::default()
        },
    )
    .await;
    let error = client.read(65536, vec![0; 65536]).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Server);
    assert_eq!(error.errno(), Some(5));
    assert!(error.is_recoverable());
    assert!(error.to_string().contains("EIO"), "{error}");
    let retried = client.read(65536, vec![0; 65536]).await.unwrap();
    assert!(retried.iter().all(|&b| b == 5));
}

#[tokio::test]
async fn garbage_and_disconnects_are_fatal_for_every_request() {
    let server = TestServer::start(ServerConfig::default(), vec![5u8; 1 << 20])
        .await
        .unwrap();
    let one = ConnectOptions {
        connections: 1,
        ..Default::default()
    };
    server.set_faults(Faults {
        garbage_at: Some(0),
        ..Default::default()
    });
    let client = connect(&server, one.clone()).await;
    let error = client.read(0, vec![0; 4096]).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol);
    assert!(error.is_fatal());
    let later = client.read(8192, vec![0; 4096]).await.unwrap_err();
    assert!(later.is_fatal());

    server.set_faults(Faults {
        drop_at: Some(100_000),
        ..Default::default()
    });
    let client = connect(&server, one).await;
    client.read(0, vec![0; 4096]).await.unwrap();
    let error = client.write(98_304, vec![1; 4096]).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Disconnected);
    assert!(error.is_fatal());
}

#[tokio::test]
async fn unknown_export_and_read_only_are_typed() {
    let server = TestServer::start(
        ServerConfig {
            export: "disk".into(),
            read_only: true,
            ..Default::default()
        },
        vec![0u8; 4096],
    )
    .await
    .unwrap();
    let wrong = server.uri().replace("/disk", "/other");
    let error = NbdClient::connect_uri(&wrong, &ConnectOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let client = connect(&server, ConnectOptions::default()).await;
    assert!(client.is_read_only());
    let error = client.write_at(0, &[1]).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    let beyond = client.read(4096, vec![0; 1]).await.unwrap_err();
    assert_eq!(beyond.kind(), ErrorKind::OutOfBounds);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_times_out_and_can_be_reopened() {
    let server = TestServer::start(ServerConfig::default(), vec![7u8; 1 << 20])
        .await
        .unwrap();
    let one = ConnectOptions {
        connections: 1,
        ..ConnectOptions::default()
    };
    let client = connect(&server, one).await;
    // Set while the connection already waits with the default (the copy's order): the
    // new limit applies to the next request.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    client.set_io_timeout(std::time::Duration::from_millis(300));
    server.set_faults(Faults {
        stall_at: Some(0),
        ..Default::default()
    });
    let started = std::time::Instant::now();
    let error = client.read(0, vec![0; 4096]).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(error.is_fatal());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // The connection counts as lost: reopening replaces it and requests work again.
    assert_eq!(client.reopen_dead_connections().await.unwrap(), 1);
    assert_eq!(
        client.read(0, vec![0; 4096]).await.unwrap(),
        vec![7u8; 4096]
    );
    // A quiet connection with nothing in flight never times out.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(client.read(4096, vec![0; 16]).await.unwrap(), vec![7u8; 16]);
}
