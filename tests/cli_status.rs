//! `forklift status`: the plan status a run left at its destination, as a table, in
//! kubectl's output formats, and followed with `--watch`.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::forklift;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The demo's finished run: its status is a finished plan's.
fn demo() -> std::path::PathBuf {
    common::demo().join("out")
}

fn destination(out: &Path) -> String {
    format!("local:{}", out.display())
}

#[test]
fn a_finished_plan_shows_one_row_per_vm_in_every_format() {
    let dest = destination(&demo());
    let table = forklift(&["status", "--destination", &dest, "demo-plan"]);
    assert!(table.status.success(), "{table:?}");
    let text = stdout(&table);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "plan/forklift-demo/demo-plan");
    assert!(
        lines[1].starts_with("VM ") && lines[1].contains("RESULT"),
        "{text}"
    );
    let db = lines.iter().find(|l| l.starts_with("Demo_DB_01")).unwrap();
    assert!(
        db.contains("demo-db-01") && db.contains("Succeeded") && db.contains("(100%)"),
        "{db}"
    );
    assert_eq!(lines.len(), 4, "{text}");

    let wide = stdout(&forklift(&[
        "status",
        "--destination",
        &dest,
        "forklift-demo/demo-plan",
        "-o",
        "wide",
    ]));
    assert!(
        wide.contains("9d2e4b6a-1c3f-4a5b-8c7d-0e1f2a3b4c5d"),
        "{wide}"
    );

    let json: serde_json::Value = serde_json::from_str(&stdout(&forklift(&[
        "status",
        "--destination",
        &dest,
        "demo-plan",
        "-o",
        "json",
    ])))
    .unwrap();
    assert_eq!(json["kind"], "Plan");
    assert_eq!(
        json["status"]["migration"]["vms"].as_array().unwrap().len(),
        2
    );

    let yaml = stdout(&forklift(&[
        "status",
        "--destination",
        &dest,
        "demo-plan",
        "-o",
        "yaml",
    ]));
    assert!(
        yaml.contains("kind: Plan") && yaml.contains("phase: Completed"),
        "{yaml}"
    );

    let name = stdout(&forklift(&[
        "status",
        "--destination",
        &dest,
        "demo-plan",
        "-o",
        "name",
    ]));
    assert_eq!(name, "plan/forklift-demo/demo-plan\n");

    let all = stdout(&forklift(&["status", "--destination", &dest]));
    assert!(
        all.lines()
            .nth(1)
            .unwrap()
            .starts_with("plan/forklift-demo/demo-plan   2     2"),
        "{all}"
    );
}

#[test]
fn an_unknown_plan_or_destination_is_bad_input() {
    let dest = destination(&demo());
    let missing = forklift(&["status", "--destination", &dest, "other"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no status for plan other"));
    let bad = forklift(&["status", "--destination", "cluster", "demo-plan"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("local:DIR"));
    let unsafe_name = forklift(&["status", "--destination", &dest, "../../etc/passwd"]);
    assert_eq!(unsafe_name.status.code(), Some(2), "{unsafe_name:?}");
}

#[test]
fn watch_follows_a_run_until_every_vm_has_completed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let status_dir = out.join(".forklift/forklift-demo");
    std::fs::create_dir_all(&status_dir).unwrap();
    let finished =
        std::fs::read_to_string(demo().join(".forklift/forklift-demo/demo-plan.status.yaml"))
            .unwrap();
    // The same plan while running: no VM or step has completed yet.
    let mut plan: serde_json::Value = serde_yaml_ng::from_str(&finished).unwrap();
    for vm in plan["status"]["migration"]["vms"].as_array_mut().unwrap() {
        let vm = vm.as_object_mut().unwrap();
        vm.remove("completed");
        vm.remove("conditions");
    }
    let running = serde_yaml_ng::to_string(&plan).unwrap();
    let path = status_dir.join("demo-plan.status.yaml");
    std::fs::write(&path, &running).unwrap();

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args([
            "status",
            "--destination",
            &destination(&out),
            "demo-plan",
            "--watch",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "--watch ended before the run did"
    );
    std::fs::write(&path, &finished).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(started.elapsed() < Duration::from_secs(10));
    let text = stdout(&output);
    assert_eq!(
        text.matches("plan/forklift-demo/demo-plan").count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("Running") && text.contains("Succeeded"),
        "{text}"
    );
}
