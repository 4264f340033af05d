//! Manifests: parsing and saving through `forklift_core::manifest`.
//!
//! Objects cross into Python as plain data (the Python layer wraps them as `Resource`s) and
//! come back the same way; saving re-parses them with the library, so what is written is
//! always what the typed model accepts, with its defaults applied.

use std::path::PathBuf;

use forklift::core::manifest::{self, DiagnosticCode, ManifestSet};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use serde_json::{Value, json};

use crate::convert::{from_python, serialize, to_python};
use crate::error::{Error, Result};

/// One finding of manifest loading: severity, stable code, location and message.
#[pyclass(module = "forklift._native", frozen, get_all, eq)]
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// `"error"` or `"warning"`.
    severity: String,
    /// A stable kebab-case code (`invalid-field`, `unknown-field`, `placeholder`...).
    code: String,
    /// The source label (file path, `<string>`, ...).
    source: String,
    /// 1-based document number, when the finding is inside a document.
    document: Option<usize>,
    /// Field path inside the document (`spec.vms[3].targetPowerState`), empty for none.
    path: String,
    /// What is wrong.
    message: String,
    /// The whole finding on one line: location, path and message.
    text: String,
}

#[pymethods]
impl Diagnostic {
    /// Whether this diagnostic is an error (not a warning).
    #[getter]
    fn is_error(&self) -> bool {
        self.severity == "error"
    }

    /// The diagnostic as a plain dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::convert::serialize(py, self)
    }

    fn __str__(&self) -> &str {
        &self.text
    }

    fn __repr__(&self) -> String {
        format!(
            "<Diagnostic {} {}: {}>",
            self.severity, self.code, self.text
        )
    }
}

impl From<&manifest::Diagnostic> for Diagnostic {
    fn from(diagnostic: &manifest::Diagnostic) -> Self {
        Self {
            severity: diagnostic.severity.to_string(),
            code: diagnostic.code.as_str().to_owned(),
            source: diagnostic.source.clone(),
            document: diagnostic.document,
            path: diagnostic.path.clone(),
            message: diagnostic.message.clone(),
            text: diagnostic.to_string(),
        }
    }
}

/// `(objects, diagnostics)` of a parsed set, each object an `(origin, data)` pair.
type Loaded<'py> = (Bound<'py, PyList>, Vec<Diagnostic>);

/// Parses YAML or JSON text (one or more documents, `List`s) into `(objects, diagnostics)`.
/// With `strict`, any error diagnostic raises `ManifestError`.
#[pyfunction]
#[pyo3(signature = (source, text, strict = true))]
pub(crate) fn parse_manifests<'py>(
    py: Python<'py>,
    source: &str,
    text: &str,
    strict: bool,
) -> Result<Loaded<'py>> {
    let set = py.detach(|| ManifestSet::parse(source, text));
    loaded(py, &set, strict)
}

/// Loads files and directories (walked recursively for `.yaml`, `.yml` and `.json` files) and
/// `-` for stdin, through the facade's loader. A path that does not exist raises
/// `FileNotFoundError`; files that cannot be read (not regular files, or larger than
/// `max_input_size` bytes, 64 MiB by default) are `io` diagnostics.
#[pyfunction]
#[pyo3(signature = (paths, strict = true, max_input_size = None))]
pub(crate) fn load_manifests<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    strict: bool,
    max_input_size: Option<u64>,
) -> Result<Loaded<'py>> {
    for path in &paths {
        if path.as_os_str() != "-" {
            std::fs::metadata(path).map_err(|source| Error::File {
                path: path.clone(),
                source,
            })?;
        }
    }
    let limit = max_input_size.unwrap_or(forklift::input::DEFAULT_MAX_INPUT_SIZE);
    let set = py.detach(|| forklift::manifests::load_paths_with_limit(&paths, limit));
    loaded(py, &set, strict)
}

fn loaded<'py>(py: Python<'py>, set: &ManifestSet, strict: bool) -> Result<Loaded<'py>> {
    if strict && set.has_errors() {
        return Err(Error::Manifest(errors(set)));
    }
    let entries = set
        .entries()
        .iter()
        .map(|loaded| {
            let origin = serialize(py, &loaded.origin)?;
            let data = to_python(py, &loaded.object.to_value())?;
            PyTuple::new(py, [origin, data])
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok((
        PyList::new(py, entries)?,
        set.diagnostics().iter().map(Diagnostic::from).collect(),
    ))
}

fn errors(set: &ManifestSet) -> Vec<manifest::Diagnostic> {
    set.diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect()
}

/// Writes objects (dicts or `Resource`s) as multi-document YAML or as a JSON `List`.
///
/// The objects are parsed again by the library first: an object the model rejects raises
/// `ManifestError` with every diagnostic.
#[pyfunction]
#[pyo3(signature = (objects, format = "yaml"))]
pub(crate) fn dump_manifests(
    py: Python<'_>,
    objects: &Bound<'_, PyAny>,
    format: &str,
) -> Result<String> {
    let mut items = Vec::new();
    for (index, object) in objects.try_iter()?.enumerate() {
        items.push(from_python(&object?, &format!("objects[{index}]"))?);
    }
    let to_json = match format {
        "yaml" => false,
        "json" => true,
        other => {
            return Err(Error::Value(format!(
                "Unknown manifest format {other:?}: use \"yaml\" or \"json\""
            )));
        }
    };
    py.detach(|| {
        let foreign: Vec<bool> = items.iter().map(is_foreign).collect();
        let list = json!({ "apiVersion": "v1", "kind": "List", "items": items });
        let set = ManifestSet::parse("<objects>", &list.to_string());
        // Objects of other API groups (KubeVirt VirtualMachines, CDI DataVolumes...) are
        // unknown to the model and written verbatim; only forklift's own kinds are checked.
        let errors: Vec<manifest::Diagnostic> = set
            .diagnostics()
            .iter()
            .filter(|d| d.is_error())
            .filter(|d| {
                !(d.code == DiagnosticCode::UnknownKind
                    && item_index(&d.path).is_some_and(|i| foreign[i]))
            })
            .cloned()
            .collect();
        if !errors.is_empty() {
            return Err(Error::Manifest(errors));
        }
        Ok(if to_json {
            set.to_json()?
        } else {
            set.to_yaml()?
        })
    })
}

/// Whether an object belongs to another API group than forklift's (Kubernetes core objects
/// such as Secrets have no group and stay checked).
fn is_foreign(item: &Value) -> bool {
    let api_version = item
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    api_version.contains('/') && !api_version.starts_with(forklift::core::resources::GROUP)
}

/// `N` of a diagnostic path `items[N]...`.
fn item_index(path: &str) -> Option<usize> {
    path.strip_prefix("items[")?.split(']').next()?.parse().ok()
}

/// Builds a set from plain objects by parsing them as one `v1` `List`, so the typed model
/// applies its defaults and checks; errors become [`Error::Manifest`].
pub(crate) fn reparse(items: Vec<Value>) -> Result<ManifestSet> {
    let list = json!({ "apiVersion": "v1", "kind": "List", "items": items });
    let set = ManifestSet::parse("<objects>", &list.to_string());
    if set.has_errors() {
        return Err(Error::Manifest(errors(&set)));
    }
    Ok(set)
}
