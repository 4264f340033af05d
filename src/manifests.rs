//! Loading manifests from files, directories and stdin into a [`ManifestSet`].
//!
//! Parsing and diagnostics live in [`forklift_core::manifest`]; this module only reads text.
//! Directories are walked recursively in name order and every `*.yaml`, `*.yml` and `*.json`
//! file is read; a path given explicitly is read whatever its extension; `-` reads stdin.
//! Files that cannot be read become `io` diagnostics, so one bad file never hides the others.

use std::io::Read;
use std::path::{Path, PathBuf};

pub use forklift_core::manifest::{
    Diagnostic, DiagnosticCode, LoadedObject, ManifestSet, Object, ObjectKey, Origin, Severity,
};

/// Extensions read when walking directories.
pub const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Directory nesting beyond which walking stops (guards against symlink loops).
const MAX_DEPTH: usize = 32;

/// Loads every path (file, directory or `-` for stdin) into one set.
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> ManifestSet {
    let mut set = ManifestSet::new();
    for path in paths {
        load_path(&mut set, path.as_ref());
    }
    set
}

/// Loads one path (file, directory or `-` for stdin) into `set`.
pub fn load_path(set: &mut ManifestSet, path: &Path) {
    if path == Path::new("-") {
        let mut text = String::new();
        match std::io::stdin().lock().read_to_string(&mut text) {
            Ok(_) => {
                set.add_str("stdin", &text);
            }
            Err(e) => set.push_diagnostic(io_error("stdin", format!("Cannot read stdin: {e}"))),
        }
        return;
    }
    if path.is_dir() {
        let mut files = Vec::new();
        if let Err(message) = collect_files(path, 0, &mut files) {
            set.push_diagnostic(io_error(&path.display().to_string(), message));
        }
        if files.is_empty() {
            set.push_diagnostic(io_error(
                &path.display().to_string(),
                "No *.yaml, *.yml or *.json files in the directory".to_owned(),
            ));
        }
        for file in files {
            load_file(set, &file);
        }
    } else {
        load_file(set, path);
    }
}

/// Loads one file into `set`.
pub fn load_file(set: &mut ManifestSet, path: &Path) {
    let source = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => {
                set.add_str(&source, &text);
            }
            Err(e) => set.push_diagnostic(io_error(
                &source,
                format!(
                    "Not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )),
        },
        Err(e) => set.push_diagnostic(io_error(&source, format!("Cannot read: {e}"))),
    }
}

fn io_error(source: &str, message: String) -> Diagnostic {
    Diagnostic::error(DiagnosticCode::Io, source, None, "", message)
}

fn collect_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("Directories nested deeper than {MAX_DEPTH} levels"));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("Cannot read directory: {e}"))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect_files(&path, depth + 1, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e))
        {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_directories_recursively_and_reports_unreadable_files() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("nested");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(
            sub.join("hook.yml"),
            "apiVersion: forklift.konveyor.io/v1beta1\nkind: Hook\nmetadata: {name: h, namespace: n}\nspec: {image: quay.io/konveyor/hook-runner}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
        std::fs::write(dir.path().join("bad.json"), [0xff, 0xfe]).unwrap();
        let set = load_paths(&[dir.path()]);
        assert_eq!(set.len(), 1);
        assert!(set.get("Hook", "n", "h").is_some());
        assert_eq!(set.diagnostics().len(), 1, "{:?}", set.diagnostics());
        assert_eq!(set.diagnostics()[0].code, DiagnosticCode::Io);
        let missing = load_paths(&[dir.path().join("missing.yaml")]);
        assert!(missing.has_errors());
        let empty = tempfile::tempdir().unwrap();
        assert!(load_paths(&[empty.path()]).has_errors());
    }
}
