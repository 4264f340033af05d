//! Go's `strconv` number syntax and float formatting, as the template engine, `fmt` and
//! `spf13/cast` rely on them: base-prefixed integers with underscores, decimal and hexadecimal
//! floats, and `FormatFloat` with the `e E f g G x X b` formats.

/// Whether the underscores in a number literal separate digits as Go's syntax requires.
pub(crate) fn underscore_ok(s: &[u8]) -> bool {
    let mut saw = b'^';
    let mut i = 0;
    let mut s = s;
    if !s.is_empty() && (s[0] == b'-' || s[0] == b'+') {
        s = &s[1..];
    }
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1].eq_ignore_ascii_case(&b'x');
    }
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() || (hex && c.to_ascii_lowercase().is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseUint(s, 0, 64)`.
pub(crate) fn parse_uint_base0(s0: &[u8]) -> Option<u64> {
    if s0.is_empty() {
        return None;
    }
    let mut s = s0;
    let base: u64;
    if s[0] == b'0' {
        if s.len() >= 3 && s[1].eq_ignore_ascii_case(&b'x') {
            base = 16;
            s = &s[2..];
        } else if s.len() >= 3 && s[1].eq_ignore_ascii_case(&b'o') {
            base = 8;
            s = &s[2..];
        } else if s.len() >= 3 && s[1].eq_ignore_ascii_case(&b'b') {
            base = 2;
            s = &s[2..];
        } else {
            base = 8;
            s = &s[1..];
        }
    } else {
        base = 10;
    }
    let mut n: u64 = 0;
    let mut underscores = false;
    for &c in s {
        let d = match c {
            b'_' => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' | b'A'..=b'Z' => c.to_ascii_lowercase() - b'a' + 10,
            _ => return None,
        };
        if u64::from(d) >= base {
            return None;
        }
        n = n.checked_mul(base)?.checked_add(u64::from(d))?;
    }
    if underscores && !underscore_ok(s0) {
        return None;
    }
    Some(n)
}

/// `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn parse_int_base0(s: &[u8]) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let (neg, rest) = match s[0] {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let un = parse_uint_base0(rest)?;
    if neg {
        if un > 1u64 << 63 {
            None
        } else {
            Some((un as i64).wrapping_neg())
        }
    } else if un >= 1u64 << 63 {
        None
    } else {
        Some(un as i64)
    }
}

/// `strconv.ParseFloat(s, 64)`: `None` on a syntax or range error.
pub(crate) fn parse_float(s: &[u8]) -> Option<f64> {
    if let Some(v) = special_float(s) {
        return Some(v);
    }
    let (neg, body) = match s.first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if !float_syntax_ok(s) {
        return None;
    }
    let value = if body.len() > 2 && body[0] == b'0' && body[1].eq_ignore_ascii_case(&b'x') {
        parse_hex_float(&body[2..])?
    } else {
        let cleaned: String = body
            .iter()
            .filter(|&&c| c != b'_')
            .map(|&c| c as char)
            .collect();
        cleaned.parse::<f64>().ok()?
    };
    if value.is_infinite() {
        return None;
    }
    Some(if neg { -value } else { value })
}

fn special_float(s: &[u8]) -> Option<f64> {
    let (sign, body) = match s.first() {
        Some(b'+') => (1.0, &s[1..]),
        Some(b'-') => (-1.0, &s[1..]),
        _ => (0.0, s),
    };
    let lower: Vec<u8> = body.iter().map(u8::to_ascii_lowercase).collect();
    match lower.as_slice() {
        b"inf" | b"infinity" => Some(if sign < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }),
        b"nan" if sign == 0.0 => Some(f64::NAN),
        _ => None,
    }
}

