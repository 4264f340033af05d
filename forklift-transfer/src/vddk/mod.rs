//! VMware VDDK (VixDiskLib) through FFI, loaded at run time.
//!
//! VDDK cannot be redistributed, so nothing links against it: [`VddkLibrary::load`] finds
//! `libvixDiskLib.so.{8,7,6}` under `<libdir>/lib64` or `<libdir>` (nbdkit's search order),
//! resolves the symbols and calls `VixDiskLib_InitEx` once per process; `Exit` runs when the
//! last user lets go. [`VddkDisk`] connects (`ConnectEx` with VM MoRef, thumbprint,
//! credentials, optional snapshot and transports such as `file:nbdssl:nbd`), opens a disk
//! read-only and unbuffered, and serves it as a [`crate::block::BlockSource`] from one
//! dedicated thread, which is how VDDK wants its handles used. Allocation comes from
//! `QueryAllocatedBlocks` (VDDK ≥ 6.7) as `base:allocation` extents.

mod disk;
pub mod ffi;
mod library;

pub use disk::{ConnectSpec, DiskInfo, OpenOptions, VddkDisk};
pub use library::{VddkLibrary, find_library};
