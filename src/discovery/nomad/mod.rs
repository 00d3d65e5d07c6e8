//! Nomad SD (`nomad_sd_configs`): services registered in Nomad's own service catalog, as
//! Prometheus' `discovery/nomad` finds them through Nomad's Go client.
//!
//! # Semantics (Prometheus')
//! - Every `refresh_interval` (default 60s): `GET /v1/services`, then `GET /v1/service/<name>`
//!   for every service of every namespace listed. Each request goes to `server`'s scheme and
//!   host (its path is not used, as in Nomad's client), with the query parameters Nomad's client
//!   sends: `namespace` and `region` when set (defaults `default` and `global`) and `stale` (no
//!   value) when `allow_stale` (default true); `Accept-Encoding: gzip`. Anything but 200 fails
//!   the refresh (`Unexpected response code: <code> (<body>)`; a failed service read is
//!   prefixed `failed to fetch services: `) and counts `prometheus_sd_nomad_failures_total`.
//! - All registrations are targets of one group with source `Nomad`; see [`targets`].
//! - Config check: `nomad SD configuration requires a server address` for a blank server, then
//!   the HTTP client settings; a server Go's `url.Parse` rejects fails the discoverer.
//!
//! # Where promsd differs
//! - A `refresh_interval` of zero is a config error (Prometheus would crash).
//! - Failures keep the last good state; the engine's refresh helper retries with capped backoff.

pub mod api;
pub mod targets;

use std::path::Path;
use std::sync::{Arc, LazyLock};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use promsd_actors::{
    BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, LabelSet, TargetGroup,
};
use serde::{Deserialize, Serialize, Serializer};

use super::kit::{self, ApiError, LazyClient};
use super::SdConfig;
use crate::common::http_config::{yaml11_bool, HttpClientConfig};
use crate::common::secret::identity_of;
use crate::common::Duration;

/// `prometheus_sd_nomad_failures_total`, shared by every Nomad provider.
static FAILURES: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Registers Nomad SD's own metrics.
pub fn register_metrics(registry: &mut Registry) {
    registry.register(
        "prometheus_sd_nomad_failures",
        "Number of nomad service discovery refresh failures.",
        FAILURES.clone(),
    );
}

