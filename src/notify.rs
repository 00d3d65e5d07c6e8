//! Alertmanager discovery: what Prometheus' notifier makes of the `notify` discovery manager's
//! target groups (`notifier/alertmanager.go`, `alertmanagerset.go`, 3.14), so that promsd can
//! serve a Prometheus its Alertmanagers as it serves its scrape targets.
//!
//! Per set of `alerting.alertmanagers` (the engine's job `config-N`, N its index, as Prometheus
//! keys them), per target of each group:
//! - labels: the target's labels, then `__scheme__` = the set's `scheme` and `__alerts_path__` =
//!   `path.Join("/", path_prefix, "/api/<api_version>/alerts")`, then the group's labels that the
//!   target does not have (so a group label may override the two above, as in Prometheus);
//! - the set's `relabel_configs`: a dropped target is listed as dropped with its labels before
//!   relabeling; a kept one whose `__address__` contains `/` discards its WHOLE group (logged),
//!   as `AlertmanagerFromGroup` returns an error for the group;
//! - the URL is `scheme://address/path`; active Alertmanagers are deduplicated by URL within a
//!   set, dropped ones are not.
//!
//! Served by `server::alertmanagers`: Prometheus' `/api/v1/alertmanagers` and an HTTP SD
//! endpoint per set whose groups carry the final labels, `__scheme__` and `__alerts_path__`
//! included, so that a Prometheus consuming it (with no relabeling of its own) sends to exactly
//! these URLs.

use std::sync::{Arc, RwLock};

use actix::prelude::*;
use promsd_actors::{LabelSet, Name, Snapshot, Str, SyncTargets, TargetGroup};

use crate::config::alerting::AlertmanagerConfig;
use crate::relabel::{LabelBuilder, RelabelConfig};

/// The label Prometheus' notifier keeps an Alertmanager's API path in.
pub const ALERTS_PATH_LABEL: &str = "__alerts_path__";

/// One set of `alerting.alertmanagers`, as the notifier needs it.
#[derive(Clone, Debug)]
pub struct AlertmanagerSet {
    /// `config-N`: the engine's job for this set.
    pub key: String,
    pub scheme: String,
    /// `__alerts_path__` before relabeling.
    pub alerts_path: String,
    pub relabel_configs: Vec<RelabelConfig>,
}

impl AlertmanagerSet {
    pub fn new(index: usize, config: &AlertmanagerConfig) -> Self {
        AlertmanagerSet {
            key: format!("config-{index}"),
            scheme: config.scheme.clone(),
            alerts_path: post_path(&config.path_prefix, &config.api_version),
            relabel_configs: config.relabel_configs.clone(),
        }
    }
}

/// Go's `path.Join("/", prefix, "/api/<version>/alerts")`: a clean absolute path.
pub fn post_path(prefix: &str, api_version: &str) -> String {
    let joined = format!("/{prefix}/api/{api_version}/alerts");
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// One Alertmanager, active or dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alertmanager {
    /// `scheme://address/path`, as Go's `url.URL.String` prints it.
    pub url: String,
    /// Labels after relabeling (active) or before it (dropped).
    pub labels: LabelSet,
    /// Labels before relabeling.
    pub discovered: LabelSet,
    /// For a dropped one: the rule that dropped it.
    pub dropped_by: Option<usize>,
    /// For a dropped one: the rule that dropped it, in words.
    pub dropped_because: Option<String>,
}

/// The Alertmanagers of one set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetTargets {
    pub key: String,
    pub active: Vec<Alertmanager>,
    pub dropped: Vec<Alertmanager>,
}

/// The Alertmanagers of every set, in the order of `alerting.alertmanagers`.
#[derive(Clone, Debug, Default)]
pub struct NotifyTargets {
    pub sets: Vec<SetTargets>,
}

fn url_of(labels: &LabelSet) -> String {
    let path = labels.get(ALERTS_PATH_LABEL).unwrap_or("");
    let slash = if !path.is_empty() && !path.starts_with('/') {
        "/"
    } else {
        ""
    };
    format!(
        "{}://{}{slash}{path}",
        labels.get("__scheme__").unwrap_or(""),
        labels.get("__address__").unwrap_or("")
    )
}

