//! Prometheus' common HTTP client settings (`prometheus/common/config`'s `HTTPClientConfig`):
//! authentication, TLS, proxy, redirects and headers, as written inline in a scrape config,
//! an alertmanager config or an HTTP-based SD config.
//!
//! This file holds the settings, their validation with Prometheus' own messages (`Validate()`),
//! and the resolution of relative file paths against the config file's directory
//! (`SetDirectory`). Building a client from them lives elsewhere.
//!
//! # Inline keys
//! Go inlines these keys into the enclosing map (`yaml:",inline"`). serde's `flatten` cannot be
//! combined with `deny_unknown_fields` and loses YAML positions, so embedding works with
//! [`InlineKeys`] and [`WithInline`] instead: the enclosing struct derives its own keys with
//! `#[serde(remote = "Self", deny_unknown_fields)]` and skips the embedded field; the
//! [`inline_struct!`](crate::inline_struct) macro gives it a `Deserialize` that routes each key,
//! as it is read, either to the derived code or to the embedded settings. An unknown key is
//! still an error at the key's line and column.
//!
//! ```
//! use promsd::common::http_config::HttpClientConfig;
//! use serde::Deserialize;
//!
//! #[derive(Debug, Deserialize)]
//! #[serde(remote = "Self", deny_unknown_fields)]
//! pub struct MySdConfig {
//!     url: String,
//!     #[serde(skip)]
//!     http_client_config: HttpClientConfig,
//! }
//!
//! // Optional: checks run once the map is read, here Prometheus' own HTTP checks.
//! fn check(c: &mut MySdConfig) -> Result<(), String> {
//!     c.http_client_config.validate().map_err(|e| e.to_string())
//! }
//! promsd::inline_struct!(MySdConfig, http_client_config: HttpClientConfig, finish = check);
//!
//! let c: MySdConfig = serde_yaml::from_str("url: http://a\nbearer_token: t\n").unwrap();
//! assert_eq!(c.url, "http://a");
//! // Validation moved the deprecated bearer_token into authorization, as Prometheus does.
//! assert_eq!(c.http_client_config.authorization.unwrap().kind, "Bearer");
//! let err = serde_yaml::from_str::<MySdConfig>("url: x\nbearer_tokn: t\n").unwrap_err();
//! assert_eq!(err.location().unwrap().line(), 2);
//! assert!(err.to_string().contains("unknown field `bearer_tokn`"));
//! let err = serde_yaml::from_str::<MySdConfig>("url: x\nbasic_auth: {}\nbearer_token: t\n");
//! assert!(err.is_err());
//! ```
//!
//! In the config's `SdConfig::resolve_paths`, call [`HttpClientConfig::resolve_paths`].

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::Secret;

// ---------------------------------------------------------------------------------------------
// Inline keys

/// A group of keys read inline in an enclosing YAML map (Go's `yaml:",inline"`).
pub trait InlineKeys: Default {
    /// Whether `key` belongs to this group; `Err(message)` rejects the key where it stands.
    fn claims(key: &str) -> Result<bool, String>;

    /// Reads the value of a claimed `key`.
    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

/// Two groups read inline in the same map; the first claims a key first.
impl<X: InlineKeys, Y: InlineKeys> InlineKeys for (X, Y) {
    fn claims(key: &str) -> Result<bool, String> {
        Ok(X::claims(key)? || Y::claims(key)?)
    }

    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        if X::claims(key).unwrap_or(false) {
            self.0.read_value(key, map)
        } else {
            self.1.read_value(key, map)
        }
    }
}

/// A struct whose own keys are derived by serde (with `#[serde(remote = "Self")]`) and that
/// embeds an [`InlineKeys`] group. Implement it with [`inline_struct!`](crate::inline_struct).
pub trait WithInline<'de>: Sized {
    type Inline: InlineKeys;

    /// The derived deserializer (the inherent `Self::deserialize` that `remote = "Self"` makes).
    fn deserialize_own<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;

    /// Stores the embedded group after the map has been read.
    fn set_inline(&mut self, inline: Self::Inline);

    /// Checks run once the whole map has been read; the message becomes a YAML error.
    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// Deserializes a [`WithInline`] struct from a map (or `null`, read as an empty map).
pub fn deserialize_with_inline<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: WithInline<'de>,
{
    d.deserialize_map(InlineVisitor(PhantomData))
}

