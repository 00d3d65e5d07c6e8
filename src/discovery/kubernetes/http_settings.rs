//! The HTTP client keys of a `kubernetes_sd_config` (Prometheus' inline `<http_config>`), the
//! subset the Kubernetes client can honour, until the shared `common::http_config` lands and
//! replaces this file.
//!
//! Accepted: `basic_auth`, `authorization`, `bearer_token`, `bearer_token_file`, `tls_config`
//! (`ca_file`, `cert_file`, `key_file`, `server_name`, `insecure_skip_verify`),
//! `follow_redirects` and `enable_http2` (both accepted and ignored: the Kubernetes API answers
//! without redirects, and the client speaks HTTP/1.1). Other `<http_config>` keys are rejected as
//! unknown for now. Validation messages are those of Prometheus' `HTTPClientConfig.Validate`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::common::Secret;

/// `basic_auth`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BasicAuth {
    pub username: String,
    pub username_file: String,
    pub password: Secret,
    pub password_file: String,
}

/// `authorization`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Authorization {
    #[serde(rename = "type")]
    pub kind: String,
    pub credentials: Secret,
    pub credentials_file: String,
}

/// `tls_config` (the subset the Kubernetes client can apply).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub ca_file: String,
    pub cert_file: String,
    pub key_file: String,
    pub server_name: String,
    pub insecure_skip_verify: bool,
}

/// The HTTP client settings of one config, validated (`bearer_token*` folded into
/// `authorization`, as Prometheus does).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpSettings {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub tls_config: TlsConfig,
    pub follow_redirects: bool,
    pub enable_http2: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            basic_auth: None,
            authorization: None,
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: true,
        }
    }
}

/// The keys as written, before validation.
#[derive(Default)]
pub struct RawHttpSettings {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub bearer_token: Secret,
    pub bearer_token_file: String,
    pub tls_config: Option<TlsConfig>,
    pub follow_redirects: Option<bool>,
    pub enable_http2: Option<bool>,
}

impl RawHttpSettings {
    /// Prometheus' `HTTPClientConfig.Validate`, for the keys accepted here.
    pub fn validate(self) -> Result<HttpSettings, String> {
        let bearer = !self.bearer_token.is_empty() || !self.bearer_token_file.is_empty();
        if !self.bearer_token.is_empty() && !self.bearer_token_file.is_empty() {
            return Err(
                "at most one of bearer_token & bearer_token_file must be configured".into(),
            );
        }
        if self.basic_auth.is_some() && bearer {
            return Err("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured".into());
        }
        if let Some(b) = &self.basic_auth {
            if !b.username.is_empty() && !b.username_file.is_empty() {
                return Err("at most one of basic_auth username, username_file & username_ref must be configured".into());
            }
            if !b.password.is_empty() && !b.password_file.is_empty() {
                return Err("at most one of basic_auth password, password_file & password_ref must be configured".into());
            }
        }
        let authorization = match self.authorization {
            Some(mut a) => {
                if bearer {
                    return Err(
                        "authorization is not compatible with bearer_token & bearer_token_file"
                            .into(),
                    );
                }
                if !a.credentials.is_empty() && !a.credentials_file.is_empty() {
                    return Err("at most one of authorization credentials & credentials_file must be configured".into());
                }
                a.kind = a.kind.trim().to_owned();
                if a.kind.is_empty() {
                    a.kind = "Bearer".into();
                }
                if a.kind.eq_ignore_ascii_case("basic") {
                    return Err(
                        r#"authorization type cannot be set to "basic", use "basic_auth" instead"#
                            .into(),
                    );
                }
                if self.basic_auth.is_some() {
                    return Err(
                        "at most one of basic_auth, oauth2 & authorization must be configured"
                            .into(),
                    );
                }
                Some(a)
            }
            None if !self.bearer_token.is_empty() => Some(Authorization {
                kind: "Bearer".into(),
                credentials: self.bearer_token,
                credentials_file: String::new(),
            }),
            None if !self.bearer_token_file.is_empty() => Some(Authorization {
                kind: "Bearer".into(),
                credentials: Secret::default(),
                credentials_file: self.bearer_token_file,
            }),
            None => None,
        };
        Ok(HttpSettings {
            basic_auth: self.basic_auth,
            authorization,
            tls_config: self.tls_config.unwrap_or_default(),
            follow_redirects: self.follow_redirects.unwrap_or(true),
            enable_http2: self.enable_http2.unwrap_or(true),
        })
    }
}

impl HttpSettings {
    /// Whether these are Prometheus' default HTTP client settings (nothing configured).
    pub fn is_default(&self) -> bool {
        *self == HttpSettings::default()
    }

    /// The secret values, for the config's identity (never printed).
    pub fn secrets(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some(b) = &self.basic_auth {
            out.push(b.password.expose());
        }
        if let Some(a) = &self.authorization {
            out.push(a.credentials.expose());
        }
        out
    }

    /// Joins relative file paths with `dir`, as Prometheus' `SetDirectory`.
    pub fn resolve_paths(&mut self, dir: &Path) {
        let join = |p: &mut String| {
            if !p.is_empty() && Path::new(p.as_str()).is_relative() {
                *p = dir.join(&*p).to_string_lossy().into_owned();
            }
        };
        if let Some(b) = &mut self.basic_auth {
            join(&mut b.username_file);
            join(&mut b.password_file);
        }
        if let Some(a) = &mut self.authorization {
            join(&mut a.credentials_file);
        }
        join(&mut self.tls_config.ca_file);
        join(&mut self.tls_config.cert_file);
        join(&mut self.tls_config.key_file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_becomes_authorization_and_conflicts_are_prometheus_errors() {
        let s = RawHttpSettings {
            bearer_token: Secret::new("t"),
            ..Default::default()
        }
        .validate()
        .unwrap();
        let a = s.authorization.unwrap();
        assert_eq!((a.kind.as_str(), a.credentials.expose()), ("Bearer", "t"));

        let err = RawHttpSettings {
            bearer_token: Secret::new("t"),
            bearer_token_file: "f".into(),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            err,
            "at most one of bearer_token & bearer_token_file must be configured"
        );
        let err = RawHttpSettings {
            authorization: Some(Authorization {
                kind: "basic".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            err,
            r#"authorization type cannot be set to "basic", use "basic_auth" instead"#
        );
    }
}
