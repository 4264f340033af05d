//! Migrations: `start_migration(...)` runs a plan with the facade's runner, as a task with an
//! event stream.
//!
//! The runner sends events into a bounded channel; a forwarding task moves them into a queue
//! the Python side reads, so a program that never reads events never stalls the migration.
//! The queue holds every milestone event (a plan has a bounded number of them) but at most
//! [`PROGRESS_BACKLOG`] queued progress events: older progress is dropped first, since the
//! next report supersedes it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use forklift::migrate::hooks::{AnsibleHookRunner, CallbackHookRunner, HookRunner};
use forklift::migrate::kubevirt::KubevirtDestination;
use forklift::migrate::{LocalDestination, MigrateOptions, MigrationEvent, Migrator};
use pyo3::prelude::*;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::convert::{from_python, to_python};
use crate::error::{Error, Result};
use crate::manifests::reparse;
use crate::task::{self, CancelToken, Context, OnCancel, Task};

/// Progress events kept while nobody reads them.
const PROGRESS_BACKLOG: usize = 256;
/// Events buffered between the runner and the forwarding task.
const CHANNEL_CAPACITY: usize = 64;
/// How often a waiting reader wakes up to let Python handle signals.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Queue {
    events: VecDeque<(bool, Value)>,
    progress: usize,
    closed: bool,
}

#[derive(Default)]
struct EventQueue {
    queue: Mutex<Queue>,
    changed: Condvar,
}

impl EventQueue {
    fn push(&self, event: &MigrationEvent) {
        let is_progress = matches!(event, MigrationEvent::DiskProgress { .. });
        let Ok(value) = serde_json::to_value(event) else {
            return;
        };
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if is_progress && queue.progress >= PROGRESS_BACKLOG {
            if let Some(oldest) = queue.events.iter().position(|(progress, _)| *progress) {
                queue.events.remove(oldest);
                queue.progress -= 1;
            }
        }
        queue.progress += usize::from(is_progress);
        queue.events.push_back((is_progress, value));
        drop(queue);
        self.changed.notify_all();
    }

    fn close(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.changed.notify_all();
    }

    /// The next event, `Ok(None)` once the migration ended and every event was read, or
    /// `Err(())` when `slice` passed first.
    fn next(&self, slice: Duration) -> std::result::Result<Option<Value>, ()> {
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut queue, _) = self
            .changed
            .wait_timeout_while(queue, slice, |queue| {
                queue.events.is_empty() && !queue.closed
            })
            .unwrap_or_else(PoisonError::into_inner);
        match queue.events.pop_front() {
            Some((is_progress, event)) => {
                queue.progress -= usize::from(is_progress);
                Ok(Some(event))
            }
            None if queue.closed => Ok(None),
            None => Err(()),
        }
    }
}

/// Closes the event queue when dropped.
struct CloseOnDrop(Arc<EventQueue>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The events of a running migration, in the order they happened (an iterator).
#[pyclass(module = "forklift._native", frozen)]
pub struct MigrationEvents {
    queue: Arc<EventQueue>,
    migrator: Arc<Migrator>,
    task: Task,
}

#[pymethods]
impl MigrationEvents {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Waits for the next event (GIL released); stops when the migration has ended.
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.next(py, None)
    }

    /// Waits up to `timeout` seconds (forever when None) for the next event; returns None when
    /// the migration has ended, raises `TimeoutError` when the time ran out.
    #[pyo3(signature = (timeout = None))]
    fn next<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let deadline = match timeout {
            None => None,
            Some(seconds) => Some(
                std::time::Instant::now()
                    + Duration::try_from_secs_f64(seconds.max(0.0))
                        .map_err(|_| Error::Value(format!("Invalid timeout: {seconds}")))?,
            ),
        };
        loop {
            let slice = deadline.map_or(SIGNAL_POLL, |deadline| {
                deadline
                    .saturating_duration_since(std::time::Instant::now())
                    .min(SIGNAL_POLL)
            });
            match py.detach(|| self.queue.next(slice)) {
                Ok(Some(event)) => return Ok(Some(to_python(py, &event)?)),
                // The stream ends a moment before the task publishes its result: wait for
                // it, so that `result()` is ready once the iteration ends.
                Ok(None) => {
                    self.task.wait(py, None)?;
                    return Ok(None);
                }
                Err(()) => {}
            }
            if deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline) {
                return Err(pyo3::exceptions::PyTimeoutError::new_err(
                    "No migration event arrived in time",
                ));
            }
            py.check_signals()?;
        }
    }

    /// Sets the cutover of the warm VMs to `at` (RFC 3339) or now when None, as editing the
    /// Migration's `spec.cutover` does; raises `ValueError` naming the time when it is not
    /// RFC 3339.
    #[pyo3(signature = (at = None))]
    fn cutover(&self, at: Option<&str>) -> Result<()> {
        Ok(self.migrator.cutover(at)?)
    }

    /// Cancels one VM, found by its id, its source name or its target name (as events show
    /// it); returns that VM (`id`, `sourceName`, `targetName`), raises `LookupError` naming
    /// the reference when the plan has no such VM.
    fn cancel_vm<'py>(&self, py: Python<'py>, vm: &str) -> Result<Bound<'py, PyAny>> {
        let cancelled = self.migrator.cancel_vm(vm)?;
        let value =
            serde_json::to_value(&cancelled).map_err(|err| Error::Value(err.to_string()))?;
        Ok(to_python(py, &value)?)
    }
}

