//! One entry of `scrape_configs`: every key Prometheus 3.x knows (most only accepted), the HTTP
//! client settings read inline, and the `*_sd_configs` / `static_configs` keys handed to the
//! discovery registry as they are read.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use promsd_actors::{DiscoveryConfig, TargetGroup};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::error::{at, PathError};
use super::global::{
    is_false, is_zero, opt_duration, validate_protocol, validate_protocols, ByteSize, GlobalConfig,
    NameValidation, DEFAULT_SCRAPE_PROTOCOLS, PROTO_FIRST_SCRAPE_PROTOCOLS,
};
use crate::common::http_config::{
    deserialize_with_inline, HttpClientConfig, InlineKeys, WithInline,
};
use crate::common::http_config::{opt_yaml11_bool, yaml11_bool};
use crate::common::Duration;
use crate::discovery::{self, static_sd::StaticConfig, SdConfig, SdConfigs};
use crate::relabel::{RelabelConfig, Unvalidated};

fn yes() -> bool {
    true
}

fn default_metrics_path() -> String {
    "/metrics".into()
}

fn default_scheme() -> String {
    "http".into()
}

/// One scrape config. Inherited values (`scrape_interval`, `scrape_timeout`, limits, ...) are
/// filled in by validation, as Prometheus' `ScrapeConfig.Validate` does; use the accessors.
#[derive(Debug, Deserialize, Serialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct ScrapeConfig {
    #[serde(default)]
    pub job_name: String,
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "yaml11_bool"
    )]
    pub honor_labels: bool,
    #[serde(default = "yes", deserialize_with = "yaml11_bool")]
    pub honor_timestamps: bool,
    #[serde(default, deserialize_with = "yaml11_bool")]
    pub track_timestamps_staleness: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub scrape_interval: Option<Duration>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_duration"
    )]
    pub scrape_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_protocols: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fallback_scrape_protocol: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_yaml11_bool"
    )]
    pub scrape_native_histograms: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_yaml11_bool"
    )]
    pub always_scrape_classic_histograms: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_yaml11_bool"
    )]
    pub convert_classic_histograms_to_nhcb: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scrape_failure_log_file: String,
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    #[serde(default = "default_scheme")]
    pub scheme: String,
    #[serde(default = "yes", deserialize_with = "yaml11_bool")]
    pub enable_compression: bool,
    #[serde(default, skip_serializing_if = "ByteSize::is_zero")]
    pub body_size_limit: ByteSize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sample_limit: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub target_limit: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_limit: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_name_length_limit: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_value_length_limit: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub native_histogram_bucket_limit: u64,
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub native_histogram_min_bucket_factor: f64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub keep_dropped_targets: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metric_name_validation_scheme: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metric_name_escaping_scheme: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_yaml11_bool"
    )]
    pub extra_scrape_metrics: Option<bool>,
    #[serde(
        default,
        deserialize_with = "target_rules",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub relabel_configs: Vec<RelabelConfig>,
    #[serde(
        default,
        deserialize_with = "metric_rules",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub metric_relabel_configs: Vec<RelabelConfig>,

    /// The HTTP client settings, read inline.
    #[serde(skip)]
    pub http_client: HttpClientConfig,
    /// The discovery keys as read (until loading finishes).
    #[serde(skip)]
    pub(crate) sd: SdKeys,
    /// What the engine runs for this job, in Prometheus' order (static configs last).
    #[serde(skip)]
    pub discovery: Vec<Arc<dyn DiscoveryConfig>>,
}

fn is_zero_f64(f: &f64) -> bool {
    *f == 0.0
}

impl<'de> WithInline<'de> for ScrapeConfig {
    type Inline = (HttpClientConfig, SdKeys);

    fn deserialize_own<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ScrapeConfig::deserialize(d)
    }

    fn set_inline(&mut self, (http, sd): Self::Inline) {
        self.http_client = http;
        self.sd = sd;
    }
}

impl<'de> Deserialize<'de> for ScrapeConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_with_inline(d)
    }
}

/// A list (or `null`) where a null entry is an error with `message`, raised where the list
/// stands.
pub(crate) fn non_null_list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    message: &'static str,
) -> Result<Vec<T>, D::Error> {
    struct V<T>(&'static str, std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<Option<T>>()? {
                out.push(item.ok_or_else(|| de::Error::custom(self.0))?);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V(message, std::marker::PhantomData))
}

