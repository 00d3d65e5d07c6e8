//! The discoverer: one ZooKeeper session, and a tree cache per configured path, as Prometheus'
//! `util/treecache` keeps one: every znode at or below the path is read, with a data watch and
//! a child watch on each, and each watch that fires is answered by reading that znode again
//! (and arming the watch again). Members are the znodes' data; each changed znode becomes one
//! changed group.
//!
//! - Watches are one-shot, as ZooKeeper's are: a fired watch is consumed and re-armed by the
//!   read that answers it. Every node carries a token, and each watch the token of the node it
//!   was armed for: a watch of an older incarnation of the path (deleted, then created again)
//!   is ignored, so that no path ever has two watches of one kind.
//! - A whole tree is read level by level, with up to [`IN_FLIGHT`] reads in flight at a time
//!   (ZooKeeper answers a session's requests in order).
//! - A path that does not exist has an exists watch; its tree is read when it is created. A
//!   tree whose path is deleted loses its members and waits the same way.
//! - A read that fails (other than a znode gone meanwhile) fails its tree: its watches are
//!   dropped, its members stay as they were, and the whole tree is read again after a backoff
//!   (1 s doubling up to 10 s, Prometheus' fixed retry interval); what changed meanwhile is
//!   sent as the difference. A session that ends (expired, auth failed, closed) fails every
//!   tree: a new session is made (with the same backoff), and every tree is read again. A
//!   connection lost and found again within the session keeps the session and its watches
//!   (the client re-arms them), as in Prometheus.

use std::collections::{HashMap, HashSet};
use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use promsd_actors::{Discoverer, DiscoveryError, Str, TargetGroup, Update};
use tokio::time::Instant;
use zookeeper_client as zk;

use super::targets::Flavor;
use super::{count_failure, WatchGauge};

/// Reads in flight at a time while a tree is read (two requests each; ZooKeeper's default
/// `globalOutstandingLimit` is 1000).
pub const IN_FLIGHT: usize = 256;

/// Prometheus' fixed retry interval, the longest pause between two attempts.
const MAX_RETRY: Duration = Duration::from_secs(10);

/// What the discoverer needs from the config.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub flavor: Flavor,
    /// The connect string: the servers, comma-separated.
    pub servers: String,
    /// The configured paths, overlapping ones included.
    pub paths: Vec<String>,
    /// The session timeout.
    pub timeout: Duration,
}

/// The trees to keep: each configured path once, and none below another (its members are
/// the other's too). Paths that ZooKeeper would refuse are returned apart, with the reason.
pub(super) fn roots(paths: &[String]) -> (Vec<String>, Vec<(String, String)>) {
    let mut valid: Vec<String> = Vec::new();
    let mut invalid = Vec::new();
    for path in paths {
        match check_path(path) {
            Ok(()) => valid.push(path.clone()),
            Err(e) => invalid.push((path.clone(), e)),
        }
    }
    valid.sort();
    valid.dedup();
    let covers = |outer: &str, inner: &str| {
        outer != inner && (outer == "/" || inner.starts_with(&format!("{outer}/")))
    };
    let kept = valid
        .iter()
        .filter(|p| !valid.iter().any(|q| covers(q, p)))
        .cloned()
        .collect();
    (kept, invalid)
}

/// ZooKeeper's path rules (`PathUtils.validatePath`).
pub(super) fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("path must start with /".into());
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err("path must not end with /".into());
    }
    for segment in path[1..].split('/') {
        match segment {
            "" => return Err("empty node name in path".into()),
            "." | ".." => return Err("relative paths are not allowed".into()),
            _ => {}
        }
    }
    if let Some(c) = path.chars().find(|&c| {
        c == '\0'
            || ('\u{1}'..='\u{1f}').contains(&c)
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || ('\u{e000}'..='\u{f8ff}').contains(&c)
            || ('\u{fff0}'..='\u{ffff}').contains(&c)
    }) {
        return Err(format!("invalid character {c:?} in path"));
    }
    Ok(())
}

/// The full path of `child` under `parent`.
fn child_path(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Data,
    Children,
    /// The exists watch of a tree whose path is missing.
    Exists,
}

