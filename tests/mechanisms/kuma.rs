//! Kuma SD against a fixture of Kuma's control plane: an xDS REST server on 127.0.0.1:0 that
//! answers `POST /v3/discovery:monitoringassignments` as the control plane does. It checks
//! every request as Prometheus' test server does (content type, accept, a `DiscoveryRequest`
//! body of MADS v1's type) and more (the `fetch-timeout` query, the node id, the
//! `Authorization` header), answers 304 while the request's `version_info` is current, and
//! can fail (500) or serve an answer with a resource of the wrong type.
//!
//! The resources are those of Prometheus' `kuma_test.go` (`testKumaMadsV1Resources`), and the
//! expected labels its `TestKumaHTTPDiscoveryRefresh`'s; driven through `promsd check
//! service-discovery` from a prometheus.yml, and through the discoverer stream for the request
//! sequence (versions, nonces, 304s, rejected answers, failures).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures::StreamExt;
use promsd::discovery::kuma::{self, KumaSdConfig};
use promsd_actors::model::labels_map;
use promsd_actors::{BuildContext, DiscoveryConfig, RefreshMetrics, Update};
use serde_json::{json, Value};

use crate::support;

const DEADLINE: Duration = Duration::from_secs(60);
const MADS_V1: &str = include_str!("kuma/mads_v1.json");
const TYPE_URL: &str = "type.googleapis.com/kuma.observability.v1.MonitoringAssignment";
const PATH: &str = "/v3/discovery:monitoringassignments";

/// A request the fixture saw.
#[derive(Clone, Debug)]
struct Seen {
    query: String,
    authorization: Option<String>,
    body: Value,
}

struct State {
    version: u64,
    resources: Value,
    /// Answer 500 to this many requests.
    fail: u32,
    token: Option<String>,
    seen: Vec<Seen>,
}

/// The control plane fixture, served from a thread of its own.
struct Mads {
    state: Arc<Mutex<State>>,
    url: String,
    stop: Option<actix_web::dev::ServerHandle>,
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<State>>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut st = state.lock().unwrap();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    st.seen.push(Seen {
        query: req.query_string().to_owned(),
        authorization: header("authorization"),
        body: request.clone(),
    });
    if req.method() != actix_web::http::Method::POST || req.path() != PATH {
        return HttpResponse::NotFound().body("no such endpoint");
    }
    // What Prometheus' createTestHTTPServer checks.
    if header("content-type").as_deref() != Some("application/json")
        || header("accept").as_deref() != Some("application/json")
        || request["type_url"] != TYPE_URL
        || !request["node"]["id"].is_string()
    {
        return HttpResponse::BadRequest().body(format!("bad request {request}"));
    }
    if let Some(token) = &st.token {
        if header("authorization") != Some(format!("Bearer {token}")) {
            return HttpResponse::Unauthorized().finish();
        }
    }
    if st.fail > 0 {
        st.fail -= 1;
        return HttpResponse::InternalServerError().finish();
    }
    let version = st.version.to_string();
    if request["version_info"] == version.as_str() {
        return HttpResponse::NotModified().finish();
    }
    HttpResponse::Ok().content_type("application/json").body(
        json!({
            "version_info": version,
            "resources": st.resources,
            "type_url": TYPE_URL,
            "nonce": format!("nonce-{version}"),
        })
        .to_string(),
    )
}

impl Mads {
    fn start(token: Option<&str>) -> Mads {
        let body: Value = serde_json::from_str(MADS_V1).unwrap();
        let state = Arc::new(Mutex::new(State {
            version: 1,
            resources: body["resources"].clone(),
            fail: 0,
            token: token.map(str::to_owned),
            seen: Vec::new(),
        }));
        let data = web::Data::from(state.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .default_service(web::to(handle))
                })
                .workers(1)
                .disable_signals()
                .shutdown_timeout(0)
                .bind(("127.0.0.1", 0))
                .unwrap();
                let address = server.addrs()[0];
                let server = server.run();
                tx.send((address, server.handle())).unwrap();
                let _ = server.await;
            });
        });
        let (address, handle) = rx.recv().unwrap();
        Mads {
            state,
            url: format!("http://{address}"),
            stop: Some(handle),
        }
    }

    /// New resources under a new version.
    fn publish(&self, resources: Value) {
        let mut st = self.state.lock().unwrap();
        st.version += 1;
        st.resources = resources;
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// Waits until the fixture has seen `n` requests; returns them all.
    fn wait_for_requests(&self, n: usize) -> Vec<Seen> {
        support::wait_for(&format!("{n} requests"), || {
            let seen = self.seen();
            (seen.len() >= n).then_some(seen)
        })
    }
}

