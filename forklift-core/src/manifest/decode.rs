//! From text to typed objects: splitting documents, dispatching on `apiVersion`/`kind`, and
//! decoding with field paths for errors and unknown fields.

use regex::Regex;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::LazyLock;

use super::diagnostic::{Diagnostic, DiagnosticCode};
use super::names::name_violations;
use super::object::{Object, UnknownObject};
use super::strict::Checked;
use super::{LoadedObject, Origin};
use crate::resources::nad::NAD_API_VERSION;
use crate::resources::secret::SECRET_API_VERSION;
use crate::resources::{API_VERSION, GROUP, ObjectMeta};

/// Documentation placeholders such as `<namespace>` or `<IP address>`.
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<[A-Za-z][A-Za-z0-9_ .:/-]*>").unwrap_or_else(|e| unreachable!("{e}"))
});

/// Parses every document of `text` (multi-document YAML, a JSON value, or a JSON stream).
pub(super) fn parse_text(source: &str, text: &str) -> (Vec<LoadedObject>, Vec<Diagnostic>) {
    let mut out = Decoded {
        source,
        objects: Vec::new(),
        diagnostics: Vec::new(),
    };
    let first = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .next();
    if matches!(first, Some('{' | '[')) {
        out.json_stream(text);
    } else {
        out.yaml_stream(text);
    }
    (out.objects, out.diagnostics)
}

struct Decoded<'a> {
    source: &'a str,
    objects: Vec<LoadedObject>,
    diagnostics: Vec<Diagnostic>,
}

