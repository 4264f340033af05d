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

/// The demo catalog built under `dir/catalog` with a disk of Demo_DB_01 corrupted (its grains
/// no longer inflate, so its copy fails), and the demo plan with `deleteVmOnFailMigration`.
pub fn demo_with_a_failing_db(dir: &Path) -> forklift_core::manifest::ManifestSet {
    use forklift::demo::catalog::{build_catalog, demo_vms};
    let catalog = dir.join("catalog");
    build_catalog(&catalog, &dir.join("work"), &demo_vms()).unwrap();
    let vmdk = catalog.join("demo-db-01/demo-db-disk2.vmdk");
    let mut bytes = std::fs::read(&vmdk).unwrap();
    let len = bytes.len();
    bytes[len / 4..len / 2].fill(0x5a);
    std::fs::write(&vmdk, &bytes).unwrap();
    // Back-dated: the OVA scan skips a file modified moments ago as still being written.
    let file = std::fs::File::options().write(true).open(&vmdk).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(120))
        .unwrap();
    let names: Vec<String> = demo_vms().iter().map(|v| v.name.clone()).collect();
    let text = forklift::demo::manifests::demo_manifests(&catalog, &names).replace(
        "  warm: false\n",
        "  warm: false\n  deleteVmOnFailMigration: true\n",
    );
    forklift_core::manifest::ManifestSet::parse("test", &text)
}
