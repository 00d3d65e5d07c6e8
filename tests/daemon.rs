//! `promsd run` as users deploy it: the built binary on a free port serving HTTP SD, sharded and
//! with ETags; the real `prometheus` scraping what promsd serves (over HTTP SD and file SD
//! output) with exactly the labels `promtool check service-discovery` computes for the original
//! job; reload by HTTP and SIGHUP keeping the old config when the new one is bad; SIGTERM.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use support::*;

/// The shipped example config with its target files, in a fresh directory.
fn example_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    std::fs::copy(
        examples.join("prometheus.yml"),
        dir.path().join("prometheus.yml"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("targets")).unwrap();
    for f in ["node.json", "edge.yml"] {
        std::fs::copy(
            examples.join("targets").join(f),
            dir.path().join("targets").join(f),
        )
        .unwrap();
    }
    dir
}

type Labels = BTreeMap<String, String>;

/// The label sets of an HTTP SD body (targets merged with their group's labels).
fn http_sd_targets(body: &str) -> Vec<Labels> {
    let groups: Vec<Value> = serde_json::from_str(body).unwrap();
    let mut out = Vec::new();
    for g in groups {
        for t in g["targets"].as_array().unwrap() {
            let mut labels: Labels =
                serde_json::from_value(g["labels"].clone()).unwrap_or_default();
            labels.insert("__address__".into(), t.as_str().unwrap().into());
            out.push(labels);
        }
    }
    out
}

#[test]
fn serves_the_shipped_configs_jobs_as_http_sd() {
    let dir = example_dir();
    let (_promsd, port) = start_promsd(dir.path(), &dir.path().join("prometheus.yml"), &[]);
    let body = wait_for("node targets", || {
        get_ok(port, "/api/v1/sd/node").filter(|b| http_sd_targets(b).len() == 4)
    });
    let targets = http_sd_targets(&body);
    // Each answer is counted by status, and timed.
    let metrics = get_ok(port, "/metrics").unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("promsd_http_sd_requests_total{code=\"200\"} ")),
        "{metrics}"
    );
    assert!(metrics.contains("promsd_http_sd_request_duration_seconds_count "));
    let addresses: BTreeSet<&str> = targets.iter().map(|t| t["__address__"].as_str()).collect();
    assert_eq!(
        addresses,
        BTreeSet::from([
            "10.0.0.1:9100",
            "10.0.0.2:9100",
            "edge-1.example.com:9100",
            "edge-2.example.com:9100"
        ]),
        "the staging target is dropped by the relabel rule"
    );
    let first = targets
        .iter()
        .find(|t| t["__address__"] == "10.0.0.1:9100")
        .unwrap();
    let expected: Labels = [
        ("__address__", "10.0.0.1:9100"),
        ("__always_scrape_classic_histograms__", "false"),
        ("__convert_classic_histograms_to_nhcb__", "false"),
        ("__metrics_path__", "/metrics"),
        ("__scheme__", "http"),
        ("__scrape_interval__", "30s"),
        ("__scrape_native_histograms__", "false"),
        ("__scrape_timeout__", "10s"),
        ("dc", "eu-west"),
        ("env", "production"),
        ("host", "10.0.0.1"),
        ("instance", "10.0.0.1:9100"),
        ("job", "node"),
        ("source_file", "node"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(first, &expected);

    // Unknown job: 404 with a JSON error; bad shard parameters: 400.
    let (status, _, body) = http("GET", port, "/api/v1/sd/nope", &[]).unwrap();
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "error"
    );
    let (status, _, _) = http("GET", port, "/api/v1/sd/node?shard=3&shards=3", &[]).unwrap();
    assert_eq!(status, 400);
    // One cap on the shard count: above it, a 400 with a JSON error.
    let (status, _, body) = http("GET", port, "/api/v1/sd/node?shard=1&shards=99999", &[]).unwrap();
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "shards must be between 1 and 10000, got 99999"
    );
    let (status, _, _) = http("GET", port, "/api/v1/sd/node?shard=1&shards=10000", &[]).unwrap();
    assert_eq!(status, 200);

    // ETag: asked again with it, nothing to send.
    let (status, headers, _) = http("GET", port, "/api/v1/sd/node", &[]).unwrap();
    assert_eq!(status, 200);
    let etag = headers.iter().find(|(n, _)| n == "etag").unwrap().1.clone();
    let (status, _, body) =
        http("GET", port, "/api/v1/sd/node", &[("If-None-Match", &etag)]).unwrap();
    assert_eq!((status, body.as_str()), (304, ""));
}

