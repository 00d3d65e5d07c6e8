//! Prometheus' common HTTP client settings (`prometheus/common/config`'s `HTTPClientConfig`):
//! authentication, TLS, proxy, redirects and headers, as written inline in a scrape config,
//! an alertmanager config or an HTTP-based SD config.
//!
//! This file holds the settings that compose the others ([`TlsConfig`], [`ProxyConfig`],
//! [`OAuth2`], each in its own module), the validation of the whole with Prometheus' own
//! messages and in its order (`Validate()`), and the resolution of relative file paths against
//! the config file's directory (`SetDirectory`). Reading them inline in an enclosing map is
//! [`super::inline`]'s; building a client from them is [`super::http_client`]'s.
//!
//! In the config's `SdConfig::resolve_paths`, call [`HttpClientConfig::resolve_paths`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, MapAccess};
use serde::{Deserialize, Serialize};

use super::inline::deserialize_alone;
use super::yaml11::Yaml11Bool;
use super::Secret;

// The parts, where callers have always found them.
pub use super::inline::{deserialize_with_inline, InlineKeys, WithInline};
pub use super::oauth2_config::OAuth2;
pub use super::proxy_config::{redact_url, ProxyConfig};
use super::tls_config::is_default_tls;
pub use super::tls_config::{TlsConfig, TlsVersion};
pub use super::yaml11::{opt_yaml11_bool, yaml11_bool};

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

pub(crate) fn fail(
    key: impl Into<String>,
    message: impl Into<String>,
) -> Result<(), HttpConfigError> {
    Err(HttpConfigError {
        key: key.into(),
        message: message.into(),
    })
}

/// prometheus/common's error for a `*_ref` secret with no secret manager (Prometheus has none).
pub const NO_SECRET_MANAGER: &str = "cannot use secret ref without manager";

/// Joins a relative, non-empty path with `dir`, as Prometheus' `JoinDir`.
pub fn join_dir(dir: &Path, path: &mut String) {
    if path.is_empty() || Path::new(path.as_str()).is_absolute() {
        return;
    }
    *path = dir.join(path.as_str()).to_string_lossy().into_owned();
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

pub(crate) fn count(flags: &[bool]) -> usize {
    flags.iter().filter(|b| **b).count()
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
            o.validate()?;
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

    /// Why Prometheus cannot build a client from these settings: a `*_ref` key names a secret in
    /// a secret manager, and Prometheus runs none, so `NewClientFromConfig` fails with this
    /// message (the first ref in its order: TLS, authorization, basic auth, OAuth2). `None`
    /// when no ref is used.
    pub fn secret_ref_error(&self) -> Option<String> {
        let err = |what: &str| Some(format!("unable to use {what}: {NO_SECRET_MANAGER}"));
        if let Some(e) = self.tls_config.secret_ref_error() {
            return Some(e);
        }
        if let Some(a) = &self.authorization {
            if a.credentials.is_empty()
                && a.credentials_file.is_empty()
                && !a.credentials_ref.is_empty()
            {
                return err("credentials");
            }
        }
        if let Some(b) = &self.basic_auth {
            if b.username.is_empty() && b.username_file.is_empty() && !b.username_ref.is_empty() {
                return err("username");
            }
            if b.password.is_empty() && b.password_file.is_empty() && !b.password_ref.is_empty() {
                return err("password");
            }
        }
        if let Some(o) = &self.oauth2 {
            if o.grant_type == super::oauth2_config::GRANT_TYPE_JWT_BEARER {
                if o.client_certificate_key.is_empty()
                    && o.client_certificate_key_file.is_empty()
                    && !o.client_certificate_key_ref.is_empty()
                {
                    return err("client certificate");
                }
            } else if o.client_secret.is_empty()
                && o.client_secret_file.is_empty()
                && !o.client_secret_ref.is_empty()
            {
                return err("client secret");
            }
            // Prometheus meets these when it first fetches a token.
            if let Some(e) = o.tls_config.secret_ref_error() {
                return Some(e);
            }
        }
        None
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
    fn secret_refs_fail_in_prometheus_order() {
        let error = |yaml: &str| parse(yaml).unwrap().secret_ref_error();
        assert_eq!(error("basic_auth: {username: u, password: p}"), None);
        assert_eq!(
            error("tls_config: {cert_ref: c, key_ref: k}\nbasic_auth: {username_ref: u}")
                .as_deref(),
            Some("unable to use client cert: cannot use secret ref without manager")
        );
        assert_eq!(
            error("basic_auth: {username_ref: u, password_ref: p}").as_deref(),
            Some("unable to use username: cannot use secret ref without manager")
        );
        assert_eq!(
            error("oauth2: {client_id: c, token_url: t, grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client_certificate_key_ref: k}").as_deref(),
            Some("unable to use client certificate: cannot use secret ref without manager")
        );
        assert_eq!(
            error(
                "oauth2: {client_id: c, token_url: t, client_secret: s, tls_config: {ca_ref: x}}"
            )
            .as_deref(),
            Some("unable to use CA cert: cannot use secret ref without manager")
        );
    }

    #[test]
    fn canonical_header_keys_match_go() {
        assert_eq!(canonical_header_key("x-foo-BAR"), "X-Foo-Bar");
        assert_eq!(canonical_header_key("with space"), "with space");
    }
}
