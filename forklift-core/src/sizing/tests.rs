use super::*;
use proptest::prelude::*;

const GIB: u64 = 1 << 30;

#[test]
fn alignment() {
    assert_eq!(align_up(0, MIB), 0);
    assert_eq!(align_up(1, MIB), MIB);
    assert_eq!(align_up(MIB, MIB), MIB);
    assert_eq!(align_up(MIB + 1, MIB), 2 * MIB);
    assert_eq!(align_up(7, 0), 7);
    assert_eq!(align_up(u64::MAX, MIB), u64::MAX);
}

#[test]
fn filesystem_overhead_default_10_percent() {
    let ovh = Overhead::default();
    // 10 GiB / 0.9, rounded up.
    assert_eq!(
        space_with_overhead(10 * GIB, VolumeMode::Filesystem, &ovh).unwrap(),
        11_930_464_712
    );
    assert_eq!(
        space_with_overhead(9 * MIB, VolumeMode::Filesystem, &ovh).unwrap(),
        10 * MIB
    );
    // Unaligned input is aligned first.
    assert_eq!(
        space_with_overhead(9 * MIB - 1, VolumeMode::Filesystem, &ovh).unwrap(),
        10 * MIB
    );
    let zero = Overhead {
        filesystem_percent: 0,
        block_bytes: 0,
    };
    assert_eq!(
        space_with_overhead(GIB + 5, VolumeMode::Filesystem, &zero).unwrap(),
        GIB + MIB
    );
}

#[test]
fn block_overhead_is_fixed() {
    let ovh = Overhead {
        filesystem_percent: 10,
        block_bytes: 4 * MIB,
    };
    assert_eq!(
        space_with_overhead(GIB, VolumeMode::Block, &ovh).unwrap(),
        GIB + 4 * MIB
    );
    assert_eq!(
        space_with_overhead(GIB + 1, VolumeMode::Block, &Overhead::default()).unwrap(),
        GIB + MIB
    );
}

#[test]
fn invalid_settings_are_errors() {
    let bad = Overhead {
        filesystem_percent: 100,
        block_bytes: 0,
    };
    assert_eq!(
        space_with_overhead(1, VolumeMode::Filesystem, &bad).unwrap_err(),
        Error::FilesystemOverhead(100)
    );
    assert!(space_with_cdi_overhead(1, 1.0).is_err());
    assert!(space_with_cdi_overhead(1, -0.1).is_err());
    assert!(space_with_cdi_overhead(1, f64::NAN).is_err());
    let huge = Overhead {
        filesystem_percent: 0,
        block_bytes: u64::MAX,
    };
    assert_eq!(
        space_with_overhead(GIB, VolumeMode::Block, &huge).unwrap_err(),
        Error::Overflow(GIB)
    );
}

#[test]
fn cdi_formula() {
    // ceil(1 GiB / 0.945)
    assert_eq!(
        space_with_cdi_overhead(GIB, CDI_DEFAULT_FILESYSTEM_OVERHEAD).unwrap(),
        1_136_234_735
    );
}

#[test]
fn requested_size_per_path() {
    let ovh = Overhead::default();
    let size = DiskSize {
        capacity: 10 * GIB + 1,
        actual: Some(20 * GIB),
    };
    let fs = VolumeMode::Filesystem;
    assert_eq!(
        requested_size(DiskPath::VsphereDataVolume, size, fs, &ovh, None).unwrap(),
        10 * GIB + MIB
    );
    assert_eq!(
        requested_size(DiskPath::VsphereXcopy, size, VolumeMode::Block, &ovh, None).unwrap(),
        10 * GIB + 1
    );
    assert_eq!(
        requested_size(DiskPath::OvirtImageio, size, fs, &ovh, None).unwrap(),
        20 * GIB
    );
    assert_eq!(
        requested_size(DiskPath::OvirtPopulator, size, fs, &ovh, None).unwrap(),
        space_with_overhead(10 * GIB + 1, fs, &ovh).unwrap()
    );
    assert_eq!(
        requested_size(DiskPath::OvaDataVolume, size, fs, &ovh, None).unwrap(),
        10 * GIB + 1
    );
    assert_eq!(
        requested_size(DiskPath::VsphereNetAppShift, size, fs, &ovh, Some(0.0)).unwrap(),
        10 * GIB + MIB
    );
    assert!(DiskPath::VsphereDataVolume.is_data_volume());
    assert!(!DiskPath::OpenstackPopulator.is_data_volume());
    assert_eq!(
        DiskPath::VsphereCsiImport.forced_volume_mode(),
        Some(VolumeMode::Block)
    );
}

