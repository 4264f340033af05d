//! `forklift migrate --progress` with stderr redirected (a log, CI): plain lines, VM names
//! rather than ids, data rates that skipped ranges do not inflate.

mod common;

use common::{demo, forklift, text};

#[test]
fn redirected_progress_prints_plain_lines_naming_vms() {
    let tmp = tempfile::tempdir().unwrap();
    let out = format!("local:{}", tmp.path().join("out").display());
    let manifests = demo().join("manifests.yaml");
    let run = forklift(&[
        "migrate",
        "-f",
        text(&manifests),
        "--destination",
        &out,
        "--progress",
    ]);
    assert!(run.status.success(), "{run:?}");
    let stderr = String::from_utf8_lossy(&run.stderr);
    // Before, with stderr not a terminal, --progress printed nothing at all.
    assert!(stderr.contains("demo-db-01: started"), "{stderr}");
    assert!(stderr.contains("demo-db-01: migrated"), "{stderr}");
    // A plain progress line per disk, named after its VM.
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("demo-db-01 disk ") && l.contains(" MiB ("))
        .collect();
    assert!(!progress.is_empty(), "{stderr}");
    assert!(progress.iter().all(|l| l.contains("ETA")), "{progress:?}");
    // The summary line of each disk uses the same name, and no bar escape codes leak.
    assert!(stderr.contains("demo-db-01 disk 1: "), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    // VM ids only appear next to the name they belong to, never alone as a line's subject.
    assert!(
        !stderr
            .lines()
            .any(|l| l.starts_with("9d2e4b6a-1c3f-4a5b-8c7d-0e1f2a3b4c5d")),
        "{stderr}"
    );
}
