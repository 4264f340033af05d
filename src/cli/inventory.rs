//! `forklift inventory -f PATH... --provider NAME [-o FORMAT] [--output-file FILE]`: connect
//! to a source provider described by Provider + Secret manifests and print its inventory (a
//! table of VMs, or `-o json|yaml|wide|name`), or write it as JSON for `validate`/`render`.

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
    #[command(flatten)]
    output: super::output::OutputArg,
    /// Write the inventory as JSON to FILE (what `validate` and `render` read with
    /// --inventory); standard output then gets nothing unless `-o` is given too.
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
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
        let written = match &self.output_file {
            // The file is data for `validate` and `render`, not the terminal: written as is.
            Some(path) => std::fs::write(path, inventory.to_json() + "\n")
                .map_err(|e| format!("cannot write {}: {e}", path.display())),
            None => Ok(()),
        };
        let format = match (&self.output_file, self.output.explicit()) {
            (Some(_), None) => None,
            (_, format) => Some(format.unwrap_or_default()),
        };
        let written = written.and_then(|()| match format {
            Some(format) => {
                super::output::print(&Inventory(&inventory), format).map_err(|e| e.to_string())
            }
            None => Ok(()),
        });
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

/// An inventory as `inventory` prints it: one row per VM.
#[derive(serde::Serialize)]
#[serde(transparent)]
struct Inventory<'a>(&'a SourceInventory);

impl super::output::Printable for Inventory<'_> {
    fn rows(&self, wide: bool) -> Vec<Vec<String>> {
        use super::output::{cell, header};
        let mut titles = vec!["NAME", "ID", "POWER", "CPUS", "MEMORY", "DISKS", "NICS"];
        if wide {
            titles.extend(["HOST", "FIRMWARE", "GUEST-OS", "PATH"]);
        }
        let mut rows = vec![header(&titles)];
        for vm in &self.0.vms {
            let mut row = vec![
                cell(&vm.name),
                cell(&vm.id),
                word(&vm.power_state),
                vm.cpu_count.to_string(),
                forklift_core::sizing::quantity(vm.memory_mib.saturating_mul(1 << 20)),
                vm.disks.len().to_string(),
                vm.nics.len().to_string(),
            ];
            if wide {
                row.push(cell(&vm.host));
                row.push(word(&vm.firmware));
                row.push(cell(&vm.guest_os));
                row.push(cell(&vm.path));
            }
            rows.push(row);
        }
        rows
    }

    fn names(&self) -> Vec<String> {
        self.0
            .vms
            .iter()
            .map(|vm| format!("vm/{}", vm.name))
            .collect()
    }
}

/// A value's serde spelling (`on`, `efi`...), the word the JSON carries.
fn word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "-".to_owned(),
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
