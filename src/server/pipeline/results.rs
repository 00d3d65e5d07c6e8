//! A job's relabeled targets, group by group, and their counts. Only the groups named in each
//! delta are populated again, and the result is kept per group beside the group's HTTP SD
//! entries, so serving a change costs O(changed groups); the kept and dropped counts follow
//! each inserted and removed group.

use std::sync::Arc;

use promsd_actors::{GroupKey, LabelSet, TargetGroup};

use super::contract::{JobPipeline, Populate, TargetOutcome, TargetSummary};
use crate::server::http_sd::entries::GroupEntries;

/// One group's targets after population, beside the discovered group they came from
/// (shared with the engine's snapshot, not copied).
#[derive(Debug)]
pub struct GroupOutcomes {
    pub group: Arc<TargetGroup>,
    pub targets: Box<[TargetSummary]>,
    /// Its kept targets as HTTP SD entries, rendered when the group was populated.
    pub(in crate::server) entries: Option<Arc<GroupEntries>>,
}

impl std::ops::Deref for GroupOutcomes {
    type Target = [TargetSummary];

    fn deref(&self) -> &[TargetSummary] {
        &self.targets
    }
}

/// A job's relabeled targets, group by group.
#[derive(Clone, Debug, Default)]
pub struct JobResults {
    pub groups: im::OrdMap<GroupKey, Arc<GroupOutcomes>>,
    pub kept: usize,
    pub dropped: usize,
    /// Every provider of the job delivered its first state.
    pub ready: bool,
    /// Served from the warm-start state file until fresh discovery is ready.
    pub stale: bool,
    /// How the groups were populated: to recompute labels for the API.
    pipeline: Option<JobPipeline>,
}

/// A group populated and rendered, ready to be inserted into a job's results.
pub(super) struct PopulatedGroup {
    pub(super) key: GroupKey,
    pub(super) outcomes: GroupOutcomes,
}

impl PopulatedGroup {
    fn new(key: GroupKey, group: Arc<TargetGroup>, outcomes: Vec<TargetOutcome>) -> Self {
        let entries = outcomes
            .iter()
            .any(|t| t.is_kept())
            .then(|| Arc::new(GroupEntries::render(&outcomes)));
        let targets = outcomes.iter().map(TargetOutcome::summary).collect();
        PopulatedGroup {
            key,
            outcomes: GroupOutcomes {
                group,
                targets,
                entries,
            },
        }
    }
}

/// How many of `group`'s targets are kept and dropped.
fn counts(group: &GroupOutcomes) -> (usize, usize) {
    let kept = group.iter().filter(|t| t.is_kept()).count();
    (kept, group.len() - kept)
}

/// Populates and renders `groups`, one after the other on the pipeline's thread. (Populating a
/// large job on every core was tried: on 2 cores it saved nothing at 1M targets and cost 40 %
/// more CPU, the reference counts of the labels every target shares bouncing between cores.)
pub(super) fn populate_groups(
    populate: &Populate,
    groups: Vec<(GroupKey, &Arc<TargetGroup>)>,
) -> Vec<PopulatedGroup> {
    groups
        .into_iter()
        .map(|(key, group)| PopulatedGroup::new(key, group.clone(), populate(group)))
        .collect()
}

impl JobResults {
    /// Empty results of a job populated by `pipeline`.
    pub(in crate::server) fn new(pipeline: &JobPipeline) -> Self {
        JobResults {
            pipeline: Some(pipeline.clone()),
            ..JobResults::default()
        }
    }

    /// Populates `group` with `pipeline` and inserts it (replacing the group under `key`).
    pub(in crate::server) fn populate(
        &mut self,
        pipeline: &JobPipeline,
        key: GroupKey,
        group: &Arc<TargetGroup>,
    ) {
        let outcomes = (pipeline.populate)(group);
        self.insert_populated(PopulatedGroup::new(key, group.clone(), outcomes));
    }