struct InlineVisitor<T>(PhantomData<T>);

impl<'de, T: WithInline<'de>> Visitor<'de> for InlineVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        let empty = de::value::MapDeserializer::<_, E>::new(std::iter::empty::<(String, String)>());
        let mut value = T::deserialize_own(empty)?;
        value.finish().map_err(E::custom)?;
        Ok(value)
    }

    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        self.visit_unit()
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        let mut inline = T::Inline::default();
        let routed = RoutedMap {
            map,
            inline: &mut inline,
        };
        let mut value = T::deserialize_own(de::value::MapAccessDeserializer::new(routed))?;
        value.set_inline(inline);
        value.finish().map_err(de::Error::custom)?;
        Ok(value)
    }
}

/// A map that hands the keys of the inline group to it and the others to the derived code.
struct RoutedMap<'a, A, I> {
    map: A,
    inline: &'a mut I,
}

impl<'de, A: MapAccess<'de>, I: InlineKeys> MapAccess<'de> for RoutedMap<'_, A, I> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = Some(seed);
        loop {
            let routed = self.map.next_key_seed(KeyRouter::<K, I> {
                seed: &mut seed,
                inline: PhantomData,
            })?;
            match routed {
                None => return Ok(None),
                Some(Routed::Own(value)) => return Ok(Some(value)),
                Some(Routed::Inline(key)) => self.inline.read_value(&key, &mut self.map)?,
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        None
    }
}

enum Routed<T> {
    Own(T),
    Inline(String),
}

/// Reads a key where it stands in the input (so errors about it carry its position) and
/// routes it.
struct KeyRouter<'s, K, I> {
    seed: &'s mut Option<K>,
    inline: PhantomData<I>,
}

impl<'de, K: DeserializeSeed<'de>, I: InlineKeys> DeserializeSeed<'de> for KeyRouter<'_, K, I> {
    type Value = Routed<K::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>, I: InlineKeys> Visitor<'de> for KeyRouter<'_, K, I> {
    type Value = Routed<K::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if I::claims(key).map_err(E::custom)? {
            return Ok(Routed::Inline(key.to_owned()));
        }
        let seed = self
            .seed
            .take()
            .expect("a key is routed to the derived code once");
        // The derived code rejects only unknown keys here; its list of expected keys would
        // leave the inline ones out, so it is not repeated.
        seed.deserialize(de::value::StrDeserializer::<E>::new(key))
            .map(Routed::Own)
            .map_err(|_| E::custom(format_args!("unknown field `{key}`")))
    }
}

/// Gives a struct with `#[serde(remote = "Self")]` and a skipped embedded field a `Deserialize`
/// that reads the embedded group's keys inline. An optional `finish = path` names a
/// `fn(&mut Self) -> Result<(), String>` run after reading.
#[macro_export]
macro_rules! inline_struct {
    ($ty:ty, $field:ident : $inline:ty $(, finish = $finish:path)?) => {
        impl<'de> $crate::common::http_config::WithInline<'de> for $ty {
            type Inline = $inline;

            fn deserialize_own<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$ty>::deserialize(d)
            }

            fn set_inline(&mut self, inline: $inline) {
                self.$field = inline;
            }

            $(fn finish(&mut self) -> Result<(), String> {
                $finish(self)
            })?
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::common::http_config::deserialize_with_inline(d)
            }
        }
    };
}

/// Deserializes a group of inline keys standing alone as a map, unknown keys being errors.
fn deserialize_alone<'de, D: Deserializer<'de>, I: InlineKeys>(
    d: D,
    keys: &'static [&'static str],
) -> Result<I, D::Error> {
    struct Alone<I>(&'static [&'static str], PhantomData<I>);

    impl<'de, I: InlineKeys> Visitor<'de> for Alone<I> {
        type Value = I;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map")
        }

        fn visit_unit<E: de::Error>(self) -> Result<I, E> {
            Ok(I::default())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<I, A::Error> {
            let mut out = I::default();
            while let Some(key) = map.next_key_seed(KnownKey::<I>(self.0, PhantomData))? {
                out.read_value(&key, &mut map)?;
            }
            Ok(out)
        }
    }

    d.deserialize_map(Alone::<I>(keys, PhantomData))
}

/// A key that must be claimed by `I`, checked where it stands.
struct KnownKey<I>(&'static [&'static str], PhantomData<I>);