/// Starts migrating a plan found among `objects` into `destination` (a local directory, or
/// `"kubevirt"` for the cluster of `kubeconfig`);
/// returns the task (its result is the plan report) and the event stream.
#[pyfunction]
#[pyo3(signature = (
    objects,
    destination,
    *,
    plan = None,
    cancel = None,
    verify = false,
    hooks = None,
    converter = None,
    request_size = None,
    requests = None,
    retries = None,
    reconnects = None,
    io_timeout = None,
    allow_plain_http = false,
    restart = false,
    kubeconfig = None,
    upload_proxy_url = None,
    upload_proxy_ca = None,
    staging = None,
))]
#[allow(
    clippy::too_many_arguments,
    reason = "mirrors the keyword arguments of forklift.start_migration"
)]
pub(crate) fn start_migration(
    objects: &Bound<'_, PyAny>,
    destination: PathBuf,
    plan: Option<&str>,
    cancel: Option<PyRef<'_, CancelToken>>,
    verify: bool,
    hooks: Option<Py<PyAny>>,
    converter: Option<Py<PyAny>>,
    request_size: Option<u32>,
    requests: Option<usize>,
    retries: Option<u32>,
    reconnects: Option<u32>,
    io_timeout: Option<f64>,
    allow_plain_http: bool,
    restart: bool,
    kubeconfig: Option<PathBuf>,
    upload_proxy_url: Option<String>,
    upload_proxy_ca: Option<PathBuf>,
    staging: Option<PathBuf>,
) -> Result<(Task, MigrationEvents)> {
    let mut values = Vec::new();
    for (index, object) in objects.try_iter()?.enumerate() {
        values.push(from_python(&object?, &format!("objects[{index}]"))?);
    }
    let set = reparse(values)?;
    // "kubevirt" is the cluster; "local:DIR" or any other path a local bundle.
    let mut options = if destination.as_os_str() == "kubevirt" {
        MigrateOptions::new(KubevirtDestination::new(crate::cluster::kubevirt_options(
            kubeconfig,
            upload_proxy_url,
            upload_proxy_ca,
            staging,
        )))
    } else {
        let dir = destination
            .to_str()
            .and_then(|d| d.strip_prefix("local:"))
            .map_or(destination.clone(), PathBuf::from);
        MigrateOptions::new(LocalDestination::new(dir))
    };
    options.verify = verify;
    options.allow_plain_http = allow_plain_http;
    options.restart = restart;
    let copy = &mut options.copy;
    if let Some(seconds) = io_timeout {
        copy.io_timeout = Duration::try_from_secs_f64(seconds)
            .map_err(|_| Error::Value(format!("Invalid io_timeout: {seconds}")))?;
    }
    if let Some(size) = request_size {
        if !size.is_power_of_two() || !(4096..=32 << 20).contains(&size) {
            return Err(Error::Value(format!(
                "Invalid request_size: {size} (a power of two from 4096 to 33554432)"
            )));
        }
        copy.request_size = size;
    }
    if let Some(requests) = requests {
        if requests == 0 {
            return Err(Error::Value("Invalid requests: 0 (at least 1)".to_owned()));
        }
        copy.requests = requests;
    }
    copy.retries = retries.unwrap_or(copy.retries);
    copy.reconnects = reconnects.unwrap_or(copy.reconnects);
    if let Some(hooks) = hooks {
        options.hooks = Some(hook_runner(hooks)?);
    }
    options.converter = converter
        .map(crate::converter::guest_converter)
        .transpose()?;
    let migrator = Arc::new(Migrator::new(&set, plan, options)?);
    let queue = Arc::new(EventQueue::default());
    let context = Context::new(cancel.as_deref());
    let token = context.token().clone();
    let (runner, forwarder) = (Arc::clone(&migrator), Arc::clone(&queue));
    let closer = CloseOnDrop(Arc::clone(&queue));
    let task = task::spawn(context, OnCancel::Cooperate, async move {
        // Readers stop waiting however this ends, a panic included.
        let _closer = closer;
        let (sender, mut receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let forwarding = tokio::spawn(async move {
            while let Some(event) = receiver.recv().await {
                forwarder.push(&event);
            }
            forwarder.close();
        });
        let outcome = runner.run(sender, token).await;
        // The runner dropped its sender: the forwarder drains what is left, then closes.
        let _ = forwarding.await;
        let report = outcome?;
        let value = serde_json::to_value(&report).map_err(|err| Error::Value(err.to_string()))?;
        Ok(Box::new(move |py: Python<'_>| Ok(to_python(py, &value)?.unbind())) as task::Output)
    })?;
    let events = MigrationEvents {
        queue,
        migrator,
        task: task.handle(),
    };
    Ok((task, events))
}

/// The runner `hooks=` asks for: `"local"` runs the playbooks on this machine with
/// ansible-playbook, a callable is called for each hook. Without `hooks=` nothing runs them
/// and a plan with hooks is refused.
fn hook_runner(hooks: Py<PyAny>) -> Result<Arc<dyn HookRunner>> {
    let local = Python::attach(|py| -> Result<Option<bool>> {
        let hooks = hooks.bind(py);
        if let Ok(text) = hooks.extract::<String>() {
            return match text.as_str() {
                "local" => Ok(Some(true)),
                other => Err(Error::Value(format!(
                    "hooks must be \"local\" or a callable, not {other:?}"
                ))),
            };
        }
        Ok(hooks.is_callable().then_some(false))
    })?;
    match local {
        Some(true) => Ok(Arc::new(AnsibleHookRunner::default())),
        Some(false) => Ok(Arc::new(python_hooks(hooks))),
        None => Err(Error::Value(
            "hooks must be \"local\" or a callable".to_owned(),
        )),
    }
}

/// Runs the plan's hooks by calling `callback(hook, context)` on a blocking thread, with the
/// Hook resource and the context (step, plan, VM, target) as dicts. What it returns, as
/// text, is the hook's output; an exception fails the hook with its message.
fn python_hooks(callback: Py<PyAny>) -> CallbackHookRunner {
    let callback = Arc::new(callback);
    CallbackHookRunner::new(move |hook, context| {
        let callback = Arc::clone(&callback);
        Box::pin(async move {
            let hook = serde_json::to_value(&hook).map_err(|err| err.to_string())?;
            let context = serde_json::to_value(&context).map_err(|err| err.to_string())?;
            let call = move || {
                Python::attach(|py| -> PyResult<String> {
                    let output =
                        callback.call1(py, (to_python(py, &hook)?, to_python(py, &context)?))?;
                    if output.is_none(py) {
                        return Ok(String::new());
                    }
                    Ok(output.bind(py).str()?.to_string())
                })
                .map_err(|err| err.to_string())
            };
            tokio::task::spawn_blocking(call)
                .await
                .map_err(|err| format!("The hook callback did not finish: {err}"))?
        })
    })
}
