//! The `prometheus.yml` model and its loader: users bring the file they run, and promsd reads
//! it as Prometheus 3.x does for every part about discovery, with Prometheus' defaults,
//! inheritance from `global`, checks and messages; errors name file, line and column.
//!
//! # Layout
//! - `global`, `scrape`, `alerting`: the sections promsd reads. Inside them an unknown key is an
//!   error, as in Prometheus.
//! - `position`: the YAML path → line:column index that positions errors found after parsing.
//! - `error`: [`ConfigError`].
//! - `sections`: the sections not about discovery (`storage`, `tracing`, `remote_write`,
//!   `remote_read`, `otlp`; `runtime` is only accepted): not interpreted, but checked as
//!   Prometheus checks them.
//!
//! A top-level key Prometheus does not know is an error. `rule_files` and
//! `scrape_config_files` are checked (patterns) and resolved against the config file's
//! directory; the scrape configs of `scrape_config_files` are read and checked
//! with the main file's, as Prometheus' `GetScrapeConfigs` does.
//!
//! # Decisions
//! - The typed parse runs straight on the text, so serde's errors keep their positions; checks
//!   that Prometheus makes after reading use the index to point at the key they are about.
//! - A key repeated in one map is an error (Go's strict decoder rejects it too).
//! - A mechanism promsd does not implement is reported where Prometheus would stop if that
//!   mechanism's config were bad: errors it finds while reading what comes before the key are
//!   reported instead, the checks it makes after reading are not reached.
//! - Serializing a config shows secrets as `<secret>` and leaves out the configs of mechanisms
//!   other than `static_configs` (the registry gives no way to serialize them yet).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use promsd_actors::DiscoveryConfig;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

pub mod alerting;
pub mod error;
pub mod global;
pub mod position;
pub mod scrape;
mod sections;

pub use alerting::{AlertingConfig, AlertmanagerConfig};
pub use error::ConfigError;
pub use global::GlobalConfig;
pub use position::Position;
pub use scrape::ScrapeConfig;

use error::{at, PathError, Source};
use position::YamlIndex;

pub(crate) use crate::common::http_config::join_dir;

/// A loaded, checked configuration.
#[derive(Debug, Default)]
pub struct Config {
    pub global: GlobalConfig,
    pub alerting: AlertingConfig,
    pub rule_files: Vec<String>,
    pub scrape_config_files: Vec<String>,
    /// The scrape configs of the main file, then those of `scrape_config_files`.
    pub scrape_configs: Vec<ScrapeConfig>,
    /// How many of `scrape_configs` come from the main file.
    pub main_file_scrape_configs: usize,
    /// The file it was read from.
    pub file: PathBuf,
}

impl Serialize for Config {
    /// The main file as Prometheus prints it: the scrape configs of `scrape_config_files` stay
    /// in their files.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Printed<'a> {
            global: &'a GlobalConfig,
            #[serde(skip_serializing_if = "AlertingConfig::is_empty")]
            alerting: &'a AlertingConfig,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            rule_files: &'a [String],
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            scrape_config_files: &'a [String],
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            scrape_configs: &'a [ScrapeConfig],
        }
        Printed {
            global: &self.global,
            alerting: &self.alerting,
            rule_files: &self.rule_files,
            scrape_config_files: &self.scrape_config_files,
            scrape_configs: &self.scrape_configs[..self.main_file_scrape_configs],
        }
        .serialize(s)
    }
}

/// The top level as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    global: Option<GlobalConfig>,
    #[serde(default)]
    alerting: Option<AlertingConfig>,
    #[serde(default)]
    rule_files: Option<Vec<String>>,
    #[serde(default)]
    scrape_config_files: Option<Vec<String>>,
    #[serde(default)]
    scrape_configs: Option<Vec<Option<ScrapeConfig>>>,
    // Not about discovery: checked as Prometheus checks them, not interpreted.
    #[serde(default)]
    runtime: Option<IgnoredAny>,
    #[serde(default)]
    storage: Option<sections::Storage>,
    #[serde(default)]
    tracing: Option<sections::Tracing>,
    #[serde(default)]
    remote_write: Option<Vec<Option<sections::RemoteWrite>>>,
    #[serde(default)]
    remote_read: Option<Vec<Option<sections::RemoteRead>>>,
    #[serde(default)]
    otlp: Option<sections::Otlp>,
}

/// A file of `scrape_config_files`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScrapeConfigsFile {
    #[serde(default)]
    scrape_configs: Option<Vec<Option<ScrapeConfig>>>,
}

