//! imageio's answers over bytes (sans-IO): the `OPTIONS` features, the extents JSON, and the
//! `Content-Range` of a ranged GET. The disk (`ImageioDisk`) only moves bytes.
//!
//! ```text
//!   OPTIONS /images/ID        {"features": ["checksum", "extents"], "max_readers": 8, ...}
//!   GET /images/ID/extents    [{"start": 0, "length": 1048576, "zero": true, "hole": false}, ...]
//!   ... ?context=dirty        [{"start": 0, "length": 65536, "dirty": true, "zero": false}, ...]
//!   GET with Range            206, Content-Range: bytes FIRST-LAST/SIZE
//! ```

use forklift_transfer::block::{Extent, ExtentFlags};
use serde::Deserialize;

use super::limits::MAX_EXTENTS;

/// What `OPTIONS /images/ID` says the ticket's image supports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Features {
    /// Feature names: `extents`, `zero`, `flush`, `checksum`.
    #[serde(default)]
    pub features: Vec<String>,
    /// How many connections may read at once (imageio opens one backend per connection).
    #[serde(default)]
    pub max_readers: Option<u64>,
    /// How many connections may write at once.
    #[serde(default)]
    pub max_writers: Option<u64>,
}

impl Features {
    /// Whether `name` is offered.
    pub fn has(&self, name: &str) -> bool {
        self.features.iter().any(|f| f == name)
    }
}

/// Decodes an `OPTIONS` answer.
pub fn parse_features(body: &[u8]) -> Result<Features, serde_json::Error> {
    serde_json::from_slice(body)
}

/// Which extents were asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// `GET /images/ID/extents`: `zero` and `hole` per extent.
    Zero,
    /// `GET /images/ID/extents?context=dirty`: `dirty` (and `zero`) per extent.
    Dirty,
}

#[derive(Deserialize)]
struct RawExtent {
    start: u64,
    length: u64,
    #[serde(default)]
    zero: bool,
    #[serde(default)]
    hole: bool,
    dirty: Option<bool>,
}

/// The decoding error a list longer than [`MAX_EXTENTS`] stops with.
const TOO_MANY: &str = "more extents than the client's limit";

/// An extents list decoded up to [`MAX_EXTENTS`] items: a longer one stops the decoder at
/// the first item past the limit, before it is held (a 128 MiB answer of tiny extents would
/// otherwise take several times that in memory first).
struct Bounded(Vec<RawExtent>);

impl<'de> Deserialize<'de> for Bounded {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Bounded;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of extents")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Bounded, A::Error> {
                let hint = seq.size_hint().unwrap_or(0).min(MAX_EXTENTS);
                let mut items = Vec::with_capacity(hint);
                while let Some(item) = seq.next_element::<RawExtent>()? {
                    if items.len() == MAX_EXTENTS {
                        return Err(serde::de::Error::custom(TOO_MANY));
                    }
                    items.push(item);
                }
                Ok(Bounded(items))
            }
        }
        deserializer.deserialize_seq(Visitor)
    }
}

