//! The demo: a small OVA catalog built from scratch, migrated to a local KubeVirt bundle and
//! verified disk by disk.

pub mod catalog;
pub mod manifests;
mod run;
pub mod scaled;
mod ustar;

pub use run::{DemoReport, run_demo, run_demo_with};

use std::path::{Path, PathBuf};

/// Errors of the demo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// Reading or writing a demo file failed.
    #[error("I/O error on {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The migration failed or its result does not match the source.
    #[error("Demo migration: {0}")]
    Migration(String),
    /// An external tool (mke2fs, qemu-img) failed or is missing.
    #[error("{tool} failed: {message}")]
    Tool {
        /// The program.
        tool: String,
        /// What it printed on stderr, or why it could not start.
        message: String,
    },
}

impl DemoError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::catalog::*;

    #[test]
    fn catalog_builds_with_real_tools_and_disks_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = dir.path().join("catalog");
        let sums = build_catalog(&catalog, &dir.path().join("work"), &demo_vms()).unwrap();
        assert_eq!(sums.disks.len(), 3);
        assert!(catalog.join("demo-web.ova").is_file());
        assert!(catalog.join("demo-db-01/demo-db-01.ovf").is_file());
        // The streamOptimized VMDK converts back to the very raw image that was checksummed.
        let back = dir.path().join("back.raw");
        let status = std::process::Command::new("qemu-img")
            .args(["convert", "-O", "raw"])
            .arg(catalog.join("demo-db-01/demo-db-disk2.vmdk"))
            .arg(&back)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(sha256_file(&back).unwrap(), sums.disks[2].sha256);
        let listing = std::process::Command::new("tar")
            .arg("-tf")
            .arg(catalog.join("demo-web.ova"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(listing.stdout).unwrap(),
            "demo-web.ovf\ndemo-web-disk1.vmdk\n"
        );
    }
}
