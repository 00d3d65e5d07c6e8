//! One relabel rule as written in `relabel_configs`, read and checked exactly as Prometheus'
//! `relabel.Config` (`UnmarshalYAML` then `Validate`), with Prometheus' error messages.
//!
//! Reading follows Go's YAML decoder: an absent key keeps its default (`separator: ;`,
//! `regex: (.*)`, `replacement: $1`, `action: replace`), a key present with a null value takes
//! the zero value (`action:` → "relabel action cannot be empty", `regex:` → the empty regex), and
//! scalars that are not strings are read as their text. Deserializing a [`RelabelConfig`] checks
//! it under the UTF-8 scheme (Prometheus 3.x's default). The config loader reads its rules with
//! [`Unvalidated`] instead and validates each once, under the scheme of the job or config that
//! holds it, as Prometheus' `Config.Validate` does.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, LazyLock};

use promsd_actors::model::{intern, Name, Str};
use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::gofmt::quote;
use super::regexp::{Regexp, Template, DEFAULT_REGEX};

/// The relabel actions. Read case-insensitively, written in lower case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl Action {
    pub const ALL: [Action; 11] = [
        Action::Replace,
        Action::Keep,
        Action::Drop,
        Action::KeepEqual,
        Action::DropEqual,
        Action::HashMod,
        Action::LabelMap,
        Action::LabelDrop,
        Action::LabelKeep,
        Action::Lowercase,
        Action::Uppercase,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }

    /// Prometheus' `Action.UnmarshalYAML`: case-insensitive (Go's `strings.ToLower`).
    pub fn parse(s: &str) -> Result<Action, String> {
        let lower = s.to_lowercase();
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == lower)
            .ok_or_else(|| format!("unknown relabel action {}", quote(s)))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which label names are valid: Prometheus 3.x defaults to UTF-8 (any non-empty name); a config
/// may select the legacy `[a-zA-Z_][a-zA-Z0-9_]*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NameValidation {
    #[default]
    Utf8,
    Legacy,
}

impl NameValidation {
    /// `model.ValidationScheme.IsValidLabelName` (our strings are always valid UTF-8).
    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            NameValidation::Utf8 => !name.is_empty(),
            NameValidation::Legacy => {
                let b = name.as_bytes();
                !b.is_empty()
                    && (b[0].is_ascii_alphabetic() || b[0] == b'_')
                    && b[1..]
                        .iter()
                        .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
            }
        }
    }

    /// A label name that may contain `$1`/`${name}` references (`target_label` of `replace`,
    /// `replacement` of `labelmap`).
    fn is_valid_label_name_with_vars(self, name: &str) -> bool {
        static LEGACY_WITH_VARS: LazyLock<regex::Regex> = LazyLock::new(|| {
            regex::Regex::new(
                r"^(?:(?:[a-zA-Z_]|\$(?:\{[0-9A-Za-z_]+\}|[0-9A-Za-z_]+))+[0-9A-Za-z_]*)+$",
            )
            .expect("valid")
        });
        match self {
            NameValidation::Utf8 => self.is_valid_label_name(name),
            NameValidation::Legacy => LEGACY_WITH_VARS.is_match(name),
        }
    }
}

/// One relabel rule, compiled: its regex and templates are parsed once and shared by clones.
#[derive(Clone, Debug)]
pub struct RelabelConfig {
    source_labels: Vec<Name>,
    /// `source_labels` was given (even as `[]`); `labeldrop`/`labelkeep` refuse it.
    source_labels_given: bool,
    separator: Str,
    regex: Regexp,
    modulus: u64,
    target_label: Name,
    replacement: Str,
    action: Option<Action>,
    name_validation: NameValidation,
    // Derived from the above when the rule is built.
    pub(crate) compiled: Compiled,
}

