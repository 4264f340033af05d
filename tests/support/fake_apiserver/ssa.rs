//! Server-side apply as the API server does it, for the fields forklift sends: every leaf
//! (scalar, empty object or list, lists being atomic) has one owning field manager; applying
//! a different value to a leaf another manager owns is a conflict unless forced; a manager's
//! leaves it no longer sends are removed.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Separates path components (object keys may hold dots and slashes, as annotation keys do).
const SEP: char = '\u{1}';

/// Leaves no manager owns (identity of the object).
const UNOWNED: [&str; 4] = [
    "apiVersion",
    "kind",
    "metadata\u{1}name",
    "metadata\u{1}namespace",
];

/// A path as the API server prints it (`.spec.storage`).
pub fn display(path: &str) -> String {
    path.replace(SEP, ".")
}

/// Every leaf of `value` by dotted path.
pub fn leaves(value: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    walk(value, String::new(), &mut out);
    out.retain(|path, _| !UNOWNED.contains(&path.as_str()) && !path.starts_with("status"));
    out
}

fn walk(value: &Value, path: String, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}{SEP}{key}")
                };
                walk(child, child_path, out);
            }
        }
        _ => {
            out.insert(path, value.clone());
        }
    }
}

fn set(root: &mut Value, path: &str, value: Value) {
    let mut node = root;
    let parts: Vec<&str> = path.split(SEP).collect();
    for (i, part) in parts.iter().enumerate() {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let map = node.as_object_mut().expect("made an object");
        if i == parts.len() - 1 {
            map.insert((*part).to_owned(), value);
            return;
        }
        node = map
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

fn remove(root: &mut Value, path: &str) {
    let parts: Vec<&str> = path.split(SEP).collect();
    let mut node = root;
    for part in &parts[..parts.len() - 1] {
        match node.get_mut(*part) {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Some(map) = node.as_object_mut() {
        map.remove(parts[parts.len() - 1]);
    }
}

/// A conflict: the field and the manager owning it.
pub struct Conflict {
    pub field: String,
    pub manager: String,
}

/// Applies `patch` by `manager` onto `current` (with its `owners`); returns the merged
/// object or the conflicts.
pub fn apply(
    current: Option<(&Value, &BTreeMap<String, String>)>,
    patch: &Value,
    manager: &str,
    force: bool,
) -> Result<(Value, BTreeMap<String, String>), Vec<Conflict>> {
    let sent = leaves(patch);
    let (mut object, mut owners) = match current {
        Some((object, owners)) => (object.clone(), owners.clone()),
        None => (Value::Object(Map::new()), BTreeMap::new()),
    };
    let existing = leaves(&object);
    let conflicts: Vec<Conflict> = sent
        .iter()
        .filter_map(|(path, value)| {
            let owner = owners.get(path)?;
            (owner != manager && existing.get(path) != Some(value)).then(|| Conflict {
                field: display(path),
                manager: owner.clone(),
            })
        })
        .collect();
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    // Leaves this manager owned and no longer sends go.
    let dropped: Vec<String> = owners
        .iter()
        .filter(|(path, owner)| *owner == manager && !sent.contains_key(*path))
        .map(|(path, _)| path.clone())
        .collect();
    for path in dropped {
        remove(&mut object, &path);
        owners.remove(&path);
    }
    let mut identity = BTreeMap::new();
    walk(patch, String::new(), &mut identity);
    for (path, value) in identity {
        if UNOWNED.contains(&path.as_str()) {
            set(&mut object, &path, value);
        }
    }
    for (path, value) in sent {
        set(&mut object, &path, value);
        owners.insert(path, manager.to_owned());
    }
    Ok((object, owners))
}
