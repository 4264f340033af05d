//! A larger demo catalog for whole-plan benchmarks (`forklift demo --vms N`): N VMs shaped
//! like the demo's database VM (two disks each: a small system disk and a larger data disk
//! with incompressible files), each with its own content, IDs and MACs, alternately packed
//! as `.ova` and as an extracted `.ovf`.

use super::catalog::{DemoDisk, DemoNic, DemoVm, Packaging, pseudo_random};

/// Most VMs a scaled demo catalog holds (`forklift demo --vms`).
pub const MAX_DEMO_VMS: usize = 100;

/// `count` demo VMs of two disks each, named `demo-vm-01`, `demo-vm-02`, …; `count` is
/// clamped to 1..=[`MAX_DEMO_VMS`].
pub fn scaled_demo_vms(count: usize) -> Vec<DemoVm> {
    (1..=vm_count(count) as u64)
        .map(|i| DemoVm {
            name: format!("demo-vm-{i:02}"),
            id: format!("5b0c7e1a-2d3f-4a6b-9c8d-{i:012x}"),
            cpus: 2,
            cores_per_socket: 1,
            memory_mib: 2048,
            firmware: if i % 2 == 0 { "efi" } else { "bios" },
            os_type: "rhel9_64Guest",
            disks: vec![
                DemoDisk {
                    href: format!("demo-vm-{i:02}-disk1.vmdk"),
                    size: 64 << 20,
                    files: vec![
                        (
                            "etc/hostname".into(),
                            format!("demo-vm-{i:02}\n").into_bytes(),
                        ),
                        ("usr/lib/app.bin".into(), pseudo_random(1000 + i, 8 << 20)),
                    ],
                },
                DemoDisk {
                    href: format!("demo-vm-{i:02}-disk2.vmdk"),
                    size: 256 << 20,
                    files: vec![
                        ("pgdata/base.dat".into(), pseudo_random(2000 + i, 24 << 20)),
                        ("pgdata/wal.dat".into(), pseudo_random(3000 + i, 4 << 20)),
                    ],
                },
            ],
            nics: vec![DemoNic {
                network: "VM Network".into(),
                mac: format!("00:50:56:8b:{:02x}:01", i),
            }],
            packaging: if i % 2 == 0 {
                Packaging::ExtractedOvf
            } else {
                Packaging::Ova
            },
        })
        .collect()
}

/// `count` clamped to 1..=[`MAX_DEMO_VMS`].
fn vm_count(count: usize) -> usize {
    count.clamp(1, MAX_DEMO_VMS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_catalog_has_distinct_vms_disks_and_content() {
        // Three VMs only: each carries 36 MiB of generated content.
        let vms = scaled_demo_vms(3);
        assert_eq!(vms.len(), 3);
        assert_eq!(vms.iter().map(|vm| vm.disks.len()).sum::<usize>(), 6);
        let names: std::collections::BTreeSet<_> = vms.iter().map(|vm| &vm.name).collect();
        let ids: std::collections::BTreeSet<_> = vms.iter().map(|vm| &vm.id).collect();
        let macs: std::collections::BTreeSet<_> = vms.iter().map(|vm| &vm.nics[0].mac).collect();
        assert_eq!((names.len(), ids.len(), macs.len()), (3, 3, 3));
        assert_ne!(vms[0].disks[1].files[0].1, vms[1].disks[1].files[0].1);
        assert!(vms.iter().any(|vm| vm.packaging == Packaging::Ova));
        assert!(vms.iter().any(|vm| vm.packaging == Packaging::ExtractedOvf));
        assert_eq!(vm_count(0), 1);
        assert_eq!(vm_count(20), 20);
        assert_eq!(vm_count(usize::MAX), MAX_DEMO_VMS);
    }
}
