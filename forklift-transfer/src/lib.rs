//! # forklift-transfer: the block-transfer layer
//!
//! The async data path: our own NBD client (structured replies, block status, dirty
//! bitmaps, multi-conn), VDDK through FFI, VMDK readers, sparse and changed-block extents,
//! and a copy pipeline with bounded memory, progress, checksums and resume. It depends on
//! tokio, and on `forklift-core` only for its error helpers (escaping peer text): it moves
//! blocks and knows nothing of plans.

pub mod alloc;
pub mod block;
pub mod changed;
pub mod confined;
pub mod copy;
pub mod error;
pub mod local;
pub mod nbd;
pub mod open;
pub mod qemu;
pub mod vddk;
pub mod vmdk;

pub use block::{BlockSink, BlockSizes, BlockSource, Extent, ExtentFlags, MetaContext, ZeroFlags};
pub use copy::{CopyOptions, CopyReport, CopySummary, Incremental, Progress, copy};
pub use error::{Error, ErrorContext, ErrorKind, Op, Result, Severity};