/// What applying a rule needs, prepared once.
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    /// Unique per compiled rule (shared by its clones), never reused: keys per-rule caches.
    pub(crate) id: u64,
    pub(crate) target_template: Template,
    pub(crate) replacement_template: Template,
    pub(crate) target_has_var: bool,
    pub(crate) replacement_has_var: bool,
    /// The replacement's expansion when it refers to no group that can exist.
    pub(crate) replacement_literal: Option<Str>,
    /// `hashmod` results as text, for a small modulus.
    pub(crate) hashmod_values: Arc<[Str]>,
}

/// Up to which modulus `hashmod` results are prepared as shared strings.
const HASHMOD_TABLE_MAX: u64 = 1024;

impl Compiled {
    fn new(
        regex: &Regexp,
        target_label: &str,
        replacement: &str,
        action: Option<Action>,
        modulus: u64,
    ) -> Compiled {
        let hashmod_values: Arc<[Str]> =
            if action == Some(Action::HashMod) && modulus <= HASHMOD_TABLE_MAX {
                (0..modulus).map(|n| intern(&n.to_string())).collect()
            } else {
                Arc::new([])
            };
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let replacement_template = Template::new(replacement, regex);
        Compiled {
            id: NEXT_ID.fetch_add(1, AtomicOrdering::Relaxed),
            target_template: Template::new(target_label, regex),
            replacement_literal: replacement_template.as_literal().map(|lit| {
                if lit == replacement {
                    intern(lit)
                } else {
                    Str::from(lit)
                }
            }),
            replacement_template,
            hashmod_values,
            target_has_var: target_label.contains('$'),
            replacement_has_var: replacement.contains('$'),
        }
    }
}

impl Default for RelabelConfig {
    /// Prometheus' `DefaultRelabelConfig` (not valid on its own: `replace` needs a target).
    fn default() -> Self {
        let regex = DEFAULT_REGEX.clone();
        RelabelConfig {
            source_labels: Vec::new(),
            source_labels_given: false,
            separator: intern(";"),
            compiled: Compiled::new(&regex, "", "$1", Some(Action::Replace), 0),
            regex,
            modulus: 0,
            target_label: Name::new(""),
            replacement: intern("$1"),
            action: Some(Action::Replace),
            name_validation: NameValidation::Utf8,
        }
    }
}

impl PartialEq for RelabelConfig {
    /// Equal when written the same (the regex by its text).
    fn eq(&self, other: &Self) -> bool {
        self.source_labels == other.source_labels
            && self.source_labels_given == other.source_labels_given
            && self.separator == other.separator
            && self.regex == other.regex
            && self.modulus == other.modulus
            && self.target_label == other.target_label
            && self.replacement == other.replacement
            && self.action == other.action
            && self.name_validation == other.name_validation
    }
}

impl Eq for RelabelConfig {}

impl RelabelConfig {
    pub fn source_labels(&self) -> &[Name] {
        &self.source_labels
    }
    pub fn separator(&self) -> &str {
        &self.separator
    }
    pub fn regex(&self) -> &Regexp {
        &self.regex
    }
    pub fn modulus(&self) -> u64 {
        self.modulus
    }
    pub fn target_label(&self) -> &str {
        &self.target_label
    }
    pub fn replacement(&self) -> &str {
        &self.replacement
    }
    pub(crate) fn target_label_name(&self) -> &Name {
        &self.target_label
    }
    pub(crate) fn replacement_shared(&self) -> &Str {
        &self.replacement
    }
    /// The action (always set on a rule that passed validation).
    pub fn action(&self) -> Action {
        self.action.unwrap_or(Action::Replace)
    }
    pub fn name_validation(&self) -> NameValidation {
        self.name_validation
    }

