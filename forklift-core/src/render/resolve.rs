//! Map lookups for one VM's disks and NICs, through the shared mapping module.

use crate::inventory::{InventoryIndex, Lookup, SourceInventory, Vm};
use crate::mapping::{NetworkMapper, StorageMapper};
use crate::resources::condition_types::reason;
use crate::resources::{NetworkMap, NetworkPair, Provider, StorageMap};

/// The storage mapper of a plan (OVA "dummy storage" pairs resolved for its source provider).
pub fn storage_mapper<'m>(
    map: &'m StorageMap,
    inventory: &SourceInventory,
    source_provider: Option<&Provider>,
) -> StorageMapper<'m> {
    let (name, uid) = source_provider.map_or(("", ""), |p| {
        (
            p.metadata.name_or_empty(),
            p.metadata.uid.as_deref().unwrap_or_default(),
        )
    });
    StorageMapper::new(&map.spec.map, Some(inventory), name, uid)
}

/// The network mapper of a plan.
pub fn network_mapper<'m>(map: &'m NetworkMap, inventory: &SourceInventory) -> NetworkMapper<'m> {
    NetworkMapper::new(&map.spec.map, Some(inventory))
}

/// One pair (or `None` when unmapped) per NIC of `vm`, with upstream's NAD-pool allocation.
pub fn network_pairs<'m>(mapper: &NetworkMapper<'m>, vm: &Vm) -> Vec<Option<&'m NetworkPair>> {
    mapper.allocate(vm.nics.iter().map(|n| &n.network))
}

/// The VM the plan entry refers to (id wins, else a unique name); the error is the reason
/// validation gives (`NotFound` for `VMNotFound`, `Ambiguous` for `DuplicateVM`).
pub fn find_vm<'i>(
    index: &InventoryIndex<'i>,
    id: &str,
    name: &str,
    namespace: &str,
) -> Result<&'i Vm, &'static str> {
    match index.find_vm(id, name, namespace) {
        Lookup::Found(vm) => Ok(vm),
        Lookup::NotFound => Err(reason::NOT_FOUND),
        Lookup::Ambiguous => Err(reason::AMBIGUOUS),
    }
}
