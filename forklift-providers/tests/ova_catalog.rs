//! The OVA catalog end to end on real files: `.ova` archives made by GNU `tar` holding
//! streamOptimized disks made by `qemu-img`, extracted `.ovf` packages, the guide's scanning
//! rules, in-place disk reads compared byte for byte, hostile packages and appliance upload.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use forklift_core::inventory::OvaSkipReason;
use forklift_providers::ova::{
    Error, FixedClock, OvaCatalog, appliance_path, list_appliances, resolve_catalog_root,
    upload_appliance,
};

const MIB: usize = 1 << 20;

fn have_tools() -> bool {
    let ok = ["qemu-img", "tar"].iter().all(|t| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "qemu-img and tar are required in CI (scripts/setup.sh)"
        );
        eprintln!("skipping: qemu-img or tar missing");
    }
    ok
}

fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A raw disk with data at the start and in the middle, holes elsewhere.
fn raw_disk(seed: u64, size: usize) -> Vec<u8> {
    let mut raw = vec![0u8; size];
    raw[..100_000].copy_from_slice(&pattern(seed, 100_000));
    let mid = size / 2 + 4096;
    raw[mid..mid + 70_000].copy_from_slice(&pattern(seed + 1, 70_000));
    raw
}

fn make_vmdk(dir: &Path, name: &str, raw: &[u8]) {
    let src = dir.join(format!("{name}.raw"));
    std::fs::write(&src, raw).unwrap();
    let ok = Command::new("qemu-img")
        .args([
            "convert",
            "-q",
            "-f",
            "raw",
            "-O",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
        ])
        .arg(&src)
        .arg(dir.join(name))
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::remove_file(src).unwrap();
}

