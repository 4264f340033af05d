//! The warm plan against the vCenter simulator (tools/vcsim) that
//! `tests/migrate_warm_vsphere.rs` and `examples/warm_demo.rs` share: the manifests, the
//! source's preparation (change tracking on, its network) and the guest's writes.
//! Included by `#[path]` from both.
#![allow(dead_code)] // each includer uses some of these

use std::error::Error;
use std::os::unix::fs::FileExt;
use std::path::Path;

use forklift::core::manifest::ManifestSet;
use forklift::providers::capability::VmRef;
use forklift::providers::{ProviderConfig, open_provider};

/// What failed while preparing the source.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// Namespace of every manifest.
pub const NAMESPACE: &str = "mtv";
/// Name of the Plan and the Migration.
pub const PLAN: &str = "warm";

/// The simulated source of a warm plan.
pub struct Source<'a> {
    /// SDK URL of the simulator.
    pub url: &'a str,
    /// PEM of the CA that signed its certificate.
    pub ca_pem: &'a str,
    /// The fake VDDK's libdir (`vddkLibDir`).
    pub libdir: &'a Path,
    /// Datastore of the VMs' disks.
    pub datastore: &'a str,
}

/// The datastore of a backing file named `[ds] dir/disk.vmdk`.
pub fn datastore_of(file: &str) -> &str {
    file.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .map_or("", |(ds, _)| ds)
}

/// Secret, Providers, maps and a warm Plan (raw copy, target namespace `apps`) of the VMs
/// named `vms`, whose NICs are on `network`.
pub fn manifests(source: &Source<'_>, vms: &[&str], network: &str) -> String {
    let ca: String = source
        .ca_pem
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect();
    let vms: Vec<String> = vms.iter().map(|name| format!("{{name: {name}}}")).collect();
    format!(
        r#"apiVersion: v1
kind: Secret
metadata: {{name: vcsim-secret, namespace: {NAMESPACE}}}
type: Opaque
stringData:
  user: administrator@vsphere.local
  password: Sim-Passw0rd
  cacert: |
{ca}---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: vcsim, namespace: {NAMESPACE}}}
spec:
  type: vsphere
  url: {url}
  secret: {{name: vcsim-secret, namespace: {NAMESPACE}}}
  settings: {{sdkEndpoint: vcenter, vddkInitImage: "quay.io/example/vddk:8", vddkLibDir: "{libdir}"}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: host, namespace: {NAMESPACE}}}
spec: {{type: openshift, url: ""}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: NetworkMap
metadata: {{name: net, namespace: {NAMESPACE}}}
spec:
  provider: {{source: {{name: vcsim, namespace: {NAMESPACE}}}, destination: {{name: host, namespace: {NAMESPACE}}}}}
  map: [{{source: {{id: "{network}"}}, destination: {{type: pod}}}}]
---
apiVersion: forklift.konveyor.io/v1beta1
kind: StorageMap
metadata: {{name: sto, namespace: {NAMESPACE}}}
spec:
  provider: {{source: {{name: vcsim, namespace: {NAMESPACE}}}, destination: {{name: host, namespace: {NAMESPACE}}}}}
  map: [{{source: {{name: {datastore}}}, destination: {{storageClass: standard}}}}]
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {{name: {PLAN}, namespace: {NAMESPACE}}}
spec:
  type: warm
  skipGuestConversion: true
  targetNamespace: apps
  provider: {{source: {{name: vcsim, namespace: {NAMESPACE}}}, destination: {{name: host, namespace: {NAMESPACE}}}}}
  map: {{network: {{name: net, namespace: {NAMESPACE}}}, storage: {{name: sto, namespace: {NAMESPACE}}}}}
  vms: [{vms}]
"#,
        url = source.url,
        libdir = source.libdir.display(),
        datastore = source.datastore,
        vms = vms.join(", "),
    )
}

/// The Migration of the plan, with `spec.cutover` when given.
pub fn migration(cutover: Option<&str>) -> String {
    let cutover = cutover.map_or(String::new(), |at| format!("  cutover: \"{at}\"\n"));
    format!(
        "apiVersion: forklift.konveyor.io/v1beta1\nkind: Migration\nmetadata: {{name: {PLAN}, namespace: {NAMESPACE}}}\nspec:\n  plan: {{name: {PLAN}, namespace: {NAMESPACE}}}\n{cutover}"
    )
}

/// Turns change tracking on for the VMs with ids `vm_ids` (powering them off when
/// `power_off`) and returns the network of the first one's first NIC, for the NetworkMap.
pub async fn prepare(
    source: &Source<'_>,
    vm_ids: &[&str],
    power_off: bool,
) -> Result<String, BoxError> {
    let probe = ManifestSet::parse("probe", &manifests(source, &[], ""));
    let config = ProviderConfig::from_manifests(&probe, &format!("{NAMESPACE}/vcsim"))?;
    let provider = open_provider(&config).await?;
    let inventory = provider.inventory()?.collect_inventory().await?;
    let mut network = None;
    for id in vm_ids {
        let vm = inventory
            .vms
            .iter()
            .find(|v| v.id == *id)
            .ok_or_else(|| format!("VM {id} is not in the inventory"))?;
        network = network.or_else(|| vm.nics.first().map(|n| n.network.id.clone()));
        let vm_ref = VmRef::new(vm.id.clone());
        provider
            .change_tracking()?
            .enable_change_tracking(&vm_ref)
            .await?;
        if power_off {
            provider.power()?.power_off(&vm_ref).await?;
        }
    }
    provider.close().await?;
    network.ok_or_else(|| "the VMs have no NIC".into())
}

/// Writes `len` bytes at `offset` of the running disk's flat file `local`, as the guest
/// would; the bytes depend on `seed` and are never zero (so they are never a hole).
pub fn guest_write(local: &Path, offset: u64, len: usize, seed: u8) -> std::io::Result<()> {
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(7) ^ seed | 1)
        .collect();
    std::fs::OpenOptions::new()
        .write(true)
        .open(local)?
        .write_all_at(&data, offset)
}
