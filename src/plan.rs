//! From a loaded `prometheus.yml` to what runs: the engine's jobs (discovery configs) and, per
//! job, how its discovered groups become targets (population and relabeling). Shared by
//! `promsd run` and `promsd check service-discovery`, so both compute targets the same way.
// The lean library (no `daemon` feature) keeps population; the daemon's plan needs the server.
#![cfg_attr(not(feature = "daemon"), allow(unused_imports))]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use promsd_actors::{LabelSet, Str, TargetGroup};

use crate::config::{Config, ScrapeConfig};
#[cfg(feature = "daemon")]
use crate::daemon::Plan;
use crate::relabel::{
    relabel_steps, LabelBuilder, NotScraped, PopulatedTarget, Populator, RelabelConfig,
    ScrapeParams,
};
#[cfg(feature = "daemon")]
use crate::server::status_api::RelabelStep;
#[cfg(feature = "daemon")]
use crate::server::{JobPipeline, RunningConfig, TargetOutcome};
#[cfg(feature = "daemon")]
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

/// The pipeline step of one job: population, relabeling and the shard identity of kept
/// targets; discovered labels are recomputed when asked, not kept.
#[cfg(feature = "daemon")]
pub fn job_pipeline(scrape: &ScrapeConfig) -> JobPipeline {
    let params = scrape_params(scrape);
    let fingerprint = format!("{params:?}");
    let populator = Arc::new(Populator::new(&params));
    let job: Str = Str::from(scrape.job_name());
    // One message per rule, shared by every target that rule drops.
    let rule_reasons: Vec<Str> = (0..populator.rules().len())
        .map(|rule| {
            let dropped = NotScraped::Dropped(crate::relabel::Dropped { rule });
            Str::from(not_scraped_reason(populator.rules(), &dropped))
        })
        .collect();
    let discover = populator.clone();
    JobPipeline {
        populate: Arc::new(move |group: &TargetGroup| {
            populator
                .scrape_labels_of_group(group, &mut LabelBuilder::new())
                .into_iter()
                .map(|result| match result {
                    Ok(labels) => TargetOutcome::Kept {
                        identity: target_identity(&job, &labels),
                        labels,
                    },
                    Err(reason) => TargetOutcome::Dropped {
                        because: match &reason {
                            NotScraped::Dropped(d) if d.rule < rule_reasons.len() => {
                                rule_reasons[d.rule].clone()
                            }
                            _ => Str::from(not_scraped_reason(populator.rules(), &reason)),
                        },
                    },
                })
                .collect()
        }),
        discover: Arc::new(move |group: &TargetGroup, index: usize| {
            let mut lb = LabelBuilder::new();
            discover.discovered_labels(&group.targets[index], &group.labels, &mut lb);
            lb.to_label_set()
        }),
        fingerprint,
    }
}

/// What the server may ask about the running config: its masked YAML, relabel traces and,
/// where the plan owns it, the config itself (for `POST /api/v1/diff`).
#[cfg(feature = "daemon")]
struct LoadedConfig {
    yaml: String,
    rules: HashMap<String, Vec<RelabelConfig>>,
    config: Option<Arc<Config>>,
}

#[cfg(feature = "daemon")]
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
                    rule: rules[step.rule].to_json(),
                    keep: step.labels.is_some(),
                    output: step.labels.unwrap_or_default(),
                })
                .collect(),
        )
    }

    fn config(&self) -> Option<&Config> {
        self.config.as_deref()
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
#[cfg(feature = "daemon")]
pub fn plan(config: &Config) -> Plan {
    plan_with(config, None)
}

/// [`plan`], the running config keeping `owned` (the same config) for the diff API.
#[cfg(feature = "daemon")]
fn plan_with(config: &Config, owned: Option<Arc<Config>>) -> Plan {
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
        config: owned,
    };
    Plan {
        jobs: config.discovery_jobs(),
        pipelines,
        running: Some(Arc::new(running)),
        notify_jobs: config.alertmanager_discovery(),
        alertmanagers: config
            .alerting
            .alertmanagers
            .iter()
            .enumerate()
            .map(|(i, am)| crate::notify::AlertmanagerSet::new(i, am))
            .collect(),
    }
}

/// Loads and plans a config file; errors as `promsd check config` prints them.
#[cfg(feature = "daemon")]
pub fn plan_file(path: &Path) -> Result<Plan, String> {
    Config::load_file(path)
        .map(|c| {
            let c = Arc::new(c);
            plan_with(&c, Some(c.clone()))
        })
        .map_err(|e| e.to_string())
}

