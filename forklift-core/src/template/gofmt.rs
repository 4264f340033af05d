//! Go's `fmt.Sprint`, `fmt.Sprintln` and `fmt.Sprintf` over template values, including the
//! `%!verb(type=value)` error notation.

use super::gostr::{self, push_rune, rune_count, rune_from_u64};
use super::strconv::format_float;
use super::value::Value;

const LDIGITS: &[u8; 17] = b"0123456789abcdefx";
const UDIGITS: &[u8; 17] = b"0123456789ABCDEFX";

#[derive(Default, Clone, Copy)]
struct Flags {
    wid: usize,
    prec: usize,
    wid_present: bool,
    prec_present: bool,
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
}

struct Printer<'o> {
    buf: &'o mut Vec<u8>,
    f: Flags,
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub(crate) fn sprint(out: &mut Vec<u8>, args: &[Value<'_>]) {
    let mut p = Printer {
        buf: out,
        f: Flags::default(),
    };
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(b' ');
        }
        p.f = Flags::default();
        p.print_arg(arg, 'v');
        prev_string = is_string;
    }
}

/// `fmt.Sprintln`.
pub(crate) fn sprintln(out: &mut Vec<u8>, args: &[Value<'_>]) {
    let mut p = Printer {
        buf: out,
        f: Flags::default(),
    };
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(b' ');
        }
        p.f = Flags::default();
        p.print_arg(arg, 'v');
    }
    p.buf.push(b'\n');
}

fn too_large(x: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&x)
}

/// Go's `parsenum`: (number, is number, new index).
fn parsenum(s: &[u8], start: usize, end: usize) -> (i64, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let mut num: i64 = 0;
    let mut isnum = false;
    let mut i = start;
    while i < end && s[i].is_ascii_digit() {
        if too_large(num) {
            return (0, false, end);
        }
        num = num * 10 + i64::from(s[i] - b'0');
        isnum = true;
        i += 1;
    }
    (num, isnum, i)
}

