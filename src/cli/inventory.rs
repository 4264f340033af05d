//! `forklift inventory --manifests PATH... --provider NAME [-o FILE]`: connect to a source
//! provider described by Provider + Secret manifests and write its inventory as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use forklift::providers::{ProviderConfig, capability};
use forklift_core::error::PeerText;
use forklift_core::inventory::{ProviderExt, SourceInventory};

use super::exit::Outcome;
use super::terminal;

/// Arguments of `forklift inventory`.
#[derive(Debug, clap::Args)]
pub struct InventoryArgs {
    /// Manifest files or directories holding the Provider and its Secret.
    #[arg(long = "manifests", short = 'f', visible_alias = "filename", required = true, num_args = 1..)]
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
    #[command(flatten)]
    strict: super::loading::StrictArg,
}

impl InventoryArgs {
    /// Runs the verb, reading manifest files of at most `max_input_size` bytes.
    pub fn run(self, max_input_size: u64) -> ExitCode {
        let set = match self.strict.load_lenient(&self.manifests, max_input_size) {
            Ok(set) => set,
            Err(e) => return fail(&e, Outcome::BadInput),
        };
        let mut config = match ProviderConfig::from_manifests(&set, &self.provider) {
            Ok(config) => config,
            Err(e) => return fail_with_causes(&e, Outcome::BadInput),
        };
        config.allow_plain_http = self.allow_plain_http;
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => return fail(&e, Outcome::Failed),
        };
        let inventory = match runtime.block_on(capability::collect_inventory(&config)) {
            Ok(inventory) => inventory,
            // The provider's configuration was read: failing to reach it is a failure.
            Err(e) => return fail_with_causes(&e, Outcome::Failed),
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
                Outcome::Ok.into()
            }
            Err(e) => fail(&e, Outcome::Failed),
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
        if let Some(wait) = package.retry_after_seconds {
            line.push_str(&format!(
                "; a scan picks it up once it has been left alone for {wait} more second{}",
                if wait == 1 { "" } else { "s" }
            ));
        }
        eprintln!("{line}");
    }
}

/// Prints the error and its causes (`connection refused`, `invalid peer certificate`...).
fn fail_with_causes(error: &dyn std::error::Error, outcome: Outcome) -> ExitCode {
    eprintln!("error: {}", terminal::error_chain(error));
    outcome.into()
}

fn fail(error: &dyn std::fmt::Display, outcome: Outcome) -> ExitCode {
    eprintln!("error: {}", terminal::line(&error.to_string()));
    outcome.into()
}
