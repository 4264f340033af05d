//! A whole VMDK image: its extents laid end to end as one virtual disk.

use std::path::{Component, Path};
use std::sync::Arc;

use crate::confined::PackageDir;

use super::descriptor::{Descriptor, ExtentKind, MAX_DESCRIPTOR_BYTES};
use super::error::{Error, Result};
use super::header::{SECTOR_SIZE, SparseHeader};
use super::io::{FileWindow, ReadAt, read_exact_at};
use super::sparse::{Grain, GrainLookup, RUN_BYTES, SparseExtent};

/// What a range of the virtual disk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    /// Stored data (which may still happen to be zeros).
    Data,
    /// Explicitly zero: a zeroed grain or a `ZERO` extent.
    Zero,
    /// Never written: reads as zeros.
    Hole,
}

impl MapKind {
    /// Whether the range reads as zeros without being read.
    pub fn reads_as_zero(self) -> bool {
        self != MapKind::Data
    }
}

/// A run of the virtual disk with one [`MapKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapEntry {
    /// Byte offset in the virtual disk.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// What the run holds.
    pub kind: MapKind,
}

#[derive(Debug)]
enum ExtentData {
    Flat { src: Arc<dyn ReadAt>, start: u64 },
    Sparse(Box<SparseExtent>),
    Zero,
}

#[derive(Debug)]
struct Extent {
    /// First byte of the extent in the virtual disk.
    offset: u64,
    /// Length in bytes.
    length: u64,
    data: ExtentData,
}

/// Options for opening an image.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// Index stream-optimized extents by scanning their markers instead of trusting the
    /// grain directory (for streams whose directory is damaged or missing).
    pub scan_markers: bool,
}

/// An open VMDK image, read at random offsets.
#[derive(Debug)]
pub struct VmdkImage {
    name: String,
    capacity: u64,
    create_type: String,
    descriptor: Option<Descriptor>,
    extents: Vec<Extent>,
}

