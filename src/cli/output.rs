//! kubectl's output conventions, the one home for every verb that prints objects
//! (`validate`, `render`, `inventory`, `manifests check`, `migrate`, `schedule`, `copy`,
//! `status`): a readable table by default, `-o wide` for more columns, `-o json` / `-o yaml`
//! for the whole object (camelCase keys), `-o name` for one `kind/name` per line.
//!
//! Every printed byte goes through [`terminal`]: names and messages come from sources and
//! packages, and must not reach the terminal as control characters.

use clap::ValueEnum;
use serde::Serialize;

use super::terminal;

/// An output format, as kubectl's `-o` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// A table, one row per object.
    #[default]
    Table,
    /// The table with more columns.
    Wide,
    /// The whole object as JSON (camelCase keys).
    Json,
    /// The whole object as YAML (camelCase keys).
    Yaml,
    /// One `kind/name` per line.
    Name,
}

/// `-o/--output FORMAT`, flattened into every verb that prints objects.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputArg {
    /// Output format: a table (default), `wide` (more columns), `json` or `yaml` (the whole
    /// object, camelCase keys), `name` (one `kind/name` per line).
    #[arg(short = 'o', long = "output", value_enum, value_name = "FORMAT")]
    output: Option<Format>,
}

impl OutputArg {
    /// The format asked for, the table when none was.
    pub fn format(self) -> Format {
        self.output.unwrap_or_default()
    }

    /// The format asked for, if one was (a verb may default differently in one case:
    /// `migrate --events -` keeps standard output to JSON lines).
    pub fn explicit(self) -> Option<Format> {
        self.output
    }
}

/// Why an object could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// JSON serialization failed.
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// YAML serialization failed.
    #[error("cannot write YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
}

/// What a verb prints: the object itself (JSON, YAML), its rows and its names.
pub trait Printable: Serialize {
    /// The table's rows, the header first; `wide` adds columns.
    fn rows(&self, wide: bool) -> Vec<Vec<String>>;
    /// One `kind/name` per object.
    fn names(&self) -> Vec<String>;
}

/// The text `value` prints as in `format`, ending with a line break.
pub fn render<T: Printable + ?Sized>(value: &T, format: Format) -> Result<String, OutputError> {
    Ok(match format {
        Format::Json => pretty_json(value)? + "\n",
        Format::Yaml => yaml(value)?,
        Format::Name => value
            .names()
            .iter()
            .map(|n| terminal::line(n) + "\n")
            .collect(),
        Format::Table => table(&value.rows(false)),
        Format::Wide => table(&value.rows(true)),
    })
}

/// Prints `value` on standard output in `format`.
pub fn print<T: Printable + ?Sized>(value: &T, format: Format) -> Result<(), OutputError> {
    print!("{}", render(value, format)?);
    Ok(())
}

/// Pretty JSON, control characters in strings escaped.
pub fn pretty_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    Ok(terminal::json(&serde_json::to_string_pretty(value)?).into_owned())
}

/// One line of JSON (for `--events -`), control characters in strings escaped.
pub fn compact_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    Ok(terminal::json(&serde_json::to_string(value)?).into_owned())
}

/// YAML, each line escaped. The value goes through JSON first, so that YAML and JSON carry
/// the same structure: serde_yaml writes enums as YAML tags (`!ova`), which other YAML
/// readers do not turn into the map JSON has.
pub fn yaml<T: Serialize + ?Sized>(value: &T) -> Result<String, OutputError> {
    let value = serde_json::to_value(value)?;
    Ok(terminal::lines(&serde_yaml_ng::to_string(&value)?))
}

/// kubectl's `-o name` of an object: `kind.group/name` (`virtualmachine.kubevirt.io/web`),
/// `kind/name` for the core group.
pub fn object_name(api_version: &str, kind: &str, name: &str) -> String {
    let kind = kind.to_ascii_lowercase();
    match api_version.split_once('/') {
        Some((group, _)) if !group.is_empty() => format!("{kind}.{group}/{name}"),
        _ => format!("{kind}/{name}"),
    }
}

/// `value`, or `-` when empty (a table cell).
pub fn cell(value: &str) -> String {
    if value.is_empty() {
        "-".to_owned()
    } else {
        value.to_owned()
    }
}

/// Left-aligned columns separated by three spaces, as kubectl prints them; every cell
/// escaped (VM names and errors come from the source).
pub fn table<R: AsRef<[String]>>(rows: &[R]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.as_ref().iter().map(|c| terminal::line(c)).collect())
        .collect();
    let columns = cells.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            cells
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &cells {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < row.len() {
                line.push_str(&format!("{cell:<width$}   ", width = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A header row from column titles.
pub fn header(titles: &[&str]) -> Vec<String> {
    titles.iter().map(|t| (*t).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Thing {
        thing_name: String,
    }

    impl Printable for Thing {
        fn rows(&self, wide: bool) -> Vec<Vec<String>> {
            let mut rows = vec![header(&["NAME"]), vec![self.thing_name.clone()]];
            if wide {
                rows[0].push("MORE".into());
                rows[1].push("x".into());
            }
            rows
        }
        fn names(&self) -> Vec<String> {
            vec![object_name("v1", "Thing", &self.thing_name)]
        }
    }

    #[test]
    fn every_format_prints_the_same_object_and_escapes_peer_text() {
        let thing = Thing {
            thing_name: "a\u{1b}[2J".into(),
        };
        let json = render(&thing, Format::Json).unwrap();
        assert!(json.contains("\"thingName\""), "{json}");
        assert!(!json.contains('\u{1b}'), "{json}");
        assert!(
            render(&thing, Format::Yaml)
                .unwrap()
                .starts_with("thingName:")
        );
        assert_eq!(render(&thing, Format::Name).unwrap(), "thing/a\\x1b[2J\n");
        assert_eq!(render(&thing, Format::Table).unwrap(), "NAME\na\\x1b[2J\n");
        assert!(
            render(&thing, Format::Wide)
                .unwrap()
                .starts_with("NAME       MORE\n")
        );
    }

    #[test]
    fn yaml_writes_enums_as_json_does() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        enum Ext {
            Ova { skipped: u8 },
        }
        let text = yaml(&Ext::Ova { skipped: 1 }).unwrap();
        assert_eq!(text, "ova:\n  skipped: 1\n");
    }

    #[test]
    fn names_follow_kubectl() {
        assert_eq!(
            object_name("kubevirt.io/v1", "VirtualMachine", "web"),
            "virtualmachine.kubevirt.io/web"
        );
        assert_eq!(
            object_name("v1", "PersistentVolumeClaim", "d"),
            "persistentvolumeclaim/d"
        );
    }
}
