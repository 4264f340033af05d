//! What the CLI tests share: running the binary, and the demo's folder built once per test
//! binary (its manifests, catalog and finished run feed tests that need a real plan).
#![allow(dead_code)] // each test binary uses some of these

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Runs `forklift ARGS` with `RUST_LOG` unset and returns what it did.
pub fn forklift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// A test path as an argument.
pub fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The folder `forklift demo` wrote (`manifests.yaml`, the catalog, `out/` with the finished
/// run), built once for every test of the binary that calls this.
pub fn demo() -> &'static Path {
    static DEMO: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, dir) = DEMO.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("demo");
        let output = forklift(&["demo", "--quiet", "--dir", text(&dir)]);
        assert!(output.status.success(), "{output:?}");
        (tmp, dir)
    });
    dir
}
