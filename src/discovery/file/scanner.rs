//! What one file SD discoverer knows about its files, and the synchronous work of bringing that
//! knowledge up to date. Runs on the blocking pool, never on an actor's thread.
//!
//! Per file it keeps the file's metadata stamp (mtime, size, inode) when last examined, a hash
//! of the content whose groups were sent, and a hash per sent group. So:
//! - a periodic scan only stats files; it reads a file whose stamp changed;
//! - a read whose content hash is unchanged decodes nothing;
//! - a decoded file sends only the groups whose hash changed, and removals for indexes it lost;
//! - a file that cannot be read or decoded keeps its groups (the error is counted, logged with
//!   its position, and reported once per distinct bad content);
//! - a file that changes while being read, or that became empty moments ago (a writer that
//!   truncated and has not written yet), is looked at again shortly instead of being believed;
//! - only a file known to be gone (not found, or no longer listed by its pattern in a directory
//!   that could be listed) loses its groups.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promsd_actors::{DiscoveryError, TargetGroup};
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

use super::metrics::{FileMetrics, MtimeSeries};
use super::parse::{parse_groups, source, Format};
use super::pattern::{expand_all, Pattern};

/// The metadata that tells whether a file may have changed since it was last examined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    mtime_ns: i128,
    size: u64,
    inode: u64,
    device: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        #[cfg(unix)]
        let (inode, device) = {
            use std::os::unix::fs::MetadataExt;
            (meta.ino(), meta.dev())
        };
        #[cfg(not(unix))]
        let (inode, device) = (0, 0);
        Stamp {
            mtime_ns,
            size: meta.len(),
            inode,
            device,
        }
    }
}

#[derive(Debug, Default)]
struct FileState {
    /// Metadata when the file was last examined (decoded, found unchanged, or rejected).
    stamp: Option<Stamp>,
    /// Hash of the content whose groups were sent.
    content: Option<u128>,
    /// Hash of content that failed to decode and was reported.
    rejected: Option<u128>,
    /// Hash of each group sent, by index in the file.
    groups: Vec<u128>,
}

/// What one pass found.
#[derive(Debug, Default)]
pub(crate) struct Pass {
    /// Groups that changed, and empty groups for sources that are gone.
    pub(crate) changed: Vec<TargetGroup>,
    /// Files that could not be read or decoded (each reported once per distinct content).
    pub(crate) errors: Vec<DiscoveryError>,
    /// Files to look at again after the given delay: they were changing while read.
    pub(crate) unsettled: Vec<(String, Duration)>,
}

pub(crate) struct Scanner {
    patterns: Arc<[Pattern]>,
    files: HashMap<String, FileState>,
    metrics: FileMetrics,
    mtimes: MtimeSeries,
    /// How long an empty file that used to have groups must stay empty to be believed.
    empty_settle: Duration,
    /// Delay before reading again a file that changed while it was read.
    retry: Duration,
}

impl Scanner {
    pub(crate) fn new(
        patterns: Arc<[Pattern]>,
        metrics: FileMetrics,
        empty_settle: Duration,
        retry: Duration,
    ) -> Self {
        Scanner {
            patterns,
            files: HashMap::new(),
            mtimes: MtimeSeries::new(metrics.clone()),
            metrics,
            empty_settle,
            retry,
        }
    }

    /// Lists every pattern, reads the files whose stamp changed, and forgets the files gone.
    pub(crate) fn scan_all(&mut self, pass: &mut Pass) {
        let (found, unreadable_dirs) = expand_all(&self.patterns);
        for key in &found {
            self.check(key, false, pass);
        }
        let gone: BTreeSet<String> = self
            .files
            .keys()
            .filter(|key| !found.contains(*key))
            .filter(|key| {
                let parent = std::path::Path::new(key.as_str()).parent();
                !unreadable_dirs
                    .iter()
                    .any(|d| parent == Some(std::path::Path::new(d)))
            })
            .cloned()
            .collect();
        for key in gone {
            self.forget(&key, pass);
        }
    }

