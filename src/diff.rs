//! `promsd diff OLD.yml NEW.yml`: what a config change does to the targets, before it ships.
//!
//! Both configs' jobs run through ONE engine (a discovery config identical in both is one
//! provider, run once), until every provider has delivered its first state (as `check
//! service-discovery`); each side is then populated and relabeled with its own rules and the
//! kept targets are compared per job:
//! - a target is identified by its job and scrape URL (`__scheme__`, `__address__`,
//!   `__metrics_path__`, `__param_*`); where several kept targets of a job share one URL they
//!   are matched by their full label sets;
//! - `added` (kept in NEW only), `removed` (kept in OLD only), `changed` (kept in both, final
//!   labels differ), `unchanged` (a count); a job in one config only has all its targets added
//!   or removed;
//! - a target added or removed because the other side's relabeling drops it says which rule.
//!
//! Exit status as `diff`: 0 when nothing differs, 1 when something does, 2 on an error.
//!
//! The daemon's `POST /api/v1/diff` ([`diff_live`]) makes the same comparison of a candidate
//! with the running config, the running side being the daemon's live targets: only the
//! candidate's new discovery configs run.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use promsd_actors::{DiscoveryConfig, LabelSet, TargetGroup};
use serde::Serialize;

use crate::config::Config;
use crate::relabel::{NotScraped, Populator};

/// One side's outcome for one job: kept targets (discovered and final labels) and dropped
/// ones with the reason.
#[derive(Default)]
struct Side {
    kept: Vec<(LabelSet, LabelSet)>,
    dropped: Vec<(LabelSet, String)>,
}

/// A job's differences.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct JobDiff {
    pub added: Vec<LabelSet>,
    pub removed: Vec<LabelSet>,
    pub changed: Vec<Changed>,
    pub unchanged: usize,
    /// Why a target was added or removed, where the other side's relabeling explains it:
    /// (final labels, reason). Text output only.
    #[serde(skip)]
    pub reasons: Vec<(LabelSet, String)>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Changed {
    pub before: LabelSet,
    pub after: LabelSet,
}

impl JobDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Every compared job's differences.
#[derive(Debug, Default, Serialize)]
pub struct Diff {
    pub jobs: BTreeMap<String, JobDiff>,
}

/// A kept target's identity within its job: its scrape URL.
fn identity(labels: &LabelSet) -> String {
    let mut id = String::new();
    for (name, value) in labels.iter() {
        if matches!(name, "__scheme__" | "__address__" | "__metrics_path__")
            || name.starts_with("__param_")
        {
            id.push_str(name);
            id.push('\u{1}');
            id.push_str(value);
            id.push('\u{2}');
        }
    }
    id
}

/// One side of `job`: `groups` (the job's discovered groups, in the order of its discovery
/// configs) populated and relabeled with `config`'s rules.
fn side<'a>(config: &Config, job: &str, groups: impl IntoIterator<Item = &'a TargetGroup>) -> Side {
    let mut out = Side::default();
    let Some(scrape) = config.scrape_config(job) else {
        return out;
    };
    let populator = Populator::new(&crate::plan::scrape_params(scrape));
    for group in groups {
        for t in crate::plan::populate_group(&populator, group) {
            match t.result {
                Ok(labels) => out.kept.push((t.discovered, labels)),
                Err(reason @ NotScraped::Dropped(_)) => out.dropped.push((
                    t.discovered,
                    crate::plan::not_scraped_reason(scrape.relabel_configs(), &reason),
                )),
                Err(_) => {}
            }
        }
    }
    out
}

