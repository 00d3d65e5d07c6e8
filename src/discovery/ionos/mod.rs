//! IONOS Cloud SD (`ionos_sd_configs`): the servers of one virtual data center, read again
//! every `refresh_interval`, as Prometheus' `discovery/ionos` (on ionos-cloud/sdk-go v6) does.
//!
//! # Semantics (Prometheus')
//! - `GET https://api.ionos.com/cloudapi/v6/datacenters/<datacenter_id>/servers` with the
//!   SDK's query `depth=3&limit=1000&offset=0&pretty=true` and `Accept: application/json`;
//!   credentials and every other HTTP client setting come from the config (`basic_auth` for
//!   a user and password, `authorization` for a token). The host is fixed; a request may take
//!   at most `refresh_interval`.
//! - One group, source `ionos`. Labels: see [`targets`].
//! - Config validation and messages are Prometheus': `datacenter_id` is required, then the
//!   HTTP client settings are checked. Defaults: `port` 80, `refresh_interval` 60s.
//!
//! # Where promsd differs
//! - A data center with more than 1000 servers: the collection's `_links.next` is followed
//!   (Prometheus reads the first 1000 only).
//! - The SDK retries 429 and 5xx answers itself, up to three times; promsd fails the refresh
//!   and the engine retries it with backoff, the last good targets standing meanwhile.
//! - A `refresh_interval` of zero or below is a config error.

pub mod api;
pub mod targets;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, TargetGroup};
use serde::{Deserialize, Deserializer, Serialize};

use super::SdConfig;
use crate::common::http_config::HttpClientConfig;
use crate::common::secret::identity_of;
use crate::common::Duration;
use crate::discovery::kit::{ApiError, LazyClient, MAX_PAGES};

/// The API's base URL: the host is fixed, as in Prometheus.
pub const API_URL: &str = "https://api.ionos.com/cloudapi/v6";

fn zero<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One `ionos_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct IonosSdConfig {
    /// The virtual data center whose servers are listed.
    #[serde(default, deserialize_with = "zero")]
    pub datacenter_id: String,
    #[serde(default = "default_refresh_interval", deserialize_with = "zero")]
    pub refresh_interval: Duration,
    /// The port of the targets (default 80).
    #[serde(default = "default_port", deserialize_with = "zero")]
    pub port: i64,
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_port() -> i64 {
    80
}

crate::inline_struct!(IonosSdConfig, http_client_config: HttpClientConfig, finish = IonosSdConfig::validate, serialize);

impl IonosSdConfig {
    /// Prometheus' checks, in its order and with its messages.
    fn validate(&mut self) -> Result<(), String> {
        if self.datacenter_id.is_empty() {
            return Err("datacenter id can't be empty".into());
        }
        self.http_client_config.validate().map_err(|e| e.message)?;
        crate::discovery::kit::check_interval("refresh_interval", self.refresh_interval)
    }
}

impl DiscoveryConfig for IonosSdConfig {
    fn mechanism(&self) -> &'static str {
        "ionos"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let refresher = Arc::new(Refresher {
            // As in Prometheus, one request may take at most the refresh interval.
            client: LazyClient::from_config(
                self.http_client_config.clone(),
                Some(self.refresh_interval.as_std()),
            ),
            config: self.clone(),
        });
        Ok(crate::discovery::kit::poll(
            ctx,
            "ionos",
            self.refresh_interval.as_std(),
            move || {
                let refresher = refresher.clone();
                async move { refresher.refresh().await }
            },
        ))
    }
}

impl SdConfig for IonosSdConfig {
    fn resolve_paths(&mut self, dir: &std::path::Path) {
        self.http_client_config.resolve_paths(dir);
    }
}

struct Refresher {
    config: IonosSdConfig,
    client: LazyClient,
}

impl Refresher {
    async fn refresh(&self) -> Result<Vec<TargetGroup>, ApiError> {
        let client = self.client.get().await?;
        let mut first = url::Url::parse(API_URL).expect("a valid URL");
        first.path_segments_mut().expect("an http URL").extend([
            "datacenters",
            &self.config.datacenter_id,
            "servers",
        ]);
        // The SDK's query, sorted as Go's `url.Values.Encode` writes it.
        first.set_query(Some("depth=3&limit=1000&offset=0&pretty=true"));
        let first = first.to_string();
        let mut next = Some(first);
        let mut targets = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(ApiError::Other(format!(
                    "more than {MAX_PAGES} pages: the API does not stop paginating"
                )));
            }
            let page: api::Servers = client
                .get(url.as_str())
                .header("Accept", "application/json")
                .fetch_json()
                .await?;
            let items = page.items.unwrap_or_default();
            targets.extend(targets::server_targets(
                page.id.as_deref(),
                &items,
                self.config.port,
            ));
            next = page
                .links
                .and_then(|l| l.next)
                .filter(|n| !items.is_empty() && !n.is_empty() && *n != url);
        }
        Ok(vec![TargetGroup::new("ionos", targets, Default::default())])
    }
}
