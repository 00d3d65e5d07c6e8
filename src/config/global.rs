//! The `global` section: defaults every scrape config inherits, and Prometheus' checks of them.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::error::{at, PathError};
use crate::common::http_config::{opt_yaml11_bool, yaml11_bool};
use crate::common::Duration;

pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(60);
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_EVALUATION_INTERVAL: Duration = Duration::from_secs(60);

/// `global`. Durations are `None` until validation fills Prometheus' defaults in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalConfig {
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub scrape_interval: Option<Duration>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub scrape_timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_protocols: Option<Vec<String>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub evaluation_interval: Option<Duration>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub rule_query_offset: Option<Duration>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub query_log_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scrape_failure_log_file: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub external_labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "ByteSize::is_zero")]
    pub body_size_limit: ByteSize,
    #[serde(skip_serializing_if = "is_zero")]
    pub sample_limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub target_limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub label_limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub label_name_length_limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub label_value_length_limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub keep_dropped_targets: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub metric_name_validation_scheme: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub metric_name_escaping_scheme: String,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_yaml11_bool"
    )]
    pub scrape_native_histograms: Option<bool>,
    #[serde(skip_serializing_if = "is_false", deserialize_with = "yaml11_bool")]
    pub convert_classic_histograms_to_nhcb: bool,
    #[serde(skip_serializing_if = "is_false", deserialize_with = "yaml11_bool")]
    pub always_scrape_classic_histograms: bool,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_yaml11_bool"
    )]
    pub extra_scrape_metrics: Option<bool>,
}

/// Reads an optional duration, parsing it where it stands in the input so that a bad one is
/// reported at its own line and column.
pub(crate) fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<Duration>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a duration such as 15s")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.parse().map(Some).map_err(E::custom)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// Reads a duration, parsed where it stands (see [`opt_duration`]).
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    opt_duration(d).map(Option::unwrap_or_default)
}

pub(crate) fn is_zero(n: &u64) -> bool {
    *n == 0
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// How metric and label names are validated (`metric_name_validation_scheme`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameValidation {
    Utf8,
    Legacy,
}

impl NameValidation {
    /// Prometheus' `ValidationScheme.Set`: `""` is unset.
    pub(crate) fn parse(s: &str) -> Result<Option<NameValidation>, String> {
        match s {
            "" => Ok(None),
            "utf8" => Ok(Some(NameValidation::Utf8)),
            "legacy" => Ok(Some(NameValidation::Legacy)),
            _ => Err(format!("unrecognized ValidationScheme: {s:?}")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NameValidation::Utf8 => "utf8",
            NameValidation::Legacy => "legacy",
        }
    }

    /// The same scheme for relabel rules.
    pub(crate) fn for_relabel(self) -> crate::relabel::NameValidation {
        match self {
            NameValidation::Utf8 => crate::relabel::NameValidation::Utf8,
            NameValidation::Legacy => crate::relabel::NameValidation::Legacy,
        }
    }

    /// Whether `name` is a valid label name under this scheme.
    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            NameValidation::Utf8 => !name.is_empty(),
            NameValidation::Legacy => {
                let mut bytes = name.bytes();
                matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
                    && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
            }
        }
    }
}

/// The scrape protocols Prometheus knows, by name.
pub const SCRAPE_PROTOCOLS: &[&str] = &[
    "OpenMetricsText0.0.1",
    "OpenMetricsText1.0.0",
    "PrometheusProto",
    "PrometheusText0.0.4",
    "PrometheusText1.0.0",
];

/// Prometheus' `DefaultScrapeProtocols`.
pub const DEFAULT_SCRAPE_PROTOCOLS: &[&str] = &[
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
];

/// Prometheus' `DefaultProtoFirstScrapeProtocols`.
pub const PROTO_FIRST_SCRAPE_PROTOCOLS: &[&str] = &[
    "PrometheusProto",
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
];

/// Prometheus' `ScrapeProtocol.Validate`.
pub(crate) fn validate_protocol(p: &str) -> Result<(), String> {
    if SCRAPE_PROTOCOLS.contains(&p) {
        Ok(())
    } else {
        Err(format!(
            "unknown scrape protocol {p}, supported: [{}]",
            SCRAPE_PROTOCOLS.join(" ")
        ))
    }
}

/// Prometheus' `validateAcceptScrapeProtocols`.
pub(crate) fn validate_protocols(ps: &[String]) -> Result<(), String> {
    if ps.is_empty() {
        return Err("scrape_protocols cannot be empty".into());
    }
    let mut seen = std::collections::HashSet::new();
    for p in ps {
        if !seen.insert(p.to_lowercase()) {
            return Err(format!(
                "duplicated protocol in scrape_protocols, got [{}]",
                ps.join(" ")
            ));
        }
        validate_protocol(p).map_err(|e| format!("scrape_protocols: {e}"))?;
    }
    Ok(())
}

impl GlobalConfig {
    /// The effective scrape interval (after validation).
    pub fn scrape_interval(&self) -> Duration {
        self.scrape_interval.unwrap_or(DEFAULT_SCRAPE_INTERVAL)
    }

    /// The effective scrape timeout (after validation).
    pub fn scrape_timeout(&self) -> Duration {
        self.scrape_timeout
            .unwrap_or(DEFAULT_SCRAPE_TIMEOUT.min(self.scrape_interval()))
    }

