//! Test doubles for embedders' tests (feature `testing`): a discoverer driven by a channel, a
//! subscriber that records what it receives and awaits a condition with a deadline, and
//! [`wait_for_status`], which awaits a condition on the providers' status (an error recorded,
//! a restart) with a deadline.
//!
//! ```no_run
//! use std::time::Duration;
//! use actix::prelude::*;
//! use promsd_actors::testing::{channel_discoverer, RecordingSubscriber};
//! use promsd_actors::*;
//!
//! #[actix::test]
//! async fn targets_reach_subscribers() {
//!     let manager = ManagerActor::new(ManagerOptions::default()).start();
//!     let (config, feed) = channel_discoverer("my-sd");
//!     let (subscriber, recording) = RecordingSubscriber::start();
//!     // Keep the subscription: dropping it unsubscribes.
//!     let _subscription = manager.send(Subscribe(subscriber.recipient())).await.unwrap();
//!     manager.send(ApplyConfig { jobs: [("job".into(), vec![config])].into() }).await.unwrap();
//!     feed.full(vec![promsd_actors::testing::group("g", &["10.0.0.1:9100"])]);
//!     recording
//!         .wait_for(Duration::from_secs(10), |m| promsd_actors::testing::addresses(m.last().unwrap(), "job") == ["10.0.0.1:9100"])
//!         .await
//!         .unwrap();
//! }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use futures::StreamExt;
use tokio::sync::{mpsc, Notify, Semaphore};

use crate::discoverer::{BuildContext, Discoverer, DiscoveryConfig, DiscoveryError, Update};
use crate::messages::{GetStatus, ProviderStatus, SyncTargets, WatchStatus};
use crate::model::{LabelSet, TargetGroup};

enum Command {
    Item(Result<Update, DiscoveryError>),
    Panic,
    End,
}

#[derive(Default)]
struct Feed {
    sender: Option<mpsc::UnboundedSender<Command>>,
    starts: usize,
}

/// A discovery config whose discoverer yields what the paired [`ChannelFeed`] sends.
#[derive(Clone)]
pub struct ChannelConfig {
    identity: String,
    feed: Arc<Mutex<Feed>>,
}

impl std::fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChannelConfig({})", self.identity)
    }
}

/// Feeds the discoverer of a [`ChannelConfig`]; commands reach the most recently started stream.
#[derive(Clone)]
pub struct ChannelFeed {
    feed: Arc<Mutex<Feed>>,
}

/// A config (mechanism `channel`) with the given identity, and the feed that drives it. Two
/// configs with equal identities are equal to the manager and share one provider.
pub fn channel_discoverer(identity: &str) -> (Arc<dyn DiscoveryConfig>, ChannelFeed) {
    let feed = Arc::new(Mutex::new(Feed::default()));
    let config = ChannelConfig {
        identity: identity.to_owned(),
        feed: feed.clone(),
    };
    (Arc::new(config), ChannelFeed { feed })
}

impl DiscoveryConfig for ChannelConfig {
    fn mechanism(&self) -> &'static str {
        "channel"
    }

    fn identity(&self) -> String {
        self.identity.clone()
    }

    fn build(&self, _: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut feed = self.feed.lock().unwrap();
            feed.sender = Some(tx);
            feed.starts += 1;
        }
        Ok(futures::stream::unfold(rx, |mut rx| async move {
            match rx.recv().await? {
                Command::Item(item) => Some((item, rx)),
                Command::Panic => panic!("channel discoverer told to panic"),
                Command::End => None,
            }
        })
        .boxed())
    }
}

impl ChannelFeed {
    fn command(&self, command: Command) -> bool {
        let feed = self.feed.lock().unwrap();
        feed.sender
            .as_ref()
            .is_some_and(|s| s.send(command).is_ok())
    }

    /// Sends a full state. Returns true if a running stream took it, false if no stream is
    /// running (not built yet, ended, or stopped).
    pub fn full(&self, groups: Vec<TargetGroup>) -> bool {
        self.command(Command::Item(Ok(Update::Full(groups))))
    }

