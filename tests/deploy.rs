//! The deployment and operations kit (issue 32) checked against the real thing: `promsd
//! --version` and `promsd_build_info` from the built binary, the Kubernetes manifests parsed into
//! the Kubernetes API types with RBAC covering what the Kubernetes SD code watches, the systemd
//! unit verified by `systemd-analyze`, and the monitoring mixin's rules unit-tested by `promtool`
//! with every metric they and the dashboard query read from a running daemon's `/metrics`.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A daemon serving one static job, in a fresh directory.
fn start_static_daemon() -> (tempfile::TempDir, Process, u16) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "scrape_configs:\n  - job_name: static\n    static_configs:\n      - targets: ['a:1']\n",
    )
    .unwrap();
    let (process, port) = start_promsd(dir.path(), &config, &[]);
    (dir, process, port)
}

/// `promsd --version`'s fields: the first line's version, branch and revision, then each
/// `key: value` line.
fn version_fields() -> BTreeMap<String, String> {
    let out = Command::new(promsd_bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    // Prometheus: "prometheus, version 3.x (branch: B, revision: R)".
    let rest = first
        .strip_prefix("promsd, version ")
        .unwrap_or_else(|| panic!("{text}"));
    let (version, rest) = rest.split_once(" (branch: ").unwrap();
    let (branch, rest) = rest.split_once(", revision: ").unwrap();
    let revision = rest.strip_suffix(')').unwrap();
    let mut fields = BTreeMap::from([
        ("version".to_owned(), version.to_owned()),
        ("branch".to_owned(), branch.to_owned()),
        ("revision".to_owned(), revision.to_owned()),
    ]);
    for line in lines {
        assert!(line.starts_with("  "), "{line:?} in\n{text}");
        let (key, value) = line.trim().split_once(':').unwrap();
        fields.insert(key.to_owned(), value.trim().to_owned());
    }
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "branch",
            "build date",
            "build user",
            "platform",
            "revision",
            "rust version",
            "tags",
            "version"
        ],
        "{text}"
    );
    fields
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

#[test]
fn version_is_printed_as_prometheus_prints_its_own() {
    let fields = version_fields();
    assert_eq!(fields["version"], env!("CARGO_PKG_VERSION"));
    // Built from this checkout: its revision and branch (or "unknown" outside git).
    let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    assert_eq!(fields["revision"], revision);
    let branch = git(&["rev-parse", "--abbrev-ref", "HEAD"]).unwrap_or_else(|| "unknown".into());
    assert_eq!(fields["branch"], branch);
    // promu's date layout, 20060102-15:04:05.
    let date = fields["build date"].as_bytes();
    assert!(
        date.len() == 17
            && date[8] == b'-'
            && date[11] == b':'
            && date[14] == b':'
            && date
                .iter()
                .enumerate()
                .all(|(i, c)| [8, 11, 14].contains(&i) || c.is_ascii_digit()),
        "{fields:?}"
    );
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok());
    if let Some(rustc) = rustc {
        assert_eq!(
            Some(fields["rust version"].as_str()),
            rustc.split_whitespace().nth(1),
            "{rustc}"
        );
    }
    assert_eq!(
        fields["platform"],
        format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH)
    );
    assert!(
        fields["tags"].split(',').any(|t| t == "kubernetes"),
        "{fields:?}"
    );
    // `-V` is the same; a bare `promsd` still shows the help and fails.
    let short = Command::new(promsd_bin()).arg("-V").output().unwrap();
    let long = Command::new(promsd_bin())
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(short.stdout, long.stdout);
    let bare = Command::new(promsd_bin()).output().unwrap();
    assert_eq!(bare.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bare.stderr).contains("Usage:"));
}

#[test]
fn build_info_is_exported_with_the_versions_fields() {
    let fields = version_fields();
    let (_dir, _promsd, port) = start_static_daemon();
    let metrics = get_ok(port, "/metrics").unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("promsd_build_info{"))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(
        metrics.contains("# TYPE promsd_build_info gauge"),
        "{metrics}"
    );
    let (labels, value) = line
        .strip_prefix("promsd_build_info{")
        .unwrap()
        .split_once("} ")
        .unwrap();
    assert_eq!(value, "1");
    let labels: BTreeMap<&str, &str> = labels
        .split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k, v.trim_matches('"'))
        })
        .collect();
    assert_eq!(
        labels,
        BTreeMap::from([
            ("branch", fields["branch"].as_str()),
            ("revision", fields["revision"].as_str()),
            ("rustversion", fields["rust version"].as_str()),
            ("version", fields["version"].as_str()),
        ])
    );
}
