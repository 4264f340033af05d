//! VMDK readers: random access to the virtual disk inside VMware disk images.
//!
//! Supported layouts, after the VMware Virtual Disk Format 1.1 specification:
//!
//! * **monolithicSparse** and **twoGbMaxExtentSparse**: hosted sparse extents, located through
//!   the grain directory and grain tables; `zeroed_grain` entries read as zeros.
//! * **streamOptimized**: compressed grains (deflate, zlib-wrapped) behind grain markers. The
//!   grain directory comes from the header, from the footer when the header says
//!   `GD_AT_END`, or, when neither is usable, from one scan of the markers. A stream inside an
//!   `.ova` tar archive is read in place through a [`FileWindow`], without extracting it.
//! * **monolithicFlat**, **twoGbMaxExtentFlat** and `ZERO` extents, through the text
//!   descriptor.
//!
//! Every image reports its allocation ([`VmdkImage::map`]) so that a copy skips holes, and
//! every malformed input gives an [`Error`] naming the file, never a panic. Metadata that
//! would need unbounded memory (huge grain counts or tables beyond the end of the file) is
//! rejected before anything is allocated, and grain tables are cached in a bounded cache.
//!
//! The readers are synchronous positional reads (`pread`), safe to share between threads;
//! [`VmdkSource`] adapts an image to the asynchronous copy engine.

mod descriptor;
mod error;
mod header;
mod image;
mod inflate;
mod io;
mod scan;
mod source;
mod sparse;

pub use descriptor::{Descriptor, ExtentAccess, ExtentKind, ExtentLine};
pub use error::{Error, Result};
pub use header::{Compression, GD_AT_END, MAX_GRAIN_SECTORS, SECTOR_SIZE, SparseHeader};
pub use image::{MapEntry, MapKind, OpenOptions, VmdkImage};
pub use io::{FileWindow, MemoryWindow, ReadAt};
pub use scan::MAX_UNORDERED_GRAINS;
pub use source::VmdkSource;
pub use sparse::GrainLookup;
