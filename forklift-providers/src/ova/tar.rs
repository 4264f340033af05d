//! A minimal read-only tar reader: ustar, GNU long names and pax headers, reporting where
//! each member's data starts so a disk can be read in place without extracting it.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path};

use super::error::{Error, Result};

const BLOCK: u64 = 512;
/// Largest GNU long name or pax header accepted.
const MAX_META: u64 = 1 << 16;
/// Most members accepted in one archive.
const MAX_MEMBERS: usize = 100_000;

/// Kind of a tar member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A hard or symbolic link to `target`.
    Link {
        /// The link target.
        target: String,
    },
    /// A device, FIFO or other special file (the type flag).
    Other(u8),
}

/// A member of a tar archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Name, without a leading `./`.
    pub name: String,
    /// Kind.
    pub kind: MemberKind,
    /// Byte offset of the member's data in the archive.
    pub data_offset: u64,
    /// Size of the data in bytes.
    pub size: u64,
}

impl Member {
    /// Whether the name ends with `suffix`, ignoring ASCII case.
    pub fn has_suffix(&self, suffix: &str) -> bool {
        let (n, s) = (self.name.as_bytes(), suffix.as_bytes());
        n.len() >= s.len() && n[n.len() - s.len()..].eq_ignore_ascii_case(s)
    }
}

/// Checks that `name` is a relative path that stays inside its package: not absolute, no
/// `..`, not empty. Returns the reason when it is not.
pub fn unsafe_path_reason(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("empty name");
    }
    if name.contains('\0') {
        return Some("name contains a NUL byte");
    }
    let path = Path::new(name);
    for c in path.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Some("name climbs out of the package with `..`"),
            Component::RootDir | Component::Prefix(_) => return Some("absolute path"),
        }
    }
    None
}

/// The members of the tar archive open as `file`, named `path` in messages. The caller
/// opened it through the confined opener and reads members from the same handle.
pub fn list(file: &File, path: &Path) -> Result<Vec<Member>> {
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    list_from(path, &|buf, at| file.read_exact_at(buf, at), len)
}