/// Why an extents answer was refused.
#[derive(Debug, thiserror::Error)]
pub enum ExtentsError {
    /// Not JSON of imageio's shape.
    #[error("not imageio's extents JSON")]
    Json(#[source] serde_json::Error),
    /// More than [`MAX_EXTENTS`] extents.
    #[error("more than {MAX_EXTENTS} extents")]
    TooMany,
    /// The extents do not describe the disk.
    #[error("{0}")]
    Shape(String),
}

/// Decodes and checks an extents answer for a disk of `size` bytes: contiguous from 0, no
/// empty extent, ending exactly at `size`; a dirty answer must say `dirty` for each extent.
/// Flags become [`ExtentFlags`] (`zero` → ZERO, `hole` → HOLE, `dirty` → DIRTY).
pub fn parse_extents(
    body: &[u8],
    size: u64,
    context: Context,
) -> Result<Vec<Extent>, ExtentsError> {
    let Bounded(raw) = serde_json::from_slice(body).map_err(|e| {
        if e.to_string().contains(TOO_MANY) {
            ExtentsError::TooMany
        } else {
            ExtentsError::Json(e)
        }
    })?;
    let mut extents = Vec::with_capacity(raw.len());
    let mut next = 0u64;
    for e in raw {
        if e.start != next {
            return Err(ExtentsError::Shape(format!(
                "extent at {} where {next} was expected (gap or overlap)",
                e.start
            )));
        }
        if e.length == 0 {
            return Err(ExtentsError::Shape(format!("empty extent at {}", e.start)));
        }
        let end = e.start.checked_add(e.length).filter(|&end| end <= size);
        let Some(end) = end else {
            return Err(ExtentsError::Shape(format!(
                "extent {}+{} runs past the disk's {size} bytes",
                e.start, e.length
            )));
        };
        let mut flags = ExtentFlags::DATA;
        if e.zero {
            flags = flags | ExtentFlags::ZERO;
        }
        if e.hole {
            flags = flags | ExtentFlags::HOLE;
        }
        match (context, e.dirty) {
            (Context::Dirty, None) => {
                return Err(ExtentsError::Shape(format!(
                    "extent at {} of a dirty answer does not say whether it is dirty",
                    e.start
                )));
            }
            (_, Some(true)) => flags = flags | ExtentFlags::DIRTY,
            _ => {}
        }
        extents.push(Extent::new(e.start, e.length, flags));
        next = end;
    }
    if next != size {
        return Err(ExtentsError::Shape(format!(
            "the extents end at {next}, the disk has {size} bytes"
        )));
    }
    Ok(extents)
}

/// The extents of `all` (a checked answer) overlapping `offset..offset + length`, the first
/// one clipped to start at `offset`, as [`BlockSource::extents`] answers.
///
/// [`BlockSource::extents`]: forklift_transfer::block::BlockSource::extents
pub fn slice_extents(all: &[Extent], offset: u64, length: u64) -> Vec<Extent> {
    let end = offset.saturating_add(length);
    let first = all.partition_point(|e| e.end() <= offset);
    all[first..]
        .iter()
        .take_while(|e| e.offset < end)
        .map(|e| {
            let start = e.offset.max(offset);
            Extent::new(start, e.end() - start, e.flags)
        })
        .collect()
}

/// The range and total size of a `Content-Range: bytes FIRST-LAST/SIZE` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// First byte sent.
    pub first: u64,
    /// Last byte sent (inclusive).
    pub last: u64,
    /// Size of the whole image.
    pub size: u64,
}

