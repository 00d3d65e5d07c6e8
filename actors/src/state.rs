//! The targets state of a manager, apart from any actor: job → provider → source → group in
//! persistent maps, plus the change log that turns it into deltas.
//!
//! Kept apart from `ManagerActor` (as kube keeps its reflector store apart from its watcher) so
//! that its costs can be measured and tested without a runtime: applying a one-group change is
//! O(log n) path copying, a snapshot is an O(1) clone, and a delta is O(changed keys).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::discoverer::Update;
use crate::messages::ProviderId;
use crate::model::Str;
use crate::snapshot::{ChangeLog, Delta, GroupMap, JobTargets, ProviderTargets, Snapshot};

struct ProviderGroups {
    name: Str,
    groups: GroupMap,
    target_count: usize,
    delivered: bool,
    jobs: Vec<Str>,
}

impl ProviderGroups {
    fn targets(&self) -> ProviderTargets {
        ProviderTargets {
            provider: self.name.clone(),
            groups: self.groups.clone(),
            target_count: self.target_count,
            delivered: self.delivered,
        }
    }
}

/// What a provider holds, for status reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderSummary {
    /// Groups the provider holds.
    pub groups: usize,
    /// Targets across those groups.
    pub targets: usize,
    /// The provider has delivered its first state.
    pub delivered: bool,
    /// Jobs the provider serves.
    pub jobs: Vec<Str>,
}

/// The targets of every job and the log of what changed.
#[derive(Default)]
pub struct TargetsState {
    jobs: im::OrdMap<Str, JobTargets>,
    providers: HashMap<ProviderId, ProviderGroups>,
    log: ChangeLog,
}

impl TargetsState {
    /// An empty state: no jobs, no providers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a provider with no groups and no jobs yet.
    pub fn add_provider(&mut self, id: ProviderId, name: Str) {
        self.providers.insert(
            id,
            ProviderGroups {
                name,
                groups: GroupMap::new(),
                target_count: 0,
                delivered: false,
                jobs: Vec::new(),
            },
        );
    }

    /// Forgets a provider. Call [`set_jobs`](Self::set_jobs) without it first, so that its
    /// groups leave the jobs (and the deltas) properly.
    pub fn remove_provider(&mut self, id: ProviderId) {
        self.providers.remove(&id);
    }

    /// Sets which providers serve which jobs (in order). Jobs not listed are removed; new jobs
    /// are created (with no targets if they have no providers). Returns the removed jobs.
    pub fn set_jobs(&mut self, wanted: &BTreeMap<Str, Vec<ProviderId>>) -> Vec<Str> {
        let gone: Vec<Str> = self
            .jobs
            .keys()
            .filter(|j| !wanted.contains_key(*j))
            .cloned()
            .collect();
        for job in &gone {
            self.jobs.remove(job);
            self.log.job_removed(job);
        }
        for provider in self.providers.values_mut() {
            provider.jobs.clear();
        }
        for (job, ids) in wanted {
            for id in ids {
                if let Some(p) = self.providers.get_mut(id) {
                    p.jobs.push(job.clone());
                }
            }
            let providers: Vec<ProviderTargets> = ids
                .iter()
                .filter_map(|id| self.providers.get(id))
                .map(ProviderGroups::targets)
                .collect();
            match self.jobs.get(job) {
                None => {
                    let mut entry = JobTargets {
                        providers,
                        target_count: 0,
                    };
                    entry.recount();
                    self.jobs.insert(job.clone(), entry);
                    self.log.job_created(job);
                }
                Some(current) => {
                    let old: HashSet<&Str> =
                        current.providers.iter().map(|p| &p.provider).collect();
                    let new: HashSet<&Str> = providers.iter().map(|p| &p.provider).collect();
                    if current.providers.len() == providers.len()
                        && current
                            .providers
                            .iter()
                            .zip(&providers)
                            .all(|(a, b)| a.provider == b.provider)
                    {
                        continue;
                    }
                    // Every group of a provider that left or joined the job changed for it.
                    let mut changed: Vec<(Str, Str)> = Vec::new();
                    for p in current
                        .providers
                        .iter()
                        .filter(|p| !new.contains(&p.provider))
                    {
                        changed.extend(p.groups.keys().map(|s| (p.provider.clone(), s.clone())));
                    }
                    for p in providers.iter().filter(|p| !old.contains(&p.provider)) {
                        changed.extend(p.groups.keys().map(|s| (p.provider.clone(), s.clone())));
                    }
                    for (provider, source) in &changed {
                        self.log.group_changed(job, provider, source);
                    }
                    let mut entry = JobTargets {
                        providers,
                        target_count: 0,
                    };
                    entry.recount();
                    self.jobs.insert(job.clone(), entry);
                    self.log.job_changed(job);
                }
            }
        }
        gone
    }

