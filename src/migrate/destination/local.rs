//! The local destination: a directory that receives a KubeVirt-ready bundle.
//!
//! ```text
//! DIR/
//!   <namespace>/
//!     disks/<claim>.img                raw, sparse disk images (one per PVC)
//!     datavolumes/<claim>.yaml         the DataVolume (or PVC) of each disk
//!     virtualmachines/<vm>.yaml        the VirtualMachine
//!     uploads.yaml                     which image feeds which DataVolume (see bundle.rs)
//!   .forklift/<plan-namespace>/<plan>.status.yaml   the Plan with its migration status
//! ```
//!
//! Every path is built from names checked to be single DNS-1123 components, and every write
//! or removal checks that it stays under the root, symlinks resolved (see `confine.rs`:
//! [`DestinationError::UnsafeName`], [`DestinationError::OutsideRoot`]). Manifest loading
//! refuses such names already; this is the second line, for embedding programs that build
//! objects in code.
//!
//! Each DataVolume of a copied disk has `source: upload: {}`: `forklift deploy DIR` creates
//! it on a cluster and uploads its image through CDI's upload proxy, as the `kubevirt`
//! destination does during a migration.
//!
//! Manifests are written atomically (a temporary file of their own, then rename) and only when their
//! content changes, so a re-run is idempotent. A disk copy keeps a checkpoint beside its
//! image until its VM succeeds, so a run interrupted, cancelled or failed resumes each disk
//! where it stopped (`forklift migrate --restart` discards the checkpoints).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use forklift_transfer::block::BlockSink;
use forklift_transfer::local::LocalDisk;
use serde::Serialize;

use super::confine::{check_inside, prepare_parent, safe_component};
use super::{Destination, DestinationDisk, DestinationError, ObjectKind};

/// A destination directory.
#[derive(Debug, Clone)]
pub struct LocalDestination {
    root: PathBuf,
}

