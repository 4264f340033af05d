//! The function map: Go's template builtins plus MTV's fixed sprig subset, with Go's
//! parameter types (which decide argument conversion) and sprig's exact semantics.

use std::borrow::Cow;

use super::gofmt;
use super::gostr;
use super::regex as goregex;
use super::strconv::{f64_to_i64, parse_float, parse_int_base0};
use super::value::{Kind, Value};

/// A callable function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    // Go builtins.
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Print,
    Printf,
    Println,
    Html,
    Js,
    UrlQuery,
    Call,
    // Sprig strings.
    Lower,
    Upper,
    Contains,
    Replace,
    Trim,
    TrimAll,
    TrimSuffix,
    TrimPrefix,
    Title,
    Untitle,
    Repeat,
    Substr,
    Nospace,
    Trunc,
    Initials,
    HasPrefix,
    HasSuffix,
    MustRegexReplaceAll,
    // Sprig math.
    Add,
    Add1,
    Sub,
    Div,
    Mod,
    Mul,
    Max,
    Min,
    Floor,
    Ceil,
    Round,
}

/// Go parameter types that matter for argument conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    /// `interface{}` or `reflect.Value`: anything goes.
    Any,
    /// `int`.
    Int,
    /// `string`.
    Str,
    /// `float64`.
    Float,
}

impl Param {
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Int => "int",
            Param::Str => "string",
            Param::Float => "float64",
        }
    }
}

/// A function's parameter list: fixed parameters and an optional variadic element type.
pub(crate) struct Signature {
    pub fixed: &'static [Param],
    pub variadic: Option<Param>,
}

const fn sig(fixed: &'static [Param], variadic: Option<Param>) -> Signature {
    Signature { fixed, variadic }
}

use Param::{Any, Float, Int, Str};

impl Func {
    /// Looks a function up by its template name.
    pub(crate) fn lookup(name: &str) -> Option<Func> {
        Some(match name {
            "and" => Func::And,
            "or" => Func::Or,
            "not" => Func::Not,
            "len" => Func::Len,
            "index" => Func::Index,
            "slice" => Func::Slice,
            "eq" => Func::Eq,
            "ne" => Func::Ne,
            "lt" => Func::Lt,
            "le" => Func::Le,
            "gt" => Func::Gt,
            "ge" => Func::Ge,
            "print" => Func::Print,
            "printf" => Func::Printf,
            "println" => Func::Println,
            "html" => Func::Html,
            "js" => Func::Js,
            "urlquery" => Func::UrlQuery,
            "call" => Func::Call,
            "lower" => Func::Lower,
            "upper" => Func::Upper,
            "contains" => Func::Contains,
            "replace" => Func::Replace,
            "trim" => Func::Trim,
            "trimAll" => Func::TrimAll,
            "trimSuffix" => Func::TrimSuffix,
            "trimPrefix" => Func::TrimPrefix,
            "title" => Func::Title,
            "untitle" => Func::Untitle,
            "repeat" => Func::Repeat,
            "substr" => Func::Substr,
            "nospace" => Func::Nospace,
            "trunc" => Func::Trunc,
            "initials" => Func::Initials,
            "hasPrefix" => Func::HasPrefix,
            "hasSuffix" => Func::HasSuffix,
            "mustRegexReplaceAll" => Func::MustRegexReplaceAll,
            "add" => Func::Add,
            "add1" => Func::Add1,
            "sub" => Func::Sub,
            "div" => Func::Div,
            "mod" => Func::Mod,
            "mul" => Func::Mul,
            "max" => Func::Max,
            "min" => Func::Min,
            "floor" => Func::Floor,
            "ceil" => Func::Ceil,
            "round" => Func::Round,
            _ => return None,
        })
    }