#[test]
fn shards_are_disjoint_cover_the_job_and_move_little_when_one_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let targets: Vec<String> = (0..2000)
        .map(|i| format!("\"10.1.{}.{}:9100\"", i / 250, i % 250))
        .collect();
    std::fs::write(
        dir.path().join("many.json"),
        format!("[{{\"targets\":[{}]}}]", targets.join(",")),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "scrape_configs:\n  - job_name: many\n    file_sd_configs:\n      - files: [many.json]\n",
    )
    .unwrap();
    let (_promsd, port) = start_promsd(dir.path(), &dir.path().join("prometheus.yml"), &[]);
    wait_for("all targets", || {
        get_ok(port, "/api/v1/sd/many").filter(|b| http_sd_targets(b).len() == 2000)
    });
    let assignment = |n: u32| -> BTreeMap<String, u32> {
        let mut owner = BTreeMap::new();
        for i in 0..n {
            let body = get_ok(port, &format!("/api/v1/sd/many?shard={i}&shards={n}")).unwrap();
            for t in http_sd_targets(&body) {
                let previous = owner.insert(t["__address__"].clone(), i);
                assert!(
                    previous.is_none(),
                    "{} in two shards of {n}",
                    t["__address__"]
                );
            }
        }
        assert_eq!(owner.len(), 2000, "the {n} shards cover the job");
        owner
    };
    let four = assignment(4);
    let five = assignment(5);
    let moved = four.iter().filter(|(t, s)| five[*t] != **s).count();
    // Ideal: 1/5 of 2000 = 400, all to the new shard.
    assert!(
        (300..=500).contains(&moved),
        "{moved} targets moved from 4 to 5 shards"
    );
    assert!(four
        .iter()
        .filter(|(t, s)| five[*t] != **s)
        .all(|(t, _)| five[t] == 4));
}

#[test]
fn reload_takes_a_good_config_and_keeps_the_running_one_on_a_bad_one() {
    let dir = example_dir();
    let config = dir.path().join("prometheus.yml");
    let (promsd, port) = start_promsd(dir.path(), &config, &["--web.enable-lifecycle"]);
    wait_for("node job", || get_ok(port, "/api/v1/sd/node"));
    let original = std::fs::read_to_string(&config).unwrap();

    // A new job by POST /-/reload.
    let with_extra = format!(
        "{original}\n  - job_name: extra\n    static_configs:\n      - targets: ['extra:1']\n"
    );
    std::fs::write(&config, &with_extra).unwrap();
    let (status, _, _) = http("POST", port, "/-/reload", &[]).unwrap();
    assert_eq!(status, 200);
    wait_for("extra job", || {
        get_ok(port, "/api/v1/sd/extra").filter(|b| b.contains("extra:1"))
    });

    // A bad config: rejected with its error, the running config stays.
    std::fs::write(&config, format!("{with_extra}    bogus_key: 1\n")).unwrap();
    let (status, _, body) = http("POST", port, "/-/reload", &[]).unwrap();
    assert_eq!(status, 500);
    assert!(body.contains("bogus_key"), "{body}");
    assert!(get_ok(port, "/api/v1/sd/extra")
        .unwrap()
        .contains("extra:1"));
    let metrics = get_ok(port, "/metrics").unwrap();
    assert!(
        metrics.contains("prometheus_config_last_reload_successful 0"),
        "{metrics}"
    );

    // SIGHUP takes the fixed file: the extra job goes away again.
    std::fs::write(&config, &original).unwrap();
    promsd.signal("HUP");
    wait_for("extra job removed", || {
        http("GET", port, "/api/v1/sd/extra", &[]).filter(|(s, _, _)| *s == 404)
    });
    assert!(get_ok(port, "/api/v1/sd/node").is_some());
}

#[test]
fn sigterm_stops_the_daemon_cleanly() {
    let dir = example_dir();
    let (mut promsd, port) = start_promsd(dir.path(), &dir.path().join("prometheus.yml"), &[]);
    assert!(get_ok(port, "/-/healthy").is_some());
    promsd.signal("TERM");
    assert_eq!(promsd.wait_exit(), Some(0), "{}", promsd.log());
}

