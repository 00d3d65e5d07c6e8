//! The daemon's targets pipeline: a subscriber actor that turns the engine's `SyncTargets` into
//! relabeled targets per job, and publishes them as an immutable [`TargetsView`] that HTTP
//! handlers read without locking the pipeline.
//!
//! # Layout
//! - `contract.rs`: what a job's pipeline is ([`JobPipeline`]) and what became of a target
//!   ([`Outcome`]: kept with its labels and shard identity, or dropped and why).
//! - `results.rs`: a job's results group by group, and their kept/dropped counts.
//! - `view.rs`: the published views, and each job's cache of rendered HTTP SD bodies.
//! - `actor.rs`: the actor applying the engine's deltas and the jobs' settings.
//!
//! The HTTP SD rendering (a group's entries, a job's body in identity order, shards) lives
//! beside its route in `server/http_sd/`.

mod actor;
mod contract;
mod results;
#[cfg(test)]
pub(crate) mod test_support;
mod view;

pub use actor::{OnJobChange, SetJobs, TargetsPipeline};
pub use contract::{Discover, JobPipeline, Outcome, Populate, TargetOutcome, TargetSummary};
pub use results::{GroupOutcomes, JobResults};
pub use view::{JobView, SharedView, TargetsView, RENDERED_WAYS};
