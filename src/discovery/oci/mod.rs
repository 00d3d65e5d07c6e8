//! OCI SD (`oci_sd_configs`): compute instances of Oracle Cloud Infrastructure, as Prometheus'
//! `discovery/oci` finds them through the OCI Go SDK.
//!
//! # Semantics (Prometheus')
//! - Keys: `auth` (`api_key`, the default, or `instance_principal`), `tenancy`, `user`,
//!   `fingerprint`, `key_file`, `key_passphrase` / `key_passphrase_file`, `region` (required),
//!   `compartments` (explicit compartment OCIDs; empty means every active compartment under the
//!   tenancy root), `port` (default 80), `refresh_interval` (default 60s) and every HTTP client
//!   setting, read inline (the SDK sends its requests through Prometheus' HTTP client, so
//!   `proxy_url` and `tls_config` apply). Validation in Prometheus' order and words: see
//!   [`validate`].
//! - Every request is signed with Oracle's HTTP signature (draft-cavage, RSA PKCS#1 v1.5 over
//!   SHA-256, `keyId="<tenancy>/<user>/<fingerprint>"`, headers `date (request-target) host`
//!   for the GETs this mechanism sends): see [`sign`].
//! - Hosts: `https://iaas.<region>.<domain>` (compute, virtual network) and
//!   `https://identity.<region>.oci.<domain>` (identity; the SDK's template), the domain being
//!   the region's realm's (`oraclecloud.com` for the commercial realm).
//! - A refresh lists the compartments (BFS of `ListCompartments` from the tenancy, direct
//!   children, `ACTIVE` only, a compartment whose listing fails is logged and its subtree
//!   skipped), then for each compartment `ListInstances` (a failure fails the refresh, the last
//!   good targets stay), for each instance `ListVnicAttachments` and `GetVnic` of the
//!   `ATTACHED` ones until the primary VNIC is found (a failure skips the instance). Lists
//!   follow `opc-next-page` with `limit=100`. Everything lands in one group, source `OCI`; see
//!   [`targets`] for the labels.
//!
//! # Where promsd differs
//! - `auth: instance_principal` loads but the discoverer fails to start: promsd does not
//!   implement the instance-metadata certificate flow (`http://169.254.169.254`).
//! - Encrypted private keys (legacy `Proc-Type: 4,ENCRYPTED` PEM or `ENCRYPTED PRIVATE KEY`)
//!   are refused with an error (ring has no PEM decryption); the passphrase keys load and are
//!   read, as Prometheus does, but only unencrypted PKCS#1 / PKCS#8 keys sign.
//! - The key and passphrase files are read at each discoverer's first refresh (off the engine's
//!   thread), not when the config is applied: a missing key is a failing refresh.
//! - Short region codes (`iad`) and realms outside the table in [`api::realm_domain`] are not
//!   mapped (an unknown region takes `oraclecloud.com`, as the SDK does for unknown regions).
//! - No retries of its own and no rate limiter: a failed refresh is retried with capped backoff
//!   by the engine's refresh helper. Requests carry promsd's `User-Agent` and no
//!   `opc-client-info`.

pub mod api;
mod refresh;
pub mod sign;
pub mod targets;

#[cfg(test)]
mod tests;

use std::path::Path;

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError};
use serde::{Deserialize, Serialize, Serializer};

use super::SdConfig;
use crate::common::http_config::HttpClientConfig;
use crate::common::secret::identity_of;
use crate::common::{Duration, Secret};

pub const AUTH_API_KEY: &str = "api_key";
pub const AUTH_INSTANCE_PRINCIPAL: &str = "instance_principal";

