//! One exit-code table for every verb (0 success, 1 blocked or failed, 2 bad input or usage,
//! 130 interrupted): each verb is run for real, for success, for a failure of the work where
//! the verb has one, and for bad input; and `forklift --help` and README.md state the same
//! table. Interruption (130) is exercised by the cancellation tests of `forklift migrate`.

use std::io::Write;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const OK: i32 = 0;
const FAILED: i32 = 1;
const BAD_INPUT: i32 = 2;

fn forklift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run forklift")
}

/// Asserts that `forklift args` exits with `code`.
#[track_caller]
fn expect(code: i32, args: &[&str]) -> Output {
    let out = forklift(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "forklift {args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// The demo run once: its catalog and manifests feed the other verbs.
struct Demo {
    tmp: tempfile::TempDir,
}

impl Demo {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        expect(
            OK,
            &["demo", "--quiet", "--dir", text(&tmp.path().join("demo"))],
        );
        Demo { tmp }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn manifests(&self) -> PathBuf {
        self.path("demo/manifests.yaml")
    }

    /// The demo's manifests without `skipGuestConversion`: a plan `migrate` here refuses
    /// with GuestConversionNotAvailable.
    fn blocked_manifests(&self) -> PathBuf {
        let ready = std::fs::read_to_string(self.manifests()).unwrap();
        assert!(ready.contains("skipGuestConversion: true"), "{ready}");
        let blocked = self.path("blocked.yaml");
        std::fs::write(&blocked, ready.replace("skipGuestConversion: true", "")).unwrap();
        blocked
    }

    /// The demo provider's inventory, as `forklift inventory` writes it.
    fn inventory(&self) -> PathBuf {
        let path = self.path("inventory.json");
        expect(
            OK,
            &[
                "inventory",
                "--manifests",
                text(&self.manifests()),
                "--provider",
                "ova-demo",
                "--output-file",
                text(&path),
            ],
        );
        path
    }
}

#[test]
fn every_verb_exits_by_the_one_table() {
    let demo = Demo::new();
    let manifests = demo.manifests();
    let blocked = demo.blocked_manifests();
    let inventory = demo.inventory();
    let (m, b, i) = (text(&manifests), text(&blocked), text(&inventory));

    // inventory: an unknown provider is bad input; an unreachable one is a failure.
    expect(
        BAD_INPUT,
        &["inventory", "--manifests", m, "--provider", "nope"],
    );
    let unreachable = demo.path("unreachable.yaml");
    std::fs::write(
        &unreachable,
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\n\
         stringData: {user: u, password: p, insecureSkipVerify: 'true'}\n---\n\
         apiVersion: forklift.konveyor.io/v1beta1\nkind: Provider\n\
         metadata: {name: vc, namespace: ns}\n\
         spec: {type: vsphere, url: 'https://127.0.0.1:1/sdk', secret: {name: s, namespace: ns}}\n",
    )
    .unwrap();
    expect(
        FAILED,
        &[
            "inventory",
            "--manifests",
            text(&unreachable),
            "--provider",
            "ns/vc",
        ],
    );

    // manifests check: manifests with errors are bad input.
    expect(OK, &["manifests", "check", m]);
    let broken = demo.path("broken.yaml");
    std::fs::write(&broken, "kind: Plan\nspec: [\n").unwrap();
    expect(BAD_INPUT, &["manifests", "check", text(&broken)]);

    // validate, render, schedule: a ready plan, a blocked plan, an unknown plan.
    expect(OK, &["validate", "--manifests", m]);
    expect(FAILED, &["validate", "--manifests", b]);
    expect(BAD_INPUT, &["validate", "--manifests", m, "--plan", "nope"]);
    expect(OK, &["render", "--manifests", m, "--inventory", i]);
    expect(FAILED, &["render", "--manifests", b, "--inventory", i]);
    expect(
        BAD_INPUT,
        &[
            "render",
            "--manifests",
            m,
            "--inventory",
            i,
            "--plan",
            "nope",
        ],
    );
    expect(
        BAD_INPUT,
        &[
            "render",
            "--manifests",
            "/nonexistent.yaml",
            "--inventory",
            i,
        ],
    );
    expect(OK, &["schedule", "--manifests", m, "--inventory", i]);
    expect(
        BAD_INPUT,
        &[
            "schedule",
            "--manifests",
            m,
            "--inventory",
            i,
            "--plan",
            "nope",
        ],
    );

    // migrate: a run that succeeds, a blocked plan, an unknown plan or a bad destination.
    let out = format!("local:{}", text(&demo.path("out")));
    expect(OK, &["migrate", "--manifests", m, "--destination", &out]);
    expect(
        FAILED,
        &["migrate", "--manifests", b, "--destination", &out],
    );
    expect(
        BAD_INPUT,
        &[
            "migrate",
            "--manifests",
            m,
            "--plan",
            "nope",
            "--destination",
            &out,
        ],
    );
    expect(
        BAD_INPUT,
        &["migrate", "--manifests", m, "--destination", "out"],
    );

    // demo: a folder it cannot create is a failure.
    let file = demo.path("a-file");
    std::fs::write(&file, b"").unwrap();
    expect(
        FAILED,
        &["demo", "--quiet", "--dir", text(&file.join("demo"))],
    );
}

#[test]
fn copy_exits_by_the_one_table() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src.raw");
    std::fs::write(&src, vec![7u8; 1 << 20]).unwrap();
    let dst = tmp.path().join("dst.raw");
    let (s, d) = (text(&src), text(&dst));
    expect(OK, &["copy", s, d]);
    // Options and URIs the copy refuses before it starts.
    // The library's one check of the options names them (as Python's copy() does).
    let odd = expect(BAD_INPUT, &["copy", "--request-size", "1000", s, d]);
    let stderr = String::from_utf8_lossy(&odd.stderr);
    assert!(
        stderr.contains("request_size (--request-size) 1000 is not a power of two"),
        "{stderr}"
    );
    let zero = expect(BAD_INPUT, &["copy", "--requests", "0", s, d]);
    assert!(String::from_utf8_lossy(&zero.stderr).contains("requests (--requests) 0"));
    let http = expect(BAD_INPUT, &["copy", s, "http://example.invalid/disk"]);
    let stderr = String::from_utf8_lossy(&http.stderr);
    assert!(stderr.contains("Unsupported URI scheme 'http'"), "{stderr}");
    expect(
        BAD_INPUT,
        &["copy", text(&tmp.path().join("missing.raw")), d],
    );
    // A server that hangs up during the handshake: the copy fails.
    let socket = tmp.path().join("nbd.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    // Detached: it ends with the test binary.
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    let uri = format!("nbd+unix:///?socket={}", text(&socket));
    expect(FAILED, &["copy", "--reconnects", "0", &uri, d]);
}

#[test]
fn small_verbs_and_usage_errors_exit_by_the_one_table() {
    expect(OK, &["version"]);
    expect(OK, &["--help"]);
    expect(OK, &["name", "adjust", "My_VM"]);
    expect(OK, &["template", "render"]);
    // clap's usage errors: no verb, an unknown verb, an unknown flag, a bad value.
    expect(BAD_INPUT, &[]);
    expect(BAD_INPUT, &["no-such-verb"]);
    expect(BAD_INPUT, &["validate", "--no-such-flag"]);
    expect(BAD_INPUT, &["name", "adjust", "--seed", "x", "a"]);
    expect(BAD_INPUT, &["template", "render", "extra"]);
    expect(BAD_INPUT, &["copy", "--request-size", "1Q", "a", "b"]);
}

#[test]
fn template_render_reports_a_broken_output_as_a_failure() {
    // Writing answers to a closed standard output fails the verb (not bad input).
    let mut child = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(["template", "render"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"{\"template\": \"x\"}\n");
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(FAILED));
}

/// The rows of an exit-code table: lines that start (after indentation or a table pipe) with
/// 0, 1, 2 or 130, reduced to "code text" with the table's markup removed.
fn rows(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            line.trim()
                .trim_matches('|')
                .replace(['`', '|'], " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|line| {
            ["0 ", "1 ", "2 ", "130 "]
                .iter()
                .any(|code| line.starts_with(code))
        })
        .collect()
}

#[test]
fn help_and_readme_state_the_same_table() {
    let help = String::from_utf8(expect(OK, &["--help"]).stdout).unwrap();
    let start = help
        .find("Exit codes")
        .expect("forklift --help has an exit-code table");
    let help_rows = rows(&help[start..]);
    let codes: Vec<&str> = help_rows
        .iter()
        .filter_map(|r| r.split(' ').next())
        .collect();
    assert_eq!(codes, ["0", "1", "2", "130"], "{help}");

    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("## Exit codes")
        .expect("README has an \"Exit codes\" section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    assert_eq!(rows(&section[..end]), help_rows, "{}", &section[..end]);
}
