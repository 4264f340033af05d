//! Go `regexp` (RE2 syntax) on top of the `regex` crate: the pattern is translated so that
//! Go's meaning is kept (ASCII-only `\d \s \w \b`, `\Q..\E`, octal escapes, literal `{`,
//! no stacked repetition), and `ReplaceAllString` follows Go's loop and `Expand` rules.

use regex::bytes::{Regex, RegexBuilder};

use super::gostr;

/// A compiled Go regular expression.
pub(crate) struct GoRegex {
    re: Regex,
    names: Vec<Option<String>>,
}

fn err(msg: &str, arg: &str) -> String {
    format!("error parsing regexp: {msg}: `{arg}`")
}

const PERL_D: &str = "0-9";
const PERL_S: &str = "\\t\\n\\x0C\\r ";
const PERL_W: &str = "0-9A-Za-z_";

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    }
}

/// Parses a Go repeat `{n}`, `{n,}`, `{n,m}` at the start of `s`; returns (min, max, len).
fn parse_repeat(s: &[char]) -> Option<(u32, Option<u32>, usize)> {
    if s.first() != Some(&'{') {
        return None;
    }
    let mut i = 1;
    let num = |i: &mut usize| -> Option<u32> {
        let start = *i;
        while *i < s.len() && s[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == start {
            return None;
        }
        let text: String = s[start..*i].iter().collect();
        Some(text.parse::<u32>().unwrap_or(u32::MAX))
    };
    let min = num(&mut i)?;
    let max;
    if i < s.len() && s[i] == ',' {
        i += 1;
        if i < s.len() && s[i] == '}' {
            max = None;
        } else {
            max = Some(num(&mut i)?);
        }
    } else {
        max = Some(min);
    }
    if i >= s.len() || s[i] != '}' {
        return None;
    }
    Some((min, max, i + 1))
}

/// Translates Go syntax into the `regex` crate's syntax.
fn translate(pattern: &str) -> Result<String, String> {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    // Whether the previous item was a repetition operator (Go rejects stacking them) and
    // whether there is anything to repeat.
    let mut last_repeat: Option<usize> = None;
    let mut can_repeat = false;
    while i < p.len() {
        let c = p[i];
        let mut this_repeat = None;
        match c {
            '\\' => {
                let Some(&e) = p.get(i + 1) else {
                    return Err(err("trailing backslash at end of expression", ""));
                };
                i += 2;
                match e {
                    'd' => out.push_str(&format!("[{PERL_D}]")),
                    'D' => out.push_str(&format!("[^{PERL_D}]")),
                    's' => out.push_str(&format!("[{PERL_S}]")),
                    'S' => out.push_str(&format!("[^{PERL_S}]")),
                    'w' => out.push_str(&format!("[{PERL_W}]")),
                    'W' => out.push_str(&format!("[^{PERL_W}]")),
                    'b' => out.push_str("(?-u:\\b)"),
                    'B' => out.push_str("(?-u:\\B)"),
                    'A' | 'z' => {
                        out.push('\\');
                        out.push(e);
                    }
                    'Q' => {
                        let rest: String = p[i..].iter().collect();
                        let (lit, tail) = match rest.find("\\E") {
                            Some(at) => (rest[..at].to_string(), at + 2),
                            None => (rest.clone(), rest.len()),
                        };
                        let n = lit.chars().count();
                        for ch in lit.chars() {
                            push_literal(&mut out, ch);
                        }
                        i += rest[..tail].chars().count();
                        can_repeat = n > 0;
                        last_repeat = None;
                        continue;
                    }
                    'p' | 'P' => {
                        out.push('\\');
                        out.push(e);
                        if p.get(i) == Some(&'{') {
                            while i < p.len() {
                                out.push(p[i]);
                                i += 1;
                                if p[i - 1] == '}' {
                                    break;
                                }
                            }
                        } else if let Some(&n) = p.get(i) {
                            out.push(n);
                            i += 1;
                        }
                    }
                    _ => i = escape(&p, i, e, &mut out)?,
                }
                can_repeat = !matches!(e, 'b' | 'B' | 'A' | 'z');
            }
            '[' => {
                i = class(&p, i, &mut out)?;
                can_repeat = true;
            }
            '*' | '+' | '?' => {
                if let Some(prev) = last_repeat {
                    let s: String = p[prev..=i].iter().collect();
                    return Err(err("invalid nested repetition operator", &s));
                }
                if !can_repeat {
                    return Err(err(
                        "missing argument to repetition operator",
                        &c.to_string(),
                    ));
                }
                out.push(c);
                this_repeat = Some(i);
                i += 1;
                if p.get(i) == Some(&'?') {
                    out.push('?');
                    i += 1;
                }
            }
            '{' => match parse_repeat(&p[i..]) {
                Some((min, max, len)) => {
                    let text: String = p[i..i + len].iter().collect();
                    if min > 1000 || max.is_some_and(|m| m > 1000 || m < min) {
                        return Err(err("invalid repeat count", &text));
                    }
                    if let Some(prev) = last_repeat {
                        let s: String = p[prev..i + len].iter().collect();
                        return Err(err("invalid nested repetition operator", &s));
                    }
                    if !can_repeat {
                        return Err(err("missing argument to repetition operator", &text));
                    }
                    out.push_str(&text);
                    this_repeat = Some(i);
                    i += len;
                    if p.get(i) == Some(&'?') {
                        out.push('?');
                        i += 1;
                    }
                }
                None => {
                    out.push_str("\\{");
                    i += 1;
                    can_repeat = true;
                }
            },
            '}' => {
                out.push_str("\\}");
                i += 1;
                can_repeat = true;
            }
            '(' => {
                if p.get(i + 1) == Some(&'?') {
                    // Flags or a named group: Go accepts (?P<name>, (?<name> and the flags imsU.
                    let rest: String = p[i + 2..].iter().collect();
                    if rest.starts_with("P<") || rest.starts_with('<') {
                        let open = rest.find('<').unwrap_or(0);
                        let Some(close) = rest.find('>') else {
                            return Err(err("invalid named capture", &format!("(?{rest}")));
                        };
                        let name = &rest[open + 1..close];
                        if name.is_empty()
                            || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
                        {
                            return Err(err(
                                "invalid named capture",
                                &format!("(?{}", &rest[..=close]),
                            ));
                        }
                        out.push_str("(?P<");
                        out.push_str(name);
                        out.push('>');
                        i += 2 + rest[..=close].chars().count();
                    } else {
                        let mut j = i + 2;
                        while j < p.len() && p[j] != ')' && p[j] != ':' {
                            if !matches!(p[j], 'i' | 'm' | 's' | 'U' | '-') {
                                let s: String = p[i..(j + 1).min(p.len())].iter().collect();
                                return Err(err("invalid or unsupported Perl syntax", &s));
                            }
                            j += 1;
                        }
                        if j >= p.len() {
                            let s: String = p[i..].iter().collect();
                            return Err(err("missing closing )", &s));
                        }
                        let flags: String = p[i + 2..j].iter().collect();
                        if flags.is_empty()
                            || flags.ends_with('-')
                            || flags.matches('-').count() > 1
                        {
                            let s: String = p[i..=j].iter().collect();
                            return Err(err("invalid or unsupported Perl syntax", &s));
                        }
                        out.push_str(&p[i..=j].iter().collect::<String>());
                        let is_group = p[j] == ':';
                        i = j + 1;
                        if !is_group {
                            // A bare flag setting repeats nothing.
                            can_repeat = false;
                            last_repeat = None;
                            continue;
                        }
                    }
                } else {
                    out.push('(');
                    i += 1;
                }
                can_repeat = false;
                last_repeat = None;
                continue;
            }
            ')' => {
                out.push(')');
                i += 1;
                can_repeat = true;
            }
            '|' => {
                out.push('|');
                i += 1;
                can_repeat = false;
                last_repeat = None;
                continue;
            }
            '^' | '$' => {
                out.push(c);
                i += 1;
                can_repeat = true;
            }
            '.' => {
                out.push('.');
                i += 1;
                can_repeat = true;
            }
            _ => {
                push_literal(&mut out, c);
                i += 1;
                can_repeat = true;
            }
        }
        last_repeat = this_repeat;
    }
    Ok(out)
}

/// Translates a non-class escape `\e` (after the letter, at `i`); returns the new index.
fn escape(p: &[char], mut i: usize, e: char, out: &mut String) -> Result<usize, String> {
    match e {
        '1'..='7' if !p.get(i).is_some_and(|c| ('0'..='7').contains(c)) => {
            Err(err("invalid escape sequence", &format!("\\{e}")))
        }
        '0'..='7' => {
            let mut r = e as u32 - '0' as u32;
            for _ in 1..3 {
                match p.get(i) {
                    Some(&d) if ('0'..='7').contains(&d) => {
                        r = r * 8 + (d as u32 - '0' as u32);
                        i += 1;
                    }
                    _ => break,
                }
            }
            out.push_str(&format!("\\x{{{r:X}}}"));
            Ok(i)
        }
        'x' => {
            if p.get(i) == Some(&'{') {
                let mut j = i + 1;
                let mut v: u32 = 0;
                while j < p.len() && p[j].is_ascii_hexdigit() {
                    v = v
                        .saturating_mul(16)
                        .saturating_add(p[j].to_digit(16).unwrap_or(0));
                    j += 1;
                }
                if j == i + 1 || j >= p.len() || p[j] != '}' || v > 0x10FFFF {
                    return Err(err("invalid escape sequence", "\\x"));
                }
                out.push_str(&format!("\\x{{{v:X}}}"));
                return Ok(j + 1);
            }
            match (p.get(i), p.get(i + 1)) {
                (Some(a), Some(b)) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => {
                    out.push_str(&format!("\\x{{{a}{b}}}"));
                    Ok(i + 2)
                }
                _ => Err(err("invalid escape sequence", "\\x")),
            }
        }
        'a' => {
            out.push_str("\\x{7}");
            Ok(i)
        }
        'f' => {
            out.push_str("\\x{C}");
            Ok(i)
        }
        't' => {
            out.push_str("\\t");
            Ok(i)
        }
        'n' => {
            out.push_str("\\n");
            Ok(i)
        }
        'r' => {
            out.push_str("\\r");
            Ok(i)
        }
        'v' => {
            out.push_str("\\x{B}");
            Ok(i)
        }
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => {
            push_literal(out, c);
            Ok(i)
        }
        c => Err(err("invalid escape sequence", &format!("\\{c}"))),
    }
}

/// Translates a character class starting at `p[i] == '['`; returns the index after it.
fn class(p: &[char], mut i: usize, out: &mut String) -> Result<usize, String> {
    let start = i;
    out.push('[');
    i += 1;
    if p.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = p.get(i) else {
            let s: String = p[start..].iter().collect();
            return Err(err("missing closing ]", &s));
        };
        if c == ']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        first = false;
        match c {
            '[' if p.get(i + 1) == Some(&':') => {
                // POSIX class: copy through ":]".
                let rest: String = p[i..].iter().collect();
                match rest.find(":]") {
                    Some(at) if at >= 2 => {
                        let name = &rest[..at + 2];
                        let known = [
                            "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower",
                            "print", "punct", "space", "upper", "word", "xdigit",
                        ];
                        let inner = name[2..name.len() - 2].trim_start_matches('^');
                        if !known.contains(&inner) {
                            return Err(err("invalid character class range", name));
                        }
                        out.push_str(name);
                        i += name.chars().count();
                    }
                    _ => {
                        out.push_str("\\[");
                        i += 1;
                    }
                }
            }
            '\\' => {
                let Some(&e) = p.get(i + 1) else {
                    return Err(err("trailing backslash at end of expression", ""));
                };
                i += 2;
                match e {
                    'd' => out.push_str(PERL_D),
                    'D' => out.push_str(&format!("[^{PERL_D}]")),
                    's' => out.push_str(PERL_S),
                    'S' => out.push_str(&format!("[^{PERL_S}]")),
                    'w' => out.push_str(PERL_W),
                    'W' => out.push_str(&format!("[^{PERL_W}]")),
                    'p' | 'P' => {
                        out.push('\\');
                        out.push(e);
                        if p.get(i) == Some(&'{') {
                            while i < p.len() {
                                out.push(p[i]);
                                i += 1;
                                if p[i - 1] == '}' {
                                    break;
                                }
                            }
                        } else if let Some(&n) = p.get(i) {
                            out.push(n);
                            i += 1;
                        }
                    }
                    _ => i = escape(p, i, e, out)?,
                }
            }
            '-' => {
                out.push('-');
                i += 1;
            }
            c => {
                push_literal(out, c);
                i += 1;
            }
        }
    }
}

