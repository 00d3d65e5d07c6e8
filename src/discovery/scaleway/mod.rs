//! Scaleway SD (`scaleway_sd_configs`): Instances or Elastic Metal (baremetal) servers of one
//! zone, read again every `refresh_interval`, as Prometheus' `discovery/scaleway` (on
//! scaleway-sdk-go) does.
//!
//! # Semantics (Prometheus')
//! - Every request carries `X-Auth-Token: <secret key>` (the file's content, trimmed and read
//!   at each request, with `secret_key_file`), plus every HTTP client setting of the config;
//!   a request may take at most `refresh_interval`.
//! - Lists are read as the SDK's `WithAllPages` does: `page=1, 2, ...`; the first page's
//!   `total_count` (or `X-Total-Count` header) and size give the number of pages; an empty page
//!   ends the list. Query parameters are sorted by name, as Go's `url.Values` encodes them.
//! - `instance`: `GET <api_url>/instance/v1/zones/<zone>/servers` with `name` (`name_filter`)
//!   and `tags` (`tags_filter`, comma-joined). Servers without a public or private address
//!   are looked up in IPAM: `GET <api_url>/ipam/v1/regions/<region>/ips` with every private
//!   NIC id as `resource_ids` and `resource_types=instance_private_nic`.
//! - `baremetal`: `GET <api_url>/baremetal/v1/zones/<zone>/servers` (`name`, one `tags` per
//!   tag), then every page of `/offers` and `/os` of the zone to name the offer and the OS.
//! - One group, source `scaleway`. Labels: see [`targets`].
//! - Config validation in Prometheus' order and words, including the SDK client's checks of
//!   the access key, secret key, project id, zone and API URL formats. Defaults: `api_url`
//!   `https://api.scaleway.com`, `zone` `fr-par-1`, `port` 80, `refresh_interval` 60s.
//!
//! # Where promsd differs
//! - The SDK's messages quote a malformed secret key; promsd does not print it.
//! - The IP addresses of an instance are written as Go's `net.IP` does (an IPv4-mapped IPv6
//!   address as IPv4); an address that is not an IP is a refresh error, as in Go's decoder.
//! - A `refresh_interval` of zero or below is a config error.

pub mod api;
mod refresh;
pub mod targets;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, LazyLock};

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError};
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize};

use super::SdConfig;
use crate::common::http_config::HttpClientConfig;
use crate::common::secret::identity_of;
use crate::common::{Duration, Secret};

/// What a Scaleway SD config discovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Instance,
    Baremetal,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Instance => "instance",
            Role::Baremetal => "baremetal",
        })
    }
}

/// `role` as written: empty is "missing" (checked after the rest), anything else must be a role.
fn role<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Role>, D::Error> {
    let s = Option::<String>::deserialize(d)?.unwrap_or_default();
    match s.as_str() {
        "" => Ok(None),
        "instance" => Ok(Some(Role::Instance)),
        "baremetal" => Ok(Some(Role::Baremetal)),
        _ => Err(serde::de::Error::custom(format!("unknown role {s:?}"))),
    }
}

fn zero<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One `scaleway_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct ScalewaySdConfig {
    /// The project whose servers are listed (required by the SDK's client, a UUID).
    #[serde(default, deserialize_with = "zero")]
    pub project_id: String,
    /// The API's base URL (default `https://api.scaleway.com`).
    #[serde(default = "default_api_url", deserialize_with = "zero")]
    pub api_url: String,
    /// The zone listed (default `fr-par-1`).
    #[serde(default = "default_zone", deserialize_with = "zero")]
    pub zone: String,
    #[serde(default, deserialize_with = "zero")]
    pub access_key: String,
    #[serde(default, deserialize_with = "zero")]
    pub secret_key: Secret,
    /// A file holding the secret key, read at every request.
    #[serde(default, deserialize_with = "zero")]
    pub secret_key_file: String,
    /// Only servers whose name contains this.
    #[serde(default, deserialize_with = "zero")]
    pub name_filter: String,
    /// Only servers with all these tags.
    #[serde(default, deserialize_with = "zero")]
    pub tags_filter: Vec<String>,
    #[serde(default = "default_refresh_interval", deserialize_with = "zero")]
    pub refresh_interval: Duration,
    /// The port of the targets (default 80).
    #[serde(default = "default_port", deserialize_with = "zero")]
    pub port: i64,
    #[serde(default, deserialize_with = "role")]
    pub role: Option<Role>,
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

