//! STACKIT SD (`stackit_sd_configs`): the servers of a STACKIT project, as Prometheus'
//! `discovery/stackit` finds them (IaaS API `GET /v1/projects/<project>/servers?details=true`).
//!
//! # Semantics (Prometheus')
//! - Keys: `project`, `region` (default `eu01`), `endpoint` (default
//!   `https://iaas.api.<region>.stackit.cloud`), `port` (default 80), `refresh_interval`
//!   (default 60s, also the request timeout), `service_account_key`, `private_key`,
//!   `service_account_key_path`, `private_key_path`, `credentials_file_path`, and every HTTP
//!   client setting, inline. Without a service account key, requests go unauthenticated by
//!   the SDK (the HTTP settings' `authorization` / `bearer_token` still apply); with one, a
//!   JWT signed with the private key is exchanged at the token endpoint for the bearer token.
//! - One group, source `stackit`; see [`targets`] for the labels.
//! - The key flow (see [`keyflow`]) reads the keys, the `STACKIT_*` variables and the
//!   credentials file once, when the discoverer is created, and keeps the access token until
//!   shortly before it expires; token requests go through the SD's own HTTP client (proxy, CA).
//!
//! # Where promsd differs
//! - A `refresh_interval` of zero is a config error; a failed refresh keeps the last good
//!   targets and is retried with capped backoff by the engine's refresh helper.
//! - See [`keyflow`] for the tokens that are not JWTs.

pub mod keyflow;
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

/// One `stackit_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct StackitSdConfig {
    #[serde(default, deserialize_with = "null_as_zero")]
    pub project: String,
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    #[serde(default = "default_port", deserialize_with = "null_as_zero")]
    pub port: i64,
    #[serde(default = "default_region", deserialize_with = "null_as_zero")]
    pub region: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub endpoint: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub service_account_key: Secret,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub private_key: Secret,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub service_account_key_path: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub private_key_path: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    pub credentials_file_path: String,
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(StackitSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_region() -> String {
    "eu01".into()
}

fn default_port() -> i64 {
    80
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

use crate::discovery::kit::null_as_zero;

impl Default for StackitSdConfig {
    fn default() -> Self {
        StackitSdConfig {
            project: String::new(),
            refresh_interval: default_refresh_interval(),
            port: default_port(),
            region: default_region(),
            endpoint: String::new(),
            service_account_key: Secret::default(),
            private_key: Secret::default(),
            service_account_key_path: String::new(),
            private_key_path: String::new(),
            credentials_file_path: String::new(),
            http_client_config: HttpClientConfig::default(),
        }
    }
}

/// Go's `url.Parse` failures that matter for an endpoint: a scheme that does not start with
/// a letter or holds other characters than letters, digits, `+-.` ("missing protocol scheme",
/// "first path segment in URL cannot contain colon"), and control characters.
fn go_url_parse(s: &str) -> Result<(), String> {
    if s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(format!(
            "parse {s:?}: net/url: invalid control character in URL"
        ));
    }
    if let Some(i) = s.find(':') {
        let scheme = &s[..i];
        let valid = scheme.bytes().enumerate().all(|(j, b)| {
            b.is_ascii_alphabetic() || (j > 0 && (b.is_ascii_digit() || b"+-.".contains(&b)))
        });
        if i == 0 {
            return Err(format!("parse {s:?}: missing protocol scheme"));
        }
        if !valid {
            // A colon before any slash without a valid scheme.
            let slash = s.find('/').unwrap_or(usize::MAX);
            if i < slash {
                return Err(format!(
                    "parse {s:?}: first path segment in URL cannot contain colon"
                ));
            }
        }
    }
    Ok(())
}

/// Prometheus' `SDConfig.UnmarshalYAML` checks in its order, then the interval promsd refuses.
fn validate(c: &mut StackitSdConfig) -> Result<(), String> {
    if c.endpoint.is_empty() && c.region.is_empty() {
        return Err("stackit_sd: endpoint and region missing".into());
    }
    go_url_parse(&c.endpoint)
        .map_err(|e| format!("stackit_sd: invalid endpoint {:?}: {e}", c.endpoint))?;
    c.http_client_config.validate().map_err(|e| e.message)?;
    crate::discovery::kit::check_interval("refresh_interval", c.refresh_interval)
}

impl Serialize for StackitSdConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            project: &'a str,
            refresh_interval: Duration,
            port: i64,
            region: &'a str,
            endpoint: &'a str,
            service_account_key: &'a Secret,
            private_key: &'a Secret,
            service_account_key_path: &'a str,
            private_key_path: &'a str,
            credentials_file_path: &'a str,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            project: &self.project,
            refresh_interval: self.refresh_interval,
            port: self.port,
            region: &self.region,
            endpoint: &self.endpoint,
            service_account_key: &self.service_account_key,
            private_key: &self.private_key,
            service_account_key_path: &self.service_account_key_path,
            private_key_path: &self.private_key_path,
            credentials_file_path: &self.credentials_file_path,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for StackitSdConfig {
    fn mechanism(&self) -> &'static str {
        "stackit"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        crate::discovery::kit::check_interval("refresh_interval", self.refresh_interval)
            .map_err(DiscoveryError::new)?;
        refresh::discoverer(ctx, self)
    }
}

impl SdConfig for StackitSdConfig {
    /// Prometheus' `SetDirectory` joins only the HTTP settings' paths.
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}
