//! What makes a bundle deployable: DataVolumes fed by CDI's upload API, and the upload
//! manifest that says which image feeds which DataVolume.
//!
//! The runner copies every disk itself, so whatever source render gave a DataVolume
//! (`blank` for OVA, `vddk` pointing back at vCenter...) is not how the data arrives on the
//! cluster: it arrives through CDI's upload proxy. Both destinations therefore write each
//! migrated disk's DataVolume with `source: upload: {}` ([`upload_source`]).
//!
//! A local bundle records, per namespace, `DIR/<namespace>/uploads.yaml`:
//!
//! ```yaml
//! uploads:
//! - dataVolume: web-disk-0      # a DataVolume of datavolumes/
//!   image: disks/web-disk-0.img # relative to DIR/<namespace>, always disks/<dataVolume>.img
//!   size: 1073741824
//! ```
//!
//! `forklift deploy` reads it back ([`UploadManifest::load`]) and refuses any entry whose
//! name is not a DNS-1123 name or whose image is not exactly `disks/<dataVolume>.img`, so a
//! hand-edited manifest cannot make deploy read a file outside the bundle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::DestinationError;
use super::confine::safe_component;

/// The file name of a namespace's upload manifest.
pub const UPLOAD_MANIFEST: &str = "uploads.yaml";

/// The largest upload manifest `forklift deploy` reads, in bytes (a bundle of thousands of
/// disks stays far below it).
pub const MAX_UPLOAD_MANIFEST_SIZE: u64 = 4 << 20;

/// Serializes read-modify-write updates of upload manifests within this process (several
/// VMs of a plan finish their disks concurrently).
static MANIFEST_UPDATES: Mutex<()> = Mutex::new(());

/// Why an upload manifest cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The manifest cannot be read.
    #[error("Cannot read the upload manifest {path}")]
    Read {
        /// The manifest.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::input::InputError,
    },
    /// The manifest is not the expected YAML.
    #[error("The upload manifest {path} is not valid")]
    Parse {
        /// The manifest.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// An entry's image is not `disks/<dataVolume>.img`.
    #[error(
        "The upload manifest {path}: the image of DataVolume {data_volume} must be disks/{data_volume}.img, not {image:?}"
    )]
    ImagePath {
        /// The manifest.
        path: PathBuf,
        /// The entry's DataVolume.
        data_volume: String,
        /// The image as written.
        image: String,
    },
    /// An entry names an unsafe DataVolume.
    #[error("The upload manifest {path}")]
    Name {
        /// The manifest.
        path: PathBuf,
        /// The refusal.
        #[source]
        source: DestinationError,
    },
}

/// One disk image and the DataVolume it feeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadEntry {
    /// The DataVolume (in the same namespace).
    pub data_volume: String,
    /// The image, relative to the namespace's directory.
    pub image: String,
    /// The image's size in bytes.
    pub size: u64,
}

/// A namespace's upload manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadManifest {
    /// The uploads, ordered by DataVolume name.
    #[serde(default)]
    pub uploads: Vec<UploadEntry>,
}

/// The image path an entry for `data_volume` must carry.
pub fn image_of(data_volume: &str) -> String {
    format!("disks/{data_volume}.img")
}

