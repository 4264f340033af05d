//! `forklift completion`: the generated scripts complete real verbs and flags.

use std::process::Command;

fn script(shell: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(["completion", shell])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Runs bash's completion function for `words` (the cursor on the last word) and returns
/// the candidates.
fn bash_complete(words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forklift.bash");
    std::fs::write(&path, script("bash")).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}; \
         _forklift forklift '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display(),
        quoted.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let output = Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_verbs_and_their_flags() {
    assert_eq!(bash_complete(&["forklift", "mig"]), ["migrate"]);
    let flags = bash_complete(&["forklift", "migrate", "--res"]);
    assert!(flags.contains(&"--restart".to_owned()), "{flags:?}");
    let shells = bash_complete(&["forklift", "completion", "z"]);
    assert_eq!(shells, ["zsh"]);
}

#[test]
fn zsh_and_fish_scripts_name_every_verb() {
    for shell in ["zsh", "fish"] {
        let text = script(shell);
        for verb in [
            "migrate",
            "validate",
            "render",
            "inventory",
            "copy",
            "completion",
        ] {
            assert!(text.contains(verb), "{shell} script lacks {verb}");
        }
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(["completion", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("tcsh"));
}
