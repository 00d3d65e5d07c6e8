//! HTTP SD (`http_sd_configs`): target groups fetched as JSON from a URL every
//! `refresh_interval`, as Prometheus' `discovery/http` does — the same request headers, status
//! and content-type checks, Sources (`<url>:<index>`) and `__meta_url` label.
//!
//! Beyond Prometheus: an unchanged body (same ETag answered with 304 to our `If-None-Match`,
//! or the same bytes) costs no parsing and sends no update — an ETag is kept only with a body
//! that parsed, so a broken source keeps failing (and counting failures) on every refresh; a body over `body_size_limit` (a
//! promsd extension, default 100 MiB) is rejected with a clear error; failures keep the last
//! good groups and are retried with capped exponential backoff (the engine's refresh helper)
//! before the next interval; parsing runs on the blocking pool.

use std::sync::{Arc, LazyLock, Mutex};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use promsd_actors::{
    refresh_discoverer, BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, RefreshSchedule,
    Refreshed, TargetGroup,
};
use regex::Regex;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use super::kit::{ApiError, LazyClient, DEFAULT_BODY_LIMIT};
use super::SdConfig;
use crate::common::http_config::HttpClientConfig;
use crate::common::{secret::identity_of, Duration};

/// `prometheus_sd_http_failures_total`, registered once for the mechanism.
static FAILURES: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Registers HTTP SD's own metrics.
pub fn register_metrics(registry: &mut Registry) {
    registry.register(
        "prometheus_sd_http_failures",
        "Number of HTTP service discovery refresh failures.",
        FAILURES.clone(),
    );
}

/// Prometheus' accepted content types for an HTTP SD body.
static JSON_CONTENT_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?i:application/json(;\s*charset=("utf-8"|utf-8))?)$"#).expect("valid regex")
});

/// One entry of `http_sd_configs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct HttpSdConfig {
    #[serde(default)]
    pub url: String,
    #[serde(default = "default_refresh_interval")]
    pub refresh_interval: Duration,
    /// promsd extension: the largest body accepted, in bytes or with a unit (`10MiB`, `1GB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_size_limit: Option<ByteSize>,
    #[serde(skip)]
    pub http_client_config: HttpClientConfig,
}

fn default_refresh_interval() -> Duration {
    Duration::from_secs(60)
}

crate::inline_struct!(HttpSdConfig, http_client_config: HttpClientConfig, finish = HttpSdConfig::validate, serialize);

impl HttpSdConfig {
    /// Prometheus' checks, in its order and with its messages.
    fn validate(&mut self) -> Result<(), String> {
        if self.url.is_empty() {
            return Err("URL is missing".into());
        }
        // Go's url.Parse is more lenient than the url crate: where it would accept the URL,
        // give the error Prometheus' later checks give.
        let parsed = match url::Url::parse(&self.url) {
            Ok(parsed) => parsed,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                return Err("URL scheme must be 'http' or 'https'".into())
            }
            Err(url::ParseError::EmptyHost) => return Err("host is missing in URL".into()),
            Err(e) => return Err(format!("parse {:?}: {e}", self.url)),
        };
        if parsed.scheme() != "http" && parsed.scheme() != "https" {
            return Err("URL scheme must be 'http' or 'https'".into());
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err("host is missing in URL".into());
        }
        self.http_client_config.validate().map_err(|e| e.message)?;
        crate::discovery::kit::check_interval("refresh_interval", self.refresh_interval)
    }
}

/// A size in bytes, written as a number or with a unit (`B`, `KB`/`KiB`, `MB`/`MiB`,
/// `GB`/`GiB`, all powers of 1024 as in Prometheus' `body_size_limit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Number(n) => return Ok(ByteSize(n)),
            Raw::Text(t) => t,
        };
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = text.split_at(digits);
        let number: u64 = number
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("invalid size {text:?}")))?;
        let multiplier: u64 = match unit {
            "" | "B" => 1,
            "KB" | "KiB" => 1 << 10,
            "MB" | "MiB" => 1 << 20,
            "GB" | "GiB" => 1 << 30,
            _ => return Err(serde::de::Error::custom(format!("invalid size {text:?}"))),
        };
        number
            .checked_mul(multiplier)
            .map(ByteSize)
            .ok_or_else(|| serde::de::Error::custom(format!("size {text:?} is too large")))
    }
}

