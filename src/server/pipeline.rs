//! The daemon's targets pipeline: a subscriber actor that turns the engine's `SyncTargets` into
//! relabeled targets per job, and publishes them as an immutable [`TargetsView`] that HTTP
//! handlers read without locking the pipeline.
//!
//! Only the groups named in each delta are populated and relabeled again, and the result is
//! kept per group, so serving a change costs O(changed groups). A job's view renders its HTTP SD
//! body (per shard) once per change and caches it with its ETag.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use actix::prelude::*;
use prometheus_client::metrics::gauge::Gauge;
use promsd_actors::{Delta, GroupKey, JobDelta, LabelSet, Snapshot, Str, SyncTargets, TargetGroup};

use crate::shard::Shard;

/// One discovered target after population and relabeling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetOutcome {
    /// The labels before relabeling (target, group and job defaults).
    pub discovered: LabelSet,
    /// The final labels, if the target is kept.
    pub labels: Option<LabelSet>,
    /// Why the target was dropped (the rule, or the validation error), if it was.
    pub dropped_because: Option<String>,
    /// Shard identity (`shard::target_identity`) of a kept target.
    pub identity: u64,
}

/// Populates and relabels one group of a job.
pub type Populate = Arc<dyn Fn(&TargetGroup) -> Vec<TargetOutcome> + Send + Sync>;

/// How a job's targets are populated; `fingerprint` changes when its settings do.
#[derive(Clone)]
pub struct JobPipeline {
    pub populate: Populate,
    pub fingerprint: String,
}

/// A job's relabeled targets, group by group.
#[derive(Clone, Debug, Default)]
pub struct JobResults {
    pub groups: im::OrdMap<GroupKey, Arc<Vec<TargetOutcome>>>,
    pub kept: usize,
    pub dropped: usize,
    /// Every provider of the job delivered its first state.
    pub ready: bool,
    /// Served from the warm-start state file until fresh discovery is ready.
    pub stale: bool,
}

impl JobResults {
    fn insert(&mut self, key: GroupKey, outcomes: Vec<TargetOutcome>) {
        self.remove(&key);
        let kept = outcomes.iter().filter(|t| t.labels.is_some()).count();
        self.kept += kept;
        self.dropped += outcomes.len() - kept;
        if !outcomes.is_empty() {
            self.groups.insert(key, Arc::new(outcomes));
        }
    }

    fn remove(&mut self, key: &GroupKey) {
        if let Some(old) = self.groups.remove(key) {
            let kept = old.iter().filter(|t| t.labels.is_some()).count();
            self.kept -= kept;
            self.dropped -= old.len() - kept;
        }
    }

    /// Every target of the job, group by group.
    pub fn targets(&self) -> impl Iterator<Item = &TargetOutcome> {
        self.groups.values().flat_map(|g| g.iter())
    }
}

/// A rendered HTTP SD body and its ETag.
#[derive(Debug)]
pub struct Rendered {
    pub body: Vec<u8>,
    pub etag: String,
}

/// One job as HTTP handlers see it: immutable results plus lazily rendered bodies.
#[derive(Debug)]
pub struct JobView {
    pub name: Str,
    pub results: JobResults,
    rendered: Mutex<HashMap<Option<Shard>, Arc<Rendered>>>,
}

impl JobView {
    fn new(name: Str, results: JobResults) -> Self {
        JobView {
            name,
            results,
            rendered: Mutex::new(HashMap::new()),
        }
    }

    /// The job's kept targets (of `shard`, if given) in Prometheus' HTTP SD JSON, rendered once
    /// per change: one group per target, its labels the final labels, targets in identity order.
    pub fn http_sd(&self, shard: Option<Shard>) -> Arc<Rendered> {
        let mut cache = self.rendered.lock().expect("render cache poisoned");
        if let Some(hit) = cache.get(&shard) {
            return hit.clone();
        }
        let rendered = Arc::new(render_http_sd(&self.results, shard));
        cache.insert(shard, rendered.clone());
        rendered
    }
}

