//! Raw VixDiskLib ABI: types, struct layouts (x86-64, VDDK 6.5–8.0) and the symbol table
//! resolved from a library loaded at run time.
//!
//! Nothing here is safe to call directly; `VddkLibrary` and `VddkDisk` wrap it.

#![allow(non_camel_case_types, non_snake_case)]

use std::ffi::{c_char, c_int, c_void};

/// `VixError`: 0 is success; the low 16 bits carry the error code.
pub type VixError = u64;
/// Success.
pub const VIX_OK: VixError = 0;
/// Generic failure.
pub const VIX_E_FAIL: VixError = 1;
/// Operation not supported.
pub const VIX_E_NOT_SUPPORTED: VixError = 6;

/// Bytes per sector; every VDDK I/O is in whole sectors.
pub const SECTOR_SIZE: u64 = 512;
/// Smallest chunk size accepted by `QueryAllocatedBlocks` (sectors, 64 KiB).
pub const MIN_CHUNK_SIZE: u64 = 128;
/// Most chunks one `QueryAllocatedBlocks` call may cover.
pub const MAX_CHUNK_NUMBER: u64 = 512 * 1024;

/// `VixDiskLib_Open` flags.
pub const OPEN_UNBUFFERED: u32 = 1;
/// Open only this link, not the chain.
pub const OPEN_SINGLE_LINK: u32 = 2;
/// Open read-only.
pub const OPEN_READ_ONLY: u32 = 4;

/// `VixDiskLibCredType::VIXDISKLIB_CRED_UID`.
pub const CRED_UID: c_int = 1;
/// `VixDiskLibSpecType::VIXDISKLIB_SPEC_VMX`.
pub const SPEC_VMX: c_int = 0;

/// Opaque connection handle.
pub type VixDiskLibConnection = *mut c_void;
/// Opaque disk handle.
pub type VixDiskLibHandle = *mut c_void;

/// User name and password credentials.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VixDiskLibUidPasswdCreds {
    /// User name.
    pub userName: *mut c_char,
    /// Password.
    pub password: *mut c_char,
}

/// Session-id credentials.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VixDiskLibSessionIdCreds {
    /// Session cookie.
    pub cookie: *mut c_char,
    /// User name.
    pub userName: *mut c_char,
    /// Key.
    pub key: *mut c_char,
}

/// `union VixDiskLibCreds`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union VixDiskLibCreds {
    /// `VIXDISKLIB_CRED_UID`.
    pub uid: VixDiskLibUidPasswdCreds,
    /// `VIXDISKLIB_CRED_SESSIONID`.
    pub sessionId: VixDiskLibSessionIdCreds,
    /// Reserved.
    pub reserved2: *mut c_void,
}

/// `VixDiskLibVStorageObjectSpec` (first-class disks; unused by migration).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VixDiskLibVStorageObjectSpec {
    /// Object id.
    pub id: *mut c_char,
    /// Datastore MoRef.
    pub datastoreMoRef: *mut c_char,
    /// Snapshot id.
    pub ssId: *mut c_char,
}

/// `union spec` of the connect parameters.
#[repr(C)]
#[derive(Clone, Copy)]
pub union VixDiskLibConnectSpec {
    /// `VIXDISKLIB_SPEC_VSTORAGE_OBJECT`.
    pub vStorageObjSpec: VixDiskLibVStorageObjectSpec,
}

/// `VixDiskLibConnectParams` as of VDDK 7.0.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct VixDiskLibConnectParams {
    /// `moref=vm-16`.
    pub vmxSpec: *mut c_char,
    /// ESXi or vCenter host name.
    pub serverName: *mut c_char,
    /// SHA-1 thumbprint `AA:BB:...`.
    pub thumbPrint: *mut c_char,
    /// Reserved.
    pub reserved1: std::ffi::c_long,
    /// `VixDiskLibCredType`.
    pub credType: c_int,
    /// Credentials.
    pub creds: VixDiskLibCreds,
    /// vSphere API port (443).
    pub port: u32,
    /// NFC port (902).
    pub nfcHostPort: u32,
    /// Reserved.
    pub reserved3: *mut c_char,
    /// Reserved.
    pub reserved4: [c_char; 8],
    /// Reserved.
    pub reserved5: *mut c_void,
    /// Object spec.
    pub spec: VixDiskLibConnectSpec,
    /// `VixDiskLibSpecType`.
    pub specType: c_int,
}

