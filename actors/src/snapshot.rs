//! What subscribers receive: the full state as a persistent, structurally shared [`Snapshot`],
//! and the [`Delta`] since their previous message.
//!
//! The manager keeps its state as the snapshot itself (persistent `im` maps), so handing out a
//! snapshot is an `Arc` of an O(1) clone, and a one-group change costs O(log n) path copying,
//! never a copy of a job. The [`ChangeLog`] records which keys changed at which sequence number,
//! so that a subscriber's delta is computed from the keys changed since its last message:
//! O(changes), not O(targets).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::model::{Str, TargetGroup};

/// Groups of one provider, by source.
pub type GroupMap = im::OrdMap<Str, Arc<TargetGroup>>;

/// The state of every job at one moment. Cheap to clone and to keep.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub(crate) jobs: im::OrdMap<Str, JobTargets>,
}

impl Snapshot {
    /// Every configured job, in name order. A job with no targets is present with no groups.
    pub fn jobs(&self) -> impl Iterator<Item = (&Str, &JobTargets)> {
        self.jobs.iter()
    }

    pub fn job(&self, name: &str) -> Option<&JobTargets> {
        self.jobs.get(name)
    }

    pub fn job_count(&self) -> usize {
        self.jobs.len()
    }

    /// Targets across all jobs.
    pub fn target_count(&self) -> usize {
        self.jobs.values().map(|j| j.target_count).sum()
    }
}

/// Identifies a group within a job: the provider that found it and its source there.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    pub provider: Str,
    pub source: Str,
}

/// The groups of one job, by provider (in the order of the job's SD configs).
#[derive(Clone, Debug, Default)]
pub struct JobTargets {
    pub(crate) providers: Vec<ProviderTargets>,
    pub(crate) target_count: usize,
}

/// One provider's contribution to a job.
#[derive(Clone, Debug)]
pub struct ProviderTargets {
    pub provider: Str,
    pub groups: GroupMap,
    pub(crate) target_count: usize,
    pub(crate) delivered: bool,
}

impl JobTargets {
    /// All groups of the job with their keys, provider by provider, sources in order.
    pub fn groups(&self) -> impl Iterator<Item = (GroupKey, &Arc<TargetGroup>)> + '_ {
        self.providers.iter().flat_map(|p| {
            p.groups.iter().map(move |(source, g)| {
                (
                    GroupKey {
                        provider: p.provider.clone(),
                        source: source.clone(),
                    },
                    g,
                )
            })
        })
    }

    pub fn group(&self, key: &GroupKey) -> Option<&Arc<TargetGroup>> {
        self.providers
            .iter()
            .find(|p| p.provider == key.provider)
            .and_then(|p| p.groups.get(&key.source))
    }

    pub fn providers(&self) -> &[ProviderTargets] {
        &self.providers
    }

    pub fn target_count(&self) -> usize {
        self.target_count
    }

    pub fn group_count(&self) -> usize {
        self.providers.iter().map(|p| p.groups.len()).sum()
    }

    /// Every provider of the job has delivered its first state (or ended, or failed to start).
    pub fn is_ready(&self) -> bool {
        self.providers.iter().all(|p| p.delivered)
    }

    pub(crate) fn recount(&mut self) {
        self.target_count = self.providers.iter().map(|p| p.target_count).sum();
    }
}

/// What changed since a subscriber's previous message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delta {
    /// The subscriber's first message: take the whole snapshot.
    Full,
    /// The jobs that changed, and the jobs that are gone.
    Changes {
        jobs: BTreeMap<Str, JobDelta>,
        removed_jobs: Vec<Str>,
    },
}

impl Delta {
    /// Nothing changed (possible only when a message carries no news).
    pub fn is_empty(&self) -> bool {
        matches!(self, Delta::Changes { jobs, removed_jobs } if jobs.is_empty() && removed_jobs.is_empty())
    }
}

