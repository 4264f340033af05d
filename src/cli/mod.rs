//! Command-line verbs. Each verb lives in its own module and stays a few lines over the library.

mod inventory;
mod manifests;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
        }
    }
}
