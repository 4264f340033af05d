//! The logging flags every verb takes (`-v`, `--log-file`, `RUST_LOG`) and `--version`.

use std::process::{Command, Output};

fn forklift(args: &[&str], rust_log: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_forklift"));
    command.args(args).env_remove("RUST_LOG");
    if let Some(filter) = rust_log {
        command.env("RUST_LOG", filter);
    }
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn verbosity_flags_raise_the_level_and_pipes_get_no_colours() {
    let quiet = forklift(&["name", "adjust", "Web 01"], None);
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8_lossy(&quiet.stdout), "web-01\n");
    assert!(
        !stderr(&quiet).contains("forklift starting"),
        "{}",
        stderr(&quiet)
    );

    let chatty = forklift(&["-vv", "name", "adjust", "Web 01"], None);
    assert!(chatty.status.success());
    let text = stderr(&chatty);
    assert!(text.contains("forklift starting"), "{text}");
    assert!(text.contains("(commit "), "{text}");
    // stderr is a pipe here: no escape sequences.
    assert!(!text.contains('\x1b'), "{text:?}");

    // Global flags go after the verb too, and -v alone stops at info.
    let info = forklift(&["name", "adjust", "-v", "Web 01"], None);
    assert!(!stderr(&info).contains("forklift starting"));
}

#[test]
fn rust_log_wins_over_the_flags() {
    let output = forklift(&["-vv", "name", "adjust", "x"], Some("warn"));
    assert!(output.status.success());
    assert!(!stderr(&output).contains("forklift starting"));
    let output = forklift(&["name", "adjust", "x"], Some("forklift=debug"));
    assert!(stderr(&output).contains("forklift starting"));
}

#[test]
fn log_file_receives_the_lines_instead_of_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("forklift.log");
    let log_arg = log.to_str().unwrap();
    for _ in 0..2 {
        let output = forklift(&["-vv", "--log-file", log_arg, "name", "adjust", "x"], None);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(!stderr(&output).contains("forklift starting"));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    // Appended, not truncated, and plain text.
    assert_eq!(text.matches("forklift starting").count(), 2, "{text}");
    assert!(!text.contains('\x1b'), "{text:?}");

    let missing = dir.path().join("no/such/dir/forklift.log");
    let output = forklift(
        &[
            "--log-file",
            missing.to_str().unwrap(),
            "name",
            "adjust",
            "x",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("--log-file") && text.contains("no/such/dir/forklift.log"),
        "{text}"
    );
}

#[test]
fn version_names_the_commit() {
    for args in [&["--version"][..], &["version"]] {
        let output = forklift(args, None);
        assert!(output.status.success());
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let commit = text
            .split("(commit ")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .unwrap_or_else(|| panic!("no commit in {text:?}"));
        assert!(
            commit == "unknown"
                || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
            "{text:?}"
        );
        assert!(text.starts_with("forklift "), "{text:?}");
    }
}
