//! Consul SD (`consul_sd_configs`): targets from Consul's catalog, followed with blocking
//! queries, as Prometheus' `discovery/consul` does.
//!
//! # Semantics (Prometheus')
//! - When `services` is empty, or `tags` or `filter` is set, the catalog (`/v1/catalog/services`,
//!   with `node-meta` and `filter`) is watched for services appearing and disappearing; a service
//!   is watched when its name is in `services` (if any) and it carries every tag of `tags`.
//!   Otherwise the services named in `services` are watched directly, without the catalog.
//! - Each watched service is read from the health endpoint (`/v1/health/service/<name>`, with
//!   one `tag` per configured tag, `node-meta` and `health_filter` as `filter`). Its group's
//!   source is the service name and its labels `__meta_consul_service` and `__meta_consul_dc`
//!   (the configured datacenter, or the agent's own from `/v1/agent/self`). Each instance is a
//!   target: see [`targets`] for its labels and `__address__`.
//! - Every query is a blocking query (`index` = the last `X-Consul-Index`, `wait` = 2 minutes);
//!   two queries of one watch start at least `refresh_interval` apart. Query parameters and the
//!   `X-Consul-Token` header are those of Consul's Go client: `dc`, `ns`, `partition` when
//!   configured, `stale` when `allow_stale`.
//! - Config validation and its messages are Prometheus' own.
//! - Metrics: `prometheus_sd_consul_rpc_failures_total` and
//!   `prometheus_sd_consul_rpc_duration_seconds{endpoint="catalog",call="services"|"service"}`,
//!   shared by every Consul provider of the process (see [`register_metrics`]).
//!
//! # Where promsd differs
//! - The first item is the full state, sent once the catalog and every watched service have
//!   answered (a service whose first query keeps failing holds it back; its errors go out
//!   meanwhile); later items carry one service's change, or the removal of services that left
//!   the catalog (or stopped matching `services`/`tags`, which Prometheus keeps watching).
//! - An index that goes backwards resets the watch's index to 0, as Consul's documentation
//!   asks; a response without `X-Consul-Index` is compared by content. An unchanged answer sends
//!   nothing.
//! - A failed query is logged, counted and sent as an error item (the last good state stands),
//!   then retried with capped exponential backoff (from `min(1s, refresh_interval)` up to 15 s,
//!   Prometheus' fixed retry interval), not after a fixed 15 s.
//! - `prometheus_sd_consul_rpc_duration_seconds` is a histogram: prometheus-client has no
//!   summary, so `_sum` and `_count` match Prometheus and buckets replace its quantiles.
//! - A `refresh_interval` of 0 passes validation (Prometheus then panics starting the
//!   discoverer); promsd refuses to start that discoverer with a clear error.
//! - JSON parsing and target building run on the blocking pool, off the engine's thread.
//! - HTTP goes through the shared client of `common::http_client` (what it does not support,
//!   such as `tls_config.server_name` and secret references, it says there).
//! - [`ConsulSdConfig::watch_timeout`] (the `wait` of blocking queries, 2 minutes) can be set
//!   from code, for tests; it is not a YAML key.

mod api;
pub mod targets;
mod watch;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Duration as StdDuration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError};
use serde::{Deserialize, Serialize, Serializer};

use super::SdConfig;
use crate::common::http_config::{BasicAuth, HttpClientConfig};
use crate::common::secret::identity_of;
use crate::common::{Duration, Secret};

/// How long a blocking query waits for a change (Prometheus' `watchTimeout`).
pub const DEFAULT_WATCH_TIMEOUT: StdDuration = StdDuration::from_secs(120);

/// The longest pause between two attempts of a failing query (Prometheus' `retryInterval`).
pub const MAX_RETRY_DELAY: StdDuration = StdDuration::from_secs(15);

