//! Stable inventory IDs of OVA VMs, disks and networks.
//!
//! Upstream hashes Go `gob` encodings, which cannot be reproduced outside Go; these IDs keep
//! upstream's shape (36 lowercase hex characters of a SHA-256) over a documented input:
//!
//! * VM: the `VirtualSystem` `ovf:id` verbatim when it parses as a UUID (canonical, `urn:uuid:`,
//!   braced or 32-hex form), as upstream. Otherwise `SHA-256("vm" NUL package NUL index NUL id)`,
//!   where `package` is the path of the `.ova`/`.ovf` relative to the catalog root with `/`
//!   separators and `index` the position of the `VirtualSystem` in the descriptor. This is
//!   stable across runs and machines (wherever the share is mounted) and, unlike upstream,
//!   unique per VM when one descriptor holds several non-UUID systems.
//! * Disk: `SHA-256("disk" NUL package NUL href)`.
//! * Dummy storage: `SHA-256("storage" NUL provider name)`.
//! * Network: `SHA-256("network" NUL name)`: the same network name gets the same ID in every
//!   package, as upstream.

use sha2::{Digest, Sha256};

fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0u8]);
        }
        h.update(p.as_bytes());
    }
    let mut hex = hex::encode(h.finalize());
    hex.truncate(36);
    hex
}

/// Whether `id` is a UUID in any form upstream accepts.
pub fn is_uuid(id: &str) -> bool {
    uuid::Uuid::try_parse(id.trim()).is_ok()
}

/// The ID of the `index`-th `VirtualSystem` (with `ovf:id` `vs_id`) of `package`.
pub fn vm_id(package: &str, index: usize, vs_id: &str) -> String {
    if is_uuid(vs_id) {
        return vs_id.to_owned();
    }
    digest(&["vm", package, &index.to_string(), vs_id])
}

/// The ID of the disk stored as `href` in `package`.
pub fn disk_id(package: &str, href: &str) -> String {
    digest(&["disk", package, href])
}

/// The ID of the dummy storage of the provider named `provider`:
/// `SHA-256("storage" NUL provider)`.
pub fn storage_id(provider: &str) -> String {
    digest(&["storage", provider])
}

/// The ID of the network named `name`.
pub fn network_id(name: &str) -> String {
    digest(&["network", name])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_are_kept_and_others_derived_stably() {
        for id in [
            "42256d5e-7ad8-4b4b-a9a2-2bd7e3d5b0a1",
            "urn:uuid:42256d5e-7ad8-4b4b-a9a2-2bd7e3d5b0a1",
            "{42256d5e-7ad8-4b4b-a9a2-2bd7e3d5b0a1}",
            "42256d5e7ad84b4ba9a22bd7e3d5b0a1",
        ] {
            assert_eq!(vm_id("a.ova", 0, id), id);
        }
        let a = vm_id("dir/a.ova", 0, "vm");
        assert_eq!(a.len(), 36);
        assert_eq!(a, vm_id("dir/a.ova", 0, "vm"));
        assert_ne!(a, vm_id("dir/a.ova", 1, "vm"));
        assert_ne!(a, vm_id("dir/b.ova", 0, "vm"));
        assert_ne!(disk_id("a.ova", "d1.vmdk"), disk_id("b.ova", "d1.vmdk"));
        assert_eq!(network_id("VM Network"), network_id("VM Network"));
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}
