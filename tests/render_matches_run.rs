//! `forklift render --json` is the plan `forklift migrate` executes: for a plan that runs
//! (cold, raw copy) both list the same phases and status steps for every VM; for plans this
//! engine cannot run (guest conversion, warm) both refuse with the same Critical condition,
//! and the run touches nothing.

use std::path::Path;
use std::process::Command;

use forklift::demo::catalog::{build_catalog, demo_vms};
use forklift::demo::manifests::demo_manifests;
use serde_json::Value;

fn forklift(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(args)
        .output()
        .expect("run forklift");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The demo's OVA catalog, its manifests with `edit` applied, and the inventory the CLI
/// collects from it.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(edit: impl Fn(String) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let catalog = dir.path().join("catalog");
        build_catalog(&catalog, &dir.path().join("work"), &demo_vms()).unwrap();
        let names: Vec<String> = demo_vms().iter().map(|v| v.name.clone()).collect();
        let manifests = edit(demo_manifests(&catalog, &names));
        std::fs::create_dir(dir.path().join("manifests")).unwrap();
        std::fs::write(dir.path().join("manifests/plan.yaml"), manifests).unwrap();
        let setup = Self { dir };
        let (code, _, err) = forklift(&[
            "inventory",
            "--manifests",
            &setup.path("manifests"),
            "--provider",
            "ova-demo",
            "--output-file",
            &setup.path("inventory.json"),
        ]);
        assert_eq!(code, Some(0), "{err}");
        setup
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn render(&self, extra: &[&str]) -> (Option<i32>, Value) {
        let manifests = self.path("manifests");
        let inventory = self.path("inventory.json");
        let mut args = vec![
            "render",
            "--json",
            "--manifests",
            &manifests,
            "--inventory",
            &inventory,
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = forklift(&args);
        (
            code,
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}")),
        )
    }

    fn migrate(&self) -> (Option<i32>, Value) {
        let destination = format!("local:{}", self.path("out"));
        let (code, out, err) = forklift(&[
            "migrate",
            "--manifests",
            &self.path("manifests"),
            "--destination",
            &destination,
            "-o",
            "json",
        ]);
        (
            code,
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}")),
        )
    }
}

fn strings(values: &Value, key: Option<&str>) -> Vec<String> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| match key {
            Some(k) => v[k].as_str().unwrap().to_owned(),
            None => v.as_str().unwrap().to_owned(),
        })
        .collect()
}

fn condition<'a>(conditions: &'a Value, type_: &str) -> Option<&'a Value> {
    conditions
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
}

#[test]
fn a_cold_raw_copy_plan_runs_the_phases_render_lists() {
    let setup = Setup::new(|m| m);
    let (code, spec) = setup.render(&[]);
    assert_eq!(code, Some(0), "{spec:#}");
    let (code, report) = setup.migrate();
    assert_eq!(code, Some(0), "{report:#}");
    let status_text = std::fs::read_to_string(report["statusPath"].as_str().unwrap()).unwrap();
    let status: Value = serde_yaml_ng::from_str(&status_text).unwrap();
    let status_vms = &status["status"]["migration"]["vms"];
    for target in spec["vms"].as_array().unwrap() {
        let id = target["sourceId"].as_str().unwrap();
        let ran = report["vms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap();
        assert_eq!(ran["outcome"], "succeeded");
        assert_eq!(
            strings(&ran["phases"], Some("phase")),
            strings(&target["phases"], None),
            "{id}: the run's phases are render's"
        );
        let recorded = status_vms
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap();
        assert_eq!(
            strings(&recorded["pipeline"], Some("name")),
            strings(&target["steps"], Some("step")),
            "{id}: status lists render's steps"
        );
        // Raw copy: conversion is listed as skipped, with the reason, and never claimed.
        let conversion = recorded["pipeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "ImageConversion")
            .unwrap();
        assert_eq!(conversion["phase"], "Skipped");
        assert!(!strings(&target["phases"], None).contains(&"ConvertGuest".to_owned()));
    }
}

/// Render and the run both refuse with `expected`; the run writes nothing.
fn refused(setup: &Setup, expected: &str) {
    let (code, spec) = setup.render(&[]);
    assert_eq!(code, Some(1), "render exits 1 on a blocker");
    let shown = condition(&spec["conditions"], expected)
        .unwrap_or_else(|| panic!("{expected} not in {:#}", spec["conditions"]));
    assert_eq!(shown["category"], "Critical");
    let (code, refusal) = setup.migrate();
    assert_eq!(code, Some(1));
    assert_eq!(refusal["ready"], false);
    assert_eq!(condition(&refusal["conditions"], expected), Some(shown));
    assert!(
        !Path::new(&setup.path("out")).exists(),
        "a refused plan touches nothing"
    );
}

#[test]
fn a_plan_that_needs_conversion_is_refused_by_render_and_run_alike() {
    let setup = Setup::new(|m| {
        m.replace("  skipGuestConversion: true\n", "")
            .replace("  useCompatibilityMode: true\n", "")
    });
    refused(&setup, "GuestConversionNotAvailable");
    // As MTV's controller would run it, virt-v2v converts and copies: no blocker.
    let (code, spec) = setup.render(&["--as-mtv"]);
    assert_eq!(code, Some(0), "{spec:#}");
    let phases = strings(&spec["vms"][0]["phases"], None);
    assert!(phases.contains(&"ConvertGuest".to_owned()), "{phases:?}");
    assert!(
        phases.contains(&"CopyDisksVirtV2V".to_owned()),
        "{phases:?}"
    );
}

#[test]
fn a_warm_plan_is_refused_by_render_and_run_alike_never_run_cold() {
    let setup = Setup::new(|m| m.replace("  warm: false\n", "  warm: true\n"));
    refused(&setup, "WarmMigrationNotAvailable");
    let (_, spec) = setup.render(&[]);
    assert_eq!(spec["vms"][0]["itinerary"], "Warm");
}
