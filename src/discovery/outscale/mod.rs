//! Outscale SD (`outscale_sd_configs`): the VMs of an OUTSCALE account, as Prometheus'
//! `discovery/outscale` finds them through osc-sdk-go (OAPI `ReadVms`).
//!
//! # Semantics (Prometheus')
//! - Keys: `endpoint` (default `https://api.<region>.outscale.com/api/v1`), `region` (default
//!   `eu-west-2`), `access_key`, `secret_key` or `secret_key_file` (read at each refresh,
//!   trimmed), `refresh_interval` (default 60s, also the request timeout), `port` (default
//!   80) and every HTTP client setting, inline.
//! - A refresh POSTs `<endpoint>/ReadVms` with the JSON body `{}` (then
//!   `{"NextPageToken":...}` while the answer has one), signed with SigV4 as osc-sdk-go does
//!   it: service `oapi`, region `eu-west-2` (osc-sdk-go's default: Prometheus does not pass
//!   the configured region to the signer). One group, source = the region; see [`targets`].
//!
//! # Where promsd differs
//! - A `refresh_interval` of zero is a config error.
//! - A failed refresh keeps the last good targets and is retried with capped backoff by the
//!   engine's refresh helper.
//! - The signature covers `host` and `content-type` (aws-sdk-go also signs `accept`); any
//!   SigV4 verifier accepts both, as `SignedHeaders` names what is covered.
//! - Requests carry promsd's `User-Agent`.

mod refresh;
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

/// One `outscale_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct OutscaleSdConfig {
    #[serde(default, deserialize_with = "null_as_zero")]
    pub endpoint: String,
    #[serde(default = "default_region", deserialize_with = "null_as_zero")]
    pub region: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub access_key: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub secret_key: Secret,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub secret_key_file: String,
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    #[serde(default = "default_port", deserialize_with = "null_as_zero")]
    pub port: i64,
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(OutscaleSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_region() -> String {
    "eu-west-2".into()
}

fn default_port() -> i64 {
    80
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

use crate::discovery::kit::null_as_zero;

impl Default for OutscaleSdConfig {
    fn default() -> Self {
        OutscaleSdConfig {
            endpoint: String::new(),
            region: default_region(),
            access_key: String::new(),
            secret_key: Secret::default(),
            secret_key_file: String::new(),
            refresh_interval: default_refresh_interval(),
            port: default_port(),
            http_client_config: HttpClientConfig::default(),
        }
    }
}

/// Prometheus' `SDConfig.UnmarshalYAML` checks in its order, then the interval promsd refuses.
fn validate(c: &mut OutscaleSdConfig) -> Result<(), String> {
    if c.region.is_empty() {
        return Err("outscale SD configuration requires a region".into());
    }
    if c.access_key.is_empty() {
        return Err("outscale SD configuration requires access_key".into());
    }
    if c.secret_key.is_empty() && c.secret_key_file.is_empty() {
        return Err("one of secret_key & secret_key_file must be configured".into());
    }
    if !c.secret_key.is_empty() && !c.secret_key_file.is_empty() {
        return Err("at most one of secret_key & secret_key_file must be configured".into());
    }
    if c.endpoint.is_empty() {
        c.endpoint = format!("https://api.{}.outscale.com/api/v1", c.region);
    }
    c.http_client_config.validate().map_err(|e| e.message)?;
    crate::discovery::kit::check_interval("refresh_interval", c.refresh_interval)
}

impl Serialize for OutscaleSdConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            endpoint: &'a str,
            region: &'a str,
            access_key: &'a str,
            secret_key: &'a Secret,
            secret_key_file: &'a str,
            refresh_interval: Duration,
            port: i64,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            endpoint: &self.endpoint,
            region: &self.region,
            access_key: &self.access_key,
            secret_key: &self.secret_key,
            secret_key_file: &self.secret_key_file,
            refresh_interval: self.refresh_interval,
            port: self.port,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for OutscaleSdConfig {
    fn mechanism(&self) -> &'static str {
        "outscale"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        crate::discovery::kit::check_interval("refresh_interval", self.refresh_interval)
            .map_err(DiscoveryError::new)?;
        Ok(refresh::discoverer(ctx, self))
    }
}

impl SdConfig for OutscaleSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        if !self.secret_key_file.is_empty() && !Path::new(&self.secret_key_file).is_absolute() {
            self.secret_key_file = dir
                .join(&self.secret_key_file)
                .to_string_lossy()
                .into_owned();
        }
        self.http_client_config.resolve_paths(dir);
    }
}
