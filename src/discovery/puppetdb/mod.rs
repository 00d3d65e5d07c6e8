//! PuppetDB SD (`puppetdb_sd_configs`): the resources a PQL query selects in PuppetDB, as
//! Prometheus' `discovery/puppetdb` finds them.
//!
//! # Semantics (Prometheus')
//! - Every `refresh_interval` (default 60s, also each request's timeout): `POST
//!   <url>/pdb/query/v4` (the URL's path joined with `pdb/query/v4`) with body
//!   `{"query":"<query>"}`, `Content-Type` and `Accept: application/json`, and the common HTTP
//!   client settings. Anything but 200 fails the refresh (`server returned HTTP status <status>`),
//!   and so does an answer that is not `application/json` (`unsupported content type <type>`).
//! - The resources are one group; see [`targets`] for the labels (`port`, default 80, is every
//!   target's port; parameters only with `include_parameters`, as they may hold secrets).
//! - Config checks, in order and with Prometheus' messages: `URL is missing`, URL parse errors,
//!   `URL scheme must be 'http' or 'https'`, `host is missing in URL`, `query missing`, then the
//!   HTTP client settings.
//!
//! # Where promsd differs
//! - A `refresh_interval` of zero is a config error (Prometheus would crash).
//! - Failures keep the last good state; the engine's refresh helper retries with capped backoff.

pub mod api;
pub mod targets;

use std::path::Path;
use std::sync::{Arc, LazyLock};

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, TargetGroup};
use regex::Regex;
use serde::{Deserialize, Serialize, Serializer};

use super::kit::{self, ApiError, LazyClient};
use super::SdConfig;
use crate::common::http_config::{yaml11_bool, HttpClientConfig};
use crate::common::secret::identity_of;
use crate::common::Duration;

/// Prometheus' accepted content types for an answer.
static JSON_CONTENT_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?i:application/json(;\s*charset=("utf-8"|utf-8))?)$"#).expect("valid regex")
});

/// One `puppetdb_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct PuppetdbSdConfig {
    /// PuppetDB's URL (`/pdb/query/v4` is joined to its path).
    #[serde(default, deserialize_with = "null_as_zero")]
    pub url: String,
    /// The PQL query; it must select resources.
    #[serde(default, deserialize_with = "null_as_zero")]
    pub query: String,
    /// Adds `__meta_puppetdb_parameter_*` labels (off by default: parameters may hold secrets).
    #[serde(default, deserialize_with = "yaml11_bool")]
    pub include_parameters: bool,
    /// Every target's port (default 80).
    #[serde(default = "default_port", deserialize_with = "null_as_zero")]
    pub port: i64,
    /// How often the query runs (default 60s).
    #[serde(
        default = "default_refresh_interval",
        deserialize_with = "null_as_zero"
    )]
    pub refresh_interval: Duration,
    /// The common HTTP client settings, read inline.
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

crate::inline_struct!(PuppetdbSdConfig, http_client_config: HttpClientConfig, finish = validate);

fn default_port() -> i64 {
    80
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

use crate::discovery::kit::null_as_zero;

/// Prometheus' `SDConfig.UnmarshalYAML` checks, in its order and with its messages.
fn validate(c: &mut PuppetdbSdConfig) -> Result<(), String> {
    if c.url.is_empty() {
        return Err("URL is missing".into());
    }
    // Go's url.Parse is more lenient than the url crate: where it would accept the URL, give
    // the error Prometheus' later checks give.
    let parsed = match url::Url::parse(&c.url) {
        Ok(parsed) => parsed,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err("URL scheme must be 'http' or 'https'".into())
        }
        Err(url::ParseError::EmptyHost) => return Err("host is missing in URL".into()),
        Err(e) => return Err(format!("parse {:?}: {e}", c.url)),
    };
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err("URL scheme must be 'http' or 'https'".into());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("host is missing in URL".into());
    }
    if c.query.is_empty() {
        return Err("query missing".into());
    }
    c.http_client_config.validate().map_err(|e| e.message)?;
    kit::check_interval("refresh_interval", c.refresh_interval)
}

/// The URL asked: `url` with its path joined to `pdb/query/v4` (Go's `path.Join`), the rest as
/// written.
pub fn query_url(base: &str) -> String {
    let (rest, fragment) = match base.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (base, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (scheme, after) = rest.split_once("://").unwrap_or(("", rest));
    let (authority, path) = match after.find('/') {
        Some(i) => after.split_at(i),
        None => (after, ""),
    };
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/').chain("pdb/query/v4".split('/')) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut url = format!("{scheme}://{authority}/{}", segments.join("/"));
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    if let Some(f) = fragment {
        url.push('#');
        url.push_str(f);
    }
    url
}

impl Serialize for PuppetdbSdConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            url: &'a str,
            query: &'a str,
            include_parameters: bool,
            port: i64,
            refresh_interval: Duration,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
        }
        Shown {
            url: &self.url,
            query: &self.query,
            include_parameters: self.include_parameters,
            port: self.port,
            refresh_interval: self.refresh_interval,
            http: &self.http_client_config,
        }
        .serialize(s)
    }
}

impl DiscoveryConfig for PuppetdbSdConfig {
    fn mechanism(&self) -> &'static str {
        "puppetdb"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let interval = self.refresh_interval.as_std();
        let source = Arc::new(Source {
            client: LazyClient::from_config(self.http_client_config.clone(), Some(interval)),
            url: query_url(&self.url),
            query: self.query.clone(),
            port: self.port,
            include_parameters: self.include_parameters,
        });
        Ok(kit::poll(ctx, "puppetdb", interval, move || {
            let source = source.clone();
            async move { source.refresh().await }
        }))
    }
}

/// What a refresh needs.
struct Source {
    client: LazyClient,
    url: String,
    query: String,
    port: i64,
    include_parameters: bool,
}

impl Source {
    async fn refresh(self: Arc<Self>) -> Result<Vec<TargetGroup>, ApiError> {
        let response = self
            .client
            .get()
            .await?
            .post(self.url.as_str())
            .header("Accept", "application/json")
            .body(api::request_body(&self.query), "application/json")
            .send_raw()
            .await?;
        if response.status != reqwest::StatusCode::OK {
            return Err(ApiError::Other(format!(
                "server returned HTTP status {}",
                response.status
            )));
        }
        let content_type = response.header("content-type").unwrap_or("").to_owned();
        if !JSON_CONTENT_TYPE.is_match(&content_type) {
            return Err(ApiError::Other(format!(
                "unsupported content type {content_type}"
            )));
        }
        let body = response.body;
        let source = self.clone();
        tokio::task::spawn_blocking(move || {
            let resources: Option<Vec<api::Resource>> =
                serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            let resources = resources.unwrap_or_default();
            Ok(vec![targets::group(
                &format!("{}?query={}", source.url, source.query),
                &source.query,
                source.port,
                source.include_parameters,
                &resources,
            )])
        })
        .await
        .map_err(|e| ApiError::Other(format!("decoding panicked: {e}")))?
        .map_err(ApiError::Other)
    }
}

impl SdConfig for PuppetdbSdConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        self.http_client_config.resolve_paths(dir);
    }
}

#[cfg(test)]
mod tests;