impl LocalDestination {
    /// A destination rooted at `root` (created when first written to).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `root/namespace/dir/file`, once `namespace` and `name` (the name `file` is made of)
    /// are known to be single, safe path components.
    fn confined(
        &self,
        namespace: (&'static str, &str),
        dir: &str,
        name: (&'static str, &str),
        file: impl FnOnce(&str) -> String,
    ) -> Result<PathBuf, DestinationError> {
        let namespace = safe_component(namespace.0, namespace.1)?;
        let name = safe_component(name.0, name.1)?;
        Ok(self.root.join(namespace).join(dir).join(file(name)))
    }

    /// The path of a claim's disk image; `Err` for a namespace or claim that is not a
    /// DNS-1123 name.
    pub fn disk_path(&self, namespace: &str, claim: &str) -> Result<PathBuf, DestinationError> {
        self.confined(("namespace", namespace), "disks", ("claim", claim), |c| {
            format!("{c}.img")
        })
    }

    /// The checkpoint kept beside a disk image while it is copied.
    pub fn checkpoint_path(
        &self,
        namespace: &str,
        claim: &str,
    ) -> Result<PathBuf, DestinationError> {
        self.confined(("namespace", namespace), "disks", ("claim", claim), |c| {
            format!(".{c}.img.checkpoint")
        })
    }

    /// The path of a manifest (`kind_dir` is one of this module's own directory names).
    pub fn manifest_path(
        &self,
        namespace: &str,
        kind_dir: &str,
        name: &str,
    ) -> Result<PathBuf, DestinationError> {
        self.confined(("namespace", namespace), kind_dir, ("name", name), |n| {
            format!("{n}.yaml")
        })
    }

    /// The upload manifest of `namespace` (see `bundle.rs`).
    pub fn upload_manifest_path(&self, namespace: &str) -> Result<PathBuf, DestinationError> {
        Ok(self
            .root
            .join(safe_component("namespace", namespace)?)
            .join(super::bundle::UPLOAD_MANIFEST))
    }

    /// Records in the namespace's upload manifest that the image of `claim` feeds the
    /// DataVolume `claim`.
    fn record_upload(&self, namespace: &str, claim: &str) -> Result<(), DestinationError> {
        let image = self.disk_path(namespace, claim)?;
        check_inside(&self.root, &image)?;
        let size = fs::metadata(&image).map_err(io_error(&image))?.len();
        let path = self.upload_manifest_path(namespace)?;
        prepare_parent(&self.root, &path)?;
        super::bundle::update_manifest(&path, |entries| {
            entries.insert(
                claim.to_owned(),
                super::bundle::UploadEntry {
                    data_volume: claim.to_owned(),
                    image: super::bundle::image_of(claim),
                    size,
                },
            );
        })
    }

    /// Where the status of the plan `plan_namespace/plan` is kept (a plan without a
    /// namespace keeps it directly in `.forklift`).
    pub fn plan_status_path(
        &self,
        plan_namespace: &str,
        plan: &str,
    ) -> Result<PathBuf, DestinationError> {
        let mut dir = self.root.join(".forklift");
        if !plan_namespace.is_empty() {
            dir.push(safe_component("plan namespace", plan_namespace)?);
        }
        let plan = safe_component("plan name", plan)?;
        Ok(dir.join(format!("{plan}.status.yaml")))
    }

    /// Removes `path` when present, after [`check_inside`].
    fn remove_inside(&self, path: &Path) -> Result<(), DestinationError> {
        check_inside(&self.root, path)?;
        remove_if_present(path)
    }

    /// Opens the image of `claim` for writing, creating a sparse file of `size` bytes. An
    /// image left by an interrupted copy (it has a checkpoint) is reopened as it is, so the
    /// copy resumes; any other existing image is recreated.
    pub fn open_local_disk(
        &self,
        namespace: &str,
        claim: &str,
        size: u64,
    ) -> Result<LocalDisk, DestinationError> {
        let path = self.disk_path(namespace, claim)?;
        prepare_parent(&self.root, &path)?;
        let resumable = self.checkpoint_path(namespace, claim)?.is_file()
            && fs::metadata(&path).is_ok_and(|m| m.len() == size);
        let disk = if resumable {
            LocalDisk::open_writable(&path)
        } else {
            LocalDisk::create(&path, size)
        };
        disk.map_err(|source| DestinationError::Disk {
            path,
            source: Box::new(source),
        })
    }

    /// The size of the image of `claim`, `None` when there is no regular file there or a
    /// checkpoint says its copy did not finish.
    pub fn local_disk_size(
        &self,
        namespace: &str,
        claim: &str,
    ) -> Result<Option<u64>, DestinationError> {
        let path = self.disk_path(namespace, claim)?;
        check_inside(&self.root, &path)?;
        if self.checkpoint_path(namespace, claim)?.exists() {
            return Ok(None);
        }
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path)(e)),
        }
    }

    /// Writes `object` as YAML to the manifest path, atomically; unchanged content is not
    /// rewritten. Returns the path.
    pub fn write_manifest(
        &self,
        namespace: &str,
        kind_dir: &str,
        name: &str,
        object: &impl Serialize,
    ) -> Result<PathBuf, DestinationError> {
        let path = self.manifest_path(namespace, kind_dir, name)?;
        let text = forklift_core::manifest::to_kubectl_yaml(object).map_err(|source| {
            DestinationError::Serialize {
                path: path.clone(),
                source,
            }
        })?;
        prepare_parent(&self.root, &path)?;
        write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }

    /// Removes what a VM's migration created: its VirtualMachine, the disks' manifests,
    /// images and checkpoints. Missing files are not an error.
    pub fn remove_local_vm(
        &self,
        namespace: &str,
        vm: &str,
        claims: &[String],
    ) -> Result<(), DestinationError> {
        let mut paths = vec![self.manifest_path(namespace, "virtualmachines", vm)?];
        for claim in claims {
            paths.push(self.manifest_path(namespace, "datavolumes", claim)?);
            paths.push(self.disk_path(namespace, claim)?);
            paths.push(self.checkpoint_path(namespace, claim)?);
        }
        paths
            .into_iter()
            .try_for_each(|path| self.remove_inside(&path))?;
        let manifest = self.upload_manifest_path(namespace)?;
        if manifest.exists() {
            check_inside(&self.root, &manifest)?;
            super::bundle::update_manifest(&manifest, |entries| {
                for claim in claims {
                    entries.remove(claim);
                }
            })?;
        }
        Ok(())
    }
}

