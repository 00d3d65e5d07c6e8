//! The pipeline's actor: it subscribes to the engine's `SyncTargets`, populates and relabels
//! the groups each delta names (or a whole job on a reset, a new job setting or the end of its
//! warm start), and publishes a new view in which only the changed jobs are rebuilt.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use prometheus_client::metrics::gauge::Gauge;
use promsd_actors::{Delta, GroupKey, JobDelta, Snapshot, Str, SyncTargets, TargetGroup};

use super::contract::JobPipeline;
use super::results::{populate_groups, JobResults};
use super::view::{JobView, SharedView};

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
        let mut results = JobResults::new(settings);
        results.stale = true;
        for group in groups {
            let key = GroupKey {
                provider: Str::from("state-file"),
                source: group.source.clone(),
            };
            results.populate(settings, key, group);
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
            results = JobResults::new(settings);
            for group in populate_groups(&settings.populate, targets.groups().collect()) {
                results.insert_populated(group);
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
                            let results =
                                self.results.entry(job.clone()).or_insert_with(
                                    || match &settings {
                                        Some(settings) => JobResults::new(settings),
                                        None => JobResults::default(),
                                    },
                                );
                            for key in removed {
                                results.remove(key);
                            }
                            if let Some(settings) = settings {
                                let groups = groups.iter().map(|(k, g)| (k.clone(), g)).collect();
                                for group in populate_groups(&settings.populate, groups) {
                                    results.insert_populated(group);
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