    /// The template name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Func::And => "and",
            Func::Or => "or",
            Func::Not => "not",
            Func::Len => "len",
            Func::Index => "index",
            Func::Slice => "slice",
            Func::Eq => "eq",
            Func::Ne => "ne",
            Func::Lt => "lt",
            Func::Le => "le",
            Func::Gt => "gt",
            Func::Ge => "ge",
            Func::Print => "print",
            Func::Printf => "printf",
            Func::Println => "println",
            Func::Html => "html",
            Func::Js => "js",
            Func::UrlQuery => "urlquery",
            Func::Call => "call",
            Func::Lower => "lower",
            Func::Upper => "upper",
            Func::Contains => "contains",
            Func::Replace => "replace",
            Func::Trim => "trim",
            Func::TrimAll => "trimAll",
            Func::TrimSuffix => "trimSuffix",
            Func::TrimPrefix => "trimPrefix",
            Func::Title => "title",
            Func::Untitle => "untitle",
            Func::Repeat => "repeat",
            Func::Substr => "substr",
            Func::Nospace => "nospace",
            Func::Trunc => "trunc",
            Func::Initials => "initials",
            Func::HasPrefix => "hasPrefix",
            Func::HasSuffix => "hasSuffix",
            Func::MustRegexReplaceAll => "mustRegexReplaceAll",
            Func::Add => "add",
            Func::Add1 => "add1",
            Func::Sub => "sub",
            Func::Div => "div",
            Func::Mod => "mod",
            Func::Mul => "mul",
            Func::Max => "max",
            Func::Min => "min",
            Func::Floor => "floor",
            Func::Ceil => "ceil",
            Func::Round => "round",
        }
    }

    /// Go's parameter list of the function.
    pub(crate) fn signature(self) -> Signature {
        match self {
            Func::And | Func::Or | Func::Index | Func::Slice | Func::Eq | Func::Call => {
                sig(&[Any], Some(Any))
            }
            Func::Not | Func::Len => sig(&[Any], None),
            Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => sig(&[Any, Any], None),
            Func::Print | Func::Println | Func::Html | Func::Js | Func::UrlQuery => {
                sig(&[], Some(Any))
            }
            Func::Printf => sig(&[Str], Some(Any)),
            Func::Lower
            | Func::Upper
            | Func::Trim
            | Func::Title
            | Func::Untitle
            | Func::Nospace
            | Func::Initials => sig(&[Str], None),
            Func::Contains
            | Func::HasPrefix
            | Func::HasSuffix
            | Func::TrimAll
            | Func::TrimSuffix
            | Func::TrimPrefix => sig(&[Str, Str], None),
            Func::Replace | Func::MustRegexReplaceAll => sig(&[Str, Str, Str], None),
            Func::Repeat | Func::Trunc => sig(&[Int, Str], None),
            Func::Substr => sig(&[Int, Int, Str], None),
            Func::Add => sig(&[], Some(Any)),
            Func::Add1 | Func::Floor | Func::Ceil => sig(&[Any], None),
            Func::Sub | Func::Div | Func::Mod => sig(&[Any, Any], None),
            Func::Mul | Func::Max | Func::Min => sig(&[Any], Some(Any)),
            Func::Round => sig(&[Any, Int], Some(Float)),
        }
    }
}

/// Size limit for strings built by functions, checked before allocating.
pub(crate) struct Budget {
    pub max_output: usize,
}

fn bytes<'v>(v: &'v Value<'_>) -> &'v [u8] {
    match v {
        Value::Str(s) => s,
        _ => &[],
    }
}

fn int(v: &Value<'_>) -> i64 {
    match v {
        Value::Int(i) => *i,
        _ => 0,
    }
}

fn b(v: bool) -> Value<'static> {
    Value::Bool(v)
}

/// `cast.ToInt64`.
pub(crate) fn to_int64(v: &Value<'_>) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint8(u) => i64::from(*u),
        Value::Float(f) => f64_to_i64(*f),
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => parse_int_base0(trim_zero_decimal(s)).unwrap_or(0),
        Value::Invalid | Value::Complex(..) | Value::Data(_) => 0,
    }
}

/// `cast.ToFloat64`.
pub(crate) fn to_float64(v: &Value<'_>) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint8(u) => f64::from(*u),
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => parse_float(s).unwrap_or(0.0),
        Value::Invalid | Value::Complex(..) | Value::Data(_) => 0.0,
    }
}

