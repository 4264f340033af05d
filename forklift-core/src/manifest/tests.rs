use super::*;
use crate::resources::{Plan, Provider, ProviderType, TargetPowerState};

const PROVIDER: &str = "apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {name: vcenter, namespace: mtv}
spec: {type: vsphere, url: 'https://vcenter.example.com/sdk', secret: {name: vcenter, namespace: mtv}}
";

#[test]
fn loads_multi_document_yaml_and_addresses_objects() {
    let text = format!(
        "{PROVIDER}---\napiVersion: forklift.konveyor.io/v1beta1\nkind: Plan\nmetadata: {{name: p, namespace: mtv}}\nspec:\n  targetNamespace: vms\n  vms: [{{id: vm-1, targetPowerState: 'off'}}]\n---\n"
    );
    let set = ManifestSet::parse("a.yaml", &text);
    assert!(set.diagnostics().is_empty(), "{:?}", set.diagnostics());
    assert_eq!(set.len(), 2);
    let provider = set.get_as::<Provider>("mtv", "vcenter").unwrap();
    assert_eq!(provider.spec.type_, Some(ProviderType::VSphere));
    let plan = set.get_as::<Plan>("mtv", "p").unwrap();
    assert_eq!(
        plan.spec.vms[0].target_power_state,
        Some(TargetPowerState::Off)
    );
    assert!(plan.spec.preserve_static_ips);
    assert_eq!(set.all::<Plan>().count(), 1);
    let key = ObjectKey::new("Plan", "mtv", "p");
    assert_eq!(set.origin(&key).unwrap().to_string(), "a.yaml#2");
}

#[test]
fn field_errors_name_source_document_and_path() {
    let text = format!(
        "{PROVIDER}---\napiVersion: forklift.konveyor.io/v1beta1\nkind: Plan\nmetadata: {{name: p}}\nspec:\n  vms:\n  - id: a\n  - id: b\n  - id: c\n  - id: d\n    targetPowerState: maybe\n"
    );
    let set = ManifestSet::parse("plan.yaml", &text);
    let messages: Vec<String> = set.diagnostics().iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            r#"plan.yaml#2: spec.vms[3].targetPowerState: unknown variant "maybe", expected one of on, off, auto"#
        ]
    );
    assert!(set.has_errors());
    assert_eq!(set.len(), 1);
}

#[test]
fn unknown_fields_warn_with_their_path() {
    let text = PROVIDER.replace("spec: {", "spec: {colour: red, ");
    let set = ManifestSet::parse("p.yaml", &text);
    let d = &set.diagnostics()[0];
    assert_eq!(d.code, DiagnosticCode::UnknownField);
    assert_eq!(d.path, "spec.colour");
    assert!(!set.has_errors());
    assert_eq!(set.len(), 1);
}

#[test]
fn unknown_kinds_are_reported_and_kept() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: n}\ndata: {a: b}\n";
    let set = ManifestSet::parse("c.yaml", text);
    assert!(set.has_errors());
    assert_eq!(set.diagnostics()[0].code, DiagnosticCode::UnknownKind);
    assert_eq!(set.len(), 1);
    let Object::Unknown(unknown) = &set.entries()[0].object else {
        panic!("expected an unknown object")
    };
    assert_eq!(unknown.kind, "ConfigMap");
    assert!(set.to_yaml().unwrap().contains("kind: ConfigMap"));
}

#[test]
fn wrong_api_version_is_reported() {
    let text = PROVIDER.replace("v1beta1", "v1alpha1");
    let set = ManifestSet::parse("p.yaml", &text);
    assert_eq!(
        set.diagnostics()[0].code,
        DiagnosticCode::UnsupportedApiVersion
    );
    assert_eq!(set.diagnostics()[0].path, "kind");
}

#[test]
fn json_lists_and_streams_load() {
    let set = ManifestSet::parse("p.yaml", PROVIDER);
    let json = set.to_json().unwrap();
    let again = ManifestSet::parse("p.json", &json);
    assert!(again.diagnostics().is_empty(), "{:?}", again.diagnostics());
    assert_eq!(again.entries()[0].object, set.entries()[0].object);
    assert_eq!(again.entries()[0].origin.path, "items[0]");
    let stream = format!(
        "{0}\n{0}",
        serde_json::to_string(&set.entries()[0].object).unwrap()
    );
    let streamed = ManifestSet::parse("s.json", &stream);
    assert_eq!(streamed.len(), 1);
    assert_eq!(
        streamed.diagnostics()[0].code,
        DiagnosticCode::DuplicateObject
    );
    assert_eq!(streamed.diagnostics()[0].document, Some(2));
}

