//! DigitalOcean SD end to end: `promsd check service-discovery` against a fixture that plays
//! `https://api.digitalocean.com` (bearer token checked, droplets on two pages linked by
//! `links.pages`, database clusters until an empty page), reached through the intercepting
//! proxy with `proxy_url` + `tls_config.ca_file`. The answers are Prometheus' own mock answers
//! (`discovery/digitalocean/mock_test.go`), the expected labels its `digitalocean_test.go` /
//! `digitalocean_db_test.go` tables.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::check_sd;
use crate::support::http_fixture::{HttpFixture, Request, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};

const TOKEN: &str = "3c9a75a2-24fd-4508-b4f2-11f18aa97411";
const DROPLETS: [&str; 2] = [
    include_str!("testdata/digitalocean/droplets_page1.json"),
    include_str!("testdata/digitalocean/droplets_page2.json"),
];
const DATABASES: [&str; 2] = [
    include_str!("testdata/digitalocean/databases_page1.json"),
    include_str!("testdata/digitalocean/databases_page2.json"),
];
const NO_DATABASES: &str = include_str!("testdata/digitalocean/databases_empty.json");

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
        // promtool's output leaves empty labels out.
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The API as the mock plays it: a wrong token is a 403; pages by `page`.
fn api(req: &Request) -> Response {
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return Response::json(
            403,
            r#"{"id":"forbidden","message":"You do not have access for the attempted action."}"#,
        );
    }
    let page: usize = req.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let body = match req.path() {
        "/v2/droplets" => DROPLETS
            .get(page - 1)
            .copied()
            .unwrap_or(r#"{"droplets":[]}"#),
        "/v2/databases" => DATABASES.get(page - 1).copied().unwrap_or(NO_DATABASES),
        _ => return Response::new(404),
    };
    // The mock answers 202, with DigitalOcean's rate limit headers.
    Response::json(202, body)
        .header("ratelimit-limit", "1200")
        .header("ratelimit-remaining", "965")
}

fn config(dir: &std::path::Path, sd: &str, proxy: &TlsProxy) -> std::path::PathBuf {
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:\n  - job_name: do\n    digitalocean_sd_configs:\n      - {{{sd}, authorization: {{credentials: {TOKEN}}}, proxy_url: '{}', tls_config: {{ca_file: '{}'}}}}\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    path
}

fn assert_real_host(proxy: &TlsProxy, fixture: &HttpFixture) {
    assert!(proxy.seen().iter().all(|s| *s
        == Seen {
            connect: "api.digitalocean.com:443".into(),
            sni: Some("api.digitalocean.com".into())
        }));
    assert!(fixture
        .requests()
        .iter()
        .all(|r| r.header("host") == Some("api.digitalocean.com")));
}

/// digitalocean_test.go, `TestDigitalOceanSDRefresh`.
#[test]
fn droplets_on_two_pages_through_the_proxy() {
    let fixture = HttpFixture::start(api);
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let (json, _) = check_sd(&config(dir.path(), "port: 80", &proxy), "do", &[]).unwrap();
    assert_eq!(
        meta_labels(&json),
        [
            labels(&[
                ("__address__", "104.236.32.182:80"),
                ("__meta_digitalocean_droplet_id", "3164444"),
                ("__meta_digitalocean_droplet_name", "example.com"),
                ("__meta_digitalocean_image", "ubuntu-16-04-x64"),
                ("__meta_digitalocean_image_name", "14.04 x64"),
                ("__meta_digitalocean_private_ipv4", ""),
                ("__meta_digitalocean_public_ipv4", "104.236.32.182"),
                (
                    "__meta_digitalocean_public_ipv6",
                    "2604:A880:0800:0010:0000:0000:02DD:4001"
                ),
                ("__meta_digitalocean_region", "nyc3"),
                ("__meta_digitalocean_size", "s-1vcpu-1gb"),
                ("__meta_digitalocean_status", "active"),
                (
                    "__meta_digitalocean_vpc",
                    "f9b0769c-e118-42fb-a0c4-fed15ef69662"
                ),
                ("__meta_digitalocean_features", ",backups,ipv6,virtio,"),
            ]),
            labels(&[
                ("__address__", "104.131.186.241:80"),
                ("__meta_digitalocean_droplet_id", "3164494"),
                ("__meta_digitalocean_droplet_name", "prometheus"),
                ("__meta_digitalocean_image", "ubuntu-16-04-x64"),
                ("__meta_digitalocean_image_name", "14.04 x64"),
                ("__meta_digitalocean_private_ipv4", ""),
                ("__meta_digitalocean_public_ipv4", "104.131.186.241"),
                ("__meta_digitalocean_public_ipv6", ""),
                ("__meta_digitalocean_region", "nyc3"),
                ("__meta_digitalocean_size", "s-1vcpu-1gb"),
                ("__meta_digitalocean_status", "active"),
                (
                    "__meta_digitalocean_vpc",
                    "f9b0769c-e118-42fb-a0c4-fed15ef69662"
                ),
                ("__meta_digitalocean_tags", ",monitor,"),
                ("__meta_digitalocean_features", ",virtio,"),
            ]),
            labels(&[
                ("__address__", "167.172.111.118:80"),
                ("__meta_digitalocean_droplet_id", "175072239"),
                ("__meta_digitalocean_droplet_name", "prometheus-demo-old"),
                ("__meta_digitalocean_image", "ubuntu-18-04-x64"),
                ("__meta_digitalocean_image_name", "18.04.3 (LTS) x64"),
                ("__meta_digitalocean_private_ipv4", "10.135.64.211"),
                ("__meta_digitalocean_public_ipv4", "167.172.111.118"),
                ("__meta_digitalocean_public_ipv6", ""),
                ("__meta_digitalocean_region", "fra1"),
                ("__meta_digitalocean_size", "s-1vcpu-1gb"),
                ("__meta_digitalocean_status", "off"),
                (
                    "__meta_digitalocean_vpc",
                    "953d698c-dc84-11e8-80bc-3cfdfea9fba1"
                ),
                ("__meta_digitalocean_features", ",ipv6,private_networking,"),
            ]),
            labels(&[
                ("__address__", "138.65.56.69:80"),
                ("__meta_digitalocean_droplet_id", "176011507"),
                ("__meta_digitalocean_droplet_name", "prometheus-demo"),
                ("__meta_digitalocean_image", "ubuntu-18-04-x64"),
                ("__meta_digitalocean_image_name", "18.04.3 (LTS) x64"),
                ("__meta_digitalocean_private_ipv4", "10.135.64.212"),
                ("__meta_digitalocean_public_ipv4", "138.65.56.69"),
                ("__meta_digitalocean_public_ipv6", "2a03:b0c0:3:f0::cf2:4"),
                ("__meta_digitalocean_region", "fra1"),
                ("__meta_digitalocean_size", "s-1vcpu-1gb"),
                ("__meta_digitalocean_status", "active"),
                (
                    "__meta_digitalocean_vpc",
                    "953d698c-dc84-11e8-80bc-3cfdfea9fba1"
                ),
                ("__meta_digitalocean_features", ",ipv6,private_networking,"),
            ]),
        ]
    );
    let targets: Vec<String> = fixture
        .requests()
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(targets, ["/v2/droplets", "/v2/droplets?page=2"]);
    assert_real_host(&proxy, &fixture);
}

