//! `forklift manifests check PATH... [--output json|yaml]`.

use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

use forklift::manifests::{self, Object};

use super::exit::Outcome;

/// `forklift manifests` sub-verbs.
#[derive(Debug, Subcommand)]
pub enum ManifestsCommand {
    /// Load manifests and report every object, warning and error.
    ///
    /// Prints one line per object (kind, namespace/name, origin) and every diagnostic.
    /// Exits 0 when everything loaded, 2 otherwise (and on any warning with --strict).
    Check {
        /// Files, directories (walked for *.yaml, *.yml, *.json) or `-` for stdin.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print the normalized objects instead of the object list.
        #[arg(long, short)]
        output: Option<OutputFormat>,
        /// Count warnings (unknown fields, placeholders...) as errors.
        #[arg(long)]
        strict: bool,
    },
}

/// Output formats of normalized objects.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    /// One JSON `v1` `List`.
    Json,
    /// Multi-document YAML.
    Yaml,
}

impl ManifestsCommand {
    /// Runs the sub-verb, reading files of at most `max_input_size` bytes.
    pub fn run(self, max_input_size: u64) -> ExitCode {
        match self {
            ManifestsCommand::Check {
                paths,
                output,
                strict,
            } => check(&paths, output, strict, max_input_size),
        }
    }
}

fn check(
    paths: &[PathBuf],
    output: Option<OutputFormat>,
    strict: bool,
    max_input_size: u64,
) -> ExitCode {
    let set = manifests::load_paths_with_limit(paths, max_input_size);
    match output {
        None => {
            for entry in set.entries() {
                let status = if matches!(entry.object, Object::Unknown(_)) {
                    "unknown"
                } else {
                    "ok"
                };
                println!("{status:<8}{}  ({})", entry.object.key(), entry.origin);
            }
        }
        Some(format) => {
            let text = match format {
                OutputFormat::Json => set.to_json(),
                OutputFormat::Yaml => set.to_yaml(),
            };
            match text {
                Ok(text) => print!("{}{}", text, if text.ends_with('\n') { "" } else { "\n" }),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Outcome::Failed.into();
                }
            }
        }
    }
    for diagnostic in set.diagnostics() {
        let line = format!("{}: {diagnostic}", diagnostic.severity);
        eprintln!("{}", super::terminal::line(&line));
    }
    let errors = set.diagnostics().iter().filter(|d| d.is_error()).count();
    let warnings = set.diagnostics().len() - errors;
    eprintln!(
        "{} object{}, {errors} error{}, {warnings} warning{}",
        set.len(),
        plural(set.len()),
        plural(errors),
        plural(warnings)
    );
    // Manifests with errors are bad input, as `validate`, `render` and `migrate` treat them.
    if errors == 0 && !(strict && warnings > 0) {
        Outcome::Ok
    } else {
        Outcome::BadInput
    }
    .into()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
