//! The sections of `prometheus.yml` that are not about discovery: `remote_write`,
//! `remote_read`, `storage`, `tracing` and `otlp` (`runtime` has no checks). promsd does not
//! interpret them, but it checks what Prometheus' loader checks in them, with its messages, so
//! that `check config` rejects what Prometheus rejects.
//!
//! # Decisions
//! - Only the values the checks need are read; other keys of these sections are accepted
//!   without being looked at (Prometheus rejects unknown ones, promsd does not know them all).
//!   The HTTP client settings of `remote_write` / `remote_read` are not checked either.
//! - Checks Prometheus makes while decoding a section run when promsd reads the file
//!   ([`Sections::check_read`]); those it makes on the whole config (null items, repeated
//!   names, relabel rules under the name validation scheme, the OTLP translation strategy)
//!   run after the scrape configs' ([`Sections::check_whole`]).

use std::collections::HashSet;

use serde::de::{Deserializer, IgnoredAny};
use serde::Deserialize;

use super::error::{at, PathError};
use super::global::{GlobalConfig, NameValidation};
use super::scrape::{non_null_rules, validate_rules};
use crate::common::Duration;
use crate::relabel::RelabelConfig;

/// The sections as read.
#[derive(Default)]
pub(crate) struct Sections {
    pub remote_write: Vec<Option<RemoteWrite>>,
    pub remote_read: Vec<Option<RemoteRead>>,
    pub storage: Option<Storage>,
    pub tracing: Option<Tracing>,
    pub otlp: Option<Otlp>,
}

/// Headers in the order written (Go iterates a map in no order; with one bad header the
/// message is the same).
#[derive(Default)]
pub(crate) struct Headers(Vec<String>);

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map: Option<serde_yaml::Mapping> = Deserialize::deserialize(d)?;
        Ok(Headers(
            map.unwrap_or_default()
                .into_iter()
                .filter_map(|(k, _)| k.as_str().map(str::to_owned))
                .collect(),
        ))
    }
}

/// Headers Prometheus does not let a user set (`reservedHeaders`; `authorization` is checked
/// apart).
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

impl Headers {
    /// `validateHeaders` (remote write and read) and `validateHeadersForTracing`.
    fn check(&self, path: &str, authorization: &str) -> Result<(), PathError> {
        for h in &self.0 {
            let lower = h.to_lowercase();
            let key = format!("{path}.headers.{h}");
            if lower == "authorization" {
                return Err(at(key, authorization));
            }
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                return Err(at(
                    key,
                    format!("{h} is a reserved header. It must not be changed"),
                ));
            }
        }
        Ok(())
    }
}

