//! # forklift-py: the Python bindings
//!
//! The private extension module `forklift._native` behind the public `forklift` package
//! (`forklift-py/python/forklift`). This crate is a thin layer: it converts arguments, calls
//! the facade crate `forklift`, and converts results and errors back; every decision is made by
//! the library. Long calls run as tasks (`Task`) on one process-wide tokio runtime with the GIL
//! released.
//!
//! ```text
//!   forklift (Python package: objects, asyncio helpers, exceptions)
//!        │
//!   forklift._native (this crate)  ──  runtime, tasks, error mapping
//!        │
//!   forklift (Rust facade) ── forklift-core / -transfer / -providers
//! ```

mod cluster;
mod condition_item;
mod convert;
mod converter;
mod copy;
mod error;
mod inventory;
mod manifests;
mod migrate;
mod naming;
mod plan;
mod runtime;
#[allow(
    dead_code,
    reason = "cooperative cancellation and callbacks serve the copy bindings"
)]
mod task;

use std::time::Duration;

use pyo3::prelude::*;

use crate::task::{CancelToken, Context, OnCancel, Task};

/// A cancellable sleep on the runtime. It exercises the task machinery (GIL release, Ctrl-C,
/// cancellation, asyncio completion, `fork`) without any I/O; the test suite relies on it.
#[pyfunction]
#[pyo3(signature = (seconds, cancel = None))]
fn _sleep(seconds: f64, cancel: Option<PyRef<'_, CancelToken>>) -> PyResult<Task> {
    let duration = Duration::try_from_secs_f64(seconds)
        .map_err(|_| error::Error::Value(format!("Invalid duration: {seconds}")))?;
    let context = Context::new(cancel.as_deref());
    Ok(task::spawn(context, OnCancel::Drop, async move {
        tokio::time::sleep(duration).await;
        Ok(task::output(seconds))
    })?)
}

/// Copy buffers page-aligned, so O_DIRECT writes them without a bounce copy (see
/// `forklift::transfer::alloc`).
#[global_allocator]
static ALLOCATOR: forklift::transfer::alloc::PageAlignedLarge =
    forklift::transfer::alloc::PageAlignedLarge;

/// The native module behind the public `forklift` Python package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<CancelToken>()?;
    m.add_class::<Task>()?;
    m.add_class::<manifests::Diagnostic>()?;
    m.add_class::<plan::Condition>()?;
    m.add_class::<condition_item::ConditionItem>()?;
    m.add_class::<copy::CopyProgress>()?;
    m.add_class::<migrate::MigrationEvents>()?;
    m.add_class::<copy::CopySummary>()?;
    m.add_function(wrap_pyfunction!(_sleep, m)?)?;
    m.add_function(wrap_pyfunction!(manifests::parse_manifests, m)?)?;
    m.add_function(wrap_pyfunction!(manifests::load_manifests, m)?)?;
    m.add_function(wrap_pyfunction!(manifests::dump_manifests, m)?)?;
    m.add_function(wrap_pyfunction!(naming::adjust_name, m)?)?;
    m.add_function(wrap_pyfunction!(naming::dns1123_label_errors, m)?)?;
    m.add_function(wrap_pyfunction!(naming::dns1123_subdomain_errors, m)?)?;
    m.add_function(wrap_pyfunction!(naming::render_template, m)?)?;
    m.add_function(wrap_pyfunction!(copy::start_copy, m)?)?;
    m.add_function(wrap_pyfunction!(plan::validate, m)?)?;
    m.add_function(wrap_pyfunction!(plan::render, m)?)?;
    m.add_function(wrap_pyfunction!(inventory::start_inventory, m)?)?;
    m.add_function(wrap_pyfunction!(migrate::start_migration, m)?)?;
    m.add_function(wrap_pyfunction!(cluster::deploy, m)?)?;
    Ok(())
}