/// Go's `readFloat` syntax check: the whole string must be consumed.
fn float_syntax_ok(s: &[u8]) -> bool {
    let mut i = 0;
    let mut underscores = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        i += 1;
    }
    let mut hex = false;
    if i + 2 < s.len() && s[i] == b'0' && s[i + 1].eq_ignore_ascii_case(&b'x') {
        hex = true;
        i += 2;
    }
    let mut sawdot = false;
    let mut sawdigits = false;
    while i < s.len() {
        let c = s[i];
        if c == b'_' {
            underscores = true;
        } else if c == b'.' {
            if sawdot {
                break;
            }
            sawdot = true;
        } else if c.is_ascii_digit() || (hex && c.to_ascii_lowercase().is_ascii_hexdigit()) {
            sawdigits = true;
        } else {
            break;
        }
        i += 1;
    }
    if !sawdigits {
        return false;
    }
    let exp_char = if hex { b'p' } else { b'e' };
    if i < s.len() && s[i].to_ascii_lowercase() == exp_char {
        i += 1;
        if i >= s.len() {
            return false;
        }
        if s[i] == b'+' || s[i] == b'-' {
            i += 1;
        }
        if i >= s.len() || !s[i].is_ascii_digit() {
            return false;
        }
        while i < s.len() && (s[i].is_ascii_digit() || s[i] == b'_') {
            if s[i] == b'_' {
                underscores = true;
            }
            i += 1;
        }
    } else if hex {
        return false;
    }
    if underscores && !underscore_ok(&s[..i]) {
        return false;
    }
    i == s.len()
}

/// Parses the part after `0x` of a validated hexadecimal float, rounding to nearest even.
fn parse_hex_float(s: &[u8]) -> Option<f64> {
    let mut mant: u64 = 0;
    let mut sticky = false;
    let mut exp: i64 = 0;
    let mut sawdot = false;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'_' {
            i += 1;
            continue;
        }
        if c == b'.' {
            sawdot = true;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else {
            break;
        };
        if mant >> 60 == 0 {
            mant = mant * 16 + u64::from(d);
            if sawdot {
                exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !sawdot {
                exp += 4;
            }
        }
        i += 1;
    }
    // Exponent after 'p'.
    i += 1;
    let mut esign = 1i64;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        if s[i] == b'-' {
            esign = -1;
        }
        i += 1;
    }
    let mut e: i64 = 0;
    while i < s.len() {
        if s[i] != b'_' && e < 100_000 {
            e = e * 10 + i64::from(s[i] - b'0');
        }
        i += 1;
    }
    exp += esign * e;
    if mant == 0 {
        return Some(0.0);
    }
    // Normalise to exactly 64 significant bits, folding dropped bits into a sticky bit.
    let lz = mant.leading_zeros();
    mant <<= lz;
    exp -= i64::from(lz);
    // Value = mant * 2^exp with mant in [2^63, 2^64). Binary exponent of the leading bit:
    let top = exp + 63;
    // Number of mantissa bits kept: 53 for normal numbers, fewer for subnormals.
    let keep: i64 = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    if keep <= 0 {
        // Below half the smallest subnormal (or exactly half, which rounds to even zero).
        let half = keep == 0 && (mant > 1 << 63 || sticky);
        return Some(if half { f64::from_bits(1) } else { 0.0 });
    }
    let drop = 64 - keep as u32;
    let kept = mant >> drop;
    let rem = mant & ((1u64 << drop) - 1);
    let halfway = 1u64 << (drop - 1);
    let mut m = kept;
    if rem > halfway || (rem == halfway && (sticky || kept & 1 == 1)) {
        m += 1;
    }
    let scale = exp + i64::from(drop);
    Some(ldexp(m as f64, scale))
}

fn ldexp(mut x: f64, mut e: i64) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
        if x.is_infinite() {
            return x;
        }
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e as i32)
}

/// Go's conversion `int64(f)` on amd64: out-of-range and NaN give the minimum value.
pub(crate) fn f64_to_i64(f: f64) -> i64 {
    if f.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// Decimal digits of a float: `digits` (no leading or trailing zeros) and decimal point `dp`.
struct Decimal {
    digits: Vec<u8>,
    dp: i64,
}

fn decimal_from_sci(s: &str) -> Decimal {
    // s looks like "1.2345e-7" or "0e0" (no sign).
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return Decimal { digits, dp: 0 };
    }
    Decimal {
        digits,
        dp: exp + 1,
    }
}