/// Prometheus' `patRulePath`: at most one `*`, and no `/` after it.
fn valid_pattern(p: &str) -> bool {
    match p.find('*') {
        None => true,
        Some(i) => !p[i..].contains('/'),
    }
}

/// Parses `text` typed, after indexing it (and rejecting repeated keys).
fn parse<T: for<'de> Deserialize<'de>>(
    text: &str,
    file: &Path,
) -> Result<(T, Option<YamlIndex>), ConfigError> {
    let index = YamlIndex::build(text);
    let source = Source {
        file,
        index: index.as_ref(),
    };
    if let Some(dup) = index.as_ref().and_then(|i| i.duplicate.clone()) {
        return Err(ConfigError {
            file: file.to_owned(),
            position: Some(dup.position),
            message: if error::is_data_map(&dup.map) {
                format!("key {:?} already set in map", dup.key)
            } else {
                format!(
                    "field {} already set in type {}",
                    dup.key,
                    error::go_struct_type(&dup.map)
                )
            },
        });
    }
    if let Some(index) = index.as_ref().filter(|i| !i.binary.is_empty()) {
        let decoded = decode_binary(text, index, file)?;
        return parse(&decoded, file);
    }
    // An empty document is an empty map, as in Prometheus.
    let value = if text.trim().is_empty() || only_comments(text) {
        serde_yaml::from_str("{}")
    } else {
        serde_yaml::from_str(text)
    };
    match value {
        Ok(v) => Ok((v, index)),
        Err(e) => {
            let mut e = source.yaml(e);
            for internal in ["struct RawConfig", "struct ScrapeConfigsFile"] {
                e.message = e
                    .message
                    .replace(internal, "a map of configuration sections");
            }
            Err(index
                .as_ref()
                .and_then(|i| unimplemented_before(i, &source, e.position))
                .unwrap_or(e))
        }
    }
}

/// The first mechanism promsd does not implement whose key comes before `position`: Prometheus
/// reads in the file's order, and would stop there if that mechanism's config were bad (see
/// `Config::load_str`).
fn unimplemented_before(
    index: &YamlIndex,
    source: &Source,
    position: Option<Position>,
) -> Option<ConfigError> {
    let (path, parent, message, _) = index
        .nodes()
        .filter(|(_, pos)| position.is_none_or(|p| *pos < p))
        .filter_map(|(path, pos)| {
            let (parent, key) = path.rsplit_once('.')?;
            let item = parent
                .strip_prefix("scrape_configs[")
                .or_else(|| parent.strip_prefix("alerting.alertmanagers["))?;
            let is_item = item.strip_suffix(']')?.bytes().all(|b| b.is_ascii_digit());
            let message = scrape::unimplemented(key).filter(|_| is_item)?;
            Some((path, parent, message, pos))
        })
        .min_by_key(|(.., pos)| *pos)?;
    Some(source.error(at(path, format!("{parent}: {message}"))))
}

/// Replaces each `!!binary` scalar of `text` by its decoded text, quoted, as Prometheus' YAML
/// decoder reads it (columns after it on its line shift). Bad base64 is go-yaml's error; bytes
/// that are not UTF-8 are Prometheus' label error in a label map, and an error elsewhere
/// (promsd reads text only; Go keeps such bytes in its strings).
fn decode_binary(text: &str, index: &YamlIndex, file: &Path) -> Result<String, ConfigError> {
    let fail = |position, message: String| ConfigError {
        file: file.to_owned(),
        position: Some(position),
        message,
    };
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    // Later scalars first, so that earlier columns on a line stay true.
    for b in index.binary.iter().rev() {
        let Some(bytes) = &b.decoded else {
            return Err(fail(
                b.position,
                "!!binary value contains invalid base64 data".to_owned(),
            ));
        };
        let Ok(decoded) = std::str::from_utf8(bytes) else {
            let label_map = b.parent.ends_with("external_labels") || b.parent.ends_with("labels");
            let message = match (label_map, b.is_key) {
                (true, true) => format!("{} is not a valid label name", go_quote(bytes)),
                (true, false) => format!("{} is not a valid label value", go_quote(bytes)),
                (false, _) => format!(
                    "!!binary value {} is not UTF-8 text, which promsd cannot read",
                    go_quote(bytes)
                ),
            };
            return Err(fail(b.position, message));
        };
        let span = lines
            .get(b.position.line - 1)
            .and_then(|line| binary_span(line, b.position.column - 1, &b.text));
        let Some((start, end)) = span else {
            return Err(fail(
                b.position,
                "a !!binary value must be written on one line".to_owned(),
            ));
        };
        let quoted = serde_json::to_string(decoded).expect("a string serializes");
        lines[b.position.line - 1].replace_range(start..end, &quoted);
    }
    Ok(lines.join("\n"))
}

