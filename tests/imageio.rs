//! The oVirt disk data path against the real ovirt-imageio daemon (tests/support/imageio):
//! `ImageioDisk` over TLS through the copy pipeline into raw files, compared with
//! `qemu-img compare`; dirty extents from a real qcow2 bitmap; a wrong CA, a ticket removed
//! mid-copy and connections cut by a proxy; resume from the pipeline's checkpoint; the CLI.

#[path = "support/imageio/mod.rs"]
mod imageio;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use forklift_providers::imageio::{Error as ImageioError, ImageioDisk, ImageioOptions, ImageioTls};
use forklift_transfer::local::LocalDisk;
use forklift_transfer::{BlockSource, CopyOptions, ErrorKind, Incremental, MetaContext, Progress};
use imageio::{ImageioDaemon, NbdExport, TicketSpec};
use tokio_util::sync::CancellationToken;

const MIB: u64 = 1 << 20;

fn qemu_io(image: &Path, commands: &[String]) {
    let mut command = Command::new("qemu-io");
    command.args(["-f", "qcow2"]);
    for c in commands {
        command.arg("-c").arg(c);
    }
    let output = command.arg(image).output().unwrap();
    assert!(output.status.success(), "qemu-io: {output:?}");
}

/// A qcow2 of `size` bytes with each `(offset, length)` written with a distinct pattern.
fn make_qcow2(path: &Path, size: u64, writes: &[(u64, u64)]) {
    let status = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(path)
        .arg(size.to_string())
        .status()
        .unwrap();
    assert!(status.success());
    write_regions(path, writes, 0x11);
}

fn write_regions(path: &Path, writes: &[(u64, u64)], first_pattern: u8) {
    let commands: Vec<String> = writes
        .iter()
        .enumerate()
        .map(|(i, (offset, length))| {
            format!(
                "write -P {} {offset} {length}",
                first_pattern.wrapping_add(i as u8)
            )
        })
        .collect();
    if !commands.is_empty() {
        qemu_io(path, &commands);
    }
}

fn assert_identical(raw: &Path, qcow2: &Path) {
    let output = Command::new("qemu-img")
        .args(["compare", "-f", "raw", "-F", "qcow2"])
        .arg(raw)
        .arg(qcow2)
        .output()
        .unwrap();
    assert!(output.status.success(), "qemu-img compare: {output:?}");
}

/// A daemon serving one qcow2 through qemu-nbd under one ticket.
struct Served {
    dir: tempfile::TempDir,
    image: PathBuf,
    daemon: ImageioDaemon,
    _export: NbdExport,
}

impl Served {
    fn new(size: u64, writes: &[(u64, u64)], bitmap_then: Option<&[(u64, u64)]>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("disk.qcow2");
        make_qcow2(&image, size, writes);
        if let Some(later) = bitmap_then {
            let status = Command::new("qemu-img")
                .args(["bitmap", "--add"])
                .arg(&image)
                .arg("bm0")
                .status()
                .unwrap();
            assert!(status.success());
            write_regions(&image, later, 0x71);
        }
        let bitmap = bitmap_then.map(|_| "bm0");
        let export = NbdExport::start(&image, "qcow2", &dir.path().join("nbd.sock"), bitmap);
        let daemon = ImageioDaemon::start(&dir.path().join("imageio"));
        let mut ticket = TicketSpec::read("t-main", &export.url(), size);
        ticket.dirty = bitmap.is_some();
        daemon.add_ticket(&ticket);
        Self {
            dir,
            image,
            daemon,
            _export: export,
        }
    }

    fn tls(&self) -> ImageioTls {
        ImageioTls::CaPem(self.daemon.ca_pem())
    }

    async fn open(&self) -> Arc<ImageioDisk> {
        let url = self.daemon.image_url("t-main");
        Arc::new(
            ImageioDisk::open(&url, &self.tls(), ImageioOptions::default())
                .await
                .unwrap(),
        )
    }

