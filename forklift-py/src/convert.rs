//! Plain data between Rust and Python: JSON-shaped values both ways.
//!
//! Library types are serde types; they cross the boundary as `serde_json::Value` trees, which
//! map one-to-one onto Python's dict/list/str/int/float/bool/None.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::error::Error;

/// Converts a JSON value into the equivalent Python object.
pub(crate) fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => PyList::new(
            py,
            items
                .iter()
                .map(|item| to_python(py, item))
                .collect::<PyResult<Vec<_>>>()?,
        )?
        .into_any(),
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// Converts a Python object made of dicts, lists, tuples, strings, numbers, booleans and None
/// into a JSON value; `path` names the argument in error messages.
pub(crate) fn from_python(object: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    convert(object, path, 0)
}

/// Nesting accepted in plain data: far beyond any Kubernetes object, and far below what
/// would exhaust the stack (conversion and serde both recurse).
const MAX_DEPTH: usize = 100;

fn convert(object: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "{path}: nested deeper than {MAX_DEPTH} levels"
        )));
    }
    if object.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: Python's bool is a subclass of int.
    if let Ok(b) = object.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if object.is_instance_of::<PyInt>() {
        if let Ok(i) = object.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = object.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(PyTypeError::new_err(format!(
            "{path}: integer out of range"
        )));
    }
    if let Ok(f) = object.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| {
                PyTypeError::new_err(format!("{path}: {} is not a finite number", f.value()))
            });
    }
    if let Ok(s) = object.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(dict) = object.cast::<PyDict>() {
        let mut map = Map::with_capacity(dict.len());
        for (key, item) in dict.iter() {
            let key: String = key.extract().map_err(|_| {
                PyTypeError::new_err(format!("{path}: keys must be strings, not {key:?}"))
            })?;
            let item_path = format!("{path}.{key}");
            map.insert(key, convert(&item, &item_path, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if object.is_instance_of::<PyList>() || object.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (index, item) in object.try_iter()?.enumerate() {
            items.push(convert(&item?, &format!("{path}[{index}]"), depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    // Objects of the Python layer (Resource, Node) expose their data through `to_dict()`.
    if object.hasattr("to_dict")? {
        return convert(&object.call_method0("to_dict")?, path, depth + 1);
    }
    Err(PyTypeError::new_err(format!(
        "{path}: cannot convert {} to plain data",
        object.get_type().name()?
    )))
}

/// Serializes a library value into a Python object.
pub(crate) fn serialize<'py, T: Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value).map_err(|err| Error::Value(err.to_string()))?;
    to_python(py, &json)
}