/// Parses a `Content-Range` value; `None` for anything but `bytes FIRST-LAST/SIZE` with
/// `FIRST <= LAST < SIZE`.
pub fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, size) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let parsed = ContentRange {
        first: first.trim().parse().ok()?,
        last: last.trim().parse().ok()?,
        size: size.trim().parse().ok()?,
    };
    (parsed.first <= parsed.last && parsed.last < parsed.size).then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL_ZERO: &[u8] = br#"[{"start": 0, "length": 1048576, "zero": true, "hole": false}, {"start": 1048576, "length": 1048576, "zero": false, "hole": false}, {"start": 2097152, "length": 65011712, "zero": true, "hole": true}]"#;
    const REAL_DIRTY: &[u8] = br#"[{"start": 0, "length": 20971520, "dirty": false, "zero": true}, {"start": 20971520, "length": 65536, "dirty": true, "zero": false}, {"start": 21037056, "length": 46071808, "dirty": false, "zero": true}]"#;

    #[test]
    fn zero_extents_of_imageio_become_flags() {
        let extents = parse_extents(REAL_ZERO, 64 << 20, Context::Zero).unwrap();
        assert_eq!(
            extents,
            [
                Extent::new(0, 1 << 20, ExtentFlags::ZERO),
                Extent::new(1 << 20, 1 << 20, ExtentFlags::DATA),
                Extent::new(2 << 20, 62 << 20, ExtentFlags::ZERO | ExtentFlags::HOLE),
            ]
        );
    }

    #[test]
    fn dirty_extents_of_imageio_become_flags() {
        let extents = parse_extents(REAL_DIRTY, 64 << 20, Context::Dirty).unwrap();
        let dirty: Vec<_> = extents.iter().filter(|e| e.flags.is_dirty()).collect();
        assert_eq!(dirty, [&Extent::new(20 << 20, 65536, ExtentFlags::DIRTY)]);
        assert!(extents[0].flags.is_zero() && !extents[0].flags.is_dirty());
        // A dirty answer must say so for every extent.
        let err = parse_extents(REAL_ZERO, 64 << 20, Context::Dirty).unwrap_err();
        assert!(err.to_string().contains("dirty"), "{err}");
    }

    #[test]
    fn extents_that_do_not_describe_the_disk_are_refused() {
        let cases: [(&[u8], &str); 7] = [
            (b"{}", "not imageio"),
            (b"[{\"start\": 0}]", "not imageio"),
            (
                br#"[{"start": 0, "length": 10}, {"start": 20, "length": 80}]"#,
                "gap",
            ),
            (
                br#"[{"start": 0, "length": 10}, {"start": 5, "length": 95}]"#,
                "overlap",
            ),
            (
                br#"[{"start": 0, "length": 0}, {"start": 0, "length": 100}]"#,
                "empty",
            ),
            (br#"[{"start": 0, "length": 50}]"#, "end at 50"),
            (
                br#"[{"start": 0, "length": 18446744073709551615}]"#,
                "past the disk",
            ),
        ];
        for (body, wanted) in cases {
            let err = parse_extents(body, 100, Context::Zero).unwrap_err();
            assert!(err.to_string().contains(wanted), "{err} lacks {wanted}");
        }
        assert!(parse_extents(b"[]", 0, Context::Zero).unwrap().is_empty());
    }

    #[test]
    fn too_many_extents_are_refused() {
        let mut body = String::from("[");
        for i in 0..=MAX_EXTENTS {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!("{{\"start\":{i},\"length\":1}}"));
        }
        body.push(']');
        let size = MAX_EXTENTS as u64 + 1;
        assert!(matches!(
            parse_extents(body.as_bytes(), size, Context::Zero),
            Err(ExtentsError::TooMany)
        ));
    }

    #[test]
    fn slices_clip_the_first_extent_and_stop_at_the_end() {
        let all = parse_extents(REAL_ZERO, 64 << 20, Context::Zero).unwrap();
        let got = slice_extents(&all, 1000, 2 << 20);
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0],
            Extent::new(1000, (1 << 20) - 1000, ExtentFlags::ZERO)
        );
        assert_eq!(got[1].offset, 1 << 20);
        assert_eq!(slice_extents(&all, 5 << 20, 1).len(), 1);
        assert_eq!(slice_extents(&all, 5 << 20, 1)[0].offset, 5 << 20);
        assert!(slice_extents(&all, 64 << 20, 1).is_empty());
    }

    #[test]
    fn content_ranges() {
        assert_eq!(
            parse_content_range("bytes 1048576-1048580/67108864"),
            Some(ContentRange {
                first: 1048576,
                last: 1048580,
                size: 67108864
            })
        );
        for bad in [
            "bytes */67108864",
            "bytes 5-4/10",
            "bytes 0-10/10",
            "items 0-1/2",
            "bytes 0-1",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn features_of_a_read_ticket() {
        let f = parse_features(
            br#"{"features": ["checksum", "extents"], "max_readers": 8, "max_writers": 8}"#,
        )
        .unwrap();
        assert!(f.has("extents") && !f.has("zero"));
        assert_eq!(f.max_readers, Some(8));
        assert!(parse_features(b"[1]").is_err());
    }
}
