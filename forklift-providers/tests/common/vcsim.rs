//! Builds and runs govmomi's vCenter simulator (our `tools/vcsim` Go main) for tests.
//!
//! The binary is built once per target directory with Debian's Go in GOPATH mode. Without a
//! Go toolchain the tests are skipped locally and fail in CI (`CI=true`), where
//! `scripts/setup.sh` installs it.

// Shared by test crates that each use only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A running simulator, stopped on drop.
pub struct Vcsim {
    child: Child,
    /// SDK URL, e.g. `https://127.0.0.1:40177/sdk`.
    pub url: String,
    /// PEM file of the simulator's self-signed certificate.
    pub cert_file: PathBuf,
    /// The simulator's `-describe` file (its disks).
    describe_file: PathBuf,
}

/// How long a simulator may take to remove its datastore folders once asked to stop.
const STOP_GRACE: Duration = Duration::from_secs(10);

impl Drop for Vcsim {
    fn drop(&mut self) {
        // Closing stdin makes the simulator remove its datastore folders and exit; killing
        // would leave them in the temporary directory.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_file(&self.describe_file);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.describe_file);
    }
}

/// One disk of a simulated VM, as the simulator's `-describe` file lists it.
#[derive(Debug, Clone)]
pub struct SimDisk {
    /// The VM's MoRef value, e.g. `vm-27`.
    pub vm: String,
    /// The VM's name.
    pub vm_name: String,
    /// Device key of the disk.
    pub key: i32,
    /// Capacity in bytes.
    pub capacity: u64,
    /// Backing file as vSphere names it, `[ds] dir/disk.vmdk`.
    pub file: String,
    /// The local file holding the running disk's data (its flat extent): tests write here
    /// as the guest would.
    pub local: PathBuf,
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
    let mut newest_source = std::time::SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(&source).map_err(|e| format!("tools/vcsim: {e}"))? {
        let path = entry.map_err(|e| format!("tools/vcsim: {e}"))?.path();
        if path.extension().is_some_and(|ext| ext == "go") {
            let modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            newest_source = newest_source.max(modified);
        }
    }
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
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let binary = binary()?;
        let describe_file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "vcsim/describe-{}-{}.tsv",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let mut child = Command::new(binary)
            .args(args)
            .arg("-describe")
            .arg(&describe_file)
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
            describe_file,
        })
    }

    /// A simulator with one VM (`DC0_H0_VM0` on a standalone host) of `disks` disks of
    /// `mib` MiB, each holding `fill_mib` MiB of pseudo-random data from its start: the warm
    /// migration source of the tests and of `scripts/warm-demo.sh`.
    pub fn start_warm_source(disks: usize, mib: u64, fill_mib: u64) -> Option<Self> {
        let (disks, mib, fill) = (disks.to_string(), mib.to_string(), fill_mib.to_string());
        Self::start(&[
            "-cluster",
            "0",
            "-host",
            "0",
            "-standalone-host",
            "1",
            "-vm",
            "1",
            "-vm-disks",
            &disks,
            "-disk-mib",
            &mib,
            "-fill-mib",
            &fill,
        ])
    }

    /// The disks of every VM, in the simulator's order.
    pub fn disks(&self) -> Vec<SimDisk> {
        let text = std::fs::read_to_string(&self.describe_file).expect("read vcsim -describe");
        text.lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                assert_eq!(f.len(), 6, "vcsim -describe line {line:?}");
                SimDisk {
                    vm: f[0].to_owned(),
                    vm_name: f[1].to_owned(),
                    key: f[2].parse().expect("disk key"),
                    capacity: f[3].parse().expect("disk capacity"),
                    file: f[4].to_owned(),
                    local: PathBuf::from(f[5]),
                }
            })
            .collect()
    }

    /// The certificate as PEM.
    pub fn cert_pem(&self) -> Vec<u8> {
        std::fs::read(&self.cert_file).expect("read vcsim certificate")
    }
}
