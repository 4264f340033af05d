//! The `forklift` command-line tool: a thin layer over the library.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Migrate virtual machines onto KubeVirt.
#[derive(Debug, Parser)]
#[command(name = "forklift", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the library version.
    Version,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("forklift {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
    }
}
