//! `POST /api/v1/diff` against a running daemon (the real binary, real files, a real HTTP SD
//! server): refused without `--web.enable-admin-api` as Prometheus refuses its admin APIs; with
//! it, the same report as `promsd diff` for the same two files, without asking the running
//! providers again; a new provider in the candidate is discovered; a candidate that does not
//! load is a 400 naming line:col; `--web.config.file`'s basic auth guards it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::Value;
use support::http_fixture::{HttpFixture, Response};
use support::*;

use support::diff_example::TARGETS;

/// The running config; `SD` is the HTTP SD server's URL.
const RUNNING: &str = "scrape_configs:
  - job_name: node
    file_sd_configs: [{files: [targets.json]}]
    relabel_configs:
      - {source_labels: [env], regex: staging, action: drop}
  - job_name: legacy
    static_configs: [{targets: ['old:1']}]
  - job_name: api
    http_sd_configs: [{url: 'SD/sd', refresh_interval: 1h}]
";

/// A relabel change in `node` and `api`, `legacy` removed, `fresh` added; the same discovery.
const CANDIDATE: &str = "scrape_configs:
  - job_name: node
    file_sd_configs: [{files: [targets.json]}]
    relabel_configs:
      - {source_labels: [__address__], regex: 'c:1', target_label: team, replacement: x}
  - job_name: fresh
    static_configs: [{targets: ['new:1']}]
  - job_name: api
    http_sd_configs: [{url: 'SD/sd', refresh_interval: 1h}]
    relabel_configs:
      - {source_labels: [__address__], regex: 'api-2:80', action: drop}
";

/// bcrypt (cost 4) of "wonderland".
const ALICE: &str = "$2y$04$aFHtZVLiJVPja1Ora0Dqb.ZGO6k33WvhWLDFxG2DZ8RILL4zI2h6q";

/// An HTTP SD server with two targets at `/sd` and one at `/sd2`.
fn sd_server() -> HttpFixture {
    HttpFixture::start(|request| match request.path() {
        "/sd" => Response::json(
            200,
            r#"[{"targets": ["api-1:80", "api-2:80"], "labels": {"tier": "api"}}]"#,
        ),
        "/sd2" => Response::json(200, r#"[{"targets": ["extra-1:80"]}]"#),
        _ => Response::new(404),
    })
}

fn sd_requests(sd: &HttpFixture, path: &str) -> usize {
    sd.requests().iter().filter(|r| r.path() == path).count()
}

/// The config files live in `<dir>/conf`; the daemon runs in `<dir>`, so that a relative path
/// resolved against the working directory instead of the config's would find nothing.
fn write_conf(dir: &Path, name: &str, text: &str, sd: &HttpFixture) -> PathBuf {
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("targets.json"), TARGETS).unwrap();
    let path = conf.join(name);
    std::fs::write(&path, text.replace("SD", &sd.url())).unwrap();
    path
}

fn post(port: u16, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
    http_with_body("POST", port, path, headers, body.as_bytes())
        .unwrap_or_else(|| panic!("POST {path}: no answer"))
}

fn json(answer: &Answer) -> Value {
    serde_json::from_str(&answer.2)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", answer.0, answer.2))
}

/// Waits until every job's providers delivered; returns `/api/v1/status/sd`'s data.
fn wait_discovered(port: u16, headers: &[(&str, &str)]) -> Value {
    wait_for("every job to be ready", || {
        let answer = http("GET", port, "/api/v1/status/sd", headers)?;
        let data = serde_json::from_str::<Value>(&answer.2).ok()?["data"].clone();
        data["jobs"]
            .as_array()?
            .iter()
            .all(|j| j["ready"] == true)
            .then_some(data)
    })
}

