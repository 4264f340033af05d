//! VMDK readers on hand-built streams (VMware's `GD_AT_END` layout with a footer) and on
//! hostile input: every malformed image gives a typed error naming the file, never a panic.

use std::io::Write;
use std::sync::Arc;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use forklift_transfer::vmdk::{
    Error, GD_AT_END, GrainLookup, MAX_GRAIN_SECTORS, MapKind, MemoryWindow, OpenOptions, VmdkImage,
};
use proptest::prelude::*;

const GRAIN: usize = 64 * 1024;
const SECTOR: usize = 512;

fn pad(out: &mut Vec<u8>) {
    out.resize(out.len().next_multiple_of(SECTOR), 0);
}

fn header(capacity_sectors: u64, gd_offset: u64, overhead: u64) -> Vec<u8> {
    let mut h = vec![0u8; SECTOR];
    h[0..4].copy_from_slice(b"KDMV");
    h[4..8].copy_from_slice(&3u32.to_le_bytes());
    h[8..12].copy_from_slice(&(1u32 | 1 << 16 | 1 << 17).to_le_bytes());
    h[12..20].copy_from_slice(&capacity_sectors.to_le_bytes());
    h[20..28].copy_from_slice(&128u64.to_le_bytes());
    h[28..36].copy_from_slice(&1u64.to_le_bytes());
    h[36..44].copy_from_slice(&1u64.to_le_bytes());
    h[44..48].copy_from_slice(&512u32.to_le_bytes());
    h[56..64].copy_from_slice(&gd_offset.to_le_bytes());
    h[64..72].copy_from_slice(&overhead.to_le_bytes());
    h[73..77].copy_from_slice(b"\n \r\n");
    h[77..79].copy_from_slice(&1u16.to_le_bytes());
    h
}

fn marker(val: u64, kind: u32) -> Vec<u8> {
    let mut m = vec![0u8; SECTOR];
    m[0..8].copy_from_slice(&val.to_le_bytes());
    m[12..16].copy_from_slice(&kind.to_le_bytes());
    m
}

/// Writes `raw` (a multiple of 512 bytes) the way VMware exports a streamOptimized disk:
/// header with `gdOffset = GD_AT_END`, descriptor, grains behind markers, then grain table
/// markers, the grain directory, the footer and the end-of-stream marker.
fn vmware_stream(raw: &[u8], with_footer: bool) -> Vec<u8> {
    let capacity = (raw.len() / SECTOR) as u64;
    let mut out = header(capacity, GD_AT_END, 2);
    let mut desc = format!(
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"streamOptimized\"\nRW {capacity} SPARSE \"disk.vmdk\"\n"
    )
    .into_bytes();
    desc.resize(SECTOR, 0);
    out.extend_from_slice(&desc);
    let grains = raw.len().div_ceil(GRAIN);
    let mut gt = vec![0u32; grains.next_multiple_of(512)];
    for (g, chunk) in raw.chunks(GRAIN).enumerate() {
        if chunk.iter().all(|&b| b == 0) {
            continue;
        }
        gt[g] = (out.len() / SECTOR) as u32;
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(chunk).unwrap();
        let packed = z.finish().unwrap();
        out.extend_from_slice(&((g * 128) as u64).to_le_bytes());
        out.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        out.extend_from_slice(&packed);
        pad(&mut out);
    }
    let mut gd = Vec::new();
    for table in gt.chunks(512) {
        out.extend_from_slice(&marker(4, 1));
        gd.push((out.len() / SECTOR) as u32);
        for e in table {
            out.extend_from_slice(&e.to_le_bytes());
        }
    }
    out.extend_from_slice(&marker(1, 2));
    let gd_sector = (out.len() / SECTOR) as u64;
    for e in &gd {
        out.extend_from_slice(&e.to_le_bytes());
    }
    pad(&mut out);
    if with_footer {
        out.extend_from_slice(&marker(1, 3));
        out.extend_from_slice(&header(capacity, gd_sector, 2));
    }
    out.extend_from_slice(&marker(0, 0));
    out
}