fn shortest(v: f64) -> Decimal {
    decimal_from_sci(&format!("{:e}", v.abs()))
}

fn rounded_sig(v: f64, sig: usize) -> Decimal {
    let sig = sig.max(1);
    decimal_from_sci(&format!("{:.*e}", sig - 1, v.abs()))
}

fn rounded_fixed(v: f64, prec: usize) -> Decimal {
    let s = format!("{:.*}", prec, v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let all: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let lead = all.iter().take_while(|&&c| c == b'0').count();
    let mut digits = all[lead..].to_vec();
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return Decimal { digits, dp: 0 };
    }
    let dp = int.len() as i64 - lead as i64;
    Decimal { digits, dp }
}

/// `strconv.FormatFloat(v, fmt, prec, 64)`.
pub(crate) fn format_float(v: f64, fmt: u8, prec: i64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = v.is_sign_negative();
    let bits = v.to_bits();
    match fmt {
        b'b' => {
            let exp = ((bits >> 52) & 0x7ff) as i64;
            let mut mant = bits & ((1 << 52) - 1);
            let mut e = exp;
            if exp == 0 {
                e += 1;
            } else {
                mant |= 1 << 52;
            }
            e += -1023 - 52;
            let mut out = String::new();
            if neg {
                out.push('-');
            }
            out.push_str(&mant.to_string());
            out.push('p');
            if e >= 0 {
                out.push('+');
            }
            out.push_str(&e.to_string());
            return out;
        }
        b'x' | b'X' => return format_hex_float(v, fmt, prec),
        _ => {}
    }
    let is_shortest = prec < 0;
    let mut prec = prec;
    let d = if is_shortest {
        let d = shortest(v);
        let nd = d.digits.len() as i64;
        prec = match fmt {
            b'e' | b'E' => nd - 1,
            b'f' => (nd - d.dp).max(0),
            _ => nd,
        };
        d
    } else {
        match fmt {
            b'e' | b'E' => rounded_sig(v, (prec + 1) as usize),
            b'f' => rounded_fixed(v, prec as usize),
            _ => {
                if prec == 0 {
                    prec = 1;
                }
                rounded_sig(v, prec as usize)
            }
        }
    };
    let mut out = String::new();
    match fmt {
        b'e' | b'E' => fmt_e(&mut out, neg, &d, prec, fmt),
        b'f' => fmt_f(&mut out, neg, &d, prec),
        _ => {
            let nd = d.digits.len() as i64;
            let mut eprec = prec;
            if eprec > nd && nd >= d.dp {
                eprec = nd;
            }
            if is_shortest {
                eprec = 6;
            }
            let exp = d.dp - 1;
            if exp < -4 || exp >= eprec {
                let mut p = prec;
                if p > nd {
                    p = nd;
                }
                fmt_e(&mut out, neg, &d, p - 1, fmt + b'e' - b'g');
            } else {
                let mut p = prec;
                if p > d.dp {
                    p = nd;
                }
                fmt_f(&mut out, neg, &d, (p - d.dp).max(0));
            }
        }
    }
    out
}

fn fmt_e(out: &mut String, neg: bool, d: &Decimal, prec: i64, fmt: u8) {
    if neg {
        out.push('-');
    }
    let first = d.digits.first().copied().unwrap_or(b'0');
    out.push(first as char);
    if prec > 0 {
        out.push('.');
        let mut i = 1;
        let m = (d.digits.len() as i64).min(prec + 1) as usize;
        if i < m {
            out.extend(d.digits[i..m].iter().map(|&c| c as char));
            i = m;
        }
        for _ in i as i64..=prec {
            out.push('0');
        }
    }
    out.push(fmt as char);
    let mut exp = d.dp - 1;
    if d.digits.is_empty() {
        exp = 0;
    }
    if exp < 0 {
        out.push('-');
        exp = -exp;
    } else {
        out.push('+');
    }
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
}

