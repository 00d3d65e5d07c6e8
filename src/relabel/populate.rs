//! Target population, exactly as Prometheus 3.x's `scrape.PopulateLabels`: the labels a target
//! is discovered with (its own labels over its group's, then the scrape job's defaults where not
//! already set), relabeling, and the checks that decide whether a target can be scraped.
//!
//! What Prometheus 3.x does here, and so do we:
//! - a label with an empty value is no label (a target's empty label still hides its group's);
//! - defaults: `job`, `__scrape_interval__`, `__scrape_timeout__`, `__metrics_path__`,
//!   `__scheme__`, the three native-histogram switches, and `__param_<name>` (first value) for
//!   each URL parameter, each only where not already set;
//! - after relabeling: `__address__` must be set ("no address") and contain no `/`; no default
//!   port is added (2.x added `:80`/`:443`); interval and timeout must parse, be non-zero and
//!   timeout ≤ interval; the histogram switches must parse as Go booleans;
//! - `__meta_*` labels are removed; other `__` labels stay (the scraper uses them);
//!   `instance` defaults to `__address__`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use promsd_actors::model::{intern, LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};

use std::cmp::Ordering;

use super::apply::{compare_bytes, compare_names, process, Dropped, LabelBuilder};
use super::config::RelabelConfig;
use super::gofmt::quote;
use crate::common::Duration;

pub const JOB_LABEL: &str = "job";
pub const INSTANCE_LABEL: &str = "instance";
pub const SCHEME_LABEL: &str = "__scheme__";
pub const METRICS_PATH_LABEL: &str = "__metrics_path__";
pub const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
pub const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
pub const PARAM_LABEL_PREFIX: &str = "__param_";
pub const META_LABEL_PREFIX: &str = "__meta_";
pub const CONVERT_CLASSIC_HISTOGRAMS_TO_NHCB_LABEL: &str = "__convert_classic_histograms_to_nhcb__";
pub const ALWAYS_SCRAPE_CLASSIC_HISTOGRAMS_LABEL: &str = "__always_scrape_classic_histograms__";
pub const SCRAPE_NATIVE_HISTOGRAMS_LABEL: &str = "__scrape_native_histograms__";

/// What target population needs from a scrape job (the config loader maps `scrape_configs`
/// entries, with global defaults applied, onto this).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScrapeParams {
    pub job_name: String,
    pub scheme: String,
    pub metrics_path: String,
    pub scrape_interval: Duration,
    pub scrape_timeout: Duration,
    /// URL parameters (`params`): name → values; the first value becomes `__param_<name>`.
    pub params: BTreeMap<String, Vec<String>>,
    pub convert_classic_histograms_to_nhcb: bool,
    pub always_scrape_classic_histograms: bool,
    pub scrape_native_histograms: bool,
    pub relabel_configs: Vec<RelabelConfig>,
}

impl ScrapeParams {
    /// A job with Prometheus' defaults: `http`, `/metrics`, every 1m with a 10s timeout.
    pub fn new(job_name: impl Into<String>) -> Self {
        ScrapeParams {
            job_name: job_name.into(),
            scheme: "http".into(),
            metrics_path: "/metrics".into(),
            scrape_interval: Duration::from_secs(60),
            scrape_timeout: Duration::from_secs(10),
            params: BTreeMap::new(),
            convert_classic_histograms_to_nhcb: false,
            always_scrape_classic_histograms: false,
            scrape_native_histograms: false,
            relabel_configs: Vec::new(),
        }
    }
}

/// Why a discovered target is not scraped.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NotScraped {
    /// A rule dropped it (`keep`, `drop`, `keepequal`, `dropequal`).
    Dropped(Dropped),
    /// It failed a check after relabeling; the message is Prometheus'.
    Invalid(String),
}

impl fmt::Display for NotScraped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotScraped::Dropped(d) => d.fmt(f),
            NotScraped::Invalid(msg) => f.write_str(msg),
        }
    }
}

/// One discovered target after population.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PopulatedTarget {
    /// The labels before relabeling (target, group and job defaults).
    pub discovered: LabelSet,
    /// The labels to scrape with, or why there are none.
    pub result: Result<LabelSet, NotScraped>,
}

