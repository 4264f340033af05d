//! `forklift inventory --manifests PATH... --provider NAME [-o FILE]`: connect to a source
//! provider described by Provider + Secret manifests and write its inventory as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use forklift::manifests;
use forklift::providers::{ProviderConfig, capability};

/// Arguments of `forklift inventory`.
#[derive(Debug, clap::Args)]
pub struct InventoryArgs {
    /// Manifest files or directories holding the Provider and its Secret.
    #[arg(long = "manifests", required = true, num_args = 1..)]
    manifests: Vec<PathBuf>,
    /// The Provider to collect: `name`, or `namespace/name` when the name is not unique.
    #[arg(long)]
    provider: String,
    /// Write the inventory here instead of standard output.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
}

impl InventoryArgs {
    /// Runs the verb, reading manifest files of at most `max_input_size` bytes.
    pub fn run(self, max_input_size: u64) -> ExitCode {
        let set = manifests::load_paths_with_limit(&self.manifests, max_input_size);
        for diagnostic in set.diagnostics().iter().filter(|d| d.is_error()) {
            eprintln!("error: {diagnostic}");
        }
        let config = match ProviderConfig::from_manifests(&set, &self.provider) {
            Ok(config) => config,
            Err(e) => return fail_with_causes(&e),
        };
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => return fail(&e),
        };
        let inventory = match runtime.block_on(capability::collect_inventory(&config)) {
            Ok(inventory) => inventory,
            Err(e) => return fail_with_causes(&e),
        };
        let json = inventory.to_json() + "\n";
        let written = match &self.output {
            Some(path) => std::fs::write(path, json)
                .map_err(|e| format!("cannot write {}: {e}", path.display())),
            None => {
                print!("{json}");
                Ok(())
            }
        };
        match written {
            Ok(()) => {
                eprintln!(
                    "{}: {} VMs, {} hosts, {} networks, {} storages",
                    config.name,
                    inventory.vms.len(),
                    inventory.hosts.len(),
                    inventory.networks.len(),
                    inventory.storages.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        }
    }
}

/// Prints the error and its causes (`connection refused`, `invalid peer certificate`...).
fn fail_with_causes(error: &dyn std::error::Error) -> ExitCode {
    fail(&forklift_core::error::chain(error))
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
