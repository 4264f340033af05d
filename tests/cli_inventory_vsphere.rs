//! `forklift inventory` end to end: Provider + Secret manifests → a live vim25 server
//! (govmomi's vCenter simulator) → inventory JSON.

mod common;
#[path = "../forklift-providers/tests/common/vcsim.rs"]
mod vcsim;

use common::{forklift, text};
use forklift::core::inventory::SourceInventory;
use vcsim::Vcsim;

fn manifests(sim: &Vcsim, dir: &std::path::Path) {
    let ca: String = String::from_utf8(sim.cert_pem())
        .unwrap()
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect();
    let yaml = format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: vcsim-secret
  namespace: konveyor-forklift
type: Opaque
stringData:
  user: administrator@vsphere.local
  password: Sim-Passw0rd
  cacert: |
{ca}---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata:
  name: vcsim
  namespace: konveyor-forklift
spec:
  type: vsphere
  url: {url}
  secret:
    name: vcsim-secret
    namespace: konveyor-forklift
  settings:
    sdkEndpoint: vcenter
"#,
        url = sim.url
    );
    std::fs::write(dir.join("provider.yaml"), yaml).unwrap();
}

#[test]
fn inventory_verb_collects_the_simulator_as_json() {
    let Some(sim) = Vcsim::start(&["-vm", "2"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    manifests(&sim, dir.path());
    let out = dir.path().join("inventory.json");
    let run = forklift(&[
        "inventory",
        "--manifests",
        text(dir.path()),
        "--provider",
        "vcsim",
        "--output-file",
        text(&out),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(!stderr.contains("Sim-Passw0rd"));
    let inventory = SourceInventory::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(inventory.provider_name, "vcsim");
    // Default model: 1 cluster of 3 hosts + 1 standalone host, 2 VMs per resource pool.
    assert_eq!(inventory.hosts.len(), 4);
    assert_eq!(inventory.vms.len(), 4);
    assert!(stderr.contains("vcsim: 4 VMs, 4 hosts"), "{stderr}");

    let missing = forklift(&[
        "inventory",
        "--manifests",
        text(dir.path()),
        "--provider",
        "nope",
    ]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("Provider 'nope' not found"), "{stderr}");
}

#[test]
fn validate_without_an_inventory_collects_the_source_live() {
    let Some(sim) = Vcsim::start(&["-vm", "1"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    manifests(&sim, dir.path());
    let plan = r#"apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {name: host, namespace: konveyor-forklift}
spec: {type: openshift}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: NetworkMap
metadata: {name: net, namespace: konveyor-forklift}
spec:
  provider: {source: {name: vcsim}, destination: {name: host}}
  map:
    - source: {name: VM Network}
      destination: {type: pod}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: StorageMap
metadata: {name: sto, namespace: konveyor-forklift}
spec:
  provider: {source: {name: vcsim}, destination: {name: host}}
  map:
    - source: {name: LocalDS_0}
      destination: {storageClass: standard}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {name: plan, namespace: konveyor-forklift}
spec:
  targetNamespace: migrated
  provider: {source: {name: vcsim}, destination: {name: host}}
  map: {network: {name: net}, storage: {name: sto}}
  vms: [{name: DC0_H0_VM0}, {name: no-such-vm}]
"#;
    std::fs::write(dir.path().join("plan.yaml"), plan).unwrap();
    let run = forklift(&["validate", "-o", "json", "--manifests", text(dir.path())]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    // 1: the plan has a blocker (the missing VM), so validation ran on live data.
    assert_eq!(run.status.code(), Some(1), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let conditions = report["conditions"].as_array().unwrap();
    let not_found = conditions
        .iter()
        .find(|c| c["type"] == "VMNotFound")
        .unwrap_or_else(|| panic!("{stdout}"));
    let items = not_found["items"].to_string();
    assert!(
        items.contains("no-such-vm") && !items.contains("DC0_H0_VM0"),
        "{items}"
    );
}
