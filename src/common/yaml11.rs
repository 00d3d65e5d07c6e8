//! Booleans as Prometheus' YAML decoder (go-yaml, YAML 1.1) reads them, for keys serde would
//! otherwise read as YAML 1.2 (`yes`/`no`/`on`/`off` are booleans there, not strings).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

/// A boolean as Prometheus' YAML decoder (YAML 1.1) reads it: `true`/`false`, also
/// `yes`/`no`/`on`/`off`/`y`/`n` in their usual casings; `null` is `false` (Go's zero value).
/// Use with `#[serde(deserialize_with = "...")]`.
pub fn yaml11_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    opt_yaml11_bool(d).map(Option::unwrap_or_default)
}

/// Like [`yaml11_bool`], `null` being `None` (Go's nil `*bool`).
pub fn opt_yaml11_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a boolean")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v {
                "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On"
                | "ON" => Ok(Some(true)),
                "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off"
                | "OFF" => Ok(Some(false)),
                _ => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// Reads a YAML 1.1 boolean as a map value.
pub(crate) struct Yaml11Bool;

impl<'de> DeserializeSeed<'de> for Yaml11Bool {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        yaml11_bool(d)
    }
}