/// One `oci_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct OciSdConfig {
    #[serde(default = "default_auth", deserialize_with = "null_as_zero")]
    pub auth: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub tenancy: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub user: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub fingerprint: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub key_file: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub key_passphrase: Secret,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub key_passphrase_file: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub region: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub compartments: Vec<String>,
    #[serde(default = "default_port", deserialize_with = "null_as_zero")]
    pub port: i64,
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(OciSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_auth() -> String {
    AUTH_API_KEY.to_owned()
}

fn default_port() -> i64 {
    80
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

use crate::discovery::kit::null_as_zero;

impl Default for OciSdConfig {
    /// Prometheus' `DefaultSDConfig`.
    fn default() -> Self {
        OciSdConfig {
            auth: default_auth(),
            tenancy: String::new(),
            user: String::new(),
            fingerprint: String::new(),
            key_file: String::new(),
            key_passphrase: Secret::default(),
            key_passphrase_file: String::new(),
            region: String::new(),
            compartments: Vec::new(),
            port: default_port(),
            refresh_interval: default_refresh_interval(),
            http_client_config: HttpClientConfig::default(),
        }
    }
}

/// Prometheus' `SDConfig.validate`, in its order and with its messages.
pub fn validate(c: &mut OciSdConfig) -> Result<(), String> {
    if c.region.is_empty() {
        return Err("oci_sd: region is required".into());
    }
    match c.auth.as_str() {
        AUTH_API_KEY => {
            if c.tenancy.is_empty() {
                return Err("oci_sd: api_key auth requires tenancy".into());
            }
            if c.user.is_empty() {
                return Err("oci_sd: api_key auth requires user".into());
            }
            if c.fingerprint.is_empty() {
                return Err("oci_sd: api_key auth requires fingerprint".into());
            }
            if c.key_file.is_empty() {
                return Err("oci_sd: api_key auth requires key_file".into());
            }
            if !c.key_passphrase.is_empty() && !c.key_passphrase_file.is_empty() {
                return Err("oci_sd: at most one of key_passphrase and key_passphrase_file must be configured".into());
            }
        }
        AUTH_INSTANCE_PRINCIPAL => {
            if !c.tenancy.is_empty()
                || !c.user.is_empty()
                || !c.fingerprint.is_empty()
                || !c.key_file.is_empty()
                || !c.key_passphrase.is_empty()
                || !c.key_passphrase_file.is_empty()
            {
                return Err("oci_sd: instance_principal auth must not have tenancy, user, fingerprint, key_file, key_passphrase, or key_passphrase_file set".into());
            }
        }
        other => {
            return Err(format!(
                "oci_sd: unknown auth method {other:?}, expected {AUTH_API_KEY:?} or {AUTH_INSTANCE_PRINCIPAL:?}"
            ))
        }
    }
    for (i, c) in c.compartments.iter().enumerate() {
        if c.is_empty() {
            return Err(format!("oci_sd: compartments[{i}] must not be empty"));
        }
    }
    if c.refresh_interval.as_std().is_zero() {
        return Err(format!(
            "oci_sd: refresh_interval must be positive, got {}",
            c.refresh_interval
        ));
    }
    c.http_client_config.validate().map_err(|e| e.message)
}

impl Serialize for OciSdConfig {
    /// The config as written (secrets as `<secret>`), HTTP settings inline.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            #[serde(skip_serializing_if = "str::is_empty")]
            auth: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            tenancy: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            user: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            fingerprint: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            key_file: &'a str,
            #[serde(skip_serializing_if = "Secret::is_empty")]
            key_passphrase: &'a Secret,
            #[serde(skip_serializing_if = "str::is_empty")]
            key_passphrase_file: &'a str,
            region: &'a str,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            compartments: &'a [String],
            #[serde(flatten)]
            http: &'a HttpClientConfig,
            port: i64,
            refresh_interval: Duration,
        }
        Shown {
            auth: &self.auth,
            tenancy: &self.tenancy,
            user: &self.user,
            fingerprint: &self.fingerprint,
            key_file: &self.key_file,
            key_passphrase: &self.key_passphrase,
            key_passphrase_file: &self.key_passphrase_file,
            region: &self.region,
            compartments: &self.compartments,
            http: &self.http_client_config,
            port: self.port,
            refresh_interval: self.refresh_interval,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for OciSdConfig {
    fn mechanism(&self) -> &'static str {
        "oci"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        if self.auth == AUTH_INSTANCE_PRINCIPAL {
            return Err(DiscoveryError::new(
                "oci_sd: instance_principal auth is not supported by promsd",
            ));
        }
        if self.refresh_interval.as_std().is_zero() {
            return Err(DiscoveryError::new(format!(
                "oci_sd: refresh_interval must be positive, got {}",
                self.refresh_interval
            )));
        }
        Ok(refresh::discoverer(ctx, self))
    }
}

impl SdConfig for OciSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
        crate::common::http_config::join_dir(dir, &mut self.key_file);
        crate::common::http_config::join_dir(dir, &mut self.key_passphrase_file);
    }
}
