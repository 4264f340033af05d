//! `converter=` of `migrate`, `validate` and `render`: `"virt-v2v"` runs this machine's
//! virt-v2v (libguestfs under TCG); a callable converts each VM itself, called as
//! `converter(disks, vm)` like the hook callback.

use std::sync::Arc;

use forklift::migrate::convert::{CallbackConverter, CallbackResult, Converter, VirtV2vConverter};
use pyo3::prelude::*;

use crate::convert::{from_python, to_python};
use crate::error::{Error, Result};

/// The converter `converter` names: `"virt-v2v"`, or a callable. Without `converter=` a plan
/// that needs conversion is refused unless it sets skipGuestConversion.
pub(crate) fn guest_converter(converter: Py<PyAny>) -> Result<Arc<dyn Converter>> {
    let named = Python::attach(|py| -> Result<Option<bool>> {
        let converter = converter.bind(py);
        if let Ok(text) = converter.extract::<String>() {
            return match text.as_str() {
                "virt-v2v" => Ok(Some(true)),
                other => Err(Error::Value(format!(
                    "converter must be \"virt-v2v\" or a callable, not {other:?}"
                ))),
            };
        }
        Ok(converter.is_callable().then_some(false))
    })?;
    match named {
        Some(true) => Ok(Arc::new(VirtV2vConverter::default())),
        Some(false) => Ok(Arc::new(python_converter(converter))),
        None => Err(Error::Value(
            "converter must be \"virt-v2v\" or a callable".to_owned(),
        )),
    }
}

/// Converts each VM by calling `callback(disks, vm)` on a blocking thread: `disks` is the
/// list of copied raw images in the VM's order (`{"path", "claim"}`), `vm` what the
/// conversion is told about the VM (name, firmware, MACs, memory, static IPs...). It converts
/// the images in place and returns `None` or a dict with any of `osinfo`, `osType`,
/// `productName`, `virtioDrivers`, `warnings`; an exception fails the VM with its message.
fn python_converter(callback: Py<PyAny>) -> CallbackConverter {
    let callback = Arc::new(callback);
    CallbackConverter::new(move |disks, vm| {
        let callback = Arc::clone(&callback);
        Box::pin(async move {
            let disks = serde_json::to_value(&disks).map_err(|err| err.to_string())?;
            let vm = serde_json::to_value(&vm).map_err(|err| err.to_string())?;
            let call = move || {
                Python::attach(|py| -> std::result::Result<CallbackResult, String> {
                    let returned = callback
                        .call1(
                            py,
                            (
                                to_python(py, &disks).map_err(|e| e.to_string())?,
                                to_python(py, &vm).map_err(|e| e.to_string())?,
                            ),
                        )
                        .map_err(|e| e.to_string())?;
                    if returned.is_none(py) {
                        return Ok(CallbackResult::default());
                    }
                    let value = from_python(returned.bind(py), "the converter's result")
                        .map_err(|e| e.to_string())?;
                    serde_json::from_value(value)
                        .map_err(|e| format!("the converter returned an unexpected value: {e}"))
                })
            };
            tokio::task::spawn_blocking(call)
                .await
                .map_err(|err| format!("The converter callback did not finish: {err}"))?
        })
    })
}
