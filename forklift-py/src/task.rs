//! Long operations: run on the process runtime, awaited with the GIL released, cancellable.
//!
//! Every long call of the API becomes a [`Task`]: a future spawned on the runtime whose
//! outcome is kept until Python asks for it. The synchronous API waits on it in short slices
//! so Ctrl-C still works; the asyncio API (in `forklift/_tasks.py`) completes an asyncio future
//! from a done-callback. Cancellation is a tokio-util token shared with the library code.

use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use pyo3::IntoPyObjectExt;
use pyo3::exceptions::{PyRuntimeError, PyTimeoutError, PyValueError};
use pyo3::panic::PanicException;
use pyo3::prelude::*;
use pyo3::types::PyType;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::runtime::runtime;

/// How often a waiting thread wakes up to let Python run its signal handlers (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// The successful result of an operation, turned into a Python object once the GIL is held.
pub(crate) type Output = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Py<PyAny>> + Send>;

/// Wraps a value convertible to Python as an [`Output`].
pub(crate) fn output<T>(value: T) -> Output
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    Box::new(move |py| value.into_py_any(py))
}

/// What a cancelled operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnCancel {
    /// The future is dropped at the next await point and the task fails with `CancelledError`.
    Drop,
    /// The future watches the token itself and finishes its own way (flushes, cleans up).
    Cooperate,
}

/// A cancellation token: pass it to long calls, call `cancel()` from anywhere to stop them.
#[pyclass(module = "forklift._native", frozen)]
#[derive(Clone, Default)]
pub struct CancelToken {
    token: CancellationToken,
}

#[pymethods]
impl CancelToken {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Asks every operation holding this token to stop; they fail with `CancelledError`.
    fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether `cancel()` was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    fn __repr__(&self) -> String {
        format!(
            "CancelToken(cancelled={})",
            if self.cancelled() { "True" } else { "False" }
        )
    }
}

/// What an operation shares with the code that runs it: its token, and the first exception a
/// Python callback raised (which cancels the operation and becomes its error).
#[derive(Clone)]
pub(crate) struct Context {
    token: CancellationToken,
    failure: Arc<Mutex<Option<PyErr>>>,
}

impl Context {
    /// A context cancelled by `parent` (when given) or by the task's own `cancel()`.
    pub(crate) fn new(parent: Option<&CancelToken>) -> Self {
        let token = parent.map_or_else(CancellationToken::new, |parent| parent.token.child_token());
        Self {
            token,
            failure: Arc::default(),
        }
    }

    /// The token the library code should watch.
    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Runs Python code from a runtime thread; an exception cancels the operation.
    pub(crate) fn with_python(&self, f: impl for<'py> FnOnce(Python<'py>) -> PyResult<()>) {
        if self.token.is_cancelled() {
            return;
        }
        // The interpreter may be shutting down while a task still runs: then nobody listens.
        if let Some(Err(err)) = Python::try_attach(f) {
            lock(&self.failure).get_or_insert(err);
            self.token.cancel();
        }
    }

    fn take_failure(&self) -> Option<PyErr> {
        lock(&self.failure).take()
    }
}

enum Outcome {
    Pending,
    Ready(Result<Output>),
    Converted(Py<PyAny>),
    Failed(PyErr),
}

struct Inner {
    outcome: Outcome,
    callbacks: Vec<Py<PyAny>>,
}

struct Shared {
    inner: Mutex<Inner>,
    finished: Condvar,
    context: Context,
}

impl Shared {
    fn finish(self: &Arc<Self>, outcome: Result<Output>) {
        let outcome = match self.context.take_failure() {
            Some(err) => Err(Error::Python(err)),
            None => outcome,
        };
        let callbacks = {
            let mut inner = lock(&self.inner);
            if !matches!(inner.outcome, Outcome::Pending) {
                return;
            }
            inner.outcome = Outcome::Ready(outcome);
            std::mem::take(&mut inner.callbacks)
        };
        self.finished.notify_all();
        if !callbacks.is_empty() {
            Python::try_attach(|py| {
                // Each callback gets the task, as `concurrent.futures` callbacks get the future.
                let task = match Py::new(
                    py,
                    Task {
                        shared: Arc::clone(self),
                    },
                ) {
                    Ok(task) => task,
                    Err(err) => return err.write_unraisable(py, None),
                };
                for callback in callbacks {
                    if let Err(err) = callback.call1(py, (task.clone_ref(py),)) {
                        err.write_unraisable(py, Some(callback.bind(py)));
                    }
                }
            });
        }
    }
}

/// Finishes the task when dropped unfinished: a panic in the operation unwinds through it.
struct Finisher(Arc<Shared>);

impl Finisher {
    fn finish(self, outcome: Result<Output>) {
        self.0.finish(outcome);
    }
}

impl Drop for Finisher {
    fn drop(&mut self) {
        // A no-op after `finish`: the outcome is no longer pending.
        self.0.finish(Ok(Box::new(|_| {
            Err(PanicException::new_err(
                "forklift operation panicked; this is a bug",
            ))
        })));
    }
}

/// A running or finished operation (like `concurrent.futures.Future`).
#[pyclass(module = "forklift._native", frozen)]
pub struct Task {
    shared: Arc<Shared>,
}

impl Task {
    /// Another handle on the same task.
    pub(crate) fn handle(&self) -> Task {
        Task {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Spawns `future` on the runtime as a task of `context`.
pub(crate) fn spawn<F>(context: Context, on_cancel: OnCancel, future: F) -> Result<Task>
where
    F: Future<Output = Result<Output>> + Send + 'static,
{
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            outcome: Outcome::Pending,
            callbacks: Vec::new(),
        }),
        finished: Condvar::new(),
        context: context.clone(),
    });
    let finisher = Finisher(Arc::clone(&shared));
    let token = context.token.clone();
    runtime()?.spawn(async move {
        let outcome = match on_cancel {
            OnCancel::Cooperate => future.await,
            OnCancel::Drop => tokio::select! {
                biased;
                outcome = future => outcome,
                () = token.cancelled() => Err(Error::Cancelled),
            },
        };
        finisher.finish(outcome);
    });
    Ok(Task { shared })
}