/// A watch that fired.
struct Fired {
    path: Str,
    kind: Kind,
    token: u64,
    event: zk::WatchedEvent,
}

type Watch = BoxFuture<'static, Fired>;

fn arm(watcher: zk::OneshotWatcher, path: Str, kind: Kind, token: u64) -> Watch {
    let gauge = WatchGauge::armed();
    async move {
        let event = watcher.changed().await;
        drop(gauge);
        Fired {
            path,
            kind,
            token,
            event,
        }
    }
    .boxed()
}

/// One znode of a tree.
struct Node {
    data: Bytes,
    /// The children's names, as last listed.
    children: Vec<String>,
    token: u64,
}

#[derive(Debug)]
enum Status {
    /// To be read (again) as soon as there is a session.
    Pending,
    /// Read; its watches are armed.
    Loaded,
    /// Its path does not exist; an exists watch is armed.
    Absent,
    /// The last read failed; read again at `retry`.
    Failed { retry: Instant },
}

struct Tree {
    path: String,
    nodes: HashMap<Str, Node>,
    status: Status,
    watches: FuturesUnordered<Watch>,
    /// The token of the exists watch, when absent.
    absent_token: u64,
    /// Read once at least (or failed [`FAILURES_BEFORE_FULL`] times in a row): the full state
    /// no longer waits for it.
    attempted: bool,
    /// Failed reads in a row.
    failures: u32,
    backoff: Backoff,
}

/// A tree whose reads keep failing holds the first full state back this many attempts (about
/// 7 s with the backoff), then the other trees' members go out without it.
const FAILURES_BEFORE_FULL: u32 = 3;

/// Capped exponential backoff: 1 s doubling up to [`MAX_RETRY`].
#[derive(Clone, Copy, Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);

    fn new() -> Self {
        Backoff { next: Self::FIRST }
    }

    fn delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(MAX_RETRY);
        delay
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

/// A znode read with its two watches.
struct Loaded {
    path: Str,
    data: Bytes,
    children: Vec<String>,
    data_watch: zk::OneshotWatcher,
    child_watch: zk::OneshotWatcher,
}

/// Reads the znodes at `start` and everything below them, arming a data and a child watch on
/// each. A znode gone meanwhile is left out (its parent's child watch tells).
async fn load(client: &zk::Client, start: Vec<String>) -> Result<Vec<Loaded>, zk::Error> {
    let mut out = Vec::new();
    let mut level = start;
    while !level.is_empty() {
        let mut answers = futures::stream::iter(level)
            .map(|path| async move {
                let data = client.get_and_watch_data(&path);
                let children = client.get_and_watch_children(&path);
                (path, data.await, children.await)
            })
            .buffered(IN_FLIGHT);
        let mut next = Vec::new();
        while let Some((path, data, children)) = answers.next().await {
            match (data, children) {
                (Ok((data, _, data_watch)), Ok((children, _, child_watch))) => {
                    next.extend(children.iter().map(|c| child_path(&path, c)));
                    out.push(Loaded {
                        path: Str::from(path),
                        data: Bytes::from(data),
                        children,
                        data_watch,
                        child_watch,
                    });
                }
                (Err(zk::Error::NoNode), _) | (_, Err(zk::Error::NoNode)) => {}
                (Err(e), _) | (_, Err(e)) => return Err(e),
            }
        }
        level = next;
    }
    Ok(out)
}

/// The running discovery of one config.
pub(super) struct Run {
    settings: Arc<Settings>,
    provider: Str,
    client: Option<zk::Client>,
    state: Option<zk::StateWatcher>,
    session_backoff: Backoff,
    next_connect: Instant,
    trees: Vec<Tree>,
    next_token: u64,
    /// Paths whose data (or existence) changed since the last item.
    dirty: HashSet<Str>,
    /// Sources with a target in the state sent so far.
    sent: HashSet<Str>,
    full_sent: bool,
    /// Errors to send before anything else.
    errors: Vec<DiscoveryError>,
    /// Which tree is polled first for fired watches (rotates, for fairness).
    poll_start: usize,
}

