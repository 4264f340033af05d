//! The NBD client and the copy pipeline against real servers: qemu-nbd and nbdkit.
//!
//! Every test starts its servers on private Unix sockets (or loopback TCP) and compares
//! results byte for byte (`qemu-img compare`, `cmp`, or reading both sides). A missing
//! tool skips the test locally but fails it in CI (`CI=true`), where `scripts/setup.sh`
//! installs qemu-utils, nbdkit, libnbd-bin and openssl.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use forklift_transfer::copy::checkpoint::BlockMap;
use forklift_transfer::copy::verify::{VerifyOptions, verify};
use forklift_transfer::nbd::{ConnectOptions, NbdClient, NbdUri};
use forklift_transfer::open::{OpenOptions, open_sink, open_source};
use forklift_transfer::qemu::{ImageFormat, QemuNbdImage, QemuNbdOptions};
use forklift_transfer::{
    BlockSink, BlockSource, CopyOptions, CopyReport, ErrorKind, ExtentFlags, Incremental,
    MetaContext, copy,
};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use common::{have, run};

/// An empty raw image of `size` (qemu-img's notation) at `path`.
fn raw_image(path: &str, size: &str) {
    run("qemu-img", &["create", "-q", "-f", "raw", path, size]);
}

/// Copies all of `source` to `sink` with `options`, uncancelled; the copy must succeed.
async fn copy_all(
    source: Arc<dyn BlockSource>,
    sink: Arc<dyn BlockSink>,
    options: &CopyOptions,
) -> CopyReport {
    copy(source, sink, options, &CancellationToken::new())
        .await
        .unwrap()
}

/// Reads `source` and `target` back (over `map`'s blocks when given): they must be the same.
async fn assert_identical(
    source: Arc<dyn BlockSource>,
    target: Arc<dyn BlockSource>,
    map: Option<&BlockMap>,
) {
    let checked = verify(
        source,
        target,
        map,
        &VerifyOptions::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(checked.is_identical(), "{checked:?}");
}

/// `-U` (force-share): a server dropped a moment ago is killed but may not have exited yet,
/// and would still hold its image's lock; comparing only reads.
fn compare(a: &Path, b: &Path) {
    run(
        "qemu-img",
        &["compare", "-U", a.to_str().unwrap(), b.to_str().unwrap()],
    );
}

/// A server process on a Unix socket, killed on drop.
struct Server {
    _child: Child,
    uri: String,
}

async fn wait_for(socket: &Path, child: &mut Child) {
    for _ in 0..1000 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("server exited early: {status}");
        }
        if tokio::net::UnixStream::connect(socket).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("server did not listen on {}", socket.display());
}

async fn nbdkit(dir: &Path, name: &str, args: &[&str]) -> Server {
    let socket = dir.join(format!("{name}.sock"));
    let mut child = Command::new("nbdkit")
        .args(["--foreground", "--exit-with-parent", "-U"])
        .arg(&socket)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("nbdkit starts");
    wait_for(&socket, &mut child).await;
    Server {
        _child: child,
        uri: format!("nbd+unix:///?socket={}", socket.display()),
    }
}

async fn qemu_nbd(dir: &Path, name: &str, args: &[&str]) -> Server {
    let socket = dir.join(format!("{name}.sock"));
    let mut child = Command::new("qemu-nbd")
        .arg("-k")
        .arg(&socket)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("qemu-nbd starts");
    wait_for(&socket, &mut child).await;
    Server {
        _child: child,
        uri: format!("nbd+unix:///?socket={}", socket.display()),
    }
}

async fn client(uri: &str, contexts: Vec<MetaContext>) -> Arc<NbdClient> {
    Arc::new(
        NbdClient::connect_uri(
            uri,
            &ConnectOptions {
                contexts,
                ..ConnectOptions::default()
            },
        )
        .await
        .unwrap(),
    )
}

/// nbdkit's pattern plugin and an empty memory disk, both of `size` (nbdkit's notation),
/// with a client of each (the sink's asks for `sink_contexts`); the servers live as long as
/// the first value.
async fn pattern_and_memory(
    dir: &Path,
    size: &str,
    sink_contexts: Vec<MetaContext>,
) -> ([Server; 2], Arc<NbdClient>, Arc<NbdClient>) {
    let size = format!("size={size}");
    let pattern = nbdkit(dir, "pattern", &["pattern", &size]).await;
    let memory = nbdkit(dir, "memory", &["memory", &size]).await;
    let source = client(&pattern.uri, vec![MetaContext::BaseAllocation]).await;
    let sink = client(&memory.uri, sink_contexts).await;
    ([pattern, memory], source, sink)
}

