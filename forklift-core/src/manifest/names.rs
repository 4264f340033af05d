//! The names the API server requires of every object: `metadata.name` (and `generateName`)
//! a DNS-1123 subdomain, `metadata.namespace` a DNS-1123 label. These names become path
//! components of what a migration writes, so `../x` or `/etc` must never get through loading.

use regex::Regex;
use std::sync::LazyLock;

use crate::naming::{dns1123_label_errors, dns1123_subdomain_errors};
use crate::resources::ObjectMeta;

/// A value that is one placeholder word, such as `<namespace>` or `<network_map>`.
static WHOLE_PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^<[A-Za-z][A-Za-z0-9_ -]*>$").unwrap_or_else(|e| unreachable!("{e}"))
});

/// `(field, message)` for each name in `meta` the API server would refuse.
pub(super) fn name_violations(meta: &ObjectMeta) -> Vec<(&'static str, String)> {
    // The API server checks `generateName` with a trailing `-` read as a letter.
    let generate = meta
        .generate_name
        .as_deref()
        .map(|g| match g.strip_suffix('-') {
            Some(stem) => format!("{stem}a"),
            None => g.to_owned(),
        });
    let checks = [
        (
            "metadata.name",
            meta.name.as_deref(),
            dns1123_subdomain_errors as fn(&str) -> Vec<String>,
        ),
        (
            "metadata.generateName",
            generate.as_deref(),
            dns1123_subdomain_errors,
        ),
        (
            "metadata.namespace",
            meta.namespace.as_deref(),
            dns1123_label_errors,
        ),
    ];
    let mut out = Vec::new();
    for (field, value, errors) in checks {
        let Some(value) = value else { continue };
        // A guide placeholder such as `<namespace>` has its own warning; it holds no `/` or
        // `.`, and the destination refuses it should it ever reach a path.
        if WHOLE_PLACEHOLDER.is_match(value) {
            continue;
        }
        let reasons = errors(value);
        if !reasons.is_empty() {
            out.push((
                field,
                // Debug quoting escapes control characters.
                format!(
                    "{value:?} is not a valid Kubernetes name: {}; the object is not loaded",
                    reasons.join("; ")
                ),
            ));
        }
    }
    out
}
