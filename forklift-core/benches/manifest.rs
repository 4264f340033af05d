//! Manifest parsing and saving throughput: 200 Plans with 25 VMs each (about 1 MB of YAML).
//!
//! `scripts/bench-manifests.py` runs PyYAML's C loader on the same text for a ratio.

use criterion::{Criterion, Throughput, criterion_main};
use forklift_core::manifest::ManifestSet;
use std::hint::black_box;

/// The benchmark corpus (also written by `FORKLIFT_BENCH_CORPUS=path` for the comparison).
fn corpus() -> String {
    let mut text = String::new();
    for p in 0..200 {
        text.push_str(&format!(
            "---\napiVersion: forklift.konveyor.io/v1beta1\nkind: Plan\nmetadata:\n  name: plan-{p}\n  namespace: openshift-mtv\n  labels: {{team: web, tier: \"{p}\"}}\nspec:\n  targetNamespace: vms\n  type: warm\n  provider:\n    source: {{name: vsphere, namespace: openshift-mtv}}\n    destination: {{name: host, namespace: openshift-mtv}}\n  map:\n    network: {{name: net, namespace: openshift-mtv}}\n    storage: {{name: sto, namespace: openshift-mtv}}\n  vms:\n"
        ));
        for v in 0..25 {
            text.push_str(&format!(
                "  - id: vm-{p}-{v}\n    name: web-{p}-{v}\n    targetPowerState: \"on\"\n    hooks:\n    - step: PreHook\n      hook: {{name: pre, namespace: openshift-mtv}}\n"
            ));
        }
    }
    text
}

fn bench(c: &mut Criterion) {
    let text = corpus();
    if let Ok(path) = std::env::var("FORKLIFT_BENCH_CORPUS") {
        std::fs::write(path, &text).expect("write corpus");
    }
    let set = ManifestSet::parse("bench.yaml", &text);
    assert!(set.diagnostics().is_empty() && set.len() == 200);
    let mut group = c.benchmark_group("manifest");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("parse_yaml_200_plans", |b| {
        b.iter(|| ManifestSet::parse("bench.yaml", black_box(&text)))
    });
    group.bench_function("save_yaml_200_plans", |b| {
        b.iter(|| black_box(&set).to_yaml())
    });
    let json = set.to_json().unwrap_or_default();
    group.bench_function("parse_json_200_plans", |b| {
        b.iter(|| ManifestSet::parse("bench.json", black_box(&json)))
    });
    group.finish();
}

// The macros generate undocumented items; benches are not public API.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
