//! `forklift migrate`: run a plan into a local folder bundle.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, ValueEnum};
use forklift::migrate::hooks::AnsibleHookRunner;
use forklift::migrate::kubevirt::KubevirtDestination;
use forklift::migrate::{HookPolicy, LocalDestination, MigrateError, MigrateOptions, Migrator};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::events::EventSink;
use super::exit::Outcome;
use super::terminal;

/// How long the progress display may take to show the last events once the run returned.
const EVENTS_DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// How long blocking work the run started may take to end once the run returned.
const RUNTIME_SHUTDOWN_LIMIT: Duration = Duration::from_secs(2);

/// Arguments of `forklift migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Manifest files or directories (Plan, Migration, Providers, Secrets, maps, hooks).
    #[arg(long, short = 'f', visible_alias = "filename", required = true, num_args = 1..)]
    manifests: Vec<PathBuf>,
    /// The plan (`namespace/name` or name) when the manifests hold several.
    #[arg(long)]
    plan: Option<String>,
    /// Where VMs land: `local:DIR` (a deployable bundle) or `kubevirt` (the cluster of
    /// --kubeconfig, KUBECONFIG or the in-cluster config).
    #[arg(long)]
    destination: String,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
    /// Show progress bars.
    #[arg(long)]
    progress: bool,
    #[command(flatten)]
    output: super::output::OutputArg,
    /// Change nothing: read the source's inventory, validate and print what the run would
    /// create, as `render` prints it (the table, or `-o yaml` for the objects; conditions on
    /// stderr); exit 1 when the plan is blocked.
    #[arg(long, conflicts_with_all = ["events", "progress", "verify", "restart"])]
    dry_run: bool,
    /// Write every event as one JSON object per line to FILE (`-`: standard output, where
    /// the plan report then follows as one last JSON line unless `-o` asks for another format).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Re-read every copied disk and compare it with the source.
    #[arg(long)]
    verify: bool,
    /// Copy every disk from zero: discard the checkpoints an interrupted, cancelled or
    /// failed earlier run left beside half-copied disks (by default they resume).
    #[arg(long)]
    restart: bool,
    /// Seconds requests to an NBD server may wait without a byte from it before the
    /// connection counts as lost and is reopened; 0 waits forever.
    #[arg(long, value_name = "SECONDS", default_value_t = forklift_transfer::nbd::DEFAULT_IO_TIMEOUT.as_secs_f64(), value_parser = super::copy::parse_seconds)]
    io_timeout: f64,
    #[command(flatten)]
    hooks: HooksArg,
    #[command(flatten)]
    strict: super::loading::StrictArg,
    #[command(flatten)]
    converter: super::converter::ConverterArg,
    /// Let a vSphere source's spec.url be plain http://, which sends the password in clear
    /// text (refused otherwise).
    #[arg(long)]
    allow_plain_http: bool,
    /// Seconds between the precopies of a warm migration (by default the
    /// ForkliftController's controller_precopy_interval, in minutes: 60).
    #[arg(long, value_name = "SECONDS", value_parser = super::copy::parse_seconds)]
    precopy_interval: Option<f64>,
}

/// Where the plan's hooks run.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum HookPlace {
    /// On this machine, with a local `ansible-playbook -c local`.
    Local,
}

/// `--hooks`, shared by `migrate`, `validate` and `render` so they describe the same run.
#[derive(Debug, Clone, Copy, Args)]
pub(super) struct HooksArg {
    /// Run the plan's hooks: `local` runs their playbooks on this machine with
    /// ansible-playbook. Without it a plan with hooks is refused (HookRunnerNotAvailable).
    #[arg(long = "hooks", value_enum)]
    hooks: Option<HookPlace>,
}

impl HooksArg {
    /// Whether hooks run.
    pub(super) fn policy(self) -> HookPolicy {
        match self.hooks {
            Some(HookPlace::Local) => HookPolicy::Run,
            None => HookPolicy::Refuse,
        }
    }
}

/// Blocking-pool threads of a migration's runtime. Every disk read and write of the copy
/// runs there, and a reading thread keeps its VMDK inflate buffers: with tokio's default
/// (512) a 40-disk plan ran 87–195 threads and peaked at 85–96 MiB; the plan-wide buffer
/// budget admits only 16 blocks of 1 MiB at a time, so more threads than that only wait
/// (32 threads measured 4–5 MiB more RSS than 16 and no faster).
pub const MIGRATION_BLOCKING_THREADS: usize = 16;

/// The runtime `migrate` (and the demo, which migrates) runs on.
pub(crate) fn migration_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MIGRATION_BLOCKING_THREADS)
        .build()
}