impl Drop for Mads {
    fn drop(&mut self) {
        if let Some(handle) = self.stop.take() {
            drop(handle.stop(false));
        }
    }
}

fn resources() -> Value {
    serde_json::from_str::<Value>(MADS_V1).unwrap()["resources"].clone()
}

type Labels = BTreeMap<String, String>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// `TestKumaHTTPDiscoveryRefresh`'s expected targets.
fn expected_targets() -> Vec<Labels> {
    vec![
        labels(&[
            ("__address__", "10.1.4.32:9090"),
            ("__metrics_path__", "/custom-metrics"),
            ("__scheme__", "http"),
            ("instance", "prometheus-01"),
            ("__meta_kuma_mesh", "metrics"),
            ("__meta_kuma_service", "prometheus"),
            ("__meta_kuma_label_team", "infra"),
            ("__meta_kuma_label_kuma_io_zone", "us-east-1"),
            ("__meta_kuma_label_commit_hash", "620506a88"),
            ("__meta_kuma_dataplane", "prometheus-01"),
        ]),
        labels(&[
            ("__address__", "10.1.4.33:9090"),
            ("__metrics_path__", ""),
            ("__scheme__", "http"),
            ("instance", "prometheus-02"),
            ("__meta_kuma_mesh", "metrics"),
            ("__meta_kuma_service", "prometheus"),
            ("__meta_kuma_label_team", "infra"),
            ("__meta_kuma_label_kuma_io_zone", "us-east-1"),
            ("__meta_kuma_label_commit_hash", "3513bba00"),
            ("__meta_kuma_dataplane", "prometheus-02"),
        ]),
        labels(&[
            ("__address__", "10.1.1.1"),
            ("__metrics_path__", ""),
            ("__scheme__", "http"),
            ("instance", "elasticsearch-01"),
            ("__meta_kuma_mesh", "data"),
            ("__meta_kuma_service", "elasticsearch"),
            ("__meta_kuma_label_role", "ml"),
            ("__meta_kuma_dataplane", "elasticsearch-01"),
        ]),
    ]
}