fn ovf_xml(name: &str, id: &str, disks: &[(&str, usize)], network: &str) -> String {
    let mut refs = String::new();
    let mut section = String::new();
    for (i, (href, size)) in disks.iter().enumerate() {
        refs.push_str(&format!(r#"<File ovf:href="{href}" ovf:id="file{i}"/>"#));
        section.push_str(&format!(
            r#"<Disk ovf:capacity="{}" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk{i}" ovf:fileRef="file{i}" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>"#,
            size / MIB
        ));
    }
    format!(
        r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
<References>{refs}</References><DiskSection><Info>d</Info>{section}</DiskSection>
<NetworkSection><Info>n</Info><Network ovf:name="{network}"/></NetworkSection>
<VirtualSystem ovf:id="{id}"><Info>vm</Info><Name>{name}</Name>
<OperatingSystemSection ovf:id="80" vmw:osType="otherLinux64Guest"><Info>os</Info></OperatingSystemSection>
<VirtualHardwareSection><Info>hw</Info>
<Item><rasd:ElementName>2 virtual CPU(s)</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
<Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>mem</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1024</rasd:VirtualQuantity></Item>
<Item><rasd:Address>00:50:56:00:00:01</rasd:Address><rasd:Connection>{network}</rasd:Connection><rasd:ElementName>Network adapter 1</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>10</rasd:ResourceType></Item>
<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
</VirtualHardwareSection></VirtualSystem></Envelope>"#
    )
}

/// Packs `files` of `dir` (OVF first) into `archive` with GNU tar in `format`.
fn tar(dir: &Path, archive: &Path, format: &str, files: &[&str]) {
    let ok = Command::new("tar")
        .arg(format!("--format={format}"))
        .arg("-cf")
        .arg(archive)
        .arg("-C")
        .arg(dir)
        .args(files)
        .status()
        .unwrap();
    assert!(ok.success());
}

/// A ustar header for hostile members `tar` refuses to write.
fn ustar_member(name: &str, data: &[u8], flag: u8, link: &str) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[156] = flag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h.extend_from_slice(data);
    h.resize(h.len().next_multiple_of(512), 0);
    h
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    raws: Vec<(String, Vec<u8>)>,
}

fn age(path: &Path, at: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(at)
        .unwrap();
}

fn build_catalog() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("share");
    let work = tmp.path().join("work");
    for d in ["", "sub/x", "sub2/sub3", "a/b/c", "two"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::create_dir_all(&work).unwrap();
    let mut raws = Vec::new();

    // a.ova in the root: one VM, two disks, ustar.
    let (d1, d2) = (raw_disk(1, 3 * MIB), raw_disk(2, 2 * MIB));
    make_vmdk(&work, "a-disk1.vmdk", &d1);
    make_vmdk(&work, "a-disk2.vmdk", &d2);
    std::fs::write(
        work.join("a.ovf"),
        ovf_xml(
            "vm-a",
            "6a1e5e0c-6f5e-4c58-9a39-46d1b2f1c0aa",
            &[("a-disk1.vmdk", 3 * MIB), ("a-disk2.vmdk", 2 * MIB)],
            "VM Network",
        ),
    )
    .unwrap();
    tar(
        &work,
        &root.join("a.ova"),
        "ustar",
        &["a.ovf", "a-disk1.vmdk", "a-disk2.vmdk"],
    );
    raws.push(("vm-a/a-disk1.vmdk".to_owned(), d1));
    raws.push(("vm-a/a-disk2.vmdk".to_owned(), d2));

    // sub/b.ova: a disk name longer than 100 bytes (GNU long name), and a pax archive.
    let long = format!("{}.vmdk", "b".repeat(120));
    let d3 = raw_disk(3, 2 * MIB);
    make_vmdk(&work, &long, &d3);
    std::fs::write(
        work.join("b.ovf"),
        ovf_xml("vm-b", "vm-b-id", &[(&long, 2 * MIB)], "VM Network"),
    )
    .unwrap();
    tar(&work, &root.join("sub/b.ova"), "gnu", &["b.ovf", &long]);
    tar(&work, &root.join("sub/p.ova"), "pax", &["b.ovf", &long]);
    raws.push((format!("vm-b/{long}"), d3));

    // sub/x/c.ovf: an extracted package two levels down.
    let d4 = raw_disk(4, 2 * MIB);
    make_vmdk(&root.join("sub/x"), "c-disk1.vmdk", &d4);
    std::fs::write(
        root.join("sub/x/c.ovf"),
        ovf_xml("vm-c", "vm-c", &[("c-disk1.vmdk", 2 * MIB)], "backend"),
    )
    .unwrap();
    raws.push(("vm-c/c-disk1.vmdk".to_owned(), d4));

    // Out of reach: an .ova two levels down, an .ovf three levels down.
    std::fs::copy(root.join("a.ova"), root.join("sub2/sub3/deep.ova")).unwrap();
    std::fs::copy(root.join("sub/x/c.ovf"), root.join("a/b/c/deep.ovf")).unwrap();
    // Two descriptors in one folder.
    std::fs::copy(root.join("sub/x/c.ovf"), root.join("two/one.ovf")).unwrap();
    std::fs::copy(root.join("sub/x/c.ovf"), root.join("two/two.ovf")).unwrap();
    // Hostile and broken archives.
    let ovf = ovf_xml("evil", "evil", &[], "n");
    let mut evil = ustar_member("vm.ovf", ovf.as_bytes(), b'0', "");
    evil.extend(ustar_member("../../escape.vmdk", b"x", b'0', ""));
    evil.extend([0u8; 1024]);
    std::fs::write(root.join("evil.ova"), evil).unwrap();
    let mut link = ustar_member("vm.ovf", ovf.as_bytes(), b'0', "");
    link.extend(ustar_member("disk.vmdk", b"", b'2', "/etc/shadow"));
    link.extend([0u8; 1024]);
    std::fs::write(root.join("link.ova"), link).unwrap();
    std::fs::write(root.join("broken.ova"), pattern(9, 5000)).unwrap();
    let mut missing = ustar_member(
        "vm.ovf",
        ovf_xml("m", "m", &[("gone.vmdk", MIB)], "n").as_bytes(),
        b'0',
        "",
    );
    missing.extend([0u8; 1024]);
    std::fs::write(root.join("missing.ova"), missing).unwrap();
    // Skipped: empty, and still being copied.
    std::fs::write(root.join("empty.ova"), b"").unwrap();

    // Everything is an hour old except recent.ova.
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                age(&e.path(), hour_ago);
            }
        }
    }
    std::fs::copy(root.join("a.ova"), root.join("recent.ova")).unwrap();
    Fixture {
        _tmp: tmp,
        root,
        raws,
    }
}