fn render_http_sd(results: &JobResults, shard: Option<Shard>) -> Rendered {
    let mut kept: Vec<(u64, &LabelSet)> = results
        .targets()
        .filter_map(|t| t.labels.as_ref().map(|l| (t.identity, l)))
        .filter(|(identity, _)| shard.is_none_or(|s| s.owns(*identity)))
        .collect();
    kept.sort();
    let mut body = Vec::with_capacity(kept.len() * 256 + 2);
    body.push(b'[');
    for (i, (_, labels)) in kept.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(b"{\"targets\":");
        serde_json::to_writer(&mut body, &[labels.get("__address__").unwrap_or("")])
            .expect("writing to a Vec");
        body.extend_from_slice(b",\"labels\":");
        serde_json::to_writer(&mut body, labels).expect("writing to a Vec");
        body.push(b'}');
    }
    body.push(b']');
    let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&body));
    Rendered { body, etag }
}

/// Every job's view at one moment.
#[derive(Clone, Debug, Default)]
pub struct TargetsView {
    pub jobs: im::OrdMap<Str, Arc<JobView>>,
}

/// Where the pipeline publishes its views; HTTP handlers read the latest.
#[derive(Clone, Default)]
pub struct SharedView(Arc<RwLock<Arc<TargetsView>>>);

impl SharedView {
    pub fn latest(&self) -> Arc<TargetsView> {
        self.0.read().expect("view lock poisoned").clone()
    }

    fn publish(&self, view: TargetsView) {
        *self.0.write().expect("view lock poisoned") = Arc::new(view);
    }
}

/// Called with every job whose view changed (for the file SD output).
pub type OnJobChange = Box<dyn FnMut(&Arc<JobView>) + Send>;

/// Replaces the jobs' settings (on start and reload); jobs whose fingerprint changed are
/// populated again from the last snapshot.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetJobs(pub HashMap<Str, JobPipeline>);

/// The subscriber actor between the engine and the HTTP handlers.
pub struct TargetsPipeline {
    settings: HashMap<Str, JobPipeline>,
    results: HashMap<Str, JobResults>,
    snapshot: Option<Arc<Snapshot>>,
    view: SharedView,
    on_change: Option<OnJobChange>,
    /// Warm-start groups per job, served until the job's discovery is ready.
    warm: HashMap<Str, Vec<Arc<TargetGroup>>>,
    stale_jobs: Gauge,
}

impl TargetsPipeline {
    pub fn new(view: SharedView, on_change: Option<OnJobChange>) -> Self {
        TargetsPipeline {
            settings: HashMap::new(),
            results: HashMap::new(),
            snapshot: None,
            view,
            on_change,
            warm: HashMap::new(),
            stale_jobs: Gauge::default(),
        }
    }

    /// Serves `warm` groups for each job until its fresh discovery is ready; `stale_jobs`
    /// counts the jobs served so.
    pub fn with_warm_start(
        mut self,
        warm: HashMap<Str, Vec<Arc<TargetGroup>>>,
        stale_jobs: Gauge,
    ) -> Self {
        self.warm = warm;
        self.stale_jobs = stale_jobs;
        self
    }

    /// The job's results from its warm-start groups, if it has some and is not ready.
    fn populate_warm(&self, job: &Str, ready: bool) -> Option<JobResults> {
        if ready {
            return None;
        }
        let (settings, groups) = (self.settings.get(job)?, self.warm.get(job)?);
        let mut results = JobResults {
            stale: true,
            ..JobResults::default()
        };
        for group in groups {
            let key = GroupKey {
                provider: Str::from("state-file"),
                source: group.source.clone(),
            };
            results.insert(key, (settings.populate)(group));
        }
        Some(results)
    }

    /// Fresh discovery is ready for `job`: its warm state is not needed any more.
    fn drop_warm(&mut self, job: &Str) {
        self.warm.remove(job);
    }

    fn count_stale(&self) {
        let stale = self.results.values().filter(|r| r.stale).count();
        self.stale_jobs.set(stale as i64);
    }

