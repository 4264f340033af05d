//! `forklift migrate --events`: one JSON event per line, to a file or standard output.

mod common;

use common::{forklift, text};

fn demo() -> std::path::PathBuf {
    common::demo().join("manifests.yaml")
}

fn events(lines: &str) -> Vec<serde_json::Value> {
    lines
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn kinds(events: &[serde_json::Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["event"].as_str()).collect()
}

#[test]
fn events_file_holds_every_event_in_order_and_stdout_keeps_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = demo();
    let file = dir.path().join("events.jsonl");
    let out = format!("local:{}", dir.path().join("out").display());
    let output = forklift(&[
        "migrate",
        "--manifests",
        text(&manifests),
        "--destination",
        &out,
        "--events",
        text(&file),
        "-o",
        "json",
    ]);
    assert!(output.status.success(), "{output:?}");
    let events = events(&std::fs::read_to_string(&file).unwrap());
    let kinds = kinds(&events);
    assert_eq!(kinds.first(), Some(&"validated"), "{kinds:?}");
    assert_eq!(kinds.get(1), Some(&"planStarted"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"planCompleted"), "{kinds:?}");
    let vms = events[1]["vms"].as_u64().unwrap();
    assert!(vms > 0);
    let completed: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "vmCompleted")
        .collect();
    assert_eq!(completed.len() as u64, vms);
    assert!(completed.iter().all(|e| e["outcome"] == "succeeded"));
    // Copy summaries inside events use the same camelCase keys as everything else.
    let copied = events
        .iter()
        .find(|e| e["event"] == "diskCopied")
        .expect("a diskCopied event");
    assert!(
        copied["summary"]["bytesTotal"].as_u64().unwrap() > 0,
        "{copied}"
    );
    // Standard output still carries the pretty report.
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["vms"].as_array().unwrap().len() as u64, vms);
}

#[test]
fn events_on_stdout_are_json_lines_ending_with_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = demo();
    let out = format!("local:{}", dir.path().join("out").display());
    let output = forklift(&[
        "migrate",
        "--manifests",
        text(&manifests),
        "--destination",
        &out,
        "--events",
        "-",
    ]);
    assert!(output.status.success(), "{output:?}");
    let lines = events(&String::from_utf8(output.stdout).unwrap());
    let (report, events) = lines.split_last().unwrap();
    assert!(
        report.get("event").is_none() && report["vms"].is_array(),
        "{report}"
    );
    assert_eq!(kinds(events).last(), Some(&"planCompleted"));
}

#[test]
fn an_events_file_that_cannot_be_created_is_bad_input_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = demo();
    let target = dir.path().join("out");
    let output = forklift(&[
        "migrate",
        "--manifests",
        text(&manifests),
        "--destination",
        &format!("local:{}", target.display()),
        "--events",
        text(&dir.path().join("missing/events.jsonl")),
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--events") && stderr.contains("missing/events.jsonl"),
        "{stderr}"
    );
    assert!(!target.exists(), "the run started anyway");
}
