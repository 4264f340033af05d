//! Running the `forklift` binary under a time limit and measuring its peak memory.

#![allow(dead_code)] // each attack module uses a different part

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a bounded run of the binary did.
#[derive(Debug)]
pub struct Bounded {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Everything it wrote to standard output.
    pub stdout: String,
    /// Everything it wrote to standard error.
    pub stderr: String,
    /// Wall time until it exited.
    pub elapsed: Duration,
    /// Peak resident set size, in MiB (from `wait4`'s `ru_maxrss`).
    pub peak_rss_mib: u64,
}

impl Bounded {
    /// Both streams, for assertion messages and text checks.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// The `forklift` binary with `args`, run in `dir` with `RUST_LOG` unset and no colour.
pub fn forklift(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_forklift"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    command
}

/// Runs `command` to completion, failing the test when it runs longer than `time_limit`
/// (the child is killed first) or when its peak RSS exceeds `rss_limit_mib`.
pub fn run_bounded(mut command: Command, time_limit: Duration, rss_limit_mib: u64) -> Bounded {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn forklift");
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    // The child's own high-water mark, polled while it runs: see `peak_rss_mib` below.
    let mut polled_hwm_kib = 0u64;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: `usage` is a plain C struct that wait4 fills; zeroed is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waiting on our own child with valid out-pointers.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break (status, usage);
        }
        assert!(
            reaped == 0,
            "wait4 failed: {}",
            std::io::Error::last_os_error()
        );
        polled_hwm_kib = polled_hwm_kib.max(vm_hwm_kib(&format!("/proc/{pid}/status")));
        if started.elapsed() > time_limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "forklift ran longer than {time_limit:?}: {:?}",
                command.get_args().collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    // The child was reaped by wait4; std's handle must not wait on it again.
    std::mem::forget(child);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // `ru_maxrss` is at least the high-water mark of the test process at the time of the
    // spawn (Linux carries the old address space's mark over `exec`, and the child starts on
    // ours), so in a busy test process it can report our memory, not the child's. Above our
    // own mark it can only be the child's; otherwise the mark polled from /proc is.
    let ru_maxrss_kib = usage.ru_maxrss as u64;
    let own_hwm_kib = vm_hwm_kib("/proc/self/status");
    let peak_rss_mib = if ru_maxrss_kib > own_hwm_kib || polled_hwm_kib == 0 {
        ru_maxrss_kib
    } else {
        polled_hwm_kib
    } / 1024;
    let bounded = Bounded {
        code,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        elapsed,
        peak_rss_mib,
    };
    assert!(
        bounded.peak_rss_mib <= rss_limit_mib,
        "forklift peaked at {} MiB (limit {rss_limit_mib} MiB): {}",
        bounded.peak_rss_mib,
        bounded.output()
    );
    bounded
}

/// `VmHWM` (peak resident set size, KiB) from a `/proc/<pid>/status` file; 0 when unreadable.
fn vm_hwm_kib(status: &str) -> u64 {
    std::fs::read_to_string(status)
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Asserts that no byte of `text` could drive a terminal: no ESC, BEL or other control
/// character but newline and tab.
pub fn assert_terminal_safe(text: &str) {
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        panic!("raw control character {c:?} reached the terminal: {text:?}");
    }
}

#[test]
fn bounded_runner_reports_exit_code_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_bounded(
        forklift(dir.path(), &["--help"]),
        Duration::from_secs(30),
        200,
    );
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(run.stdout.contains("forklift"));
    assert!(run.peak_rss_mib > 0);
    assert_terminal_safe(&run.output());
}

#[test]
fn the_peak_is_the_childs_not_the_test_process() {
    // Make this process large; a small child must still measure small.
    let ballast = vec![1u8; 256 << 20];
    let dir = tempfile::tempdir().unwrap();
    let run = run_bounded(
        forklift(dir.path(), &["--help"]),
        Duration::from_secs(30),
        200,
    );
    assert!(run.peak_rss_mib < 100, "{} MiB", run.peak_rss_mib);
    assert_eq!(
        ballast.iter().map(|&b| b as usize).sum::<usize>(),
        256 << 20
    );
}