#[test]
fn catalog_scans_parses_and_reads_disks_in_place() {
    if !have_tools() {
        return;
    }
    let fx = build_catalog();
    let catalog = OvaCatalog::new(&fx.root).with_clock(Arc::new(FixedClock(SystemTime::now())));
    let inv = catalog.scan().unwrap();

    let mut names: Vec<(&str, &str)> = inv
        .vms
        .iter()
        .map(|v| (v.name.as_str(), v.package.as_str()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ("vm-a", "a.ova"),
            ("vm-b", "sub/b.ova"),
            ("vm-b", "sub/p.ova"),
            ("vm-c", "sub/x/c.ovf")
        ]
    );
    // .ova packages come before .ovf packages.
    assert_eq!(inv.vms.last().unwrap().name, "vm-c");

    let mut errors: Vec<(String, OvaSkipReason)> = inv
        .skipped
        .iter()
        .filter(|s| {
            !matches!(
                s.reason,
                OvaSkipReason::Empty | OvaSkipReason::RecentlyModified
            )
        })
        .map(|s| (s.relative.clone(), s.reason))
        .collect();
    errors.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        errors,
        vec![
            ("broken.ova".into(), OvaSkipReason::Invalid),
            ("evil.ova".into(), OvaSkipReason::Unsafe),
            ("link.ova".into(), OvaSkipReason::Unsafe),
            ("missing.ova".into(), OvaSkipReason::Invalid),
            ("two".into(), OvaSkipReason::SeveralOvf)
        ]
    );
    let message = |p: &str| {
        inv.skipped
            .iter()
            .find(|e| e.path.ends_with(p))
            .unwrap()
            .message
            .clone()
    };
    assert!(
        message("evil.ova").contains(".."),
        "{}",
        message("evil.ova")
    );
    assert!(
        message("link.ova").contains("link"),
        "{}",
        message("link.ova")
    );
    assert!(
        message("missing.ova").contains("gone.vmdk"),
        "{}",
        message("missing.ova")
    );
    assert!(
        message("two").contains("one.ovf, two.ovf"),
        "{}",
        message("two")
    );
    assert!(message("broken.ova").contains("broken.ova"));

    let skipped: Vec<(String, OvaSkipReason)> = inv
        .skipped
        .iter()
        .map(|s| {
            (
                s.path.file_name().unwrap().to_string_lossy().into_owned(),
                s.reason,
            )
        })
        .collect();
    assert!(skipped.contains(&("empty.ova".into(), OvaSkipReason::Empty)));
    assert!(skipped.contains(&("recent.ova".into(), OvaSkipReason::RecentlyModified)));

    let vm_a = inv.vms.iter().find(|v| v.name == "vm-a").unwrap();
    assert_eq!(vm_a.id, "6a1e5e0c-6f5e-4c58-9a39-46d1b2f1c0aa");
    assert_eq!(
        (vm_a.cpu_count, vm_a.memory_bytes, vm_a.firmware.as_str()),
        (2, Some(1 << 30), "efi")
    );
    assert_eq!(vm_a.nics[0].network, "VM Network");
    // Networks are shared by name across packages, disks are per package.
    assert_eq!(inv.networks.len(), 2);
    assert_eq!(inv.disks.len(), 5);
    let b_ids: Vec<&str> = inv
        .vms
        .iter()
        .filter(|v| v.name == "vm-b")
        .map(|v| v.id.as_str())
        .collect();
    assert_ne!(
        b_ids[0], b_ids[1],
        "the same descriptor in two packages gives two VMs"
    );

    // Every disk reads back identical to its raw source, in place, with holes reported.
    for vm in &inv.vms {
        for disk in &vm.disks {
            let image = catalog.open_disk(vm, disk).unwrap();
            let raw = &fx
                .raws
                .iter()
                .find(|(k, _)| *k == format!("{}/{}", vm.name, disk.name))
                .unwrap()
                .1;
            assert_eq!(image.capacity(), raw.len() as u64);
            assert_eq!(disk.capacity_bytes, Some(raw.len() as u64));
            let mut got = vec![0u8; raw.len()];
            image.read_at(&mut got, 0).unwrap();
            assert!(got == *raw, "{} {} differs", vm.name, disk.name);
            let holes = image
                .map(0, image.capacity())
                .unwrap()
                .iter()
                .filter(|e| e.kind.reads_as_zero())
                .count();
            assert!(holes > 0);
            if vm.name != "vm-c" {
                assert!(image.name().contains(".ova!"), "{}", image.name());
            }
        }
    }

    // A second scan gives the same IDs.
    let again = catalog.scan().unwrap();
    assert_eq!(
        again.vms.iter().map(|v| &v.id).collect::<Vec<_>>(),
        inv.vms.iter().map(|v| &v.id).collect::<Vec<_>>()
    );
}