impl VmdkImage {
    /// Opens the image at `path`: a sparse extent file (monolithicSparse, streamOptimized)
    /// or a descriptor file whose extents lie beside it (monolithicFlat, twoGbMaxExtent*).
    ///
    /// The descriptor's directory is the root its extents are confined to, as in
    /// [`VmdkImage::open_in`].
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, OpenOptions::default())
    }

    /// [`VmdkImage::open`] with options.
    pub fn open_with(path: &Path, options: OpenOptions) -> Result<Self> {
        let (root, name) = PackageDir::open_parent(path).map_err(|source| Error::Confined {
            file: path.display().to_string(),
            source,
        })?;
        Self::open_in_with(&root, &name, options)
    }

    /// Opens the image `name` (relative, `/`-separated) of the package directory `root`.
    ///
    /// The image and every extent file its descriptor names are opened through
    /// [`PackageDir::open_file`]: extent names are resolved beside the descriptor and must
    /// stay inside `root`, with no symbolic link in any component and nothing but regular
    /// files, so a hostile descriptor cannot read other files or block on a FIFO.
    pub fn open_in(root: &PackageDir, name: &str) -> Result<Self> {
        Self::open_in_with(root, name, OpenOptions::default())
    }

    /// [`VmdkImage::open_in`] with options.
    pub fn open_in_with(root: &PackageDir, name: &str, options: OpenOptions) -> Result<Self> {
        let src: Arc<dyn ReadAt> = Arc::new(open_confined(root, name)?);
        let mut first = vec![0u8; SECTOR_SIZE.min(src.len()) as usize];
        read_exact_at(src.as_ref(), &mut first, 0, "header")?;
        if SparseHeader::has_magic(&first) {
            return Self::from_sparse(src, options);
        }
        if !Descriptor::looks_like(&first) {
            return Err(Error::malformed(
                src.name(),
                "neither a sparse extent header nor a descriptor",
            ));
        }
        if src.len() > MAX_DESCRIPTOR_BYTES {
            return Err(Error::malformed(
                src.name(),
                "descriptor file is larger than 1 MiB",
            ));
        }
        let mut text = vec![0u8; src.len() as usize];
        read_exact_at(src.as_ref(), &mut text, 0, "descriptor")?;
        let descriptor = Descriptor::parse(src.name(), &text)?;
        let dir = Path::new(name).parent().unwrap_or(Path::new(""));
        Self::from_descriptor(src.name(), descriptor, root, dir, options)
    }

    /// Opens the single sparse extent held by `src`, typically a streamOptimized disk read in
    /// place inside an `.ova` archive through a [`FileWindow`].
    pub fn open_single(src: Arc<dyn ReadAt>) -> Result<Self> {
        Self::open_single_with(src, OpenOptions::default())
    }

    /// [`VmdkImage::open_single`] with options.
    pub fn open_single_with(src: Arc<dyn ReadAt>, options: OpenOptions) -> Result<Self> {
        let mut first = vec![0u8; SECTOR_SIZE.min(src.len()) as usize];
        read_exact_at(src.as_ref(), &mut first, 0, "header")?;
        if SparseHeader::has_magic(&first) {
            return Self::from_sparse(src, options);
        }
        if Descriptor::looks_like(&first) {
            return Err(Error::unsupported(
                src.name(),
                "a descriptor file whose extents are separate files cannot be read on its own",
            ));
        }
        Err(Error::malformed(
            src.name(),
            "bad magic (expected \"KDMV\")",
        ))
    }

    fn from_sparse(src: Arc<dyn ReadAt>, options: OpenOptions) -> Result<Self> {
        let mut raw = vec![0u8; SECTOR_SIZE as usize];
        read_exact_at(src.as_ref(), &mut raw, 0, "header")?;
        let header = SparseHeader::parse(src.name(), &raw)?;
        let descriptor = read_embedded_descriptor(src.as_ref(), &header)?;
        if let Some(d) = &descriptor {
            if d.has_parent() {
                return Err(Error::unsupported(
                    src.name(),
                    "delta disk with a parent (snapshot chain)",
                ));
            }
        }
        let name = src.name().to_owned();
        let extent = SparseExtent::open(src, header, options.scan_markers)?;
        let capacity = extent.header().capacity * SECTOR_SIZE;
        let create_type = match &descriptor {
            Some(d) if !d.create_type.is_empty() => d.create_type.clone(),
            _ if extent.header().has_markers() => "streamOptimized".to_owned(),
            _ => "monolithicSparse".to_owned(),
        };
        Ok(VmdkImage {
            name,
            capacity,
            create_type,
            descriptor,
            extents: vec![Extent {
                offset: 0,
                length: capacity,
                data: ExtentData::Sparse(Box::new(extent)),
            }],
        })
    }

    fn from_descriptor(
        name: &str,
        descriptor: Descriptor,
        root: &PackageDir,
        dir: &Path,
        options: OpenOptions,
    ) -> Result<Self> {
        if descriptor.has_parent() {
            return Err(Error::unsupported(
                name,
                "delta disk with a parent (snapshot chain)",
            ));
        }
        let mut extents = Vec::with_capacity(descriptor.extents.len());
        let mut offset = 0u64;
        for line in &descriptor.extents {
            let length = line
                .sectors
                .checked_mul(SECTOR_SIZE)
                .filter(|l| offset.checked_add(*l).is_some())
                .ok_or_else(|| Error::malformed(name, "extents add up to an implausible size"))?;
            let data = match line.kind {
                ExtentKind::Zero => ExtentData::Zero,
                ExtentKind::Other => {
                    return Err(Error::unsupported(
                        name,
                        format!("{} extents", line.kind_name),
                    ));
                }
                ExtentKind::Flat | ExtentKind::Sparse => {
                    let file = line.file.as_deref().unwrap_or_default();
                    let extent = extent_name(name, dir, file)?;
                    let src: Arc<dyn ReadAt> = Arc::new(open_confined(root, &extent)?);
                    if line.kind == ExtentKind::Flat {
                        let start = line.offset.checked_mul(SECTOR_SIZE);
                        if start
                            .and_then(|s| s.checked_add(length))
                            .is_none_or(|end| end > src.len())
                        {
                            return Err(Error::Truncated {
                                file: src.name().to_owned(),
                                what: "flat extent",
                                offset: line.offset.saturating_mul(SECTOR_SIZE),
                                len: src.len(),
                            });
                        }
                        ExtentData::Flat {
                            src,
                            start: start.unwrap_or_default(),
                        }
                    } else {
                        let mut raw = vec![0u8; SECTOR_SIZE as usize];
                        read_exact_at(src.as_ref(), &mut raw, 0, "header")?;
                        let header = SparseHeader::parse(src.name(), &raw)?;
                        if header.capacity < line.sectors {
                            return Err(Error::malformed(
                                src.name(),
                                format!(
                                    "extent holds {} sectors, descriptor says {}",
                                    header.capacity, line.sectors
                                ),
                            ));
                        }
                        ExtentData::Sparse(Box::new(SparseExtent::open(
                            src,
                            header,
                            options.scan_markers,
                        )?))
                    }
                }
            };
            extents.push(Extent {
                offset,
                length,
                data,
            });
            offset += length;
        }
        Ok(VmdkImage {
            name: name.to_owned(),
            capacity: offset,
            create_type: descriptor.create_type.clone(),
            descriptor: Some(descriptor),
            extents,
        })
    }

    /// Name of the image (its path, or `archive!member`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Size of the virtual disk in bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The descriptor's `createType` (for a sparse file without one, what its header implies).
    pub fn create_type(&self) -> &str {
        &self.create_type
    }

    /// The descriptor, when the image has one.
    pub fn descriptor(&self) -> Option<&Descriptor> {
        self.descriptor.as_ref()
    }

    /// How the grains of each sparse extent are located, in extent order.
    pub fn grain_lookups(&self) -> Vec<GrainLookup> {
        self.extents
            .iter()
            .filter_map(|e| match &e.data {
                ExtentData::Sparse(s) => Some(s.lookup()),
                _ => None,
            })
            .collect()
    }

    fn check_range(&self, offset: u64, len: u64) -> Result<()> {
        if offset
            .checked_add(len)
            .is_none_or(|end| end > self.capacity)
        {
            return Err(Error::OutOfRange {
                file: self.name.clone(),
                offset,
                len,
                capacity: self.capacity,
            });
        }
        Ok(())
    }

    fn first_extent(&self, offset: u64) -> usize {
        self.extents
            .partition_point(|e| e.offset + e.length <= offset)
    }

    /// Fills `buf` with the virtual disk bytes at `offset`.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.check_range(offset, buf.len() as u64)?;
        let mut done = 0usize;
        let mut index = self.first_extent(offset);
        while done < buf.len() {
            let pos = offset + done as u64;
            let extent = &self.extents[index];
            let inner = pos - extent.offset;
            let n = ((extent.length - inner) as usize).min(buf.len() - done);
            let out = &mut buf[done..done + n];
            match &extent.data {
                ExtentData::Zero => out.fill(0),
                ExtentData::Flat { src, start } => {
                    read_exact_at(src.as_ref(), out, start + inner, "flat extent data")?
                }
                ExtentData::Sparse(sparse) => read_sparse(sparse, extent.length, out, inner)?,
            }
            done += n;
            index += 1;
        }
        Ok(())
    }

    /// Describes `[offset, offset + len)` of the virtual disk as runs of data, zeros and
    /// holes, adjacent runs of one kind merged.
    pub fn map(&self, offset: u64, len: u64) -> Result<Vec<MapEntry>> {
        self.check_range(offset, len)?;
        let mut out: Vec<MapEntry> = Vec::new();
        let end = offset + len;
        let mut index = self.first_extent(offset);
        let mut pos = offset;
        while pos < end {
            let extent = &self.extents[index];
            let stop = end.min(extent.offset + extent.length);
            match &extent.data {
                ExtentData::Zero => push(&mut out, pos, stop - pos, MapKind::Zero),
                ExtentData::Flat { src, start } => {
                    map_flat(src.as_ref(), *start, extent.offset, pos, stop, &mut out)
                }
                ExtentData::Sparse(sparse) => {
                    map_sparse(sparse, extent.offset, pos, stop, &mut out)?
                }
            }
            pos = stop;
            index += 1;
        }
        Ok(out)
    }
}

