//! Cold plans that the provider suites (tests/ovirt, tests/openstack) run with
//! `forklift migrate` to a local destination: their manifests, the run, and the disks it
//! wrote. Included by each suite's `main.rs` (`#[path = "../support/local_plan.rs"]`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A cold plan (target namespace `migrated`, target powered off) of VMs of one source
/// provider onto the `host` provider, with its network and storage maps and its Migration.
pub struct ColdPlan<'a> {
    /// Prefix of the names: maps `PREFIX-net` and `PREFIX-storage`, plan `PREFIX-plan`,
    /// migration `PREFIX-plan-run`.
    pub prefix: &'a str,
    /// The source Provider's name.
    pub source: &'a str,
    /// The network map's source reference, e.g. `id: NET`; its destination is the pod network.
    pub network: &'a str,
    /// The storage map's source reference, e.g. `name: glance`; its destination the `local`
    /// storage class.
    pub storage: &'a str,
    /// Lines added to the plan's spec, e.g. `"  skipGuestConversion: true\n"`.
    pub spec: &'a str,
    /// IDs of the plan's VMs.
    pub vms: &'a [&'a str],
}

impl ColdPlan<'_> {
    /// Writes the host Provider, maps, plan and migration into `dir/plan.yaml`.
    pub fn write(&self, dir: &Path) {
        let ColdPlan {
            prefix,
            source,
            network,
            storage,
            spec,
            vms,
        } = self;
        let vms: String = vms.iter().map(|v| format!("    - id: {v}\n")).collect();
        let yaml = format!(
            r#"apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: host, namespace: konveyor-forklift}}
spec: {{type: openshift, url: ""}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: NetworkMap
metadata: {{name: {prefix}-net, namespace: konveyor-forklift}}
spec:
  map:
    - source: {{{network}}}
      destination: {{type: pod}}
  provider:
    source: {{name: {source}, namespace: konveyor-forklift}}
    destination: {{name: host, namespace: konveyor-forklift}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: StorageMap
metadata: {{name: {prefix}-storage, namespace: konveyor-forklift}}
spec:
  map:
    - source: {{{storage}}}
      destination: {{storageClass: local, accessMode: ReadWriteOnce, volumeMode: Filesystem}}
  provider:
    source: {{name: {source}, namespace: konveyor-forklift}}
    destination: {{name: host, namespace: konveyor-forklift}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {{name: {prefix}-plan, namespace: konveyor-forklift}}
spec:
  warm: false
{spec}  targetNamespace: migrated
  targetPowerState: "off"
  provider:
    source: {{name: {source}, namespace: konveyor-forklift}}
    destination: {{name: host, namespace: konveyor-forklift}}
  map:
    network: {{name: {prefix}-net, namespace: konveyor-forklift}}
    storage: {{name: {prefix}-storage, namespace: konveyor-forklift}}
  vms:
{vms}---
apiVersion: forklift.konveyor.io/v1beta1
kind: Migration
metadata: {{name: {prefix}-plan-run, namespace: konveyor-forklift}}
spec:
  plan: {{name: {prefix}-plan, namespace: konveyor-forklift}}
"#
        );
        std::fs::write(dir.join("plan.yaml"), yaml).unwrap();
    }
}

/// Runs `forklift migrate EXTRA... --manifests MANIFESTS --destination local:OUT`; whether it
/// succeeded, and its stderr.
pub fn migrate_local(manifests: &Path, out: &Path, extra: &[&str]) -> (bool, String) {
    let migrate = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .arg("migrate")
        .args(extra)
        .arg("--manifests")
        .arg(manifests)
        .arg("--destination")
        .arg(format!("local:{}", out.display()))
        .output()
        .unwrap();
    (
        migrate.status.success(),
        String::from_utf8_lossy(&migrate.stderr).into_owned(),
    )
}

/// Runs `cmd` and fails the test, quoting its stderr, unless it succeeds.
pub fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file under `dir` (none when it does not exist).
pub fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}
