//! `forklift completion SHELL`: the completion script of every verb and flag, generated from
//! the same definitions clap parses with, so it never drifts from the tool.

use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use super::exit::Outcome;

/// Arguments of `forklift completion`.
#[derive(Debug, clap::Args)]
pub struct CompletionArgs {
    /// The shell: bash (`source <(forklift completion bash)`), zsh (write it as `_forklift`
    /// in a folder of `$fpath`), fish (`forklift completion fish | source`), elvish or
    /// powershell.
    shell: Shell,
}

impl CompletionArgs {
    /// Writes the script to standard output.
    pub fn run(self) -> ExitCode {
        let mut command = super::Cli::command();
        clap_complete::generate(self.shell, &mut command, "forklift", &mut std::io::stdout());
        Outcome::Ok.into()
    }
}