fn push(out: &mut Vec<MapEntry>, offset: u64, length: u64, kind: MapKind) {
    if length == 0 {
        return;
    }
    if let Some(last) = out.last_mut() {
        if last.kind == kind && last.offset + last.length == offset {
            last.length += length;
            return;
        }
    }
    out.push(MapEntry {
        offset,
        length,
        kind,
    });
}

/// Maps a flat extent: holes of a sparse extent file read as zeros.
fn map_flat(src: &dyn ReadAt, start: u64, base: u64, pos: u64, stop: u64, out: &mut Vec<MapEntry>) {
    let inner = start + (pos - base);
    let Some(runs) = src.data_runs(inner, stop - pos) else {
        push(out, pos, stop - pos, MapKind::Data);
        return;
    };
    let mut at = pos;
    for (offset, length) in runs {
        let run_start = pos + (offset - inner);
        push(out, at, run_start - at, MapKind::Hole);
        push(out, run_start, length, MapKind::Data);
        at = run_start + length;
    }
    push(out, at, stop - at, MapKind::Hole);
}

fn read_sparse(sparse: &SparseExtent, extent_len: u64, out: &mut [u8], inner: u64) -> Result<()> {
    let grain_bytes = sparse.header().grain_bytes();
    let mut done = 0usize;
    let mut scratch: Vec<u8> = Vec::new();
    let mut run: Vec<(u64, u64)> = Vec::new();
    while done < out.len() {
        let pos = inner + done as u64;
        let g = pos / grain_bytes;
        let within = pos % grain_bytes;
        let mut n = ((grain_bytes - within) as usize).min(out.len() - done);
        match sparse.grain(g)? {
            Grain::Unallocated | Grain::Zero => out[done..done + n].fill(0),
            Grain::Stored(at) if !sparse.header().compressed() => {
                // Grains written in order lie back to back: read them in one request.
                let mut next = g + 1;
                while done + n < out.len()
                    && sparse.grain(next)? == Grain::Stored(at + (next - g) * grain_bytes)
                {
                    n += (grain_bytes as usize).min(out.len() - done - n);
                    next += 1;
                }
                read_exact_at_sparse(sparse, &mut out[done..done + n], at + within)?;
            }
            Grain::Stored(at) => {
                // The last grain may be cut by the end of the extent.
                let grain_len = grain_bytes.min(extent_len - g * grain_bytes) as usize;
                if within == 0 && n == grain_len {
                    n = compressed_run(sparse, extent_len, g, at, out.len() - done, &mut run)?;
                    sparse.read_grain_run(&run, &mut out[done..done + n])?;
                } else {
                    let dst = &mut out[done..done + n];
                    scratch.resize(grain_len, 0);
                    sparse.read_grain(g, at, &mut scratch)?;
                    dst.copy_from_slice(&scratch[within as usize..within as usize + n]);
                }
            }
        }
        done += n;
    }
    Ok(())
}

