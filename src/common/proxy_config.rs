//! The proxy keys of Prometheus' `ProxyConfig` (`proxy_url`, `no_proxy`,
//! `proxy_from_environment`, `proxy_connect_header`), read inline in the HTTP client settings
//! and in `oauth2`; their validation with Prometheus' messages; URLs shown with their password
//! redacted, as Prometheus' `URL.Redacted`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Serialize, Serializer};

use super::http_config::{fail, HttpConfigError};
use super::inline::InlineKeys;
use super::yaml11::Yaml11Bool;
use super::Secret;

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

    pub(crate) fn validate_at(&self, prefix: &'static str) -> Result<(), HttpConfigError> {
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

fn is_false(b: &bool) -> bool {
    !*b
}
