//! VMDK readers against images written by the real `qemu-img`: every subformat must read
//! back identical to the raw source and report the allocation `qemu-img map` reports.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use forklift_transfer::vmdk::{FileWindow, GrainLookup, MapKind, OpenOptions, ReadAt, VmdkImage};

const MIB: u64 = 1 << 20;

/// Whether `qemu-img` is present; in CI (`CI=true`) its absence is a failure.
fn have_qemu_img() -> bool {
    let ok = Command::new("qemu-img")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "qemu-img is required in CI (scripts/setup.sh installs it)"
        );
        eprintln!("skipping: qemu-img not installed");
    }
    ok
}

/// Deterministic bytes that do not compress to nothing.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

/// A raw disk of 5 MiB + 12 KiB with data at grain-unaligned places, a compressible run,
/// holes and a partial last grain.
fn raw_disk() -> Vec<u8> {
    let mut raw = vec![0u8; (5 * MIB + 12 * 1024) as usize];
    raw[..70_000].copy_from_slice(&pattern(1, 70_000));
    let at = (MIB + 5) as usize;
    raw[at..at + 200_000].copy_from_slice(&pattern(2, 200_000));
    let at = (3 * MIB) as usize;
    raw[at..at + 4096].fill(b'Z');
    let at = (5 * MIB) as usize;
    let tail = raw.len() - at;
    raw[at..].copy_from_slice(&pattern(3, tail));
    raw
}

fn convert(dir: &Path, raw: &[u8], subformat: &str) -> PathBuf {
    let src = dir.join("disk.raw");
    std::fs::write(&src, raw).unwrap();
    let out = dir.join(format!("{subformat}.vmdk"));
    let status = Command::new("qemu-img")
        .args(["convert", "-q", "-f", "raw", "-O", "vmdk", "-o"])
        .arg(format!("subformat={subformat}"))
        .arg(&src)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "qemu-img convert {subformat} failed");
    out
}

fn read_all(image: &VmdkImage, chunk: usize) -> Vec<u8> {
    let mut out = vec![0u8; image.capacity() as usize];
    for (i, piece) in out.chunks_mut(chunk).enumerate() {
        image.read_at(piece, (i * chunk) as u64).unwrap();
    }
    out
}

