//! `forklift copy` end to end: files in, JSON summary out, checkpoints and flag checks.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Command, Output};

const MIB: u64 = 1 << 20;

fn forklift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(args)
        .output()
        .expect("forklift runs")
}

/// An 8 MiB sparse file with data at 1–2 MiB and at 5 MiB + 4 KiB.
fn sparse_source(path: &Path) -> Vec<u8> {
    let mut file = std::fs::File::create(path).unwrap();
    file.set_len(8 * MIB).unwrap();
    let data: Vec<u8> = (0..MIB as u32).map(|i| (i % 251) as u8 + 1).collect();
    file.seek(SeekFrom::Start(MIB)).unwrap();
    file.write_all(&data).unwrap();
    file.seek(SeekFrom::Start(5 * MIB + 4096)).unwrap();
    file.write_all(&data[..8192]).unwrap();
    drop(file);
    std::fs::read(path).unwrap()
}

fn summary(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "forklift copy failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the summary is JSON")
}

#[test]
fn copies_a_sparse_file_verifies_it_and_prints_a_json_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst, ckpt) = (
        dir.path().join("src.raw"),
        dir.path().join("dst.raw"),
        dir.path().join("copy.ckpt"),
    );
    let data = sparse_source(&src);
    let args = [
        "copy",
        src.to_str().unwrap(),
        dst.to_str().unwrap(),
        "--request-size",
        "256K",
        "--verify",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "-o",
        "json",
    ];
    let first = summary(&forklift(&args));
    assert_eq!(std::fs::read(&dst).unwrap(), data);
    assert_eq!(first["bytesTotal"], 8 * MIB);
    assert_eq!(first["requestSize"], 256 * 1024);
    let read = first["bytesRead"].as_u64().unwrap();
    assert!(
        (MIB..4 * MIB).contains(&read),
        "holes are not read: {first}"
    );
    assert_eq!(first["verify"]["blocksMismatched"], 0, "{first}");
    assert_eq!(first["source"], src.to_str().unwrap());

    // The checkpoint says the copy is complete: running it again copies nothing.
    let again = summary(&forklift(&args));
    assert_eq!(again["bytesRead"], 0, "{again}");
    assert_eq!(std::fs::read(&dst).unwrap(), data);
}

#[test]
fn conflicting_and_invalid_flags_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.raw");
    sparse_source(&src);
    let dst = dir.path().join("dst.raw");
    let (src, dst) = (src.to_str().unwrap(), dst.to_str().unwrap());

    let both = forklift(&["copy", src, dst, "--zero-target-first", "--target-is-zero"]);
    assert_eq!(both.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&both.stderr);
    assert!(stderr.contains("--zero-target-first"), "{stderr}");

    let odd = forklift(&["copy", src, dst, "--request-size", "3000"]);
    assert!(!odd.status.success());
    let stderr = String::from_utf8_lossy(&odd.stderr);
    assert!(stderr.contains("(--request-size) 3000"), "{stderr}");

    let missing = forklift(&["copy", "/nonexistent/disk.raw", dst]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("/nonexistent/disk.raw"), "{stderr}");
}

#[test]
fn error_lines_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("dst.raw");
    let hostile = "/nonexistent/\u{1b}]0;pwned\u{7}\u{9b}2J.raw";
    let output = forklift(&["copy", hostile, dst.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains(['\u{1b}', '\u{7}', '\u{9b}']),
        "raw control characters: {stderr:?}"
    );
    assert!(stderr.contains("\\x1b]0;pwned"), "{stderr}");
}

#[test]
fn direct_copies_verify_and_large_requests_run_fewer_at_once() {
    // On /var/tmp (a real disk where the machine has one): O_DIRECT writes, then --verify
    // re-reads the target through the page cache.
    let base = ["/var/tmp", "/tmp"]
        .into_iter()
        .find(|d| Path::new(d).is_dir());
    let dir = tempfile::tempdir_in(base.unwrap()).unwrap();
    let (src, dst) = (dir.path().join("src.raw"), dir.path().join("dst.raw"));
    let data = sparse_source(&src);
    let args = [
        "copy",
        src.to_str().unwrap(),
        dst.to_str().unwrap(),
        "--direct",
        "--request-size",
        "8M",
        "--verify",
        "-o",
        "json",
    ];
    let done = summary(&forklift(&args));
    assert_eq!(std::fs::read(&dst).unwrap(), data);
    assert_eq!(done["verify"]["blocksMismatched"], 0, "{done}");
    // 16 requests of 8 MiB would hold 128 MiB: 4 run, within the 32 MiB per copy.
    assert_eq!(done["requests"], 4, "{done}");
    assert_eq!(done["requestSize"], 8 * MIB, "{done}");
}
