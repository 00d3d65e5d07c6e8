//! Triton SD (`triton_sd_configs`): containers or compute nodes of a Joyent Triton account, from
//! its Container Monitor discovery endpoint, as Prometheus' `discovery/triton` finds them.
//!
//! # Semantics (Prometheus')
//! - Every `refresh_interval` (default 60s): `GET https://<endpoint>:<port>/v<version>/discover`
//!   (role `container`, the default) or `.../v<version>/gz/discover` (role `cn`), with
//!   `?groups=<groups joined by ,>` (query-escaped) when `groups` is set. TLS uses `tls_config`
//!   (the client certificate Triton authenticates with); no other HTTP setting exists, and no
//!   proxy is used, not even from the environment. The answer's status is not checked: a body
//!   that does not decode fails the refresh.
//! - One group whose source is the URL asked; see [`targets`] for the labels. `port` (default
//!   9163) is both the endpoint's port and every target's.
//! - Config checks, in order and with Prometheus' messages: `tls_config`'s own, then role,
//!   account, dns_suffix, endpoint, and a positive refresh interval.
//!
//! # Where promsd differs
//! - Failures keep the last good state; the engine's refresh helper retries with capped backoff.
//! - `account` is only checked to be set, as in Prometheus (the endpoint authenticates by the
//!   client certificate).

pub mod api;
pub mod targets;

use std::path::Path;
use std::sync::Arc;

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, TargetGroup};
use serde::{Deserialize, Deserializer, Serialize};

use super::kit::{self, ApiClient, ApiError, LazyClient};
use super::SdConfig;
use crate::common::http_config::{HttpClientConfig, TlsConfig};
use crate::common::secret::identity_of;
use crate::common::Duration;

/// One `triton_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct TritonSdConfig {
    /// The Triton account.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub account: String,
    /// `container` (default) or `cn` (compute nodes).
    #[serde(default = "default_role", deserialize_with = "null_as_zero")]
    pub role: String,
    /// The DNS suffix of target addresses.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub dns_suffix: String,
    /// The Container Monitor host.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub endpoint: String,
    /// Only containers in these groups.
    #[serde(
        default,
        deserialize_with = "null_as_zero",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    /// The endpoint's port and every target's (default 9163).
    #[serde(default = "default_port", deserialize_with = "null_as_zero")]
    pub port: i64,
    /// How often the endpoint is asked (default 60s).
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// TLS to the endpoint, with the client certificate.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub tls_config: TlsConfig,
    /// The discovery API version (default 1).
    #[serde(default = "default_version", deserialize_with = "null_as_zero")]
    pub version: i64,
}

fn default_role() -> String {
    "container".into()
}
fn default_port() -> i64 {
    9163
}
fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_version() -> i64 {
    1
}

use crate::discovery::kit::null_as_zero;
use crate::discovery::kit::query_escape;

impl TritonSdConfig {
    /// Prometheus' checks (`TLSConfig` validates as it is read, then `SDConfig.UnmarshalYAML`),
    /// in its order and with its messages.
    pub fn validate(&self) -> Result<(), String> {
        self.tls_config.validate().map_err(|e| e.message)?;
        if self.role != "container" && self.role != "cn" {
            return Err("triton SD configuration requires role to be 'container' or 'cn'".into());
        }
        if self.account.is_empty() {
            return Err("triton SD configuration requires an account".into());
        }
        if self.dns_suffix.is_empty() {
            return Err("triton SD configuration requires a dns_suffix".into());
        }
        if self.endpoint.is_empty() {
            return Err("triton SD configuration requires an endpoint".into());
        }
        if self.refresh_interval.is_zero() {
            return Err(
                "triton SD configuration requires RefreshInterval to be a positive integer".into(),
            );
        }
        Ok(())
    }

    /// The URL asked, which is also the group's source.
    pub fn endpoint_url(&self) -> String {
        let path = if self.role == "cn" {
            "gz/discover"
        } else {
            "discover"
        };
        let mut url = format!(
            "https://{}:{}/v{}/{path}",
            self.endpoint, self.port, self.version
        );
        if !self.groups.is_empty() {
            url.push_str("?groups=");
            url.push_str(&query_escape(&self.groups.join(",")));
        }
        url
    }
}

impl<'de> Deserialize<'de> for TritonSdConfig {
    /// Reads an entry and checks it as Prometheus does.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let c = TritonSdConfig::deserialize(d)?;
        c.validate().map_err(serde::de::Error::custom)?;
        Ok(c)
    }
}

impl Serialize for TritonSdConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        TritonSdConfig::serialize(self, s)
    }
}

impl DiscoveryConfig for TritonSdConfig {
    fn mechanism(&self) -> &'static str {
        "triton"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        // Go's transport with only TLS settings: HTTP/1.1, no proxy, no timeout.
        let http = HttpClientConfig {
            tls_config: self.tls_config.clone(),
            enable_http2: false,
            ..HttpClientConfig::default()
        };
        let source = Arc::new(Source {
            client: LazyClient::new(move || ApiClient::new(&http, None)),
            url: self.endpoint_url(),
            cn: self.role == "cn",
            dns_suffix: self.dns_suffix.clone(),
            port: self.port,
        });
        Ok(kit::poll(
            ctx,
            "triton",
            self.refresh_interval.as_std(),
            move || {
                let source = source.clone();
                async move { source.refresh().await }
            },
        ))
    }
}

/// What a refresh needs.
struct Source {
    client: LazyClient,
    url: String,
    cn: bool,
    dns_suffix: String,
    port: i64,
}

impl Source {
    async fn refresh(self: Arc<Self>) -> Result<Vec<TargetGroup>, ApiError> {
        let response = async {
            self.client
                .get()
                .await?
                .get(self.url.as_str())
                .send_raw()
                .await
        }
        .await
        .map_err(|e| {
            ApiError::Other(format!(
                "an error occurred when requesting targets from the discovery endpoint: {e}"
            ))
        })?;
        let body = response.body;
        let source = self.clone();
        tokio::task::spawn_blocking(move || {
            let group = if source.cn {
                let dr = serde_json::from_slice(&body).map_err(|e| {
                    format!("an error occurred unmarshaling the compute node discovery response json: {e}")
                })?;
                targets::compute_nodes(&source.url, &dr, &source.dns_suffix, source.port)
            } else {
                let dr = serde_json::from_slice(&body).map_err(|e| {
                    format!("an error occurred unmarshaling the discovery response json: {e}")
                })?;
                targets::containers(&source.url, &dr, &source.dns_suffix, source.port)
            };
            Ok(vec![group])
        })
        .await
        .map_err(|e| ApiError::Other(format!("decoding panicked: {e}")))?
        .map_err(ApiError::Other)
    }
}

impl SdConfig for TritonSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.tls_config.resolve_paths(dir);
    }
}

#[cfg(test)]
mod tests;