/// digitalocean_db_test.go, `TestDigitalOceanDBRefresh` and
/// `TestDigitalOceanDBRefreshPagination`: pages 1 and 2, then the empty page 3 ends it.
#[test]
fn database_clusters_until_an_empty_page() {
    let fixture = HttpFixture::start(api);
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let (json, _) = check_sd(
        &config(dir.path(), "role: databases, port: 9273", &proxy),
        "do",
        &[],
    )
    .unwrap();
    assert_eq!(
        meta_labels(&json),
        [
            labels(&[
                (
                    "__address__",
                    "do-fra1-pg-trading-001-do-user-XXXXX-0.f.db.ondigitalocean.com:9273",
                ),
                (
                    "__meta_digitalocean_db_id",
                    "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30"
                ),
                ("__meta_digitalocean_db_name", "do-fra1-pg-trading-001"),
                ("__meta_digitalocean_db_engine", "pg"),
                ("__meta_digitalocean_db_version", "16"),
                ("__meta_digitalocean_db_status", "online"),
                ("__meta_digitalocean_db_region", "fra1"),
                ("__meta_digitalocean_db_size", "db-s-1vcpu-2gb"),
                ("__meta_digitalocean_db_num_nodes", "1"),
                (
                    "__meta_digitalocean_db_host",
                    "do-fra1-pg-trading-001-do-user-XXXXX-0.f.db.ondigitalocean.com",
                ),
                ("__meta_digitalocean_db_tag_prod", "true"),
                ("__meta_digitalocean_db_tag_market", "true"),
            ]),
            labels(&[
                ("__address__", "private-db-host:9273"),
                (
                    "__meta_digitalocean_db_id",
                    "a0b1c2d3-e4f5-4677-8899-001122334455"
                ),
                ("__meta_digitalocean_db_name", "private-db"),
                ("__meta_digitalocean_db_engine", "mysql"),
                ("__meta_digitalocean_db_version", "8"),
                ("__meta_digitalocean_db_status", "online"),
                ("__meta_digitalocean_db_region", "nyc1"),
                ("__meta_digitalocean_db_size", "db-s-2vcpu-4gb"),
                ("__meta_digitalocean_db_num_nodes", "2"),
                ("__meta_digitalocean_db_host", "public-db-host"),
                ("__meta_digitalocean_db_private_host", "private-db-host"),
            ]),
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
            "/v2/databases?page=1&per_page=100",
            "/v2/databases?page=2&per_page=100",
            "/v2/databases?page=3&per_page=100",
        ]
    );
    assert_real_host(&proxy, &fixture);
}

/// A wrong token is refused by the API (403): the refresh fails and the provider's last
/// error, shown by the status API, says so.
#[test]
fn a_wrong_token_fails_the_refresh() {
    let fixture = HttpFixture::start(api);
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:\n  - job_name: j\n    digitalocean_sd_configs:\n      - {{authorization: {{credentials: wrong}}, refresh_interval: 1s, proxy_url: '{}', tls_config: {{ca_file: '{}'}}}}\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    // (never ready without a first state: do not wait the default 30 s for it)
    let (_process, port) =
        crate::support::start_promsd(dir.path(), &path, &["--web.ready-timeout", "1s"]);
    crate::support::wait_for("the failed refresh", || {
        crate::support::get_ok(port, "/api/v1/status/sd").filter(|body| body.contains("error while listing droplets page 0: GET https://api.digitalocean.com/v2/droplets: server returned HTTP status 403 Forbidden"))
    });
    assert!(fixture
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer wrong")));
}