/// The providers as `/api/v1/status/sd` lists them: name, mechanism, restarts, errors.
fn providers(status: &Value) -> Vec<(String, String, u64, u64)> {
    status["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["mechanism"].as_str().unwrap().to_owned(),
                p["restarts"].as_u64().unwrap(),
                p["errors"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn cli_diff(old: &Path, new: &Path, json: bool) -> String {
    let mut command = Command::new(promsd_bin());
    command.arg("diff").arg(old).arg(new);
    if json {
        command.args(["--format", "json"]);
    }
    let out = command.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_diff_api_is_refused_without_the_admin_api_flag() {
    let dir = tempfile::tempdir().unwrap();
    let sd = sd_server();
    let config = write_conf(dir.path(), "prometheus.yml", RUNNING, &sd);
    let (_promsd, port) = start_promsd(dir.path(), &config, &[]);
    let answer = post(port, "/api/v1/diff", CANDIDATE, &[]);
    // Prometheus' answer for an admin API when they are disabled.
    assert_eq!(answer.0, 503, "{}", answer.2);
    let body = json(&answer);
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "unavailable");
    assert_eq!(body["error"], "admin APIs disabled");
    assert_eq!(sd_requests(&sd, "/sd2"), 0);
}

#[test]
fn a_candidate_is_compared_as_promsd_diff_compares_it_without_asking_running_providers_again() {
    let dir = tempfile::tempdir().unwrap();
    let sd = sd_server();
    let running = write_conf(dir.path(), "prometheus.yml", RUNNING, &sd);
    let candidate = write_conf(dir.path(), "candidate.yml", CANDIDATE, &sd);
    let (_promsd, port) = start_promsd(dir.path(), &running, &["--web.enable-admin-api"]);
    let before = wait_discovered(port, &[]);
    let asked = sd_requests(&sd, "/sd");
    assert_eq!(asked, 1, "the daemon asked its HTTP SD server once");

    let body = std::fs::read_to_string(&candidate).unwrap();
    let answer = post(port, "/api/v1/diff", &body, &[]);
    assert_eq!(answer.0, 200, "{}", answer.2);
    let ours = json(&answer);

    // The running providers were reused: the HTTP SD server was not asked again, and the
    // daemon's providers are the same ones, never restarted.
    assert_eq!(sd_requests(&sd, "/sd"), asked, "HTTP SD asked again");
    let after = wait_discovered(port, &[]);
    assert_eq!(providers(&after), providers(&before));
    assert_eq!(providers(&after).len(), 3);

    // What the API reports is what `promsd diff` prints for the same two files (the command
    // asks the HTTP SD server itself).
    let cli: Value = serde_json::from_str(&cli_diff(&running, &candidate, true)).unwrap();
    let cli_text = cli_diff(&running, &candidate, false);
    let asked = sd_requests(&sd, "/sd");
    assert_eq!(ours, cli);
    let node = &ours["jobs"]["node"];
    assert_eq!(node["changed"][0]["before"]["instance"], "c:1");
    assert_eq!(node["changed"][0]["after"]["team"], "x");
    assert_eq!(node["added"][0]["instance"], "b:1");
    assert_eq!(ours["jobs"]["api"]["removed"][0]["instance"], "api-2:80");
    assert_eq!(ours["jobs"]["api"]["removed"][0]["tier"], "api");
    assert_eq!(ours["jobs"]["api"]["unchanged"], 1);
    assert_eq!(ours["jobs"]["legacy"]["removed"][0]["instance"], "old:1");
    assert_eq!(ours["jobs"]["fresh"]["added"][0]["instance"], "new:1");

    // The text report, and `job` limiting the comparison, as `--job`.
    let text = post(port, "/api/v1/diff?format=text", &body, &[]);
    assert_eq!(text.0, 200, "{}", text.2);
    assert_eq!(text.2, cli_text);
    assert!(
        text.2
            .contains("job node: 1 added, 0 removed, 1 changed, 1 unchanged"),
        "{}",
        text.2
    );
    let only = json(&post(port, "/api/v1/diff?job=api", &body, &[]));
    assert_eq!(
        only["jobs"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["api"]
    );
    // The running config compared with itself: nothing differs.
    let running_text = std::fs::read_to_string(&running).unwrap();
    let same = json(&post(port, "/api/v1/diff", &running_text, &[]));
    for (job, d) in same["jobs"].as_object().unwrap() {
        assert_eq!(d["added"], Value::Array(vec![]), "{job}");
        assert_eq!(d["removed"], Value::Array(vec![]), "{job}");
        assert_eq!(d["changed"], Value::Array(vec![]), "{job}");
    }
    assert_eq!(same["jobs"]["node"]["unchanged"], 2);
    assert_eq!(sd_requests(&sd, "/sd"), asked, "HTTP SD asked again");
}

#[test]
fn a_new_provider_in_the_candidate_is_discovered_once() {
    let dir = tempfile::tempdir().unwrap();
    let sd = sd_server();
    let running = write_conf(dir.path(), "prometheus.yml", RUNNING, &sd);
    std::fs::write(
        dir.path().join("conf/more.json"),
        r#"[{"targets": ["m:1", "m:2"], "labels": {"team": "db"}}]"#,
    )
    .unwrap();
    let (_promsd, port) = start_promsd(dir.path(), &running, &["--web.enable-admin-api"]);
    wait_discovered(port, &[]);
    let candidate = format!(
        "{}  - job_name: more\n    file_sd_configs: [{{files: [more.json]}}]\n  - job_name: extra\n    http_sd_configs: [{{url: '{}/sd2'}}]\n",
        RUNNING.replace("SD", &sd.url()),
        sd.url()
    );
    let answer = post(port, "/api/v1/diff", &candidate, &[]);
    assert_eq!(answer.0, 200, "{}", answer.2);
    let report = json(&answer);
    let more = &report["jobs"]["more"];
    let added: Vec<&str> = more["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["instance"].as_str().unwrap())
        .collect();
    assert_eq!(added, ["m:1", "m:2"], "{report}");
    assert_eq!(more["added"][0]["team"], "db");
    assert_eq!(
        report["jobs"]["extra"]["added"][0]["instance"],
        "extra-1:80"
    );
    assert_eq!(
        sd_requests(&sd, "/sd2"),
        1,
        "the new HTTP SD provider ran once"
    );
    assert_eq!(
        sd_requests(&sd, "/sd"),
        1,
        "the running one was not asked again"
    );
    // The running jobs did not change.
    for job in ["node", "legacy", "api"] {
        assert_eq!(report["jobs"][job]["added"], Value::Array(vec![]), "{job}");
        assert_eq!(
            report["jobs"][job]["removed"],
            Value::Array(vec![]),
            "{job}"
        );
    }
    // The preview did not touch the daemon: no new provider, no new job.
    let status = wait_discovered(port, &[]);
    assert_eq!(providers(&status).len(), 3);
    assert_eq!(status["jobs"].as_array().unwrap().len(), 3);
}

#[test]
fn a_candidate_that_does_not_load_is_a_400_naming_where() {
    let dir = tempfile::tempdir().unwrap();
    let sd = sd_server();
    let running = write_conf(dir.path(), "prometheus.yml", RUNNING, &sd);
    let (_promsd, port) = start_promsd(dir.path(), &running, &["--web.enable-admin-api"]);
    let answer = post(
        port,
        "/api/v1/diff",
        "scrape_configs:\n  - job_name: x\n    bogus: 1\n",
        &[],
    );
    assert_eq!(answer.0, 400, "{}", answer.2);
    let body = json(&answer);
    assert_eq!(body["errorType"], "bad_data");
    let error = body["error"].as_str().unwrap();
    assert!(error.starts_with("candidate:3:5: "), "{error}");
    assert!(error.contains("bogus"), "{error}");
    let running_text = std::fs::read_to_string(&running).unwrap();
    let answer = post(port, "/api/v1/diff?job=nope", &running_text, &[]);
    assert_eq!(answer.0, 400, "{}", answer.2);
    assert_eq!(json(&answer)["error"], "job nope is in neither config");
}

#[test]
fn basic_auth_of_the_web_config_guards_the_diff_api() {
    let dir = tempfile::tempdir().unwrap();
    let sd = sd_server();
    let running = write_conf(dir.path(), "prometheus.yml", RUNNING, &sd);
    std::fs::write(
        dir.path().join("web.yml"),
        format!("basic_auth_users:\n  alice: {ALICE}\n"),
    )
    .unwrap();
    let alice = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:wonderland")
    );
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _promsd = Process::start(
        "promsd",
        promsd_bin(),
        &[
            "run",
            "--config.file",
            running.to_str().unwrap(),
            "--web.listen-address",
            &listen,
            "--web.config.file",
            "web.yml",
            "--web.enable-admin-api",
        ],
        dir.path(),
    );
    let auth = [("Authorization", alice.as_str())];
    wait_discovered(port, &auth);
    let denied = post(port, "/api/v1/diff", CANDIDATE, &[]);
    assert_eq!(denied.0, 401, "{}", denied.2);
    let wrong = base64::engine::general_purpose::STANDARD.encode("alice:x");
    let denied = post(
        port,
        "/api/v1/diff",
        CANDIDATE,
        &[("Authorization", &format!("Basic {wrong}"))],
    );
    assert_eq!(denied.0, 401, "{}", denied.2);
    let candidate = CANDIDATE.replace("SD", &sd.url());
    let allowed = post(port, "/api/v1/diff", &candidate, &auth);
    assert_eq!(allowed.0, 200, "{}", allowed.2);
    assert_eq!(
        json(&allowed)["jobs"]["fresh"]["added"][0]["instance"],
        "new:1"
    );
}
