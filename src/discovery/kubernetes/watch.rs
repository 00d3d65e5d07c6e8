//! Shared watches: one list + watch per (API server and credentials, resource, namespace,
//! label selector, field selector) for the whole process, whichever SD configs need it.
//!
//! A [`SharedWatch`] runs kube-runtime's `watcher` (list, then watch from the list's resource
//! version with bookmarks; a relist on `410 Gone`; errors as items, spaced by
//! `default_backoff()`) on the Kubernetes runtime thread. It converts each object to its compact
//! form on arrival and keeps them in a map behind a mutex (every watch and every role runs on the
//! one Kubernetes runtime thread, so the lock is never contended). Subscribers learn what
//! changed from a broadcast of [`WatchEvent`]s: the key of each changed object, `Synced` after
//! each complete (re)list, and errors. They read the objects themselves from the store, as
//! client-go's informers hand keys to a work queue. A subscriber that falls behind the broadcast
//! is told to resynchronise from the store.
//!
//! The registry holds watches weakly: the last [`Subscription`] dropped stops the watch.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use hashbrown::HashTable;

use futures::StreamExt;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use promsd_actors::DiscoveryError;
use tokio::sync::broadcast;

use super::client::{runtime, ClientSpec};
use super::metrics;
use super::objects::{
    Dedup, Kind, Object, Str, Wire, WireEndpointSlice, WireEndpoints, WireIngress, WireJob,
    WireNamespace, WireNode, WirePod, WireReplicaSet, WireService,
};

/// The objects of one watch, found by key (`namespace/name`, or `name` when cluster-scoped).
///
/// The key is not stored: an object is hashed by its own namespace and name, and a key is
/// split at its first `/` to be looked up (neither a namespace nor a name holds a `/`). That
/// spares a string and a pointer per object.
#[derive(Default)]
pub struct Store {
    table: HashTable<Box<Object>>,
    hasher: RandomState,
}

impl Store {
    /// The object with this key.
    pub fn get(&self, key: &str) -> Option<&Object> {
        let (namespace, name) = split_key(key);
        let hash = hash(&self.hasher, namespace, name);
        self.table
            .find(hash, |o| is(o, namespace, name))
            .map(|o| &**o)
    }

    /// Stores `object` in place of the one with the same namespace and name.
    pub fn insert(&mut self, object: Object) {
        let meta = object.meta();
        let hash = hash(&self.hasher, &meta.namespace, &meta.name);
        match self
            .table
            .find_mut(hash, |o| is(o, &meta.namespace, &meta.name))
        {
            Some(old) => **old = object,
            None => {
                let hasher = &self.hasher;
                self.table
                    .insert_unique(hash, Box::new(object), |o| hash_object(hasher, o));
            }
        }
    }

    /// Removes the object with this key; whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        let (namespace, name) = split_key(key);
        let hash = hash(&self.hasher, namespace, name);
        match self.table.find_entry(hash, |o| is(o, namespace, name)) {
            Ok(entry) => {
                entry.remove();
                true
            }
            Err(_) => false,
        }
    }

    /// Every object, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Object> {
        self.table.iter().map(|o| &**o)
    }
}

fn hash(hasher: &RandomState, namespace: &str, name: &str) -> u64 {
    let mut h = hasher.build_hasher();
    namespace.hash(&mut h);
    name.hash(&mut h);
    h.finish()
}

fn hash_object(hasher: &RandomState, object: &Object) -> u64 {
    let meta = object.meta();
    hash(hasher, &meta.namespace, &meta.name)
}

/// `namespace/name` as (namespace, name); a key without `/` is a name alone.
fn split_key(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("", key))
}

fn is(object: &Object, namespace: &str, name: &str) -> bool {
    let meta = object.meta();
    *meta.name == *name && *meta.namespace == *namespace
}

/// How many events a subscriber may fall behind before it resynchronises from a snapshot.
const EVENT_BUFFER: usize = 4096;

/// Identifies a shared watch.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WatchKey {
    /// [`ClientSpec::identity`]: server and credentials (includes secrets; never printed).
    pub client: String,
    pub kind: Kind,
    /// `None` for all namespaces (and for cluster-scoped kinds).
    pub namespace: Option<String>,
    pub label_selector: String,
    pub field_selector: String,
}

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Added,
    Updated,
    Deleted,
}

impl Change {
    /// The `event` label of `prometheus_sd_kubernetes_events_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "add",
            Change::Updated => "update",
            Change::Deleted => "delete",
        }
    }
}

