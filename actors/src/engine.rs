//! The front door without actors, for tokio programs (axum, hyper, tonic, plain
//! `#[tokio::test]`s): [`Engine`] runs a [`ManagerActor`] in an actix system on a thread of its
//! own and hands out its state as tokio and futures types, as kube-runtime hands out a
//! reflector's store and a watcher's stream:
//! - [`Engine::snapshots`]: a `tokio::sync::watch` of the newest [`Snapshot`];
//! - [`Engine::updates`]: a `futures::Stream` of [`SyncTargets`], each snapshot with the
//!   [`Delta`](crate::Delta) since the stream's previous item;
//! - [`Engine::apply`], [`Engine::status`], [`Engine::ready`]: async methods.
//!
//! Nothing here needs an actix runtime on the caller's side: messages cross to the engine's
//! thread through actix's thread-safe mailboxes.
//!
//! ```
//! use promsd_actors::{DiscoveryConfig, Engine, ManagerOptions};
//! # use promsd_actors::*;
//! # /// A mechanism that finds one target and ends.
//! # #[derive(Debug)]
//! # struct Fixed;
//! # impl DiscoveryConfig for Fixed {
//! #     fn mechanism(&self) -> &'static str { "fixed" }
//! #     fn identity(&self) -> String { String::new() }
//! #     fn build(&self, _: &BuildContext) -> Result<Discoverer, DiscoveryError> {
//! #         let group = TargetGroup::new("g", vec![LabelSet::from_address("10.0.0.1:9100")], LabelSet::new());
//! #         Ok(Box::pin(futures::stream::iter([Ok(Update::Full(vec![group]))])))
//! #     }
//! # }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() {
//!     let engine = Engine::start(ManagerOptions::default()).unwrap();
//!     let config: std::sync::Arc<dyn DiscoveryConfig> = std::sync::Arc::new(Fixed); // any mechanism
//!     engine.apply([("node".to_owned(), vec![config])].into()).await.unwrap();
//!     let snapshot = engine.ready().await.unwrap();
//!     assert_eq!(snapshot.job("node").unwrap().target_count(), 1);
//!     engine.shutdown().await;
//! }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use actix::prelude::*;
use futures::Stream;
use tokio::sync::{mpsc, oneshot, watch};

use crate::discoverer::DiscoveryConfig;
use crate::manager::{ManagerActor, ManagerOptions};
use crate::messages::{
    ApplyConfig, ApplyOutcome, GetStatus, ProviderStatus, Subscribe, Subscription, SyncTargets,
};
use crate::snapshot::Snapshot;

/// The engine's thread is gone (shut down, or it panicked): nothing more will happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineStopped;

impl fmt::Display for EngineStopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the discovery engine has stopped")
    }
}

impl std::error::Error for EngineStopped {}

/// A discovery engine running on its own thread; see the [module docs](self).
///
/// Dropping it stops the engine (every discovery is cancelled) without waiting;
/// [`shutdown`](Engine::shutdown) waits for the thread to finish.
pub struct Engine {
    manager: Addr<ManagerActor>,
    arbiter: ArbiterHandle,
    system: actix_rt::System,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    /// The jobs of the last config applied, for [`Engine::ready`].
    applied: Mutex<Vec<String>>,
    finished: Option<oneshot::Receiver<()>>,
}

/// Keeps the newest snapshot in the engine's watch.
struct SnapshotKeeper(watch::Sender<Arc<Snapshot>>);

impl Actor for SnapshotKeeper {
    type Context = Context<Self>;
}

impl Handler<SyncTargets> for SnapshotKeeper {
    type Result = ();

    fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) {
        self.0.send_replace(msg.snapshot);
    }
}

/// Hands each message to an [`Updates`] stream; the message counts as delivered only when the
/// stream has room, so that a slow consumer gets coalesced updates, as a slow actor does.
struct Forwarder(mpsc::Sender<SyncTargets>);

impl Actor for Forwarder {
    type Context = Context<Self>;
}

impl Handler<SyncTargets> for Forwarder {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) -> Self::Result {
        let tx = self.0.clone();
        Box::pin(async move {
            let _ = tx.send(msg).await;
        })
    }
}