/// The discoverer of one serverset or Nerve config.
pub(super) fn discoverer(settings: Arc<Settings>, provider: Str) -> Discoverer {
    let (paths, invalid) = roots(&settings.paths);
    let mut errors = Vec::new();
    for (path, reason) in invalid {
        tracing::error!(provider = %provider, path = %path, error = %reason, "ZooKeeper path ignored");
        errors.push(DiscoveryError::new(format!(
            "path {path:?} ignored: {reason}"
        )));
    }
    let trees = paths
        .into_iter()
        .map(|path| Tree {
            path,
            nodes: HashMap::new(),
            status: Status::Pending,
            watches: FuturesUnordered::new(),
            absent_token: 0,
            attempted: false,
            failures: 0,
            backoff: Backoff::new(),
        })
        .collect();
    let run = Run {
        settings,
        provider,
        client: None,
        state: None,
        session_backoff: Backoff::new(),
        next_connect: Instant::now(),
        trees,
        next_token: 1,
        dirty: HashSet::new(),
        sent: HashSet::new(),
        full_sent: false,
        errors,
        poll_start: 0,
    };
    futures::stream::unfold(run, |mut run| async move {
        let item = run.next_item().await;
        Some((item, run))
    })
    .boxed()
}

/// The next fired watch of any tree (the first tree polled rotates, for fairness).
fn poll_fired<'a>(
    trees: &'a mut [Tree],
    poll_start: &mut usize,
) -> impl std::future::Future<Output = Option<Wake>> + 'a {
    let start = *poll_start;
    *poll_start = poll_start.wrapping_add(1);
    poll_fn(move |cx| {
        let n = trees.len();
        for i in 0..n {
            let t = (start + i) % n;
            if let Poll::Ready(Some(fired)) = trees[t].watches.poll_next_unpin(cx) {
                return Poll::Ready(Some(Wake::Fired(t, fired)));
            }
        }
        Poll::Pending
    })
}

enum Wake {
    Fired(usize, Fired),
    SessionState(zk::SessionState),
    Retry,
}

impl Run {
    pub(super) async fn next_item(&mut self) -> Result<Update, DiscoveryError> {
        loop {
            if !self.errors.is_empty() {
                return Err(self.errors.remove(0));
            }
            if self.client.is_none() {
                self.connect().await?;
            }
            let now = Instant::now();
            for t in 0..self.trees.len() {
                let due = match self.trees[t].status {
                    Status::Pending => true,
                    Status::Failed { retry } => retry <= now,
                    _ => false,
                };
                if due {
                    self.reload(t).await;
                    if self.client.is_none() {
                        break;
                    }
                }
            }
            if !self.errors.is_empty() || self.client.is_none() {
                continue;
            }
            if let Some(update) = self.take_update().await {
                return Ok(update);
            }
            let wake = self.wait().await;
            self.handle(wake).await;
            // Take whatever else is ready before sending, so that a burst is one update.
            while self.client.is_some() {
                let fired = poll_fired(&mut self.trees, &mut self.poll_start).now_or_never();
                let Some(Some(wake)) = fired else {
                    break;
                };
                self.handle(wake).await;
            }
        }
    }

    async fn connect(&mut self) -> Result<(), DiscoveryError> {
        tokio::time::sleep_until(self.next_connect).await;
        let connector = zk::Client::connector().with_session_timeout(self.settings.timeout);
        match connector.connect(&self.settings.servers).await {
            Ok(client) => {
                tracing::debug!(provider = %self.provider, session = ?client.session_id(), "connected to ZooKeeper");
                self.state = Some(client.state_watcher());
                self.client = Some(client);
                self.session_backoff.reset();
                Ok(())
            }
            Err(e) => {
                count_failure();
                self.next_connect = Instant::now() + self.session_backoff.delay();
                let message = format!(
                    "could not connect to ZooKeeper at {}: {e}",
                    self.settings.servers
                );
                tracing::error!(provider = %self.provider, error = %message, "ZooKeeper session failed");
                Err(DiscoveryError::new(message))
            }
        }
    }

