//! The text descriptor of a VMDK image (embedded in a sparse extent or a file of its own).

use std::collections::BTreeMap;

use super::error::{Error, Result};

/// Largest descriptor accepted, in bytes.
pub(crate) const MAX_DESCRIPTOR_BYTES: u64 = 1 << 20;
/// Most extents accepted in one descriptor (a 62 TiB twoGbMaxExtent disk has 31744).
const MAX_EXTENTS: usize = 1 << 16;

/// Access mode of an extent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtentAccess {
    /// Read-write.
    ReadWrite,
    /// Read-only.
    ReadOnly,
    /// Not accessible.
    NoAccess,
}

/// Storage kind of an extent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtentKind {
    /// Raw data in a file, from a sector offset (`FLAT`, or `VMFS` on ESX).
    Flat,
    /// A hosted sparse extent file (`SPARSE`).
    Sparse,
    /// Reads as zeros, no file (`ZERO`).
    Zero,
    /// Any other kind (`VMFSSPARSE`, `SESPARSE`, `VMFSRDM`, ...), named as written.
    Other,
}

/// One line of the extent description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtentLine {
    /// Access mode.
    pub access: ExtentAccess,
    /// Size in sectors.
    pub sectors: u64,
    /// Storage kind.
    pub kind: ExtentKind,
    /// Kind as written in the descriptor.
    pub kind_name: String,
    /// Extent file name, relative to the descriptor (none for `ZERO`).
    pub file: Option<String>,
    /// Sector offset inside the file (flat extents).
    pub offset: u64,
}

/// A parsed descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Descriptor {
    /// `createType`, e.g. `streamOptimized`.
    pub create_type: String,
    /// `CID`.
    pub cid: Option<String>,
    /// `parentCID`; `ffffffff` when the disk has no parent.
    pub parent_cid: Option<String>,
    /// `parentFileNameHint`, set on delta disks.
    pub parent_file_name_hint: Option<String>,
    /// Extents in disk order.
    pub extents: Vec<ExtentLine>,
    /// Disk database entries (`ddb.*`), e.g. `ddb.adapterType`.
    pub ddb: BTreeMap<String, String>,
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(s)
}

impl Descriptor {
    /// Whether `bytes` look like a descriptor rather than binary data.
    pub fn looks_like(bytes: &[u8]) -> bool {
        let head = &bytes[..bytes.len().min(1024)];
        let text = String::from_utf8_lossy(head);
        text.contains("# Disk DescriptorFile") || text.contains("createType")
    }

    /// Parses descriptor text of `file`. Text after the first NUL byte (padding of an
    /// embedded descriptor) is ignored.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Self> {
        let bytes = match bytes.iter().position(|&b| b == 0) {
            Some(end) => &bytes[..end],
            None => bytes,
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| Error::malformed(file, "descriptor is not UTF-8 text"))?;
        let mut d = Descriptor::default();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let lineno = index + 1;
            let first = line.split_whitespace().next().unwrap_or_default();
            if matches!(first, "RW" | "RDONLY" | "NOACCESS") {
                if d.extents.len() >= MAX_EXTENTS {
                    return Err(Error::malformed(
                        file,
                        format!("more than {MAX_EXTENTS} extents"),
                    ));
                }
                d.extents.push(parse_extent(file, lineno, line)?);
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(Error::malformed(
                    file,
                    format!("descriptor line {lineno} is not `key = value`: {line:?}"),
                ));
            };
            let key = key.trim();
            let value = unquote(value).to_owned();
            match key {
                "createType" => d.create_type = value,
                "CID" => d.cid = Some(value),
                "parentCID" => d.parent_cid = Some(value),
                "parentFileNameHint" => d.parent_file_name_hint = Some(value),
                k if k.starts_with("ddb.") => {
                    d.ddb.insert(k.to_owned(), value);
                }
                _ => {}
            }
        }
        if d.extents.is_empty() {
            return Err(Error::malformed(file, "descriptor lists no extents"));
        }
        Ok(d)
    }

    /// Whether the disk is a delta disk on top of a parent.
    pub fn has_parent(&self) -> bool {
        self.parent_file_name_hint.is_some()
            || self
                .parent_cid
                .as_deref()
                .is_some_and(|p| !p.eq_ignore_ascii_case("ffffffff"))
    }

    /// Total size of the extents in sectors.
    pub fn sectors(&self) -> Option<u64> {
        self.extents
            .iter()
            .try_fold(0u64, |acc, e| acc.checked_add(e.sectors))
    }
}