/// `AlertmanagerFromGroup`: a group's active and dropped Alertmanagers, or the error that
/// discards the whole group.
pub fn alertmanagers_from_group(
    set: &AlertmanagerSet,
    group: &TargetGroup,
    lb: &mut LabelBuilder,
) -> Result<(Vec<Alertmanager>, Vec<Alertmanager>), String> {
    let (mut active, mut dropped) = (Vec::new(), Vec::new());
    for target in &group.targets {
        lb.reset(target);
        lb.set(&Name::new("__scheme__"), Str::from(set.scheme.as_str()));
        lb.set(
            &Name::new(ALERTS_PATH_LABEL),
            Str::from(set.alerts_path.as_str()),
        );
        for (name, value) in group.labels.pairs() {
            if target.get(name).is_none() {
                lb.set(name, value.clone());
            }
        }
        let discovered = lb.to_label_set();
        match crate::relabel::process(&set.relabel_configs, lb) {
            Err(d) => dropped.push(Alertmanager {
                url: url_of(&discovered),
                labels: discovered.clone(),
                discovered,
                dropped_by: Some(d.rule),
                dropped_because: Some(crate::plan::not_scraped_reason(
                    &set.relabel_configs,
                    &crate::relabel::NotScraped::Dropped(d),
                )),
            }),
            Ok(()) => {
                let labels = lb.to_label_set();
                let address = labels.get("__address__").unwrap_or("");
                if address.contains('/') {
                    return Err(format!("{address:?} is not a valid hostname"));
                }
                active.push(Alertmanager {
                    url: url_of(&labels),
                    labels,
                    discovered,
                    dropped_by: None,
                    dropped_because: None,
                });
            }
        }
    }
    Ok((active, dropped))
}

/// `alertmanagerSet.sync`: every group of the set's job; active ones deduplicated by URL.
pub fn set_targets(set: &AlertmanagerSet, snapshot: &Snapshot) -> SetTargets {
    let mut out = SetTargets {
        key: set.key.clone(),
        ..SetTargets::default()
    };
    let Some(job) = snapshot.job(&set.key) else {
        return out;
    };
    let mut lb = LabelBuilder::new();
    let mut seen = std::collections::HashSet::new();
    for (_, group) in job.groups() {
        match alertmanagers_from_group(set, group, &mut lb) {
            Ok((active, dropped)) => {
                for am in active {
                    if seen.insert(am.url.clone()) {
                        out.active.push(am);
                    }
                }
                out.dropped.extend(dropped);
            }
            Err(error) => {
                tracing::error!(set = %set.key, source = %group.source, %error, "creating discovered Alertmanagers failed");
            }
        }
    }
    out
}

/// A set's active Alertmanagers in HTTP SD's JSON (also file SD's): one group per
/// Alertmanager with its final labels, `__scheme__` and `__alerts_path__` included.
pub fn http_sd_body(set: &SetTargets) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Group<'a> {
        targets: [&'a str; 1],
        labels: std::collections::BTreeMap<&'a str, &'a str>,
    }
    let groups: Vec<Group> = set
        .active
        .iter()
        .map(|am| Group {
            targets: [am.labels.get("__address__").unwrap_or("")],
            labels: am
                .labels
                .iter()
                .filter(|(n, _)| *n != "__address__")
                .collect(),
        })
        .collect();
    serde_json::to_vec(&groups).unwrap_or_else(|_| b"[]".to_vec())
}

/// What the server reads: the sets' configs and their latest Alertmanagers.
#[derive(Clone, Default)]
pub struct NotifyView {
    sets: Arc<RwLock<Arc<Vec<AlertmanagerSet>>>>,
    targets: Arc<RwLock<Arc<NotifyTargets>>>,
    last: Arc<RwLock<Option<Arc<Snapshot>>>>,
    /// `--output.file-sd.dir`: each set is also written as `alertmanagers-N.json`.
    output: Option<Arc<std::path::PathBuf>>,
}

impl NotifyView {
    /// A view that also writes each set's Alertmanagers to `dir/alertmanagers-N.json`
    /// (atomically, when the set changed), for Prometheus' `file_sd_configs`.
    pub fn with_file_sd_output(dir: std::path::PathBuf) -> Self {
        NotifyView {
            output: Some(Arc::new(dir)),
            ..NotifyView::default()
        }
    }

    /// The latest Alertmanagers of every set.
    pub fn targets(&self) -> Arc<NotifyTargets> {
        self.targets.read().expect("poisoned").clone()
    }

    /// The sets' configs (a reload replaces them before the engine sees the new jobs).
    pub fn set_sets(&self, sets: Vec<AlertmanagerSet>) {
        *self.sets.write().expect("poisoned") = Arc::new(sets);
        let last = self.last.read().expect("poisoned").clone();
        if let Some(snapshot) = last {
            self.recompute(&snapshot);
        }
    }

