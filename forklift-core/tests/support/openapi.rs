//! A small Swagger 2.0 schema checker for KubeVirt's published OpenAPI document: resolves
//! `$ref`s and checks types, enums, required fields and unknown properties.

use serde_json::Value;
use std::path::PathBuf;

/// The KubeVirt OpenAPI document of the shared references.
pub struct OpenApi {
    definitions: serde_json::Map<String, Value>,
}

/// Finds `shared/` beside the repository: the nearest ancestor of this crate's manifest
/// directory that holds `shared/reference` (the file is included from several crates).
fn shared_dir() -> PathBuf {
    let start = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|dir| dir.join("shared"))
        .find(|candidate| candidate.join("reference").is_dir())
        .unwrap_or_else(|| panic!("no shared/reference above {}", start.display()))
}

const QUANTITY: &str = "k8s.io.apimachinery.pkg.api.resource.Quantity";

impl OpenApi {
    /// Loads `../shared/reference/kubevirt-openapi/swagger.json`.
    pub fn load() -> Self {
        Self::load_reference("kubevirt-openapi/swagger.json")
    }

    /// Loads another OpenAPI document of `../shared/reference` (`cdi-openapi/swagger.json`).
    pub fn load_reference(relative: &str) -> Self {
        let path = shared_dir().join("reference").join(relative);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let doc: Value = serde_json::from_str(&text).expect("swagger.json is JSON");
        let definitions = doc["definitions"]
            .as_object()
            .expect("swagger.json has definitions")
            .clone();
        OpenApi { definitions }
    }

    /// Whether a definition exists.
    pub fn has(&self, name: &str) -> bool {
        self.definitions.contains_key(name)
    }

    /// Validates `value` against definition `name`; returns every violation as `path: message`.
    pub fn validate(&self, name: &str, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        let schema = serde_json::json!({ "$ref": format!("#/definitions/{name}") });
        self.check(&schema, value, "$", &mut errors, 0);
        errors
    }

    /// Validates a CDI DataVolume, for which the document has no top-level definition: the
    /// object is `{apiVersion, kind, metadata: ObjectMeta, spec: v1beta1.DataVolumeSpec}`.
    pub fn validate_data_volume(&self, value: &Value) -> Vec<String> {
        self.validate_wrapped(
            value,
            "v1beta1.DataVolumeSpec",
            "cdi.kubevirt.io/v1beta1",
            "DataVolume",
        )
    }

    /// Validates a PersistentVolumeClaim against `{metadata: ObjectMeta, spec: PersistentVolumeClaimSpec}`.
    pub fn validate_pvc(&self, value: &Value) -> Vec<String> {
        self.validate_wrapped(
            value,
            "k8s.io.api.core.v1.PersistentVolumeClaimSpec",
            "v1",
            "PersistentVolumeClaim",
        )
    }

    fn validate_wrapped(
        &self,
        value: &Value,
        spec: &str,
        api_version: &str,
        kind: &str,
    ) -> Vec<String> {
        let schema = serde_json::json!({
            "type": "object",
            "required": ["apiVersion", "kind", "metadata", "spec"],
            "properties": {
                "apiVersion": {"type": "string", "enum": [api_version]},
                "kind": {"type": "string", "enum": [kind]},
                "metadata": {"$ref": "#/definitions/k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
                "spec": {"$ref": format!("#/definitions/{spec}")},
            }
        });
        let mut errors = Vec::new();
        self.check(&schema, value, "$", &mut errors, 0);
        errors
    }

    fn check(
        &self,
        schema: &Value,
        value: &Value,
        path: &str,
        errors: &mut Vec<String>,
        depth: usize,
    ) {
        if depth > 64 {
            errors.push(format!("{path}: schema nesting too deep"));
            return;
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let Some(name) = reference.strip_prefix("#/definitions/") else {
                errors.push(format!("{path}: unsupported $ref {reference}"));
                return;
            };
            if name == QUANTITY || name == "resource.Quantity" {
                if !(value.is_string() || value.is_number()) {
                    errors.push(format!(
                        "{path}: quantity must be a string or number, got {value}"
                    ));
                }
                return;
            }
            match self.definitions.get(name) {
                Some(target) => self.check(target, value, path, errors, depth + 1),
                None => errors.push(format!("{path}: unresolved $ref {reference}")),
            }
            return;
        }
        if value.is_null() {
            errors.push(format!("{path}: null value"));
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                errors.push(format!("{path}: {value} not in enum {allowed:?}"));
            }
        }
        let format = schema.get("format").and_then(Value::as_str);
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => self.check_object(schema, value, path, errors, depth),
            Some("array") => match value.as_array() {
                Some(items) => {
                    if let Some(item_schema) = schema.get("items") {
                        for (i, item) in items.iter().enumerate() {
                            self.check(
                                item_schema,
                                item,
                                &format!("{path}[{i}]"),
                                errors,
                                depth + 1,
                            );
                        }
                    }
                }
                None => errors.push(format!("{path}: expected array, got {value}")),
            },
            Some("string") => {
                let ok = value.is_string() || (format == Some("int-or-string") && value.is_i64());
                if !ok {
                    errors.push(format!("{path}: expected string, got {value}"));
                }
            }
            Some("integer") => {
                if !(value.is_i64() || value.is_u64()) {
                    errors.push(format!("{path}: expected integer, got {value}"));
                } else if format == Some("int32") {
                    let n = value.as_i64().unwrap_or(i64::MAX);
                    if i32::try_from(n).is_err() {
                        errors.push(format!("{path}: {n} out of int32 range"));
                    }
                }
            }
            Some("number") => {
                if !value.is_number() {
                    errors.push(format!("{path}: expected number, got {value}"));
                }
            }
            Some("boolean") => {
                if !value.is_boolean() {
                    errors.push(format!("{path}: expected boolean, got {value}"));
                }
            }
            Some(other) => errors.push(format!("{path}: unsupported schema type {other}")),
            None => {
                if schema.get("properties").is_some() {
                    self.check_object(schema, value, path, errors, depth);
                }
                // No type and no properties: any value (e.g. RawExtension).
            }
        }
    }

    fn check_object(
        &self,
        schema: &Value,
        value: &Value,
        path: &str,
        errors: &mut Vec<String>,
        depth: usize,
    ) {
        let Some(object) = value.as_object() else {
            errors.push(format!("{path}: expected object, got {value}"));
            return;
        };
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for field in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(field) {
                    errors.push(format!("{path}: missing required field {field}"));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        for (key, child) in object {
            let child_path = format!("{path}.{key}");
            if let Some(property) = properties.and_then(|p| p.get(key)) {
                self.check(property, child, &child_path, errors, depth + 1);
            } else if let Some(additional) = additional {
                if additional.is_object() {
                    self.check(additional, child, &child_path, errors, depth + 1);
                } else if additional == &Value::Bool(false) {
                    errors.push(format!("{child_path}: unknown property"));
                }
            } else {
                errors.push(format!("{child_path}: unknown property"));
            }
        }
    }
}
