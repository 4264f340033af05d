//! `ForkliftController`: the operator's configuration, with every setting typed and defaulted.
//!
//! Settings keep the CRD's snake_case names. Settings equal to their CRD default are omitted
//! when saving (the configuration stays as short as the user wrote it); absent settings take
//! the default, so loading a saved object gives an equal value. Feature gates and other
//! boolean switches are the strings `"true"`/`"false"`: the guide states the ForkliftController
//! API does not accept YAML booleans for them, and neither do we.

use super::{API_VERSION, resource};

string_enum! {
    /// A boolean written as the string `"true"` or `"false"`.
    pub enum StringBool {
        /// `"true"`.
        True = "true",
        /// `"false"`.
        False = "false",
    }
}

impl StringBool {
    /// The boolean value.
    pub fn as_bool(self) -> bool {
        self == StringBool::True
    }
}

impl From<bool> for StringBool {
    fn from(value: bool) -> Self {
        if value {
            StringBool::True
        } else {
            StringBool::False
        }
    }
}

string_enum! {
    /// Image pull policy of the operator's containers.
    pub enum ImagePullPolicy {
        /// Always pull.
        Always,
        /// Pull when missing.
        IfNotPresent,
        /// Never pull.
        Never,
    }
}

string_enum! {
    /// Output format of the MCP server.
    pub enum McpOutputFormat {
        /// Markdown.
        Markdown = "markdown",
        /// Plain text.
        Text = "text",
        /// JSON.
        Json = "json",
    }
}

resource! {
    /// A `ForkliftController` resource.
    #[derive(Debug, Clone, PartialEq)]
    pub struct ForkliftController(API_VERSION, "ForkliftController") {
        /// The settings.
        #[serde(default)]
        pub spec: ForkliftControllerSettings,
        /// Status written by the Ansible operator (free-form in the CRD).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub status: Option<serde_json::Value>,
    }
    /// A controller with the given metadata and settings.
    pub fn new(metadata, spec: ForkliftControllerSettings);
}

/// Declares the settings struct from one table: each setting written once, as its doc, name,
/// type and CRD default (`name: Type = default`); a setting without default is optional and
/// absent unless written. Generates the struct, `Default` (every setting at its default) and
/// serde: an absent setting takes its default when loading (container `#[serde(default)]`),
/// and a setting equal to its default is omitted when saving, so a saved configuration stays
/// as short as the user wrote it. Defaults are converted with `From`, so strings are written
/// as literals and `StringBool` settings as `true`/`false`.
macro_rules! settings_table {
    (@default) => {
        ::std::default::Default::default()
    };
    (@default $default:expr) => {
        ::std::convert::From::from($default)
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty $(= $default:expr)? ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, ::serde::Deserialize)]
        #[serde(default)]
        pub struct $name {
            $(
                $(#[$field_meta])*
                $(#[doc = concat!("Default `", stringify!($default), "`.")])?
                pub $field: $ty,
            )+
        }

        impl ::std::default::Default for $name {
            /// Every setting at its CRD default.
            fn default() -> Self {
                Self {
                    $( $field: settings_table!(@default $($default)?), )+
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeStruct as _;
                let defaults = Self::default();
                let len = 0 $( + usize::from(self.$field != defaults.$field) )+;
                let mut state = serializer.serialize_struct(stringify!($name), len)?;
                $(
                    if self.$field == defaults.$field {
                        state.skip_field(stringify!($field))?;
                    } else {
                        state.serialize_field(stringify!($field), &self.$field)?;
                    }
                )+
                state.end()
            }
        }
    };
}

mod settings;

pub use settings::ForkliftControllerSettings;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_issue_and_guide() {
        let s = ForkliftControllerSettings::default();
        assert_eq!(s.controller_max_vm_inflight, 20);
        assert_eq!(s.controller_precopy_interval, 60);
        assert_eq!(s.controller_snapshot_status_check_rate_seconds, 10);
        assert_eq!(s.controller_filesystem_overhead, 10);
        assert_eq!(s.controller_block_overhead, 0);
        assert_eq!(s.vsphere_osmap_configmap_name, "forklift-vsphere-osmap");
        assert_eq!(s.ovirt_osmap_configmap_name, "forklift-ovirt-osmap");
        assert_eq!(s.feature_copy_offload, StringBool::True);
        assert_eq!(serde_json::to_value(&s).unwrap(), serde_json::json!({}));
        let parsed: ForkliftControllerSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, s);
    }

    #[test]
    fn feature_gates_reject_yaml_booleans() {
        let err =
            serde_json::from_str::<ForkliftControllerSettings>(r#"{"feature_copy_offload": true}"#)
                .unwrap_err()
                .to_string();
        assert!(err.contains("expected one of true, false"), "{err}");
        let ok: ForkliftControllerSettings =
            serde_json::from_str(r#"{"feature_copy_offload": "false"}"#).unwrap();
        assert!(!ok.feature_copy_offload.as_bool());
    }
}