/// Copies `source` into the NBD export `sink` serves, disconnects (flushing it), and
/// compares the image `expected` with the export's file `target`.
async fn copy_and_compare(
    source: Arc<dyn BlockSource>,
    sink: Arc<NbdClient>,
    options: &CopyOptions,
    expected: &Path,
    target: &Path,
) {
    copy_all(source, sink.clone(), options).await;
    sink.disconnect().await;
    compare(expected, target);
}

fn small() -> CopyOptions {
    CopyOptions {
        request_size: 256 * 1024,
        requests: 16,
        work_size: 8 << 20,
        ..CopyOptions::default()
    }
}

/// A qcow2 image with data at a few places and a persistent dirty bitmap `b0` that saw
/// only the writes after it was added.
fn qcow2_with_bitmap(dir: &Path) -> PathBuf {
    let image = dir.join("src.qcow2");
    let path = image.to_str().unwrap();
    run("qemu-img", &["create", "-q", "-f", "qcow2", path, "64M"]);
    run(
        "qemu-io",
        &[
            "-f",
            "qcow2",
            "-c",
            "write -P 0x11 0 1M",
            "-c",
            "write -P 0x12 20M 300k",
            path,
        ],
    );
    run(
        "qemu-img",
        &["bitmap", "--add", "--enable", "-f", "qcow2", path, "b0"],
    );
    run(
        "qemu-io",
        &[
            "-f",
            "qcow2",
            "-c",
            "write -P 0x22 8M 128k",
            "-c",
            "write -P 0x23 40M 64k",
            path,
        ],
    );
    image
}

#[tokio::test]
async fn qemu_nbd_raw_and_qcow2_copies_are_identical() {
    if !have("qemu-nbd") || !have("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = qcow2_with_bitmap(dir.path());
    let opened = open_source(source.to_str().unwrap(), &OpenOptions::default())
        .await
        .unwrap();
    for destination in ["dst.raw", "dst.qcow2"] {
        let destination = dir.path().join(destination);
        let sink = open_sink(
            destination.to_str().unwrap(),
            opened.source.size(),
            &OpenOptions::default(),
        )
        .await
        .unwrap();
        let report = copy_all(opened.source.clone(), sink.sink.clone(), &small()).await;
        drop(sink);
        compare(&source, &destination);
        let s = report.summary;
        assert!(s.bytes_read < 4 << 20, "only allocated data is read: {s:?}");
        assert_eq!(s.bytes_zeroed, 0, "new images read as zeroes: {s:?}");
    }
    // A raw image served by qemu-nbd reports unallocated space as ZERO: it must be skipped.
    let raw = dir.path().join("dst.raw");
    let served = qemu_nbd(
        dir.path(),
        "raw",
        &["-r", "-e", "4", "-f", "raw", raw.to_str().unwrap()],
    )
    .await;
    let raw_client = client(&served.uri, vec![MetaContext::BaseAllocation]).await;
    let extents = raw_client
        .extents(0, 64 << 20, &MetaContext::BaseAllocation)
        .await
        .unwrap();
    assert!(extents.iter().any(|e| e.flags.is_zero()));
    let sink = open_sink(
        dir.path().join("again.raw").to_str().unwrap(),
        64 << 20,
        &OpenOptions::default(),
    )
    .await
    .unwrap();
    let report = copy_all(raw_client, sink.sink, &small()).await;
    assert!(report.summary.bytes_read < 4 << 20, "{:?}", report.summary);
    compare(&raw, &dir.path().join("again.raw"));
}

#[tokio::test]
async fn qemu_nbd_dirty_bitmap_and_allocation_depth() {
    if !have("qemu-nbd") || !have("qemu-img") || !have("qemu-io") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = qcow2_with_bitmap(dir.path());
    let served = qemu_nbd(
        dir.path(),
        "bitmap",
        &[
            "-r",
            "-e",
            "8",
            "--persistent",
            "-f",
            "qcow2",
            "-B",
            "b0",
            "-A",
            source.to_str().unwrap(),
        ],
    )
    .await;
    let dirty = MetaContext::DirtyBitmap("b0".into());
    let nbd = client(
        &served.uri,
        vec![
            MetaContext::BaseAllocation,
            dirty.clone(),
            MetaContext::AllocationDepth,
        ],
    )
    .await;
    let dirty_extents: Vec<(u64, u64)> = nbd
        .extents(0, 64 << 20, &dirty)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.flags.is_dirty())
        .map(|e| (e.offset, e.length))
        .collect();
    assert_eq!(
        dirty_extents,
        vec![(8 << 20, 128 << 10), (40 << 20, 64 << 10)]
    );
    let listed = NbdClient::list_meta_contexts(nbd.uri(), &["qemu:dirty-bitmap:".into()])
        .await
        .unwrap();
    assert_eq!(listed, ["qemu:dirty-bitmap:b0"]);
    let depth = nbd
        .extents(0, 64 << 20, &MetaContext::AllocationDepth)
        .await
        .unwrap();
    assert_eq!(
        depth[0].flags,
        ExtentFlags::DATA,
        "top layer holds the first MiB"
    );
    assert!(depth.iter().any(|e| e.flags.is_hole()));

    // Incremental copy: start from a copy of the image as it was when the bitmap was
    // added, apply only the dirty ranges, and end identical to the source.
    let base = dir.path().join("base.raw");
    run(
        "qemu-img",
        &[
            "convert",
            "-f",
            "qcow2",
            "-O",
            "raw",
            source.to_str().unwrap(),
            base.to_str().unwrap(),
        ],
    );
    run(
        "qemu-io",
        &[
            "-f",
            "raw",
            "-c",
            "write -P 0 8M 128k",
            "-c",
            "write -P 0 40M 64k",
            base.to_str().unwrap(),
        ],
    );
    let sink = open_sink(base.to_str().unwrap(), 64 << 20, &OpenOptions::default())
        .await
        .unwrap();
    let report = copy_all(
        nbd.clone(),
        sink.sink.clone(),
        &CopyOptions {
            incremental: Some(Incremental::Bitmap("b0".into())),
            ..small()
        },
    )
    .await;
    assert_eq!(report.summary.bytes_read, 512 << 10, "{:?}", report.summary);
    drop(sink);
    compare(&source, &base);
}

