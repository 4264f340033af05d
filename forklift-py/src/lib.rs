//! Python bindings of forklift: the private `forklift._native` module.

use pyo3::prelude::*;

/// The native module behind the public `forklift` Python package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
