//! A secret from the configuration (password, bearer token, client secret): its value is used,
//! never shown. Debug, Display and Serialize print `<secret>`, as Prometheus does — except
//! inside [`identity_of`], which serializes a config with its secrets for the engine's
//! equality key (two configs differing only in a password are two providers). That key is never
//! printed or logged.

use std::cell::Cell;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for building a request. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

thread_local! {
    static REVEAL: Cell<bool> = const { Cell::new(false) };
}

/// The canonical form of a config for `DiscoveryConfig::identity`: its JSON with secrets' real
/// values. Never print or log the result.
pub fn identity_of<T: Serialize>(config: &T) -> String {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            REVEAL.with(|r| r.set(false));
        }
    }
    REVEAL.with(|r| r.set(true));
    let _reset = Reset;
    serde_json::to_string(config).unwrap_or_default()
}

/// Whether secrets print their real values now: only while [`identity_of`] serializes a config.
/// For values that are not [`Secret`]s but hide a part, such as a proxy URL's password.
pub fn revealing() -> bool {
    REVEAL.with(Cell::get)
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if REVEAL.with(Cell::get) {
            s.serialize_str(&self.0)
        } else {
            s.serialize_str("<secret>")
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "<secret> <secret>");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<secret>\"");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn identity_holds_the_value_and_printing_after_it_does_not() {
        let s = Secret::new("hunter2");
        assert_eq!(identity_of(&s), "\"hunter2\"");
        assert_ne!(
            identity_of(&Secret::new("a")),
            identity_of(&Secret::new("b"))
        );
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<secret>\"");
    }
}
