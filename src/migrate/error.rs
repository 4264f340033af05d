//! Errors of the migration runner.

use std::path::{Path, PathBuf};

use forklift_core::resources::Condition;

use super::hooks::HookError;

/// Why a migration could not run or a VM failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The manifests do not describe a runnable plan.
    #[error("Manifests: {0}")]
    Manifest(String),
    /// Validation found blockers; nothing was moved.
    #[error("Plan is not ready: {}", summary(.conditions))]
    NotReady {
        /// Every condition validation set.
        conditions: Vec<Condition>,
    },
    /// The source provider failed.
    #[error("Source provider")]
    Provider(#[source] Box<forklift_providers::Error>),
    /// A disk transfer failed.
    #[error("Transfer of {what}")]
    Transfer {
        /// Which disk.
        what: String,
        /// The engine's error.
        #[source]
        source: Box<forklift_transfer::Error>,
    },
    /// A hook failed.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// The destination could not be written.
    #[error("Destination {path}: {message}")]
    Destination {
        /// File concerned.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A file operation failed.
    #[error("I/O error on {path}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The scheduler rejected its input.
    #[error("Scheduling")]
    Scheduling(#[from] forklift_core::scheduling::Error),
    /// The migration or the VM was cancelled.
    #[error("Cancelled")]
    Cancelled,
}

impl From<forklift_providers::Error> for MigrateError {
    fn from(error: forklift_providers::Error) -> Self {
        Self::Provider(Box::new(error))
    }
}

impl MigrateError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The message with its chain of causes, for status fields and events.
    pub fn chain(&self) -> String {
        forklift_core::error::chain(self)
    }
}

fn summary(conditions: &[Condition]) -> String {
    let blockers: Vec<String> = conditions
        .iter()
        .filter(|c| c.is_blocker())
        .map(|c| {
            if c.message.is_empty() {
                c.type_.clone()
            } else {
                format!("{} ({})", c.type_, c.message)
            }
        })
        .collect();
    blockers.join("; ")
}
