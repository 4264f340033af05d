//! Builds the FAKE libvixDiskLib (`forklift-transfer/tests/fake-vddk`, not VMware's VDDK)
//! into a private library directory for provider tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the fake into `<tmp>/<name>/lib64/libvixDiskLib.so.8` and returns `<tmp>/<name>`;
/// `None` without a C compiler outside CI.
pub fn build(name: &str) -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = manifest.join("../forklift-transfer/tests/fake-vddk/fake_vixdisklib.c");
    let libdir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let lib64 = libdir.join("lib64");
    std::fs::create_dir_all(&lib64).unwrap();
    let partial = lib64.join(format!("build.{}.so", std::process::id()));
    let result = Command::new("cc")
        .args(["-Wall", "-shared", "-fPIC", "-o"])
        .arg(&partial)
        .arg(&source)
        .arg("-lpthread")
        .output();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    match result {
        Ok(output) if output.status.success() => {
            std::fs::rename(&partial, lib64.join("libvixDiskLib.so.8")).unwrap();
            Some(libdir)
        }
        Ok(output) => panic!(
            "fake VDDK does not compile: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(e) if in_ci => panic!("cc unavailable in CI (run scripts/setup.sh): {e}"),
        Err(e) => {
            eprintln!("skipping: cc unavailable: {e}");
            None
        }
    }
}