#[test]
fn quantities() {
    assert_eq!(quantity(0), "0");
    assert_eq!(quantity(1000), "1000");
    assert_eq!(quantity(1024), "1Ki");
    assert_eq!(quantity(10 * GIB), "10Gi");
    assert_eq!(quantity(10 * GIB + MIB), "10241Mi");
    assert_eq!(quantity(11_930_464_712), "11930464712");
    assert_eq!(parse_quantity("10Gi"), Some(10 * GIB));
    assert_eq!(parse_quantity("1.5Gi"), Some(GIB + GIB / 2));
    assert_eq!(parse_quantity("500M"), Some(500_000_000));
    assert_eq!(parse_quantity("12"), Some(12));
    assert_eq!(parse_quantity("0.5"), Some(1));
    assert_eq!(parse_quantity("Gi"), None);
    assert_eq!(parse_quantity("-1Gi"), None);
    assert_eq!(parse_quantity("10Xi"), None);
    assert_eq!(parse_quantity("1.2.3"), None);
    assert_eq!(parse_quantity("99999999999Ei"), None);
}

#[test]
fn mode_resolution_order() {
    let rwx = vec!["ReadWriteMany".to_owned()];
    // Map wins.
    let m = resolve_modes(
        Some(VolumeMode::Block),
        None,
        Some(("Filesystem", &rwx)),
        Some("kubernetes.io/aws-ebs"),
    );
    assert_eq!(
        (m.volume_mode, m.volume_mode_origin),
        (VolumeMode::Block, ModeOrigin::StorageMap)
    );
    assert_eq!(
        (m.access_mode, m.access_mode_origin),
        (AccessMode::ReadWriteMany, ModeOrigin::StorageProfile)
    );
    // Provisioner table when the profile is silent.
    let m = resolve_modes(
        None,
        None,
        Some(("", &[])),
        Some("openshift-storage.rbd.csi.ceph.com"),
    );
    assert_eq!(m.volume_mode, VolumeMode::Block);
    assert_eq!(m.access_mode, AccessMode::ReadWriteOnce);
    assert_eq!(m.access_mode_origin, ModeOrigin::ProvisionerDefault);
    let m = resolve_modes(None, None, None, Some("manila.csi.openstack.org"));
    assert_eq!(
        (m.volume_mode, m.access_mode),
        (VolumeMode::Filesystem, AccessMode::ReadWriteMany)
    );
    // Unknown provisioner: Filesystem + RWO.
    let m = resolve_modes(None, None, None, Some("example.com/nfs"));
    assert_eq!(
        (m.volume_mode, m.access_mode, m.volume_mode_origin),
        (
            VolumeMode::Filesystem,
            AccessMode::ReadWriteOnce,
            ModeOrigin::Fallback
        )
    );
}

#[test]
fn guide_table_is_complete() {
    let rows = [
        ("kubernetes.io/aws-ebs", "Block", "ReadWriteOnce"),
        ("kubernetes.io/azure-disk", "Block", "ReadWriteOnce"),
        ("kubernetes.io/azure-file", "Filesystem", "ReadWriteMany"),
        ("kubernetes.io/cinder", "Block", "ReadWriteOnce"),
        ("kubernetes.io/gce-pd", "Block", "ReadWriteOnce"),
        (
            "kubernetes.io/hostpath-provisioner",
            "Filesystem",
            "ReadWriteOnce",
        ),
        ("manila.csi.openstack.org", "Filesystem", "ReadWriteMany"),
        (
            "openshift-storage.cephfs.csi.ceph.com",
            "Filesystem",
            "ReadWriteMany",
        ),
        (
            "openshift-storage.rbd.csi.ceph.com",
            "Block",
            "ReadWriteOnce",
        ),
        ("kubernetes.io/rbd", "Block", "ReadWriteOnce"),
        ("kubernetes.io/vsphere-volume", "Block", "ReadWriteOnce"),
    ];
    // The rows as they appear in the guide text.
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/spec/mtv-user-guide.txt"
    ))
    .unwrap();
    for (p, v, a) in rows {
        assert!(
            guide.contains(&format!("{p}\n\n{v}\n\n{a}")),
            "{p} not in guide table"
        );
        let (vm, am) = default_modes_for_provisioner(p).unwrap();
        assert_eq!((vm.as_str(), am.as_str()), (v, a));
    }
}

proptest! {
    #[test]
    fn overhead_is_at_least_exact_rational(bytes in 0u64..(1 << 50), pct in 0u32..60) {
        let ovh = Overhead { filesystem_percent: pct, block_bytes: 0 };
        let got = space_with_overhead(bytes, VolumeMode::Filesystem, &ovh).unwrap();
        let aligned = align_up(bytes, MIB) as u128;
        // Exact ceil(aligned * 100 / (100 - pct)); f64 may differ by at most one byte.
        let exact = (aligned * 100).div_ceil(u128::from(100 - pct));
        prop_assert!((got as u128).abs_diff(exact) <= 1, "got {} exact {}", got, exact);
        prop_assert!(got as u128 >= aligned);
    }

    #[test]
    fn quantity_round_trips(bytes in any::<u64>()) {
        prop_assert_eq!(parse_quantity(&quantity(bytes)), Some(bytes));
    }

    #[test]
    fn parse_quantity_never_panics(text in "\\PC{0,24}") {
        let _ = parse_quantity(&text);
    }
}
