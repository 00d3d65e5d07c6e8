//! The config corpus: every file in `tests/config/valid` loads (and survives a round trip
//! through YAML), every file in `tests/config/invalid` fails with the message and position its
//! `# expect:` header states.

mod config_support;

use std::path::Path;

use config_support::{corpus, expectation, short, unimplemented_mechanisms};
use promsd::config::Config;

#[test]
fn valid_configs_load() {
    for file in corpus("valid") {
        let missing = unimplemented_mechanisms(&file);
        match Config::load_file(&file) {
            Ok(_) => assert!(
                missing.is_empty(),
                "{} loaded although it uses {missing:?}",
                short(&file)
            ),
            // A mechanism promsd does not implement yet is the one accepted failure, and it
            // must say so.
            Err(e) if !missing.is_empty() => assert!(
                e.message.contains("does not implement"),
                "{}: {e}",
                short(&file)
            ),
            Err(e) => panic!("{} was rejected: {e}", short(&file)),
        }
    }
}

#[test]
fn invalid_configs_fail_with_their_message_and_position() {
    let mut wrong = Vec::new();
    for file in corpus("invalid") {
        let expected = format!("{}:{}", file.display(), expectation(&file));
        match Config::load_file(&file) {
            Ok(_) => wrong.push(format!("{}: accepted", short(&file))),
            Err(e) if e.to_string() != expected => wrong.push(format!(
                "{}:\n  expected {expected}\n  got      {e}",
                short(&file)
            )),
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Loads, prints as YAML, reloads and prints again: the two prints are equal (secrets print
/// as `<secret>` both times), and the reloaded config means the same.
#[test]
fn valid_configs_round_trip_through_yaml() {
    for file in corpus("valid") {
        let Ok(first) = Config::load_file(&file) else {
            continue; // an unimplemented mechanism, checked above
        };
        let printed = first.to_yaml();
        let dir = file.parent().unwrap();
        let second =
            Config::load_str(&printed, Path::new("printed.yml"), dir).unwrap_or_else(|e| {
                panic!("{}: its YAML does not reload: {e}\n{printed}", short(&file))
            });
        assert_eq!(
            second.to_yaml(),
            printed,
            "{}: printing is not stable",
            short(&file)
        );
        assert_eq!(first.global, second.global, "{}", short(&file));
        let jobs = |c: &Config| -> Vec<(String, String, String, String, String)> {
            c.scrape_configs
                .iter()
                .map(|s| {
                    (
                        s.job_name().to_owned(),
                        s.scheme().to_owned(),
                        s.metrics_path().to_owned(),
                        s.scrape_interval().to_string(),
                        s.scrape_timeout().to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(jobs(&first), jobs(&second), "{}", short(&file));
        for (a, b) in first.scrape_configs.iter().zip(&second.scrape_configs) {
            assert_eq!(a.static_groups(), b.static_groups(), "{}", short(&file));
            assert_eq!(a.relabel_configs(), b.relabel_configs(), "{}", short(&file));
            assert_eq!(a.params(), b.params(), "{}", short(&file));
            assert_eq!(a.honor_labels(), b.honor_labels(), "{}", short(&file));
        }
    }
}

#[test]
fn defaults_and_inheritance_follow_prometheus() {
    let dir = config_support::corpus_dir().join("valid");
    let c = Config::load_file(dir.join("global_basic.yml")).unwrap();
    let inherits = c.scrape_config("inherits").unwrap();
    assert_eq!(inherits.scrape_interval().to_string(), "15s");
    assert_eq!(inherits.scrape_timeout().to_string(), "5s");
    assert_eq!(inherits.metrics_path(), "/metrics");
    assert_eq!(inherits.scheme(), "http");
    assert!(inherits.honor_timestamps);
    assert!(inherits.http_client.follow_redirects && inherits.http_client.enable_http2);
    // The timeout defaults to at most the job's own interval.
    let own = c.scrape_config("own-interval").unwrap();
    assert_eq!(own.scrape_timeout().to_string(), "2s");
    assert_eq!(
        c.global.query_log_file,
        dir.join("query.log").display().to_string()
    );

    let c = Config::load_file(dir.join("scrape_full.yml")).unwrap();
    let full = c.scrape_config("full").unwrap();
    assert_eq!(full.scheme(), "https");
    assert_eq!(full.metrics_path(), "/probe");
    assert_eq!(full.params()["target"], ["a", "b"]);
    assert_eq!(full.relabel_configs().len(), 2);
    assert_eq!(full.static_groups().len(), 2);
    assert_eq!(
        full.http_client.tls_config.ca_file,
        dir.join("ca.pem").display().to_string()
    );
    assert!(!full.http_client.follow_redirects);
    let jobs = c.discovery_jobs();
    assert_eq!(jobs["full"].len(), 1);
    assert_eq!(jobs["full"][0].mechanism(), "static");

    // A job without discovery still appears, with no configs.
    let c = Config::load_file(dir.join("nulls.yml")).unwrap();
    assert!(c.discovery_jobs()["no-targets"].is_empty());
    assert!(c.discovery_jobs()["empty-static"].is_empty());
}

#[test]
fn scrape_config_files_are_read_relative_to_the_config() {
    let dir = config_support::corpus_dir().join("valid");
    let c = Config::load_file(dir.join("scrape_config_files.yml")).unwrap();
    let names: Vec<&str> = c.scrape_configs.iter().map(|s| s.job_name()).collect();
    assert_eq!(names, ["main", "from-file"]);
    assert_eq!(
        c.scrape_config("from-file")
            .unwrap()
            .scrape_interval()
            .to_string(),
        "5s"
    );
    assert_eq!(c.discovery_jobs().len(), 2);
}

#[test]
fn scrape_config_files_are_checked_with_positions_and_job_names_across_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("jobs")).unwrap();
    let main = dir.path().join("prometheus.yml");
    std::fs::write(
        &main,
        "scrape_config_files: [jobs/*.yml]\nscrape_configs:\n  - job_name: a\n",
    )
    .unwrap();
    let extra = dir.path().join("jobs/x.yml");
    std::fs::write(
        &extra,
        "scrape_configs:\n  - job_name: b\n  - job_name: a\n",
    )
    .unwrap();
    let err = Config::load_file(&main).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:5: found multiple scrape configs with job name \"a\", first found in main config file",
            extra.display()
        )
    );
    std::fs::write(&extra, "scrape_configs:\n  - job_name: b\n    bogus: 1\n").unwrap();
    let err = Config::load_file(&main).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:5: job \"b\": scrape_configs[0]: field bogus not found in type config.ScrapeConfig",
            extra.display()
        )
    );
}

#[test]
fn a_scrape_config_file_is_read_whole_before_its_configs_are_checked() {
    // As Prometheus' GetScrapeConfigs: reading errors anywhere in the file (an empty job name)
    // come before the checks of each config.
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("prometheus.yml");
    std::fs::write(&main, "scrape_config_files: [jobs.yml]\n").unwrap();
    let extra = dir.path().join("jobs.yml");
    let timeout =
        "scrape_configs:\n  - job_name: a\n    scrape_interval: 1s\n    scrape_timeout: 2s\n";
    std::fs::write(&extra, format!("{timeout}  - job_name: ''\n")).unwrap();
    let err = Config::load_file(&main).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:5:5: job \"\": job_name is empty", extra.display())
    );
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let err = Config::load_file("/nonexistent/prometheus.yml").unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent/prometheus.yml: "),
        "{err}"
    );
}