#[test]
fn syntax_errors_and_non_objects_are_reported() {
    let set = ManifestSet::parse("bad.yaml", "a: [1, 2\n");
    assert_eq!(set.diagnostics()[0].code, DiagnosticCode::Syntax);
    let set = ManifestSet::parse("bad.json", "{\"a\": }");
    assert_eq!(set.diagnostics()[0].code, DiagnosticCode::Syntax);
    let set = ManifestSet::parse("list.yaml", "- a\n- b\n");
    assert_eq!(set.diagnostics()[0].code, DiagnosticCode::NotAnObject);
    let set = ManifestSet::parse("empty.yaml", "# nothing\n---\n");
    assert!(set.diagnostics().is_empty() && set.is_empty());
    let set = ManifestSet::parse("nokind.yaml", "apiVersion: v1\nmetadata: {name: x}\n");
    assert_eq!(set.diagnostics()[0].code, DiagnosticCode::MissingTypeMeta);
    assert_eq!(set.len(), 1, "kept verbatim");
}

#[test]
fn placeholders_are_warned_about() {
    let text = PROVIDER.replace(
        "name: vcenter, namespace: mtv}\nspec",
        "name: vcenter, namespace: <namespace>}\nspec",
    );
    let set = ManifestSet::parse("p.yaml", &text);
    let d = &set.diagnostics()[0];
    assert_eq!(d.code, DiagnosticCode::Placeholder);
    assert_eq!(d.path, "metadata.namespace");
    assert!(d.message.contains("<namespace>"));
}

#[test]
fn yaml_round_trip_is_stable() {
    let set = ManifestSet::parse("p.yaml", PROVIDER);
    let saved = set.to_yaml().unwrap();
    let again = ManifestSet::parse("saved.yaml", &saved);
    assert!(again.diagnostics().is_empty());
    assert_eq!(again.entries()[0].object, set.entries()[0].object);
    assert_eq!(again.to_yaml().unwrap(), saved);
}

#[test]
fn non_breaking_space_indentation_is_read_as_spaces() {
    let text = "apiVersion: v1\nkind: Secret\nmetadata:\n\u{a0} name: s\n\u{a0}\u{a0}\nstringData:\n  a: \"x\u{a0}y\"\n";
    let set = ManifestSet::parse("s.yaml", text);
    assert_eq!(set.len(), 1);
    let d = &set.diagnostics()[0];
    assert_eq!(d.code, DiagnosticCode::NonBreakingSpace);
    assert!(d.message.contains("lines 4, 5 "), "{d}");
    let secret = set.get_as::<crate::resources::Secret>("", "s").unwrap();
    assert_eq!(
        secret.get_str("a").unwrap(),
        "x\u{a0}y",
        "only indentation changes"
    );
}

#[test]
fn provider_secret_is_found_and_credentials_parse() {
    let text = format!(
        "{PROVIDER}---\napiVersion: v1\nkind: Secret\nmetadata: {{name: vcenter, namespace: mtv}}\nstringData: {{user: u, password: p}}\n"
    );
    let set = ManifestSet::parse("p.yaml", &text);
    let provider = set.get_as::<Provider>("mtv", "vcenter").unwrap();
    let secret = set.provider_secret(provider).unwrap();
    let creds =
        crate::credentials::ProviderCredentials::from_provider(provider, Some(secret)).unwrap();
    assert_eq!(
        creds.to_string(),
        "vSphere user u with password, system CAs"
    );
}

#[test]
fn secret_values_never_appear_in_diagnostics() {
    let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  password: 98765\n  token: abc<tok>xyz\n";
    let set = ManifestSet::parse("s.yaml", text);
    assert!(set.has_errors());
    for d in set.diagnostics() {
        let shown = d.to_string();
        assert!(
            !shown.contains("98765") && !shown.contains("<tok>"),
            "{shown}"
        );
    }
    assert_eq!(set.diagnostics().len(), 2, "{:?}", set.diagnostics());
    let bad_base64 =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: 'hunter2!'}\n";
    let set = ManifestSet::parse("s.yaml", bad_base64);
    assert_eq!(set.diagnostics()[0].path, "data.password");
    assert!(!set.diagnostics()[0].to_string().contains("hunter2"));
}

#[test]
fn kubectl_yaml_quotes_what_yaml_1_1_would_misread() {
    let value = serde_json::json!({"targetPowerState": "off", "answer": "yes", "name": "web"});
    let text = super::to_kubectl_yaml(&value).unwrap();
    assert!(text.contains("targetPowerState: \"off\""), "{text}");
    assert!(text.contains("answer: \"yes\""), "{text}");
    assert!(text.contains("name: web"), "{text}");
    let back: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(back, value);
}

