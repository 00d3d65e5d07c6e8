//! Vultr SD (`vultr_sd_configs`): Vultr instances, as Prometheus' `discovery/vultr` finds them
//! through govultr.
//!
//! # Semantics (Prometheus')
//! - Keys: `port` (default 80), `refresh_interval` (default 60s) and every HTTP client
//!   setting, read inline; the API key is the HTTP settings' bearer token (`authorization` or
//!   `bearer_token`).
//! - A refresh asks `https://api.vultr.com/v2/instances?per_page=100`, then
//!   `?cursor=<meta.links.next>&per_page=100` until `next` is empty, and replaces the one
//!   group (source `Vultr`); see [`targets`] for the labels.
//! - The host is fixed: Prometheus has no key to change it (behind a proxy, set `proxy_url`,
//!   and `tls_config.ca_file` for an intercepting one).
//!
//! # Where promsd differs
//! - A `refresh_interval` of zero is a config error (Prometheus would refresh in a busy loop).
//! - A failed refresh keeps the last good targets and is retried with capped backoff by the
//!   engine's refresh helper; govultr's own retries (3, with backoff) are not repeated in the
//!   mechanism.
//! - Requests carry promsd's `User-Agent`, not `Prometheus/<version>`.
//! - An answer without `meta.links` ends the pages (Prometheus would panic); decoding and
//!   target building run off the engine's thread, and label values that repeat across
//!   instances are shared.

mod api;
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
use crate::common::Duration;

/// govultr's base URL.
pub const ENDPOINT: &str = "https://api.vultr.com";

/// One `vultr_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct VultrSdConfig {
    /// The port of every target's `__address__` (default 80).
    #[serde(default = "default_port", deserialize_with = "null_as_zero")]
    pub port: i64,
    /// How often to ask the API (default 60s); also each request's timeout.
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// The common HTTP client settings, read inline.
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(VultrSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_port() -> i64 {
    80
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

use crate::discovery::kit::null_as_zero;

impl Default for VultrSdConfig {
    /// Prometheus' `DefaultSDConfig`.
    fn default() -> Self {
        VultrSdConfig {
            port: default_port(),
            refresh_interval: default_refresh_interval(),
            http_client_config: HttpClientConfig::default(),
        }
    }
}

/// Prometheus' `SDConfig.UnmarshalYAML` checks, then the interval promsd refuses.
fn validate(c: &mut VultrSdConfig) -> Result<(), String> {
    c.http_client_config.validate().map_err(|e| e.message)?;
    crate::discovery::kit::check_interval("refresh_interval", c.refresh_interval)
}

impl Serialize for VultrSdConfig {
    /// The config as written (secrets as `<secret>`), HTTP settings inline.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            port: i64,
            refresh_interval: Duration,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            port: self.port,
            refresh_interval: self.refresh_interval,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for VultrSdConfig {
    fn mechanism(&self) -> &'static str {
        "vultr"
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

impl SdConfig for VultrSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}