    fn recompute(&self, snapshot: &Snapshot) {
        let sets = self.sets.read().expect("poisoned").clone();
        let targets = Arc::new(NotifyTargets {
            sets: sets.iter().map(|s| set_targets(s, snapshot)).collect(),
        });
        let previous = std::mem::replace(
            &mut *self.targets.write().expect("poisoned"),
            targets.clone(),
        );
        if let Some(dir) = &self.output {
            let dir = dir.clone();
            let changed: Vec<(usize, Vec<u8>)> = targets
                .sets
                .iter()
                .enumerate()
                .filter(|(i, set)| previous.sets.get(*i) != Some(*set))
                .map(|(i, set)| (i, http_sd_body(set)))
                .collect();
            if !changed.is_empty() {
                // Off the actors' thread: a slow disk never holds up discovery.
                tokio::task::spawn_blocking(move || {
                    for (i, body) in changed {
                        let path = dir.join(format!("alertmanagers-{i}.json"));
                        if let Err(error) =
                            crate::server::file_sd_output::write_atomically(&path, &body)
                        {
                            tracing::error!(path = %path.display(), %error, "cannot write Alertmanagers for file SD");
                        }
                    }
                });
            }
        }
    }
}

/// Subscribes to the `notify` manager and keeps [`NotifyView`] current. Alertmanagers are few:
/// each change recomputes every set.
pub struct NotifySubscriber(pub NotifyView);

impl Actor for NotifySubscriber {
    type Context = Context<Self>;
}

impl Handler<SyncTargets> for NotifySubscriber {
    type Result = ();

    fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) {
        self.0.recompute(&msg.snapshot);
        *self.0.last.write().expect("poisoned") = Some(msg.snapshot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(yaml: &str) -> AlertmanagerSet {
        let config: crate::config::Config = crate::config::Config::load_str(
            yaml,
            std::path::Path::new("p.yml"),
            std::path::Path::new("."),
        )
        .unwrap();
        AlertmanagerSet::new(0, &config.alerting.alertmanagers[0])
    }

    fn group(targets: &[&[(&str, &str)]], labels: &[(&str, &str)]) -> TargetGroup {
        let ls = |pairs: &[(&str, &str)]| {
            let mut lb = LabelBuilder::new();
            for (n, v) in pairs {
                lb.set(&Name::new(n), Str::from(*v));
            }
            lb.to_label_set()
        };
        TargetGroup::new("g", targets.iter().map(|t| ls(t)).collect(), ls(labels))
    }

    #[test]
    fn post_path_is_go_path_join() {
        assert_eq!(post_path("", "v2"), "/api/v2/alerts");
        assert_eq!(post_path("/prefix/", "v2"), "/prefix/api/v2/alerts");
        assert_eq!(post_path("a//b/../c", "v2"), "/a/c/api/v2/alerts");
    }

    #[test]
    fn labels_urls_drops_and_group_errors_as_the_notifier() {
        let s = set("alerting:\n  alertmanagers:\n    - scheme: https\n      path_prefix: /am\n      static_configs: [{targets: [a:9093]}]\n      relabel_configs:\n        - {source_labels: [__address__], regex: 'drop:.*', action: drop}\n");
        let mut lb = LabelBuilder::new();
        let (active, dropped) = alertmanagers_from_group(
            &s,
            &group(
                &[
                    &[("__address__", "a:9093")],
                    &[("__address__", "drop:9093")],
                ],
                &[("env", "prod")],
            ),
            &mut lb,
        )
        .unwrap();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].url, "https://a:9093/am/api/v2/alerts");
        assert_eq!(active[0].labels.get("env"), Some("prod"));
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].url, "https://drop:9093/am/api/v2/alerts");
        assert_eq!(dropped[0].dropped_by, Some(0));
        // A group label overrides the configured scheme (set before group labels).
        let (active, _) = alertmanagers_from_group(
            &s,
            &group(&[&[("__address__", "b:1")]], &[("__scheme__", "http")]),
            &mut lb,
        )
        .unwrap();
        assert_eq!(active[0].url, "http://b:1/am/api/v2/alerts");
        // A kept address with a slash discards the whole group.
        assert!(alertmanagers_from_group(
            &s,
            &group(&[&[("__address__", "a:1")], &[("__address__", "x/y")]], &[]),
            &mut lb,
        )
        .is_err());
    }
}
