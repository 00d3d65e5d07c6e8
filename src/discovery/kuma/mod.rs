//! Kuma SD (`kuma_sd_configs`): the targets Kuma's control plane assigns to Prometheus
//! (monitoring assignments, MADS), fetched over xDS's REST/JSON protocol every
//! `refresh_interval`, as Prometheus' `discovery/xds` does.
//!
//! # Semantics (Prometheus')
//! - Each fetch POSTs `<server>/v3/discovery:monitoringassignments?fetch-timeout=<fetch_timeout>`
//!   (the server URL's path kept as a prefix, its query replaced) with `Content-Type` and
//!   `Accept: application/json` and a JSON `DiscoveryRequest`: `node.id` (the `client_id`, or
//!   this host's name), `type_url` (MADS v1's), and the `version_info` and `response_nonce` of the
//!   last answer read (both left out until there is one). The whole request may take
//!   `fetch_timeout` + 15 s (the control plane holds it up to `fetch_timeout` until something
//!   changes).
//! - `304 Not Modified` means nothing changed (counted in
//!   `prometheus_sd_kuma_fetch_skipped_updates_total`); any status but 200 is an error.
//! - An answer's version and nonce are kept once it decodes as a `DiscoveryResponse`; its
//!   resources are then checked: the answer's `type_url` must be MADS v1's and every resource a
//!   `MonitoringAssignment`, or the whole answer is rejected (an error; the last targets stand).
//! - All targets go into one group, source `kuma`. Each target: `__address__`, `instance` (the
//!   dataplane's name), `__scheme__`, `__metrics_path__` (empty when the control plane gives
//!   none: the job's then applies), `__meta_kuma_dataplane`, `__meta_kuma_mesh`,
//!   `__meta_kuma_service`, and `__meta_kuma_label_<name>` for the assignment's labels and the
//!   target's own (the assignment's win; names sanitized to `[a-zA-Z0-9_]`).
//! - Config: `server` (required, with a scheme and a host), `client_id`, `refresh_interval`
//!   (15s), `fetch_timeout` (2m), and every HTTP client setting. Validation and its messages
//!   are Prometheus' own; a `server` scheme other than http or https fails when the discoverer
//!   starts, as in Prometheus.
//! - Metrics: `prometheus_sd_kuma_fetch_failures_total`,
//!   `prometheus_sd_kuma_fetch_skipped_updates_total`, `prometheus_sd_kuma_fetch_duration_seconds`.
//!
//! # Where promsd differs
//! - A failed fetch is retried with capped exponential backoff (the kit's refresh helper)
//!   before the next interval; Prometheus waits for the next tick.
//! - Without `client_id`, the node id is the host name as the kernel has it; Prometheus looks
//!   the name up in DNS for a fully qualified one first.
//! - `refresh_interval: 0` is a config error (Prometheus' ticker would panic).
//! - `prometheus_sd_kuma_fetch_duration_seconds` is a histogram (prometheus-client has no
//!   summary): `_sum` and `_count` match Prometheus, buckets replace its quantiles.
//! - Decoding follows protojson's rules (see [`api`]) except that resources of the two other
//!   registered types (`DiscoveryRequest`, `DiscoveryResponse`) are not decoded field by field:
//!   they are rejected by the resource check anyway.
//! - The request's `User-Agent` is promsd's, as for every mechanism.

pub mod api;
pub mod targets;

