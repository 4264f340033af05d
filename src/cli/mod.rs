//! Command-line verbs. Each verb lives in its own module and stays a few lines over the library.

mod copy;
mod inventory;
mod manifests;
mod validate;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod demo;
mod migrate;
mod name;
mod progress;
mod render;
mod schedule;
mod template;

/// Migrate virtual machines onto KubeVirt.
#[derive(Debug, Parser)]
#[command(name = "forklift", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the library version.
    Version,
    /// Collect a source provider's inventory as JSON.
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
    /// Build an OVA catalog, migrate it to a local KubeVirt bundle and verify it (the main job).
    Demo(demo::DemoArgs),
    /// Run a plan into a local KubeVirt-ready bundle.
    Migrate(migrate::MigrateArgs),
    /// Check a plan against inventories offline and print MTV's conditions.
    Validate(validate::ValidateArgs),
    /// Print what a plan will create (kubectl-ready YAML) and a table of names and sizes.
    Render(render::RenderArgs),
    /// Print the admission order of a plan's VMs and disks under the in-flight limit.
    Schedule(schedule::ScheduleArgs),
}

impl Cli {
    /// Runs the selected verb and returns the process exit code.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Version => {
                println!("forklift {}", env!("CARGO_PKG_VERSION"));
                ExitCode::SUCCESS
            }
            Command::Inventory(args) => args.run(),
            Command::Manifests(command) => command.run(),
            Command::Copy(args) => copy::run(args),
            Command::Name(cmd) => cmd.run(),
            Command::Template(cmd) => cmd.run(),
            Command::Demo(args) => demo::run(args),
            Command::Migrate(args) => migrate::run(args),
            Command::Validate(args) => validate::run(args),
            Command::Render(args) => render::run(args),
            Command::Schedule(args) => schedule::run(args),
        }
    }
}
