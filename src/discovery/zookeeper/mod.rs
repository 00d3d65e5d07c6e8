//! ZooKeeper SD: `serverset_sd_configs` (Twitter's serversets, as Aurora and Finagle register
//! them) and `nerve_sd_configs` (AirBnB's Nerve), as Prometheus' `discovery/zookeeper` and
//! `util/treecache` discover them: members are znodes holding JSON, found under configured
//! paths and followed with ZooKeeper watches.
//!
//! # Semantics (Prometheus')
//! - `servers` (each `host` or `host:port`, port 2181 by default) make one session, with
//!   `timeout` (default 10s) as its session timeout. Every path is cached as a tree: the znode
//!   at the path itself and every znode below it, at any depth, is a candidate member, read
//!   with a data and a child watch, and read again whenever a watch fires (no polling).
//! - Each znode whose data decodes as a member is one target, alone in a group whose source is
//!   the znode's path; no group labels. A znode whose data does not decode (JSON syntax, a
//!   wrong type, no data at all) is no target. Keys match case-insensitively and unknown keys
//!   are ignored, as Go's `encoding/json` reads them (see [`api`]).
//! - Serverset targets: `__address__` = `serviceEndpoint` `host:port` (IPv6 in brackets),
//!   `__meta_serverset_endpoint_host`, `__meta_serverset_endpoint_port`, for each additional
//!   endpoint `__meta_serverset_endpoint_host_<name>` and `__meta_serverset_endpoint_port_<name>`
//!   (the name with every character outside `[a-zA-Z0-9_]` as `_`), `__meta_serverset_status`
//!   (a label only: `STARTING` or `DEAD` members stay targets), `__meta_serverset_shard` and
//!   `__meta_serverset_path`. Missing fields read as zero values (`""`, `0`).
//! - Nerve targets: `__address__` = `host:port`, `__meta_nerve_endpoint_host`,
//!   `__meta_nerve_endpoint_port`, `__meta_nerve_endpoint_name`, `__meta_nerve_path`.
//! - A path that does not exist, or stops existing, has no members; the other paths go on. A
//!   failed read or a lost session keeps the last state, and the tree is read again.
//! - Config validation and its messages are Prometheus' own; `servers` and `paths` must be
//!   non-empty and every path must begin with `/`.
//! - Metrics: `prometheus_treecache_zookeeper_failures_total` and
//!   `prometheus_treecache_watcher_goroutines`, shared by every provider of the process.
//!
//! # Where promsd differs
//! - A missing path is watched (an exists watch) and read as soon as it is created, instead of
//!   being retried every 10 s; a failed read is retried after 1 s doubling up to 10 s, not after
//!   a fixed 10 s. Reads of a tree are pipelined (`treecache::IN_FLIGHT` in flight).
//! - Overlapping paths are one tree: a path at or below another configured path adds nothing
//!   (its members are the other's), so a member is read, watched and sent once.
//! - The path `/` works (Prometheus builds `//child` paths there and fails). A path ZooKeeper
//!   would refuse (`/a/`, `/a//b`, `/a/./b`) is reported once as an error item and skipped; the
//!   other paths go on (Prometheus retries it every 10 s forever).
//! - Members that do not decode are logged (a warning with the decoding error; a debug line for
//!   a znode without data, which is a directory), each time their data changes; Prometheus
//!   drops them silently.
//! - The first item is the full state, sent once every tree has been read (a tree whose reads
//!   keep failing holds it back for three attempts, about 7 s, then no longer); later items
//!   carry only the znodes that changed. A session that ends, and every failed
//!   read, is an error item (the last state stands) and counts as a ZooKeeper failure.
//! - `prometheus_treecache_watcher_goroutines` counts armed watches (two per znode, plus one
//!   per missing path); Prometheus counts its goroutines (one per znode).
//! - `timeout: 0` is accepted, as Prometheus accepts it; the client then asks for its default
//!   session timeout (6 s), which the server bounds as always.

pub mod api;
pub mod targets;
mod treecache;

use std::sync::{Arc, LazyLock};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError};
use serde::{Deserialize, Deserializer, Serialize};

pub use self::targets::Flavor;
use super::SdConfig;
use crate::common::Duration;

static FAILURES: LazyLock<Counter> = LazyLock::new(Counter::default);
static WATCHERS: LazyLock<Gauge> = LazyLock::new(Gauge::default);

