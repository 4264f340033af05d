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

/// The message of `error` followed by `: cause` for each error in its [`source`] chain, on
/// one line, for terminals, status fields and Python exceptions. A cause whose text already
/// ends the message is skipped: `#[error(transparent)]` wrappers and messages that embed
/// their source (`"{path}: {source}"`) would otherwise print it twice.
///
/// The text is returned as the errors display it; nothing is escaped.
///
/// [`source`]: std::error::Error::source
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("Cannot read plan.yaml")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error(transparent)]
    struct Transparent(std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("Copy failed")]
    struct Top(#[source] Outer);

    #[derive(Debug, thiserror::Error)]
    #[error("plan.yaml: {0}")]
    struct Embeds(#[source] std::io::Error);

    #[test]
    fn chain_joins_sources_once() {
        let inner = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        assert_eq!(chain(&Outer(inner)), "Cannot read plan.yaml: No such file");
        let transparent = Transparent(std::io::Error::other("Disk full"));
        assert_eq!(chain(&transparent), "Disk full");
        let nested = Top(Outer(std::io::Error::other("Disk full")));
        assert_eq!(
            chain(&nested),
            "Copy failed: Cannot read plan.yaml: Disk full"
        );
        assert_eq!(chain(&std::io::Error::other("alone")), "alone");
        let embeds = Embeds(std::io::Error::other("Permission denied"));
        assert_eq!(chain(&embeds), "plan.yaml: Permission denied");
    }
}
