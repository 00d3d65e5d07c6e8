//! Eureka SD (`eureka_sd_configs`): every instance registered in a Netflix Eureka server, as
//! Prometheus' `discovery/eureka` finds them.
//!
//! # Semantics (Prometheus')
//! - Every `refresh_interval` (default 30s), `GET <server>/apps` with the common HTTP client
//!   settings; a non-2xx answer fails the refresh (`non 2xx status '<code>' response during
//!   eureka service discovery`), and so does XML that does not decode.
//! - The answer is Eureka's XML (`<applications><application><instance>...`), read with Go's
//!   `encoding/xml` semantics (see [`api`]); every instance is a target of one group whose source
//!   is `eureka` (see [`targets`] for the labels).
//! - Config checks, in order and with Prometheus' messages: `server` missing
//!   (`eureka_sd: empty or null eureka server`), `server` without a scheme or host
//!   (`eureka_sd: invalid eureka server URL`), then the HTTP client settings.
//!
//! # Where promsd differs
//! - The request carries `Accept: application/xml`, so that a Eureka server that could answer
//!   JSON answers the XML that Prometheus decodes (Prometheus sends no `Accept`, and Eureka
//!   answers XML to it).
//! - A `refresh_interval` of zero is a config error (Prometheus would crash).
//! - Failures keep the last good state; the engine's refresh helper retries with capped backoff.

pub mod api;
pub mod targets;

use std::path::Path;
use std::sync::Arc;

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, TargetGroup};
use serde::{Deserialize, Serialize, Serializer};

use super::kit::{self, ApiError, LazyClient};
use super::SdConfig;
use crate::common::http_config::HttpClientConfig;
use crate::common::secret::identity_of;
use crate::common::Duration;

/// One `eureka_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct EurekaSdConfig {
    /// The Eureka server's URL, e.g. `http://eureka:8761/eureka` (`/apps` is appended).
    #[serde(default, deserialize_with = "null_as_zero")]
    pub server: String,
    /// How often the applications are read (default 30s).
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// The common HTTP client settings, read inline.
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(EurekaSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_refresh_interval() -> Duration {
    Duration::from_secs(30)
}

use crate::discovery::kit::null_as_zero;

/// Prometheus' `SDConfig.UnmarshalYAML` checks, in its order and with its messages.
fn validate(c: &mut EurekaSdConfig) -> Result<(), String> {
    if c.server.is_empty() {
        return Err("eureka_sd: empty or null eureka server".into());
    }
    // Go's url.Parse: a scheme needs a letter first and then letters, digits, `+-.`; the host
    // follows `//`. Anything else has no scheme or no host here.
    let (scheme, rest) = c.server.split_once(':').unwrap_or(("", ""));
    let scheme_ok = scheme.starts_with(|ch: char| ch.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "+-.".contains(ch));
    let host = rest
        .strip_prefix("//")
        .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""))
        .map(|authority| authority.rsplit('@').next().unwrap_or(""))
        .unwrap_or("");
    if !scheme_ok || host.is_empty() {
        return Err("eureka_sd: invalid eureka server URL".into());
    }
    c.http_client_config.validate().map_err(|e| e.message)?;
    kit::check_interval("refresh_interval", c.refresh_interval)
}

impl Serialize for EurekaSdConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            server: &'a str,
            refresh_interval: Duration,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            server: &self.server,
            refresh_interval: self.refresh_interval,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for EurekaSdConfig {
    fn mechanism(&self) -> &'static str {
        "eureka"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let url = format!("{}/apps", self.server);
        let client = Arc::new(LazyClient::from_config(
            self.http_client_config.clone(),
            None,
        ));
        Ok(kit::poll(
            ctx,
            "eureka",
            self.refresh_interval.as_std(),
            move || {
                let client = client.clone();
                let url = url.clone();
                async move { refresh(&client, &url).await }
            },
        ))
    }
}

/// One refresh: the applications, as one group.
async fn refresh(client: &LazyClient, url: &str) -> Result<Vec<TargetGroup>, ApiError> {
    let response = client
        .get()
        .await?
        .get(url)
        .header("Accept", "application/xml")
        .send_raw()
        .await?;
    if !response.status.is_success() {
        return Err(ApiError::Other(format!(
            "non 2xx status '{}' response during eureka service discovery",
            response.status.as_u16()
        )));
    }
    let url = url.to_owned();
    let body = response.body;
    tokio::task::spawn_blocking(move || {
        let text = std::str::from_utf8(&body).map_err(|e| format!("{url:?}: {e}"))?;
        let apps = api::decode(text).map_err(|e| format!("{url:?}: {e}"))?;
        Ok(vec![targets::group(&apps)])
    })
    .await
    .map_err(|e| ApiError::Other(format!("decoding panicked: {e}")))?
    .map_err(ApiError::Other)
}

impl SdConfig for EurekaSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}

#[cfg(test)]
mod tests;
