//! `forklift inventory` end to end: Provider + Secret manifests → a live vim25 server
//! (govmomi's vCenter simulator) → inventory JSON.

#[path = "../forklift-providers/tests/common/vcsim.rs"]
mod vcsim;

use std::process::Command;

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
    let run = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(["inventory", "--manifests"])
        .arg(dir.path())
        .args(["--provider", "vcsim", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(!stderr.contains("Sim-Passw0rd"));
    let inventory = SourceInventory::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(inventory.provider_name, "vcsim");
    // Default model: 1 cluster of 3 hosts + 1 standalone host, 2 VMs per resource pool.
    assert_eq!(inventory.hosts.len(), 4);
    assert_eq!(inventory.vms.len(), 4);
    assert!(stderr.contains("vcsim: 4 VMs, 4 hosts"), "{stderr}");

    let missing = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(["inventory", "--manifests"])
        .arg(dir.path())
        .args(["--provider", "nope"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("Provider 'nope' not found"), "{stderr}");
}
