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

/// The fields (and message) of every log line, as `tracing-subscriber` formats them, with
/// what it leaves raw escaped through [`PeerText`]: newlines, carriage returns, tabs and
/// every other control character or bidirectional override. Peer text (a VM or snapshot
/// name, a server's ID or message, a hook's output) then can neither forge another log line
/// nor rewrite the terminal, whichever call site logged it; call sites that escape their
/// fields already are unchanged, as an escape is plain text.
///
/// Field names lose their terminal styling (italics), which the escaping would show as text.
///
/// [`PeerText`]: forklift_core::error::PeerText
struct PeerTextFields;

impl<'writer> tracing_subscriber::fmt::FormatFields<'writer> for PeerTextFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: tracing_subscriber::fmt::format::Writer<'writer>,
        fields: R,
    ) -> std::fmt::Result {
        let mut plain = String::new();
        tracing_subscriber::fmt::format::DefaultFields::new().format_fields(
            tracing_subscriber::fmt::format::Writer::new(&mut plain),
            fields,
        )?;
        write!(writer, "{}", forklift_core::error::PeerText(&plain))
    }
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
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .fmt_fields(PeerTextFields);
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log sink the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn peer_text_in_fields_messages_and_spans_stays_on_one_line() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(PeerTextFields)
            .with_writer(move || sink.clone())
            .finish();
        let snapshot = "snap-1\nERROR forged line\x1b[2J";
        let name = "web\r\u{202e}01";
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("vm", vm = %name);
            let _entered = span.enter();
            tracing::warn!(%snapshot, id = "tab\there", "removed {snapshot}");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.ends_with('\n'), "{text}");
        for raw in ['\r', '\x1b', '\u{202e}', '\t'] {
            assert!(!text.contains(raw), "{raw:?} in {text}");
        }
        assert!(
            text.contains("snapshot=snap-1\\nERROR forged line\\x1b[2J"),
            "{text}"
        );
        assert!(text.contains("vm{vm=web\\r\\u{202e}01}"), "{text}");
        assert!(text.contains("removed snap-1\\nERROR"), "{text}");
        assert!(text.contains("id=\"tab\\there\""), "{text}");
    }
}
