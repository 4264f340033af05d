//! `forklift manifests check PATH... [-f PATH]... [-o json|yaml|wide|name]`.

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

use forklift::manifests::{self, Object};

use super::exit::Outcome;
use super::output::{self, Format};
use super::terminal;

/// `forklift manifests` sub-verbs.
#[derive(Debug, Subcommand)]
pub enum ManifestsCommand {
    /// Load manifests and report every object, warning and error.
    ///
    /// Prints a table of the objects (status, kind, namespace/name, origin) on stdout, or
    /// the normalized objects with `-o json|yaml`, and every diagnostic on stderr.
    /// Exits 0 when everything loaded, 2 otherwise (and on any warning with --strict).
    Check {
        /// Files, directories (walked for *.yaml, *.yml, *.json) or `-` for stdin.
        #[arg(required_unless_present = "filename")]
        paths: Vec<PathBuf>,
        /// More files or directories, as kubectl takes them.
        #[arg(short = 'f', long = "filename", value_name = "PATH", num_args = 1..)]
        filename: Vec<PathBuf>,
        #[command(flatten)]
        output: super::output::OutputArg,
        /// Count warnings (unknown fields, placeholders...) as errors.
        #[arg(long)]
        strict: bool,
    },
}

impl ManifestsCommand {
    /// Runs the sub-verb, reading files of at most `max_input_size` bytes.
    pub fn run(self, max_input_size: u64) -> ExitCode {
        match self {
            ManifestsCommand::Check {
                mut paths,
                filename,
                output,
                strict,
            } => {
                paths.extend(filename);
                check(&paths, output.format(), strict, max_input_size)
            }
        }
    }
}

fn check(paths: &[PathBuf], format: Format, strict: bool, max_input_size: u64) -> ExitCode {
    let set = manifests::load_paths_with_limit(paths, max_input_size);
    let text = match format {
        Format::Json => set.to_json().map_err(|e| e.to_string()),
        Format::Yaml => set.to_yaml().map_err(|e| e.to_string()),
        Format::Table | Format::Wide => Ok(output::table(&rows(&set, format == Format::Wide))),
        Format::Name => Ok(set
            .entries()
            .iter()
            .map(|e| {
                let key = e.object.key();
                terminal::line(&output::object_name(
                    e.object.api_version(),
                    &key.kind,
                    &key.name,
                )) + "\n"
            })
            .collect()),
    };
    match text {
        Ok(text) => print!(
            "{}{}",
            text,
            if text.ends_with('\n') || text.is_empty() {
                ""
            } else {
                "\n"
            }
        ),
        Err(e) => {
            eprintln!("error: {}", terminal::line(&e));
            return Outcome::Failed.into();
        }
    }
    for diagnostic in set.diagnostics() {
        let line = format!("{}: {diagnostic}", diagnostic.severity);
        eprintln!("{}", terminal::line(&line));
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

/// One row per object: whether its kind is modelled, kind, `namespace/name`, where it was
/// read; `wide` adds the apiVersion.
fn rows(set: &manifests::ManifestSet, wide: bool) -> Vec<Vec<String>> {
    let mut titles = vec!["STATUS", "KIND", "NAME", "ORIGIN"];
    if wide {
        titles.push("APIVERSION");
    }
    let mut rows = vec![output::header(&titles)];
    for entry in set.entries() {
        let key = entry.object.key();
        let status = if matches!(entry.object, Object::Unknown(_)) {
            "unknown"
        } else {
            "ok"
        };
        let name = if key.namespace.is_empty() {
            key.name.clone()
        } else {
            format!("{}/{}", key.namespace, key.name)
        };
        let mut row = vec![
            status.to_owned(),
            key.kind.clone(),
            name,
            entry.origin.to_string(),
        ];
        if wide {
            row.push(entry.object.api_version().to_owned());
        }
        rows.push(row);
    }
    rows
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
