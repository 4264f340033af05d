//! `forklift render`: print what a plan will create, as kubectl-ready YAML, plus a table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use forklift::manifests::{ManifestSet, Object};
use forklift_core::inventory::{DestinationInventory, SourceInventory};
use forklift_core::manifest::PlanBundle;
use forklift_core::render::{ExecutorProfile, RenderContext, RenderInput, TargetSpec, render};
use forklift_core::resources::{Condition, Provider};

use super::exit::Outcome;
use super::migrate::HooksArg;
use super::output::{self, Format};
use super::terminal;

/// Arguments shared by `render` and `schedule`: where the plan and inventories come from.
#[derive(Debug, Args)]
pub struct PlanSource {
    /// Manifest files or directories (`-` for stdin): Plan, maps, providers, hooks,
    /// ForkliftController, OS-map ConfigMaps.
    #[arg(long, short = 'm', visible_short_alias = 'f', visible_alias = "filename", required = true, num_args = 1..)]
    manifests: Vec<PathBuf>,
    /// Source inventory JSON.
    #[arg(long, short = 'i')]
    inventory: PathBuf,
    /// Destination inventory JSON (storage classes, profiles, NADs, preferences).
    #[arg(long, short = 'd')]
    destination: Option<PathBuf>,
    /// The plan, `name` or `namespace/name` (needed when the manifests hold several).
    #[arg(long, short = 'p')]
    plan: Option<String>,
    #[command(flatten)]
    strict: super::loading::StrictArg,
}

/// Arguments of `forklift render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    source: PlanSource,
    #[command(flatten)]
    output: super::output::OutputArg,
    /// Deprecated: the table is the default output now.
    #[arg(long, hide = true)]
    summary: bool,
    /// Print the whole TargetSpec (names, sizes, modes, itinerary, phases, conditions) as
    /// JSON instead of the objects to create (`-o json` prints those).
    #[arg(long, conflicts_with_all = ["summary", "output"])]
    json: bool,
    /// Render what MTV's controller would do (virt-v2v conversion and disk copy, volume
    /// populators, warm precopies) instead of what `forklift migrate` does on this machine.
    #[arg(long)]
    as_mtv: bool,
    #[command(flatten)]
    hooks: HooksArg,
    #[command(flatten)]
    converter: super::converter::ConverterArg,
}

/// The engine a dry run describes: `forklift migrate` here (with hooks run or refused as
/// `--hooks` says, guests converted or refused as `--converter` says), or MTV's controller.
pub(super) fn executor(
    as_mtv: bool,
    hooks: HooksArg,
    converter: super::converter::ConverterArg,
) -> ExecutorProfile {
    if as_mtv {
        ExecutorProfile::mtv()
    } else {
        forklift::migrate::with_converter(
            forklift::migrate::local_executor_profile(hooks.policy()),
            converter.converter().as_deref(),
        )
    }
}

/// Everything loaded for one plan.
pub(super) struct Loaded {
    pub set: ManifestSet,
    pub bundle: PlanBundle,
    pub source: SourceInventory,
    pub destination: Option<DestinationInventory>,
}

impl Loaded {
    /// Whether the destination is the local cluster (unknown providers count as local).
    pub fn local_destination(&self) -> bool {
        self.bundle
            .destination_provider()
            .is_none_or(Provider::is_host)
    }

    fn config_map_data(&self, name: &str) -> Option<BTreeMap<String, String>> {
        self.set.objects().find_map(|o| match o {
            Object::Unknown(u)
                if u.kind == "ConfigMap" && u.metadata.name.as_deref() == Some(name) =>
            {
                serde_json::from_value(u.raw.get("data")?.clone()).ok()
            }
            _ => None,
        })
    }
}

/// An inventory file (`-` for stdin), bounded as [`forklift::input`] says.
fn read_text(path: &Path, max_input_size: u64) -> Result<String, String> {
    forklift::input::read_text(path, max_input_size).map_err(|e| forklift_core::error::chain(&e))
}

