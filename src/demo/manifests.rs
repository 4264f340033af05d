//! The demo's Provider, maps, Plan and Migration, as a user would write them.

use std::path::Path;

/// Namespace of the demo's resources.
pub const NAMESPACE: &str = "forklift-demo";
/// Namespace the VMs are migrated to.
pub const TARGET_NAMESPACE: &str = "demo-vms";
/// Name of the demo plan.
pub const PLAN: &str = "demo-plan";

/// The manifests of the demo, for a catalog at `catalog` (an absolute path).
pub fn demo_manifests(catalog: &Path, vm_names: &[String]) -> String {
    let vms: String = vm_names
        .iter()
        .map(|name| format!("    - name: {}\n", yaml_string(name)))
        .collect();
    format!(
        r#"apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata:
  name: ova-demo
  namespace: {ns}
spec:
  type: ova
  url: {catalog}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata:
  name: host
  namespace: {ns}
spec:
  type: openshift
  url: ""
---
apiVersion: forklift.konveyor.io/v1beta1
kind: NetworkMap
metadata:
  name: demo-network-map
  namespace: {ns}
spec:
  map:
    - source:
        name: VM Network
      destination:
        type: pod
    - source:
        name: Storage Network
      destination:
        type: multus
        name: storage-net
        namespace: {target}
  provider:
    source:
      name: ova-demo
      namespace: {ns}
    destination:
      name: host
      namespace: {ns}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: StorageMap
metadata:
  name: demo-storage-map
  namespace: {ns}
spec:
  map:
    - source:
        name: Dummy storage for source provider ova-demo
      destination:
        storageClass: local
        accessMode: ReadWriteOnce
        volumeMode: Filesystem
  provider:
    source:
      name: ova-demo
      namespace: {ns}
    destination:
      name: host
      namespace: {ns}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata:
  name: {plan}
  namespace: {ns}
spec:
  warm: false
  # No guest converter runs here yet: the disks are copied raw (MTV's raw copy mode), and
  # compatibility mode gives the VM SATA disks and e1000e NICs its guest can drive as is.
  skipGuestConversion: true
  useCompatibilityMode: true
  targetNamespace: {target}
  targetPowerState: "off"
  provider:
    source:
      name: ova-demo
      namespace: {ns}
    destination:
      name: host
      namespace: {ns}
  map:
    network:
      name: demo-network-map
      namespace: {ns}
    storage:
      name: demo-storage-map
      namespace: {ns}
  vms:
{vms}---
apiVersion: forklift.konveyor.io/v1beta1
kind: Migration
metadata:
  name: {plan}-run
  namespace: {ns}
spec:
  plan:
    name: {plan}
    namespace: {ns}
"#,
        ns = NAMESPACE,
        target = TARGET_NAMESPACE,
        plan = PLAN,
        catalog = yaml_string(&catalog.display().to_string()),
    )
}

fn yaml_string(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
}