fn sample_raw() -> Vec<u8> {
    let mut raw = vec![0u8; 40 * GRAIN + 3 * SECTOR];
    for (i, b) in raw.iter_mut().enumerate() {
        let grain = i / GRAIN;
        if grain % 3 == 0 || i >= 40 * GRAIN {
            *b = (i * 7 + grain) as u8;
        }
    }
    raw
}

fn open_bytes(bytes: Vec<u8>, options: OpenOptions) -> Result<VmdkImage, Error> {
    VmdkImage::open_single_with(Arc::new(MemoryWindow::new("disk.vmdk", bytes)), options)
}

fn read_everything(image: &VmdkImage) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; image.capacity() as usize];
    image.read_at(&mut out, 0)?;
    Ok(out)
}

#[test]
fn vmware_stream_is_read_through_its_footer() {
    let raw = sample_raw();
    let image = open_bytes(vmware_stream(&raw, true), OpenOptions::default()).unwrap();
    assert!(matches!(
        image.grain_lookups()[..],
        [GrainLookup::Footer { .. }]
    ));
    assert_eq!(image.create_type(), "streamOptimized");
    assert!(read_everything(&image).unwrap() == raw);
    let scanned = open_bytes(
        vmware_stream(&raw, true),
        OpenOptions { scan_markers: true },
    )
    .unwrap();
    assert!(read_everything(&scanned).unwrap() == raw);
    assert_eq!(
        image.map(0, image.capacity()).unwrap(),
        scanned.map(0, scanned.capacity()).unwrap()
    );
}

#[test]
fn stream_without_footer_is_indexed_by_scanning_markers() {
    let raw = sample_raw();
    let image = open_bytes(vmware_stream(&raw, false), OpenOptions::default()).unwrap();
    assert_eq!(image.grain_lookups(), vec![GrainLookup::MarkerScan]);
    assert!(read_everything(&image).unwrap() == raw);
}

#[test]
fn truncated_stream_is_a_typed_error_naming_the_file() {
    let stream = vmware_stream(&sample_raw(), true);
    for cut in [
        0,
        10,
        511,
        512,
        1024,
        1500,
        stream.len() / 2,
        stream.len() - 600,
        stream.len() - 1,
    ] {
        let result = open_bytes(stream[..cut].to_vec(), OpenOptions::default())
            .and_then(|i| read_everything(&i));
        let Err(err) = result else {
            panic!("a stream cut at {cut} must not read")
        };
        assert_eq!(err.file(), "disk.vmdk");
        assert!(err.to_string().contains("disk.vmdk"), "{err}");
    }
}

#[test]
fn bad_magic_and_bad_header_fields_are_rejected() {
    let err = open_bytes(vec![0x42; 4096], OpenOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    let mut h = header(1024, 1, 1);
    h[20..28].copy_from_slice(&100u64.to_le_bytes());
    let err = open_bytes(h, OpenOptions::default()).unwrap_err();
    assert!(err.to_string().contains("grain size"), "{err}");
    let mut h = header(1024, 1, 1);
    h[4..8].copy_from_slice(&9u32.to_le_bytes());
    assert!(matches!(
        open_bytes(h, OpenOptions::default()).unwrap_err(),
        Error::Unsupported { .. }
    ));
    let mut h = header(1024, 1, 1);
    h[73] = b'\r';
    assert!(
        open_bytes(h, OpenOptions::default())
            .unwrap_err()
            .to_string()
            .contains("end-of-line")
    );
}

#[test]
fn huge_grain_counts_are_rejected_before_allocating() {
    // 2^38 sectors would need a 16 MiB grain directory the 4 KiB file cannot hold.
    let mut bytes = header(1 << 38, 4, 1);
    bytes[28..44].fill(0); // no embedded descriptor
    bytes.resize(4096, 0);
    let err = open_bytes(bytes, OpenOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "grain directory",
                ..
            }
        ),
        "{err}"
    );
    // Beyond any real disk.
    let bytes = header(u64::MAX / 2, 4, 1);
    assert!(
        open_bytes(bytes, OpenOptions::default())
            .unwrap_err()
            .to_string()
            .contains("capacity")
    );
}

