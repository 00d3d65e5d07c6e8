//! Hetzner SD end to end: `promsd check service-discovery` and `promsd run` against fixture
//! APIs that play `https://api.hetzner.cloud/v1` (bearer token, `meta.pagination.next_page`,
//! one server per page although 50 are asked for) and `https://robot-ws.your-server.de`
//! (basic auth), reached through the intercepting proxy with `proxy_url` +
//! `tls_config.ca_file` as a user behind a corporate proxy reaches them. The answers are
//! Prometheus' own mock answers (`discovery/hetzner/mock_test.go`), the expected labels its
//! `hcloud_test.go` / `robot_test.go` tables.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::support::http_fixture::{HttpFixture, Request, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};
use crate::support::{check_sd, get_ok, start_promsd, wait_for};

const SERVERS: &str = include_str!("testdata/hetzner/hcloud_servers.json");
const NETWORKS: &str = include_str!("testdata/hetzner/hcloud_networks.json");
const ROBOT: &str = include_str!("testdata/hetzner/robot_servers.json");
const TOKEN: &str = "LRK9DAWQ1ZAEFSrCNEEzLCUwhYX1U3g7wMg4dTlkkDC96fyDuyJ39nVbVjCKSDfj";

/// The `__address__` and `__meta_*` labels of every discovered target, in order.
fn meta_labels(json: &Value) -> Vec<BTreeMap<String, String>> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["discoveredLabels"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| k.starts_with("__meta_") || *k == "__address__")
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Page `page` (from 1) of a Cloud API list, one item per page, with `meta.pagination`.
fn hcloud_page(all: &str, key: &str, page: usize) -> String {
    let all: Value = serde_json::from_str(all).unwrap();
    let items = all[key].as_array().unwrap();
    let item = items.get(page - 1).cloned();
    let next = if page < items.len() {
        json!(page + 1)
    } else {
        Value::Null
    };
    json!({
        key: item.into_iter().collect::<Vec<_>>(),
        "meta": {"pagination": {"page": page, "per_page": 1, "previous_page": null,
                 "next_page": next, "last_page": items.len(), "total_entries": items.len()}}
    })
    .to_string()
}

/// The Cloud API: bearer token checked, servers and networks served one per page.
fn hcloud_api(req: &Request) -> Response {
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return Response::json(
            401,
            r#"{"error":{"code":"unauthorized","message":"unable to authenticate"}}"#,
        );
    }
    let page: usize = req.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    match req.path() {
        "/v1/servers" => Response::json(200, hcloud_page(SERVERS, "servers", page)),
        "/v1/networks" => Response::json(200, hcloud_page(NETWORKS, "networks", page)),
        _ => Response::json(404, r#"{"error":{"code":"not_found"}}"#),
    }
}

fn write_config(dir: &std::path::Path, job: &str, sd: &str) -> std::path::PathBuf {
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        format!("scrape_configs:\n  - job_name: {job}\n    hetzner_sd_configs:\n      - {sd}\n"),
    )
    .unwrap();
    path
}

fn via_proxy(proxy: &TlsProxy) -> String {
    format!(
        "proxy_url: '{}', tls_config: {{ca_file: '{}'}}",
        proxy.url(),
        proxy_ca_file().display()
    )
}

