//! Linode SD (`linode_sd_configs`): Linode instances, as Prometheus' `discovery/linode` finds
//! them through linodego.
//!
//! # Semantics (Prometheus')
//! - Keys: `port` (default 80), `refresh_interval` (default 60s), `tag_separator` (default
//!   `,`), `region` (optional) and every HTTP client setting, read inline; the API token is
//!   the HTTP settings' bearer token (`authorization` or `bearer_token`).
//! - A full refresh reads three lists of `https://api.linode.com/v4`:
//!   `/linode/instances`, `/networking/ips` and `/networking/ipv6/ranges`, each as
//!   `?page=N&page_size=500` from page 1 to the `pages` the first answer states. With
//!   `region` set, each carries the header `X-Filter: {"region": "<region>"}` (a header, not
//!   a query parameter).
//! - Between full refreshes Prometheus polls the account's events: once a refresh has
//!   succeeded, each later one first asks `/account/events?page=1&page_size=25` with
//!   `X-Filter: {"created": {"+gte": "<start of the previous refresh, UTC>"}}`; with no
//!   events it keeps its last targets (at most 9 times in a row, then refreshes anyway). A
//!   401 there (a token without `events:read_only`) turns event polling off for good: every
//!   refresh is then a full one.
//! - A failed full refresh counts in `prometheus_sd_linode_failures_total`.
//! - The host is fixed: Prometheus has no key to change it (behind a proxy, set `proxy_url`,
//!   and `tls_config.ca_file` for an intercepting one); linodego's `LINODE_URL` and
//!   `LINODE_API_VERSION` environment variables are honoured as linodego honours them.
//! - See [`targets`] for the labels.
//!
//! # Where promsd differs
//! - A `refresh_interval` of zero is a config error (Prometheus would refresh in a busy loop).
//! - A failed refresh keeps the last good targets and is retried with capped backoff by the
//!   engine's refresh helper; linodego's own retries (429, 503, "Linode busy") are not
//!   repeated in the mechanism.
//! - Requests carry promsd's `User-Agent`, not `Prometheus/<version>`.
//! - An instance without `specs` or `backups` gets zero values (Prometheus would panic);
//!   decoding and target building run off the engine's thread, and label values that repeat
//!   across instances are shared.

mod api;
mod refresh;
pub mod targets;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::LazyLock;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError};
use serde::{Deserialize, Serialize, Serializer};

use super::SdConfig;
use crate::common::http_config::HttpClientConfig;
use crate::common::secret::identity_of;
use crate::common::Duration;

/// `prometheus_sd_linode_failures_total`, registered once for the mechanism.
static FAILURES: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Registers Linode SD's own metrics.
pub fn register_metrics(registry: &mut Registry) {
    registry.register(
        "prometheus_sd_linode_failures",
        "Number of Linode service discovery refresh failures.",
        FAILURES.clone(),
    );
}

/// One `linode_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct LinodeSdConfig {
    /// The port of every target's `__address__` (default 80).
    #[serde(default = "default_port", deserialize_with = "null_as_zero")]
    pub port: i64,
    /// How often to ask the API (default 60s); also each request's timeout.
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// Joins tags, extra IPs and IPv6 ranges in their labels (default `,`).
    #[serde(default = "default_tag_separator", deserialize_with = "null_as_zero")]
    pub tag_separator: String,
    /// Only instances (and addresses) of this region, when set.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub region: String,
    /// The common HTTP client settings, read inline.
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(LinodeSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_port() -> i64 {
    80
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_tag_separator() -> String {
    ",".to_owned()
}

use crate::discovery::kit::null_as_zero;

impl Default for LinodeSdConfig {
    /// Prometheus' `DefaultSDConfig`.
    fn default() -> Self {
        LinodeSdConfig {
            port: default_port(),
            refresh_interval: default_refresh_interval(),
            tag_separator: default_tag_separator(),
            region: String::new(),
            http_client_config: HttpClientConfig::default(),
        }
    }
}

/// Prometheus' `SDConfig.UnmarshalYAML` checks, then the interval promsd refuses.
fn validate(c: &mut LinodeSdConfig) -> Result<(), String> {
    c.http_client_config.validate().map_err(|e| e.message)?;
    crate::discovery::kit::check_interval("refresh_interval", c.refresh_interval)
}

impl Serialize for LinodeSdConfig {
    /// The config as written (secrets as `<secret>`), HTTP settings inline.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            port: i64,
            refresh_interval: Duration,
            #[serde(skip_serializing_if = "str::is_empty")]
            tag_separator: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            region: &'a str,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            port: self.port,
            refresh_interval: self.refresh_interval,
            tag_separator: &self.tag_separator,
            region: &self.region,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for LinodeSdConfig {
    fn mechanism(&self) -> &'static str {
        "linode"
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

impl SdConfig for LinodeSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}