fn compare(old: Side, new: Side) -> JobDiff {
    let mut diff = JobDiff::default();
    let by_url = |side: &Side| {
        let mut map: BTreeMap<String, Vec<(LabelSet, LabelSet)>> = BTreeMap::new();
        for (discovered, labels) in &side.kept {
            map.entry(identity(labels))
                .or_default()
                .push((discovered.clone(), labels.clone()));
        }
        map
    };
    let (old_map, mut new_map) = (by_url(&old), by_url(&new));
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for (url, mut before) in old_map {
        let mut after = new_map.remove(&url).unwrap_or_default();
        // Equal label sets first.
        before.retain(|(_, b)| match after.iter().position(|(_, a)| a == b) {
            Some(i) => {
                after.remove(i);
                diff.unchanged += 1;
                false
            }
            None => true,
        });
        if before.len() == 1 && after.len() == 1 {
            diff.changed.push(Changed {
                before: before.remove(0).1,
                after: after.remove(0).1,
            });
            continue;
        }
        removed.extend(before);
        added.extend(after);
    }
    added.extend(new_map.into_values().flatten());
    // A target kept on one side and dropped by the other side's rules: say which rule (the
    // first target dropped with its address).
    fn dropped_by_address(side: &Side) -> std::collections::HashMap<&str, &str> {
        let mut by_address = std::collections::HashMap::new();
        for (discovered, reason) in &side.dropped {
            if let Some(address) = discovered.get("__address__") {
                by_address.entry(address).or_insert(reason.as_str());
            }
        }
        by_address
    }
    let (dropped_old, dropped_new) = (dropped_by_address(&old), dropped_by_address(&new));
    let explain =
        |discovered: &LabelSet, dropped: &std::collections::HashMap<&str, &str>, side: &str| {
            discovered
                .get("__address__")
                .and_then(|address| dropped.get(address))
                .map(|reason| format!("{reason} in {side}"))
        };
    for (discovered, labels) in removed {
        if let Some(reason) = explain(&discovered, &dropped_new, "NEW") {
            diff.reasons.push((labels.clone(), reason));
        }
        diff.removed.push(labels);
    }
    for (discovered, labels) in added {
        if let Some(reason) = explain(&discovered, &dropped_old, "OLD") {
            diff.reasons.push((labels.clone(), reason));
        }
        diff.added.push(labels);
    }
    diff
}

/// The jobs of either config, those in `only` (all when empty), in name order.
fn compared_jobs(old: &Config, new: &Config, only: &[String]) -> Vec<String> {
    let mut jobs: Vec<String> = old
        .scrape_configs
        .iter()
        .chain(&new.scrape_configs)
        .map(|s| s.job_name().to_owned())
        .filter(|j| only.is_empty() || only.contains(j))
        .collect();
    jobs.sort();
    jobs.dedup();
    jobs
}

/// Runs both configs' discovery and compares the jobs named in `only` (all when empty).
pub fn diff_configs(
    old: &Config,
    new: &Config,
    only: &[String],
    timeout: std::time::Duration,
) -> Diff {
    let jobs = compared_jobs(old, new, only);
    let mut engine: BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>> = BTreeMap::new();
    for job in &jobs {
        for (prefix, config) in [("old/", old), ("new/", new)] {
            if let Some(scrape) = config.scrape_config(job) {
                engine.insert(format!("{prefix}{job}"), scrape.discovery.clone());
            }
        }
    }
    let snapshot = crate::plan::discover_jobs(engine, timeout);
    let mut out = Diff::default();
    for job in jobs {
        let groups = |engine_job: String| {
            snapshot
                .job(&engine_job)
                .into_iter()
                .flat_map(|j| j.groups().map(|(_, g)| &**g))
        };
        let before = side(old, &job, groups(format!("old/{job}")));
        let after = side(new, &job, groups(format!("new/{job}")));
        out.jobs.insert(job, compare(before, after));
    }
    out
}

/// One provider of a job in the running daemon: its mechanism and what it discovered.
pub struct LiveProvider {
    pub mechanism: &'static str,
    pub groups: Vec<Arc<TargetGroup>>,
}

/// What the running daemon discovered: job → its providers, in the order of the job's
/// discovery configs (identical configs once, those that failed to start left out), as the
/// engine lists them.
pub type Live = BTreeMap<String, Vec<LiveProvider>>;

type Key = (&'static str, String);

/// A job's discovery configs as the engine runs them: identical configs once, in order.
fn distinct(configs: &[Arc<dyn DiscoveryConfig>]) -> Vec<(Key, &Arc<dyn DiscoveryConfig>)> {
    let mut out: Vec<(Key, &Arc<dyn DiscoveryConfig>)> = Vec::new();
    for config in configs {
        let key = (config.mechanism(), config.identity());
        if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, config));
        }
    }
    out
}

/// What each of the running config's discovery configs found, by identity. The engine lists a
/// job's providers in the order of its configs, without those that failed to start: they are
/// paired per mechanism, only where the counts agree (an unpaired config is discovered anew).
fn live_by_identity(
    running: &Config,
    live: &Live,
) -> std::collections::HashMap<Key, Vec<Arc<TargetGroup>>> {
    let mut found = std::collections::HashMap::new();
    for scrape in &running.scrape_configs {
        let Some(providers) = live.get(scrape.job_name()) else {
            continue;
        };
        let configs = distinct(&scrape.discovery);
        let mut mechanisms: Vec<&'static str> = configs.iter().map(|((m, _), _)| *m).collect();
        mechanisms.sort_unstable();
        mechanisms.dedup();
        for mechanism in mechanisms {
            let keys: Vec<&Key> = configs
                .iter()
                .map(|(k, _)| k)
                .filter(|k| k.0 == mechanism)
                .collect();
            let ours: Vec<&LiveProvider> = providers
                .iter()
                .filter(|p| p.mechanism == mechanism)
                .collect();
            if keys.len() != ours.len() {
                continue;
            }
            for (key, provider) in keys.into_iter().zip(ours) {
                found
                    .entry(key.clone())
                    .or_insert_with(|| provider.groups.clone());
            }
        }
    }
    found
}