impl Decoded<'_> {
    fn json_stream(&mut self, text: &str) {
        let stream = serde_json::Deserializer::from_str(text).into_iter::<Checked>();
        for (i, doc) in stream.enumerate() {
            let document = i + 1;
            let doc = doc.map(|checked| self.unique_keys(checked, document));
            match doc {
                Ok(None) => {}
                Ok(Some(Value::Array(items))) => {
                    // A bare JSON array is read as a list of objects.
                    for (j, item) in items.into_iter().enumerate() {
                        self.document(item, document, format!("[{j}]"));
                    }
                }
                Ok(Some(value)) => self.document(value, document, String::new()),
                Err(e) => {
                    self.diagnostics.push(Diagnostic::error(
                        DiagnosticCode::Syntax,
                        self.source,
                        Some(document),
                        "",
                        format!("Invalid JSON: {e}"),
                    ));
                    return;
                }
            }
        }
    }

    fn yaml_stream(&mut self, text: &str) {
        let (text, lines) = normalize_indentation(text);
        if !lines.is_empty() {
            let shown: Vec<String> = lines.iter().take(10).map(ToString::to_string).collect();
            let more = if lines.len() > 10 { ", ..." } else { "" };
            self.diagnostics.push(Diagnostic::warning(
                DiagnosticCode::NonBreakingSpace,
                self.source,
                None,
                "",
                format!(
                    "Non-breaking spaces (U+00A0) in the indentation of line{} {}{more} were read as spaces",
                    if lines.len() == 1 { "" } else { "s" },
                    shown.join(", ")
                ),
            ));
        }
        if let Err(at) = super::nesting::check_flow_nesting(&text) {
            self.diagnostics.push(Diagnostic::error(
                DiagnosticCode::NestingTooDeep,
                self.source,
                None,
                "",
                format!(
                    "Flow collections ([...], {{...}}) nest deeper than {} levels at line {}, column {}; the text is not parsed",
                    super::MAX_FLOW_NESTING,
                    at.line,
                    at.column
                ),
            ));
            return;
        }
        for (i, doc) in serde_yaml_ng::Deserializer::from_str(&text).enumerate() {
            let document = i + 1;
            match <Checked as serde::Deserialize>::deserialize(doc) {
                Ok(checked) => {
                    if let Some(value) = self.unique_keys(checked, document) {
                        self.document(value, document, String::new());
                    }
                }
                Err(e) => {
                    self.diagnostics.push(Diagnostic::error(
                        DiagnosticCode::Syntax,
                        self.source,
                        Some(document),
                        "",
                        format!("Invalid YAML: {e}"),
                    ));
                    // The parser cannot resynchronise after a syntax error.
                    if e.location().is_some() {
                        return;
                    }
                }
            }
        }
    }

    /// The document's value, or `None` (with a `duplicate-key` error per repeated key) when
    /// a mapping in it holds a key twice: which of the two values was meant is unknowable.
    fn unique_keys(&mut self, checked: Checked, document: usize) -> Option<Value> {
        if checked.duplicates.is_empty() {
            return Some(checked.value);
        }
        for (mapping, key) in checked.duplicates {
            self.error(
                DiagnosticCode::DuplicateKey,
                document,
                join(&mapping, &key),
                format!(
                    "Duplicate mapping key {key:?}; the API server refuses such objects, so the document is not loaded"
                ),
            );
        }
        None
    }

    fn error(&mut self, code: DiagnosticCode, document: usize, path: String, message: String) {
        self.diagnostics.push(Diagnostic::error(
            code,
            self.source,
            Some(document),
            path,
            message,
        ));
    }

    fn warning(&mut self, code: DiagnosticCode, document: usize, path: String, message: String) {
        self.diagnostics.push(Diagnostic::warning(
            code,
            self.source,
            Some(document),
            path,
            message,
        ));
    }

    /// Handles one document (or one item of a list), `prefix` being its path within the document.
    fn document(&mut self, value: Value, document: usize, prefix: String) {
        let map = match &value {
            Value::Null => return, // empty document, e.g. a trailing `---`
            Value::Object(map) => map,
            other => {
                let what = match other {
                    Value::Array(_) => "a list",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    Value::Bool(_) => "a boolean",
                    _ => "not a mapping",
                };
                self.error(
                    DiagnosticCode::NotAnObject,
                    document,
                    prefix,
                    format!("Expected a Kubernetes object (a mapping), found {what}"),
                );
                return;
            }
        };
        let api_version = map
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let kind = map
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();

        if kind == "List" || (kind.ends_with("List") && api_version == "v1") {
            if let Some(Value::Array(items)) = map.get("items") {
                for (j, item) in items.clone().into_iter().enumerate() {
                    self.document(item, document, join(&prefix, &format!("items[{j}]")));
                }
                return;
            }
        }

        self.placeholders(&value, document, &prefix, &kind);

        if api_version.is_empty() || kind.is_empty() {
            let missing = if kind.is_empty() {
                "kind"
            } else {
                "apiVersion"
            };
            self.error(
                DiagnosticCode::MissingTypeMeta,
                document,
                join(&prefix, missing),
                format!("Missing {missing}; the object is kept verbatim"),
            );
            self.keep_unknown(value, api_version, kind, document, prefix);
            return;
        }

        let object = match (api_version.as_str(), kind.as_str()) {
            (API_VERSION, "Provider") => self.typed(&value, document, &prefix, Object::Provider),
            (API_VERSION, "NetworkMap") => {
                self.typed(&value, document, &prefix, Object::NetworkMap)
            }
            (API_VERSION, "StorageMap") => {
                self.typed(&value, document, &prefix, Object::StorageMap)
            }
            (API_VERSION, "Plan") => self.typed(&value, document, &prefix, Object::Plan),
            (API_VERSION, "Migration") => self.typed(&value, document, &prefix, Object::Migration),
            (API_VERSION, "Hook") => self.typed(&value, document, &prefix, Object::Hook),
            (API_VERSION, "Host") => self.typed(&value, document, &prefix, Object::Host),
            (API_VERSION, "ForkliftController") => {
                self.typed(&value, document, &prefix, Object::ForkliftController)
            }
            (SECRET_API_VERSION, "Secret") => self.typed(&value, document, &prefix, Object::Secret),
            (NAD_API_VERSION, "NetworkAttachmentDefinition") => self.typed(
                &value,
                document,
                &prefix,
                Object::NetworkAttachmentDefinition,
            ),
            _ => {
                let known_kind = KNOWN_KINDS.iter().find(|(k, _)| *k == kind);
                let (code, message) = match known_kind {
                    Some((_, expected)) => (
                        DiagnosticCode::UnsupportedApiVersion,
                        format!(
                            "Unsupported apiVersion {api_version:?} for {kind} (expected {expected}); the object is kept verbatim"
                        ),
                    ),
                    None if api_version.split('/').next() == Some(GROUP) => (
                        DiagnosticCode::UnknownKind,
                        format!(
                            "Unknown kind {kind} in {api_version} (forklift models Provider, NetworkMap, StorageMap, Plan, Migration, Hook, Host and ForkliftController); the object is kept verbatim"
                        ),
                    ),
                    None => (
                        DiagnosticCode::UnknownKind,
                        format!("Unknown kind {kind} ({api_version}); the object is kept verbatim"),
                    ),
                };
                self.error(code, document, join(&prefix, "kind"), message);
                self.keep_unknown(value, api_version, kind, document, prefix);
                return;
            }
        };
        if let Some(object) = object.filter(|o| self.valid_names(o, document, &prefix)) {
            self.objects.push(LoadedObject {
                origin: Origin {
                    source: self.source.to_owned(),
                    document,
                    path: prefix,
                },
                object,
            });
        }
    }

    /// Whether the object's names are valid Kubernetes names ([`name_violations`]); each
    /// violation is an `invalid-name` error and the object is not loaded.
    fn valid_names(&mut self, object: &Object, document: usize, prefix: &str) -> bool {
        let violations = name_violations(object.metadata());
        let valid = violations.is_empty();
        for (field, message) in violations {
            self.error(
                DiagnosticCode::InvalidName,
                document,
                join(prefix, field),
                message,
            );
        }
        valid
    }

    fn keep_unknown(
        &mut self,
        value: Value,
        api_version: String,
        kind: String,
        document: usize,
        prefix: String,
    ) {
        let metadata = value
            .get("metadata")
            .and_then(|m| serde_json::from_value::<ObjectMeta>(m.clone()).ok())
            .unwrap_or_default();
        self.objects.push(LoadedObject {
            origin: Origin {
                source: self.source.to_owned(),
                document,
                path: prefix,
            },
            object: Object::Unknown(UnknownObject {
                api_version,
                kind,
                metadata,
                raw: value,
            }),
        });
    }

    /// Decodes into `T`, reporting the failing field's path or every ignored field's path.
    fn typed<T: DeserializeOwned>(
        &mut self,
        value: &Value,
        document: usize,
        prefix: &str,
        wrap: fn(T) -> Object,
    ) -> Option<Object> {
        let mut ignored = Vec::new();
        let mut record = |path: serde_ignored::Path<'_>| ignored.push(ignored_path(&path));
        let tracked = serde_ignored::Deserializer::new(value, &mut record);
        let result: Result<T, _> = serde_path_to_error::deserialize(tracked);
        match result {
            Ok(object) => {
                for path in ignored {
                    self.warning(
                        DiagnosticCode::UnknownField,
                        document,
                        join(prefix, &path),
                        "Unknown field; it is ignored and not saved".to_owned(),
                    );
                }
                Some(wrap(object))
            }
            Err(e) => {
                let path = e.path().to_string();
                let path = if path == "." { String::new() } else { path };
                let kind = value
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                // Serde quotes the offending value; never echo Secret data.
                let message = if is_secret_value(kind, &path) {
                    "Invalid value (not shown: Secret data); stringData values are strings, data values base64 strings".to_owned()
                } else {
                    e.into_inner().to_string()
                };
                self.error(
                    DiagnosticCode::InvalidField,
                    document,
                    join(prefix, &path),
                    message,
                );
                None
            }
        }
    }

    fn placeholders(&mut self, value: &Value, document: usize, prefix: &str, kind: &str) {
        let mut found = Vec::new();
        walk_strings(value, String::new(), &mut |path, s| {
            if let Some(m) = PLACEHOLDER.find(s) {
                found.push((path, m.as_str().to_owned()));
            }
        });
        for (path, placeholder) in found {
            let message = if is_secret_value(kind, &path) {
                "Value contains a placeholder such as <name> (not shown: Secret data); substitute a real value".to_owned()
            } else {
                format!("Value contains the placeholder {placeholder}; substitute a real value")
            };
            self.warning(
                DiagnosticCode::Placeholder,
                document,
                join(prefix, &path),
                message,
            );
        }
    }
}

