//! Network pair resolution and NAD-pool allocation.

use crate::inventory::{Lookup, NicNetwork, SourceInventory};
use crate::resources::{NetworkDestinationType, NetworkPair};
use std::collections::{HashMap, HashSet};

/// Resolves NICs to network pairs.
#[derive(Debug)]
pub struct NetworkMapper<'m> {
    pairs: &'m [NetworkPair],
    by_id: HashMap<String, Vec<usize>>,
    by_name: HashMap<(String, String), Vec<usize>>,
    pod: Vec<usize>,
}

/// Splits `ns/name` into its parts when the namespace is not given separately.
fn namespaced(namespace: &str, name: &str) -> (String, String) {
    match (namespace.is_empty(), name.split_once('/')) {
        (true, Some((ns, n))) => (ns.to_owned(), n.to_owned()),
        _ => (namespace.to_owned(), name.to_owned()),
    }
}

impl<'m> NetworkMapper<'m> {
    /// Indexes the pairs. With an inventory, pairs given by name are also indexed under the ID
    /// they resolve to, and pairs given by ID under the resolved network's name, as the map
    /// controller's `status.references` would record them.
    pub fn new(pairs: &'m [NetworkPair], inventory: Option<&SourceInventory>) -> Self {
        let mut mapper = Self {
            pairs,
            by_id: HashMap::new(),
            by_name: HashMap::new(),
            pod: Vec::new(),
        };
        for (i, pair) in pairs.iter().enumerate() {
            let source = &pair.source;
            if source.type_ == "pod" {
                mapper.pod.push(i);
                continue;
            }
            let mut ids = Vec::new();
            let mut names = Vec::new();
            if !source.id.is_empty() {
                ids.push(source.id.clone());
            }
            if !source.name.is_empty() {
                names.push(namespaced(&source.namespace, &source.name));
            }
            if let Some(inventory) = inventory {
                let (ns, name) = namespaced(&source.namespace, &source.name);
                let found = match inventory.find_network(&source.id, &source.name) {
                    Lookup::Found(n) => Some(n),
                    // KubeVirt NADs are named `ns/name` in pairs but stored with a namespace.
                    _ if source.id.is_empty() => inventory
                        .networks
                        .iter()
                        .find(|n| n.name == name && (ns.is_empty() || n.namespace == ns)),
                    _ => None,
                };
                if let Some(network) = found {
                    ids.push(network.id.clone());
                    names.push((network.namespace.clone(), network.name.clone()));
                }
            }
            ids.dedup();
            names.dedup();
            for id in ids {
                mapper.by_id.entry(id).or_default().push(i);
            }
            for key in names {
                mapper.by_name.entry(key).or_default().push(i);
            }
        }
        mapper
    }

    /// The pairs being resolved against.
    pub fn pairs(&self) -> &'m [NetworkPair] {
        self.pairs
    }

    /// Every pair for a NIC's source network: by ID, else the pod network, else name/namespace.
    pub fn candidates(&self, nic: &NicNetwork) -> Vec<&'m NetworkPair> {
        self.candidate_indexes(nic)
            .iter()
            .map(|&i| &self.pairs[i])
            .collect()
    }

    fn candidate_indexes(&self, nic: &NicNetwork) -> &[usize] {
        if nic.pod {
            return &self.pod;
        }
        if !nic.id.is_empty() {
            if let Some(found) = self.by_id.get(nic.id.as_str()) {
                return found;
            }
        }
        if nic.name.is_empty() {
            return &[];
        }
        let key = namespaced(&nic.namespace, &nic.name);
        self.by_name
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Whether a source network ID (or name) appears in the map.
    pub fn is_mapped(&self, nic: &NicNetwork) -> bool {
        !self.candidate_indexes(nic).is_empty()
    }

    /// Allocates one pair per NIC of a VM with upstream's NAD pool: a non-multus pair is used
    /// as is; otherwise the first multus pair whose `namespace/name` no earlier NIC of the VM
    /// took (a single candidate is always allowed; when every candidate is taken the first one
    /// is reused). `None` for an unmapped NIC.
    pub fn allocate<'n>(
        &self,
        nics: impl IntoIterator<Item = &'n NicNetwork>,
    ) -> Vec<Option<&'m NetworkPair>> {
        let mut used: HashSet<(&'m str, &'m str)> = HashSet::new();
        nics.into_iter()
            .map(|nic| {
                let candidates = self.candidate_indexes(nic);
                let pairs: Vec<&'m NetworkPair> =
                    candidates.iter().map(|&i| &self.pairs[i]).collect();
                if let Some(p) = pairs
                    .iter()
                    .find(|p| p.destination.type_ != NetworkDestinationType::Multus)
                {
                    return Some(*p);
                }
                let chosen = match pairs.as_slice() {
                    [] => return None,
                    [only] => *only,
                    _ => pairs
                        .iter()
                        .find(|p| !used.contains(&nad_key(p)))
                        .copied()
                        .unwrap_or(pairs[0]),
                };
                used.insert(nad_key(chosen));
                Some(chosen)
            })
            .collect()
    }

    /// How many NICs end up on the pod network after allocation.
    pub fn pod_network_count<'n>(&self, nics: impl IntoIterator<Item = &'n NicNetwork>) -> usize {
        self.allocate(nics)
            .into_iter()
            .flatten()
            .filter(|p| p.destination.type_ == NetworkDestinationType::Pod)
            .count()
    }
}

fn nad_key(pair: &NetworkPair) -> (&str, &str) {
    (
        pair.destination.namespace.as_str(),
        pair.destination.name.as_str(),
    )
}

/// Parses a pair's VLAN (`1`–`4094`, decimal).
pub fn parse_vlan(value: &str) -> Result<u16, String> {
    match value.parse::<u16>() {
        Ok(v) if (1..=4094).contains(&v) && !value.starts_with('0') => Ok(v),
        _ => Err(format!("VLAN '{value}' is not a number from 1 to 4094")),
    }
}