#[test]
fn names_that_are_not_kubernetes_names_are_refused() {
    let plan = |meta: &str| {
        format!(
            "apiVersion: forklift.konveyor.io/v1beta1\nkind: Plan\nmetadata: {meta}\nspec: {{targetNamespace: vms}}\n"
        )
    };
    for (meta, field) in [
        ("{name: ../../escape, namespace: mtv}", "metadata.name"),
        ("{name: p, namespace: /etc}", "metadata.namespace"),
        ("{name: p, namespace: ..}", "metadata.namespace"),
        ("{name: p, namespace: a.b}", "metadata.namespace"),
        ("{name: Upper, namespace: mtv}", "metadata.name"),
        (
            "{generateName: ../p-, namespace: mtv}",
            "metadata.generateName",
        ),
    ] {
        let set = ManifestSet::parse("plan.yaml", &plan(meta));
        assert!(set.is_empty(), "{meta} must not load");
        let d = &set.diagnostics()[0];
        assert_eq!(
            (d.code, d.source.as_str(), d.document, d.path.as_str()),
            (DiagnosticCode::InvalidName, "plan.yaml", Some(1), field),
            "{meta}: {d}"
        );
    }
    // The longest names the API server accepts load; one more character does not.
    let longest = format!(
        "{{name: {}, namespace: {}}}",
        "n".repeat(crate::naming::DNS1123_SUBDOMAIN_MAX_LENGTH),
        "s".repeat(crate::naming::DNS1123_LABEL_MAX_LENGTH)
    );
    let set = ManifestSet::parse("plan.yaml", &plan(&longest));
    assert!(set.diagnostics().is_empty(), "{:?}", set.diagnostics());
    for too_long in [
        format!(
            "{{name: {}, namespace: s}}",
            "n".repeat(crate::naming::DNS1123_SUBDOMAIN_MAX_LENGTH + 1)
        ),
        format!(
            "{{name: n, namespace: {}}}",
            "s".repeat(crate::naming::DNS1123_LABEL_MAX_LENGTH + 1)
        ),
    ] {
        let set = ManifestSet::parse("plan.yaml", &plan(&too_long));
        assert_eq!(set.diagnostics()[0].code, DiagnosticCode::InvalidName);
        assert!(
            set.diagnostics()[0]
                .message
                .contains("must be no more than")
        );
    }
    let set = ManifestSet::parse("p.yaml", &plan("{generateName: plan-, namespace: mtv}"));
    assert!(set.diagnostics().is_empty(), "{:?}", set.diagnostics());
    // The user guide's placeholders load with their own warning, as other placeholders do;
    // one holding a path does not.
    let set = ManifestSet::parse("p.yaml", &plan("{name: <plan>, namespace: <namespace>}"));
    assert!(!set.has_errors(), "{:?}", set.diagnostics());
    assert_eq!(set.diagnostics()[0].code, DiagnosticCode::Placeholder);
    let set = ManifestSet::parse("p.yaml", &plan("{name: <a/../../b>, namespace: mtv}"));
    assert!(set.is_empty());
    assert!(
        set.diagnostics()
            .iter()
            .any(|d| d.code == DiagnosticCode::InvalidName)
    );
}

#[test]
fn duplicate_mapping_keys_are_refused_with_document_and_key() {
    let text = format!(
        "{PROVIDER}---\napiVersion: forklift.konveyor.io/v1beta1\nkind: Plan\nmetadata:\n  name: a\n  namespace: mtv\n  name: b\nspec: {{targetNamespace: vms}}\n"
    );
    let set = ManifestSet::parse("dup.yaml", &text);
    assert_eq!(set.len(), 1, "only the Provider loads");
    let messages: Vec<String> = set.diagnostics().iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "dup.yaml#2: metadata.name: Duplicate mapping key \"name\"; the API server refuses such objects, so the document is not loaded"
        ]
    );
    assert_eq!(set.diagnostics()[0].code, DiagnosticCode::DuplicateKey);
    let json = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "1", "k": "2"}}"#;
    let set = ManifestSet::parse("dup.json", json);
    assert!(set.is_empty());
    assert_eq!(set.diagnostics()[0].path, "data.k");
}

#[test]
fn deep_flow_nesting_is_refused_before_parsing() {
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {}\n",
        "[".repeat(200_000)
    );
    let started = std::time::Instant::now();
    let set = ManifestSet::parse("deep.yaml", &text);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert!(set.is_empty());
    let d = &set.diagnostics()[0];
    assert_eq!(d.code, DiagnosticCode::NestingTooDeep);
    assert_eq!(
        d.to_string(),
        format!(
            "deep.yaml: Flow collections ([...], {{...}}) nest deeper than {MAX_FLOW_NESTING} levels at line 4, column {}; the text is not parsed",
            7 + MAX_FLOW_NESTING
        )
    );
    // Block nesting is left to the parser's own (linear) recursion limit.
    let block = format!("a:\n{}x\n", "- ".repeat(MAX_PARSER_DEPTH + 1));
    let set = ManifestSet::parse("block.yaml", &block);
    assert_eq!(set.diagnostics()[0].code, DiagnosticCode::Syntax);
    assert!(set.diagnostics()[0].message.contains("recursion limit"));
}