/// Kinds we model, with the apiVersion each is served under.
const KNOWN_KINDS: &[(&str, &str)] = &[
    ("Provider", API_VERSION),
    ("NetworkMap", API_VERSION),
    ("StorageMap", API_VERSION),
    ("Plan", API_VERSION),
    ("Migration", API_VERSION),
    ("Hook", API_VERSION),
    ("Host", API_VERSION),
    ("ForkliftController", API_VERSION),
    ("Secret", SECRET_API_VERSION),
    ("NetworkAttachmentDefinition", NAD_API_VERSION),
];

/// Replaces non-breaking spaces in line indentation with spaces, returning the 1-based numbers
/// of the lines changed. Text copied from HTML documentation (the user guide included) often
/// carries them, and YAML would otherwise read them as part of a key.
fn normalize_indentation(text: &str) -> (std::borrow::Cow<'_, str>, Vec<usize>) {
    if !text.contains('\u{a0}') {
        return (std::borrow::Cow::Borrowed(text), Vec::new());
    }
    let mut changed = Vec::new();
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let indent_len = line
            .char_indices()
            .find(|&(_, c)| c != ' ' && c != '\u{a0}')
            .map_or(line.len(), |(at, _)| at);
        let (indent, rest) = line.split_at(indent_len);
        if indent.contains('\u{a0}') {
            changed.push(i + 1);
            out.extend(indent.chars().map(|_| ' '));
        } else {
            out.push_str(indent);
        }
        out.push_str(rest);
    }
    (std::borrow::Cow::Owned(out), changed)
}

/// Whether a path holds Secret values, which diagnostics must never quote.
fn is_secret_value(kind: &str, path: &str) -> bool {
    kind == "Secret"
        && ["data", "stringData"]
            .iter()
            .any(|field| path == *field || path.starts_with(&format!("{field}.")))
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

/// Formats a `serde_ignored` path as `spec.vms[3].field`.
fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        Path::Map { parent, key } => join(&ignored_path(parent), key),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_path(parent),
    }
}

fn walk_strings(value: &Value, path: String, visit: &mut dyn FnMut(String, &str)) {
    match value {
        Value::String(s) => visit(path, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_strings(item, format!("{path}[{i}]"), visit);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                walk_strings(item, join(&path, key), visit);
            }
        }
        _ => {}
    }
}
