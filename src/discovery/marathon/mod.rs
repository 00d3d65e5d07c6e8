//! Marathon SD (`marathon_sd_configs`): the tasks of Marathon's apps (Mesos, DC/OS), as
//! Prometheus' `discovery/marathon` finds them.
//!
//! # Semantics (Prometheus')
//! - Every `refresh_interval` (default 30s), one of `servers` picked at random is asked
//!   `GET <server>/v2/apps/?embed=apps.tasks` with the common HTTP client settings; with
//!   `auth_token` or `auth_token_file` (read on every request, trimmed) the request carries
//!   `Authorization: token=<token>` (DC/OS' scheme, not `Bearer`). A non-2xx answer fails the
//!   refresh (`non 2xx status '<code>' response during marathon service discovery`).
//! - One group per app, its source the app id; an app that disappears is removed. See
//!   [`targets`] for the labels and ports.
//! - Config checks, in order and with Prometheus' messages: at least one server; at most one of
//!   `auth_token` and `auth_token_file`; either of them excludes `basic_auth`, `bearer_token(_file)`
//!   and `authorization`; then the HTTP client settings.
//!
//! # Where promsd differs
//! - An unreadable `auth_token_file` fails each refresh (and is retried) instead of failing the
//!   discoverer's creation for good.
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
use crate::common::http_config::{join_dir, HttpClientConfig};
use crate::common::secret::identity_of;
use crate::common::{Duration, Secret};

/// The path asked of a Marathon server.
pub const APPS_PATH: &str = "/v2/apps/?embed=apps.tasks";

/// One `marathon_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct MarathonSdConfig {
    /// Marathon servers (URLs); each refresh asks one at random.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub servers: Vec<String>,
    /// How often the apps are read (default 30s).
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// DC/OS token, sent as `Authorization: token=<token>`.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub auth_token: Secret,
    /// File holding the DC/OS token, read on every request.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub auth_token_file: String,
    /// The common HTTP client settings, read inline.
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(MarathonSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_refresh_interval() -> Duration {
    Duration::from_secs(30)
}

use crate::discovery::kit::null_as_zero;

/// Prometheus' `SDConfig.UnmarshalYAML` checks, in its order and with its messages.
fn validate(c: &mut MarathonSdConfig) -> Result<(), String> {
    if c.servers.is_empty() {
        return Err("marathon_sd: must contain at least one Marathon server".into());
    }
    let token = !c.auth_token.is_empty();
    let token_file = !c.auth_token_file.is_empty();
    if token && token_file {
        return Err(
            "marathon_sd: at most one of auth_token & auth_token_file must be configured".into(),
        );
    }
    if token || token_file {
        let h = &c.http_client_config;
        if h.basic_auth.is_some() {
            return Err("marathon_sd: at most one of basic_auth, auth_token & auth_token_file must be configured".into());
        }
        if !h.bearer_token.is_empty() || !h.bearer_token_file.is_empty() {
            return Err("marathon_sd: at most one of bearer_token, bearer_token_file, auth_token & auth_token_file must be configured".into());
        }
        if h.authorization.is_some() {
            return Err("marathon_sd: at most one of auth_token, auth_token_file & authorization must be configured".into());
        }
    }
    c.http_client_config.validate().map_err(|e| e.message)?;
    kit::check_interval("refresh_interval", c.refresh_interval)
}

impl Serialize for MarathonSdConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            servers: &'a [String],
            refresh_interval: Duration,
            #[serde(skip_serializing_if = "Secret::is_empty")]
            auth_token: &'a Secret,
            #[serde(skip_serializing_if = "str::is_empty")]
            auth_token_file: &'a str,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            servers: &self.servers,
            refresh_interval: self.refresh_interval,
            auth_token: &self.auth_token,
            auth_token_file: &self.auth_token_file,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for MarathonSdConfig {
    fn mechanism(&self) -> &'static str {
        "marathon"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let source = Arc::new(Source {
            client: LazyClient::from_config(self.http_client_config.clone(), None),
            servers: self.servers.clone(),
            auth_token: self.auth_token.clone(),
            auth_token_file: self.auth_token_file.clone(),
        });
        Ok(kit::poll(
            ctx,
            "marathon",
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
    servers: Vec<String>,
    auth_token: Secret,
    auth_token_file: String,
}

impl Source {
    /// One refresh: the apps of a server picked at random, a group each.
    async fn refresh(&self) -> Result<Vec<TargetGroup>, ApiError> {
        let server = &self.servers[fastrand::usize(..self.servers.len())];
        let url = format!("{server}{APPS_PATH}");
        let mut request = self.client.get().await?.get(url.as_str());
        let token = if !self.auth_token.is_empty() {
            Some(self.auth_token.expose().to_owned())
        } else if !self.auth_token_file.is_empty() {
            let text = std::fs::read_to_string(&self.auth_token_file).map_err(|e| {
                format!(
                    "unable to read auth token file {}: {e}",
                    self.auth_token_file
                )
            })?;
            Some(text.trim().to_owned())
        } else {
            None
        };
        if let Some(token) = token {
            request = request.header("Authorization", format!("token={token}"));
        }
        let response = request.send_raw().await?;
        if !response.status.is_success() {
            return Err(ApiError::Other(format!(
                "non 2xx status '{}' response during marathon service discovery",
                response.status.as_u16()
            )));
        }
        let body = response.body;
        tokio::task::spawn_blocking(move || {
            let apps: api::AppList =
                serde_json::from_slice(&body).map_err(|e| format!("{url:?}: {e}"))?;
            Ok(targets::groups(&apps))
        })
        .await
        .map_err(|e| ApiError::Other(format!("decoding panicked: {e}")))?
        .map_err(ApiError::Other)
    }
}

impl SdConfig for MarathonSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
        join_dir(dir, &mut self.auth_token_file);
    }
}

#[cfg(test)]
mod tests;