impl PopulatedTarget {
    /// The final labels, if the target is scraped.
    pub fn labels(&self) -> Option<&LabelSet> {
        self.result.as_ref().ok()
    }
}

/// A job's population settings, prepared once: shared default names and values, the rules.
#[derive(Clone, Debug)]
pub struct Populator {
    /// The defaults and the URL parameters, sorted by name.
    sorted_defaults: Vec<(Name, Str)>,
    /// The default interval and timeout, parsed (nanoseconds), to skip parsing them again.
    default_interval: (Str, u64),
    default_timeout: (Str, u64),
    rules: Arc<[RelabelConfig]>,
    names: Names,
}

/// Interned names of the labels population reads.
#[derive(Clone, Debug)]
struct Names {
    address: Name,
    instance: Name,
    interval: Name,
    timeout: Name,
    switches: [(Name, &'static str); 3],
}

impl Populator {
    pub fn new(params: &ScrapeParams) -> Self {
        let go_bool = |b: bool| intern(if b { "true" } else { "false" });
        let mut defaults = vec![
            (Name::new(JOB_LABEL), Str::from(params.job_name.as_str())),
            (
                Name::new(SCRAPE_INTERVAL_LABEL),
                intern(&params.scrape_interval.to_string()),
            ),
            (
                Name::new(SCRAPE_TIMEOUT_LABEL),
                intern(&params.scrape_timeout.to_string()),
            ),
            (
                Name::new(METRICS_PATH_LABEL),
                Str::from(params.metrics_path.as_str()),
            ),
            (Name::new(SCHEME_LABEL), Str::from(params.scheme.as_str())),
            (
                Name::new(CONVERT_CLASSIC_HISTOGRAMS_TO_NHCB_LABEL),
                go_bool(params.convert_classic_histograms_to_nhcb),
            ),
            (
                Name::new(ALWAYS_SCRAPE_CLASSIC_HISTOGRAMS_LABEL),
                go_bool(params.always_scrape_classic_histograms),
            ),
            (
                Name::new(SCRAPE_NATIVE_HISTOGRAMS_LABEL),
                go_bool(params.scrape_native_histograms),
            ),
        ];
        for (name, values) in &params.params {
            if let Some(first) = values.first() {
                defaults.push((
                    Name::new(&format!("{PARAM_LABEL_PREFIX}{name}")),
                    Str::from(first.as_str()),
                ));
            }
        }
        defaults.sort_by(|a, b| compare_bytes(a.0.as_bytes(), b.0.as_bytes()));
        let parsed = |name: &str| -> (Str, u64) {
            let value = defaults
                .iter()
                .find(|(n, _)| &**n == name)
                .map(|(_, v)| v.clone())
                .expect("a default");
            let ns = parse_go_duration(&value).unwrap_or(0);
            (value, ns)
        };
        Populator {
            default_interval: parsed(SCRAPE_INTERVAL_LABEL),
            default_timeout: parsed(SCRAPE_TIMEOUT_LABEL),
            sorted_defaults: defaults,
            rules: params.relabel_configs.clone().into(),
            names: Names {
                address: Name::new(ADDRESS_LABEL),
                instance: Name::new(INSTANCE_LABEL),
                interval: Name::new(SCRAPE_INTERVAL_LABEL),
                timeout: Name::new(SCRAPE_TIMEOUT_LABEL),
                switches: [
                    (
                        Name::new(CONVERT_CLASSIC_HISTOGRAMS_TO_NHCB_LABEL),
                        "convert classic histograms to nhcb",
                    ),
                    (
                        Name::new(ALWAYS_SCRAPE_CLASSIC_HISTOGRAMS_LABEL),
                        "always scrape classic histograms",
                    ),
                    (
                        Name::new(SCRAPE_NATIVE_HISTOGRAMS_LABEL),
                        "scrape native histograms",
                    ),
                ],
            },
        }
    }

    pub fn rules(&self) -> &[RelabelConfig] {
        &self.rules
    }

    /// Prometheus' `PopulateDiscoveredLabels`: fills `lb` with the labels before relabeling.
    ///
    /// The target's labels over the group's (a target's empty label still hides the group's),
    /// then the job's defaults where that left no value: two merges of sorted lists.
    pub fn discovered_labels(&self, target: &LabelSet, group: &LabelSet, lb: &mut LabelBuilder) {
        let (t, g) = (target.pairs(), group.pairs());
        if g.is_empty() {
            lb.reset(target);
        } else {
            lb.clear();
            let (mut i, mut j) = (0, 0);
            while i < t.len() || j < g.len() {
                let order = match (t.get(i), g.get(j)) {
                    (Some(a), Some(b)) => compare_names(&a.0, &b.0),
                    (Some(_), None) => Ordering::Less,
                    _ => Ordering::Greater,
                };
                let (name, value) = match order {
                    Ordering::Less => (&t[i].0, &t[i].1),
                    Ordering::Greater => (&g[j].0, &g[j].1),
                    Ordering::Equal => {
                        j += 1;
                        (&t[i].0, &t[i].1)
                    }
                };
                if order == Ordering::Greater {
                    j += 1;
                } else {
                    i += 1;
                }
                if !value.is_empty() {
                    lb.push_sorted_unchecked(name.clone(), value.clone());
                }
            }
        }
        lb.merge_sorted_absent(&self.sorted_defaults);
    }

    /// Prometheus' `PopulateLabels` for one target of a group.
    pub fn populate(
        &self,
        target: &LabelSet,
        group: &LabelSet,
        lb: &mut LabelBuilder,
    ) -> PopulatedTarget {
        self.discovered_labels(target, group, lb);
        let discovered = lb.to_label_set();
        let result = self.finish(lb);
        PopulatedTarget { discovered, result }
    }

    /// The labels to scrape `target` with, without keeping its discovered labels: the hot path
    /// for a daemon that holds many targets (Prometheus 3.x, too, recomputes discovered labels
    /// only when asked: [`discovered_labels`](Self::discovered_labels) does that).
    pub fn scrape_labels(
        &self,
        target: &LabelSet,
        group: &LabelSet,
        lb: &mut LabelBuilder,
    ) -> Result<LabelSet, NotScraped> {
        self.discovered_labels(target, group, lb);
        self.finish(lb)
    }

    /// Relabels the discovered labels in `lb` and checks the result.
    fn finish(&self, lb: &mut LabelBuilder) -> Result<LabelSet, NotScraped> {
        process(&self.rules, lb).map_err(NotScraped::Dropped)?;
        let invalid = |msg: String| Err(NotScraped::Invalid(msg));
        let names = &self.names;
        let addr = lb.get_name(&names.address);
        if addr.is_empty() {
            return invalid("no address".into());
        }
        if addr.contains('/') {
            return invalid(format!("{} is not a valid hostname", quote(addr)));
        }
        let interval = lb.get_name(&names.interval);
        let known = |default: &(Str, u64), value: &str| {
            std::ptr::eq(default.0.as_ptr(), value.as_ptr()) && default.0.len() == value.len()
        };
        let parsed_interval = if known(&self.default_interval, interval) {
            Ok(self.default_interval.1)
        } else {
            parse_go_duration(interval)
        };
        let interval_ns = match parsed_interval {
            Ok(d) => d,
            Err(e) => return invalid(format!("error parsing scrape interval: {e}")),
        };
        if interval_ns == 0 {
            return invalid("scrape interval cannot be 0".into());
        }
        let timeout = lb.get_name(&names.timeout);
        let parsed_timeout = if known(&self.default_timeout, timeout) {
            Ok(self.default_timeout.1)
        } else {
            parse_go_duration(timeout)
        };
        let timeout_ns = match parsed_timeout {
            Ok(d) => d,
            Err(e) => return invalid(format!("error parsing scrape timeout: {e}")),
        };
        if timeout_ns == 0 {
            return invalid("scrape timeout cannot be 0".into());
        }
        if timeout_ns > interval_ns {
            return invalid(format!(
                "scrape timeout cannot be greater than scrape interval ({} > {})",
                quote(timeout),
                quote(interval)
            ));
        }
        for (name, desc) in &names.switches {
            let v = lb.get_name(name);
            if !v.is_empty() && parse_go_bool(v).is_none() {
                return invalid(format!(
                    "error parsing {desc}: strconv.ParseBool: parsing {}: invalid syntax",
                    quote(v)
                ));
            }
        }
        let addr: Str = lb
            .get_shared(&names.address)
            .cloned()
            .expect("checked above");
        lb.remove_prefixed(META_LABEL_PREFIX);
        if lb.get_name(&names.instance).is_empty() {
            lb.set(&names.instance, addr);
        }
        // Label values are Rust strings, always valid UTF-8: Prometheus' last check holds.
        Ok(lb.take_label_set())
    }

    /// Prometheus' `TargetsFromGroup`: every target of `group`, in order.
    pub fn targets_from_group(
        &self,
        group: &TargetGroup,
        lb: &mut LabelBuilder,
    ) -> Vec<PopulatedTarget> {
        self.each_target(group, lb, |lb| {
            let discovered = lb.to_label_set();
            let result = self.finish(lb);
            PopulatedTarget { discovered, result }
        })
    }

    /// [`targets_from_group`](Self::targets_from_group) without the discovered labels: for
    /// each target of `group`, in order, the labels to scrape it with or why there are none.
    pub fn scrape_labels_of_group(
        &self,
        group: &TargetGroup,
        lb: &mut LabelBuilder,
    ) -> Vec<Result<LabelSet, NotScraped>> {
        self.each_target(group, lb, |lb| self.finish(lb))
    }

    /// `then` for every target of `group`, in order, with `lb` holding the target's discovered
    /// labels.
    ///
    /// The labels every target starts from (the group's, then the job's defaults) are merged
    /// once per group; each target's own labels are merged into them in one pass. A target
    /// with an empty label (which hides its group's label but not a default) takes
    /// [`Populator::discovered_labels`]' general path.
    fn each_target<T>(
        &self,
        group: &TargetGroup,
        lb: &mut LabelBuilder,
        mut then: impl FnMut(&mut LabelBuilder) -> T,
    ) -> Vec<T> {
        self.discovered_labels(&LabelSet::new(), &group.labels, lb);
        let base: Vec<(Name, Str)> = lb.pairs().to_vec();
        let targets = &group.targets;
        targets
            .iter()
            .enumerate()
            .map(|(i, target)| {
                prefetch_ahead(targets, i);
                if target.pairs().iter().any(|(_, v)| v.is_empty()) {
                    self.discovered_labels(target, &group.labels, lb);
                } else {
                    merge_over(target.pairs(), &base, lb);
                }
                then(lb)
            })
            .collect()
    }
}

/// Asks the CPU for the targets after `targets[i]` while `i` is worked on (loops over many
/// targets call it first thing for each; the group loops here do): each target's labels
/// and values lie apart on the heap, and copying them (reference counts) would otherwise wait
/// for memory at every label (`cargo bench --bench relabel`: ~6% of the time per target).
#[inline]
pub fn prefetch_ahead(targets: &[LabelSet], i: usize) {
    if let Some(next) = targets.get(i + 2) {
        next.prefetch(false);
    }
    if let Some(next) = targets.get(i + 1) {
        next.prefetch(true);
    }
}

/// Fills `lb` with `top` and the pairs of `base` whose names `top` lacks; both sorted by name
/// with unique, non-empty values.
fn merge_over(top: &[(Name, Str)], base: &[(Name, Str)], lb: &mut LabelBuilder) {
    lb.clear();
    let (mut i, mut j) = (0, 0);
    while i < top.len() || j < base.len() {
        let pair = match (top.get(i), base.get(j)) {
            (Some(a), Some(b)) => match compare_names(&a.0, &b.0) {
                std::cmp::Ordering::Less => {
                    i += 1;
                    a
                }
                std::cmp::Ordering::Greater => {
                    j += 1;
                    b
                }
                std::cmp::Ordering::Equal => {
                    i += 1;
                    j += 1;
                    a
                }
            },
            (Some(a), None) => {
                i += 1;
                a
            }
            (None, Some(b)) => {
                j += 1;
                b
            }
            (None, None) => unreachable!(),
        };
        lb.push_sorted_unchecked(pair.0.clone(), pair.1.clone());
    }
}

/// Prometheus' message for a target that failed a check, as `TargetsFromGroup` reports it.
pub fn group_error_message(index: usize, group_source: &str, error: &str) -> String {
    format!("instance {index} in group {group_source}: {error}")
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Prometheus' `model.ParseDuration`, with its messages; nanoseconds.
pub fn parse_go_duration(s: &str) -> Result<u64, String> {
    match s {
        "0" => return Ok(0),
        "" => return Err("empty duration string".into()),
        _ => {}
    }
    const MS: u64 = 1_000_000;
    let unit = |u: &str| -> Option<(u8, u64)> {
        Some(match u {
            "ms" => (7, MS),
            "s" => (6, 1000 * MS),
            "m" => (5, 60_000 * MS),
            "h" => (4, 3_600_000 * MS),
            "d" => (3, 86_400_000 * MS),
            "w" => (2, 7 * 86_400_000 * MS),
            "y" => (1, 365 * 86_400_000 * MS),
            _ => return None,
        })
    };
    let invalid = || format!("not a valid duration string: {}", quote(s));
    let mut rest = s;
    let mut total: u64 = 0;
    let mut last_pos = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let v: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if letters == 0 {
            return Err(invalid());
        }
        let u = &rest[..letters];
        rest = &rest[letters..];
        let Some((pos, mult)) = unit(u) else {
            return Err(format!(
                "unknown unit {} in duration {}",
                quote(u),
                quote(s)
            ));
        };
        if pos <= last_pos {
            return Err(invalid());
        }
        last_pos = pos;
        if v > (1u64 << 63) / mult {
            return Err("duration out of range".into());
        }
        total += v * mult;
        if total > (1u64 << 63) - 1 {
            return Err("duration out of range".into());
        }
    }
    Ok(total)
}

#[cfg(test)]
mod group_tests {
    use super::*;
    use proptest::prelude::*;

    /// Label names that matter to population: the address, defaults, `__meta_*`, `instance`.
    const NAMES: &[&str] = &[
        "__address__",
        "__meta_x",
        "__metrics_path__",
        "__scheme__",
        "__scrape_interval__",
        "__scrape_timeout__",
        "env",
        "instance",
        "job",
    ];
    const VALUES: &[&str] = &["", "a:1", "b/2", "2s", "0", "x"];

    fn label_set() -> impl Strategy<Value = LabelSet> {
        proptest::collection::vec((0..NAMES.len(), 0..VALUES.len()), 0..5).prop_map(|pairs| {
            LabelSet::from_pairs(pairs.into_iter().map(|(n, v)| (NAMES[n], VALUES[v])))
        })
    }

    fn params(rules: usize) -> ScrapeParams {
        let mut p = ScrapeParams::new("job");
        p.params.insert("module".into(), vec!["m".into()]);
        let yaml = [
            "[]",
            "[{source_labels: [env], regex: x, action: drop}]",
            "[{source_labels: [__address__], regex: '(.*):1', target_label: __address__, replacement: '$1:2'}, {target_label: __scrape_interval__, replacement: 1s}]",
        ][rules];
        p.relabel_configs = serde_yaml::from_str(yaml).unwrap();
        p
    }

    proptest! {
        /// The per-group path gives every target exactly what populating it alone gives.
        #[test]
        fn a_group_populates_as_its_targets_one_by_one(
            targets in proptest::collection::vec(label_set(), 0..6),
            group_labels in label_set(),
            rules in 0usize..3,
        ) {
            let populator = Populator::new(&params(rules));
            let group = TargetGroup::new("g", targets, group_labels);
            let mut lb = LabelBuilder::new();
            let one_by_one: Vec<PopulatedTarget> = group
                .targets
                .iter()
                .map(|t| populator.populate(t, &group.labels, &mut LabelBuilder::new()))
                .collect();
            prop_assert_eq!(populator.targets_from_group(&group, &mut lb), one_by_one);
        }
    }
}
