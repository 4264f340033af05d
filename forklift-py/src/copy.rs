//! Disk copies through `forklift_transfer`: `copy(source, destination, ...)` as a task.
//!
//! Progress reaches Python on a dedicated blocking thread, never on a runtime worker: a slow
//! Python callback (or a busy GIL) then delays only the next progress report, never the copy.
//! Reports are cumulative, so the thread always delivers the latest one and skips those that
//! were superseded while the callback ran; the final report is always delivered.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use forklift::transfer::copy::{CopyOptions, CopySummary as Summary, Progress};
use forklift::transfer::open::{OpenOptions, open_sink, open_source};
use pyo3::prelude::*;

use crate::error::{Error, Result};
use crate::task::{self, CancelToken, Context, OnCancel, Task};

/// How far a copy has come (passed to the `progress` callback).
#[pyclass(module = "forklift._native", frozen, get_all)]
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyProgress {
    /// Bytes of the disk dealt with (copied, zeroed, skipped or resumed).
    bytes_done: u64,
    /// Bytes of the disk.
    bytes_total: u64,
    /// Bytes of data read from the source (skipped and resumed ranges are not read).
    bytes_read: u64,
    /// Average rate so far of `bytes_done`.
    bytes_per_second: f64,
    /// Average rate so far of `bytes_read`: the data rate.
    read_bytes_per_second: f64,
    /// Estimated seconds left, when known.
    eta_seconds: Option<f64>,
    /// Seconds since the copy started.
    elapsed_seconds: f64,
}

#[pymethods]
impl CopyProgress {
    /// `bytes_done / bytes_total` (1.0 for an empty disk).
    #[getter]
    fn fraction(&self) -> f64 {
        if self.bytes_total == 0 {
            1.0
        } else {
            self.bytes_done as f64 / self.bytes_total as f64
        }
    }

    /// The progress as a plain dict (camelCase keys, as the CLI's JSON).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::convert::serialize(py, self)
    }

    fn __repr__(&self) -> String {
        format!(
            "<CopyProgress {}/{} bytes>",
            self.bytes_done, self.bytes_total
        )
    }
}

impl From<&Progress> for CopyProgress {
    fn from(progress: &Progress) -> Self {
        Self {
            bytes_done: progress.bytes_done,
            bytes_total: progress.bytes_total,
            bytes_read: progress.bytes_read,
            bytes_per_second: progress.bytes_per_second,
            read_bytes_per_second: progress.read_bytes_per_second,
            eta_seconds: progress.eta.map(|eta| eta.as_secs_f64()),
            elapsed_seconds: progress.elapsed.as_secs_f64(),
        }
    }
}

/// What a finished copy did.
#[pyclass(module = "forklift._native", frozen, get_all)]
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopySummary {
    /// Size of the source disk.
    bytes_total: u64,
    /// Bytes read from the source.
    bytes_read: u64,
    /// Bytes of data written to the destination.
    bytes_written: u64,
    /// Bytes zeroed on the destination with zeroing requests.
    bytes_zeroed: u64,
    /// Bytes not written: zero where the destination already was, or not dirty.
    bytes_skipped: u64,
    /// Bytes a checkpoint showed as already copied.
    bytes_resumed: u64,
    /// Wall time in seconds.
    seconds: f64,
    /// Disk bytes dealt with per second, in MiB/s.
    mib_per_s: f64,
    /// Request size used.
    request_size: u32,
    /// Requests in flight used.
    requests: usize,
    /// Why the checkpoint was discarded (it belonged to a replaced target), if it was.
    checkpoint_discarded: Option<String>,
}

#[pymethods]
impl CopySummary {
    /// The summary as a plain dict (camelCase keys, as `forklift copy -o json` prints it).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::convert::serialize(py, self)
    }

    fn __repr__(&self) -> String {
        format!(
            "<CopySummary {} bytes: {} written, {} zeroed, {} skipped in {:.3}s>",
            self.bytes_total,
            self.bytes_written,
            self.bytes_zeroed,
            self.bytes_skipped,
            self.seconds
        )
    }
}

impl From<Summary> for CopySummary {
    fn from(summary: Summary) -> Self {
        Self {
            bytes_total: summary.bytes_total,
            bytes_read: summary.bytes_read,
            bytes_written: summary.bytes_written,
            bytes_zeroed: summary.bytes_zeroed,
            bytes_skipped: summary.bytes_skipped,
            bytes_resumed: summary.bytes_resumed,
            seconds: summary.seconds,
            mib_per_s: summary.mib_per_s,
            request_size: summary.request_size,
            requests: summary.requests,
            checkpoint_discarded: summary.checkpoint_discarded,
        }
    }
}

