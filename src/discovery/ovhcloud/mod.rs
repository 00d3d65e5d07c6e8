//! OVHcloud SD (`ovhcloud_sd_configs`): VPS or dedicated servers of an OVHcloud account, as
//! Prometheus' `discovery/ovhcloud` finds them through go-ovh.
//!
//! # Semantics (Prometheus')
//! - Keys: `endpoint` (default `ovh-eu`; a name of go-ovh's endpoint map, or a URL when it
//!   holds a `/`, path kept), `application_key`, `application_secret`, `consumer_key`,
//!   `service` (`vps` or `dedicated_server`), `refresh_interval` (default 60s). No HTTP
//!   settings: the proxy comes from the environment (`HTTPS_PROXY`, `NO_PROXY`), the roots from
//!   the system (`SSL_CERT_FILE`), as Go's default transport.
//! - A refresh makes a new go-ovh client: `GET /auth/time` (unsigned) gives the clock, then
//!   every request carries `X-Ovh-Application`, `X-Ovh-Consumer`, `X-Ovh-Timestamp` (server
//!   time) and `X-Ovh-Signature` = `$1$` + hex(sha1(secret+consumer+METHOD+URL+body+time)).
//! - `GET /vps` (or `/dedicated/server`) lists names; each name's details (`/vps/<name>`)
//!   and IPs (`/vps/<name>/ips`) are fetched; a server whose details or IPs fail is left out
//!   (logged), a failed list fails the refresh. One group, source `ovhcloud_<service>`; see
//!   [`targets`] for the labels.
//!
//! # Where promsd differs
//! - A `refresh_interval` of zero is a config error.
//! - A failed refresh keeps the last good targets and is retried with capped backoff by the
//!   engine's refresh helper.
//! - go-ovh's config files (`~/.ovh.conf`, `./ovh.conf`, `/etc/ovh.conf`) and `OVH_*`
//!   variables are not read: Prometheus' validation makes every value they could fill
//!   mandatory anyway.
//! - Requests carry promsd's `User-Agent`, not `github.com/ovh/go-ovh`.

mod api;
pub(crate) mod refresh;
pub mod targets;

#[cfg(test)]
mod tests;

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::SdConfig;
use crate::common::secret::identity_of;
use crate::common::{Duration, Secret};

/// go-ovh's `Endpoints` map.
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("ovh-eu", "https://eu.api.ovh.com/1.0"),
    ("ovh-ca", "https://ca.api.ovh.com/1.0"),
    ("ovh-us", "https://api.us.ovhcloud.com/1.0"),
    ("kimsufi-eu", "https://eu.api.kimsufi.com/1.0"),
    ("kimsufi-ca", "https://ca.api.kimsufi.com/1.0"),
    ("soyoustart-eu", "https://eu.api.soyoustart.com/1.0"),
    ("soyoustart-ca", "https://ca.api.soyoustart.com/1.0"),
];

/// go-ovh's `loadConfig`: the base URL of an endpoint name or URL.
pub fn endpoint_url(endpoint: &str) -> Result<String, String> {
    if endpoint.ends_with('/') {
        return Err("endpoint name cannot have a tailing slash".into());
    }
    if endpoint.contains('/') {
        return Ok(endpoint.to_owned());
    }
    ENDPOINTS
        .iter()
        .find(|(name, _)| *name == endpoint)
        .map(|(_, url)| (*url).to_owned())
        .ok_or_else(|| {
            format!(
                "unknown endpoint '{endpoint}', consider checking 'Endpoints' list or using an URL"
            )
        })
}

/// Which servers to discover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    Vps,
    DedicatedServer,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Vps => "vps",
            Service::DedicatedServer => "dedicated_server",
        }
    }
}

/// One `ovhcloud_sd_configs` entry, validated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OvhcloudSdConfig {
    pub endpoint: String,
    pub application_key: String,
    pub application_secret: Secret,
    pub consumer_key: Secret,
    pub refresh_interval: Duration,
    pub service: Service,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_endpoint", deserialize_with = "null_as_zero")]
    endpoint: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    application_key: String,
    #[serde(default, deserialize_with = "null_as_zero")]
    application_secret: Secret,
    #[serde(default, deserialize_with = "null_as_zero")]
    consumer_key: Secret,
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    refresh_interval: Duration,
    #[serde(default, deserialize_with = "null_as_zero")]
    service: String,
}

fn default_endpoint() -> String {
    "ovh-eu".into()
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

use crate::discovery::kit::null_as_zero;

impl TryFrom<Raw> for OvhcloudSdConfig {
    type Error = String;

    /// Prometheus' `SDConfig.UnmarshalYAML` checks, with its messages and in its order.
    fn try_from(raw: Raw) -> Result<Self, String> {
        if raw.endpoint.is_empty() {
            return Err("endpoint can not be empty".into());
        }
        if raw.application_key.is_empty() {
            return Err("application key can not be empty".into());
        }
        if raw.application_secret.is_empty() {
            return Err("application secret can not be empty".into());
        }
        if raw.consumer_key.is_empty() {
            return Err("consumer key can not be empty".into());
        }
        let service = match raw.service.as_str() {
            "vps" => Service::Vps,
            "dedicated_server" => Service::DedicatedServer,
            other => return Err(format!("unknown service: {other}")),
        };
        crate::discovery::kit::check_interval("refresh_interval", raw.refresh_interval)?;
        Ok(OvhcloudSdConfig {
            endpoint: raw.endpoint,
            application_key: raw.application_key,
            application_secret: raw.application_secret,
            consumer_key: raw.consumer_key,
            refresh_interval: raw.refresh_interval,
            service,
        })
    }
}

impl<'de> Deserialize<'de> for OvhcloudSdConfig {
    /// The keys, then Prometheus' checks, inside the map (so that errors point at it).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = OvhcloudSdConfig;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }

            fn visit_unit<E: de::Error>(self) -> Result<OvhcloudSdConfig, E> {
                let empty =
                    de::value::MapDeserializer::<_, E>::new(std::iter::empty::<(String, String)>());
                OvhcloudSdConfig::try_from(Raw::deserialize(empty)?).map_err(E::custom)
            }

            fn visit_none<E: de::Error>(self) -> Result<OvhcloudSdConfig, E> {
                self.visit_unit()
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OvhcloudSdConfig, A::Error> {
                let raw = Raw::deserialize(de::value::MapAccessDeserializer::new(map))?;
                OvhcloudSdConfig::try_from(raw).map_err(de::Error::custom)
            }
        }
        d.deserialize_map(Entry)
    }
}

impl DiscoveryConfig for OvhcloudSdConfig {
    fn mechanism(&self) -> &'static str {
        "ovhcloud"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        Ok(refresh::discoverer(ctx, self))
    }
}

impl SdConfig for OvhcloudSdConfig {}
