//! The qemu dirty-bitmap changed-extent source against a real `qemu-storage-daemon`: a
//! bitmap added over QMP (`block-dirty-bitmap-add`) on a running disk exported over NBD with
//! that bitmap, guest writes made with `qemu-io` through the export, and a delta copy onto
//! the previous full copy.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use forklift_transfer::changed::dirty_bitmap_extents;
use forklift_transfer::open::{OpenOptions, open_sink, open_source};
use forklift_transfer::{CopyOptions, copy};
use tokio_util::sync::CancellationToken;

use common::{have, run};

const MIB: u64 = 1024 * 1024;
/// Granularity of the bitmap: qemu uses the qcow2 cluster size, 64 KiB.
const GRANULE: u64 = 64 * 1024;

/// A qemu-storage-daemon serving one qcow2 image, with its QMP monitor; killed on drop.
struct StorageDaemon {
    child: Child,
    qmp: BufReader<UnixStream>,
    nbd_socket: PathBuf,
}

impl Drop for StorageDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl StorageDaemon {
    fn start(dir: &Path, image: &Path) -> Self {
        let qmp_socket = dir.join("qmp.sock");
        let nbd_socket = dir.join("nbd.sock");
        let child = Command::new("qemu-storage-daemon")
            .arg("--blockdev")
            .arg(format!(
                "driver=file,filename={},node-name=file0",
                image.display()
            ))
            .args(["--blockdev", "driver=qcow2,file=file0,node-name=disk0"])
            .arg("--nbd-server")
            .arg(format!("addr.type=unix,addr.path={}", nbd_socket.display()))
            .arg("--chardev")
            .arg(format!(
                "socket,id=qmp,path={},server=on,wait=off",
                qmp_socket.display()
            ))
            .args(["--monitor", "chardev=qmp"])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn qemu-storage-daemon");
        wait_for(&qmp_socket);
        let stream = UnixStream::connect(&qmp_socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut daemon = Self {
            child,
            qmp: BufReader::new(stream),
            nbd_socket,
        };
        let mut greeting = String::new();
        daemon.qmp.read_line(&mut greeting).unwrap();
        assert!(greeting.contains("QMP"), "{greeting}");
        daemon.execute(r#"{"execute":"qmp_capabilities"}"#);
        daemon
    }

    /// Runs one QMP command and returns its answer; an `error` answer fails the test.
    fn execute(&mut self, command: &str) -> serde_json::Value {
        let stream = self.qmp.get_mut();
        stream.write_all(command.as_bytes()).unwrap();
        stream.write_all(b"\n").unwrap();
        loop {
            let mut line = String::new();
            self.qmp.read_line(&mut line).unwrap();
            let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
            if answer.get("event").is_some() {
                continue;
            }
            assert!(answer.get("error").is_none(), "{command}: {answer}");
            return answer;
        }
    }

    fn uri(&self, export: &str) -> String {
        format!("nbd+unix:///{export}?socket={}", self.nbd_socket.display())
    }
}

/// Writes through the NBD export as the guest would, with qemu-io.
fn guest_write(uri: &str, pattern: u8, offset: u64, length: u64) {
    run(
        "qemu-io",
        &[
            "-f",
            "raw",
            "-c",
            &format!("write -P {pattern:#x} {offset} {length}"),
            uri,
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dirty_bitmap_extents_cover_the_writes_and_a_delta_copy_catches_up() {
    if !have("qemu-storage-daemon") || !have("qemu-io") || !have("qemu-img") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("disk.qcow2");
    let image_path = image.to_str().unwrap();
    run(
        "qemu-img",
        &["create", "-q", "-f", "qcow2", image_path, "64M"],
    );
    // Data from before the bitmap: the full copy carries it, the bitmap must not.
    run(
        "qemu-io",
        &[
            "-f",
            "qcow2",
            "-c",
            "write -P 0x11 0 3M",
            "-c",
            "write -P 0x12 30M 1M",
            image_path,
        ],
    );

    let mut daemon = StorageDaemon::start(dir.path(), &image);
    daemon.execute(
        r#"{"execute":"block-dirty-bitmap-add","arguments":{"node":"disk0","name":"b1","persistent":false}}"#,
    );
    daemon.execute(
        r#"{"execute":"block-export-add","arguments":{"type":"nbd","id":"e0","node-name":"disk0","name":"disk","writable":true,"bitmaps":["b1"]}}"#,
    );
    let uri = daemon.uri("disk");

    // The previous copy: a full copy of the disk as it was when the bitmap started.
    let target = dir.path().join("target.raw");
    let target_spec = target.to_str().unwrap();
    let bitmap_options = OpenOptions {
        bitmap: Some("b1".into()),
        ..OpenOptions::default()
    };
    let cancel = CancellationToken::new();
    {
        let source = open_source(&uri, &OpenOptions::default()).await.unwrap();
        let sink = open_sink(target_spec, 64 * MIB, &OpenOptions::default())
            .await
            .unwrap();
        copy(source.source, sink.sink, &CopyOptions::default(), &cancel)
            .await
            .unwrap();
    }
    let source = open_source(&uri, &bitmap_options).await.unwrap();
    let before = dirty_bitmap_extents(&*source.source, "b1").await.unwrap();
    assert!(before.is_empty(), "{:?}", before.ranges());

    // The guest writes while the disk is exported: inside one granule, across a granule
    // boundary, a large run, and over old data.
    guest_write(&uri, 0x21, 5 * MIB + 100, 512);
    guest_write(&uri, 0x22, 10 * MIB - 4096, 8192);
    guest_write(&uri, 0x23, 40 * MIB, 3 * MIB);
    guest_write(&uri, 0x24, MIB, 64 * 1024);
    let changed = dirty_bitmap_extents(&*source.source, "b1").await.unwrap();
    assert_eq!(
        changed.ranges(),
        &[
            MIB..MIB + GRANULE,
            5 * MIB..5 * MIB + GRANULE,
            10 * MIB - GRANULE..10 * MIB + GRANULE,
            40 * MIB..43 * MIB,
        ]
    );
    assert_eq!(changed.bytes(), 4 * GRANULE + 3 * MIB);

    // The delta copy transfers only those ranges and makes the target identical.
    let sink = open_sink(target_spec, 64 * MIB, &OpenOptions::default())
        .await
        .unwrap();
    let options = CopyOptions {
        incremental: Some(changed.clone().into_incremental()),
        request_size: GRANULE as u32,
        ..CopyOptions::default()
    };
    let report = copy(Arc::clone(&source.source), sink.sink, &options, &cancel)
        .await
        .unwrap();
    let summary = &report.summary;
    // Exactly the changed bytes are read (zero runs inside them are then zeroed, not
    // written); everything else is skipped.
    assert_eq!(summary.bytes_read, changed.bytes(), "{summary:?}");
    assert_eq!(
        summary.bytes_skipped,
        64 * MIB - changed.bytes(),
        "{summary:?}"
    );
    drop(source);
    run(
        "qemu-img",
        &["compare", "-f", "raw", "-F", "raw", &uri, target_spec],
    );
    daemon.execute(r#"{"execute":"block-export-del","arguments":{"id":"e0"}}"#);
}
