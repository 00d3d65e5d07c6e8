//! IONOS Cloud SD end to end: the fixed host `https://api.ionos.com` reached through the
//! TLS-intercepting proxy (`proxy_url` + `tls_config.ca_file`), against a fixture Cloud API v6
//! that requires the configured credentials, checks the SDK's query, serves Prometheus'
//! `discovery/ionos/testdata/servers.json` over two pages (`_links.next`) and can fail.
//! Expected labels: the table of `server_test.go`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::http_fixture::{HttpFixture, Request, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};
use crate::support::{check_sd, get_ok, start_promsd, wait_for};

const DC: &str = "8feda53f-15f0-447f-badf-ebe32dad2fc0";
const SERVERS_ID: &str = "8feda53f-15f0-447f-badf-ebe32dad2fc0/servers";

type Labels = BTreeMap<String, String>;

struct State {
    /// The `Authorization` header the API accepts.
    authorization: String,
    items: Vec<Value>,
    failing: Option<u16>,
}

fn start(authorization: &str) -> (HttpFixture, Arc<Mutex<State>>) {
    let servers: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/mechanisms/ionos/servers.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let state = Arc::new(Mutex::new(State {
        authorization: authorization.to_owned(),
        items: servers["items"].as_array().unwrap().clone(),
        failing: None,
    }));
    let s = state.clone();
    let fixture = HttpFixture::start(move |req| handle(&s.lock().unwrap(), req));
    (fixture, state)
}

fn handle(s: &State, req: &Request) -> Response {
    if let Some(status) = s.failing {
        return Response::json(
            status,
            r#"{"httpStatus": 429, "messages": [{"errorCode": "429", "message": "slow down"}]}"#,
        );
    }
    if req.header("authorization") != Some(s.authorization.as_str()) {
        return Response::json(
            401,
            r#"{"httpStatus": 401, "messages": [{"errorCode": "315", "message": "Unauthorized"}]}"#,
        );
    }
    if req.path() != format!("/cloudapi/v6/datacenters/{DC}/servers") {
        return Response::json(404, r#"{"httpStatus": 404}"#);
    }
    if req.param("depth").as_deref() != Some("3") || req.param("limit").as_deref() != Some("1000") {
        return Response::json(422, r#"{"httpStatus": 422}"#);
    }
    // Two servers a page; `_links.next` while more remain.
    let offset: usize = req.param("offset").map_or(0, |o| o.parse().unwrap());
    let end = (offset + 2).min(s.items.len());
    let mut links = serde_json::Map::new();
    links.insert(
        "self".into(),
        json!(format!("https://api.ionos.com{}", req.target)),
    );
    if end < s.items.len() {
        links.insert(
            "next".into(),
            json!(format!(
                "https://api.ionos.com/cloudapi/v6/datacenters/{DC}/servers?depth=3&offset={end}&limit=1000&pretty=true"
            )),
        );
    }
    let body = json!({
        "id": SERVERS_ID,
        "type": "collection",
        "href": format!("https://api.ionos.com/cloudapi/v6/datacenters/{DC}/servers"),
        "items": s.items[offset.min(end)..end],
        "offset": offset,
        "limit": 1000,
        "_links": links,
    });
    Response::json(200, body.to_string())
}

fn write_config(dir: &std::path::Path, proxy: &TlsProxy, extra: &str) -> std::path::PathBuf {
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:
  - job_name: ionos
    ionos_sd_configs:
      - datacenter_id: {DC}
        proxy_url: {}
        tls_config:
          ca_file: {}
{extra}",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    path
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The rows of server_test.go, TestIONOSServerRefresh.
fn server_table() -> Vec<Labels> {
    vec![
        labels(&[
            ("__address__", "85.215.243.177:80"),
            ("__meta_ionos_server_availability_zone", "ZONE_2"),
            (
                "__meta_ionos_server_boot_cdrom_id",
                "0e4d57f9-cd78-11e9-b88c-525400f64d8d",
            ),
            ("__meta_ionos_server_cpu_family", "INTEL_SKYLAKE"),
            (
                "__meta_ionos_server_id",
                "b501942c-4e08-43e6-8ec1-00e59c64e0e4",
            ),
            (
                "__meta_ionos_server_ip",
                ",85.215.243.177,185.56.150.9,85.215.238.118,",
            ),
            ("__meta_ionos_server_nic_ip_metrics", ",85.215.243.177,"),
            (
                "__meta_ionos_server_nic_ip_unnamed",
                ",185.56.150.9,85.215.238.118,",
            ),
            ("__meta_ionos_server_lifecycle", "AVAILABLE"),
            ("__meta_ionos_server_name", "prometheus-2"),
            ("__meta_ionos_server_servers_id", SERVERS_ID),
            ("__meta_ionos_server_state", "RUNNING"),
            ("__meta_ionos_server_type", "ENTERPRISE"),
        ]),
        labels(&[
            ("__address__", "85.215.248.84:80"),
            ("__meta_ionos_server_availability_zone", "ZONE_1"),
            (
                "__meta_ionos_server_boot_cdrom_id",
                "0e4d57f9-cd78-11e9-b88c-525400f64d8d",
            ),
            ("__meta_ionos_server_cpu_family", "INTEL_SKYLAKE"),
            (
                "__meta_ionos_server_id",
                "523415e6-ff8c-4dc0-86d3-09c256039b30",
            ),
            ("__meta_ionos_server_ip", ",85.215.248.84,"),
            ("__meta_ionos_server_nic_ip_unnamed", ",85.215.248.84,"),
            ("__meta_ionos_server_lifecycle", "AVAILABLE"),
            ("__meta_ionos_server_name", "prometheus-1"),
            ("__meta_ionos_server_servers_id", SERVERS_ID),
            ("__meta_ionos_server_state", "RUNNING"),
            ("__meta_ionos_server_type", "ENTERPRISE"),
        ]),
        labels(&[
            ("__address__", "10.0.0.99:80"),
            ("__meta_ionos_server_ip", ",10.0.0.99,"),
            ("__meta_ionos_server_nic_ip_unnamed", ",10.0.0.99,"),
            ("__meta_ionos_server_servers_id", SERVERS_ID),
        ]),
    ]
}

fn discovered(json: &Value, stderr: &str) -> Vec<Labels> {
    json.as_array()
        .unwrap_or_else(|| panic!("{json} {stderr}"))
        .iter()
        .map(|e| {
            serde_json::from_value::<Labels>(e["discoveredLabels"].clone())
                .unwrap()
                .into_iter()
                .filter(|(n, _)| n == "__address__" || n.starts_with("__meta_ionos_"))
                .collect()
        })
        .collect()
}

/// server_test.go, TestIONOSServerRefresh: a bearer token (`authorization`), two pages.
#[test]
fn servers_through_the_proxy_with_a_token() {
    let (api, _) = start("Bearer jwt");
    let proxy = TlsProxy::start(api.addr);
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &proxy,
        "        authorization:\n          credentials: jwt\n",
    );
    let (json, stderr) = check_sd(&path, "ionos", &[]).unwrap();
    assert_eq!(discovered(&json, &stderr), server_table());
    for s in proxy.seen() {
        assert_eq!(
            s,
            Seen {
                connect: "api.ionos.com:443".into(),
                sni: Some("api.ionos.com".into())
            }
        );
    }
    let targets: Vec<String> = api.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            format!(
                "/cloudapi/v6/datacenters/{DC}/servers?depth=3&limit=1000&offset=0&pretty=true"
            ),
            format!(
                "/cloudapi/v6/datacenters/{DC}/servers?depth=3&offset=2&limit=1000&pretty=true"
            ),
        ]
    );
    assert_eq!(api.requests()[0].header("accept"), Some("application/json"));
}

