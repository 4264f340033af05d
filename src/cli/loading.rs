//! Manifests as every plan verb loads them: each diagnostic shown (warnings too, so a typo
//! such as `targetNamspace` is seen where it matters), and `--strict` to make warnings stop
//! the verb, as kubectl's `--validate=strict` does.

use std::path::PathBuf;

use forklift::manifests::{self, ManifestSet};

use super::terminal;

/// `--strict`, shared by every verb that reads manifests.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct StrictArg {
    /// Treat every warning about the manifests (an unknown field, a placeholder left in, a
    /// duplicate object, non-breaking spaces) as an error: exit 2 before anything runs.
    #[arg(long)]
    strict: bool,
}

/// Why the manifests stop a verb: the diagnostics have been printed already.
#[derive(Debug, thiserror::Error)]
#[error("the manifests have {errors} error{}{}", if *.errors == 1 { "" } else { "s" }, if *.strict { " (warnings count as errors with --strict)" } else { "" })]
pub struct ManifestsRejected {
    /// Blocking diagnostics.
    pub errors: usize,
    /// Whether `--strict` made warnings count.
    pub strict: bool,
}

impl StrictArg {
    /// Loads `paths`, prints every diagnostic but the unknown kinds of foreign objects
    /// (ConfigMaps and other kinds kept verbatim) on stderr, and refuses the set when it has
    /// a blocking error, or any warning under `--strict`.
    pub fn load(
        self,
        paths: &[PathBuf],
        max_input_size: u64,
    ) -> Result<ManifestSet, ManifestsRejected> {
        self.load_with(paths, max_input_size, false)
    }

    /// Like [`load`](Self::load) for a verb that needs only some objects (`inventory` reads
    /// a Provider and its Secret): errors elsewhere do not stop it, unless `--strict`.
    pub fn load_lenient(
        self,
        paths: &[PathBuf],
        max_input_size: u64,
    ) -> Result<ManifestSet, ManifestsRejected> {
        self.load_with(paths, max_input_size, true)
    }

    fn load_with(
        self,
        paths: &[PathBuf],
        max_input_size: u64,
        lenient: bool,
    ) -> Result<ManifestSet, ManifestsRejected> {
        let set = manifests::load_paths_with_limit(paths, max_input_size);
        report(&set);
        let mut errors = 0;
        if !lenient || self.strict {
            errors += manifests::blocking_errors(&set).len();
        }
        if self.strict {
            errors += set.diagnostics().iter().filter(|d| !d.is_error()).count();
        }
        if errors == 0 {
            Ok(set)
        } else {
            Err(ManifestsRejected {
                errors,
                strict: self.strict,
            })
        }
    }
}

/// Prints every diagnostic of `set` on stderr, but the unknown kinds of foreign objects.
fn report(set: &ManifestSet) {
    for d in set.diagnostics() {
        if !manifests::is_foreign_kind(set, d) {
            eprintln!("{}", terminal::line(&format!("{}: {d}", d.severity)));
        }
    }
}
