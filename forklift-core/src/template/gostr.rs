//! Go string semantics over byte strings: Go strings may hold invalid UTF-8 (from `\x`
//! escapes or byte-wise `trunc`/`substr`), so every helper works on bytes and decodes runes
//! the way Go does (an invalid byte is `U+FFFD` of width 1).

/// `U+FFFD`, Go's `utf8.RuneError`.
pub(crate) const RUNE_ERROR: char = '\u{FFFD}';

/// Decodes the first rune of `b` like `utf8.DecodeRune`: `(U+FFFD, 1)` for an invalid byte,
/// `(U+FFFD, 0)` for empty input.
pub(crate) fn decode_rune(b: &[u8]) -> (char, usize) {
    if b.is_empty() {
        return (RUNE_ERROR, 0);
    }
    if b[0] < 0x80 {
        return (b[0] as char, 1);
    }
    let n = b.len().min(4);
    let valid = match std::str::from_utf8(&b[..n]) {
        Ok(s) => s,
        Err(e) => {
            // SAFETY-free: re-slice the valid prefix through the checked API.
            std::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or("")
        }
    };
    match valid.chars().next() {
        Some(c) => (c, c.len_utf8()),
        None => (RUNE_ERROR, 1),
    }
}

/// Iterates `(byte offset, rune, width)` like Go's `for i, r := range s`.
pub(crate) fn runes(b: &[u8]) -> impl Iterator<Item = (usize, char, usize)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        if i >= b.len() {
            return None;
        }
        let (c, w) = decode_rune(&b[i..]);
        let at = i;
        i += w;
        Some((at, c, w))
    })
}

/// Number of runes, as `utf8.RuneCount`.
pub(crate) fn rune_count(b: &[u8]) -> usize {
    runes(b).count()
}

/// Appends the UTF-8 encoding of `c`.
pub(crate) fn push_rune(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Converts a Go rune (any `i32`/`u64` value) into a char as `utf8.EncodeRune` would.
pub(crate) fn rune_from_u64(v: u64) -> char {
    u32::try_from(v)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or(RUNE_ERROR)
}

/// `unicode.IsSpace`.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// `unicode.IsLetter` (category L).
pub(crate) fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    c.is_alphabetic() && !is_letter_number(c) && !c.is_numeric()
}

fn is_letter_number(c: char) -> bool {
    matches!(c as u32, 0x16EE..=0x16F0 | 0x2160..=0x2188 | 0x3007 | 0x3021..=0x3029 | 0x3038..=0x303A)
}

/// `unicode.IsDigit` (category Nd).
pub(crate) fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    c.is_numeric()
        && !matches!(c as u32,
            0xB2 | 0xB3 | 0xB9 | 0xBC..=0xBE | 0x2070..=0x209F | 0x2150..=0x218F
            | 0x2460..=0x24FF | 0x2776..=0x2793 | 0x3007 | 0x3021..=0x3029 | 0x3038..=0x303A
            | 0x3192..=0x3195 | 0x3220..=0x3229 | 0x3248..=0x324F | 0x3251..=0x325F
            | 0x3280..=0x3289 | 0x32B1..=0x32BF | 0x16EE..=0x16F0)
}

/// `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
pub(crate) fn is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890 | 0x891 | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0xD800..=0xDFFF
        | 0xE000..=0xF8FF | 0xFDD0..=0xFDEF | 0xFEFF | 0xFFF0..=0xFFFB | 0xFFFE | 0xFFFF
        | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF | 0xF0000..=0x10FFFF)
        && (u & 0xFFFE) != 0xFFFE
}

/// `unicode.ToLower` (simple case mapping).
pub(crate) fn to_lower(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ if c == '\u{130}' => 'i',
        _ => c,
    }
}

/// `unicode.ToUpper` (simple case mapping).
pub(crate) fn to_upper(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => {
            let u = c as u32;
            let mapped = match u {
                0x1F80..=0x1FAF if u & 0xF < 8 => u + 8,
                0x1FB3 => 0x1FBC,
                0x1FC3 => 0x1FCC,
                0x1FF3 => 0x1FFC,
                _ => u,
            };
            char::from_u32(mapped).unwrap_or(c)
        }
    }
}

