//! VDDK through FFI against a FAKE libvixDiskLib built here from C
//! (`tests/fake-vddk/fake_vixdisklib.c`): VMware's VDDK cannot be shipped, so the fake
//! implements the same symbols and struct layouts over local files and enforces VDDK's
//! threading and alignment rules.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use forklift_transfer::ErrorKind;
use forklift_transfer::block::{BlockSink, BlockSource, ExtentFlags, MetaContext};
use forklift_transfer::vddk::{ConnectSpec, OpenOptions, VddkDisk, VddkLibrary, find_library};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Builds the fake into `<tmp>/fake-vddk/lib64/libvixDiskLib.so.8` once.
fn fake_libdir() -> Option<PathBuf> {
    static LIBDIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = LIBDIR.get_or_init(|| {
        let source =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake-vddk/fake_vixdisklib.c");
        let libdir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fake-vddk");
        let lib64 = libdir.join("lib64");
        std::fs::create_dir_all(&lib64).map_err(|e| e.to_string())?;
        let partial = lib64.join(format!("build.{}.so", std::process::id()));
        let output = Command::new("cc")
            .args(["-Wall", "-shared", "-fPIC", "-o"])
            .arg(&partial)
            .arg(&source)
            .arg("-lpthread")
            .output()
            .map_err(|e| format!("cannot run cc: {e}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        std::fs::rename(&partial, lib64.join("libvixDiskLib.so.8")).map_err(|e| e.to_string())?;
        Ok(libdir)
    });
    match built {
        Ok(dir) => Some(dir.clone()),
        Err(e) if in_ci() => panic!("cannot build the fake VDDK in CI: {e}"),
        Err(e) => {
            eprintln!("skipping: cannot build the fake VDDK: {e}");
            None
        }
    }
}

fn library() -> Option<Arc<VddkLibrary>> {
    let libdir = fake_libdir()?;
    Some(VddkLibrary::load(&libdir, None).unwrap())
}

fn spec(password: &str) -> ConnectSpec {
    at_snapshot(password, None)
}

fn at_snapshot(password: &str, snapshot: Option<&str>) -> ConnectSpec {
    ConnectSpec {
        server: "esxi.example.com".into(),
        port: 0,
        nfc_port: 0,
        thumbprint: "AB:".repeat(19) + "CD",
        user: "root".into(),
        password: password.into(),
        vm_moref: "vm-42".into(),
        snapshot: snapshot.map(str::to_owned),
        transports: ConnectSpec::DEFAULT_TRANSPORTS.into(),
    }
}

/// 4 MiB + 3 sectors: data in chunk 0, chunks 8..10 and the partial tail; zeroes elsewhere.
fn make_disk(dir: &Path) -> (PathBuf, Vec<u8>) {
    let size = 4 * 1024 * 1024 + 3 * 512;
    let mut data = vec![0u8; size];
    let mut fill = |from: usize, to: usize| {
        for (i, b) in data[from..to].iter_mut().enumerate() {
            *b = ((from + i) % 253) as u8 | 1;
        }
    };
    fill(0, 1000);
    fill(8 * 65536 + 17, 10 * 65536);
    fill(4 * 1024 * 1024, size);
    let path = dir.join("disk-flat.vmdk");
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

#[test]
fn library_search_prefers_lib64_and_newest_version() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("lib64")).unwrap();
    std::fs::write(dir.path().join("libvixDiskLib.so.8"), b"").unwrap();
    std::fs::write(dir.path().join("lib64/libvixDiskLib.so.6"), b"").unwrap();
    std::fs::write(dir.path().join("lib64/libvixDiskLib.so.7"), b"").unwrap();
    assert_eq!(
        find_library(dir.path()).unwrap(),
        dir.path().join("lib64/libvixDiskLib.so.7")
    );
    let empty = tempfile::tempdir().unwrap();
    let err = find_library(empty.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_extents_and_threading_rules_through_the_fake_vddk() {
    let Some(library) = library() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = make_disk(dir.path());
    let disk = Arc::new(
        VddkDisk::open(
            library.clone(),
            spec("pw"),
            path.to_str().unwrap(),
            OpenOptions::default(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(disk.info().capacity, data.len() as u64);
    assert_eq!(disk.info().transport.as_deref(), Some("file"));
    assert_eq!(BlockSource::size(&*disk), data.len() as u64);

    // Aligned, unaligned and owned reads; many tasks at once through the one VDDK thread
    // (the fake fails any call from another thread).
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..32u64 {
        let disk = disk.clone();
        let data = data.clone();
        tasks.spawn(async move {
            let offset = (i * 130_817) % (data.len() as u64 - 70_000);
            let mut buf = vec![0u8; 65_537];
            disk.read_at(offset, &mut buf).await.unwrap();
            assert_eq!(
                &buf[..],
                &data[offset as usize..offset as usize + buf.len()]
            );
            let aligned = offset / 512 * 512;
            let owned = disk.read_owned(aligned, vec![0u8; 4096]).await.unwrap();
            assert_eq!(&owned[..], &data[aligned as usize..aligned as usize + 4096]);
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let err = disk
        .read_at(data.len() as u64 - 10, &mut [0u8; 20])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutOfBounds);

    // Allocation: 64 KiB chunks with data, holes elsewhere, the partial tail as data.
    let context = MetaContext::BaseAllocation;
    assert!(disk.can_extents(&context));
    let mut extents = Vec::new();
    let mut offset = 0;
    while offset < data.len() as u64 {
        let got = disk
            .extents(offset, data.len() as u64 - offset, &context)
            .await
            .unwrap();
        assert_eq!(got[0].offset, offset);
        offset = got.last().unwrap().end();
        extents.extend(got);
    }
    let data_ranges: Vec<(u64, u64)> = extents
        .iter()
        .filter(|e| !e.flags.is_zero())
        .map(|e| (e.offset, e.end()))
        .collect();
    assert_eq!(
        data_ranges,
        vec![
            (0, 65536),
            (8 * 65536, 10 * 65536),
            (4 << 20, data.len() as u64)
        ]
    );
    assert!(
        extents
            .iter()
            .filter(|e| e.flags.is_zero())
            .all(|e| e.flags.contains(ExtentFlags::HOLE))
    );
    let from_middle = disk.extents(70_000, 1000, &context).await.unwrap();
    assert_eq!(from_middle[0].offset, 70_000);
    assert!(from_middle[0].flags.is_zero());

    // Read-only: writes are refused before reaching VDDK.
    let err = disk.write_at(0, &[0u8; 512]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_are_serialised_and_writes_land() {
    let Some(library) = library() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, data) = make_disk(dir.path());
    let path = path.to_str().unwrap().to_owned();
    // Many disks opened and closed at once: the fake fails overlapping Open/Close calls.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let library = library.clone();
        let path = path.clone();
        tasks.spawn(async move {
            let disk = VddkDisk::open(library, spec("pw"), &path, OpenOptions::default())
                .await
                .unwrap();
            let mut buf = vec![0u8; 512];
            disk.read_at(0, &mut buf).await.unwrap();
            buf
        });
    }
    while let Some(buf) = tasks.join_next().await {
        assert_eq!(&buf.unwrap()[..], &data[..512]);
    }

    let writable = OpenOptions {
        read_only: false,
        ..OpenOptions::default()
    };
    let disk = VddkDisk::open(library.clone(), spec("pw"), &path, writable)
        .await
        .unwrap();
    disk.write_at(8 * 65536, &[0x5Au8; 1024]).await.unwrap();
    let err = disk.write_at(100, &[1u8; 512]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let mut back = vec![0u8; 1024];
    disk.read_at(8 * 65536, &mut back).await.unwrap();
    assert!(back.iter().all(|b| *b == 0x5A));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_open_errors_carry_vddk_text_but_no_password() {
    let Some(library) = library() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = make_disk(dir.path());
    let err = VddkDisk::open(
        library.clone(),
        spec("wrong-password"),
        path.to_str().unwrap(),
        OpenOptions::default(),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("VixDiskLib_ConnectEx"), "{text}");
    assert!(text.contains("incorrect user name or password"), "{text}");
    assert!(!format!("{err:?}").contains("wrong-password"));
    assert!(!format!("{:?}", spec("wrong-password")).contains("wrong-password"));

    let err = VddkDisk::open(
        library,
        spec("pw"),
        "/nonexistent/disk.vmdk",
        OpenOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("VixDiskLib_Open"), "{err}");
    assert!(err.to_string().contains("cannot find the file"), "{err}");
}

/// Connected at a snapshot, VDDK reads the disk as that snapshot froze it; the fake reads
/// the frozen copy the simulator keeps in `<disk dir>/<snapshot>/<disk>-flat.vmdk`, and an
/// unknown snapshot is an error rather than the running disk's data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_connection_reads_the_snapshots_frozen_copy() {
    let Some(library) = library() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_, running) = make_disk(dir.path());
    let frozen: Vec<u8> = running.iter().map(|b| b ^ 0xA5).collect();
    std::fs::create_dir(dir.path().join("snapshot-7")).unwrap();
    std::fs::write(dir.path().join("snapshot-7/disk-flat.vmdk"), &frozen).unwrap();
    let descriptor = dir.path().join("disk.vmdk");
    let descriptor = descriptor.to_str().unwrap();

    for (snapshot, want) in [(None, &running), (Some("snapshot-7"), &frozen)] {
        let disk = VddkDisk::open(
            library.clone(),
            at_snapshot("pw", snapshot),
            descriptor,
            OpenOptions::default(),
        )
        .await
        .unwrap();
        let mut buf = vec![0u8; 8192];
        disk.read_at(8 * 65536, &mut buf).await.unwrap();
        assert_eq!(&buf[..], &want[8 * 65536..8 * 65536 + 8192], "{snapshot:?}");
    }
    let err = VddkDisk::open(
        library,
        at_snapshot("pw", Some("snapshot-8")),
        descriptor,
        OpenOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("cannot find the file"), "{err}");
}