impl Engine {
    /// Starts an engine with these options on a new thread (named `promsd-engine`). Its first
    /// snapshot, until a config is applied, has no jobs.
    pub fn start(options: ManagerOptions) -> std::io::Result<Engine> {
        type Started = (
            Addr<ManagerActor>,
            watch::Receiver<Arc<Snapshot>>,
            actix_rt::System,
            ArbiterHandle,
        );
        let (started_tx, started_rx) = std::sync::mpsc::channel::<Started>();
        let (finished_tx, finished_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("promsd-engine".to_owned())
            .spawn(move || {
                let system = actix_rt::System::new();
                let subscription = system.block_on(async move {
                    let manager = ManagerActor::new(options).start();
                    let (tx, rx) = watch::channel(Arc::new(Snapshot::default()));
                    let keeper = SnapshotKeeper(tx).start();
                    let subscription = manager
                        .send(Subscribe(keeper.recipient()))
                        .await
                        .expect("the manager was just started");
                    let _ = started_tx.send((
                        manager,
                        rx,
                        actix_rt::System::current(),
                        Arbiter::current(),
                    ));
                    subscription
                });
                let _ = system.run();
                drop(subscription);
                let _ = finished_tx.send(());
            })?;
        let (manager, snapshots, system, arbiter) = started_rx
            .recv()
            .map_err(|_| std::io::Error::other("the engine's thread failed to start"))?;
        Ok(Engine {
            manager,
            arbiter,
            system,
            snapshots,
            applied: Mutex::new(Vec::new()),
            finished: Some(finished_rx),
        })
    }

    /// Replaces the jobs and their discovery configs, as [`ApplyConfig`] does: unchanged configs
    /// keep running, identical ones share a provider, unused ones stop.
    pub async fn apply(
        &self,
        jobs: BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>>,
    ) -> Result<ApplyOutcome, EngineStopped> {
        let names: Vec<String> = jobs.keys().cloned().collect();
        let outcome = self
            .manager
            .send(ApplyConfig { jobs })
            .await
            .map_err(|_| EngineStopped)?;
        *self.applied.lock().expect("engine lock poisoned") = names;
        Ok(outcome)
    }

    /// A watch of the newest snapshot: `borrow()` it for the current state, `changed().await`
    /// for the next one. Updates are throttled by [`ManagerOptions::interval`] (a provider's
    /// first state comes at once).
    pub fn snapshots(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    /// The newest snapshot broadcast.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }

    /// Waits until every job of the last config applied is in the snapshot and ready (each of
    /// its providers has delivered its first state, ended or failed to start); returns that
    /// snapshot. Bound it with `tokio::time::timeout`: a mechanism that never answers is never
    /// ready.
    pub async fn ready(&self) -> Result<Arc<Snapshot>, EngineStopped> {
        let jobs = self.applied.lock().expect("engine lock poisoned").clone();
        let mut snapshots = self.snapshots.clone();
        let ready = snapshots
            .wait_for(|s| {
                jobs.iter()
                    .all(|job| s.job(job).is_some_and(|j| j.is_ready()))
            })
            .await
            .map_err(|_| EngineStopped)?;
        Ok(ready.clone())
    }

    /// A stream of every broadcast from now on: the first item carries the whole state
    /// ([`Delta::Full`](crate::Delta::Full)), each later one the changes since the previous
    /// item. A consumer slower than the engine gets coalesced items (never a backlog). The
    /// stream ends when the engine stops; dropping it unsubscribes.
    pub async fn updates(&self) -> Result<Updates, EngineStopped> {
        let (tx, rx) = mpsc::channel(1);
        let forwarder = Forwarder::start_in_arbiter(&self.arbiter, move |_| Forwarder(tx));
        let subscription = self
            .manager
            .send(Subscribe(forwarder.recipient()))
            .await
            .map_err(|_| EngineStopped)?;
        Ok(Updates {
            rx,
            _subscription: subscription,
        })
    }

    /// The state of every provider, sorted by name.
    pub async fn status(&self) -> Result<Vec<ProviderStatus>, EngineStopped> {
        self.manager
            .send(GetStatus)
            .await
            .map_err(|_| EngineStopped)
    }

    /// The manager actor, for what this handle does not wrap (e.g. `testing::wait_for_status`
    /// with the `testing` feature, or an actix subscriber of your own).
    pub fn manager(&self) -> &Addr<ManagerActor> {
        &self.manager
    }

    /// Stops the engine and waits until its thread has finished (every discovery cancelled).
    pub async fn shutdown(mut self) {
        self.system.stop();
        if let Some(finished) = self.finished.take() {
            let _ = finished.await;
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.system.stop();
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("jobs", &*self.applied.lock().expect("engine lock poisoned"))
            .finish_non_exhaustive()
    }
}

/// The stream of [`Engine::updates`]: [`SyncTargets`] items (snapshot and delta).
pub struct Updates {
    rx: mpsc::Receiver<SyncTargets>,
    _subscription: Subscription,
}

impl Stream for Updates {
    type Item = SyncTargets;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<SyncTargets>> {
        self.rx.poll_recv(cx)
    }
}

impl fmt::Debug for Updates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Updates").finish_non_exhaustive()
    }
}
