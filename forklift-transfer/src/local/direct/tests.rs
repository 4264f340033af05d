//! O_DIRECT writes over real files: ext4 (/var/tmp), tmpfs (/dev/shm), and file systems
//! that refuse O_DIRECT; every copy checked with `qemu-img compare` against its source.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::block::{BlockSink, BlockSource, MetaContext};
use crate::copy::{CopyOptions, copy};
use crate::local::{LocalDisk, LocalOptions};

const DIRECT: LocalOptions = LocalOptions { direct: true };
const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
/// Not a multiple of any unit: the disk's last piece is unaligned.
const SIZE: u64 = 6 * MIB + 1000;
/// A zero range in the middle of the source: a hole in the copy.
const ZEROES: std::ops::Range<u64> = 2 * MIB..3 * MIB;

/// A temporary folder under `base` (a file system the test wants), or `None` (with a
/// note) where `base` does not exist on this machine.
fn folder_in(base: &str) -> Option<tempfile::TempDir> {
    if !Path::new(base).is_dir() {
        eprintln!("{base} missing: not testing it");
        return None;
    }
    Some(
        tempfile::Builder::new()
            .prefix("forklift-direct")
            .tempdir_in(base)
            .unwrap(),
    )
}

/// A source file of `SIZE` bytes: data everywhere but `ZEROES` (a hole) and a 512-byte
/// zero run inside a page, so that zero detection at 512 bytes leaves unaligned pieces.
fn source_file(dir: &Path) -> PathBuf {
    let path = dir.join("src.raw");
    let file = File::create(&path).unwrap();
    file.set_len(SIZE).unwrap();
    let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8 | 1).collect();
    file.write_all_at(&data[..ZEROES.start as usize], 0)
        .unwrap();
    file.write_all_at(&data[ZEROES.end as usize..], ZEROES.end)
        .unwrap();
    file.write_all_at(&[0; 512], 4 * MIB + 1024).unwrap();
    path
}

async fn copy_into(source: &Path, sink: LocalDisk, options: &CopyOptions) {
    let source: Arc<dyn BlockSource> = Arc::new(LocalDisk::open(source).unwrap());
    copy(source, Arc::new(sink), options, &CancellationToken::new())
        .await
        .unwrap();
}

