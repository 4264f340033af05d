//! Appliance management (`applianceManagement`): listing and uploading `.ova` files the way
//! upstream's OVA server does.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::catalog::load_package;
use super::error::{Error, Result};
use super::vm::{Package, PackageKind};

/// A virtual system of an appliance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplianceSystem {
    /// Name.
    pub name: String,
    /// Inventory ID.
    pub id: String,
}

/// An `.ova` file of the catalog, as upstream's `/appliances` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplianceInfo {
    /// Path relative to the catalog root.
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub modified: u64,
    /// Why the appliance cannot be parsed, if it cannot.
    pub error: Option<String>,
    /// The exporting product (`VMware`, ...), empty when unparsable.
    pub source: String,
    /// The VMs it holds.
    pub virtual_systems: Vec<ApplianceSystem>,
}

fn info(root: &Path, path: &Path) -> Result<ApplianceInfo> {
    let meta = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let relative = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    let modified = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let package = Package {
        path: path.to_path_buf(),
        relative: relative.clone(),
        kind: PackageKind::Ova,
    };
    let (error, source, virtual_systems) = match load_package(&package) {
        Ok((envelope, vms)) => (
            None,
            envelope.export_source().as_str().to_owned(),
            vms.into_iter()
                .map(|vm| ApplianceSystem {
                    name: vm.name,
                    id: vm.id,
                })
                .collect(),
        ),
        Err(e) => (Some(e.to_string()), String::new(), Vec::new()),
    };
    Ok(ApplianceInfo {
        file: relative,
        size: meta.len(),
        modified,
        error,
        source,
        virtual_systems,
    })
}

fn is_ova(name: &str) -> bool {
    name.len() > 4
        && name.is_char_boundary(name.len() - 4)
        && name[name.len() - 4..].eq_ignore_ascii_case(".ova")
}

/// The `.ova` files in the catalog root and its first-level subfolders.
pub fn list_appliances(root: &Path) -> Result<Vec<ApplianceInfo>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(root)
        .map_err(|e| Error::io(root, e))?
        .flatten()
    {
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_file() && is_ova(&entry.file_name().to_string_lossy()) {
            paths.push(entry.path());
        } else if ft.is_dir() {
            let Ok(sub) = fs::read_dir(entry.path()) else {
                continue;
            };
            for e in sub.flatten() {
                if e.file_type().is_ok_and(|t| t.is_file())
                    && is_ova(&e.file_name().to_string_lossy())
                {
                    paths.push(e.path());
                }
            }
        }
    }
    paths.sort();
    paths.iter().map(|p| info(root, p)).collect()
}

/// Where an uploaded appliance named `file_name` is stored:
/// `<root>/appliance-<sha256hex(file_name)>/<file_name>`.
pub fn appliance_path(root: &Path, file_name: &str) -> PathBuf {
    let digest = hex::encode(Sha256::digest(file_name.as_bytes()));
    root.join(format!("appliance-{digest}")).join(file_name)
}

/// Stores an uploaded `.ova` in the catalog as upstream does, and returns what it holds.
///
/// The name is reduced to its base name and must end with `.ova` (any case). The file is
/// stored at [`appliance_path`] (folder mode 0750, file mode 0640) through a temporary file,
/// so a scan never sees it half written. An appliance of the same name anywhere in the
/// catalog is a conflict ([`Error::AlreadyExists`]). An upload that is not a readable OVA
/// package is removed again and its parse error returned.
pub fn upload_appliance(
    root: &Path,
    file_name: &str,
    mut data: impl Read,
) -> Result<ApplianceInfo> {
    let base = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim();
    if !is_ova(base) || base.starts_with('.') {
        return Err(Error::Invalid(format!(
            "The uploaded file {file_name:?} must be named <name>.ova"
        )));
    }
    let target = appliance_path(root, base);
    if target.exists() {
        return Err(Error::AlreadyExists {
            name: base.to_owned(),
            path: target,
        });
    }
    if let Some(existing) = list_names(root)
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == base))
    {
        return Err(Error::AlreadyExists {
            name: base.to_owned(),
            path: existing,
        });
    }
    let dir = target.parent().unwrap_or(root).to_path_buf();
    let created_dir = !dir.exists();
    fs::DirBuilder::new()
        .mode(0o750)
        .recursive(true)
        .create(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    let partial = dir.join(format!(".{base}.part"));
    let written = (|| -> Result<()> {
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(&partial)
            .map_err(|e| Error::io(&partial, e))?;
        std::io::copy(&mut data, &mut out).map_err(|e| Error::io(&partial, e))?;
        out.flush().map_err(|e| Error::io(&partial, e))?;
        out.sync_all().map_err(|e| Error::io(&partial, e))?;
        fs::hard_link(&partial, &target).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::AlreadyExists {
                    name: base.to_owned(),
                    path: target.clone(),
                }
            } else {
                Error::io(&target, e)
            }
        })?;
        Ok(())
    })();
    let _ = fs::remove_file(&partial);
    let cleanup = |created_dir: bool| {
        let _ = fs::remove_file(&target);
        if created_dir {
            let _ = fs::remove_dir(&dir);
        }
    };
    if let Err(e) = written {
        if !matches!(e, Error::AlreadyExists { .. }) {
            cleanup(created_dir);
        } else if created_dir {
            let _ = fs::remove_dir(&dir);
        }
        return Err(e);
    }
    let package = Package {
        path: target.clone(),
        relative: String::new(),
        kind: PackageKind::Ova,
    };
    if let Err(e) = load_package(&package) {
        cleanup(created_dir);
        return Err(e);
    }
    info(root, &target)
}

fn list_names(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(root) else {
        return out;
    };
    for entry in entries.flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_file() && is_ova(&entry.file_name().to_string_lossy()) {
            out.push(entry.path());
        } else if ft.is_dir() {
            if let Ok(sub) = fs::read_dir(entry.path()) {
                out.extend(
                    sub.flatten()
                        .filter(|e| is_ova(&e.file_name().to_string_lossy()))
                        .map(|e| e.path()),
                );
            }
        }
    }
    out
}
