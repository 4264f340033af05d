//! Catalog scanning: which `.ova` and `.ovf` files of a share are packages.
//!
//! As the guide states: `.ova` files in the root and first-level subfolders, `.ovf` files in
//! the root, first- and second-level subfolders; a folder with more than one `.ovf` is an
//! error for that folder; files modified in the last 30 seconds (still being copied) or
//! empty are skipped. Symbolic links are never followed, so a catalog cannot reach outside
//! its share; links named like packages, links to folders and files that are not regular
//! files (FIFOs, devices) are listed as skipped, never opened.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use forklift_core::inventory::OvaSkipReason;

use super::error::{Error, Result};
use super::vm::{Package, PackageKind};

/// How long a file must be left unmodified before it is scanned.
pub const SETTLE_TIME: Duration = Duration::from_secs(30);
/// Deepest level (path components below the root) an `.ova` is found at.
const OVA_MAX_DEPTH: usize = 2;
/// Deepest level an `.ovf` is found at.
const OVF_MAX_DEPTH: usize = 3;

/// A source of the current time, injectable for tests.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A fixed time, for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub SystemTime);

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// A file or folder that was passed over: by the scan (too recent, empty, a link, not a
/// regular file) or because its package could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The file or folder.
    pub path: PathBuf,
    /// Its path relative to the catalog root, `/`-separated.
    pub relative: String,
    /// Why.
    pub reason: OvaSkipReason,
    /// Why in words, naming the file or member; empty when the reason says it all.
    pub message: String,
    /// For a file modified too recently: how long from the scan until it has been left alone
    /// for the settle time, so that a scan then picks it up (if nothing writes to it again).
    pub retry_after: Option<Duration>,
}

impl Skipped {
    fn new(root: &Path, path: PathBuf, reason: OvaSkipReason) -> Self {
        Skipped {
            relative: relative(root, &path),
            path,
            reason,
            message: String::new(),
            retry_after: None,
        }
    }

