//! The file SD discoverer: a stream that watches the patterns' directories, rereads only the
//! files that changed, and sends only the groups that changed.
//!
//! Prometheus rereads every file on any event and on every refresh tick, and believes whatever
//! it reads, so a file caught half-written loses targets. Here:
//! - watcher events name files; those are read (after a short quiet time, so a burst of events
//!   makes one pass), and a file still open for writing (Linux tells when the writer closes it)
//!   is waited for;
//! - an event that names no file we read (a temporary file renamed away, a directory or
//!   symlink swapped, a lost event) triggers a scan that only stats files and reads those whose
//!   metadata changed; the periodic refresh (`refresh_interval`) is the same scan, as a safety
//!   net for missed events and for directories that appear later;
//! - all file system work (watching, listing, reading, decoding) runs on the blocking pool; the
//!   per-file state travels there and back with each pass;
//! - the first item is the full state, later ones only changed groups (a removed source is an
//!   empty group); a file that fails to read or decode keeps its groups and yields an error
//!   item after the update.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use promsd_actors::{Discoverer, DiscoveryError, Update};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::metrics::FileMetrics;
use super::pattern::{watch_dirs, Pattern};
use super::scanner::{Pass, Scanner};

/// Timing of a file SD discoverer. The defaults suit production; tests may shorten them.
#[derive(Clone, Copy, Debug)]
pub struct Tuning {
    /// Quiet time after the last event for a file before it is read.
    pub debounce: Duration,
    /// Longest wait after the first event of a busy file (events that keep coming).
    pub max_delay: Duration,
    /// Longest wait for a writer to close a file it is writing (Linux only).
    pub max_hold: Duration,
    /// How long a file that became empty must stay so before its groups are dropped.
    pub empty_settle: Duration,
    /// Whether to watch the file system; without it only the periodic refresh sees changes.
    pub watch: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            debounce: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
            max_hold: Duration::from_secs(5),
            empty_settle: Duration::from_secs(1),
            watch: true,
        }
    }
}

/// Starts a file SD discoverer for `patterns`.
///
/// `refresh` is the period of the safety-net scan (`None`: only watch). Nothing touches the
/// file system until the stream is first polled, and then only on the blocking pool.
pub(crate) fn file_discoverer(
    patterns: Vec<Pattern>,
    refresh: Option<Duration>,
    metrics: FileMetrics,
    tuning: Tuning,
) -> Discoverer {
    let patterns: Arc<[Pattern]> = patterns.into();
    let (tx, rx) = mpsc::unbounded_channel();
    let driver = Driver {
        patterns: patterns.clone(),
        work: Some(Work {
            scanner: Scanner::new(
                patterns.clone(),
                metrics.clone(),
                tuning.empty_settle,
                tuning.debounce,
            ),
            patterns,
            events: tx,
            watcher: None,
            watched: Vec::new(),
            watch: tuning.watch,
            metrics: metrics.clone(),
        }),
        events: tuning.watch.then_some(rx),
        pending: HashMap::new(),
        scan: None,
        refresh,
        next_refresh: None,
        started: false,
        queue: VecDeque::new(),
        tuning,
        metrics,
    };
    futures::stream::unfold(driver, |mut driver| async move {
        let item = driver.next_item().await;
        Some((item, driver))
    })
    .boxed()
}

type Item = Result<Update, DiscoveryError>;
type Event = notify::Result<notify::Event>;

/// A file (or the whole scan) waiting to be looked at.
#[derive(Clone, Copy, Debug)]
struct Pending {
    first: Instant,
    last: Instant,
    /// Not to be looked at before this (a file that was changing while read).
    not_before: Instant,
    /// A writer modified the file and has not closed it yet.
    writing: bool,
}

impl Pending {
    fn new(now: Instant) -> Self {
        Pending {
            first: now,
            last: now,
            not_before: now,
            writing: false,
        }
    }

    fn touch(&mut self, now: Instant) {
        self.last = now;
    }

    fn ready_at(&self, tuning: &Tuning) -> Instant {
        let ready = if self.writing {
            self.first + tuning.max_hold
        } else {
            (self.last + tuning.debounce).min(self.first + tuning.max_delay)
        };
        ready.max(self.not_before)
    }
}