#[test]
fn grains_beyond_1_mib_are_refused_naming_the_file() {
    // The largest accepted grain opens; twice that is refused before any grain is read.
    for (sectors, ok) in [(MAX_GRAIN_SECTORS, true), (MAX_GRAIN_SECTORS * 2, false)] {
        let mut h = header(MAX_GRAIN_SECTORS * 4, GD_AT_END, 1);
        h[20..28].copy_from_slice(&sectors.to_le_bytes());
        h[28..44].fill(0); // no embedded descriptor
        h.extend_from_slice(&marker(0, 0));
        match open_bytes(h, OpenOptions::default()) {
            Ok(_) => assert!(ok, "{sectors}-sector grains accepted"),
            Err(err) => {
                assert!(!ok, "{sectors}-sector grains refused: {err}");
                assert!(
                    matches!(&err, Error::Malformed { file, reason }
                        if file == "disk.vmdk" && reason.contains("grain size")),
                    "{err}"
                );
            }
        }
    }
    assert_eq!(MAX_GRAIN_SECTORS * 512, 1 << 20);
}

#[test]
fn grain_tables_beyond_qemus_512_entries_are_refused() {
    let mut h = header(1024, 1, 1);
    h[44..48].copy_from_slice(&1024u32.to_le_bytes());
    let err = open_bytes(h, OpenOptions::default()).unwrap_err();
    assert!(err.to_string().contains("grain table entries"), "{err}");
}

#[test]
fn a_grain_directory_beyond_its_limit_is_refused_though_the_file_holds_it() {
    // 4 KiB grains, 512-entry tables and a 32 TiB capacity: 2^24 directory entries (64 MiB
    // of memory), all inside a sparse 128 MiB file. Only the file's length bounded it before.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("disk.vmdk");
    let mut h = header(1 << 36, 4, 1);
    h[8..12].copy_from_slice(&1u32.to_le_bytes()); // a plain sparse extent
    h[20..28].copy_from_slice(&8u64.to_le_bytes());
    h[28..44].fill(0); // no embedded descriptor
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(128 << 20).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &h, 0).unwrap();
    drop(file);
    let err = VmdkImage::open(&path).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("grain directory of 16777216 entries"),
        "{err}"
    );
}

#[test]
fn repeated_grain_markers_keep_the_last_and_do_not_grow_the_index_with_the_file() {
    // One grain, written 3000 times (past the index's compaction point): the last wins.
    let mut out = header(128, GD_AT_END, 1);
    out[28..44].fill(0);
    for i in 0..3000u32 {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::fast());
        z.write_all(&vec![(i % 251) as u8; GRAIN]).unwrap();
        let packed = z.finish().unwrap();
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        out.extend_from_slice(&packed);
        pad(&mut out);
    }
    out.extend_from_slice(&marker(0, 0));
    let image = open_bytes(out, OpenOptions::default()).unwrap();
    assert_eq!(image.grain_lookups(), vec![GrainLookup::MarkerScan]);
    assert!(read_everything(&image).unwrap() == vec![(2999 % 251) as u8; GRAIN]);
}

/// A stream without footer of `grains` (grain number, fill byte), in the given order.
fn stream_of(capacity_grains: u64, grains: &[(u64, u8)]) -> Vec<u8> {
    let mut out = header(capacity_grains * 128, GD_AT_END, 1);
    out[28..44].fill(0);
    for &(g, fill) in grains {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::fast());
        z.write_all(&vec![fill; GRAIN]).unwrap();
        let packed = z.finish().unwrap();
        out.extend_from_slice(&(g * 128).to_le_bytes());
        out.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        out.extend_from_slice(&packed);
        pad(&mut out);
    }
    out.extend_from_slice(&marker(0, 0));
    out
}