/// Compares a `candidate` config with the `running` one against the running daemon's `live`
/// targets: the running side is what the daemon discovered, relabeled with the running rules;
/// a candidate discovery config identical to one the running config has is not run again (its
/// live groups are reused); only new ones run, once, through one engine, until each delivered
/// or `timeout` passed. Jobs as [`diff_configs`]: those in `only`, all when empty.
pub fn diff_live(
    running: &Config,
    live: &Live,
    candidate: &Config,
    only: &[String],
    timeout: std::time::Duration,
) -> Diff {
    let jobs = compared_jobs(running, candidate, only);
    let found = live_by_identity(running, live);
    // Each new discovery config is its own engine job (`i/job`), so that its groups are known
    // per config; identical ones across jobs are still one provider.
    let mut engine: BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>> = BTreeMap::new();
    for job in &jobs {
        if let Some(scrape) = candidate.scrape_config(job) {
            for (i, (key, config)) in distinct(&scrape.discovery).into_iter().enumerate() {
                if !found.contains_key(&key) {
                    engine.insert(format!("{i}/{job}"), vec![config.clone()]);
                }
            }
        }
    }
    let snapshot = if engine.is_empty() {
        Arc::default()
    } else {
        crate::plan::discover_jobs(engine, timeout)
    };
    let mut out = Diff::default();
    for job in jobs {
        let before: Vec<Arc<TargetGroup>> = live
            .get(&job)
            .into_iter()
            .flatten()
            .flat_map(|p| p.groups.iter().cloned())
            .collect();
        let mut after: Vec<Arc<TargetGroup>> = Vec::new();
        if let Some(scrape) = candidate.scrape_config(&job) {
            for (i, (key, _)) in distinct(&scrape.discovery).into_iter().enumerate() {
                match found.get(&key) {
                    Some(groups) => after.extend(groups.iter().cloned()),
                    None => after.extend(
                        snapshot
                            .job(&format!("{i}/{job}"))
                            .into_iter()
                            .flat_map(|j| j.groups().map(|(_, g)| g.clone())),
                    ),
                }
            }
        }
        let before = side(running, &job, before.iter().map(|g| &**g));
        let after = side(candidate, &job, after.iter().map(|g| &**g));
        out.jobs.insert(job, compare(before, after));
    }
    out
}

/// The JSON report (`--format json` and `POST /api/v1/diff`).
pub fn render_json(diff: &Diff, out: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, diff).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// A target in the text report: its address and its visible labels (internal `__` labels
/// are in the JSON report).
fn braces(labels: &LabelSet) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .filter(|(n, _)| !n.starts_with("__") || *n == "__address__")
        .map(|(n, v)| format!("{n}={}", crate::relabel::gofmt_quote(v)))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// The text report: per job its counts, then its targets.
pub fn render_text(diff: &Diff, out: &mut impl Write) -> std::io::Result<()> {
    for (job, d) in &diff.jobs {
        writeln!(
            out,
            "job {job}: {} added, {} removed, {} changed, {} unchanged",
            d.added.len(),
            d.removed.len(),
            d.changed.len(),
            d.unchanged
        )?;
        let mut reasons: std::collections::HashMap<&LabelSet, &str> =
            std::collections::HashMap::new();
        for (labels, reason) in &d.reasons {
            reasons.entry(labels).or_insert(reason);
        }
        let reason = |labels: &LabelSet| {
            reasons
                .get(labels)
                .map(|r| format!("\n      ({r})"))
                .unwrap_or_default()
        };
        for labels in &d.added {
            writeln!(out, "  + {}{}", braces(labels), reason(labels))?;
        }
        for labels in &d.removed {
            writeln!(out, "  - {}{}", braces(labels), reason(labels))?;
        }
        for c in &d.changed {
            writeln!(
                out,
                "  ~ {}",
                c.before.get("__address__").unwrap_or_default()
            )?;
            let mut changes = Vec::new();
            for (name, value) in c.before.iter() {
                match c.after.get(name) {
                    Some(v) if v == value => {}
                    Some(v) => changes.push(format!(
                        "-{name}={} +{name}={}",
                        crate::relabel::gofmt_quote(value),
                        crate::relabel::gofmt_quote(v)
                    )),
                    None => changes.push(format!("-{name}={}", crate::relabel::gofmt_quote(value))),
                }
            }
            for (name, value) in c.after.iter() {
                if c.before.get(name).is_none() {
                    changes.push(format!("+{name}={}", crate::relabel::gofmt_quote(value)));
                }
            }
            for change in changes {
                writeln!(out, "      {change}")?;
            }
        }
    }
    Ok(())
}

