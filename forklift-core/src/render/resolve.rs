//! Map lookups for one VM's disks and NICs: which storage pair a disk uses and which network
//! pair a NIC uses. Kept in one place so the shared mapping module can replace it.

use crate::inventory::{Disk, Nic, SourceInventory, Vm};
use crate::resources::{NetworkMap, NetworkPair, Ref, StorageMap, StoragePair};

fn ref_matches(r: &Ref, id: &str, name: &str) -> bool {
    (!r.id.is_empty() && r.id == id) || (r.id.is_empty() && !r.name.is_empty() && r.name == name)
}

/// The storage pair a disk maps through: by the disk's storage id (or name via the inventory).
pub fn storage_pair<'m>(
    map: &'m StorageMap,
    inventory: &SourceInventory,
    disk: &Disk,
) -> Option<&'m StoragePair> {
    let storage_name = inventory
        .storages
        .iter()
        .find(|s| s.id == disk.storage)
        .map_or(disk.storage.as_str(), |s| s.name.as_str());
    map.spec
        .map
        .iter()
        .find(|pair| ref_matches(&pair.source, &disk.storage, storage_name))
}

/// The network pair a NIC maps through: by network id, by name, or for KubeVirt sources by
/// `namespace/name` (and `type: pod` for the pod network).
pub fn network_pair<'m>(
    map: &'m NetworkMap,
    inventory: &SourceInventory,
    nic: &Nic,
) -> Option<&'m NetworkPair> {
    let net = &nic.network;
    let inventory_name = inventory
        .networks
        .iter()
        .find(|n| !net.id.is_empty() && n.id == net.id)
        .map_or(net.name.as_str(), |n| n.name.as_str());
    map.spec.map.iter().find(|pair| {
        let src = &pair.source;
        if net.pod {
            return src.type_ == "pod";
        }
        if ref_matches(&src.as_ref(), &net.id, inventory_name) {
            return true;
        }
        if !net.namespace.is_empty() {
            let qualified = format!("{}/{}", net.namespace, net.name);
            return (src.namespace == net.namespace && src.name == net.name)
                || (src.namespace.is_empty() && src.name == qualified);
        }
        false
    })
}

/// The VM the plan entry refers to (id wins, else a unique name).
pub fn find_vm<'i>(
    inventory: &'i SourceInventory,
    id: &str,
    name: &str,
    namespace: &str,
) -> Result<&'i Vm, &'static str> {
    use crate::inventory::Lookup;
    match inventory.find_vm(id, name, namespace) {
        Lookup::Found(vm) => Ok(vm),
        Lookup::NotFound => Err("NotFound"),
        Lookup::Ambiguous => Err("NotUnique"),
    }
}
