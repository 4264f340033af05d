//! The demo end to end: catalog, manifests, validation, migration, verification.

use std::path::{Path, PathBuf};

use forklift_core::manifest::ManifestSet;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::DemoError;
use super::catalog::{CatalogChecksums, build_catalog, demo_vms, sha256_file};
use super::manifests::{PLAN, demo_manifests};
use crate::migrate::{
    LocalDestination, MigrateOptions, MigrationEvent, Migrator, PlanReport, VmOutcome,
};

/// What the demo did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoReport {
    /// The OVA catalog it built.
    pub catalog: PathBuf,
    /// The manifests it wrote.
    pub manifests: PathBuf,
    /// Where the local bundle is.
    pub destination: PathBuf,
    /// The migration's report.
    pub migration: PlanReport,
    /// Disks whose target image matched the source checksum.
    pub disks_verified: usize,
}

/// Runs the demo in `dir`: builds the catalog, writes the manifests, migrates the plan to
/// `dir/out`, and checks every target image against the SHA-256 of its source disk.
pub async fn run_demo(
    dir: &Path,
    events: mpsc::Sender<MigrationEvent>,
    cancel: CancellationToken,
) -> Result<DemoReport, DemoError> {
    run_demo_with(dir, demo_vms(), events, cancel).await
}

/// [`run_demo`] with another catalog, such as
/// [`scaled_demo_vms`](super::scaled::scaled_demo_vms) for whole-plan benchmarks.
pub async fn run_demo_with(
    dir: &Path,
    vms: Vec<super::catalog::DemoVm>,
    events: mpsc::Sender<MigrationEvent>,
    cancel: CancellationToken,
) -> Result<DemoReport, DemoError> {
    let dir = std::path::absolute(dir).map_err(|e| DemoError::io(dir, e))?;
    let catalog = dir.join("catalog");
    let checksums = {
        let (catalog, work, vms) = (catalog.clone(), dir.join("work"), vms.clone());
        tokio::task::spawn_blocking(move || build_catalog(&catalog, &work, &vms))
            .await
            .map_err(|e| DemoError::Tool {
                tool: "catalog builder".into(),
                message: e.to_string(),
            })??
    };
    let manifests_path = dir.join("manifests.yaml");
    let names: Vec<String> = vms.iter().map(|vm| vm.name.clone()).collect();
    let text = demo_manifests(&catalog, &names);
    std::fs::write(&manifests_path, &text).map_err(|e| DemoError::io(&manifests_path, e))?;
    let set = ManifestSet::parse(&manifests_path.display().to_string(), &text);
    if set.has_errors() {
        let errors: Vec<String> = set.diagnostics().iter().map(ToString::to_string).collect();
        return Err(DemoError::Migration(format!(
            "demo manifests do not load: {}",
            errors.join("; ")
        )));
    }
    let out = dir.join("out");
    let mut options = MigrateOptions::new(LocalDestination::new(&out));
    options.verify = true;
    let migrator =
        Migrator::new(&set, Some(PLAN), options).map_err(|e| DemoError::Migration(e.chain()))?;
    let report = migrator
        .run(events, cancel)
        .await
        .map_err(|e| DemoError::Migration(e.chain()))?;
    if !report.succeeded() {
        let failed: Vec<String> = report
            .vms
            .iter()
            .filter(|vm| !matches!(vm.outcome, VmOutcome::Succeeded | VmOutcome::Skipped))
            .map(|vm| {
                format!(
                    "{}: {}",
                    vm.source_name,
                    vm.error.as_deref().unwrap_or("cancelled")
                )
            })
            .collect();
        return Err(DemoError::Migration(failed.join("; ")));
    }
    let disks_verified = verify_against_checksums(&report, &checksums, &out)?;
    Ok(DemoReport {
        catalog,
        manifests: manifests_path,
        destination: out,
        migration: report,
        disks_verified,
    })
}

/// Compares every target image with the SHA-256 of the raw source disk it came from.
fn verify_against_checksums(
    report: &PlanReport,
    sums: &CatalogChecksums,
    out: &Path,
) -> Result<usize, DemoError> {
    let mut verified = 0;
    for vm in &report.vms {
        let expected: Vec<_> = sums
            .disks
            .iter()
            .filter(|d| d.vm == vm.source_name)
            .collect();
        for (position, expected) in expected.iter().enumerate() {
            let path = vm
                .disks
                .iter()
                .find(|d| d.index == position)
                .map(|d| PathBuf::from(&d.path))
                .or_else(|| {
                    // An earlier run migrated this VM; its images are where that run put them.
                    let dir = out.join(&vm.namespace).join("disks");
                    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                        .ok()?
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "img"))
                        .filter(|p| {
                            p.file_name()
                                .is_some_and(|n| n.to_string_lossy().contains(&vm.target_name))
                        })
                        .collect();
                    found.sort();
                    found.into_iter().nth(position)
                })
                .ok_or_else(|| {
                    DemoError::Migration(format!(
                        "no image for disk {} of {}",
                        expected.href, vm.source_name
                    ))
                })?;
            let actual = sha256_file(&path)?;
            if actual != expected.sha256 {
                return Err(DemoError::Migration(format!(
                    "{} differs from its source {} (sha256 {actual} != {})",
                    path.display(),
                    expected.href,
                    expected.sha256
                )));
            }
            verified += 1;
        }
    }
    Ok(verified)
}
