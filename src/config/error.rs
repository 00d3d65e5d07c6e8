//! A configuration error as users see it: `file:line:column: message`, the message being
//! Prometheus' own wording where Prometheus has one.

use std::fmt;
use std::path::{Path, PathBuf};

use super::position::{Position, YamlIndex};

/// Why a configuration file was rejected, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub position: Option<Position>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{}:{}: {}", self.file.display(), p, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A semantic error about the value at a YAML path, positioned by the file's index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PathError {
    pub path: String,
    pub message: String,
}

pub(crate) fn at(path: impl Into<String>, message: impl Into<String>) -> PathError {
    PathError {
        path: path.into(),
        message: message.into(),
    }
}

/// What [`ConfigError`]s of one file need: its name and its index.
pub(crate) struct Source<'a> {
    pub file: &'a Path,
    pub index: Option<&'a YamlIndex>,
}

impl Source<'_> {
    pub fn error(&self, e: PathError) -> ConfigError {
        let position = self.index.and_then(|i| i.position(&e.path));
        let message = self.with_job(&e.path, position, e.message);
        ConfigError {
            file: self.file.to_owned(),
            position,
            message,
        }
    }

    pub fn plain(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            position: None,
            message: message.into(),
        }
    }

    /// A YAML error from serde: its own position, and the job it happened in.
    pub fn yaml(&self, e: serde_yaml::Error) -> ConfigError {
        let text = e.to_string();
        let Some(loc) = e.location() else {
            return self.plain(text);
        };
        let position = Position {
            line: loc.line(),
            column: loc.column(),
        };
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        let message = match text.strip_suffix(&suffix) {
            Some(m) => m.to_owned(),
            // libyaml's own messages carry their marks inside; keep them whole.
            None => text,
        };
        let message = self.with_job("", Some(position), go_wording(message));
        ConfigError {
            file: self.file.to_owned(),
            position: Some(position),
            message,
        }
    }

    /// Prefixes `job "name": ` to a message about something inside a scrape config, unless it
    /// names the job already.
    fn with_job(&self, path: &str, position: Option<Position>, message: String) -> String {
        let Some(index) = self.index else {
            return message;
        };
        let item = match path
            .strip_prefix("scrape_configs[")
            .and_then(|r| r.split(']').next())
        {
            Some(i) => i.parse().ok(),
            None => position.and_then(|p| index.item_at("scrape_configs", p)),
        };
        let Some(i) = item else {
            return message;
        };
        match index.scalar(&format!("scrape_configs[{i}].job_name")) {
            Some(job) if !message.contains(&format!("job name {job:?}")) => {
                format!("job {job:?}: {message}")
            }
            _ => message,
        }
    }
}

/// Words serde's structural errors as Prometheus' YAML decoder (go-yaml v2) does, keeping
/// serde's path in front (where Go names the line): an unknown key is `field K not found in
/// type T`, a value of the wrong kind is `unmarshal errors: cannot unmarshal !!tag ...`. Other
/// messages are kept as they are.
fn go_wording(message: String) -> String {
    let (path, rest) = match message.find(": unknown field `") {
        Some(i) => (&message[..i], &message[i + 2..]),
        None if message.starts_with("unknown field `") => ("", message.as_str()),
        None => match message.find("invalid type: ") {
            Some(i) => (message[..i].trim_end_matches(": "), &message[i..]),
            None => return message,
        },
    };
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    };
    if let Some(r) = rest.strip_prefix("unknown field `") {
        let Some((field, _)) = r.split_once('`') else {
            return message;
        };
        return format!(
            "{prefix}field {field} not found in type {}",
            go_struct_type(path)
        );
    }
    let Some((got, expected)) = rest
        .strip_prefix("invalid type: ")
        .and_then(|r| r.rsplit_once(", expected "))
    else {
        return message;
    };
    let Some(tag) = go_tag(got) else {
        return message;
    };
    format!("{prefix}unmarshal errors: cannot unmarshal {tag} into {expected}")
}

/// go-yaml's name for the node serde found (`!!str `x``), from serde's `Unexpected`.
fn go_tag(got: &str) -> Option<String> {
    let value = |v: &str| v.trim_matches(|c| c == '`' || c == '"').to_owned();
    Some(match got {
        "sequence" => "!!seq".to_owned(),
        "map" => "!!map".to_owned(),
        "unit value" => "!!null".to_owned(),
        _ => {
            let (kind, v) = got.split_once(' ')?;
            let tag = match kind {
                "string" => "!!str",
                "boolean" => "!!bool",
                "integer" => "!!int",
                "floating" => {
                    return Some(format!("!!float `{}`", value(v.strip_prefix("point ")?)))
                }
                _ => return None,
            };
            format!("{tag} `{}`", value(v))
        }
    })
}

/// The Go type Prometheus decodes the map at `path` into, as its decoder names it in errors
/// (types with their own `UnmarshalYAML` decode through a local type named `plain`). Scrape,
/// Alertmanager and static configs decode into anonymous structs whose Go names are
/// unreadable; they get their declared names.
pub(crate) fn go_struct_type(path: &str) -> String {
    let last = path.rsplit('.').next().unwrap_or("");
    let item = last.split('[').next().unwrap_or("");
    let is_item = last.ends_with(']');
    let mechanism = path
        .rsplit('.')
        .find_map(|seg| seg.split('[').next()?.strip_suffix("_sd_configs"));
    let t = match (item, is_item) {
        ("", _) | ("global" | "alerting" | "storage" | "tsdb" | "tracing" | "otlp", false) => {
            "config.plain"
        }
        ("scrape_configs", true) => "config.ScrapeConfig",
        ("alertmanagers", true) => "config.AlertmanagerConfig",
        ("static_configs", true) => "targetgroup.Group",
        ("remote_write", true) | ("remote_read", true) => "config.plain",
        (k, true) if k.ends_with("relabel_configs") => "relabel.plain",
        (k, true) if k.ends_with("_sd_configs") => {
            // The registry gives the package (the type is then `plain`) or, for a mechanism
            // whose plain type has another name, the whole type (`xds.plainKumaConf`).
            let go = mechanism.map_or("discovery", crate::discovery::go_package);
            return if go.contains('.') {
                go.to_owned()
            } else {
                format!("{go}.plain")
            };
        }
        ("filters", true) if matches!(mechanism, Some("ec2" | "aws")) => "aws.Filter",
        ("filters", true) if matches!(mechanism, Some("docker" | "dockerswarm")) => "moby.Filter",
        ("namespaces", false) if mechanism == Some("kubernetes") => "kubernetes.plain",
        ("selectors", true) if mechanism == Some("kubernetes") => "kubernetes.SelectorConfig",
        ("attach_metadata", false) if mechanism == Some("kubernetes") => {
            "kubernetes.AttachMetadataConfig"
        }
        ("tls_config", false) => "config.plain",
        ("authorization", false) => "config.Authorization",
        _ => "config.plain",
    };
    t.to_owned()
}

/// Maps whose keys are data (label names, parameters, headers), not fields of a Go struct: a
/// key repeated in one of them is `key "k" already set in map`, elsewhere `field k already
/// set in type T`, as go-yaml words the two.
pub(crate) fn is_data_map(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or("");
    matches!(
        last,
        "external_labels"
            | "labels"
            | "params"
            | "http_headers"
            | "headers"
            | "proxy_connect_header"
            | "node_meta"
    )
}
