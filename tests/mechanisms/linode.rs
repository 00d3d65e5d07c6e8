//! Linode SD end to end: `promsd check service-discovery` and `promsd run` against a fixture
//! that plays `https://api.linode.com/v4` (bearer token checked, `X-Filter` region header
//! choosing the answers as Prometheus' mock does, lists served in pages smaller than the 500
//! asked for, account events), reached through the intercepting proxy with `proxy_url` +
//! `tls_config.ca_file`. The answers are Prometheus' own testdata
//! (`discovery/linode/testdata`), the expected labels its `linode_test.go` table.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::support::http_fixture::{HttpFixture, Request, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};
use crate::support::{check_sd, get_ok, start_promsd, wait_for};

const TOKEN: &str = "7b2c56dd51edd90952c1b94c472b94b176f20c5c777e376849edd8ad1c6c03bb";

fn testdata(dir: &str, path: &str) -> Option<String> {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mechanisms/testdata/linode")
        .join(dir)
        .join(format!("{}.json", path.trim_start_matches('/')));
    std::fs::read_to_string(file).ok()
}

/// Page `page` of a list answer, `per` items a page.
fn paginate(body: &str, page: usize, per: usize) -> String {
    let all: Value = serde_json::from_str(body).unwrap();
    let data = all["data"].as_array().unwrap();
    let pages = data.len().div_ceil(per).max(1);
    let chunk: Vec<Value> = data
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .cloned()
        .collect();
    json!({"data": chunk, "page": page, "pages": pages, "results": data.len()}).to_string()
}

