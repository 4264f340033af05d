//! `forklift validate`: will this plan run? MTV's conditions, offline.

use clap::Args;
use forklift::manifests::ManifestSet;
use forklift_core::inventory::{DestinationInventory, SourceInventory};
use forklift_core::manifest::PlanBundle;
use forklift_core::resources::{Condition, Plan};
use forklift_core::validation::{PlanResources, Settings, is_ready, validate};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::exit::Outcome;
use super::migrate::HooksArg;
use super::terminal;

/// Arguments of `forklift validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest files or directories (Plan, Providers, maps, hooks); `-` reads stdin.
    #[arg(long, short = 'f', visible_alias = "filename", required = true, num_args = 1..)]
    manifests: Vec<PathBuf>,
    /// Source inventory JSON (see docs/inventory-format.md). Without it, the plan's source
    /// provider is connected and its inventory collected live (its Secret must be among the
    /// manifests).
    #[arg(long)]
    inventory: Option<PathBuf>,
    /// Destination inventory JSON; without it, destination checks are skipped.
    #[arg(long)]
    destination: Option<PathBuf>,
    /// Name of the plan to validate when the manifests hold several.
    #[arg(long)]
    plan: Option<String>,
    /// Global VDDK image (the controller's `VDDK_IMAGE`), used when the provider sets none;
    /// overrides the `vddk_image` of a ForkliftController among the manifests.
    #[arg(long, env = "VDDK_IMAGE", default_value = "")]
    vddk_image: String,
    #[command(flatten)]
    output: super::output::OutputArg,
    /// Validate for MTV's controller: leave out the conditions that say what `forklift
    /// migrate` on this machine cannot do (conversion, warm precopies, copy offload...).
    #[arg(long)]
    as_mtv: bool,
    #[command(flatten)]
    hooks: HooksArg,
    #[command(flatten)]
    converter: super::converter::ConverterArg,
    #[command(flatten)]
    strict: super::loading::StrictArg,
    /// Let the live source's spec.url be plain http:// (vSphere), which sends the password
    /// in clear text (refused otherwise).
    #[arg(long)]
    allow_plain_http: bool,
}

/// What `validate` (and `migrate` on a blocked plan) prints: whether the plan is ready and
/// its conditions.
#[derive(serde::Serialize)]
pub(super) struct Report<'a> {
    /// No condition blocks the plan.
    pub ready: bool,
    /// Every condition, in the order MTV sets them.
    pub conditions: &'a [Condition],
}

impl super::output::Printable for Report<'_> {
    fn rows(&self, wide: bool) -> Vec<Vec<String>> {
        use super::output::{cell, header};
        let mut titles = vec!["TYPE", "CATEGORY", "REASON", "MESSAGE"];
        if wide {
            titles.extend(["STATUS", "ITEMS", "SUGGESTION"]);
        }
        let mut rows = vec![header(&titles)];
        for c in self.conditions {
            let mut row = vec![
                c.type_.clone(),
                c.category.to_string(),
                cell(&c.reason),
                cell(&c.message),
            ];
            if wide {
                row.push(c.status.to_string());
                row.push(cell(&c.items.join(", ")));
                row.push(cell(&c.suggestion));
            }
            rows.push(row);
        }
        rows
    }

    fn names(&self) -> Vec<String> {
        self.conditions
            .iter()
            .map(|c| format!("condition/{}", c.type_))
            .collect()
    }
}

/// Runs the verb: 0 ready, 1 a blocker, 2 inputs not loadable.
pub fn run(args: ValidateArgs, max_input_size: u64) -> ExitCode {
    match execute(&args, max_input_size) {
        Ok((text, ready)) => {
            print!("{text}");
            if !ready {
                eprintln!(
                    "forklift validate: the plan is not ready (a Critical or Error condition blocks it)"
                );
            }
            if ready { Outcome::Ok } else { Outcome::Failed }.into()
        }
        Err(Stop { outcome, message }) => {
            eprintln!("forklift validate: {}", terminal::lines(&message));
            outcome.into()
        }
    }
}

/// Why `validate` stopped before judging the plan, and the outcome it exits with.
struct Stop {
    outcome: Outcome,
    message: String,
}

/// A message alone is bad input: a file, the manifests or an option are at fault.
impl From<String> for Stop {
    fn from(message: String) -> Self {
        Self {
            outcome: Outcome::BadInput,
            message,
        }
    }
}

fn execute(args: &ValidateArgs, max_input_size: u64) -> Result<(String, bool), Stop> {
    let set = args
        .strict
        .load(&args.manifests, max_input_size)
        .map_err(|e| Stop::from(e.to_string()))?;
    let destination = match &args.destination {
        Some(path) => Some(read(path, max_input_size).and_then(|t| {
            DestinationInventory::from_json(&t).map_err(|e| format!("{}: {e}", path.display()))
        })?),
        None => None,
    };
    let bundle = PlanBundle::select(&set, args.plan.as_deref()).map_err(|e| e.to_string())?;
    let source = match &args.inventory {
        Some(path) => read(path, max_input_size).and_then(|t| {
            SourceInventory::from_json(&t).map_err(|e| format!("{}: {e}", path.display()))
        })?,
        None => live_inventory(&set, &bundle.plan, args.allow_plain_http)?,
    };
    let mut settings = Settings::for_bundle(&bundle);
    // `--vddk-image` (or `VDDK_IMAGE`) overrides the ForkliftController's `vddk_image`.
    if !args.vddk_image.is_empty() {
        settings.vddk_image.clone_from(&args.vddk_image);
    }
    let mut conditions = validate(
        &bundle.plan,
        &PlanResources::of(&bundle),
        &source,
        destination.as_ref(),
        &settings,
    );
    if !args.as_mtv {
        // What this engine cannot perform blocks `forklift migrate` as validation does.
        forklift::migrate::add_local_refusals(
            &mut conditions,
            &bundle,
            &source,
            destination.as_ref(),
            args.hooks.policy(),
            args.converter.converter().as_deref(),
        );
    }
    let ready = is_ready(&conditions);
    let report = Report {
        ready,
        conditions: &conditions,
    };
    let text = super::output::render(&report, args.output.format()).map_err(|e| e.to_string())?;
    Ok((text, ready))
}

/// Collects the inventory of the plan's source provider through the provider factory.
fn live_inventory(
    set: &ManifestSet,
    plan: &Plan,
    allow_plain_http: bool,
) -> Result<SourceInventory, Stop> {
    let reference = &plan.spec.provider.source;
    let namespace = if reference.namespace.is_empty() {
        plan.metadata.namespace_or_empty()
    } else {
        reference.namespace.as_str()
    };
    let name = format!("{namespace}/{}", reference.name);
    let mut config = forklift_providers::ProviderConfig::from_manifests(set, &name)
        .map_err(|e| format!("source provider {name}: {e}"))?;
    config.allow_plain_http = allow_plain_http;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Stop {
            outcome: Outcome::Failed,
            message: e.to_string(),
        })?;
    // The provider's configuration was read: failing to reach it is a failure, not bad input.
    runtime
        .block_on(forklift_providers::capability::collect_inventory(&config))
        .map_err(|e| Stop {
            outcome: Outcome::Failed,
            message: format!(
                "collecting the inventory of {name}: {}",
                forklift_core::error::chain(&e)
            ),
        })
}

/// An inventory file (`-` for stdin), bounded as [`forklift::input`] says.
fn read(path: &Path, max_input_size: u64) -> Result<String, String> {
    forklift::input::read_text(path, max_input_size).map_err(|e| forklift_core::error::chain(&e))
}