fn int_from_arg(args: &[Value<'_>], arg_num: usize) -> (i64, bool, usize) {
    if arg_num >= args.len() {
        return (0, false, arg_num);
    }
    let (mut num, mut is_int) = match &args[arg_num] {
        Value::Int(i) | Value::Int64(i) => (*i, true),
        Value::Uint8(u) => (i64::from(*u), true),
        _ => (0, false),
    };
    if too_large(num) {
        num = 0;
        is_int = false;
    }
    (num, is_int, arg_num + 1)
}

fn parse_arg_number(format: &[u8]) -> (i64, usize, bool) {
    if format.len() < 3 {
        return (0, 1, false);
    }
    for i in 1..format.len() {
        if format[i] == b']' {
            let (width, ok, newi) = parsenum(format, 1, i);
            if !ok || newi != i {
                return (0, i + 1, false);
            }
            return (width - 1, i + 1, true);
        }
    }
    (0, 1, false)
}

/// `fmt.Sprintf`.
pub(crate) fn sprintf(out: &mut Vec<u8>, format: &[u8], args: &[Value<'_>]) {
    let mut p = Printer {
        buf: out,
        f: Flags::default(),
    };
    let end = format.len();
    let mut arg_num: usize = 0;
    let mut after_index;
    let mut reordered = false;
    let mut i = 0;
    'format: while i < end {
        let mut good_arg_num = true;
        let lasti = i;
        while i < end && format[i] != b'%' {
            i += 1;
        }
        if i > lasti {
            p.buf.extend_from_slice(&format[lasti..i]);
        }
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            let c = format[i];
            match c {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                _ => {
                    if c.is_ascii_lowercase() && arg_num < args.len() {
                        if c == b'v' {
                            p.f.sharp_v = p.f.sharp;
                            p.f.sharp = false;
                            p.f.plus_v = p.f.plus;
                            p.f.plus = false;
                        }
                        p.print_arg(&args[arg_num], c as char);
                        arg_num += 1;
                        i += 1;
                        continue 'format;
                    }
                    break;
                }
            }
            i += 1;
        }
        // Argument index.
        let arg_number = |arg_num: usize, i: usize, reordered: &mut bool, good: &mut bool| {
            if format.len() <= i || format[i] != b'[' {
                return (arg_num, i, false);
            }
            *reordered = true;
            let (index, wid, ok) = parse_arg_number(&format[i..]);
            if ok && 0 <= index && (index as usize) < args.len() {
                return (index as usize, i + wid, true);
            }
            *good = false;
            (arg_num, i + wid, ok)
        };
        (arg_num, i, after_index) = arg_number(arg_num, i, &mut reordered, &mut good_arg_num);
        if i < end && format[i] == b'*' {
            i += 1;
            let (w, present, n) = int_from_arg(args, arg_num);
            arg_num = n;
            p.f.wid_present = present;
            if !present {
                p.buf.extend_from_slice(b"%!(BADWIDTH)");
            }
            if w < 0 {
                p.f.wid = (-w) as usize;
                p.f.minus = true;
                p.f.zero = false;
            } else {
                p.f.wid = w as usize;
            }
            after_index = false;
        } else {
            let (w, present, ni) = parsenum(format, i, end);
            p.f.wid = w as usize;
            p.f.wid_present = present;
            i = ni;
            if after_index && p.f.wid_present {
                good_arg_num = false;
            }
        }
        if i + 1 < end && format[i] == b'.' {
            i += 1;
            if after_index {
                good_arg_num = false;
            }
            (arg_num, i, after_index) = arg_number(arg_num, i, &mut reordered, &mut good_arg_num);
            if i < end && format[i] == b'*' {
                i += 1;
                let (pr, present, n) = int_from_arg(args, arg_num);
                arg_num = n;
                p.f.prec_present = present;
                p.f.prec = pr.max(0) as usize;
                if pr < 0 {
                    p.f.prec = 0;
                    p.f.prec_present = false;
                }
                if !p.f.prec_present {
                    p.buf.extend_from_slice(b"%!(BADPREC)");
                }
                after_index = false;
            } else {
                let (pr, present, ni) = parsenum(format, i, end);
                i = ni;
                p.f.prec = pr as usize;
                p.f.prec_present = true;
                if !present {
                    p.f.prec = 0;
                }
            }
        }
        if !after_index {
            (arg_num, i, _) = arg_number(arg_num, i, &mut reordered, &mut good_arg_num);
        }
        if i >= end {
            p.buf.extend_from_slice(b"%!(NOVERB)");
            break;
        }
        let (verb, size) = if format[i] < 0x80 {
            (format[i] as char, 1)
        } else {
            gostr::decode_rune(&format[i..])
        };
        i += size;
        if verb == '%' {
            p.buf.push(b'%');
        } else if !good_arg_num {
            p.buf.extend_from_slice(b"%!");
            push_rune(p.buf, verb);
            p.buf.extend_from_slice(b"(BADINDEX)");
        } else if arg_num >= args.len() {
            p.buf.extend_from_slice(b"%!");
            push_rune(p.buf, verb);
            p.buf.extend_from_slice(b"(MISSING)");
        } else {
            if verb == 'v' {
                p.f.sharp_v = p.f.sharp;
                p.f.sharp = false;
                p.f.plus_v = p.f.plus;
                p.f.plus = false;
            }
            p.print_arg(&args[arg_num], verb);
            arg_num += 1;
        }
    }
    if !reordered && arg_num < args.len() {
        p.f = Flags::default();
        p.buf.extend_from_slice(b"%!(EXTRA ");
        for (k, arg) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                p.buf.extend_from_slice(b", ");
            }
            if let Value::Invalid = arg {
                p.buf.extend_from_slice(b"<nil>");
            } else {
                p.buf.extend_from_slice(arg.type_name().as_bytes());
                p.buf.push(b'=');
                p.print_arg(arg, 'v');
            }
        }
        p.buf.push(b')');
    }
}

