//! One Kubernetes SD config's discovery: the watches its role needs, and the groups it sends.
//!
//! Like Prometheus' per-role discoverers, it works from keys: a watch says which object changed,
//! the role rebuilds the groups that read it from the current stores (client-go's work queue +
//! store pattern). Each build records which objects of other kinds it looked up (a pod's node,
//! an endpoints' service and pods, ...), so a change to one of those rebuilds exactly the groups
//! that read it.
//!
//! It sends `Update::Full` once every watch has listed, and again after any relist (or when it
//! fell behind a watch's events); otherwise `Update::Changed` with the groups of the objects
//! that changed, a deleted object's group empty. Watch errors are sent as error items and change
//! nothing. Events that arrive together are coalesced into one update.
//!
//! It runs as a task on the Kubernetes runtime; the engine's stream reads its channel, and
//! dropping the stream stops the task and releases its watches.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use promsd_actors::{BuildContext, Discoverer, DiscoveryError, Str, TargetGroup, Update};
use tokio::sync::mpsc;

use super::client::{runtime, ClientSpec, OWN_NAMESPACE_FILE};
use super::metrics;
use super::objects::{object_key, Kind, Object};
use super::watch::{State, Subscription, WatchEvent, WatchKey};
use super::{KubernetesSdConfig, Role};

/// How many events are coalesced into one update at most.
const MAX_BATCH: usize = 16 * 1024;

/// The current stores of every watch a discoverer reads, for lookups (locked while it lives).
pub struct View<'s> {
    stores: Vec<(Kind, Option<String>, std::sync::MutexGuard<'s, State>)>,
}

impl View<'_> {
    /// The object of `kind` at `namespace/name` (`name` alone for cluster-scoped kinds).
    pub fn get(&self, kind: Kind, key: &str) -> Option<&Object> {
        let namespace = key.split_once('/').map(|(ns, _)| ns);
        self.stores
            .iter()
            .filter(|(k, ns, _)| *k == kind && (ns.is_none() || ns.as_deref() == namespace))
            .find_map(|(_, _, state)| state.store.get(key))
    }

    /// Every object of `kind`.
    pub fn all(&self, kind: Kind) -> impl Iterator<Item = &Object> {
        self.stores
            .iter()
            .filter(move |(k, _, _)| *k == kind)
            .flat_map(|(_, _, state)| state.store.iter())
    }
}

/// Looks objects up in a [`View`] and remembers what was looked up.
pub struct Lookup<'a> {
    view: &'a View<'a>,
    refs: &'a mut Vec<(Kind, Str)>,
}

impl<'a> Lookup<'a> {
    pub fn get(&mut self, kind: Kind, key: Str) -> Option<&'a Object> {
        let found = self.view.get(kind, &key);
        self.refs.push((kind, key));
        found
    }
}

/// A role's way of turning objects into groups.
pub trait RoleBuilder: Send + Sync + 'static {
    /// The kind whose objects become groups.
    fn primary(&self) -> Kind;
    /// The source of the group of the primary object with this key.
    fn source(&self, key: &str) -> Str;
    /// The group of a primary object, or `None` for no group (as Prometheus sends none).
    fn build(&self, object: &Object, lookup: &mut Lookup<'_>) -> Option<TargetGroup>;
}

/// The watches a config needs: (kind, namespace, the role whose selectors apply).
fn watches(
    config: &KubernetesSdConfig,
    namespaces: &[Option<String>],
) -> Vec<(Kind, Option<String>, Option<Role>)> {
    let am = config.attach_metadata;
    let mut out = Vec::new();
    let per_namespace = |out: &mut Vec<_>, kind: Kind, selector_role: Option<Role>| {
        for ns in namespaces {
            out.push((kind, ns.clone(), selector_role));
        }
    };
    match config.role {
        Role::Node => out.push((Kind::Node, None, Some(Role::Node))),
        Role::Pod => per_namespace(&mut out, Kind::Pod, Some(Role::Pod)),
        Role::Service => per_namespace(&mut out, Kind::Service, Some(Role::Service)),
        Role::Ingress => per_namespace(&mut out, Kind::Ingress, Some(Role::Ingress)),
        Role::Endpoints | Role::EndpointSlice => {
            if config.role == Role::Endpoints {
                per_namespace(&mut out, Kind::Endpoints, Some(Role::Endpoints));
            } else {
                per_namespace(&mut out, Kind::EndpointSlice, Some(Role::EndpointSlice));
            }
            per_namespace(&mut out, Kind::Service, Some(Role::Service));
            per_namespace(&mut out, Kind::Pod, Some(Role::Pod));
        }
    }
    let pod_targets = matches!(
        config.role,
        Role::Pod | Role::Endpoints | Role::EndpointSlice
    );
    if am.node && pod_targets {
        out.push((Kind::Node, None, Some(Role::Node)));
    }
    if am.namespace && config.role != Role::Node {
        out.push((Kind::Namespace, None, None));
    }
    if am.deployment && pod_targets {
        per_namespace(&mut out, Kind::ReplicaSet, None);
    }
    if am.cronjob && pod_targets {
        per_namespace(&mut out, Kind::Job, None);
    }
    // One subscription per watch: a discoverer locks each store once while it builds.
    let mut seen = HashSet::new();
    out.retain(|(kind, ns, _)| seen.insert((*kind, ns.clone())));
    out
}

