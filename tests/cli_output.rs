//! kubectl's output conventions on every verb that prints objects: the real binary, each
//! `-o` format parsed (JSON by serde_json, YAML by serde_yaml_ng), the table's header checked,
//! and every JSON key camelCase.

mod common;

use std::process::Output;

use common::{demo, forklift, text};
use serde_json::Value;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/forklift-core/tests/fixtures/render"
);

/// What one format must look like: the table's first header cells, the wide table's extra
/// header cell, and the prefix of every `-o name` line.
struct Expect<'a> {
    header: &'a [&'a str],
    wide: &'a str,
    name_prefixes: &'a [&'a str],
}

fn stdout(out: &Output, codes: &[i32]) -> String {
    assert!(
        out.status.code().is_some_and(|c| codes.contains(&c)),
        "{out:?}"
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Keys of maps whose keys are data, not field names (labels, environment variables...).
const FREE_FORM: &[&str] = &[
    "labels",
    "annotations",
    "conversionEnv",
    "data",
    "stringData",
];

/// Every object key under `value` is camelCase (no `_`, no leading capital), data maps aside.
fn assert_camel_case(value: &Value, path: &str) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                assert!(
                    !key.contains('_') && !key.starts_with(char::is_uppercase),
                    "{path}.{key} is not camelCase"
                );
                if !FREE_FORM.contains(&key.as_str()) {
                    assert_camel_case(child, &format!("{path}.{key}"));
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| assert_camel_case(item, &format!("{path}[]"))),
        _ => {}
    }
}

/// Runs `args` with each `-o` format (and none) and checks what each prints.
fn check_formats(verb: &str, args: &[&str], codes: &[i32], expect: &Expect<'_>) -> Value {
    let run = |format: Option<&str>| {
        let mut all = args.to_vec();
        if let Some(format) = format {
            all.extend(["-o", format]);
        }
        stdout(&forklift(&all), codes)
    };
    let table = run(None);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert!(
        header.starts_with(expect.header),
        "{verb}: the default is a table with {:?}:\n{table}",
        expect.header
    );
    // `-o table` is the default spelled out (rows may differ: a copy's rate, say).
    assert_eq!(
        run(Some("table")).lines().next(),
        table.lines().next(),
        "{verb}"
    );
    let wide = run(Some("wide"));
    let wide_header = wide.lines().next().unwrap_or_default();
    assert!(
        wide_header
            .starts_with(&table.lines().next().unwrap_or_default()[..expect.header[0].len()])
            && wide_header.split_whitespace().any(|c| c == expect.wide),
        "{verb}: -o wide adds {}:\n{wide}",
        expect.wide
    );
    let json: Value = serde_json::from_str(&run(Some("json")))
        .unwrap_or_else(|e| panic!("{verb}: -o json does not parse: {e}"));
    assert_camel_case(&json, verb);
    let yaml = run(Some("yaml"));
    let documents: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&yaml)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .collect();
    assert!(!documents.is_empty(), "{verb}: -o yaml printed nothing");
    let names = run(Some("name"));
    assert!(!names.is_empty(), "{verb}: -o name printed nothing");
    for line in names.lines() {
        assert!(
            expect.name_prefixes.iter().any(|p| line.starts_with(p)),
            "{verb}: -o name line {line:?}"
        );
    }
    json
}

