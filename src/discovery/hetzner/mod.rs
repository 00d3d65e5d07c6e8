//! Hetzner SD (`hetzner_sd_configs`): servers of Hetzner Cloud (`role: hcloud`) or of the
//! Hetzner Robot dedicated-server webservice (`role: robot`), as Prometheus'
//! `discovery/hetzner` finds them.
//!
//! # Semantics (Prometheus')
//! - Keys: `role` (required, `hcloud` or `robot`), `port` (default 80), `refresh_interval`
//!   (default 60s), `label_selector` (hcloud only, sent to the API as is) and every HTTP client
//!   setting, read inline. The credentials are the HTTP settings': a bearer token
//!   (`authorization` or `bearer_token`) for hcloud, `basic_auth` for robot.
//! - hcloud asks `https://api.hetzner.cloud/v1/servers?label_selector=...&page=N&per_page=50`
//!   and then `/v1/networks?page=N&per_page=50`, following `meta.pagination.next_page` until
//!   it is `null`, whatever size the pages are (hcloud-go's `AllWithOpts`). The pagination is
//!   read only from a JSON answer (`Content-Type: application/json...`), as hcloud-go does.
//! - robot asks `https://robot-ws.your-server.de/server` once (the API does not paginate); a
//!   status outside 2xx fails the refresh with Prometheus' message.
//! - Every refresh replaces the one group (source `hetzner`); see [`targets`] for the labels.
//! - Both hosts are fixed: Prometheus has no key to change them (a user behind a proxy sets
//!   `proxy_url`, and `tls_config.ca_file` for an intercepting one).
//!
//! # Where promsd differs
//! - A `refresh_interval` of zero is a config error (Prometheus would refresh in a busy loop).
//! - A failed refresh keeps the last good targets and is retried with capped backoff by the
//!   engine's refresh helper; hcloud-go's own retries (5, for 429/502/504 and conflicts) are
//!   not repeated in the mechanism.
//! - Requests carry promsd's `User-Agent`, not Prometheus' `Prometheus/<version> hcloud-go/...`.
//! - When two server labels sanitize to the same label name, the last key in byte order wins
//!   (Prometheus picks one at random); decoding and target building run off the engine's
//!   thread, and label values that repeat across servers are shared.

pub mod api;
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

/// The Cloud API Prometheus' hcloud role asks (hcloud-go's `hcloud.Endpoint`).
pub const HCLOUD_ENDPOINT: &str = "https://api.hetzner.cloud/v1";
/// The Robot webservice Prometheus' robot role asks.
pub const ROBOT_ENDPOINT: &str = "https://robot-ws.your-server.de";

/// Which Hetzner product to discover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Hetzner Cloud servers.
    Hcloud,
    /// Hetzner Robot dedicated servers.
    Robot,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Hcloud => "hcloud",
            Role::Robot => "robot",
        }
    }
}

/// One `hetzner_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct HetznerSdConfig {
    /// `hcloud` or `robot`; required.
    #[serde(default, deserialize_with = "read_role")]
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
    /// hcloud only: a label selector the API filters servers with (`env=prod,app!=db`).
    #[serde(default, deserialize_with = "null_as_zero")]
    pub label_selector: String,
    /// The common HTTP client settings, read inline.
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(HetznerSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_port() -> i64 {
    80
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

use crate::discovery::kit::null_as_zero;

/// Prometheus' `Role.UnmarshalYAML`: any string but the two roles is an error, `""` included;
/// `null` leaves the role unset (then "role missing").
fn read_role<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Role>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => match s.as_str() {
            "hcloud" => Ok(Some(Role::Hcloud)),
            "robot" => Ok(Some(Role::Robot)),
            _ => Err(serde::de::Error::custom(format!("unknown role {s:?}"))),
        },
    }
}

impl Default for HetznerSdConfig {
    /// Prometheus' `DefaultSDConfig` (no role).
    fn default() -> Self {
        HetznerSdConfig {
            role: None,
            port: default_port(),
            refresh_interval: default_refresh_interval(),
            label_selector: String::new(),
            http_client_config: HttpClientConfig::default(),
        }
    }
}

/// Prometheus' `SDConfig.UnmarshalYAML` checks, in its order and with its messages, then the
/// interval promsd refuses.
fn validate(c: &mut HetznerSdConfig) -> Result<(), String> {
    if c.role.is_none() {
        return Err("role missing (one of: robot, hcloud)".into());
    }
    c.http_client_config.validate().map_err(|e| e.message)?;
    crate::discovery::kit::check_interval("refresh_interval", c.refresh_interval)
}

impl Serialize for HetznerSdConfig {
    /// The config as written (secrets as `<secret>`), HTTP settings inline.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            role: &'static str,
            port: i64,
            refresh_interval: Duration,
            #[serde(skip_serializing_if = "str::is_empty")]
            label_selector: &'a str,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            role: self.role.map_or("", Role::as_str),
            port: self.port,
            refresh_interval: self.refresh_interval,
            label_selector: &self.label_selector,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for HetznerSdConfig {
    fn mechanism(&self) -> &'static str {
        "hetzner"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let role = self
            .role
            .ok_or_else(|| DiscoveryError::new("role missing (one of: robot, hcloud)"))?;
        crate::discovery::kit::check_interval("refresh_interval", self.refresh_interval)
            .map_err(DiscoveryError::new)?;
        Ok(refresh::discoverer(ctx, self, role))
    }
}

impl SdConfig for HetznerSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}
