//! Loading manifests from files, directories and stdin into a [`ManifestSet`].
//!
//! Parsing and diagnostics live in [`forklift_core::manifest`]; this module only reads text.
//! Directories are walked recursively in name order and every `*.yaml`, `*.yml` and `*.json`
//! file is read; a path given explicitly is read whatever its extension; `-` reads stdin.
//! Files that cannot be read become `io` diagnostics, so one bad file never hides the others.
//! Files are read through [`crate::input`]: regular files only (a FIFO, `/dev/zero` or a
//! symlink to them is refused at once) and at most [`DEFAULT_MAX_INPUT_SIZE`] bytes each
//! unless [`load_paths_with_limit`] says otherwise.
//!
//! Every verb and the Python bindings read manifests through [`load_paths`], so one directory
//! gives the same objects and diagnostics everywhere. The verbs that read a plan (`validate`,
//! `render`, `schedule`, `migrate`) also stop on the same diagnostics: [`blocking_errors`].

use std::path::{Path, PathBuf};

pub use crate::input::DEFAULT_MAX_INPUT_SIZE;

use forklift_core::resources::GROUP;

pub use forklift_core::manifest::{
    Diagnostic, DiagnosticCode, LoadedObject, ManifestSet, Object, ObjectKey, Origin, Severity,
};

/// Extensions read when walking directories.
pub const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Directory nesting beyond which walking stops (guards against symlink loops).
const MAX_DEPTH: usize = 32;

/// Loads every path (file, directory or `-` for stdin) into one set, each file read up to
/// [`DEFAULT_MAX_INPUT_SIZE`] bytes.
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> ManifestSet {
    load_paths_with_limit(paths, DEFAULT_MAX_INPUT_SIZE)
}

/// Loads every path (file, directory or `-` for stdin) into one set, refusing any file (or
/// stdin) larger than `max_file_size` bytes.
pub fn load_paths_with_limit<P: AsRef<Path>>(paths: &[P], max_file_size: u64) -> ManifestSet {
    let mut set = ManifestSet::new();
    for path in paths {
        load_path(&mut set, path.as_ref(), max_file_size);
    }
    set
}

/// Loads one path (file, directory or `-` for stdin) into `set`, refusing any file larger
/// than `max_file_size` bytes.
pub fn load_path(set: &mut ManifestSet, path: &Path, max_file_size: u64) {
    if path == Path::new("-") {
        match crate::input::read_text(path, max_file_size) {
            Ok(text) => {
                set.add_str("stdin", &text);
            }
            Err(e) => set.push_diagnostic(io_error("stdin", e.reason())),
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
            load_file(set, &file, max_file_size);
        }
    } else {
        load_file(set, path, max_file_size);
    }
}

/// Loads one file into `set`: a regular file (symlinks followed) of at most `max_file_size`
/// bytes; anything else becomes an `io` diagnostic naming the file.
pub fn load_file(set: &mut ManifestSet, path: &Path, max_file_size: u64) {
    let source = path.display().to_string();
    match crate::input::read_text(path, max_file_size) {
        Ok(text) => {
            set.add_str(&source, &text);
        }
        Err(e) => set.push_diagnostic(io_error(&source, e.reason())),
    }
}

/// The error diagnostics that stop a verb reading a plan: every error except `unknown-kind`
/// for an object outside forklift's API group. Such objects (the OS-map ConfigMaps `render`
/// reads, KubeVirt objects kept next to a plan) are kept verbatim and stay reported; a
/// forklift kind that is unknown (a typo such as `Plann`) still stops the verb.
pub fn blocking_errors(set: &ManifestSet) -> Vec<&Diagnostic> {
    set.diagnostics()
        .iter()
        .filter(|d| d.is_error() && !is_foreign_kind(set, d))
        .collect()
}

/// Whether `diagnostic` reports the unknown kind of an object kept verbatim from another API
/// group than forklift's (the core group of ConfigMaps included): expected next to a plan, so
/// the plan verbs neither stop on it nor print it.
pub fn is_foreign_kind(set: &ManifestSet, diagnostic: &Diagnostic) -> bool {
    diagnostic.code == DiagnosticCode::UnknownKind
        && set.entries().iter().any(|entry| match &entry.object {
            Object::Unknown(unknown) => {
                let origin = &entry.origin;
                // The parser reports an unknown kind at `<object path>.kind`.
                let kind_path = if origin.path.is_empty() {
                    "kind".to_owned()
                } else {
                    format!("{}.kind", origin.path)
                };
                origin.source == diagnostic.source
                    && Some(origin.document) == diagnostic.document
                    && kind_path == diagnostic.path
                    && unknown.api_version.split('/').next() != Some(GROUP)
            }
            _ => false,
        })
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

    #[test]
    fn directories_nested_beyond_the_limit_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let hook = "apiVersion: forklift.konveyor.io/v1beta1\nkind: Hook\nmetadata: {name: h, namespace: n}\nspec: {image: quay.io/konveyor/hook-runner}\n";
        let mut deep = dir.path().to_path_buf();
        for _ in 0..MAX_DEPTH {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("ok.yaml"), hook).unwrap();
        let set = load_paths(&[dir.path()]);
        assert!(!set.has_errors(), "{:?}", set.diagnostics());
        assert_eq!(set.len(), 1, "files {MAX_DEPTH} levels down still load");
        std::fs::create_dir(deep.join("d")).unwrap();
        std::fs::write(deep.join("d/deeper.yaml"), hook).unwrap();
        let set = load_paths(&[dir.path()]);
        assert_eq!(
            set.diagnostics()[0].message,
            format!("Directories nested deeper than {MAX_DEPTH} levels")
        );
    }

    #[test]
    fn only_unknown_kinds_of_other_groups_do_not_block() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: osmap}\ndata: {a: b}\n---\n\
            apiVersion: v1\nkind: List\nitems:\n- {apiVersion: kubevirt.io/v1, kind: VirtualMachine, metadata: {name: vm}}\n\
            - {apiVersion: forklift.konveyor.io/v1beta1, kind: Plann, metadata: {name: typo}}\n---\n\
            {apiVersion: forklift.konveyor.io/v1beta1, kind: Hook, metadata: {name: h}, spec: {image: 7, x: 1}}\n";
        let set = ManifestSet::parse("m.yaml", text);
        let unknown = set
            .diagnostics()
            .iter()
            .filter(|d| d.code == DiagnosticCode::UnknownKind)
            .count();
        assert_eq!(unknown, 3, "{:?}", set.diagnostics());
        let blocking: Vec<String> = blocking_errors(&set)
            .iter()
            .map(|d| format!("{}: {}", d.code, d.location()))
            .collect();
        assert_eq!(
            blocking,
            ["unknown-kind: m.yaml#2", "invalid-field: m.yaml#3"],
            "{:?}",
            set.diagnostics()
        );
        assert!(
            blocking_errors(&ManifestSet::parse(
                "ok.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
            ))
            .is_empty()
        );
    }
}