    fn populate_job(&self, job: &Str, snapshot: &Snapshot) -> JobResults {
        let mut results = JobResults::default();
        if let (Some(settings), Some(targets)) = (self.settings.get(job), snapshot.job(job)) {
            for (key, group) in targets.groups() {
                results.insert(key, (settings.populate)(group));
            }
            results.ready = targets.is_ready();
        }
        results
    }

    /// Publishes a new view in which `changed` jobs are rebuilt and the others reused.
    fn publish(&mut self, changed: &[Str]) {
        let mut view = (*self.view.latest()).clone();
        let gone: Vec<Str> = view
            .jobs
            .keys()
            .filter(|job| !self.results.contains_key(*job))
            .cloned()
            .collect();
        for job in gone {
            view.jobs.remove(&job);
        }
        for job in changed {
            if let Some(results) = self.results.get(job) {
                let job_view = Arc::new(JobView::new(job.clone(), results.clone()));
                if let Some(notify) = self.on_change.as_mut() {
                    notify(&job_view);
                }
                view.jobs.insert(job.clone(), job_view);
            }
        }
        self.view.publish(view);
    }
}

impl Actor for TargetsPipeline {
    type Context = Context<Self>;
}

impl Handler<SyncTargets> for TargetsPipeline {
    type Result = ();

    fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) {
        let snapshot = msg.snapshot;
        let mut changed: Vec<Str> = Vec::new();
        match &*msg.delta {
            Delta::Full => {
                self.results.clear();
                for (job, targets) in snapshot.jobs() {
                    let results = match self.populate_warm(job, targets.is_ready()) {
                        Some(warm) => warm,
                        None => {
                            self.drop_warm(job);
                            self.populate_job(job, &snapshot)
                        }
                    };
                    self.results.insert(job.clone(), results);
                    changed.push(job.clone());
                }
            }
            Delta::Changes { jobs, removed_jobs } => {
                for job in removed_jobs {
                    self.results.remove(job);
                }
                for (job, delta) in jobs {
                    let Some(targets) = snapshot.job(job) else {
                        continue;
                    };
                    changed.push(job.clone());
                    if let Some(warm) = self.populate_warm(job, targets.is_ready()) {
                        self.results.insert(job.clone(), warm);
                        continue;
                    }
                    self.drop_warm(job);
                    if self.results.get(job).is_some_and(|r| r.stale) {
                        // Fresh discovery replaces the warm state whole.
                        let results = self.populate_job(job, &snapshot);
                        self.results.insert(job.clone(), results);
                        continue;
                    }
                    match delta {
                        JobDelta::Reset => {
                            let results = self.populate_job(job, &snapshot);
                            self.results.insert(job.clone(), results);
                        }
                        JobDelta::Groups {
                            changed: groups,
                            removed,
                        } => {
                            let settings = self.settings.get(job).cloned();
                            let results = self.results.entry(job.clone()).or_default();
                            for key in removed {
                                results.remove(key);
                            }
                            if let Some(settings) = settings {
                                for (key, group) in groups {
                                    results.insert(key.clone(), (settings.populate)(group));
                                }
                            }
                            results.ready = targets.is_ready();
                        }
                    }
                }
            }
        }
        self.snapshot = Some(snapshot);
        self.count_stale();
        self.publish(&changed);
    }
}

impl Handler<SetJobs> for TargetsPipeline {
    type Result = ();

    fn handle(&mut self, msg: SetJobs, _: &mut Self::Context) {
        let old = std::mem::replace(&mut self.settings, msg.0);
        let changed: Vec<Str> = self
            .settings
            .iter()
            .filter(|(job, s)| old.get(*job).is_none_or(|o| o.fingerprint != s.fingerprint))
            .map(|(job, _)| job.clone())
            .collect();
        if let Some(snapshot) = self.snapshot.clone() {
            for job in &changed {
                if let Some(targets) = snapshot.job(job) {
                    let results = match self.populate_warm(job, targets.is_ready()) {
                        Some(warm) => warm,
                        None => self.populate_job(job, &snapshot),
                    };
                    self.results.insert(job.clone(), results);
                }
            }
            self.results
                .retain(|job, _| self.settings.contains_key(job));
            self.publish(&changed);
        }
    }
}
