//! Fuzzes the OVA catalog on a real folder: the input is a small script of entries that
//! builds a catalog (files with their contents, folders, symbolic links, FIFOs), which is
//! then scanned ([`OvaCatalog::scan`]), turned into an inventory, and every disk it lists is
//! opened ([`OvaCatalog::open_disk`]) and read. Nothing may panic or hang, no VM may come
//! from outside the catalog, and no disk may be read from outside it.
//!
//! # Script
//!
//! Entries start at a line beginning with `@`: `@<kind> <path>`, then the entry's content
//! up to the next such line. Kinds: `f` a file with the content, `d` a folder, `p` a FIFO,
//! `l` a symbolic link, `@l <path> -> <target>`. Paths are relative to the catalog root;
//! an entry whose path climbs out (`..`) or passes through something that is not a real
//! folder is left out, so only the code under test can escape.
//!
//! Beside the catalog, a folder `outside/` (and `outside/dir/`) holds a canary package: an
//! OVF, a monolithicFlat VMDK descriptor and its extent, and a FIFO. Links may point there:
//! a target's leading `..` may climb at most to the scratch folder and its other `..` are
//! dropped, and an absolute target is taken as relative to `outside/`, so that every link
//! resolves inside the scratch folder and an escape reads the canary, which is detected.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, symlink};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use forklift_providers::ova::{OvaCatalog, inventory};

/// Most entries a script creates.
const MAX_ENTRIES: usize = 32;
/// Most path components of an entry.
const MAX_DEPTH: usize = 4;
/// What every byte of the canary disk spells, over and over.
const CANARY: &[u8] = b"FORKLIFT-FUZZ-OUTSIDE-THE-CATALOG";
/// Size of the canary disk.
const CANARY_BYTES: usize = 64 << 10;

/// The target: see the module documentation.
pub fn run(data: &[u8]) {
    crate::scratch::with("ova_dir", |scratch| {
        let root = scratch.join("catalog");
        std::fs::create_dir(&root).expect("cannot create the fuzz catalog");
        plant_canary(&scratch.join("outside"));
        plant_canary(&scratch.join("outside/dir"));
        for entry in entries(data).iter().take(MAX_ENTRIES) {
            create(&root, entry);
        }
        check_catalog(&root);
    });
}

/// Scans the catalog, builds its inventory and reads every disk it lists.
fn check_catalog(root: &Path) {
    // Every file was just written: no settle time, or the scan would skip them all.
    let catalog = OvaCatalog::new(root).with_settle_time(Duration::ZERO);
    let Ok(found) = catalog.scan() else {
        return;
    };
    let _ = inventory::source_inventory("fuzz", &found);
    for vm in &found.vms {
        assert!(
            Path::new(&vm.ovf_path).starts_with(root),
            "a VM comes from outside the catalog: {}",
            vm.ovf_path
        );
        for disk in &vm.disks {
            let Ok(image) = catalog.open_disk(vm, disk) else {
                continue;
            };
            let mut head = vec![0u8; image.capacity().min(CANARY.len() as u64) as usize];
            if image.read_at(&mut head, 0).is_ok() {
                assert!(
                    head.is_empty() || !CANARY.starts_with(&head),
                    "disk {:?} of {} was read from outside the catalog",
                    disk.name,
                    vm.ovf_path
                );
            }
        }
    }
}

/// One script entry.
struct Entry<'a> {
    kind: u8,
    path: &'a [u8],
    link: &'a [u8],
    content: &'a [u8],
}

/// The entries of a script, in order.
fn entries(data: &[u8]) -> Vec<Entry<'_>> {
    let mut starts: Vec<usize> = (0..data.len())
        .filter(|&i| data[i] == b'@' && (i == 0 || data[i - 1] == b'\n'))
        .collect();
    starts.push(data.len());
    starts
        .windows(2)
        .filter_map(|w| {
            let chunk = &data[w[0] + 1..w[1]];
            let (header, content) = match chunk.iter().position(|&b| b == b'\n') {
                Some(at) => (&chunk[..at], &chunk[at + 1..]),
                None => (chunk, &[][..]),
            };
            let (&kind, rest) = header.split_first()?;
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            let (path, link) = match find(rest, b" -> ") {
                Some(at) => (&rest[..at], &rest[at + 4..]),
                None => (rest, &[][..]),
            };
            Some(Entry {
                kind,
                path,
                link,
                content,
            })
        })
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The components of a script path, or `None` if it climbs, is empty or too deep.
fn components(path: &[u8]) -> Option<Vec<&str>> {
    let text = std::str::from_utf8(path).ok()?;
    let parts: Vec<&str> = text
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let fine = !parts.is_empty()
        && parts.len() <= MAX_DEPTH
        && parts.iter().all(|p| *p != ".." && !p.contains('\0'));
    fine.then_some(parts)
}