/// `promsd diff`: exit 0 when nothing differs, 1 when something does, 2 on an error.
pub fn run(
    old: &std::path::Path,
    new: &std::path::Path,
    only: &[String],
    json: bool,
    timeout: std::time::Duration,
    out: &mut impl Write,
    err: &mut impl Write,
) -> u8 {
    let load = |path: &std::path::Path| Config::load_file(path);
    let (old, new) = match (load(old), load(new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            let _ = writeln!(err, "Cannot load config {e}");
            return 2;
        }
    };
    for job in only {
        if old.scrape_config(job).is_none() && new.scrape_config(job).is_none() {
            let _ = writeln!(err, "Job {job} is in neither config");
            return 2;
        }
    }
    let diff = diff_configs(&old, &new, only, timeout);
    let written = if json {
        render_json(&diff, out)
    } else {
        render_text(&diff, out)
    };
    if let Err(e) = written {
        let _ = writeln!(err, "cannot write the report: {e}");
        return 2;
    }
    u8::from(diff.jobs.values().any(|d| !d.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn group(source: &str, addresses: &[&str]) -> Arc<TargetGroup> {
        Arc::new(TargetGroup::new(
            source,
            addresses
                .iter()
                .map(|a| LabelSet::from_address(*a))
                .collect(),
            LabelSet::new(),
        ))
    }

    fn provider(mechanism: &'static str, source: &str, addresses: &[&str]) -> LiveProvider {
        LiveProvider {
            mechanism,
            groups: vec![group(source, addresses)],
        }
    }

    fn instances(labels: &[LabelSet]) -> Vec<&str> {
        let mut out: Vec<&str> = labels.iter().filter_map(|l| l.get("instance")).collect();
        out.sort_unstable();
        out
    }

    /// The running side is the live state (not discovered again), a candidate's config
    /// identical to a running one takes that one's live groups (even from another job), and a
    /// job whose live providers cannot be paired with its configs (one failed to start) has
    /// its configs discovered anew.
    #[test]
    fn live_groups_are_paired_with_the_running_configs_by_mechanism_and_order() {
        let running = "scrape_configs:
  - job_name: a
    static_configs: [{targets: ['s:1']}]
    file_sd_configs: [{files: [/nonexistent/one.json]}, {files: [/nonexistent/two.json]}]
  - job_name: b
    file_sd_configs: [{files: [/nonexistent/three.json]}, {files: [/nonexistent/four.json]}]
";
        let running = Config::load_str(running, Path::new("r.yml"), Path::new("/")).unwrap();
        let live: Live = [
            (
                "a".to_owned(),
                vec![
                    provider("static", "s", &["live-s:1"]),
                    provider("file", "one", &["live-one:1"]),
                    provider("file", "two", &["live-two:1"]),
                ],
            ),
            // One of b's two file SD configs failed to start: neither can be paired.
            ("b".to_owned(), vec![provider("file", "x", &["live-x:1"])]),
        ]
        .into();
        let candidate = "scrape_configs:
  - job_name: a
    file_sd_configs: [{files: [/nonexistent/two.json]}]
  - job_name: c
    file_sd_configs: [{files: [/nonexistent/one.json]}, {files: [/nonexistent/three.json]}]
";
        let candidate = Config::load_str(candidate, Path::new("c.yml"), Path::new("/")).unwrap();
        let diff = diff_live(
            &running,
            &live,
            &candidate,
            &[],
            std::time::Duration::from_secs(20),
        );
        let a = &diff.jobs["a"];
        assert_eq!(instances(&a.removed), ["live-one:1", "live-s:1"]);
        assert_eq!(a.unchanged, 1, "two.json's live target is kept: {a:?}");
        // c: one.json reused from a; three.json discovered anew (a missing file: no targets).
        assert_eq!(instances(&diff.jobs["c"].added), ["live-one:1"]);
        assert_eq!(instances(&diff.jobs["b"].removed), ["live-x:1"]);
    }
}
