//! Plans: `validate` (MTV's conditions) and `render` (what the plan will create), offline.
//!
//! Both take the objects of a manifest set (a Plan, its Providers, maps and Hooks, optionally
//! a ForkliftController), the source inventory and optionally the destination inventory, and
//! call the library once. The only work done here is picking the objects out of the set.

use forklift::core::inventory::{DestinationInventory, SourceInventory};
use forklift::core::manifest::PlanBundle;
use forklift::core::render::{ExecutorProfile, RenderContext, RenderInput};
use forklift::core::resources;
use forklift::core::validation::{self, Settings};
use forklift::migrate::HookPolicy;
use pyo3::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::condition_item::ConditionItem;
use crate::convert::{from_python, to_python};
use crate::error::{Error, Result};
use crate::manifests::reparse;

/// A status condition, as MTV sets them on a Plan.
#[pyclass(module = "forklift._native", frozen)]
#[derive(Clone, Debug)]
pub struct Condition {
    /// Condition type, e.g. `VMNotFound`, `NamespaceNotValid`, `Ready`.
    #[pyo3(get)]
    r#type: String,
    /// `"True"` or `"False"`.
    #[pyo3(get)]
    status: String,
    /// `Critical`, `Error`, `Warn`, `Advisory` or `Required`.
    #[pyo3(get)]
    category: String,
    /// Machine-readable reason (`NotFound`, `NotValid`, ...), may be empty.
    #[pyo3(get)]
    reason: String,
    /// Human-readable message.
    #[pyo3(get)]
    message: String,
    /// What to do about it, may be empty.
    #[pyo3(get)]
    suggestion: String,
    /// Whether the condition survives re-validation.
    #[pyo3(get)]
    durable: bool,
    /// The offending items (VM references, NIC or disk names...).
    items: Vec<String>,
    /// Whether the condition blocks the plan (true and Critical or Error).
    #[pyo3(get)]
    is_blocker: bool,
    data: Value,
}

#[pymethods]
impl Condition {
    /// The offending items (VM references, NIC or disk names...), each with the VM it names.
    #[getter]
    fn items(&self) -> Vec<ConditionItem> {
        self.items
            .iter()
            .map(|t| ConditionItem::from(t.as_str()))
            .collect()
    }

    /// A condition from the plain dict a Plan's status (or a report) holds.
    #[staticmethod]
    fn from_dict(data: &Bound<'_, PyAny>) -> Result<Self> {
        let value = from_python(data, "condition")?;
        let condition: resources::Condition = serde_json::from_value(value)
            .map_err(|err| Error::Value(format!("Invalid condition: {err}")))?;
        Ok(Self::from(&condition))
    }

    /// The condition as the plain dict written in a Plan's status.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.data)
    }

    fn __repr__(&self) -> String {
        format!(
            "<Condition {} {} {}: {}>",
            self.r#type, self.category, self.reason, self.message
        )
    }
}

impl From<&resources::Condition> for Condition {
    fn from(condition: &resources::Condition) -> Self {
        Self {
            r#type: condition.type_.clone(),
            status: condition.status.to_string(),
            category: condition.category.to_string(),
            reason: condition.reason.clone(),
            message: condition.message.clone(),
            suggestion: condition.suggestion.clone(),
            durable: condition.durable,
            items: condition.items.clone(),
            is_blocker: condition.is_blocker(),
            data: serde_json::to_value(condition).unwrap_or(Value::Null),
        }
    }
}

/// Reads the objects and picks the plan: the one named `plan` (`name` or `namespace/name`),
/// or the only Plan of the set.
fn plan_bundle(objects: Vec<Value>, plan: Option<&str>) -> Result<PlanBundle> {
    let set = reparse(objects)?;
    Ok(PlanBundle::select(&set, plan)?)
}

/// The arguments `validate` and `render` share: the objects, the source inventory and the
/// optional destination inventory, read while the GIL is held.
fn plan_arguments(
    objects: &Bound<'_, PyAny>,
    inventory: &Bound<'_, PyAny>,
    destination: Option<&Bound<'_, PyAny>>,
) -> Result<(Vec<Value>, SourceInventory, Option<DestinationInventory>)> {
    let source = self::inventory(inventory, "inventory")?;
    let destination = destination
        .map(|destination| self::inventory(destination, "destination inventory"))
        .transpose()?;
    Ok((self::objects(objects)?, source, destination))
}

