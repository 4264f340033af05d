//! A macro for string enumerations with exact spellings and readable errors.
//!
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

/// Defines a closed string enumeration: serde, `Display`, `FromStr`, `as_str` and `ALL`.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
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
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The exact spelling used in manifests.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::resources::UnknownVariant;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::resources::UnknownVariant {
                        value: s.to_owned(),
                        expected: Self::NAMES,
                    }),
                }
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
                        v.parse().map_err(|e: $crate::resources::UnknownVariant| E::custom(e))
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
        }
    }

    #[test]
    fn parses_exact_spellings_and_names_the_alternatives() {
        assert_eq!("on".parse::<Switch>().unwrap(), Switch::On);
        let err = "On".parse::<Switch>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"unknown variant "On", expected one of on, off"#
        );
        let json: Result<Switch, _> = serde_json::from_str("\"maybe\"");
        assert!(
            json.unwrap_err()
                .to_string()
                .contains(r#"unknown variant "maybe""#)
        );
        assert_eq!(serde_json::to_string(&Switch::Off).unwrap(), "\"off\"");
        assert_eq!(Switch::ALL.len(), Switch::NAMES.len());
    }
}
