//! Vultr SD end to end: `promsd check service-discovery` against a fixture that plays
//! `https://api.vultr.com` (bearer API key checked, one instance per page although 100 are
//! asked for, `meta.links.next` cursors), reached through the intercepting proxy with
//! `proxy_url` + `tls_config.ca_file`. The answer is Prometheus' own mock answer
//! (`discovery/vultr/mock_test.go`), the expected labels its `vultr_test.go` table.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::support::check_sd;
use crate::support::http_fixture::{HttpFixture, Request, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};

const API_KEY: &str = "ABCBTDG35OTGH2UKCC3S6CNMDUPCN3ZWSGFQ";
const INSTANCES: &str = include_str!("testdata/vultr/instances.json");

/// The cursor of page `n` (from 0), as Vultr's opaque base64 cursors look.
fn cursor(n: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("next__{n}"))
}

/// The API: a wrong key is a 403 (as the mock); one instance per page.
fn api(req: &Request) -> Response {
    if req.header("authorization") != Some(&format!("Bearer {API_KEY}")) {
        return Response::json(403, r#"{"error":"Invalid API token.","status":403}"#);
    }
    if req.path() != "/v2/instances" {
        return Response::new(404);
    }
    let all: Value = serde_json::from_str(INSTANCES).unwrap();
    let instances = all["instances"].as_array().unwrap();
    let page = match req.param("cursor") {
        None => 0,
        Some(c) => match (0..instances.len()).find(|n| cursor(*n) == c) {
            Some(n) => n,
            None => return Response::json(400, r#"{"error":"invalid cursor","status":400}"#),
        },
    };
    let next = if page + 1 < instances.len() {
        cursor(page + 1)
    } else {
        String::new()
    };
    let prev = if page > 0 {
        cursor(page - 1)
    } else {
        String::new()
    };
    Response::json(
        200,
        json!({
            "instances": [instances[page].clone()],
            "meta": {"total": instances.len(), "links": {"next": next, "prev": prev}}
        })
        .to_string(),
    )
}

/// vultr_test.go, `TestVultrSDRefresh`, every page through the real host name.
#[test]
fn instances_page_by_page_through_the_proxy() {
    let fixture = HttpFixture::start(api);
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: vultr\n    vultr_sd_configs:\n      - authorization:\n          credentials: {API_KEY}\n        proxy_url: '{}'\n        tls_config:\n          ca_file: '{}'\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    let (json, _) = check_sd(&config, "vultr", &[]).unwrap();
    let got: Vec<BTreeMap<String, String>> = json
        .as_array()
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
        .collect();
    // promtool's output leaves the empty `main_ipv6` out.
    let common = |address: &str, id: &str, label: &str, ip: &str, internal: &str| {
        [
            ("__address__", address),
            ("__meta_vultr_instance_id", id),
            ("__meta_vultr_instance_label", label),
            ("__meta_vultr_instance_os", "Marketplace"),
            ("__meta_vultr_instance_os_id", "426"),
            ("__meta_vultr_instance_region", "ewr"),
            ("__meta_vultr_instance_plan", "vhf-2c-4gb"),
            ("__meta_vultr_instance_main_ip", ip),
            ("__meta_vultr_instance_internal_ip", internal),
            ("__meta_vultr_instance_hostname", label),
            ("__meta_vultr_instance_server_status", "ok"),
            ("__meta_vultr_instance_vcpu_count", "2"),
            ("__meta_vultr_instance_ram_mb", "4096"),
            ("__meta_vultr_instance_disk_gb", "128"),
            ("__meta_vultr_instance_allowed_bandwidth_gb", "3000"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<BTreeMap<_, _>>()
    };
    let mut first = common(
        "149.28.234.27:80",
        "dbdbd38c-9884-4c92-95fe-899e50dee717",
        "np-2-eae38a19b0f3",
        "149.28.234.27",
        "10.1.96.5",
    );
    first.insert("__meta_vultr_instance_features".into(), ",backups,".into());
    first.insert(
        "__meta_vultr_instance_tags".into(),
        ",tag1,tag2,tag3,".into(),
    );
    assert_eq!(
        got,
        [
            first,
            common(
                "45.63.1.222:80",
                "fccb117c-62f7-4b17-995d-a8e56dd30b33",
                "np-2-fd0714b5fe42",
                "45.63.1.222",
                "10.1.96.6",
            ),
            common(
                "149.28.237.151:80",
                "c4e58767-f61b-4c5e-9bce-43761cc04868",
                "np-2-d04e7829fa43",
                "149.28.237.151",
                "10.1.96.7",
            ),
        ]
    );
    let targets: Vec<String> = fixture
        .requests()
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(
        targets,
        [
            "/v2/instances?per_page=100".to_owned(),
            format!(
                "/v2/instances?cursor={}&per_page=100",
                cursor(1).replace('=', "%3D")
            ),
            format!(
                "/v2/instances?cursor={}&per_page=100",
                cursor(2).replace('=', "%3D")
            ),
        ]
    );
    assert!(fixture
        .requests()
        .iter()
        .all(|r| r.header("host") == Some("api.vultr.com")));
    assert!(proxy.seen().iter().all(|s| *s
        == Seen {
            connect: "api.vultr.com:443".into(),
            sni: Some("api.vultr.com".into())
        }));
}

/// A wrong API key is refused by the API (403): the refresh fails and the provider's last
/// error, shown by the status API, says so.
#[test]
fn a_wrong_api_key_fails_the_refresh() {
    let fixture = HttpFixture::start(api);
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:\n  - job_name: j\n    vultr_sd_configs:\n      - {{authorization: {{credentials: wrong}}, refresh_interval: 1s, proxy_url: '{}', tls_config: {{ca_file: '{}'}}}}\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    // (never ready without a first state: do not wait the default 30 s for it)
    let (_process, port) =
        crate::support::start_promsd(dir.path(), &path, &["--web.ready-timeout", "1s"]);
    crate::support::wait_for("the failed refresh", || {
        crate::support::get_ok(port, "/api/v1/status/sd").filter(|body| body.contains("GET https://api.vultr.com/v2/instances?per_page=100: server returned HTTP status 403 Forbidden"))
    });
    assert!(fixture
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer wrong")));
}