#[test]
fn a_bad_config_at_start_is_an_error_naming_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "scrape_configs:\n  - job_name: a\n    scrape_intervall: 1m\n",
    )
    .unwrap();
    let mut promsd = Process::start(
        "promsd",
        promsd_bin(),
        &[
            "run",
            "--config.file",
            config.to_str().unwrap(),
            "--web.listen-address",
            &format!("127.0.0.1:{}", free_port()),
        ],
        dir.path(),
    );
    assert_eq!(promsd.wait_exit(), Some(1));
    assert!(
        promsd.log().contains("prometheus.yml:3:5"),
        "{}",
        promsd.log()
    );
}

/// promtool's final labels for a job, without the `__` labels a scrape target's API view omits.
fn promtool_labels(config: &Path, job: &str) -> BTreeSet<Labels> {
    let out = std::process::Command::new("promtool")
        .args([
            "check",
            "service-discovery",
            "--timeout=5s",
            config.to_str().unwrap(),
            job,
        ])
        .output()
        .expect("promtool is installed (Debian package prometheus)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    entries
        .iter()
        .map(|e| serde_json::from_value::<Labels>(e["labels"].clone()).unwrap())
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.into_iter()
                .filter(|(n, _)| !n.starts_with("__"))
                .collect()
        })
        .collect()
}

/// The labels of a Prometheus server's active targets of one job.
fn prometheus_targets(port: u16, consumer_job: &str) -> Option<BTreeSet<Labels>> {
    let body = get_ok(port, "/api/v1/targets?state=active")?;
    let json: Value = serde_json::from_str(&body).ok()?;
    Some(
        json["data"]["activeTargets"]
            .as_array()?
            .iter()
            .filter(|t| t["scrapePool"] == consumer_job)
            .map(|t| serde_json::from_value::<Labels>(t["labels"].clone()).unwrap())
            .collect(),
    )
}

#[test]
fn prometheus_scrapes_what_promsd_serves_with_promtools_labels() {
    let dir = example_dir();
    let config = dir.path().join("prometheus.yml");
    let output = dir.path().join("out");
    let (_promsd, port) = start_promsd(
        dir.path(),
        &config,
        &["--output.file-sd.dir", output.to_str().unwrap()],
    );
    wait_for("file SD output", || {
        std::fs::metadata(output.join("node.json")).ok()
    });

    let consumer_dir = dir.path().join("consumer");
    std::fs::create_dir(&consumer_dir).unwrap();
    std::fs::write(
        consumer_dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\nscrape_configs:\n  - job_name: via-http-sd\n    http_sd_configs:\n      - url: http://127.0.0.1:{port}/api/v1/sd/node\n        refresh_interval: 1s\n  - job_name: via-file-sd\n    file_sd_configs:\n      - files: ['{}']\n        refresh_interval: 1s\n",
            output.join("node.json").display()
        ),
    )
    .unwrap();
    let prom_port = free_port();
    let _prometheus = Process::start(
        "prometheus",
        "prometheus",
        &[
            "--config.file=prometheus.yml",
            "--storage.tsdb.path=data",
            &format!("--web.listen-address=127.0.0.1:{prom_port}"),
        ],
        &consumer_dir,
    );
    let expected = promtool_labels(&config, "node");
    assert_eq!(expected.len(), 4, "{expected:?}");
    for job in ["via-http-sd", "via-file-sd"] {
        let seen = wait_for(&format!("prometheus targets of {job}"), || {
            prometheus_targets(prom_port, job).filter(|t| t.len() == expected.len())
        });
        assert_eq!(seen, expected, "{job}");
    }
}