/// Runs blocking file work off the runtime's workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, DestinationError> + Send + 'static,
) -> Result<T, DestinationError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(DestinationError::Task)?
}

#[async_trait]
impl Destination for LocalDestination {
    fn describe(&self) -> String {
        format!("local:{}", self.root.display())
    }

    fn local_disk_path(&self, namespace: &str, claim: &str) -> Option<PathBuf> {
        self.disk_path(namespace, claim).ok()
    }

    async fn open_disk(
        &self,
        namespace: &str,
        claim: &str,
        size: u64,
    ) -> Result<DestinationDisk, DestinationError> {
        let this = self.clone();
        let (namespace, claim) = (namespace.to_owned(), claim.to_owned());
        blocking(move || {
            let disk = Arc::new(this.open_local_disk(&namespace, &claim, size)?);
            Ok(DestinationDisk {
                location: disk.path().display().to_string(),
                zero_initialized: disk.is_zero_initialized(),
                checkpoint: Some(this.checkpoint_path(&namespace, &claim)?),
                readback: Some(disk.clone()),
                sink: disk,
            })
        })
        .await
    }

    async fn write_object(
        &self,
        namespace: &str,
        kind: ObjectKind,
        name: &str,
        object: &serde_json::Value,
    ) -> Result<(), DestinationError> {
        let (kind_dir, object) = match kind {
            ObjectKind::DiskClaim => ("datavolumes", super::bundle::upload_source(object)),
            ObjectKind::VirtualMachine => ("virtualmachines", object.clone()),
        };
        let this = self.clone();
        let (namespace, name) = (namespace.to_owned(), name.to_owned());
        blocking(move || {
            this.write_manifest(&namespace, kind_dir, &name, &object)?;
            if kind == ObjectKind::DiskClaim {
                this.record_upload(&namespace, &name)?;
            }
            Ok(())
        })
        .await
    }

    async fn disk_completed(&self, namespace: &str, claim: &str) -> Result<(), DestinationError> {
        self.discard_checkpoint(namespace, claim).await
    }

    async fn discard_checkpoint(
        &self,
        namespace: &str,
        claim: &str,
    ) -> Result<(), DestinationError> {
        // Without its checkpoint the image is recreated by the next `open_disk`.
        let path = self.checkpoint_path(namespace, claim)?;
        let this = self.clone();
        blocking(move || this.remove_inside(&path)).await
    }

    async fn disk_size(
        &self,
        namespace: &str,
        claim: &str,
    ) -> Result<Option<u64>, DestinationError> {
        let this = self.clone();
        let (namespace, claim) = (namespace.to_owned(), claim.to_owned());
        blocking(move || this.local_disk_size(&namespace, &claim)).await
    }

    async fn remove_vm(
        &self,
        namespace: &str,
        vm: &str,
        claims: &[String],
    ) -> Result<(), DestinationError> {
        let this = self.clone();
        let (namespace, vm, claims) = (namespace.to_owned(), vm.to_owned(), claims.to_vec());
        blocking(move || this.remove_local_vm(&namespace, &vm, &claims)).await
    }

    fn status_path(&self, plan_namespace: &str, plan: &str) -> Result<PathBuf, DestinationError> {
        let path = self.plan_status_path(plan_namespace, plan)?;
        prepare_parent(&self.root, &path)?;
        Ok(path)
    }
}

pub(super) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DestinationError + '_ {
    move |source| DestinationError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn remove_if_present(path: &Path) -> Result<(), DestinationError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(path)(e)),
        _ => Ok(()),
    }
}

pub(super) fn create_parent(path: &Path) -> Result<(), DestinationError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    Ok(())
}

