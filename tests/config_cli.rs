//! `promsd check config` as users run it: promtool's output layout, exit code 0 only when every
//! file is valid, errors with file:line:column; the subcommands other rooms fill in answer
//! "not implemented yet" with exit code 3.

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
fn unfinished_subcommands_say_so() {
    let config = config_support::corpus_dir().join("valid/minimal.yml");
    for args in [
        vec![
            "check",
            "service-discovery",
            config.to_str().unwrap(),
            "prometheus",
        ],
        vec!["run", "--config.file", config.to_str().unwrap()],
    ] {
        let out = promsd(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert!(
            text(&out.stderr).contains("not implemented yet"),
            "{args:?}"
        );
    }
}