fn remote_write_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RelabelConfig>, D::Error> {
    non_null_rules(d, "empty or null relabeling rule in remote write config")
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct RemoteWrite {
    url: Option<IgnoredAny>,
    headers: Headers,
    #[serde(deserialize_with = "remote_write_rules")]
    write_relabel_configs: Vec<RelabelConfig>,
    name: Option<String>,
    protobuf_message: Option<String>,
    queue_config: Option<QueueConfig>,
    basic_auth: Option<IgnoredAny>,
    authorization: Option<IgnoredAny>,
    oauth2: Option<IgnoredAny>,
    sigv4: Option<IgnoredAny>,
    azuread: Option<IgnoredAny>,
    google_iam: Option<IgnoredAny>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct QueueConfig {
    capacity: Option<i64>,
    max_shards: Option<i64>,
    min_shards: Option<i64>,
    max_samples_per_send: Option<i64>,
    min_backoff: Option<Duration>,
    max_backoff: Option<Duration>,
}

impl QueueConfig {
    /// `QueueConfig.Validate`, over Prometheus' defaults.
    fn check(&self, path: &str) -> Result<(), PathError> {
        let max_shards = self.max_shards.unwrap_or(50);
        let min_shards = self.min_shards.unwrap_or(1);
        let min_backoff = self.min_backoff.unwrap_or(Duration::from_millis(30));
        let max_backoff = self.max_backoff.unwrap_or(Duration::from_secs(5));
        let fail = |key: &str, message: &str| Err(at(format!("{path}.{key}"), message));
        if max_shards <= 0 {
            return fail(
                "max_shards",
                "remote write queue max_shards must be positive",
            );
        }
        if min_shards <= 0 {
            return fail(
                "min_shards",
                "remote write queue min_shards must be positive",
            );
        }
        if min_shards > max_shards {
            return fail(
                "min_shards",
                "remote write queue min_shards must not be greater than max_shards",
            );
        }
        if self.max_samples_per_send.unwrap_or(2000) <= 0 {
            return fail(
                "max_samples_per_send",
                "remote write queue max_samples_per_send must be positive",
            );
        }
        if self.capacity.unwrap_or(10000) <= 0 {
            return fail("capacity", "remote write queue capacity must be positive");
        }
        if max_backoff < min_backoff {
            return fail(
                "max_backoff",
                "remote write queue max_backoff must not be less than min_backoff",
            );
        }
        Ok(())
    }
}

const REMOTE_WRITE_AUTHORIZATION: &str = "authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter";

impl RemoteWrite {
    /// `RemoteWriteConfig.UnmarshalYAML`.
    fn check_read(&self, path: &str) -> Result<(), PathError> {
        if self.url.is_none() {
            return Err(at(path, "url for remote_write is empty"));
        }
        self.headers.check(path, REMOTE_WRITE_AUTHORIZATION)?;
        if let Some(m) = &self.protobuf_message {
            const SUPPORTED: &[&str] =
                &["prometheus.WriteRequest", "io.prometheus.write.v2.Request"];
            if !SUPPORTED.contains(&m.as_str()) {
                return Err(at(
                    format!("{path}.protobuf_message"),
                    format!(
                        "invalid protobuf_message value: unknown type for remote write protobuf message {m}, supported: {}",
                        SUPPORTED.join(", ")
                    ),
                ));
            }
        }
        if let Some(q) = &self.queue_config {
            q.check(&format!("{path}.queue_config"))?;
        }
        let auth: Vec<&str> = [
            ("basic_auth", self.basic_auth.is_some()),
            ("authorization", self.authorization.is_some()),
            ("oauth2", self.oauth2.is_some()),
            ("sigv4", self.sigv4.is_some()),
            ("azuread", self.azuread.is_some()),
            ("google_iam", self.google_iam.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        if auth.len() > 1 {
            return Err(at(
                path,
                format!(
                    "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [{}]",
                    auth.join(" ")
                ),
            ));
        }
        Ok(())
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct RemoteRead {
    url: Option<IgnoredAny>,
    headers: Headers,
    name: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct Storage {
    tsdb: Option<Tsdb>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Tsdb {
    retention: Option<Retention>,
    chunk_encoding: Option<ChunkEncoding>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Retention {
    #[allow(dead_code)] // read for its syntax
    time: Option<Duration>,
    size: Option<String>,
    percentage: Option<f64>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ChunkEncoding {
    floats: Option<String>,
}

impl Storage {
    /// `TSDBConfig.UnmarshalYAML` and `TSDBRetentionConfig.UnmarshalYAML`.
    fn check_read(&self) -> Result<(), PathError> {
        let Some(tsdb) = &self.tsdb else {
            return Ok(());
        };
        if let Some(r) = &tsdb.retention {
            if let Some(size) = &r.size {
                // units.ParseBase2Bytes takes a sign; promsd's ByteSize is unsigned.
                let negative = match size.strip_prefix('-') {
                    Some(abs) => {
                        super::global::ByteSize::parse(abs)
                            .map_err(|e| at("storage.tsdb.retention.size", e))?
                            .0
                            > 0
                    }
                    None => false,
                };
                if !negative {
                    super::global::ByteSize::parse(size.trim_start_matches('+'))
                        .map_err(|e| at("storage.tsdb.retention.size", e))?;
                } else {
                    return Err(at(
                        "storage.tsdb.retention.size",
                        format!("'storage.tsdb.retention.size' must be greater than or equal to 0, got {size}"),
                    ));
                }
            }
            if let Some(p) = r.percentage.filter(|p| !(0.0..=100.0).contains(p)) {
                return Err(at(
                    "storage.tsdb.retention.percentage",
                    format!("'storage.tsdb.retention.percentage' must be in the range [0, 100], got {p}"),
                ));
            }
        }
        let floats = tsdb
            .chunk_encoding
            .as_ref()
            .and_then(|c| c.floats.as_deref());
        if let Some(f) = floats.filter(|f| !matches!(*f, "" | "xor" | "xor2")) {
            return Err(at(
                "storage.tsdb.chunk_encoding.floats",
                format!("'storage.tsdb.chunk_encoding.floats' must be 'xor' or 'xor2', or the field must be omitted entirely, got {f:?}"),
            ));
        }
        Ok(())
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct Tracing {
    client_type: Option<String>,
    endpoint: Option<String>,
    headers: Headers,
    compression: Option<String>,
}

impl Tracing {
    /// `TracingConfig.UnmarshalYAML`.
    fn check_read(&self) -> Result<(), PathError> {
        if let Some(t) = self
            .client_type
            .as_deref()
            .filter(|t| !matches!(*t, "http" | "grpc"))
        {
            return Err(at(
                "tracing.client_type",
                format!("expected tracing client type to be to be http or grpc, but got {t}"),
            ));
        }
        self.headers.check(
            "tracing",
            "custom authorization header configuration is not yet supported",
        )?;
        if self.endpoint.as_deref().unwrap_or("").is_empty() {
            return Err(at("tracing", "tracing endpoint must be set"));
        }
        if let Some(c) = self
            .compression
            .as_deref()
            .filter(|c| !c.is_empty() && *c != "gzip")
        {
            return Err(at(
                "tracing.compression",
                format!("invalid compression type {c} provided, valid options: gzip"),
            ));
        }
        Ok(())
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct Otlp {
    promote_all_resource_attributes: Option<bool>,
    promote_resource_attributes: Option<Vec<String>>,
    ignore_resource_attributes: Option<Vec<String>>,
    translation_strategy: Option<String>,
}

/// `sanitizeAttributes`: every problem, joined (Go joins them with newlines).
fn check_attributes(attributes: &[String], adjective: &str) -> Result<(), String> {
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    for a in attributes {
        let a = a.trim();
        if a.is_empty() {
            errors.push(format!("empty {adjective} OTel resource attribute"));
        } else if !seen.insert(a) {
            errors.push(format!(
                "duplicated {adjective} OTel resource attribute {a:?}"
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

impl Otlp {
    /// `OTLPConfig.UnmarshalYAML`.
    fn check_read(&self) -> Result<(), PathError> {
        let promote = self
            .promote_resource_attributes
            .as_deref()
            .unwrap_or_default();
        let ignore = self
            .ignore_resource_attributes
            .as_deref()
            .unwrap_or_default();
        if self.promote_all_resource_attributes == Some(true) {
            if !promote.is_empty() {
                return Err(at("otlp", "'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously"));
            }
            check_attributes(ignore, "ignored").map_err(|e| {
                at(
                    "otlp.ignore_resource_attributes",
                    format!("invalid 'ignore_resource_attributes': {e}"),
                )
            })
        } else {
            if !ignore.is_empty() {
                return Err(at("otlp.ignore_resource_attributes", "'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true"));
            }
            check_attributes(promote, "promoted").map_err(|e| {
                at(
                    "otlp.promote_resource_attributes",
                    format!("invalid 'promote_resource_attributes': {e}"),
                )
            })
        }
    }
}

impl Sections {
    /// What Prometheus checks while decoding these sections.
    pub fn check_read(&self) -> Result<(), PathError> {
        for (i, rw) in self.remote_write.iter().enumerate() {
            if let Some(rw) = rw {
                rw.check_read(&format!("remote_write[{i}]"))?;
            }
        }
        for (i, rr) in self.remote_read.iter().enumerate() {
            let path = format!("remote_read[{i}]");
            if let Some(rr) = rr {
                if rr.url.is_none() {
                    return Err(at(&path, "url for remote_read is empty"));
                }
                rr.headers.check(&path, REMOTE_WRITE_AUTHORIZATION)?;
            }
        }
        if let Some(t) = &self.tracing {
            t.check_read()?;
        }
        if let Some(s) = &self.storage {
            s.check_read()?;
        }
        if let Some(o) = &self.otlp {
            o.check_read()?;
        }
        Ok(())
    }

    /// What Prometheus checks on the whole config, after the scrape configs.
    pub fn check_whole(&mut self, global: &GlobalConfig) -> Result<(), PathError> {
        let scheme = global.name_validation();
        let mut names = HashSet::new();
        for (i, rw) in self.remote_write.iter_mut().enumerate() {
            let path = format!("remote_write[{i}]");
            let Some(rw) = rw else {
                return Err(at(path, "empty or null remote write config section"));
            };
            let name = rw.name.clone().unwrap_or_default();
            if !name.is_empty() && !names.insert(name.clone()) {
                return Err(at(
                    format!("{path}.name"),
                    format!("found multiple remote write configs with job name {name:?}"),
                ));
            }
            validate_rules(
                &mut rw.write_relabel_configs,
                scheme,
                &format!("{path}.write_relabel_configs"),
            )?;
        }
        let mut names = HashSet::new();
        for (i, rr) in self.remote_read.iter().enumerate() {
            let path = format!("remote_read[{i}]");
            let Some(rr) = rr else {
                return Err(at(path, "empty or null remote read config section"));
            };
            let name = rr.name.clone().unwrap_or_default();
            if !name.is_empty() && !names.insert(name.clone()) {
                return Err(at(
                    format!("{path}.name"),
                    format!("found multiple remote read configs with job name {name:?}"),
                ));
            }
        }
        // Load's check of the OTLP translation strategy.
        let strategy = self
            .otlp
            .as_ref()
            .and_then(|o| o.translation_strategy.as_deref())
            .unwrap_or("");
        match strategy {
            "" | "UnderscoreEscapingWithSuffixes" | "UnderscoreEscapingWithoutSuffixes" => {}
            "NoTranslation" | "NoUTF8EscapingWithSuffixes" => {
                if scheme == NameValidation::Legacy {
                    return Err(at(
                        "otlp.translation_strategy",
                        format!("OTLP translation strategy {strategy:?} is not allowed when UTF8 is disabled"),
                    ));
                }
            }
            _ => {
                return Err(at(
                    "otlp.translation_strategy",
                    format!("unsupported OTLP translation strategy {strategy:?}"),
                ))
            }
        }
        Ok(())
    }
}