/// Reads an inventory given as a dict (or `Node`) or as JSON text.
fn inventory<T: DeserializeOwned>(object: &Bound<'_, PyAny>, what: &str) -> Result<T> {
    let value = match object.extract::<String>() {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|err| Error::Value(format!("Invalid {what} JSON: {err}")))?,
        Err(_) => from_python(object, what)?,
    };
    serde_json::from_value(value).map_err(|err| Error::Value(format!("Invalid {what}: {err}")))
}

fn objects(objects: &Bound<'_, PyAny>) -> Result<Vec<Value>> {
    let mut values = Vec::new();
    for (index, object) in objects.try_iter()?.enumerate() {
        values.push(from_python(&object?, &format!("objects[{index}]"))?);
    }
    Ok(values)
}

/// Validates a plan the way the Forklift plan controller does and returns its conditions.
#[pyfunction]
#[pyo3(signature = (
    objects,
    inventory,
    *,
    plan = None,
    destination = None,
    assume_ready = None,
    feature_ocp_live_migration = None,
    feature_ovirt_warm_migration = None,
    feature_copy_offload = None,
    feature_static_udn_ip_addresses = None,
    vddk_image = None,
    migration_service_account = None,
    controller_namespace_restricted = None,
    max_vms_per_plan = None,
    max_disks_per_plan = None,
    max_vms_per_esxi_host = None,
    pvc_name_template = None,
    executor = "local",
    hooks = None,
    converter = None,
))]
#[allow(
    clippy::too_many_arguments,
    reason = "one keyword argument per validation setting"
)]
pub(crate) fn validate(
    py: Python<'_>,
    objects: &Bound<'_, PyAny>,
    inventory: &Bound<'_, PyAny>,
    plan: Option<&str>,
    destination: Option<&Bound<'_, PyAny>>,
    assume_ready: Option<bool>,
    feature_ocp_live_migration: Option<bool>,
    feature_ovirt_warm_migration: Option<bool>,
    feature_copy_offload: Option<bool>,
    feature_static_udn_ip_addresses: Option<bool>,
    vddk_image: Option<String>,
    migration_service_account: Option<String>,
    controller_namespace_restricted: Option<bool>,
    max_vms_per_plan: Option<usize>,
    max_disks_per_plan: Option<usize>,
    max_vms_per_esxi_host: Option<usize>,
    pvc_name_template: Option<String>,
    executor: &str,
    hooks: Option<&str>,
    converter: Option<Py<PyAny>>,
) -> Result<Vec<Condition>> {
    let hooks = hook_policy(hooks)?;
    let converter = converter
        .map(crate::converter::guest_converter)
        .transpose()?;
    let local = executor_profile(executor, hooks, None)? != ExecutorProfile::mtv();
    let (objects, source, destination) = plan_arguments(objects, inventory, destination)?;
    py.detach(|| {
        let bundle = plan_bundle(objects, plan)?;
        // Keyword arguments override the settings of the objects' ForkliftController.
        let defaults = Settings::for_bundle(&bundle);
        let settings = Settings {
            assume_ready: assume_ready.unwrap_or(defaults.assume_ready),
            feature_ocp_live_migration: feature_ocp_live_migration
                .unwrap_or(defaults.feature_ocp_live_migration),
            feature_ovirt_warm_migration: feature_ovirt_warm_migration
                .unwrap_or(defaults.feature_ovirt_warm_migration),
            feature_copy_offload: feature_copy_offload.unwrap_or(defaults.feature_copy_offload),
            feature_static_udn_ip_addresses: feature_static_udn_ip_addresses
                .unwrap_or(defaults.feature_static_udn_ip_addresses),
            vddk_image: vddk_image.unwrap_or(defaults.vddk_image),
            migration_service_account: migration_service_account
                .unwrap_or(defaults.migration_service_account),
            controller_namespace_restricted: controller_namespace_restricted
                .unwrap_or(defaults.controller_namespace_restricted),
            max_vms_per_plan: max_vms_per_plan.unwrap_or(defaults.max_vms_per_plan),
            max_disks_per_plan: max_disks_per_plan.unwrap_or(defaults.max_disks_per_plan),
            max_vms_per_esxi_host: max_vms_per_esxi_host.unwrap_or(defaults.max_vms_per_esxi_host),
            pvc_name_template: pvc_name_template.or(defaults.pvc_name_template),
        };
        let mut conditions = validation::validate(
            &bundle.plan,
            &validation::PlanResources::of(&bundle),
            &source,
            destination.as_ref(),
            &settings,
        );
        if local {
            forklift::migrate::add_local_refusals(
                &mut conditions,
                &bundle,
                &source,
                destination.as_ref(),
                hooks,
                converter.as_deref(),
            );
        }
        Ok(conditions.iter().map(Condition::from).collect())
    })
}

