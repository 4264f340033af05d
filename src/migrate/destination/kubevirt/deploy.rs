//! `forklift deploy DIR`: pushes a local bundle to a cluster through the same [`Deployer`]
//! as the `kubevirt` destination: per VirtualMachine (namespaces and VMs in name order),
//! apply each DataVolume it uses, upload its image, wait for `Succeeded`, then apply the VM.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::super::bundle::{BundleError, UploadManifest};
use super::super::confine::{check_inside, safe_component};
use super::super::{DestinationError, LocalDestination};
use super::{ClusterError, Deployer, data_volumes_of};

/// The largest DataVolume or VirtualMachine manifest deploy reads, in bytes.
pub const MAX_BUNDLE_OBJECT_SIZE: u64 = 1 << 20;

/// What a deploy did (also on failure: everything created before it).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployReport {
    /// DataVolumes applied, `namespace/name`.
    pub data_volumes: Vec<String>,
    /// DataVolumes whose image was uploaded.
    pub uploaded: Vec<String>,
    /// DataVolumes adopted as already complete (not uploaded again).
    pub adopted: Vec<String>,
    /// VirtualMachines applied.
    pub virtual_machines: Vec<String>,
}

/// Why a deploy stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeployError {
    /// The bundle directory cannot be listed.
    #[error("Cannot read the bundle directory {path}")]
    List {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bundle holds no VirtualMachine.
    #[error(
        "{path} holds no VirtualMachine manifest (<namespace>/virtualmachines/*.yaml): is it a forklift bundle?"
    )]
    Empty {
        /// The directory.
        path: PathBuf,
    },
    /// A manifest cannot be read.
    #[error("Cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::input::InputError,
    },
    /// A manifest is not YAML.
    #[error("{path} is not a valid manifest")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// The upload manifest is unusable.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// A name in the bundle is not a safe file name.
    #[error(transparent)]
    Name(#[from] DestinationError),
    /// A VM uses a DataVolume without an image in the upload manifest.
    #[error("{vm} uses DataVolume {data_volume}, which {manifest} lists no image for")]
    NoImage {
        /// The VM manifest.
        vm: PathBuf,
        /// The DataVolume.
        data_volume: String,
        /// The upload manifest.
        manifest: PathBuf,
    },
    /// The cluster refused or failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// A deploy that stopped, with what it had created.
#[derive(Debug, thiserror::Error)]
#[error("Deploy stopped")]
pub struct DeployFailure {
    /// What was created on the cluster before the failure (left in place: re-running the
    /// deploy adopts it).
    pub created: DeployReport,
    /// Why it stopped.
    #[source]
    pub source: DeployError,
}

impl DeployFailure {
    /// Whether the bundle itself is unusable (as opposed to the cluster refusing or failing).
    pub fn is_bundle_error(&self) -> bool {
        !matches!(self.source, DeployError::Cluster(_))
    }
}

fn read_object(path: &Path) -> Result<Value, DeployError> {
    let bytes = crate::input::read_file(path, MAX_BUNDLE_OBJECT_SIZE).map_err(|source| {
        DeployError::Read {
            path: path.to_path_buf(),
            source,
        }
    })?;
    serde_yaml_ng::from_slice(&bytes).map_err(|source| DeployError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// The `.yaml` files of `dir` by name, each a DNS-1123 name (others are skipped with a
/// warning); none when `dir` is absent.
fn manifests_in(dir: &Path) -> Result<Vec<String>, DeployError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(DeployError::List {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".yaml")?.to_owned();
            if safe_component("manifest name", &stem).is_ok() {
                Some(stem)
            } else {
                tracing::warn!(file = %e.path().display(), "skipped: not a DNS-1123 name");
                None
            }
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Deploys the bundle at `dir` through `deployer`.
pub async fn deploy_bundle(dir: &Path, deployer: &Deployer) -> Result<DeployReport, DeployFailure> {
    let mut report = DeployReport::default();
    match deploy_into(dir, deployer, &mut report).await {
        Ok(()) => Ok(report),
        Err(source) => Err(DeployFailure {
            created: report,
            source,
        }),
    }
}

async fn deploy_into(
    dir: &Path,
    deployer: &Deployer,
    report: &mut DeployReport,
) -> Result<(), DeployError> {
    let bundle = LocalDestination::new(dir);
    // Every manifest read below is confined too.
    let read_object = |path: &Path| -> Result<Value, DeployError> {
        check_inside(dir, path)?;
        read_object(path)
    };
    let mut namespaces: Vec<String> = std::fs::read_dir(dir)
        .map_err(|source| DeployError::List {
            path: dir.to_path_buf(),
            source,
        })?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| safe_component("namespace", n).is_ok())
        .collect();
    namespaces.sort();
    let mut found = false;
    for namespace in &namespaces {
        let vm_names = manifests_in(&dir.join(namespace).join("virtualmachines"))?;
        if vm_names.is_empty() {
            continue;
        }
        found = true;
        let manifest_path = bundle.upload_manifest_path(namespace)?;
        check_inside(dir, &manifest_path)?;
        let manifest = UploadManifest::load(&manifest_path)?;
        for vm_name in vm_names {
            let vm_path = bundle.manifest_path(namespace, "virtualmachines", &vm_name)?;
            let vm = read_object(&vm_path)?;
            for dv in data_volumes_of(&vm) {
                let entry = manifest.entry(&dv).ok_or_else(|| DeployError::NoImage {
                    vm: vm_path.clone(),
                    data_volume: dv.clone(),
                    manifest: manifest_path.clone(),
                })?;
                let object = read_object(&bundle.manifest_path(namespace, "datavolumes", &dv)?)?;
                let full = format!("{namespace}/{dv}");
                // A symlink (or a directory resolving) out of the bundle is refused before
                // anything is created: deploy sends only the bundle's own files.
                let image = bundle.disk_path(namespace, &dv)?;
                check_inside(dir, &image)?;
                let needs_image = deployer
                    .apply_data_volume(namespace, &dv, &object, entry.size)
                    .await?;
                report.data_volumes.push(full.clone());
                if needs_image {
                    deployer.upload(namespace, &dv, &image).await?;
                    report.uploaded.push(full);
                } else {
                    report.adopted.push(full);
                }
            }
            deployer.apply_vm(namespace, &vm_name, &vm).await?;
            report
                .virtual_machines
                .push(format!("{namespace}/{vm_name}"));
        }
    }
    if found {
        Ok(())
    } else {
        Err(DeployError::Empty {
            path: dir.to_path_buf(),
        })
    }
}