/// Disk geometry.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct VixDiskLibGeometry {
    /// Cylinders.
    pub cylinders: u32,
    /// Heads.
    pub heads: u32,
    /// Sectors per track.
    pub sectors: u32,
}

/// `VixDiskLibInfo`; only the fields common to VDDK 6.x are read (7.0 appends sector sizes).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VixDiskLibInfo {
    /// BIOS geometry.
    pub biosGeo: VixDiskLibGeometry,
    /// Physical geometry.
    pub physGeo: VixDiskLibGeometry,
    /// Capacity in sectors.
    pub capacity: u64,
    /// Adapter type.
    pub adapterType: c_int,
    /// Number of links in the chain.
    pub numLinks: c_int,
    /// Parent file name hint.
    pub parentFileNameHint: *mut c_char,
    /// Disk UUID.
    pub uuid: *mut c_char,
}

/// A run of allocated sectors.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VixDiskLibBlock {
    /// First sector.
    pub offset: u64,
    /// Number of sectors.
    pub length: u64,
}

/// Header of a block list; `blocks` is a flexible array of `numBlocks` entries.
#[repr(C)]
#[derive(Debug)]
pub struct VixDiskLibBlockList {
    /// Entries in `blocks`.
    pub numBlocks: u32,
    /// First entry of the flexible array.
    pub blocks: [VixDiskLibBlock; 1],
}

/// `void (*)(const char *fmt, va_list args)`; on x86-64 a `va_list` argument is a pointer.
pub type VixDiskLibGenericLogFunc = unsafe extern "C" fn(fmt: *const c_char, args: *mut c_void);

/// Entry points; optional ones appeared in later VDDK releases.
#[derive(Debug, Clone, Copy)]
pub struct Symbols {
    /// `VixDiskLib_InitEx`.
    pub InitEx: unsafe extern "C" fn(
        u32,
        u32,
        Option<VixDiskLibGenericLogFunc>,
        Option<VixDiskLibGenericLogFunc>,
        Option<VixDiskLibGenericLogFunc>,
        *const c_char,
        *const c_char,
    ) -> VixError,
    /// `VixDiskLib_Exit`.
    pub Exit: unsafe extern "C" fn(),
    /// `VixDiskLib_ConnectEx`.
    pub ConnectEx: unsafe extern "C" fn(
        *const VixDiskLibConnectParams,
        c_char,
        *const c_char,
        *const c_char,
        *mut VixDiskLibConnection,
    ) -> VixError,
    /// `VixDiskLib_Disconnect`.
    pub Disconnect: unsafe extern "C" fn(VixDiskLibConnection) -> VixError,
    /// `VixDiskLib_Open`.
    pub Open: unsafe extern "C" fn(
        VixDiskLibConnection,
        *const c_char,
        u32,
        *mut VixDiskLibHandle,
    ) -> VixError,
    /// `VixDiskLib_Close`.
    pub Close: unsafe extern "C" fn(VixDiskLibHandle) -> VixError,
    /// `VixDiskLib_GetInfo`.
    pub GetInfo: unsafe extern "C" fn(VixDiskLibHandle, *mut *mut VixDiskLibInfo) -> VixError,
    /// `VixDiskLib_FreeInfo`.
    pub FreeInfo: unsafe extern "C" fn(*mut VixDiskLibInfo),
    /// `VixDiskLib_Read`.
    pub Read: unsafe extern "C" fn(VixDiskLibHandle, u64, u64, *mut u8) -> VixError,
    /// `VixDiskLib_Write`.
    pub Write: unsafe extern "C" fn(VixDiskLibHandle, u64, u64, *const u8) -> VixError,
    /// `VixDiskLib_GetErrorText`.
    pub GetErrorText: unsafe extern "C" fn(VixError, *const c_char) -> *mut c_char,
    /// `VixDiskLib_FreeErrorText`.
    pub FreeErrorText: unsafe extern "C" fn(*mut c_char),
    /// `VixDiskLib_GetTransportMode`.
    pub GetTransportMode: Option<unsafe extern "C" fn(VixDiskLibHandle) -> *const c_char>,
    /// `VixDiskLib_QueryAllocatedBlocks` (VDDK ≥ 6.7).
    pub QueryAllocatedBlocks: Option<
        unsafe extern "C" fn(
            VixDiskLibHandle,
            u64,
            u64,
            u64,
            *mut *mut VixDiskLibBlockList,
        ) -> VixError,
    >,
    /// `VixDiskLib_FreeBlockList` (VDDK ≥ 6.7).
    pub FreeBlockList: Option<unsafe extern "C" fn(*mut VixDiskLibBlockList) -> VixError>,
    /// `VixDiskLib_AllocateConnectParams` (VDDK ≥ 6.7).
    pub AllocateConnectParams: Option<unsafe extern "C" fn() -> *mut VixDiskLibConnectParams>,
    /// `VixDiskLib_FreeConnectParams` (VDDK ≥ 6.7).
    pub FreeConnectParams: Option<unsafe extern "C" fn(*mut VixDiskLibConnectParams)>,
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe extern "C" {
    /// glibc's `vsnprintf`; on x86-64 `va_list` is passed as a pointer.
    fn vsnprintf(buf: *mut c_char, size: usize, fmt: *const c_char, args: *mut c_void) -> c_int;
}

/// Formats a VDDK log message (`fmt` + `va_list`).
///
/// # Safety
/// `fmt` and `args` must be the pair VDDK passed to a log callback.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn format_message(fmt: *const c_char, args: *mut c_void) -> String {
    let mut buf = [0 as c_char; 1024];
    // SAFETY: the buffer is writable for its length; fmt/args come from VDDK as a pair.
    let n = unsafe { vsnprintf(buf.as_mut_ptr(), buf.len(), fmt, args) };
    if n < 0 {
        return String::new();
    }
    // SAFETY: vsnprintf NUL-terminates within the buffer.
    let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    text.to_string_lossy().trim_end().to_owned()
}