fn default_api_url() -> String {
    "https://api.scaleway.com".into()
}

fn default_zone() -> String {
    "fr-par-1".into()
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_port() -> i64 {
    80
}

crate::inline_struct!(ScalewaySdConfig, http_client_config: HttpClientConfig, finish = ScalewaySdConfig::validate, serialize);

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
        .expect("valid regex")
});
static ACCESS_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^SCW[A-Z0-9]{17}$").expect("valid regex"));
static ZONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-z]{2}-[a-z]{3,7}-[0-9]{1,2}$").expect("valid regex"));

/// The SDK's zones, listed in its error for a malformed zone.
const ALL_ZONES: &str =
    "fr-par-1, fr-par-2, fr-par-3, nl-ams-1, nl-ams-2, nl-ams-3, pl-waw-1, pl-waw-2, pl-waw-3, it-mil-1";

/// The region of a zone (`fr-par-1` → `fr-par`), if the zone is well formed (the SDK's
/// `Zone.Region`).
pub fn region_of(zone: &str) -> Option<String> {
    if !ZONE.is_match(zone) {
        return None;
    }
    let parts: Vec<&str> = zone.split('-').collect();
    Some(parts[..2].join("-"))
}

impl ScalewaySdConfig {
    pub fn role(&self) -> Role {
        self.role.unwrap_or(Role::Instance)
    }

    /// Prometheus' checks, in its order and with its messages, then the SDK client's.
    fn validate(&mut self) -> Result<(), String> {
        if self.role.is_none() {
            return Err("role missing (one of: instance, baremetal)".into());
        }
        if self.project_id.is_empty() {
            return Err("project_id is mandatory".into());
        }
        if self.secret_key.is_empty() && self.secret_key_file.is_empty() {
            return Err("one of secret_key & secret_key_file must be configured".into());
        }
        if !self.secret_key.is_empty() && !self.secret_key_file.is_empty() {
            return Err("at most one of secret_key & secret_key_file must be configured".into());
        }
        if self.access_key.is_empty() {
            return Err("access_key is mandatory".into());
        }
        let sdk = |m: String| format!("scaleway-sdk-go: {m}");
        if !ACCESS_KEY.is_match(&self.access_key) {
            return Err(sdk(format!(
                "invalid access key format '{}', expected SCWXXXXXXXXXXXXXXXXX format",
                self.access_key
            )));
        }
        // With a key file, the SDK is given a placeholder key (the file is read per request).
        if self.secret_key_file.is_empty() && !UUID.is_match(self.secret_key.expose()) {
            return Err(sdk(
                "invalid secret key format, expected a UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
                    .into(),
            ));
        }
        if !UUID.is_match(&self.project_id) {
            return Err(sdk(format!(
                "invalid project ID format '{}', expected a UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                self.project_id
            )));
        }
        if self.zone.is_empty() {
            return Err(sdk("default zone cannot be empty".into()));
        }
        if !ZONE.is_match(&self.zone) {
            return Err(sdk(format!(
                "invalid default zone format '{}', available zones are: {ALL_ZONES}",
                self.zone
            )));
        }
        if self.api_url.is_empty() {
            return Err(sdk(format!("invalid API url '{}'", self.api_url)));
        }
        if self.api_url.ends_with('/') {
            return Err(sdk(format!(
                "invalid API url '{}' it should not have a trailing slash",
                self.api_url
            )));
        }
        self.http_client_config.validate().map_err(|e| e.message)?;
        crate::discovery::kit::check_interval("refresh_interval", self.refresh_interval)
    }
}

impl DiscoveryConfig for ScalewaySdConfig {
    fn mechanism(&self) -> &'static str {
        "scaleway"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let refresher = Arc::new(refresh::Refresher::new(self.clone()));
        Ok(crate::discovery::kit::poll(
            ctx,
            "scaleway",
            self.refresh_interval.as_std(),
            move || {
                let refresher = refresher.clone();
                async move { refresher.refresh().await }
            },
        ))
    }
}

impl SdConfig for ScalewaySdConfig {
    fn resolve_paths(&mut self, dir: &std::path::Path) {
        if !self.secret_key_file.is_empty()
            && !std::path::Path::new(&self.secret_key_file).is_absolute()
        {
            self.secret_key_file = dir.join(&self.secret_key_file).display().to_string();
        }
        self.http_client_config.resolve_paths(dir);
    }
}