#[test]
fn an_unreadable_root_fails_the_scan() {
    let err = OvaCatalog::new("/nonexistent/forklift/catalog")
        .scan()
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

#[test]
fn provider_urls_resolve_against_the_mount_point() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(
        resolve_catalog_root("nfs.example.com:/exports/ova", Some(tmp.path())).unwrap(),
        tmp.path()
    );
    assert_eq!(
        resolve_catalog_root("nfs://10.0.0.5/exports/ova", Some(tmp.path())).unwrap(),
        tmp.path()
    );
    assert_eq!(
        resolve_catalog_root("/srv/ova", None).unwrap(),
        PathBuf::from("/srv/ova")
    );
    assert_eq!(
        resolve_catalog_root("file:///srv/ova", None).unwrap(),
        PathBuf::from("/srv/ova")
    );
    for bad in ["", "server", "server:relative", ":/x", "file://relative"] {
        assert!(
            matches!(
                resolve_catalog_root(bad, Some(tmp.path())),
                Err(Error::Invalid(_))
            ),
            "{bad}"
        );
    }
    let err = resolve_catalog_root("server:/x", None).unwrap_err();
    assert!(err.to_string().contains("mount"), "{err}");
}

#[test]
fn appliances_are_uploaded_like_upstream() {
    if !have_tools() {
        return;
    }
    let fx = build_catalog();
    let upload_root = fx.root.parent().unwrap().join("uploads");
    std::fs::create_dir(&upload_root).unwrap();
    let good = std::fs::read(fx.root.join("a.ova")).unwrap();

    let info = upload_appliance(&upload_root, "C:\\Users\\me\\Web Server.OVA", &good[..]).unwrap();
    let stored = appliance_path(&upload_root, "Web Server.OVA");
    assert!(stored.is_file());
    assert_eq!(std::fs::read(&stored).unwrap(), good);
    assert!(
        stored
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("appliance-")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(
        std::fs::metadata(stored.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o750
    );
    assert_eq!(info.source, "VMware");
    assert_eq!(info.virtual_systems[0].name, "vm-a");
    assert!(info.error.is_none());

    let err = upload_appliance(&upload_root, "Web Server.OVA", &good[..]).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    // The name is unique across the catalog, not only among uploads.
    std::fs::copy(fx.root.join("a.ova"), upload_root.join("taken.ova")).unwrap();
    assert!(matches!(
        upload_appliance(&upload_root, "taken.ova", &good[..]),
        Err(Error::AlreadyExists { .. })
    ));

    let err =
        upload_appliance(&upload_root, "junk.ova", &b"not a tar archive at all"[..]).unwrap_err();
    assert!(matches!(err, Error::Tar { .. }), "{err}");
    assert!(
        !appliance_path(&upload_root, "junk.ova")
            .parent()
            .unwrap()
            .exists(),
        "rejected upload is removed"
    );
    assert!(matches!(
        upload_appliance(&upload_root, "disk.vmdk", &good[..]),
        Err(Error::Invalid(_))
    ));

    let listed = list_appliances(&upload_root).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|a| a.error.is_none() && a.source == "VMware")
    );
    let json = serde_json::to_value(&listed[0]).unwrap();
    assert!(json.get("virtualSystems").is_some() && json.get("modified").is_some());
}

