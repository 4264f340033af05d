//! Hostile OVA catalogs: extracted packages whose disk files are links out of the package,
//! FIFOs or reached through a linked folder; `.ova` names that are links or FIFOs; archives
//! with duplicate members. Each package is refused without blocking, the host file's bytes
//! never reach the destination, and every skipped package is listed, with its reason, in
//! the inventory output and in the warnings shown by default.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use forklift::demo::catalog::{DemoDisk, demo_vms, ovf_descriptor, slug};
use forklift::demo::manifests::demo_manifests;

use crate::support::{Bounded, assert_terminal_safe, forklift, run_bounded};

/// A hostile package is refused in moments; a hung open would run into this.
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// Peak memory of one run of the binary.
const RSS_LIMIT_MIB: u64 = 200;
/// Size of the flat disk of the test VM.
const DISK_BYTES: usize = 1 << 20;
/// The bytes of the host file a hostile package tries to read.
const HOST_BYTE: u8 = 0xa5;

/// A catalog under a temporary directory, with a host file outside it.
struct Catalog {
    tmp: tempfile::TempDir,
}

impl Catalog {
    fn new() -> Self {
        let catalog = Catalog {
            tmp: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(catalog.root()).unwrap();
        std::fs::create_dir_all(catalog.host_dir()).unwrap();
        std::fs::write(catalog.host_file(), vec![HOST_BYTE; DISK_BYTES]).unwrap();
        catalog
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn root(&self) -> PathBuf {
        self.dir().join("catalog")
    }

    fn host_dir(&self) -> PathBuf {
        self.dir().join("host")
    }

    /// A host file no package may read.
    fn host_file(&self) -> PathBuf {
        self.host_dir().join("secret.img")
    }

    /// The extracted package of the demo's VM `Demo_DB_01` with one disk `href`, a
    /// monolithicFlat descriptor, whose extent `disk-flat.vmdk` (beside the descriptor) the
    /// caller provides. Returns the folder the descriptor is in.
    fn flat_package(&self, href: &str) -> PathBuf {
        let vm = test_vm(href);
        let package = self.root().join(slug(&vm.name));
        let descriptor = package.join(href);
        std::fs::create_dir_all(descriptor.parent().unwrap()).unwrap();
        let text = format!(
            "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\nRW {} FLAT \"disk-flat.vmdk\" 0\n",
            DISK_BYTES / 512
        );
        std::fs::write(&descriptor, &text).unwrap();
        let ovf = package.join(format!("{}.ovf", slug(&vm.name)));
        std::fs::write(&ovf, ovf_descriptor(&vm, &[text.len() as u64])).unwrap();
        settle(&ovf);
        descriptor.parent().unwrap().to_path_buf()
    }

    fn manifests(&self) -> PathBuf {
        let path = self.dir().join("manifests.yaml");
        let text = demo_manifests(&self.root(), &[test_vm("disk.vmdk").name]);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn migrate(&self) -> (Bounded, PathBuf) {
        let manifests = self.manifests();
        let out = self.dir().join("out");
        let destination = format!("local:{}", out.display());
        let run = run_bounded(
            forklift(
                self.dir(),
                &[
                    "migrate",
                    "--manifests",
                    manifests.to_str().unwrap(),
                    "--destination",
                    &destination,
                ],
            ),
            TIME_LIMIT,
            RSS_LIMIT_MIB,
        );
        assert_terminal_safe(&run.output());
        (run, out)
    }

    fn inventory(&self) -> (Bounded, serde_json::Value) {
        let manifests = self.manifests();
        let run = run_bounded(
            forklift(
                self.dir(),
                &[
                    "inventory",
                    "--manifests",
                    manifests.to_str().unwrap(),
                    "--provider",
                    "ova-demo",
                    "-o",
                    "json",
                ],
            ),
            TIME_LIMIT,
            RSS_LIMIT_MIB,
        );
        assert_terminal_safe(&run.output());
        assert_eq!(run.code, Some(0), "{}", run.output());
        let json = serde_json::from_str(&run.stdout).unwrap();
        (run, json)
    }
}

/// The demo's `Demo_DB_01` (both demo networks, so the demo's maps are valid) with one disk.
fn test_vm(href: &str) -> forklift::demo::catalog::DemoVm {
    let mut vm = demo_vms().remove(1);
    vm.disks = vec![DemoDisk {
        href: href.into(),
        size: DISK_BYTES as u64,
        files: Vec::new(),
    }];
    vm
}

/// Dates `path` a minute back: the scan passes over files younger than 30 s.
fn settle(path: &Path) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap();
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Whether any file under `dir` holds a run of the host file's bytes.
fn holds_host_bytes(dir: &Path) -> bool {
    let needle = vec![HOST_BYTE; 4096];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        if path.is_dir() {
            holds_host_bytes(&path)
        } else {
            std::fs::read(&path)
                .is_ok_and(|data| data.windows(needle.len()).any(|w| w == needle.as_slice()))
        }
    })
}

/// A ustar member, for archives `tar` would not write.
fn ustar_member(name: &str, data: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h.extend_from_slice(data);
    h.resize(h.len().next_multiple_of(512), 0);
    h
}

/// The skipped packages of an inventory's JSON: `(path, reason, message)`.
fn skipped(json: &serde_json::Value) -> Vec<(String, String, String)> {
    json["ext"]["ova"]["skipped"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|s| {
                    let field = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                    (field("path"), field("reason"), field("message"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn symlinked_flat_extent_is_refused_and_host_bytes_never_copied() {
    let catalog = Catalog::new();
    let dir = catalog.flat_package("disk.vmdk");
    symlink(catalog.host_file(), dir.join("disk-flat.vmdk")).unwrap();
    let (run, out) = catalog.migrate();
    assert_eq!(run.code, Some(1), "{}", run.output());
    assert!(
        run.output().contains("disk-flat.vmdk") && run.output().contains("symbolic link"),
        "{}",
        run.output()
    );
    assert!(!holds_host_bytes(&out), "the host file reached {out:?}");
    assert!(run.elapsed < TIME_LIMIT);
}

#[test]
fn fifo_flat_extent_is_refused_without_hanging() {
    let catalog = Catalog::new();
    let dir = catalog.flat_package("disk.vmdk");
    mkfifo(&dir.join("disk-flat.vmdk"));
    let (run, _) = catalog.migrate();
    assert_eq!(run.code, Some(1), "{}", run.output());
    assert!(
        run.output().contains("disk-flat.vmdk") && run.output().contains("FIFO"),
        "{}",
        run.output()
    );
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
}

#[test]
fn href_through_a_linked_folder_is_refused() {
    let catalog = Catalog::new();
    // The descriptor's folder `disks` is a link to a host folder holding a descriptor and
    // its extent: everything the package names is a regular file, but outside it.
    let package = catalog.flat_package("disks/disk.vmdk");
    std::fs::rename(&package, catalog.host_dir().join("disks")).unwrap();
    std::fs::copy(
        catalog.host_file(),
        catalog.host_dir().join("disks/disk-flat.vmdk"),
    )
    .unwrap();
    symlink(catalog.host_dir().join("disks"), &package).unwrap();

    let (run, json) = catalog.inventory();
    assert_eq!(json["vms"].as_array().map(Vec::len), Some(0), "{json}");
    let skipped = skipped(&json);
    // The linked folder itself is listed (not followed), and the package that needs it.
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!(
        (skipped[0].0.as_str(), skipped[0].1.as_str()),
        ("demo-db-01/disks", "link")
    );
    let (path, reason, message) = &skipped[1];
    assert_eq!(path, "demo-db-01/demo-db-01.ovf");
    assert_eq!(reason, "unsafe");
    assert!(
        message.contains("\"disks\" is a symbolic link"),
        "{message}"
    );
    assert!(run.stderr.contains("2 packages skipped"), "{}", run.stderr);
    assert!(
        run.stderr.contains("demo-db-01/demo-db-01.ovf (unsafe)"),
        "{}",
        run.stderr
    );

    let (run, out) = catalog.migrate();
    assert_ne!(run.code, Some(0), "{}", run.output());
    assert!(!holds_host_bytes(&out), "the host file reached {out:?}");
}

#[test]
fn links_and_fifos_named_ova_do_not_hang_the_scan_and_are_listed() {
    let catalog = Catalog::new();
    let root = catalog.root();
    mkfifo(&root.join("pipe.ova"));
    symlink("/dev/zero", root.join("zero.ova")).unwrap();
    symlink(root.join("pipe.ova"), root.join("to-pipe.ova")).unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    mkfifo(&root.join("sub/vm.ovf"));
    // A linked folder is not followed, but listed.
    symlink(catalog.host_dir(), root.join("linked-folder")).unwrap();

    let (run, json) = catalog.inventory();
    let mut listed: Vec<(String, String)> = skipped(&json)
        .into_iter()
        .map(|(path, reason, _)| (path, reason))
        .collect();
    listed.sort();
    let expected: Vec<(String, String)> = [
        ("linked-folder", "link"),
        ("pipe.ova", "notRegularFile"),
        ("sub/vm.ovf", "notRegularFile"),
        ("to-pipe.ova", "link"),
        ("zero.ova", "link"),
    ]
    .iter()
    .map(|(p, r)| (p.to_string(), r.to_string()))
    .collect();
    assert_eq!(listed, expected);
    assert!(run.stderr.contains("5 packages skipped"), "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
}

#[test]
fn duplicate_tar_members_are_refused_naming_package_and_member() {
    let catalog = Catalog::new();
    let vm = test_vm("disk.vmdk");
    let mut ova = ustar_member("vm.ovf", ovf_descriptor(&vm, &[512]).as_bytes());
    ova.extend(ustar_member("disk.vmdk", &[1u8; 512]));
    ova.extend(ustar_member("./disk.vmdk", &[2u8; 512]));
    ova.extend([0u8; 1024]);
    let path = catalog.root().join("twice.ova");
    std::fs::write(&path, ova).unwrap();
    settle(&path);

    let (run, json) = catalog.inventory();
    assert_eq!(json["vms"].as_array().map(Vec::len), Some(0), "{json}");
    let skipped = skipped(&json);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    let (package, reason, message) = &skipped[0];
    assert_eq!((package.as_str(), reason.as_str()), ("twice.ova", "unsafe"));
    assert!(
        message.contains("twice.ova") && message.contains("\"disk.vmdk\" more than once"),
        "{message}"
    );
    assert!(run.stderr.contains("twice.ova (unsafe)"), "{}", run.stderr);
}

#[test]
fn skipped_packages_are_warned_about_by_default_with_names_escaped() {
    let catalog = Catalog::new();
    // An archive whose member name would retitle the terminal.
    let mut ova = ustar_member("vm.ovf", b"<Envelope/>");
    ova.extend(ustar_member("../\x1b]0;pwned\x07.vmdk", b"x"));
    ova.extend([0u8; 1024]);
    let path = catalog.root().join("evil\x1b[2J.ova");
    std::fs::write(&path, ova).unwrap();
    settle(&path);

    // `forklift` runs with RUST_LOG unset: warnings must show anyway.
    let (run, json) = catalog.inventory();
    assert!(run.stderr.contains("WARN"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Skipping OVA package"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("evil\\x1b[2J.ova"), "{}", run.stderr);
    let skipped = skipped(&json);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].0, "evil\x1b[2J.ova");
    assert_eq!(skipped[0].1, "unsafe");
}

#[test]
fn a_package_still_being_copied_is_listed_with_when_it_will_be_picked_up() {
    let catalog = Catalog::new();
    let vm = test_vm("disk.vmdk");
    let mut ova = ustar_member("vm.ovf", ovf_descriptor(&vm, &[512]).as_bytes());
    ova.extend(ustar_member("disk.vmdk", &[1u8; 512]));
    ova.extend([0u8; 1024]);
    // Written just now and not settled: the guide's 30-second rule passes it over.
    std::fs::write(catalog.root().join("copying.ova"), ova).unwrap();

    let (run, json) = catalog.inventory();
    assert_eq!(json["vms"].as_array().map(Vec::len), Some(0), "{json}");
    let skipped = &json["ext"]["ova"]["skipped"][0];
    assert_eq!(skipped["reason"], "recentlyModified", "{json}");
    let wait = skipped["retryAfterSeconds"].as_u64().unwrap();
    assert!((1..=30).contains(&wait), "{json}");
    assert!(
        run.stderr.contains("copying.ova (modified too recently")
            && run
                .stderr
                .contains("picks it up once it has been left alone for"),
        "{}",
        run.stderr
    );
}
