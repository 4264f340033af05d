//! `forklift migrate --dry-run`: the manifests `render` prints, from the live source, with
//! nothing changed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn forklift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The demo's folder, built once.
fn demo() -> &'static Path {
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

#[test]
fn dry_run_prints_what_render_prints_and_changes_nothing() {
    let manifests = demo().join("manifests.yaml");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let dry = forklift(&[
        "migrate",
        "--manifests",
        text(&manifests),
        "--destination",
        &format!("local:{}", out.display()),
        "--dry-run",
    ]);
    assert_eq!(dry.status.code(), Some(0), "{dry:?}");
    assert!(!out.exists(), "a dry run created {}", out.display());
    let yaml = String::from_utf8(dry.stdout).unwrap();
    assert!(
        yaml.contains("kind: VirtualMachine") && yaml.contains("kind: DataVolume"),
        "{yaml}"
    );

    // The same plan rendered offline from the inventory `forklift inventory` collects.
    let inventory = tmp.path().join("inventory.json");
    let collected = forklift(&[
        "inventory",
        "--manifests",
        text(&manifests),
        "--provider",
        "ova-demo",
        "--output",
        text(&inventory),
    ]);
    assert!(collected.status.success(), "{collected:?}");
    let rendered = forklift(&[
        "render",
        "--manifests",
        text(&manifests),
        "--inventory",
        text(&inventory),
    ]);
    assert!(rendered.status.success(), "{rendered:?}");
    assert_eq!(yaml, String::from_utf8(rendered.stdout).unwrap());
}

#[test]
fn a_blocked_plan_exits_1_with_its_conditions_and_changes_nothing() {
    let ready = std::fs::read_to_string(demo().join("manifests.yaml")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let blocked = tmp.path().join("blocked.yaml");
    // A VM the source does not have blocks the plan (VMNotFound).
    assert!(ready.contains("\n  vms:\n"), "{ready}");
    std::fs::write(
        &blocked,
        ready.replace("\n  vms:\n", "\n  vms:\n    - name: no-such-vm\n"),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let dry = forklift(&[
        "migrate",
        "--manifests",
        text(&blocked),
        "--destination",
        &format!("local:{}", out.display()),
        "--dry-run",
    ]);
    assert_eq!(dry.status.code(), Some(1), "{dry:?}");
    let stderr = String::from_utf8_lossy(&dry.stderr);
    assert!(stderr.contains("VMNotFound"), "{stderr}");
    assert!(!out.exists());
}