/// hcloud_test.go, `TestHCloudSDRefresh`, through the real host name and every page.
#[test]
fn hcloud_servers_through_the_proxy_with_every_page() {
    let api = HttpFixture::start(hcloud_api);
    let proxy = TlsProxy::start(api.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "hcloud",
        &format!(
            "{{role: hcloud, authorization: {{credentials: {TOKEN}}}, label_selector: 'env=prod,app!=db', {}}}",
            via_proxy(&proxy)
        ),
    );
    let (json, _) = check_sd(&config, "hcloud", &[]).unwrap();
    let got = meta_labels(&json);
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[0],
        labels(&[
            ("__address__", "1.2.3.4:80"),
            ("__meta_hetzner_role", "hcloud"),
            ("__meta_hetzner_server_id", "42"),
            ("__meta_hetzner_server_name", "my-server"),
            ("__meta_hetzner_server_status", "running"),
            ("__meta_hetzner_public_ipv4", "1.2.3.4"),
            ("__meta_hetzner_public_ipv6_network", "2001:db8::/64"),
            ("__meta_hetzner_hcloud_image_name", "ubuntu-20.04"),
            (
                "__meta_hetzner_hcloud_image_description",
                "Ubuntu 20.04 Standard 64 bit"
            ),
            ("__meta_hetzner_hcloud_image_os_flavor", "ubuntu"),
            ("__meta_hetzner_hcloud_image_os_version", "20.04"),
            ("__meta_hetzner_hcloud_location", "fsn1"),
            ("__meta_hetzner_hcloud_location_network_zone", "eu-central"),
            ("__meta_hetzner_hcloud_datacenter_location", "fsn1"),
            (
                "__meta_hetzner_hcloud_datacenter_location_network_zone",
                "eu-central"
            ),
            ("__meta_hetzner_hcloud_cpu_cores", "1"),
            ("__meta_hetzner_hcloud_cpu_type", "shared"),
            ("__meta_hetzner_hcloud_memory_size_gb", "1"),
            ("__meta_hetzner_hcloud_disk_size_gb", "25"),
            ("__meta_hetzner_hcloud_server_type", "cx11"),
            ("__meta_hetzner_hcloud_private_ipv4_mynet", "10.0.0.2"),
            ("__meta_hetzner_hcloud_labelpresent_my_key", "true"),
            ("__meta_hetzner_hcloud_label_my_key", "my-value"),
        ])
    );
    assert_eq!(got[1]["__meta_hetzner_hcloud_label_other_key"], "value");
    assert_eq!(got[1]["__meta_hetzner_hcloud_labelpresent_key"], "true");
    // `label_key` is empty, and promtool's output leaves empty labels out.
    assert!(!got[1].contains_key("__meta_hetzner_hcloud_label_key"));
    assert_eq!(got[2]["__address__"], "1.2.3.6:80");
    assert!(!got[2].contains_key("__meta_hetzner_hcloud_image_name"));

    // Every tunnel went to the real host, with its name as SNI.
    assert!(proxy.seen().iter().all(|s| *s
        == Seen {
            connect: "api.hetzner.cloud:443".into(),
            sni: Some("api.hetzner.cloud".into())
        }));
    // hcloud-go's requests: servers page by page with the selector, then networks.
    let targets: Vec<String> = api.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            "/v1/servers?label_selector=env%3Dprod%2Capp%21%3Ddb&page=1&per_page=50",
            "/v1/servers?label_selector=env%3Dprod%2Capp%21%3Ddb&page=2&per_page=50",
            "/v1/servers?label_selector=env%3Dprod%2Capp%21%3Ddb&page=3&per_page=50",
            "/v1/networks?page=1&per_page=50",
        ]
    );
    assert!(api
        .requests()
        .iter()
        .all(|r| r.header("host") == Some("api.hetzner.cloud")));
}