/// `unicode.ToTitle` (simple title-case mapping).
pub(crate) fn to_title(c: char) -> char {
    match c as u32 {
        0x1C4..=0x1C6 => '\u{1C5}',
        0x1C7..=0x1C9 => '\u{1C8}',
        0x1CA..=0x1CC => '\u{1CB}',
        0x1F1..=0x1F3 => '\u{1F2}',
        0x10D0..=0x10FA | 0x10FD..=0x10FF => c,
        0x1F88..=0x1F8F | 0x1F98..=0x1F9F | 0x1FA8..=0x1FAF | 0x1FBC | 0x1FCC | 0x1FFC => c,
        _ => to_upper(c),
    }
}

/// `strings.Map` with a rune mapping: invalid bytes become `U+FFFD`.
pub(crate) fn map_runes(s: &[u8], mut f: impl FnMut(char) -> char) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for (_, c, _) in runes(s) {
        push_rune(&mut out, f(c));
    }
    out
}

/// `strings.ToLower`.
pub(crate) fn lower(s: &[u8]) -> Vec<u8> {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    map_runes(s, to_lower)
}

/// `strings.ToUpper`.
pub(crate) fn upper(s: &[u8]) -> Vec<u8> {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    map_runes(s, to_upper)
}

/// `strings.Title` (Go 1.19 word rules).
pub(crate) fn title(s: &[u8]) -> Vec<u8> {
    let mut prev = ' ';

    map_runes(s, |r| {
        let sep = is_title_separator(prev);
        prev = r;
        if sep { to_title(r) } else { r }
    })
}

fn is_title_separator(r: char) -> bool {
    if r.is_ascii() {
        return !(r.is_ascii_alphanumeric() || r == '_');
    }
    if is_letter(r) || is_digit(r) {
        return false;
    }
    is_space(r)
}

/// `strings.TrimSpace`.
pub(crate) fn trim_space(s: &[u8]) -> &[u8] {
    let mut start = 0;
    while start < s.len() {
        let (c, w) = decode_rune(&s[start..]);
        if !(is_space(c) && !(c == RUNE_ERROR && w == 1)) {
            break;
        }
        start += w;
    }
    let mut end = s.len();
    while end > start {
        let (c, w) = decode_last_rune(&s[start..end]);
        if !(is_space(c) && !(c == RUNE_ERROR && w == 1)) {
            break;
        }
        end -= w;
    }
    &s[start..end]
}

/// `utf8.DecodeLastRune`.
pub(crate) fn decode_last_rune(b: &[u8]) -> (char, usize) {
    if b.is_empty() {
        return (RUNE_ERROR, 0);
    }
    let end = b.len();
    let lim = end.saturating_sub(4);
    let mut start = end - 1;
    while start > lim && (b[start] & 0xC0) == 0x80 {
        start -= 1;
    }
    let (c, w) = decode_rune(&b[start..end]);
    if start + w != end {
        return (RUNE_ERROR, 1);
    }
    (c, w)
}

/// `strings.Trim(s, cutset)`.
pub(crate) fn trim_cutset<'a>(s: &'a [u8], cutset: &[u8]) -> &'a [u8] {
    if s.is_empty() || cutset.is_empty() {
        return s;
    }
    let set: Vec<char> = runes(cutset).map(|(_, c, _)| c).collect();
    let mut start = 0;
    while start < s.len() {
        let (c, w) = decode_rune(&s[start..]);
        if !set.contains(&c) {
            break;
        }
        start += w;
    }
    let mut end = s.len();
    while end > start {
        let (c, w) = decode_last_rune(&s[start..end]);
        if !set.contains(&c) {
            break;
        }
        end -= w;
    }
    &s[start..end]
}