    fn target(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

async fn copy_into(
    disk: Arc<ImageioDisk>,
    target: &Path,
    options: &CopyOptions,
) -> forklift_transfer::Result<forklift_transfer::CopyReport> {
    let sink = Arc::new(LocalDisk::create(target, disk.size()).unwrap());
    forklift_transfer::copy(disk, sink, options, &CancellationToken::new()).await
}

/// The imageio error under a transfer error.
fn imageio_error(error: &forklift_transfer::Error) -> &ImageioError {
    ImageioError::find_in(error).unwrap_or_else(|| panic!("no imageio error in {error:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_identical_reading_only_the_allocated_data() {
    let writes = [
        (MIB, MIB),
        (10 * MIB, 3 * MIB),
        (40 * MIB, MIB / 2),
        (63 * MIB, MIB),
    ];
    let served = Served::new(64 * MIB, &writes, None);
    let disk = served.open().await;
    assert_eq!(disk.size(), 64 * MIB);
    assert!(disk.can_extents(&MetaContext::BaseAllocation));
    assert!(!disk.can_extents(&MetaContext::DirtyBitmap("bm0".into())));
    let target = served.target("copy.raw");
    let report = copy_into(disk.clone(), &target, &CopyOptions::default())
        .await
        .unwrap();
    assert_identical(&target, &served.image);
    // Only the written megabytes travel: 5.5 MiB of data on 1 MiB blocks is 6 blocks.
    let data: u64 = 6 * MIB;
    assert_eq!(report.summary.bytes_read, data, "{:?}", report.summary);
    assert_eq!(disk.stats().bytes_read, data, "{:?}", disk.stats());
    assert_eq!(disk.stats().retries, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dirty_extents_are_exactly_the_regions_written_after_the_bitmap() {
    let later = [
        (16 * MIB, 64 * 1024),
        (33 * MIB, MIB),
        (50 * MIB + 4096, 8192),
    ];
    let served = Served::new(64 * MIB, &[(0, 2 * MIB), (20 * MIB, MIB)], Some(&later));
    let disk = served.open().await;
    let dirty_context = MetaContext::DirtyBitmap("bm0".into());
    assert!(disk.has_dirty_extents() && disk.can_extents(&dirty_context));
    let extents = disk.extents(0, disk.size(), &dirty_context).await.unwrap();
    let dirty: Vec<(u64, u64)> = extents
        .iter()
        .filter(|e| e.flags.is_dirty())
        .map(|e| (e.offset, e.length))
        .collect();
    // qcow2 tracks dirtiness per 64 KiB cluster: the 8 KiB write dirties its whole cluster.
    assert_eq!(
        dirty,
        [
            (16 * MIB, 64 * 1024),
            (33 * MIB, MIB),
            (50 * MIB, 64 * 1024)
        ]
    );
    // A slice starts where it was asked to.
    let slice = disk
        .extents(33 * MIB + 5, 10, &dirty_context)
        .await
        .unwrap();
    assert_eq!(slice[0].offset, 33 * MIB + 5);
    assert!(slice[0].flags.is_dirty());

    // An incremental copy over the dirty extents reads only the dirty blocks.
    let target = served.target("incremental.raw");
    let options = CopyOptions {
        request_size: 64 * 1024,
        incremental: Some(Incremental::Bitmap("bm0".into())),
        ..CopyOptions::default()
    };
    let report = copy_into(disk.clone(), &target, &options).await.unwrap();
    assert_eq!(
        report.summary.bytes_read,
        MIB + 2 * 64 * 1024,
        "{:?}",
        report.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_is_refused_with_the_tls_error() {
    let served = Served::new(4 * MIB, &[(0, MIB)], None);
    let other = imageio::make_ca(&served.dir.path().join("other-ca"), "other");
    let tls = ImageioTls::CaPem(std::fs::read(other).unwrap());
    let url = served.daemon.image_url("t-main");
    let error = ImageioDisk::open(&url, &tls, ImageioOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, ImageioError::Tls { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("not trusted") && !text.contains("t-main"),
        "{text}"
    );
    // The right CA works, and so does the explicit opt-out.
    for tls in [served.tls(), ImageioTls::InsecureSkipVerify] {
        ImageioDisk::open(&url, &tls, ImageioOptions::default())
            .await
            .unwrap();
    }
    // A CA file without a certificate is refused before any connection.
    let error = ImageioDisk::open(
        &url,
        &ImageioTls::CaPem(b"junk".to_vec()),
        ImageioOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, ImageioError::BadCa { .. }), "{error:?}");
    // An unknown ticket is gone, and the ticket never shows in messages.
    let gone = ImageioDisk::open(
        &served.daemon.image_url("no-such"),
        &served.tls(),
        ImageioOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(gone, ImageioError::TicketGone { status: 403, .. }),
        "{gone:?}"
    );
    assert!(!gone.to_string().contains("no-such"), "{gone}");
    // The caller's expected size is checked.
    let options = ImageioOptions {
        expected_size: Some(8 * MIB),
        ..ImageioOptions::default()
    };
    let error = ImageioDisk::open(&url, &served.tls(), options)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ImageioError::SizeMismatch { expected, actual, .. } if expected == 8 * MIB && actual == 4 * MIB)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_removed_mid_copy_fails_the_copy_with_ticket_gone() {
    let served = Arc::new(Served::new(64 * MIB, &[(0, 48 * MIB)], None));
    let disk = served.open().await;
    let removed = Arc::new(AtomicBool::new(false));
    let (flag, daemon_side) = (removed.clone(), served.clone());
    let options = CopyOptions {
        request_size: 64 * 1024,
        requests: 2,
        progress_interval: Duration::from_millis(5),
        progress: Some(Arc::new(move |p: &Progress| {
            if p.bytes_read > 0 && !flag.swap(true, Ordering::SeqCst) {
                let served = daemon_side.clone();
                std::thread::spawn(move || served.daemon.remove_ticket("t-main"));
            }
        })),
        ..CopyOptions::default()
    };
    let target = served.target("removed.raw");
    let copy = copy_into(disk.clone(), &target, &options);
    let error = tokio::time::timeout(Duration::from_secs(30), copy)
        .await
        .expect("the copy must end, not hang")
        .unwrap_err();
    assert!(removed.load(Ordering::SeqCst));
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error:?}");
    assert!(
        matches!(imageio_error(&error), ImageioError::TicketGone { .. }),
        "{error:?}"
    );
    assert!(disk.stats().bytes_read < 48 * MIB);
}

/// What a [`proxy`] does once a connection has passed `budget` bytes from the server.
#[derive(Clone)]
enum PastBudget {
    /// Cuts the connection and counts it.
    Cut(Arc<AtomicU64>),
    /// Trickles the rest, 256 bytes every 50 ms: every wait for a byte is short, the whole
    /// answer is not.
    Trickle,
}

/// A TCP proxy to `upstream` that forwards `budget` bytes of each connection from the
/// server at full speed, then does what `past` says.
async fn proxy(upstream: u16, budget: u64, past: PastBudget) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let past = past.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let upward = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                let mut sent = 0u64;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let want = if sent < budget {
                        buf.len().min((budget - sent) as usize)
                    } else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        256
                    };
                    match server_read.read(&mut buf[..want]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if client_write.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                            sent += n as u64;
                            if let (true, PastBudget::Cut(cuts)) = (sent >= budget, &past) {
                                cuts.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                        }
                    }
                }
                upward.abort();
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_every_few_megabytes_are_retried_and_the_copy_is_identical() {
    let writes = [(0, 6 * MIB), (20 * MIB, 5 * MIB), (60 * MIB, 4 * MIB)];
    let served = Served::new(64 * MIB, &writes, None);
    let cuts = Arc::new(AtomicU64::new(0));
    // 2.5 MiB per connection: most connections die in the middle of a 1 MiB body.
    let port = proxy(
        served.daemon.port(),
        5 * MIB / 2,
        PastBudget::Cut(cuts.clone()),
    )
    .await;
    let url = url::Url::parse(&format!("https://127.0.0.1:{port}/images/t-main")).unwrap();
    let disk = Arc::new(
        ImageioDisk::open(&url, &served.tls(), ImageioOptions::default())
            .await
            .unwrap(),
    );
    let target = served.target("cut.raw");
    let report = copy_into(disk.clone(), &target, &CopyOptions::default())
        .await
        .unwrap();
    assert_identical(&target, &served.image);
    assert!(
        cuts.load(Ordering::Relaxed) >= 3,
        "cuts: {}",
        cuts.load(Ordering::Relaxed)
    );
    assert!(disk.stats().retries >= 1, "{:?}", disk.stats());
    assert_eq!(report.summary.bytes_read, 15 * MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_copy_resumes_from_its_checkpoint() {
    let served = Served::new(64 * MIB, &[(0, 40 * MIB)], None);
    let disk = served.open().await;
    let target = served.target("resumed.raw");
    let checkpoint = served.target("resumed.checkpoint");
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let options = CopyOptions {
        request_size: 256 * 1024,
        requests: 2,
        checkpoint: Some(checkpoint.clone()),
        checkpoint_interval: Duration::from_millis(20),
        progress_interval: Duration::from_millis(5),
        progress: Some(Arc::new(move |p: &Progress| {
            if p.bytes_read >= 12 * MIB {
                stop.cancel();
            }
        })),
        ..CopyOptions::default()
    };
    let sink = Arc::new(LocalDisk::create(&target, disk.size()).unwrap());
    let first = forklift_transfer::copy(disk.clone(), sink, &options, &cancel).await;
    assert_eq!(first.unwrap_err().kind(), ErrorKind::Cancelled);
    assert!(checkpoint.exists());

    let options = CopyOptions {
        checkpoint: Some(checkpoint),
        progress: None,
        ..options
    };
    let sink = Arc::new(LocalDisk::open_writable(&target).unwrap());
    let second = forklift_transfer::copy(disk, sink, &options, &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        second.summary.bytes_resumed >= 8 * MIB,
        "{:?}",
        second.summary
    );
    assert!(
        second.summary.bytes_read <= 32 * MIB,
        "{:?}",
        second.summary
    );
    assert_identical(&target, &served.image);
}

#[test]
fn the_cli_copies_an_imageio_url_and_hides_the_ticket() {
    let served = Served::new(16 * MIB, &[(2 * MIB, MIB)], None);
    let url = served.daemon.image_url("t-main").to_string();
    let target = served.target("cli.raw");
    let ca = served.daemon.ca_file();
    let output = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(["copy", "-o", "json", &url, "--ca-file"])
        .arg(&ca)
        .arg(&target)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["bytesRead"], MIB);
    assert!(!stdout.contains("t-main"), "{stdout}");
    assert_identical(&target, &served.image);

    // Without a trust choice the CLI refuses before connecting.
    let output = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(["copy", &url])
        .arg(served.target("cli2.raw"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--ca-file"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_trickling_bytes_is_given_up_at_the_request_timeout_and_retried() {
    let writes = [(0, 6 * MIB)];
    let served = Served::new(16 * MIB, &writes, None);
    // 1.5 MiB per connection at full speed, then about 5 KB/s: the first 1 MiB range of a
    // connection passes, a second one (6 ranges on at most 4 connections: some connection
    // serves two) would take minutes, each TLS record well within the stall timeout.
    let port = proxy(served.daemon.port(), 3 * MIB / 2, PastBudget::Trickle).await;
    let url = url::Url::parse(&format!("https://127.0.0.1:{port}/images/t-main")).unwrap();
    let options = ImageioOptions {
        stall_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(1),
        ..ImageioOptions::default()
    };
    let disk = Arc::new(
        ImageioDisk::open(&url, &served.tls(), options)
            .await
            .unwrap(),
    );
    let target = served.target("trickled.raw");
    let started = std::time::Instant::now();
    copy_into(disk.clone(), &target, &CopyOptions::default())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_identical(&target, &served.image);
    assert!(disk.stats().retries >= 1, "{:?}", disk.stats());
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
}