/// What the async side holds between passes.
struct Driver {
    patterns: Arc<[Pattern]>,
    /// The state that travels to the blocking pool for each pass (absent during a pass).
    work: Option<Work>,
    events: Option<mpsc::UnboundedReceiver<Event>>,
    /// Files named by events, by key.
    pending: HashMap<String, Pending>,
    /// A stat-only scan of everything was asked for.
    scan: Option<Pending>,
    refresh: Option<Duration>,
    next_refresh: Option<Instant>,
    started: bool,
    queue: VecDeque<Item>,
    tuning: Tuning,
    metrics: FileMetrics,
}

/// What one pass must do.
#[derive(Debug, Default)]
struct Job {
    /// List every pattern and read files whose metadata changed; renew watches.
    full: bool,
    /// Files to read now (their content hash decides whether they changed).
    keys: Vec<String>,
}

/// How an event bears on the file it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// Nothing to do (opened, read, attributes changed: our own reads cause these).
    Ignore,
    /// Being written: wait for the writer to close it.
    Writing,
    /// Changed and complete (closed after writing, renamed, created, removed).
    Changed,
}

fn effect(kind: &EventKind) -> Effect {
    // Only inotify reports closes; elsewhere a write cannot be waited for.
    const CLOSES_REPORTED: bool = cfg!(any(target_os = "linux", target_os = "android"));
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Effect::Changed,
        EventKind::Access(_) => Effect::Ignore,
        EventKind::Modify(ModifyKind::Metadata(_)) => Effect::Ignore,
        EventKind::Modify(ModifyKind::Data(_)) if CLOSES_REPORTED => Effect::Writing,
        _ => Effect::Changed,
    }
}

impl Driver {
    async fn next_item(&mut self) -> Item {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return item;
            }
            if !self.started {
                self.started = true;
                let pass = self
                    .run(Job {
                        full: true,
                        keys: Vec::new(),
                    })
                    .await;
                self.next_refresh = self.refresh.map(|r| Instant::now() + r);
                self.finish(pass, true);
                continue;
            }
            if let Some(job) = self.take_ready(Instant::now()) {
                let pass = self.run(job).await;
                self.finish(pass, false);
                continue;
            }
            let deadline = self.next_deadline();
            let events = &mut self.events;
            tokio::select! {
                event = async {
                    match events {
                        Some(rx) => rx.recv().await,
                        None => futures::future::pending().await,
                    }
                } => match event {
                    Some(event) => {
                        let now = Instant::now();
                        self.on_event(event, now);
                        while let Some(Ok(event)) = self.events.as_mut().map(|rx| rx.try_recv()) {
                            self.on_event(event, now);
                        }
                    }
                    None => self.events = None,
                },
                _ = async {
                    match deadline {
                        Some(deadline) => tokio::time::sleep_until(deadline).await,
                        None => futures::future::pending().await,
                    }
                } => {}
            }
        }
    }

    /// Queues what a pass produced: the update (always for the first pass), then its errors.
    fn finish(&mut self, pass: Pass, first: bool) {
        if first {
            let mut groups = pass.changed;
            groups.retain(|g| !g.targets.is_empty());
            self.queue.push_back(Ok(Update::Full(groups)));
        } else if !pass.changed.is_empty() {
            self.queue.push_back(Ok(Update::Changed(pass.changed)));
        }
        self.queue.extend(pass.errors.into_iter().map(Err));
        let now = Instant::now();
        for (key, wait) in pass.unsettled {
            let entry = self.pending.entry(key).or_insert_with(|| Pending::new(now));
            entry.not_before = entry.not_before.max(now + wait);
        }
    }

    fn on_event(&mut self, event: Event, now: Instant) {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                self.metrics.count_watcher_error();
                tracing::error!(%error, "error watching file SD files; rescanning");
                self.request_scan(now);
                return;
            }
        };
        if event.need_rescan() || event.paths.is_empty() {
            self.request_scan(now);
        }
        let effect = effect(&event.kind);
        if effect == Effect::Ignore {
            return;
        }
        for path in &event.paths {
            let mut named = false;
            for pattern in self.patterns.iter() {
                if let Some(key) = pattern.key_for(path) {
                    named = true;
                    let entry = self.pending.entry(key).or_insert_with(|| Pending::new(now));
                    entry.touch(now);
                    match effect {
                        Effect::Writing => {
                            if !entry.writing {
                                entry.writing = true;
                                entry.first = now;
                            }
                        }
                        _ => entry.writing = false,
                    }
                }
            }
            if !named && effect != Effect::Writing && !is_close(&event.kind) {
                // Something else moved in a watched directory: a temporary file, a directory
                // or a symlink that files resolve through. Stamps tell what changed.
                if matches!(event.kind, EventKind::Remove(_) | EventKind::Modify(_)) {
                    if let Some(work) = self.work.as_mut() {
                        work.forget_watch(path);
                    }
                }
                self.request_scan(now);
            }
        }
    }

    fn request_scan(&mut self, now: Instant) {
        self.scan
            .get_or_insert_with(|| Pending::new(now))
            .touch(now);
    }

    /// The work that is due now, if any.
    fn take_ready(&mut self, now: Instant) -> Option<Job> {
        let tuning = self.tuning;
        let refresh_due = self.next_refresh.is_some_and(|t| now >= t);
        let scan_due = self.scan.is_some_and(|p| p.ready_at(&tuning) <= now);
        let keys: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.ready_at(&tuning) <= now)
            .map(|(k, _)| k.clone())
            .collect();
        if !refresh_due && !scan_due && keys.is_empty() {
            return None;
        }
        for key in &keys {
            self.pending.remove(key);
        }
        let full = refresh_due || scan_due;
        if full {
            self.scan = None;
        }
        if refresh_due {
            self.next_refresh = self.refresh.map(|r| now + r);
        }
        Some(Job { full, keys })
    }

    fn next_deadline(&self) -> Option<Instant> {
        let tuning = &self.tuning;
        self.pending
            .values()
            .chain(self.scan.iter())
            .map(|p| p.ready_at(tuning))
            .chain(self.next_refresh)
            .min()
    }

    /// Runs one pass on the blocking pool. A panic there is resumed here, so that the engine
    /// sees the discoverer panic and restarts it.
    async fn run(&mut self, job: Job) -> Pass {
        let mut work = self.work.take().expect("one pass at a time");
        let joined = tokio::task::spawn_blocking(move || {
            let pass = work.run(job);
            (work, pass)
        })
        .await;
        match joined {
            Ok((work, pass)) => {
                self.work = Some(work);
                pass
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("file SD pass was cancelled: {e}"),
        }
    }
}