use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use promsd_actors::{
    refresh_discoverer, BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, RefreshSchedule,
    Refreshed,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use super::kit::{self, LazyClient};
use super::SdConfig;
use crate::common::http_config::HttpClientConfig;
use crate::common::{secret::identity_of, Duration};

static FETCH_FAILURES: LazyLock<Counter> = LazyLock::new(Counter::default);
static FETCH_SKIPPED: LazyLock<Counter> = LazyLock::new(Counter::default);
static FETCH_DURATION: LazyLock<Histogram> = LazyLock::new(|| {
    Histogram::new([
        0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 180.0,
    ])
});

/// Registers Kuma SD's metrics, shared by every Kuma provider of the process.
pub fn register_metrics(registry: &mut Registry) {
    registry.register(
        "prometheus_sd_kuma_fetch_failures",
        "The number of Kuma MADS fetch call failures.",
        FETCH_FAILURES.clone(),
    );
    registry.register(
        "prometheus_sd_kuma_fetch_skipped_updates",
        "The number of Kuma MADS fetch calls that result in no updates to the targets.",
        FETCH_SKIPPED.clone(),
    );
    registry.register_with_unit(
        "prometheus_sd_kuma_fetch_duration",
        "The duration of a Kuma MADS fetch call.",
        Unit::Seconds,
        FETCH_DURATION.clone(),
    );
}

/// `prometheus_sd_kuma_fetch_failures_total` and `..._skipped_updates_total` so far.
pub fn fetch_counts() -> (u64, u64) {
    (FETCH_FAILURES.get(), FETCH_SKIPPED.get())
}

/// One `kuma_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct KumaSdConfig {
    /// The control plane's MADS address, e.g. `http://kuma-control-plane.kuma-system.svc:5676`.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub server: String,
    /// The node id this client gives; the host name when empty.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub client_id: String,
    /// Time between two fetches (default 15s).
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// How long the control plane may hold a fetch until something changes (default 2m).
    #[serde(default = "default_fetch_timeout", deserialize_with = "null_as_zero")]
    pub fetch_timeout: Duration,
    /// The common HTTP client settings, read inline.
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(KumaSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_refresh_interval() -> Duration {
    Duration::from_secs(15)
}

fn default_fetch_timeout() -> Duration {
    Duration::from_secs(120)
}

use crate::discovery::kit::null_as_zero;

/// Prometheus' `KumaSDConfig.UnmarshalYAML` checks, in its order and with its messages, then
/// promsd's interval check.
fn validate(c: &mut KumaSdConfig) -> Result<(), String> {
    if c.server.is_empty() {
        return Err(format!("kuma SD server must not be empty: {}", c.server));
    }
    let no_scheme = || {
        format!(
            "kuma SD server must not be empty and have a scheme: {}",
            c.server
        )
    };
    // Go's url.Parse is more lenient than the url crate: where it would parse, give the
    // error of Prometheus' next check.
    match url::Url::parse(&c.server) {
        Ok(parsed) if parsed.host_str().is_some_and(|h| !h.is_empty()) => {}
        Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase) | Err(url::ParseError::EmptyHost) => {
            return Err(no_scheme())
        }
        Err(e) => return Err(format!("parse {:?}: {e}", c.server)),
    }
    c.http_client_config.validate().map_err(|e| e.message)?;
    kit::check_interval("refresh_interval", c.refresh_interval)
}

impl Default for KumaSdConfig {
    /// Prometheus' `DefaultKumaSDConfig` (without a server).
    fn default() -> Self {
        KumaSdConfig {
            server: String::new(),
            client_id: String::new(),
            refresh_interval: default_refresh_interval(),
            fetch_timeout: default_fetch_timeout(),
            http_client_config: HttpClientConfig::default(),
        }
    }
}

impl Serialize for KumaSdConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            server: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            client_id: &'a str,
            refresh_interval: Duration,
            fetch_timeout: Duration,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            server: &self.server,
            client_id: &self.client_id,
            refresh_interval: self.refresh_interval,
            fetch_timeout: self.fetch_timeout,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl SdConfig for KumaSdConfig {
    fn resolve_paths(&mut self, dir: &std::path::Path) {
        self.http_client_config.resolve_paths(dir);
    }
}

/// The MADS endpoint of a server URL: its path joined with `v3/discovery:monitoringassignments`
/// (Go's `path.Join`), its query replaced by `fetch-timeout`.
pub fn endpoint(server: &str, fetch_timeout: Duration) -> Result<String, String> {
    let mut url = url::Url::parse(server).map_err(|e| format!("parse {server:?}: {e}"))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("invalid xDS server URL".into());
    }
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err("invalid xDS server URL protocol. must be either 'http' or 'https'".into());
    }
    let joined = format!(
        "{}/v3/discovery:{}",
        url.path(),
        api::MONITORING_ASSIGNMENT_RESOURCE
    );
    url.set_path(&clean_path(&joined));
    url.set_query(None);
    url.query_pairs_mut()
        .append_pair("fetch-timeout", &fetch_timeout.to_string());
    Ok(url.to_string())
}