/// The members of a tar archive of `len` bytes read through `read_at`, named `archive`.
pub fn list_from(
    archive: &Path,
    read_at: &dyn Fn(&mut [u8], u64) -> std::io::Result<()>,
    len: u64,
) -> Result<Vec<Member>> {
    let bad = |reason: String| Error::Tar {
        archive: archive.to_path_buf(),
        reason,
    };
    let mut members = Vec::new();
    let mut pos = 0u64;
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    let mut pax: Vec<(String, String)> = Vec::new();
    let mut header = [0u8; BLOCK as usize];
    loop {
        if pos + BLOCK > len {
            if pos == len && pos > 0 {
                // Some writers omit the two zero blocks at the end.
                break;
            }
            return Err(bad(format!(
                "header at byte {pos} lies beyond the end ({len} bytes)"
            )));
        }
        read_at(&mut header, pos).map_err(|e| Error::io(archive, e))?;
        if header.iter().all(|&b| b == 0) {
            break;
        }
        verify_checksum(&header).map_err(|r| bad(format!("header at byte {pos}: {r}")))?;
        let size = parse_number(&header[124..136])
            .ok_or_else(|| bad(format!("header at byte {pos} has an invalid size")))?;
        let flag = header[156];
        let data_offset = pos + BLOCK;
        let padded = size
            .checked_next_multiple_of(BLOCK)
            .ok_or_else(|| bad(format!("header at byte {pos} has an invalid size")))?;
        let end = data_offset
            .checked_add(padded)
            .ok_or_else(|| bad(format!("member at byte {pos} is too large")))?;
        if data_offset.checked_add(size).is_none_or(|e| e > len) {
            return Err(bad(format!(
                "member at byte {pos} needs {size} bytes of data but the archive ends at byte {len}"
            )));
        }
        let read_meta = |what: &str| -> Result<String> {
            if size > MAX_META {
                return Err(bad(format!(
                    "{what} at byte {pos} is larger than {MAX_META} bytes"
                )));
            }
            let mut data = vec![0u8; size as usize];
            read_at(&mut data, data_offset).map_err(|e| Error::io(archive, e))?;
            Ok(String::from_utf8_lossy(&data).into_owned())
        };
        match flag {
            b'L' => {
                long_name = Some(
                    read_meta("GNU long name")?
                        .trim_end_matches('\0')
                        .to_owned(),
                )
            }
            b'K' => {
                long_link = Some(
                    read_meta("GNU long link")?
                        .trim_end_matches('\0')
                        .to_owned(),
                )
            }
            b'x' => {
                pax = parse_pax(&read_meta("pax header")?)
                    .map_err(|r| bad(format!("pax header at byte {pos}: {r}")))?
            }
            b'g' => {}
            _ => {
                let mut name = long_name.take().unwrap_or_else(|| header_name(&header));
                let mut target = long_link.take().unwrap_or_else(|| cstr(&header[157..257]));
                let mut size = size;
                let mut end = end;
                for (key, value) in pax.drain(..) {
                    match key.as_str() {
                        "path" => name = value,
                        "linkpath" => target = value,
                        "size" => {
                            size = value
                                .parse()
                                .map_err(|_| bad(format!("pax size {value:?} at byte {pos}")))?;
                            if data_offset.checked_add(size).is_none_or(|e| e > len) {
                                return Err(bad(format!(
                                    "member at byte {pos} needs {size} bytes of data beyond the end"
                                )));
                            }
                            end = data_offset + size.next_multiple_of(BLOCK);
                        }
                        _ => {}
                    }
                }
                let kind = match flag {
                    b'0' | 0 | b'7' => MemberKind::File,
                    b'5' => MemberKind::Directory,
                    b'1' | b'2' => MemberKind::Link { target },
                    other => MemberKind::Other(other),
                };
                let name = normalize(&name);
                if members.len() >= MAX_MEMBERS {
                    return Err(bad(format!("more than {MAX_MEMBERS} members")));
                }
                members.push(Member {
                    name,
                    kind,
                    data_offset,
                    size,
                });
                pos = end;
                continue;
            }
        }
        pos = end;
    }
    Ok(members)
}

/// A member name as extraction would resolve it: empty and `.` components dropped
/// (`./a//b/` is `a/b`), a leading `/` kept so an absolute name is still seen as one.
fn normalize(name: &str) -> String {
    let body = name
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/");
    if name.starts_with('/') {
        format!("/{body}")
    } else {
        body
    }
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn header_name(h: &[u8]) -> String {
    let name = cstr(&h[0..100]);
    // POSIX ustar splits long names into prefix + name; GNU tar uses that area otherwise.
    if &h[257..263] == b"ustar\0" {
        let prefix = cstr(&h[345..500]);
        if !prefix.is_empty() {
            return format!("{prefix}/{name}");
        }
    }
    name
}

/// Parses an octal field, or a base-256 one (high bit set) as GNU tar writes large sizes.
fn parse_number(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

fn verify_checksum(h: &[u8]) -> std::result::Result<(), String> {
    let stored = parse_number(&h[148..156]).ok_or("invalid checksum field")?;
    let unsigned: u64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    let signed: i64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(b as i8)
            }
        })
        .sum();
    if stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed) {
        Ok(())
    } else {
        Err(format!("checksum {stored} does not match {unsigned}"))
    }
}

/// Parses pax records: `"<len> <key>=<value>\n"`.
fn parse_pax(text: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (len, _) = rest.split_once(' ').ok_or("record without a length")?;
        let n: usize = len
            .parse()
            .map_err(|_| format!("bad record length {len:?}"))?;
        if n <= len.len() + 1 || n > rest.len() || !rest.is_char_boundary(n) {
            return Err(format!("record length {n} out of range"));
        }
        let record = &rest[len.len() + 1..n];
        let record = record
            .strip_suffix('\n')
            .ok_or("record does not end with a newline")?;
        let (key, value) = record.split_once('=').ok_or("record without `=`")?;
        out.push((key.to_owned(), value.to_owned()));
        rest = &rest[n..];
    }
    Ok(out)
}

