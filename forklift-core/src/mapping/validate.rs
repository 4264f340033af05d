//! The map controller's conditions (`pkg/controller/map/{network,storage}/validation.go`),
//! computed offline against the inventories.

use super::network::parse_vlan;
use super::storage::{DUMMY_STORAGE_PREFIX, GLANCE_SOURCE};
use crate::inventory::{DestinationInventory, Lookup, SourceInventory};
use crate::resources::condition_types::{kind, reason};
use crate::resources::{Category, Condition, NetworkDestinationType, NetworkMap, Ref, StorageMap};

/// Source reference resolution outcome for one pair.
fn lookup_outcome<T>(lookup: Lookup<T>) -> Option<(&'static str, Category)> {
    match lookup {
        Lookup::Found(_) => None,
        Lookup::NotFound => Some((reason::NOT_FOUND, Category::Warn)),
        Lookup::Ambiguous => Some((reason::AMBIGUOUS, Category::Critical)),
    }
}

/// Groups failing refs by reason into one condition per (type, reason).
fn grouped(
    type_: &str,
    noun: &str,
    failures: Vec<(&'static str, Category, String)>,
) -> Vec<Condition> {
    let mut out: Vec<Condition> = Vec::new();
    for (reason, category, item) in failures {
        match out.iter_mut().find(|c| c.reason == reason) {
            Some(c) => c.items.push(item),
            None => out.push(
                Condition::new(type_, category)
                    .with_reason(reason)
                    .with_message(format!("{noun}: {reason}."))
                    .with_items([item]),
            ),
        }
    }
    out
}

/// Conditions of a NetworkMap: `SourceNetworkNotValid` (NotSet/NotFound/Ambiguous, plus our
/// NotValid for a VLAN outside 1–4094) and `DestinationNetworkNotValid` (multus NAD missing or
/// without namespace). Pod and ignored destinations are not checked.
pub fn validate_network_map(
    map: &NetworkMap,
    source: &SourceInventory,
    destination: &DestinationInventory,
) -> Vec<Condition> {
    let mut src = Vec::new();
    let mut dst = Vec::new();
    for pair in &map.spec.map {
        let s = &pair.source;
        let item = s.as_ref().to_string();
        if s.type_ != "pod" {
            if s.id.is_empty() && s.name.is_empty() {
                src.push((reason::NOT_SET, Category::Critical, item.clone()));
            } else {
                let name = if s.namespace.is_empty() || s.name.contains('/') {
                    s.name.clone()
                } else {
                    format!("{}/{}", s.namespace, s.name)
                };
                let mut lookup = source.find_network(&s.id, &s.name);
                if lookup == Lookup::NotFound && s.id.is_empty() {
                    let (ns, n) = name.split_once('/').unwrap_or(("", name.as_str()));
                    let hits: Vec<_> = source
                        .networks
                        .iter()
                        .filter(|x| x.name == n && x.namespace == ns)
                        .collect();
                    lookup = match hits.as_slice() {
                        [one] => Lookup::Found(*one),
                        [] => Lookup::NotFound,
                        _ => Lookup::Ambiguous,
                    };
                }
                if let Some((reason, category)) = lookup_outcome(lookup) {
                    src.push((reason, category, item.clone()));
                }
            }
        }
        if let Some(vlan) = &s.vlan {
            if parse_vlan(vlan).is_err() {
                src.push((reason::NOT_VALID, Category::Critical, item.clone()));
            }
        }
        let d = &pair.destination;
        if d.type_ == NetworkDestinationType::Multus {
            if d.namespace.is_empty() {
                dst.push(
                    Condition::new(kind::DESTINATION_NETWORK_NOT_VALID, Category::Critical)
                        .with_reason(reason::AMBIGUOUS)
                        .with_message("Destination network: namespace required.")
                        .with_items([format!("{}/{}", d.namespace, d.name)]),
                );
            } else if destination.nad(&d.namespace, &d.name).is_none() {
                dst.push(
                    Condition::new(kind::DESTINATION_NETWORK_NOT_VALID, Category::Critical)
                        .with_reason(reason::NOT_FOUND)
                        .with_message("Destination network: NotFound.")
                        .with_items([format!("{}/{}", d.namespace, d.name)]),
                );
            }
        }
    }
    let mut out = grouped(kind::SOURCE_NETWORK_NOT_VALID, "Source network", src);
    out.extend(merge_by_reason(dst));
    out
}

fn merge_by_reason(conditions: Vec<Condition>) -> Vec<Condition> {
    let mut out: Vec<Condition> = Vec::new();
    for c in conditions {
        match out
            .iter_mut()
            .find(|o| o.type_ == c.type_ && o.reason == c.reason)
        {
            Some(o) => o.items.extend(c.items),
            None => out.push(c),
        }
    }
    out
}

/// Conditions of a StorageMap: `SourceStorageNotValid` (NotSet/NotFound/Ambiguous; `glance` and
/// the OVA "Dummy storage" form are always valid) and `DestinationStorageNotValid` (storage class
/// not found).
pub fn validate_storage_map(
    map: &StorageMap,
    source: &SourceInventory,
    destination: &DestinationInventory,
) -> Vec<Condition> {
    let mut src = Vec::new();
    let mut dst = Vec::new();
    for pair in &map.spec.map {
        let s: &Ref = &pair.source;
        let item = s.to_string();
        let special = (s.id.is_empty() && s.name == GLANCE_SOURCE)
            || s.name.starts_with(DUMMY_STORAGE_PREFIX);
        if s.id.is_empty() && s.name.is_empty() {
            src.push((reason::NOT_SET, Category::Critical, item));
        } else if !special {
            if let Some((reason, category)) = lookup_outcome(source.find_storage(&s.id, &s.name)) {
                src.push((reason, category, item));
            }
        }
        let class = &pair.destination.storage_class;
        if destination.storage_class(class).is_none() {
            dst.push(
                Condition::new(kind::DESTINATION_STORAGE_NOT_VALID, Category::Critical)
                    .with_reason(reason::NOT_FOUND)
                    .with_message("Destination storage: NotFound.")
                    .with_items([class.clone()]),
            );
        }
    }
    let mut out = grouped(kind::SOURCE_STORAGE_NOT_VALID, "Source storage", src);
    out.extend(merge_by_reason(dst));
    out
}
