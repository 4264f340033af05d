//! `forklift name`: VM name adjustment as MTV applies it.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::Subcommand;
use forklift_core::naming::{SeededRandom, change_vm_name};

use super::exit::Outcome;

/// Name operations.
#[derive(Debug, Subcommand)]
pub enum NameCommand {
    /// Print the DNS-1123 compliant name MTV derives from each VM name (upstream's
    /// ChangeVmName), one per line. Reads one name per stdin line when none are given.
    Adjust {
        /// Names to adjust (may start with `-`; give options before the names).
        #[arg(allow_hyphen_values = true)]
        names: Vec<String>,
        /// Seed for the 4 random characters of names with nothing usable left (default: clock).
        #[arg(long)]
        seed: Option<u64>,
    },
}

impl NameCommand {
    /// Runs the command.
    pub fn run(self) -> ExitCode {
        let NameCommand::Adjust { names, seed } = self;
        let mut random = seed
            .map(SeededRandom::new)
            .unwrap_or_else(SeededRandom::from_time);
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let mut emit = |name: &str| writeln!(out, "{}", change_vm_name(name, &mut random));
        let result = if names.is_empty() {
            std::io::stdin()
                .lock()
                .lines()
                .try_for_each(|line| emit(line?.trim_end_matches('\r')))
        } else {
            names.iter().try_for_each(|n| emit(n))
        };
        match result.and_then(|()| out.flush()) {
            Ok(()) => Outcome::Ok.into(),
            Err(e) => {
                eprintln!("forklift name adjust: {e}");
                Outcome::Failed.into()
            }
        }
    }
}