/// A tiny HTTP SD endpoint: answers `body` with JSON, or holds every request while `hang` is set.
struct SdEndpoint {
    port: u16,
    body: std::sync::Arc<std::sync::Mutex<String>>,
    hang: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SdEndpoint {
    fn start(body: &str) -> SdEndpoint {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let body = std::sync::Arc::new(std::sync::Mutex::new(body.to_owned()));
        let hang = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (b, h) = (body.clone(), hang.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let (b, h) = (b.clone(), h.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf);
                    let end = std::time::Instant::now() + DEADLINE;
                    while h.load(Ordering::SeqCst) && std::time::Instant::now() < end {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    let body = b.lock().unwrap().clone();
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        SdEndpoint { port, body, hang }
    }
}

#[test]
fn warm_start_serves_the_last_good_state_until_discovery_answers() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = SdEndpoint::start(r#"[{"targets":["warm-1:9100","warm-2:9100"]}]"#);
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: api\n    http_sd_configs:\n      - url: http://127.0.0.1:{}/sd\n        refresh_interval: 1s\n",
            endpoint.port
        ),
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let flags = [
        "--storage.state-file",
        state.to_str().unwrap(),
        "--web.ready-timeout",
        "1h",
    ];
    let addresses = |port: u16| -> Option<BTreeSet<String>> {
        let body = get_ok(port, "/api/v1/sd/api")?;
        Some(
            http_sd_targets(&body)
                .into_iter()
                .map(|t| t["__address__"].clone())
                .collect(),
        )
    };
    let warm = BTreeSet::from(["warm-1:9100".to_owned(), "warm-2:9100".to_owned()]);
    {
        let (mut promsd, port) = start_promsd(dir.path(), &config, &flags);
        wait_for("first targets", || addresses(port).filter(|a| *a == warm));
        wait_for("state file", || {
            std::fs::read_to_string(&state)
                .ok()
                .filter(|s| s.contains("warm-2:9100"))
        });
        promsd.signal("TERM");
        promsd.wait_exit();
    }

    // The endpoint now hangs: a restarted promsd serves the saved state, marked stale.
    endpoint.hang.store(true, Ordering::SeqCst);
    *endpoint.body.lock().unwrap() = r#"[{"targets":["fresh:9100"]}]"#.into();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "run",
        "--config.file",
        config.to_str().unwrap(),
        "--web.listen-address",
        &listen,
    ];
    args.extend_from_slice(&flags);
    let _promsd = Process::start("promsd-restarted", promsd_bin(), &args, dir.path());
    wait_for("warm targets", || addresses(port).filter(|a| *a == warm));
    let (status, _, _) = http("GET", port, "/-/ready", &[]).unwrap();
    assert_eq!(
        status, 503,
        "warm state is served, but discovery is not ready"
    );
    assert!(get_ok(port, "/metrics")
        .unwrap()
        .contains("promsd_sd_stale_jobs 1"));

    // Discovery answers: fresh targets replace the warm ones.
    endpoint.hang.store(false, Ordering::SeqCst);
    wait_for("fresh targets", || {
        addresses(port).filter(|a| *a == BTreeSet::from(["fresh:9100".to_owned()]))
    });
    wait_for("stale gauge at 0", || {
        get_ok(port, "/metrics").filter(|m| m.contains("promsd_sd_stale_jobs 0"))
    });
}

#[test]
fn the_api_explains_dropped_targets_and_masks_secrets() {
    let dir = example_dir();
    let config = dir.path().join("prometheus.yml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = text.replace(
        "  - job_name: promsd\n",
        "  - job_name: promsd\n    basic_auth:\n      username: admin\n      password: hunter2-secret\n",
    );
    std::fs::write(&config, text).unwrap();
    let (_promsd, port) = start_promsd(dir.path(), &config, &[]);

    let body = wait_for("dropped target", || {
        get_ok(port, "/api/v1/targets?state=dropped&scrapePool=node")
            .filter(|b| b.contains("10.0.1.1:9100"))
    });
    let json: Value = serde_json::from_str(&body).unwrap();
    let dropped = &json["data"]["droppedTargets"][0];
    assert_eq!(dropped["discoveredLabels"]["env"], "staging");
    assert_eq!(
        dropped["droppedBecause"],
        "dropped by relabel rule 0: action drop, source_labels [env], regex staging"
    );

    let labels =
        r#"{"__address__":"10.0.0.9:9100","env":"production","__meta_filepath":"/x/node.json"}"#;
    let path = format!(
        "/api/v1/targets/relabel_steps?scrapePool=node&labels={}",
        labels
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>()
    );
    let steps: Value = serde_json::from_str(&get_ok(port, &path).unwrap()).unwrap();
    let steps = steps["data"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[1]["output"]["host"], "10.0.0.9");
    assert_eq!(steps[2]["output"]["source_file"], "node");
    assert!(steps.iter().all(|s| s["keep"] == true));

    let config_yaml = get_ok(port, "/api/v1/status/config").unwrap();
    assert!(config_yaml.contains("<secret>"), "{config_yaml}");
    assert!(!config_yaml.contains("hunter2-secret"), "{config_yaml}");
    assert!(get_ok(port, "/").unwrap().contains("<html"));
}