    /// Sends changed groups. Returns false if no stream is running, as [`full`](Self::full).
    pub fn changed(&self, groups: Vec<TargetGroup>) -> bool {
        self.command(Command::Item(Ok(Update::Changed(groups))))
    }

    /// Sends an error item (the provider's state stands, its error is recorded). Returns false
    /// if no stream is running.
    pub fn fail(&self, message: &str) -> bool {
        self.command(Command::Item(Err(DiscoveryError::new(message))))
    }

    /// Makes the running stream panic (the manager restarts it after a backoff). Returns false
    /// if no stream is running.
    pub fn panic(&self) -> bool {
        self.command(Command::Panic)
    }

    /// Ends the running stream (its last state stands). Returns false if no stream is running.
    pub fn end(&self) -> bool {
        self.command(Command::End)
    }

    /// How many times the discoverer was built (started).
    pub fn starts(&self) -> usize {
        self.feed.lock().unwrap().starts
    }
}

/// A group of targets identified by their addresses.
pub fn group(source: &str, addresses: &[&str]) -> TargetGroup {
    TargetGroup::new(
        source,
        addresses
            .iter()
            .map(|a| LabelSet::from_address(*a))
            .collect(),
        LabelSet::new(),
    )
}

/// The sorted addresses of a job's targets in a message (empty if the job is absent).
pub fn addresses(message: &SyncTargets, job: &str) -> Vec<String> {
    let mut out: Vec<String> = message
        .snapshot
        .job(job)
        .map(|j| {
            j.groups()
                .flat_map(|(_, g)| g.targets.iter())
                .filter_map(|t| t.get(crate::ADDRESS_LABEL).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[derive(Default)]
struct Log {
    messages: Mutex<Vec<SyncTargets>>,
    arrived: Notify,
}

/// A subscriber that records every [`SyncTargets`]. A gated one holds each message until the
/// test releases it, to play a slow consumer.
pub struct RecordingSubscriber {
    log: Arc<Log>,
    gate: Option<Arc<Semaphore>>,
}

/// The test's side of a [`RecordingSubscriber`].
#[derive(Clone)]
pub struct Recording {
    log: Arc<Log>,
    gate: Option<Arc<Semaphore>>,
}

impl RecordingSubscriber {
    /// A subscriber that takes every message at once.
    pub fn start() -> (Addr<Self>, Recording) {
        Self::start_with(None)
    }

    /// A subscriber that finishes handling a message only when the test calls
    /// [`Recording::release`].
    pub fn start_gated() -> (Addr<Self>, Recording) {
        Self::start_with(Some(Arc::new(Semaphore::new(0))))
    }

    fn start_with(gate: Option<Arc<Semaphore>>) -> (Addr<Self>, Recording) {
        let log = Arc::new(Log::default());
        let addr = RecordingSubscriber {
            log: log.clone(),
            gate: gate.clone(),
        }
        .start();
        (addr, Recording { log, gate })
    }
}

impl Actor for RecordingSubscriber {
    type Context = Context<Self>;
}

impl Handler<SyncTargets> for RecordingSubscriber {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) -> Self::Result {
        self.log.messages.lock().unwrap().push(msg);
        self.log.arrived.notify_waiters();
        let gate = self.gate.clone();
        Box::pin(async move {
            if let Some(gate) = gate {
                if let Ok(permit) = gate.acquire().await {
                    permit.forget();
                }
            }
        })
    }
}

impl Recording {
    /// Every message received so far.
    pub fn messages(&self) -> Vec<SyncTargets> {
        self.log.messages.lock().unwrap().clone()
    }

    /// How many messages were received so far.
    pub fn count(&self) -> usize {
        self.log.messages.lock().unwrap().len()
    }

    /// The newest message received, if any.
    pub fn last(&self) -> Option<SyncTargets> {
        self.log.messages.lock().unwrap().last().cloned()
    }

    /// Lets `n` held messages of a gated subscriber complete.
    pub fn release(&self, n: usize) {
        if let Some(gate) = &self.gate {
            gate.add_permits(n);
        }
    }

    /// Waits until `condition` holds for the messages received, or fails after `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        condition: impl Fn(&[SyncTargets]) -> bool,
    ) -> Result<Vec<SyncTargets>, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.log.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let messages = self.log.messages.lock().unwrap();
                if condition(&messages) {
                    return Ok(messages.clone());
                }
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Err(format!(
                    "condition not met within {timeout:?}; {} messages received",
                    self.count()
                ));
            }
        }
    }
}