/// Creates `entry` under `root`, creating missing folders on the way; leaves it out if a
/// component on the way exists and is not a real folder (a link would lead elsewhere).
fn create(root: &Path, entry: &Entry<'_>) {
    let Some(parts) = components(entry.path) else {
        return;
    };
    let (name, parents) = parts.split_last().expect("components are never empty");
    let mut dir = root.to_path_buf();
    for part in parents {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return,
            Err(_) => {
                if std::fs::create_dir(&dir).is_err() {
                    return;
                }
            }
        }
    }
    let path = dir.join(name);
    match entry.kind {
        b'd' => {
            let _ = std::fs::create_dir(&path);
        }
        b'p' => make_fifo(&path),
        b'l' => {
            let depth = path
                .strip_prefix(root)
                .map_or(0, |p| p.components().count());
            let _ = symlink(link_target(entry.link, depth), &path);
        }
        _ => {
            // `create_new` (O_EXCL) never follows a link at the last component.
            if let Ok(mut file) = OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
            {
                let _ = file.write_all(entry.content);
            }
        }
    }
}

/// The target of a link `depth` components below the catalog root, confined to the scratch
/// folder (see the module documentation).
fn link_target(text: &[u8], depth: usize) -> PathBuf {
    let text = String::from_utf8_lossy(text);
    let path = Path::new(text.as_ref());
    let mut target = PathBuf::new();
    let mut climbing = true;
    // From the link's folder, `depth` `..` reach the scratch folder.
    let mut ups = 0;
    if path.is_absolute() {
        target.extend(std::iter::repeat_n("..", depth));
        target.push("outside");
        climbing = false;
    }
    for component in path.components() {
        match component {
            Component::ParentDir if climbing && ups < depth => {
                target.push("..");
                ups += 1;
            }
            Component::Normal(part) => {
                climbing = false;
                target.push(part);
            }
            _ => {}
        }
    }
    if target.as_os_str().is_empty() {
        target.push(".");
    }
    target
}

fn make_fifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(name) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: `name` is a valid NUL-terminated path that outlives the call.
    unsafe { libc::mkfifo(name.as_ptr(), 0o600) };
}

/// Writes the canary package into `dir`: what an escape from the catalog would read.
fn plant_canary(dir: &Path) {
    std::fs::create_dir(dir).expect("cannot create the canary folder");
    let flat: Vec<u8> = CANARY.iter().copied().cycle().take(CANARY_BYTES).collect();
    std::fs::write(dir.join("canary-flat.vmdk"), flat).expect("cannot write the canary disk");
    let descriptor = format!(
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n\
         createType=\"monolithicFlat\"\nRW {} FLAT \"canary-flat.vmdk\" 0\n",
        CANARY_BYTES / 512
    );
    std::fs::write(dir.join("canary.vmdk"), descriptor).expect("cannot write the canary VMDK");
    std::fs::write(dir.join("canary.ovf"), CANARY_OVF).expect("cannot write the canary OVF");
    make_fifo(&dir.join("fifo.vmdk"));
}

/// An OVF whose one disk is the canary VMDK beside it.
const CANARY_OVF: &str = r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
<References><File ovf:href="canary.vmdk" ovf:id="file0"/></References>
<DiskSection><Info>d</Info><Disk ovf:capacity="65536" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk0" ovf:fileRef="file0" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#monolithicFlat"/></DiskSection>
<VirtualSystem ovf:id="canary"><Info>vm</Info><Name>canary</Name>
<VirtualHardwareSection><Info>hw</Info>
<Item><rasd:ElementName>disk</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk0</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType></Item>
</VirtualHardwareSection></VirtualSystem></Envelope>
"#;
