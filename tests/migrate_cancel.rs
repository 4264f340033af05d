//! End to end: `forklift migrate` interrupted with SIGINT while it copies a real disk (an OVA
//! catalog built with mke2fs and qemu-img) exits with 130 within a few seconds, at any point
//! of the run; a second SIGINT forces the exit even when the first one's cleanup has not
//! finished.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use forklift::demo::catalog::{DemoDisk, DemoNic, DemoVm, Packaging, build_catalog, pseudo_random};
use forklift::demo::manifests::{PLAN, demo_manifests};

/// How long the process may take to exit after SIGINT.
const EXIT_BOUND: Duration = Duration::from_secs(5);

/// One VM with a disk large and incompressible enough that copying it takes seconds in a
/// debug build, so SIGINT lands mid-copy.
fn big_vm() -> DemoVm {
    DemoVm {
        name: "big-vm".into(),
        id: "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9".into(),
        cpus: 1,
        cores_per_socket: 1,
        memory_mib: 1024,
        firmware: "bios",
        os_type: "rhel9_64Guest",
        disks: vec![DemoDisk {
            href: "big-vm-disk1.vmdk".into(),
            size: 512 << 20,
            files: vec![("data.bin".into(), pseudo_random(1, 384 << 20))],
        }],
        nics: vec![DemoNic {
            network: "VM Network".into(),
            mac: "00:50:56:8a:30:01".into(),
        }],
        packaging: Packaging::Ova,
    }
}

/// The catalog and its manifests, built once per test binary (the build takes seconds).
fn manifests() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("migrate_cancel");
        let _ = std::fs::remove_dir_all(&root);
        let catalog = root.join("catalog");
        build_catalog(&catalog, &root.join("work"), &[big_vm()]).unwrap();
        // The raw images are not needed once the VMDKs exist.
        std::fs::remove_dir_all(root.join("work")).unwrap();
        let path = root.join("manifests.yaml");
        std::fs::write(&path, demo_manifests(&catalog, &["big-vm".into()])).unwrap();
        path
    })
}

fn sigint(child: &Child) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid with a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
}

/// Waits at most `bound` for `child` to exit; kills it and fails if it does not.
fn wait_bounded(child: &mut Child, bound: Duration, what: &str) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running {bound:?} after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `forklift migrate` into a fresh destination; its stderr lines arrive on the
/// returned channel.
fn start(out: &Path) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .arg("migrate")
        .arg("--manifests")
        .arg(manifests())
        .args(["--plan", PLAN])
        .arg("--destination")
        .arg(format!("local:{}", out.display()))
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits until a stderr line contains `needle`; returns every line seen.
fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(100)) {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return;
            }
        }
    }
    panic!("no stderr line with {needle:?}; saw {seen:#?}");
}

/// The copy's phase has begun: the runner logs `phase=CopyDisks`.
const COPYING: &str = "CopyDisks";

#[test]
fn sigint_at_any_point_exits_130_within_bound() {
    let dir = tempfile::tempdir().unwrap();
    // Fixed points from the start (before, around and during the copy), then points after
    // the copy phase has been seen to begin.
    let fixed = [100, 300, 600].map(|ms| (None, Duration::from_millis(ms)));
    let after_copy = [0, 150, 400, 700].map(|ms| (Some(COPYING), Duration::from_millis(ms)));
    for (trial, (wait_line, delay)) in fixed.into_iter().chain(after_copy).enumerate() {
        let out = dir.path().join(format!("out-{trial}"));
        let (mut child, lines) = start(&out);
        let mut seen = Vec::new();
        if let Some(needle) = wait_line {
            wait_for_line(&lines, needle, &mut seen);
        }
        std::thread::sleep(delay);
        let what = format!("trial {trial} ({wait_line:?} + {delay:?})");
        if child.try_wait().unwrap().is_some() {
            panic!("{what}: the migration ended before SIGINT; the disk is too small");
        }
        sigint(&child);
        let status = wait_bounded(&mut child, EXIT_BOUND, &what);
        seen.extend(lines.try_iter());
        assert_eq!(status.code(), Some(130), "{what}: {status:?}\n{seen:#?}");
    }
}

#[test]
fn second_sigint_forces_the_exit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, lines) = start(&dir.path().join("out"));
    let mut seen = Vec::new();
    wait_for_line(&lines, COPYING, &mut seen);
    std::thread::sleep(Duration::from_millis(200));
    sigint(&child);
    // Immediately: the first one's cleanup is still under way.
    std::thread::sleep(Duration::from_millis(5));
    sigint(&child);
    let status = wait_bounded(&mut child, Duration::from_secs(2), "second SIGINT");
    seen.extend(lines.try_iter());
    assert_eq!(status.code(), Some(130), "{status:?}\n{seen:#?}");
}
