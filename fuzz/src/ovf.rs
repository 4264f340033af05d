//! Fuzzes the OVF descriptor parser and the conversion to VMs: any input must parse or give
//! a typed error, never panic.

use forklift_providers::ova::ovf;
use forklift_providers::ova::vm::{Package, PackageKind, virtual_machines};

/// The target: see the module documentation.
pub fn run(data: &[u8]) {
    if let Ok(envelope) = ovf::parse("fuzz.ovf", data) {
        let _ = envelope.export_source();
        let package = Package {
            path: "/catalog/fuzz.ova".into(),
            relative: "fuzz.ova".into(),
            kind: PackageKind::Ova,
        };
        if let Ok(vms) = virtual_machines(&envelope, &package) {
            for vm in &vms {
                let _ = forklift_providers::ova::inventory::vm(vm);
            }
        }
    }
}
