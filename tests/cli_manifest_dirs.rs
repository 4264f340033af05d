//! `validate`, `render` and `schedule` read one nested manifest directory the same way: the
//! same plan is found, an OS-map ConfigMap stops none of them, and a broken file in a
//! subdirectory is the same error in each.

use std::path::Path;
use std::process::Command;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/forklift-core/tests/fixtures/render"
);

/// Runs `forklift VERB --manifests DIR` with the render fixtures' inventories.
fn run(verb: &str, dir: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .arg(verb)
        .arg("--manifests")
        .arg(dir)
        .arg("--inventory")
        .arg(format!("{FIXTURES}/vsphere-source.json"))
        .arg("--destination")
        .arg(format!("{FIXTURES}/destination.json"))
        // validate's report as JSON, render's objects as YAML; schedule's table.
        .args(match verb {
            "validate" => &["-o", "json"][..],
            "render" => &["-o", "yaml"][..],
            _ => &[][..],
        })
        .output()
        .expect("run forklift");
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The render fixture's six documents (Providers, maps, Hook, Plan) spread over nested
/// directories, plus an OS-map ConfigMap, a hidden directory and a text file.
fn nested_dir() -> tempfile::TempDir {
    let text = std::fs::read_to_string(format!("{FIXTURES}/vsphere-plan.yaml")).unwrap();
    let docs: Vec<&str> = text.split("\n---\n").collect();
    assert_eq!(docs.len(), 6);
    let dir = tempfile::tempdir().unwrap();
    let write = |relative: &str, text: &str| {
        let path = dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("providers.yaml", &format!("{}\n---\n{}", docs[0], docs[1]));
    write("maps/network.yml", docs[2]);
    write("maps/storage/storage.yaml", docs[3]);
    write("plans/hook.yaml", docs[4]);
    write("plans/wave-1/plan.yaml", docs[5]);
    write(
        "config/osmap.json",
        r#"{"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "forklift-vsphere-osmap", "namespace": "openshift-mtv"},
            "data": {"rhel9_64Guest": "windows.2k22"}}"#,
    );
    write(".git/broken.yaml", "{ not: yaml");
    write("README.txt", "{ not: yaml");
    dir
}

#[test]
fn every_verb_finds_the_plan_in_nested_directories() {
    let dir = nested_dir();

    let (code, stdout, stderr) = run("validate", dir.path());
    // vm-404 is not in the inventory: a blocker, exit 1 (2 would mean inputs not loadable).
    assert_eq!(code, Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let conditions = report["conditions"].as_array().unwrap();
    assert!(
        conditions.iter().any(|c| c["type"] == "VMNotFound"
            && c["items"][0]
                .as_str()
                .is_some_and(|i| i.starts_with("id:vm-404"))),
        "{stdout}"
    );

    let (code, stdout, stderr) = run("render", dir.path());
    // The same blocker: exit 1, as validate.
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Critical vm-404: VMNotFound"), "{stderr}");
    assert_eq!(
        stdout.matches("kind: VirtualMachine\n").count(),
        2,
        "{stdout}"
    );
    // The ConfigMap in config/ overrides the OS map: vm-101 (rhel9_64Guest, rhel.9 by
    // default) gets the preference of the Windows VM too, one the destination has.
    assert_eq!(
        stdout.matches("name: windows.2k22\n").count(),
        2,
        "{stdout}"
    );
    assert!(!stdout.contains("rhel.9"), "{stdout}");
    // The ConfigMap is kept verbatim, without a diagnostic on stderr; hidden directories
    // are not read.
    assert!(!stderr.contains("ConfigMap"), "{stderr}");
    assert!(!stderr.contains(".git"), "{stderr}");

    let (code, stdout, stderr) = run("schedule", dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: VM vm-404 is not in the inventory"),
        "{stderr}"
    );
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with(char::is_numeric))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(rows.iter().any(|r| r.contains("vm-101")), "{stdout}");
}

#[test]
fn a_broken_file_in_a_subdirectory_stops_every_verb_with_the_same_error() {
    let dir = nested_dir();
    let broken = dir.path().join("plans/wave-1/extra/broken.yaml");
    std::fs::create_dir_all(broken.parent().unwrap()).unwrap();
    std::fs::write(
        &broken,
        "apiVersion: forklift.konveyor.io/v1beta1\nkind: Hook\nmetadata: {name: h2, namespace: openshift-mtv}\nspec: {image: [1]}\n",
    )
    .unwrap();
    let expected = format!("{}#1: spec.image: ", broken.display());
    let mut reported = Vec::new();
    for verb in ["validate", "render", "schedule"] {
        let (code, stdout, stderr) = run(verb, dir.path());
        // Manifests that do not load are bad input: exit 2 from every verb.
        assert_eq!(code, Some(2), "{verb}: {stderr}");
        assert!(stdout.is_empty(), "{verb}: {stdout}");
        let line = stderr
            .lines()
            .find(|l| l.contains(&expected))
            .unwrap_or_else(|| panic!("{verb}: {stderr}"));
        // validate lists errors under a heading, render and schedule prefix the severity.
        reported.push(line.trim_start_matches("error: ").to_owned());
    }
    assert_eq!(reported[0], reported[1]);
    assert_eq!(reported[1], reported[2]);
}