/// Waits until `condition` holds for the manager's provider statuses (what [`GetStatus`]
/// answers, sorted by provider name), or fails after `timeout` with the last statuses seen. It
/// waits on the manager's [`WatchStatus`] events, never by polling, so a test can wait for an
/// error item to be recorded:
///
/// ```no_run
/// # use std::time::Duration;
/// # async fn example(manager: actix::Addr<promsd_actors::ManagerActor>) {
/// let statuses = promsd_actors::testing::wait_for_status(&manager, Duration::from_secs(10), |s| {
///     s.iter().any(|p| p.last_error.as_ref().is_some_and(|e| e.message().contains("refused")))
/// })
/// .await
/// .unwrap();
/// # }
/// ```
///
/// Works from any tokio runtime, inside the manager's actix system or not.
pub async fn wait_for_status(
    manager: &Addr<crate::ManagerActor>,
    timeout: Duration,
    condition: impl Fn(&[ProviderStatus]) -> bool,
) -> Result<Vec<ProviderStatus>, String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut changes = manager
        .send(WatchStatus)
        .await
        .map_err(|e| format!("manager stopped: {e}"))?;
    loop {
        changes.borrow_and_update();
        let statuses = manager
            .send(GetStatus)
            .await
            .map_err(|e| format!("manager stopped: {e}"))?;
        if condition(&statuses) {
            return Ok(statuses);
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err("manager stopped".to_owned()),
            Err(_) => {
                return Err(format!(
                    "status condition not met within {timeout:?}; last statuses: {statuses:#?}"
                ))
            }
        }
    }
}

/// A manager running one job, and a subscriber recording every message it sends.
pub struct OneJob {
    /// The running manager.
    pub manager: Addr<crate::ManagerActor>,
    /// The recording subscriber (kept alive by `subscription` too).
    pub subscriber: Addr<RecordingSubscriber>,
    /// The subscriber's subscription: dropping it unsubscribes.
    pub subscription: crate::Subscription,
    /// What the subscriber received.
    pub recording: Recording,
    /// What applying the job did.
    pub outcome: crate::ApplyOutcome,
}

impl OneJob {
    /// [`wait_for_status`] on this job's manager.
    pub async fn wait_for_status(
        &self,
        timeout: Duration,
        condition: impl Fn(&[ProviderStatus]) -> bool,
    ) -> Result<Vec<ProviderStatus>, String> {
        wait_for_status(&self.manager, timeout, condition).await
    }
}

/// Starts a manager (broadcast interval `interval`), subscribes a recording subscriber and
/// applies one job with `configs`: the usual start of a mechanism's test through the engine.
pub async fn start_one_job(
    job: &str,
    configs: Vec<Arc<dyn DiscoveryConfig>>,
    interval: Duration,
) -> OneJob {
    let manager = crate::ManagerActor::new(crate::ManagerOptions {
        interval,
        ..crate::ManagerOptions::default()
    })
    .start();
    let (subscriber, recording) = RecordingSubscriber::start();
    let subscription = manager
        .send(crate::Subscribe(subscriber.clone().recipient()))
        .await
        .expect("manager running");
    let outcome = manager
        .send(crate::ApplyConfig {
            jobs: [(job.to_owned(), configs)].into(),
        })
        .await
        .expect("manager running");
    OneJob {
        manager,
        subscriber,
        subscription,
        recording,
        outcome,
    }
}

/// A [`Recording::wait_for`] condition: the last message lists exactly these addresses (sorted)
/// for `job`.
pub fn job_addresses_are<'a>(
    job: &'a str,
    want: &'a [&'a str],
) -> impl Fn(&[SyncTargets]) -> bool + 'a {
    move |messages| messages.last().is_some_and(|m| addresses(m, job) == want)
}