/// Finds `needle` in `hay` (byte-wise), like `strings.Index`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    if needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `strings.Replace(s, old, new, -1)`, including Go's rule for an empty `old` (insert `new`
/// before every rune and at the end).
pub(crate) fn replace_all(s: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    if old == new {
        return s.to_vec();
    }
    let mut out = Vec::with_capacity(s.len());
    if old.is_empty() {
        out.extend_from_slice(new);
        for (i, _, w) in runes(s) {
            out.extend_from_slice(&s[i..i + w]);
            out.extend_from_slice(new);
        }
        return out;
    }
    let mut rest = s;
    while let Some(at) = find(rest, old) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(new);
        rest = &rest[at + old.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Go's `strconv.Quote` (or `QuoteToASCII` when `ascii_only`) with the given quote byte.
pub(crate) fn quote_with(out: &mut Vec<u8>, s: &[u8], quote: u8, ascii_only: bool) {
    out.push(quote);
    let mut i = 0;
    while i < s.len() {
        let (c, w) = decode_rune(&s[i..]);
        if w == 1 && c == RUNE_ERROR {
            out.extend_from_slice(b"\\x");
            push_hex2(out, s[i]);
            i += 1;
            continue;
        }
        escape_rune(out, c, quote, ascii_only);
        i += w;
    }
    out.push(quote);
}

fn push_hex2(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(HEX[(b >> 4) as usize]);
    out.push(HEX[(b & 15) as usize]);
}

/// Go's `appendEscapedRune`.
pub(crate) fn escape_rune(out: &mut Vec<u8>, c: char, quote: u8, ascii_only: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if c as u32 == u32::from(quote) || c == '\\' {
        out.push(b'\\');
        out.push(c as u8);
        return;
    }
    if ascii_only {
        if c.is_ascii() && is_print(c) {
            out.push(c as u8);
            return;
        }
    } else if is_print(c) {
        push_rune(out, c);
        return;
    }
    match c {
        '\u{7}' => out.extend_from_slice(b"\\a"),
        '\u{8}' => out.extend_from_slice(b"\\b"),
        '\u{c}' => out.extend_from_slice(b"\\f"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        '\u{b}' => out.extend_from_slice(b"\\v"),
        _ => {
            let u = c as u32;
            if u < 0x20 || u == 0x7f {
                out.extend_from_slice(b"\\x");
                push_hex2(out, u as u8);
            } else if u < 0x10000 {
                out.extend_from_slice(b"\\u");
                for shift in (0..4).rev() {
                    out.push(HEX[((u >> (shift * 4)) & 15) as usize]);
                }
            } else {
                out.extend_from_slice(b"\\U");
                for shift in (0..8).rev() {
                    out.push(HEX[((u >> (shift * 4)) & 15) as usize]);
                }
            }
        }
    }
}

/// `strconv.CanBackquote`.
pub(crate) fn can_backquote(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        let (c, w) = decode_rune(&s[i..]);
        i += w;
        if w > 1 {
            if c == '\u{FEFF}' {
                return false;
            }
            continue;
        }
        if c == RUNE_ERROR {
            return false;
        }
        if (c < ' ' && c != '\t') || c == '`' || c == '\u{7f}' {
            return false;
        }
    }
    true
}

/// Converts Go output bytes into a `String` as Go's `encoding/json` does: every invalid
/// byte becomes `U+FFFD`.
pub(crate) fn to_string_lossy_go(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => runes(b).map(|(_, c, _)| c).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_decode_as_rune_error_of_width_one() {
        assert_eq!(decode_rune(b"\xffa"), (RUNE_ERROR, 1));
        assert_eq!(decode_rune("é".as_bytes()), ('é', 2));
        assert_eq!(decode_rune(b"\xc3"), (RUNE_ERROR, 1));
        assert_eq!(decode_last_rune("aé".as_bytes()), ('é', 2));
        assert_eq!(decode_last_rune(b"a\xa9"), (RUNE_ERROR, 1));
    }

    #[test]
    fn case_mapping_is_simple_like_go() {
        assert_eq!(upper("straße".as_bytes()), "STRAßE".as_bytes());
        assert_eq!(lower("İ".as_bytes()), b"i");
        assert_eq!(title(b"hello wORLD-x_y"), b"Hello WORLD-X_y");
        assert_eq!(lower(b"\xffA"), "\u{FFFD}a".as_bytes());
    }

    #[test]
    fn quoting_matches_strconv() {
        let mut out = Vec::new();
        quote_with(&mut out, b"a\"\n\xff\x01\xc3\xa9", b'"', false);
        assert_eq!(out, "\"a\\\"\\n\\xff\\x01é\"".as_bytes());
        out.clear();
        quote_with(&mut out, "é".as_bytes(), b'"', true);
        assert_eq!(out, b"\"\\u00e9\"");
    }

    #[test]
    fn replace_with_empty_old_inserts_between_runes() {
        assert_eq!(replace_all(b"ab", b"", b"-"), b"-a-b-");
        assert_eq!(replace_all(b"aaa", b"a", b"b"), b"bbb");
    }
}
