//! Hostile NBD servers against `forklift copy`: a scriptable fixed-newstyle server (std
//! threads, one per connection) that misbehaves in one way per test, and real qemu-nbd for
//! the stale checkpoint. Each test asserts the refusal, bounded time and bounded memory.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Bounded, assert_terminal_safe, forklift, run_bounded};

const NBD_MAGIC: u64 = 0x4e42_444d_4147_4943;
const IHAVEOPT: u64 = 0x4948_4156_454f_5054;
const OPTION_REPLY_MAGIC: u64 = 0x0003_e889_0455_65a9;
const REQUEST_MAGIC: u32 = 0x2560_9513;
const STRUCTURED_REPLY_MAGIC: u32 = 0x668e_33ef;

const OPT_ABORT: u32 = 2;
const OPT_GO: u32 = 7;
const OPT_STRUCTURED_REPLY: u32 = 8;
const OPT_SET_META_CONTEXT: u32 = 10;
const REP_ACK: u32 = 1;
const REP_INFO: u32 = 3;
const REP_META_CONTEXT: u32 = 4;
const REP_ERR_UNKNOWN: u32 = (1 << 31) | 6;
const CMD_READ: u16 = 0;
const CMD_DISC: u16 = 2;
const CHUNK_ERROR: u16 = (1 << 15) | 1;
const REPLY_FLAG_DONE: u16 = 1;
const TFLAG_HAS_FLAGS: u16 = 1;
const TFLAG_READ_ONLY: u16 = 1 << 1;

/// Text that would retitle and clear a terminal if printed raw.
const ANSI: &str = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred";

/// How a scripted server misbehaves.
#[derive(Clone, Copy, Debug)]
enum Script {
    /// Answers `SET_META_CONTEXT` with `NBD_REP_META_CONTEXT` replies, without end.
    EndlessMetaContexts,
    /// Answers `GO` with `NBD_REP_INFO` replies, without end.
    EndlessInfo,
    /// Refuses `GO` with `NBD_REP_ERR_UNKNOWN` and a message full of ANSI escapes.
    AnsiOptionError,
    /// Negotiates, then answers every READ with an error chunk full of ANSI escapes.
    AnsiReadError,
    /// Claims an export of this many bytes.
    ExportSize(u64),
    /// Negotiates a 1 MiB export, then reads requests and never answers one.
    Silent,
}

