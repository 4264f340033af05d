//! Walks the openAPIV3Schema of every CRD in `../shared/reference/crds/` and proves every
//! property path is represented in our types.
//!
//! For each CRD we synthesise a document that sets *every* property of the schema (spec and
//! status, nested arrays and maps included) to a non-default value, load it, and require:
//! no unknown-field warning (the types know every path), no error, and saving it back
//! gives exactly the synthesised document (no field is lost or renamed on the way).

use forklift_core::manifest::{DiagnosticCode, ManifestSet};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

/// Deliberate omissions: schema paths our types do not model, with the reason.
/// (Empty today: every property of every CRD is typed.)
const OMITTED: &[(&str, &str)] = &[];

/// CRD string properties that our types model as enums although the schema leaves them
/// free-form; the synthesised value must be one of our spellings.
fn typed_string_override(path: &str) -> Option<&'static str> {
    let last = path.rsplit('.').next().unwrap_or(path);
    Some(match last {
        "category" => "Warn",
        "status" if path.contains("conditions[]") => "False",
        "step" => "PostHook",
        "restorePowerState" => "Off",
        "type" if path == "Provider.spec.type" => "ovirt",
        "vlan" => "100",
        _ => return None,
    })
}

fn crd_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/crds"
    ))
}

/// A value for a schema node that differs from its default.
fn synthesize(schema: &Value, path: &str, paths: &mut Vec<String>) -> Value {
    paths.push(path.to_owned());
    if let Some(text) = typed_string_override(path) {
        return json!(text);
    }
    let default = schema.get("default");
    if let Some(Value::Array(choices)) = schema.get("enum") {
        let pick = choices
            .iter()
            .find(|c| Some(*c) != default)
            .unwrap_or(&choices[0]);
        return pick.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") if schema.get("format").and_then(Value::as_str) == Some("date-time") => {
            json!("2026-01-02T03:04:05Z")
        }
        Some("string") => json!(format!("v-{}", path.rsplit('.').next().unwrap_or(path))),
        Some("integer") => json!(default.and_then(Value::as_i64).unwrap_or(0) + 7),
        Some("boolean") => json!(!default.and_then(Value::as_bool).unwrap_or(false)),
        Some("array") => {
            let items = schema.get("items").expect("array items");
            json!([synthesize(items, &format!("{path}[]"), paths)])
        }
        Some("object") | None => {
            let mut out = Map::new();
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (name, prop) in props {
                    out.insert(
                        name.clone(),
                        synthesize(prop, &format!("{path}.{name}"), paths),
                    );
                }
            } else if let Some(extra @ Value::Object(_)) = schema.get("additionalProperties") {
                out.insert(
                    "k1".into(),
                    synthesize(extra, &format!("{path}{{}}"), paths),
                );
            } else if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true)) {
                out.insert("anything".into(), json!({"goes": ["here", 1]}));
            }
            Value::Object(out)
        }
        Some(other) => panic!("{path}: unexpected schema type {other}"),
    }
}

#[test]
fn every_crd_property_is_represented_in_our_types() {
    let mut crds: Vec<PathBuf> = std::fs::read_dir(crd_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    crds.sort();
    assert_eq!(
        crds.len(),
        8,
        "Provider, NetworkMap, StorageMap, Plan, Migration, Hook, Host, ForkliftController"
    );
    let mut total_paths = 0;
    for file in crds {
        let crd: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_owned();
        let group = crd["spec"]["group"].as_str().unwrap();
        for version in crd["spec"]["versions"].as_array().unwrap() {
            let schema = &version["schema"]["openAPIV3Schema"];
            let mut paths = Vec::new();
            let mut doc = synthesize(schema, &kind, &mut paths);
            total_paths += paths.len();
            let obj = doc.as_object_mut().unwrap();
            obj.insert(
                "apiVersion".into(),
                json!(format!("{group}/{}", version["name"].as_str().unwrap())),
            );
            obj.insert("kind".into(), json!(kind));
            obj.insert("metadata".into(), json!({"name": "n", "namespace": "ns"}));

            let set = ManifestSet::parse(&kind, &doc.to_string());
            let unknown: Vec<String> = set
                .diagnostics()
                .iter()
                .filter(|d| d.code == DiagnosticCode::UnknownField)
                .map(|d| d.path.clone())
                .filter(|p| !OMITTED.iter().any(|(omitted, _)| p.starts_with(omitted)))
                .collect();
            assert!(
                unknown.is_empty(),
                "{kind}: paths missing from our types: {unknown:#?}"
            );
            let errors: Vec<String> = set
                .diagnostics()
                .iter()
                .filter(|d| d.is_error())
                .map(ToString::to_string)
                .collect();
            assert!(errors.is_empty(), "{kind}: {errors:#?}");
            assert_eq!(set.len(), 1, "{kind}");

            // Every synthesised value survives saving, unchanged and under its own name.
            let saved: Value = serde_json::from_str(&set.to_json().unwrap()).unwrap();
            let saved = &saved["items"][0];
            if saved != &doc {
                let mut diffs = Vec::new();
                diff(&doc, saved, &kind, &mut diffs);
                panic!("{kind}: saving changed {diffs:#?}");
            }
            // And the YAML form loads back to the same object.
            let again = ManifestSet::parse("saved.yaml", &set.to_yaml().unwrap());
            assert_eq!(again.entries()[0].object, set.entries()[0].object, "{kind}");
        }
    }
    assert!(total_paths > 700, "walked {total_paths} schema paths");
}

fn diff(expected: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                match a.get(k) {
                    Some(av) => diff(v, av, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: dropped")),
                }
            }
            for k in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{path}.{k}: added"));
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                diff(ev, av, &format!("{path}[{i}]"), out);
            }
        }
        _ if expected != actual => out.push(format!("{path}: {expected} became {actual}")),
        _ => {}
    }
}
