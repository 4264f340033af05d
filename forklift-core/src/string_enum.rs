//! Closed string enumerations: the [`string_enum!`] macro and the error its parsing returns.
//!
//! Every enumeration whose values are upstream spellings (CRD enums, phase and pipeline-step
//! names) is declared with this one macro, so they all serialize, print and parse the same way.
//! Derived serde enums report `unknown variant `maybe`, expected one of `on`, `off``; users
//! read these errors at a terminal, so ours say `unknown variant "maybe", expected one of on,
//! off, auto` and the same text comes back from [`std::str::FromStr`].

use std::fmt;

/// A string that is not one of an enumeration's spellings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant {
    /// The rejected text.
    pub value: String,
    /// Every accepted spelling.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown variant {:?}, expected one of {}",
            self.value,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownVariant {}

/// Defines a closed string enumeration with exact, case-sensitive spellings: serde, `Display`,
/// `FromStr`, `as_str`, `parse`, `ALL` and `NAMES`.
///
/// A variant is spelled as its Rust name unless it gives its spelling (`Variant = "text"`),
/// for spellings that are not Rust identifiers or differ from the Rust name.
macro_rules! string_enum {
    (@spelling $variant:ident) => {
        stringify!($variant)
    };
    (@spelling $variant:ident $text:literal) => {
        $text
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident $(= $text:literal)? ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every spelling, in declaration order.
            pub const NAMES: &'static [&'static str] =
                &[$(string_enum!(@spelling $variant $($text)?)),+];

            /// The exact upstream spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => string_enum!(@spelling $variant $($text)?)),+
                }
            }

            /// Parses the exact upstream spelling (case-sensitive); `None` for anything else.
            pub fn parse(text: &str) -> ::std::option::Option<Self> {
                match text {
                    $(string_enum!(@spelling $variant $($text)?) => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::string_enum::UnknownVariant;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| $crate::string_enum::UnknownVariant {
                    value: s.to_owned(),
                    expected: Self::NAMES,
                })
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                struct Visitor;
                impl ::serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        write!(f, "one of {}", $name::NAMES.join(", "))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> ::std::result::Result<$name, E> {
                        v.parse().map_err(|e: $crate::string_enum::UnknownVariant| E::custom(e))
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    string_enum! {
        /// Test enumeration.
        enum Switch {
            /// On.
            On = "on",
            /// Off.
            Off = "off",
            /// Spelled as its Rust name.
            Auto,
        }
    }

    #[test]
    fn parses_exact_spellings_and_names_the_alternatives() {
        assert_eq!("on".parse::<Switch>().unwrap(), Switch::On);
        assert_eq!(Switch::parse("Auto"), Some(Switch::Auto));
        assert_eq!(Switch::parse("auto"), None);
        let err = "On".parse::<Switch>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"unknown variant "On", expected one of on, off, Auto"#
        );
        let json: Result<Switch, _> = serde_json::from_str("\"maybe\"");
        assert!(
            json.unwrap_err()
                .to_string()
                .contains(r#"unknown variant "maybe""#)
        );
        assert_eq!(serde_json::to_string(&Switch::Off).unwrap(), "\"off\"");
        assert_eq!(serde_json::to_string(&Switch::Auto).unwrap(), "\"Auto\"");
        assert_eq!(Switch::Auto.to_string(), "Auto");
        assert_eq!(Switch::ALL.len(), Switch::NAMES.len());
    }
}
