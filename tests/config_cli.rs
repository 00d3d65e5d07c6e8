//! `promsd check config` and `check service-discovery` as users run them: promtool's output
//! layout, exit code 0 only when every file is valid, errors with file:line:column.

mod config_support;

use std::process::{Command, Output};

fn promsd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_promsd"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn valid_files_succeed_like_promtool() {
    let dir = config_support::corpus_dir().join("valid");
    let a = dir.join("minimal.yml");
    let b = dir.join("alerting.yml");
    let out = promsd(&["check", "config", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        format!(
            "Checking {a}\n SUCCESS: {a} is valid prometheus config file syntax\n\nChecking {b}\n SUCCESS: {b} is valid prometheus config file syntax\n\n",
            a = a.display(),
            b = b.display()
        )
    );
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn one_invalid_file_fails_the_run_and_says_where() {
    let valid = config_support::corpus_dir().join("valid/minimal.yml");
    let invalid = config_support::corpus_dir().join("invalid/duplicate_job.yml");
    let out = promsd(&[
        "check",
        "config",
        invalid.to_str().unwrap(),
        valid.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "  FAILED: {}:5:5: found multiple scrape configs with job name \"a\"\n",
            invalid.display()
        )
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!("Checking {}\n\nChecking", invalid.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(" SUCCESS: "),
        "the valid file is still checked: {stdout}"
    );
}

#[test]
fn a_missing_file_fails() {
    let out = promsd(&["check", "config", "/nonexistent/prometheus.yml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("  FAILED: /nonexistent/prometheus.yml: "));
}

#[test]
fn check_service_discovery_names_the_jobs_when_the_job_is_unknown() {
    let config = config_support::corpus_dir().join("valid/minimal.yml");
    let out = promsd(&[
        "check",
        "service-discovery",
        config.to_str().unwrap(),
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "Job nope not found. Select one of:\n\tprometheus\n"
    );
}

#[test]
fn check_service_discovery_prints_promtools_json_for_static_targets() {
    let config = config_support::corpus_dir().join("valid/minimal.yml");
    let out = promsd(&[
        "check",
        "service-discovery",
        config.to_str().unwrap(),
        "prometheus",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &json[0];
    assert_eq!(first["discoveredLabels"]["__address__"], "localhost:9090");
    assert_eq!(first["discoveredLabels"]["job"], "prometheus");
    assert_eq!(first["labels"]["instance"], "localhost:9090");
    assert!(first.get("error").is_none());
}

#[test]
fn check_service_discovery_prints_drops_without_error_and_one_result_per_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("targets.json"),
        r#"[{"targets": ["a:1", "b:1"], "labels": {"env": "prod"}}]"#,
    )
    .unwrap();
    let config = dir.path().join("prometheus.yml");
    // Two file SD configs (two providers) emit the same source: promtool lists it once.
    std::fs::write(
        &config,
        "scrape_configs:\n  - job_name: j\n    file_sd_configs:\n      - files: [targets.json]\n      - files: [targets.json]\n        refresh_interval: 1m\n    relabel_configs:\n      - {source_labels: [__address__], regex: 'b:1', action: drop}\n",
    )
    .unwrap();
    let out = promsd(&["check", "service-discovery", config.to_str().unwrap(), "j"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = json.as_array().unwrap();
    assert_eq!(results.len(), 2, "{json:#}");
    let dropped = results
        .iter()
        .find(|r| r["discoveredLabels"]["__address__"] == "b:1")
        .unwrap();
    assert_eq!(dropped["labels"], serde_json::json!({}));
    assert!(dropped.get("error").is_none(), "{dropped}");
    let kept = results
        .iter()
        .find(|r| r["discoveredLabels"]["__address__"] == "a:1")
        .unwrap();
    assert_eq!(kept["labels"]["env"], "prod");
}