#[test]
fn validate_render_schedule_and_manifests_check_print_every_format() {
    let (plan, source, destination) = (
        format!("{FIXTURES}/vsphere-plan.yaml"),
        format!("{FIXTURES}/vsphere-source.json"),
        format!("{FIXTURES}/destination.json"),
    );
    let inputs = [
        "-f",
        &plan,
        "--inventory",
        &source,
        "--destination",
        &destination,
    ];
    // vm-404 is missing from the inventory: validate and render exit 1, and still print.
    let args = [&["validate"][..], &inputs].concat();
    let report = check_formats(
        "validate",
        &args,
        &[1],
        &Expect {
            header: &["TYPE", "CATEGORY", "REASON", "MESSAGE"],
            wide: "ITEMS",
            name_prefixes: &["condition/"],
        },
    );
    assert_eq!(report["ready"], false);

    let args = [&["render"][..], &inputs].concat();
    let list = check_formats(
        "render",
        &args,
        &[1],
        &Expect {
            header: &["VM", "TARGET", "DISK", "CLAIM"],
            wide: "SOURCE",
            name_prefixes: &["datavolume.cdi.kubevirt.io/", "virtualmachine.kubevirt.io/"],
        },
    );
    // The objects as kubectl prints several: one v1 List.
    assert_eq!(
        (list["apiVersion"].as_str(), list["kind"].as_str()),
        (Some("v1"), Some("List"))
    );
    assert_eq!(list["items"].as_array().map(Vec::len), Some(5), "{list}");

    let args = [&["schedule"][..], &inputs].concat();
    let schedule = check_formats(
        "schedule",
        &args,
        &[0],
        &Expect {
            header: &["ORDER", "VM", "HOST"],
            wide: "SIZE",
            name_prefixes: &["vm/", "disk/"],
        },
    );
    assert!(schedule["totalSeconds"].as_u64().is_some(), "{schedule}");

    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/manifests");
    let list = check_formats(
        "manifests check",
        &["manifests", "check", "-f", examples],
        &[0],
        &Expect {
            header: &["STATUS", "KIND", "NAME", "ORIGIN"],
            wide: "APIVERSION",
            name_prefixes: &[
                "plan.forklift.konveyor.io/",
                "provider.forklift.konveyor.io/",
                "networkmap.forklift.konveyor.io/",
                "storagemap.forklift.konveyor.io/",
                "migration.forklift.konveyor.io/",
                "networkattachmentdefinition.k8s.cni.cncf.io/",
                "secret/",
            ],
        },
    );
    assert_eq!(list["kind"], "List", "{list}");
}

#[test]
fn inventory_migrate_and_copy_print_every_format() {
    let manifests = demo().join("manifests.yaml");
    let m = text(&manifests);
    let inventory = check_formats(
        "inventory",
        &["inventory", "-f", m, "--provider", "ova-demo"],
        &[0],
        &Expect {
            header: &["NAME", "ID", "POWER"],
            wide: "GUEST-OS",
            name_prefixes: &["vm/"],
        },
    );
    // --output-file writes the JSON validate reads, and nothing goes to stdout.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("inventory.json");
    let out = forklift(&[
        "inventory",
        "-f",
        m,
        "--provider",
        "ova-demo",
        "--output-file",
        text(&file),
    ]);
    assert_eq!(stdout(&out, &[0]), "");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, inventory);

    // The first run migrates; the others find every VM migrated already (skipped), fast.
    let destination = format!("local:{}", tmp.path().join("out").display());
    let migrate = ["migrate", "-f", m, "--destination", &destination];
    let first: Value = serde_json::from_str(&stdout(
        &forklift(&[&migrate[..], &["-o", "json"]].concat()),
        &[0],
    ))
    .unwrap();
    assert!(
        first["bytesWritten"].as_u64().is_some_and(|b| b > 0),
        "{first}"
    );
    assert_camel_case(&first, "migrate");
    check_formats(
        "migrate",
        &migrate,
        &[0],
        &Expect {
            header: &["VM", "TARGET", "RESULT", "DISKS"],
            wide: "NAMESPACE",
            name_prefixes: &["virtualmachine.kubevirt.io/"],
        },
    );

    let src = tmp.path().join("src.raw");
    std::fs::write(&src, vec![7u8; 1 << 20]).unwrap();
    let dst = tmp.path().join("dst.raw");
    let summary = check_formats(
        "copy",
        &["copy", text(&src), text(&dst)],
        &[0],
        &Expect {
            header: &["SOURCE", "DESTINATION", "SIZE", "WRITTEN"],
            wide: "REQUEST-SIZE",
            name_prefixes: &[text(&dst)],
        },
    );
    assert_eq!(summary["bytesTotal"], 1 << 20);
    assert_eq!(summary["source"], text(&src));
}