/// Runs one job's discovery through the engine until every provider of the job has delivered
/// its first state, or `timeout` passes; returns the state reached.
pub fn discover_once(
    job: &str,
    configs: Vec<Arc<dyn promsd_actors::DiscoveryConfig>>,
    timeout: std::time::Duration,
) -> Arc<promsd_actors::Snapshot> {
    discover_jobs([(job.to_owned(), configs)].into(), timeout)
}

/// Runs the discovery of several jobs through one engine (identical configs share one
/// provider) until every job's providers have delivered their first state, or `timeout`
/// passes; returns the state reached.
pub fn discover_jobs(
    jobs: std::collections::BTreeMap<String, Vec<Arc<dyn promsd_actors::DiscoveryConfig>>>,
    timeout: std::time::Duration,
) -> Arc<promsd_actors::Snapshot> {
    use actix::prelude::*;
    use promsd_actors::{
        ApplyConfig, GetSnapshot, ManagerActor, ManagerOptions, Snapshot, Subscribe, SyncTargets,
    };

    /// Hands over the first snapshot in which every job is ready.
    struct AllReady {
        jobs: Vec<String>,
        ready: Option<tokio::sync::oneshot::Sender<Arc<Snapshot>>>,
    }
    impl Actor for AllReady {
        type Context = Context<Self>;
    }
    impl Handler<SyncTargets> for AllReady {
        type Result = ();
        fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) {
            let ready = self
                .jobs
                .iter()
                .all(|job| msg.snapshot.job(job).is_some_and(|j| j.is_ready()));
            if ready {
                if let Some(tx) = self.ready.take() {
                    let _ = tx.send(msg.snapshot);
                }
            }
        }
    }

    actix_rt::System::new().block_on(async move {
        let manager = ManagerActor::new(ManagerOptions {
            interval: std::time::Duration::from_millis(100),
            ..ManagerOptions::default()
        })
        .start();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let waiter = AllReady {
            jobs: jobs.keys().cloned().collect(),
            ready: Some(tx),
        }
        .start();
        let _subscription = manager.send(Subscribe(waiter.recipient())).await;
        let _ = manager.send(ApplyConfig { jobs }).await;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(snapshot)) => snapshot,
            // A mechanism that never answers: what was found by the deadline.
            _ => manager.send(GetSnapshot).await.unwrap_or_default(),
        }
    })
}

#[cfg(feature = "daemon")]
#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon keeps only final labels and recomputes discovered ones: both must be what
    /// population computes in one pass (as `check service-discovery` prints them).
    #[test]
    fn the_pipeline_agrees_with_population_and_recomputes_discovered_labels() {
        let text = r#"
scrape_configs:
  - job_name: j
    params: {module: [m]}
    relabel_configs:
      - {source_labels: [env], regex: prod, action: drop}
      - {source_labels: [__address__], regex: '(.*):\d+', target_label: host}
      - {source_labels: [bad], regex: 'yes', target_label: __address__, replacement: ''}
"#;
        let config = Config::load_str(text, Path::new("p.yml"), Path::new("/")).unwrap();
        let scrape = config.scrape_config("j").unwrap();
        let pipeline = job_pipeline(scrape);
        let populator = Populator::new(&scrape_params(scrape));
        let target = |pairs: &[(&str, &str)]| LabelSet::from_pairs(pairs.iter().copied());
        let group = TargetGroup::new(
            "g",
            vec![
                target(&[("__address__", "a:1")]),
                target(&[("__address__", "b:2"), ("env", "prod")]),
                target(&[("__address__", "c:3"), ("env", "")]),
                target(&[("__address__", "d:4"), ("bad", "yes")]),
                target(&[("__address__", "e:5"), ("__scheme__", "https")]),
            ],
            target(&[("env", "dev"), ("__meta_x", "y")]),
        );
        let expected = populate_group(&populator, &group);
        let outcomes = (pipeline.populate)(&group);
        assert_eq!(outcomes.len(), expected.len());
        for (i, (outcome, want)) in outcomes.iter().zip(&expected).enumerate() {
            assert_eq!(
                (pipeline.discover)(&group, i),
                want.discovered,
                "target {i}"
            );
            assert_eq!(outcome.labels(), want.labels(), "target {i}");
            let reason = want
                .result
                .as_ref()
                .err()
                .map(|r| not_scraped_reason(populator.rules(), r));
            assert_eq!(outcome.dropped_because().map(|b| &**b), reason.as_deref());
        }
        assert!(outcomes[1]
            .dropped_because()
            .is_some_and(|r| r.starts_with("dropped by relabel rule 0")));
        assert_eq!(
            outcomes[3].dropped_because().map(|b| &**b),
            Some("no address")
        );
        assert_eq!((pipeline.discover)(&group, 2).get("env"), None);
    }
}