/// How one job changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobDelta {
    /// The job is new (or was removed and configured again): take all its groups from the
    /// snapshot.
    Reset,
    /// Groups of the job that changed (with their new value) and that were removed. Both lists
    /// may be empty when only the job's readiness changed.
    Groups {
        changed: Vec<(GroupKey, Arc<TargetGroup>)>,
        removed: Vec<GroupKey>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ChangeKey {
    Job(Str),
    Group(Str, GroupKey),
}

/// Which keys changed at which sequence number, each key once (at its latest change).
#[derive(Debug, Default)]
pub(crate) struct ChangeLog {
    seq: u64,
    by_seq: BTreeMap<u64, ChangeKey>,
    latest: HashMap<ChangeKey, u64>,
    /// Sequence number at which each live job was (re)created.
    created: HashMap<Str, u64>,
    /// Jobs removed: (created, removed) sequence numbers of the incarnation that went away.
    gone: HashMap<Str, (u64, u64)>,
}

impl ChangeLog {
    /// The sequence number of the latest change.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    fn record(&mut self, key: ChangeKey) {
        self.seq += 1;
        if let Some(old) = self.latest.insert(key.clone(), self.seq) {
            self.by_seq.remove(&old);
        }
        self.by_seq.insert(self.seq, key);
    }

    pub(crate) fn job_created(&mut self, job: &Str) {
        self.record(ChangeKey::Job(job.clone()));
        self.created.insert(job.clone(), self.seq);
    }

    pub(crate) fn job_changed(&mut self, job: &Str) {
        self.record(ChangeKey::Job(job.clone()));
    }

    pub(crate) fn job_removed(&mut self, job: &Str) {
        self.record(ChangeKey::Job(job.clone()));
        let created = self.created.remove(job).unwrap_or(0);
        self.gone.insert(job.clone(), (created, self.seq));
    }

    pub(crate) fn group_changed(&mut self, job: &Str, provider: &Str, source: &Str) {
        self.record(ChangeKey::Group(
            job.clone(),
            GroupKey {
                provider: provider.clone(),
                source: source.clone(),
            },
        ));
    }

    /// The changes after `since`, read against `now` (the state at the latest sequence number).
    pub(crate) fn delta_since(&self, since: u64, now: &Snapshot) -> Delta {
        let mut jobs: BTreeMap<Str, JobDelta> = BTreeMap::new();
        let mut removed_jobs = Vec::new();
        for (_, key) in self.by_seq.range(since + 1..) {
            match key {
                ChangeKey::Job(job) => match now.job(job) {
                    Some(_) if self.created.get(job).is_some_and(|c| *c > since) => {
                        jobs.insert(job.clone(), JobDelta::Reset);
                    }
                    Some(_) => {
                        jobs.entry(job.clone()).or_insert_with(|| JobDelta::Groups {
                            changed: Vec::new(),
                            removed: Vec::new(),
                        });
                    }
                    None => {
                        // Only a job the subscriber knew (created before `since`) is news as gone.
                        if self
                            .gone
                            .get(job)
                            .is_some_and(|(created, _)| *created <= since)
                        {
                            removed_jobs.push(job.clone());
                        }
                    }
                },
                ChangeKey::Group(job, group_key) => {
                    let Some(targets) = now.job(job) else {
                        continue;
                    };
                    if self.created.get(job).is_some_and(|c| *c > since) {
                        jobs.insert(job.clone(), JobDelta::Reset);
                        continue;
                    }
                    let entry = jobs.entry(job.clone()).or_insert_with(|| JobDelta::Groups {
                        changed: Vec::new(),
                        removed: Vec::new(),
                    });
                    if let JobDelta::Groups { changed, removed } = entry {
                        match targets.group(group_key) {
                            Some(group) => changed.push((group_key.clone(), group.clone())),
                            None => removed.push(group_key.clone()),
                        }
                    }
                }
            }
        }
        for delta in jobs.values_mut() {
            if let JobDelta::Groups { changed, removed } = delta {
                changed.sort_by(|a, b| a.0.cmp(&b.0));
                removed.sort();
            }
        }
        removed_jobs.sort();
        Delta::Changes { jobs, removed_jobs }
    }

    /// Forgets changes every subscriber has seen (all of them when `oldest_needed` is `None`).
    pub(crate) fn prune(&mut self, oldest_needed: Option<u64>) {
        let keep_after = oldest_needed.unwrap_or(self.seq);
        while let Some(entry) = self.by_seq.first_entry() {
            if *entry.key() > keep_after {
                break;
            }
            let key = entry.remove();
            self.latest.remove(&key);
        }
        self.gone.retain(|_, (_, removed)| *removed > keep_after);
    }

    /// Number of keys remembered (bounded by the distinct keys changed since the oldest
    /// subscriber's last message).
    pub(crate) fn len(&self) -> usize {
        self.by_seq.len()
    }
}