    /// Brings one file up to date. `force` reads it even if its stamp is unchanged (the
    /// watcher said it changed; stamps have coarse clocks), though unchanged content is still
    /// not decoded.
    pub(crate) fn check(&mut self, key: &str, force: bool, pass: &mut Pass) {
        let meta = match std::fs::metadata(key) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return self.forget(key, pass),
            Err(e) => return self.read_failed(key, None, &e.to_string(), None, pass),
        };
        let stamp = Stamp::of(&meta);
        let state = self.files.entry(key.to_owned()).or_default();
        if !force && state.stamp == Some(stamp) {
            return;
        }
        let content = match std::fs::read(key) {
            Ok(content) => content,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return self.forget(key, pass),
            Err(e) => return self.read_failed(key, Some(stamp), &e.to_string(), None, pass),
        };
        // A file that changed while it was read is read again once it holds still.
        match std::fs::metadata(key) {
            Ok(after) if Stamp::of(&after) == stamp => {}
            _ => return pass.unsettled.push((key.to_owned(), self.retry)),
        }
        let hash = xxh3_128(&content);
        let state = self.files.entry(key.to_owned()).or_default();
        if state.content == Some(hash) || state.rejected == Some(hash) {
            state.stamp = Some(stamp);
            return;
        }
        // A writer that truncated the file and has not written yet: wait before believing it.
        if !state.groups.is_empty() && content.iter().all(u8::is_ascii_whitespace) {
            let age = meta
                .modified()
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .unwrap_or(Duration::MAX);
            if age < self.empty_settle {
                let wait = (self.empty_settle - age).max(self.retry);
                return pass.unsettled.push((key.to_owned(), wait));
            }
        }
        let Some(format) = Format::of(key) else {
            // Patterns are validated to end in an extension Prometheus reads.
            return self.read_failed(key, Some(stamp), "unknown file extension", None, pass);
        };
        self.metrics.count_parsed_file();
        let groups = match parse_groups(&content, format, key) {
            Ok(groups) => groups,
            Err(e) => {
                let state = self.files.entry(key.to_owned()).or_default();
                state.rejected = Some(hash);
                return self.read_failed(key, Some(stamp), &e.message, e.position, pass);
            }
        };
        let state = self.files.entry(key.to_owned()).or_default();
        let hashes: Vec<u128> = groups.iter().map(group_hash).collect();
        let old_len = state.groups.len();
        for (i, group) in groups.into_iter().enumerate() {
            if state.groups.get(i) != Some(&hashes[i]) {
                pass.changed.push(group);
            }
        }
        for i in hashes.len()..old_len {
            pass.changed.push(TargetGroup::removal(source(key, i)));
        }
        state.groups = hashes;
        state.content = Some(hash);
        state.rejected = None;
        state.stamp = Some(stamp);
        let mtime = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map_or(0.0, |d| d.as_secs() as f64);
        self.mtimes.set(key, mtime);
    }

    /// The file is gone: its groups are removed.
    fn forget(&mut self, key: &str, pass: &mut Pass) {
        if let Some(state) = self.files.remove(key) {
            tracing::debug!(path = key, "file SD file is gone; removing its groups");
            pass.changed
                .extend((0..state.groups.len()).map(|i| TargetGroup::removal(source(key, i))));
            self.mtimes.release(key);
        }
    }

    fn read_failed(
        &mut self,
        key: &str,
        stamp: Option<Stamp>,
        error: &str,
        position: Option<(usize, usize)>,
        pass: &mut Pass,
    ) {
        let state = self.files.entry(key.to_owned()).or_default();
        if stamp.is_some() && state.stamp == stamp {
            // Already reported for this very file state.
            return;
        }
        state.stamp = stamp;
        self.metrics.count_read_error();
        let (line, column) = position.unzip();
        tracing::error!(
            path = key,
            line,
            column,
            error,
            "error reading file SD file; its last good target groups are kept"
        );
        pass.errors
            .push(DiscoveryError::new(format!("reading {key}: {error}")));
    }
}

/// A hash of what a group carries (targets and labels), to tell changed groups from the rest.
fn group_hash(group: &TargetGroup) -> u128 {
    let mut hasher = Xxh3::new();
    group.targets.hash(&mut hasher);
    group.labels.hash(&mut hasher);
    hasher.digest128()
}