    /// Inserts a populated group in place of the group under its key (one map operation: the
    /// keys are long strings with long common prefixes, and compared at every level).
    pub(super) fn insert_populated(&mut self, group: PopulatedGroup) {
        let PopulatedGroup { key, outcomes } = group;
        if outcomes.is_empty() {
            self.remove(&key);
            return;
        }
        let (kept, dropped) = counts(&outcomes);
        self.kept += kept;
        self.dropped += dropped;
        if let Some(old) = self.groups.insert(key, Arc::new(outcomes)) {
            self.uncount(&old);
        }
    }

    pub(super) fn remove(&mut self, key: &GroupKey) {
        if let Some(old) = self.groups.remove(key) {
            self.uncount(&old);
        }
    }

    /// Takes `group`'s targets away from the counts.
    fn uncount(&mut self, group: &GroupOutcomes) {
        let (kept, dropped) = counts(group);
        self.kept -= kept;
        self.dropped -= dropped;
    }

    /// Every target of the job, group by group.
    pub fn targets(&self) -> impl Iterator<Item = &TargetSummary> {
        self.groups.values().flat_map(|g| g.iter())
    }

    /// The discovered labels of target `index` of `group` (one of this job's), recomputed.
    pub fn discovered(&self, group: &GroupOutcomes, index: usize) -> LabelSet {
        match &self.pipeline {
            Some(pipeline) => (pipeline.discover)(&group.group, index),
            None => LabelSet::new(),
        }
    }

    /// Every target of `group` (one of this job's) with its final labels, recomputed.
    pub fn outcomes(&self, group: &GroupOutcomes) -> Vec<TargetOutcome> {
        match &self.pipeline {
            Some(pipeline) => (pipeline.populate)(&group.group),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::pipeline::test_support::{target, test_pipeline};
    use promsd_actors::Str;

    #[test]
    fn populated_groups_keep_their_order_outcomes_and_discovered_group() {
        let pipeline = test_pipeline();
        let groups: Vec<(GroupKey, Arc<TargetGroup>)> = (0..5)
            .map(|g| {
                let targets = vec![
                    target(&format!("h{g}:1"), &[], true),
                    target(&format!("h{g}:2"), &[], g % 2 == 0),
                ];
                let key = GroupKey {
                    provider: Str::from("p"),
                    source: Str::from(format!("s{g}")),
                };
                let group = TargetGroup::new(key.source.clone(), targets, LabelSet::new());
                (key, Arc::new(group))
            })
            .collect();
        let borrowed = groups.iter().map(|(k, g)| (k.clone(), g)).collect();
        let populated = populate_groups(&pipeline.populate, borrowed);
        assert_eq!(populated.len(), groups.len());
        for ((key, group), populated) in groups.iter().zip(&populated) {
            assert_eq!(&populated.key, key, "in the order given");
            assert!(
                Arc::ptr_eq(&populated.outcomes.group, group),
                "shared, not copied"
            );
            let expected: Vec<TargetSummary> = (pipeline.populate)(group)
                .iter()
                .map(TargetOutcome::summary)
                .collect();
            assert_eq!(&*populated.outcomes.targets, &expected[..]);
        }
    }

    #[test]
    fn counts_follow_inserted_replaced_and_removed_groups() {
        let mut results = JobResults::new(&test_pipeline());
        let key = |s: &str| GroupKey {
            provider: Str::from("p"),
            source: Str::from(s),
        };
        let group = |targets| Arc::new(TargetGroup::new(Str::from("s"), targets, LabelSet::new()));
        let pipeline = test_pipeline();
        results.populate(
            &pipeline,
            key("a"),
            &group(vec![target("a:1", &[], true), target("a:2", &[], false)]),
        );
        results.populate(&pipeline, key("b"), &group(vec![target("b:1", &[], true)]));
        assert_eq!((results.kept, results.dropped), (2, 1));
        results.populate(&pipeline, key("a"), &group(vec![target("a:2", &[], false)]));
        assert_eq!((results.kept, results.dropped), (1, 1));
        results.populate(&pipeline, key("b"), &group(vec![]));
        assert_eq!((results.kept, results.dropped), (0, 1));
        assert_eq!(results.groups.len(), 1, "an empty group is removed");
        results.remove(&key("a"));
        assert_eq!((results.kept, results.dropped), (0, 0));
    }
}