/// What a subscriber is told.
#[derive(Clone, Debug)]
pub enum WatchEvent {
    /// The object with this key was added, changed or deleted: read it from a snapshot.
    Changed(Str, Change),
    /// A complete (re)list is in the store: everything may have changed.
    Synced,
    /// The watch failed; kube-runtime retries with backoff. The store is unchanged.
    Error(DiscoveryError),
}

/// A watch's objects and whether a complete list has arrived.
pub struct State {
    pub store: Store,
    /// A complete list has been stored at least once.
    pub synced: bool,
}

struct Inner {
    state: Mutex<State>,
    events: broadcast::Sender<WatchEvent>,
}

/// One running list + watch and its store.
pub struct SharedWatch {
    key: WatchKey,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SharedWatch {
    fn drop(&mut self) {
        self.task.abort();
        let mut registry = REGISTRY.lock().expect("watch registry poisoned");
        if registry
            .get(&self.key)
            .is_some_and(|w| w.strong_count() == 0)
        {
            registry.remove(&self.key);
        }
    }
}

static REGISTRY: LazyLock<Mutex<HashMap<WatchKey, Weak<SharedWatch>>>> =
    LazyLock::new(Default::default);

/// How many shared watches are running in the process.
pub fn running_watches() -> usize {
    REGISTRY
        .lock()
        .expect("watch registry poisoned")
        .values()
        .filter(|w| w.strong_count() > 0)
        .count()
}

/// A subscriber's handle on a shared watch: keeps it running and receives its events.
pub struct Subscription {
    watch: Arc<SharedWatch>,
    events: broadcast::Receiver<WatchEvent>,
}

impl Subscription {
    /// Subscribes to the watch for `key`, starting it if no one runs it yet.
    pub fn new(key: WatchKey, spec: &ClientSpec) -> Subscription {
        let watch = {
            let mut registry = REGISTRY.lock().expect("watch registry poisoned");
            match registry.get(&key).and_then(Weak::upgrade) {
                Some(watch) => watch,
                None => {
                    let watch = Arc::new(SharedWatch::start(key.clone(), spec.clone()));
                    registry.insert(key, Arc::downgrade(&watch));
                    watch
                }
            }
        };
        let events = watch.inner.events.subscribe();
        Subscription { watch, events }
    }

    pub fn key(&self) -> &WatchKey {
        &self.watch.key
    }

    /// The current objects, and whether a complete list has arrived yet. Do not hold the guard
    /// across an await.
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.watch.inner.state.lock().expect("watch state poisoned")
    }

    /// The next event. A subscriber that fell behind gets `Synced` (resynchronise from a
    /// snapshot). `None` if the watch ended, which it does only when aborted.
    pub async fn next(&mut self) -> Option<WatchEvent> {
        match self.events.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(WatchEvent::Synced),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// An event already waiting, if any (see [`next`](Self::next)).
    pub fn try_next(&mut self) -> Option<WatchEvent> {
        match self.events.try_recv() {
            Ok(event) => Some(event),
            Err(broadcast::error::TryRecvError::Lagged(_)) => Some(WatchEvent::Synced),
            Err(_) => None,
        }
    }
}

impl SharedWatch {
    fn start(key: WatchKey, spec: ClientSpec) -> SharedWatch {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                store: Store::default(),
                synced: false,
            }),
            events,
        });
        let task = match key.kind {
            Kind::Pod => spawn::<WirePod>(&key, spec, inner.clone()),
            Kind::Node => spawn::<WireNode>(&key, spec, inner.clone()),
            Kind::Service => spawn::<WireService>(&key, spec, inner.clone()),
            Kind::Endpoints => spawn::<WireEndpoints>(&key, spec, inner.clone()),
            Kind::EndpointSlice => spawn::<WireEndpointSlice>(&key, spec, inner.clone()),
            Kind::Ingress => spawn::<WireIngress>(&key, spec, inner.clone()),
            Kind::Namespace => spawn::<WireNamespace>(&key, spec, inner.clone()),
            Kind::ReplicaSet => spawn::<WireReplicaSet>(&key, spec, inner.clone()),
            Kind::Job => spawn::<WireJob>(&key, spec, inner.clone()),
        };
        SharedWatch { key, inner, task }
    }
}

fn spawn<W: Wire>(
    key: &WatchKey,
    spec: ClientSpec,
    inner: Arc<Inner>,
) -> tokio::task::JoinHandle<()> {
    let key = key.clone();
    runtime().spawn(async move { run::<W>(key, spec, inner).await })
}

