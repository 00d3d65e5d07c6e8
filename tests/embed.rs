//! The library as an embedder uses it: `promsd::embed` loads a `prometheus.yml` into the engine
//! (run from plain tokio through `Engine`) and relabels what it discovers; the final labels must
//! be exactly those `promsd run` serves over HTTP SD for the same file.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use promsd_actors::{Engine, ManagerOptions};

const WAIT: Duration = Duration::from_secs(60);

type Labels = BTreeSet<(String, String)>;

/// The example config and its file SD targets, copied into `dir`.
fn example_config(dir: &Path) -> std::path::PathBuf {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    std::fs::create_dir(dir.join("targets")).unwrap();
    for file in ["targets/node.json", "targets/edge.yml"] {
        std::fs::copy(examples.join(file), dir.join(file)).unwrap();
    }
    let config = dir.join("prometheus.yml");
    std::fs::copy(examples.join("prometheus.yml"), &config).unwrap();
    config
}

/// A job's targets from the daemon's HTTP SD endpoint: each entry's labels plus its address.
fn daemon_targets(port: u16, job: &str) -> BTreeSet<Labels> {
    let body = support::get_ok(port, &format!("/api/v1/sd/{job}")).expect("HTTP SD answers");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    entries
        .iter()
        .flat_map(|entry| {
            let labels = entry["labels"].as_object().cloned().unwrap_or_default();
            entry["targets"].as_array().unwrap().iter().map(move |t| {
                let mut set: Labels = labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect();
                set.insert(("__address__".into(), t.as_str().unwrap().to_owned()));
                set
            })
        })
        .collect()
}

#[tokio::test]
async fn an_embedder_gets_the_final_labels_promsd_run_serves() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_config(dir.path());

    let loaded = promsd::embed::load(&config).unwrap();
    let engine = Engine::start(ManagerOptions {
        interval: Duration::from_millis(50),
        ..ManagerOptions::default()
    })
    .unwrap();
    let outcome = engine.apply(loaded.jobs()).await.unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    let snapshot = tokio::time::timeout(WAIT, engine.ready())
        .await
        .expect("every job answers")
        .unwrap();
    let embedded = loaded.final_targets(&snapshot);
    engine.shutdown().await;

    let (mut daemon, port) = support::start_promsd(dir.path(), &config, &[]);
    for job in ["node", "promsd"] {
        let ours: BTreeSet<Labels> = embedded[job]
            .iter()
            .map(|set| {
                set.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect();
        assert!(!ours.is_empty(), "{job}: no targets");
        assert_eq!(ours, daemon_targets(port, job), "job {job}");
    }
    daemon.signal("TERM");
    daemon.wait_exit();

    // The staging target is dropped by the job's rule, and the embedder is told why.
    let node = snapshot.job("node").unwrap();
    let targets = loaded.job_targets("node", node).unwrap();
    let dropped: Vec<_> = targets.iter().filter(|t| t.labels().is_none()).collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!(
        dropped[0].discovered.get("__address__"),
        Some("10.0.1.1:9100")
    );
}

#[test]
fn a_bad_config_is_an_error_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "scrape_configs:\n  - job_name: x\n    scrape_interval: nope\n",
    )
    .unwrap();
    let error = promsd::embed::load(&config).unwrap_err().to_string();
    assert!(error.contains("prometheus.yml:3:"), "{error}");
}