impl<'de, I: InlineKeys> DeserializeSeed<'de> for KnownKey<I> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, I: InlineKeys> Visitor<'de> for KnownKey<I> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        if I::claims(key).map_err(E::custom)? {
            Ok(key.to_owned())
        } else {
            Err(E::unknown_field(key, self.0))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The settings

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
struct Yaml11Bool;

impl<'de> DeserializeSeed<'de> for Yaml11Bool {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        yaml11_bool(d)
    }
}

/// Why HTTP client settings are invalid: Prometheus' message, and the key it is about
/// (a path relative to the map holding the settings, such as `oauth2.client_id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfigError {
    pub key: String,
    pub message: String,
}

impl fmt::Display for HttpConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HttpConfigError {}

fn fail(key: impl Into<String>, message: impl Into<String>) -> Result<(), HttpConfigError> {
    Err(HttpConfigError {
        key: key.into(),
        message: message.into(),
    })
}

/// Joins a relative, non-empty path with `dir`, as Prometheus' `JoinDir`.
pub fn join_dir(dir: &Path, path: &mut String) {
    if path.is_empty() || Path::new(path.as_str()).is_absolute() {
        return;
    }
    *path = dir.join(path.as_str()).to_string_lossy().into_owned();
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `basic_auth`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BasicAuth {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username_ref: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub password: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password_ref: String,
}

/// `authorization`: an `Authorization: <type> <credentials>` header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Authorization {
    /// `Bearer` when empty (set by validation).
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub credentials: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub credentials_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub credentials_ref: String,
}

/// A TLS protocol version as written in `min_version` / `max_version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl TlsVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls10 => "TLS10",
            TlsVersion::Tls11 => "TLS11",
            TlsVersion::Tls12 => "TLS12",
            TlsVersion::Tls13 => "TLS13",
        }
    }
}

impl Serialize for TlsVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TlsVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor, so that an unknown version is reported where it stands.
        struct V;
        impl Visitor<'_> for V {
            type Value = TlsVersion;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a TLS version (TLS10, TLS11, TLS12, TLS13)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TlsVersion, E> {
                [
                    TlsVersion::Tls10,
                    TlsVersion::Tls11,
                    TlsVersion::Tls12,
                    TlsVersion::Tls13,
                ]
                .into_iter()
                .find(|v| v.as_str() == s)
                .ok_or_else(|| E::custom(format!("unknown TLS version: {s}")))
            }
        }
        d.deserialize_str(V)
    }
}

/// `tls_config`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub key: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca_ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    #[serde(deserialize_with = "yaml11_bool")]
    pub insecure_skip_verify: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_version: Option<TlsVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_version: Option<TlsVersion>,
}

fn count(flags: &[bool]) -> usize {
    flags.iter().filter(|b| **b).count()
}

impl TlsConfig {
    fn using_client_cert(&self) -> bool {
        !self.cert.is_empty() || !self.cert_file.is_empty() || !self.cert_ref.is_empty()
    }

    fn using_client_key(&self) -> bool {
        !self.key.is_empty() || !self.key_file.is_empty() || !self.key_ref.is_empty()
    }

    /// Prometheus' `TLSConfig.Validate`; `key` names the errors' keys relative to the settings.
    pub fn validate(&self) -> Result<(), HttpConfigError> {
        self.validate_at("tls_config")
    }