/// One `consul_sd_configs` entry, validated.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct ConsulSdConfig {
    /// `host:port` of the Consul agent (default `localhost:8500`).
    #[serde(default = "default_server", deserialize_with = "null_as_zero")]
    pub server: String,
    /// Prefix of every API path, when Consul is behind a reverse proxy.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub path_prefix: String,
    /// ACL token, sent as `X-Consul-Token`.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub token: Secret,
    /// Datacenter to query (`dc`); the agent's own when empty.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub datacenter: String,
    /// Namespace (`ns`, Consul Enterprise).
    #[serde(default, deserialize_with = "null_as_zero")]
    pub namespace: String,
    /// Admin partition (`partition`, Consul Enterprise).
    #[serde(default, deserialize_with = "null_as_zero")]
    pub partition: String,
    /// Joins the tags in `__meta_consul_tags` (default `,`).
    #[serde(default = "default_tag_separator", deserialize_with = "null_as_zero")]
    pub tag_separator: String,
    /// `http` (default) or `https`.
    #[serde(default = "default_scheme", deserialize_with = "null_as_zero")]
    pub scheme: String,
    /// Deprecated: becomes `basic_auth.username`.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub username: String,
    /// Deprecated: becomes `basic_auth.password`.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub password: Secret,
    /// Allow stale reads (`stale`), cheaper for Consul (default true).
    #[serde(default = "default_true", deserialize_with = "null_as_zero")]
    pub allow_stale: bool,
    /// Least time between two queries of one watch (default 30s).
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// Services to watch; all when empty.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub services: Vec<String>,
    /// Tags a service instance must all carry.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub tags: Vec<String>,
    /// Node metadata a node must carry (`node-meta`).
    #[serde(default, deserialize_with = "null_as_zero")]
    pub node_meta: BTreeMap<String, String>,
    /// Filter expression for the catalog API.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub filter: String,
    /// Filter expression for the health API.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub health_filter: String,
    /// The common HTTP client settings, read inline.
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
    /// The `wait` of blocking queries ([`DEFAULT_WATCH_TIMEOUT`]); not a YAML key.
    #[serde(skip, default = "default_watch_timeout")]
    pub watch_timeout: StdDuration,
}

crate::inline_struct!(ConsulSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_server() -> String {
    "localhost:8500".to_owned()
}

fn default_tag_separator() -> String {
    ",".to_owned()
}

fn default_scheme() -> String {
    "http".to_owned()
}

fn default_true() -> bool {
    true
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(30)
}

fn default_watch_timeout() -> StdDuration {
    DEFAULT_WATCH_TIMEOUT
}

use crate::discovery::kit::null_as_zero;

impl Default for ConsulSdConfig {
    /// Prometheus' `DefaultSDConfig`.
    fn default() -> Self {
        ConsulSdConfig {
            server: default_server(),
            path_prefix: String::new(),
            token: Secret::default(),
            datacenter: String::new(),
            namespace: String::new(),
            partition: String::new(),
            tag_separator: default_tag_separator(),
            scheme: default_scheme(),
            username: String::new(),
            password: Secret::default(),
            allow_stale: true,
            refresh_interval: default_refresh_interval(),
            services: Vec::new(),
            tags: Vec::new(),
            node_meta: BTreeMap::new(),
            filter: String::new(),
            health_filter: String::new(),
            http_client_config: HttpClientConfig::default(),
            watch_timeout: DEFAULT_WATCH_TIMEOUT,
        }
    }
}

/// Prometheus' `SDConfig.UnmarshalYAML` checks, with its messages and in its order.
fn validate(c: &mut ConsulSdConfig) -> Result<(), String> {
    if c.server.trim().is_empty() {
        return Err("consul SD configuration requires a server address".into());
    }
    crate::discovery::kit::check_interval("refresh_interval", c.refresh_interval)?;
    if !c.username.is_empty() || !c.password.is_empty() {
        if c.http_client_config.basic_auth.is_some() {
            return Err("at most one of consul SD configuration username and password and basic auth can be configured".into());
        }
        c.http_client_config.basic_auth = Some(BasicAuth {
            username: c.username.clone(),
            password: c.password.clone(),
            ..BasicAuth::default()
        });
    }
    if !c.token.is_empty()
        && (c.http_client_config.authorization.is_some() || c.http_client_config.oauth2.is_some())
    {
        return Err(
            "at most one of consul SD token, authorization, or oauth2 can be configured".into(),
        );
    }
    c.http_client_config.validate().map_err(|e| e.message)
}

impl Serialize for ConsulSdConfig {
    /// The config as written (secrets as `<secret>`), HTTP settings inline, without
    /// `watch_timeout`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            server: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            path_prefix: &'a str,
            #[serde(skip_serializing_if = "Secret::is_empty")]
            token: &'a Secret,
            #[serde(skip_serializing_if = "str::is_empty")]
            datacenter: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            namespace: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            partition: &'a str,
            tag_separator: &'a str,
            scheme: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            username: &'a str,
            #[serde(skip_serializing_if = "Secret::is_empty")]
            password: &'a Secret,
            allow_stale: bool,
            refresh_interval: Duration,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            services: &'a [String],
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            tags: &'a [String],
            #[serde(skip_serializing_if = "BTreeMap::is_empty")]
            node_meta: &'a BTreeMap<String, String>,
            #[serde(skip_serializing_if = "str::is_empty")]
            filter: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            health_filter: &'a str,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            server: &self.server,
            path_prefix: &self.path_prefix,
            token: &self.token,
            datacenter: &self.datacenter,
            namespace: &self.namespace,
            partition: &self.partition,
            tag_separator: &self.tag_separator,
            scheme: &self.scheme,
            username: &self.username,
            password: &self.password,
            allow_stale: self.allow_stale,
            refresh_interval: self.refresh_interval,
            services: &self.services,
            tags: &self.tags,
            node_meta: &self.node_meta,
            filter: &self.filter,
            health_filter: &self.health_filter,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for ConsulSdConfig {
    fn mechanism(&self) -> &'static str {
        "consul"
    }

    fn identity(&self) -> String {
        let mut key = identity_of(self);
        key.push('\u{1f}');
        key.push_str(&self.watch_timeout.as_millis().to_string());
        key
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let settings = watch::Settings::new(self)?;
        Ok(watch::discoverer(Arc::new(settings), ctx.provider.clone()))
    }
}

impl SdConfig for ConsulSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}

