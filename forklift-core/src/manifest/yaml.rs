//! A small YAML writer for JSON values that `kubectl` reads back unchanged.
//!
//! `kubectl` parses YAML with YAML 1.1 rules, under which plain `on`, `off`, `yes`, `no`,
//! `y`, `n` are booleans and `1:30` is a number. General-purpose YAML 1.2 writers leave
//! such strings unquoted (`targetPowerState: on`), which `kubectl apply` then rejects. This
//! writer emits block-style YAML and quotes every string that is not unambiguously a string
//! under both YAML versions, using JSON's double-quoted syntax (valid YAML).

use serde_json::Value;

/// Writes a value as a YAML document (without the `---` separator), ending with a newline.
pub(super) fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_block(value, 0, &mut out),
        Value::Array(items) if !items.is_empty() => write_block(value, 0, &mut out),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn write_block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                out.push_str(&pad);
                out.push_str(&string_text(key));
                out.push(':');
                write_child(item, indent, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                // Emit the child at indent + 2, then turn its first indentation into "- ".
                let mut child = String::new();
                match item {
                    Value::Object(m) if !m.is_empty() => write_block(item, indent + 2, &mut child),
                    Value::Array(a) if !a.is_empty() => write_block(item, indent + 2, &mut child),
                    scalar => {
                        child.push_str(&" ".repeat(indent + 2));
                        child.push_str(&scalar_text(scalar));
                        child.push('\n');
                    }
                }
                out.push_str(&pad);
                out.push_str("- ");
                out.push_str(&child[indent + 2..]);
            }
        }
        scalar => {
            out.push_str(&pad);
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

/// Writes the value of a mapping entry whose key (and colon) is already written.
fn write_child(item: &Value, indent: usize, out: &mut String) {
    match item {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_block(item, indent + 2, out);
        }
        // Kubernetes style: sequence items at the key's indentation.
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_block(item, indent, out);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string_text(s),
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
    }
}

/// A string as a plain scalar when that is safe under YAML 1.1 and 1.2, else double-quoted.
fn string_text(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        double_quoted(s)
    }
}

/// A YAML double-quoted scalar. Besides the usual escapes, characters YAML treats as line
/// breaks or as non-printable (C0/C1 controls, NEL, LS, PS, BOM) are escaped, so a reader
/// never folds or rejects them.
fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_escape(c: char) -> bool {
    let code = u32::from(c);
    code < 0x20
        || (0x7f..=0x9f).contains(&code)
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// Words YAML 1.1 or 1.2 resolve to booleans or null.
const AMBIGUOUS_WORDS: &[&str] = &[
    "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
];

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // Digits, signs and dots may start numbers, timestamps or sexagesimals; quote them all.
    if !(first.is_ascii_alphabetic() || first == '_' || first == '/') {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') || s.contains(": ") || s.contains(" #") {
        return false;
    }
    if AMBIGUOUS_WORDS.contains(&s.to_ascii_lowercase().as_str()) {
        return false;
    }
    s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                ' ' | '_'
                    | '.'
                    | '/'
                    | '@'
                    | '='
                    | '+'
                    | '-'
                    | ':'
                    | '('
                    | ')'
                    | '<'
                    | '>'
                    | '$'
                    | '^'
                    | '~'
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_yaml_1_1_booleans_numbers_and_specials() {
        for s in [
            "on",
            "Off",
            "yes",
            "N",
            "true",
            "null",
            "~",
            "1",
            "1:30",
            "0x1f",
            "2026-01-01",
            "",
            " a",
            "a: b",
            "a #b",
            "-x",
            "*x",
            "!x",
            "{x}",
            "[x]",
            "'x'",
            "\"x\"",
            "x\ny",
            "ünï",
            "a\u{85}b",
            "\u{2028}",
            "\u{feff}x",
            "t\tab",
            "nul\0",
            "q\"\\",
            "=",
            "<<",
        ] {
            let text = string_text(s);
            assert!(text.starts_with('"'), "{s:?} must be quoted, got {text}");
            let back: String = serde_yaml_ng::from_str(&text).unwrap();
            assert_eq!(back, s);
        }
        for s in [
            "auto",
            "vsphere",
            "https://vcenter.example.com/sdk",
            "openshift-mtv",
            "a b",
            "Web_02",
        ] {
            assert_eq!(string_text(s), s);
        }
    }

    #[test]
    fn writes_kubernetes_style_blocks_that_parse_back() {
        let value = json!({
            "apiVersion": "v1",
            "kind": "Thing",
            "metadata": {"name": "x", "labels": {}},
            "spec": {
                "vms": [{"id": "vm-1", "targetPowerState": "on", "hooks": []}, {"id": "vm-2"}],
                "nested": [[1, 2], ["a"]],
                "count": 3, "flag": false, "none": null, "text": "two\nlines"
            }
        });
        let text = to_yaml(&value);
        assert!(
            text.contains(
                "  vms:\n  - hooks: []\n    id: vm-1\n    targetPowerState: \"on\"\n  - id: vm-2\n"
            ),
            "{text}"
        );
        let back: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