    fn validate_at(&self, key: &'static str) -> Result<(), HttpConfigError> {
        if count(&[
            !self.ca.is_empty(),
            !self.ca_file.is_empty(),
            !self.ca_ref.is_empty(),
        ]) > 1
        {
            return fail(
                format!("{key}.ca_file"),
                "at most one of ca, ca_file & ca_ref must be configured",
            );
        }
        if count(&[
            !self.cert.is_empty(),
            !self.cert_file.is_empty(),
            !self.cert_ref.is_empty(),
        ]) > 1
        {
            return fail(
                format!("{key}.cert_file"),
                "at most one of cert, cert_file & cert_ref must be configured",
            );
        }
        if count(&[
            !self.key.is_empty(),
            !self.key_file.is_empty(),
            !self.key_ref.is_empty(),
        ]) > 1
        {
            return fail(
                format!("{key}.key_file"),
                "at most one of key and key_file must be configured",
            );
        }
        let first_set = |names: [(&'static str, bool); 3]| -> String {
            let name = names.iter().find(|(_, set)| *set).map_or("", |(n, _)| n);
            format!("{key}.{name}")
        };
        let cert = first_set([
            ("cert", !self.cert.is_empty()),
            ("cert_file", !self.cert_file.is_empty()),
            ("cert_ref", !self.cert_ref.is_empty()),
        ]);
        let client_key = first_set([
            ("key", !self.key.is_empty()),
            ("key_file", !self.key_file.is_empty()),
            ("key_ref", !self.key_ref.is_empty()),
        ]);
        if self.using_client_cert() && !self.using_client_key() {
            return fail(
                cert,
                "exactly one of key or key_file must be configured when a client certificate is configured",
            );
        }
        if self.using_client_key() && !self.using_client_cert() {
            return fail(
                client_key,
                "exactly one of cert or cert_file must be configured when a client key is configured",
            );
        }
        Ok(())
    }

    /// Joins relative `ca_file`, `cert_file` and `key_file` with `dir`.
    pub fn resolve_paths(&mut self, dir: &Path) {
        join_dir(dir, &mut self.ca_file);
        join_dir(dir, &mut self.cert_file);
        join_dir(dir, &mut self.key_file);
    }
}

/// The proxy keys (`proxy_url`, `no_proxy`, `proxy_from_environment`, `proxy_connect_header`),
/// inline in the HTTP settings and in `oauth2`.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProxyConfig {
    #[serde(
        skip_serializing_if = "String::is_empty",
        serialize_with = "serialize_redacted_url"
    )]
    pub proxy_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub no_proxy: String,
    #[serde(skip_serializing_if = "is_false")]
    pub proxy_from_environment: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("proxy_url", &redact_url(&self.proxy_url))
            .field("no_proxy", &self.no_proxy)
            .field("proxy_from_environment", &self.proxy_from_environment)
            .field("proxy_connect_header", &self.proxy_connect_header)
            .finish()
    }
}

/// Prints a URL with its password replaced by `xxxxx`, as Prometheus' `URL.Redacted`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("xxxxx"));
            u.to_string()
        }
        _ => raw.to_owned(),
    }
}

fn serialize_redacted_url<S: Serializer>(raw: &str, s: S) -> Result<S::Ok, S::Error> {
    if super::secret::revealing() {
        // The identity of a config includes the proxy's password: two configs that differ in
        // it are two providers.
        return s.serialize_str(raw);
    }
    s.serialize_str(&redact_url(raw))
}

const PROXY_KEYS: &[&str] = &[
    "proxy_url",
    "no_proxy",
    "proxy_from_environment",
    "proxy_connect_header",
];

impl InlineKeys for ProxyConfig {
    fn claims(key: &str) -> Result<bool, String> {
        Ok(PROXY_KEYS.contains(&key))
    }

    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "proxy_url" => self.proxy_url = map.next_value_seed(CheckedUrl)?,
            "no_proxy" => self.no_proxy = map.next_value::<Option<String>>()?.unwrap_or_default(),
            "proxy_from_environment" => {
                self.proxy_from_environment = map.next_value_seed(Yaml11Bool)?
            }
            "proxy_connect_header" => {
                self.proxy_connect_header = map
                    .next_value::<Option<BTreeMap<String, Vec<Secret>>>>()?
                    .unwrap_or_default()
            }
            _ => unreachable!("not a proxy key: {key}"),
        }
        Ok(())
    }
}

/// A URL checked where it stands in the input (`null` is no URL).
struct CheckedUrl;

impl<'de> DeserializeSeed<'de> for CheckedUrl {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for CheckedUrl {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a URL")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        check_url(v).map_err(E::custom)?;
        Ok(v.to_owned())
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }
}

/// Replaces the password of a URL that does not parse, so that error messages never show it.
fn redact_userinfo(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return raw.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:xxxxx@{host}{path}")
        }
        _ => raw.to_owned(),
    }
}

/// The few URLs Go's `url.Parse` rejects that matter in configs: bad escapes, control
/// characters, an unclosed IPv6 bracket.
fn check_url(raw: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("parse {:?}: {why}", redact_userinfo(raw)));
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return bad("net/url: invalid control character in URL");
    }
    let bytes = raw.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let ok = bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !ok {
                let end = (i + 3).min(raw.len());
                return bad(&format!(
                    "invalid URL escape {:?}",
                    raw.get(i..end).unwrap_or("%")
                ));
            }
        }
    }
    if let Some(rest) = raw.split_once("://").map(|(_, r)| r) {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        if host.starts_with('[') && !host.contains(']') {
            return bad("missing ']' in host");
        }
    }
    Ok(())
}

