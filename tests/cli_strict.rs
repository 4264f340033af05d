//! Unknown fields are reported by every verb that reads manifests, and `--strict` makes
//! them (and every other warning) stop the verb before anything runs.

mod common;

use std::path::PathBuf;
use std::process::Output;
use std::sync::OnceLock;

use common::{forklift, text};

/// The demo's manifests with `targetNamespace` misspelt, and its inventory.
fn typo() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static TYPO: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    TYPO.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let demo = tmp.path().join("demo");
        assert!(
            forklift(&["demo", "--quiet", "--dir", text(&demo)])
                .status
                .success()
        );
        let manifests = std::fs::read_to_string(demo.join("manifests.yaml")).unwrap();
        assert!(manifests.contains("targetNamespace:"));
        let path = tmp.path().join("typo.yaml");
        std::fs::write(
            &path,
            manifests.replace("targetNamespace:", "targetNamspace:"),
        )
        .unwrap();
        let inventory = tmp.path().join("inventory.json");
        let collected = forklift(&[
            "inventory",
            "--manifests",
            text(&demo.join("manifests.yaml")),
            "--provider",
            "ova-demo",
            "--output-file",
            text(&inventory),
        ]);
        assert!(collected.status.success(), "{collected:?}");
        (tmp, path, inventory)
    })
}

fn warns_about_the_typo(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("targetNamspace"),
        "{stderr}"
    );
}

#[test]
fn every_plan_verb_shows_the_unknown_field() {
    let (tmp, manifests, inventory) = typo();
    let m = text(manifests);
    let i = text(inventory);
    let out = format!("local:{}", tmp.path().join("out-lenient").display());
    let runs = [
        forklift(&["validate", "--manifests", m, "--inventory", i]),
        forklift(&["render", "--manifests", m, "--inventory", i]),
        forklift(&["schedule", "--manifests", m, "--inventory", i]),
        forklift(&[
            "migrate",
            "--manifests",
            m,
            "--destination",
            &out,
            "--dry-run",
        ]),
        forklift(&["inventory", "--manifests", m, "--provider", "ova-demo"]),
        forklift(&["manifests", "check", m]),
    ];
    for output in &runs {
        warns_about_the_typo(output);
    }
}

#[test]
fn strict_stops_every_verb_before_anything_runs() {
    let (tmp, manifests, inventory) = typo();
    let m = text(manifests);
    let i = text(inventory);
    let target = tmp.path().join("out-strict");
    let out = format!("local:{}", target.display());
    let runs = [
        forklift(&["validate", "--manifests", m, "--inventory", i, "--strict"]),
        forklift(&["render", "--manifests", m, "--inventory", i, "--strict"]),
        forklift(&["schedule", "--manifests", m, "--inventory", i, "--strict"]),
        forklift(&[
            "migrate",
            "--manifests",
            m,
            "--destination",
            &out,
            "--strict",
        ]),
        forklift(&[
            "inventory",
            "--manifests",
            m,
            "--provider",
            "ova-demo",
            "--strict",
        ]),
        forklift(&["manifests", "check", m, "--strict"]),
    ];
    for output in &runs {
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        warns_about_the_typo(output);
    }
    assert!(
        !target.exists(),
        "migrate --strict created {}",
        target.display()
    );
}
