//! The source inventory and its lookups.

use super::InventoryError;
use super::entities::{Host, Network, Storage};
use super::ext::ProviderExt;
use super::vm::Vm;
use crate::resources::ProviderType;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// Everything a source provider knows, as one serializable value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SourceInventory {
    /// Provider type (serialized as its `spec.type` spelling).
    pub provider: ProviderType,
    /// Name of the Provider resource the inventory was collected for, when known.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub provider_name: String,
    /// Virtual machines.
    pub vms: Vec<Vm>,
    /// Networks.
    pub networks: Vec<Network>,
    /// Storages.
    pub storages: Vec<Storage>,
    /// Hosts.
    pub hosts: Vec<Host>,
    /// Provider-level detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<ProviderExt>,
}

/// Result of looking an entity up by reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<T> {
    /// Exactly one match.
    Found(T),
    /// No match.
    NotFound,
    /// The name matched several entities.
    Ambiguous,
}

impl<T> Lookup<T> {
    /// The match, if exactly one.
    pub fn found(self) -> Option<T> {
        match self {
            Self::Found(t) => Some(t),
            _ => None,
        }
    }
}

impl SourceInventory {
    /// Parses an inventory from JSON.
    pub fn from_json(text: &str) -> Result<Self, InventoryError> {
        serde_json::from_str(text).map_err(|source| InventoryError::Json {
            what: "source",
            source,
        })
    }

    /// Serializes the inventory as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Builds hash indexes for repeated lookups (one pass over every collection).
    pub fn index(&self) -> InventoryIndex<'_> {
        InventoryIndex::new(self)
    }

    /// Finds a VM the way upstream resolves a plan reference: the ID wins; otherwise the name
    /// (with the namespace for KubeVirt sources) must match exactly one VM.
    pub fn find_vm(&self, id: &str, name: &str, namespace: &str) -> Lookup<&Vm> {
        if !id.is_empty() {
            return match self.vms.iter().find(|vm| vm.id == id) {
                Some(vm) => Lookup::Found(vm),
                None => Lookup::NotFound,
            };
        }
        unique(
            self.vms
                .iter()
                .filter(|vm| vm_name_matches(vm, name, namespace)),
        )
    }

    /// Finds a network by ID, else by name.
    pub fn find_network(&self, id: &str, name: &str) -> Lookup<&Network> {
        find_by(&self.networks, id, name, |n| (&n.id, &n.name))
    }

    /// Finds a storage by ID, else by name.
    pub fn find_storage(&self, id: &str, name: &str) -> Lookup<&Storage> {
        find_by(&self.storages, id, name, |s| (&s.id, &s.name))
    }

    /// Finds a host by ID, else by name.
    pub fn find_host(&self, id: &str, name: &str) -> Lookup<&Host> {
        find_by(&self.hosts, id, name, |h| (&h.id, &h.name))
    }
}

fn vm_name_matches(vm: &Vm, name: &str, namespace: &str) -> bool {
    !name.is_empty() && vm.name == name && (namespace.is_empty() || vm.namespace == namespace)
}

fn unique<'a, T>(mut it: impl Iterator<Item = &'a T>) -> Lookup<&'a T> {
    match (it.next(), it.next()) {
        (Some(t), None) => Lookup::Found(t),
        (None, _) => Lookup::NotFound,
        (Some(_), Some(_)) => Lookup::Ambiguous,
    }
}

fn find_by<'a, T>(
    items: &'a [T],
    id: &str,
    name: &str,
    key: impl Fn(&T) -> (&String, &String),
) -> Lookup<&'a T> {
    if !id.is_empty() {
        return match items.iter().find(|t| key(t).0 == id) {
            Some(t) => Lookup::Found(t),
            None => Lookup::NotFound,
        };
    }
    if name.is_empty() {
        return Lookup::NotFound;
    }
    unique(items.iter().filter(|t| key(t).1 == name))
}

/// Hash indexes over a [`SourceInventory`], for validating large plans in linear time.
#[derive(Debug)]
pub struct InventoryIndex<'a> {
    inventory: &'a SourceInventory,
    vm_by_id: HashMap<&'a str, usize>,
    vm_by_name: HashMap<&'a str, usize>,
    /// Further VMs sharing a name already in `vm_by_name` (rare; kept apart to avoid one
    /// allocation per VM).
    vms_by_name_more: HashMap<&'a str, Vec<usize>>,
    network_by_id: HashMap<&'a str, usize>,
    networks_by_name: HashMap<&'a str, Vec<usize>>,
    storage_by_id: HashMap<&'a str, usize>,
    storages_by_name: HashMap<&'a str, Vec<usize>>,
    host_by_id: HashMap<&'a str, usize>,
}

