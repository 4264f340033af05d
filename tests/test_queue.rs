//! `scripts/test-queue.py`, the runner CI's test binaries go through: a binary that cannot
//! even start fails the run (it used to end its worker thread and count as passed), an empty
//! queue is no pass, and what it records (the whole environment) is private to the user.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn queue_script() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test-queue.py")
}

/// Records `argv` in `queue` as cargo's runner would.
fn record(queue: &Path, argv: &[&str]) {
    let status = Command::new("python3")
        .arg(queue_script())
        .arg("record")
        .arg(queue)
        .args(argv)
        .status()
        .unwrap();
    assert!(status.success());
}

fn run(queue: &Path) -> Output {
    Command::new("python3")
        .arg(queue_script())
        .arg("run")
        .arg(queue)
        .args(["--jobs", "2"])
        .output()
        .unwrap()
}

#[test]
fn a_binary_that_cannot_start_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let queue = dir.path().join("queue");
    record(&queue, &["/bin/true"]);
    record(&queue, &["/nonexistent/suite-0123456789abcdef"]);
    let entry = queue.join("0000.json");
    assert_eq!(
        std::fs::metadata(&entry).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = run(&queue);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAILED (exit 127)"), "{text}");
    assert!(text.contains("cannot run /nonexistent/suite"), "{text}");

    let only_good = dir.path().join("good");
    record(&only_good, &["/bin/true"]);
    assert_eq!(run(&only_good).status.code(), Some(0));
}

#[test]
fn an_empty_queue_is_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("queue")).unwrap();
    let out = run(&dir.path().join("queue"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