#[test]
fn scanned_streams_read_alike_in_order_and_out_of_order() {
    // Three grains over three grain tables' worth of disk (1536 grains).
    let grains = [(3u64, 1u8), (700, 2), (1535, 3)];
    let mut want = vec![0u8; 1536 * GRAIN];
    for &(g, fill) in &grains {
        want[g as usize * GRAIN..(g as usize + 1) * GRAIN].fill(fill);
    }
    let mut reversed = grains;
    reversed.reverse();
    for order in [&grains, &reversed] {
        let image = open_bytes(stream_of(1536, order), OpenOptions::default()).unwrap();
        assert_eq!(image.grain_lookups(), vec![GrainLookup::MarkerScan]);
        assert!(read_everything(&image).unwrap() == want, "{order:?}");
        let data: Vec<(u64, u64)> = image
            .map(0, image.capacity())
            .unwrap()
            .iter()
            .filter(|e| e.kind == MapKind::Data)
            .map(|e| (e.offset, e.length))
            .collect();
        let expected: Vec<(u64, u64)> = grains
            .iter()
            .map(|&(g, _)| (g * GRAIN as u64, GRAIN as u64))
            .collect();
        assert_eq!(data, expected, "{order:?}");
    }
}

#[test]
fn corrupt_grains_are_typed_errors() {
    let raw = sample_raw();
    let stream = vmware_stream(&raw, true);
    // The first grain's header sits at sector 2: damage its LBA, its size, then its data.
    let mut wrong_lba = stream.clone();
    wrong_lba[2 * SECTOR] = 0x80;
    let err = read_everything(&open_bytes(wrong_lba, OpenOptions::default()).unwrap()).unwrap_err();
    assert!(err.to_string().contains("expected sector 0"), "{err}");
    let mut huge = stream.clone();
    huge[2 * SECTOR + 8..2 * SECTOR + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = read_everything(&open_bytes(huge, OpenOptions::default()).unwrap()).unwrap_err();
    assert!(err.to_string().contains("implausible size"), "{err}");
    let mut garbage = stream;
    garbage[2 * SECTOR + 14..2 * SECTOR + 40].fill(0xff);
    let err = read_everything(&open_bytes(garbage, OpenOptions::default()).unwrap()).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
}

#[test]
fn reads_outside_the_disk_are_refused() {
    let image = open_bytes(vmware_stream(&sample_raw(), true), OpenOptions::default()).unwrap();
    let mut buf = [0u8; 2];
    let err = image.read_at(&mut buf, image.capacity() - 1).unwrap_err();
    assert!(matches!(err, Error::OutOfRange { .. }));
    assert!(image.map(u64::MAX, 2).is_err());
}

#[test]
fn descriptor_extents_cannot_escape_their_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), vec![7u8; 4096]).unwrap();
    let sub = dir.path().join("vm");
    std::fs::create_dir(&sub).unwrap();
    for name in ["../secret", "/etc/passwd", "a/../../secret", ""] {
        let text = format!(
            "# Disk DescriptorFile\ncreateType=\"monolithicFlat\"\nRW 8 FLAT \"{name}\" 0\n"
        );
        let path = sub.join("evil.vmdk");
        std::fs::write(&path, text).unwrap();
        let err = VmdkImage::open(&path).unwrap_err();
        assert!(err.to_string().contains("evil.vmdk"), "{name}: {err}");
    }
    let path = sub.join("delta.vmdk");
    std::fs::write(
        &path,
        "createType=\"monolithicSparse\"\nparentCID=1234abcd\nRW 8 SPARSE \"delta-s.vmdk\"\n",
    )
    .unwrap();
    assert!(matches!(
        VmdkImage::open(&path).unwrap_err(),
        Error::Unsupported { .. }
    ));
    let path = sub.join("vmfssparse.vmdk");
    std::fs::write(
        &path,
        "createType=\"vmfsSparse\"\nRW 8 VMFSSPARSE \"x-delta.vmdk\"\n",
    )
    .unwrap();
    assert!(matches!(
        VmdkImage::open(&path).unwrap_err(),
        Error::Unsupported { .. }
    ));
    let path = sub.join("short.vmdk");
    std::fs::write(sub.join("short-flat.vmdk"), [0u8; 1024]).unwrap();
    std::fs::write(
        &path,
        "createType=\"monolithicFlat\"\nRW 8 FLAT \"short-flat.vmdk\" 0\n",
    )
    .unwrap();
    assert!(matches!(
        VmdkImage::open(&path).unwrap_err(),
        Error::Truncated { .. }
    ));
}

