//! What subscribers receive: the full state as a persistent, structurally shared [`Snapshot`],
//! and the [`Delta`] since their previous message.
//!
//! The manager keeps its state as the snapshot itself (persistent `im` maps), so handing out a
//! snapshot is an `Arc` of an O(1) clone, and a one-group change costs O(log n) path copying,
//! never a copy of a job. The `ChangeLog` records which keys changed at which sequence number,
//! so that a subscriber's delta is computed from the keys changed since its last message:
//! O(changes), not O(targets).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::model::{LabelSet, Str, TargetGroup};

/// Groups of one provider, by source (internal: the public API hands out iterators).
pub(crate) type GroupMap = im::OrdMap<Str, Arc<TargetGroup>>;

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

    /// The job with this name, if it is configured.
    pub fn job(&self, name: &str) -> Option<&JobTargets> {
        self.jobs.get(name)
    }

    /// Number of configured jobs.
    pub fn job_count(&self) -> usize {
        self.jobs.len()
    }

    /// Targets across all jobs.
    pub fn target_count(&self) -> usize {
        self.jobs.values().map(|j| j.target_count).sum()
    }
}

/// The lossless JSON form, for embedders (every target keeps its own labels, as in
/// [`Lossless`](crate::Lossless)): jobs by name, each with its readiness, its target count and
/// its groups, provider by provider:
///
/// ```json
/// {"jobs": {"node": {"ready": true, "targets": 1, "groups": [
///   {"provider": "static/0", "source": "0", "labels": {"env": "prod"},
///    "targets": [{"__address__": "10.0.0.1:9100"}]}]}}}
/// ```
impl Serialize for Snapshot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Jobs<'a>(&'a Snapshot);
        impl Serialize for Jobs<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(self.0.jobs())
            }
        }
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("jobs", &Jobs(self))?;
        map.end()
    }
}

/// One job of a [`Snapshot`]'s lossless JSON form: `{"ready", "targets", "groups"}`.
impl Serialize for JobTargets {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Group<'a>(&'a Str, &'a TargetGroup);
        impl Serialize for Group<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(4))?;
                map.serialize_entry("provider", &**self.0)?;
                map.serialize_entry("source", &*self.1.source)?;
                map.serialize_entry("labels", &self.1.labels)?;
                map.serialize_entry::<_, [LabelSet]>("targets", &self.1.targets)?;
                map.end()
            }
        }
        struct Groups<'a>(&'a JobTargets);
        impl Serialize for Groups<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(self.0.group_count()))?;
                for provider in &self.0.providers {
                    for group in provider.groups.values() {
                        seq.serialize_element(&Group(&provider.provider, group))?;
                    }
                }
                seq.end()
            }
        }
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("ready", &self.is_ready())?;
        map.serialize_entry("targets", &self.target_count)?;
        map.serialize_entry("groups", &Groups(self))?;
        map.end()
    }
}

/// Identifies a group within a job: the provider that found it and its source there.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    /// The provider's name, `<mechanism>/<n>`.
    pub provider: Str,
    /// The group's source within that provider.
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
    /// The provider's name, `<mechanism>/<n>`.
    pub provider: Str,
    pub(crate) groups: GroupMap,
    pub(crate) target_count: usize,
    pub(crate) delivered: bool,
}

impl ProviderTargets {
    /// The provider's groups with their sources, in source order.
    pub fn groups(&self) -> impl ExactSizeIterator<Item = (&Str, &Arc<TargetGroup>)> + '_ {
        self.groups.iter()
    }

    /// The group with this source, if the provider has one.
    pub fn group(&self, source: &str) -> Option<&Arc<TargetGroup>> {
        self.groups.get(source)
    }

    /// Number of groups.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Number of targets across the provider's groups.
    pub fn target_count(&self) -> usize {
        self.target_count
    }

    /// The provider has delivered its first state (or ended, or failed to start).
    pub fn is_delivered(&self) -> bool {
        self.delivered
    }
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

    /// The group with this key, if the job has it.
    pub fn group(&self, key: &GroupKey) -> Option<&Arc<TargetGroup>> {
        self.providers
            .iter()
            .find(|p| p.provider == key.provider)
            .and_then(|p| p.groups.get(&key.source))
    }

    /// The job's providers, in the order of its SD configs.
    pub fn providers(&self) -> &[ProviderTargets] {
        &self.providers
    }

    /// Number of targets across the job's groups.
    pub fn target_count(&self) -> usize {
        self.target_count
    }

    /// Number of groups across the job's providers.
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
        /// Jobs that changed (new, reset or with changed groups), by name.
        jobs: BTreeMap<Str, JobDelta>,
        /// Jobs the subscriber knew that are no longer configured, sorted.
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
        /// Groups added or changed, with their new value, sorted by key.
        changed: Vec<(GroupKey, Arc<TargetGroup>)>,
        /// Groups gone from the job, sorted.
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