    /// Prometheus' `Config.Validate(scheme)`: checks the rule under a label-name scheme and keeps
    /// that scheme for applying it. Deserializing a rule validates it under
    /// [`NameValidation::Utf8`]; a rule read as `Unvalidated` must be validated with this.
    pub fn validate(&mut self, scheme: NameValidation) -> Result<(), String> {
        use Action::*;
        let Some(action) = self.action else {
            return Err("relabel action cannot be empty".into());
        };
        self.name_validation = scheme;
        let target = &*self.target_label;
        if self.modulus == 0 && action == HashMod {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        );
        if needs_target && target.is_empty() {
            return Err(format!(
                "relabel configuration for {action} action requires 'target_label' value"
            ));
        }
        let invalid_target = || {
            format!(
                "{} is invalid 'target_label' for {action} action",
                quote(target)
            )
        };
        let has_var = target.contains('$');
        if action == Replace && !has_var && !scheme.is_valid_label_name(target) {
            return Err(invalid_target());
        }
        if action == Replace && has_var && !scheme.is_valid_label_name_with_vars(target) {
            return Err(invalid_target());
        }
        let simple_target = matches!(action, Lowercase | Uppercase | KeepEqual | DropEqual);
        if simple_target && !scheme.is_valid_label_name(target) {
            return Err(invalid_target());
        }
        if simple_target && &*self.replacement != "$1" {
            return Err(format!("'replacement' can not be set for {action} action"));
        }
        if action == LabelMap && !scheme.is_valid_label_name_with_vars(&self.replacement) {
            return Err(format!(
                "{} is invalid 'replacement' for {action} action",
                quote(&self.replacement)
            ));
        }
        if action == HashMod && !scheme.is_valid_label_name(target) {
            return Err(invalid_target());
        }
        if matches!(action, DropEqual | KeepEqual)
            && (!self.regex.is_default_instance()
                || self.modulus != 0
                || &*self.separator != ";"
                || &*self.replacement != "$1")
        {
            return Err(format!(
                "{action} action requires only 'source_labels' and `target_label`, and no other fields"
            ));
        }
        if matches!(action, LabelDrop | LabelKeep)
            && (self.source_labels_given
                || !target.is_empty()
                || self.modulus != 0
                || &*self.separator != ";"
                || &*self.replacement != "$1")
        {
            return Err(format!(
                "{action} action requires only 'regex', and no other fields"
            ));
        }
        Ok(())
    }
}

/// A YAML string field as Go's decoder reads it: absent → default (`None`), null → zero value
/// (`Some("")`), any other scalar → its text.
fn go_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?.unwrap_or_default()))
}

fn go_regex<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Regexp>, D::Error> {
    let s = Option::<String>::deserialize(d)?.unwrap_or_default();
    Regexp::new(&s).map(Some).map_err(de::Error::custom)
}

fn go_action<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Action>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(Some(None)),
        Some(s) => Action::parse(&s)
            .map(|a| Some(Some(a)))
            .map_err(de::Error::custom),
    }
}

fn go_modulus<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Some(Option::<u64>::deserialize(d)?.unwrap_or_default()))
}

