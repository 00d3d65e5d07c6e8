//! File SD through the real engine, as the daemon will run it: a `file_sd_configs` entry read
//! from YAML and resolved against its config directory, run by a `ManagerActor`, its targets
//! delivered to a subscriber while files are written, broken, fixed and removed, and its
//! metrics gone when the provider stops.

use std::path::Path;
use std::time::Duration;

use actix::prelude::*;
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use promsd::discovery::file::{register_metrics, FileMetrics, FileSdConfig, FILEPATH_LABEL};
use promsd::discovery::{into_discovery, SdConfig};
use promsd_actors::testing::{addresses, RecordingSubscriber};
use promsd_actors::{ApplyConfig, GetStatus, ManagerActor, ManagerOptions, Subscribe};

const WAIT: Duration = Duration::from_secs(30);

fn write_atomically(path: &Path, content: &str) {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Polls `condition` until it holds, failing after [`WAIT`].
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_rt::test]
async fn file_sd_targets_reach_subscribers_through_the_engine() {
    let mut registry = Registry::default();
    register_metrics(&mut registry);

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sd")).unwrap();
    let a = dir.path().join("sd/a.json");
    std::fs::write(
        &a,
        r#"[{"targets": ["a:1", "a:2"], "labels": {"env": "prod"}}]"#,
    )
    .unwrap();

    let mut config: FileSdConfig =
        serde_yaml::from_str("files: ['sd/*.json']\nrefresh_interval: 1m\n").unwrap();
    config.resolve_paths(dir.path());
    let manager = ManagerActor::new(ManagerOptions {
        interval: Duration::from_millis(50),
        ..ManagerOptions::default()
    })
    .start();
    let (subscriber, recording) = RecordingSubscriber::start();
    let _subscription = manager
        .send(Subscribe(subscriber.clone().recipient()))
        .await
        .unwrap();
    let outcome = manager
        .send(ApplyConfig {
            jobs: [("job".to_owned(), vec![into_discovery(Box::new(config))])].into(),
        })
        .await
        .unwrap();
    assert_eq!(outcome.started.len(), 1);

    let last = recording
        .wait_for(WAIT, |m| {
            m.last()
                .is_some_and(|m| addresses(m, "job") == ["a:1", "a:2"])
        })
        .await
        .unwrap();
    let snapshot = &last.last().unwrap().snapshot;
    let (key, group) = snapshot.job("job").unwrap().groups().next().unwrap();
    let a_path = a.to_str().unwrap();
    assert_eq!(&*key.source, format!("{a_path}:0"));
    assert_eq!(group.labels.get(FILEPATH_LABEL), Some(a_path));
    assert_eq!(group.labels.get("env"), Some("prod"));

    // A second file appears.
    let b = dir.path().join("sd/b.json");
    std::fs::write(&b, r#"[{"targets": ["b:1"]}]"#).unwrap();
    recording
        .wait_for(WAIT, |m| {
            m.last()
                .is_some_and(|m| addresses(m, "job") == ["a:1", "a:2", "b:1"])
        })
        .await
        .unwrap();

    // a.json is broken: its targets stay, the provider reports the error, the error is counted.
    std::fs::write(&a, r#"[{"targets": ["a:1""#).unwrap();
    eventually("the provider to report the broken file", || async {
        let status = manager.send(GetStatus).await.unwrap();
        status[0]
            .last_error
            .as_ref()
            .is_some_and(|e| e.message().contains(a_path))
    })
    .await;
    assert_eq!(
        addresses(&recording.last().unwrap(), "job"),
        ["a:1", "a:2", "b:1"]
    );
    let mut text = String::new();
    encode(&mut text, &registry).unwrap();
    assert!(
        text.contains("prometheus_sd_file_read_errors_total 1\n"),
        "{text}"
    );
    let mtime_series = format!("prometheus_sd_file_mtime_seconds{{filename=\"{a_path}\"}}");
    assert!(text.contains(&mtime_series), "{text}");

    // Fixed by an atomic write, and b.json removed.
    write_atomically(&a, r#"[{"targets": ["a:3"]}]"#);
    std::fs::remove_file(&b).unwrap();
    recording
        .wait_for(WAIT, |m| {
            m.last().is_some_and(|m| addresses(m, "job") == ["a:3"])
        })
        .await
        .unwrap();

    // The job goes: the provider stops and its file series with it.
    manager
        .send(ApplyConfig {
            jobs: Default::default(),
        })
        .await
        .unwrap();
    eventually("the mtime series to go with the provider", || async {
        FileMetrics::global().mtime(a_path).is_none()
    })
    .await;
}