    /// The entry as the inventory model reports it.
    pub fn to_model(&self) -> forklift_core::inventory::OvaSkippedPackage {
        forklift_core::inventory::OvaSkippedPackage {
            path: self.relative.clone(),
            reason: self.reason,
            message: self.message.clone(),
            retry_after_seconds: self
                .retry_after
                .map(|wait| wait.as_secs_f64().ceil() as u64),
        }
    }
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct ScanResult {
    /// Packages to load: `.ova` files first, then `.ovf` files, each sorted by path.
    pub packages: Vec<Package>,
    /// Files passed over.
    pub skipped: Vec<Skipped>,
    /// Folders or files that could not be scanned (unreadable, several `.ovf`).
    pub errors: Vec<Error>,
}

fn has_suffix(name: &str, suffix: &str) -> bool {
    name.len() >= suffix.len()
        && name.is_char_boundary(name.len() - suffix.len())
        && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Scans the catalog at `root`. Fails only when the root itself cannot be read.
pub fn scan(root: &Path, clock: &dyn Clock, settle: Duration) -> Result<ScanResult> {
    let mut result = ScanResult::default();
    let now = clock.now();
    let entries = std::fs::read_dir(root).map_err(|e| Error::io(root, e))?;
    let mut ovas = Vec::new();
    let mut ovfs = Vec::new();
    walk(
        root,
        root,
        1,
        entries,
        now,
        settle,
        &mut ovas,
        &mut ovfs,
        &mut result,
    );
    ovas.sort_by(|a: &Package, b: &Package| a.path.cmp(&b.path));
    ovfs.sort_by(|a: &Package, b: &Package| a.path.cmp(&b.path));
    result.packages = ovas.into_iter().chain(ovfs).collect();
    Ok(result)
}

#[allow(clippy::too_many_arguments)]
fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    entries: std::fs::ReadDir,
    now: SystemTime,
    settle: Duration,
    ovas: &mut Vec<Package>,
    ovfs: &mut Vec<Package>,
    result: &mut ScanResult,
) {
    let mut dir_ovfs: Vec<Package> = Vec::new();
    let mut subdirs = Vec::new();
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        // A linked folder is not followed (it could lead anywhere), but said so: its
        // packages would otherwise be missing without a word. `metadata` follows the link
        // without opening its target.
        if file_type.is_symlink()
            && depth < OVF_MAX_DEPTH
            && std::fs::metadata(&path).is_ok_and(|m| m.is_dir())
        {
            result
                .skipped
                .push(Skipped::new(root, path, OvaSkipReason::Link));
            continue;
        }
        if file_type.is_dir() {
            if depth < OVF_MAX_DEPTH {
                subdirs.push(path);
            }
            continue;
        }
        let kind = if has_suffix(&name, ".ova") && depth <= OVA_MAX_DEPTH {
            PackageKind::Ova
        } else if has_suffix(&name, ".ovf") && depth <= OVF_MAX_DEPTH {
            PackageKind::Ovf
        } else {
            continue;
        };
        if file_type.is_symlink() {
            result
                .skipped
                .push(Skipped::new(root, path, OvaSkipReason::Link));
            continue;
        }
        if !file_type.is_file() {
            // A FIFO or device is never opened: reading one could block or never end.
            result
                .skipped
                .push(Skipped::new(root, path, OvaSkipReason::NotRegularFile));
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if meta.len() == 0 {
            result
                .skipped
                .push(Skipped::new(root, path, OvaSkipReason::Empty));
            continue;
        }
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        // A modification time in the future (clock skew, a copy preserving times) counts as
        // "just now": the file is picked up once it is `settle` old by its own clock.
        let age = now.duration_since(modified).unwrap_or(Duration::ZERO);
        if age < settle {
            let mut skipped = Skipped::new(root, path, OvaSkipReason::RecentlyModified);
            skipped.retry_after = Some(match modified.duration_since(now) {
                Ok(ahead) => ahead + settle,
                Err(_) => settle - age,
            });
            result.skipped.push(skipped);
            continue;
        }
        let relative = relative(root, &path);
        let package = Package {
            path,
            relative,
            kind,
        };
        match kind {
            PackageKind::Ova => ovas.push(package),
            PackageKind::Ovf => dir_ovfs.push(package),
        }
    }
    if dir_ovfs.len() > 1 {
        dir_ovfs.sort_by(|a, b| a.path.cmp(&b.path));
        let files = dir_ovfs
            .iter()
            .filter_map(|p| p.path.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(", ");
        result.errors.push(Error::SeveralOvf {
            dir: dir.to_path_buf(),
            files,
        });
    } else {
        ovfs.extend(dir_ovfs);
    }
    subdirs.sort();
    for sub in subdirs {
        match std::fs::read_dir(&sub) {
            Ok(entries) => walk(
                root,
                &sub,
                depth + 1,
                entries,
                now,
                settle,
                ovas,
                ovfs,
                result,
            ),
            Err(e) => result.errors.push(Error::io(sub, e)),
        }
    }
}

/// `path` relative to `root`, `/`-separated.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped_after(modified: SystemTime, now: SystemTime) -> Vec<Skipped> {
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(dir.path().join("vm.ova")).unwrap();
        std::io::Write::write_all(&mut &file, b"not empty").unwrap();
        file.set_modified(modified).unwrap();
        scan(dir.path(), &FixedClock(now), SETTLE_TIME)
            .unwrap()
            .skipped
    }

    #[test]
    fn a_recent_file_says_when_it_will_be_picked_up() {
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let skipped = skipped_after(modified, modified + Duration::from_secs(12));
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].reason, OvaSkipReason::RecentlyModified);
        assert_eq!(skipped[0].retry_after, Some(Duration::from_secs(18)));
        assert_eq!(skipped[0].to_model().retry_after_seconds, Some(18));
    }

    #[test]
    fn a_file_from_the_future_waits_for_its_own_clock() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let skipped = skipped_after(now + Duration::from_secs(5), now);
        assert_eq!(skipped[0].retry_after, Some(Duration::from_secs(35)));
    }

    #[test]
    fn a_settled_file_is_a_package() {
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let skipped = skipped_after(modified, modified + SETTLE_TIME);
        assert!(skipped.is_empty(), "{skipped:?}");
    }
}
