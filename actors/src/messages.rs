//! The messages of the engine: what embedders send the manager, what providers send it, and
//! what subscribers receive.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use actix::prelude::*;
use actix::WeakRecipient;

use crate::discoverer::{DiscoveryConfig, DiscoveryError, Update};
use crate::model::Str;
use crate::snapshot::{Delta, Snapshot};

/// A provider's number, unique within its manager for the manager's lifetime.
pub type ProviderId = u64;

/// Replaces the set of jobs and their discovery configs.
///
/// Providers whose config is unchanged keep running; identical configs share one provider;
/// providers no longer used are stopped and their groups removed. Every job listed appears in
/// the next snapshot, with no targets if it has no configs.
#[derive(Message, Clone, Debug, Default)]
#[rtype(result = "ApplyOutcome")]
pub struct ApplyConfig {
    /// Job name → the discovery configs of that job, in config order.
    pub jobs: BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>>,
}

/// What an [`ApplyConfig`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// Providers started for configs not seen before.
    pub started: Vec<Str>,
    /// Providers kept running.
    pub kept: Vec<Str>,
    /// Providers stopped because no job uses their config any more.
    pub stopped: Vec<Str>,
    /// Configs whose discoverer could not be built: (job, mechanism, error).
    pub failed: Vec<(Str, &'static str, DiscoveryError)>,
}

/// An update from a provider's discoverer, tagged with the provider and the generation of the
/// stream (how many times it was started) that produced it. Stale generations are dropped.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct GroupUpdate {
    /// The provider that sent it.
    pub provider: ProviderId,
    /// The generation of the provider's stream.
    pub generation: u64,
    /// What the discoverer found.
    pub update: Update,
}

/// A discoverer's error item: counted and kept as the provider's last error; state unchanged.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct ProviderFailed {
    /// The provider that sent it.
    pub provider: ProviderId,
    /// The generation of the provider's stream.
    pub generation: u64,
    /// What went wrong.
    pub error: DiscoveryError,
}

/// A provider's stream is over: it ended (state kept), or it panicked (restarted with backoff).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct ProviderEnded {
    /// The provider whose stream is over.
    pub provider: ProviderId,
    /// The generation of the stream that is over.
    pub generation: u64,
    /// The panic's message, if the discoverer panicked.
    pub panic: Option<String>,
}

/// Registers a subscriber; it receives the current state at once (if a config was applied)
/// and every throttled change after that.
///
/// The answer is a [`Subscription`] guard: the subscriber receives updates while the guard
/// lives, and the guard keeps the subscriber actor alive. Dropping the guard unsubscribes. The
/// manager itself holds subscribers only weakly, so it never keeps one alive on its own.
#[derive(Message)]
#[rtype(result = "Subscription")]
pub struct Subscribe(pub Recipient<SyncTargets>);

/// Identifies a subscription, to [`Unsubscribe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u64);

/// A live subscription, answered to [`Subscribe`]. While it lives the subscriber receives
/// [`SyncTargets`] and is kept alive by it; dropping it unsubscribes (so
/// `Subscribe(MyActor.start().recipient())` works as long as the answer is kept).
#[must_use = "dropping a Subscription unsubscribes at once: keep it as long as you want updates"]
pub struct Subscription {
    id: SubscriptionId,
    subscriber: Option<Recipient<SyncTargets>>,
    manager: Option<WeakRecipient<Unsubscribe>>,
}

impl Subscription {
    pub(crate) fn new(
        id: SubscriptionId,
        subscriber: Recipient<SyncTargets>,
        manager: WeakRecipient<Unsubscribe>,
    ) -> Self {
        Subscription {
            id,
            subscriber: Some(subscriber),
            manager: Some(manager),
        }
    }

    /// The subscription's id, for [`Unsubscribe`].
    pub fn id(&self) -> SubscriptionId {
        self.id
    }

    /// Keeps the subscription without a guard: it then lasts as long as the subscriber actor
    /// lives, which someone else must keep alive (its `Addr`), or until [`Unsubscribe`].
    pub fn detach(mut self) -> SubscriptionId {
        self.manager = None;
        self.subscriber = None;
        self.id
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(manager) = self.manager.take().and_then(|m| m.upgrade()) {
            manager.do_send(Unsubscribe(self.id));
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .finish()
    }
}

#[derive(Message, Debug)]
#[rtype(result = "()")]
/// Ends a subscription by id (dropping its [`Subscription`] does the same).
pub struct Unsubscribe(pub SubscriptionId);

/// The targets of every job, sent to subscribers: the full snapshot and the delta since this
/// subscriber's previous message.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct SyncTargets {
    /// The whole state at this moment.
    pub snapshot: Arc<Snapshot>,
    /// What changed since this subscriber's previous message ([`Delta::Full`] for the
    /// first).
    pub delta: Arc<Delta>,
}

/// Asks for the current state, outside of the throttled broadcasts.
#[derive(Message, Debug)]
#[rtype(result = "Arc<Snapshot>")]
pub struct GetSnapshot;

/// Asks for the state of every provider.
#[derive(Message, Debug)]
#[rtype(result = "Vec<ProviderStatus>")]
pub struct GetStatus;

/// Asks for a receiver that changes whenever a provider's status may have changed (an update,
/// an error item, an end, a restart, a config applied): wait on it, then send [`GetStatus`],
/// instead of polling. The value is a version number with no meaning of its own.
#[derive(Message, Debug)]
#[rtype(result = "tokio::sync::watch::Receiver<u64>")]
pub struct WatchStatus;

/// How a provider is doing, for the status API and readiness.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderStatus {
    /// The provider's name, `<mechanism>/<n>`.
    pub name: Str,
    /// The mechanism, as in `<mechanism>_sd_configs`.
    pub mechanism: &'static str,
    /// Jobs served by this provider.
    pub jobs: Vec<Str>,
    /// Running, restarting or ended.
    pub state: ProviderState,
    /// Groups the provider holds now.
    pub groups: usize,
    /// Targets across those groups.
    pub targets: usize,
    /// The first state has arrived (or the stream ended before sending one).
    pub delivered: bool,
    /// When its state last changed.
    pub last_update: Option<SystemTime>,
    /// The last error item its discoverer sent (kept after a recovery: see `last_error_at`).
    pub last_error: Option<DiscoveryError>,
    /// When the last error happened: compare with `last_update` to tell a provider that is
    /// failing now from one that recovered.
    pub last_error_at: Option<SystemTime>,
    /// Error items received.
    pub errors: u64,
    /// Restarts after a panic.
    pub restarts: u64,
    /// How many times the discoverer was started.
    pub generation: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// The lifecycle of a provider's discoverer.
pub enum ProviderState {
    /// The discoverer's stream is running.
    Running,
    /// The discoverer panicked; it is restarted after a backoff. Its last state stands.
    Restarting,
    /// The stream ended (e.g. static configs); its last state stands.
    Ended,
}

impl ProviderState {
    /// `running`, `restarting` or `ended`, as the status API writes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProviderState::Running => "running",
            ProviderState::Restarting => "restarting",
            ProviderState::Ended => "ended",
        }
    }
}

/// Asks how many subscribers are registered.
#[derive(Message, Debug)]
#[rtype(result = "usize")]
pub struct CountSubscribers;
