//! File SD (`file_sd_configs`): target groups read from JSON and YAML files, as Prometheus'
//! `discovery/file`, but incremental and hardened against half-written files.
//!
//! ```yaml
//! file_sd_configs:
//!   - files: ['targets/*.json', '/etc/prometheus/nodes.yml']
//!     refresh_interval: 5m
//! ```
//!
//! Each file holds a list of `{targets: [...], labels: {...}}` groups; group `i` of file `f`
//! has source `f:i` and the label `__meta_filepath` = `f` (the path as Go's `filepath.Glob`
//! spells it). How files are watched and reread is told in `discoverer.rs`; what is kept per
//! file in `scanner.rs`; the file format in `parse.rs`; the glob rules in `pattern.rs`.
//!
//! # Layout
//! - this file: the config (fields, defaults, validation as Prometheus' `UnmarshalYAML`).
//! - `discoverer`: the stream: watcher, debounce, periodic refresh, passes on the blocking pool.
//! - `scanner`: per-file state and the synchronous work of a pass.
//! - `parse`: one file's content to target groups.
//! - `pattern`: Go's `Match`, `Glob`, `Clean` for the `files` patterns.
//! - `metrics`: `prometheus_sd_file_*`.

mod discoverer;
mod metrics;
mod parse;
mod pattern;
mod scanner;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::LazyLock;

use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::SdConfig;
use crate::common::Duration;

pub use discoverer::Tuning;
pub use metrics::{register_metrics, FileMetrics};
pub use parse::FILEPATH_LABEL;
// For HTTP SD, which reads the same JSON.
#[cfg(feature = "sd-http")]
pub(crate) use parse::{parse_groups_from, Format};

/// Prometheus' rule for `files` entries: a JSON or YAML extension, and a `*` only in the last
/// path component.
static VALID_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$").expect("valid regex")
});

/// The default `refresh_interval`, as in Prometheus.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// One entry of `file_sd_configs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawFileSdConfig")]
pub struct FileSdConfig {
    /// Patterns of the files to read (Go `filepath.Glob` syntax; `*` only in the last
    /// component; ending in `.json`, `.yml` or `.yaml`). Relative ones are made absolute
    /// against the config file's directory by [`SdConfig::resolve_paths`].
    pub files: Vec<String>,
    /// Period of the full rescan that backs up the file watcher (default 5m; `0` turns it
    /// off: Prometheus would fail on it at run time).
    pub refresh_interval: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFileSdConfig {
    #[serde(default)]
    files: Option<Vec<String>>,
    #[serde(default = "default_refresh_interval")]
    refresh_interval: Duration,
}

fn default_refresh_interval() -> Duration {
    DEFAULT_REFRESH_INTERVAL
}

impl TryFrom<RawFileSdConfig> for FileSdConfig {
    type Error = String;
    fn try_from(raw: RawFileSdConfig) -> Result<Self, String> {
        FileSdConfig::new(raw.files.unwrap_or_default(), raw.refresh_interval)
    }
}

impl FileSdConfig {
    /// A config, checked as Prometheus checks it when loading.
    pub fn new(files: Vec<String>, refresh_interval: Duration) -> Result<Self, String> {
        if files.is_empty() {
            return Err(
                "file service discovery config must contain at least one path name".to_owned(),
            );
        }
        if let Some(bad) = files.iter().find(|f| !VALID_PATTERN.is_match(f)) {
            return Err(format!("path name {bad:?} is not valid for file discovery"));
        }
        crate::discovery::kit::check_interval("refresh_interval", refresh_interval)?;
        Ok(FileSdConfig {
            files,
            refresh_interval,
        })
    }

    /// A discoverer with its own metric families and timing (for tests, benchmarks and
    /// embedders); [`DiscoveryConfig::build`] uses the process-wide families and defaults.
    pub fn discoverer(&self, metrics: FileMetrics, tuning: Tuning) -> Discoverer {
        let patterns = self
            .files
            .iter()
            .map(|f| pattern::Pattern::new(f))
            .collect();
        let refresh = (!self.refresh_interval.is_zero()).then(|| self.refresh_interval.as_std());
        discoverer::file_discoverer(patterns, refresh, metrics, tuning)
    }
}

impl DiscoveryConfig for FileSdConfig {
    fn mechanism(&self) -> &'static str {
        "file"
    }

    fn identity(&self) -> String {
        serde_json::to_string(self).expect("a file SD config serializes")
    }

    fn build(&self, _: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        Ok(self.discoverer(FileMetrics::global(), Tuning::default()))
    }
}

impl SdConfig for FileSdConfig {
    /// Relative patterns are joined to `dir`, as Prometheus' `SetDirectory`.
    fn resolve_paths(&mut self, dir: &Path) {
        let dir = dir.to_string_lossy();
        for file in &mut self.files {
            *file = pattern::join_dir(&dir, file);
        }
    }
}
