//! Network facts: transfer-network annotations (§9.7), UDN detection and static IPs for
//! conversion (§9.8).

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::inventory::{DestinationInventory, GuestNetwork};
use crate::resources::ObjectReference;

use super::rules::{keys, static_ip_entry};

/// Annotations that put CDI importer pods on the plan's transfer network. `Err` carries a
/// problem to report (the legacy annotation is still returned).
pub fn transfer_network_annotations(
    nad: &ObjectReference,
    destination: Option<&DestinationInventory>,
) -> (BTreeMap<String, String>, Option<String>) {
    let mut out = BTreeMap::new();
    let qualified = format!("{}/{}", nad.namespace, nad.name);
    let found = destination.and_then(|d| {
        d.network_attachment_definitions
            .iter()
            .find(|n| n.namespace == nad.namespace && n.name == nad.name)
    });
    let Some(found) = found else {
        out.insert(keys::MULTUS_DEFAULT_NETWORK.to_owned(), qualified.clone());
        return (
            out,
            Some(format!(
                "Transfer network {qualified} is not in the destination inventory"
            )),
        );
    };
    let gateway = found
        .annotations
        .get(keys::ROUTE)
        .cloned()
        .or_else(|| default_route_gateway(&found.config));
    match gateway {
        Some(gw) => {
            let mut entry = serde_json::json!({"namespace": nad.namespace, "name": nad.name});
            if gw != "none" {
                if gw.parse::<IpAddr>().is_err() {
                    return (
                        out,
                        Some(format!(
                            "Transfer network {qualified} has an invalid route {gw:?}"
                        )),
                    );
                }
                entry["default-route"] = serde_json::json!([gw]);
            }
            out.insert(
                keys::MULTUS_NETWORKS.to_owned(),
                serde_json::Value::Array(vec![entry]).to_string(),
            );
        }
        None => {
            out.insert(keys::MULTUS_DEFAULT_NETWORK.to_owned(), qualified);
        }
    }
    (out, None)
}

/// The `gw` of an IPAM default route (`0.0.0.0/0` or `::/0`) in a CNI config.
fn default_route_gateway(config: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(config).ok()?;
    let routes = value.get("ipam")?.get("routes")?.as_array()?;
    routes.iter().find_map(|r| {
        let dst = r.get("dst")?.as_str()?;
        if dst == "0.0.0.0/0" || dst == "::/0" {
            r.get("gw")?.as_str().map(str::to_owned)
        } else {
            None
        }
    })
}

/// Whether the target namespace uses a primary user-defined network.
pub fn namespace_has_udn(destination: Option<&DestinationInventory>, namespace: &str) -> bool {
    let Some(d) = destination else { return false };
    let labelled = d.namespaces.iter().any(|n| {
        n.name == namespace
            && n.labels
                .contains_key("k8s.ovn.org/primary-user-defined-network")
    });
    labelled
        && d.network_attachment_definitions.iter().any(|n| {
            n.namespace == namespace && n.labels.contains_key("k8s.ovn.org/user-defined-network")
        })
}

fn is_link_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

fn is_unique_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xfe00) == 0xfc00)
}

/// `V2V_staticIPs` entries for a guest's networks: IPv4 first (stable), link-local skipped,
/// Windows keeps only `manual` addresses, Linux ignores non-global IPv6. Also reports whether
/// a MAC has several addresses (`V2V_multipleIPsPerNic` for Windows).
pub fn static_ips(networks: &[GuestNetwork], windows: bool) -> (Vec<String>, bool) {
    let mut kept: Vec<(&GuestNetwork, IpAddr)> = networks
        .iter()
        .filter_map(|n| n.ip.parse::<IpAddr>().ok().map(|ip| (n, ip)))
        .filter(|(n, ip)| {
            if n.mac.is_empty() || is_link_local(ip) {
                return false;
            }
            if windows {
                n.origin.eq_ignore_ascii_case("manual")
            } else {
                !(ip.is_ipv6() && is_unique_local(ip))
            }
        })
        .collect();
    kept.sort_by_key(|(_, ip)| ip.is_ipv6());
    let mut per_mac: BTreeMap<&str, usize> = BTreeMap::new();
    for (n, _) in &kept {
        *per_mac.entry(n.mac.as_str()).or_default() += 1;
    }
    let multiple = per_mac.values().any(|c| *c > 1);
    let entries = kept
        .iter()
        .map(|(n, ip)| {
            static_ip_entry(&n.mac, &ip.to_string(), &n.gateway, n.prefix_length, &n.dns)
        })
        .collect();
    (entries, multiple)
}