/// Runs the verb; it exits as the table of [`super::exit`] says: 0 when every VM migrated,
/// 1 when one failed or the plan has blockers, 2 when inputs cannot be loaded, 130 when
/// interrupted by SIGINT (Ctrl-C; the run stops and cleans up, a second Ctrl-C exits at once).
pub fn run(args: MigrateArgs, max_input_size: u64) -> ExitCode {
    let runtime = match migration_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("forklift migrate: {e}");
            return Outcome::Failed.into();
        }
    };
    // Ctrl-C is ours from the first moment: one that lands while the manifests load still
    // exits 130 after a clean stop, never by the signal's default action.
    let interrupted = Arc::new(AtomicBool::new(false));
    let cancel = CancellationToken::new();
    if let Err(e) = watch_sigint(&runtime, cancel.clone(), interrupted.clone()) {
        eprintln!("forklift migrate: cannot watch for Ctrl-C: {e}");
        return Outcome::Failed.into();
    }
    let set = match args.strict.load(&args.manifests, max_input_size) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("forklift migrate: {}", terminal::line(&e.to_string()));
            return Outcome::BadInput.into();
        }
    };
    let mut options = if args.destination == "kubevirt" {
        MigrateOptions::new(KubevirtDestination::new(args.cluster.options()))
    } else if let Some(dir) = args.destination.strip_prefix("local:") {
        MigrateOptions::new(LocalDestination::new(dir))
    } else {
        eprintln!("forklift migrate: --destination must be local:DIR or kubevirt");
        return Outcome::BadInput.into();
    };
    options.verify = args.verify;
    options.restart = args.restart;
    options.copy.io_timeout = std::time::Duration::from_secs_f64(args.io_timeout);
    options.allow_plain_http = args.allow_plain_http;
    options.precopy_interval = args.precopy_interval.map(Duration::from_secs_f64);
    if args.hooks.policy() == HookPolicy::Run {
        options.hooks = Some(Arc::new(AnsibleHookRunner::default()));
    }
    options.converter = args.converter.converter();
    let migrator = match Migrator::new(&set, args.plan.as_deref(), options) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("forklift migrate: {}", terminal::error_chain(&e));
            return Outcome::BadInput.into();
        }
    };
    let events = match args.events.as_deref().map(EventSink::open).transpose() {
        Ok(sink) => sink,
        Err(e) => {
            eprintln!("forklift migrate: {}", terminal::error_chain(&e));
            return Outcome::BadInput.into();
        }
    };
    let events_on_stdout = events.as_ref().is_some_and(EventSink::is_stdout);
    if args.dry_run {
        return dry_run(&runtime, &migrator, args.output.format());
    }
    if interrupted.load(Ordering::SeqCst) {
        return Outcome::Interrupted.into();
    }
    let code = runtime.block_on(async {
        let (tx, rx) = mpsc::channel(256);
        let rx = match events {
            Some(sink) => super::events::tee(rx, sink),
            None => rx,
        };
        let shown = tokio::spawn(super::progress::show(rx, args.progress));
        let result = migrator.run(tx, cancel).await;
        // The run has ended and dropped its event sender; the display ends when it has shown
        // what is left, but never keeps the process alive if a sender outlived the run.
        if tokio::time::timeout(EVENTS_DRAIN_LIMIT, shown)
            .await
            .is_err()
        {
            tracing::warn!("the progress display did not end; exiting without it");
        }
        let interrupted = interrupted.load(Ordering::SeqCst);
        match result {
            Ok(report) => {
                print_report(
                    &super::migrate_report::Report(&report),
                    args.output.explicit(),
                    events_on_stdout,
                );
                if interrupted {
                    Outcome::Interrupted
                } else if report.succeeded() {
                    Outcome::Ok
                } else {
                    Outcome::Failed
                }
                .into()
            }
            Err(_) if interrupted => Outcome::Interrupted.into(),
            Err(MigrateError::NotReady { conditions }) => {
                let report = super::validate::Report {
                    ready: false,
                    conditions: &conditions,
                };
                print_report(&report, args.output.explicit(), events_on_stdout);
                Outcome::Failed.into()
            }
            Err(e) => {
                eprintln!("forklift migrate: {}", terminal::error_chain(&e));
                Outcome::of_migrate(&e).into()
            }
        }
    });
    // Blocking work still under way (a read of the source) is not waited for past this.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_LIMIT);
    code
}

/// Prints the plan report (or the conditions of a blocked plan) as `-o` says; with
/// `--events -` and no `-o`, as one last JSON line after the events.
fn print_report<T: super::output::Printable>(
    report: &T,
    format: Option<super::output::Format>,
    events_on_stdout: bool,
) {
    let printed = match format {
        None if events_on_stdout => super::output::compact_json(report)
            .map(|line| println!("{line}"))
            .map_err(super::output::OutputError::from),
        format => super::output::print(report, format.unwrap_or_default()),
    };
    if let Err(e) = printed {
        eprintln!("forklift migrate: {e}");
    }
}

/// `--dry-run`: what the run would create, printed as `render` prints it; nothing changes.
fn dry_run(
    runtime: &tokio::runtime::Runtime,
    migrator: &Migrator,
    format: super::output::Format,
) -> ExitCode {
    let (spec, conditions) = match runtime.block_on(migrator.dry_run()) {
        Ok(result) => result,
        Err(e) => {
            eprintln!("forklift migrate: {}", terminal::error_chain(&e));
            return Outcome::of_migrate(&e).into();
        }
    };
    if let Err(e) = super::render::print_spec(&spec, format) {
        eprintln!("forklift migrate: {e}");
        return Outcome::Failed.into();
    }
    super::render::print_conditions(conditions.iter().map(|c| (String::new(), c)));
    if forklift_core::validation::is_ready(&conditions) {
        Outcome::Ok
    } else {
        Outcome::Failed
    }
    .into()
}

/// Watches for SIGINT from now on: the first cancels the run (and sets `interrupted`), the
/// second exits at once without waiting for the run's cleanup.
fn watch_sigint(
    runtime: &tokio::runtime::Runtime,
    cancel: CancellationToken,
    interrupted: Arc<AtomicBool>,
) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    // Registered before returning, so no SIGINT after this call takes the default action.
    let mut sigint = runtime.block_on(async { signal(SignalKind::interrupt()) })?;
    runtime.spawn(async move {
        if sigint.recv().await.is_some() {
            interrupted.store(true, Ordering::SeqCst);
            cancel.cancel();
            eprintln!("forklift migrate: interrupted; stopping (Ctrl-C again to exit at once)");
        }
        if sigint.recv().await.is_some() {
            std::process::exit(Outcome::Interrupted.code().into());
        }
    });
    Ok(())
}
