//! Kubernetes `Secret` (`v1`): `data` (base64) and `stringData`. Values never appear in
//! `Debug` output.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use super::{ObjectMeta, resource};

/// Secret bytes, base64 in manifests; `Debug` prints only the length.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBytes(pub Vec<u8>);

impl SecretBytes {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted {} bytes>", self.0.len())
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // Kubernetes accepts standard base64 with padding; whitespace from folded YAML is
        // tolerated because users paste certificates as block scalars.
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        STANDARD
            .decode(compact.as_bytes())
            // The decoder's message quotes a byte of the value: never echo secret material.
            .map_err(|_| serde::de::Error::custom("invalid base64 (value not shown)"))
            .map(SecretBytes)
    }
}

/// `apiVersion` of Secrets.
pub const SECRET_API_VERSION: &str = super::object::api_version_text!(SECRET_API_VERSION);

resource! {
    /// A Kubernetes Secret.
    #[derive(Clone, PartialEq, Eq)]
    pub struct Secret(SECRET_API_VERSION, "Secret") {
        /// Secret type, e.g. `Opaque`.
        #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
        pub type_: Option<String>,
        /// Base64-encoded values.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub data: BTreeMap<String, SecretBytes>,
        /// Plain-text values; they win over `data` for the same key (as the API server merges them).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub string_data: BTreeMap<String, String>,
        /// Whether the Secret is immutable.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub immutable: Option<bool>,
    }
}

impl Secret {
    /// An `Opaque` secret with the given string values.
    pub fn opaque<K, V>(metadata: ObjectMeta, values: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            api_version: default_api_version(),
            kind: default_kind(),
            metadata,
            type_: Some("Opaque".to_owned()),
            data: BTreeMap::new(),
            string_data: values
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            immutable: None,
        }
    }

    /// The value of a key, from `stringData` first, then `data`.
    pub fn get(&self, key: &str) -> Option<Cow<'_, [u8]>> {
        if let Some(v) = self.string_data.get(key) {
            return Some(Cow::Borrowed(v.as_bytes()));
        }
        self.data.get(key).map(|v| Cow::Borrowed(v.as_bytes()))
    }

    /// The value of a key as UTF-8 text (lossy), from `stringData` first, then `data`.
    pub fn get_str(&self, key: &str) -> Option<Cow<'_, str>> {
        if let Some(v) = self.string_data.get(key) {
            return Some(Cow::Borrowed(v.as_str()));
        }
        self.data
            .get(key)
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
    }

    /// Every key present in `data` or `stringData`.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        let mut keys: Vec<&str> = self
            .data
            .keys()
            .chain(self.string_data.keys())
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
    }
}

impl fmt::Debug for Secret {
    /// Prints metadata and key names only, never values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("metadata", &self.metadata)
            .field("type", &self.type_)
            .field("keys", &self.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_data_wins_and_debug_hides_values() {
        let mut secret = Secret::opaque(ObjectMeta::named("ns", "s"), [("user", "admin")]);
        secret
            .data
            .insert("password".into(), SecretBytes(b"hunter2".to_vec()));
        secret
            .data
            .insert("user".into(), SecretBytes(b"other".to_vec()));
        assert_eq!(secret.get_str("user").unwrap(), "admin");
        assert_eq!(secret.get("password").unwrap().as_ref(), b"hunter2");
        let debug = format!("{secret:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("admin"),
            "{debug}"
        );
        assert!(debug.contains("password"));
        let json = serde_json::to_value(&secret).unwrap();
        assert_eq!(json["data"]["password"], "aHVudGVyMg==");
    }

    #[test]
    fn invalid_base64_is_rejected_without_echoing_the_value() {
        let err = serde_json::from_str::<SecretBytes>(r#""not base64!!""#).unwrap_err();
        assert!(err.to_string().contains("invalid base64"));
        assert!(!err.to_string().contains("not base64"));
    }
}