/// Collects into `run` the compressed grains from `g` (stored at byte `at`) that a read of
/// `room` bytes takes whole, as long as each lies after the previous one within
/// [`SparseExtent::max_packed_bytes`] and the run's stream bytes stay within
/// [`RUN_BYTES`]; returns the bytes of virtual disk they cover.
fn compressed_run(
    sparse: &SparseExtent,
    extent_len: u64,
    g: u64,
    at: u64,
    room: usize,
    run: &mut Vec<(u64, u64)>,
) -> Result<usize> {
    let grain_bytes = sparse.header().grain_bytes();
    let max_packed = sparse.max_packed_bytes();
    run.clear();
    run.push((g, at));
    let mut covered = grain_bytes.min(extent_len - g * grain_bytes) as usize;
    let mut last = at;
    loop {
        let next = g + run.len() as u64;
        let Some(start) = next.checked_mul(grain_bytes).filter(|&s| s < extent_len) else {
            break;
        };
        let next_len = grain_bytes.min(extent_len - start) as usize;
        if covered + next_len > room {
            break;
        }
        match sparse.grain(next)? {
            Grain::Stored(a)
                if a > last && a - last <= max_packed && a + max_packed - at <= RUN_BYTES =>
            {
                run.push((next, a));
                covered += next_len;
                last = a;
            }
            _ => break,
        }
    }
    Ok(covered)
}