/// Validates every member of an OVA package: names stay inside the package, no member is
/// a link or a special file, and no name is used twice (a directory listed twice aside).
pub fn check_members(archive: &Path, members: &[Member]) -> Result<()> {
    let mut seen: HashMap<&str, bool> = HashMap::with_capacity(members.len());
    for m in members {
        let directory = m.kind == MemberKind::Directory;
        if let Some(was_directory) = seen.insert(&m.name, directory) {
            if !(was_directory && directory) {
                return Err(Error::DuplicateMember {
                    package: archive.to_path_buf(),
                    name: m.name.clone(),
                });
            }
        }
        if let Some(reason) = unsafe_path_reason(&m.name) {
            return Err(Error::Unsafe {
                package: archive.to_path_buf(),
                name: m.name.clone(),
                reason,
            });
        }
        match m.kind {
            MemberKind::Link { .. } => {
                return Err(Error::Unsafe {
                    package: archive.to_path_buf(),
                    name: m.name.clone(),
                    reason: "links are not allowed in a package",
                });
            }
            MemberKind::Other(_) => {
                return Err(Error::Unsafe {
                    package: archive.to_path_buf(),
                    name: m.name.clone(),
                    reason: "special files are not allowed in a package",
                });
            }
            MemberKind::File | MemberKind::Directory => {}
        }
    }
    Ok(())
}

/// Finds the regular member named `name` (after normalising `./`).
pub fn find<'a>(members: &'a [Member], name: &str) -> Option<&'a Member> {
    let wanted = normalize(name);
    members
        .iter()
        .find(|m| m.kind == MemberKind::File && m.name == wanted)
}

