//! `oauth2`: Prometheus' `OAuth2` settings (client credentials or the JWT-bearer grant, its
//! own `tls_config` and proxy keys), with Prometheus' messages. [`super::http_client`] fetches
//! the tokens.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::http_config::{count, fail, HttpConfigError};
use super::proxy_config::ProxyConfig;
use super::tls_config::{is_default_tls, TlsConfig};
use super::Secret;

pub const GRANT_TYPE_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

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

crate::inline_struct!(OAuth2, proxy: ProxyConfig, serialize);

impl OAuth2 {
    /// Prometheus' checks of the `oauth2` section itself (within `HTTPClientConfig.Validate`),
    /// in its order and with its messages.
    pub fn validate(&self) -> Result<(), HttpConfigError> {
        let o = self;
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
        Ok(())
    }
}
