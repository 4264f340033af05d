//! `forklift inventory --manifests PATH... --provider NAME [-o FILE]`: connect to a source
//! provider described by Provider + Secret manifests and write its inventory as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use forklift::manifests;
use forklift::providers::{ProviderConfig, capability};
use forklift_core::error::PeerText;
use forklift_core::inventory::{ProviderExt, SourceInventory};

use super::terminal;

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
    /// Let a vSphere Provider's spec.url be plain http://, which sends the password in clear
    /// text (refused otherwise).
    #[arg(long)]
    allow_plain_http: bool,
}

impl InventoryArgs {
    /// Runs the verb.
    pub fn run(self) -> ExitCode {
        let set = manifests::load_paths(&self.manifests);
        for diagnostic in set.diagnostics().iter().filter(|d| d.is_error()) {
            eprintln!("error: {diagnostic}");
        }
        let mut config = match ProviderConfig::from_manifests(&set, &self.provider) {
            Ok(config) => config,
            Err(e) => return fail_with_causes(&e),
        };
        config.allow_plain_http = self.allow_plain_http;
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
        // Names come from the server: keep their control characters off the terminal.
        let json = terminal::json(&inventory.to_json()).into_owned() + "\n";
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
                    terminal::line(&config.name),
                    inventory.vms.len(),
                    inventory.hosts.len(),
                    inventory.networks.len(),
                    inventory.storages.len()
                );
                report_skipped(&config.name, &inventory);
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        }
    }
}

/// Lists the packages an OVA catalog passed over, with why: a catalog that yields fewer VMs
/// than expected says which packages are missing. The inventory is still written and the
/// exit code stays 0: the other packages are usable.
fn report_skipped(provider: &str, inventory: &SourceInventory) {
    let Some(ProviderExt::Ova { skipped }) = &inventory.ext else {
        return;
    };
    if skipped.is_empty() {
        return;
    }
    let plural = if skipped.len() == 1 { "" } else { "s" };
    eprintln!("{provider}: {} package{plural} skipped:", skipped.len());
    for package in skipped {
        // Names and messages come from whoever filled the catalog.
        let mut line = format!(
            "  {} ({})",
            PeerText(&package.path),
            package.reason.describe()
        );
        if !package.message.is_empty() {
            line.push_str(&format!(": {}", PeerText(&package.message)));
        }
        eprintln!("{line}");
    }
}

/// Prints the error and its causes (`connection refused`, `invalid peer certificate`...).
fn fail_with_causes(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {}", terminal::error_chain(error));
    ExitCode::FAILURE
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {}", terminal::line(&error.to_string()));
    ExitCode::FAILURE
}
