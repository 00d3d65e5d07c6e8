//! `ManagerActor`: owns the providers and the targets state, and broadcasts throttled snapshots.
//!
//! State is kept as a persistent map job → provider → source → group (see the [`snapshot`](crate::snapshot) module), so a
//! one-group change is O(log n) and a snapshot is O(1). Broadcasts are throttled on an interval
//! timer with a leading edge: the first change after a quiet interval is sent at once, later
//! ones coalesce until the next tick. A provider's first state is always sent at once, so the
//! first targets arrive in milliseconds, not after Prometheus' 5 s tick. Each subscriber has at most one message in flight; while
//! one is, later changes coalesce and the newest state is sent when it completes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use actix::WeakRecipient;
use tokio::time::Instant;

use crate::discoverer::{BuildContext, DiscoveryConfig, DiscoveryError};
use crate::messages::*;
use crate::metrics::{ManagerMetrics, RefreshMetrics};
use crate::model::Str;
use crate::provider::{ProviderActor, StopProvider};
use crate::snapshot::{Delta, Snapshot};
use crate::state::TargetsState;

/// How a manager behaves; [`Default`] is Prometheus' behaviour.
#[derive(Clone, Debug)]
pub struct ManagerOptions {
    /// The `name` label of the manager's metrics (`scrape`, `notify`).
    pub name: String,
    /// Minimum time between two broadcasts after the leading one (Prometheus' `updatert`).
    pub interval: Duration,
    /// First delay before restarting a discoverer that panicked; doubles per panic.
    pub restart_backoff: Duration,
    /// Cap of the restart delay.
    pub restart_backoff_max: Duration,
    /// `prometheus_sd_*` series of the manager (discovered targets, updates, failed configs);
    /// the default is registered nowhere: use [`ManagerMetrics::register`] to expose them.
    pub metrics: ManagerMetrics,
    /// `prometheus_sd_refresh_*` series handed to poll-based discoverers; the default is
    /// registered nowhere: use [`RefreshMetrics::register`] to expose them.
    pub refresh_metrics: RefreshMetrics,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            name: "scrape".to_owned(),
            interval: Duration::from_secs(5),
            restart_backoff: Duration::from_secs(1),
            restart_backoff_max: Duration::from_secs(60),
            metrics: ManagerMetrics::default(),
            refresh_metrics: RefreshMetrics::default(),
        }
    }
}