fn role_builder(config: &KubernetesSdConfig) -> Arc<dyn RoleBuilder> {
    match config.role {
        Role::Pod => Arc::new(super::pod::PodRole::new(config.attach_metadata)),
        Role::Node => Arc::new(super::node::NodeRole),
        Role::Service => Arc::new(super::service::ServiceRole::new(config.attach_metadata)),
        Role::Ingress => Arc::new(super::ingress::IngressRole::new(config.attach_metadata)),
        Role::Endpoints => Arc::new(super::endpoints::EndpointsRole::new(config.attach_metadata)),
        Role::EndpointSlice => Arc::new(super::endpointslice::EndpointSliceRole::new(
            config.attach_metadata,
        )),
    }
}

/// Starts the discovery of `config` on the Kubernetes runtime.
pub fn build(
    config: &KubernetesSdConfig,
    _ctx: &BuildContext,
) -> Result<Discoverer, DiscoveryError> {
    let spec = config.client_spec();
    spec.precheck().map_err(DiscoveryError::new)?;
    let config = config.clone();
    let (tx, rx) = mpsc::channel(4);
    let task = runtime().spawn(async move {
        let namespaces = match namespaces(&config, &spec) {
            Ok(ns) => ns,
            Err(e) => {
                let _ = tx.send(Err(DiscoveryError::new(e))).await;
                return;
            }
        };
        let subscriptions = watches(&config, &namespaces)
            .into_iter()
            .map(|(kind, namespace, selector_role)| {
                let (label, field) = selector_role.map_or(("", ""), |r| config.selector(r));
                Subscription::new(
                    WatchKey {
                        client: spec.identity(),
                        kind,
                        namespace,
                        label_selector: label.to_owned(),
                        field_selector: field.to_owned(),
                    },
                    &spec,
                )
            })
            .collect();
        let discovery = Discovery {
            role_name: config.role.as_str(),
            role: role_builder(&config),
            subscriptions,
            refs: HashMap::new(),
            reverse: HashMap::new(),
            tx,
        };
        discovery.run().await;
    });
    let guard = AbortOnDrop(task);
    Ok(
        futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
            let item = rx.recv().await?;
            Some((item, (rx, guard)))
        })
        .boxed(),
    )
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Prometheus' `getNamespaces`: the configured names (plus the pod's own namespace), or all.
fn namespaces(
    config: &KubernetesSdConfig,
    spec: &ClientSpec,
) -> Result<Vec<Option<String>>, String> {
    let mut names: Vec<Option<String>> =
        config.namespaces.names.iter().cloned().map(Some).collect();
    if config.namespaces.own_namespace && spec.in_cluster() {
        let own = std::fs::read_to_string(OWN_NAMESPACE_FILE)
            .map_err(|e| format!("could not determine the pod's namespace: {e}"))?;
        if own.is_empty() {
            return Err("could not read own namespace name (empty file)".into());
        }
        names.push(Some(own));
    }
    if names.is_empty() {
        names.push(None);
    }
    names.sort();
    names.dedup();
    Ok(names)
}

struct Discovery {
    role_name: &'static str,
    role: Arc<dyn RoleBuilder>,
    subscriptions: Vec<Subscription>,
    /// Per primary key, the objects its last build looked up (absent when none).
    refs: HashMap<Str, Box<[(Kind, Str)]>>,
    /// Per looked-up object, the primary keys whose builds looked it up.
    reverse: HashMap<(Kind, Str), HashSet<Str>>,
    tx: mpsc::Sender<Result<Update, DiscoveryError>>,
}

/// What a batch of events asks for.
#[derive(Default)]
struct Batch {
    full: bool,
    dirty: HashSet<Str>,
    errors: Vec<DiscoveryError>,
}

