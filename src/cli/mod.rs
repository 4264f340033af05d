//! Command-line verbs. Each verb lives in its own module and stays a few lines over the library.

mod cluster;
mod completion;
mod converter;
mod copy;
mod deploy;
mod inventory;
mod loading;
mod logging;
mod manifests;
mod validate;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod demo;
mod events;
pub mod exit;
mod migrate;
mod migrate_report;
mod name;
mod output;
mod progress;
mod render;
mod schedule;
mod status;
mod template;
mod terminal;
mod warm_progress;

/// What `forklift --help` says runs today. `tests/docs_say_what_runs.rs` checks the source
/// types against `forklift_providers::implemented_provider_types`.
const LONG_ABOUT: &str = "\
Migrate virtual machines onto KubeVirt: the Forklift / MTV engine, re-implemented in Rust.

Runs end to end today: sources `vsphere` (VMware vSphere; disk data through VDDK or the
datastore HTTP interface), `openstack` (Keystone v3; disk data through Glance images),
`ovirt` (oVirt / RHV engine API v4; disk data through image transfers and ovirt-imageio) and
`ova` (directories of .ova/.ovf packages), into the destinations `local:DIR` (a deployable
folder bundle: disk images, DataVolume and VirtualMachine YAML, plan status; `forklift deploy
DIR` pushes it to a cluster) and `kubevirt` (a cluster with KubeVirt and CDI); cold
migrations, with guest conversion by this machine's virt-v2v when asked (`migrate
--converter virt-v2v`) or copied raw (the plan sets skipGuestConversion: true), and warm
migrations (precopies, then cutover) from `vsphere`.

Planned: sources `openshift`, `hyperv`, `ec2` and `nutanix` (validate and render
cover them already), warm migration from other sources, live migration, copy offload.
`migrate` refuses a planned source as not implemented yet, and a plan needing a planned
feature with a Critical ...NotAvailable condition, which `render` and `validate` show
without running anything.";

/// The version `--version` and `forklift version` print: the package version and the commit
/// the binary was built from (see build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("FORKLIFT_COMMIT"),
    ")"
);

/// Migrate virtual machines onto KubeVirt.
#[derive(Debug, Parser)]
#[command(name = "forklift", version = VERSION, about, long_about = LONG_ABOUT, after_help = exit::TABLE)]
pub struct Cli {
    /// Largest manifest or inventory file (or standard input) read, in bytes; larger ones
    /// are refused (see docs/limits.md).
    #[arg(
        long,
        global = true,
        value_name = "BYTES",
        env = "FORKLIFT_MAX_INPUT_SIZE",
        default_value_t = forklift::input::DEFAULT_MAX_INPUT_SIZE
    )]
    max_input_size: u64,
    #[command(flatten)]
    log: logging::LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the version and the commit it was built from.
    Version,
    /// Print a shell completion script: `source <(forklift completion bash)`.
    Completion(completion::CompletionArgs),
    /// Collect a source provider's inventory: a table of its VMs, `-o json` (or
    /// `--output-file FILE`) for the JSON `validate` and `render` read.
    Inventory(inventory::InventoryArgs),
    /// Work with Forklift manifests.
    #[command(subcommand)]
    Manifests(manifests::ManifestsCommand),
    /// Copy a disk between NBD exports, files, block devices and images.
    Copy(copy::CopyArgs),
    /// VM name adjustment (DNS-1123) as MTV applies it.
    #[command(subcommand)]
    Name(name::NameCommand),
    /// Naming templates (PVC, volume, network) rendered as MTV renders them.
    #[command(subcommand)]
    Template(template::TemplateCommand),
    /// Build an OVA catalog, migrate it to a local bundle and verify it (the main job).
    Demo(demo::DemoArgs),
    /// Run a plan into a local bundle or onto a cluster (--destination kubevirt), guests
    /// converted by virt-v2v (--converter virt-v2v) or copied raw (skipGuestConversion: true).
    ///
    /// Runs exactly the phases `forklift render` shows, VM by VM, and writes the bundle to
    /// `local:DIR` (or applies the objects to the cluster of --kubeconfig, uploading each disk
    /// through CDI's upload proxy): disk images, DataVolume and VirtualMachine YAML, and the Plan with its
    /// status in DIR/.forklift/<namespace>/<plan>.status.yaml. The sources are `vsphere`,
    /// `openstack` and `ova`; the others are planned. Guests that need conversion are converted in place
    /// after the copy by this machine's virt-v2v with --converter virt-v2v (libguestfs under
    /// TCG unless --libguestfs-default-backend; its log is kept next to the plan status);
    /// without it the plan must set skipGuestConversion: true (raw copy; with
    /// useCompatibilityMode: true the VMs get SATA disks and e1000e NICs) or it is refused
    /// with GuestConversionNotAvailable; warm plans run from sources with snapshots and change
    /// tracking (vSphere) and are refused with WarmMigrationNotAvailable from others.
    /// A plan with hooks is refused with HookRunnerNotAvailable unless --hooks local runs their
    /// playbooks on this machine with ansible-playbook. Each DataVolume takes its disk through
    /// CDI's upload API: `--destination kubevirt` streams it from the copy into the upload
    /// (with --staging DIR: copies it there first, then uploads it), `forklift deploy DIR`
    /// later.
    Migrate(migrate::MigrateArgs),
    /// Push a local bundle to a cluster: apply its DataVolumes, upload their images through
    /// CDI's upload proxy, wait for them, then apply the VirtualMachines.
    Deploy(deploy::DeployArgs),
    /// Check a plan offline: MTV's conditions, plus what `migrate` here refuses (see --as-mtv).
    Validate(validate::ValidateArgs),
    /// Print what `migrate` will create (kubectl YAML, names, sizes); --as-mtv for MTV's.
    Render(render::RenderArgs),
    /// Print the admission order of a plan's VMs and disks under the in-flight limit.
    Schedule(schedule::ScheduleArgs),
    /// Show the status a plan's run keeps at its destination (a table, -o json|yaml|wide|name,
    /// --watch to follow a run).
    Status(status::StatusArgs),
}

impl Cli {
    /// Runs the selected verb and returns the process exit code.
    pub fn run(self) -> ExitCode {
        let limit = self.max_input_size;
        if let Err(error) = self.log.init() {
            eprintln!("error: {}", terminal::error_chain(&error));
            return exit::Outcome::BadInput.into();
        }
        // The first line of every debug log: which build wrote it.
        tracing::debug!(version = VERSION, "forklift starting");
        match self.command {
            Command::Version => {
                println!("forklift {VERSION}");
                exit::Outcome::Ok.into()
            }
            Command::Completion(args) => args.run(),
            Command::Inventory(args) => args.run(limit),
            Command::Manifests(command) => command.run(limit),
            Command::Copy(args) => copy::run(args),
            Command::Name(cmd) => cmd.run(),
            Command::Template(cmd) => cmd.run(),
            Command::Demo(args) => demo::run(args),
            Command::Migrate(args) => migrate::run(args, limit),
            Command::Deploy(args) => deploy::run(args),
            Command::Validate(args) => validate::run(args, limit),
            Command::Render(args) => render::run(args, limit),
            Command::Schedule(args) => schedule::run(args, limit),
            Command::Status(args) => status::run(args, limit),
        }
    }
}

#[cfg(test)]
mod tests {
    /// clap's own consistency checks over every verb: duplicate flags (a verb's `-v` against
    /// the global one), bad defaults, conflicting names.
    #[test]
    fn every_verb_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