/// A user and password (`basic_auth`, the password from a file).
#[test]
fn servers_with_basic_auth() {
    let (api, _) = start("Basic dXNlckBleGFtcGxlLmNvbTpzM2NyZXQ=");
    let proxy = TlsProxy::start(api.addr);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("password"), "s3cret\n").unwrap();
    let path = write_config(
        dir.path(),
        &proxy,
        "        basic_auth:\n          username: user@example.com\n          password_file: password\n        port: 9100\n",
    );
    let (json, stderr) = check_sd(&path, "ionos", &[]).unwrap();
    let got = discovered(&json, &stderr);
    let addresses: Vec<&str> = got.iter().map(|l| l["__address__"].as_str()).collect();
    assert_eq!(
        addresses,
        [
            "85.215.243.177:9100",
            "85.215.248.84:9100",
            "10.0.0.99:9100"
        ]
    );
}

/// `promsd run`: while the API throttles (429) or fails, the last good targets stay; once it
/// answers again, changes show.
#[test]
fn throttling_keeps_the_last_good_targets() {
    let (api, state) = start("Bearer jwt");
    let proxy = TlsProxy::start(api.addr);
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &proxy,
        "        authorization:\n          credentials: jwt\n        refresh_interval: 1s\n",
    );
    let (_promsd, port) = start_promsd(dir.path(), &path, &[]);
    let addresses = |want: usize| {
        get_ok(port, "/api/v1/sd/ionos").and_then(|body| {
            let groups: Vec<Value> = serde_json::from_str(&body).ok()?;
            let mut all: Vec<String> = groups
                .iter()
                .flat_map(|g| g["targets"].as_array().cloned().unwrap_or_default())
                .map(|t| t.as_str().unwrap().to_owned())
                .collect();
            all.sort();
            (all.len() == want).then_some(all)
        })
    };
    let first = wait_for("three servers", || addresses(3));
    for status in [429, 503] {
        state.lock().unwrap().failing = Some(status);
        let before = api.requests().len();
        wait_for("failing refreshes", || {
            (api.requests().len() >= before + 2).then_some(())
        });
        assert_eq!(addresses(3), Some(first.clone()), "last good state kept");
    }
    {
        let mut s = state.lock().unwrap();
        s.items.truncate(2);
        s.failing = None;
    }
    let last = wait_for("one server", || addresses(1));
    assert_eq!(last, ["85.215.243.177:80"]);
}
