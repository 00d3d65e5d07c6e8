//! Warm start (`--storage.state-file`): the last good discovered state of every job, persisted
//! so that a restarted promsd serves targets at once, before its mechanisms answer again.
//!
//! A subscriber keeps the groups of each job whose providers have all delivered (persistent
//! clones of the engine's state, O(1) each), and writes them on a background thread (coalesced,
//! at most every few seconds, atomically: temporary file, fsync, rename). At start the
//! pipeline serves a job from this file until its fresh discovery is ready, and counts such jobs
//! in `promsd_sd_stale_jobs`. A missing file is no warm state; an unreadable one is logged and
//! ignored — it never stops the daemon.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use actix::prelude::*;
use promsd_actors::{JobTargets, LabelSet, Str, SyncTargets, TargetGroup};
use serde::{Deserialize, Serialize};

use super::file_sd_output::write_atomically;

const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct StoredGroup {
    source: String,
    targets: Vec<LabelSet>,
    labels: LabelSet,
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    jobs: BTreeMap<String, Vec<StoredGroup>>,
}

/// Discovered groups per job.
pub type JobGroups = HashMap<Str, Vec<Arc<TargetGroup>>>;

/// Reads a state file; a missing file is an empty state.
pub fn load(path: &Path) -> Result<JobGroups, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(JobGroups::new()),
        Err(e) => return Err(format!("cannot read state file {}: {e}", path.display())),
    };
    let file: StateFile = serde_json::from_slice(&bytes)
        .map_err(|e| format!("state file {} is not valid: {e}", path.display()))?;
    if file.version != FORMAT_VERSION {
        return Err(format!(
            "state file {} has unknown version {}",
            path.display(),
            file.version
        ));
    }
    Ok(file
        .jobs
        .into_iter()
        .map(|(job, groups)| {
            let groups = groups
                .into_iter()
                .map(|g| Arc::new(TargetGroup::new(g.source, g.targets, g.labels)))
                .collect();
            (Str::from(job), groups)
        })
        .collect())
}

/// A job's state to keep: live from the engine (a cheap persistent clone), or as loaded.
#[derive(Clone)]
enum Saved {
    Live(JobTargets),
    Loaded(Vec<Arc<TargetGroup>>),
}

fn stored(group: &TargetGroup, source: String) -> StoredGroup {
    StoredGroup {
        source,
        targets: group.targets.clone(),
        labels: group.labels.clone(),
    }
}

fn save(path: &Path, state: &HashMap<Str, Saved>) -> std::io::Result<()> {
    let jobs = state
        .iter()
        .map(|(job, saved)| {
            let groups = match saved {
                Saved::Live(targets) => targets
                    .groups()
                    .map(|(key, g)| stored(g, format!("{}/{}", key.provider, key.source)))
                    .collect(),
                Saved::Loaded(groups) => groups
                    .iter()
                    .map(|g| stored(g, g.source.to_string()))
                    .collect(),
            };
            (job.to_string(), groups)
        })
        .collect();
    let body = serde_json::to_vec(&StateFile {
        version: FORMAT_VERSION,
        jobs,
    })?;
    write_atomically(path, &body)
}

/// Subscriber that keeps each ready job's groups and has them written.
pub struct StateSaver {
    state: HashMap<Str, Saved>,
    writes: mpsc::Sender<HashMap<Str, Saved>>,
}

impl StateSaver {
    /// Starts from `initial` (what was loaded) and writes to `path` at most every `min_gap`.
    pub fn new(path: PathBuf, initial: JobGroups, min_gap: Duration) -> std::io::Result<Self> {
        let (writes, rx) = mpsc::channel::<HashMap<Str, Saved>>();
        std::thread::Builder::new()
            .name("state-file".into())
            .spawn(move || {
                let mut last_write: Option<Instant> = None;
                while let Ok(mut state) = rx.recv() {
                    if let Some(at) = last_write {
                        std::thread::sleep(min_gap.saturating_sub(at.elapsed()));
                    }
                    while let Ok(newer) = rx.try_recv() {
                        state = newer;
                    }
                    if let Err(error) = save(&path, &state) {
                        tracing::error!(path = %path.display(), %error, "cannot write state file");
                    }
                    last_write = Some(Instant::now());
                }
            })?;
        Ok(StateSaver {
            state: initial
                .into_iter()
                .map(|(job, groups)| (job, Saved::Loaded(groups)))
                .collect(),
            writes,
        })
    }
}

impl Actor for StateSaver {
    type Context = Context<Self>;
}

impl Handler<SyncTargets> for StateSaver {
    type Result = ();

    fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) {
        let snapshot = &msg.snapshot;
        let before = self.state.len();
        self.state.retain(|job, _| snapshot.job(job).is_some());
        let mut changed = self.state.len() != before;
        for (job, targets) in snapshot.jobs() {
            // Only a job whose providers all answered is a good state to keep.
            if targets.is_ready() {
                self.state.insert(job.clone(), Saved::Live(targets.clone()));
                changed = true;
            }
        }
        if changed {
            let _ = self.writes.send(self.state.clone());
        }
    }
}