// ---------------------------------------------------------------------------------------------
// Metrics

/// The labels of `prometheus_sd_consul_rpc_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    pub endpoint: &'static str,
    pub call: &'static str,
}

/// The catalog's service list (`endpoint="catalog",call="services"`).
pub const SERVICES_CALL: RpcLabels = RpcLabels {
    endpoint: "catalog",
    call: "services",
};

/// One service's instances (`endpoint="catalog",call="service"`, Prometheus' labels although
/// the health endpoint answers).
pub const SERVICE_CALL: RpcLabels = RpcLabels {
    endpoint: "catalog",
    call: "service",
};

type DurationFamily = Family<RpcLabels, Histogram, fn() -> Histogram>;

fn rpc_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 180.0,
    ])
}

static RPC_FAILURES: LazyLock<Counter> = LazyLock::new(Counter::default);
static RPC_DURATION: LazyLock<DurationFamily> =
    LazyLock::new(|| Family::new_with_constructor(rpc_histogram as fn() -> Histogram));

/// Registers `prometheus_sd_consul_rpc_failures_total` and
/// `prometheus_sd_consul_rpc_duration_seconds` (shared by every Consul provider of the process,
/// as in Prometheus). Call once per registry.
pub fn register_metrics(registry: &mut Registry) {
    // Both series exist from the start, as Prometheus initializes them.
    drop(RPC_DURATION.get_or_create(&SERVICES_CALL));
    drop(RPC_DURATION.get_or_create(&SERVICE_CALL));
    registry.register(
        "prometheus_sd_consul_rpc_failures",
        "The number of Consul RPC call failures.",
        RPC_FAILURES.clone(),
    );
    registry.register_with_unit(
        "prometheus_sd_consul_rpc_duration",
        "The duration of a Consul RPC call in seconds.",
        Unit::Seconds,
        RPC_DURATION.clone(),
    );
}

/// `prometheus_sd_consul_rpc_failures_total` so far.
pub fn rpc_failures_total() -> u64 {
    RPC_FAILURES.get()
}

fn observe_rpc(call: &RpcLabels, seconds: f64) {
    RPC_DURATION.get_or_create(call).observe(seconds);
}

fn count_rpc_failure() {
    RPC_FAILURES.inc();
}

#[cfg(test)]
mod tests;