impl Discovery {
    async fn run(mut self) {
        let mut synced: Vec<bool> = self
            .subscriptions
            .iter()
            .map(|s| s.state().synced)
            .collect();
        let mut started = false;
        loop {
            if !started && synced.iter().all(|s| *s) {
                started = true;
                if !self.send_full().await {
                    return;
                }
                continue;
            }
            let Some((index, first)) = self.next_event().await else {
                return;
            };
            let mut batch = Batch::default();
            self.absorb(index, first, &mut batch, &mut synced);
            let mut taken = 1;
            'drain: while taken < MAX_BATCH {
                let mut any = false;
                for i in 0..self.subscriptions.len() {
                    if let Some(event) = self.subscriptions[i].try_next() {
                        self.absorb(i, event, &mut batch, &mut synced);
                        taken += 1;
                        any = true;
                    }
                }
                if !any {
                    break 'drain;
                }
            }
            for error in batch.errors {
                if self.tx.send(Err(error)).await.is_err() {
                    return;
                }
            }
            if !started {
                continue; // the first state waits for every watch's list
            }
            let alive = if batch.full {
                self.send_full().await
            } else if !batch.dirty.is_empty() {
                self.send_changed(batch.dirty).await
            } else {
                true
            };
            if !alive {
                return;
            }
        }
    }

    /// The next event of any watch; `None` when the consumer is gone or a watch ended.
    async fn next_event(&mut self) -> Option<(usize, WatchEvent)> {
        let closed = self.tx.clone();
        let waits = self
            .subscriptions
            .iter_mut()
            .enumerate()
            .map(|(i, s)| Box::pin(async move { (i, s.next().await) }));
        tokio::select! {
            ((i, event), _, _) = futures::future::select_all(waits) => event.map(|e| (i, e)),
            _ = closed.closed() => None,
        }
    }

    fn absorb(&mut self, index: usize, event: WatchEvent, batch: &mut Batch, synced: &mut [bool]) {
        match event {
            WatchEvent::Synced => {
                synced[index] = true;
                batch.full = true;
            }
            WatchEvent::Error(e) => batch.errors.push(e),
            WatchEvent::Changed(key, change) => {
                let kind = self.subscriptions[index].key().kind;
                if kind == self.role.primary() {
                    metrics::record_event(self.role_name, change.as_str());
                    batch.dirty.insert(key.clone());
                }
                if let Some(primaries) = self.reverse.get(&(kind, key)) {
                    batch.dirty.extend(primaries.iter().cloned());
                }
            }
        }
    }

    fn view(&self) -> View<'_> {
        View {
            stores: self
                .subscriptions
                .iter()
                .map(|s| (s.key().kind, s.key().namespace.clone(), s.state()))
                .collect(),
        }
    }

    fn set_refs(&mut self, key: &Str, refs: Vec<(Kind, Str)>) {
        if let Some(old) = self.refs.remove(key) {
            for r in old.iter() {
                if let Some(set) = self.reverse.get_mut(r) {
                    set.remove(key);
                    if set.is_empty() {
                        self.reverse.remove(r);
                    }
                }
            }
        }
        if refs.is_empty() {
            return;
        }
        for r in &refs {
            self.reverse
                .entry(r.clone())
                .or_default()
                .insert(key.clone());
        }
        self.refs.insert(key.clone(), refs.into_boxed_slice());
    }

    async fn send_full(&mut self) -> bool {
        self.refs.clear();
        self.reverse.clear();
        let primary = self.role.primary();
        let mut groups = Vec::new();
        let mut all_refs = Vec::new();
        {
            let view = self.view();
            let mut refs = Vec::new();
            for object in view.all(primary) {
                refs.clear();
                let group = self.role.build(
                    object,
                    &mut Lookup {
                        view: &view,
                        refs: &mut refs,
                    },
                );
                if !refs.is_empty() {
                    let meta = object.meta();
                    let key = object_key(&meta.namespace, &meta.name);
                    all_refs.push((key, std::mem::take(&mut refs)));
                }
                if let Some(group) = group.filter(|g| !g.targets.is_empty()) {
                    groups.push(group);
                }
            }
        }
        for (key, refs) in all_refs {
            self.set_refs(&key, refs);
        }
        self.tx.send(Ok(Update::Full(groups))).await.is_ok()
    }

    async fn send_changed(&mut self, dirty: HashSet<Str>) -> bool {
        let primary = self.role.primary();
        let mut groups = Vec::with_capacity(dirty.len());
        let mut all_refs = Vec::with_capacity(dirty.len());
        {
            let view = self.view();
            for key in dirty {
                let mut refs = Vec::new();
                let group = match view.get(primary, &key) {
                    Some(object) => self.role.build(
                        object,
                        &mut Lookup {
                            view: &view,
                            refs: &mut refs,
                        },
                    ),
                    None => Some(TargetGroup::removal(self.role.source(&key))),
                };
                all_refs.push((key, refs));
                if let Some(group) = group {
                    groups.push(group);
                }
            }
        }
        for (key, refs) in all_refs {
            self.set_refs(&key, refs);
        }
        if groups.is_empty() {
            return true;
        }
        self.tx.send(Ok(Update::Changed(groups))).await.is_ok()
    }
}
