//! Dependencies between forklift-core's layers go one way: `manifest` (loading manifests,
//! selecting a plan and the objects it references) sits below `validation` and `render`, which
//! build their inputs from a `PlanBundle`. An import the other way would bring the
//! `manifest ↔ render` cycle back, so this test reads the sources and fails on one.

use std::fs;
use std::path::{Path, PathBuf};

/// Layers `manifest` must not name.
const UPPER_LAYERS: [&str; 2] = ["render", "validation"];

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The upper layer `line` refers to, if any: a `crate::render`-style path anywhere on the line
/// (code, `use` or doc link), or `render`/`validation` inside a grouped `use crate::{..}`.
fn upper_layer_named(line: &str) -> Option<&'static str> {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    UPPER_LAYERS.into_iter().find(|layer| {
        let path = format!("crate::{layer}");
        let grouped = compact.starts_with("usecrate::{")
            && compact
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == *layer);
        compact.match_indices(&path).any(|(at, _)| {
            !compact[at + path.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        }) || grouped
    })
}

#[test]
fn the_detector_sees_imports_and_paths_of_upper_layers() {
    assert_eq!(
        upper_layer_named("use crate::render::{RenderInput};"),
        Some("render")
    );
    assert_eq!(
        upper_layer_named("    crate::validation::Settings::default()"),
        Some("validation")
    );
    assert_eq!(
        upper_layer_named("use crate::validation;"),
        Some("validation")
    );
    assert_eq!(
        upper_layer_named("use crate::{render, resources::Plan};"),
        Some("render")
    );
    assert_eq!(upper_layer_named("use crate::resources::Plan;"), None);
    assert_eq!(
        upper_layer_named("let rendered = crate::renderer_free();"),
        None
    );
    assert_eq!(
        upper_layer_named("// render and validation build on this"),
        None
    );
}

#[test]
fn manifest_does_not_depend_on_render_or_validation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/manifest");
    let files = rust_files(&root);
    assert!(
        files.iter().any(|f| f.ends_with("plan_bundle.rs")),
        "{files:?}"
    );
    let offending: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let text = fs::read_to_string(file).unwrap();
            text.lines()
                .enumerate()
                .filter_map(|(n, line)| {
                    let layer = upper_layer_named(line)?;
                    Some(format!(
                        "{}:{}: names `{layer}`: {}",
                        file.display(),
                        n + 1,
                        line.trim()
                    ))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offending.is_empty(),
        "manifest must not depend on render or validation; they build their inputs from \
         PlanBundle instead:\n{}",
        offending.join("\n")
    );
}
