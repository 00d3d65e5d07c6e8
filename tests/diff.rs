//! `promsd diff OLD NEW` on real files: a relabel change, jobs added and removed, identical
//! configs, a bad config; the targets it reports carry the final labels promtool computes.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use support::diff_example::{NEW, OLD, TARGETS};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn diff(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(support::promsd_bin())
        .arg("diff")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Final labels without the internal ones promtool 2.42 and 3.x differ on.
fn visible(labels: &Value) -> BTreeMap<String, String> {
    labels
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !k.starts_with("__") || *k == "__address__")
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn a_relabel_change_and_jobs_added_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "targets.json", TARGETS);
    let old = write(dir.path(), "old.yml", OLD);
    let new = write(dir.path(), "new.yml", NEW);
    let (code, out, err) = diff(&[
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(1), "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    let node = &json["jobs"]["node"];
    assert_eq!(node["unchanged"], 1);
    assert_eq!(node["added"].as_array().unwrap().len(), 1);
    assert_eq!(node["added"][0]["instance"], "b:1");
    assert_eq!(node["removed"].as_array().unwrap().len(), 0);
    assert_eq!(node["changed"][0]["before"]["instance"], "c:1");
    assert!(node["changed"][0]["before"].get("team").is_none());
    assert_eq!(node["changed"][0]["after"]["team"], "x");
    assert_eq!(json["jobs"]["legacy"]["removed"][0]["instance"], "old:1");
    assert_eq!(json["jobs"]["fresh"]["added"][0]["instance"], "new:1");

    // The added target's labels are promtool's final labels for it in NEW.
    let promtool = Command::new("promtool")
        .args(["check", "service-discovery", "--timeout=2s"])
        .arg(&new)
        .arg("node")
        .output()
        .expect("promtool is installed (Debian package prometheus)");
    let theirs: Vec<Value> = serde_json::from_slice(&promtool.stdout).unwrap();
    let b = theirs
        .iter()
        .find(|t| t["labels"]["__address__"] == "b:1")
        .unwrap();
    assert_eq!(visible(&node["added"][0]), visible(&b["labels"]));

    // Text: counts, targets, label changes and the rule that explains an addition.
    let (code, text, _) = diff(&[old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("job node: 1 added, 0 removed, 1 changed, 1 unchanged"),
        "{text}"
    );
    assert!(text.contains("+team=\"x\""), "{text}");
    assert!(text.contains("dropped by relabel rule 0"), "{text}");
    assert!(text.contains("in OLD"), "{text}");
    assert!(text.contains("job legacy: 0 added, 1 removed"), "{text}");

    // --job limits the comparison.
    let (code, out, _) = diff(&[
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--job",
        "legacy",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(1));
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["jobs"].as_object().unwrap().len(), 1);
}

#[test]
fn identical_configs_exit_0_and_a_bad_config_exits_2_naming_where() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "targets.json", TARGETS);
    let old = write(dir.path(), "old.yml", OLD);
    let (code, text, err) = diff(&[old.to_str().unwrap(), old.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        text.contains("job node: 0 added, 0 removed, 0 changed, 2 unchanged"),
        "{text}"
    );
    let bad = write(
        dir.path(),
        "bad.yml",
        "scrape_configs:\n  - job_name: x\n    bogus: 1\n",
    );
    let (code, _, err) = diff(&[old.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("bad.yml:3:5"), "{err}");
}