#[tokio::test]
async fn qemu_nbd_multi_conn_writes_and_flushes() {
    if !have("qemu-nbd") || !have("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = qcow2_with_bitmap(dir.path());
    let target = dir.path().join("target.qcow2");
    run(
        "qemu-img",
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            target.to_str().unwrap(),
            "64M",
        ],
    );
    let served = qemu_nbd(
        dir.path(),
        "mc",
        &["-f", "qcow2", "-e", "4", target.to_str().unwrap()],
    )
    .await;
    let sink = Arc::new(
        NbdClient::connect_uri(
            &served.uri,
            &ConnectOptions {
                connections: 4,
                contexts: vec![],
                ..ConnectOptions::default()
            },
        )
        .await
        .unwrap(),
    );
    assert!(sink.can_multi_conn());
    assert_eq!(sink.connection_count(), 4);
    let image = QemuNbdImage::open(
        &source,
        &QemuNbdOptions::default(),
        &ConnectOptions {
            connections: 4,
            ..ConnectOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(image.client().connection_count(), 4);
    copy_all(Arc::new(image), sink.clone(), &small()).await;
    sink.disconnect().await;
    drop(served);
    compare(&source, &target);
}

fn make_certificates(dir: &Path) -> PathBuf {
    let pki = dir.join("pki");
    std::fs::create_dir(&pki).unwrap();
    let p = |name: &str| pki.join(name).to_str().unwrap().to_owned();
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=test CA",
            "-keyout",
            &p("ca-key.pem"),
            "-out",
            &p("ca-cert.pem"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
    run(
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &p("server-key.pem"),
            "-out",
            &p("server.csr"),
        ],
    );
    std::fs::write(
        pki.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &p("server.csr"),
            "-CA",
            &p("ca-cert.pem"),
            "-CAkey",
            &p("ca-key.pem"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &p("ext.cnf"),
            "-out",
            &p("server-cert.pem"),
        ],
    );
    pki
}

/// The image of [`qcow2_with_bitmap`] served read-only by qemu-nbd over TLS with x509
/// certificates made here; returns the server, the image, its socket and the `nbds+unix`
/// URI that trusts those certificates.
async fn tls_source(dir: &Path) -> (Server, PathBuf, String, String) {
    let pki = make_certificates(dir);
    let source = qcow2_with_bitmap(dir);
    let object = format!(
        "tls-creds-x509,id=tls0,dir={},endpoint=server,verify-peer=off",
        pki.display()
    );
    let served = qemu_nbd(
        dir,
        "tls",
        &[
            "-r",
            "-e",
            "8",
            "--persistent",
            "-f",
            "qcow2",
            "--object",
            &object,
            "--tls-creds",
            "tls0",
            source.to_str().unwrap(),
        ],
    )
    .await;
    let socket = served.uri.split("socket=").nth(1).unwrap().to_owned();
    let tls_uri = format!(
        "nbds+unix:///?socket={socket}&tls-certificates={}",
        pki.display()
    );
    (served, source, socket, tls_uri)
}

/// Starts qemu-nbd serving `args` on a loopback TCP port (export `disk`) and waits until it
/// listens; returns the child, the URI and the port.
async fn qemu_nbd_tcp(args: &[&str]) -> (Child, NbdUri, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut child = Command::new("qemu-nbd")
        .args(args)
        .args(["-b", "127.0.0.1", "-p", &port.to_string(), "-x", "disk"])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let uri = NbdUri::parse(&format!("nbd://127.0.0.1:{port}/disk")).unwrap();
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (child, uri, port);
        }
        assert!(child.try_wait().unwrap().is_none());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("qemu-nbd does not listen on TCP port {port}");
}

#[tokio::test]
async fn qemu_nbd_tls_with_x509_certificates() {
    if !have("qemu-nbd") || !have("qemu-img") || !have("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (served, source, socket, tls_uri) = tls_source(dir.path()).await;
    let nbd = client(&tls_uri, vec![MetaContext::BaseAllocation]).await;
    assert_eq!(BlockSource::size(&*nbd), 64 << 20);
    let sink = open_sink(
        dir.path().join("out.raw").to_str().unwrap(),
        64 << 20,
        &OpenOptions::default(),
    )
    .await
    .unwrap();
    copy_all(nbd, sink.sink, &small()).await;
    compare(&source, &dir.path().join("out.raw"));

    let plain = NbdClient::connect_uri(&served.uri, &ConnectOptions::default())
        .await
        .unwrap_err();
    assert_eq!(plain.kind(), ErrorKind::Tls, "{plain}");
    let other_ca = dir.path().join("other");
    std::fs::create_dir(&other_ca).unwrap();
    let other = make_certificates(&other_ca);
    let wrong = format!(
        "nbds+unix:///?socket={socket}&tls-certificates={}",
        other.display()
    );
    let error = NbdClient::connect_uri(&wrong, &ConnectOptions::default())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
    assert!(error.is_fatal());
    let insecure = format!("nbds+unix:///?socket={socket}&tls-verify-peer=false");
    NbdClient::connect_uri(&insecure, &ConnectOptions::default())
        .await
        .unwrap();
}

/// Copy lanes over a TLS source (reads through rustls) into a TCP sink (vectored writes, no
/// splice), both qemu-nbd, end identical; so does the ordinary path.
#[tokio::test]
async fn lanes_from_tls_into_tcp_copy_exactly() {
    if !have("qemu-nbd") || !have("qemu-img") || !have("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_served, source, _, tls_uri) = tls_source(dir.path()).await;
    for lanes in [true, false] {
        let target = dir.path().join(format!("lanes-{lanes}.raw"));
        let path = target.to_str().unwrap();
        raw_image(path, "64M");
        let (_server, uri, _) = qemu_nbd_tcp(&["-f", "raw", "--persistent", path]).await;
        let sink = Arc::new(
            NbdClient::connect(&uri, &ConnectOptions::default())
                .await
                .unwrap(),
        );
        let nbd = client(&tls_uri, vec![MetaContext::BaseAllocation]).await;
        let options = CopyOptions { lanes, ..small() };
        copy_and_compare(nbd, sink, &options, &source, &target).await;
    }
}

#[tokio::test]
async fn nbdkit_pattern_sparse_random_and_memory() {
    if !have("nbdkit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_servers, source, sink) =
        pattern_and_memory(dir.path(), "48M", vec![MetaContext::BaseAllocation]).await;
    let report = copy_all(
        source.clone(),
        sink.clone(),
        &CopyOptions {
            checksums: true,
            ..small()
        },
    )
    .await;
    assert_eq!(report.summary.bytes_written, 48 << 20);
    // The pattern plugin writes each 8-byte offset as a big-endian number.
    let mut probe = vec![0u8; 8];
    BlockSource::read_at(&*sink, 40 << 20, &mut probe)
        .await
        .unwrap();
    assert_eq!(u64::from_be_bytes(probe.try_into().unwrap()), 40 << 20);
    assert_identical(source, sink, report.block_map.as_ref()).await;

    let sparse = nbdkit(
        dir.path(),
        "sparse",
        &["sparse-random", "size=256M", "percent=5", "seed=7"],
    )
    .await;
    let source = client(&sparse.uri, vec![MetaContext::BaseAllocation]).await;
    let target = dir.path().join("sparse.raw");
    let sink = open_sink(target.to_str().unwrap(), 256 << 20, &OpenOptions::default())
        .await
        .unwrap();
    let report = copy_all(source.clone(), sink.sink.clone(), &small()).await;
    let s = report.summary;
    assert!(s.bytes_read < 128 << 20, "holes are skipped: {s:?}");
    assert!(s.bytes_skipped > 128 << 20, "{s:?}");
    assert_identical(source, sink.source, None).await;
}

/// Without zero detection, between Unix sockets, READ payloads pass from socket to socket
/// (nbdkit pattern into nbdkit memory); qemu-nbd's replies with holes take the buffered way.
/// Both end identical.
#[tokio::test]
async fn passthrough_without_zero_detection_copies_exactly() {
    if !have("nbdkit") || !have("qemu-nbd") || !have("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let options = CopyOptions {
        sparse_granularity: 0,
        ..small()
    };
    let (_servers, source, sink) = pattern_and_memory(dir.path(), "40M", vec![]).await;
    let report = copy_all(source.clone(), sink.clone(), &options).await;
    assert_eq!(report.summary.bytes_written, 40 << 20);
    assert_eq!(report.summary.bytes_zeroed, 0, "no zero detection");
    assert_identical(source, sink, None).await;

    let image = qcow2_with_bitmap(dir.path());
    let served = qemu_nbd(
        dir.path(),
        "src",
        &["-r", "--persistent", "-f", "qcow2", image.to_str().unwrap()],
    )
    .await;
    let target = dir.path().join("target.raw");
    raw_image(target.to_str().unwrap(), "64M");
    let destination = qemu_nbd(
        dir.path(),
        "dst",
        &["-f", "raw", "--persistent", target.to_str().unwrap()],
    )
    .await;
    let sink = client(&destination.uri, vec![]).await;
    // Without allocation extents every block is read, holes and all.
    let source = client(&served.uri, vec![]).await;
    copy_and_compare(source, sink, &options, &image, &target).await;
}

#[tokio::test]
async fn nbdkit_error_and_delay_filters_are_survived() {
    if !have("nbdkit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let flaky = nbdkit(
        dir.path(),
        "flaky",
        &[
            "--filter=error",
            "--filter=delay",
            "pattern",
            "size=16M",
            "error=EIO",
            "error-rate=5%",
            "error-pread-rate=5%",
            "delay-read=2ms",
            "error-extents-rate=0%",
        ],
    )
    .await;
    let memory = nbdkit(dir.path(), "memory", &["memory", "size=16M"]).await;
    let source = client(&flaky.uri, vec![MetaContext::BaseAllocation]).await;
    let sink = client(&memory.uri, vec![]).await;
    let options = CopyOptions {
        retries: 8,
        request_size: 64 * 1024,
        ..small()
    };
    copy_all(source, sink.clone(), &options).await;
    let clean = nbdkit(dir.path(), "clean", &["pattern", "size=16M"]).await;
    assert_identical(client(&clean.uri, vec![]).await, sink, None).await;

    let broken = nbdkit(
        dir.path(),
        "broken",
        &[
            "--filter=error",
            "pattern",
            "size=1M",
            "error=EIO",
            "error-pread-rate=100%",
        ],
    )
    .await;
    let source = client(&broken.uri, vec![]).await;
    let mut buf = vec![0u8; 4096];
    let error = BlockSource::read_at(&*source, 0, &mut buf)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Server);
    assert!(error.is_recoverable());
    assert_eq!(error.errno(), Some(5));
}

#[tokio::test]
async fn killed_destination_mid_copy_resumes_to_identical_image() {
    if !have("nbdkit") || !have("qemu-nbd") || !have("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source_file = dir.path().join("source.raw");
    raw_image(source_file.to_str().unwrap(), "64M");
    run(
        "qemu-io",
        &[
            "-f",
            "raw",
            "-c",
            "write -P 0x5a 0 30M",
            "-c",
            "write -P 0xa5 40M 20M",
            source_file.to_str().unwrap(),
        ],
    );
    let target = dir.path().join("target.raw");
    raw_image(target.to_str().unwrap(), "64M");
    // The rate filter makes the copy take over a second whatever the machine's speed, so the
    // kill, made once the checkpoint shows progress, lands mid-copy.
    let slow = nbdkit(
        dir.path(),
        "slow",
        &[
            "--filter=rate",
            "file",
            source_file.to_str().unwrap(),
            "rate=40M",
        ],
    )
    .await;
    let checkpoint = dir.path().join("copy.ckpt");
    let options = CopyOptions {
        checkpoint: Some(checkpoint.clone()),
        checkpoint_interval: Duration::from_millis(50),
        ..small()
    };
    let destination = qemu_nbd(
        dir.path(),
        "dst",
        &["-f", "raw", "--persistent", target.to_str().unwrap()],
    )
    .await;
    let sink = client(&destination.uri, vec![]).await;
    let source = client(&slow.uri, vec![MetaContext::BaseAllocation]).await;
    let running = tokio::spawn({
        let options = options.clone();
        async move { copy(source, sink, &options, &CancellationToken::new()).await }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // The checkpoint is written at once (bound to the target), with progress later.
    let progressed =
        || std::fs::read_to_string(&checkpoint).is_ok_and(|text| text.contains("\"completed\":[["));
    while !progressed() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(destination);
    let error = running.await.unwrap().unwrap_err();
    assert!(error.is_fatal(), "{error}");

    let destination = qemu_nbd(dir.path(), "dst2", &["-f", "raw", target.to_str().unwrap()]).await;
    let sink = client(&destination.uri, vec![]).await;
    // nbdkit 1.32 may abort when a client drops mid-request: resume from a server of its own.
    let slow = nbdkit(
        dir.path(),
        "slow2",
        &[
            "--filter=rate",
            "file",
            source_file.to_str().unwrap(),
            "rate=40M",
        ],
    )
    .await;
    let source = client(&slow.uri, vec![MetaContext::BaseAllocation]).await;
    let report = copy_all(source, sink.clone(), &options).await;
    assert!(report.summary.bytes_resumed > 0, "{:?}", report.summary);
    assert!(
        report.summary.bytes_read < 50 << 20,
        "completed ranges are not copied again: {:?}",
        report.summary
    );
    sink.disconnect().await;
    drop(destination);
    run(
        "cmp",
        &[source_file.to_str().unwrap(), target.to_str().unwrap()],
    );
}

#[tokio::test]
async fn tcp_uri_and_format_detection() {
    if !have("qemu-nbd") || !have("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = qcow2_with_bitmap(dir.path());
    assert_eq!(ImageFormat::detect(&source).unwrap(), ImageFormat::Qcow2);
    let source_arg = source.to_str().unwrap();
    let (_child, uri, port) =
        qemu_nbd_tcp(&["-r", "-e", "8", "--persistent", "-f", "qcow2", source_arg]).await;
    let connected = NbdClient::connect(&uri, &ConnectOptions::default())
        .await
        .ok();
    let nbd = connected.expect("qemu-nbd listens on TCP");
    let mut buf = vec![0u8; 4096];
    BlockSource::read_at(&nbd, 8 << 20, &mut buf).await.unwrap();
    assert!(buf.iter().all(|&b| b == 0x22));
    let unknown = NbdClient::connect_uri(
        &format!("nbd://127.0.0.1:{port}/nope"),
        &ConnectOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    let _ = BlockSink::flush(&nbd).await;
}

/// A 32 MiB raw source with 24 MiB of `fill` bytes, an empty raw target of the same size,
/// and the source served by nbdkit behind its rate filter (40 Mbit/s after an initial
/// burst), so that a copy lasts seconds: long enough to disturb it mid-way.
async fn slow_copy_rig(dir: &Path, fill: u8) -> (PathBuf, PathBuf, Server) {
    let source = dir.join("source.raw");
    let target = dir.join("target.raw");
    for image in [&source, &target] {
        raw_image(image.to_str().unwrap(), "32M");
    }
    let write = format!("write -P {fill:#x} 0 24M");
    run(
        "qemu-io",
        &["-f", "raw", "-c", &write, source.to_str().unwrap()],
    );
    let slow = nbdkit(
        dir,
        "slow",
        &[
            "--filter=rate",
            "file",
            source.to_str().unwrap(),
            "rate=40M",
        ],
    )
    .await;
    (source, target, slow)
}

#[tokio::test]
async fn restarted_destination_is_reconnected_and_the_copy_completes() {
    if !have("nbdkit") || !have("qemu-nbd") || !have("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (source_file, target, slow) = slow_copy_rig(dir.path(), 0x3c).await;
    let (source_path, target_path) = (source_file.to_str().unwrap(), target.to_str().unwrap());
    let destination = qemu_nbd(
        dir.path(),
        "dst",
        &["-f", "raw", "--persistent", target_path],
    )
    .await;
    let sink = client(&destination.uri, vec![]).await;
    let source = client(&slow.uri, vec![MetaContext::BaseAllocation]).await;
    // Frequent flushes: what was flushed before the restart is not copied again. The
    // checkpoint file shows when a flush has landed, so the restart follows one however
    // loaded the machine is.
    let checkpoint = dir.path().join("copy.ckpt");
    let options = CopyOptions {
        checkpoint: Some(checkpoint.clone()),
        checkpoint_interval: Duration::from_millis(20),
        ..small()
    };
    let running = tokio::spawn({
        let sink = sink.clone();
        async move { copy(source, sink, &options, &CancellationToken::new()).await }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let progressed =
        || std::fs::read_to_string(&checkpoint).is_ok_and(|text| text.contains("\"completed\":[["));
    while !progressed() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(destination);
    let restarted = qemu_nbd(
        dir.path(),
        "dst",
        &["-f", "raw", "--persistent", target_path],
    )
    .await;
    let report = running.await.unwrap().unwrap();
    assert!(
        report.summary.bytes_resumed > 0,
        "the pass after the reconnect skips what was flushed: {:?}",
        report.summary
    );
    sink.disconnect().await;
    drop(restarted);
    run("cmp", &[source_path, target_path]);
}

#[tokio::test]
async fn a_cancelled_copy_leaves_nothing_that_spoils_the_next_one() {
    if !have("nbdkit") || !have("qemu-nbd") || !have("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (source_file, target, slow) = slow_copy_rig(dir.path(), 0x6b).await;
    let (source_path, target_path) = (source_file.to_str().unwrap(), target.to_str().unwrap());
    let destination = qemu_nbd(
        dir.path(),
        "dst",
        &["-f", "raw", "--persistent", "-e", "4", target_path],
    )
    .await;
    // nbdkit 1.32 may abort when a client drops mid-request, so the second copy reads from
    // a server of its own.
    let fresh = qemu_nbd(dir.path(), "src", &["-r", "-f", "raw", source_path]).await;
    // Payloads spliced into the socket by the cancelled copy stay valid until the server
    // reads them, so the requests it left behind still carry the right bytes.
    for (cancel_after, source_uri) in [
        (Some(Duration::from_millis(300)), &slow.uri),
        (None, &fresh.uri),
    ] {
        let sink = client(&destination.uri, vec![]).await;
        let source = client(source_uri, vec![MetaContext::BaseAllocation]).await;
        let cancel = CancellationToken::new();
        let running = tokio::spawn({
            let cancel = cancel.clone();
            async move { copy(source, sink, &small(), &cancel).await }
        });
        match cancel_after {
            Some(delay) => {
                tokio::time::sleep(delay).await;
                cancel.cancel();
                let error = running.await.unwrap().unwrap_err();
                assert_eq!(error.kind(), ErrorKind::Cancelled, "{error}");
            }
            None => {
                running.await.unwrap().unwrap();
            }
        }
    }
    drop(destination);
    run("cmp", &[source_path, target_path]);
}
