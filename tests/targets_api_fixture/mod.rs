//! A running promsd server core for the targets API and web page tests: the real engine
//! (`ManagerActor` with channel discoverers), the real `TargetsPipeline` publishing a
//! `SharedView`, and the real routes. Only relabeling and the config are stand-ins (the config
//! and relabel rooms provide the real ones): two fixed rules, applied by the pipeline's populate
//! function and traced by a fake `RunningConfig`.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::web;
use prometheus_client::registry::Registry;
use promsd::server::pipeline::SetJobs;
use promsd::server::{
    AppState, ConfigSlot, JobPipeline, RelabelStep, Reload, RunningConfig, SharedView,
    TargetOutcome, TargetsPipeline,
};
use promsd_actors::testing::{channel_discoverer, ChannelFeed};
use promsd_actors::{
    ApplyConfig, DiscoveryConfig, GetStatus, LabelSet, ManagerActor, ManagerOptions,
    ProviderStatus, Str, Subscribe, TargetGroup,
};
use serde_json::json;

/// The stand-in relabel rules of every job, as Prometheus prints them.
pub fn rules() -> Vec<serde_json::Value> {
    vec![
        json!({"action": "replace", "source_labels": ["__meta_env"], "separator": ";",
               "regex": "(.+)", "target_label": "env", "replacement": "$1"}),
        json!({"action": "drop", "source_labels": ["__meta_drop"], "separator": ";",
               "regex": "true", "replacement": "$1"}),
    ]
}

/// Why the stand-in rules drop a target with `__meta_drop="true"`.
pub const DROP_REASON: &str =
    "dropped by relabel rule 2: action drop, source_labels [__meta_drop], regex \"true\"";

/// Why a target without an address is dropped after relabeling.
pub const NO_ADDRESS_REASON: &str = "no __address__ label after relabeling";