/// The job of conf.good.yml, against the fixture, through `promsd check service-discovery`:
/// the request as Prometheus sends it, every label as `kuma.go` builds it.
#[test]
fn check_service_discovery_prints_kuma_targets() {
    let mads = Mads::start(Some("mads-token"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(dir.path().join("token"), "mads-token\n").unwrap();
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n\
             - job_name: service-kuma\n\
             \x20 kuma_sd_configs:\n\
             \x20   - server: {}\n\
             \x20     client_id: main-prometheus\n\
             \x20     authorization:\n\
             \x20       credentials_file: token\n",
            mads.url
        ),
    )
    .unwrap();
    let out = std::process::Command::new(support::promsd_bin())
        .args([
            "check",
            "service-discovery",
            config.to_str().unwrap(),
            "service-kuma",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let discovered: Vec<Labels> = results
        .iter()
        .map(|r| {
            r["discoveredLabels"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| {
                    k.starts_with("__meta_")
                        || ["__address__", "__scheme__", "instance"].contains(&k.as_str())
                })
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .collect();
    let mut want: Vec<Labels> = expected_targets();
    for t in &mut want {
        t.remove("__metrics_path__");
    }
    let sort = |v: &mut Vec<Labels>| v.sort_by(|a, b| a["instance"].cmp(&b["instance"]));
    let mut discovered = discovered;
    sort(&mut discovered);
    sort(&mut want);
    assert_eq!(discovered, want);
    // `instance` is the dataplane's name; an empty `__metrics_path__` takes the job's.
    let by_instance: BTreeMap<&str, &Value> = results
        .iter()
        .map(|r| (r["labels"]["instance"].as_str().unwrap(), r))
        .collect();
    assert_eq!(
        by_instance.keys().copied().collect::<Vec<_>>(),
        ["elasticsearch-01", "prometheus-01", "prometheus-02"]
    );
    assert_eq!(
        by_instance["prometheus-01"]["discoveredLabels"]["__metrics_path__"],
        "/custom-metrics"
    );
    assert_eq!(
        by_instance["prometheus-02"]["discoveredLabels"]["__metrics_path__"],
        "/metrics"
    );
    assert_eq!(
        by_instance["prometheus-02"]["labels"]["job"],
        "service-kuma"
    );

    let seen = mads.seen();
    assert_eq!(seen[0].query, "fetch-timeout=2m");
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer mads-token"));
    assert_eq!(
        seen[0].body,
        json!({"node": {"id": "main-prometheus"}, "type_url": TYPE_URL})
    );
}

/// conf.good.yml's control plane name over TLS, reached as a user behind a corporate proxy
/// reaches it: `proxy_url` and `tls_config.ca_file`; the request goes to the named host.
#[test]
fn control_plane_over_https_through_a_proxy() {
    use crate::support::tls_proxy::{proxy_ca_file, TlsProxy};
    let mads = Mads::start(Some("mads-token"));
    let port: u16 = mads.url.rsplit(':').next().unwrap().parse().unwrap();
    let proxy = TlsProxy::start(([127, 0, 0, 1], port).into());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n\
             - job_name: service-kuma\n\
             \x20 kuma_sd_configs:\n\
             \x20   - server: https://kuma-control-plane.kuma-system.svc:5676\n\
             \x20     client_id: main-prometheus\n\
             \x20     fetch_timeout: 1m\n\
             \x20     proxy_url: {}\n\
             \x20     tls_config:\n\
             \x20       ca_file: {}\n\
             \x20     authorization:\n\
             \x20       credentials: mads-token\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(support::promsd_bin())
        .args([
            "check",
            "service-discovery",
            config.to_str().unwrap(),
            "service-kuma",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut instances: Vec<&str> = results
        .iter()
        .map(|r| r["labels"]["instance"].as_str().unwrap())
        .collect();
    instances.sort();
    assert_eq!(
        instances,
        ["elasticsearch-01", "prometheus-01", "prometheus-02"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    for s in seen {
        assert_eq!(s.connect, "kuma-control-plane.kuma-system.svc:5676");
        assert_eq!(s.sni.as_deref(), Some("kuma-control-plane.kuma-system.svc"));
    }
    let request = &mads.seen()[0];
    assert_eq!(request.query, "fetch-timeout=1m");
    assert_eq!(request.authorization.as_deref(), Some("Bearer mads-token"));
}

/// The discoverer of `config`, its items on a channel.
struct Running {
    items: tokio::sync::mpsc::UnboundedReceiver<Result<Update, String>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn start(config: &KumaSdConfig) -> Running {
    let ctx = BuildContext {
        provider: "kuma/0".into(),
        config_name: "job".into(),
        refresh_metrics: RefreshMetrics::default(),
    };
    let mut discoverer = config.build(&ctx).unwrap();
    let (tx, items) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Some(item) = discoverer.next().await {
            if tx.send(item.map_err(|e| e.to_string())).is_err() {
                return;
            }
        }
    });
    Running { items, task }
}

impl Running {
    async fn next(&mut self) -> Result<Update, String> {
        match tokio::time::timeout(DEADLINE, self.items.recv()).await {
            Ok(Some(item)) => item,
            Ok(None) => panic!("the discoverer ended"),
            Err(_) => panic!("no item within {DEADLINE:?}"),
        }
    }
}

fn targets(update: &Update) -> Vec<Labels> {
    let groups = update.groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(&*groups[0].source, "kuma");
    groups[0].targets.iter().map(labels_map).collect()
}

/// Waits (without blocking the runtime) until the fixture saw `n` requests.
async fn requests(mads: &Mads, n: usize) -> Vec<Seen> {
    let end = Instant::now() + DEADLINE;
    loop {
        let seen = mads.seen();
        if seen.len() >= n {
            return seen;
        }
        assert!(Instant::now() < end, "timed out waiting for {n} requests");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Versions and nonces go back to the control plane; 304 sends nothing; an answer with a
/// resource of the wrong type is rejected whole (its version is kept, as Prometheus keeps
/// it); a failing control plane keeps the last targets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_nonces_not_modified_and_rejected_answers() {
    let mads = Mads::start(None);
    let config: KumaSdConfig = serde_yaml::from_str(&format!(
        "server: {}/\nclient_id: promsd-test\nrefresh_interval: 100ms\nfetch_timeout: 30s\n",
        mads.url
    ))
    .unwrap();
    let mut d = start(&config);
    let full = d.next().await.unwrap();
    assert!(full.is_full());
    assert_eq!(targets(&full), expected_targets());

    // The next fetch carries the version and nonce, and is answered 304: nothing is sent.
    let seen = requests(&mads, 3).await;
    assert_eq!(seen[0].query, "fetch-timeout=30s");
    assert_eq!(
        seen[0].body,
        json!({"node": {"id": "promsd-test"}, "type_url": TYPE_URL})
    );
    for later in &seen[1..3] {
        assert_eq!(
            later.body,
            json!({"version_info": "1", "node": {"id": "promsd-test"}, "type_url": TYPE_URL,
                   "response_nonce": "nonce-1"})
        );
    }
    assert!(kuma::fetch_counts().1 >= 2, "skipped updates are counted");

    // A new version: the one group changes.
    let mut fewer = resources();
    fewer.as_array_mut().unwrap().truncate(2);
    mads.publish(fewer);
    let update = d.next().await.unwrap();
    assert!(!update.is_full());
    assert_eq!(targets(&update), expected_targets()[..2]);

    // An answer with one resource of another type is rejected whole: an error, the targets
    // stand; its version is kept, so the control plane answers 304 after it.
    let mut bad = resources();
    bad[1]["@type"] = json!("type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest");
    mads.publish(bad);
    let err = d.next().await.unwrap_err();
    assert!(err.contains("mismatched message type"), "{err}");
    let before = mads.seen().len();
    let seen = requests(&mads, before + 2).await;
    assert_eq!(seen[before + 1].body["version_info"], "3");
    assert_eq!(seen[before + 1].body["response_nonce"], "nonce-3");

    // The control plane fails: errors, the targets stand; it recovers with a new version.
    mads.state.lock().unwrap().fail = 2;
    mads.publish(resources());
    let err = d.next().await.unwrap_err();
    assert!(
        err.contains("non 200 status '500' response during xDS fetch"),
        "{err}"
    );
    let mut update = d.next().await;
    while let Err(e) = &update {
        assert!(e.contains("'500'"), "{e}");
        update = d.next().await;
    }
    assert_eq!(targets(&update.unwrap()), expected_targets());
    let (failures, _) = kuma::fetch_counts();
    assert!(failures >= 3, "failures are counted: {failures}");

    // No resources at all: every target is gone.
    mads.publish(json!([]));
    let update = d.next().await.unwrap();
    assert_eq!(update.groups().len(), 1);
    assert!(update.groups()[0].targets.is_empty());
}

/// Without `client_id` the node id is this host's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_id_defaults_to_the_host_name() {
    let mads = Mads::start(None);
    let config: KumaSdConfig = serde_yaml::from_str(&format!("server: {}\n", mads.url)).unwrap();
    let mut d = start(&config);
    d.next().await.unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(mads.wait_for_requests(1)[0].body["node"]["id"], host.trim());
}