    /// The name validation scheme (UTF-8 unless `legacy`).
    pub fn name_validation(&self) -> NameValidation {
        NameValidation::parse(&self.metric_name_validation_scheme)
            .ok()
            .flatten()
            .unwrap_or(NameValidation::Utf8)
    }

    /// Prometheus' `GlobalConfig.UnmarshalYAML` checks and defaults.
    pub(crate) fn validate(&mut self) -> Result<(), PathError> {
        let scheme = NameValidation::parse(&self.metric_name_validation_scheme)
            .map_err(|e| at("global.metric_name_validation_scheme", e))?
            .unwrap_or(NameValidation::Utf8);
        for name in self.external_labels.keys() {
            if !scheme.is_valid_label_name(name) {
                return Err(at(
                    format!("global.external_labels.{name}"),
                    format!("{name:?} is not a valid label name"),
                ));
            }
        }
        let interval = match self.scrape_interval {
            Some(i) if !i.is_zero() => i,
            _ => DEFAULT_SCRAPE_INTERVAL,
        };
        self.scrape_interval = Some(interval);
        match self.scrape_timeout {
            Some(t) if t > interval => {
                return Err(at(
                    "global.scrape_timeout",
                    "global scrape timeout greater than scrape interval",
                ))
            }
            Some(t) if !t.is_zero() => {}
            _ => self.scrape_timeout = Some(DEFAULT_SCRAPE_TIMEOUT.min(interval)),
        }
        if self.evaluation_interval.is_none_or(|e| e.is_zero()) {
            self.evaluation_interval = Some(DEFAULT_EVALUATION_INTERVAL);
        }
        self.scrape_native_histograms.get_or_insert(false);
        self.extra_scrape_metrics.get_or_insert(false);
        if let Some(ps) = &self.scrape_protocols {
            validate_protocols(ps)
                .map_err(|e| at("global.scrape_protocols", format!("{e} for global config")))?;
        }
        Ok(())
    }
}

/// A size in bytes written the way Prometheus' `units.Base2Bytes` reads it: `512MB`, `1GiB`,
/// `1KB512B` (all units are powers of 1024), `0`, or a plain integer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }

    /// Parses `units.ParseBase2Bytes` syntax.
    pub fn parse(s: &str) -> Result<ByteSize, String> {
        // alecthomas/units' messages, which Prometheus shows.
        let invalid = || format!("units: invalid {s}");
        if s == "0" {
            return Ok(ByteSize(0));
        }
        if s.is_empty() {
            return Err(invalid());
        }
        let mut rest = s;
        let mut total: f64 = 0.0;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let (num, after) = rest.split_at(num_len);
            let unit_len = after
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(after.len());
            let (unit, after) = after.split_at(unit_len);
            let n: f64 = num.parse().map_err(|_| invalid())?;
            let unknown = || format!("units: unknown unit {unit} in {s}");
            let exp = match unit {
                "B" => 0,
                "KB" | "KiB" => 1,
                "MB" | "MiB" => 2,
                "GB" | "GiB" => 3,
                "TB" | "TiB" => 4,
                "PB" | "PiB" => 5,
                "EB" | "EiB" => 6,
                _ => return Err(unknown()),
            };
            total += n * 1024f64.powi(exp);
            rest = after;
        }
        if total > i64::MAX as f64 {
            return Err(invalid());
        }
        Ok(ByteSize(total as u64))
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}B", self.0))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size in bytes such as 10MB")
            }
            // A YAML number is read as its text, as Go's TextUnmarshaler does: only 0 has no unit.
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                ByteSize::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                ByteSize::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
            fn visit_unit<E: de::Error>(self) -> Result<ByteSize, E> {
                Ok(ByteSize(0))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_parse_like_units() {
        assert_eq!(ByteSize::parse("0"), Ok(ByteSize(0)));
        assert_eq!(ByteSize::parse("10MB"), Ok(ByteSize(10 << 20)));
        assert_eq!(ByteSize::parse("1GiB"), Ok(ByteSize(1 << 30)));
        assert_eq!(ByteSize::parse("1KB512B"), Ok(ByteSize(1536)));
        assert_eq!(
            ByteSize::parse("100"),
            Err("units: unknown unit  in 100".into())
        );
        assert_eq!(
            ByteSize::parse("10XB"),
            Err("units: unknown unit XB in 10XB".into())
        );
        assert_eq!(ByteSize::parse("MB"), Err("units: invalid MB".into()));
    }

    #[test]
    fn legacy_label_names() {
        let l = NameValidation::Legacy;
        assert!(l.is_valid_label_name("_a1"));
        assert!(!l.is_valid_label_name("1a"));
        assert!(!l.is_valid_label_name("a.b"));
        assert!(NameValidation::Utf8.is_valid_label_name("a.b"));
        assert!(!NameValidation::Utf8.is_valid_label_name(""));
    }

    #[test]
    fn timeouts_default_to_at_most_the_interval() {
        let mut g = GlobalConfig {
            scrape_interval: Some(Duration::from_secs(5)),
            ..GlobalConfig::default()
        };
        g.validate().unwrap();
        assert_eq!(g.scrape_timeout(), Duration::from_secs(5));
        let mut g = GlobalConfig::default();
        g.validate().unwrap();
        assert_eq!(g.scrape_interval(), Duration::from_secs(60));
        assert_eq!(g.scrape_timeout(), Duration::from_secs(10));
    }
}
