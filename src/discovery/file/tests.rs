//! File SD against real files in temporary directories, watched for real: what a user who
//! writes, renames, truncates and deletes target files sees come out of the discoverer.
//! Every wait is bounded by a generous deadline; no assertion is about elapsed time.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use promsd_actors::{Discoverer, DiscoveryError, TargetGroup, Update, ADDRESS_LABEL};
use serde::de::{Deserialize, IgnoredAny, MapAccess, Visitor};
use tokio::sync::mpsc;

use super::*;
use crate::common::Duration as PromDuration;
use crate::discovery::{next_sd_configs, SdConfigs};

const WAIT: Duration = Duration::from_secs(30);

type Item = Result<Update, DiscoveryError>;

/// A running discoverer over a temporary directory, and the state its updates add up to. The
/// discoverer is polled all the time by a task of its own (as the engine does), so it sees
/// what a test does between two reads of its items.
struct Harness {
    dir: tempfile::TempDir,
    items: mpsc::UnboundedReceiver<Item>,
    poller: tokio::task::JoinHandle<()>,
    metrics: FileMetrics,
    /// source → addresses, as a subscriber would hold them.
    state: BTreeMap<String, Vec<String>>,
}

fn poll(mut stream: Discoverer) -> (tokio::task::JoinHandle<()>, mpsc::UnboundedReceiver<Item>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let poller = tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            if tx.send(item).is_err() {
                break;
            }
        }
    });
    (poller, rx)
}

fn addresses(group: &TargetGroup) -> Vec<String> {
    group
        .targets
        .iter()
        .map(|t| t.get(ADDRESS_LABEL).unwrap_or("").to_owned())
        .collect()
}

fn sources(groups: &[TargetGroup]) -> Vec<String> {
    let mut out: Vec<String> = groups.iter().map(|g| g.source.to_string()).collect();
    out.sort();
    out
}

impl Harness {
    /// Files are created by `setup` before the discoverer starts.
    fn start(patterns: &[&str], setup: impl FnOnce(&Path)) -> Harness {
        Self::start_with(patterns, DEFAULT_REFRESH_INTERVAL, Tuning::default(), setup)
    }