fn read_exact_at_sparse(sparse: &SparseExtent, dst: &mut [u8], at: u64) -> Result<()> {
    sparse.read_grain_bytes(dst, at)
}

fn map_sparse(
    sparse: &SparseExtent,
    base: u64,
    start: u64,
    stop: u64,
    out: &mut Vec<MapEntry>,
) -> Result<()> {
    let grain_bytes = sparse.header().grain_bytes();
    let mut pos = start;
    while pos < stop {
        let inner = pos - base;
        let g = inner / grain_bytes;
        let (kind, grains) = match sparse.absent_table_run(g) {
            Some(run) => (MapKind::Hole, run),
            None => match sparse.grain(g)? {
                Grain::Unallocated => (MapKind::Hole, 1),
                Grain::Zero => (MapKind::Zero, 1),
                Grain::Stored(_) => (MapKind::Data, 1),
            },
        };
        let run_end = (g + grains)
            .saturating_mul(grain_bytes)
            .saturating_add(base)
            .min(stop);
        push(out, pos, run_end - pos, kind);
        pos = run_end;
    }
    Ok(())
}

/// The name, inside the package, of extent file `file` of descriptor `name` in `dir`: the
/// extent lies beside its descriptor, and may not climb out of that directory.
fn extent_name(name: &str, dir: &Path, file: &str) -> Result<String> {
    let rel = Path::new(file);
    let safe = !file.is_empty()
        && rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !safe {
        return Err(Error::malformed(
            name,
            format!("extent file {file:?} is outside the descriptor's directory"),
        ));
    }
    Ok(dir.join(rel).to_string_lossy().into_owned())
}

/// Opens `name` of `root` through the confined opener, as a whole-file window.
fn open_confined(root: &PackageDir, name: &str) -> Result<FileWindow> {
    let label = root.label(name);
    let file = root.open_file(name).map_err(|source| Error::Confined {
        file: label.clone(),
        source,
    })?;
    FileWindow::whole(file, label)
}

fn read_embedded_descriptor(src: &dyn ReadAt, h: &SparseHeader) -> Result<Option<Descriptor>> {
    if h.descriptor_offset == 0 || h.descriptor_size == 0 {
        return Ok(None);
    }
    let bytes = h.descriptor_size.saturating_mul(SECTOR_SIZE);
    if bytes > MAX_DESCRIPTOR_BYTES {
        return Err(Error::malformed(
            src.name(),
            "embedded descriptor is larger than 1 MiB",
        ));
    }
    let mut text = vec![0u8; bytes as usize];
    read_exact_at(
        src,
        &mut text,
        h.descriptor_offset.saturating_mul(SECTOR_SIZE),
        "embedded descriptor",
    )?;
    Descriptor::parse(src.name(), &text).map(Some)
}