fn is_close(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Access(AccessKind::Close(_)))
}

/// The state a pass needs, moved to the blocking pool and back.
struct Work {
    scanner: Scanner,
    patterns: Arc<[Pattern]>,
    events: mpsc::UnboundedSender<Event>,
    watcher: Option<RecommendedWatcher>,
    /// Directories watched now.
    watched: Vec<PathBuf>,
    watch: bool,
    metrics: FileMetrics,
}

impl Work {
    fn run(&mut self, job: Job) -> Pass {
        let started = std::time::Instant::now();
        let mut pass = Pass::default();
        if job.full {
            self.renew_watches();
        }
        for key in &job.keys {
            self.scanner.check(key, true, &mut pass);
        }
        if job.full {
            self.scanner.scan_all(&mut pass);
        }
        self.metrics.observe_scan(started.elapsed().as_secs_f64());
        pass
    }

    /// Watches every pattern's directory (before listing, so that no file slips between the
    /// listing and the watch). A directory that cannot be watched yet (it does not exist) is
    /// tried again on the next scan.
    fn renew_watches(&mut self) {
        if !self.watch {
            return;
        }
        if self.watcher.is_none() {
            let events = self.events.clone();
            match notify::recommended_watcher(move |event: Event| {
                let _ = events.send(event);
            }) {
                Ok(watcher) => self.watcher = Some(watcher),
                Err(error) => {
                    self.metrics.count_watcher_error();
                    tracing::error!(%error, "cannot create a file watcher; file SD relies on its refresh interval");
                    self.watch = false;
                    return;
                }
            }
        }
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        let wanted = watch_dirs(&self.patterns);
        self.watched.retain(|dir| {
            let keep = wanted.contains(dir);
            if !keep {
                let _ = watcher.unwatch(dir);
            }
            keep
        });
        for dir in wanted {
            if self.watched.contains(&dir) {
                continue;
            }
            match watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => self.watched.push(dir),
                Err(error) => {
                    tracing::debug!(dir = %dir.display(), %error, "cannot watch file SD directory yet")
                }
            }
        }
    }

    /// A watched directory was removed or renamed: its watch is gone with it.
    fn forget_watch(&mut self, path: &Path) {
        if let Some(i) = self.watched.iter().position(|d| d == path) {
            let dir = self.watched.swap_remove(i);
            if let Some(watcher) = self.watcher.as_mut() {
                let _ = watcher.unwatch(&dir);
            }
        }
    }
}