/// The API as Prometheus' mock plays it, with pages of 1 instance and 4 addresses; `events`
/// picks the events answer (0: none, 1: one event, 2: 401).
fn api(events: Arc<AtomicUsize>) -> impl Fn(&Request) -> Response + Send + Sync {
    move |req| {
        if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return Response::json(401, r#"{"errors":[{"reason":"Invalid Token"}]}"#);
        }
        let region = req
            .header("x-filter")
            .and_then(|f| serde_json::from_str::<Value>(f).ok())
            .and_then(|f| f["region"].as_str().map(str::to_owned));
        let dir = region.unwrap_or_else(|| "no_region_filter".to_owned());
        let page: usize = req.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let per = match req.path() {
            "/v4/account/events" => {
                return match events.load(Ordering::SeqCst) {
                    0 => Response::json(200, r#"{"data":[],"page":1,"pages":1,"results":0}"#),
                    1 => Response::json(
                        200,
                        r#"{"data":[{"id":1,"action":"linode_boot","created":"2021-05-12T04:23:44"}],"page":1,"pages":1,"results":1}"#,
                    ),
                    _ => Response::json(401, r#"{"errors":[{"reason":"Unauthorized"}]}"#),
                };
            }
            "/v4/linode/instances" => 1,
            _ => 4,
        };
        match testdata(&dir, req.path()) {
            Some(body) => Response::json(200, paginate(&body, page, per)),
            None => Response::new(500),
        }
    }
}

fn config(dir: &std::path::Path, extra: &str, proxy: &TlsProxy) -> std::path::PathBuf {
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:\n  - job_name: linode\n    linode_sd_configs:\n      - {{authorization: {{credentials: {TOKEN}}}, proxy_url: '{}', tls_config: {{ca_file: '{}'}}{extra}}}\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    path
}

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

/// linode_test.go's expectations for `no_region`, by instance id, without the empty labels
/// promtool's output leaves out.
fn expected(id: &str) -> BTreeMap<String, String> {
    let base = |address: &str,
                label: &str,
                image: &str,
                public: &str,
                v6: &str,
                rdns: &str,
                region: &str,
                kind: &str,
                disk: &str,
                mem: &str,
                vcpus: &str,
                transfer: &str| {
        let mut m: BTreeMap<String, String> = [
            ("__address__", address),
            ("__meta_linode_instance_id", id),
            ("__meta_linode_instance_label", label),
            ("__meta_linode_image", image),
            ("__meta_linode_public_ipv4", public),
            ("__meta_linode_public_ipv6", v6),
            ("__meta_linode_public_ipv4_rdns", rdns),
            ("__meta_linode_region", region),
            ("__meta_linode_type", kind),
            ("__meta_linode_status", "running"),
            ("__meta_linode_tags", ",monitoring,"),
            ("__meta_linode_gpus", "0"),
            ("__meta_linode_hypervisor", "kvm"),
            ("__meta_linode_backups", "disabled"),
            ("__meta_linode_specs_disk_bytes", disk),
            ("__meta_linode_specs_memory_bytes", mem),
            ("__meta_linode_specs_vcpus", vcpus),
            ("__meta_linode_specs_transfer_bytes", transfer),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        m.retain(|_, v| !v.is_empty());
        m
    };
    let mut m = match id {
        "26838044" => base(
            "45.33.82.151:80",
            "prometheus-linode-sd-exporter-1",
            "linode/arch",
            "45.33.82.151",
            "2600:3c03::f03c:92ff:fe1a:1382",
            "li1028-151.members.linode.com",
            "us-east",
            "g6-standard-2",
            "85899345920",
            "4294967296",
            "2",
            "4194304000",
        ),
        "26848419" => base(
            "139.162.196.43:80",
            "prometheus-linode-sd-exporter-2",
            "linode/debian10",
            "139.162.196.43",
            "2a01:7e00::f03c:92ff:fe1a:9976",
            "li1359-43.members.linode.com",
            "eu-west",
            "g6-standard-2",
            "85899345920",
            "4294967296",
            "2",
            "4194304000",
        ),
        "26837938" => base(
            "192.53.120.25:80",
            "prometheus-linode-sd-exporter-3",
            "linode/ubuntu20.04",
            "192.53.120.25",
            "2600:3c04::f03c:92ff:fe1a:fb68",
            "li2216-25.members.linode.com",
            "ca-central",
            "g6-standard-1",
            "53687091200",
            "2147483648",
            "1",
            "2097152000",
        ),
        _ => base(
            "66.228.47.103:80",
            "prometheus-linode-sd-exporter-4",
            "linode/ubuntu20.04",
            "66.228.47.103",
            "2600:3c03::f03c:92ff:fe1a:fb4c",
            "li328-103.members.linode.com",
            "us-east",
            "g6-nanode-1",
            "26843545600",
            "1073741824",
            "1",
            "1048576000",
        ),
    };
    let mut add = |k: &str, v: &str| {
        m.insert(k.to_owned(), v.to_owned());
    };
    match id {
        "26838044" => {
            add("__meta_linode_private_ipv4", "192.168.170.51");
            add("__meta_linode_extra_ips", ",96.126.108.16,192.168.201.25,");
        }
        "26837938" => add("__meta_linode_ipv6_ranges", ",2600:3c04:e001:456::/64,"),
        "26837992" => {
            add("__meta_linode_private_ipv4", "192.168.148.94");
            add("__meta_linode_extra_ips", ",172.104.18.104,");
            add("__meta_linode_ipv6_ranges", ",2600:3c03:e000:123::/64,");
        }
        _ => {}
    }
    m
}

/// linode_test.go, `TestLinodeSDRefresh` case `no_region`, every list on several pages.
#[test]
fn instances_without_region_through_the_proxy_on_several_pages() {
    let fixture = HttpFixture::start(api(Arc::new(AtomicUsize::new(0))));
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let (json, _) = check_sd(&config(dir.path(), "", &proxy), "linode", &[]).unwrap();
    let want: Vec<_> = ["26838044", "26848419", "26837938", "26837992"]
        .into_iter()
        .map(expected)
        .collect();
    assert_eq!(meta_labels(&json), want);
    let requests = fixture.requests();
    let targets: Vec<&str> = requests.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "/v4/linode/instances?page=1&page_size=500",
            "/v4/linode/instances?page=2&page_size=500",
            "/v4/linode/instances?page=3&page_size=500",
            "/v4/linode/instances?page=4&page_size=500",
            "/v4/networking/ips?page=1&page_size=500",
            "/v4/networking/ips?page=2&page_size=500",
            "/v4/networking/ips?page=3&page_size=500",
            "/v4/networking/ips?page=4&page_size=500",
            "/v4/networking/ipv6/ranges?page=1&page_size=500",
        ]
    );
    assert!(requests
        .iter()
        .all(|r| r.header("x-filter").is_none() && r.header("host") == Some("api.linode.com")));
    assert!(proxy.seen().iter().all(|s| *s
        == Seen {
            connect: "api.linode.com:443".into(),
            sni: Some("api.linode.com".into())
        }));
}

/// linode_test.go, `TestLinodeSDRefresh` cases `us-east` and `us-central` (`ca-central`):
/// the region travels in the `X-Filter` header of every request.
#[test]
fn a_region_is_sent_as_the_x_filter_header() {
    for (region, ids) in [
        ("us-east", vec!["26838044", "26837992"]),
        ("ca-central", vec!["26837938"]),
    ] {
        let fixture = HttpFixture::start(api(Arc::new(AtomicUsize::new(0))));
        let proxy = TlsProxy::start(fixture.addr);
        let dir = tempfile::tempdir().unwrap();
        let extra = format!(", region: {region}");
        let (json, _) = check_sd(&config(dir.path(), &extra, &proxy), "linode", &[]).unwrap();
        let want: Vec<_> = ids.into_iter().map(expected).collect();
        assert_eq!(meta_labels(&json), want, "{region}");
        let filter = format!("{{\"region\": \"{region}\"}}");
        assert!(fixture
            .requests()
            .iter()
            .all(|r| r.header("x-filter") == Some(filter.as_str())));
    }
}

/// Between full refreshes Prometheus polls the account's events: none, no full refresh; an
/// event, a full refresh; a 401 (token without `events:read_only`), full refreshes from then
/// on without events.
#[test]
fn events_decide_between_full_refreshes() {
    let events = Arc::new(AtomicUsize::new(0));
    let fixture = HttpFixture::start(api(events.clone()));
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), ", refresh_interval: 1s", &proxy);
    let (_process, port) = start_promsd(dir.path(), &config, &[]);
    wait_for("the linode targets", || {
        get_ok(port, "/api/v1/sd/linode").filter(|b| b.contains("45.33.82.151:80"))
    });
    let count = |path: &str| {
        fixture
            .requests()
            .iter()
            .filter(|r| r.path() == path)
            .count()
    };
    // Quiet: events are polled, instances are not asked again.
    wait_for("two event polls", || {
        (count("/v4/account/events") >= 2).then_some(())
    });
    assert_eq!(count("/v4/linode/instances"), 4);
    let poll = fixture
        .requests()
        .into_iter()
        .find(|r| r.path() == "/v4/account/events")
        .unwrap();
    assert_eq!(poll.target, "/v4/account/events?page=1&page_size=25");
    let filter: Value = serde_json::from_str(poll.header("x-filter").unwrap()).unwrap();
    let since = filter["created"]["+gte"].as_str().unwrap();
    assert_eq!(since.len(), "2006-01-02T15:04:05".len(), "{since}");
    // An event: a full refresh.
    events.store(1, Ordering::SeqCst);
    wait_for("a full refresh", || {
        (count("/v4/linode/instances") >= 8).then_some(())
    });
    // 401 on events: polling stops, every refresh is full.
    events.store(2, Ordering::SeqCst);
    let polls = count("/v4/account/events");
    let fulls = count("/v4/linode/instances");
    wait_for("two more full refreshes", || {
        (count("/v4/linode/instances") >= fulls + 12).then_some(())
    });
    assert!(count("/v4/account/events") <= polls + 2);
}