fn qemu_img_compare(a: &Path, b: &Path) {
    let out = std::process::Command::new("qemu-img")
        .args(["compare", "-f", "raw", "-F", "raw"])
        .args([a, b])
        .output()
        .expect("qemu-img (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `range` of the file at `path` is all hole (no data extent).
async fn is_hole(path: &Path, range: std::ops::Range<u64>) -> bool {
    let disk = LocalDisk::open(path).unwrap();
    let extents = disk
        .extents(
            range.start,
            range.end - range.start,
            &MetaContext::BaseAllocation,
        )
        .await
        .unwrap();
    extents.iter().all(|e| e.flags.is_zero())
}

/// Copies into a new file and over an existing one full of other bytes, with O_DIRECT,
/// at two zero-detection granularities; each copy must equal the source.
async fn direct_copies_equal_their_source(dir: &Path) {
    let source = source_file(dir);
    for sparse in [4096, 512] {
        let options = CopyOptions {
            sparse_granularity: sparse,
            ..CopyOptions::default()
        };
        // A new sparse file: zero ranges are left as holes.
        let target = dir.join(format!("new-{sparse}.raw"));
        let sink = LocalDisk::create_with(&target, SIZE, &DIRECT).unwrap();
        assert!(sink.is_direct());
        let unit = sink.direct.as_ref().unwrap().unit();
        assert!(unit >= 4096 && unit.is_power_of_two(), "{unit}");
        copy_into(&source, sink, &options).await;
        qemu_img_compare(&source, &target);
        assert!(is_hole(&target, ZEROES).await);

        // An existing file of other bytes: zero ranges are punched out.
        std::fs::write(&target, vec![0xa5; SIZE as usize]).unwrap();
        let sink = LocalDisk::open_writable_with(&target, &DIRECT).unwrap();
        assert!(sink.is_direct());
        copy_into(&source, sink, &options).await;
        qemu_img_compare(&source, &target);
        assert!(is_hole(&target, ZEROES).await, "zeroes not punched");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_copies_on_ext4_equal_their_source() {
    if let Some(dir) = folder_in("/var/tmp") {
        direct_copies_equal_their_source(dir.path()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_copies_on_tmpfs_equal_their_source() {
    // tmpfs takes O_DIRECT since Linux 6.6; before, it refuses it (the fallback below).
    let Some(dir) = folder_in("/dev/shm") else {
        return;
    };
    let probe = LocalDisk::create_with(dir.path().join("probe"), 4096, &DIRECT).unwrap();
    if probe.is_direct() {
        direct_copies_equal_their_source(dir.path()).await;
    } else {
        eprintln!("this kernel's tmpfs refuses O_DIRECT: checking the fallback there");
        refused_direct_falls_back_to_the_page_cache(dir.path()).await;
    }
}

/// On a file system that refuses O_DIRECT the sink writes through the page cache and the
/// copy is the same.
async fn refused_direct_falls_back_to_the_page_cache(dir: &Path) {
    let source = source_file(dir);
    let target = dir.join("dst.raw");
    let sink = LocalDisk::create_with(&target, SIZE, &DIRECT).unwrap();
    assert!(!sink.is_direct());
    copy_into(&source, sink, &CopyOptions::default()).await;
    qemu_img_compare(&source, &target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_systems_that_refuse_o_direct_fall_back_to_the_page_cache() {
    // procfs refuses O_DIRECT on every kernel: the descriptor cannot be opened with it.
    let comm = LocalDisk::open_writable_with("/proc/thread-self/comm", &DIRECT).unwrap();
    assert!(!comm.is_direct());
    // ramfs refuses it too, and holds a whole copy; mounting it needs CAP_SYS_ADMIN.
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "ramfs", "forklift-test"])
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !mounted {
        eprintln!("cannot mount ramfs (not privileged): fallback checked on procfs only");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(dir.path());
    refused_direct_falls_back_to_the_page_cache(dir.path()).await;
}

#[tokio::test]
async fn unaligned_writes_are_split_and_read_back_whole() {
    let Some(dir) = folder_in("/var/tmp") else {
        return;
    };
    let path = dir.path().join("disk.raw");
    let disk = LocalDisk::create_with(&path, 4 * MIB, &DIRECT).unwrap();
    assert!(disk.is_direct());
    // Head, aligned body and tail, in one write; then only a head, and one within a page.
    let writes = [
        (3 * 4096 + 100, 3 * 4096 + 1),
        (MIB - 10, 10),
        (2 * MIB + 5, 99),
    ];
    let mut expected = vec![0u8; (4 * MIB) as usize];
    for (i, (offset, length)) in writes.into_iter().enumerate() {
        let data = vec![i as u8 + 1; length as usize];
        disk.write_at(offset, &data).await.unwrap();
        expected[offset as usize..(offset + length) as usize].copy_from_slice(&data);
    }
    BlockSink::flush(&disk).await.unwrap();
    assert!(disk.is_direct());
    let back = LocalDisk::open(&path)
        .unwrap()
        .read_owned(0, vec![0; (4 * MIB) as usize])
        .await
        .unwrap();
    assert!(back == expected);
}

#[tokio::test]
async fn aligned_buffers_are_written_from_their_own_memory_others_through_a_bounce() {
    let Some(dir) = folder_in("/var/tmp") else {
        return;
    };
    let path = dir.path().join("disk.raw");
    let disk = LocalDisk::create_with(&path, 4 * MIB, &DIRECT).unwrap();
    let direct = disk.direct.clone().unwrap();
    // This test binary allocates with `PageAlignedLarge`, as the forklift binary does.
    let aligned = vec![0x5a; MIB as usize];
    assert!(crate::alloc::is_aligned(&aligned, 4096));
    disk.write_owned(0, aligned).await.unwrap();
    assert!(
        direct.kept.lock().unwrap().is_empty(),
        "an aligned buffer went through a bounce buffer"
    );
    // The same length 512 bytes into a larger buffer: not page-aligned, so bounced.
    let mut larger = vec![0u8; (MIB + 4096) as usize];
    larger[512..512 + MIB as usize].fill(0xa5);
    direct
        .write(&disk.file, &larger[512..512 + MIB as usize], MIB, |_, _| {
            Ok(())
        })
        .unwrap();
    assert_eq!(direct.kept.lock().unwrap().len(), 1);
    assert!(disk.is_direct());
    BlockSink::flush(&disk).await.unwrap();
    let back = LocalDisk::open(&path)
        .unwrap()
        .read_owned(0, vec![0; (2 * MIB) as usize])
        .await
        .unwrap();
    assert!(back[..MIB as usize].iter().all(|&b| b == 0x5a));
    assert!(back[MIB as usize..].iter().all(|&b| b == 0xa5));
}

#[tokio::test]
async fn reserved_ranges_are_allocated_and_read_as_zeroes_only_with_o_direct() {
    use std::os::unix::fs::MetadataExt;
    let Some(dir) = folder_in("/var/tmp") else {
        return;
    };
    let allocated = |path: &Path| std::fs::metadata(path).unwrap().blocks() * 512;
    let path = dir.path().join("direct.raw");
    let disk = LocalDisk::create_with(&path, 8 * MIB, &DIRECT).unwrap();
    disk.reserve(MIB, 2 * MIB).await.unwrap();
    assert!(allocated(&path) >= 2 * MIB, "{} bytes", allocated(&path));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 8 * MIB);
    let back = disk
        .read_owned(0, vec![0xff; (4 * MIB) as usize])
        .await
        .unwrap();
    assert!(
        back.iter().all(|&b| b == 0),
        "reserved blocks must read as zeroes"
    );
    // Past the end: refused, nothing allocated.
    assert!(disk.reserve(7 * MIB, 2 * MIB).await.is_err());
    // Through the page cache the file system allocates at writeback: nothing reserved.
    let plain_path = dir.path().join("plain.raw");
    let plain = LocalDisk::create(&plain_path, 8 * MIB).unwrap();
    plain.reserve(MIB, 2 * MIB).await.unwrap();
    assert_eq!(allocated(&plain_path), 0);
}