/// How many compiled patterns each thread keeps (compiling dominates a render otherwise).
const CACHE_SIZE: usize = 32;

thread_local! {
    static CACHE: std::cell::RefCell<Vec<(Vec<u8>, std::rc::Rc<GoRegex>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

impl GoRegex {
    /// Compiles a Go regular expression, reusing a recently compiled one of this thread.
    pub(crate) fn compile_cached(pattern: &[u8]) -> Result<std::rc::Rc<GoRegex>, String> {
        if let Some(hit) = CACHE.with(|c| {
            c.borrow()
                .iter()
                .find(|(p, _)| p == pattern)
                .map(|(_, r)| r.clone())
        }) {
            return Ok(hit);
        }
        let compiled = std::rc::Rc::new(GoRegex::compile(pattern)?);
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= CACHE_SIZE {
                c.remove(0);
            }
            c.push((pattern.to_vec(), compiled.clone()));
        });
        Ok(compiled)
    }

    /// Compiles a Go regular expression.
    pub(crate) fn compile(pattern: &[u8]) -> Result<GoRegex, String> {
        let pattern = std::str::from_utf8(pattern).map_err(|_| err("invalid UTF-8", ""))?;
        let translated = translate(pattern)?;
        let re = RegexBuilder::new(&translated)
            .nest_limit(1000)
            .size_limit(8 << 20)
            .build()
            .map_err(|e| format!("error parsing regexp: {e}"))?;
        let names = re.capture_names().map(|n| n.map(str::to_owned)).collect();
        Ok(GoRegex { re, names })
    }

    /// `Regexp.ReplaceAllString(src, repl)` with `$name` expansion.
    pub(crate) fn replace_all(
        &self,
        src: &[u8],
        repl: &[u8],
        limit: usize,
    ) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(src.len());
        let mut last_match_end = 0;
        let mut search_pos = 0;
        let mut locs = self.re.capture_locations();
        while search_pos <= src.len() {
            let Some(m) = self.re.captures_read_at(&mut locs, src, search_pos) else {
                break;
            };
            let (a0, a1) = (m.start(), m.end());
            out.extend_from_slice(&src[last_match_end..a0]);
            if a1 > last_match_end || a0 == 0 {
                self.expand(&mut out, repl, src, &locs);
            }
            if out.len() > limit {
                return Err("output size limit exceeded".into());
            }
            last_match_end = a1;
            let (_, width) = gostr::decode_rune(&src[search_pos..]);
            if search_pos + width > a1 {
                search_pos += width;
            } else if search_pos + 1 > a1 {
                search_pos += 1;
            } else {
                search_pos = a1;
            }
        }
        out.extend_from_slice(&src[last_match_end..]);
        Ok(out)
    }

    fn expand(
        &self,
        out: &mut Vec<u8>,
        template: &[u8],
        src: &[u8],
        locs: &regex::bytes::CaptureLocations,
    ) {
        let mut t = template;
        while let Some(at) = t.iter().position(|&c| c == b'$') {
            out.extend_from_slice(&t[..at]);
            t = &t[at + 1..];
            if t.first() == Some(&b'$') {
                out.push(b'$');
                t = &t[1..];
                continue;
            }
            let Some((name, num, rest)) = extract(t) else {
                out.push(b'$');
                continue;
            };
            t = rest;
            let group = match num {
                Some(n) => Some(n),
                None => self
                    .names
                    .iter()
                    .position(|g| g.as_deref().is_some_and(|g| g.as_bytes() == name)),
            };
            if let Some((s, e)) = group.and_then(|g| locs.get(g)) {
                out.extend_from_slice(&src[s..e]);
            }
        }
        out.extend_from_slice(t);
    }
}

