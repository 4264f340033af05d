//! `forklift manifests check` end to end: the real binary on the bundled examples, on a
//! broken manifest, and on stdin.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn forklift(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run forklift");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn bundled_examples_check_clean() {
    let out = forklift(&["manifests", "check", "examples/manifests"], None);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        has_row(&stdout, &["ok", "Plan", "openshift-mtv/web-tier"]),
        "{stdout}"
    );
    assert!(
        has_row(&stdout, &["ok", "Provider", "openshift-mtv/vsphere"]),
        "{stdout}"
    );
    assert!(
        stdout.starts_with("STATUS "),
        "a table with its header:\n{stdout}"
    );
    assert_eq!(stdout.lines().count(), 13, "one line per object:\n{stdout}");
    assert!(
        stderr.contains("12 objects, 0 errors, 0 warnings"),
        "{stderr}"
    );
}

#[test]
fn errors_name_file_document_and_field_and_fail() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::write(
        &plan,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: forklift.konveyor.io/v1beta1\nkind: Plan\nmetadata: {name: p, namespace: mtv}\nspec:\n  targetNamespace: vms\n  colour: blue\n  vms: [{id: a}, {id: b}, {id: c}, {id: d, targetPowerState: maybe}]\n",
    )
    .unwrap();
    let out = forklift(&["manifests", "check", plan.to_str().unwrap()], None);
    // Manifests with errors are bad input: exit 2.
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expected = format!(
        r#"error: {}#2: spec.vms[3].targetPowerState: unknown variant "maybe", expected one of on, off, auto"#,
        plan.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("Unknown kind ConfigMap"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        has_row(&stdout, &["unknown", "ConfigMap", "c"]),
        "unknown kinds are listed, not dropped: {stdout}"
    );
}

#[test]
fn stdin_and_normalized_output() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/manifests/plan.yaml"
    ))
    .unwrap();
    let out = forklift(
        &["manifests", "check", "-", "--output", "yaml"],
        Some(&text),
    );
    assert!(out.status.success());
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(
        yaml.contains("targetPowerState: \"on\""),
        "YAML 1.1 booleans are quoted: {yaml}"
    );
    assert!(
        yaml.contains("preserveStaticIPs: true"),
        "CRD defaults are written: {yaml}"
    );
    // The normalized output checks clean and is stable.
    let again = forklift(&["manifests", "check", "-", "-o", "yaml"], Some(&yaml));
    assert!(again.status.success());
    assert_eq!(String::from_utf8(again.stdout).unwrap(), yaml);
    let json = forklift(&["manifests", "check", "-", "-o", "json"], Some(&yaml));
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

/// Whether a table row starts with these cells.
fn has_row(table: &str, cells: &[&str]) -> bool {
    table.lines().any(|line| {
        line.split_whitespace()
            .take(cells.len())
            .eq(cells.iter().copied())
    })
}
