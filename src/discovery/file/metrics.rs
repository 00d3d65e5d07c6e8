//! File SD's own metrics, under Prometheus' names (`discovery/file/metrics.go`), registered once
//! for the mechanism however many file SD configs run.
//!
//! - `prometheus_sd_file_read_errors_total`: files that could not be read or parsed.
//! - `prometheus_sd_file_scan_duration_seconds`: time per scan (a histogram; Prometheus has a
//!   summary, which prometheus-client lacks).
//! - `prometheus_sd_file_watcher_errors_total`: file system watch failures.
//! - `prometheus_sd_file_mtime_seconds{filename}`: the mtime of each file read, as of its last
//!   successful read. A series lives while some running discoverer holds the file; it goes
//!   when the last one forgets the file or stops.
//! - `promsd_sd_file_parsed_files_total`: files decoded (promsd's own: a file whose content did
//!   not change is not decoded again, and this counter shows it).
//!
//! The daemon calls [`register_metrics`]; discoverers built from configs use the same families.
//! Tests and benchmarks make private, unregistered ones with [`FileMetrics::new`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, LazyLock, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The `filename` label of `prometheus_sd_file_mtime_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FilenameLabel {
    pub filename: String,
}

/// Handles on the file SD metric families (cheap to clone; clones share the families).
#[derive(Clone, Debug)]
pub struct FileMetrics {
    inner: Arc<Families>,
}

#[derive(Debug)]
struct Families {
    read_errors: Counter,
    watcher_errors: Counter,
    scan_duration: Histogram,
    parsed_files: Counter,
    mtime: Family<FilenameLabel, Gauge<f64, AtomicU64>>,
    /// How many running discoverers hold each `mtime` series.
    mtime_holders: Mutex<HashMap<String, usize>>,
}

static GLOBAL: LazyLock<FileMetrics> = LazyLock::new(FileMetrics::new);

/// Registers the file SD metrics (shared by every file SD discoverer of the process).
pub fn register_metrics(registry: &mut Registry) {
    let m = &GLOBAL.inner;
    registry.register(
        "prometheus_sd_file_read_errors",
        "The number of File-SD read errors.",
        m.read_errors.clone(),
    );
    registry.register_with_unit(
        "prometheus_sd_file_scan_duration",
        "The duration of the File-SD scan in seconds.",
        Unit::Seconds,
        m.scan_duration.clone(),
    );
    registry.register(
        "prometheus_sd_file_watcher_errors",
        "The number of File-SD errors caused by filesystem watch failures.",
        m.watcher_errors.clone(),
    );
    registry.register_with_unit(
        "prometheus_sd_file_mtime",
        "Timestamp (mtime) of files read by FileSD. Timestamp is set at read time.",
        Unit::Seconds,
        m.mtime.clone(),
    );
    registry.register(
        "promsd_sd_file_parsed_files",
        "The number of files File-SD decoded (unchanged files are not decoded again).",
        m.parsed_files.clone(),
    );
}

impl Default for FileMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl FileMetrics {
    /// The process-wide families that [`register_metrics`] registers.
    pub fn global() -> FileMetrics {
        GLOBAL.clone()
    }

    /// Private, unregistered families (for tests and benchmarks).
    pub fn new() -> FileMetrics {
        FileMetrics {
            inner: Arc::new(Families {
                read_errors: Counter::default(),
                watcher_errors: Counter::default(),
                scan_duration: Histogram::new([
                    0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
                ]),
                parsed_files: Counter::default(),
                mtime: Family::default(),
                mtime_holders: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn read_errors(&self) -> u64 {
        self.inner.read_errors.get()
    }

    pub fn watcher_errors(&self) -> u64 {
        self.inner.watcher_errors.get()
    }

    pub fn parsed_files(&self) -> u64 {
        self.inner.parsed_files.get()
    }

    /// The exported mtime of `filename`, if some running discoverer holds it.
    pub fn mtime(&self, filename: &str) -> Option<f64> {
        self.inner
            .mtime
            .get(&FilenameLabel {
                filename: filename.to_owned(),
            })
            .map(|g| g.get())
    }

    pub(crate) fn count_read_error(&self) {
        self.inner.read_errors.inc();
    }

    pub(crate) fn count_watcher_error(&self) {
        self.inner.watcher_errors.inc();
    }

    pub(crate) fn count_parsed_file(&self) {
        self.inner.parsed_files.inc();
    }

    pub(crate) fn observe_scan(&self, seconds: f64) {
        self.inner.scan_duration.observe(seconds);
    }
}

/// The `prometheus_sd_file_mtime_seconds` series one discoverer holds. Dropping it (with the
/// discoverer) releases them all, so a stopped provider leaves no series behind.
#[derive(Debug)]
pub(crate) struct MtimeSeries {
    metrics: FileMetrics,
    held: HashSet<String>,
}

impl MtimeSeries {
    pub(crate) fn new(metrics: FileMetrics) -> Self {
        MtimeSeries {
            metrics,
            held: HashSet::new(),
        }
    }

    /// Sets the mtime of `filename` (seconds since the epoch), holding its series.
    pub(crate) fn set(&mut self, filename: &str, seconds: f64) {
        let families = &self.metrics.inner;
        if !self.held.contains(filename) {
            self.held.insert(filename.to_owned());
            let mut holders = families.mtime_holders.lock().expect("poisoned");
            *holders.entry(filename.to_owned()).or_default() += 1;
        }
        families
            .mtime
            .get_or_create(&FilenameLabel {
                filename: filename.to_owned(),
            })
            .set(seconds);
    }

    /// Lets go of `filename`'s series; the last holder removes it.
    pub(crate) fn release(&mut self, filename: &str) {
        if self.held.remove(filename) {
            release(&self.metrics, filename);
        }
    }
}

fn release(metrics: &FileMetrics, filename: &str) {
    let families = &metrics.inner;
    let mut holders = families.mtime_holders.lock().expect("poisoned");
    if let Some(count) = holders.get_mut(filename) {
        *count -= 1;
        if *count == 0 {
            holders.remove(filename);
            families.mtime.remove(&FilenameLabel {
                filename: filename.to_owned(),
            });
        }
    }
}

impl Drop for MtimeSeries {
    fn drop(&mut self) {
        for filename in std::mem::take(&mut self.held) {
            release(&self.metrics, &filename);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn registered_under_prometheus_names() {
        let mut registry = Registry::default();
        register_metrics(&mut registry);
        let mut held = MtimeSeries::new(FileMetrics::global());
        held.set("/registered/names.json", 1.0);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for name in [
            "prometheus_sd_file_read_errors_total",
            "prometheus_sd_file_scan_duration_seconds_bucket",
            "prometheus_sd_file_watcher_errors_total",
            "prometheus_sd_file_mtime_seconds{filename=\"/registered/names.json\"}",
            "promsd_sd_file_parsed_files_total",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }

    #[test]
    fn mtime_series_lives_while_a_discoverer_holds_it() {
        let metrics = FileMetrics::new();
        let mut a = MtimeSeries::new(metrics.clone());
        let mut b = MtimeSeries::new(metrics.clone());
        a.set("/x.json", 10.0);
        b.set("/x.json", 11.0);
        a.set("/y.json", 12.0);
        assert_eq!(metrics.mtime("/x.json"), Some(11.0));
        a.release("/x.json");
        assert_eq!(metrics.mtime("/x.json"), Some(11.0));
        drop(b);
        assert_eq!(metrics.mtime("/x.json"), None);
        assert_eq!(metrics.mtime("/y.json"), Some(12.0));
        drop(a);
        assert_eq!(metrics.mtime("/y.json"), None);
    }
}