impl ProxyConfig {
    /// Prometheus' `ProxyConfig.Validate`.
    pub fn validate(&self) -> Result<(), HttpConfigError> {
        self.validate_at("")
    }

    fn validate_at(&self, prefix: &'static str) -> Result<(), HttpConfigError> {
        let key = |k: &'static str| -> &'static str {
            match (prefix, k) {
                ("", k) => k,
                (_, "proxy_connect_header") => "oauth2.proxy_connect_header",
                (_, "proxy_from_environment") => "oauth2.proxy_from_environment",
                (_, _) => "oauth2.no_proxy",
            }
        };
        if !self.proxy_connect_header.is_empty()
            && !self.proxy_from_environment
            && self.proxy_url.is_empty()
        {
            return fail(
                key("proxy_connect_header"),
                "if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured",
            );
        }
        if self.proxy_from_environment && !self.proxy_url.is_empty() {
            return fail(
                key("proxy_from_environment"),
                "if proxy_from_environment is configured, proxy_url must not be configured",
            );
        }
        if self.proxy_from_environment && !self.no_proxy.is_empty() {
            return fail(
                key("proxy_from_environment"),
                "if proxy_from_environment is configured, no_proxy must not be configured",
            );
        }
        if self.proxy_url.is_empty() && !self.no_proxy.is_empty() {
            return fail(
                key("no_proxy"),
                "if no_proxy is configured, proxy_url must also be configured",
            );
        }
        Ok(())
    }
}

const GRANT_TYPE_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// `oauth2`: client credentials (or JWT bearer) token fetching.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields, default)]
pub struct OAuth2 {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub client_secret: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_secret_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_secret_ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_certificate_key_id: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub client_certificate_key: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_certificate_key_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_certificate_key_ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub grant_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub signature_algorithm: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub iss: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub audience: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, serde_yaml::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoint_params: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_default_tls")]
    pub tls_config: TlsConfig,
    #[serde(skip)]
    pub proxy: ProxyConfig,
}

fn is_default_tls(t: &TlsConfig) -> bool {
    *t == TlsConfig::default()
}

crate::inline_struct!(OAuth2, proxy: ProxyConfig);

impl Serialize for OAuth2 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Full<'a> {
            #[serde(flatten)]
            own: Own<'a>,
            #[serde(flatten)]
            proxy: &'a ProxyConfig,
        }
        struct Own<'a>(&'a OAuth2);
        impl Serialize for Own<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                OAuth2::serialize(self.0, s)
            }
        }
        Full {
            own: Own(self),
            proxy: &self.proxy,
        }
        .serialize(s)
    }
}

/// One header of `http_headers`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Header {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// Headers Prometheus sets itself, which `http_headers` may not set (canonical form).
const RESERVED_HEADERS: &[&str] = &[
    "Authorization",
    "Host",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "User-Agent",
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Www-Authenticate",
    "Accept-Encoding",
    "X-Prometheus-Remote-Write-Version",
    "X-Prometheus-Remote-Read-Version",
    "X-Prometheus-Scrape-Timeout-Seconds",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
];

/// Go's `http.CanonicalHeaderKey`: `x-foo-bar` → `X-Foo-Bar`; a key with a byte that is not a
/// token character is returned unchanged.
pub fn canonical_header_key(key: &str) -> String {
    let is_token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !key.bytes().all(is_token) {
        return key.to_owned();
    }
    let mut upper = true;
    key.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// The HTTP client settings Prometheus' `HTTPClientConfig` holds, read inline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HttpClientConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2>,
    /// Deprecated; validation moves it into `authorization`, as Prometheus does.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub bearer_token: Secret,
    /// Deprecated; validation moves it into `authorization`, as Prometheus does.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bearer_token_file: String,
    #[serde(skip_serializing_if = "is_default_tls")]
    pub tls_config: TlsConfig,
    pub follow_redirects: bool,
    pub enable_http2: bool,
    #[serde(flatten)]
    pub proxy: ProxyConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<BTreeMap<String, Header>>,
}