/// The byte range of `!!binary <scalar>` whose scalar starts at character `column` of `line`,
/// if the scalar (`value` once read) ends on this line.
fn binary_span(line: &str, column: usize, value: &str) -> Option<(usize, usize)> {
    let scalar = line.char_indices().nth(column).map(|(i, _)| i)?;
    let tag = line[..scalar].rfind("!!binary")?;
    let quote = line[scalar..].chars().next()?;
    let end = match quote {
        '"' | '\'' => scalar + 1 + line[scalar + 1..].find(quote)? + 1,
        _ => scalar + value.len(),
    };
    (line.get(scalar..end)?.trim_matches(['"', '\'']) == value).then_some((tag, end))
}

/// Go's `%q` of a byte string: invalid UTF-8 bytes as `\xNN`.
fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

fn only_comments(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---"
    })
}

impl Config {
    /// Reads and checks a configuration file (and its `scrape_config_files`).
    pub fn load_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            position: None,
            message: e.to_string(),
        })?;
        let dir = path.parent().unwrap_or(Path::new("")).to_owned();
        Config::load_str(&text, path, &dir)
    }

    /// Reads and checks configuration text; `file` names it in errors and `dir` resolves its
    /// relative paths.
    pub fn load_str(text: &str, file: &Path, dir: &Path) -> Result<Config, ConfigError> {
        let (raw, index): (RawConfig, _) = parse(text, file)?;
        let source = Source {
            file,
            index: index.as_ref(),
        };
        let _ = raw.runtime;
        let mut sections = sections::Sections {
            remote_write: raw.remote_write.unwrap_or_default(),
            remote_read: raw.remote_read.unwrap_or_default(),
            storage: raw.storage,
            tracing: raw.tracing,
            otlp: raw.otlp,
        };
        let mut config = Config {
            global: raw.global.unwrap_or_default(),
            alerting: raw.alerting.unwrap_or_default(),
            rule_files: raw.rule_files.unwrap_or_default(),
            scrape_config_files: raw.scrape_config_files.unwrap_or_default(),
            scrape_configs: Vec::new(),
            main_file_scrape_configs: 0,
            file: file.to_owned(),
        };
        // The checks Prometheus makes while reading. It reads in the file's order and stops at
        // the first error, so of the first error of each part the earliest is reported. A
        // mechanism promsd does not implement stands for the error Prometheus would raise at
        // its key if that mechanism's config were bad: its own config's checks after reading
        // come after it, and the checks of the whole config (below) never run.
        let mut read_errors: Vec<ConfigError> = Vec::new();
        if let Err(e) = config.global.validate() {
            read_errors.push(source.error(e));
        }
        let mut scrape_configs = Vec::new();
        for (i, sc) in raw
            .scrape_configs
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let path = format!("scrape_configs[{i}]");
            let checked = sc
                .ok_or_else(|| at(&path, "empty or null scrape config section"))
                .and_then(|mut sc| {
                    if let Some(e) = sc.sd.unimplemented_error(&path) {
                        return Err(e);
                    }
                    sc.check_read(&path).map(|()| sc)
                });
            match checked {
                Ok(sc) => scrape_configs.push(sc),
                Err(e) => {
                    read_errors.push(source.error(e));
                    break;
                }
            }
        }
        for (i, am) in config.alerting.alertmanagers.iter_mut().enumerate() {
            let path = format!("alerting.alertmanagers[{i}]");
            let checked = match am.sd.unimplemented_error(&path) {
                Some(e) => Err(e),
                None => am.check_read(&path),
            };
            if let Err(e) = checked {
                read_errors.push(source.error(e));
                break;
            }
        }
        if let Err(e) = sections.check_read() {
            read_errors.push(source.error(e));
        }
        if let Some(e) = read_errors.into_iter().min_by_key(|e| e.position) {
            return Err(e);
        }
        for (i, rf) in config.rule_files.iter().enumerate() {
            if !valid_pattern(rf) {
                return Err(source.error(at(
                    format!("rule_files[{i}]"),
                    format!("invalid rule file path {rf:?}"),
                )));
            }
        }
        for (i, sf) in config.scrape_config_files.iter().enumerate() {
            if !valid_pattern(sf) {
                return Err(source.error(at(
                    format!("scrape_config_files[{i}]"),
                    format!("invalid scrape config file path {sf:?}"),
                )));
            }
        }
        let mut first_seen: BTreeMap<String, String> = BTreeMap::new();
        for (i, sc) in scrape_configs.iter_mut().enumerate() {
            let path = format!("scrape_configs[{i}]");
            sc.validate(&path, &config.global)
                .map_err(|e| source.error(e))?;
            if first_seen
                .insert(sc.job_name.clone(), "main config file".into())
                .is_some()
            {
                return Err(source.error(at(
                    format!("{path}.job_name"),
                    format!(
                        "found multiple scrape configs with job name {:?}",
                        sc.job_name
                    ),
                )));
            }
            sc.finish(dir);
        }
        config
            .alerting
            .validate(config.global.name_validation())
            .map_err(|e| source.error(e))?;
        sections
            .check_whole(&config.global)
            .map_err(|e| source.error(e))?;
        for am in &mut config.alerting.alertmanagers {
            am.finish(dir);
        }
        config.global.resolve_paths(dir);
        for f in config
            .rule_files
            .iter_mut()
            .chain(config.scrape_config_files.iter_mut())
        {
            join_dir(dir, f);
        }
        config.main_file_scrape_configs = scrape_configs.len();
        config.scrape_configs = scrape_configs;
        let mut extra = Vec::new();
        for pattern in &config.scrape_config_files {
            for file in glob_sorted(pattern).map_err(|m| source.plain(m))? {
                extra.extend(load_scrape_config_file(
                    &file,
                    &config.global,
                    &mut first_seen,
                )?);
            }
        }
        config.scrape_configs.extend(extra);
        Ok(config)
    }

    /// The discovery configs of every job: what the daemon sends the engine as `ApplyConfig`.
    /// A job without any has an empty list.
    pub fn discovery_jobs(&self) -> BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>> {
        self.scrape_configs
            .iter()
            .map(|sc| (sc.job_name.clone(), sc.discovery.clone()))
            .collect()
    }

    /// The discovery configs of the Alertmanagers, keyed `config-0`, `config-1`, ... as
    /// Prometheus' notifier keys them.
    pub fn alertmanager_discovery(&self) -> BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>> {
        self.alerting
            .alertmanagers
            .iter()
            .enumerate()
            .map(|(i, am)| (format!("config-{i}"), am.discovery.clone()))
            .collect()
    }

    /// The scrape config of `job`.
    pub fn scrape_config(&self, job: &str) -> Option<&ScrapeConfig> {
        self.scrape_configs.iter().find(|sc| sc.job_name == job)
    }

    /// The config as YAML, secrets shown as `<secret>`.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }
}

