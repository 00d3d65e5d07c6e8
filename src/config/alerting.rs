//! The `alerting` section: alert relabeling and the Alertmanagers, which are discovered like
//! scrape targets. promsd parses and checks them as Prometheus does; serving them comes later.

use std::path::Path;
use std::sync::Arc;

use promsd_actors::{DiscoveryConfig, TargetGroup};
use serde::de::{Deserializer, IgnoredAny};
use serde::{Deserialize, Serialize, Serializer};

use super::error::{at, PathError};
use super::global::NameValidation;
use super::scrape::{non_null_rules, validate_rules, SdKeys};
use crate::common::http_config::{deserialize_with_inline, HttpClientConfig, WithInline};
use crate::common::Duration;
use crate::relabel::RelabelConfig;

/// `alerting`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingConfig {
    #[serde(
        deserialize_with = "alert_rules",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub alert_relabel_configs: Vec<RelabelConfig>,
    #[serde(
        deserialize_with = "alertmanagers",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

impl AlertingConfig {
    /// Prometheus' `AlertingConfig.Validate`: every relabel rule under the global scheme.
    pub(crate) fn validate(&mut self, scheme: NameValidation) -> Result<(), PathError> {
        validate_rules(
            &mut self.alert_relabel_configs,
            scheme,
            "alerting.alert_relabel_configs",
        )?;
        for (i, am) in self.alertmanagers.iter_mut().enumerate() {
            let path = format!("alerting.alertmanagers[{i}]");
            validate_rules(
                &mut am.alert_relabel_configs,
                scheme,
                &format!("{path}.alert_relabel_configs"),
            )?;
            validate_rules(
                &mut am.relabel_configs,
                scheme,
                &format!("{path}.relabel_configs"),
            )?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.alert_relabel_configs.is_empty() && self.alertmanagers.is_empty()
    }
}

fn alert_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RelabelConfig>, D::Error> {
    non_null_rules(d, "empty or null alert relabeling rule")
}

fn am_target_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RelabelConfig>, D::Error> {
    non_null_rules(d, "empty or null Alertmanager target relabeling rule")
}

fn am_alert_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RelabelConfig>, D::Error> {
    non_null_rules(d, "empty or null Alertmanager alert relabeling rule")
}

fn alertmanagers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<AlertmanagerConfig>, D::Error> {
    let list: Option<Vec<Option<AlertmanagerConfig>>> = Option::deserialize(d)?;
    list.unwrap_or_default()
        .into_iter()
        .map(|a| {
            a.ok_or_else(|| serde::de::Error::custom("empty or null alertmanager config section"))
        })
        .collect()
}

fn default_scheme() -> String {
    "http".into()
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_api_version() -> String {
    "v2".into()
}

/// A `sigv4` section: accepted, not interpreted (its presence matters to validation). It may
/// hold secrets, so it is neither kept nor printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Present;

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| Present)
    }
}

impl Serialize for Present {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<not shown>")
    }
}

/// One entry of `alerting.alertmanagers`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct AlertmanagerConfig {
    #[serde(default, skip_serializing)]
    pub sigv4: Option<Present>,
    #[serde(default = "default_scheme")]
    pub scheme: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path_prefix: String,
    #[serde(
        default = "default_timeout",
        deserialize_with = "super::global::duration"
    )]
    pub timeout: Duration,
    #[serde(default = "default_api_version")]
    pub api_version: String,
    #[serde(
        default,
        deserialize_with = "am_target_rules",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub relabel_configs: Vec<RelabelConfig>,
    #[serde(
        default,
        deserialize_with = "am_alert_rules",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub alert_relabel_configs: Vec<RelabelConfig>,

    #[serde(skip)]
    pub http_client: HttpClientConfig,
    #[serde(skip)]
    pub(crate) sd: SdKeys,
    /// What the engine runs to find these Alertmanagers.
    #[serde(skip)]
    pub discovery: Vec<Arc<dyn DiscoveryConfig>>,
}

impl<'de> WithInline<'de> for AlertmanagerConfig {
    type Inline = (HttpClientConfig, SdKeys);

    fn deserialize_own<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AlertmanagerConfig::deserialize(d)
    }

    fn set_inline(&mut self, (http, sd): Self::Inline) {
        self.http_client = http;
        self.sd = sd;
    }
}

impl<'de> Deserialize<'de> for AlertmanagerConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_with_inline(d)
    }
}

impl Serialize for AlertmanagerConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Own<'a>(&'a AlertmanagerConfig);
        impl Serialize for Own<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                AlertmanagerConfig::serialize(self.0, s)
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

impl AlertmanagerConfig {
    /// Prometheus' `AlertmanagerConfig.UnmarshalYAML` checks; `path` is its YAML path.
    pub(crate) fn check_read(&mut self, path: &str) -> Result<(), PathError> {
        if self.api_version != "v2" {
            return Err(at(
                format!("{path}.api_version"),
                format!(
                    "expected Alertmanager api version to be one of [v2] but got {}",
                    self.api_version
                ),
            ));
        }
        self.http_client
            .validate()
            .map_err(|e| at(format!("{path}.{}", e.key), e.message))?;
        let h = &self.http_client;
        let auth = h.basic_auth.is_some() || h.authorization.is_some() || h.oauth2.is_some();
        if auth && self.sigv4.is_some() {
            return Err(at(
                format!("{path}.sigv4"),
                "at most one of basic_auth, authorization, oauth2, & sigv4 must be configured",
            ));
        }
        self.sd.check_static(path, self.relabel_configs.is_empty())
    }

    pub(crate) fn finish(&mut self, dir: &Path) {
        self.http_client.resolve_paths(dir);
        self.discovery = self.sd.finish(dir);
    }

    /// The static target groups as written.
    pub fn static_groups(&self) -> &[TargetGroup] {
        &self.sd.static_groups
    }
}
