//! `forklift deploy DIR`: push a local bundle to a cluster (apply, upload, wait, start).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use forklift::migrate::kubevirt::{Deployer, deploy_bundle};

use super::cluster::ClusterArgs;
use super::exit::Outcome;
use super::terminal;

/// Arguments of `forklift deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The bundle directory `forklift migrate --destination local:DIR` wrote.
    dir: PathBuf,
    #[command(flatten)]
    cluster: ClusterArgs,
}

/// Runs the verb: 0 when every VM was deployed, 1 when the cluster refused or failed (what
/// was created before is printed, and a re-run adopts it), 2 when the bundle is unusable.
pub fn run(args: DeployArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("forklift deploy: {e}");
            return Outcome::Failed.into();
        }
    };
    let deployer = Deployer::new(args.cluster.options());
    match runtime.block_on(deploy_bundle(&args.dir, &deployer)) {
        Ok(report) => {
            let json = serde_json::to_string_pretty(&report).unwrap_or_default();
            println!("{}", terminal::json(&json));
            Outcome::Ok.into()
        }
        Err(failure) => {
            eprintln!(
                "forklift deploy: {}",
                terminal::error_chain(&failure.source)
            );
            let created = serde_json::to_string_pretty(&failure.created).unwrap_or_default();
            eprintln!(
                "forklift deploy: created before the failure (kept; a re-run adopts them): {}",
                terminal::json(&created)
            );
            if failure.is_bundle_error() {
                Outcome::BadInput.into()
            } else {
                Outcome::Failed.into()
            }
        }
    }
}