/// `archive!member`, the name used for a member in messages.
pub fn member_label(archive: &Path, member: &str) -> String {
    format!("{}!{member}", archive.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, size: u64, flag: u8) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        h[156] = flag;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].fill(b' ');
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    fn archive(entries: &[(&str, &[u8], u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data, flag) in entries {
            out.extend(header(name, data.len() as u64, *flag));
            out.extend_from_slice(data);
            out.resize(out.len().next_multiple_of(512), 0);
        }
        out.extend([0u8; 1024]);
        out
    }

    fn list_bytes(bytes: &[u8]) -> Result<Vec<Member>> {
        let read = |buf: &mut [u8], at: u64| {
            let at = at as usize;
            buf.copy_from_slice(&bytes[at..at + buf.len()]);
            Ok(())
        };
        list_from(Path::new("t.ova"), &read, bytes.len() as u64)
    }

    #[test]
    fn lists_members_with_data_offsets_long_names_and_pax() {
        let long = "d/".repeat(80) + "disk.vmdk";
        let pax_path = "pax/".to_owned() + &"p".repeat(120);
        let record = format!("path={pax_path}\n");
        let len = record.len() + 4;
        let pax = format!("{len} {record}");
        let bytes = archive(&[
            ("./vm.ovf", b"<Envelope/>", b'0'),
            ("././@LongLink", long.as_bytes(), b'L'),
            ("ignored", b"abc", b'0'),
            ("PaxHeaders/x", pax.as_bytes(), b'x'),
            ("short", b"12345", b'0'),
            ("dir/", b"", b'5'),
        ]);
        let members = list_bytes(&bytes).unwrap();
        assert_eq!(members.len(), 4);
        assert_eq!(members[0].name, "vm.ovf");
        assert_eq!(members[0].data_offset, 512);
        assert_eq!(&bytes[512..512 + 11], b"<Envelope/>");
        assert_eq!(members[1].name, long);
        assert_eq!(members[1].size, 3);
        assert_eq!(members[2].name, pax_path);
        assert_eq!(members[3].kind, MemberKind::Directory);
        assert!(members[0].has_suffix(".OVF"));
        check_members(Path::new("t.ova"), &members).unwrap();
    }

    #[test]
    fn rejects_escapes_links_and_damage() {
        for (name, flag) in [
            ("../etc/passwd", b'0'),
            ("/abs", b'0'),
            ("a/../../b", b'0'),
            ("lnk", b'2'),
        ] {
            let members = list_bytes(&archive(&[(name, b"x", flag)])).unwrap();
            let err = check_members(Path::new("t.ova"), &members).unwrap_err();
            assert!(matches!(err, Error::Unsafe { .. }), "{name}: {err}");
        }
        let mut bytes = archive(&[("a", b"x", b'0')]);
        bytes[0] = b'b';
        assert!(
            list_bytes(&bytes)
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
        let bytes = archive(&[("a", &[7u8; 4000], b'0')]);
        assert!(
            list_bytes(&bytes[..2048])
                .unwrap_err()
                .to_string()
                .contains("archive ends")
        );
        assert!(list_bytes(&[1u8; 100]).is_err());
    }

    #[test]
    fn refuses_duplicate_members_after_normalising() {
        for (first, second) in [
            ("disk.vmdk", "disk.vmdk"),
            ("disk.vmdk", "./disk.vmdk"),
            ("d/disk.vmdk", "d//./disk.vmdk"),
        ] {
            let bytes = archive(&[
                ("vm.ovf", b"<Envelope/>", b'0'),
                (first, b"first", b'0'),
                (second, b"second", b'0'),
            ]);
            let members = list_bytes(&bytes).unwrap();
            match check_members(Path::new("t.ova"), &members).unwrap_err() {
                Error::DuplicateMember { package, name } => {
                    assert_eq!(package, Path::new("t.ova"));
                    assert_eq!(name, normalize(first));
                }
                other => panic!("{first} + {second}: {other}"),
            }
        }
        // A file and a directory of one name are as ambiguous.
        let bytes = archive(&[("d", b"", b'5'), ("d/", b"x", b'0')]);
        let members = list_bytes(&bytes).unwrap();
        assert!(matches!(
            check_members(Path::new("t.ova"), &members),
            Err(Error::DuplicateMember { .. })
        ));
        // A directory listed twice is harmless.
        let bytes = archive(&[("d/", b"", b'5'), ("./d", b"", b'5'), ("d/a", b"x", b'0')]);
        check_members(Path::new("t.ova"), &list_bytes(&bytes).unwrap()).unwrap();
        // An absolute name stays absolute after normalising.
        assert_eq!(normalize("//etc/./passwd"), "/etc/passwd");
        assert_eq!(normalize("././a//b/"), "a/b");
    }

    #[test]
    fn numbers_octal_and_base256() {
        assert_eq!(parse_number(b"00000000017\0"), Some(15));
        assert_eq!(
            parse_number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
            Some(256)
        );
        assert_eq!(parse_number(b"zz"), None);
        assert!(parse_pax("9 a=b\n").is_err());
        assert_eq!(
            parse_pax("6 a=b\n").unwrap(),
            vec![("a".into(), "b".into())]
        );
    }

    proptest::proptest! {
        /// Arbitrary bytes and damaged archives list or fail with a typed error, never panic.
        #[test]
        fn damaged_archives_never_panic(
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
            flips in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 0..16),
        ) {
            let _ = list_bytes(&noise);
            let long = "x".repeat(300);
            let mut bytes = archive(&[("./vm.ovf", b"<Envelope/>", b'0'), ("././@LongLink", long.as_bytes(), b'L'), ("d", b"abc", b'0')]);
            for (at, value) in flips {
                let at = at % bytes.len();
                bytes[at] = value;
            }
            if let Ok(members) = list_bytes(&bytes) {
                for m in &members {
                    proptest::prop_assert!(m.data_offset + m.size <= bytes.len() as u64);
                }
            }
        }
    }
}