/// Log callback routed to `tracing` at debug level.
///
/// # Safety
/// Called by VDDK with a format string and its arguments.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub unsafe extern "C" fn log_debug(fmt: *const c_char, args: *mut c_void) {
    // SAFETY: forwarded from VDDK.
    let message = unsafe { format_message(fmt, args) };
    tracing::debug!(target: "vddk", "{message}");
}

/// Warning callback routed to `tracing`.
///
/// # Safety
/// Called by VDDK with a format string and its arguments.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub unsafe extern "C" fn log_warn(fmt: *const c_char, args: *mut c_void) {
    // SAFETY: forwarded from VDDK.
    let message = unsafe { format_message(fmt, args) };
    tracing::warn!(target: "vddk", "{message}");
}

/// Panic callback: VDDK aborts after it returns; record why.
///
/// # Safety
/// Called by VDDK with a format string and its arguments.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub unsafe extern "C" fn log_panic(fmt: *const c_char, args: *mut c_void) {
    // SAFETY: forwarded from VDDK.
    let message = unsafe { format_message(fmt, args) };
    tracing::error!(target: "vddk", "VDDK panic: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_layouts_match_vddk_on_x86_64() {
        if cfg!(target_arch = "x86_64") {
            assert_eq!(std::mem::size_of::<VixDiskLibConnectParams>(), 128);
            assert_eq!(std::mem::offset_of!(VixDiskLibConnectParams, credType), 32);
            assert_eq!(std::mem::offset_of!(VixDiskLibConnectParams, creds), 40);
            assert_eq!(std::mem::offset_of!(VixDiskLibConnectParams, port), 64);
            assert_eq!(std::mem::offset_of!(VixDiskLibConnectParams, spec), 96);
            assert_eq!(std::mem::offset_of!(VixDiskLibConnectParams, specType), 120);
            assert_eq!(std::mem::offset_of!(VixDiskLibInfo, capacity), 24);
            assert_eq!(std::mem::offset_of!(VixDiskLibInfo, uuid), 48);
            assert_eq!(std::mem::size_of::<VixDiskLibBlock>(), 16);
            assert_eq!(std::mem::offset_of!(VixDiskLibBlockList, blocks), 8);
        }
    }
}
