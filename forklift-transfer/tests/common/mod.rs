//! What the tests against real tools share: whether a tool is installed, and running one.
#![allow(dead_code)] // each test binary uses some of these

use std::process::{Command, Stdio};

/// Whether `tool` is installed; in CI a missing tool is a failure, not a skip.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is missing (scripts/setup.sh installs it)"
        );
        eprintln!("skipping: {tool} is not installed");
    }
    found
}

/// Runs `program ARGS`, which must succeed; returns its standard output.
pub fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