/// Go's `path.Clean` for an absolute path: no empty, `.` or `..` segments.
fn clean_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

/// This host's name, for the node id when no `client_id` is configured.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "prometheus".to_owned())
}

/// The version and nonce of the last answer read.
#[derive(Default)]
struct Last {
    version: String,
    nonce: String,
}

struct Fetcher {
    client: LazyClient,
    endpoint: String,
    /// The configured `client_id` (empty: the host name, read on first use).
    client_id: String,
    node_id: std::sync::OnceLock<String>,
    last: Mutex<Last>,
}

impl Fetcher {
    fn node_id(&self) -> &str {
        self.node_id.get_or_init(|| {
            if self.client_id.is_empty() {
                host_name()
            } else {
                self.client_id.clone()
            }
        })
    }

    async fn fetch(&self) -> Result<Refreshed, String> {
        let client = self.client.get().await.map_err(|e| e.to_string())?;
        let body = {
            let last = self.last.lock().expect("poisoned");
            serde_json::to_vec(&api::DiscoveryRequest {
                version_info: &last.version,
                node: api::Node { id: self.node_id() },
                type_url: api::MONITORING_ASSIGNMENT_TYPE_URL,
                response_nonce: &last.nonce,
            })
            .expect("a request serializes")
        };
        let response = client
            .post(&self.endpoint)
            .header("Accept", "application/json")
            .body(body, "application/json")
            .send_raw()
            .await
            .map_err(|e| e.to_string())?;
        if response.status == StatusCode::NOT_MODIFIED {
            FETCH_SKIPPED.inc();
            return Ok(Refreshed::Unchanged);
        }
        if response.status != StatusCode::OK {
            return Err(format!(
                "non 200 status '{}' response during xDS fetch",
                response.status.as_u16()
            ));
        }
        let body = response.body;
        let decoded = tokio::task::spawn_blocking(move || api::parse_response(&body))
            .await
            .map_err(|e| format!("decoding panicked: {e}"))??;
        {
            let mut last = self.last.lock().expect("poisoned");
            last.version = decoded.version_info.clone();
            last.nonce = decoded.nonce.clone();
        }
        let targets = targets::parse_resources(&decoded)?;
        tracing::debug!(version = %decoded.version_info, targets = targets.len(), "Updated to version");
        Ok(Refreshed::all(vec![targets::group(targets)]))
    }
}

impl DiscoveryConfig for KumaSdConfig {
    fn mechanism(&self) -> &'static str {
        "kuma"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let endpoint = endpoint(&self.server, self.fetch_timeout)
            .map_err(|e| DiscoveryError::new(format!("kuma_sd: {e}")))?;
        // The control plane may hold the request for fetch_timeout; 15 s more for the rest.
        let timeout = self.fetch_timeout.as_std() + std::time::Duration::from_secs(15);
        let fetcher = Arc::new(Fetcher {
            client: LazyClient::from_config(self.http_client_config.clone(), Some(timeout)),
            endpoint,
            client_id: self.client_id.clone(),
            node_id: std::sync::OnceLock::new(),
            last: Mutex::new(Last::default()),
        });
        Ok(refresh_discoverer(
            ctx,
            "kuma",
            RefreshSchedule::every(self.refresh_interval.as_std()),
            move || {
                let fetcher = fetcher.clone();
                async move {
                    let started = Instant::now();
                    let result = fetcher.fetch().await;
                    FETCH_DURATION.observe(started.elapsed().as_secs_f64());
                    // The refresh helper logs the error.
                    result.map_err(|e| {
                        FETCH_FAILURES.inc();
                        DiscoveryError::new(e)
                    })
                }
            },
        ))
    }
}

#[cfg(test)]
mod tests;
