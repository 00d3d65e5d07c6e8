//! From a loaded `prometheus.yml` to what runs: the engine's jobs (discovery configs) and, per
//! job, how its discovered groups become targets (population and relabeling). Shared by
//! `promsd run` and `promsd check service-discovery`, so both compute targets the same way.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use promsd_actors::{LabelSet, Str, TargetGroup};

use crate::config::{Config, ScrapeConfig};
use crate::daemon::Plan;
use crate::relabel::{
    relabel_steps, LabelBuilder, NotScraped, PopulatedTarget, Populator, RelabelConfig,
    ScrapeParams,
};
use crate::server::status_api::RelabelStep;
use crate::server::{JobPipeline, RunningConfig, TargetOutcome};
use crate::shard::target_identity;

/// What target population needs from a scrape job, global defaults applied.
pub fn scrape_params(scrape: &ScrapeConfig) -> ScrapeParams {
    ScrapeParams {
        job_name: scrape.job_name().to_owned(),
        scheme: scrape.scheme().to_owned(),
        metrics_path: scrape.metrics_path().to_owned(),
        scrape_interval: scrape.scrape_interval(),
        scrape_timeout: scrape.scrape_timeout(),
        params: scrape.params().clone(),
        convert_classic_histograms_to_nhcb: scrape
            .convert_classic_histograms_to_nhcb
            .unwrap_or(false),
        always_scrape_classic_histograms: scrape.always_scrape_classic_histograms.unwrap_or(false),
        scrape_native_histograms: scrape.scrape_native_histograms.unwrap_or(false),
        relabel_configs: scrape.relabel_configs().to_vec(),
    }
}

/// Populates every target of `group` for `job`.
pub fn populate_group(populator: &Populator, group: &TargetGroup) -> Vec<PopulatedTarget> {
    populator.targets_from_group(group, &mut LabelBuilder::new())
}

/// The pipeline step of one job: population, relabeling and the shard identity of kept targets.
pub fn job_pipeline(scrape: &ScrapeConfig) -> JobPipeline {
    let params = scrape_params(scrape);
    let fingerprint = format!("{params:?}");
    let populator = Populator::new(&params);
    let job: Str = Str::from(scrape.job_name());
    JobPipeline {
        populate: Arc::new(move |group: &TargetGroup| {
            populate_group(&populator, group)
                .into_iter()
                .map(|t| {
                    let identity = t.labels().map_or(0, |l| target_identity(&job, l));
                    TargetOutcome {
                        discovered: t.discovered,
                        dropped_because: t
                            .result
                            .as_ref()
                            .err()
                            .map(|reason| not_scraped_reason(populator.rules(), reason)),
                        labels: t.result.ok(),
                        identity,
                    }
                })
                .collect()
        }),
        fingerprint,
    }
}

/// What the server may ask about the running config: its masked YAML and relabel traces.
struct LoadedConfig {
    yaml: String,
    rules: HashMap<String, Vec<RelabelConfig>>,
}

impl RunningConfig for LoadedConfig {
    fn masked_yaml(&self) -> String {
        self.yaml.clone()
    }

    fn relabel_steps(&self, job: &str, discovered: &LabelSet) -> Option<Vec<RelabelStep>> {
        let rules = self.rules.get(job)?;
        Some(
            relabel_steps(rules, discovered)
                .into_iter()
                .map(|step| RelabelStep {
                    rule: serde_json::to_value(&rules[step.rule]).unwrap_or_default(),
                    keep: step.labels.is_some(),
                    output: step.labels.unwrap_or_default(),
                })
                .collect(),
        )
    }
}

/// Why a target is not scraped, naming the rule that dropped it.
pub fn not_scraped_reason(rules: &[RelabelConfig], reason: &NotScraped) -> String {
    match reason {
        NotScraped::Dropped(d) => match rules.get(d.rule) {
            Some(rule) => format!(
                "dropped by relabel rule {}: action {}, source_labels [{}], regex {}",
                d.rule,
                rule.action().as_str(),
                rule.source_labels().join(", "),
                rule.regex()
            ),
            None => d.to_string(),
        },
        NotScraped::Invalid(message) => message.clone(),
    }
}

/// Plans a config: every scrape job with its discovery and its pipeline.
pub fn plan(config: &Config) -> Plan {
    let pipelines: HashMap<Str, JobPipeline> = config
        .scrape_configs
        .iter()
        .map(|s| (Str::from(s.job_name()), job_pipeline(s)))
        .collect();
    let running = LoadedConfig {
        yaml: config.to_yaml(),
        rules: config
            .scrape_configs
            .iter()
            .map(|s| (s.job_name().to_owned(), s.relabel_configs().to_vec()))
            .collect(),
    };
    Plan {
        jobs: config.discovery_jobs(),
        pipelines,
        running: Some(Arc::new(running)),
    }
}

/// Loads and plans a config file; errors as `promsd check config` prints them.
pub fn plan_file(path: &Path) -> Result<Plan, String> {
    Config::load_file(path)
        .map(|c| plan(&c))
        .map_err(|e| e.to_string())
}

/// Runs one job's discovery through the engine until every provider of the job has delivered
/// its first state, or `timeout` passes; returns the state reached.
pub fn discover_once(
    job: &str,
    configs: Vec<Arc<dyn promsd_actors::DiscoveryConfig>>,
    timeout: std::time::Duration,
) -> Arc<promsd_actors::Snapshot> {
    use actix::prelude::*;
    use promsd_actors::{
        ApplyConfig, GetSnapshot, ManagerActor, ManagerOptions, Snapshot, Subscribe, SyncTargets,
    };

    /// Hands over the first snapshot in which the job is ready.
    struct FirstReady {
        job: String,
        ready: Option<tokio::sync::oneshot::Sender<Arc<Snapshot>>>,
    }
    impl Actor for FirstReady {
        type Context = Context<Self>;
    }
    impl Handler<SyncTargets> for FirstReady {
        type Result = ();
        fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) {
            if msg.snapshot.job(&self.job).is_some_and(|j| j.is_ready()) {
                if let Some(tx) = self.ready.take() {
                    let _ = tx.send(msg.snapshot);
                }
            }
        }
    }

    let job = job.to_owned();
    actix_rt::System::new().block_on(async move {
        let manager = ManagerActor::new(ManagerOptions {
            interval: std::time::Duration::from_millis(100),
            ..ManagerOptions::default()
        })
        .start();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let waiter = FirstReady {
            job: job.clone(),
            ready: Some(tx),
        }
        .start();
        let _ = manager.send(Subscribe(waiter.clone().recipient())).await;
        let _ = manager
            .send(ApplyConfig {
                jobs: [(job, configs)].into(),
            })
            .await;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(snapshot)) => snapshot,
            // A mechanism that never answers: what was found by the deadline.
            _ => manager.send(GetSnapshot).await.unwrap_or_default(),
        }
    })
}
