//! What we save is what `kubectl apply` accepts: saved objects validate against the
//! openAPIV3Schema of their CRD (types, required fields, enums, patterns, formats and no
//! field the schema would prune). Checked on the bundled examples and on every guide example.

use forklift_core::manifest::{DiagnosticCode, ManifestSet};
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(rel)
}

/// Schemas by `apiVersion` + kind.
fn schemas() -> HashMap<(String, String), Value> {
    let mut out = HashMap::new();
    for entry in std::fs::read_dir(shared("reference/crds")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let crd: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let group = crd["spec"]["group"].as_str().unwrap();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
        for version in crd["spec"]["versions"].as_array().unwrap() {
            let api_version = format!("{group}/{}", version["name"].as_str().unwrap());
            out.insert(
                (api_version, kind.to_owned()),
                version["schema"]["openAPIV3Schema"].clone(),
            );
        }
    }
    out
}

/// Fields we write although the CRD lacks them, with the reason.
const OUTSIDE_SCHEMA: &[(&str, &str)] = &[(
    "ForkliftController.spec.olm_managed",
    "every ForkliftController example of the guide sets it; the API server prunes it with a warning",
)];

fn validate(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(value.is_string() || value.is_i64()) {
            errors.push(format!("{path}: expected int or string, got {value}"));
        }
        return;
    }
    let expected = schema.get("type").and_then(Value::as_str);
    match (expected, value) {
        (Some("object") | None, Value::Object(map)) => {
            if let Some(Value::Array(required)) = schema.get("required") {
                for name in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(name) {
                        errors.push(format!("{path}: missing required field {name}"));
                    }
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties");
            let free = schema.get("x-kubernetes-preserve-unknown-fields")
                == Some(&Value::Bool(true))
                || (props.is_none() && extra.is_none());
            for (key, item) in map {
                let child = format!("{path}.{key}");
                match (props.and_then(|p| p.get(key)), extra) {
                    (Some(prop), _) => validate(prop, item, &child, errors),
                    (None, Some(extra @ Value::Object(_))) => validate(extra, item, &child, errors),
                    (None, _) if free => {}
                    (None, _) if OUTSIDE_SCHEMA.iter().any(|(p, _)| *p == child) => {}
                    (None, _) => {
                        errors.push(format!("{child}: not in the schema (would be pruned)"))
                    }
                }
            }
        }
        (Some("array"), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                validate(&schema["items"], item, &format!("{path}[{i}]"), errors);
            }
        }
        (Some("string"), Value::String(s)) => {
            if let Some(Value::Array(choices)) = schema.get("enum") {
                if !choices.iter().any(|c| c == value) {
                    errors.push(format!("{path}: {s:?} is not one of {choices:?}"));
                }
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                if !Regex::new(pattern).unwrap().is_match(s) {
                    errors.push(format!("{path}: {s:?} does not match {pattern}"));
                }
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                if s.chars().count() as u64 > max {
                    errors.push(format!("{path}: longer than {max}"));
                }
            }
            if schema.get("format").and_then(Value::as_str) == Some("date-time") {
                let rfc3339 =
                    Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
                        .unwrap();
                if !rfc3339.is_match(s) {
                    errors.push(format!("{path}: {s:?} is not an RFC 3339 date-time"));
                }
            }
        }
        (Some("integer"), Value::Number(n)) => {
            let int32 = schema.get("format").and_then(Value::as_str) == Some("int32");
            match n.as_i64() {
                Some(v) if int32 && i32::try_from(v).is_err() => {
                    errors.push(format!("{path}: {v} does not fit int32"));
                }
                Some(_) => {}
                None => errors.push(format!("{path}: {n} is not an integer")),
            }
        }
        (Some("boolean"), Value::Bool(_)) => {}
        (Some(t), v) => errors.push(format!("{path}: expected {t}, got {v}")),
        (None, _) => {}
    }
}

fn check_saved(
    set: &ManifestSet,
    label: &str,
    schemas: &HashMap<(String, String), Value>,
) -> usize {
    let saved: Value = serde_json::from_str(&set.to_json().unwrap()).unwrap();
    let mut checked = 0;
    for item in saved["items"].as_array().unwrap() {
        let key = (
            item["apiVersion"].as_str().unwrap().to_owned(),
            item["kind"].as_str().unwrap().to_owned(),
        );
        let Some(schema) = schemas.get(&key) else {
            continue;
        }; // Secrets, NADs: not CRDs
        let mut errors = Vec::new();
        validate(schema, item, &key.1, &mut errors);
        assert!(
            errors.is_empty(),
            "{label}: saved {} violates its CRD: {errors:#?}",
            key.1
        );
        checked += 1;
    }
    checked
}

#[test]
fn saved_examples_validate_against_their_crds() {
    let schemas = schemas();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/manifests");
    let mut set = ManifestSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            set.add_str(
                &path.display().to_string(),
                &std::fs::read_to_string(&path).unwrap(),
            );
        }
    }
    assert!(set.diagnostics().is_empty(), "{:?}", set.diagnostics());
    assert!(check_saved(&set, "examples", &schemas) >= 8);
}

#[test]
fn saved_guide_examples_validate_against_their_crds() {
    let schemas = schemas();
    let placeholder = Regex::new(r"<([^<>\n]+)>").unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(shared("fixtures/seed-manifests")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".yaml") || name.starts_with("plan-vms-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let text = placeholder.replace_all(&text, |c: &regex::Captures<'_>| match &c[1] {
            "access_mode" => "ReadWriteMany".to_owned(),
            other => other.to_lowercase().replace(['_', ' '], "-"),
        });
        let set = ManifestSet::parse(&name, &text);
        assert!(
            set.diagnostics()
                .iter()
                .all(|d| d.code == DiagnosticCode::NonBreakingSpace),
            "{name}: {:?}",
            set.diagnostics()
        );
        checked += check_saved(&set, &name, &schemas);
    }
    assert!(checked >= 12, "checked {checked}");
}

#[test]
fn the_validator_rejects_what_the_api_server_would() {
    let schemas = schemas();
    let plan = &schemas[&("forklift.konveyor.io/v1beta1".to_owned(), "Plan".to_owned())];
    let mut errors = Vec::new();
    let bad = serde_json::json!({
        "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Plan", "metadata": {"name": "p"},
        "spec": {"targetPowerState": true, "serviceAccount": "Bad_Name", "bogus": 1,
                 "vms": [{"targetPowerState": "maybe"}]}
    });
    validate(plan, &bad, "Plan", &mut errors);
    let text = errors.join("\n");
    for expected in [
        "missing required field targetNamespace",
        "Plan.spec.targetPowerState: expected string",
        "does not match",
        "Plan.spec.bogus: not in the schema",
        "Plan.spec.vms[0].targetPowerState: \"maybe\" is not one of",
    ] {
        assert!(text.contains(expected), "{expected} not in {text}");
    }
}
