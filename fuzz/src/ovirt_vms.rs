//! Fuzzes what an oVirt engine answers for its VMs: the bytes are decoded as one page of
//! `GET /vms?follow=...` (`{"vm": [...]}`, the shape the client reads) and converted into
//! the inventory ([`forklift_providers::ovirt::inventory::convert`]). Any answer must be
//! decoded or refused, and any decoded VM converted, never panic (peer numbers such as CPU
//! topology and sizes included).

use forklift_providers::ovirt::inventory::{Objects, convert};
use forklift_providers::ovirt::model::Vm;
use serde_json::Value;

/// The target: see the module documentation.
pub fn run(data: &[u8]) {
    // As `Engine::list` reads a page: the array under the collection's key, item by item.
    let Ok(page) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(Value::Array(values)) = page.get("vm") else {
        return;
    };
    let Ok(vms) = values
        .iter()
        .map(|v| serde_json::from_value::<Vm>(v.clone()))
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    let objects = Objects {
        vms,
        ..Objects::default()
    };
    let inventory = convert(&objects, "fuzz");
    assert_eq!(inventory.vms.len(), objects.vms.len());
}
