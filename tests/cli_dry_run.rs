//! `forklift migrate --dry-run`: the manifests `render` prints, from the live source, with
//! nothing changed.

mod common;

use std::process::Output;

use common::{demo, forklift, text};

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
        "-o",
        "yaml",
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
        "--output-file",
        text(&inventory),
    ]);
    assert!(collected.status.success(), "{collected:?}");
    let rendered = forklift(&[
        "render",
        "--manifests",
        text(&manifests),
        "--inventory",
        text(&inventory),
        "-o",
        "yaml",
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

#[test]
fn filename_and_f_are_kubectl_spellings_of_manifests() {
    let manifests = demo().join("manifests.yaml");
    let m = text(&manifests);
    let out = format!("local:{}", demo().join("never").display());
    let runs: Vec<Output> = ["--manifests", "--filename", "-f"]
        .iter()
        .map(|flag| forklift(&["migrate", flag, m, "--destination", &out, "--dry-run"]))
        .collect();
    for run in &runs {
        assert_eq!(run.status.code(), Some(0), "{run:?}");
        assert_eq!(run.stdout, runs[0].stdout);
    }
    let validate = forklift(&["validate", "-f", m]);
    assert_eq!(validate.status.code(), Some(0), "{validate:?}");
}
