//! Where log lines go and how many: `-v`/`-vv`/`-vvv`, `RUST_LOG`, `--log-file`.
//!
//! Without either flag or `RUST_LOG`, warnings and errors are shown: they report what the user
//! must know about (packages of a catalog that were passed over, a status file that could not
//! be written). Colours only reach a terminal; a file or pipe gets plain text.

use std::fs::File;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use tracing_subscriber::filter::LevelFilter;

/// The logging flags every verb accepts.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// More log lines: -v info, -vv debug, -vvv trace (RUST_LOG, when set, wins: e.g.
    /// RUST_LOG=forklift_transfer=debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Append log lines to this file (plain text) instead of writing them to standard error.
    #[arg(long, value_name = "FILE", global = true)]
    log_file: Option<PathBuf>,
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The `--log-file` could not be opened for appending.
    #[error("cannot open --log-file {}: {source}", path.display())]
    OpenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl LogArgs {
    /// The level the flags ask for.
    fn level(&self) -> LevelFilter {
        match self.verbose {
            0 => LevelFilter::WARN,
            1 => LevelFilter::INFO,
            2 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        }
    }

    /// Installs the global subscriber.
    pub fn init(&self) -> Result<(), LogError> {
        let filter = tracing_subscriber::EnvFilter::builder()
            .with_default_directive(self.level().into())
            .from_env_lossy();
        let builder = tracing_subscriber::fmt().with_env_filter(filter);
        match &self.log_file {
            Some(path) => {
                let file = File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| LogError::OpenFile {
                        path: path.clone(),
                        source,
                    })?;
                builder.with_ansi(false).with_writer(Arc::new(file)).init();
            }
            None => builder
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr)
                .init(),
        }
        Ok(())
    }
}