#[pymethods]
impl Task {
    /// `Task[T]` in annotations: tasks are generic in their result type.
    #[classmethod]
    fn __class_getitem__<'py>(
        cls: &Bound<'py, PyType>,
        item: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let generic_alias = cls.py().import("types")?.getattr("GenericAlias")?;
        generic_alias.call1((cls, item))
    }

    /// Whether the operation has finished (successfully, with an error, or cancelled).
    fn done(&self) -> bool {
        !matches!(lock(&self.shared.inner).outcome, Outcome::Pending)
    }

    /// Asks the operation to stop; it then fails with `CancelledError`. Returns False when
    /// it had already finished (nothing to cancel), as `concurrent.futures.Future.cancel`.
    fn cancel(&self) -> bool {
        let pending = !self.done();
        self.shared.context.token.cancel();
        pending
    }

    /// Whether the operation is still under way (neither finished nor cancelled), as
    /// `concurrent.futures.Future.running`.
    fn running(&self) -> bool {
        !self.done() && !self.shared.context.token.is_cancelled()
    }

    /// Whether `cancel()` was called on the task or its `CancelToken`.
    #[getter]
    fn cancelled(&self) -> bool {
        self.shared.context.token.is_cancelled()
    }

    /// Waits until the operation finishes or `timeout` seconds pass; returns whether it finished.
    #[pyo3(signature = (timeout = None))]
    pub(crate) fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = match timeout {
            None => None,
            // A negative timeout polls, as with `threading.Event.wait`.
            Some(seconds) => Some(
                Instant::now()
                    + Duration::try_from_secs_f64(if seconds < 0.0 { 0.0 } else { seconds })
                        .map_err(|_| {
                            PyValueError::new_err(format!("Invalid timeout: {seconds}"))
                        })?,
            ),
        };
        loop {
            let slice = deadline.map_or(SIGNAL_POLL, |deadline| {
                deadline
                    .saturating_duration_since(Instant::now())
                    .min(SIGNAL_POLL)
            });
            let finished = py.detach(|| {
                let inner = lock(&self.shared.inner);
                let (inner, _) = self
                    .shared
                    .finished
                    .wait_timeout_while(inner, slice, |inner| {
                        matches!(inner.outcome, Outcome::Pending)
                    })
                    .unwrap_or_else(PoisonError::into_inner);
                !matches!(inner.outcome, Outcome::Pending)
            });
            if finished {
                return Ok(true);
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Ok(false);
            }
            py.check_signals()?;
        }
    }

    /// Waits for the operation and returns its result, or raises its error.
    #[pyo3(signature = (timeout = None))]
    fn result(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        if !self.wait(py, timeout)? {
            return Err(PyTimeoutError::new_err("The operation is still running"));
        }
        let mut inner = lock(&self.shared.inner);
        let converted = match std::mem::replace(&mut inner.outcome, Outcome::Pending) {
            Outcome::Ready(Ok(output)) => output(py),
            Outcome::Ready(Err(error)) => Err(PyErr::from(error)),
            Outcome::Converted(value) => Ok(value),
            Outcome::Failed(err) => Err(err),
            // Only reachable if a conversion panicked earlier and left the slot empty.
            Outcome::Pending => Err(PyRuntimeError::new_err("The operation lost its result")),
        };
        match converted {
            Ok(value) => {
                inner.outcome = Outcome::Converted(value.clone_ref(py));
                Ok(value)
            }
            Err(err) => {
                inner.outcome = Outcome::Failed(err.clone_ref(py));
                Err(err)
            }
        }
    }

    /// Calls `callback(task)` once the operation finishes, from a runtime thread, or right
    /// away when it already has, as `concurrent.futures.Future.add_done_callback` does.
    /// Exceptions it raises are reported as unraisable.
    fn add_done_callback(slf: &Bound<'_, Self>, callback: Py<PyAny>) -> PyResult<()> {
        {
            let mut inner = lock(&slf.get().shared.inner);
            if matches!(inner.outcome, Outcome::Pending) {
                inner.callbacks.push(callback);
                return Ok(());
            }
        }
        callback.call1(slf.py(), (slf,)).map(drop)
    }

    /// The exception the operation raised, or `None` when it succeeded; waits like
    /// [`result`](Self::result) (`TimeoutError` when `timeout` passes first).
    #[pyo3(signature = (timeout = None))]
    fn exception(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Py<PyAny>>> {
        match self.result(py, timeout) {
            Ok(_) => Ok(None),
            Err(err) if err.is_instance_of::<PyTimeoutError>(py) && !self.done() => Err(err),
            Err(err) => Ok(Some(err.into_value(py).into_any())),
        }
    }

    /// `await task` in asyncio code: waits without blocking the event loop; cancelling the
    /// awaiting coroutine cancels the task.
    fn __await__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let wait = slf.py().import("forklift._tasks")?.getattr("wait")?;
        wait.call1((slf,))?.call_method0("__await__")
    }

    fn __repr__(&self) -> &'static str {
        match lock(&self.shared.inner).outcome {
            Outcome::Pending => "<Task pending>",
            Outcome::Ready(Ok(_)) | Outcome::Converted(_) => "<Task finished>",
            Outcome::Ready(Err(_)) | Outcome::Failed(_) => "<Task failed>",
        }
    }
}

/// Locks `mutex`, ignoring poisoning: no code panics while holding these locks.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