    fn start_with(
        patterns: &[&str],
        refresh: PromDuration,
        tuning: Tuning,
        setup: impl FnOnce(&Path),
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path());
        let base = dir.path().to_str().unwrap();
        let files = patterns.iter().map(|p| format!("{base}/{p}")).collect();
        let config = FileSdConfig::new(files, refresh).unwrap();
        let metrics = FileMetrics::new();
        let (poller, items) = poll(config.discoverer(metrics.clone(), tuning));
        Harness {
            items,
            poller,
            dir,
            metrics,
            state: BTreeMap::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn key(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }

    fn source(&self, name: &str, index: usize) -> String {
        format!("{}:{index}", self.key(name))
    }

    async fn next(&mut self) -> Item {
        let item = tokio::time::timeout(WAIT, self.items.recv())
            .await
            .expect("no item from the file discoverer in time")
            .expect("the file discoverer never ends");
        if let Ok(update) = &item {
            if update.is_full() {
                self.state.clear();
            }
            for g in update.groups() {
                if g.targets.is_empty() {
                    self.state.remove(&*g.source);
                } else {
                    self.state.insert(g.source.to_string(), addresses(g));
                }
            }
        }
        item
    }

    async fn next_update(&mut self) -> Update {
        match self.next().await {
            Ok(update) => update,
            Err(e) => panic!("expected an update, got error {e}"),
        }
    }

    async fn next_error(&mut self) -> DiscoveryError {
        match self.next().await {
            Ok(update) => panic!("expected an error, got {update:?}"),
            Err(e) => e,
        }
    }

    /// Takes items until the state satisfies `condition`; returns the items taken.
    async fn until(
        &mut self,
        condition: impl Fn(&BTreeMap<String, Vec<String>>) -> bool,
    ) -> Vec<Item> {
        let mut items = Vec::new();
        while !condition(&self.state) {
            items.push(self.next().await);
        }
        items
    }

    fn addresses_of(&self, source: &str) -> Vec<&str> {
        self.state
            .get(source)
            .map(|a| a.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

fn json_groups(groups: &[&[&str]]) -> String {
    let groups: Vec<serde_json::Value> = groups
        .iter()
        .map(|addrs| serde_json::json!({"targets": addrs, "labels": {"env": "test"}}))
        .collect();
    serde_json::to_string_pretty(&groups).unwrap()
}

/// Writes a file the way careful tools do: a temporary file, renamed over the target.
fn write_atomically(path: &Path, content: &str) {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap().to_str().unwrap()
    ));
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn first_update_is_the_full_state_of_every_matching_file() {
    let mut h = Harness::start(&["*.json", "*.yml"], |dir| {
        std::fs::write(
            dir.join("a.json"),
            json_groups(&[&["a:1", "a:2"], &["b:1"]]),
        )
        .unwrap();
        std::fs::write(
            dir.join("c.yml"),
            "- targets: ['c:1']\n  labels: {rack: r1}\n",
        )
        .unwrap();
        std::fs::write(dir.join("ignored.txt"), "[]").unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/d.json"), json_groups(&[&["d:1"]])).unwrap();
    });
    let Update::Full(groups) = h.next_update().await else {
        panic!("the first update must be the full state")
    };
    assert_eq!(
        sources(&groups),
        [
            h.source("a.json", 0),
            h.source("a.json", 1),
            h.source("c.yml", 0)
        ]
    );
    let a0 = groups
        .iter()
        .find(|g| *g.source == h.source("a.json", 0))
        .unwrap();
    assert_eq!(addresses(a0), ["a:1", "a:2"]);
    assert_eq!(
        a0.labels.get(FILEPATH_LABEL),
        Some(h.key("a.json").as_str())
    );
    assert_eq!(a0.labels.get("env"), Some("test"));
    let c0 = groups
        .iter()
        .find(|g| *g.source == h.source("c.yml", 0))
        .unwrap();
    assert_eq!(c0.labels.get("rack"), Some("r1"));
    assert_eq!(h.metrics.parsed_files(), 2);
    assert_eq!(h.metrics.read_errors(), 0);
}

#[tokio::test]
async fn a_file_appearing_later_in_a_watched_directory_is_sent_alone() {
    let mut h = Harness::start(&["*.json"], |dir| {
        std::fs::write(dir.join("a.json"), json_groups(&[&["a:1"]])).unwrap();
    });
    h.next_update().await;
    std::fs::write(h.path("b.json"), json_groups(&[&["b:1", "b:2"]])).unwrap();
    let Update::Changed(groups) = h.next_update().await else {
        panic!("later updates carry only changes")
    };
    assert_eq!(sources(&groups), [h.source("b.json", 0)]);
    assert_eq!(addresses(&groups[0]), ["b:1", "b:2"]);
    assert_eq!(h.metrics.parsed_files(), 2, "a.json must not be reread");
}

#[tokio::test]
async fn modifying_a_file_sends_only_its_changed_groups_and_removals() {
    let mut h = Harness::start(&["*.json"], |dir| {
        std::fs::write(
            dir.join("a.json"),
            json_groups(&[&["a:1"], &["a:2"], &["a:3"]]),
        )
        .unwrap();
        std::fs::write(dir.join("b.json"), json_groups(&[&["b:1"]])).unwrap();
    });
    h.next_update().await;
    // Group 0 unchanged, group 1 changed, group 2 gone.
    std::fs::write(h.path("a.json"), json_groups(&[&["a:1"], &["a:9"]])).unwrap();
    let Update::Changed(groups) = h.next_update().await else {
        panic!("later updates carry only changes")
    };
    assert_eq!(
        sources(&groups),
        [h.source("a.json", 1), h.source("a.json", 2)]
    );
    assert_eq!(h.addresses_of(&h.source("a.json", 0)), ["a:1"]);
    assert_eq!(h.addresses_of(&h.source("a.json", 1)), ["a:9"]);
    assert!(!h.state.contains_key(&h.source("a.json", 2)));
    assert_eq!(h.addresses_of(&h.source("b.json", 0)), ["b:1"]);
    // The initial two files, then a.json once (b.json is not reread).
    assert_eq!(h.metrics.parsed_files(), 3);
}

#[tokio::test]
async fn a_file_renamed_into_place_replaces_its_groups() {
    let mut h = Harness::start(&["*.json"], |dir| {
        std::fs::write(dir.join("a.json"), json_groups(&[&["a:1"]])).unwrap();
    });
    h.next_update().await;
    write_atomically(&h.path("a.json"), &json_groups(&[&["a:2"], &["a:3"]]));
    let Update::Changed(groups) = h.next_update().await else {
        panic!("later updates carry only changes")
    };
    assert_eq!(
        sources(&groups),
        [h.source("a.json", 0), h.source("a.json", 1)]
    );
    assert_eq!(h.addresses_of(&h.source("a.json", 0)), ["a:2"]);
    assert_eq!(h.addresses_of(&h.source("a.json", 1)), ["a:3"]);
    assert_eq!(h.metrics.read_errors(), 0);
}

#[tokio::test]
async fn deleting_a_file_removes_its_groups_and_mtime_series() {
    let mut h = Harness::start(&["*.json"], |dir| {
        std::fs::write(dir.join("a.json"), json_groups(&[&["a:1"], &["a:2"]])).unwrap();
        std::fs::write(dir.join("b.json"), json_groups(&[&["b:1"]])).unwrap();
    });
    h.next_update().await;
    let key = h.key("a.json");
    assert!(h.metrics.mtime(&key).is_some_and(|t| t > 1.0e9));
    std::fs::remove_file(h.path("a.json")).unwrap();
    let Update::Changed(groups) = h.next_update().await else {
        panic!("later updates carry only changes")
    };
    assert_eq!(
        sources(&groups),
        [h.source("a.json", 0), h.source("a.json", 1)]
    );
    assert!(groups.iter().all(|g| g.targets.is_empty()));
    assert_eq!(
        h.state.keys().cloned().collect::<Vec<_>>(),
        [h.source("b.json", 0)]
    );
    assert_eq!(h.metrics.mtime(&key), None);
    assert!(h.metrics.mtime(&h.key("b.json")).is_some());
}

#[tokio::test]
async fn a_file_truncated_to_partial_json_keeps_its_groups() {
    let mut h = Harness::start(&["*.json"], |dir| {
        std::fs::write(dir.join("a.json"), json_groups(&[&["a:1"], &["a:2"]])).unwrap();
    });
    h.next_update().await;
    let good = h.state.clone();
    let full = json_groups(&[&["a:1"], &["a:2"], &["a:3"]]);
    std::fs::write(h.path("a.json"), &full[..full.len() / 2]).unwrap();
    let error = h.next_error().await;
    assert!(error.message().contains(&h.key("a.json")), "{error}");
    assert!(error.message().contains("EOF while parsing"), "{error}");
    assert_eq!(h.state, good, "a partial file must not replace good groups");
    assert_eq!(h.metrics.read_errors(), 1);
    // The writer finishes: the complete file is taken.
    std::fs::write(h.path("a.json"), &full).unwrap();
    let Update::Changed(groups) = h.next_update().await else {
        panic!("later updates carry only changes")
    };
    assert_eq!(sources(&groups), [h.source("a.json", 2)]);
    assert_eq!(h.state.len(), 3);
}

#[tokio::test]
async fn invalid_json_keeps_groups_and_reports_where() {
    let mut h = Harness::start(&["*.json"], |dir| {
        std::fs::write(dir.join("a.json"), json_groups(&[&["a:1"]])).unwrap();
    });
    h.next_update().await;
    let good = h.state.clone();
    std::fs::write(
        h.path("a.json"),
        "[\n {\"targets\": [\"a:1\"],\n  \"lables\": {}}\n]\n",
    )
    .unwrap();
    let error = h.next_error().await;
    assert!(
        error.message().contains("unknown field `lables`"),
        "{error}"
    );
    assert!(error.message().contains("line 3"), "{error}");
    assert_eq!(h.state, good);
    assert_eq!(h.metrics.read_errors(), 1);
}

#[tokio::test]
async fn invalid_yaml_keeps_groups_and_reports_where() {
    let mut h = Harness::start(&["*.yaml"], |dir| {
        std::fs::write(dir.join("a.yaml"), "- targets: ['a:1']\n").unwrap();
    });
    h.next_update().await;
    let good = h.state.clone();
    // A repeated key: yaml.UnmarshalStrict rejects it, and so do we.
    std::fs::write(h.path("a.yaml"), "- targets: ['a:2']\n  targets: ['a:3']\n").unwrap();
    let error = h.next_error().await;
    assert!(error.message().contains("already defined"), "{error}");
    // serde_yaml places errors found inside a mapping at the mapping: the group.
    assert!(error.message().contains("line 1"), "{error}");
    assert_eq!(h.state, good);
    // Broken syntax too.
    std::fs::write(h.path("a.yaml"), "- targets: ['a:2'\n").unwrap();
    let error = h.next_error().await;
    assert!(error.message().contains(&h.key("a.yaml")), "{error}");
    assert_eq!(h.state, good);
    assert_eq!(h.metrics.read_errors(), 2);
}

#[tokio::test]
async fn a_file_that_never_parsed_is_reported_after_the_full_state_and_taken_once_fixed() {
    let mut h = Harness::start(&["*.json"], |dir| {
        std::fs::write(dir.join("a.json"), json_groups(&[&["a:1"]])).unwrap();
        std::fs::write(dir.join("bad.json"), "[{").unwrap();
    });
    let Update::Full(groups) = h.next_update().await else {
        panic!("the first update must be the full state")
    };
    assert_eq!(sources(&groups), [h.source("a.json", 0)]);
    let error = h.next_error().await;
    assert!(error.message().contains(&h.key("bad.json")), "{error}");
    write_atomically(&h.path("bad.json"), &json_groups(&[&["bad:1"]]));
    h.until(|s| s.len() == 2).await;
    assert_eq!(h.metrics.read_errors(), 1);
}

#[tokio::test]
async fn a_glob_over_a_thousand_files_rereads_only_the_file_that_changed() {
    let mut h = Harness::start(&["*.json"], |dir| {
        for i in 0..1000 {
            let addr = format!("10.0.{}.{}:9100", i / 256, i % 256);
            std::fs::write(dir.join(format!("f{i:04}.json")), json_groups(&[&[&addr]])).unwrap();
        }
    });
    let Update::Full(groups) = h.next_update().await else {
        panic!("the first update must be the full state")
    };
    assert_eq!(groups.len(), 1000);
    assert_eq!(h.metrics.parsed_files(), 1000);
    write_atomically(&h.path("f0500.json"), &json_groups(&[&["changed:1"]]));
    let Update::Changed(groups) = h.next_update().await else {
        panic!("later updates carry only changes")
    };
    assert_eq!(sources(&groups), [h.source("f0500.json", 0)]);
    assert_eq!(h.metrics.parsed_files(), 1001);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_file_still_being_written_is_waited_for() {
    let mut h = Harness::start(&["*.yml"], |dir| {
        std::fs::write(dir.join("a.yml"), "- targets: ['old:1']\n").unwrap();
    });
    h.next_update().await;
    // A slow writer: the first group is valid YAML on its own, and would replace the file's
    // state if it were believed before the writer closes the file.
    let mut file = std::fs::File::create(h.path("a.yml")).unwrap();
    file.write_all(b"- targets: ['new:1']\n").unwrap();
    file.flush().unwrap();
    // Another file, written whole after that: the discoverer receives its events after the
    // slow writer's, and would have read the half-written file by the time it reads this one
    // (its quiet time started first). So its update shows that the slow file is held.
    std::fs::write(h.path("b.yml"), "- targets: ['b:1']\n").unwrap();
    let Update::Changed(groups) = h.next_update().await else {
        panic!("later updates carry only changes")
    };
    assert_eq!(sources(&groups), [h.source("b.yml", 0)]);
    assert_eq!(h.addresses_of(&h.source("a.yml", 0)), ["old:1"]);
    file.write_all(b"- targets: ['new:2']\n").unwrap();
    drop(file);
    let Update::Changed(groups) = h.next_update().await else {
        panic!("later updates carry only changes")
    };
    assert_eq!(
        sources(&groups),
        [h.source("a.yml", 0), h.source("a.yml", 1)]
    );
    assert_eq!(h.addresses_of(&h.source("a.yml", 0)), ["new:1"]);
    assert_eq!(h.addresses_of(&h.source("a.yml", 1)), ["new:2"]);
}

#[tokio::test]
async fn an_emptied_file_is_believed_only_once_it_stays_empty() {
    // A settle window well above what a loaded machine takes between two steps of this test.
    let tuning = Tuning {
        empty_settle: Duration::from_secs(3),
        ..Tuning::default()
    };
    let mut h = Harness::start_with(&["*.yml"], DEFAULT_REFRESH_INTERVAL, tuning, |dir| {
        std::fs::write(dir.join("a.yml"), "- targets: ['a:1']\n").unwrap();
    });
    h.next_update().await;
    // Truncated, then written a moment later by another process: the empty file in between
    // must not drop the targets. Another file written after the truncation is read no earlier
    // than the emptied one: once its update is out, the discoverer has seen the empty file.
    std::fs::File::create(h.path("a.yml")).unwrap();
    std::fs::write(h.path("b.yml"), "- targets: ['b:1']\n").unwrap();
    let Update::Changed(groups) = h.next_update().await else {
        panic!("later updates carry only changes")
    };
    assert_eq!(sources(&groups), [h.source("b.yml", 0)]);
    assert_eq!(h.addresses_of(&h.source("a.yml", 0)), ["a:1"]);
    std::fs::write(h.path("a.yml"), "- targets: ['a:2']\n").unwrap();
    let Update::Changed(groups) = h.next_update().await else {
        panic!("later updates carry only changes")
    };
    assert_eq!(addresses(&groups[0]), ["a:2"]);
    // An empty YAML file is an empty list for Prometheus: once it stays empty, the groups go.
    std::fs::File::create(h.path("a.yml")).unwrap();
    let Update::Changed(groups) = h.next_update().await else {
        panic!("later updates carry only changes")
    };
    assert_eq!(sources(&groups), [h.source("a.yml", 0)]);
    assert!(groups[0].targets.is_empty());
    assert_eq!(h.metrics.read_errors(), 0);
}

#[tokio::test]
async fn without_a_watcher_the_refresh_interval_sees_changes() {
    let tuning = Tuning {
        watch: false,
        ..Tuning::default()
    };
    let mut h = Harness::start_with(&["*.json"], PromDuration::from_millis(100), tuning, |dir| {
        std::fs::write(dir.join("a.json"), json_groups(&[&["a:1"]])).unwrap();
    });
    h.next_update().await;
    write_atomically(&h.path("a.json"), &json_groups(&[&["a:2"]]));
    std::fs::write(h.path("b.json"), json_groups(&[&["b:1"]])).unwrap();
    h.until(|s| s.len() == 2 && s.values().any(|a| a == &["a:2"]))
        .await;
    std::fs::remove_file(h.path("a.json")).unwrap();
    h.until(|s| s.len() == 1).await;
}

#[tokio::test]
async fn a_directory_created_later_is_found_and_watched() {
    let mut h = Harness::start_with(
        &["later/*.json"],
        PromDuration::from_millis(200),
        Tuning::default(),
        |_| {},
    );
    let Update::Full(groups) = h.next_update().await else {
        panic!("the first update must be the full state")
    };
    assert!(groups.is_empty());
    std::fs::create_dir(h.path("later")).unwrap();
    std::fs::write(h.path("later/a.json"), json_groups(&[&["a:1"]])).unwrap();
    h.until(|s| s.len() == 1).await;
    std::fs::write(h.path("later/a.json"), json_groups(&[&["a:2"]])).unwrap();
    h.until(|s| s.values().any(|a| a == &["a:2"])).await;
}

#[tokio::test]
async fn dropping_the_discoverer_removes_its_mtime_series() {
    let mut h = Harness::start(&["*.json"], |dir| {
        std::fs::write(dir.join("a.json"), json_groups(&[&["a:1"]])).unwrap();
    });
    h.next_update().await;
    let key = h.key("a.json");
    let expected = std::fs::metadata(&key)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64;
    assert_eq!(h.metrics.mtime(&key), Some(expected));
    let Harness {
        poller, metrics, ..
    } = h;
    poller.abort();
    assert!(poller.await.unwrap_err().is_cancelled());
    assert_eq!(metrics.mtime(&key), None);
}

// ---- config ----

fn config(yaml: &str) -> Result<FileSdConfig, String> {
    serde_yaml::from_str::<FileSdConfig>(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_validation_follow_prometheus() {
    let c = config("files: ['targets/*.json', 'x.YML']").unwrap();
    assert_eq!(c.refresh_interval, DEFAULT_REFRESH_INTERVAL);
    assert_eq!(c.files, ["targets/*.json", "x.YML"]);
    assert_eq!(
        config("files: [a.json]\nrefresh_interval: 30s")
            .unwrap()
            .refresh_interval,
        PromDuration::from_secs(30)
    );
    let cases = [
        ("files: []", "must contain at least one path name"),
        (
            "refresh_interval: 1m",
            "must contain at least one path name",
        ),
        (
            "files: [a.txt]",
            r#"path name "a.txt" is not valid for file discovery"#,
        ),
        (
            "files: ['a/*/b.json']",
            r#"path name "a/*/b.json" is not valid"#,
        ),
        ("files: ['*/x.yml']", r#"path name "*/x.yml" is not valid"#),
        ("files: ['a.json.bak']", "is not valid"),
        ("files: [a.json]\nrefresh: 1m", "unknown field `refresh`"),
        (
            "files: [a.json]\nrefresh_interval: 5x",
            "not a valid duration",
        ),
    ];
    for (yaml, want) in cases {
        let err = config(yaml).unwrap_err();
        assert!(err.contains(want), "{yaml:?}: {err}");
    }
    // After the first `*` of the last component, anything but `/` is allowed (even a `*`).
    for ok in [
        "files: ['/x/a*.yaml']",
        "files: ['a*b*.json']",
        "files: ['a?[bc].json']",
        "files: ['/x/y/*.JSON']",
    ] {
        assert!(config(ok).is_ok(), "{ok}");
    }
}

#[test]
fn relative_patterns_are_resolved_against_the_config_directory() {
    let mut c = config("files: ['sd/*.json', '/abs/a.yml', '../up.json']").unwrap();
    c.resolve_paths(Path::new("/etc/prometheus"));
    assert_eq!(
        c.files,
        ["/etc/prometheus/sd/*.json", "/abs/a.yml", "/etc/up.json"]
    );
}

#[test]
fn identity_is_the_canonical_form() {
    let a = config("files: [a.json]\nrefresh_interval: 1m").unwrap();
    let b = config("refresh_interval: 60s\nfiles: [a.json]").unwrap();
    let c = config("files: [a.json]").unwrap();
    assert_eq!(a.mechanism(), "file");
    assert_eq!(a.identity(), b.identity());
    assert_ne!(a.identity(), c.identity());
}

/// A scrape config reduced to its discovery keys, read through the registry.
struct Job(SdConfigs);

impl<'de> Deserialize<'de> for Job {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Job;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scrape config")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Job, A::Error> {
                let mut configs = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    match next_sd_configs(&key, &mut map)? {
                        Some(found) => configs.extend(found),
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Job(configs))
            }
        }
        d.deserialize_map(V)
    }
}

#[test]
fn file_sd_configs_are_read_through_the_registry() {
    let job: Job = serde_yaml::from_str(
        "job_name: x\nfile_sd_configs:\n  - files: [a.json]\n  - files: [b.yml]\n    refresh_interval: 10s\n",
    )
    .unwrap();
    assert_eq!(job.0.len(), 2);
    assert!(job.0.iter().all(|c| c.mechanism() == "file"));
    assert!(crate::discovery::IMPLEMENTED.contains(&"file"));
    let err = serde_yaml::from_str::<Job>("file_sd_configs:\n  - files: [a.txt]\n")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("is not valid for file discovery"), "{err}");
}