/// Applies a watch's events to its store and tells subscribers, until aborted.
async fn run<W: Wire>(key: WatchKey, spec: ClientSpec, inner: Arc<Inner>) {
    let client = loop {
        match spec.client().await {
            Ok(client) => break client,
            Err(e) => {
                metrics::record_failure();
                let _ = inner
                    .events
                    .send(WatchEvent::Error(DiscoveryError::new(&e)));
                tracing::warn!(error = %e, kind = %key.kind, "cannot create Kubernetes client; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            }
        }
    };
    let api = W::api(client, key.namespace.as_deref());
    let mut config = watcher::Config::default();
    if !key.label_selector.is_empty() {
        config = config.labels(&key.label_selector);
    }
    if !key.field_selector.is_empty() {
        config = config.fields(&key.field_selector);
    }
    let mut events = watcher::watcher(api, config).default_backoff().boxed();
    let mut dedup = Dedup::default();
    // Objects of a list in progress: swapped in whole at InitDone, so a relist never shows half
    // a state (as kube's reflector store does).
    let mut listing: Option<Store> = None;
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => listing = Some(Store::default()),
            Ok(Event::InitApply(obj)) => {
                let (_, object) = obj.into_object(&mut dedup);
                listing.get_or_insert_with(Store::default).insert(object);
            }
            Ok(Event::InitDone) => {
                let store = listing.take().unwrap_or_default();
                let mut state = inner.state.lock().expect("watch state poisoned");
                state.store = store;
                state.synced = true;
                let _ = inner.events.send(WatchEvent::Synced);
            }
            Ok(Event::Apply(obj)) => {
                let (k, object) = obj.into_object(&mut dedup);
                let mut state = inner.state.lock().expect("watch state poisoned");
                let change = match state.store.get(&k) {
                    Some(old) if *old == object => continue, // nothing the labels read changed
                    Some(_) => Change::Updated,
                    None => Change::Added,
                };
                state.store.insert(object);
                let _ = inner.events.send(WatchEvent::Changed(k, change));
            }
            Ok(Event::Delete(obj)) => {
                let (k, _) = obj.into_object(&mut dedup);
                let mut state = inner.state.lock().expect("watch state poisoned");
                if state.store.remove(&k) {
                    let _ = inner.events.send(WatchEvent::Changed(k, Change::Deleted));
                }
            }
            Err(e) => {
                metrics::record_failure();
                tracing::debug!(error = %e, kind = %key.kind, namespace = ?key.namespace, "Kubernetes watch failed");
                let message = format!("{} watch: {e}", key.kind);
                let _ = inner
                    .events
                    .send(WatchEvent::Error(DiscoveryError::new(message)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::kubernetes::objects::{Dedup, WireNamespace};

    fn object<W: Wire>(json: serde_json::Value, dedup: &mut Dedup) -> (Str, Object) {
        serde_json::from_value::<W>(json)
            .unwrap()
            .into_object(dedup)
    }

    #[test]
    fn store_finds_objects_by_their_key_without_keeping_it() {
        let mut dedup = Dedup::default();
        let mut store = Store::default();
        let pod = |ns: &str, name: &str, ip: &str, dedup: &mut Dedup| {
            object::<WirePod>(
                serde_json::json!({"metadata": {"namespace": ns, "name": name},
                                   "status": {"podIP": ip}}),
                dedup,
            )
        };
        let (a, pod_a) = pod("ns", "a", "10.0.0.1", &mut dedup);
        let (b, pod_b) = pod("other", "a", "10.0.0.2", &mut dedup);
        let (namespace_key, namespace) =
            object::<WireNamespace>(serde_json::json!({"metadata": {"name": "ns"}}), &mut dedup);
        store.insert(pod_a.clone());
        store.insert(pod_b);
        store.insert(namespace.clone());
        assert_eq!(&*a, "ns/a");
        assert_eq!(store.get(&a), Some(&pod_a));
        assert_eq!(store.get(&namespace_key), Some(&namespace));
        assert!(store.get("ns/b").is_none() && store.get("a").is_none());

        // A new version replaces the old one.
        let (_, pod_a2) = pod("ns", "a", "10.0.0.3", &mut dedup);
        store.insert(pod_a2.clone());
        assert_eq!(store.get(&a), Some(&pod_a2));
        assert_eq!(store.iter().count(), 3);

        assert!(store.remove(&a));
        assert!(!store.remove(&a));
        assert!(store.get(&a).is_none());
        assert!(store.get(&b).is_some());
        assert_eq!(store.iter().count(), 2);
    }
}