fn pairs(set: &LabelSet) -> BTreeMap<String, String> {
    set.iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

/// Applies rules `0..=upto` to `labels`; `None` once dropped.
fn relabel(labels: &LabelSet, upto: usize) -> Option<LabelSet> {
    let mut out = pairs(labels);
    if let Some(env) = out.get("__meta_env").filter(|e| !e.is_empty()).cloned() {
        out.insert("env".into(), env);
    }
    if upto >= 1 && out.get("__meta_drop").map(String::as_str) == Some("true") {
        return None;
    }
    Some(LabelSet::from_pairs(out))
}

/// The discovered labels of a target of `job`, with Prometheus 3's defaults.
pub fn discovered(job: &str, group: &TargetGroup, target: &LabelSet) -> LabelSet {
    let mut out = pairs(&group.labels);
    out.extend(pairs(target));
    out.insert("job".into(), job.into());
    out.entry("__scheme__".into()).or_insert("http".into());
    out.entry("__metrics_path__".into())
        .or_insert("/metrics".into());
    out.entry("__scrape_interval__".into())
        .or_insert("15s".into());
    out.entry("__scrape_timeout__".into())
        .or_insert("10s".into());
    LabelSet::from_pairs(out)
}

/// The stand-in of the relabel room's population: rules, then `instance`, minus `__meta_*`.
pub fn populate(job: &str, group: &TargetGroup) -> Vec<TargetOutcome> {
    group
        .targets
        .iter()
        .map(|target| {
            let discovered = discovered(job, group, target);
            let Some(relabeled) = relabel(&discovered, usize::MAX) else {
                return TargetOutcome::Dropped {
                    because: DROP_REASON.into(),
                };
            };
            let address = relabeled.get("__address__").unwrap_or("").to_owned();
            if address.is_empty() {
                return TargetOutcome::Dropped {
                    because: NO_ADDRESS_REASON.into(),
                };
            }
            let mut out = pairs(&relabeled);
            out.retain(|name, _| !name.starts_with("__meta_"));
            out.entry("instance".into()).or_insert(address);
            let labels = LabelSet::from_pairs(out);
            TargetOutcome::Kept {
                identity: promsd::shard::target_identity(job, &labels),
                labels,
            }
        })
        .collect()
}

/// The stand-in of the config room's running config.
pub struct FakeRunningConfig {
    pub jobs: Vec<String>,
}

impl RunningConfig for FakeRunningConfig {
    fn masked_yaml(&self) -> String {
        let mut yaml = String::from("scrape_configs:\n");
        for job in &self.jobs {
            yaml.push_str(&format!(
                "- job_name: {job}\n  basic_auth:\n    username: u\n    password: <secret>\n"
            ));
        }
        yaml
    }

    fn relabel_steps(&self, job: &str, discovered: &LabelSet) -> Option<Vec<RelabelStep>> {
        if !self.jobs.iter().any(|j| j == job) {
            return None;
        }
        Some(
            rules()
                .into_iter()
                .enumerate()
                .map(|(i, rule)| {
                    let output = relabel(discovered, i);
                    RelabelStep {
                        rule,
                        keep: output.is_some(),
                        output: output.unwrap_or_default(),
                    }
                })
                .collect(),
        )
    }
}

/// Answers every reload with an error: tests here do not reload.
struct NoReload;

impl Actor for NoReload {
    type Context = Context<Self>;
}

impl Handler<Reload> for NoReload {
    type Result = Result<(), String>;

    fn handle(&mut self, _: Reload, _: &mut Self::Context) -> Self::Result {
        Err("no reloads in this test".into())
    }
}

/// The engine, the pipeline and the server's state, with one channel discoverer per job.
pub struct Fixture {
    pub manager: Addr<ManagerActor>,
    pub pipeline: Addr<TargetsPipeline>,
    pub view: SharedView,
    pub config: ConfigSlot,
    pub feeds: HashMap<String, ChannelFeed>,
    state: web::Data<AppState>,
    /// The pipeline's subscription: dropping it would unsubscribe.
    _subscription: promsd_actors::Subscription,
}

impl Fixture {
    /// Starts the engine with `jobs` (each with its own channel discoverer, named like the job)
    /// and the pipeline with the stand-in rules. The config slot is left empty.
    pub async fn start(jobs: &[&str]) -> Fixture {
        let manager = ManagerActor::new(ManagerOptions {
            interval: Duration::from_millis(10),
            // A panicked discoverer stays `restarting` for the whole test.
            restart_backoff: Duration::from_secs(3600),
            restart_backoff_max: Duration::from_secs(3600),
            ..ManagerOptions::default()
        })
        .start();
        let view = SharedView::default();
        let pipeline = TargetsPipeline::new(view.clone(), None).start();
        let settings: HashMap<Str, JobPipeline> = jobs
            .iter()
            .map(|job| {
                let name: String = (*job).to_owned();
                let pipeline = JobPipeline {
                    populate: Arc::new({
                        let name = name.clone();
                        move |group: &TargetGroup| populate(&name, group)
                    }),
                    discover: Arc::new(move |group: &TargetGroup, index: usize| {
                        discovered(&name, group, &group.targets[index])
                    }),
                    fingerprint: "stand-in rules".into(),
                };
                (Str::from(*job), pipeline)
            })
            .collect();
        pipeline.send(SetJobs(settings)).await.unwrap();
        let subscription = manager
            .send(Subscribe(pipeline.clone().recipient()))
            .await
            .unwrap();
        let mut feeds = HashMap::new();
        let mut configs: BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>> = BTreeMap::new();
        for job in jobs {
            let (config, feed) = channel_discoverer(job);
            feeds.insert((*job).to_owned(), feed);
            configs.insert((*job).to_owned(), vec![config]);
        }
        manager.send(ApplyConfig { jobs: configs }).await.unwrap();
        let config = ConfigSlot::default();
        let state = web::Data::new(AppState {
            view: view.clone(),
            registry: Arc::new(Registry::default()),
            reload: NoReload.start().recipient(),
            ready_deadline: Instant::now() + Duration::from_secs(3600),
            discovery: manager.clone().recipient(),
            notify_discovery: manager.clone().recipient(),
            alertmanagers: Default::default(),
            config: config.clone(),
            enable_lifecycle: false,
            enable_admin_api: false,
            snapshot: manager.clone().recipient(),
        });
        let fixture = Fixture {
            _subscription: subscription,
            manager,
            pipeline,
            view,
            config,
            feeds,
            state,
        };
        // Every job's discoverer is built by the time the manager answered ApplyConfig.
        for (job, feed) in &fixture.feeds {
            fixture
                .wait(&format!("discoverer of {job} started"), || {
                    feed.starts() > 0
                })
                .await;
        }
        fixture
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub fn feed(&self, job: &str) -> &ChannelFeed {
        &self.feeds[job]
    }

    /// Sets the stand-in running config for `jobs`.
    pub fn load_config(&self, jobs: &[&str]) {
        self.config.set(Arc::new(FakeRunningConfig {
            jobs: jobs.iter().map(|j| (*j).to_owned()).collect(),
        }));
    }

    /// Polls `condition` until it holds; panics after 20 s.
    pub async fn wait(&self, what: &str, condition: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Asks the engine for its providers until `condition` holds; panics after 20 s.
    pub async fn wait_for_providers(
        &self,
        what: &str,
        condition: impl Fn(&[ProviderStatus]) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let providers = self.manager.send(GetStatus).await.unwrap();
            if condition(&providers) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until the published view has `kept` and `dropped` targets in `job`.
    pub async fn wait_for_job(&self, job: &str, kept: usize, dropped: usize) {
        self.wait(
            &format!("{job} to have {kept} kept and {dropped} dropped"),
            || {
                self.view
                    .latest()
                    .jobs
                    .get(job)
                    .is_some_and(|j| j.results.kept == kept && j.results.dropped == dropped)
            },
        )
        .await;
    }
}

/// A group whose targets are `(address, extra labels)`.
pub fn group(
    source: &str,
    targets: &[(&str, &[(&str, &str)])],
    labels: &[(&str, &str)],
) -> TargetGroup {
    TargetGroup::new(
        source,
        targets
            .iter()
            .map(|(address, extra)| {
                let mut pairs: Vec<(&str, &str)> = vec![("__address__", address)];
                pairs.extend_from_slice(extra);
                LabelSet::from_pairs(pairs)
            })
            .collect(),
        LabelSet::from_pairs(labels.iter().copied()),
    )
}