/// The engine a dry run describes: `"local"` is `migrate` on this machine (running hooks as
/// `hooks` says, converting guests with `converter`), `"mtv"` MTV's controller.
fn executor_profile(
    name: &str,
    hooks: HookPolicy,
    converter: Option<&dyn forklift::migrate::convert::Converter>,
) -> Result<ExecutorProfile> {
    match name {
        "local" => Ok(forklift::migrate::with_converter(
            forklift::migrate::local_executor_profile(hooks),
            converter,
        )),
        "mtv" => Ok(ExecutorProfile::mtv()),
        other => Err(Error::Value(format!(
            "executor must be \"local\" or \"mtv\", not {other:?}"
        ))),
    }
}

/// Renders what a plan will create: `(target, manifests, yaml, has_blockers)`, where `target` is the per-VM
/// report (names, disks, interfaces, hooks, itinerary, conditions) as plain data, `manifests`
/// the DataVolumes, PVCs and VirtualMachines to create, in creation order, and `yaml` those
/// as multi-document YAML for `kubectl apply -f -`; `has_blockers` tells whether a condition
/// of the plan or of a VM blocks the migration.
#[pyfunction]
#[pyo3(signature = (objects, inventory, *, plan = None, destination = None, migration_uid = None, executor = "local", hooks = None, converter = None))]
#[allow(
    clippy::too_many_arguments,
    reason = "mirrors the keyword arguments of forklift.render"
)]
pub(crate) fn render<'py>(
    py: Python<'py>,
    objects: &Bound<'py, PyAny>,
    inventory: &Bound<'py, PyAny>,
    plan: Option<&str>,
    destination: Option<&Bound<'py, PyAny>>,
    migration_uid: Option<String>,
    executor: &str,
    hooks: Option<&str>,
    converter: Option<Py<PyAny>>,
) -> Result<(Bound<'py, PyAny>, Bound<'py, PyAny>, String, bool)> {
    let converter = converter
        .map(crate::converter::guest_converter)
        .transpose()?;
    let executor = executor_profile(executor, hook_policy(hooks)?, converter.as_deref())?;
    let (objects, source, destination) = plan_arguments(objects, inventory, destination)?;
    let (target, manifests, yaml, has_blockers) =
        py.detach(|| -> Result<(Value, Value, String, bool)> {
            let bundle = plan_bundle(objects, plan)?;
            let context = RenderContext {
                migration_uid,
                executor,
                ..RenderContext::default()
            };
            let input = RenderInput::for_plan(&bundle, &source, destination.as_ref(), &context);
            let target = forklift::core::render::render(input);
            let report =
                serde_json::to_value(&target).map_err(|err| Error::Value(err.to_string()))?;
            Ok((
                report,
                Value::Array(target.manifests()),
                target.to_yaml(),
                target.has_blockers(),
            ))
        })?;
    Ok((
        to_python(py, &target)?,
        to_python(py, &manifests)?,
        yaml,
        has_blockers,
    ))
}

/// `hooks=` of `validate` and `render`: `"local"` describes `migrate(..., hooks=...)` with a
/// hook runner (hooks run), `None` one without (a plan with hooks is refused).
fn hook_policy(hooks: Option<&str>) -> Result<HookPolicy> {
    match hooks {
        None => Ok(HookPolicy::Refuse),
        Some("local") => Ok(HookPolicy::Run),
        Some(other) => Err(Error::Value(format!(
            "hooks must be \"local\" or None, not {other:?}"
        ))),
    }
}