/// A flat descriptor whose extent is a link (to a host file, or to a file beside it), a FIFO
/// or a device is refused within moments, naming the extent; an extent beside a descriptor
/// in a folder of the package is read.
#[test]
fn descriptor_extents_must_be_regular_files_reached_without_links() {
    use forklift_transfer::confined::{ConfineError, FileKind, PackageDir};
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("secret"), vec![0x5a; 4096]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let descriptor = |extent: &str| {
        format!("# Disk DescriptorFile\ncreateType=\"monolithicFlat\"\nRW 8 FLAT \"{extent}\" 0\n")
    };
    std::os::unix::fs::symlink(
        host.path().join("secret"),
        dir.path().join("host-flat.vmdk"),
    )
    .unwrap();
    std::os::unix::fs::symlink(host.path(), dir.path().join("hostdir")).unwrap();
    std::fs::write(dir.path().join("real-flat.vmdk"), vec![1u8; 4096]).unwrap();
    std::os::unix::fs::symlink("real-flat.vmdk", dir.path().join("inner-flat.vmdk")).unwrap();
    let fifo = std::ffi::CString::new(
        dir.path()
            .join("pipe-flat.vmdk")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero-flat.vmdk")).unwrap();
    for extent in [
        "host-flat.vmdk",
        "hostdir/secret",
        "inner-flat.vmdk",
        "pipe-flat.vmdk",
        "zero-flat.vmdk",
    ] {
        let path = dir.path().join("evil.vmdk");
        std::fs::write(&path, descriptor(extent)).unwrap();
        let started = std::time::Instant::now();
        let err = VmdkImage::open(&path).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let Error::Confined { file, source } = &err else {
            panic!("{extent}: {err}");
        };
        assert!(file.ends_with(extent), "{extent}: {file}");
        assert!(err.to_string().contains(extent), "{extent}: {err}");
        match (extent, source) {
            ("pipe-flat.vmdk", ConfineError::NotRegular { kind, .. }) => {
                assert_eq!(*kind, FileKind::Fifo)
            }
            (_, ConfineError::Link { .. }) => {}
            _ => panic!("{extent}: {err}"),
        }
    }
    // The descriptor itself is confined as well.
    let root = PackageDir::open(dir.path()).unwrap();
    assert!(matches!(
        VmdkImage::open_in(&root, "pipe-flat.vmdk").unwrap_err(),
        Error::Confined { .. }
    ));
    // An extent beside a descriptor in a folder of the package.
    std::fs::create_dir(dir.path().join("disks")).unwrap();
    std::fs::write(dir.path().join("disks/d-flat.vmdk"), vec![9u8; 4096]).unwrap();
    std::fs::write(dir.path().join("disks/d.vmdk"), descriptor("d-flat.vmdk")).unwrap();
    let image = VmdkImage::open_in(&root, "disks/d.vmdk").unwrap();
    let mut buf = [0u8; 4096];
    image.read_at(&mut buf, 0).unwrap();
    assert_eq!(buf, [9u8; 4096]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any damage to a valid stream gives a correct read or a typed error, never a panic.
    #[test]
    fn damaged_streams_never_panic(
        flips in proptest::collection::vec((0usize..1 << 20, any::<u8>()), 1..8),
        scan in any::<bool>(),
        cut in proptest::option::of(0usize..1 << 20),
    ) {
        let raw = sample_raw();
        let mut stream = vmware_stream(&raw, true);
        for (at, value) in flips {
            let at = at % stream.len();
            stream[at] = value;
        }
        if let Some(cut) = cut {
            stream.truncate(cut % (stream.len() + 1));
        }
        if let Ok(image) = open_bytes(stream, OpenOptions { scan_markers: scan }) {
            if image.capacity() <= 1 << 24 {
                let _ = read_everything(&image);
                let _ = image.map(0, image.capacity());
            }
        }
    }
}
