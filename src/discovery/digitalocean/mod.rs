//! DigitalOcean SD (`digitalocean_sd_configs`): droplets (`role: droplets`, the default) or
//! managed database clusters (`role: databases`), as Prometheus' `discovery/digitalocean`
//! finds them through godo.
//!
//! # Semantics (Prometheus')
//! - Keys: `role` (`droplets` by default, or `databases`), `port` (default 80),
//!   `refresh_interval` (default 60s) and every HTTP client setting, read inline; the API
//!   token is the HTTP settings' bearer token (`authorization` or `bearer_token`).
//! - droplets: `GET https://api.digitalocean.com/v2/droplets` (no query on the first page),
//!   then `?page=N`: godo's `Links`: the current page is 1 when there is no `prev` link, else
//!   the `page` of `prev` plus one; the pages end when `links` or `links.pages` is absent or
//!   has no `next`.
//! - databases: `GET /v2/databases?page=N&per_page=100` from page 1 until a page is empty
//!   (godo does not read the links of this list, so Prometheus always asks one page more).
//! - Each refresh replaces the role's one group; see [`targets`] for the labels.
//! - The host is fixed: Prometheus has no key to change it (behind a proxy, set `proxy_url`,
//!   and `tls_config.ca_file` for an intercepting one).
//!
//! # Where promsd differs
//! - A `refresh_interval` of zero is a config error (Prometheus would refresh in a busy loop).
//! - A failed refresh keeps the last good targets and is retried with capped backoff by the
//!   engine's refresh helper.
//! - Requests carry promsd's `User-Agent`, not `Prometheus/<version> godo/<version>`.
//! - A droplet without `image` or `region` gets empty labels for them (Prometheus would
//!   panic); decoding and target building run off the engine's thread, and label values that
//!   repeat across droplets are shared.

mod api;
mod refresh;
pub mod targets;

#[cfg(test)]
mod tests;

use std::path::Path;

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SdConfig;
use crate::common::http_config::HttpClientConfig;
use crate::common::secret::identity_of;
use crate::common::Duration;

/// godo's base URL.
pub const ENDPOINT: &str = "https://api.digitalocean.com";

/// What to discover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Droplets,
    Databases,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Droplets => "droplets",
            Role::Databases => "databases",
        }
    }
}

/// One `digitalocean_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct DigitalOceanSdConfig {
    /// `droplets` (default) or `databases`.
    #[serde(default = "default_role", deserialize_with = "read_role")]
    pub role: Option<Role>,
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

crate::inline_struct!(DigitalOceanSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_role() -> Option<Role> {
    Some(Role::Droplets)
}

fn default_port() -> i64 {
    80
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

use crate::discovery::kit::null_as_zero;

/// Prometheus' `Role.UnmarshalYAML`: any string but the two roles is an error (`""`
/// included); `null` is the zero value, then "role missing".
fn read_role<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Role>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => match s.as_str() {
            "droplets" => Ok(Some(Role::Droplets)),
            "databases" => Ok(Some(Role::Databases)),
            _ => Err(serde::de::Error::custom(format!(
                "unknown DigitalOcean SD role {s:?}"
            ))),
        },
    }
}

impl Default for DigitalOceanSdConfig {
    /// Prometheus' `DefaultSDConfig`.
    fn default() -> Self {
        DigitalOceanSdConfig {
            role: default_role(),
            port: default_port(),
            refresh_interval: default_refresh_interval(),
            http_client_config: HttpClientConfig::default(),
        }
    }
}

/// Prometheus' `SDConfig.UnmarshalYAML` checks, in its order and with its messages, then the
/// interval promsd refuses.
fn validate(c: &mut DigitalOceanSdConfig) -> Result<(), String> {
    if c.role.is_none() {
        return Err("role missing (one of: droplets, databases)".into());
    }
    c.http_client_config.validate().map_err(|e| e.message)?;
    crate::discovery::kit::check_interval("refresh_interval", c.refresh_interval)
}

impl Serialize for DigitalOceanSdConfig {
    /// The config as written (secrets as `<secret>`), HTTP settings inline.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            role: &'static str,
            port: i64,
            refresh_interval: Duration,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            role: self.role.map_or("", Role::as_str),
            port: self.port,
            refresh_interval: self.refresh_interval,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for DigitalOceanSdConfig {
    fn mechanism(&self) -> &'static str {
        "digitalocean"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let role = self
            .role
            .ok_or_else(|| DiscoveryError::new("role missing (one of: droplets, databases)"))?;
        crate::discovery::kit::check_interval("refresh_interval", self.refresh_interval)
            .map_err(DiscoveryError::new)?;
        Ok(refresh::discoverer(ctx, self, role))
    }
}

impl SdConfig for DigitalOceanSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}