/// Loads manifests and inventories; reports manifest diagnostics on stderr.
pub(super) fn load(args: &PlanSource, max_input_size: u64) -> Result<Loaded, String> {
    // ConfigMaps (OS maps) are not Forklift kinds; they are read verbatim.
    let set = args
        .strict
        .load(&args.manifests, max_input_size)
        .map_err(|e| e.to_string())?;
    let bundle = PlanBundle::select(&set, args.plan.as_deref()).map_err(|e| e.to_string())?;
    let source = SourceInventory::from_json(&read_text(&args.inventory, max_input_size)?)
        .map_err(|e| format!("{}: {e}", args.inventory.display()))?;
    let destination = match &args.destination {
        Some(path) => Some(
            DestinationInventory::from_json(&read_text(path, max_input_size)?)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => None,
    };
    Ok(Loaded {
        set,
        bundle,
        source,
        destination,
    })
}

/// Runs `forklift render`.
pub fn run(args: RenderArgs, max_input_size: u64) -> ExitCode {
    let loaded = match load(&args.source, max_input_size) {
        Ok(l) => l,
        Err(message) => {
            eprintln!("error: {}", terminal::line(&message));
            return Outcome::BadInput.into();
        }
    };
    let bundle = &loaded.bundle;
    let context = RenderContext {
        vsphere_osmap: loaded.config_map_data(&bundle.settings.vsphere_osmap_configmap_name),
        ovirt_osmap: loaded.config_map_data(&bundle.settings.ovirt_osmap_configmap_name),
        executor: executor(args.as_mtv, args.hooks, args.converter),
        ..RenderContext::default()
    };
    let spec = render(RenderInput::for_plan(
        bundle,
        &loaded.source,
        loaded.destination.as_ref(),
        &context,
    ));
    if args.summary {
        eprintln!("forklift render: --summary is deprecated: the table is the default output");
    }
    let printed = if args.json {
        output::pretty_json(&spec)
            .map(|json| println!("{json}"))
            .map_err(output::OutputError::from)
    } else {
        print_spec(&spec, args.output.format())
    };
    if let Err(e) = printed {
        eprintln!("error: {e}");
        return Outcome::Failed.into();
    }
    let conditions =
        spec.conditions
            .iter()
            .map(|c| (String::new(), c))
            .chain(spec.vms.iter().flat_map(|v| {
                let who = if v.source_name.is_empty() {
                    &v.source_id
                } else {
                    &v.source_name
                };
                v.conditions.iter().map(move |c| (format!("{who}: "), c))
            }));
    print_conditions(conditions);
    if spec.has_blockers() {
        Outcome::Failed
    } else {
        Outcome::Ok
    }
    .into()
}

/// The objects a rendered plan creates, printed as kubectl prints objects.
struct Rendered<'a>(&'a TargetSpec);

impl serde::Serialize for Rendered<'_> {
    /// `-o json`: the objects as one `v1` `List`, as `kubectl get -o json` prints several.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": self.0.manifests(),
        })
        .serialize(serializer)
    }
}

impl output::Printable for Rendered<'_> {
    fn rows(&self, wide: bool) -> Vec<Vec<String>> {
        self.0.rows(wide)
    }

    fn names(&self) -> Vec<String> {
        self.0
            .manifests()
            .iter()
            .map(|m| {
                let text = |key: &str| m.get(key).and_then(|v| v.as_str()).unwrap_or_default();
                let name = m
                    .pointer("/metadata/name")
                    .or_else(|| m.pointer("/metadata/generateName"))
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                output::object_name(text("apiVersion"), text("kind"), name)
            })
            .collect()
    }
}

/// Prints what a rendered plan creates in `format`: the table of names and sizes (default,
/// `wide`), the objects as kubectl-ready multi-document YAML (`yaml`, with the table on
/// stderr) or a `v1` `List` (`json`), or their names.
pub(super) fn print_spec(spec: &TargetSpec, format: Format) -> Result<(), output::OutputError> {
    let rendered = Rendered(spec);
    if format == Format::Yaml {
        print!("{}", terminal::lines(&spec.to_yaml()));
        eprint!("{}", output::table(&spec.rows(false)));
        return Ok(());
    }
    output::print(&rendered, format)
}

/// Prints conditions on stderr, one line each (`Critical who: Type: message`) and their
/// items indented below.
pub(super) fn print_conditions<'a>(conditions: impl Iterator<Item = (String, &'a Condition)>) {
    for (prefix, c) in conditions {
        let line = format!("{} {}{}: {}", c.category, prefix, c.type_, c.message);
        eprintln!("{}", terminal::line(&line));
        for item in &c.items {
            eprintln!("    {}", terminal::line(item));
        }
    }
}