/// The Robot webservice: basic auth checked (the mock's credentials).
fn robot_api(mode: Arc<AtomicUsize>) -> impl Fn(&Request) -> Response + Send + Sync {
    move |req| {
        use base64::Engine as _;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("my-hetzner:my-password")
        );
        if req.header("authorization") != Some(expected.as_str()) {
            return Response::json(401, r#"{"error":{"status":401,"code":"UNAUTHORIZED"}}"#);
        }
        if req.path() != "/server" {
            return Response::new(404);
        }
        match mode.load(Ordering::SeqCst) {
            0 => Response::json(200, ROBOT),
            1 => Response::json(500, r#"{"error":{"status":500}}"#),
            2 => Response::json(
                429,
                r#"{"error":{"status":429,"code":"RATE_LIMIT_EXCEEDED"}}"#,
            ),
            _ => {
                let all: Value = serde_json::from_str(ROBOT).unwrap();
                Response::json(200, json!([all[1]]).to_string())
            }
        }
    }
}

/// robot_test.go, `TestRobotSDRefresh`.
#[test]
fn robot_servers_through_the_proxy_with_basic_auth() {
    let api = HttpFixture::start(robot_api(Arc::new(AtomicUsize::new(0))));
    let proxy = TlsProxy::start(api.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "robot",
        &format!(
            "{{role: robot, port: 9100, basic_auth: {{username: my-hetzner, password: my-password}}, {}}}",
            via_proxy(&proxy)
        ),
    );
    let (json, _) = check_sd(&config, "robot", &[]).unwrap();
    let got = meta_labels(&json);
    assert_eq!(
        got,
        [
            labels(&[
                ("__address__", "123.123.123.123:9100"),
                ("__meta_hetzner_role", "robot"),
                ("__meta_hetzner_server_id", "321"),
                ("__meta_hetzner_server_name", "server1"),
                ("__meta_hetzner_server_status", "ready"),
                ("__meta_hetzner_public_ipv4", "123.123.123.123"),
                (
                    "__meta_hetzner_public_ipv6_network",
                    "2a01:4f8:111:4221::/64"
                ),
                ("__meta_hetzner_datacenter", "nbg1-dc1"),
                ("__meta_hetzner_robot_datacenter", "nbg1-dc1"),
                ("__meta_hetzner_robot_product", "DS 3000"),
                ("__meta_hetzner_robot_cancelled", "false"),
            ]),
            labels(&[
                ("__address__", "123.123.123.124:9100"),
                ("__meta_hetzner_role", "robot"),
                ("__meta_hetzner_server_id", "421"),
                ("__meta_hetzner_server_name", "server2"),
                ("__meta_hetzner_server_status", "in process"),
                ("__meta_hetzner_public_ipv4", "123.123.123.124"),
                ("__meta_hetzner_datacenter", "fsn1-dc10"),
                ("__meta_hetzner_robot_datacenter", "fsn1-dc10"),
                ("__meta_hetzner_robot_product", "X5"),
                ("__meta_hetzner_robot_cancelled", "true"),
            ]),
        ]
    );
    assert_eq!(
        proxy.seen()[0],
        Seen {
            connect: "robot-ws.your-server.de:443".into(),
            sni: Some("robot-ws.your-server.de".into())
        }
    );
    assert_eq!(api.requests()[0].target, "/server");
}

/// robot_test.go, `TestRobotSDRefreshHandleError`: without credentials the API answers 401 and
/// the refresh fails with Prometheus' message.
#[test]
fn robot_without_credentials_fails_with_prometheus_message() {
    let api = HttpFixture::start(robot_api(Arc::new(AtomicUsize::new(0))));
    let proxy = TlsProxy::start(api.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "robot",
        &format!(
            "{{role: robot, refresh_interval: 1s, {}}}",
            via_proxy(&proxy)
        ),
    );
    // (never ready without a first state: do not wait the default 30 s for it)
    let (_process, port) = start_promsd(dir.path(), &config, &["--web.ready-timeout", "1s"]);
    // The provider's last error, as the status API shows it.
    wait_for("a failed robot refresh", || {
        get_ok(port, "/api/v1/status/sd").filter(|body| {
            body.contains(
                "non 2xx status '401' response during hetzner service discovery with role robot",
            )
        })
    });
    assert!(api
        .requests()
        .iter()
        .all(|r| r.header("authorization").is_none()));
}

/// An unchanged answer sends no update; a failing refresh (500, then 429) keeps the last good
/// targets; the next good answer replaces them.
#[test]
fn failed_refreshes_keep_the_last_good_targets() {
    let mode = Arc::new(AtomicUsize::new(0));
    let api = HttpFixture::start(robot_api(mode.clone()));
    let proxy = TlsProxy::start(api.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "robot",
        &format!(
            "{{role: robot, refresh_interval: 1s, basic_auth: {{username: my-hetzner, password: my-password}}, {}}}",
            via_proxy(&proxy)
        ),
    );
    let (_process, port) = start_promsd(dir.path(), &config, &[]);
    let count = |body: &str| {
        serde_json::from_str::<Value>(body)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["targets"].as_array().unwrap().len())
            .sum::<usize>()
    };
    wait_for("both robot servers", || {
        get_ok(port, "/api/v1/sd/robot").filter(|b| count(b) == 2)
    });
    // An unchanged answer sends no update to the engine.
    let received = || {
        get_ok(port, "/metrics")
            .unwrap()
            .lines()
            .find(|l| l.starts_with("prometheus_sd_received_updates_total{name=\"scrape\"}"))
            .map(|l| l.rsplit(' ').next().unwrap().to_owned())
            .unwrap()
    };
    let updates = received();
    let before = api.requests().len();
    wait_for("two unchanged refreshes", || {
        (api.requests().len() >= before + 2).then_some(())
    });
    assert_eq!(received(), updates);
    for failing in [1, 2] {
        mode.store(failing, Ordering::SeqCst);
        let before = api.requests().len();
        wait_for("two failed refreshes", || {
            (api.requests().len() >= before + 2).then_some(())
        });
        assert_eq!(count(&get_ok(port, "/api/v1/sd/robot").unwrap()), 2);
    }
    mode.store(3, Ordering::SeqCst);
    wait_for("the changed answer", || {
        get_ok(port, "/api/v1/sd/robot").filter(|b| count(b) == 1)
    });
}
