//! Builds and runs govmomi's vCenter simulator (our `tools/vcsim` Go main) for tests.
//!
//! The binary is built once per target directory with Debian's Go in GOPATH mode. Without a
//! Go toolchain the tests are skipped locally and fail in CI (`CI=true`), where
//! `scripts/setup.sh` installs it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// A running simulator, killed on drop.
pub struct Vcsim {
    child: Child,
    /// SDK URL, e.g. `https://127.0.0.1:40177/sdk`.
    pub url: String,
    /// PEM file of the simulator's self-signed certificate.
    pub cert_file: PathBuf,
}

impl Drop for Vcsim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn build() -> Result<PathBuf, String> {
    // Used from member crates (`<crate>/tests`) and from the root package's tests.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = [
        manifest.join("tools/vcsim"),
        manifest.join("../tools/vcsim"),
    ]
    .into_iter()
    .find(|dir| dir.join("main.go").is_file())
    .ok_or_else(|| "tools/vcsim/main.go not found".to_owned())?;
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vcsim");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let binary = out_dir.join("vcsim");
    let newest_source = std::fs::metadata(source.join("main.go"))
        .and_then(|m| m.modified())
        .map_err(|e| format!("tools/vcsim/main.go: {e}"))?;
    if std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .is_ok_and(|built| built >= newest_source)
    {
        return Ok(binary);
    }
    // Build to a private name then rename, so concurrent test binaries never see a partial file.
    let partial = out_dir.join(format!("vcsim.{}.partial", std::process::id()));
    let output = Command::new("go")
        .args(["build", "-o"])
        .arg(&partial)
        .arg(".")
        .current_dir(&source)
        .env("GOPATH", "/usr/share/gocode")
        .env("GO111MODULE", "off")
        .env("GOCACHE", out_dir.join("gocache"))
        .output()
        .map_err(|e| format!("cannot run go: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "go build of tools/vcsim failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::rename(&partial, &binary).map_err(|e| e.to_string())?;
    Ok(binary)
}

fn binary() -> Option<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BINARY.get_or_init(build) {
        Ok(path) => Some(path.clone()),
        Err(e) if in_ci() => panic!("vcsim unavailable in CI (run scripts/setup.sh): {e}"),
        Err(e) => {
            eprintln!("skipping: vcsim unavailable (run scripts/setup.sh): {e}");
            None
        }
    }
}

impl Vcsim {
    /// Starts a simulator with extra flags (e.g. `["-vm", "3"]`); `None` when Go is missing
    /// outside CI.
    pub fn start(args: &[&str]) -> Option<Self> {
        let binary = binary()?;
        let mut child = Command::new(binary)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn vcsim");
        let stdout = child.stdout.take().expect("vcsim stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let url = lines.next().and_then(Result::ok);
            let cert = lines.next().and_then(Result::ok);
            let _ = tx.send((url, cert));
        });
        let (url, cert) = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok((Some(url), Some(cert))) => (url, cert),
            other => {
                let _ = child.kill();
                panic!("vcsim did not print its URL: {other:?}");
            }
        };
        Some(Self {
            child,
            url,
            cert_file: PathBuf::from(cert),
        })
    }

    /// The certificate as PEM.
    pub fn cert_pem(&self) -> Vec<u8> {
        std::fs::read(&self.cert_file).expect("read vcsim certificate")
    }
}