impl Default for HttpClientConfig {
    /// Prometheus' `DefaultHTTPClientConfig`: follow redirects, HTTP/2 on.
    fn default() -> Self {
        HttpClientConfig {
            basic_auth: None,
            authorization: None,
            oauth2: None,
            bearer_token: Secret::default(),
            bearer_token_file: String::new(),
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: true,
            proxy: ProxyConfig::default(),
            http_headers: None,
        }
    }
}

impl HttpClientConfig {
    /// Every key the settings accept.
    pub const KEYS: &'static [&'static str] = &[
        "basic_auth",
        "authorization",
        "oauth2",
        "bearer_token",
        "bearer_token_file",
        "tls_config",
        "follow_redirects",
        "enable_http2",
        "proxy_url",
        "no_proxy",
        "proxy_from_environment",
        "proxy_connect_header",
        "http_headers",
    ];

    /// Prometheus' `HTTPClientConfig.Validate`, with its messages and in its order; like it,
    /// moves `bearer_token(_file)` into `authorization` and defaults the authorization type
    /// to `Bearer`.
    pub fn validate(&mut self) -> Result<(), HttpConfigError> {
        self.tls_config.validate_at("tls_config")?;
        if let Some(o) = &self.oauth2 {
            o.tls_config.validate_at("oauth2.tls_config")?;
            o.proxy.validate_at("oauth2")?;
        }
        let has_token = !self.bearer_token.is_empty();
        let has_token_file = !self.bearer_token_file.is_empty();
        if has_token && has_token_file {
            return fail(
                "bearer_token_file",
                "at most one of bearer_token & bearer_token_file must be configured",
            );
        }
        if (self.basic_auth.is_some() || self.oauth2.is_some()) && (has_token || has_token_file) {
            return fail(
                if has_token {
                    "bearer_token"
                } else {
                    "bearer_token_file"
                },
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            );
        }
        if let Some(b) = &self.basic_auth {
            if count(&[
                !b.username.is_empty(),
                !b.username_file.is_empty(),
                !b.username_ref.is_empty(),
            ]) > 1
            {
                return fail(
                    "basic_auth.username_file",
                    "at most one of basic_auth username, username_file & username_ref must be configured",
                );
            }
            if count(&[
                !b.password.is_empty(),
                !b.password_file.is_empty(),
                !b.password_ref.is_empty(),
            ]) > 1
            {
                return fail(
                    "basic_auth.password_file",
                    "at most one of basic_auth password, password_file & password_ref must be configured",
                );
            }
        }
        if let Some(a) = &mut self.authorization {
            if has_token || has_token_file {
                return fail(
                    "authorization",
                    "authorization is not compatible with bearer_token & bearer_token_file",
                );
            }
            if count(&[
                !a.credentials.is_empty(),
                !a.credentials_file.is_empty(),
                !a.credentials_ref.is_empty(),
            ]) > 1
            {
                return fail(
                    "authorization.credentials_file",
                    "at most one of authorization credentials & credentials_file must be configured",
                );
            }
            a.kind = a.kind.trim().to_owned();
            if a.kind.is_empty() {
                a.kind = "Bearer".to_owned();
            }
            if a.kind.eq_ignore_ascii_case("basic") {
                return fail(
                    "authorization.type",
                    r#"authorization type cannot be set to "basic", use "basic_auth" instead"#,
                );
            }
            if self.basic_auth.is_some() || self.oauth2.is_some() {
                return fail(
                    "authorization",
                    "at most one of basic_auth, oauth2 & authorization must be configured",
                );
            }
        } else {
            if has_token {
                self.authorization = Some(Authorization {
                    kind: "Bearer".to_owned(),
                    credentials: std::mem::take(&mut self.bearer_token),
                    ..Authorization::default()
                });
            }
            if has_token_file {
                self.authorization = Some(Authorization {
                    kind: "Bearer".to_owned(),
                    credentials_file: std::mem::take(&mut self.bearer_token_file),
                    ..Authorization::default()
                });
            }
        }
        if let Some(o) = &self.oauth2 {
            if self.basic_auth.is_some() {
                return fail(
                    "oauth2",
                    "at most one of basic_auth, oauth2 & authorization must be configured",
                );
            }
            if o.client_id.is_empty() {
                return fail("oauth2", "oauth2 client_id must be configured");
            }
            if o.token_url.is_empty() {
                return fail("oauth2", "oauth2 token_url must be configured");
            }
            if o.grant_type == GRANT_TYPE_JWT_BEARER {
                if count(&[
                    !o.client_certificate_key.is_empty(),
                    !o.client_certificate_key_file.is_empty(),
                    !o.client_certificate_key_ref.is_empty(),
                ]) > 1
                {
                    return fail(
                        "oauth2",
                        "at most one of oauth2 client_certificate_key, client_certificate_key_file & client_certificate_key_ref must be configured using grant-type=urn:ietf:params:oauth:grant-type:jwt-bearer",
                    );
                }
                if !o.signature_algorithm.is_empty()
                    && !["RS256", "RS384", "RS512"].contains(&o.signature_algorithm.as_str())
                {
                    return fail(
                        "oauth2.signature_algorithm",
                        "valid signature algorithms are RS256, RS384 and RS512",
                    );
                }
            } else if count(&[
                !o.client_secret.is_empty(),
                !o.client_secret_file.is_empty(),
                !o.client_secret_ref.is_empty(),
            ]) > 1
            {
                return fail(
                    "oauth2",
                    "at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured using grant-type=client_credentials",
                );
            }
        }
        self.proxy.validate_at("")?;
        if let Some(headers) = &self.http_headers {
            for name in headers.keys() {
                let canonical = canonical_header_key(name);
                if RESERVED_HEADERS.contains(&canonical.as_str()) {
                    return fail(
                        format!("http_headers.{name}"),
                        format!("setting header {canonical:?} is not allowed"),
                    );
                }
            }
        }
        Ok(())
    }

    /// Prometheus' `SetDirectory`: joins relative file paths with the config file's directory.
    pub fn resolve_paths(&mut self, dir: &Path) {
        self.tls_config.resolve_paths(dir);
        if let Some(b) = &mut self.basic_auth {
            join_dir(dir, &mut b.password_file);
            join_dir(dir, &mut b.username_file);
        }
        if let Some(a) = &mut self.authorization {
            join_dir(dir, &mut a.credentials_file);
        }
        if let Some(o) = &mut self.oauth2 {
            join_dir(dir, &mut o.client_secret_file);
            o.tls_config.resolve_paths(dir);
        }
        if let Some(headers) = &mut self.http_headers {
            for h in headers.values_mut() {
                for f in &mut h.files {
                    join_dir(dir, f);
                }
            }
        }
        join_dir(dir, &mut self.bearer_token_file);
    }
}

