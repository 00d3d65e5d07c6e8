//! `tls_config`: Prometheus' `TLSConfig` settings (CA, client certificate and key, inline, as
//! files or as secret-manager references; server name; verification; TLS versions), their
//! validation with Prometheus' messages and their relative paths. [`super::tls`] turns them
//! into a rustls configuration.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::http_config::{count, fail, join_dir, HttpConfigError};
use super::yaml11::yaml11_bool;
use super::Secret;

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

    pub(crate) fn validate_at(&self, key: &'static str) -> Result<(), HttpConfigError> {
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

    /// Prometheus' error building a TLS configuration whose CA, client certificate or key is a
    /// `*_ref` (`NewTLSConfig` with no secret manager).
    pub fn secret_ref_error(&self) -> Option<String> {
        let unresolved =
            |text: &str, file: &str, r: &str| text.is_empty() && file.is_empty() && !r.is_empty();
        let err = |what: &str| {
            Some(format!(
                "unable to use {what}: {}",
                super::http_config::NO_SECRET_MANAGER
            ))
        };
        if unresolved(&self.ca, &self.ca_file, &self.ca_ref) {
            return err("CA cert");
        }
        if self.using_client_cert() && self.using_client_key() {
            if unresolved(&self.cert, &self.cert_file, &self.cert_ref) {
                return err("client cert");
            }
            if unresolved(self.key.expose(), &self.key_file, &self.key_ref) {
                return err("client key");
            }
        }
        None
    }

    /// Joins relative `ca_file`, `cert_file` and `key_file` with `dir`.
    pub fn resolve_paths(&mut self, dir: &Path) {
        join_dir(dir, &mut self.ca_file);
        join_dir(dir, &mut self.cert_file);
        join_dir(dir, &mut self.key_file);
    }
}

pub(crate) fn is_default_tls(t: &TlsConfig) -> bool {
    *t == TlsConfig::default()
}