impl GlobalConfig {
    fn resolve_paths(&mut self, dir: &Path) {
        join_dir(dir, &mut self.query_log_file);
        join_dir(dir, &mut self.scrape_failure_log_file);
    }
}

/// `filepath.Glob`: matches in lexical order; a pattern without magic is returned if it exists.
fn glob_sorted(pattern: &str) -> Result<Vec<PathBuf>, String> {
    let paths = glob::glob(pattern).map_err(|e| {
        format!(
            "error retrieving scrape config files for {pattern:?}: syntax error in pattern: {e}"
        )
    })?;
    let mut out: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
    out.sort();
    Ok(out)
}

/// Reads one file of `scrape_config_files`, checking its scrape configs against `global` and
/// the job names seen so far.
fn load_scrape_config_file(
    file: &Path,
    global: &GlobalConfig,
    first_seen: &mut BTreeMap<String, String>,
) -> Result<Vec<ScrapeConfig>, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
        file: file.to_owned(),
        position: None,
        message: e.to_string(),
    })?;
    let (raw, index): (ScrapeConfigsFile, _) = parse(&text, file)?;
    let source = Source {
        file,
        index: index.as_ref(),
    };
    let dir = file.parent().unwrap_or(Path::new(""));
    let shown = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    // As Prometheus' GetScrapeConfigs: the file is read (and checked while read) whole, then
    // each of its configs is checked.
    let mut read = Vec::new();
    for (i, sc) in raw
        .scrape_configs
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let path = format!("scrape_configs[{i}]");
        let check = |sc: Option<ScrapeConfig>| -> Result<ScrapeConfig, PathError> {
            let mut sc = sc.ok_or_else(|| at(&path, "empty or null scrape config section"))?;
            if let Some(e) = sc.sd.unimplemented_error(&path) {
                return Err(e);
            }
            sc.check_read(&path)?;
            Ok(sc)
        };
        read.push(check(sc).map_err(|e| source.error(e))?);
    }
    let mut out = Vec::new();
    for (i, mut sc) in read.into_iter().enumerate() {
        let path = format!("scrape_configs[{i}]");
        sc.validate(&path, global).map_err(|e| source.error(e))?;
        if let Some(first) = first_seen.get(&sc.job_name) {
            return Err(source.error(at(
                format!("{path}.job_name"),
                format!(
                    "found multiple scrape configs with job name {:?}, first found in {first}",
                    sc.job_name
                ),
            )));
        }
        first_seen.insert(
            sc.job_name.clone(),
            format!("{:?}", shown.display().to_string()),
        );
        sc.finish(dir);
        out.push(sc);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, String> {
        Config::load_str(text, Path::new("p.yml"), Path::new("/etc/prom"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn binary_scalars_are_decoded() {
        let c = load(
            "global:\n  external_labels:\n    !!binary \"Zm9v\": !!binary YmFy  # c\n    x: !!binary 'YmF6'\nscrape_configs:\n  - job_name: !!binary \"am9i\"\n",
        )
        .unwrap();
        assert_eq!(c.global.external_labels["foo"], "bar");
        assert_eq!(c.global.external_labels["x"], "baz");
        assert!(c.scrape_config("job").is_some());
        let err = load("scrape_configs:\n  - job_name: !!binary \"/w==\"\n").unwrap_err();
        assert_eq!(
            err,
            r#"p.yml:2:24: !!binary value "\xff" is not UTF-8 text, which promsd cannot read"#
        );
        assert_eq!(go_quote(b"a\"\n\xffb"), r#""a\"\n\xffb""#);
    }

    #[test]
    fn empty_file_is_the_default_config() {
        let c = load("").unwrap();
        assert_eq!(c.global.scrape_interval(), global::DEFAULT_SCRAPE_INTERVAL);
        assert!(c.scrape_configs.is_empty());
        load("# nothing\n").unwrap();
    }

    #[test]
    fn scrape_configs_inherit_from_global() {
        let c = load(
            "global: {scrape_interval: 5s}\nscrape_configs:\n- job_name: a\n- job_name: b\n  scrape_interval: 1m\n",
        )
        .unwrap();
        let a = c.scrape_config("a").unwrap();
        assert_eq!(a.scrape_interval(), Duration::from_secs(5));
        assert_eq!(a.scrape_timeout(), Duration::from_secs(5));
        assert_eq!(a.metrics_path(), "/metrics");
        assert_eq!(a.scheme(), "http");
        let b = c.scrape_config("b").unwrap();
        assert_eq!(b.scrape_timeout(), Duration::from_secs(5));
        assert_eq!(c.discovery_jobs().len(), 2);
    }

    use crate::common::Duration;

    #[test]
    fn semantic_errors_point_at_the_key() {
        let err =
            load("scrape_configs:\n- job_name: a\n- job_name: b\n- job_name: a\n").unwrap_err();
        assert_eq!(
            err,
            r#"p.yml:4:3: found multiple scrape configs with job name "a""#
        );
        let err =
            load("scrape_configs:\n- job_name: a\n  scrape_interval: 5s\n  scrape_timeout: 6s\n")
                .unwrap_err();
        assert_eq!(
            err,
            r#"p.yml:4:3: scrape timeout greater than scrape interval for scrape config with job name "a""#
        );
    }

    #[test]
    fn unknown_keys_point_at_the_key_and_name_the_job() {
        let err =
            load("scrape_configs:\n- job_name: a\n  static_configs: []\n  bogus: 1\n").unwrap_err();
        assert!(err.starts_with("p.yml:4:3: job \"a\": "), "{err}");
        assert!(err.contains("field bogus not found in type"), "{err}");
        // A mechanism this build lacks (if any) is an error naming it, at its key.
        if let Some(missing) = crate::discovery::PROMETHEUS_MECHANISMS
            .iter()
            .find(|m| !crate::discovery::IMPLEMENTED.contains(m))
        {
            let err = load(&format!(
                "scrape_configs:\n- job_name: a\n  {missing}_sd_configs: []\n"
            ))
            .unwrap_err();
            assert!(err.starts_with("p.yml:3:3: job \"a\": "), "{err}");
            assert!(
                err.contains(&format!("does not implement {missing} service discovery")),
                "{err}"
            );
        }
        let err = load("bogus: 1\n").unwrap_err();
        assert_eq!(err, "p.yml:1:1: field bogus not found in type config.plain");
    }

    #[test]
    fn relative_paths_join_the_config_directory() {
        let c = load(
            "rule_files: [rules/*.yml]\nscrape_configs:\n- job_name: a\n  bearer_token_file: tok\n",
        )
        .unwrap();
        assert_eq!(c.rule_files, ["/etc/prom/rules/*.yml"]);
        let auth = c.scrape_configs[0]
            .http_client
            .authorization
            .as_ref()
            .unwrap();
        assert_eq!(auth.credentials_file, "/etc/prom/tok");
    }
}
