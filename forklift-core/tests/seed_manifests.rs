//! Every YAML example of the user guide (`../shared/fixtures/seed-manifests/`) loads once its
//! `<placeholders>` are substituted, and raw files whose placeholder sits in an enum field
//! fail with an error naming that field.

use forklift_core::manifest::{DiagnosticCode, ManifestSet};
use forklift_core::resources::{
    AccessMode, ForkliftController, NetworkAttachmentDefinition, Plan, Provider, ProviderType,
    Secret, StorageMap, TargetPowerState,
};
use regex::Regex;
use std::path::PathBuf;

fn seed_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/seed-manifests"
    ))
}

fn seed_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(seed_dir())
        .expect("seed manifests directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the guide's examples, found {}",
        files.len()
    );
    files
}

/// A real value for each placeholder: enum placeholders get a valid spelling, IPs an
/// address, everything else a DNS-1123 name derived from the placeholder text.
fn substitute(text: &str) -> String {
    let placeholder = Regex::new(r"<([^<>\n]+)>").unwrap();
    placeholder
        .replace_all(text, |caps: &regex::Captures<'_>| {
            let inner = &caps[1];
            match inner {
                "access_mode" => "ReadWriteOnce".to_owned(),
                "IP address" => "192.0.2.1".to_owned(),
                "namespace" => "openshift-mtv".to_owned(),
                other => other.to_lowercase().replace(['_', ' '], "-"),
            }
        })
        .into_owned()
}

/// The `plan-vms-*.yaml` files are `spec.vms` fragments: wrap them into a Plan.
fn as_manifest(name: &str, text: &str) -> String {
    if !name.starts_with("plan-vms-") {
        return text.to_owned();
    }
    let indented: String = text.lines().map(|l| format!("  {l}\n")).collect();
    format!(
        "apiVersion: forklift.konveyor.io/v1beta1\nkind: Plan\nmetadata:\n  name: fragment\n  namespace: openshift-mtv\nspec:\n  targetNamespace: vms\n{indented}"
    )
}

#[test]
fn every_seed_manifest_loads_after_substitution() {
    for (name, text) in seed_files() {
        let set = ManifestSet::parse(&name, &substitute(&as_manifest(&name, &text)));
        // One guide example was copied with non-breaking spaces as indentation; the loader
        // reads them as spaces and says so.
        let findings: Vec<String> = set
            .diagnostics()
            .iter()
            .filter(|d| d.code != DiagnosticCode::NonBreakingSpace)
            .map(ToString::to_string)
            .collect();
        assert!(findings.is_empty(), "{name}: {findings:#?}");
        assert_eq!(
            set.diagnostics().len() - findings.len(),
            usize::from(text.contains('\u{a0}')),
            "{name}"
        );
        assert_eq!(set.len(), 1, "{name}");
        assert!(set.entries()[0].object.is_known(), "{name}");
        // Saving and loading again gives the same object.
        let again = ManifestSet::parse("saved.yaml", &set.to_yaml().unwrap());
        assert!(
            again.diagnostics().is_empty(),
            "{name}: {:?}",
            again.diagnostics()
        );
        assert_eq!(again.entries()[0].object, set.entries()[0].object, "{name}");
    }
}

#[test]
fn seed_values_are_typed_as_the_guide_means_them() {
    let load = |name: &str| {
        let text = std::fs::read_to_string(seed_dir().join(name)).unwrap();
        ManifestSet::parse(name, &substitute(&as_manifest(name, &text)))
    };
    let set = load("forkliftcontroller-settings.yaml");
    let controller = set.all::<ForkliftController>().next().unwrap();
    assert_eq!(controller.spec.controller_max_vm_inflight, 20);
    assert!(controller.spec.feature_copy_offload.as_bool());
    assert!(
        !controller
            .spec
            .controller_retain_precopy_importer_pods
            .as_bool()
    );
    assert_eq!(controller.spec.olm_managed, Some(true));

    let set = load("plan-vms-power-state.yaml");
    let plan = set.all::<Plan>().next().unwrap();
    let states: Vec<_> = plan
        .spec
        .vms
        .iter()
        .map(|vm| vm.target_power_state)
        .collect();
    assert_eq!(
        states,
        [
            Some(TargetPowerState::Off),
            Some(TargetPowerState::On),
            Some(TargetPowerState::Auto)
        ]
    );
    let set = load("plan-vms-encryption.yaml");
    let plan = set.all::<Plan>().next().unwrap();
    assert!(plan.spec.vms[0].nbde_clevis);
    assert_eq!(
        plan.spec.vms[1].luks.as_ref().unwrap().name,
        "test-secret-1"
    );

    let set = load("provider-ova-appliance.yaml");
    let provider = set.all::<Provider>().next().unwrap();
    assert_eq!(provider.spec.type_, Some(ProviderType::Ova));
    assert_eq!(provider.setting("applianceManagement"), Some("true"));

    let set = load("storagemap-vsphere.yaml");
    let map = set.all::<StorageMap>().next().unwrap();
    assert_eq!(
        map.spec.map[0].destination.access_mode,
        Some(AccessMode::ReadWriteOnce)
    );

    let set = load("openstack-secret-token-userid.yaml");
    let secret = set.all::<Secret>().next().unwrap();
    assert_eq!(secret.get_str("authType").unwrap(), "token");

    let set = load("nad-transfer-route.yaml");
    let nad = set.all::<NetworkAttachmentDefinition>().next().unwrap();
    assert_eq!(nad.route(), Some("192.0.2.1"));
}

#[test]
fn raw_placeholders_in_enum_fields_fail_naming_the_field() {
    let mut enum_failures = 0;
    let placeholder = Regex::new(r"<[^<>\n]+>").unwrap();
    for (name, text) in seed_files() {
        let set = ManifestSet::parse(&name, &as_manifest(&name, &text));
        let errors: Vec<_> = set.diagnostics().iter().filter(|d| d.is_error()).collect();
        if text.contains("accessMode: <access_mode>") {
            assert_eq!(errors.len(), 1, "{name}: {errors:?}");
            let error = errors[0];
            assert_eq!(error.code, DiagnosticCode::InvalidField);
            assert_eq!(error.path, "spec.map[0].destination.accessMode");
            assert_eq!(
                error.to_string(),
                format!(
                    r#"{name}#1: spec.map[0].destination.accessMode: unknown variant "<access_mode>", expected one of ReadWriteOnce, ReadWriteMany, ReadOnlyMany"#
                )
            );
            enum_failures += 1;
        } else {
            // Placeholders in free-text fields load, each with a warning at its path.
            assert!(errors.is_empty(), "{name}: {errors:?}");
            let placeholders = placeholder.find_iter(&text).count();
            let warned = set
                .diagnostics()
                .iter()
                .filter(|d| d.code == DiagnosticCode::Placeholder)
                .count();
            assert!(warned <= placeholders, "{name}");
            assert_eq!(warned > 0, placeholders > 0, "{name}");
        }
    }
    assert_eq!(enum_failures, 5, "the five storage maps of the guide");
}