/// Go's `extract`: a `name` or `{name}` after `$`; the number when it is a plain index.
fn extract(s: &[u8]) -> Option<(&[u8], Option<usize>, &[u8])> {
    let mut s = s;
    if s.is_empty() {
        return None;
    }
    let brace = s[0] == b'{';
    if brace {
        s = &s[1..];
    }
    let mut i = 0;
    while i < s.len() {
        let (r, w) = gostr::decode_rune(&s[i..]);
        if !(gostr::is_letter(r) || gostr::is_digit(r) || r == '_')
            || (r == gostr::RUNE_ERROR && w == 1)
        {
            break;
        }
        i += w;
    }
    if i == 0 {
        return None;
    }
    let name = &s[..i];
    if brace {
        if i >= s.len() || s[i] != b'}' {
            return None;
        }
        i += 1;
    }
    let mut num: Option<usize> = Some(0);
    for &c in name {
        match num {
            Some(n) if c.is_ascii_digit() && n < 100_000_000 => {
                num = Some(n * 10 + usize::from(c - b'0'))
            }
            _ => {
                num = None;
                break;
            }
        }
    }
    if name[0] == b'0' && name.len() > 1 {
        num = None;
    }
    Some((name, num, &s[i..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(p: &str, s: &str, repl: &str) -> String {
        let re = GoRegex::compile(p.as_bytes()).unwrap();
        String::from_utf8(
            re.replace_all(s.as_bytes(), repl.as_bytes(), 1 << 20)
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn replace_all_matches_go() {
        assert_eq!(r("a(x*)b", "-ab-axxb-", "${1}W"), "-W-xxW-");
        assert_eq!(r("a(x*)b", "-ab-axxb-", "$1W"), "---");
        assert_eq!(r("a(?P<x>x*)b", "-axb-", "[$x]"), "-[x]-");
        assert_eq!(r("x*", "abc", "-"), "-a-b-c-");
        assert_eq!(r("\\d+", "a١2b", "#"), "a١#b");
        assert_eq!(r("a{,2}", "a{,2}", "X"), "X");
        assert_eq!(r("[[a]", "[a", "X"), "XX");
        assert_eq!(r("\\Q.*\\E", "a.*b", "X"), "aXb");
        assert_eq!(r("\\101", "A", "X"), "X");
        assert_eq!(r("$", "ab", "$$"), "ab$");
    }

    #[test]
    fn go_syntax_errors_are_errors() {
        for p in ["a**", "(?x)a", "\\8", "a{1001}", "[a", "*", "\\e", "a{2}*"] {
            assert!(GoRegex::compile(p.as_bytes()).is_err(), "{p}");
        }
    }
}
