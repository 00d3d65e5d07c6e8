//! The library's front door: a `prometheus.yml` loaded into the engine's jobs, and discovered
//! groups turned into each target's final labels exactly as `promsd run` computes them
//! (Prometheus' target population and relabeling). It exposes what the daemon uses
//! (`plan::scrape_params`, `plan::populate_group`, `Config::discovery_jobs`), nothing more.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use promsd_actors::{LabelSet, TargetGroup};
//!
//! let yaml = r#"
//! scrape_configs:
//!   - job_name: node
//!     static_configs: [{targets: ["10.0.0.1:9100"], labels: {env: prod}}]
//!     relabel_configs:
//!       - {source_labels: [env], target_label: environment}
//! "#;
//! let loaded = promsd::embed::load_str(yaml, Path::new("prometheus.yml"), Path::new("."))?;
//! let jobs = loaded.jobs(); // what the engine runs: `Engine::apply(jobs)` or `ApplyConfig { jobs }`
//! assert_eq!(jobs["node"].len(), 1);
//!
//! // A group as the engine reports it, relabeled as the daemon does:
//! let group = TargetGroup::new(
//!     "0",
//!     vec![LabelSet::from_address("10.0.0.1:9100")],
//!     LabelSet::from_pairs([("env", "prod")]),
//! );
//! let targets = loaded.relabel("node", &group).unwrap();
//! let labels = targets[0].labels().unwrap();
//! assert_eq!(labels.get("environment"), Some("prod"));
//! assert_eq!(labels.get("instance"), Some("10.0.0.1:9100"));
//! assert_eq!(labels.get("job"), Some("node"));
//! # Ok(())
//! # }
//! ```
//!
//! With a whole [`Snapshot`] (from `Engine::snapshots`, or a subscriber's `SyncTargets`),
//! [`Loaded::final_targets`] gives every job's kept targets at once.
//!
//! # Getting started
//! - [`actix_server`]: the engine inside an actix-web server.
//! - [`plain_tokio`]: the engine from tokio code, no actors (a watch and a stream).
//! - [`test_harness`]: real discovery driven from a test, waiting on conditions with deadlines.
//!
//! # Cargo features
//! `promsd = { version = "0.1", default-features = false, features = ["sd-file"] }` builds
//! the library with one mechanism (file SD; `static_configs` is always there) and without the
//! daemon's part (feature `daemon`: command line, HTTP server, logging, allocator). Every
//! mechanism is a feature `sd-<folder>` (see `discovery`); a config naming a mechanism left
//! out is an error that says so.

pub mod actix_server;
pub mod plain_tokio;
pub mod test_harness;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use promsd_actors::{DiscoveryConfig, GroupKey, JobTargets, LabelSet, Snapshot, TargetGroup};

use crate::config::{Config, ConfigError};
use crate::plan::{populate_group, scrape_params};
use crate::relabel::{NotScraped, PopulatedTarget, Populator};

/// A loaded `prometheus.yml`: its scrape jobs' discovery configs for the engine and, per job,
/// its population and relabeling.
#[derive(Debug)]
pub struct Loaded {
    config: Config,
    populators: BTreeMap<String, Populator>,
}

/// Reads and checks a `prometheus.yml` (and its `scrape_config_files`) as `promsd check config`
/// does; an error names the file, line and column. Relative paths (file SD files, CA files,
/// ...) resolve against the file's directory.
pub fn load(path: impl AsRef<Path>) -> Result<Loaded, ConfigError> {
    Config::load_file(path).map(Loaded::new)
}

/// [`load`] from text: `file` names it in errors and `dir` resolves its relative paths.
pub fn load_str(text: &str, file: &Path, dir: &Path) -> Result<Loaded, ConfigError> {
    Config::load_str(text, file, dir).map(Loaded::new)
}

impl Loaded {
    /// Prepares every scrape job's population (defaults and relabel rules) once.
    pub fn new(config: Config) -> Loaded {
        let populators = config
            .scrape_configs
            .iter()
            .map(|s| (s.job_name().to_owned(), Populator::new(&scrape_params(s))))
            .collect();
        Loaded { config, populators }
    }

    /// The config as loaded (global defaults applied).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every scrape job with its discovery configs: the engine's input (`Engine::apply`,
    /// `ApplyConfig`). A job with no discovery configs has an empty list. Applying the jobs of
    /// a reloaded file keeps the providers whose config did not change.
    pub fn jobs(&self) -> BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>> {
        self.config.discovery_jobs()
    }

    /// The job's population and relabeling, for finer control than [`relabel`](Self::relabel)
    /// (e.g. `Populator::scrape_labels_of_group`, which skips the discovered labels).
    pub fn populator(&self, job: &str) -> Option<&Populator> {
        self.populators.get(job)
    }

    /// Every target of a group discovered for `job`, in order: its discovered labels (the
    /// target's own, its group's, the job's defaults) and its final labels, or why it is not
    /// scraped (dropped by a rule, or invalid after relabeling). `None` for an unknown job.
    pub fn relabel(&self, job: &str, group: &TargetGroup) -> Option<Vec<PopulatedTarget>> {
        Some(populate_group(self.populators.get(job)?, group))
    }

    /// Every target of one job of a snapshot after relabeling, group by group (providers in
    /// config order, sources in order), dropped targets included.
    pub fn job_targets(&self, job: &str, targets: &JobTargets) -> Option<Vec<Target>> {
        let populator = self.populators.get(job)?;
        let mut out = Vec::with_capacity(targets.target_count());
        for (key, group) in targets.groups() {
            out.extend(
                populate_group(populator, group)
                    .into_iter()
                    .map(|t| Target {
                        group: key.clone(),
                        discovered: t.discovered,
                        result: t.result,
                    }),
            );
        }
        Some(out)
    }

    /// The final labels of every kept target of every job of this config found in the
    /// snapshot: what `promsd run` serves at `/api/v1/sd/<job>` (there in shard order, here
    /// group by group). Jobs of the snapshot that this config does not know are left out.
    pub fn final_targets(&self, snapshot: &Snapshot) -> BTreeMap<String, Vec<LabelSet>> {
        snapshot
            .jobs()
            .filter_map(|(job, targets)| {
                let kept = self
                    .job_targets(job, targets)?
                    .into_iter()
                    .filter_map(|t| t.result.ok())
                    .collect();
                Some((job.to_string(), kept))
            })
            .collect()
    }
}

/// One discovered target of a job after population and relabeling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The group it came from: the provider and the group's source.
    pub group: GroupKey,
    /// Its labels before relabeling: the target's own, its group's, the job's defaults.
    pub discovered: LabelSet,
    /// Its final labels, or why it is not scraped.
    pub result: Result<LabelSet, NotScraped>,
}

impl Target {
    /// The final labels, if the target is scraped.
    pub fn labels(&self) -> Option<&LabelSet> {
        self.result.as_ref().ok()
    }
}