/// `source_labels`: `None` when absent or null, else the names (each checked as a label name).
fn go_label_names<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Name>>, D::Error> {
    let Some(names) = Option::<Vec<Option<String>>>::deserialize(d)? else {
        return Ok(None);
    };
    names
        .into_iter()
        .map(|n| match n {
            // A null item is Go's zero value, which the decoder does not check.
            None => Ok(Name::new("")),
            Some(n) if n.is_empty() => Err(de::Error::custom(format!(
                "{} is not a valid label name",
                quote(&n)
            ))),
            Some(n) => Ok(Name::new(&n)),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelabelConfig {
    #[serde(default, deserialize_with = "go_label_names")]
    source_labels: Option<Vec<Name>>,
    #[serde(default, deserialize_with = "go_string")]
    separator: Option<String>,
    #[serde(default, deserialize_with = "go_regex")]
    regex: Option<Regexp>,
    #[serde(default, deserialize_with = "go_modulus")]
    modulus: Option<u64>,
    #[serde(default, deserialize_with = "go_string")]
    target_label: Option<String>,
    #[serde(default, deserialize_with = "go_string")]
    replacement: Option<String>,
    #[serde(default, deserialize_with = "go_action")]
    action: Option<Option<Action>>,
}

impl RelabelConfig {
    fn from_raw(raw: RawRelabelConfig) -> Result<RelabelConfig, String> {
        let mut config = RelabelConfig::from_raw_unvalidated(raw);
        config.validate(NameValidation::Utf8)?;
        Ok(config)
    }

    fn from_raw_unvalidated(raw: RawRelabelConfig) -> RelabelConfig {
        let default = RelabelConfig::default();
        let regex = raw.regex.unwrap_or(default.regex);
        let target_label = raw
            .target_label
            .map_or(default.target_label, |t| Name::new(&t));
        let replacement = raw.replacement.map_or(default.replacement, |r| intern(&r));
        RelabelConfig {
            source_labels_given: raw.source_labels.is_some(),
            source_labels: raw.source_labels.unwrap_or_default(),
            separator: raw.separator.map_or(default.separator, |s| intern(&s)),
            compiled: Compiled::new(
                &regex,
                &target_label,
                &replacement,
                raw.action.unwrap_or(Some(Action::Replace)),
                raw.modulus.unwrap_or(0),
            ),
            regex,
            modulus: raw.modulus.unwrap_or(0),
            target_label,
            replacement,
            action: raw.action.unwrap_or(default.action),
            name_validation: NameValidation::Utf8,
        }
    }
}

/// A rule as read, not validated yet: Prometheus 3.x's `UnmarshalYAML` only reads a rule, and
/// the config's `Validate` checks it under the name validation scheme of the job (or of the
/// config) that holds it, so that the error reported is the one that scheme finds first. A
/// config loader reading rules this way must call [`RelabelConfig::validate`] on each before
/// it is used; deserializing a [`RelabelConfig`] directly validates under the UTF-8 scheme.
pub(crate) struct Unvalidated(pub RelabelConfig);

impl<'de> Deserialize<'de> for Unvalidated {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawRelabelConfig::deserialize(d)
            .map(|raw| Unvalidated(RelabelConfig::from_raw_unvalidated(raw)))
    }
}

impl<'de> Deserialize<'de> for RelabelConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Option::<RawRelabelConfig>::deserialize(d)?.ok_or_else(|| {
            de::Error::custom("empty or null target relabeling rule in scrape config")
        })?;
        RelabelConfig::from_raw(raw).map_err(de::Error::custom)
    }
}

impl RelabelConfig {
    /// The rule as Prometheus writes it in JSON (`encoding/json`, as the `relabel_steps` API
    /// shows it): as in YAML, except that `regex` is always written, the default `(.*)` too
    /// (Go's `omitempty` never omits a struct).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(GoJson(self)).unwrap_or_default()
    }

    fn serialize_fields<S: Serializer>(
        &self,
        s: S,
        default_regex: bool,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if !self.source_labels.is_empty() {
            let names: Vec<&str> = self.source_labels.iter().map(|n| &**n).collect();
            map.serialize_entry("source_labels", &names)?;
        }
        map.serialize_entry("separator", &*self.separator)?;
        if default_regex || !self.regex.is_default_instance() {
            map.serialize_entry("regex", self.regex.as_str())?;
        }
        if self.modulus != 0 {
            map.serialize_entry("modulus", &self.modulus)?;
        }
        if !self.target_label.is_empty() {
            map.serialize_entry("target_label", &*self.target_label)?;
        }
        map.serialize_entry("replacement", &*self.replacement)?;
        if let Some(action) = self.action {
            map.serialize_entry("action", action.as_str())?;
        }
        map.end()
    }
}

/// A rule serialized in Go's `encoding/json` shape.
struct GoJson<'a>(&'a RelabelConfig);

impl Serialize for GoJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_fields(s, true)
    }
}

impl Serialize for RelabelConfig {
    /// Prometheus' YAML shape: `separator` and `replacement` always; `regex` unless it is the
    /// default one; `source_labels`, `modulus`, `target_label` when set. (JSON: [`Self::to_json`].)
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.serialize_fields(s, false)
    }
}
