//! `Condition.items` as objects: the text MTV writes, and the VM reference it names when it
//! is in upstream's `(type) id:<id> name:'<name>'` form.

use forklift::core::resources::Ref;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// One item of a condition: the text as MTV writes it, and the VM it names when it names one.
#[pyclass(module = "forklift._native", frozen)]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConditionItem {
    /// The item as MTV writes it (`id:vm-42 name:'web' `, `openshift-mtv/net`...).
    #[pyo3(get)]
    text: String,
    /// The inventory id of the VM the item names, when it names one.
    #[pyo3(get)]
    id: Option<String>,
    /// The name of the VM the item names, when it names one.
    #[pyo3(get)]
    name: Option<String>,
    /// The reference's type qualifier (`pod`...), when it has one.
    #[pyo3(get)]
    r#type: Option<String>,
}

impl From<&str> for ConditionItem {
    fn from(text: &str) -> Self {
        let reference = Ref::from_item(text);
        let part = |f: fn(&Ref) -> &str| {
            reference
                .as_ref()
                .map(f)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Self {
            text: text.to_owned(),
            id: part(|r| &r.id),
            name: part(|r| &r.name),
            r#type: part(|r| &r.type_),
        }
    }
}

#[pymethods]
impl ConditionItem {
    /// The item as a dict: `text`, and `id`, `name`, `type` (None when absent).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("text", &self.text)?;
        dict.set_item("id", &self.id)?;
        dict.set_item("name", &self.name)?;
        dict.set_item("type", &self.r#type)?;
        Ok(dict)
    }

    /// An item equals another with the same text, and the text itself.
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        if let Ok(text) = other.extract::<String>() {
            return text == self.text;
        }
        other
            .downcast::<Self>()
            .is_ok_and(|item| item.get().text == self.text)
    }

    /// The text's hash: an item and its text are equal, so they hash alike.
    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        pyo3::types::PyString::new(py, &self.text).hash()
    }

    fn __str__(&self) -> &str {
        &self.text
    }

    fn __repr__(&self) -> String {
        format!("<ConditionItem {:?}>", self.text)
    }
}
