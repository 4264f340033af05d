//! The bindings' internal error and its explicit mapping onto Python exceptions.
//!
//! Binding code returns [`Result`] and uses `?` on any library error; the one `match` in
//! `From<Error> for PyErr` decides which Python exception each becomes. The exception classes
//! are defined in Python (`forklift/exceptions.py`), so they can inherit from built-ins too.

use std::fmt::Write as _;

use pyo3::exceptions::{PyFileNotFoundError, PyLookupError, PyOSError, PyValueError};
use pyo3::prelude::*;

use crate::manifests::Diagnostic;
use crate::plan::Condition;

pyo3::import_exception!(forklift.exceptions, ForkliftError);
pyo3::import_exception!(forklift.exceptions, ManifestError);
pyo3::import_exception!(forklift.exceptions, ValidationError);
pyo3::import_exception!(forklift.exceptions, TemplateError);
pyo3::import_exception!(forklift.exceptions, ProviderError);
pyo3::import_exception!(forklift.exceptions, TransferError);
pyo3::import_exception!(forklift.exceptions, CancelledError);
pyo3::import_exception!(forklift.exceptions, ClusterError);

/// Everything a binding call can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The operation was cancelled through its token or `cancel()`.
    #[error("Operation cancelled")]
    Cancelled,
    /// An error of the pure layer.
    #[error(transparent)]
    Core(#[from] forklift::core::Error),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A socket or thread operation of the bindings themselves failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A migration failed (boxed: the runner's error is large and rare).
    #[error(transparent)]
    Migrate(Box<forklift::migrate::MigrateError>),
    /// Manifests hold errors (every error diagnostic, in the order found).
    #[error("{}", manifest_message(.0))]
    Manifest(Vec<forklift::core::manifest::Diagnostic>),
    /// The manifests do not name one plan (none, several, or not the one asked for): the
    /// same error, and the same [`ManifestError`], for `validate`, `render` and `migrate`.
    #[error(transparent)]
    Plan(#[from] forklift::core::manifest::PlanSelectError),
    /// Writing manifests failed.
    #[error(transparent)]
    ManifestWrite(#[from] forklift::core::manifest::Error),
    /// A rendered name is invalid, or its template fails.
    #[error(transparent)]
    Naming(#[from] forklift::core::naming::Error),
    /// A naming template does not parse or fails to execute.
    #[error(transparent)]
    Template(#[from] forklift::core::template::Error),
    /// An error of the transfer engine.
    #[error(transparent)]
    Transfer(#[from] forklift::transfer::Error),
    /// An error of a source provider.
    #[error(transparent)]
    Provider(#[from] forklift::providers::Error),
    /// A Python call made by the bindings raised (a callback, a conversion).
    #[error(transparent)]
    Python(#[from] PyErr),
    /// A deploy stopped (boxed: it carries what it created).
    #[error(transparent)]
    Deploy(Box<forklift::migrate::kubevirt::DeployFailure>),
    /// An argument has a value the call does not accept.
    #[error("{0}")]
    Value(String),
}

impl From<forklift::migrate::MigrateError> for Error {
    fn from(error: forklift::migrate::MigrateError) -> Self {
        Self::Migrate(Box::new(error))
    }
}

/// Result with [`Error`] as the default error type.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for PyErr {
    fn from(error: Error) -> Self {
        let message = forklift::core::error::chain(&error);
        match error {
            Error::Cancelled => CancelledError::new_err(message),
            Error::Core(forklift::core::Error::InvalidValue { .. }) => {
                PyValueError::new_err(message)
            }
            Error::Core(_) => ForkliftError::new_err(message),
            // OSError(errno, strerror, filename) picks the subclass (FileNotFoundError, ...).
            Error::File { path, source } => match source.raw_os_error() {
                Some(errno) => PyOSError::new_err((errno, source.to_string(), path)),
                None => PyOSError::new_err(message),
            },
            // pyo3 maps the kinds (NotFound, PermissionDenied, ...) onto OSError's subclasses.
            Error::Io(io) => PyErr::from(io),
            Error::Manifest(diagnostics) => manifest_error(&diagnostics, message),
            Error::Migrate(migrate) => migrate_error(*migrate, message),
            Error::ManifestWrite(_) | Error::Plan(_) => ManifestError::new_err(message),
            Error::Naming(_) | Error::Template(_) => TemplateError::new_err(message),
            Error::Python(err) => err,
            Error::Provider(provider) => provider_error(provider, message),
            Error::Transfer(transfer) => transfer_error(&transfer, message),
            Error::Value(_) => PyValueError::new_err(message),
            Error::Deploy(failure) => deploy_error(*failure, message),
        }
    }
}

fn manifest_message(errors: &[forklift::core::manifest::Diagnostic]) -> String {
    match errors {
        [] => "Invalid manifests".to_owned(),
        [only] => only.to_string(),
        [first, rest @ ..] => {
            let mut message = format!("{} errors in manifests: {first}", rest.len() + 1);
            for error in rest {
                let _ = write!(message, "\n  {error}");
            }
            message
        }
    }
}

fn manifest_error(errors: &[forklift::core::manifest::Diagnostic], message: String) -> PyErr {
    let err = ManifestError::new_err(message);
    let attributes = Python::attach(|py| -> PyResult<()> {
        let value = err.value(py);
        if let Some(first) = errors.first() {
            value.setattr("file", &first.source)?;
            value.setattr("document", first.document)?;
            value.setattr("path", (!first.path.is_empty()).then_some(&first.path))?;
        }
        let diagnostics: Vec<Diagnostic> = errors.iter().map(Diagnostic::from).collect();
        value.setattr("diagnostics", diagnostics)
    });
    // As for transfer errors: the message alone still reports the error.
    drop(attributes);
    err
}

/// A deploy that stopped: `ClusterError` with `created`, or the file error of an unusable
/// bundle as `ForkliftError`.
fn deploy_error(failure: forklift::migrate::kubevirt::DeployFailure, message: String) -> PyErr {
    // DeployFailure's own Display is only "Deploy stopped": the chain names the cause.
    let message = message
        .strip_prefix("Deploy stopped: ")
        .map_or(message.clone(), str::to_owned);
    let err = if failure.is_bundle_error() {
        ForkliftError::new_err(message)
    } else {
        ClusterError::new_err(message)
    };
    let created = serde_json::to_value(&failure.created).unwrap_or_default();
    // As for transfer errors: the message alone still reports the error.
    drop(Python::attach(|py| -> PyResult<()> {
        err.value(py)
            .setattr("created", crate::convert::to_python(py, &created)?)
    }));
    err
}

fn migrate_error(error: forklift::migrate::MigrateError, message: String) -> PyErr {
    use forklift::migrate::MigrateError as E;
    match error {
        E::Cancelled => CancelledError::new_err(message),
        E::UnknownVm { .. } => PyLookupError::new_err(message),
        E::InvalidCutover { .. } => pyo3::exceptions::PyValueError::new_err(message),
        E::Plan(_) | E::SourceProviderNotFound { .. } => ManifestError::new_err(message),
        E::NotReady { conditions } => {
            let err = ValidationError::new_err(message);
            let conditions: Vec<Condition> = conditions.iter().map(Condition::from).collect();
            // As for transfer errors: the message alone still reports the error.
            drop(Python::attach(|py| {
                err.value(py).setattr("conditions", conditions)
            }));
            err
        }
        E::Provider(provider) => provider_error(*provider, message),
        E::Transfer { source, .. } => transfer_error(&source, message),
        E::Destination(forklift::migrate::DestinationError::Io { path, source }) => {
            Error::File { path, source }.into()
        }
        E::Destination(forklift::migrate::DestinationError::Cluster(_)) => {
            ClusterError::new_err(message)
        }
        // Hooks, the rest of the destination and the scheduler have no class of their own.
        _ => ForkliftError::new_err(message),
    }
}

fn provider_error(error: forklift::providers::Error, message: String) -> PyErr {
    use forklift::providers::Error as E;
    let kind = match error {
        E::Cancelled => return CancelledError::new_err(message),
        E::Io { path, source } => {
            return Error::File {
                path: path.into(),
                source,
            }
            .into();
        }
        // A catalog (or a file in it) that cannot be read is a local file error, as the docs
        // of ProviderError promise: OSError, FileNotFoundError for a missing one.
        E::Ova(forklift::providers::ova::Error::Io { path, source }) => {
            return Error::File { path, source }.into();
        }
        E::Unsupported { .. } => "unsupported",
        // A Secret that lacks a key is a configuration error, as the docs of `kind` say.
        E::Config { .. } | E::Credentials(_) | E::PlainHttp { .. } => "config",
        E::Tls(_) => "tls",
        E::Http { .. } => "http",
        E::HttpStatus { .. } => "http_status",
        E::Fault { .. } => "fault",
        // An answer beyond the client's limits is one it does not follow.
        E::Protocol { .. } | E::Xml { .. } | E::LimitExceeded { .. } => "protocol",
        E::Task { .. } => "task",
        E::NotFound { .. } => "not_found",
        _ => "other",
    };
    let err = ProviderError::new_err(message);
    // As for transfer errors: the message alone still reports the error.
    drop(Python::attach(|py| err.value(py).setattr("kind", kind)));
    err
}

fn transfer_error(error: &forklift::transfer::Error, message: String) -> PyErr {
    use forklift::transfer::ErrorKind;
    let kind = match error.kind() {
        ErrorKind::Cancelled => return CancelledError::new_err(message),
        ErrorKind::InvalidInput => return PyValueError::new_err(message),
        ErrorKind::NotFound => {
            let path = error.context().target.clone();
            return PyFileNotFoundError::new_err((libc_enoent(), message, path));
        }
        ErrorKind::Io => "io",
        ErrorKind::Protocol => "protocol",
        ErrorKind::Disconnected => "disconnected",
        ErrorKind::Server => "server",
        ErrorKind::Unsupported => "unsupported",
        ErrorKind::OutOfBounds => "out_of_bounds",
        ErrorKind::InvalidFormat => "invalid_format",
        ErrorKind::Tls => "tls",
        ErrorKind::Mismatch => "mismatch",
        ErrorKind::Timeout => "timeout",
        _ => "other",
    };
    let err = TransferError::new_err(message);
    let context = error.context();
    let attributes = Python::attach(|py| -> PyResult<()> {
        let value = err.value(py);
        value.setattr("kind", kind)?;
        value.setattr("fatal", error.is_fatal())?;
        value.setattr("op", context.op.map(|op| op.as_str()))?;
        value.setattr("offset", context.offset)?;
        value.setattr("length", context.length)?;
        value.setattr("target", context.target.as_deref())?;
        value.setattr("errno", error.errno())
    });
    // Setting attributes on a fresh exception fails only when memory runs out; the message
    // alone still reports the error then.
    drop(attributes);
    err
}

/// `ENOENT`, the errno of `FileNotFoundError` on every platform CPython supports.
const fn libc_enoent() -> i32 {
    2
}

#[cfg(test)]
mod tests {
    use super::*;
    use forklift::core::error::chain;

    #[test]
    fn messages_name_each_cause_once() {
        // `File` embeds its source in its own message; `Io` is transparent.
        let file = Error::File {
            path: "plan.yaml".into(),
            source: std::io::Error::other("No such file"),
        };
        assert_eq!(chain(&file), "plan.yaml: No such file");
        let transparent = Error::Io(std::io::Error::other("Disk full"));
        assert_eq!(chain(&transparent), "Disk full");
    }
}
