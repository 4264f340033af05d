//! `--events FILE|-`: every migration event as one JSON object per line, for scripts.
//!
//! The events are tapped between the runner and the progress display: a task writes each one
//! and passes it on, so the display and the file see the same events in the same order.
//! Standard output gets terminal-safe JSON (peer-chosen names cannot drive a terminal); a
//! file gets exactly what serde wrote. Each line is flushed as it is written, so
//! `tail -f` and pipes see events as they happen.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use forklift::migrate::MigrationEvent;
use tokio::sync::mpsc;

use super::terminal;

/// Where events go.
#[derive(Debug)]
pub enum EventSink {
    /// Standard output (`--events -`).
    Stdout,
    /// A file, created or truncated.
    File(PathBuf, BufWriter<File>),
}

/// Why the events file could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot create --events file {}: {source}", path.display())]
pub struct EventsFileError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

impl EventSink {
    /// Opens the sink `--events` names: `-` is standard output.
    pub fn open(path: &Path) -> Result<Self, EventsFileError> {
        if path == Path::new("-") {
            return Ok(Self::Stdout);
        }
        File::create(path)
            .map(|file| Self::File(path.to_owned(), BufWriter::new(file)))
            .map_err(|source| EventsFileError {
                path: path.to_owned(),
                source,
            })
    }

    /// Whether events go to standard output (so nothing else may be printed there but
    /// whole JSON lines).
    pub fn is_stdout(&self) -> bool {
        matches!(self, Self::Stdout)
    }

    fn write(&mut self, event: &MigrationEvent) -> std::io::Result<()> {
        let json = serde_json::to_string(event).map_err(std::io::Error::other)?;
        match self {
            Self::Stdout => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{}", terminal::json(&json))?;
                out.flush()
            }
            Self::File(_, file) => {
                writeln!(file, "{json}")?;
                file.flush()
            }
        }
    }
}

/// Writes every event from `events` to `sink` and forwards it to the returned receiver. A
/// write error is logged once and the events keep flowing to the display: a full disk must
/// not stop a migration.
pub fn tee(
    mut events: mpsc::Receiver<MigrationEvent>,
    mut sink: EventSink,
) -> mpsc::Receiver<MigrationEvent> {
    let (forward, received) = mpsc::channel(256);
    tokio::spawn(async move {
        let mut failed = false;
        while let Some(event) = events.recv().await {
            if !failed && let Err(error) = sink.write(&event) {
                failed = true;
                let target = match &sink {
                    EventSink::Stdout => "standard output".to_owned(),
                    EventSink::File(path, _) => path.display().to_string(),
                };
                tracing::error!(
                    "cannot write events to {target}: {error}; no more events are written"
                );
            }
            // When the display has gone, events are still written.
            let _ = forward.send(event).await;
        }
    });
    received
}
