//! Keeping a local destination's files under its root.
//!
//! Every name that becomes a path component (namespaces, claims, VM and plan names) must be a
//! DNS-1123 subdomain, as Kubernetes requires of them: no `/`, no `..`, no leading `.`, at most
//! [`DNS1123_SUBDOMAIN_MAX_LENGTH`](forklift_core::naming::DNS1123_SUBDOMAIN_MAX_LENGTH)
//! characters; anything else is refused with [`DestinationError::UnsafeName`]. Before a file
//! is written or removed, its directory is resolved (symlinks followed) and must still lie
//! under the root, and the file itself must not be a symlink, or the operation is refused with
//! [`DestinationError::OutsideRoot`].

use std::fs;
use std::path::Path;

use forklift_core::naming::is_dns1123_subdomain;

use super::DestinationError;
use super::local::{create_parent, io_error};

/// `value` when it is a safe single path component: a DNS-1123 subdomain (so no `/`, no
/// `..`, no leading `.` that could collide with `.forklift`, at most 253 characters).
pub(super) fn safe_component<'a>(
    what: &'static str,
    value: &'a str,
) -> Result<&'a str, DestinationError> {
    if is_dns1123_subdomain(value) {
        Ok(value)
    } else {
        Err(DestinationError::UnsafeName {
            what,
            name: value.to_owned(),
        })
    }
}

/// Creates the directory of `path` and checks that it stays inside the root
/// ([`check_inside`]). The deepest directory that exists already is checked
/// first, so no directory is created through a symlink that leads out of the root.
pub(super) fn prepare_parent(root: &Path, path: &Path) -> Result<(), DestinationError> {
    let parent = path.parent().unwrap_or(root);
    let mut existing = parent;
    while !existing.exists() {
        match existing.parent() {
            Some(up) => existing = up,
            None => break,
        }
    }
    // Below the root (the root itself may not exist yet): must resolve inside it.
    if existing.starts_with(root) {
        check_dir(root, existing, path)?;
    }
    create_parent(path)?;
    check_inside(root, path)
}

/// Checks that `path`'s directory, symlinks resolved, lies under the root and that `path`
/// itself is not a symlink: a symlink planted inside the destination must not redirect
/// a write or a removal. A directory that does not exist yet holds nothing to check.
pub(super) fn check_inside(root: &Path, path: &Path) -> Result<(), DestinationError> {
    let parent = path.parent().unwrap_or(root);
    if !parent.exists() {
        return Ok(());
    }
    check_dir(root, parent, path)?;
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(DestinationError::OutsideRoot {
            path: path.to_path_buf(),
            resolved: fs::read_link(path).map_err(io_error(path))?,
            root: root.to_path_buf(),
        });
    }
    Ok(())
}

/// Checks that the existing directory `dir` (on the way to `path`), symlinks resolved,
/// lies under the root.
fn check_dir(root: &Path, dir: &Path, path: &Path) -> Result<(), DestinationError> {
    let root = fs::canonicalize(root).map_err(io_error(root))?;
    let resolved = fs::canonicalize(dir).map_err(io_error(dir))?;
    if resolved.starts_with(&root) {
        Ok(())
    } else {
        Err(DestinationError::OutsideRoot {
            path: path.to_path_buf(),
            resolved,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::super::{Destination, DestinationError, LocalDestination};

    #[test]
    fn names_that_are_not_single_dns1123_components_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("dest");
        let dest = LocalDestination::new(&root);
        let bad = [
            "",
            ".",
            "..",
            "../x",
            "/etc",
            "a/b",
            ".forklift",
            "A",
            &"n".repeat(254),
        ];
        for name in bad {
            let unsafe_name = |r: Result<PathBuf, DestinationError>| matches!(r, Err(DestinationError::UnsafeName { name: n, .. }) if n == name);
            assert!(unsafe_name(dest.disk_path(name, "c")), "{name:?}");
            assert!(unsafe_name(dest.disk_path("ns", name)), "{name:?}");
            assert!(unsafe_name(dest.checkpoint_path("ns", name)), "{name:?}");
            assert!(unsafe_name(dest.manifest_path(
                name,
                "virtualmachines",
                "vm"
            )));
            assert!(unsafe_name(dest.manifest_path(
                "ns",
                "virtualmachines",
                name
            )));
            assert!(unsafe_name(dest.plan_status_path("ns", name)), "{name:?}");
            if !name.is_empty() {
                assert!(unsafe_name(dest.plan_status_path(name, "p")), "{name:?}");
            }
            assert!(dest.open_local_disk("ns", name, 512).is_err());
            assert!(
                dest.write_manifest(name, "virtualmachines", "vm", &1)
                    .is_err()
            );
            assert!(dest.remove_local_vm("ns", name, &[]).is_err());
        }
        assert!(!root.exists(), "nothing was created");
        let longest = "n".repeat(forklift_core::naming::DNS1123_SUBDOMAIN_MAX_LENGTH);
        assert!(
            dest.manifest_path("ns", "virtualmachines", &longest)
                .is_ok()
        );
        assert_eq!(
            dest.plan_status_path("", "p").unwrap(),
            root.join(".forklift/p.status.yaml")
        );
    }

    #[test]
    fn symlinks_inside_the_root_cannot_redirect_writes_or_removals() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir_all(outside.join("disks")).unwrap();
        fs::write(outside.join("disks/c.img"), b"precious").unwrap();
        let root = dir.path().join("dest");
        fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("ns")).unwrap();
        let dest = LocalDestination::new(&root);
        let refused = |e: DestinationError| matches!(e, DestinationError::OutsideRoot { .. });
        assert!(refused(dest.open_local_disk("ns", "c", 512).unwrap_err()));
        assert!(refused(
            dest.write_manifest("ns", "virtualmachines", "vm", &1)
                .unwrap_err()
        ));
        assert!(refused(
            dest.remove_local_vm("ns", "vm", &["c".to_owned()])
                .unwrap_err()
        ));
        assert_eq!(fs::read(outside.join("disks/c.img")).unwrap(), b"precious");
        assert!(!outside.join("virtualmachines").exists());
        // A file symlinked out of the root is refused too.
        fs::create_dir_all(root.join("ns2/disks")).unwrap();
        std::os::unix::fs::symlink(outside.join("disks/c.img"), root.join("ns2/disks/c.img"))
            .unwrap();
        assert!(refused(dest.open_local_disk("ns2", "c", 512).unwrap_err()));
        assert_eq!(fs::read(outside.join("disks/c.img")).unwrap(), b"precious");
        // The status directory too.
        fs::create_dir(root.join(".forklift")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join(".forklift/mtv")).unwrap();
        assert!(refused(dest.status_path("mtv", "p").unwrap_err()));
    }
}