/// A wrong token is refused by the API (401): the refresh fails and the provider's last
/// error, shown by the status API, says so.
#[test]
fn a_wrong_token_fails_the_refresh() {
    let fixture = HttpFixture::start(api(Arc::new(AtomicUsize::new(0))));
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:\n  - job_name: j\n    linode_sd_configs:\n      - {{authorization: {{credentials: wrong}}, refresh_interval: 1s, proxy_url: '{}', tls_config: {{ca_file: '{}'}}}}\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    // (never ready without a first state: do not wait the default 30 s for it)
    let (_process, port) =
        crate::support::start_promsd(dir.path(), &path, &["--web.ready-timeout", "1s"]);
    crate::support::wait_for("the failed refresh", || {
        crate::support::get_ok(port, "/api/v1/status/sd").filter(|body| body.contains("GET https://api.linode.com/v4/linode/instances?page=1&page_size=500: server returned HTTP status 401 Unauthorized"))
    });
    assert!(fixture
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer wrong")));
}

/// linodego honours `LINODE_URL` (and `LINODE_API_VERSION`) from the environment, so
/// Prometheus does too: the API is then asked there, without a proxy.
#[test]
fn linode_url_from_the_environment_is_honoured() {
    let fixture = HttpFixture::start(api(Arc::new(AtomicUsize::new(0))));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:\n  - job_name: linode\n    linode_sd_configs:\n      - authorization: {{credentials: {TOKEN}}}\n        region: ca-central\n"
        ),
    )
    .unwrap();
    let (json, _) = check_sd(&path, "linode", &[("LINODE_URL", &fixture.url())]).unwrap();
    assert_eq!(meta_labels(&json), [expected("26837938")]);
    assert_eq!(
        fixture.requests()[0].target,
        "/v4/linode/instances?page=1&page_size=500"
    );
}
