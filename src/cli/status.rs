//! `forklift status`: the plan status a run keeps at its destination, as kubectl shows a
//! resource: a table by default, `-o json|yaml|wide|name`, and `--watch` to follow a run
//! from another terminal.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Args;
use forklift::migrate::LocalDestination;
use forklift_core::resources::{Plan, Step, VmStatus};

use super::exit::Outcome;
use super::output::{Format, table};
use super::terminal;

/// How often `--watch` looks at the status file for a change.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Arguments of `forklift status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The plan, `name` or `namespace/name`; without it, every plan with a status at the
    /// destination is listed.
    plan: Option<String>,
    /// Where the plan ran: `local:DIR`, as given to `migrate --destination`.
    #[arg(long)]
    destination: String,
    /// Output format: a table (default), `wide` (adds VM ids, current step and errors),
    /// `json` or `yaml` (the Plan with its status, as the run wrote it), `name`.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    output: Format,
    /// Keep printing the status each time it changes, until every VM has completed
    /// (Ctrl-C stops earlier).
    #[arg(short = 'w', long)]
    watch: bool,
}

/// Why a status could not be shown.
#[derive(Debug, thiserror::Error)]
enum StatusError {
    /// `--destination` is not `local:DIR`.
    #[error("--destination must be local:DIR, not {0:?}")]
    Destination(String),
    /// The plan name cannot name a status file.
    #[error(transparent)]
    PlanName(#[from] forklift::migrate::DestinationError),
    /// No status for the plan (never run there, or another destination).
    #[error("no status for plan {plan} at {}: has it run with this --destination?", path.display())]
    NotFound {
        /// `namespace/name` as given.
        plan: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The status file could not be read.
    #[error(transparent)]
    Read(#[from] forklift::input::InputError),
    /// The status file is not a Plan.
    #[error("{}: not a plan status: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_yaml_ng::Error,
    },
    /// The destination's status folder could not be listed.
    #[error("cannot list {}: {source}", path.display())]
    List {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs the verb: 0 when shown (whatever the VMs' state), 2 when the destination, plan or
/// file is wrong.
pub fn run(args: StatusArgs, max_input_size: u64) -> ExitCode {
    match show(&args, max_input_size) {
        Ok(()) => Outcome::Ok.into(),
        Err(error) => {
            eprintln!("forklift status: {}", terminal::error_chain(&error));
            Outcome::BadInput.into()
        }
    }
}

fn show(args: &StatusArgs, max_input_size: u64) -> Result<(), StatusError> {
    let root = args
        .destination
        .strip_prefix("local:")
        .ok_or_else(|| StatusError::Destination(args.destination.clone()))?;
    let destination = LocalDestination::new(root);
    let Some(plan) = &args.plan else {
        return list(Path::new(root), max_input_size, args.output);
    };
    let (namespace, name) = plan.split_once('/').unwrap_or(("", plan));
    let path = destination.plan_status_path(namespace, name)?;
    // Without a namespace, a plan of that name in any namespace folder will do.
    let path = if namespace.is_empty() && !path.exists() {
        find_by_name(Path::new(root), name).unwrap_or(path)
    } else {
        path
    };
    let mut last: Option<SystemTime> = None;
    loop {
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        if modified.is_none() && last.is_none() {
            return Err(StatusError::NotFound {
                plan: plan.clone(),
                path,
            });
        }
        if modified != last {
            last = modified;
            let plan = read(&path, max_input_size)?;
            if args.watch && modified.is_some() {
                println!();
            }
            print(&plan, args.output);
            if !args.watch || all_completed(&plan) {
                return Ok(());
            }
        }
        std::thread::sleep(WATCH_INTERVAL);
    }
}

fn read(path: &Path, max_input_size: u64) -> Result<Plan, StatusError> {
    let text = forklift::input::read_text(path, max_input_size)?;
    serde_yaml_ng::from_str(&text).map_err(|source| StatusError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// Status files under `ROOT/.forklift`: `NAME.status.yaml` or `NAMESPACE/NAME.status.yaml`.
fn status_files(root: &Path) -> Result<Vec<PathBuf>, StatusError> {
    let dir = root.join(".forklift");
    let list = |dir: &Path| -> Result<Vec<std::fs::DirEntry>, StatusError> {
        match std::fs::read_dir(dir) {
            Ok(entries) => Ok(entries.flatten().collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(StatusError::List {
                path: dir.to_owned(),
                source,
            }),
        }
    };
    let mut files = Vec::new();
    for entry in list(&dir)? {
        // The status folder is ours: links in it are not followed.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            files.extend(
                list(&entry.path())?
                    .into_iter()
                    .filter(|e| e.file_type().is_ok_and(|k| k.is_file()))
                    .map(|e| e.path()),
            );
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    files.retain(|p| p.to_string_lossy().ends_with(".status.yaml"));
    files.sort();
    Ok(files)
}

fn find_by_name(root: &Path, name: &str) -> Option<PathBuf> {
    let file = format!("{name}.status.yaml");
    status_files(root)
        .ok()?
        .into_iter()
        .find(|p| p.file_name().is_some_and(|f| f.to_string_lossy() == file))
}

fn list(root: &Path, max_input_size: u64, format: Format) -> Result<(), StatusError> {
    let mut plans = Vec::new();
    for path in status_files(root)? {
        plans.push(read(&path, max_input_size)?);
    }
    match format {
        Format::Json => println!(
            "{}",
            terminal::json(&serde_json::to_string_pretty(&plans).unwrap_or_default())
        ),
        Format::Yaml => print!(
            "{}",
            terminal::lines(&serde_yaml_ng::to_string(&plans).unwrap_or_default())
        ),
        Format::Name => {
            for plan in &plans {
                println!("{}", terminal::line(&plan_name(plan)));
            }
        }
        Format::Table | Format::Wide => {
            let mut rows = vec![[
                "PLAN".to_owned(),
                "VMS".to_owned(),
                "SUCCEEDED".to_owned(),
                "FAILED".to_owned(),
                "CANCELED".to_owned(),
                "RUNNING".to_owned(),
            ]];
            for plan in &plans {
                let vms = vms(plan);
                let count = |result: &str| vms.iter().filter(|v| outcome(v) == result).count();
                rows.push([
                    plan_name(plan),
                    vms.len().to_string(),
                    count("Succeeded").to_string(),
                    count("Failed").to_string(),
                    count("Canceled").to_string(),
                    vms.iter()
                        .filter(|v| v.completed.is_none())
                        .count()
                        .to_string(),
                ]);
            }
            print!("{}", table(&rows));
        }
    }
    Ok(())
}

fn plan_name(plan: &Plan) -> String {
    let namespace = plan.metadata.namespace.as_deref().unwrap_or_default();
    let name = plan.metadata.name.as_deref().unwrap_or_default();
    if namespace.is_empty() {
        format!("plan/{name}")
    } else {
        format!("plan/{namespace}/{name}")
    }
}

fn vms(plan: &Plan) -> &[VmStatus] {
    plan.status
        .as_ref()
        .and_then(|s| s.migration.as_ref())
        .map_or(&[], |m| m.vms.as_slice())
}

fn all_completed(plan: &Plan) -> bool {
    let vms = vms(plan);
    !vms.is_empty() && vms.iter().all(|v| v.completed.is_some())
}

/// Upstream's result condition of a finished VM (`Succeeded`, `Failed`, `Canceled`), or
/// `Running` / `Pending`.
fn outcome(vm: &VmStatus) -> &str {
    let result = vm
        .conditions
        .iter()
        .find(|c| matches!(c.type_.as_str(), "Succeeded" | "Failed" | "Canceled"))
        .map(|c| c.type_.as_str());
    match (result, &vm.started) {
        (Some(result), _) => result,
        (None, Some(_)) => "Running",
        (None, None) => "Pending",
    }
}

/// The step a VM is in (or ended in): the first one not completed or skipped.
fn current_step(vm: &VmStatus) -> Option<&Step> {
    vm.pipeline
        .iter()
        .find(|s| s.completed.is_none() && s.phase != "Skipped")
        .or_else(|| vm.pipeline.last())
}

/// Disk-copy progress of a VM: `completed/total MB (percent)` of its DiskTransfer step.
fn disk_progress(vm: &VmStatus) -> String {
    let Some(step) = vm.pipeline.iter().find(|s| s.name.starts_with("Disk")) else {
        return "-".to_owned();
    };
    let (done, total) = (step.progress.completed, step.progress.total);
    if total <= 0 {
        return "-".to_owned();
    }
    let unit = step
        .annotations
        .get("unit")
        .map_or(String::new(), |unit| format!(" {unit}"));
    format!("{done}/{total}{unit} ({}%)", done * 100 / total)
}

fn print(plan: &Plan, format: Format) {
    match format {
        Format::Json => println!(
            "{}",
            terminal::json(&serde_json::to_string_pretty(plan).unwrap_or_default())
        ),
        Format::Yaml => print!(
            "{}",
            terminal::lines(&serde_yaml_ng::to_string(plan).unwrap_or_default())
        ),
        Format::Name => println!("{}", terminal::line(&plan_name(plan))),
        Format::Table | Format::Wide => {
            let wide = format == Format::Wide;
            let mut header = vec![
                "VM",
                "TARGET",
                "PHASE",
                "RESULT",
                "DISKS",
                "STARTED",
                "COMPLETED",
            ];
            if wide {
                header.extend(["ID", "STEP", "ERROR"]);
            }
            let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
            for vm in vms(plan) {
                let target = if vm.new_name.is_empty() {
                    vm.vm.name.clone()
                } else {
                    vm.new_name.clone()
                };
                let mut row = vec![
                    vm.vm.name.clone(),
                    target,
                    vm.phase.clone(),
                    outcome(vm).to_owned(),
                    disk_progress(vm),
                    vm.started.clone().unwrap_or_else(|| "-".to_owned()),
                    vm.completed.clone().unwrap_or_else(|| "-".to_owned()),
                ];
                if wide {
                    row.push(vm.vm.id.clone());
                    row.push(current_step(vm).map_or("-".to_owned(), |s| s.name.clone()));
                    row.push(
                        vm.error
                            .as_ref()
                            .map_or("-".to_owned(), |e| e.reasons.join("; ")),
                    );
                }
                rows.push(row);
            }
            println!("{}", terminal::line(&plan_name(plan)));
            print!("{}", table(&rows));
        }
    }
}