impl DiscoveryConfig for HttpSdConfig {
    fn mechanism(&self) -> &'static str {
        "http"
    }

    fn identity(&self) -> String {
        identity_of(self)
    }

    fn build(&self, ctx: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let interval = self.refresh_interval.as_std();
        // As in Prometheus, one request may take at most the refresh interval.
        // Built on first use, off the engine's thread (reading CA files and keys).
        let client = LazyClient::from_config(self.http_client_config.clone(), Some(interval));
        let fetcher = Arc::new(Fetcher {
            client,
            url: self.url.clone(),
            refresh_header: format_seconds(interval.as_secs_f64()),
            body_limit: self.body_size_limit.map_or(DEFAULT_BODY_LIMIT, |b| b.0),
            last: Mutex::new(LastBody::default()),
        });
        Ok(refresh_discoverer(
            ctx,
            "http",
            RefreshSchedule::every(interval),
            move || {
                let fetcher = fetcher.clone();
                async move {
                    let result = fetcher.refresh().await;
                    if result.is_err() {
                        FAILURES.inc();
                    }
                    result.map_err(DiscoveryError::new)
                }
            },
        ))
    }
}

impl SdConfig for HttpSdConfig {
    fn resolve_paths(&mut self, dir: &std::path::Path) {
        self.http_client_config.resolve_paths(dir);
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)` for the refresh header: `60`, `0.5`.
fn format_seconds(seconds: f64) -> String {
    let text = format!("{seconds}");
    text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
}

#[derive(Default)]
struct LastBody {
    etag: Option<String>,
    hash: Option<u64>,
}

struct Fetcher {
    client: LazyClient,
    url: String,
    refresh_header: String,
    body_limit: u64,
    last: Mutex<LastBody>,
}

impl Fetcher {
    async fn refresh(&self) -> Result<Refreshed, String> {
        let client = self.client.get().await.map_err(|e| e.to_string())?;
        let mut request = client
            .get(&self.url)
            .header("Accept", "application/json")
            .header(
                "X-Prometheus-Refresh-Interval-Seconds",
                &self.refresh_header,
            )
            .limit(self.body_limit);
        let etag = self.last.lock().expect("poisoned").etag.clone();
        if let Some(etag) = &etag {
            request = request.header("If-None-Match", etag);
        }
        let response = match request.send_raw().await {
            Ok(response) => response,
            Err(ApiError::TooLarge { .. }) => return Err(self.too_large()),
            Err(ApiError::Transport { cause, .. }) => return Err(cause),
            Err(e) => return Err(e.to_string()),
        };
        let status = response.status;
        if status == StatusCode::NOT_MODIFIED && etag.is_some() {
            return Ok(Refreshed::Unchanged);
        }
        if status != StatusCode::OK {
            return Err(format!("server returned HTTP status {status}"));
        }
        let content_type = response.header("Content-Type").unwrap_or("").to_owned();
        if !JSON_CONTENT_TYPE.is_match(content_type.trim()) {
            return Err(format!("unsupported content type {content_type:?}"));
        }
        let new_etag = response.header("ETag").map(str::to_owned);
        let body = response.body;
        let hash = xxhash_rust::xxh3::xxh3_64(&body);
        {
            let mut last = self.last.lock().expect("poisoned");
            if last.hash == Some(hash) {
                // The very body that last parsed: its ETag stands for good groups.
                last.etag = new_etag;
                return Ok(Refreshed::Unchanged);
            }
            // Until this body parses, no ETag may turn the server's 304s into "unchanged":
            // a broken source must keep failing (and counting) on every refresh.
            last.etag = None;
        }
        let url = self.url.clone();
        let groups = tokio::task::spawn_blocking(move || parse_groups(&body, &url))
            .await
            .map_err(|e| format!("parsing panicked: {e}"))??;
        let mut last = self.last.lock().expect("poisoned");
        last.hash = Some(hash);
        last.etag = new_etag;
        Ok(Refreshed::all(groups))
    }

    fn too_large(&self) -> String {
        format!(
            "response body from {} exceeds the limit of {} bytes (body_size_limit)",
            self.url, self.body_limit
        )
    }
}

/// Reads the groups of a body, naming each `<url>:<index>` with `__meta_url` set. Prometheus
/// decodes the body with the same `json.Unmarshal` into `[]*targetgroup.Group` as file SD
/// decodes a JSON file, so the same reader serves both: `null` is no groups, a `null` target
/// or label value is empty, a repeated key keeps its last value, keys match case-insensitively.
fn parse_groups(body: &[u8], url: &str) -> Result<Vec<TargetGroup>, String> {
    super::file::parse_groups_from(body, super::file::Format::Json, url, "__meta_url")
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<HttpSdConfig, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_validation_as_prometheus() {
        let c = parse("url: http://example.com/sd\n").unwrap();
        assert_eq!(c.refresh_interval, Duration::from_secs(60));
        assert!(c.http_client_config.follow_redirects);
        for (yaml, message) in [
            ("refresh_interval: 1m\n", "URL is missing"),
            (
                "url: ftp://example.com\n",
                "URL scheme must be 'http' or 'https'",
            ),
            ("url: http://\n", "host is missing in URL"),
            (
                "url: http://a\nbearer_token: x\nbearer_token_file: y\n",
                "at most one of bearer_token & bearer_token_file must be configured",
            ),
        ] {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(message), "{yaml:?}: {err}");
        }
        let err = parse("url: http://a\nurll: x\n").unwrap_err();
        assert!(
            err.contains("unknown field `urll`") && err.contains("line 2"),
            "{err}"
        );
    }

    #[test]
    fn body_size_limit_units() {
        assert_eq!(
            parse("url: http://a\nbody_size_limit: 10MiB\n")
                .unwrap()
                .body_size_limit,
            Some(ByteSize(10 << 20))
        );
        assert_eq!(
            parse("url: http://a\nbody_size_limit: 2048\n")
                .unwrap()
                .body_size_limit,
            Some(ByteSize(2048))
        );
        assert!(parse("url: http://a\nbody_size_limit: 10XB\n").is_err());
    }

    #[test]
    fn identity_differs_by_secret_and_never_prints_it() {
        let a = parse("url: http://a\nbasic_auth: {username: u, password: hunter-one}\n").unwrap();
        let b = parse("url: http://a\nbasic_auth: {username: u, password: hunter-two}\n").unwrap();
        assert_ne!(a.identity(), b.identity());
        assert!(!format!("{a:?}").contains("hunter"));
        assert!(!serde_yaml::to_string(&a).unwrap().contains("hunter"));
    }

    #[test]
    fn proxy_passwords_are_part_of_the_identity_and_never_printed() {
        let a = parse("url: http://a\nproxy_url: http://u:pass-one@proxy:3128\n").unwrap();
        let b = parse("url: http://a\nproxy_url: http://u:pass-two@proxy:3128\n").unwrap();
        assert_ne!(a.identity(), b.identity());
        assert!(!format!("{a:?}").contains("pass-one"));
        assert!(!serde_yaml::to_string(&a).unwrap().contains("pass-one"));
    }

    #[test]
    fn refresh_header_formats_like_go() {
        assert_eq!(format_seconds(60.0), "60");
        assert_eq!(format_seconds(0.5), "0.5");
    }

    #[test]
    fn groups_get_sources_and_the_url_label() {
        let body = br#"[{"targets":["a:1"],"labels":{"__meta_url":"spoofed","x":"y"}},{"targets":["b:2"]}]"#;
        let groups = parse_groups(body, "http://h/sd").unwrap();
        assert_eq!(&*groups[0].source, "http://h/sd:0");
        assert_eq!(&*groups[1].source, "http://h/sd:1");
        assert_eq!(groups[0].labels.get("__meta_url"), Some("http://h/sd"));
        assert_eq!(groups[0].labels.get("x"), Some("y"));
        assert_eq!(groups[1].labels.get("__meta_url"), Some("http://h/sd"));
        assert!(parse_groups(b"[null]", "u")
            .unwrap_err()
            .contains("nil target group item found"));
    }

    #[test]
    fn body_is_decoded_as_go_encoding_json_decodes_it() {
        // `null` is a list of no groups (every earlier source is then removed), not an error.
        assert!(parse_groups(b"null", "u").unwrap().is_empty());
        // null targets, labels and values read as empty.
        let groups = parse_groups(
            br#"[{"targets": null, "labels": null}, {"targets": [null], "labels": {"a": null}}]"#,
            "u",
        )
        .unwrap();
        assert!(groups[0].targets.is_empty());
        assert_eq!(groups[0].labels.get("__meta_url"), Some("u"));
        assert_eq!(groups[1].targets[0].get("__address__"), Some(""));
        assert_eq!(groups[1].labels.get("a"), Some(""));
        // A repeated key keeps its last value; keys match case-insensitively.
        let groups = parse_groups(
            br#"[{"targets": ["a:1"], "Targets": ["b:1"], "LABELS": {"k": "1", "k": "2"}}]"#,
            "u",
        )
        .unwrap();
        assert_eq!(groups[0].targets[0].get("__address__"), Some("b:1"));
        assert_eq!(groups[0].labels.get("k"), Some("2"));
        // Unknown keys and trailing data are still errors.
        assert!(parse_groups(br#"[{"targets": [], "x": 1}]"#, "u").is_err());
        assert!(parse_groups(b"[] []", "u").is_err());
    }
}
