//! File SD output (`--output.file-sd.dir`): one JSON file per job (and per shard when
//! configured), in the format Prometheus' own `file_sd_configs` reads, written atomically (a
//! temporary file in the same directory, fsync, rename) and only when that job changed.
//!
//! Writes run on one background thread, in order, so the actor that publishes changes never
//! waits for a disk; a burst of changes to one job writes its newest state.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

use super::pipeline::{JobView, OnJobChange};
use crate::shard::Shard;

/// The file a job's targets (or one shard of them) are written to.
pub fn output_path(dir: &Path, job: &str, shard: Option<Shard>) -> PathBuf {
    // Job names may hold any character; keep file names portable.
    let safe: String = job
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match shard {
        None => dir.join(format!("{safe}.json")),
        Some(s) => dir.join(format!("{safe}.shard-{}-of-{}.json", s.index, s.count)),
    }
}

/// Writes `body` to `path` so that readers see the old or the new file, never a part.
pub fn write_atomically(path: &Path, body: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile_in(dir, path)?;
    tmp.1.write_all(body)?;
    tmp.1.sync_all()?;
    std::fs::rename(&tmp.0, path)?;
    Ok(())
}

fn tempfile_in(dir: &Path, target: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let file = std::fs::File::create(&tmp)?;
    Ok((tmp, file))
}

/// Starts the writer thread and returns the hook the pipeline calls for each changed job.
pub fn writer(dir: PathBuf, shards: Option<u32>) -> std::io::Result<OnJobChange> {
    std::fs::create_dir_all(&dir)?;
    let (tx, rx) = mpsc::channel::<Arc<JobView>>();
    std::thread::Builder::new()
        .name("file-sd-output".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                // Coalesce: of a burst, only each job's newest view is written.
                let mut newest: BTreeMap<String, Arc<JobView>> = BTreeMap::new();
                newest.insert(first.name.to_string(), first);
                while let Ok(more) = rx.try_recv() {
                    newest.insert(more.name.to_string(), more);
                }
                for view in newest.values() {
                    let targets: Vec<Option<Shard>> = match shards {
                        None => vec![None],
                        Some(n) => (0..n).map(|index| Some(Shard { index, count: n })).collect(),
                    };
                    for shard in targets {
                        let path = output_path(&dir, &view.name, shard);
                        let rendered = view.http_sd(shard);
                        if let Err(error) = write_atomically(&path, &rendered.to_vec()) {
                            tracing::error!(path = %path.display(), %error, "cannot write file SD output");
                        }
                    }
                }
            }
        })?;
    Ok(Box::new(move |view: &Arc<JobView>| {
        let _ = tx.send(view.clone());
    }))
}