/// Writes `data` to `path` through a temporary file of its own (unique, so two writers never
/// share one) and a rename, unless the file already holds exactly `data`.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), DestinationError> {
    // Read at most as much as we write (a longer file differs anyway), and only a regular
    // file: whatever sits at the path must not make the comparison hang or grow.
    if crate::input::read_file(path, data.len() as u64).is_ok_and(|old| old == data) {
        return Ok(());
    }
    create_parent(path)?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_error(path))?;
    tmp.write_all(data).map_err(io_error(path))?;
    tmp.as_file().sync_all().map_err(io_error(path))?;
    // A failed persist drops (and so deletes) the temporary file.
    tmp.persist(path).map_err(|e| io_error(path)(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use forklift_transfer::block::BlockSink;

    #[test]
    fn manifests_are_written_once_and_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let dest = LocalDestination::new(dir.path());
        let path = dest
            .write_manifest("ns", "virtualmachines", "vm1", &serde_json::json!({"a": 1}))
            .unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a: 1\n");
        let before = fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        dest.write_manifest("ns", "virtualmachines", "vm1", &serde_json::json!({"a": 1}))
            .unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().modified().unwrap(),
            before,
            "unchanged content is not rewritten"
        );
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn disks_resume_only_with_a_checkpoint_and_remove_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let dest = LocalDestination::new(dir.path());
        let disk = dest.open_local_disk("ns", "c1", 1 << 20).unwrap();
        assert_eq!(disk.size(), 1 << 20);
        fs::write(dest.disk_path("ns", "c1").unwrap(), vec![1u8; 1 << 20]).unwrap();
        // Without a checkpoint the image is recreated (zeroed).
        dest.open_local_disk("ns", "c1", 1 << 20).unwrap();
        assert!(
            fs::read(dest.disk_path("ns", "c1").unwrap())
                .unwrap()
                .iter()
                .all(|&b| b == 0)
        );
        fs::write(dest.disk_path("ns", "c1").unwrap(), vec![1u8; 1 << 20]).unwrap();
        fs::write(dest.checkpoint_path("ns", "c1").unwrap(), b"{}").unwrap();
        dest.open_local_disk("ns", "c1", 1 << 20).unwrap();
        assert!(
            fs::read(dest.disk_path("ns", "c1").unwrap())
                .unwrap()
                .iter()
                .all(|&b| b == 1),
            "kept for resume"
        );
        dest.write_manifest("ns", "datavolumes", "c1", &1).unwrap();
        dest.remove_local_vm("ns", "vm", &["c1".to_owned()])
            .unwrap();
        assert!(
            !dest.disk_path("ns", "c1").unwrap().exists()
                && !dest.checkpoint_path("ns", "c1").unwrap().exists()
        );
        assert!(
            !dest
                .manifest_path("ns", "datavolumes", "c1")
                .unwrap()
                .exists()
        );
    }

    #[test]
    fn a_fifo_where_a_manifest_goes_is_replaced_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let dest = LocalDestination::new(dir.path());
        let path = dest.manifest_path("ns", "virtualmachines", "vm1").unwrap();
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        dest.write_manifest("ns", "virtualmachines", "vm1", &1)
            .unwrap();
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
        assert_eq!(fs::read_to_string(&path).unwrap(), "1\n");
    }

    #[test]
    fn disk_size_reports_only_complete_regular_images() {
        let dir = tempfile::tempdir().unwrap();
        let dest = LocalDestination::new(dir.path());
        assert_eq!(dest.local_disk_size("ns", "c1").unwrap(), None);
        dest.open_local_disk("ns", "c1", 4096).unwrap();
        assert_eq!(dest.local_disk_size("ns", "c1").unwrap(), Some(4096));
        // A checkpoint beside it: the copy did not finish.
        fs::write(dest.checkpoint_path("ns", "c1").unwrap(), b"{}").unwrap();
        assert_eq!(dest.local_disk_size("ns", "c1").unwrap(), None);
        // A symlink in place of the image is not taken for it.
        let target = dir.path().join("elsewhere.img");
        fs::write(&target, vec![0u8; 4096]).unwrap();
        std::os::unix::fs::symlink(&target, dest.disk_path("ns", "c2").unwrap()).unwrap();
        assert!(matches!(
            dest.local_disk_size("ns", "c2"),
            Err(DestinationError::OutsideRoot { .. })
        ));
    }
}
