//! A Go `text/template` engine with MTV's function map.
//!
//! MTV renders PVC, volume and network names with Go's `text/template` and a fixed subset
//! of sprig functions (`pkg/templateutil`). Users rely on the exact names, so this engine
//! reproduces Go's behaviour rather than approximating it: the lexer and parser follow
//! `text/template/parse` (trim markers, comments, raw/char/complex literals, `define`,
//! `block`, `template`, `break`/`continue`), the evaluator follows Go's argument
//! conversion and truth rules, `printf` is Go's `fmt` (including `%!verb(type=value)`
//! errors), and the sprig functions keep their quirks (byte-wise `trunc`, integer `div`,
//! `cast`-style coercion, float results of `floor`/`ceil`/`round`). Strings are bytes, as
//! in Go, so byte-wise slicing of non-ASCII text behaves identically.
//!
//! Differences from Go, all deliberate: evaluation is bounded (output size, nesting depth
//! and step count, see [`Limits`]) so that no input can exhaust memory or the stack; `range`
//! over an integer iterates as in Go 1.22+ (the Go release MTV is built with).
//!
//! ```
//! use forklift_core::template::{Template, FieldValue, TemplateData};
//!
//! struct Disk { plan: &'static str, index: i64 }
//! impl TemplateData for Disk {
//!     fn type_name(&self) -> &'static str { "main.Disk" }
//!     fn field_names(&self) -> &'static [&'static str] { &["PlanName", "DiskIndex"] }
//!     fn field(&self, name: &str) -> Option<FieldValue<'_>> {
//!         match name {
//!             "PlanName" => Some(FieldValue::Str(self.plan)),
//!             "DiskIndex" => Some(FieldValue::Int(self.index)),
//!             _ => None,
//!         }
//!     }
//! }
//!
//! let t = Template::parse("{{trunc 4 .PlanName}}-disk-{{printf \"%02d\" .DiskIndex}}").unwrap();
//! assert_eq!(t.render(&Disk { plan: "migration", index: 3 }).unwrap(), "migr-disk-03");
//! ```

mod ast;
mod exec;
mod funcs;
mod gofmt;
mod gostr;
mod lex;
mod parse;
mod regex;
mod strconv;
mod value;

pub use value::{FieldValue, TemplateData};

/// The name MTV gives its templates (it appears in Go's error messages).
pub const TEMPLATE_NAME: &str = "template";

/// Which phase of Go's template handling an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The template text is invalid (MTV: "Invalid template syntax").
    Parse,
    /// Executing the template failed (MTV: "Template execution failed").
    Exec,
}

impl ErrorClass {
    /// `"parse"` or `"exec"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Parse => "parse",
            ErrorClass::Exec => "exec",
        }
    }
}

/// Template errors.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The template does not parse.
    #[error("Invalid template syntax: {message}")]
    Parse {
        /// Go-style message, e.g. `template: template:1: function "foo" not defined`.
        message: String,
    },
    /// Execution failed (unknown field, wrong argument type, function error, ...).
    #[error("Template execution failed: {message}")]
    Exec {
        /// Go-style message with the failing action.
        message: String,
    },
    /// Execution hit one of the [`Limits`].
    #[error("Template execution failed: {message}")]
    Limit {
        /// Which limit was hit.
        message: String,
    },
}

impl Error {
    /// Parse or execution error (limits count as execution errors).
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Parse { .. } => ErrorClass::Parse,
            Error::Exec { .. } | Error::Limit { .. } => ErrorClass::Exec,
        }
    }

    /// The message without the MTV prefix.
    pub fn message(&self) -> &str {
        match self {
            Error::Parse { message } | Error::Exec { message } | Error::Limit { message } => {
                message
            }
        }
    }
}

/// Result with the template [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Bounds on one execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum output size in bytes (also bounds strings built by functions).
    pub max_output: usize,
    /// Maximum number of evaluation steps (nodes, commands and loop iterations).
    pub max_steps: u64,
    /// Maximum nesting of evaluation (pipelines, bodies and template calls).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output: 1 << 20,
            max_steps: 1_000_000,
            max_depth: 300,
        }
    }
}

/// A parsed template, ready to execute any number of times.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    source: String,
    trees: parse::TreeSet,
    limits: Limits,
}

impl Template {
    /// Parses `text` as MTV does (template name `"template"`, MTV's function map).
    pub fn parse(text: &str) -> Result<Template> {
        Template::parse_named(TEMPLATE_NAME, text)
    }

    /// Parses `text` under another template name.
    pub fn parse_named(name: &str, text: &str) -> Result<Template> {
        let trees = parse::parse(name, text).map_err(|e| Error::Parse { message: e.0 })?;
        Ok(Template {
            name: name.to_owned(),
            source: text.to_owned(),
            trees,
            limits: Limits::default(),
        })
    }

    /// Replaces the execution limits.
    pub fn with_limits(mut self, limits: Limits) -> Template {
        self.limits = limits;
        self
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Executes the template and returns Go's output bytes (which need not be UTF-8).
    pub fn execute(&self, data: &dyn TemplateData) -> Result<Vec<u8>> {
        let Some(root) = self.trees.get(&self.name) else {
            return Err(Error::Exec {
                message: format!(
                    "template: {}: {:?} is an incomplete or empty template",
                    self.name, self.name
                ),
            });
        };
        let mut ex = exec::Exec::new(&self.trees, &self.name, &self.source, self.limits);
        ex.run(root, value::Value::Data(data))?;
        Ok(ex.out)
    }

    /// Executes the template; invalid UTF-8 in the output becomes `U+FFFD` per byte, as Go's
    /// `encoding/json` would write it.
    pub fn render(&self, data: &dyn TemplateData) -> Result<String> {
        self.execute(data).map(|b| gostr::to_string_lossy_go(&b))
    }
}

#[cfg(test)]
mod tests;
