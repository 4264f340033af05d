//! Replays every committed corpus input through its target on the plain build, so a
//! regression an input once found fails `cargo test` even where no fuzzer runs.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use forklift_fuzz::{TARGETS, Target};

/// Longest one input may run here (debug build) before it counts as a hang.
const INPUT_TIME_LIMIT: Duration = Duration::from_secs(30);

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = corpus_root().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn target(name: &str) -> Target {
    TARGETS
        .iter()
        .find(|(target, _)| *target == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"))
        .1
}

/// Runs every input of `name`'s corpus; each must return within [`INPUT_TIME_LIMIT`]
/// without panicking. A hanging input's thread is left behind; the failure names every
/// failing file.
fn replay(name: &str) {
    let run = target(name);
    let files = inputs(name);
    assert!(!files.is_empty(), "fuzz/corpus/{name} has no inputs");
    let mut failures = Vec::new();
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let outcome = std::panic::catch_unwind(|| run(&data));
            let _ = done.send(outcome.is_ok());
        });
        match finished.recv_timeout(INPUT_TIME_LIMIT) {
            Ok(true) => {}
            Ok(false) => failures.push(format!("{} panics", path.display())),
            Err(_) => failures.push(format!(
                "{} runs longer than {INPUT_TIME_LIMIT:?}",
                path.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "target {name} fails on:\n{}",
        failures.join("\n")
    );
}

macro_rules! corpus_tests {
    ($($name:ident),* $(,)?) => {
        $(#[test]
        fn $name() {
            replay(stringify!($name));
        })*

        #[test]
        fn every_target_has_a_replay_test_and_every_corpus_a_target() {
            let tested = [$(stringify!($name)),*];
            for (name, _) in TARGETS {
                assert!(tested.contains(name), "target {name} has no corpus replay test");
            }
            for entry in std::fs::read_dir(corpus_root()).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                assert!(
                    TARGETS.iter().any(|(target, _)| *target == name),
                    "fuzz/corpus/{name} belongs to no target"
                );
            }
        }
    };
}

corpus_tests!(
    checkpoint, imageio, manifest, nbd_reply, ova_dir, ovf, ovirt_vms, soap_fault, template,
    vim25_xml, vmdk,
);
