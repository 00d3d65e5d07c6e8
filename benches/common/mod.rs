//! What the daemon benchmarks share: a job's targets in the shape DESIGN.md's benchmarks use,
//! and the daemon's targets pipeline driven the way the engine drives it (a `TargetsState`
//! producing snapshots and deltas, `SyncTargets` sent to the pipeline actor).

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use actix::prelude::*;
use promsd::config::Config;
use promsd::server::pipeline::{JobView, SetJobs, SharedView, TargetsPipeline};
use promsd_actors::{
    Delta, JobDelta, LabelSet, Str, SyncTargets, TargetGroup, TargetsState, Update,
};

pub const JOB: &str = "bench";

/// Relabel rules of a typical job: keep by a label, copy a meta label, derive one from the
/// address.
pub const TYPICAL_RULES: &str = r#"
    relabel_configs:
      - {source_labels: [env], regex: 'prod|staging', action: keep}
      - {source_labels: [__meta_filepath], regex: '.*/(.*)\.json', target_label: file}
      - {source_labels: [__address__], regex: '(.*):\d+', target_label: host}
"#;

/// The pipeline settings of job `bench` with `rules` (YAML under the job, may be empty).
pub fn job_pipeline(rules: &str) -> promsd::server::JobPipeline {
    let text = format!("scrape_configs:\n  - job_name: {JOB}\n{rules}");
    let config = Config::load_str(&text, Path::new("bench.yml"), Path::new("/")).unwrap();
    promsd::plan::job_pipeline(config.scrape_config(JOB).unwrap())
}

/// Group `g` of a job, as file SD reads it: `per_group` targets with unique addresses (the
/// port carries `generation`, so a new generation changes every target), 4 labels and the
/// file path.
pub fn group(g: usize, per_group: usize, generation: usize) -> TargetGroup {
    let targets = (0..per_group)
        .map(|t| {
            let i = g * per_group + t;
            LabelSet::from_address(format!(
                "10.{}.{}.{}:{}",
                (i >> 16) & 255,
                (i >> 8) & 255,
                i & 255,
                9100 + generation
            ))
        })
        .collect();
    let file = format!("/etc/prometheus/targets/file-{:04}.json", g / 100);
    TargetGroup::new(
        format!("{file}:{}", g % 100),
        targets,
        LabelSet::from_pairs([
            (
                "env",
                if g.is_multiple_of(4) {
                    "staging"
                } else {
                    "prod"
                }
                .to_owned(),
            ),
            ("dc", format!("dc{}", g % 3)),
            ("team", format!("team{}", g % 16)),
            ("rack", format!("rack{}", g % 500)),
            ("__meta_filepath", file),
        ]),
    )
}

/// The daemon's pipeline actor fed by an engine state, on its own actix system.
pub struct Pipeline {
    system: actix_rt::SystemRunner,
    pipeline: Addr<TargetsPipeline>,
    pub view: SharedView,
    state: TargetsState,
    last_sent: u64,
}

impl Pipeline {
    /// A pipeline for job `bench` with `rules`, holding `groups` groups of `per_group` targets.
    pub fn loaded(rules: &str, groups: usize, per_group: usize) -> Pipeline {
        let system = actix_rt::System::new();
        let view = SharedView::default();
        let pipeline = {
            let view = view.clone();
            system.block_on(async move { TargetsPipeline::new(view, None).start() })
        };
        let mut state = TargetsState::new();
        state.add_provider(0, Str::from("file/0"));
        state.set_jobs(&BTreeMap::from([(Str::from(JOB), vec![0])]));
        state.apply(
            0,
            Update::Full((0..groups).map(|g| group(g, per_group, 0)).collect()),
        );
        let mut this = Pipeline {
            system,
            pipeline,
            view,
            state,
            last_sent: 0,
        };
        let settings = HashMap::from([(Str::from(JOB), job_pipeline(rules))]);
        let snapshot = this.state.snapshot();
        this.last_sent = this.state.seq();
        this.state.prune(Some(this.last_sent));
        let pipeline = this.pipeline.clone();
        this.system.block_on(async move {
            pipeline.send(SetJobs(settings)).await.unwrap();
            pipeline
                .send(SyncTargets {
                    snapshot,
                    delta: Arc::new(Delta::Full),
                })
                .await
                .unwrap();
        });
        this
    }

    /// The job's current view.
    pub fn job(&self) -> Arc<JobView> {
        self.view.latest().jobs.get(JOB).unwrap().clone()
    }

    /// Applies `changed` to the engine state and hands the pipeline the resulting message.
    /// Returns how long the pipeline took to handle it (building the message is not counted).
    pub fn change(&mut self, changed: Vec<TargetGroup>) -> std::time::Duration {
        self.state.apply(0, Update::Changed(changed));
        let snapshot = self.state.snapshot();
        let delta = Arc::new(self.state.delta_since(self.last_sent, &snapshot));
        self.last_sent = self.state.seq();
        self.state.prune(Some(self.last_sent));
        self.send(SyncTargets { snapshot, delta })
    }

    /// A message that changes no group (only the job's readiness could have): the pipeline
    /// publishes a new view of the job without relabeling anything.
    pub fn republish(&mut self) -> std::time::Duration {
        let snapshot = self.state.snapshot();
        let delta = Arc::new(Delta::Changes {
            jobs: BTreeMap::from([(
                Str::from(JOB),
                JobDelta::Groups {
                    changed: Vec::new(),
                    removed: Vec::new(),
                },
            )]),
            removed_jobs: Vec::new(),
        });
        self.send(SyncTargets { snapshot, delta })
    }

    fn send(&mut self, message: SyncTargets) -> std::time::Duration {
        let pipeline = self.pipeline.clone();
        let started = std::time::Instant::now();
        self.system
            .block_on(async move { pipeline.send(message).await.unwrap() });
        started.elapsed()
    }
}
