//! Relabeling and target population, exactly as Prometheus 3.x.
//!
//! # Layout
//! - `config`: [`RelabelConfig`], one rule of `relabel_configs`, read and validated with
//!   Prometheus' defaults and error messages.
//! - `regexp` and `re2`: the rule's regex in Go RE2 syntax and semantics (anchored, `.` matches
//!   newline, ASCII `\d \w \s \b`), translated for `regex-automata` (the `regex` crate's
//!   engine); `$1`/`${name}` expansion as Go's.
//! - `apply`: the 11 actions on a reusable [`LabelBuilder`]; [`relabel`], [`process`],
//!   [`relabel_steps`].
//! - `populate`: [`Populator`], Prometheus' `PopulateLabels` for a scrape job's targets:
//!   [`Populator::populate`] (discovered and final labels), [`Populator::scrape_labels`] (final
//!   labels only, the hot path), [`Populator::discovered_labels`] (recomputed on demand).
//! - `gofmt`: Go's `%q` and case mapping, which messages and `lowercase`/`uppercase` depend on.
//!
//! ```
//! use promsd::relabel::{relabel, RelabelConfig};
//! use promsd_actors::model::LabelSet;
//!
//! let rules: Vec<RelabelConfig> = serde_yaml::from_str(r#"
//! - source_labels: [__meta_kubernetes_namespace]
//!   target_label: namespace
//! - action: labeldrop
//!   regex: __meta_.*
//! "#).unwrap();
//! let target = LabelSet::from_pairs([("__address__", "10.0.0.1:9100"),
//!                                    ("__meta_kubernetes_namespace", "web")]);
//! let out = relabel(&rules, &target).unwrap();
//! assert_eq!(out.get("namespace"), Some("web"));
//! assert_eq!(out.get("__meta_kubernetes_namespace"), None);
//! ```

mod apply;
mod config;
mod gofmt;
pub use gofmt::quote as gofmt_quote;
mod populate;
mod re2;
mod regexp;

pub use apply::{process, relabel, relabel_steps, Dropped, LabelBuilder, Step};
pub(crate) use config::Unvalidated;
pub use config::{Action, NameValidation, RelabelConfig};
pub use populate::{
    group_error_message, parse_go_duration, prefetch_ahead, NotScraped, PopulatedTarget, Populator,
    ScrapeParams,
};
pub use re2::SyntaxError;
pub use regexp::Regexp;

#[cfg(test)]
mod tests;
