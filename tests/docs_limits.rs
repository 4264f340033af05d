//! `docs/limits.md` names, for every limit, the file and constant that hold it. This test
//! reads each table row's last cell and checks that the files exist and that every constant
//! or item named there appears in one of them, so the page cannot drift from the code.

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The backticked spans of `text`.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// A span that names a source file: `vm.rs`, `src/migrate/vm.rs`, `nbd/client.rs`, or a Go
/// file of the tools (`tools/vcsim/main.go`).
fn is_file(span: &str) -> bool {
    (span.ends_with(".rs") || span.ends_with(".go")) && !span.contains(' ')
}

/// A span that names an item: `POWER_OFF_LIMIT`, `MigrateOptions::hook_retries`.
fn item_name(span: &str) -> Option<&str> {
    let last = span.rsplit("::").next()?;
    let ident = last.trim_end_matches("()");
    let valid = !ident.is_empty()
        && ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && ident.chars().next().is_some_and(|c| !c.is_ascii_digit());
    valid.then_some(ident)
}

/// Finds `name` (a file path suffix) under `dir`, or under the repository when `dir` does not
/// hold it.
fn resolve(dir: &Path, name: &str) -> Option<PathBuf> {
    for base in [dir, Path::new(ROOT)] {
        let direct = base.join(name);
        if direct.is_file() {
            return Some(direct);
        }
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.ends_with(name) {
                return Some(path);
            }
        }
    }
    None
}

#[test]
fn every_limit_names_existing_code() {
    let page = std::fs::read_to_string(Path::new(ROOT).join("docs/limits.md")).unwrap();
    let mut section_dir = PathBuf::from(ROOT);
    let mut checked = 0;
    let mut problems = Vec::new();
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            // A section heading names its directory in backticks: "## Runner (`src/migrate`)".
            section_dir = backticked(heading)
                .into_iter()
                .map(|d| Path::new(ROOT).join(d))
                .find(|d| d.is_dir())
                .unwrap_or_else(|| PathBuf::from(ROOT));
            continue;
        }
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        if !line.starts_with('|') || cells.len() < 3 || cells[0].trim_start().starts_with("---") {
            continue;
        }
        let place = cells[cells.len() - 1];
        if place.trim() == "where" {
            continue;
        }
        let spans = backticked(place);
        let files: Vec<PathBuf> = spans
            .iter()
            .filter(|s| is_file(s))
            .filter_map(|s| match resolve(&section_dir, s) {
                Some(path) => Some(path),
                None => {
                    problems.push(format!("{s}: no such file (row: {line})"));
                    None
                }
            })
            .collect();
        if files.is_empty() {
            problems.push(format!("row names no source file: {line}"));
            continue;
        }
        let sources: Vec<String> = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        for span in spans.iter().filter(|s| !is_file(s)) {
            let Some(item) = item_name(span) else {
                continue;
            };
            if !sources.iter().any(|text| text.contains(item)) {
                problems.push(format!("`{span}` is not in {files:?}"));
            }
            checked += 1;
        }
    }
    assert!(
        problems.is_empty(),
        "docs/limits.md:\n{}",
        problems.join("\n")
    );
    assert!(
        checked >= 6,
        "only {checked} items checked: is the table format still parsed?"
    );
}
