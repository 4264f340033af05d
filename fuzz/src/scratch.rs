//! Scratch folders for targets that need files on disk.

use std::path::{Path, PathBuf};

/// Removes the folder (without following links) when dropped, also when the body panics.
struct Remove(PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `body` in a fresh, empty folder of this process and target under the system
/// temporary folder (`TMPDIR`), and removes the folder afterwards, so nothing of one input
/// is seen by the next and nothing is left behind.
pub fn with<R>(target: &str, body: impl FnOnce(&Path) -> R) -> R {
    let dir = std::env::temp_dir().join(format!("forklift-fuzz-{}-{target}", std::process::id()));
    // What an input that hung under the replay test left behind.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cannot create the fuzz scratch folder");
    let _remove = Remove(dir.clone());
    body(&dir)
}
