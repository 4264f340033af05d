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

/// Roots a path to a sibling layer starts with, from inside `manifest` or a doctest.
const ROOTS: [&str; 3] = ["crate::", "super::super::", "forklift_core::"];

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The upper layers a piece of source names: a path such as `crate::render::X` (code, `use`
/// or doc link), or `render`/`validation` inside a grouped `use crate::{..}`.
fn upper_layers_named(source: &str) -> Vec<&'static str> {
    let compact: String = source.chars().filter(|c| !c.is_whitespace()).collect();
    UPPER_LAYERS
        .into_iter()
        .filter(|layer| {
            ROOTS.iter().any(|root| {
                let path = format!("{root}{layer}");
                let direct = compact
                    .match_indices(&path)
                    .any(|(at, _)| !compact[at + path.len()..].starts_with(is_ident));
                let grouped = compact.match_indices(&format!("{root}{{")).any(|(at, _)| {
                    let group = &compact[at..];
                    group[..group.find(';').unwrap_or(group.len())]
                        .split(|c: char| !is_ident(c))
                        .any(|word| word == *layer)
                });
                direct || grouped
            })
        })
        .collect()
}

/// A 1-based line and the upper layers named there.
type Offense = (usize, Vec<&'static str>);

/// The offending places of a file's text: 1-based line of each statement (a `use` may span
/// lines) or line naming an upper layer, with the layers it names.
fn offenses(text: &str) -> Vec<Offense> {
    let mut found = Vec::new();
    let mut check = |line: usize, source: &str| {
        let layers = upper_layers_named(source);
        if !layers.is_empty() {
            found.push((line, layers));
        }
    };
    let mut statement: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let opens_use = trimmed.starts_with("use ") || trimmed.contains(" use ");
        if statement.is_none() && opens_use && !trimmed.starts_with("//") {
            statement = Some((n + 1, String::new()));
        }
        match &mut statement {
            Some((start, text)) => {
                text.push_str(line);
                if line.contains(';') {
                    check(*start, text);
                    statement = None;
                }
            }
            None => check(n + 1, line),
        }
    }
    // A `use` cut off by the end of the text is still checked.
    if let Some((start, text)) = statement {
        check(start, &text);
    }
    found
}

#[test]
fn the_detector_sees_imports_and_paths_of_upper_layers() {
    let cases: [(&str, Vec<Offense>); 8] = [
        (
            "use crate::render::{RenderInput};",
            vec![(1, vec!["render"])],
        ),
        (
            "fn f() {\n    crate::validation::Settings::default();\n}",
            vec![(2, vec!["validation"])],
        ),
        ("use crate::validation;", vec![(1, vec!["validation"])]),
        (
            "use crate::{\n    resources::Plan,\n    render::RenderInput,\n};",
            vec![(1, vec!["render"])],
        ),
        ("use super::super::render;", vec![(1, vec!["render"])]),
        (
            "//! use forklift_core::validation::validate;",
            vec![(1, vec!["validation"])],
        ),
        (
            "use crate::resources::Plan;\nlet x = crate::renderer();",
            vec![],
        ),
        ("// render and validation build on this layer", vec![]),
    ];
    for (text, expected) in cases {
        assert_eq!(offenses(text), expected, "{text}");
    }
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
            offenses(&text)
                .into_iter()
                .map(|(line, layers)| format!("{}:{line}: names {layers:?}", file.display()))
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
