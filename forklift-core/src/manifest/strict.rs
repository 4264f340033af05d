//! Decoding a document into a JSON value while noticing duplicate mapping keys.
//!
//! `serde_json::Value` keeps the last of two equal keys without a word, while the API server
//! refuses such objects (`name: a` then `name: b` in one mapping is ambiguous). Documents are
//! decoded through [`Checked`], which builds the same value and lists every key seen twice,
//! with the path of its mapping, so the loader can refuse the document and say where.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// A decoded document and the keys that appeared twice in one of its mappings.
#[derive(Debug)]
pub(super) struct Checked {
    /// The value (the last of two equal keys wins, as in `serde_json`).
    pub value: Value,
    /// `(path of the mapping, key)` for every repeated key, in document order.
    pub duplicates: Vec<(String, String)>,
}

impl<'de> de::Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut duplicates = Vec::new();
        let value = ValueSeed {
            path: String::new(),
            duplicates: &mut duplicates,
        }
        .deserialize(deserializer)?;
        Ok(Checked { value, duplicates })
    }
}

struct ValueSeed<'a> {
    path: String,
    duplicates: &'a mut Vec<(String, String)>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // As serde_json: NaN and infinities have no JSON form.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed {
            path: format!("{}[{}]", self.path, items.len()),
            duplicates: self.duplicates,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            let value = map.next_value_seed(ValueSeed {
                path,
                duplicates: self.duplicates,
            })?;
            if out.insert(key.clone(), value).is_some() {
                self.duplicates.push((self.path.clone(), key));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_repeated_keys_with_their_mapping_path() {
        let text = "metadata:\n  name: a\n  name: b\nspec:\n  vms:\n  - {id: x, id: y}\nkind: K\n";
        let checked: Checked = serde_yaml_ng::from_str(text).unwrap();
        assert_eq!(
            checked.duplicates,
            [
                ("metadata".to_owned(), "name".to_owned()),
                ("spec.vms[0]".to_owned(), "id".to_owned())
            ]
        );
        assert_eq!(checked.value["metadata"]["name"], "b");
        let json: Checked =
            serde_json::from_str(r#"{"a": 1, "a": 2.5, "b": [null, true]}"#).unwrap();
        assert_eq!(json.duplicates, [(String::new(), "a".to_owned())]);
        assert_eq!(json.value, serde_json::json!({"a": 2.5, "b": [null, true]}));
    }

    #[test]
    fn decodes_like_serde_json_value() {
        let text = "a: 1\nb: -2\nc: 1.5\nd: ~\ne: [x, {f: true}]\ng: .nan\n";
        let checked: Checked = serde_yaml_ng::from_str(text).unwrap();
        let plain: Value = serde_yaml_ng::from_str(text).unwrap();
        assert_eq!(checked.value, plain);
        assert!(checked.duplicates.is_empty());
    }
}
