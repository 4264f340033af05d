//! Names MTV gives to what it creates: `adjust_name`, DNS-1123 checks, naming templates.

use std::collections::HashSet;

use forklift::core::naming::{
    self, NetworkNameTemplateData, PvcNameTemplateData, SeededRandom, VolumeNameTemplateData,
};
use forklift::core::template::{Template, TemplateData};
use pyo3::prelude::*;
use pyo3::types::PyString;
use serde::de::DeserializeOwned;

use crate::convert::from_python;
use crate::error::{Error, Result};

/// Adjusts a VM name the way MTV does (upstream `ChangeVmName`): a DNS-1123 name of at most
/// 63 characters. When the result is in `taken`, it is cut to 58 characters and gets `-` and
/// 4 random characters; `seed` makes those characters reproducible.
#[pyfunction]
#[pyo3(signature = (name, *, taken = None, seed = None))]
pub(crate) fn adjust_name(
    name: &str,
    taken: Option<&Bound<'_, PyAny>>,
    seed: Option<u64>,
) -> Result<String> {
    let mut names = HashSet::new();
    if let Some(taken) = taken {
        if taken.is_instance_of::<PyString>() {
            return Err(Error::Value(
                "taken must be a collection of names, not a string".to_owned(),
            ));
        }
        for item in taken.try_iter()? {
            names.insert(item?.extract::<String>()?);
        }
    }
    let mut random = seed.map_or_else(SeededRandom::from_time, SeededRandom::new);
    Ok(naming::change_vm_name_avoiding(
        name,
        &|candidate| names.contains(candidate),
        &mut random,
    ))
}

/// Why `value` is not a DNS-1123 label (Kubernetes' messages); empty when it is one.
#[pyfunction]
pub(crate) fn dns1123_label_errors(value: &str) -> Vec<String> {
    naming::dns1123_label_errors(value)
}

/// Why `value` is not a DNS-1123 subdomain (Kubernetes' messages); empty when it is one.
#[pyfunction]
pub(crate) fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    naming::dns1123_subdomain_errors(value)
}

/// Renders a naming template as MTV does for `kind`:
///
/// - `"pvc"`: PVC names (`PVCNameTemplateData`); the output is trimmed and must be a DNS-1123
///   label, else `TemplateError`;
/// - `"volume"`, `"network"`: volume and interface names (`VolumeNameTemplateData`,
///   `NetworkNameTemplateData`), cut to 63 characters.
///
/// `data` maps the template's field names (`PlanName`, `DiskIndex`, ... or their camelCase
/// spellings) to values; a field the kind does not have is a `ValueError`.
#[pyfunction]
pub(crate) fn render_template(
    py: Python<'_>,
    kind: &str,
    template: &str,
    data: &Bound<'_, PyAny>,
) -> Result<String> {
    match kind {
        "pvc" => {
            let data: PvcNameTemplateData = template_data(data)?;
            py.detach(|| Ok(naming::render_pvc_name(template, &data)?))
        }
        "volume" => {
            let data: VolumeNameTemplateData = template_data(data)?;
            py.detach(|| {
                // `volume_name` falls back to `vol-<i>` on errors, as MTV does when building the
                // VM; a caller asking for a render wants the error instead.
                Template::parse(template)?.render(&data)?;
                Ok(naming::volume_name(Some(template), &data))
            })
        }
        "network" => {
            let data: NetworkNameTemplateData = template_data(data)?;
            py.detach(|| {
                Template::parse(template)?.render(&data)?;
                Ok(naming::network_name(Some(template), &data))
            })
        }
        other => Err(Error::Value(format!(
            "Unknown template kind {other:?}: use \"pvc\", \"volume\" or \"network\""
        ))),
    }
}

/// Reads template data from a mapping, rejecting names the data type does not have (serde
/// would silently ignore them, and Go's template would then fail on the field).
fn template_data<T: DeserializeOwned + TemplateData + Default>(
    data: &Bound<'_, PyAny>,
) -> Result<T> {
    let value = from_python(data, "data")?;
    let fields = T::default().field_names();
    if let Some(map) = value.as_object() {
        for key in map.keys() {
            if !fields.iter().any(|field| field.eq_ignore_ascii_case(key)) {
                return Err(Error::Value(format!(
                    "Unknown template field {key:?}: expected one of {}",
                    fields.join(", ")
                )));
            }
        }
    }
    serde_json::from_value(value)
        .map_err(|err| Error::Value(format!("Invalid template data: {err}")))
}