    /// The session ended: every tree keeps its members and is read again on a new session.
    fn lose_session(&mut self, state: zk::SessionState) {
        if self.client.take().is_none() {
            return;
        }
        self.state = None;
        count_failure();
        tracing::warn!(provider = %self.provider, ?state, "ZooKeeper session lost; keeping the last state until a new session has read it again");
        for tree in &mut self.trees {
            tree.watches = FuturesUnordered::new();
            tree.status = Status::Pending;
        }
        self.next_connect = Instant::now() + self.session_backoff.delay();
        self.errors
            .push(DiscoveryError::new(format!("ZooKeeper session {state}")));
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// A read of tree `t` failed: its watches go, its members stay, it is read again later.
    fn fail(&mut self, t: usize, error: zk::Error) {
        if matches!(
            error,
            zk::Error::SessionExpired | zk::Error::ClientClosed | zk::Error::AuthFailed
        ) {
            self.lose_session(match error {
                zk::Error::AuthFailed => zk::SessionState::AuthFailed,
                zk::Error::ClientClosed => zk::SessionState::Closed,
                _ => zk::SessionState::Expired,
            });
            return;
        }
        count_failure();
        let tree = &mut self.trees[t];
        tree.failures += 1;
        tree.attempted |= tree.failures >= FAILURES_BEFORE_FULL;
        tree.watches = FuturesUnordered::new();
        let delay = tree.backoff.delay();
        tree.status = Status::Failed {
            retry: Instant::now() + delay,
        };
        let message = format!("error reading ZooKeeper path {}: {error}", tree.path);
        tracing::error!(provider = %self.provider, error = %message, retry_in = ?delay, "ZooKeeper tree failed");
        self.errors.push(DiscoveryError::new(message));
    }

    /// Reads tree `t` from scratch, replacing its watches; what differs from the members it
    /// had becomes dirty.
    async fn reload(&mut self, t: usize) {
        let Some(client) = self.client.clone() else {
            return;
        };
        let path = self.trees[t].path.clone();
        let loaded = loop {
            match load(&client, vec![path.clone()]).await {
                Err(e) => return self.fail(t, e),
                Ok(loaded) if !loaded.is_empty() => break loaded,
                Ok(_) => {}
            }
            // Missing: watch for its creation (and read it if it was created meanwhile).
            match client.check_and_watch_stat(&path).await {
                Err(e) => return self.fail(t, e),
                Ok((Some(_), _)) => continue,
                Ok((None, watcher)) => {
                    let token = self.token();
                    let tree = &mut self.trees[t];
                    for (old, _) in tree.nodes.drain() {
                        self.dirty.insert(old);
                    }
                    tree.watches = FuturesUnordered::new();
                    tree.watches
                        .push(arm(watcher, Str::from(path.as_str()), Kind::Exists, token));
                    tree.absent_token = token;
                    tree.status = Status::Absent;
                    tree.attempted = true;
                    tree.failures = 0;
                    tree.backoff.reset();
                    tracing::info!(provider = %self.provider, path = %path, "ZooKeeper path does not exist; waiting for it");
                    return;
                }
            }
        };
        let mut old = std::mem::take(&mut self.trees[t].nodes);
        let watches = FuturesUnordered::new();
        let mut nodes = HashMap::with_capacity(loaded.len());
        for l in loaded {
            let token = self.token();
            match old.remove(&l.path) {
                Some(before) if before.data == l.data => {}
                _ => {
                    self.dirty.insert(l.path.clone());
                }
            }
            watches.push(arm(l.data_watch, l.path.clone(), Kind::Data, token));
            watches.push(arm(l.child_watch, l.path.clone(), Kind::Children, token));
            nodes.insert(
                l.path,
                Node {
                    data: l.data,
                    children: l.children,
                    token,
                },
            );
        }
        self.dirty.extend(old.into_keys());
        let tree = &mut self.trees[t];
        tree.nodes = nodes;
        tree.watches = watches;
        tree.status = Status::Loaded;
        tree.attempted = true;
        tree.failures = 0;
        tree.backoff.reset();
    }

    /// Waits for a fired watch, a session change, or the next retry of a failed tree.
    async fn wait(&mut self) -> Wake {
        let retry = self
            .trees
            .iter()
            .filter_map(|t| match t.status {
                Status::Failed { retry } => Some(retry),
                _ => None,
            })
            .min();
        let Run {
            state,
            trees,
            poll_start,
            ..
        } = self;
        let session = async {
            match state.as_mut() {
                Some(s) => loop {
                    let changed = s.changed().await;
                    if changed.is_terminated() {
                        return changed;
                    }
                },
                None => futures::future::pending().await,
            }
        };
        let retry = async {
            match retry {
                Some(at) => tokio::time::sleep_until(at).await,
                None => futures::future::pending().await,
            }
        };
        tokio::select! {
            Some(wake) = poll_fired(trees, poll_start) => wake,
            state = session => Wake::SessionState(state),
            () = retry => Wake::Retry,
        }
    }

    async fn handle(&mut self, wake: Wake) {
        match wake {
            Wake::Retry => {}
            Wake::SessionState(state) => self.lose_session(state),
            Wake::Fired(t, fired) => self.fired(t, fired).await,
        }
    }

    async fn fired(&mut self, t: usize, fired: Fired) {
        if fired.event.event_type == zk::EventType::Session {
            if fired.event.session_state.is_terminated() {
                self.lose_session(fired.event.session_state);
            }
            return;
        }
        let Some(client) = self.client.clone() else {
            return;
        };
        if fired.kind == Kind::Exists {
            if self.trees[t].absent_token == fired.token {
                self.reload(t).await;
            }
            return;
        }
        match self.trees[t].nodes.get(&fired.path) {
            Some(node) if node.token == fired.token => {}
            // A watch of a znode no longer in the tree, or of an older incarnation.
            _ => return,
        }
        let path = fired.path;
        let is_root = *path == *self.trees[t].path;
        match fired.kind {
            Kind::Data => match client.get_and_watch_data(&path).await {
                Ok((data, _, watcher)) => {
                    let tree = &mut self.trees[t];
                    let node = tree.nodes.get_mut(&path).expect("checked above");
                    tree.watches
                        .push(arm(watcher, path.clone(), Kind::Data, fired.token));
                    if node.data != data {
                        node.data = Bytes::from(data);
                        self.dirty.insert(path);
                    }
                }
                Err(zk::Error::NoNode) if is_root => self.reload(t).await,
                Err(zk::Error::NoNode) => self.remove(t, &path),
                Err(e) => self.fail(t, e),
            },
            Kind::Children => match client.get_and_watch_children(&path).await {
                Ok((children, _, watcher)) => {
                    self.trees[t].watches.push(arm(
                        watcher,
                        path.clone(),
                        Kind::Children,
                        fired.token,
                    ));
                    self.children_changed(t, &client, &path, children).await;
                }
                Err(zk::Error::NoNode) if is_root => self.reload(t).await,
                Err(zk::Error::NoNode) => self.remove(t, &path),
                Err(e) => self.fail(t, e),
            },
            Kind::Exists => unreachable!("handled above"),
        }
    }

    /// The children of `path` are now `children`: new ones are read, gone ones removed.
    async fn children_changed(
        &mut self,
        t: usize,
        client: &zk::Client,
        path: &Str,
        children: Vec<String>,
    ) {
        let tree = &mut self.trees[t];
        let Some(node) = tree.nodes.get_mut(path) else {
            return;
        };
        let before = std::mem::replace(&mut node.children, children.clone());
        let listed: HashSet<&str> = children.iter().map(String::as_str).collect();
        let gone: Vec<String> = before
            .iter()
            .filter(|c| !listed.contains(c.as_str()))
            .map(|c| child_path(path, c))
            .collect();
        for child in gone {
            self.remove(t, &child);
        }
        let new: Vec<String> = children
            .iter()
            .map(|c| child_path(path, c))
            .filter(|p| !self.trees[t].nodes.contains_key(p.as_str()))
            .collect();
        if new.is_empty() {
            return;
        }
        match load(client, new).await {
            Ok(loaded) => {
                for l in loaded {
                    let token = self.token();
                    let tree = &mut self.trees[t];
                    tree.watches
                        .push(arm(l.data_watch, l.path.clone(), Kind::Data, token));
                    tree.watches
                        .push(arm(l.child_watch, l.path.clone(), Kind::Children, token));
                    self.dirty.insert(l.path.clone());
                    tree.nodes.insert(
                        l.path,
                        Node {
                            data: l.data,
                            children: l.children,
                            token,
                        },
                    );
                }
            }
            Err(e) => self.fail(t, e),
        }
    }

    /// Removes the znode at `path` and everything below it from tree `t`.
    fn remove(&mut self, t: usize, path: &str) {
        let tree = &mut self.trees[t];
        let mut stack = vec![path.to_owned()];
        while let Some(p) = stack.pop() {
            if let Some((key, node)) = tree.nodes.remove_entry(p.as_str()) {
                stack.extend(node.children.iter().map(|c| child_path(&p, c)));
                self.dirty.insert(key);
            }
        }
    }

    /// The update to send now, if any: the full state once every tree was read (or failed)
    /// once, then the groups of the dirty paths.
    async fn take_update(&mut self) -> Option<Update> {
        if !self.full_sent {
            if !self.trees.iter().all(|t| t.attempted) {
                return None;
            }
            self.full_sent = true;
            self.dirty.clear();
            let members: Vec<(Str, Bytes)> = self
                .trees
                .iter()
                .flat_map(|t| t.nodes.iter().map(|(p, n)| (p.clone(), n.data.clone())))
                .collect();
            let groups = full_groups(self.settings.flavor, self.provider.clone(), members).await;
            self.sent = groups.iter().map(|g| g.source.clone()).collect();
            return Some(Update::Full(groups));
        }
        if self.dirty.is_empty() {
            return None;
        }
        let mut members = Vec::with_capacity(self.dirty.len());
        let mut gone = Vec::new();
        for path in self.dirty.drain() {
            match self.trees.iter().find_map(|t| t.nodes.get(&path)) {
                Some(node) => members.push((path, node.data.clone())),
                None => gone.push(path),
            }
        }
        let mut changed = Vec::new();
        let groups = member_groups(self.settings.flavor, self.provider.clone(), members).await;
        for group in groups {
            if group.targets.is_empty() {
                if self.sent.remove(&group.source) {
                    changed.push(group);
                }
            } else {
                self.sent.insert(group.source.clone());
                changed.push(group);
            }
        }
        for path in gone {
            if self.sent.remove(&path) {
                changed.push(TargetGroup::removal(path));
            }
        }
        if changed.is_empty() {
            return None;
        }
        changed.sort_by(|a, b| a.source.cmp(&b.source));
        Some(Update::Changed(changed))
    }
}

/// The groups of members that parse (for the full state), sorted by source.
async fn full_groups(
    flavor: Flavor,
    provider: Str,
    members: Vec<(Str, Bytes)>,
) -> Vec<TargetGroup> {
    let mut groups: Vec<TargetGroup> = member_groups(flavor, provider, members)
        .await
        .into_iter()
        .filter(|g| !g.targets.is_empty())
        .collect();
    groups.sort_by(|a, b| a.source.cmp(&b.source));
    groups
}

/// One group per member: its target, or a removal when its data is not a member (logged).
/// Many members are parsed on the blocking pool.
async fn member_groups(
    flavor: Flavor,
    provider: Str,
    members: Vec<(Str, Bytes)>,
) -> Vec<TargetGroup> {
    let small = members.len() <= 64;
    let parse = move || {
        members
                .iter()
                .map(|(path, data)| {
                    let (group, error) = flavor.group(data, path);
                    if let Some(error) = error {
                        // A znode without data is a directory, not a broken member.
                        if data.is_empty() {
                            tracing::debug!(provider = %provider, path = %path, "znode without data is not a member");
                        } else {
                            tracing::warn!(provider = %provider, error = %error, "znode skipped");
                        }
                    }
                    group
                })
                .collect::<Vec<_>>()
    };
    if small {
        return parse();
    }
    tokio::task::spawn_blocking(parse).await.unwrap_or_default()
}