/// Prometheus' `relabel.Config.Validate(scheme)` for each rule of the list at YAML path `key`
/// (read by [`non_null_rules`]); the rules are then applied under that scheme.
pub(crate) fn validate_rules(
    rules: &mut [RelabelConfig],
    scheme: NameValidation,
    key: &str,
) -> Result<(), PathError> {
    for (i, rule) in rules.iter_mut().enumerate() {
        rule.validate(scheme.for_relabel())
            .map_err(|e| at(format!("{key}[{i}]"), e))?;
    }
    Ok(())
}

/// A list of relabel rules where a null entry is an error with `message`. The rules are read,
/// not validated: [`validate_rules`] checks them under the scheme that applies, as Prometheus'
/// `Validate` does after reading the whole config.
pub(crate) fn non_null_rules<'de, D: Deserializer<'de>>(
    d: D,
    message: &'static str,
) -> Result<Vec<RelabelConfig>, D::Error> {
    let rules: Vec<Unvalidated> = non_null_list(d, message)?;
    Ok(rules.into_iter().map(|rule| rule.0).collect())
}

/// `static_configs`: target groups, none of them null.
struct StaticGroups;

impl<'de> de::DeserializeSeed<'de> for StaticGroups {
    type Value = Vec<TargetGroup>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        non_null_list(d, "empty or null section in static_configs")
    }
}

fn target_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RelabelConfig>, D::Error> {
    non_null_rules(d, "empty or null target relabeling rule in scrape config")
}

fn metric_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RelabelConfig>, D::Error> {
    non_null_rules(d, "empty or null metric relabeling rule in scrape config")
}

/// The `static_configs` and `<mechanism>_sd_configs` keys of one scrape or alertmanager config,
/// as read (see [`ScrapeConfig::discovery`] for what the engine runs).
#[derive(Default)]
pub struct SdKeys {
    /// The keys read, in order (for serialization).
    pub(crate) keys: Vec<String>,
    /// The static groups, numbered as Prometheus numbers them.
    pub(crate) static_groups: Vec<TargetGroup>,
    /// The other mechanisms' configs, in order.
    pub(crate) configs: SdConfigs,
    /// Keys of mechanisms promsd does not implement yet, in order. Their values are skipped;
    /// the loader reports the first where Prometheus' decoder would report a bad config of
    /// that mechanism (see `Config::load_str`).
    pub(crate) unimplemented: Vec<String>,
}

impl fmt::Debug for SdKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SdKeys")
            .field("keys", &self.keys)
            .field("configs", &self.configs.len())
            .finish()
    }
}

/// Prometheus' message for a mechanism it knows and promsd does not implement yet (the same as
/// `discovery::next_sd_configs` gives).
pub(crate) fn unimplemented(key: &str) -> Option<String> {
    let name = key.strip_suffix("_sd_configs")?;
    if discovery::IMPLEMENTED.contains(&name) || !discovery::PROMETHEUS_MECHANISMS.contains(&name) {
        return None;
    }
    Some(format!(
        "{key}: promsd does not implement {name} service discovery yet"
    ))
}

impl InlineKeys for SdKeys {
    fn claims(key: &str) -> Result<bool, String> {
        if key == "static_configs" {
            return Ok(true);
        }
        if unimplemented(key).is_some() {
            return Ok(true);
        }
        Ok(key
            .strip_suffix("_sd_configs")
            .is_some_and(|name| name != "static" && discovery::IMPLEMENTED.contains(&name)))
    }

    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        if unimplemented(key).is_some() {
            map.next_value::<de::IgnoredAny>()?;
            self.unimplemented.push(key.to_owned());
            return Ok(());
        }
        self.keys.push(key.to_owned());
        if key == "static_configs" {
            let groups = map.next_value_seed(StaticGroups)?;
            self.static_groups.extend(groups);
            return Ok(());
        }
        match discovery::next_sd_configs(key, map)? {
            Some(configs) => self.configs.extend(configs),
            None => {
                return Err(de::Error::custom(format!(
                    "{key}: not a discovery key (internal error)"
                )))
            }
        }
        Ok(())
    }
}

impl SdKeys {
    /// The error for the first mechanism promsd does not implement, if any (`path`: the scrape
    /// or Alertmanager config), at its key.
    pub(crate) fn unimplemented_error(&self, path: &str) -> Option<PathError> {
        let key = self.unimplemented.first()?;
        let message = unimplemented(key)?;
        Some(at(format!("{path}.{key}"), format!("{path}: {message}")))
    }

