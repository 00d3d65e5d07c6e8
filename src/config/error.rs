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
        let message = self.with_job("", Some(position), shorten_expected(message));
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

/// Drops serde's list of expected keys when it is long: for structs with inline keys it would
/// be incomplete, and forty names hide the point.
fn shorten_expected(message: String) -> String {
    match message.find(", expected one of ") {
        Some(i) if message[i..].matches('`').count() > 20 => message[..i].to_owned(),
        _ => message,
    }
}
