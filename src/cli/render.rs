//! `forklift render`: print what a plan will create, as kubectl-ready YAML, plus a table.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use forklift_core::inventory::{DestinationInventory, SourceInventory};
use forklift_core::manifest::{DiagnosticCode, ManifestSet, Object, Severity};
use forklift_core::render::{RenderContext, RenderInput, render};
use forklift_core::resources::{
    ForkliftController, ForkliftControllerSettings, Hook, NetworkMap, ObjectReference, Plan,
    Provider, StorageMap,
};

/// Arguments shared by `render` and `schedule`: where the plan and inventories come from.
#[derive(Debug, Args)]
pub struct PlanSource {
    /// Manifest files or directories (`-` for stdin): Plan, maps, providers, hooks,
    /// ForkliftController, OS-map ConfigMaps.
    #[arg(long, short = 'm', required = true, num_args = 1..)]
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
}

/// Arguments of `forklift render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    source: PlanSource,
    /// Print only the table of names and sizes.
    #[arg(long)]
    summary: bool,
    /// Print the whole TargetSpec (names, sizes, modes, itinerary, conditions) as JSON
    /// instead of manifests.
    #[arg(long, conflicts_with = "summary")]
    json: bool,
}

/// Everything loaded for one plan.
pub(super) struct Loaded {
    pub set: ManifestSet,
    pub plan: Plan,
    pub source: SourceInventory,
    pub destination: Option<DestinationInventory>,
    pub settings: ForkliftControllerSettings,
}

impl Loaded {
    fn find<T: forklift_core::manifest::ObjectKind>(
        &self,
        reference: &ObjectReference,
    ) -> Option<&T> {
        let namespace = if reference.namespace.is_empty() {
            self.plan.metadata.namespace_or_empty()
        } else {
            &reference.namespace
        };
        self.set.get_as::<T>(namespace, &reference.name)
    }

    pub fn network_map(&self) -> Option<&NetworkMap> {
        self.find(&self.plan.spec.map.network)
    }

    pub fn storage_map(&self) -> Option<&StorageMap> {
        self.find(&self.plan.spec.map.storage)
    }

    pub fn provider(&self, reference: &ObjectReference) -> Option<&Provider> {
        self.find(reference)
    }

    /// Whether the destination is the local cluster (unknown providers count as local).
    pub fn local_destination(&self) -> bool {
        self.provider(&self.plan.spec.provider.destination)
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

fn read_text(path: &Path) -> Result<String, String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("Cannot read stdin: {e}"))?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|e| format!("Cannot read {}: {e}", path.display()))
}

fn manifest_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("Cannot list {}: {e}", path.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn select_plan(set: &ManifestSet, wanted: Option<&str>) -> Result<Plan, String> {
    let plans: Vec<&Plan> = set.all::<Plan>().collect();
    let label = |p: &Plan| {
        format!(
            "{}/{}",
            p.metadata.namespace_or_empty(),
            p.metadata.name_or_empty()
        )
    };
    let chosen: Vec<&Plan> = match wanted {
        Some(w) => plans
            .iter()
            .copied()
            .filter(|p| label(p) == w || p.metadata.name_or_empty() == w)
            .collect(),
        None => plans.clone(),
    };
    match chosen.as_slice() {
        [one] => Ok((*one).clone()),
        [] if plans.is_empty() => Err("No Plan in the manifests".to_owned()),
        [] => Err(format!(
            "Plan {} not found; the manifests hold: {}",
            wanted.unwrap_or_default(),
            plans
                .iter()
                .map(|p| label(p))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        many => Err(format!(
            "Several plans match; choose one with --plan: {}",
            many.iter().map(|p| label(p)).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Loads manifests and inventories; reports manifest diagnostics on stderr.
pub(super) fn load(args: &PlanSource) -> Result<Loaded, String> {
    let mut set = ManifestSet::new();
    for path in &args.manifests {
        for file in manifest_files(path)? {
            let text = read_text(&file)?;
            set.add_str(&file.display().to_string(), &text);
        }
    }
    let mut fatal = false;
    for d in set.diagnostics() {
        // ConfigMaps (OS maps) are not Forklift kinds; they are read verbatim.
        if d.code == DiagnosticCode::UnknownKind {
            continue;
        }
        eprintln!("{}: {d}", d.severity);
        fatal |= d.severity == Severity::Error;
    }
    if fatal {
        return Err("The manifests have errors".to_owned());
    }
    let plan = select_plan(&set, args.plan.as_deref())?;
    let source = SourceInventory::from_json(&read_text(&args.inventory)?)
        .map_err(|e| format!("{}: {e}", args.inventory.display()))?;
    let destination = match &args.destination {
        Some(path) => Some(
            DestinationInventory::from_json(&read_text(path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => None,
    };
    let settings = set
        .all::<ForkliftController>()
        .next()
        .map(|c| c.spec.clone())
        .unwrap_or_default();
    Ok(Loaded {
        set,
        plan,
        source,
        destination,
        settings,
    })
}

/// Runs `forklift render`.
pub fn run(args: RenderArgs) -> ExitCode {
    let loaded = match load(&args.source) {
        Ok(l) => l,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let context = RenderContext {
        vsphere_osmap: loaded.config_map_data(&loaded.settings.vsphere_osmap_configmap_name),
        ovirt_osmap: loaded.config_map_data(&loaded.settings.ovirt_osmap_configmap_name),
        ..RenderContext::default()
    };
    let hooks: Vec<Hook> = loaded.set.all::<Hook>().cloned().collect();
    let spec = render(RenderInput {
        plan: &loaded.plan,
        network_map: loaded.network_map(),
        storage_map: loaded.storage_map(),
        hooks: &hooks,
        source_provider: loaded.provider(&loaded.plan.spec.provider.source),
        destination_provider: loaded.provider(&loaded.plan.spec.provider.destination),
        source: &loaded.source,
        destination: loaded.destination.as_ref(),
        settings: &loaded.settings,
        context: &context,
    });
    if args.json {
        match serde_json::to_string_pretty(&spec) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: cannot write JSON: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else if args.summary {
        print!("{}", spec.table());
    } else {
        print!("{}", spec.to_yaml());
        eprint!("{}", spec.table());
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
    for (prefix, c) in conditions {
        eprintln!("{} {}{}: {}", c.category, prefix, c.type_, c.message);
        for item in &c.items {
            eprintln!("    {item}");
        }
    }
    if spec.has_blockers() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
