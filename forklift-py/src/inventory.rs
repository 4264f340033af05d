//! `inventory(provider)`: collecting a source provider's inventory into the core model.

use forklift::providers::{ProviderConfig, open_provider};
use pyo3::prelude::*;
use serde_json::Value;

use crate::convert::{from_python, to_python};
use crate::error::{Error, Result};
use crate::manifests::reparse;
use crate::task::{self, CancelToken, Context, OnCancel, Task};

/// Starts collecting the inventory of the Provider `provider` (`name` or `namespace/name`)
/// found among `objects`, with the Secret its `spec.secret` names when present.
/// `allow_plain_http` lets a vSphere `spec.url` be plain `http://` (the password then
/// travels in clear text); such a URL is refused otherwise.
#[pyfunction]
#[pyo3(signature = (objects, provider, *, cancel = None, allow_plain_http = false))]
pub(crate) fn start_inventory(
    objects: &Bound<'_, PyAny>,
    provider: String,
    cancel: Option<PyRef<'_, CancelToken>>,
    allow_plain_http: bool,
) -> Result<Task> {
    let mut values: Vec<Value> = Vec::new();
    for (index, object) in objects.try_iter()?.enumerate() {
        values.push(from_python(&object?, &format!("objects[{index}]"))?);
    }
    let set = reparse(values)?;
    let mut config = ProviderConfig::from_manifests(&set, &provider)?;
    config.allow_plain_http = allow_plain_http;
    let context = Context::new(cancel.as_deref());
    task::spawn(context, OnCancel::Drop, async move {
        let provider = open_provider(&config).await?;
        let inventory = provider.inventory()?.collect_inventory().await?;
        let value =
            serde_json::to_value(&inventory).map_err(|err| Error::Value(err.to_string()))?;
        Ok(Box::new(move |py: Python<'_>| Ok(to_python(py, &value)?.unbind())) as task::Output)
    })
}