fn trim_zero_decimal(s: &[u8]) -> &[u8] {
    let mut found_zero = false;
    for i in (1..=s.len()).rev() {
        match s[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Calls a function other than `and`/`or` on converted arguments.
pub(crate) fn call<'a>(
    f: Func,
    args: Vec<Value<'a>>,
    budget: &Budget,
) -> Result<Value<'a>, String> {
    let a = &args;
    Ok(match f {
        Func::And | Func::Or => unreachable_and_or(a),
        Func::Not => b(!a[0].truth().unwrap_or(false)),
        Func::Len => match &a[0] {
            Value::Str(s) => Value::Int(s.len() as i64),
            Value::Invalid => {
                return Err("reflect: call of reflect.Value.Type on zero Value".into());
            }
            v => return Err(format!("len of type {}", v.type_name())),
        },
        Func::Index => index(a)?,
        Func::Slice => slice(a)?,
        Func::Eq => b(eq(&a[0], &a[1..])?),
        Func::Ne => b(!eq(&a[0], &a[1..2])?),
        Func::Lt => b(lt(&a[0], &a[1])?),
        Func::Le => b(lt(&a[0], &a[1])? || eq(&a[0], &a[1..2])?),
        Func::Gt => b(!(lt(&a[0], &a[1])? || eq(&a[0], &a[1..2])?)),
        Func::Ge => b(!lt(&a[0], &a[1])?),
        Func::Print => {
            let mut out = Vec::new();
            gofmt::sprint(&mut out, a);
            Value::owned(out)
        }
        Func::Println => {
            let mut out = Vec::new();
            gofmt::sprintln(&mut out, a);
            Value::owned(out)
        }
        Func::Printf => {
            let mut out = Vec::new();
            gofmt::sprintf(&mut out, bytes(&a[0]), &a[1..]);
            Value::owned(out)
        }
        Func::Html => Value::owned(html_escape(&eval_args(a))),
        Func::Js => Value::owned(js_escape(&eval_args(a))),
        Func::UrlQuery => Value::owned(query_escape(&eval_args(a))),
        Func::Call => match &a[0] {
            Value::Invalid => return Err("call of nil".into()),
            v => return Err(format!("non-function of type {}", v.type_name())),
        },
        Func::Lower => Value::owned(gostr::lower(bytes(&a[0]))),
        Func::Upper => Value::owned(gostr::upper(bytes(&a[0]))),
        Func::Contains => b(gostr::find(bytes(&a[1]), bytes(&a[0])).is_some()),
        Func::Replace => {
            let (old, new, src) = (bytes(&a[0]), bytes(&a[1]), bytes(&a[2]));
            let count = if old.is_empty() {
                gostr::rune_count(src) + 1
            } else {
                src.len() / old.len()
            };
            if src.len().saturating_add(count.saturating_mul(new.len())) > budget.max_output {
                return Err("output size limit exceeded".into());
            }
            Value::owned(gostr::replace_all(src, old, new))
        }
        Func::Trim => sub_str(&a[0], gostr::trim_space),
        Func::TrimAll => sub_str(&a[1], |s| gostr::trim_cutset(s, bytes(&a[0]))),
        Func::TrimSuffix => sub_str(&a[1], |s| s.strip_suffix(bytes(&a[0])).unwrap_or(s)),
        Func::TrimPrefix => sub_str(&a[1], |s| s.strip_prefix(bytes(&a[0])).unwrap_or(s)),
        Func::Title => Value::owned(gostr::title(bytes(&a[0]))),
        Func::Untitle => Value::owned(untitle(bytes(&a[0]))),
        Func::Repeat => {
            let n = int(&a[0]);
            let s = bytes(&a[1]);
            if n < 0 {
                return Err("strings: negative Repeat count".into());
            }
            let total = (n as u128) * (s.len() as u128);
            if total > budget.max_output as u128 {
                return Err("output size limit exceeded".into());
            }
            Value::owned(s.repeat(n as usize))
        }
        Func::Substr => {
            let (start, end, s) = (int(&a[0]), int(&a[1]), bytes(&a[2]));
            let len = s.len() as i64;
            let bad =
                |lo: i64, hi: i64| format!("runtime error: slice bounds out of range [{lo}:{hi}]");
            let (lo, hi) = if start < 0 {
                (0, end)
            } else if end < 0 || end > len {
                (start, len)
            } else {
                (start, end)
            };
            if hi < 0 || hi > len || lo > hi {
                return Err(bad(lo, hi));
            }
            sub_range(&a[2], lo as usize, hi as usize)
        }
        Func::Nospace => Value::owned(delete_white_space(bytes(&a[0]))),
        Func::Trunc => {
            let (c, s) = (int(&a[0]), bytes(&a[1]));
            let len = s.len() as i64;
            if c < 0 && len + c > 0 {
                sub_range(&a[1], (len + c) as usize, s.len())
            } else if c >= 0 && len > c {
                sub_range(&a[1], 0, c as usize)
            } else {
                a[1].clone()
            }
        }
        Func::Initials => Value::owned(initials(bytes(&a[0]))),
        Func::HasPrefix => b(bytes(&a[1]).starts_with(bytes(&a[0]))),
        Func::HasSuffix => b(bytes(&a[1]).ends_with(bytes(&a[0]))),
        Func::MustRegexReplaceAll => {
            let re = goregex::GoRegex::compile_cached(bytes(&a[0]))?;
            Value::owned(re.replace_all(bytes(&a[1]), bytes(&a[2]), budget.max_output)?)
        }
        Func::Add => Value::Int64(a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v)))),
        Func::Add1 => Value::Int64(to_int64(&a[0]).wrapping_add(1)),
        Func::Sub => Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))),
        Func::Div => {
            let d = to_int64(&a[1]);
            if d == 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Value::Int64(to_int64(&a[0]).wrapping_div(d))
        }
        Func::Mod => {
            let d = to_int64(&a[1]);
            if d == 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Value::Int64(to_int64(&a[0]).wrapping_rem(d))
        }
        Func::Mul => Value::Int64(
            a[1..]
                .iter()
                .fold(to_int64(&a[0]), |acc, v| acc.wrapping_mul(to_int64(v))),
        ),
        Func::Max => Value::Int64(a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::max)),
        Func::Min => Value::Int64(a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::min)),
        Func::Floor => Value::Float(to_float64(&a[0]).floor()),
        Func::Ceil => Value::Float(to_float64(&a[0]).ceil()),
        Func::Round => {
            let round_on = match a.get(2) {
                Some(Value::Float(f)) => *f,
                _ => 0.5,
            };
            let val = to_float64(&a[0]);
            let pow = pow10(int(&a[1]));
            let digit = pow * val;
            let frac = digit - digit.trunc();
            let frac = if digit.is_infinite() { 0.0 } else { frac };
            let r = if frac >= round_on {
                digit.ceil()
            } else {
                digit.floor()
            };
            Value::Float(r / pow)
        }
    })
}