    /// Resolves paths and hands the configs over to the engine's form, static last.
    pub(crate) fn finish(&mut self, dir: &Path) -> Vec<Arc<dyn DiscoveryConfig>> {
        let mut out: Vec<Arc<dyn DiscoveryConfig>> = Vec::new();
        for mut c in std::mem::take(&mut self.configs) {
            c.resolve_paths(dir);
            out.push(discovery::into_discovery(c));
        }
        if !self.static_groups.is_empty() {
            let mut s: Box<dyn SdConfig> = Box::new(StaticConfig::new(self.static_groups.clone()));
            s.resolve_paths(dir);
            out.push(discovery::into_discovery(s));
        }
        out
    }

    /// Prometheus' `checkStaticTargets` (no URL in a static target) and label name checks
    /// of static groups. `path` is the YAML path of the enclosing config.
    pub(crate) fn check_static(&self, path: &str, check_targets: bool) -> Result<(), PathError> {
        for (j, g) in self.static_groups.iter().enumerate() {
            for (name, _) in g.labels.iter() {
                if name.is_empty() {
                    return Err(at(
                        format!("{path}.static_configs[{j}].labels"),
                        format!("{name:?} is not a valid label name"),
                    ));
                }
            }
            if !check_targets {
                continue;
            }
            for (k, t) in g.targets.iter().enumerate() {
                let address = t.get(promsd_actors::ADDRESS_LABEL).unwrap_or("");
                if address.contains('/') {
                    return Err(at(
                        format!("{path}.static_configs[{j}].targets[{k}]"),
                        format!("{address:?} is not a valid hostname"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl ScrapeConfig {
    /// Checks Prometheus runs while reading a scrape config (`ScrapeConfig.UnmarshalYAML`).
    /// `path` is the config's YAML path, such as `scrape_configs[3]`.
    pub(crate) fn check_read(&mut self, path: &str) -> Result<(), PathError> {
        if self.job_name.is_empty() {
            return Err(at(path, "job_name is empty"));
        }
        self.http_client
            .validate()
            .map_err(|e| at(format!("{path}.{}", e.key), e.message))?;
        self.sd.check_static(path, self.relabel_configs.is_empty())
    }

    /// Prometheus' `ScrapeConfig.Validate`: fills inherited values in and checks them.
    pub(crate) fn validate(&mut self, path: &str, global: &GlobalConfig) -> Result<(), PathError> {
        let job = self.job_name.clone();
        let interval = match self.scrape_interval {
            Some(i) if !i.is_zero() => i,
            _ => global.scrape_interval(),
        };
        self.scrape_interval = Some(interval);
        match self.scrape_timeout {
            Some(t) if t > interval => {
                return Err(at(
                    format!("{path}.scrape_timeout"),
                    format!(
                        "scrape timeout greater than scrape interval for scrape config with job name {job:?}"
                    ),
                ))
            }
            Some(t) if !t.is_zero() => {}
            _ => self.scrape_timeout = Some(global.scrape_timeout().min(interval)),
        }
        if self.body_size_limit.is_zero() {
            self.body_size_limit = global.body_size_limit;
        }
        for (mine, theirs) in [
            (&mut self.sample_limit, global.sample_limit),
            (&mut self.target_limit, global.target_limit),
            (&mut self.label_limit, global.label_limit),
            (
                &mut self.label_name_length_limit,
                global.label_name_length_limit,
            ),
            (
                &mut self.label_value_length_limit,
                global.label_value_length_limit,
            ),
            (&mut self.keep_dropped_targets, global.keep_dropped_targets),
        ] {
            if *mine == 0 {
                *mine = theirs;
            }
        }
        if self.scrape_failure_log_file.is_empty() {
            self.scrape_failure_log_file = global.scrape_failure_log_file.clone();
        }
        if self.scrape_native_histograms.is_none() {
            self.scrape_native_histograms = global.scrape_native_histograms;
        }
        if self.extra_scrape_metrics.is_none() {
            self.extra_scrape_metrics = global.extra_scrape_metrics;
        }
        if self.scrape_protocols.is_none() {
            let defaults = match &global.scrape_protocols {
                Some(ps) => ps.clone(),
                None if self.scrape_native_histograms == Some(true) => PROTO_FIRST_SCRAPE_PROTOCOLS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                None => DEFAULT_SCRAPE_PROTOCOLS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            };
            self.scrape_protocols = Some(defaults);
        }
        if let Some(ps) = &self.scrape_protocols {
            validate_protocols(ps).map_err(|e| {
                at(
                    format!("{path}.scrape_protocols"),
                    format!("{e} for scrape config with job name {job:?}"),
                )
            })?;
        }
        if !self.fallback_scrape_protocol.is_empty() {
            validate_protocol(&self.fallback_scrape_protocol).map_err(|e| {
                at(
                    format!("{path}.fallback_scrape_protocol"),
                    format!(
                        "invalid fallback_scrape_protocol for scrape config with job name {job:?}: {e}"
                    ),
                )
            })?;
        }
        let global_scheme = global.name_validation();
        let local = NameValidation::parse(&self.metric_name_validation_scheme)
            .map_err(|e| at(format!("{path}.metric_name_validation_scheme"), e))?;
        let scheme = local.unwrap_or(global_scheme);
        self.metric_name_validation_scheme = scheme.as_str().to_owned();

        const ESCAPINGS: &[&str] = &["allow-utf-8", "underscores", "dots", "values"];
        let global_escaping = match global.metric_name_escaping_scheme.as_str() {
            "" if global_scheme == NameValidation::Legacy => "underscores",
            "" => "allow-utf-8",
            e if ESCAPINGS.contains(&e) => e,
            e => {
                return Err(at(
                    "global.metric_name_escaping_scheme",
                    format!(
                        "unknown global name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {e:?}"
                    ),
                ))
            }
        };
        if self.metric_name_escaping_scheme.is_empty() {
            self.metric_name_escaping_scheme = match local {
                None => global_escaping,
                Some(NameValidation::Legacy) => "underscores",
                Some(NameValidation::Utf8) => "allow-utf-8",
            }
            .to_owned();
        }
        match self.metric_name_escaping_scheme.as_str() {
            "allow-utf-8" if scheme != NameValidation::Utf8 => {
                return Err(at(
                    format!("{path}.metric_name_escaping_scheme"),
                    "utf8 metric names requested but validation scheme is not set to UTF8",
                ))
            }
            e if ESCAPINGS.contains(&e) => {}
            e => {
                return Err(at(
                    format!("{path}.metric_name_escaping_scheme"),
                    format!(
                        "unknown scrape config name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {e:?}"
                    ),
                ))
            }
        }
        self.convert_classic_histograms_to_nhcb
            .get_or_insert(global.convert_classic_histograms_to_nhcb);
        self.always_scrape_classic_histograms
            .get_or_insert(global.always_scrape_classic_histograms);
        validate_rules(
            &mut self.relabel_configs,
            scheme,
            &format!("{path}.relabel_configs"),
        )?;
        validate_rules(
            &mut self.metric_relabel_configs,
            scheme,
            &format!("{path}.metric_relabel_configs"),
        )
    }

    /// Prometheus' `SetDirectory`, plus handing the discovery configs to the engine's form.
    pub(crate) fn finish(&mut self, dir: &Path) {
        self.http_client.resolve_paths(dir);
        super::join_dir(dir, &mut self.scrape_failure_log_file);
        self.discovery = self.sd.finish(dir);
    }

    pub fn job_name(&self) -> &str {
        &self.job_name
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    pub fn metrics_path(&self) -> &str {
        &self.metrics_path
    }

    pub fn honor_labels(&self) -> bool {
        self.honor_labels
    }

    pub fn params(&self) -> &BTreeMap<String, Vec<String>> {
        &self.params
    }

    pub fn relabel_configs(&self) -> &[RelabelConfig] {
        &self.relabel_configs
    }

    /// The effective interval (the global one unless set).
    pub fn scrape_interval(&self) -> Duration {
        self.scrape_interval
            .unwrap_or(super::global::DEFAULT_SCRAPE_INTERVAL)
    }

    /// The effective timeout.
    pub fn scrape_timeout(&self) -> Duration {
        self.scrape_timeout
            .unwrap_or(super::global::DEFAULT_SCRAPE_TIMEOUT.min(self.scrape_interval()))
    }

    /// The static target groups as written (numbered `0`, `1`, ...).
    pub fn static_groups(&self) -> &[TargetGroup] {
        &self.sd.static_groups
    }

    /// The discovery keys this job has, as written (`static_configs`, `file_sd_configs`, ...).
    pub fn discovery_keys(&self) -> &[String] {
        &self.sd.keys
    }
}

/// Serializes the own keys, the HTTP settings inline, and `static_configs`. Other mechanisms'
/// configs are not serializable through the registry yet and are left out.
impl Serialize for ScrapeConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Own<'a>(&'a ScrapeConfig);
        impl Serialize for Own<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                ScrapeConfig::serialize(self.0, s)
            }
        }
        #[derive(Serialize)]
        struct Full<'a> {
            #[serde(flatten)]
            own: Own<'a>,
            #[serde(flatten)]
            http: &'a HttpClientConfig,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            static_configs: &'a [TargetGroup],
        }
        Full {
            own: Own(self),
            http: &self.http_client,
            static_configs: &self.sd.static_groups,
        }
        .serialize(s)
    }
}