    /// Applies a provider's update; true if any job changed.
    pub fn apply(&mut self, id: ProviderId, update: Update) -> bool {
        let Some(provider) = self.providers.get_mut(&id) else {
            return false;
        };
        let full = update.is_full();
        let groups = match update {
            Update::Full(g) | Update::Changed(g) => g,
        };
        let mut changed_sources: Vec<Str> = Vec::new();
        let mut seen: HashSet<Str> = HashSet::new();
        for group in groups {
            if full {
                seen.insert(group.source.clone());
            }
            if group.targets.is_empty() {
                if let Some(old) = provider.groups.remove(&group.source) {
                    provider.target_count -= old.targets.len();
                    changed_sources.push(group.source);
                }
                continue;
            }
            match provider.groups.get(&group.source) {
                Some(old) if **old == group => continue,
                Some(old) => provider.target_count -= old.targets.len(),
                None => {}
            }
            provider.target_count += group.targets.len();
            changed_sources.push(group.source.clone());
            provider
                .groups
                .insert(group.source.clone(), Arc::new(group));
        }
        if full {
            let vanished: Vec<Str> = provider
                .groups
                .keys()
                .filter(|s| !seen.contains(*s))
                .cloned()
                .collect();
            for source in vanished {
                if let Some(old) = provider.groups.remove(&source) {
                    provider.target_count -= old.targets.len();
                }
                changed_sources.push(source);
            }
        }
        let first = !provider.delivered;
        provider.delivered = true;
        if changed_sources.is_empty() && !first {
            return false;
        }
        for job in &provider.jobs {
            if first {
                self.log.job_changed(job);
            }
            for source in &changed_sources {
                self.log.group_changed(job, &provider.name, source);
            }
        }
        self.publish(id);
        true
    }

    /// Marks a provider as having delivered its first state (its stream ended without one);
    /// true if that changed anything.
    pub fn mark_delivered(&mut self, id: ProviderId) -> bool {
        let Some(provider) = self.providers.get_mut(&id) else {
            return false;
        };
        if provider.delivered {
            return false;
        }
        provider.delivered = true;
        for job in &provider.jobs {
            self.log.job_changed(job);
        }
        self.publish(id);
        true
    }

    /// Copies the provider's groups into every job it serves: O(1) per job, the maps being
    /// persistent.
    fn publish(&mut self, id: ProviderId) {
        let provider = &self.providers[&id];
        let targets = provider.targets();
        for job in &provider.jobs {
            if let Some(entry) = self.jobs.get_mut(job) {
                if let Some(slot) = entry
                    .providers
                    .iter_mut()
                    .find(|p| p.provider == provider.name)
                {
                    *slot = targets.clone();
                }
                entry.recount();
            }
        }
    }

    /// The current state: an O(1) clone of the persistent maps.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::new(Snapshot {
            jobs: self.jobs.clone(),
        })
    }

    /// Every job with its targets.
    pub fn jobs(&self) -> impl Iterator<Item = (&Str, &JobTargets)> {
        self.jobs.iter()
    }

    /// Sequence number of the latest change.
    pub fn seq(&self) -> u64 {
        self.log.seq()
    }

    /// What changed after sequence number `since`; `now` must be the current snapshot.
    pub fn delta_since(&self, since: u64, now: &Snapshot) -> Delta {
        self.log.delta_since(since, now)
    }

    /// Forgets changes older than `oldest_needed` (everything when `None`).
    pub fn prune(&mut self, oldest_needed: Option<u64>) {
        self.log.prune(oldest_needed);
    }

    /// What provider `id` holds, if it is registered.
    pub fn provider(&self, id: ProviderId) -> Option<ProviderSummary> {
        self.providers.get(&id).map(|p| ProviderSummary {
            groups: p.groups.len(),
            targets: p.target_count,
            delivered: p.delivered,
            jobs: p.jobs.clone(),
        })
    }

    /// Remembered change-log entries (bounded by distinct keys changed since the oldest
    /// subscriber's last message).
    pub fn log_len(&self) -> usize {
        self.log.len()
    }
}
