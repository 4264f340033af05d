//! End-to-end tests of `forklift name adjust` and `forklift template render`.

use std::io::Write;
use std::process::{Command, Stdio};

fn forklift(args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run forklift");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("forklift output");
    assert!(out.status.success(), "forklift {args:?} failed");
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn name_adjust_follows_the_guide_table() {
    let out = forklift(
        &["name", "adjust", "App_VM_01", "-app-server", "app--server"],
        "",
    );
    assert_eq!(out, "app-vm-01\napp-server\napp-server\n");
    let out = forklift(&["name", "adjust", "--seed", "3"], "My.VM\r\n???\n");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "my.vm");
    assert!(
        lines[1].starts_with("vm-") && lines[1].len() == 7,
        "{}",
        lines[1]
    );
}

#[test]
fn template_render_speaks_json_lines() {
    let input = concat!(
        r#"{"kind":"pvc","template":"{{trunc 15 .PlanName}}-{{trunc 15 .TargetVmName}}-disk-{{.DiskIndex}}","data":{"PlanName":"nightly-migration-plan","TargetVmName":"web","DiskIndex":1}}"#,
        "\n",
        r#"{"kind":"volume","template":"{{.Nope}}","data":{}}"#,
        "\n",
        r#"{"kind":"network","template":"{{if","data":{}}"#,
        "\n\n",
        r#"{"kind":"network","template":"net-{{.NetworkIndex}}","data":{"networkIndex":2}}"#,
        "\n",
        "not json\n",
    );
    let out = forklift(&["template", "render"], input);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["output"], "nightly-migrati-web-disk-1");
    assert_eq!(lines[1]["class"], "exec");
    assert_eq!(lines[2]["class"], "parse");
    assert_eq!(lines[3]["output"], "net-2");
    assert_eq!(lines[4]["class"], "input");
}
