//! Loads the bundled manifests, prints every diagnostic, each plan's VMs and each
//! provider's credentials (never their secret values).
//!
//! ```sh
//! cargo run --example check_manifests -- examples/manifests
//! ```

use forklift::core::credentials::ProviderCredentials;
use forklift::core::resources::{Plan, Provider};
use forklift::manifests;

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let paths = if paths.is_empty() {
        vec!["examples/manifests".to_owned()]
    } else {
        paths
    };
    let set = manifests::load_paths(&paths);
    for diagnostic in set.diagnostics() {
        eprintln!("{}: {diagnostic}", diagnostic.severity);
    }
    for plan in set.all::<Plan>() {
        let vms: Vec<String> = plan
            .spec
            .vms
            .iter()
            .map(|vm| vm.vm_ref().to_string())
            .collect();
        println!(
            "Plan {}: {} migration of {} VM(s) into {}: {}",
            plan.metadata.name_or_empty(),
            plan.spec.migration_type(),
            vms.len(),
            plan.spec.target_namespace,
            vms.join(", ")
        );
    }
    for provider in set.all::<Provider>() {
        let credentials =
            ProviderCredentials::from_provider(provider, set.provider_secret(provider));
        match credentials {
            Ok(credentials) => println!(
                "Provider {}: {credentials}",
                provider.metadata.name_or_empty()
            ),
            Err(e) => println!("Provider {}: {e}", provider.metadata.name_or_empty()),
        }
    }
    std::process::exit(i32::from(set.has_errors()));
}
