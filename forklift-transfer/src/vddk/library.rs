//! Loading VixDiskLib at run time and its process-wide initialisation.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use super::ffi::{self, Symbols, VIX_E_NOT_SUPPORTED, VIX_OK, VixError};
use crate::error::{Error, ErrorKind, Result};

/// Library versions tried, newest first (as nbdkit does).
const SONAMES: [&str; 3] = [
    "libvixDiskLib.so.8",
    "libvixDiskLib.so.7",
    "libvixDiskLib.so.6",
];

/// VDDK serialises Open/Close (and connecting) across the whole process.
pub(crate) static OPEN_CLOSE: Mutex<()> = Mutex::new(());

/// The one initialised library of this process, while anyone holds it.
static LOADED: Mutex<Option<(PathBuf, Weak<VddkLibrary>)>> = Mutex::new(None);

/// Finds `libvixDiskLib.so.{8,7,6}` under `<libdir>/lib64`, then `<libdir>`.
pub fn find_library(libdir: &Path) -> Result<PathBuf> {
    for dir in [libdir.join("lib64"), libdir.to_path_buf()] {
        for soname in SONAMES {
            let candidate = dir.join(soname);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(Error::new(
        ErrorKind::NotFound,
        format!(
            "No libvixDiskLib.so.{{8,7,6}} in {0}/lib64 or {0}",
            libdir.display()
        ),
    ))
}

/// A loaded and initialised VixDiskLib. `VixDiskLib_Exit` runs when the last holder drops it.
pub struct VddkLibrary {
    symbols: Symbols,
    path: PathBuf,
    // Declared last: the library stays mapped until the symbols are no longer reachable.
    _library: libloading::Library,
}

impl std::fmt::Debug for VddkLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VddkLibrary")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

macro_rules! required {
    ($lib:expr, $name:literal) => {{
        // SAFETY: the symbol's type is the VixDiskLib prototype from ffi.rs.
        let symbol =
            unsafe { $lib.get(concat!("VixDiskLib_", $name, "\0").as_bytes()) }.map_err(|e| {
                Error::new(
                    ErrorKind::NotFound,
                    concat!("VDDK lacks VixDiskLib_", $name),
                )
                .with_source(e)
            })?;
        *symbol
    }};
}

macro_rules! optional {
    ($lib:expr, $name:literal) => {{
        // SAFETY: the symbol's type is the VixDiskLib prototype from ffi.rs.
        unsafe { $lib.get(concat!("VixDiskLib_", $name, "\0").as_bytes()) }
            .ok()
            .map(|symbol| *symbol)
    }};
}

impl VddkLibrary {
    /// Loads VDDK from `libdir` (the directory of the VDDK tarball, holding `lib64/`) and
    /// calls `VixDiskLib_InitEx` with an optional VDDK configuration file. A library already
    /// loaded by this process is shared.
    ///
    /// Real VDDK expects its bundled libraries first on the search path: run the process
    /// with `LD_LIBRARY_PATH=<libdir>/lib64`, as nbdkit's re-exec does.
    pub fn load(libdir: &Path, config_file: Option<&Path>) -> Result<Arc<Self>> {
        let path = find_library(libdir)?;
        let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((loaded_path, weak)) = loaded.as_ref() {
            if let Some(existing) = weak.upgrade() {
                if *loaded_path == path {
                    return Ok(existing);
                }
                return Err(Error::invalid_input(format!(
                    "VDDK is already loaded from {}; one VDDK per process",
                    loaded_path.display()
                )));
            }
        }
        // SAFETY: loading runs the library's initialisers; VDDK's are benign.
        let library = unsafe { libloading::Library::new(&path) }.map_err(|e| {
            Error::new(ErrorKind::Io, format!("Cannot load {}", path.display())).with_source(e)
        })?;
        let symbols = Symbols {
            InitEx: required!(library, "InitEx"),
            Exit: required!(library, "Exit"),
            ConnectEx: required!(library, "ConnectEx"),
            Disconnect: required!(library, "Disconnect"),
            Open: required!(library, "Open"),
            Close: required!(library, "Close"),
            GetInfo: required!(library, "GetInfo"),
            FreeInfo: required!(library, "FreeInfo"),
            Read: required!(library, "Read"),
            Write: required!(library, "Write"),
            GetErrorText: required!(library, "GetErrorText"),
            FreeErrorText: required!(library, "FreeErrorText"),
            GetTransportMode: optional!(library, "GetTransportMode"),
            QueryAllocatedBlocks: optional!(library, "QueryAllocatedBlocks"),
            FreeBlockList: optional!(library, "FreeBlockList"),
            AllocateConnectParams: optional!(library, "AllocateConnectParams"),
            FreeConnectParams: optional!(library, "FreeConnectParams"),
        };
        let lib_dir = c_path(libdir)?;
        let config = config_file.map(c_path).transpose()?;
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        let (log, warn, panic) = (
            Some(ffi::log_debug as ffi::VixDiskLibGenericLogFunc),
            Some(ffi::log_warn as ffi::VixDiskLibGenericLogFunc),
            Some(ffi::log_panic as ffi::VixDiskLibGenericLogFunc),
        );
        #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
        let (log, warn, panic) = (None, None, None);
        // SAFETY: strings outlive the call; callbacks match the C prototype.
        let err = unsafe {
            (symbols.InitEx)(
                6,
                5,
                log,
                warn,
                panic,
                lib_dir.as_ptr(),
                config.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            )
        };
        if err != VIX_OK {
            // No Exit after a failed init: `library` is simply unloaded.
            return Err(vix_error(
                err,
                "VixDiskLib_InitEx",
                error_text(&symbols, err),
            ));
        }
        let this = Self {
            symbols,
            path: path.clone(),
            _library: library,
        };
        tracing::info!(path = %path.display(), "VDDK initialised");
        let this = Arc::new(this);
        *loaded = Some((path, Arc::downgrade(&this)));
        Ok(this)
    }

    /// The loaded file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `QueryAllocatedBlocks` is available (VDDK ≥ 6.7).
    pub fn can_query_allocated_blocks(&self) -> bool {
        self.symbols.QueryAllocatedBlocks.is_some() && self.symbols.FreeBlockList.is_some()
    }

    pub(crate) fn symbols(&self) -> &Symbols {
        &self.symbols
    }

    /// VDDK's text for an error code.
    pub fn error_text(&self, err: VixError) -> String {
        error_text(&self.symbols, err)
    }

    /// Turns a VixError into our error, naming the call.
    pub(crate) fn check(&self, err: VixError, call: &'static str) -> Result<()> {
        if err == VIX_OK {
            Ok(())
        } else {
            Err(vix_error(err, call, self.error_text(err)))
        }
    }
}

impl Drop for VddkLibrary {
    fn drop(&mut self) {
        // SAFETY: InitEx succeeded for this instance; every connection holds an Arc, so none
        // is left.
        unsafe { (self.symbols.Exit)() };
        tracing::debug!(path = %self.path.display(), "VDDK exited");
    }
}

fn error_text(symbols: &Symbols, err: VixError) -> String {
    // SAFETY: GetErrorText returns a string we must free with FreeErrorText.
    unsafe {
        let text = (symbols.GetErrorText)(err, std::ptr::null());
        if text.is_null() {
            return format!("VDDK error {err}");
        }
        let owned = CStr::from_ptr(text).to_string_lossy().into_owned();
        (symbols.FreeErrorText)(text);
        owned
    }
}

fn vix_error(err: VixError, call: &'static str, text: String) -> Error {
    let kind = if err & 0xFFFF == VIX_E_NOT_SUPPORTED {
        ErrorKind::Unsupported
    } else {
        ErrorKind::Server
    };
    Error::new(
        kind,
        format!("{call} failed: {text} (VixError {})", err & 0xFFFF),
    )
}

fn c_path(path: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid_input(format!("Path {} contains NUL", path.display())))
}

/// A string for C, or an invalid-input error naming `what`.
pub(crate) fn c_string(value: &str, what: &str) -> Result<CString> {
    CString::new(value).map_err(|_| Error::invalid_input(format!("{what} contains a NUL byte")))
}
