//! Command-line verbs. Each verb lives in its own module and stays a few lines over the library.

mod copy;
mod manifests;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod name;
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
}

impl Cli {
    /// Runs the selected verb and returns the process exit code.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Version => {
                println!("forklift {}", env!("CARGO_PKG_VERSION"));
                ExitCode::SUCCESS
            }
            Command::Manifests(command) => command.run(),
            Command::Copy(args) => copy::run(args),
            Command::Name(cmd) => cmd.run(),
            Command::Template(cmd) => cmd.run(),
        }
    }
}