impl Printer<'_> {
    fn write_padding(&mut self, n: i64) {
        if n <= 0 {
            return;
        }
        let b = if self.f.zero { b'0' } else { b' ' };
        self.buf.extend(std::iter::repeat_n(b, n as usize));
    }

    fn pad(&mut self, b: &[u8]) {
        if !self.f.wid_present || self.f.wid == 0 {
            self.buf.extend_from_slice(b);
            return;
        }
        let width = self.f.wid as i64 - rune_count(b) as i64;
        if !self.f.minus {
            self.write_padding(width);
            self.buf.extend_from_slice(b);
        } else {
            self.buf.extend_from_slice(b);
            self.write_padding(width);
        }
    }

    fn bad_verb(&mut self, arg: &Value<'_>, verb: char) {
        self.buf.extend_from_slice(b"%!");
        push_rune(self.buf, verb);
        self.buf.push(b'(');
        match arg {
            Value::Invalid => self.buf.extend_from_slice(b"<nil>"),
            _ => {
                self.buf.extend_from_slice(arg.type_name().as_bytes());
                self.buf.push(b'=');
                self.print_arg(arg, 'v');
            }
        }
        self.buf.push(b')');
    }

    fn print_arg(&mut self, arg: &Value<'_>, verb: char) {
        if let Value::Invalid = arg {
            match verb {
                'T' | 'v' => self.pad(b"<nil>"),
                _ => self.bad_verb(arg, verb),
            }
            return;
        }
        match verb {
            'T' => {
                let t = arg.type_name().as_bytes();
                self.fmt_s(t);
                return;
            }
            'p' => {
                self.bad_verb(arg, verb);
                return;
            }
            _ => {}
        }
        self.print_value(arg, verb, 0);
    }

    fn print_value(&mut self, arg: &Value<'_>, verb: char, depth: usize) {
        match arg {
            Value::Invalid => {
                if depth == 0 {
                    self.buf.extend_from_slice(b"<invalid reflect.Value>");
                } else if verb == 'v' {
                    self.buf.extend_from_slice(b"<nil>");
                } else {
                    self.bad_verb(arg, verb);
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { b"true" } else { b"false" }),
                _ => self.bad_verb(arg, verb),
            },
            Value::Int(i) | Value::Int64(i) => self.fmt_integer_verb(arg, *i as u64, true, verb),
            Value::Uint8(u) => self.fmt_integer_verb(arg, u64::from(*u), false, verb),
            Value::Float(f) => self.fmt_float_verb(arg, *f, verb),
            Value::Complex(re, im) => match verb {
                'v' | 'b' | 'g' | 'G' | 'x' | 'X' | 'f' | 'F' | 'e' | 'E' => {
                    let old_plus = self.f.plus;
                    self.buf.push(b'(');
                    self.fmt_float_verb(arg, *re, verb);
                    self.f.plus = true;
                    self.fmt_float_verb(arg, *im, verb);
                    self.buf.extend_from_slice(b"i)");
                    self.f.plus = old_plus;
                }
                _ => self.bad_verb(arg, verb),
            },
            Value::Str(s) => match verb {
                'v' => {
                    if self.f.sharp_v {
                        self.fmt_q(s);
                    } else {
                        self.fmt_s(s);
                    }
                }
                's' => self.fmt_s(s),
                'x' => self.fmt_sx(s, LDIGITS),
                'X' => self.fmt_sx(s, UDIGITS),
                'q' => self.fmt_q(s),
                _ => self.bad_verb(arg, verb),
            },
            Value::Data(d) => {
                if self.f.sharp_v {
                    self.buf.extend_from_slice(d.type_name().as_bytes());
                }
                self.buf.push(b'{');
                for (i, name) in d.field_names().iter().enumerate() {
                    if i > 0 {
                        if self.f.sharp_v {
                            self.buf.extend_from_slice(b", ");
                        } else {
                            self.buf.push(b' ');
                        }
                    }
                    if self.f.plus_v || self.f.sharp_v {
                        self.buf.extend_from_slice(name.as_bytes());
                        self.buf.push(b':');
                    }
                    let v = d
                        .field(name)
                        .map(Value::from_field)
                        .unwrap_or(Value::Invalid);
                    self.print_value(&v, verb, depth + 1);
                }
                self.buf.push(b'}');
            }
        }
    }

    fn fmt_integer_verb(&mut self, arg: &Value<'_>, v: u64, signed: bool, verb: char) {
        match verb {
            'v' => {
                if self.f.sharp_v && !signed {
                    let sharp = self.f.sharp;
                    self.f.sharp = true;
                    self.fmt_integer(v, 16, false, 'v', LDIGITS);
                    self.f.sharp = sharp;
                } else {
                    self.fmt_integer(v, 10, signed, verb, LDIGITS);
                }
            }
            'd' => self.fmt_integer(v, 10, signed, verb, LDIGITS),
            'b' => self.fmt_integer(v, 2, signed, verb, LDIGITS),
            'o' | 'O' => self.fmt_integer(v, 8, signed, verb, LDIGITS),
            'x' => self.fmt_integer(v, 16, signed, verb, LDIGITS),
            'X' => self.fmt_integer(v, 16, signed, verb, UDIGITS),
            'c' => {
                let mut b = Vec::new();
                push_rune(&mut b, rune_from_u64(v));
                self.pad(&b);
            }
            'q' => {
                let r = rune_from_u64(v);
                let mut b = Vec::new();
                b.push(b'\'');
                gostr::escape_rune(&mut b, r, b'\'', self.f.plus);
                b.push(b'\'');
                self.pad(&b);
            }
            'U' => self.fmt_unicode(v),
            _ => self.bad_verb(arg, verb),
        }
    }

    fn fmt_unicode(&mut self, u: u64) {
        let mut prec: i64 = 4;
        if self.f.prec_present && self.f.prec > 4 {
            prec = self.f.prec as i64;
        }
        let mut digits = Vec::new();
        let mut x = u;
        loop {
            digits.push(UDIGITS[(x & 0xF) as usize]);
            prec -= 1;
            x >>= 4;
            if x == 0 {
                break;
            }
        }
        while prec > 0 {
            digits.push(b'0');
            prec -= 1;
        }
        let mut b = b"U+".to_vec();
        b.extend(digits.iter().rev());
        if self.f.sharp && u <= 0x10FFFF {
            if let Some(c) = char::from_u32(u as u32).filter(|&c| gostr::is_print(c)) {
                b.extend_from_slice(b" '");
                push_rune(&mut b, c);
                b.push(b'\'');
            }
        }
        let old_zero = self.f.zero;
        self.f.zero = false;
        self.pad(&b);
        self.f.zero = old_zero;
    }

    fn fmt_integer(&mut self, u: u64, base: u64, signed: bool, verb: char, digits: &[u8; 17]) {
        let negative = signed && (u as i64) < 0;
        let mut u = if negative {
            (u as i64).wrapping_neg() as u64
        } else {
            u
        };
        let mut prec: i64 = 0;
        if self.f.prec_present {
            prec = self.f.prec as i64;
            if prec == 0 && u == 0 {
                let old_zero = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid as i64);
                self.f.zero = old_zero;
                return;
            }
        } else if self.f.zero && self.f.wid_present {
            prec = self.f.wid as i64;
            if negative || self.f.plus || self.f.space {
                prec -= 1;
            }
        }
        let mut rev: Vec<u8> = Vec::with_capacity(24);
        while u >= base {
            rev.push(digits[(u % base) as usize]);
            u /= base;
        }
        rev.push(digits[u as usize]);
        while (rev.len() as i64) < prec {
            rev.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => rev.extend_from_slice(b"b0"),
                8 if rev.last() != Some(&b'0') => {
                    rev.push(b'0');
                }
                16 => {
                    rev.push(digits[16]);
                    rev.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            rev.extend_from_slice(b"o0");
        }
        if negative {
            rev.push(b'-');
        } else if self.f.plus {
            rev.push(b'+');
        } else if self.f.space {
            rev.push(b' ');
        }
        rev.reverse();
        let old_zero = self.f.zero;
        self.f.zero = false;
        self.pad(&rev);
        self.f.zero = old_zero;
    }

    fn fmt_float_verb(&mut self, arg: &Value<'_>, v: f64, verb: char) {
        match verb {
            'v' => self.fmt_float(v, b'g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float(v, verb as u8, -1),
            'f' | 'e' | 'E' => self.fmt_float(v, verb as u8, 6),
            'F' => self.fmt_float(v, b'f', 6),
            _ => self.bad_verb(arg, verb),
        }
    }

    fn fmt_float(&mut self, v: f64, verb: u8, prec: i64) {
        let prec = if self.f.prec_present {
            self.f.prec as i64
        } else {
            prec
        };
        let s = format_float(v, verb, prec);
        let mut num: Vec<u8> = Vec::with_capacity(s.len() + 1);
        if s.starts_with('-') || s.starts_with('+') {
            num.extend_from_slice(s.as_bytes());
        } else {
            num.push(b'+');
            num.extend_from_slice(s.as_bytes());
        }
        if self.f.space && num[0] == b'+' && !self.f.plus {
            num[0] = b' ';
        }
        if num[1] == b'I' || num[1] == b'N' {
            let old_zero = self.f.zero;
            self.f.zero = false;
            if num[1] == b'N' && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = old_zero;
            return;
        }
        if self.f.sharp && verb != b'b' {
            let mut digits: i64 = 0;
            if matches!(verb, b'v' | b'g' | b'G' | b'x') {
                digits = prec;
                if digits == -1 {
                    digits = 6;
                }
            }
            let mut tail: Vec<u8> = Vec::new();
            let mut has_decimal_point = false;
            let mut saw_nonzero = false;
            let mut i = 1;
            while i < num.len() {
                match num[i] {
                    b'.' => has_decimal_point = true,
                    b'p' | b'P' => {
                        tail.extend_from_slice(&num[i..]);
                        num.truncate(i);
                        break;
                    }
                    b'e' | b'E' if verb != b'x' && verb != b'X' => {
                        tail.extend_from_slice(&num[i..]);
                        num.truncate(i);
                        break;
                    }
                    c => {
                        if c != b'0' {
                            saw_nonzero = true;
                        }
                        if saw_nonzero {
                            digits -= 1;
                        }
                    }
                }
                i += 1;
            }
            if !has_decimal_point {
                if num.len() == 2 && num[1] == b'0' {
                    digits -= 1;
                }
                num.push(b'.');
            }
            while digits > 0 {
                num.push(b'0');
                digits -= 1;
            }
            num.extend_from_slice(&tail);
        }
        if self.f.plus || num[0] != b'+' {
            if self.f.zero && self.f.wid_present && self.f.wid > num.len() {
                self.buf.push(num[0]);
                self.write_padding((self.f.wid - num.len()) as i64);
                self.buf.extend_from_slice(&num[1..]);
                return;
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }

    fn truncate<'s>(&self, s: &'s [u8]) -> &'s [u8] {
        if self.f.prec_present {
            let mut n = self.f.prec as i64;
            for (i, _, _) in gostr::runes(s) {
                n -= 1;
                if n < 0 {
                    return &s[..i];
                }
            }
        }
        s
    }

    fn fmt_s(&mut self, s: &[u8]) {
        let s = self.truncate(s);
        self.pad(s);
    }

    fn fmt_sx(&mut self, s: &[u8], digits: &[u8; 17]) {
        let mut length = s.len();
        if self.f.prec_present && self.f.prec < length {
            length = self.f.prec;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if self.f.wid_present {
                self.write_padding(self.f.wid as i64);
            }
            return;
        }
        if self.f.wid_present && self.f.wid > width && !self.f.minus {
            self.write_padding((self.f.wid - width) as i64);
        }
        if self.f.sharp {
            self.buf.push(b'0');
            self.buf.push(digits[16]);
        }
        for (i, &c) in s[..length].iter().enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(b' ');
                if self.f.sharp {
                    self.buf.push(b'0');
                    self.buf.push(digits[16]);
                }
            }
            self.buf.push(digits[(c >> 4) as usize]);
            self.buf.push(digits[(c & 0xF) as usize]);
        }
        if self.f.wid_present && self.f.wid > width && self.f.minus {
            self.write_padding((self.f.wid - width) as i64);
        }
    }

    fn fmt_q(&mut self, s: &[u8]) {
        let s = self.truncate(s);
        if self.f.sharp && gostr::can_backquote(s) {
            let mut b = Vec::with_capacity(s.len() + 2);
            b.push(b'`');
            b.extend_from_slice(s);
            b.push(b'`');
            self.pad(&b);
            return;
        }
        let mut b = Vec::with_capacity(s.len() + 2);
        gostr::quote_with(&mut b, s, b'"', self.f.plus);
        self.pad(&b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(format: &str, args: &[Value<'_>]) -> String {
        let mut out = Vec::new();
        sprintf(&mut out, format.as_bytes(), args);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn integers() {
        assert_eq!(
            f(
                "%03d|%-5d|%+d|%x|%X|%o|%b|%c",
                &[
                    Value::Int(7),
                    Value::Int(42),
                    Value::Int(5),
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(5),
                    Value::Int(65)
                ]
            ),
            "007|42   |+5|ff|FF|10|101|A"
        );
        assert_eq!(
            f(
                "%#x %#o %q %U %#U",
                &[
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(97),
                    Value::Int(0x1F600),
                    Value::Int(65)
                ]
            ),
            "0xff 010 'a' U+1F600 U+0041 'A'"
        );
        assert_eq!(f("%05d", &[Value::Int(-42)]), "-0042");
    }

    #[test]
    fn floats_and_strings() {
        assert_eq!(
            f(
                "%5.2f|%e|%g|%v",
                &[
                    Value::Float(3.14259),
                    Value::Float(1234.5678),
                    Value::Float(0.000012),
                    Value::Float(1e21)
                ]
            ),
            " 3.14|1.234568e+03|1.2e-05|1e+21"
        );
        assert_eq!(
            f(
                "%q|%x|%10s|%-4s|%.2s",
                &[
                    Value::str("a\"b"),
                    Value::str("hi"),
                    Value::str("r"),
                    Value::str("l"),
                    Value::str("abc")
                ]
            ),
            "\"a\\\"b\"|6869|         r|l   |ab"
        );
    }

    #[test]
    fn errors_as_go_writes_them() {
        assert_eq!(f("%d", &[Value::str("x")]), "%!d(string=x)");
        assert_eq!(f("%d", &[]), "%!d(MISSING)");
        assert_eq!(
            f("%d", &[Value::Int(1), Value::str("x")]),
            "1%!(EXTRA string=x)"
        );
        assert_eq!(f("%", &[]), "%!(NOVERB)");
        assert_eq!(f("%!", &[]), "%!!(MISSING)");
        assert_eq!(f("%z", &[Value::Bool(true)]), "%!z(bool=true)");
        assert_eq!(f("%[3]d", &[Value::Int(1)]), "%!d(BADINDEX)");
        assert_eq!(f("%d", &[Value::Invalid]), "%!d(<nil>)");
        assert_eq!(f("%s", &[Value::Float(1.5)]), "%!s(float64=1.5)");
        assert_eq!(f("%t", &[Value::Int(1)]), "%!t(int=1)");
    }
}