/// Registers `prometheus_treecache_zookeeper_failures_total` and
/// `prometheus_treecache_watcher_goroutines`, shared by serverset and Nerve. Call once per
/// registry.
pub fn register_metrics(registry: &mut Registry) {
    registry.register(
        "prometheus_treecache_zookeeper_failures",
        "The total number of ZooKeeper failures.",
        FAILURES.clone(),
    );
    registry.register(
        "prometheus_treecache_watcher_goroutines",
        "The current number of watcher goroutines.",
        WATCHERS.clone(),
    );
}

/// `prometheus_treecache_zookeeper_failures_total` so far.
pub fn failures_total() -> u64 {
    FAILURES.get()
}

fn count_failure() {
    FAILURES.inc();
}

/// One armed watch, counted in `prometheus_treecache_watcher_goroutines` while it lives.
struct WatchGauge(());

impl WatchGauge {
    fn armed() -> Self {
        WATCHERS.inc();
        WatchGauge(())
    }
}

impl Drop for WatchGauge {
    fn drop(&mut self) {
        WATCHERS.dec();
    }
}

/// The default session timeout (Prometheus' `DefaultServersetSDConfig.Timeout`).
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The config as written. Missing keys take Prometheus' defaults; a key written as `null`
/// takes Go's zero value, as Prometheus' YAML decoder does.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default, deserialize_with = "null_as_zero")]
    servers: Vec<String>,
    #[serde(default, deserialize_with = "null_as_zero")]
    paths: Vec<String>,
    #[serde(default = "default_timeout", deserialize_with = "null_as_zero")]
    timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(DEFAULT_TIMEOUT.as_secs())
}

use crate::discovery::kit::null_as_zero;

impl RawConfig {
    /// Prometheus' `UnmarshalYAML` checks, in its order, with its messages (`name` is
    /// `serverset` or `nerve`).
    fn validate(self, name: &str) -> Result<(Vec<String>, Vec<String>, Duration), String> {
        if self.servers.is_empty() {
            return Err(format!(
                "{name} SD config must contain at least one Zookeeper server"
            ));
        }
        if self.paths.is_empty() {
            return Err(format!("{name} SD config must contain at least one path"));
        }
        if let Some(path) = self.paths.iter().find(|p| !p.starts_with('/')) {
            return Err(format!(
                "{name} SD config paths must begin with '/': {path}"
            ));
        }
        Ok((self.servers, self.paths, self.timeout))
    }
}

type Fields = (Vec<String>, Vec<String>, Duration);

/// Reads and validates one config (the map of `name`'s entry). Validation runs inside the
/// map, so that its error carries the entry's position and path, as for other mechanisms.
fn read_config<'de, D: Deserializer<'de>>(d: D, name: &'static str) -> Result<Fields, D::Error> {
    struct Entry(&'static str);
    impl<'de> serde::de::Visitor<'de> for Entry {
        type Value = Fields;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a {} SD config", self.0)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Fields, A::Error> {
            let raw = RawConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
            raw.validate(self.0).map_err(serde::de::Error::custom)
        }
    }
    d.deserialize_map(Entry(name))
}

macro_rules! zookeeper_config {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $flavor:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
        pub struct $ty {
            /// The ZooKeeper servers, `host` or `host:port` (port 2181 by default).
            pub servers: Vec<String>,
            /// The paths whose trees hold the members (each beginning with `/`).
            pub paths: Vec<String>,
            /// The session timeout (default 10s).
            pub timeout: Duration,
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let (servers, paths, timeout) = read_config(d, $name)?;
                Ok($ty {
                    servers,
                    paths,
                    timeout,
                })
            }
        }

        impl $ty {
            /// A config of these servers and paths, with the default timeout.
            pub fn new(servers: Vec<String>, paths: Vec<String>) -> Self {
                $ty {
                    servers,
                    paths,
                    timeout: default_timeout(),
                }
            }
        }

        impl DiscoveryConfig for $ty {
            fn mechanism(&self) -> &'static str {
                $name
            }

            fn identity(&self) -> String {
                serde_json::to_string(self).expect("a ZooKeeper SD config serializes")
            }

            fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
                let settings = treecache::Settings {
                    flavor: $flavor,
                    servers: self.servers.join(","),
                    paths: self.paths.clone(),
                    timeout: self.timeout.as_std(),
                };
                Ok(treecache::discoverer(Arc::new(settings), ctx.provider.clone()))
            }
        }

        impl SdConfig for $ty {}
    };
}

zookeeper_config!(
    /// One `serverset_sd_configs` entry.
    ServersetSdConfig,
    "serverset",
    Flavor::Serverset
);

zookeeper_config!(
    /// One `nerve_sd_configs` entry.
    NerveSdConfig,
    "nerve",
    Flavor::Nerve
);

#[cfg(test)]
mod tests;