impl UploadManifest {
    /// Reads and checks `path`; a missing file is an empty manifest.
    pub fn load(path: &Path) -> Result<Self, BundleError> {
        if !path.exists() {
            return Ok(Self::default());
        }
        let bytes = crate::input::read_file(path, MAX_UPLOAD_MANIFEST_SIZE).map_err(|source| {
            BundleError::Read {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let manifest: Self =
            serde_yaml_ng::from_slice(&bytes).map_err(|source| BundleError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        for entry in &manifest.uploads {
            safe_component("DataVolume", &entry.data_volume).map_err(|source| {
                BundleError::Name {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
            if entry.image != image_of(&entry.data_volume) {
                return Err(BundleError::ImagePath {
                    path: path.to_path_buf(),
                    data_volume: entry.data_volume.clone(),
                    image: entry.image.clone(),
                });
            }
        }
        Ok(manifest)
    }

    /// The entry of `data_volume`.
    pub fn entry(&self, data_volume: &str) -> Option<&UploadEntry> {
        self.uploads.iter().find(|e| e.data_volume == data_volume)
    }

    fn by_name(self) -> BTreeMap<String, UploadEntry> {
        self.uploads
            .into_iter()
            .map(|e| (e.data_volume.clone(), e))
            .collect()
    }
}

/// Applies `change` to the manifest at `path` and writes it back atomically (removing it when
/// it becomes empty). Entries are keyed by DataVolume.
pub(super) fn update_manifest(
    path: &Path,
    change: impl FnOnce(&mut BTreeMap<String, UploadEntry>),
) -> Result<(), DestinationError> {
    // A poisoned lock only means another update panicked; the file is still consistent
    // because writes are atomic.
    let _guard = MANIFEST_UPDATES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // An unreadable manifest is rebuilt from what this run writes: the images and
    // DataVolumes are the truth, the manifest only indexes them.
    let mut entries = UploadManifest::load(path).unwrap_or_default().by_name();
    change(&mut entries);
    if entries.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(super::local::io_error(path)(e))
            }
            _ => Ok(()),
        };
    }
    let manifest = UploadManifest {
        uploads: entries.into_values().collect(),
    };
    let text = forklift_core::manifest::to_kubectl_yaml(&manifest).map_err(|source| {
        DestinationError::Serialize {
            path: path.to_path_buf(),
            source,
        }
    })?;
    super::local::write_atomic(path, text.as_bytes())
}

/// The disk object a destination writes for a disk the runner copies: a DataVolume's
/// source becomes `upload: {}` (the copy, not CDI, brings the data); other objects are
/// returned unchanged.
pub fn upload_source(object: &serde_json::Value) -> serde_json::Value {
    let mut object = object.clone();
    if object.get("kind").and_then(serde_json::Value::as_str) == Some("DataVolume") {
        if let Some(spec) = object
            .get_mut("spec")
            .and_then(serde_json::Value::as_object_mut)
        {
            spec.insert("source".to_owned(), serde_json::json!({ "upload": {} }));
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_volumes_get_an_upload_source_whatever_render_gave_them() {
        let blank = serde_json::json!({"kind": "DataVolume", "spec": {"source": {"blank": {}}, "storage": {}}});
        assert_eq!(
            upload_source(&blank)["spec"]["source"],
            serde_json::json!({"upload": {}})
        );
        let vddk = serde_json::json!({"kind": "DataVolume", "spec": {"source": {"vddk": {"url": "https://vc"}}}});
        assert_eq!(
            upload_source(&vddk)["spec"]["source"],
            serde_json::json!({"upload": {}})
        );
        let vm = serde_json::json!({"kind": "VirtualMachine", "spec": {"source": 1}});
        assert_eq!(upload_source(&vm), vm);
    }

    #[test]
    fn manifests_with_paths_out_of_the_bundle_or_bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(UPLOAD_MANIFEST);
        let bad = [
            "uploads: [{dataVolume: a, image: ../../etc/passwd, size: 1}]",
            "uploads: [{dataVolume: a, image: /etc/passwd, size: 1}]",
            "uploads: [{dataVolume: a, image: disks/b.img, size: 1}]",
            "uploads: [{dataVolume: ../a, image: disks/../a.img, size: 1}]",
            "uploads: [{dataVolume: a, image: disks/a.img, size: 1, extra: 2}]",
            "uploads: [{dataVolume: a, image: disks/a.img, size: -1}]",
        ];
        for text in bad {
            std::fs::write(&path, text).unwrap();
            assert!(UploadManifest::load(&path).is_err(), "{text}");
        }
        std::fs::write(
            &path,
            "uploads: [{dataVolume: a, image: disks/a.img, size: 1}]",
        )
        .unwrap();
        let ok = UploadManifest::load(&path).unwrap();
        assert_eq!(ok.entry("a").unwrap().size, 1);
    }

    #[test]
    fn an_oversized_manifest_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(UPLOAD_MANIFEST);
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_UPLOAD_MANIFEST_SIZE + 1).unwrap();
        assert!(matches!(
            UploadManifest::load(&path),
            Err(BundleError::Read { .. })
        ));
    }

    #[test]
    fn updates_add_and_remove_entries_and_drop_an_empty_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(UPLOAD_MANIFEST);
        let entry = |name: &str| UploadEntry {
            data_volume: name.to_owned(),
            image: image_of(name),
            size: 512,
        };
        update_manifest(&path, |m| {
            m.insert("b".into(), entry("b"));
            m.insert("a".into(), entry("a"));
        })
        .unwrap();
        let loaded = UploadManifest::load(&path).unwrap();
        assert_eq!(loaded.uploads, vec![entry("a"), entry("b")]);
        update_manifest(&path, |m| {
            m.remove("a");
            m.remove("b");
        })
        .unwrap();
        assert!(!path.exists());
    }
}
