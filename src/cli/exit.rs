//! The one exit-code table of every verb: each verb ends with an [`Outcome`], and only this
//! module turns outcomes into process exit codes. `forklift --help` shows [`TABLE`] and
//! `tests/exit_codes.rs` checks that README.md states the same table.

use std::process::ExitCode;

use forklift::migrate::MigrateError;
use forklift_transfer::ErrorKind;

/// How a verb ended, in the terms of the exit-code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done (exit 0).
    Ok,
    /// The inputs were read, but the work was not done: the plan is blocked, a VM, a copy,
    /// a verification or a provider failed (exit 1).
    Failed,
    /// Bad input or usage: an unreadable or invalid file, an unknown plan, an invalid option
    /// (exit 2, as clap's own usage errors).
    BadInput,
    /// Interrupted by Ctrl-C (SIGINT) (exit 130, as shells report a SIGINT death).
    Interrupted,
}

impl Outcome {
    /// The process exit code of this outcome.
    pub const fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Failed => 1,
            Self::BadInput => 2,
            Self::Interrupted => 130,
        }
    }

    /// The outcome of a transfer error: cancelled, refused input (an invalid or unsupported
    /// URI or option, a missing or malformed image) or a failure while copying.
    pub fn of_transfer(error: &forklift_transfer::Error) -> Self {
        match error.kind() {
            ErrorKind::Cancelled => Self::Interrupted,
            ErrorKind::InvalidInput
            | ErrorKind::NotFound
            | ErrorKind::InvalidFormat
            | ErrorKind::Unsupported => Self::BadInput,
            _ => Self::Failed,
        }
    }

    /// The outcome of a migration error: the manifests name no usable plan (bad input),
    /// cancelled, or a failure of the plan or its run.
    pub fn of_migrate(error: &MigrateError) -> Self {
        match error {
            MigrateError::Plan(_)
            | MigrateError::SourceProviderNotFound { .. }
            | MigrateError::HookNotFound { .. } => Self::BadInput,
            MigrateError::Cancelled => Self::Interrupted,
            _ => Self::Failed,
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(outcome.code())
    }
}

/// The exit-code table as `forklift --help` prints it; README.md repeats its rows.
pub const TABLE: &str = "\
Exit codes (every verb):
  0    success
  1    the plan is blocked, or a VM, a copy, a verification or a provider failed
  2    bad input or usage: an unreadable or invalid file, an unknown plan, an invalid option
  130  interrupted (Ctrl-C)";

#[cfg(test)]
mod tests {
    use super::{Outcome, TABLE};

    #[test]
    fn the_table_lists_every_code() {
        for outcome in [
            Outcome::Ok,
            Outcome::Failed,
            Outcome::BadInput,
            Outcome::Interrupted,
        ] {
            let row = format!("\n  {:<4} ", outcome.code());
            assert!(TABLE.contains(&row), "{outcome:?} missing from {TABLE}");
        }
    }
}
