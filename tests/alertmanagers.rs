//! Alertmanager discovery against the real Prometheus (Debian's): the same `alerting` section
//! run by Prometheus and by promsd lists the same active and dropped Alertmanager URLs; a
//! Prometheus whose sets read promsd's `/api/v1/sd/alertmanagers/N` sends to the same
//! Alertmanagers; a reload that changes only the Alertmanagers keeps the scrape providers.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use support::*;

const ALERTING: &str = r#"
alerting:
  alertmanagers:
    - path_prefix: /am/
      file_sd_configs:
        - files: [ams.json]
          refresh_interval: 1s
      relabel_configs:
        - {source_labels: [__address__], regex: 'drop-.*', action: drop}
    - scheme: https
      static_configs:
        - targets: [am3.example:9094]
    - static_configs:
        - targets: [am4.example:9093, am4.example:9093]
        - targets: [am4.example:9093]
          labels: {team: x}
"#;

const AMS: &str = r#"[{"targets": ["am1.example:9093", "am2.example:9093", "drop-me.example:9093"], "labels": {"dc": "a"}}]"#;

fn write_config(dir: &Path, alerting: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("ams.json"), AMS).unwrap();
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\nscrape_configs:\n  - job_name: node\n    static_configs: [{{targets: ['10.0.0.1:9100']}}]\n{alerting}"
        ),
    )
    .unwrap();
    path
}

type Urls = (BTreeSet<String>, Vec<String>);

fn alertmanagers(port: u16) -> Option<Urls> {
    let body = get_ok(port, "/api/v1/alertmanagers")?;
    let json: Value = serde_json::from_str(&body).ok()?;
    let urls = |key: &str| -> Vec<String> {
        json["data"][key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| t["url"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut dropped = urls("droppedAlertmanagers");
    dropped.sort();
    Some((urls("activeAlertmanagers").into_iter().collect(), dropped))
}

fn start_prometheus(dir: &Path) -> (Process, u16) {
    let port = free_port();
    let process = Process::start(
        "prometheus",
        "prometheus",
        &[
            "--config.file=prometheus.yml",
            "--storage.tsdb.path=data",
            &format!("--web.listen-address=127.0.0.1:{port}"),
        ],
        dir,
    );
    (process, port)
}

#[test]
fn the_same_alertmanagers_as_prometheus_served_to_a_prometheus() {
    assert!(
        Path::new("/usr/bin/prometheus").exists(),
        "prometheus is missing: install the Debian package `prometheus` (this test never skips)"
    );
    let prom_dir = tempfile::tempdir().unwrap();
    write_config(prom_dir.path(), ALERTING);
    let (_prometheus, prom_port) = start_prometheus(prom_dir.path());

    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), ALERTING);
    let (promsd, port) = start_promsd(dir.path(), &config, &[]);

    let expected_active: BTreeSet<String> = [
        "http://am1.example:9093/am/api/v2/alerts",
        "http://am2.example:9093/am/api/v2/alerts",
        "https://am3.example:9094/api/v2/alerts",
        "http://am4.example:9093/api/v2/alerts",
    ]
    .map(str::to_owned)
    .into();
    let theirs = wait_for("prometheus' alertmanagers", || {
        alertmanagers(prom_port).filter(|(active, _)| active.len() == expected_active.len())
    });
    let ours = wait_for("promsd's alertmanagers", || {
        alertmanagers(port).filter(|(active, _)| active.len() == expected_active.len())
    });
    assert_eq!(theirs.0, expected_active);
    assert_eq!(
        theirs.1,
        ["http://drop-me.example:9093/am/api/v2/alerts".to_owned()]
    );
    assert_eq!(ours, theirs);

    // A Prometheus reading promsd's HTTP SD of each set, with the same scheme and path_prefix.
    let consumer_dir = tempfile::tempdir().unwrap();
    let consumer_alerting = format!(
        "\nalerting:\n  alertmanagers:\n    - path_prefix: /am/\n      http_sd_configs: [{{url: 'http://127.0.0.1:{port}/api/v1/sd/alertmanagers/0', refresh_interval: 1s}}]\n    - scheme: https\n      http_sd_configs: [{{url: 'http://127.0.0.1:{port}/api/v1/sd/alertmanagers/1', refresh_interval: 1s}}]\n    - http_sd_configs: [{{url: 'http://127.0.0.1:{port}/api/v1/sd/alertmanagers/2', refresh_interval: 1s}}]\n"
    );
    write_config(consumer_dir.path(), &consumer_alerting);
    let (_consumer, consumer_port) = start_prometheus(consumer_dir.path());
    let consumed = wait_for("the consumer's alertmanagers", || {
        alertmanagers(consumer_port).filter(|(active, _)| active.len() == expected_active.len())
    });
    assert_eq!(consumed.0, expected_active);
    assert!(get_ok(port, "/api/v1/sd/alertmanagers/3").is_none());

    // A reload that changes only the Alertmanagers keeps the scrape providers running.
    let providers = |port: u16| -> Vec<String> {
        let body = get_ok(port, "/api/v1/status/sd").unwrap();
        let json: Value = serde_json::from_str(&body).unwrap();
        json["data"]["providers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = providers(port);
    assert!(!before.is_empty());
    write_config(
        dir.path(),
        &ALERTING.replace("am3.example:9094", "am3.example:9094, am5.example:9094"),
    );
    promsd.signal("HUP");
    wait_for("the new Alertmanager", || {
        alertmanagers(port)
            .filter(|(active, _)| active.contains("https://am5.example:9094/api/v2/alerts"))
    });
    assert_eq!(providers(port), before);
}