#[tokio::test]
async fn provider_gives_the_core_inventory_and_disks_through_the_factory() {
    use forklift_core::inventory::{DiskBus, Firmware, SourceInventory, StorageKind};
    use forklift_providers::capability::{DiskRef, VmRef};
    use forklift_providers::ova::OvaProvider;
    use forklift_providers::{ProviderConfig, ProviderType, open_provider};
    use forklift_transfer::MetaContext;

    if !have_tools() {
        return;
    }
    let fx = build_catalog();
    let config = ProviderConfig::new(ProviderType::Ova, "my-ova", fx.root.display().to_string());
    let provider = open_provider(&config).await.unwrap();
    assert!(provider.power().err().unwrap().is_unsupported());
    assert!(provider.snapshots().err().unwrap().is_unsupported());

    let inv = provider
        .inventory()
        .unwrap()
        .collect_inventory()
        .await
        .unwrap();
    let direct = OvaProvider::open(&config).unwrap();
    assert_eq!(inv, direct.source_inventory().await.unwrap());
    assert_eq!(inv.provider_name, "my-ova");
    assert_eq!(
        inv.storages[0].name,
        "Dummy storage for source provider my-ova"
    );
    assert_eq!(inv.storages.len(), 1 + 5);
    assert!(inv.storages.iter().all(|s| s.kind == StorageKind::OvaDisk));
    let vm = inv.vms.iter().find(|v| v.name == "vm-a").unwrap();
    assert_eq!(
        (vm.cpu_count, vm.memory_mib, vm.firmware),
        (2, 1024, Firmware::Efi)
    );
    assert_eq!(vm.disks.len(), 2);
    assert_eq!(vm.disks[0].capacity, 3 << 20);
    assert_eq!(vm.disks[0].file, "a-disk1.vmdk");
    assert_eq!(vm.disks[0].bus, DiskBus::Unknown);
    assert!(
        inv.storages
            .iter()
            .any(|s| s.id == vm.disks[0].storage && s.name == "a-disk1.vmdk")
    );
    assert_eq!(vm.nics[0].network.name, "VM Network");
    assert!(inv.networks.iter().any(|n| n.id == vm.nics[0].network.id));
    assert_eq!(vm.nics[0].mac, "00:50:56:00:00:01");
    assert!(vm.concerns.is_empty(), "{:?}", vm.concerns);
    assert_eq!(vm.ova().unwrap().export_source, "VMware");
    assert_eq!(SourceInventory::from_json(&inv.to_json()).unwrap(), inv);

    let disks = provider.disks().unwrap();
    let disk = DiskRef {
        key: 0,
        file: "a-disk1.vmdk".into(),
        capacity: 3 << 20,
    };
    let source = disks
        .open_disk(&VmRef::new(&vm.id), &disk, None)
        .await
        .unwrap();
    assert_eq!(source.size(), 3 << 20);
    let data = source.read_owned(0, vec![0; 3 << 20]).await.unwrap();
    assert!(data == fx.raws[0].1);
    let extents = source
        .extents(0, source.size(), &MetaContext::BaseAllocation)
        .await
        .unwrap();
    assert!(extents.iter().any(|e| e.flags.is_hole()));
    let err = disks
        .open_disk(&VmRef::new("nope"), &disk, None)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("nope"), "{err}");
}

/// Extracted packages are never read through a link: a flat disk whose extent is a link to
/// a host file loads (its descriptor is a regular file) but cannot be opened, a package
/// whose disk lies behind a linked folder is skipped as unsafe, and a FIFO named `.ova` is
/// passed over without being opened.
#[test]
fn extracted_packages_are_never_read_through_links_or_fifos() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let (root, host) = (tmp.path().join("share"), tmp.path().join("host"));
    for dir in [root.join("flat"), root.join("viadir"), host.join("disks")] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(host.join("secret"), vec![0xa5u8; 4096]).unwrap();
    let descriptor =
        "# Disk DescriptorFile\ncreateType=\"monolithicFlat\"\nRW 8 FLAT \"d-flat.vmdk\" 0\n";
    std::fs::write(root.join("flat/d.vmdk"), descriptor).unwrap();
    symlink(host.join("secret"), root.join("flat/d-flat.vmdk")).unwrap();
    let ovf = ovf_xml("flat", "flat-id", &[("d.vmdk", MIB)], "n");
    std::fs::write(root.join("flat/vm.ovf"), ovf).unwrap();
    std::fs::write(host.join("disks/d.vmdk"), descriptor).unwrap();
    std::fs::copy(host.join("secret"), host.join("disks/d-flat.vmdk")).unwrap();
    symlink(host.join("disks"), root.join("viadir/disks")).unwrap();
    let ovf = ovf_xml("viadir", "viadir-id", &[("disks/d.vmdk", MIB)], "n");
    std::fs::write(root.join("viadir/vm.ovf"), ovf).unwrap();
    let mkfifo = Command::new("mkfifo")
        .arg(root.join("pipe.ova"))
        .status()
        .unwrap();
    assert!(mkfifo.success());

    let later = SystemTime::now() + Duration::from_secs(3600);
    let catalog = OvaCatalog::new(&root).with_clock(Arc::new(FixedClock(later)));
    let inv = catalog.scan().unwrap();
    let names: Vec<&str> = inv.vms.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["flat"]);
    let mut skipped: Vec<(&str, OvaSkipReason)> = inv
        .skipped
        .iter()
        .map(|s| (s.relative.as_str(), s.reason))
        .collect();
    skipped.sort_by_key(|s| s.0);
    assert_eq!(
        skipped,
        [
            ("pipe.ova", OvaSkipReason::NotRegularFile),
            ("viadir/disks", OvaSkipReason::Link),
            ("viadir/vm.ovf", OvaSkipReason::Unsafe)
        ]
    );
    let vm = &inv.vms[0];
    let err = catalog.open_disk(vm, &vm.disks[0]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Disk(forklift_transfer::vmdk::Error::Confined { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("d-flat.vmdk"), "{err}");
}