fn parse_extent(file: &str, lineno: usize, line: &str) -> Result<ExtentLine> {
    let bad = |why: &str| Error::malformed(file, format!("extent line {lineno} {why}: {line:?}"));
    let (head, rest) = match line.find('"') {
        Some(q) => (&line[..q], &line[q..]),
        None => (line, ""),
    };
    let mut words = head.split_whitespace();
    let access = match words.next() {
        Some("RW") => ExtentAccess::ReadWrite,
        Some("RDONLY") => ExtentAccess::ReadOnly,
        _ => ExtentAccess::NoAccess,
    };
    let sectors: u64 = words
        .next()
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| bad("has no valid size"))?;
    let kind_name = words.next().ok_or_else(|| bad("has no type"))?.to_owned();
    let kind = match kind_name.as_str() {
        "FLAT" | "VMFS" => ExtentKind::Flat,
        "SPARSE" => ExtentKind::Sparse,
        "ZERO" => ExtentKind::Zero,
        _ => ExtentKind::Other,
    };
    let (name, tail) = if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted
            .find('"')
            .ok_or_else(|| bad("has an unterminated file name"))?;
        (Some(quoted[..end].to_owned()), &quoted[end + 1..])
    } else {
        (None, "")
    };
    if name.is_none() && kind != ExtentKind::Zero {
        return Err(bad("has no file name"));
    }
    let offset = match tail.split_whitespace().next() {
        Some(w) => w.parse().map_err(|_| bad("has an invalid offset"))?,
        None => 0,
    };
    Ok(ExtentLine {
        access,
        sectors,
        kind,
        kind_name,
        file: name,
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flat_and_zero_extents_and_ddb() {
        let text = b"# Disk DescriptorFile\nversion=1\nCID=8fa7eb4e\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\nRW 6152 FLAT \"a b-flat.vmdk\" 0\nRDONLY 8 ZERO\nRW 16 FLAT \"x.vmdk\" 32\nddb.adapterType = \"ide\"\n\0\0\0";
        let d = Descriptor::parse("t.vmdk", text).unwrap();
        assert_eq!(d.create_type, "monolithicFlat");
        assert!(!d.has_parent());
        assert_eq!(d.extents.len(), 3);
        assert_eq!(d.extents[0].file.as_deref(), Some("a b-flat.vmdk"));
        assert_eq!(d.extents[1].kind, ExtentKind::Zero);
        assert_eq!(d.extents[2].offset, 32);
        assert_eq!(d.sectors(), Some(6152 + 8 + 16));
        assert_eq!(d.ddb["ddb.adapterType"], "ide");
    }

    #[test]
    fn rejects_garbage_with_line_numbers() {
        let err =
            Descriptor::parse("t.vmdk", b"createType=\"x\"\nRW abc SPARSE \"f\"\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = Descriptor::parse("t.vmdk", b"createType=\"x\"\n").unwrap_err();
        assert!(err.to_string().contains("no extents"), "{err}");
        assert!(Descriptor::parse("t.vmdk", &[0xff, 0xfe, b'\n']).is_err());
    }

    #[test]
    fn detects_delta_disks() {
        let d = Descriptor::parse(
            "t.vmdk",
            b"parentCID=12345678\nparentFileNameHint=\"base.vmdk\"\nRW 8 SPARSE \"t.vmdk\"\n",
        )
        .unwrap();
        assert!(d.has_parent());
    }
}