/// One `nomad_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct NomadSdConfig {
    /// Allow any Nomad server (not only the leader) to answer (default true).
    #[serde(default = "default_true", deserialize_with = "yaml11_bool")]
    pub allow_stale: bool,
    /// Namespace asked (default `default`).
    #[serde(default = "default_namespace", deserialize_with = "null_as_zero")]
    pub namespace: String,
    /// How often the services are read (default 60s).
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// Region asked (default `global`).
    #[serde(default = "default_region", deserialize_with = "null_as_zero")]
    pub region: String,
    /// Nomad's address (default `http://localhost:4646`).
    #[serde(default = "default_server", deserialize_with = "null_as_zero")]
    pub server: String,
    /// Joins the tags in `__meta_nomad_tags` (default `,`).
    #[serde(default = "default_tag_separator", deserialize_with = "null_as_zero")]
    pub tag_separator: String,
    /// The common HTTP client settings, read inline.
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(NomadSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_true() -> bool {
    true
}
fn default_namespace() -> String {
    "default".into()
}
fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_region() -> String {
    "global".into()
}
fn default_server() -> String {
    "http://localhost:4646".into()
}
fn default_tag_separator() -> String {
    ",".into()
}

use crate::discovery::kit::null_as_zero;

/// Prometheus' `SDConfig.UnmarshalYAML` checks, in its order and with its messages.
fn validate(c: &mut NomadSdConfig) -> Result<(), String> {
    if c.server.trim().is_empty() {
        return Err("nomad SD configuration requires a server address".into());
    }
    c.http_client_config.validate().map_err(|e| e.message)?;
    kit::check_interval("refresh_interval", c.refresh_interval)
}

impl Serialize for NomadSdConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            allow_stale: bool,
            namespace: &'a str,
            refresh_interval: Duration,
            region: &'a str,
            server: &'a str,
            tag_separator: &'a str,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            allow_stale: self.allow_stale,
            namespace: &self.namespace,
            refresh_interval: self.refresh_interval,
            region: &self.region,
            server: &self.server,
            tag_separator: &self.tag_separator,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

/// The query parameters every request carries.
pub type QueryOptions = Vec<(&'static str, String)>;

impl NomadSdConfig {
    /// The base URL of requests (`server`'s scheme, user and host, as Nomad's client keeps
    /// them) and the query every request carries, in Go's `url.Values.Encode` order.
    pub fn base_and_query(&self) -> Result<(url::Url, QueryOptions), String> {
        let mut base = url::Url::parse(&self.server)
            .map_err(|e| format!("invalid address '{}': {e}", self.server))?;
        base.set_path("");
        base.set_query(None);
        base.set_fragment(None);
        let mut query = Vec::new();
        if !self.namespace.is_empty() {
            query.push(("namespace", self.namespace.clone()));
        }
        if !self.region.is_empty() {
            query.push(("region", self.region.clone()));
        }
        if self.allow_stale {
            query.push(("stale", String::new()));
        }
        Ok((base, query))
    }
}

impl DiscoveryConfig for NomadSdConfig {
    fn mechanism(&self) -> &'static str {
        "nomad"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        // Nomad's client refuses an address Go's url.Parse rejects, and so the discoverer fails.
        let (base, query) = self.base_and_query().map_err(DiscoveryError::new)?;
        let source = Arc::new(Source {
            client: LazyClient::from_config(self.http_client_config.clone(), None),
            base,
            query,
            tag_separator: self.tag_separator.clone(),
        });
        Ok(kit::poll(
            ctx,
            "nomad",
            self.refresh_interval.as_std(),
            move || {
                let source = source.clone();
                async move {
                    let result = source.refresh().await;
                    if result.is_err() {
                        FAILURES.inc();
                    }
                    result
                }
            },
        ))
    }
}

/// What a refresh needs.
struct Source {
    client: LazyClient,
    base: url::Url,
    query: QueryOptions,
    tag_separator: String,
}

impl Source {
    /// One refresh: every service's registrations, in one group.
    async fn refresh(&self) -> Result<Vec<TargetGroup>, ApiError> {
        let stubs: Vec<api::ServiceRegistrationListStub> = self.query("/v1/services").await?;
        let mut all = Vec::new();
        for stub in &stubs {
            for service in &stub.services {
                let path = format!("/v1/service/{}", api::path_escape(&service.service_name));
                let instances: Vec<api::ServiceRegistration> = self
                    .query(&path)
                    .await
                    .map_err(|e| ApiError::Other(format!("failed to fetch services: {e}")))?;
                all.extend(
                    instances
                        .iter()
                        .map(|i| targets::target(i, &self.tag_separator)),
                );
            }
        }
        Ok(vec![TargetGroup::new("Nomad", all, LabelSet::new())])
    }

    /// A GET as Nomad's client sends it (the query options; `Accept-Encoding: gzip` comes
    /// from the HTTP client): 200 or an error.
    async fn query<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
    ) -> Result<T, ApiError> {
        let mut url = self.base.clone();
        url.set_path(path);
        let response = self
            .client
            .get()
            .await?
            .get(url.as_str())
            .query(&self.query)
            .send_raw()
            .await?;
        if response.status != reqwest::StatusCode::OK {
            return Err(ApiError::Other(format!(
                "Unexpected response code: {} ({})",
                response.status.as_u16(),
                String::from_utf8_lossy(&response.body).trim()
            )));
        }
        if response.body.is_empty() {
            return Err(ApiError::Other(
                "Got 0 byte response with non-nil decode object".into(),
            ));
        }
        response.json().await
    }
}

impl SdConfig for NomadSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}

#[cfg(test)]
mod tests;
