//! What the pipeline asks of a job and gets back: how a group is populated and relabeled
//! ([`JobPipeline`]) and what became of each target ([`Outcome`]). The daemon's plan builds
//! these from the config; the pipeline and the HTTP handlers only read them.

use std::sync::Arc;

use promsd_actors::{LabelSet, Str, TargetGroup};

/// What became of one discovered target after population and relabeling: kept with its final
/// labels and shard identity, or dropped and why. `L` is the final labels ([`TargetOutcome`]),
/// or nothing when only the summary is kept ([`TargetSummary`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<L> {
    Kept {
        labels: L,
        /// Shard identity (`shard::target_identity`).
        identity: u64,
    },
    /// Why the target was dropped (the rule, or the validation error); shared by every target
    /// the same rule dropped.
    Dropped { because: Str },
}

/// One target as [`Populate`] returns it.
pub type TargetOutcome = Outcome<LabelSet>;

/// What the pipeline keeps of a target: whether it is kept (and its shard identity) or why it
/// was dropped. Its labels are not kept: a kept target's final labels are already in its HTTP
/// SD entry, and both label sets are recomputed from its group when the API asks
/// ([`super::JobResults::outcomes`], [`super::JobResults::discovered`]), which costs a
/// relabeling of one group per target shown.
pub type TargetSummary = Outcome<()>;

impl<L> Outcome<L> {
    pub fn is_kept(&self) -> bool {
        matches!(self, Outcome::Kept { .. })
    }

    /// The final labels of a kept target.
    pub fn labels(&self) -> Option<&L> {
        match self {
            Outcome::Kept { labels, .. } => Some(labels),
            Outcome::Dropped { .. } => None,
        }
    }

    /// The shard identity of a kept target.
    pub fn identity(&self) -> Option<u64> {
        match self {
            Outcome::Kept { identity, .. } => Some(*identity),
            Outcome::Dropped { .. } => None,
        }
    }

    /// Why a dropped target was dropped.
    pub fn dropped_because(&self) -> Option<&Str> {
        match self {
            Outcome::Kept { .. } => None,
            Outcome::Dropped { because } => Some(because),
        }
    }

    /// The outcome without its labels.
    pub fn summary(&self) -> TargetSummary {
        match self {
            Outcome::Kept { identity, .. } => Outcome::Kept {
                labels: (),
                identity: *identity,
            },
            Outcome::Dropped { because } => Outcome::Dropped {
                because: because.clone(),
            },
        }
    }
}

/// Populates and relabels one group of a job.
pub type Populate = Arc<dyn Fn(&TargetGroup) -> Vec<TargetOutcome> + Send + Sync>;

/// The discovered labels (before relabeling) of target `index` of a group of a job.
pub type Discover = Arc<dyn Fn(&TargetGroup, usize) -> LabelSet + Send + Sync>;

/// How a job's targets are populated; `fingerprint` changes when its settings do.
#[derive(Clone)]
pub struct JobPipeline {
    pub populate: Populate,
    pub discover: Discover,
    pub fingerprint: String,
}

impl std::fmt::Debug for JobPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobPipeline")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_costs_no_more_than_a_reason_or_an_identity() {
        // One per discovered target: the enum keeps its tag in the reason's pointer.
        assert_eq!(
            std::mem::size_of::<TargetSummary>(),
            std::mem::size_of::<Str>()
        );
    }
}
