//! `forklift render` and `forklift schedule` on the render fixtures: the printed YAML parses
//! into objects that validate against KubeVirt's OpenAPI document.

#[allow(dead_code)]
#[path = "../forklift-core/tests/support/openapi.rs"]
mod openapi;

use std::process::Command;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/forklift-core/tests/fixtures/render"
);

fn forklift(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(args)
        .output()
        .expect("run forklift")
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

#[test]
fn render_prints_valid_multi_document_yaml_and_a_table() {
    let out = forklift(&[
        "render",
        "--manifests",
        &fixture("vsphere-plan.yaml"),
        "--inventory",
        &fixture("vsphere-source.json"),
        "--destination",
        &fixture("destination.json"),
        "-o",
        "yaml",
    ]);
    // vm-404 is missing from the inventory: a blocker, exit code 1.
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let api = openapi::OpenApi::load();
    let mut kinds = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&stdout) {
        let value: serde_json::Value = serde::Deserialize::deserialize(doc).unwrap();
        let errors = match value["kind"].as_str().unwrap() {
            "VirtualMachine" => api.validate("v1.VirtualMachine", &value),
            "DataVolume" => api.validate_data_volume(&value),
            other => panic!("unexpected {other}"),
        };
        assert!(errors.is_empty(), "{errors:?}");
        kinds.push(value["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        kinds,
        [
            "DataVolume",
            "DataVolume",
            "VirtualMachine",
            "DataVolume",
            "VirtualMachine"
        ]
    );
    assert!(stderr.contains("wave-1-web-01-disk-0-"), "{stderr}");
    assert!(stderr.contains("Critical vm-404: VMNotFound"), "{stderr}");
}

#[test]
fn render_reports_missing_files_and_unknown_plans() {
    let out = forklift(&[
        "render",
        "-m",
        "/nonexistent.yaml",
        "-i",
        &fixture("vsphere-source.json"),
    ]);
    // Bad input: exit 2.
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("error: /nonexistent.yaml: Cannot read: ")
    );
    let out = forklift(&[
        "render",
        "-m",
        &fixture("vsphere-plan.yaml"),
        "-i",
        &fixture("vsphere-source.json"),
        "--plan",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("No Plan named 'nope'; the manifests hold: openshift-mtv/wave-1")
    );
}

#[test]
fn schedule_prints_the_admission_order() {
    let out = forklift(&[
        "schedule",
        "-m",
        &fixture("vsphere-plan.yaml"),
        "-i",
        &fixture("vsphere-source.json"),
        "--limit",
        "1",
        "--throughput",
        "1024",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    // The table on stdout, as kubectl prints one; the policy and the total on stderr.
    assert!(lines[0].starts_with("ORDER   VM"), "{stdout}");
    assert!(
        stderr.contains("Policy: at most 1 VMs in flight per host"),
        "{stderr}"
    );
    // 30 GiB at 1 GiB/s = 30 s for vm-101, then 50 s for vm-202 on the same host.
    assert!(
        lines[1].starts_with("1       vm-101") && lines[1].ends_with("00:00:00   00:00:30"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("2       vm-202") && lines[2].ends_with("00:00:30   00:01:20"),
        "{}",
        lines[2]
    );
    assert!(stderr.contains("Total: 00:01:20"), "{stderr}");
}
