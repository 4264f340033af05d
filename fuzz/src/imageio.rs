//! Fuzzes what an ovirt-imageio daemon answers, over bytes, through the sans-IO parsers the
//! disk reads them with ([`forklift_providers::imageio::parse`]): the extents JSON of a disk
//! whose size the first 8 input bytes give (zero or dirty context by the 9th), then a slice
//! of it as the copy asks for one; the `Content-Range` header; the `OPTIONS` features. Any
//! answer must be accepted or refused, never panic, and what is accepted must describe the
//! disk exactly: contiguous extents from 0 to its size, and slices within the range asked.

use forklift_providers::imageio::parse::{
    Context, parse_content_range, parse_extents, parse_features, slice_extents,
};

/// The target: see the module documentation.
pub fn run(data: &[u8]) {
    let Some((head, body)) = data.split_first_chunk::<9>() else {
        return;
    };
    let size = u64::from_le_bytes(head[..8].try_into().unwrap_or_default()) >> (head[8] & 63);
    let context = if head[8] & 64 == 0 {
        Context::Zero
    } else {
        Context::Dirty
    };
    if let Ok(extents) = parse_extents(body, size, context) {
        let mut next = 0u64;
        for e in &extents {
            assert_eq!(e.offset, next, "extents must be contiguous");
            assert!(e.length > 0, "no empty extent");
            next = e
                .offset
                .checked_add(e.length)
                .expect("extent end overflows");
        }
        assert_eq!(next, size, "extents must end at the disk's size");
        // A slice as `BlockSource::extents` answers one, inside the disk.
        let offset = size / 3;
        let length = size / 2;
        let slice = slice_extents(&extents, offset, length);
        let end = offset + length;
        for e in &slice {
            assert!(
                e.offset >= offset && e.offset < end.max(offset + 1),
                "{e:?}"
            );
        }
    }
    let text = String::from_utf8_lossy(body);
    if let Some(range) = parse_content_range(&text) {
        assert!(range.first <= range.last && range.last < range.size);
    }
    let _ = parse_features(body);
}
