//! Values flowing through a template: the Go types a naming template can produce.

use std::borrow::Cow;

/// A field value of template data, as the Go struct field would hold it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// A Go `string` field.
    Str(&'a str),
    /// A Go `int` field.
    Int(i64),
    /// A Go `bool` field.
    Bool(bool),
}

/// Data a template is executed on: a Go struct with exported fields.
pub trait TemplateData {
    /// The Go type name as `%T` prints it, e.g. `v1beta1.PVCNameTemplateData`.
    fn type_name(&self) -> &'static str;
    /// Field names in declaration order (used when the whole struct is printed).
    fn field_names(&self) -> &'static [&'static str];
    /// The value of the named field, or `None` when the struct has no such field.
    fn field(&self, name: &str) -> Option<FieldValue<'_>>;
}

/// A runtime value, typed like Go's `reflect.Value` in the cases templates produce.
#[derive(Clone)]
pub(crate) enum Value<'a> {
    /// The invalid `reflect.Value` (untyped nil).
    Invalid,
    /// `bool`.
    Bool(bool),
    /// `int`.
    Int(i64),
    /// `int64` (sprig math results).
    Int64(i64),
    /// `uint8` (`index` on a string).
    Uint8(u8),
    /// `float64`.
    Float(f64),
    /// `complex128`.
    Complex(f64, f64),
    /// `string` (bytes: Go strings need not be valid UTF-8).
    Str(Cow<'a, [u8]>),
    /// The template data struct.
    Data(&'a dyn TemplateData),
}

/// Go's comparison kinds (`basicKind`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Invalid,
    Bool,
    Complex,
    Int,
    Float,
    Str,
    Uint,
    Struct,
}

impl<'a> Value<'a> {
    /// Go's type string.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Invalid => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Uint8(_) => "uint8",
            Value::Float(_) => "float64",
            Value::Complex(..) => "complex128",
            Value::Str(_) => "string",
            Value::Data(d) => d.type_name(),
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        match self {
            Value::Invalid => Kind::Invalid,
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) | Value::Int64(_) => Kind::Int,
            Value::Uint8(_) => Kind::Uint,
            Value::Float(_) => Kind::Float,
            Value::Complex(..) => Kind::Complex,
            Value::Str(_) => Kind::Str,
            Value::Data(_) => Kind::Struct,
        }
    }

    pub(crate) fn str(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s.as_bytes()))
    }

    pub(crate) fn owned(s: Vec<u8>) -> Self {
        Value::Str(Cow::Owned(s))
    }

    pub(crate) fn from_field(f: FieldValue<'a>) -> Self {
        match f {
            FieldValue::Str(s) => Value::str(s),
            FieldValue::Int(i) => Value::Int(i),
            FieldValue::Bool(b) => Value::Bool(b),
        }
    }

    /// Go's `isTrue`: `None` when truth is not defined for the value.
    pub(crate) fn truth(&self) -> Option<bool> {
        Some(match self {
            Value::Invalid => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Uint8(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::Complex(r, i) => *r != 0.0 || *i != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Data(_) => true,
        })
    }

    pub(crate) fn int_value(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            _ => None,
        }
    }
}
