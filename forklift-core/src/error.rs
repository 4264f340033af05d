//! The error type of `forklift-core`.

/// Errors of the pure layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input value is out of its allowed domain.
    #[error("Invalid value for {field}: {reason}")]
    InvalidValue {
        /// Path of the offending field.
        field: String,
        /// Why it is invalid.
        reason: String,
    },
}

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