impl InlineKeys for HttpClientConfig {
    fn claims(key: &str) -> Result<bool, String> {
        Ok(Self::KEYS.contains(&key))
    }

    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            // A null section is no section (Go's nil pointer).
            "basic_auth" => self.basic_auth = map.next_value()?,
            "authorization" => self.authorization = map.next_value()?,
            "oauth2" => self.oauth2 = map.next_value()?,
            "bearer_token" => {
                self.bearer_token = map.next_value::<Option<Secret>>()?.unwrap_or_default()
            }
            "bearer_token_file" => {
                self.bearer_token_file = map.next_value::<Option<String>>()?.unwrap_or_default()
            }
            "tls_config" => {
                self.tls_config = map.next_value::<Option<TlsConfig>>()?.unwrap_or_default()
            }
            "follow_redirects" => self.follow_redirects = map.next_value_seed(Yaml11Bool)?,
            "enable_http2" => self.enable_http2 = map.next_value_seed(Yaml11Bool)?,
            "http_headers" => {
                self.http_headers = map
                    .next_value::<Option<BTreeMap<String, Option<Header>>>>()?
                    .map(|headers| {
                        headers
                            .into_iter()
                            .map(|(k, v)| (k, v.unwrap_or_default()))
                            .collect()
                    })
            }
            proxy => self.proxy.read_value(proxy, map)?,
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for HttpClientConfig {
    /// Reads the settings standing alone as a map (unknown keys are errors) and validates them.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut c: HttpClientConfig = deserialize_alone(d, Self::KEYS)?;
        c.validate().map_err(de::Error::custom)?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<HttpClientConfig, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_follow_redirects_and_http2() {
        let c = parse("{}").unwrap();
        assert!(c.follow_redirects && c.enable_http2);
        assert_eq!(c, HttpClientConfig::default());
    }

    #[test]
    fn null_sections_are_absent() {
        let c = parse("basic_auth: ~\nauthorization:\noauth2: null\nhttp_headers:\n").unwrap();
        assert_eq!(c, HttpClientConfig::default());
    }

    #[test]
    fn bearer_token_becomes_authorization() {
        let c = parse("bearer_token: abc").unwrap();
        let a = c.authorization.unwrap();
        assert_eq!(a.kind, "Bearer");
        assert_eq!(a.credentials.expose(), "abc");
        assert!(c.bearer_token.is_empty());
        let c = parse("bearer_token_file: /t").unwrap();
        assert_eq!(c.authorization.unwrap().credentials_file, "/t");
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        for (yaml, message) in [
            (
                "bearer_token: a\nbearer_token_file: b",
                "at most one of bearer_token & bearer_token_file must be configured",
            ),
            (
                "basic_auth: {username: u}\nbearer_token: a",
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            ),
            (
                "authorization: {type: Basic}",
                r#"authorization type cannot be set to "basic", use "basic_auth" instead"#,
            ),
            (
                "authorization: {credentials: a}\nbasic_auth: {username: u}",
                "at most one of basic_auth, oauth2 & authorization must be configured",
            ),
            ("oauth2: {token_url: http://t}", "oauth2 client_id must be configured"),
            ("oauth2: {client_id: c}", "oauth2 token_url must be configured"),
            (
                "tls_config: {cert_file: c}",
                "exactly one of key or key_file must be configured when a client certificate is configured",
            ),
            (
                "tls_config: {ca: a, ca_file: b}",
                "at most one of ca, ca_file & ca_ref must be configured",
            ),
            (
                "no_proxy: localhost",
                "if no_proxy is configured, proxy_url must also be configured",
            ),
            (
                "proxy_from_environment: true\nproxy_url: http://p",
                "if proxy_from_environment is configured, proxy_url must not be configured",
            ),
            (
                "http_headers: {user-agent: {values: [x]}}",
                r#"setting header "User-Agent" is not allowed"#,
            ),
            ("tls_config: {min_version: TLS14}", "unknown TLS version: TLS14"),
        ] {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(message), "{yaml:?}: {err}");
        }
    }