/// Starts copying `source` (a path or NBD URI) into `destination` (created when it is a path
/// that does not exist, with the format its extension names) and returns the running task.
#[pyfunction]
#[pyo3(signature = (
    source,
    destination,
    *,
    progress = None,
    cancel = None,
    request_size = None,
    requests = None,
    sparse_granularity = None,
    connections = None,
    bitmap = None,
    checkpoint = None,
    checksums = false,
    flush = true,
    lanes = true,
    direct = false,
    retries = None,
    reconnects = None,
    io_timeout = None,
    progress_interval = None,
))]
#[allow(
    clippy::too_many_arguments,
    reason = "mirrors the keyword arguments of forklift.copy"
)]
pub(crate) fn start_copy(
    source: PathOrUri,
    destination: PathOrUri,
    progress: Option<Py<PyAny>>,
    cancel: Option<PyRef<'_, CancelToken>>,
    request_size: Option<u32>,
    requests: Option<usize>,
    sparse_granularity: Option<u32>,
    connections: Option<usize>,
    bitmap: Option<String>,
    checkpoint: Option<PathBuf>,
    checksums: bool,
    flush: bool,
    lanes: bool,
    direct: bool,
    retries: Option<u32>,
    reconnects: Option<u32>,
    io_timeout: Option<f64>,
    progress_interval: Option<f64>,
) -> Result<Task> {
    let defaults = CopyOptions::default();
    let mut options = CopyOptions {
        request_size: request_size.unwrap_or(defaults.request_size),
        requests: requests.unwrap_or(defaults.requests),
        sparse_granularity: sparse_granularity.unwrap_or(defaults.sparse_granularity),
        incremental: bitmap.clone().map(forklift::transfer::Incremental::Bitmap),
        checkpoint,
        checksums,
        flush,
        lanes,
        retries: retries.unwrap_or(defaults.retries),
        reconnects: reconnects.unwrap_or(defaults.reconnects),
        io_timeout: match io_timeout {
            None => defaults.io_timeout,
            Some(seconds) => Duration::try_from_secs_f64(seconds)
                .map_err(|_| Error::Value(format!("Invalid io_timeout: {seconds}")))?,
        },
        progress_interval: match progress_interval {
            None => defaults.progress_interval,
            Some(seconds) => Duration::try_from_secs_f64(seconds)
                .map_err(|_| Error::Value(format!("Invalid progress_interval: {seconds}")))?,
        },
        ..defaults
    };
    // The library's one check of the options, as `forklift copy` makes it: raised here, before
    // the task starts, as ValueError.
    options.validate()?;
    let mut open = OpenOptions {
        bitmap,
        local: forklift::transfer::local::LocalOptions { direct },
        ..OpenOptions::default()
    };
    if let Some(connections) = positive("connections", connections)? {
        open.connect.connections = connections;
    }
    let context = Context::new(cancel.as_deref());
    let forwarder = progress.map(|callback| {
        let latest = Arc::new(Latest::default());
        let producer = Arc::clone(&latest);
        options.progress = Some(Arc::new(move |report: &Progress| {
            producer.publish(CopyProgress::from(report))
        }));
        (callback, latest)
    });
    let token = context.token().clone();
    let forward_context = context.clone();
    task::spawn(context, OnCancel::Cooperate, async move {
        let forwarding = forwarder.map(|(callback, latest)| {
            let consumer = Arc::clone(&latest);
            let thread = tokio::task::spawn_blocking(move || {
                while let Some(report) = consumer.next() {
                    forward_context.with_python(|py| callback.call1(py, (report,)).map(drop));
                }
            });
            (latest, thread)
        });
        let outcome = async {
            // Opening may wait on a network peer: cancel it by dropping it. The copy itself
            // watches the token, so it can save its checkpoint before returning.
            let opening = async {
                let source = open_source(&source.0, &open).await?;
                let sink = open_sink(&destination.0, source.source.size(), &open).await?;
                Ok::<_, forklift::transfer::Error>((source, sink))
            };
            let (source, sink) = tokio::select! {
                opened = opening => opened?,
                () = token.cancelled() => return Err(Error::Cancelled),
            };
            Ok(forklift::transfer::copy(source.source, sink.sink, &options, &token).await?)
        }
        .await;
        // The forwarding thread delivers the last report before the result is published.
        if let Some((latest, thread)) = forwarding {
            latest.close();
            // The thread only ends by returning: a panic in it would be a bug of ours, and
            // the copy's own outcome is still the right answer then.
            let _ = thread.await;
        }
        let report = outcome?;
        Ok(task::output(CopySummary::from(report.summary)))
    })
}

/// A disk argument: a path (str or os.PathLike) or an NBD URI.
pub(crate) struct PathOrUri(String);

impl<'py> FromPyObject<'py> for PathOrUri {
    fn extract_bound(object: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(text) = object.extract::<String>() {
            return Ok(Self(text));
        }
        let path: PathBuf = object.extract()?;
        Ok(Self(path.to_string_lossy().into_owned()))
    }
}

fn positive(name: &str, value: Option<usize>) -> Result<Option<usize>> {
    match value {
        Some(0) => Err(Error::Value(format!("{name} must be at least 1"))),
        other => Ok(other),
    }
}

/// The newest progress report, handed from the copy to the thread that calls Python.
#[derive(Default)]
struct Latest {
    slot: Mutex<(Option<CopyProgress>, bool)>,
    changed: Condvar,
}

impl Latest {
    fn publish(&self, report: CopyProgress) {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner).0 = Some(report);
        self.changed.notify_one();
    }

    fn close(&self) {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner).1 = true;
        self.changed.notify_one();
    }

    /// Waits for a report newer than the last one taken; `None` once closed and drained.
    fn next(&self) -> Option<CopyProgress> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(report) = slot.0.take() {
                return Some(report);
            }
            if slot.1 {
                return None;
            }
            slot = self
                .changed
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}
