//! promsd's discovery engine: Prometheus' discovery manager as actix actors.
//!
//! # Where to start
//! - From tokio code (axum, hyper, a `#[tokio::test]`), no actors: [`Engine`] runs the engine
//!   on its own thread; [`Engine::snapshots`] is a `tokio::sync::watch` of the newest
//!   [`Snapshot`], [`Engine::updates`] a `futures::Stream` of snapshots with their [`Delta`].
//! - Inside an actix system: [`ManagerActor`] receives [`ApplyConfig`] (jobs → discovery
//!   configs) and runs one [`ProviderActor`] per distinct config; subscribers registered with
//!   [`Subscribe`] receive throttled [`SyncTargets`]: the full [`Snapshot`] and the [`Delta`]
//!   since their last message, for as long as they hold the [`Subscription`] they get back.
//! - A mechanism implements [`DiscoveryConfig`] and returns a [`Discoverer`] stream;
//!   poll-based mechanisms use [`refresh_discoverer`].
//! - With the `testing` feature, `testing` has a discoverer fed by a channel, a subscriber
//!   that records what it receives, and `wait_for_status`, which awaits a condition on the
//!   providers' status (an error recorded) with a deadline.
//!
//! The engine knows no mechanism, no YAML and no HTTP: those live in the `promsd` crate, whose
//! `embed` module loads a `prometheus.yml` into [`ApplyConfig`]'s jobs, relabels targets as the
//! daemon does, and has a getting-started page per use (actix server, plain tokio, test
//! harness).
//!
//! # Serializing
//! [`TargetGroup`]'s `Serialize` is Prometheus' target-group shape (file and HTTP SD), which
//! keeps only each target's address. [`Lossless`] and [`Snapshot`]'s `Serialize` keep every
//! target's own labels; [`TargetGroup::merged_targets`] merges each target's labels with its
//! group's.
//!
//! # Layout
//! - `model`: [`LabelSet`], [`TargetGroup`], [`Lossless`].
//! - `name`: [`Name`], the label-name interner.
//! - `discoverer`: the mechanism contract.
//! - `refresh`: the poll helper.
//! - `messages`: what actors say to each other.
//! - `provider`, `manager`: the actors.
//! - `engine`: the front door without actors.
//! - `snapshot`: the state subscribers see, and how deltas are derived.
//! - `metrics`: `prometheus_sd_*`.

pub mod discoverer;
pub mod engine;
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
pub use engine::{Engine, EngineStopped, Updates};
pub use manager::{ManagerActor, ManagerOptions};
pub use messages::*;
pub use metrics::{ManagerMetrics, RefreshMetrics};
pub use model::{intern, prefetch, LabelSet, Lossless, Name, Str, TargetGroup, ADDRESS_LABEL};
pub use provider::ProviderActor;
pub use refresh::{refresh_discoverer, RefreshSchedule, Refreshed};
pub use snapshot::{Delta, GroupKey, JobDelta, JobTargets, ProviderTargets, Snapshot};
pub use state::TargetsState;