fn fmt_f(out: &mut String, neg: bool, d: &Decimal, prec: i64) {
    if neg {
        out.push('-');
    }
    let nd = d.digits.len() as i64;
    if d.dp > 0 {
        let m = nd.min(d.dp) as usize;
        out.extend(d.digits[..m].iter().map(|&c| c as char));
        for _ in m as i64..d.dp {
            out.push('0');
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = d.dp + i - 1;
            let ch = if 0 <= j && j < nd {
                d.digits[j as usize]
            } else {
                b'0'
            };
            out.push(ch as char);
        }
    }
}

fn format_hex_float(v: f64, fmt: u8, prec: i64) -> String {
    let bits = v.to_bits();
    let neg = bits >> 63 != 0;
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1 << 52) - 1);
    let mut exp = biased;
    if biased == 0 {
        exp += 1;
    } else {
        mant |= 1 << 52;
    }
    exp -= 1023;
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8; 16] = if fmt == b'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push('0');
    out.push(fmt as char);
    out.push((b'0' + ((mant >> 60) & 1) as u8) as char);
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    }
    out.push(if fmt == b'X' { 'P' } else { 'p' });
    if exp < 0 {
        out.push('-');
        exp = -exp;
    } else {
        out.push('+');
    }
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_go_base_prefixes_and_underscores() {
        assert_eq!(parse_int_base0(b"0x1F"), Some(31));
        assert_eq!(parse_int_base0(b"017"), Some(15));
        assert_eq!(parse_int_base0(b"0o17"), Some(15));
        assert_eq!(parse_int_base0(b"0b101"), Some(5));
        assert_eq!(parse_int_base0(b"1_000"), Some(1000));
        assert_eq!(parse_int_base0(b"1__0"), None);
        assert_eq!(parse_int_base0(b"08"), None);
        assert_eq!(parse_int_base0(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int_base0(b"9223372036854775808"), None);
        assert_eq!(parse_uint_base0(b"18446744073709551615"), Some(u64::MAX));
    }

    #[test]
    fn floats_parse_like_go() {
        assert_eq!(parse_float(b"1."), Some(1.0));
        assert_eq!(parse_float(b".5"), Some(0.5));
        assert_eq!(parse_float(b"1_0.5"), Some(10.5));
        assert_eq!(parse_float(b"0x1p4"), Some(16.0));
        assert_eq!(parse_float(b"0x1.8p1"), Some(3.0));
        assert_eq!(parse_float(b"0x10"), None);
        assert_eq!(parse_float(b"1e400"), None);
        assert_eq!(parse_float(b"1e"), None);
        assert_eq!(parse_float(b"abc"), None);
    }

    #[test]
    fn floats_format_like_go() {
        assert_eq!(format_float(3.0, b'g', -1), "3");
        assert_eq!(format_float(2.5, b'g', -1), "2.5");
        assert_eq!(format_float(1e21, b'g', -1), "1e+21");
        assert_eq!(format_float(1e6, b'g', -1), "1e+06");
        assert_eq!(format_float(123456.0, b'g', -1), "123456");
        assert_eq!(format_float(0.0001, b'g', -1), "0.0001");
        assert_eq!(format_float(0.00001, b'g', -1), "1e-05");
        assert_eq!(format_float(3.14259, b'f', 2), "3.14");
        assert_eq!(format_float(2.5, b'f', 0), "2");
        assert_eq!(format_float(0.0, b'e', 6), "0.000000e+00");
        assert_eq!(format_float(1234.5678, b'e', 3), "1.235e+03");
        assert_eq!(format_float(100.0, b'g', 5), "100");
        assert_eq!(format_float(1.0, b'x', -1), "0x1p+00");
        assert_eq!(format_float(3.0, b'x', -1), "0x1.8p+01");
        assert_eq!(format_float(1.0, b'b', -1), "4503599627370496p-52");
        assert_eq!(format_float(-0.0, b'g', -1), "-0");
    }
}
