//! Rendering speed of naming templates: MTV's default PVC template, a complex one and a
//! network template (the cases of `benches/templates-cases.jsonl`, shared with
//! `benches/templates-vs-go.sh`, which compares with Go's text/template).
#![allow(missing_docs)] // criterion_group! generates undocumented items
use criterion::{Criterion, criterion_group, criterion_main};
use forklift::core::naming::{
    NetworkNameTemplateData, PvcNameTemplateData, VolumeNameTemplateData,
};
use forklift::core::template::{Template, TemplateData};
use std::hint::black_box;

#[derive(serde::Deserialize)]
struct BenchCase {
    name: String,
    kind: String,
    template: String,
    data: serde_json::Value,
}

fn cases() -> Vec<(BenchCase, Box<dyn TemplateData>)> {
    include_str!("templates-cases.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let case: BenchCase = serde_json::from_str(l).expect("bench case");
            let data: Box<dyn TemplateData> = match case.kind.as_str() {
                "pvc" => Box::new(
                    serde_json::from_value::<PvcNameTemplateData>(case.data.clone())
                        .expect("pvc data"),
                ),
                "volume" => Box::new(
                    serde_json::from_value::<VolumeNameTemplateData>(case.data.clone())
                        .expect("volume data"),
                ),
                _ => Box::new(
                    serde_json::from_value::<NetworkNameTemplateData>(case.data.clone())
                        .expect("network data"),
                ),
            };
            (case, data)
        })
        .collect()
}

fn templates(c: &mut Criterion) {
    let mut group = c.benchmark_group("templates");
    for (case, data) in cases() {
        let template = Template::parse(&case.template).expect("bench template parses");
        group.bench_function(format!("execute/{}", case.name), |b| {
            b.iter(|| template.execute(black_box(data.as_ref())).expect("renders"))
        });
        group.bench_function(format!("parse_execute/{}", case.name), |b| {
            b.iter(|| {
                Template::parse(black_box(&case.template))
                    .expect("parses")
                    .execute(data.as_ref())
                    .expect("renders")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, templates);
criterion_main!(benches);