impl<'a> InventoryIndex<'a> {
    fn new(inventory: &'a SourceInventory) -> Self {
        let mut index = Self {
            inventory,
            vm_by_id: HashMap::with_capacity(inventory.vms.len()),
            vm_by_name: HashMap::with_capacity(inventory.vms.len()),
            vms_by_name_more: HashMap::new(),
            network_by_id: HashMap::new(),
            networks_by_name: HashMap::new(),
            storage_by_id: HashMap::new(),
            storages_by_name: HashMap::new(),
            host_by_id: HashMap::new(),
        };
        for (i, vm) in inventory.vms.iter().enumerate() {
            index.vm_by_id.entry(vm.id.as_str()).or_insert(i);
            match index.vm_by_name.entry(vm.name.as_str()) {
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
                Entry::Occupied(_) => index
                    .vms_by_name_more
                    .entry(vm.name.as_str())
                    .or_default()
                    .push(i),
            }
        }
        for (i, n) in inventory.networks.iter().enumerate() {
            index.network_by_id.entry(n.id.as_str()).or_insert(i);
            index
                .networks_by_name
                .entry(n.name.as_str())
                .or_default()
                .push(i);
        }
        for (i, s) in inventory.storages.iter().enumerate() {
            index.storage_by_id.entry(s.id.as_str()).or_insert(i);
            index
                .storages_by_name
                .entry(s.name.as_str())
                .or_default()
                .push(i);
        }
        for (i, h) in inventory.hosts.iter().enumerate() {
            index.host_by_id.entry(h.id.as_str()).or_insert(i);
        }
        index
    }

    /// The indexed inventory.
    pub fn inventory(&self) -> &'a SourceInventory {
        self.inventory
    }

    /// Same contract as [`SourceInventory::find_vm`], in constant time.
    pub fn find_vm(&self, id: &str, name: &str, namespace: &str) -> Lookup<&'a Vm> {
        let vms = &self.inventory.vms;
        if !id.is_empty() {
            return match self.vm_by_id.get(id) {
                Some(&i) => Lookup::Found(&vms[i]),
                None => Lookup::NotFound,
            };
        }
        if name.is_empty() {
            return Lookup::NotFound;
        }
        let first = self.vm_by_name.get(name).copied();
        let more = self
            .vms_by_name_more
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        unique(
            first
                .iter()
                .chain(more)
                .map(|&i| &vms[i])
                .filter(|vm| namespace.is_empty() || vm.namespace == namespace),
        )
    }

    /// Same contract as [`SourceInventory::find_network`], in constant time.
    pub fn find_network(&self, id: &str, name: &str) -> Lookup<&'a Network> {
        lookup(
            &self.inventory.networks,
            &self.network_by_id,
            &self.networks_by_name,
            id,
            name,
        )
    }

    /// Same contract as [`SourceInventory::find_storage`], in constant time.
    pub fn find_storage(&self, id: &str, name: &str) -> Lookup<&'a Storage> {
        lookup(
            &self.inventory.storages,
            &self.storage_by_id,
            &self.storages_by_name,
            id,
            name,
        )
    }

    /// A host by ID.
    pub fn host(&self, id: &str) -> Option<&'a Host> {
        self.host_by_id.get(id).map(|&i| &self.inventory.hosts[i])
    }

    /// A VM by ID.
    pub fn vm(&self, id: &str) -> Option<&'a Vm> {
        self.vm_by_id.get(id).map(|&i| &self.inventory.vms[i])
    }
}

fn lookup<'a, T>(
    items: &'a [T],
    by_id: &HashMap<&'a str, usize>,
    by_name: &HashMap<&'a str, Vec<usize>>,
    id: &str,
    name: &str,
) -> Lookup<&'a T> {
    if !id.is_empty() {
        return match by_id.get(id) {
            Some(&i) => Lookup::Found(&items[i]),
            None => Lookup::NotFound,
        };
    }
    match by_name.get(name).map(Vec::as_slice) {
        Some([i]) if !name.is_empty() => Lookup::Found(&items[*i]),
        Some([_, _, ..]) if !name.is_empty() => Lookup::Ambiguous,
        _ => Lookup::NotFound,
    }
}
