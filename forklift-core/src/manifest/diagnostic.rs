//! Diagnostics of manifest loading: each names the source, the document and the field path.

use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The document was not loaded (or loaded only as an unknown object).
    Error,
    /// The document loaded, but something in it deserves attention.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// Stable, machine-readable diagnostic codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DiagnosticCode {
    /// The text is not valid YAML or JSON.
    Syntax,
    /// A document is not a mapping.
    NotAnObject,
    /// `apiVersion` or `kind` is missing.
    MissingTypeMeta,
    /// The kind is not one forklift understands; the object is kept verbatim.
    UnknownKind,
    /// The kind is known, but not under this `apiVersion`.
    UnsupportedApiVersion,
    /// A field has a wrong type or value.
    InvalidField,
    /// A field is not part of the schema; it is dropped.
    UnknownField,
    /// A value still holds a documentation placeholder such as `<namespace>`.
    Placeholder,
    /// Another object with the same kind, namespace and name was loaded earlier.
    DuplicateObject,
    /// Non-breaking spaces in indentation were read as spaces.
    NonBreakingSpace,
    /// A file or directory could not be read (reported by the I/O layer).
    Io,
    /// Flow collections nest deeper than [`MAX_FLOW_NESTING`](super::MAX_FLOW_NESTING); the
    /// text is refused before parsing.
    NestingTooDeep,
    /// A mapping holds the same key twice (the API server refuses such objects).
    DuplicateKey,
    /// `metadata.name` or `metadata.namespace` is not a valid Kubernetes name.
    InvalidName,
}

impl DiagnosticCode {
    /// The code as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticCode::Syntax => "syntax",
            DiagnosticCode::NotAnObject => "not-an-object",
            DiagnosticCode::MissingTypeMeta => "missing-type-meta",
            DiagnosticCode::UnknownKind => "unknown-kind",
            DiagnosticCode::UnsupportedApiVersion => "unsupported-api-version",
            DiagnosticCode::InvalidField => "invalid-field",
            DiagnosticCode::UnknownField => "unknown-field",
            DiagnosticCode::Placeholder => "placeholder",
            DiagnosticCode::DuplicateObject => "duplicate-object",
            DiagnosticCode::NonBreakingSpace => "non-breaking-space",
            DiagnosticCode::Io => "io",
            DiagnosticCode::NestingTooDeep => "nesting-too-deep",
            DiagnosticCode::DuplicateKey => "duplicate-key",
            DiagnosticCode::InvalidName => "invalid-name",
        }
    }
}

impl fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about a manifest.
///
/// Displays as `source#document: path: message`, e.g.
/// `plan.yaml#2: spec.vms[3].targetPowerState: unknown variant "maybe", expected one of on, off, auto`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code.
    pub code: DiagnosticCode,
    /// Where the text came from (a file path, `-` for stdin, or any label).
    pub source: String,
    /// 1-based document number within the source, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    /// Field path within the document (`spec.vms[3].targetPowerState`), empty for the whole document.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Diagnostic {
    /// An error.
    pub fn error(
        code: DiagnosticCode,
        source: impl Into<String>,
        document: Option<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            code,
            source: source.into(),
            document,
            path: path.into(),
            message: message.into(),
        }
    }

    /// A warning.
    pub fn warning(
        code: DiagnosticCode,
        source: impl Into<String>,
        document: Option<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, source, document, path, message)
        }
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `source#document`, the location prefix.
    pub fn location(&self) -> String {
        match self.document {
            Some(doc) => format!("{}#{}", self.source, doc),
            None => self.source.clone(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.location())?;
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_source_document_path_and_message() {
        let d = Diagnostic::error(
            DiagnosticCode::InvalidField,
            "plan.yaml",
            Some(2),
            "spec.vms[3].targetPowerState",
            r#"unknown variant "maybe", expected one of on, off, auto"#,
        );
        assert_eq!(
            d.to_string(),
            r#"plan.yaml#2: spec.vms[3].targetPowerState: unknown variant "maybe", expected one of on, off, auto"#
        );
        let io = Diagnostic::warning(DiagnosticCode::Io, "dir", None, "", "Empty directory");
        assert_eq!(io.to_string(), "dir: Empty directory");
    }
}
