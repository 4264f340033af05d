//! `forklift validate`: will this plan run? MTV's conditions, offline.

use clap::{Args, ValueEnum};
use forklift_core::inventory::{DestinationInventory, SourceInventory};
use forklift_core::manifest::ManifestSet;
use forklift_core::resources::{Condition, Hook, NetworkMap, Plan, Provider, StorageMap};
use forklift_core::validation::{PlanResources, Settings, is_ready, validate};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code when inputs cannot be loaded.
const EXIT_INPUT: u8 = 2;

/// Output format.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Output {
    /// JSON.
    #[default]
    Json,
    /// YAML.
    Yaml,
}

/// Arguments of `forklift validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest files or directories (Plan, Providers, maps, hooks); `-` reads stdin.
    #[arg(long, required = true, num_args = 1..)]
    manifests: Vec<PathBuf>,
    /// Source inventory JSON (see docs/inventory-format.md).
    #[arg(long)]
    inventory: PathBuf,
    /// Destination inventory JSON; without it, destination checks are skipped.
    #[arg(long)]
    destination: Option<PathBuf>,
    /// Name of the plan to validate when the manifests hold several.
    #[arg(long)]
    plan: Option<String>,
    /// Global VDDK image (the controller's `VDDK_IMAGE`), used when the provider sets none.
    #[arg(long, env = "VDDK_IMAGE", default_value = "")]
    vddk_image: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(serde::Serialize)]
struct Report<'a> {
    ready: bool,
    conditions: &'a [Condition],
}

/// Runs the verb: 0 ready, 1 a blocker, 2 inputs not loadable.
pub fn run(args: ValidateArgs) -> ExitCode {
    match execute(&args) {
        Ok((text, ready)) => {
            println!("{text}");
            ExitCode::from(if ready { 0 } else { 1 })
        }
        Err(message) => {
            eprintln!("forklift validate: {message}");
            ExitCode::from(EXIT_INPUT)
        }
    }
}

fn execute(args: &ValidateArgs) -> Result<(String, bool), String> {
    let set = load_manifests(&args.manifests);
    if set.has_errors() {
        let lines: Vec<String> = set
            .diagnostics()
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        return Err(format!("cannot load manifests:\n{}", lines.join("\n")));
    }
    let source = read(&args.inventory).and_then(|t| {
        SourceInventory::from_json(&t).map_err(|e| format!("{}: {e}", args.inventory.display()))
    })?;
    let destination = match &args.destination {
        Some(path) => Some(read(path).and_then(|t| {
            DestinationInventory::from_json(&t).map_err(|e| format!("{}: {e}", path.display()))
        })?),
        None => None,
    };
    let plans: Vec<&Plan> = set
        .all::<Plan>()
        .filter(|p| {
            args.plan
                .as_deref()
                .is_none_or(|name| p.metadata.name_or_empty() == name)
        })
        .collect();
    let plan = match plans.as_slice() {
        [one] => *one,
        [] => {
            return Err(match &args.plan {
                Some(name) => format!("no Plan named '{name}' in the manifests"),
                None => "no Plan in the manifests".to_owned(),
            });
        }
        _ => return Err("several Plans in the manifests; choose one with --plan".to_owned()),
    };
    let providers: Vec<Provider> = set.all::<Provider>().cloned().collect();
    let network_maps: Vec<NetworkMap> = set.all::<NetworkMap>().cloned().collect();
    let storage_maps: Vec<StorageMap> = set.all::<StorageMap>().cloned().collect();
    let hooks: Vec<Hook> = set.all::<Hook>().cloned().collect();
    let resources = PlanResources {
        providers: &providers,
        network_maps: &network_maps,
        storage_maps: &storage_maps,
        hooks: &hooks,
    };
    let settings = Settings {
        vddk_image: args.vddk_image.clone(),
        ..Settings::default()
    };
    let conditions = validate(plan, &resources, &source, destination.as_ref(), &settings);
    let ready = is_ready(&conditions);
    let report = Report {
        ready,
        conditions: &conditions,
    };
    let text = match args.output {
        Output::Json => serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?,
        Output::Yaml => serde_yaml_ng::to_string(&report).map_err(|e| e.to_string())?,
    };
    Ok((text.trim_end().to_owned(), ready))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Reads files, directories (their `*.yaml`, `*.yml`, `*.json`, in name order) and `-` (stdin).
fn load_manifests(paths: &[PathBuf]) -> ManifestSet {
    use std::io::Read;
    let mut set = ManifestSet::new();
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            if std::io::stdin().read_to_string(&mut text).is_ok() {
                set.add_str("stdin", &text);
            }
        } else if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
                })
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                set.add_str(&file.display().to_string(), &text);
            }
            Err(e) => set.push_diagnostic(forklift_core::manifest::Diagnostic::error(
                forklift_core::manifest::DiagnosticCode::Io,
                file.display().to_string(),
                None,
                "",
                format!("Cannot read: {e}"),
            )),
        }
    }
    set
}
