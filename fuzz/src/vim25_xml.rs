//! Fuzzes the vim25 XML reader and the SOAP answer decoding built on it: any bytes must
//! parse or fail with an error, never panic or recurse without bound.

use forklift_providers::vsphere::devices::parse_devices;
use forklift_providers::vsphere::xml::parse;

/// The target: see the module documentation.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(root) = parse(&text) {
        let _ = parse_devices(&root);
        let _ = root.find("returnval");
        let _ = root.xsi_type();
    }
}