/// `math.Pow(10, p)` for an integer `p`, exact where Go's is.
fn pow10(p: i64) -> f64 {
    const EXACT: f64 = 1e22;
    if (0..=22).contains(&p) {
        10f64.powi(p as i32).min(EXACT)
    } else if (-22..0).contains(&p) {
        1.0 / 10f64.powi((-p) as i32)
    } else {
        10f64.powf(p as f64)
    }
}

fn unreachable_and_or<'a>(a: &[Value<'a>]) -> Value<'a> {
    a.last().cloned().unwrap_or(Value::Invalid)
}

/// Returns a sub-slice of a string value, borrowing when the input borrows.
fn sub_range<'a>(v: &Value<'a>, lo: usize, hi: usize) -> Value<'a> {
    match v {
        Value::Str(Cow::Borrowed(s)) => Value::Str(Cow::Borrowed(&s[lo..hi])),
        Value::Str(Cow::Owned(s)) => Value::owned(s[lo..hi].to_vec()),
        _ => Value::str(""),
    }
}

fn sub_str<'a>(v: &Value<'a>, f: impl for<'s> Fn(&'s [u8]) -> &'s [u8]) -> Value<'a> {
    match v {
        Value::Str(Cow::Borrowed(s)) => Value::Str(Cow::Borrowed(f(s))),
        Value::Str(Cow::Owned(s)) => Value::owned(f(s).to_vec()),
        _ => Value::str(""),
    }
}