/// A scripted server on 127.0.0.1; its threads end when the client goes away.
struct HostileServer {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl HostileServer {
    fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                counted.fetch_add(1, Ordering::Relaxed);
                std::thread::spawn(move || {
                    // The client hanging up mid-script is how most scripts end.
                    let _ = serve(stream, script);
                });
            }
        });
        Self { port, connections }
    }

    fn uri(&self) -> String {
        format!("nbd://127.0.0.1:{}/disk", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

fn option_reply(option: u32, reply_type: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = OPTION_REPLY_MAGIC.to_be_bytes().to_vec();
    out.extend_from_slice(&option.to_be_bytes());
    out.extend_from_slice(&reply_type.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn export_info(size: u64, flags: u16) -> Vec<u8> {
    let mut payload = 0u16.to_be_bytes().to_vec();
    payload.extend_from_slice(&size.to_be_bytes());
    payload.extend_from_slice(&flags.to_be_bytes());
    option_reply(OPT_GO, REP_INFO, &payload)
}

fn read_u32(stream: &mut TcpStream) -> std::io::Result<u32> {
    let mut bytes = [0u8; 4];
    stream.read_exact(&mut bytes)?;
    Ok(u32::from_be_bytes(bytes))
}

/// Reads one option: (option, data).
fn read_option(stream: &mut TcpStream) -> std::io::Result<(u32, Vec<u8>)> {
    let mut magic = [0u8; 8];
    stream.read_exact(&mut magic)?;
    assert_eq!(u64::from_be_bytes(magic), IHAVEOPT, "client option magic");
    let option = read_u32(stream)?;
    let length = read_u32(stream)?;
    let mut data = vec![0u8; length as usize];
    stream.read_exact(&mut data)?;
    Ok((option, data))
}

fn serve(mut stream: TcpStream, script: Script) -> std::io::Result<()> {
    let mut greeting = NBD_MAGIC.to_be_bytes().to_vec();
    greeting.extend_from_slice(&IHAVEOPT.to_be_bytes());
    greeting.extend_from_slice(&3u16.to_be_bytes()); // fixed newstyle, no zeroes
    stream.write_all(&greeting)?;
    read_u32(&mut stream)?; // client flags
    let size = match script {
        Script::ExportSize(size) => size,
        _ => 1 << 20,
    };
    loop {
        let (option, _) = read_option(&mut stream)?;
        match (option, script) {
            (OPT_STRUCTURED_REPLY, _) => {
                stream.write_all(&option_reply(option, REP_ACK, &[]))?;
            }
            (OPT_SET_META_CONTEXT, Script::EndlessMetaContexts) => {
                let mut payload = 1u32.to_be_bytes().to_vec();
                payload.extend_from_slice(b"base:allocation");
                // Many replies per write: as fast as a hostile server can stream them.
                let reply = option_reply(option, REP_META_CONTEXT, &payload).repeat(2048);
                loop {
                    stream.write_all(&reply)?;
                }
            }
            (OPT_SET_META_CONTEXT, _) => {
                // No context selected: the client treats the whole export as data.
                stream.write_all(&option_reply(option, REP_ACK, &[]))?;
            }
            (OPT_GO, Script::EndlessInfo) => {
                let replies = export_info(size, TFLAG_HAS_FLAGS).repeat(2048);
                loop {
                    stream.write_all(&replies)?;
                }
            }
            (OPT_GO, Script::AnsiOptionError) => {
                let message = format!("no export {ANSI}");
                stream.write_all(&option_reply(option, REP_ERR_UNKNOWN, message.as_bytes()))?;
            }
            (OPT_GO, _) => {
                stream.write_all(&export_info(size, TFLAG_HAS_FLAGS | TFLAG_READ_ONLY))?;
                stream.write_all(&option_reply(option, REP_ACK, &[]))?;
                return transmission(stream, script);
            }
            (OPT_ABORT, _) => return Ok(()),
            (other, _) => {
                stream.write_all(&option_reply(other, (1 << 31) | 1, &[]))?;
            }
        }
    }
}

fn transmission(mut stream: TcpStream, script: Script) -> std::io::Result<()> {
    loop {
        let mut header = [0u8; 28];
        stream.read_exact(&mut header)?;
        let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        assert_eq!(magic, REQUEST_MAGIC, "request magic");
        let command = u16::from_be_bytes([header[6], header[7]]);
        let mut cookie = [0u8; 8];
        cookie.copy_from_slice(&header[8..16]);
        match (command, script) {
            (CMD_DISC, _) => return Ok(()),
            (_, Script::Silent) => {} // read on, answer nothing
            (CMD_READ, Script::AnsiReadError) => {
                let message = format!("disk on fire {ANSI}");
                let mut payload = 5u32.to_be_bytes().to_vec(); // EIO
                payload.extend_from_slice(&(message.len() as u16).to_be_bytes());
                payload.extend_from_slice(message.as_bytes());
                let mut chunk = STRUCTURED_REPLY_MAGIC.to_be_bytes().to_vec();
                chunk.extend_from_slice(&REPLY_FLAG_DONE.to_be_bytes());
                chunk.extend_from_slice(&CHUNK_ERROR.to_be_bytes());
                chunk.extend_from_slice(&cookie);
                chunk.extend_from_slice(&(payload.len() as u32).to_be_bytes());
                chunk.extend_from_slice(&payload);
                stream.write_all(&chunk)?;
            }
            _ => return Ok(()),
        }
    }
}

/// Every run is killed past this (the 30 s negotiation timeout must not be what ends one).
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// Peak RSS of any run: refusals peak near 20 MiB, a copy of the 4 MiB test image with its
/// 16 MiB of buffers near 40; the endless-reply servers took the old client past 100.
const RSS_LIMIT_MIB: u64 = 64;

/// `forklift copy URI DIR/out.img` with `extra` flags, bounded.
fn copy_from(uri: &str, dir: &Path, extra: &[&str]) -> Bounded {
    let out = dir.join("out.img");
    let out = out.to_str().expect("UTF-8 path");
    let mut args = vec!["copy", "-o", "json", uri, out];
    args.extend_from_slice(extra);
    run_bounded(forklift(dir, &args), TIME_LIMIT, RSS_LIMIT_MIB)
}

/// A copy that failed: exit 1, every `expect` text on stderr, nothing unsafe shown.
fn assert_refused(run: &Bounded, expect: &[&str]) {
    assert_refused_with(run, 1, expect);
}

/// A copy refused for bad input (an export that does not exist, a malformed checkpoint):
/// exit 2, as a missing or malformed file.
fn assert_bad_input(run: &Bounded, expect: &[&str]) {
    assert_refused_with(run, 2, expect);
}

fn assert_refused_with(run: &Bounded, code: i32, expect: &[&str]) {
    eprintln!(
        "refused in {:?} at a peak of {} MiB",
        run.elapsed, run.peak_rss_mib
    );
    assert_eq!(run.code, Some(code), "{}", run.output());
    let stderr = &run.stderr;
    for text in expect {
        assert!(stderr.contains(text), "{text:?} not in {stderr:?}");
    }
    assert_terminal_safe(&run.output());
}

#[test]
fn endless_meta_context_replies_are_cut_off() {
    let server = HostileServer::start(Script::EndlessMetaContexts);
    let dir = tempfile::tempdir().expect("tempdir");
    let run = copy_from(&server.uri(), dir.path(), &[]);
    assert_refused(&run, &["metadata context", "base:allocation", "twice"]);
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
}

#[test]
fn endless_info_replies_are_cut_off() {
    let server = HostileServer::start(Script::EndlessInfo);
    let dir = tempfile::tempdir().expect("tempdir");
    let run = copy_from(&server.uri(), dir.path(), &[]);
    assert_refused(&run, &["more than 64 info replies"]);
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
}

#[test]
fn export_sizes_beyond_two_to_the_63_name_the_server_and_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    for size in [1u64 << 63, u64::MAX] {
        let server = HostileServer::start(Script::ExportSize(size));
        let run = copy_from(&server.uri(), dir.path(), &[]);
        assert_refused(&run, &["export \"disk\"", &size.to_string(), &server.uri()]);
        assert!(
            !run.stderr.contains("out of range integral type conversion"),
            "{}",
            run.stderr
        );
        assert!(!dir.path().join("out.img").exists(), "destination created");
    }
}

#[test]
fn ansi_escapes_in_server_errors_are_shown_escaped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = HostileServer::start(Script::AnsiOptionError);
    let run = copy_from(&server.uri(), dir.path(), &[]);
    assert_bad_input(&run, &["unknown export", "no export \\x1b]0;pwned\\x07"]);

    let server = HostileServer::start(Script::AnsiReadError);
    let run = copy_from(&server.uri(), dir.path(), &[]);
    assert_refused(
        &run,
        &["EIO (5)", "disk on fire \\x1b]0;pwned\\x07\\x1b[2J"],
    );
}

#[test]
fn a_server_that_stops_answering_times_out_and_is_reconnected_then_given_up() {
    let server = HostileServer::start(Script::Silent);
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = ["--io-timeout", "1", "--reconnects", "1"];
    // Into a file (the ordinary pipeline), then into an NBD export (copy lanes).
    let target = dir.path().join("target.raw");
    std::fs::write(&target, vec![0u8; 1 << 20]).expect("target image");
    let lanes_target = QemuNbd::serve(&target, dir.path(), true);
    let mut destinations = vec![dir.path().join("out.img").display().to_string()];
    destinations.extend(lanes_target.as_ref().map(QemuNbd::uri));
    for destination in destinations {
        let started = server.connections();
        let uri = server.uri();
        let mut args = vec!["copy", &uri, &destination];
        args.extend_from_slice(&flags);
        let run = run_bounded(forklift(dir.path(), &args), TIME_LIMIT, RSS_LIMIT_MIB);
        assert_refused(&run, &["Server sent nothing for 1 s", "--io-timeout"]);
        // The first connection timed out, the copy reopened it, and that one timed out too.
        assert!(server.connections() - started >= 2, "{destination}");
        assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
    }
}

/// qemu-nbd serving a raw image read-only on a Unix socket; killed when dropped.
struct QemuNbd {
    child: Child,
    socket: std::path::PathBuf,
}

impl QemuNbd {
    fn serve(image: &Path, dir: &Path, writable: bool) -> Option<Self> {
        let socket = dir.join(if writable { "rw.sock" } else { "ro.sock" });
        let child = Command::new("qemu-nbd")
            .args(["--persistent", "--shared=8", "--format=raw"])
            .args((!writable).then_some("--read-only"))
            .arg(format!("--socket={}", socket.display()))
            .arg(image)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let started = Instant::now();
        while !socket.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "qemu-nbd socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Self { child, socket })
    }

    fn uri(&self) -> String {
        format!("nbd+unix:///?socket={}", self.socket.display())
    }
}

impl Drop for QemuNbd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_checkpoint_of_a_deleted_or_replaced_destination_is_discarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let image = dir.path().join("src.raw");
    let data: Vec<u8> = (0..4u32 << 20)
        .map(|i| {
            if (i >> 16) % 3 == 0 {
                0
            } else {
                (i % 251) as u8 + 1
            }
        })
        .collect();
    std::fs::write(&image, &data).expect("source image");
    let Some(server) = QemuNbd::serve(&image, dir.path(), false) else {
        assert!(std::env::var_os("CI").is_none(), "qemu-nbd is missing");
        eprintln!("qemu-nbd is not installed; skipping");
        return;
    };
    let (out, checkpoint) = (dir.path().join("out.img"), dir.path().join("out.ckpt"));
    let checkpoint_flag = checkpoint.to_str().expect("UTF-8 path");
    let copy = || {
        copy_from(
            &server.uri(),
            dir.path(),
            &["--checkpoint", checkpoint_flag],
        )
    };

    let first = copy();
    assert_eq!(first.code, Some(0), "{}", first.output());
    assert_eq!(std::fs::read(&out).expect("copied"), data);
    assert!(!first.stderr.contains("discarded"), "{}", first.stderr);

    // Deleted: the rerun makes a new file, and the old checkpoint must not vouch for it.
    std::fs::remove_file(&out).expect("delete destination");
    let rerun = copy();
    assert_eq!(rerun.code, Some(0), "{}", rerun.output());
    // Checked first: before checkpoints were bound, the rerun "succeeded" with zeroes.
    let copied = std::fs::read(&out).expect("copied again");
    assert!(copied == data, "the rerun trusted a stale checkpoint");
    assert!(
        rerun.stderr.contains("out.ckpt was discarded"),
        "{}",
        rerun.stderr
    );
    assert!(
        rerun.stdout.contains("checkpointDiscarded"),
        "{}",
        rerun.stdout
    );

    // Replaced by another file of the right size.
    let other = dir.path().join("other.img");
    std::fs::write(&other, vec![0u8; data.len()]).expect("replacement");
    std::fs::rename(&other, &out).expect("replace destination");
    let replaced = copy();
    assert_eq!(replaced.code, Some(0), "{}", replaced.output());
    assert!(
        replaced.stderr.contains("replaced or recreated"),
        "{}",
        replaced.stderr
    );
    assert_eq!(std::fs::read(&out).expect("copied again"), data);

    // The same file: trusted, nothing read again.
    let resumed = copy();
    assert_eq!(resumed.code, Some(0), "{}", resumed.output());
    assert!(!resumed.stderr.contains("discarded"), "{}", resumed.stderr);
    assert!(
        resumed.stdout.contains("\"bytesRead\": 0"),
        "{}",
        resumed.stdout
    );

    // A tampered block size is refused, naming the file, in bounded time and memory.
    let text = std::fs::read_to_string(&checkpoint).expect("checkpoint");
    let block = serde_json::from_str::<serde_json::Value>(&text).expect("JSON")["block_size"]
        .as_u64()
        .expect("block_size");
    std::fs::write(
        &checkpoint,
        text.replace(&format!("\"block_size\":{block}"), "\"block_size\":3"),
    )
    .expect("tamper");
    let tampered = copy();
    assert_bad_input(&tampered, &["block_size 3", "out.ckpt"]);
}

/// The same for an image served by qemu-nbd on forklift's side: the checkpoint is bound to
/// the qcow2 file, not to the NBD export that serves it.
#[test]
fn a_checkpoint_of_a_deleted_qcow2_destination_is_discarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let image = dir.path().join("src.raw");
    let data: Vec<u8> = (0..2u32 << 20).map(|i| (i % 241) as u8 + 1).collect();
    std::fs::write(&image, &data).expect("source image");
    if Command::new("qemu-img").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "qemu-img is missing");
        eprintln!("qemu-img is not installed; skipping");
        return;
    }
    let out = dir.path().join("out.qcow2");
    let (out, checkpoint) = (
        out.to_str().expect("UTF-8 path"),
        dir.path().join("out.ckpt"),
    );
    let args = [
        "copy",
        image.to_str().expect("UTF-8 path"),
        out,
        "--checkpoint",
        checkpoint.to_str().expect("UTF-8 path"),
        "--verify",
    ];
    let first = run_bounded(forklift(dir.path(), &args), TIME_LIMIT, RSS_LIMIT_MIB);
    assert_eq!(first.code, Some(0), "{}", first.output());
    std::fs::remove_file(out).expect("delete destination");
    // --verify compares the new image with the source: exit 0 only if it was copied again.
    let rerun = run_bounded(forklift(dir.path(), &args), TIME_LIMIT, RSS_LIMIT_MIB);
    assert_eq!(rerun.code, Some(0), "{}", rerun.output());
    assert!(
        rerun.stderr.contains("out.ckpt was discarded"),
        "{}",
        rerun.stderr
    );
}