struct Provider {
    name: Str,
    key: (&'static str, String),
    config: Arc<dyn DiscoveryConfig>,
    config_name: Str,
    addr: Option<Addr<ProviderActor>>,
    generation: u64,
    state: ProviderState,
    last_update: Option<SystemTime>,
    last_error: Option<DiscoveryError>,
    last_error_at: Option<SystemTime>,
    errors: u64,
    restarts: u64,
    backoff: Duration,
    started_at: Instant,
}

struct Subscriber {
    recipient: WeakRecipient<SyncTargets>,
    /// Change-log sequence number of the state last sent; `None` before the first message.
    last_seq: Option<u64>,
    in_flight: bool,
    pending: bool,
}

/// The discovery manager. Create it with [`ManagerActor::new`] and `start()` it in any actix
/// system; send it [`ApplyConfig`] and [`Subscribe`].
pub struct ManagerActor {
    options: ManagerOptions,
    providers: HashMap<ProviderId, Provider>,
    by_key: HashMap<(&'static str, String), ProviderId>,
    next_provider: u64,
    state: TargetsState,
    configured: bool,
    subscribers: BTreeMap<SubscriptionId, Subscriber>,
    next_subscription: u64,
    /// Changes are waiting for the next tick.
    dirty: bool,
    /// A broadcast happened in the current interval: the next change waits for the tick.
    window_busy: bool,
    /// Bumped whenever a provider's status may have changed, for [`WatchStatus`].
    status_version: tokio::sync::watch::Sender<u64>,
}

impl ManagerActor {
    /// A manager with these options; `start()` it in an actix system.
    pub fn new(options: ManagerOptions) -> Self {
        ManagerActor {
            options,
            providers: HashMap::new(),
            by_key: HashMap::new(),
            next_provider: 0,
            state: TargetsState::new(),
            configured: false,
            subscribers: BTreeMap::new(),
            next_subscription: 0,
            dirty: false,
            window_busy: false,
            status_version: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Tells [`WatchStatus`] receivers that a provider's status may have changed.
    fn status_changed(&self) {
        self.status_version.send_modify(|version| *version += 1);
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.state.snapshot()
    }

    /// Starts (or restarts) the discoverer of provider `id`.
    fn start_provider(
        &mut self,
        id: ProviderId,
        ctx: &mut Context<Self>,
    ) -> Result<(), DiscoveryError> {
        let provider = self.providers.get_mut(&id).expect("provider exists");
        let build = BuildContext {
            provider: provider.name.clone(),
            config_name: provider.config_name.clone(),
            refresh_metrics: self.options.refresh_metrics.clone(),
        };
        let stream = provider.config.build(&build)?;
        provider.generation += 1;
        provider.state = ProviderState::Running;
        provider.started_at = Instant::now();
        let actor = ProviderActor::new(id, provider.generation, ctx.address(), stream);
        provider.addr = Some(actor.start());
        Ok(())
    }

    fn stop_provider(&mut self, id: ProviderId) {
        if let Some(provider) = self.providers.remove(&id) {
            self.by_key.remove(&provider.key);
            if let Some(addr) = provider.addr {
                addr.do_send(StopProvider);
            }
            let jobs = self.state.provider(id).map(|p| p.jobs).unwrap_or_default();
            self.state.remove_provider(id);
            for job in &jobs {
                self.options.refresh_metrics.remove(provider.key.0, job);
            }
            self.options
                .metrics
                .remove_restarts(provider.key.0, &provider.config_name);
        }
    }

    /// Something changed: broadcast now if the interval is quiet, else at the next tick.
    fn changed(&mut self, ctx: &mut Context<Self>) {
        self.dirty = true;
        if !self.window_busy {
            self.broadcast(ctx);
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.dirty {
            self.broadcast(ctx);
        } else {
            self.window_busy = false;
        }
    }

    fn broadcast(&mut self, ctx: &mut Context<Self>) {
        self.dirty = false;
        self.window_busy = true;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        for (job, targets) in self.state.jobs() {
            self.options
                .metrics
                .discovered_targets(job)
                .set(targets.target_count() as i64);
            self.options.metrics.last_update(job).set(now);
        }
        let snapshot = self.snapshot();
        let mut deltas: HashMap<Option<u64>, Arc<Delta>> = HashMap::new();
        let ids: Vec<SubscriptionId> = self.subscribers.keys().copied().collect();
        for id in ids {
            self.deliver(id, &snapshot, &mut deltas, ctx);
        }
        self.prune_log();
    }

    /// Sends the current state to one subscriber, unless one message is already in flight.
    fn deliver(
        &mut self,
        id: SubscriptionId,
        snapshot: &Arc<Snapshot>,
        deltas: &mut HashMap<Option<u64>, Arc<Delta>>,
        ctx: &mut Context<Self>,
    ) {
        let seq = self.state.seq();
        let Some(sub) = self.subscribers.get_mut(&id) else {
            return;
        };
        if sub.last_seq == Some(seq) {
            return;
        }
        if sub.in_flight {
            if !sub.pending {
                sub.pending = true;
                self.options.metrics.delayed_updates.inc();
            }
            return;
        }
        let Some(recipient) = sub.recipient.upgrade() else {
            self.subscribers.remove(&id);
            return;
        };
        let since = sub.last_seq;
        let delta = deltas
            .entry(since)
            .or_insert_with(|| match since {
                None => Arc::new(Delta::Full),
                Some(s) => Arc::new(self.state.delta_since(s, snapshot)),
            })
            .clone();
        sub.last_seq = Some(seq);
        sub.in_flight = true;
        self.options.metrics.sent_updates.inc();
        let message = SyncTargets {
            snapshot: snapshot.clone(),
            delta,
        };
        ctx.spawn(
            recipient
                .send(message)
                .into_actor(self)
                .map(move |result, act, ctx| act.delivered(id, result.is_ok(), ctx)),
        );
    }

    fn delivered(&mut self, id: SubscriptionId, ok: bool, ctx: &mut Context<Self>) {
        if !ok {
            tracing::debug!(subscription = id.0, "subscriber gone, removed");
            self.subscribers.remove(&id);
            self.prune_log();
            return;
        }
        let Some(sub) = self.subscribers.get_mut(&id) else {
            return;
        };
        sub.in_flight = false;
        if std::mem::take(&mut sub.pending) {
            let snapshot = self.snapshot();
            self.deliver(id, &snapshot, &mut HashMap::new(), ctx);
        }
        self.prune_log();
    }

    fn prune_log(&mut self) {
        let oldest = self
            .subscribers
            .values()
            .map(|s| s.last_seq.unwrap_or(0))
            .min();
        self.state.prune(oldest);
    }

    fn status(&self) -> Vec<ProviderStatus> {
        let mut out: Vec<ProviderStatus> = self
            .providers
            .iter()
            .map(|(id, p)| (p, self.state.provider(*id).expect("provider has state")))
            .map(|(p, held)| ProviderStatus {
                name: p.name.clone(),
                mechanism: p.key.0,
                jobs: held.jobs,
                state: p.state,
                groups: held.groups,
                targets: held.targets,
                delivered: held.delivered,
                last_update: p.last_update,
                last_error: p.last_error.clone(),
                last_error_at: p.last_error_at,
                errors: p.errors,
                restarts: p.restarts,
                generation: p.generation,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

impl Actor for ManagerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.options.interval, |act, ctx| act.tick(ctx));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        for provider in self.providers.values() {
            if let Some(addr) = &provider.addr {
                addr.do_send(StopProvider);
            }
        }
    }
}

impl Handler<ApplyConfig> for ManagerActor {
    type Result = MessageResult<ApplyConfig>;

    fn handle(&mut self, msg: ApplyConfig, ctx: &mut Self::Context) -> Self::Result {
        let mut outcome = ApplyOutcome::default();
        // Which providers each job wants, in config order; new providers are created here.
        let mut wanted: BTreeMap<Str, Vec<ProviderId>> = BTreeMap::new();
        let mut failed_starts: HashSet<ProviderId> = HashSet::new();
        for (job, configs) in msg.jobs {
            let job: Str = Arc::from(job);
            let mut ids: Vec<ProviderId> = Vec::new();
            for config in configs {
                let key = (config.mechanism(), config.identity());
                let id = match self.by_key.get(&key) {
                    Some(id) => *id,
                    None => {
                        let id = self.next_provider;
                        self.next_provider += 1;
                        let name: Str = Arc::from(format!("{}/{}", key.0, id));
                        self.providers.insert(
                            id,
                            Provider {
                                name: name.clone(),
                                key: key.clone(),
                                config,
                                config_name: job.clone(),
                                addr: None,
                                generation: 0,
                                state: ProviderState::Running,
                                last_update: None,
                                last_error: None,
                                last_error_at: None,
                                errors: 0,
                                restarts: 0,
                                backoff: self.options.restart_backoff,
                                started_at: Instant::now(),
                            },
                        );
                        self.by_key.insert(key.clone(), id);
                        self.state.add_provider(id, name.clone());
                        if let Err(error) = self.start_provider(id, ctx) {
                            tracing::error!(job = %job, mechanism = key.0, %error, "cannot create service discovery");
                            outcome.failed.push((job.clone(), key.0, error));
                            failed_starts.insert(id);
                        } else {
                            outcome.started.push(name);
                        }
                        id
                    }
                };
                if !ids.contains(&id) && !failed_starts.contains(&id) {
                    ids.push(id);
                }
            }
            wanted.insert(job, ids);
        }
        for id in failed_starts {
            if let Some(p) = self.providers.remove(&id) {
                self.by_key.remove(&p.key);
                self.state.remove_provider(id);
            }
        }
        self.options
            .metrics
            .failed_configs
            .set(outcome.failed.len() as i64);

        // Jobs first (so that leaving providers' groups are logged), then stop unused providers.
        let still_wanted: HashSet<ProviderId> = wanted.values().flatten().copied().collect();
        for job in self.state.set_jobs(&wanted) {
            self.options.metrics.remove_job(&job);
        }
        for job in wanted.keys() {
            // A new job's series exists (at 0) from now on, as in Prometheus.
            drop(self.options.metrics.discovered_targets(job));
        }
        let unused: Vec<ProviderId> = self
            .providers
            .keys()
            .filter(|id| !still_wanted.contains(id))
            .copied()
            .collect();
        for id in unused {
            outcome.stopped.push(self.providers[&id].name.clone());
            self.stop_provider(id);
        }
        outcome.stopped.sort();
        for id in still_wanted {
            let name = self.providers[&id].name.clone();
            if !outcome.started.contains(&name) {
                outcome.kept.push(name);
            }
        }
        outcome.kept.sort();
        self.configured = true;
        self.changed(ctx);
        self.status_changed();
        MessageResult(outcome)
    }
}

impl Handler<GroupUpdate> for ManagerActor {
    type Result = ();

    fn handle(&mut self, msg: GroupUpdate, ctx: &mut Self::Context) {
        self.options.metrics.received_updates.inc();
        let current = self.providers.get(&msg.provider).map(|p| p.generation);
        if current != Some(msg.generation) {
            tracing::debug!(
                provider = msg.provider,
                generation = msg.generation,
                "stale update dropped"
            );
            return;
        }
        if let Some(p) = self.providers.get_mut(&msg.provider) {
            p.last_update = Some(SystemTime::now());
        }
        self.status_changed();
        let first = self
            .state
            .provider(msg.provider)
            .is_some_and(|p| !p.delivered);
        if self.state.apply(msg.provider, msg.update) {
            if first {
                // A provider's first state is news consumers wait for: not throttled.
                self.dirty = true;
                self.broadcast(ctx);
            } else {
                self.changed(ctx);
            }
        }
    }
}

impl Handler<ProviderFailed> for ManagerActor {
    type Result = ();

    fn handle(&mut self, msg: ProviderFailed, _: &mut Self::Context) {
        if let Some(p) = self.providers.get_mut(&msg.provider) {
            if p.generation == msg.generation {
                p.errors += 1;
                p.last_error = Some(msg.error);
                p.last_error_at = Some(SystemTime::now());
                self.status_changed();
            }
        }
    }
}

impl Handler<ProviderEnded> for ManagerActor {
    type Result = ();

    fn handle(&mut self, msg: ProviderEnded, ctx: &mut Self::Context) {
        let Some(p) = self.providers.get_mut(&msg.provider) else {
            return;
        };
        if p.generation != msg.generation {
            return;
        }
        p.addr = None;
        let Some(panic) = msg.panic else {
            // An ended stream keeps its state: a static discoverer ends at once.
            p.state = ProviderState::Ended;
            if self.state.mark_delivered(msg.provider) {
                self.changed(ctx);
            }
            self.status_changed();
            return;
        };
        // A panic: restart after a backoff that grows while the discoverer keeps panicking.
        if p.started_at.elapsed() > self.options.restart_backoff_max {
            p.backoff = self.options.restart_backoff;
        }
        let delay = p.backoff;
        p.backoff = (p.backoff * 2).min(self.options.restart_backoff_max);
        p.state = ProviderState::Restarting;
        p.restarts += 1;
        p.last_error = Some(DiscoveryError::new(format!("discoverer panicked: {panic}")));
        p.last_error_at = Some(SystemTime::now());
        self.options
            .metrics
            .provider_restarts(p.key.0, &p.config_name)
            .inc();
        tracing::warn!(provider = %p.name, ?delay, "restarting discoverer after panic");
        self.status_changed();
        let (id, generation) = (msg.provider, msg.generation);
        ctx.run_later(delay, move |act, ctx| {
            let Some(p) = act.providers.get(&id) else {
                return;
            };
            if p.generation != generation || p.state != ProviderState::Restarting {
                return;
            }
            if let Err(error) = act.start_provider(id, ctx) {
                tracing::error!(provider = id, %error, "cannot restart service discovery");
                if let Some(p) = act.providers.get_mut(&id) {
                    p.last_error = Some(error);
                    p.last_error_at = Some(SystemTime::now());
                    p.state = ProviderState::Ended;
                }
            }
            act.status_changed();
        });
    }
}

impl Handler<Subscribe> for ManagerActor {
    type Result = MessageResult<Subscribe>;

    fn handle(&mut self, msg: Subscribe, ctx: &mut Self::Context) -> Self::Result {
        let id = SubscriptionId(self.next_subscription);
        self.next_subscription += 1;
        self.subscribers.insert(
            id,
            Subscriber {
                recipient: msg.0.downgrade(),
                last_seq: None,
                in_flight: false,
                pending: false,
            },
        );
        if self.configured {
            let snapshot = self.snapshot();
            self.deliver(id, &snapshot, &mut HashMap::new(), ctx);
        }
        let manager = ctx.address().recipient::<Unsubscribe>().downgrade();
        MessageResult(Subscription::new(id, msg.0, manager))
    }
}

impl Handler<Unsubscribe> for ManagerActor {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, _: &mut Self::Context) {
        self.subscribers.remove(&msg.0);
        self.prune_log();
    }
}

impl Handler<GetSnapshot> for ManagerActor {
    type Result = MessageResult<GetSnapshot>;

    fn handle(&mut self, _: GetSnapshot, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.snapshot())
    }
}

impl Handler<GetStatus> for ManagerActor {
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.status())
    }
}

impl Handler<WatchStatus> for ManagerActor {
    type Result = MessageResult<WatchStatus>;

    fn handle(&mut self, _: WatchStatus, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.status_version.subscribe())
    }
}

impl Handler<CountSubscribers> for ManagerActor {
    type Result = usize;

    fn handle(&mut self, _: CountSubscribers, _: &mut Self::Context) -> usize {
        self.subscribers.len()
    }
}
