//! Builds and runs `tools/gotemplate-ref`, our Go reference renderer (Go's `text/template`
//! with sprig from Debian's `golang-github-masterminds-sprig-dev`, GOPATH mode).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// One request line of the batch contract.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Case {
    pub kind: &'static str,
    pub template: String,
    pub data: serde_json::Value,
}

/// One response line.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Outcome {
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub class: Option<String>,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the reference renderer once; `None` (after a note on stderr) when `go` is not
/// installed, which is a failure in CI (`CI=true`) because `scripts/setup.sh` installs it.
pub fn go_reference() -> Option<PathBuf> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            if Command::new("go").arg("version").output().is_err() {
                assert!(!in_ci, "`go` is missing; run scripts/setup.sh (golang-go is required in CI)");
                eprintln!("note: `go` not found, skipping the Go differential test (run scripts/setup.sh)");
                return None;
            }
            let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gotemplate-ref");
            let src = work.join("gopath/src");
            std::fs::create_dir_all(&src).expect("create GOPATH");
            let link = src.join("gotemplateref");
            let _ = std::fs::remove_file(&link);
            let tool = repo_root().join("tools/gotemplate-ref").canonicalize().expect("tools/gotemplate-ref exists");
            std::os::unix::fs::symlink(&tool, &link).expect("link the tool into GOPATH");
            let bin = work.join("gotemplate-ref");
            let gopath = format!("{}:/usr/share/gocode", work.join("gopath").display());
            let out = Command::new("go")
                .args(["build", "-o"])
                .arg(&bin)
                .arg("gotemplateref")
                .env("GOPATH", gopath)
                .env("GO111MODULE", "off")
                .env("GOCACHE", work.join("gocache"))
                .env("HOME", &work)
                .env("GOFLAGS", "")
                .output()
                .expect("run go build");
            assert!(
                out.status.success(),
                "building the Go reference failed (is golang-github-masterminds-sprig-dev installed?):\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(bin)
        })
        .clone()
}

/// Go's major.minor version, e.g. (1, 19).
pub fn go_version() -> Option<(u32, u32)> {
    let out = Command::new("go").arg("version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = text.split_whitespace().find(|w| w.starts_with("go1."))?;
    let mut parts = v.trim_start_matches("go").split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    Some((major, minor))
}

/// Renders every case with Go in one process.
pub fn run_go(bin: &Path, cases: &[Case]) -> Vec<Outcome> {
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the Go reference");
    let mut input = Vec::new();
    for c in cases {
        serde_json::to_writer(&mut input, c).expect("encode case");
        input.push(b'\n');
    }
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("Go reference output");
    writer.join().expect("writer thread").expect("write cases");
    assert!(out.status.success(), "Go reference failed");
    let results: Vec<Outcome> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("Go reference JSON line"))
        .collect();
    assert_eq!(results.len(), cases.len(), "one Go result per case");
    results
}