    #[test]
    fn unknown_keys_are_errors_at_their_position() {
        let err = serde_yaml::from_str::<HttpClientConfig>("follow_redirects: true\nbearer: x\n")
            .unwrap_err();
        let loc = err.location().unwrap();
        assert_eq!((loc.line(), loc.column()), (2, 1));
        assert!(err.to_string().contains("unknown field `bearer`"), "{err}");
        let err = serde_yaml::from_str::<HttpClientConfig>("oauth2:\n  client_id: a\n  nope: 1\n")
            .unwrap_err();
        assert_eq!(err.location().unwrap().line(), 3, "{err}");
    }

    #[test]
    fn oauth2_reads_its_inline_proxy_keys() {
        let c =
            parse("oauth2: {client_id: a, token_url: http://t, proxy_url: http://p:3128}").unwrap();
        assert_eq!(c.oauth2.unwrap().proxy.proxy_url, "http://p:3128");
    }

    #[test]
    fn relative_files_join_the_config_directory() {
        let mut c = parse(
            "basic_auth: {username: u, password_file: pw}\ntls_config: {ca_file: /abs/ca, cert_file: c, key_file: k}",
        )
        .unwrap();
        c.resolve_paths(Path::new("/etc/prom"));
        assert_eq!(c.basic_auth.as_ref().unwrap().password_file, "/etc/prom/pw");
        assert_eq!(c.tls_config.ca_file, "/abs/ca");
        assert_eq!(c.tls_config.cert_file, "/etc/prom/c");
    }

    #[test]
    fn secrets_never_print() {
        let c = parse(
            "basic_auth: {username: u, password: hunter2}\nproxy_url: http://u:pw1@p:3128\nproxy_connect_header: {X: [hunter3]}\nhttp_headers: {X-A: {secrets: [hunter4]}}",
        )
        .unwrap();
        let shown = format!("{c:?}\n{}", serde_yaml::to_string(&c).unwrap());
        for secret in ["hunter2", "hunter3", "hunter4", "pw1"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(serde_yaml::to_string(&c)
            .unwrap()
            .contains("http://u:xxxxx@p:3128"));
    }

    #[test]
    fn canonical_header_keys_match_go() {
        assert_eq!(canonical_header_key("x-foo-BAR"), "X-Foo-Bar");
        assert_eq!(canonical_header_key("with space"), "with space");
    }
}