fn push_latin1(out: &mut Vec<u8>, b: u8) {
    gostr::push_rune(out, b as char);
}

/// goutils `DeleteWhiteSpace`: byte-wise, each byte taken as a Latin-1 rune.
fn delete_white_space(s: &[u8]) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(s.len());
    let mut count = 0;
    for &c in s {
        if !gostr::is_space(c as char) {
            push_latin1(&mut out, c);
            count += 1;
        }
    }
    if count == s.len() {
        return s.to_vec();
    }
    out
}

/// goutils `Initials`: byte-wise, whitespace delimited.
fn initials(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut last_was_gap = true;
    for &c in s {
        if gostr::is_space(c as char) {
            last_was_gap = true;
        } else if last_was_gap {
            push_latin1(&mut out, c);
            last_was_gap = false;
        }
    }
    out
}

/// goutils `Uncapitalize`: lower-cases the first rune of each whitespace-separated word.
fn untitle(s: &[u8]) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut next = true;
    gostr::map_runes(s, |c| {
        if gostr::is_space(c) {
            next = true;
            c
        } else if next {
            next = false;
            gostr::to_lower(c)
        } else {
            c
        }
    })
}

/// Go's `eq`.
pub(crate) fn eq(a1: &Value<'_>, rest: &[Value<'_>]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    // Go's `basicKind` maps structs and nil alike to its invalid kind.
    let norm = |k: Kind| if k == Kind::Struct { Kind::Invalid } else { k };
    let k1 = norm(a1.kind());
    for a in rest {
        let k2 = norm(a.kind());
        let truth = if k1 != k2 {
            match (a1, a) {
                (Value::Int(i) | Value::Int64(i), Value::Uint8(u))
                | (Value::Uint8(u), Value::Int(i) | Value::Int64(i)) => {
                    *i >= 0 && *i as u64 == u64::from(*u)
                }
                _ => {
                    if !matches!(a1, Value::Invalid) && !matches!(a, Value::Invalid) {
                        return Err("incompatible types for comparison".into());
                    }
                    false
                }
            }
        } else {
            match (a1, a) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Complex(r1, i1), Value::Complex(r2, i2)) => r1 == r2 && i1 == i2,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Str(x), Value::Str(y)) => x == y,
                (Value::Uint8(x), Value::Uint8(y)) => x == y,
                _ if k1 == Kind::Int => a1.int_value() == a.int_value(),
                (Value::Invalid, Value::Invalid) => true,
                (Value::Invalid, Value::Data(_)) | (Value::Data(_), Value::Invalid) => false,
                (Value::Data(x), Value::Data(y)) => {
                    // Structs of our data types are comparable; equal when every field is.
                    x.type_name() == y.type_name()
                        && x.field_names().iter().all(|n| x.field(n) == y.field(n))
                }
                _ => false,
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt`.
pub(crate) fn lt(a1: &Value<'_>, a2: &Value<'_>) -> Result<bool, String> {
    let k1 = a1.kind();
    let k2 = a2.kind();
    let bad_type = || "invalid type for comparison".to_string();
    if matches!(k1, Kind::Invalid | Kind::Struct) || matches!(k2, Kind::Invalid | Kind::Struct) {
        return Err(bad_type());
    }
    if k1 != k2 {
        return match (a1, a2) {
            (Value::Int(i) | Value::Int64(i), Value::Uint8(u)) => {
                Ok(*i < 0 || (*i as u64) < u64::from(*u))
            }
            (Value::Uint8(u), Value::Int(i) | Value::Int64(i)) => {
                Ok(*i >= 0 && u64::from(*u) < *i as u64)
            }
            _ => Err("incompatible types for comparison".into()),
        };
    }
    Ok(match (a1, a2) {
        (Value::Bool(_), _) | (Value::Complex(..), _) => return Err(bad_type()),
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        (Value::Uint8(x), Value::Uint8(y)) => x < y,
        _ => a1.int_value() < a2.int_value(),
    })
}

fn index_arg(v: &Value<'_>, cap: usize) -> Result<usize, String> {
    let x = match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint8(u) => i64::from(*u),
        Value::Invalid => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut item = a[0].clone();
    if let Value::Invalid = item {
        return Err("index of untyped nil".into());
    }
    for idx in &a[1..] {
        item = match &item {
            Value::Str(s) => {
                let x = index_arg(idx, s.len())?;
                match s.get(x) {
                    Some(&c) => Value::Uint8(c),
                    None => return Err("reflect: string index out of range".to_string()),
                }
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
    let item = &a[0];
    if let Value::Invalid = item {
        return Err("slice of untyped nil".into());
    }
    let idxs = &a[1..];
    if idxs.len() > 3 {
        return Err(format!("too many slice indexes: {}", idxs.len()));
    }
    let Value::Str(s) = item else {
        return Err(format!("can't slice item of type {}", item.type_name()));
    };
    if idxs.len() == 3 {
        return Err("cannot 3-index slice a string".into());
    }
    let mut bounds = [0, s.len()];
    for (i, v) in idxs.iter().enumerate() {
        bounds[i] = index_arg(v, s.len())?;
    }
    if bounds[0] > bounds[1] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    Ok(sub_range(item, bounds[0], bounds[1]))
}

/// Go's `evalArgs` for the escapers: a lone string as is, otherwise `fmt.Sprint`.
fn eval_args(a: &[Value<'_>]) -> Vec<u8> {
    if let [Value::Str(s)] = a {
        return s.to_vec();
    }
    // Go passes each argument through `printableValue`, which shows nil as "<no value>".
    let shown: Vec<Value<'_>> = a
        .iter()
        .map(|v| {
            if let Value::Invalid = v {
                Value::str("<no value>")
            } else {
                v.clone()
            }
        })
        .collect();
    let mut out = Vec::new();
    gofmt::sprint(&mut out, &shown);
    out
}

fn html_escape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        match c {
            0 => out.extend_from_slice("\u{FFFD}".as_bytes()),
            b'"' => out.extend_from_slice(b"&#34;"),
            b'\'' => out.extend_from_slice(b"&#39;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            _ => out.push(c),
        }
    }
    out
}

fn js_escape(s: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c < 0x80 {
            match c {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\'' => out.extend_from_slice(b"\\'"),
                b'"' => out.extend_from_slice(b"\\\""),
                b'<' => out.extend_from_slice(b"\\u003C"),
                b'>' => out.extend_from_slice(b"\\u003E"),
                b'&' => out.extend_from_slice(b"\\u0026"),
                b'=' => out.extend_from_slice(b"\\u003D"),
                c if c < b' ' => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(c >> 4) as usize]);
                    out.push(HEX[(c & 15) as usize]);
                }
                c => out.push(c),
            }
            i += 1;
        } else {
            let (r, w) = gostr::decode_rune(&s[i..]);
            if gostr::is_print(r) {
                out.extend_from_slice(&s[i..i + w]);
            } else {
                out.extend_from_slice(format!("\\u{:04X}", r as u32).as_bytes());
            }
            i += w;
        }
    }
    out
}

/// `url.QueryEscape`.
fn query_escape(s: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
            out.push(c);
        } else if c == b' ' {
            out.push(b'+');
        } else {
            out.push(b'%');
            out.push(HEX[(c >> 4) as usize]);
            out.push(HEX[(c & 15) as usize]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_coercions() {
        assert_eq!(to_int64(&Value::str("0x10")), 16);
        assert_eq!(to_int64(&Value::str("12.00")), 12);
        assert_eq!(to_int64(&Value::str("12.5")), 0);
        assert_eq!(to_int64(&Value::Float(-3.9)), -3);
        assert_eq!(to_int64(&Value::Bool(true)), 1);
        assert_eq!(to_float64(&Value::str("2.5")), 2.5);
        assert_eq!(to_float64(&Value::str("x")), 0.0);
    }

    #[test]
    fn byte_wise_goutils_quirks() {
        assert_eq!(delete_white_space("a b".as_bytes()), b"ab");
        assert_eq!(delete_white_space("à b".as_bytes()), "Ãb".as_bytes());
        assert_eq!(initials(b"hello big world"), b"hbw");
        assert_eq!(untitle(b"Hello World"), b"hello world");
    }
}
