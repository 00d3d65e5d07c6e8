//! promsd's discovery engine: Prometheus' discovery manager as actix actors.
//!
//! # Where to start
//! - [`ManagerActor`] receives [`ApplyConfig`] (jobs → discovery configs) and runs one
//!   [`ProviderActor`] per distinct config; subscribers registered with [`Subscribe`] receive
//!   throttled [`SyncTargets`]: the full [`Snapshot`] and the [`Delta`] since their last message.
//! - A mechanism implements [`DiscoveryConfig`] and returns a [`Discoverer`] stream;
//!   poll-based mechanisms use [`refresh_discoverer`].
//! - With the `testing` feature, [`testing`] has a discoverer fed by a channel and a subscriber
//!   that records what it receives.
//!
//! The engine knows no mechanism, no YAML and no HTTP: those live in the `promsd` crate.
//!
//! # Layout
//! - `model`: [`LabelSet`], [`TargetGroup`].
//! - `name`: [`Name`], the label-name interner.
//! - `discoverer`: the mechanism contract.
//! - `refresh`: the poll helper.
//! - `messages`: what actors say to each other.
//! - `provider`, `manager`: the actors.
//! - `snapshot`: the state subscribers see, and how deltas are derived.
//! - `metrics`: `prometheus_sd_*`.

pub mod discoverer;
pub mod manager;
pub mod messages;
pub mod metrics;
pub mod model;
pub mod name;
pub mod provider;
pub mod refresh;
pub mod snapshot;
pub mod state;
#[cfg(feature = "testing")]
pub mod testing;

pub use discoverer::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, Update};
pub use manager::{ManagerActor, ManagerOptions};
pub use messages::*;
pub use metrics::{ManagerMetrics, RefreshMetrics};
pub use model::{intern, prefetch, LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};
pub use provider::ProviderActor;
pub use refresh::{refresh_discoverer, RefreshSchedule, Refreshed};
pub use snapshot::{Delta, GroupKey, JobDelta, JobTargets, Snapshot};
pub use state::TargetsState;