/// The ranges `qemu-img map` reports as data that does not read as zeros, merged.
fn qemu_data_ranges(path: &Path) -> Vec<(u64, u64)> {
    let out = Command::new("qemu-img")
        .args(["map", "--output=json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for e in entries
        .iter()
        .filter(|e| e["data"] == true && e["zero"] == false)
    {
        let (start, len) = (e["start"].as_u64().unwrap(), e["length"].as_u64().unwrap());
        match ranges.last_mut() {
            Some(last) if last.0 + last.1 == start => last.1 += len,
            _ => ranges.push((start, len)),
        }
    }
    ranges
}

fn our_data_ranges(image: &VmdkImage) -> Vec<(u64, u64)> {
    let map = image.map(0, image.capacity()).unwrap();
    // The map tiles the disk exactly.
    let mut pos = 0;
    for e in &map {
        assert_eq!(e.offset, pos);
        assert!(e.length > 0);
        pos += e.length;
    }
    assert_eq!(pos, image.capacity());
    map.iter()
        .filter(|e| e.kind == MapKind::Data)
        .map(|e| (e.offset, e.length))
        .collect()
}

/// Every byte outside the reported data is zero.
fn assert_holes_are_zero(image: &VmdkImage, raw: &[u8]) {
    for e in image.map(0, image.capacity()).unwrap() {
        if e.kind.reads_as_zero() {
            let range = &raw[e.offset as usize..(e.offset + e.length) as usize];
            assert!(
                range.iter().all(|&b| b == 0),
                "non-zero bytes in a {:?} run at {}",
                e.kind,
                e.offset
            );
        }
    }
}

#[test]
fn every_subformat_reads_back_identical_to_the_raw_source() {
    if !have_qemu_img() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_disk();
    for subformat in [
        "streamOptimized",
        "monolithicSparse",
        "monolithicFlat",
        "twoGbMaxExtentSparse",
        "twoGbMaxExtentFlat",
    ] {
        let path = convert(dir.path(), &raw, subformat);
        let image = VmdkImage::open(&path).unwrap_or_else(|e| panic!("{subformat}: {e}"));
        assert_eq!(image.create_type(), subformat);
        assert_eq!(image.capacity(), raw.len() as u64, "{subformat}");
        // Chunk sizes smaller, equal to and larger than a grain, and unaligned.
        for chunk in [4096, 65536, 1_000_003, image.capacity() as usize] {
            assert!(
                read_all(&image, chunk) == raw,
                "{subformat} differs from the raw source (chunk {chunk})"
            );
        }
        assert_holes_are_zero(&image, &raw);
        if subformat.contains("Sparse") || subformat == "streamOptimized" {
            assert_eq!(
                our_data_ranges(&image),
                qemu_data_ranges(&path),
                "{subformat} allocation"
            );
        }
    }
}

#[test]
fn stream_optimized_reads_the_same_by_directory_and_by_marker_scan() {
    if !have_qemu_img() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_disk();
    let path = convert(dir.path(), &raw, "streamOptimized");
    let by_gd = VmdkImage::open(&path).unwrap();
    assert!(matches!(
        by_gd.grain_lookups()[..],
        [GrainLookup::Header { .. }]
    ));
    let scanned = VmdkImage::open_with(&path, OpenOptions { scan_markers: true }).unwrap();
    assert_eq!(scanned.grain_lookups(), vec![GrainLookup::MarkerScan]);
    assert!(read_all(&scanned, 65536) == raw);
    assert_eq!(our_data_ranges(&scanned), our_data_ranges(&by_gd));
}

#[test]
fn stream_is_read_in_place_inside_a_larger_file() {
    if !have_qemu_img() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_disk();
    let path = convert(dir.path(), &raw, "streamOptimized");
    let stream = std::fs::read(&path).unwrap();
    // 1536 bytes of something else before, trailing garbage after, as in a tar archive.
    let mut container = pattern(9, 1536);
    container.extend_from_slice(&stream);
    container.extend_from_slice(&pattern(10, 10_000));
    let outer = dir.path().join("container.bin");
    std::fs::write(&outer, &container).unwrap();
    let file = Arc::new(std::fs::File::open(&outer).unwrap());
    let window = FileWindow::new(file, 1536, stream.len() as u64, "container.bin!disk.vmdk");
    assert_eq!(window.len(), stream.len() as u64);
    let image = VmdkImage::open_single(Arc::new(window)).unwrap();
    assert_eq!(image.name(), "container.bin!disk.vmdk");
    assert!(read_all(&image, 3 * 65536 + 17) == raw);
}

#[test]
fn two_gb_max_extent_spans_several_extent_files() {
    if !have_qemu_img() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let size = 2 * 1024 * MIB + MIB;
    let src = dir.path().join("big.raw");
    let boundary = 2 * 1024 * MIB;
    let marker = pattern(4, 3 * 65536);
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::create(&src).unwrap();
        f.set_len(size).unwrap();
        f.write_all_at(&marker, boundary - 65536 - 100).unwrap();
    }
    for subformat in ["twoGbMaxExtentSparse", "twoGbMaxExtentFlat"] {
        let out = dir.path().join(format!("{subformat}.vmdk"));
        let status = Command::new("qemu-img")
            .args(["convert", "-q", "-f", "raw", "-O", "vmdk", "-o"])
            .arg(format!("subformat={subformat}"))
            .arg(&src)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        let image = VmdkImage::open(&out).unwrap();
        assert_eq!(image.descriptor().unwrap().extents.len(), 2, "{subformat}");
        assert_eq!(image.capacity(), size);
        let mut got = vec![0u8; marker.len()];
        image.read_at(&mut got, boundary - 65536 - 100).unwrap();
        assert!(
            got == marker,
            "{subformat}: data across the extent boundary"
        );
        let mut zeros = vec![1u8; 4096];
        image.read_at(&mut zeros, size - 4096).unwrap();
        assert!(zeros.iter().all(|&b| b == 0));
        assert_eq!(
            our_data_ranges(&image),
            qemu_data_ranges(&out),
            "{subformat}"
        );
    }
}

#[test]
fn zeroed_grain_entries_read_as_zero() {
    if !have_qemu_img() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_disk();
    let src = dir.path().join("z.raw");
    std::fs::write(&src, &raw).unwrap();
    let out = dir.path().join("z.vmdk");
    let ok = Command::new("qemu-img")
        .args([
            "convert",
            "-q",
            "-O",
            "vmdk",
            "-o",
            "subformat=monolithicSparse,zeroed_grain=on",
        ])
        .arg(&src)
        .arg(&out)
        .status()
        .unwrap();
    assert!(ok.success());
    // Zero a written grain through qemu-io so its entry becomes the zeroed-grain marker.
    let ok = Command::new("qemu-io")
        .args(["-f", "vmdk", "-c", "write -z 0 65536"])
        .arg(&out)
        .output();
    let mut expected = raw.clone();
    let zeroed = ok.is_ok_and(|o| o.status.success());
    if zeroed {
        expected[..65536].fill(0);
    }
    let image = VmdkImage::open(&out).unwrap();
    if zeroed {
        assert_eq!(image.map(0, 65536).unwrap()[0].kind, MapKind::Zero);
    }
    assert!(read_all(&image, 65536) == expected);
    assert_holes_are_zero(&image, &expected);
}

#[tokio::test]
async fn block_source_reads_and_reports_allocation_for_the_copy_engine() {
    use forklift_transfer::vmdk::VmdkSource;
    use forklift_transfer::{BlockSource, ErrorKind, MetaContext};
    if !have_qemu_img() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = raw_disk();
    let path = convert(dir.path(), &raw, "streamOptimized");
    let source = VmdkSource::new(VmdkImage::open(&path).unwrap());
    assert!(source.describe().contains("streamOptimized"));
    assert!(source.can_extents(&MetaContext::BaseAllocation));
    let mut copy = vec![0u8; raw.len()];
    let mut pos = 0u64;
    let mut data_bytes = 0u64;
    while pos < source.size() {
        let extents = source
            .extents(pos, source.size() - pos, &MetaContext::BaseAllocation)
            .await
            .unwrap();
        for e in extents {
            if !e.flags.is_zero() {
                let buf = source
                    .read_owned(e.offset, vec![0; e.length as usize])
                    .await
                    .unwrap();
                copy[e.offset as usize..e.end() as usize].copy_from_slice(&buf);
                data_bytes += e.length;
            }
            pos = e.end();
        }
    }
    assert!(
        copy == raw,
        "copy that skips zero extents differs from the source"
    );
    assert!(
        data_bytes < raw.len() as u64 / 2,
        "holes were not reported ({data_bytes} data bytes)"
    );
    let err = source
        .read_owned(raw.len() as u64 - 1, vec![0; 2])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutOfBounds);
    let dirty = MetaContext::DirtyBitmap("b".into());
    assert_eq!(
        source.extents(0, 1, &dirty).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}
