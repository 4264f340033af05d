//! The ForkliftController's serialized form is pinned: the seed manifests' ForkliftControllers,
//! an object setting every field to a non-default value and the fully-defaulted settings are
//! loaded, saved as YAML and JSON, and compared with a snapshot taken before the settings were
//! generated from one table. The `Debug` form of the defaults pins every default value and the
//! field order. Run with `FORKLIFT_BLESS=1` to rewrite the snapshot after an intended change.

use forklift_core::resources::{ForkliftController, ForkliftControllerSettings, ObjectMeta};
use std::fmt::Write as _;
use std::path::PathBuf;

fn path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// `(label, controller)` for every input of the snapshot, in a fixed order.
fn inputs() -> Vec<(String, ForkliftController)> {
    let seed_dir = path("../../shared/fixtures/seed-manifests");
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(&seed_dir)
        .expect("seed manifests directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("kind: ForkliftController")
        })
        .collect();
    seeds.sort();
    assert!(
        seeds.len() >= 2,
        "expected the guide's ForkliftController examples"
    );
    let mut out: Vec<(String, ForkliftController)> = seeds
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let label = p.file_name().unwrap().to_string_lossy().into_owned();
            (label, serde_yaml_ng::from_str(&text).unwrap())
        })
        .collect();
    let every =
        std::fs::read_to_string(path("tests/fixtures/controller/every-setting.json")).unwrap();
    out.push((
        "every-setting.json".into(),
        serde_json::from_str(&every).unwrap(),
    ));
    out.push((
        "defaults".into(),
        ForkliftController::new(ObjectMeta::default(), ForkliftControllerSettings::default()),
    ));
    out
}

fn render() -> String {
    let mut text = String::new();
    for (label, controller) in inputs() {
        let yaml = serde_yaml_ng::to_string(&controller).unwrap();
        let json = serde_json::to_string_pretty(&controller).unwrap();
        writeln!(text, "=== {label} (YAML)\n{yaml}=== {label} (JSON)\n{json}").unwrap();
        // Loading the saved forms gives the same object back.
        assert_eq!(
            serde_yaml_ng::from_str::<ForkliftController>(&yaml).unwrap(),
            controller,
            "{label}: YAML round trip"
        );
        assert_eq!(
            serde_json::from_str::<ForkliftController>(&json).unwrap(),
            controller,
            "{label}: JSON round trip"
        );
    }
    writeln!(
        text,
        "=== defaults (Debug)\n{:#?}",
        ForkliftControllerSettings::default()
    )
    .unwrap();
    text
}

#[test]
fn serialized_controllers_match_the_snapshot() {
    let snapshot = path("tests/fixtures/controller/snapshot.txt");
    let actual = render();
    if std::env::var_os("FORKLIFT_BLESS").is_some() {
        std::fs::write(&snapshot, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).expect("snapshot file");
    assert!(
        actual == expected,
        "ForkliftController serialization changed; diff {} against this output:\n{actual}",
        snapshot.display()
    );
}
