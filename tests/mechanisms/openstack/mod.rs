//! OpenStack SD end to end: `promsd check service-discovery` and `promsd run` against a fixture
//! Keystone + Nova + Neutron + Octavia that serves the answers of Prometheus'
//! `discovery/openstack/mock_test.go` (the JSON files beside this one), issues tokens only for
//! the right credentials, requires a live token on every call, paginates with `*_links`, and
//! can fail. Expected labels: the tables of `hypervisor_test.go`, `instance_test.go` and
//! `loadbalancer_test.go`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::http_fixture::{HttpFixture, Request, Response};
use crate::support::tls_proxy::{self, proxy_ca_file, TlsProxy};
use crate::support::{check_sd, get_ok, start_promsd, wait_for};

/// A target's labels.
type Labels = BTreeMap<String, String>;

/// The discovered labels of each target of `promsd check service-discovery`, only those
/// starting with one of `prefixes`.
fn check_service_discovery(config: &std::path::Path, job: &str, prefixes: &[&str]) -> Vec<Labels> {
    let (json, stderr) = check_sd(config, job, &[]).unwrap();
    json.as_array()
        .unwrap_or_else(|| panic!("{json} {stderr}"))
        .iter()
        .map(|e| {
            serde_json::from_value::<Labels>(e["discoveredLabels"].clone())
                .unwrap()
                .into_iter()
                .filter(|(n, _)| prefixes.iter().any(|p| n.starts_with(p)))
                .collect()
        })
        .collect()
}

/// Writes `yaml` as `prometheus.yml` in a new directory.
fn config_dir(yaml: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(&path, yaml).unwrap();
    (dir, path)
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::json(status, body.to_string())
}

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mechanisms/openstack/");

fn data(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DATA}{file}")).unwrap()).unwrap()
}

fn data_at(file: &str, pairs: &[(&str, &str)]) -> Value {
    let mut text = std::fs::read_to_string(format!("{DATA}{file}")).unwrap();
    for (k, v) in pairs {
        text = text.replace(k, v);
    }
    serde_json::from_str(&text).unwrap()
}

/// A request the cloud saw: method, path, query.
type Seen = (String, String, Vec<(String, String)>);

/// What the fixture cloud holds and has seen.
struct State {
    /// The body a token request must have.
    expected_auth: Value,
    tokens: Vec<String>,
    /// Tokens the cloud no longer accepts.
    expired: Vec<String>,
    /// Expire the next token presented to a service (once).
    expire_next: bool,
    /// Items per page.
    page_size: usize,
    /// Answer every request with this status while set.
    failing: Option<u16>,
    hypervisors: Vec<Value>,
    /// The URL clients reach the cloud at, when not the fixture's own.
    public_base: Option<String>,
    seen: Vec<Seen>,
}

struct Cloud {
    server: HttpFixture,
    state: Arc<Mutex<State>>,
}

impl Cloud {
    fn start(expected_auth: Value, page_size: usize) -> Cloud {
        let state = Arc::new(Mutex::new(State {
            expected_auth,
            tokens: Vec::new(),
            expired: Vec::new(),
            expire_next: false,
            page_size,
            failing: None,
            hypervisors: data("hypervisors.json")["hypervisors"]
                .as_array()
                .unwrap()
                .clone(),
            public_base: None,
            seen: Vec::new(),
        }));
        let port = Arc::new(Mutex::new(0u16));
        let handler_state = state.clone();
        let handler_port = port.clone();
        let server = HttpFixture::start(move |req| {
            let port = *handler_port.lock().unwrap();
            handle(&handler_state, port, req)
        });
        *port.lock().unwrap() = server.addr.port();
        Cloud { server, state }
    }

    fn url(&self) -> String {
        self.server.url()
    }

    fn seen(&self, method: &str, path: &str) -> Vec<Vec<(String, String)>> {
        self.state
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|(m, p, _)| m == method && p == path)
            .map(|(_, _, q)| q.clone())
            .collect()
    }
}

fn handle(state: &Mutex<State>, port: u16, req: &Request) -> Response {
    let mut s = state.lock().unwrap();
    let base = s
        .public_base
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{port}/"));
    s.seen
        .push((req.method.clone(), req.path().to_owned(), req.query()));
    if let Some(status) = s.failing {
        return json_response(status, &json!({"error": "failing on purpose"}));
    }
    match (req.method.as_str(), req.path()) {
        ("GET", "/") => {
            // Keystone answers its version document with 300 Multiple Choices.
            let doc = data_at(
                "versions.json",
                &[
                    ("{v3}", &format!("{base}v3/")),
                    ("{v2}", &format!("{base}v2.0/")),
                ],
            );
            json_response(300, &doc)
        }
        ("POST", "/v3/auth/tokens") => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            if body != s.expected_auth {
                return json_response(401, &json!({"error": {"message": "bad credentials"}}));
            }
            let token = format!("token-{}", s.tokens.len() + 1);
            s.tokens.push(token.clone());
            let answer = data_at("token.json", &[("{endpoint}", &base)]);
            json_response(201, &answer).header("X-Subject-Token", &token)
        }
        (method, path) => {
            let token = req.header("x-auth-token").unwrap_or("").to_owned();
            if s.expire_next && s.tokens.contains(&token) {
                s.expire_next = false;
                s.expired.push(token.clone());
            }
            if !s.tokens.contains(&token) || s.expired.contains(&token) {
                return json_response(401, &json!({"error": {"message": "invalid token"}}));
            }
            if method != "GET" {
                return json_response(405, &json!({}));
            }
            let (key, items) = match path {
                "/os-hypervisors/detail" => ("hypervisors", Value::Array(s.hypervisors.clone())),
                "/servers/detail" => ("servers", data("servers.json")["servers"].clone()),
                "/v2.0/ports" => ("ports", data("ports.json")["ports"].clone()),
                "/v2.0/floatingips" => (
                    "floatingips",
                    data("floatingips.json")["floatingips"].clone(),
                ),
                "/v2.0/lbaas/loadbalancers" => (
                    "loadbalancers",
                    data("loadbalancers.json")["loadbalancers"].clone(),
                ),
                "/v2.0/lbaas/listeners" => {
                    ("listeners", data("listeners.json")["listeners"].clone())
                }
                _ => return json_response(404, &json!({"error": "not found"})),
            };
            page(req, &base, key, items.as_array().unwrap(), s.page_size)
        }
    }
}

/// One page of a list, `marker` being the offset, with a `next` link while items remain.
fn page(req: &Request, base: &str, key: &str, items: &[Value], size: usize) -> Response {
    let start: usize = req.param("marker").map_or(0, |m| m.parse().unwrap());
    let end = (start + size).min(items.len());
    let mut links = Vec::new();
    if end < items.len() {
        let mut query: Vec<(String, String)> = req
            .query()
            .into_iter()
            .filter(|(k, _)| k != "marker")
            .collect();
        query.push(("marker".into(), end.to_string()));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        links.push(json!({"rel": "next", "href": format!("{}{}?{query}", base.trim_end_matches('/'), req.path())}));
    }
    let mut body = serde_json::Map::new();
    body.insert(
        key.into(),
        Value::Array(items[start.min(end)..end].to_vec()),
    );
    body.insert(format!("{key}_links"), Value::Array(links));
    json_response(200, &Value::Object(body))
}

/// The credentials of the upstream tests' config, as gophercloud sends them.
fn password_auth() -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "test", "password": "test", "domain": {"name": "12345"}}}}}})
}

fn config(endpoint: &str, role: &str, extra: &str) -> String {
    format!(
        "scrape_configs:
  - job_name: openstack
    openstack_sd_configs:
      - identity_endpoint: {endpoint}
        username: test
        password: test
        domain_name: \"12345\"
        region: RegionOne
        role: {role}
        port: 0
{extra}"
    )
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const PREFIXES: &[&str] = &["__address__", "__meta_openstack_"];

/// hypervisor_test.go, TestOpenstackSDHypervisorRefresh: a versionless identity endpoint
/// (version document, then v3 tokens), hypervisors over two pages.
#[test]
fn hypervisors_through_keystone_and_nova() {
    let cloud = Cloud::start(password_auth(), 1);
    let (_dir, path) = config_dir(&config(&format!("{}/", cloud.url()), "hypervisor", ""));
    let got = check_service_discovery(&path, "openstack", PREFIXES);
    let want = vec![
        labels(&[
            ("__address__", "172.16.70.14:0"),
            ("__meta_openstack_hypervisor_hostname", "nc14.cloud.com"),
            ("__meta_openstack_hypervisor_type", "QEMU"),
            ("__meta_openstack_hypervisor_host_ip", "172.16.70.14"),
            ("__meta_openstack_hypervisor_state", "up"),
            ("__meta_openstack_hypervisor_status", "enabled"),
            ("__meta_openstack_hypervisor_id", "1"),
        ]),
        labels(&[
            ("__address__", "172.16.70.13:0"),
            ("__meta_openstack_hypervisor_hostname", "cc13.cloud.com"),
            ("__meta_openstack_hypervisor_type", "QEMU"),
            ("__meta_openstack_hypervisor_host_ip", "172.16.70.13"),
            ("__meta_openstack_hypervisor_state", "up"),
            ("__meta_openstack_hypervisor_status", "enabled"),
            ("__meta_openstack_hypervisor_id", "721"),
        ]),
    ];
    assert_eq!(got, want);
    assert_eq!(
        cloud.seen("GET", "/").len(),
        1,
        "version document read once"
    );
    assert_eq!(cloud.seen("POST", "/v3/auth/tokens").len(), 1);
    let pages = cloud.seen("GET", "/os-hypervisors/detail");
    assert_eq!(pages.len(), 2, "two pages: {pages:?}");
    assert_eq!(pages[1], vec![("marker".to_owned(), "1".to_owned())]);
}

/// instance_test.go, TestOpenstackSDInstanceRefresh: ports and floating IPs from Neutron,
/// servers of all tenants from Nova over three pages; the token expires mid-refresh and is
/// renewed.
#[test]
fn instances_with_floating_ips_and_a_renewed_token() {
    let cloud = Cloud::start(password_auth(), 2);
    cloud.state.lock().unwrap().expire_next = true;
    let (_dir, path) = config_dir(&config(
        &format!("{}/", cloud.url()),
        "instance",
        "        all_tenants: true\n",
    ));
    let got = check_service_discovery(&path, "openstack", PREFIXES);
    let want: Vec<Labels> = instance_table();
    assert_eq!(got, want);
    assert_eq!(
        cloud.seen("POST", "/v3/auth/tokens").len(),
        2,
        "a 401 authenticates again"
    );
    let pages = cloud.seen("GET", "/servers/detail");
    assert_eq!(pages.len(), 3, "five servers, two a page: {pages:?}");
    for query in &pages {
        assert!(query.contains(&("all_tenants".to_owned(), "true".to_owned())));
    }
    assert!(cloud.seen("GET", "/v2.0/ports").len() >= 2);
    assert!(cloud.seen("GET", "/v2.0/floatingips").len() >= 4);
}

fn instance_table() -> Vec<Labels> {
    let row = |pairs: &[(&str, &str)], project: &str| {
        let mut l = labels(pairs);
        l.insert("__meta_openstack_instance_status".into(), "ACTIVE".into());
        l.insert("__meta_openstack_address_pool".into(), "private".into());
        l.insert("__meta_openstack_project_id".into(), project.into());
        l.insert(
            "__meta_openstack_user_id".into(),
            "9349aff8be7545ac9d2f1d00999a23cd".into(),
        );
        l
    };
    let p1 = "fcad67a6189847c4aecfa3c81a05783b";
    let p2 = "b78fef2305934dbbbeb9a10b4c326f7a";
    vec![
        row(
            &[
                ("__address__", "10.0.0.32:0"),
                ("__meta_openstack_instance_flavor", "1"),
                (
                    "__meta_openstack_instance_id",
                    "ef079b0c-e610-4dfb-b1aa-b49f07ac48e5",
                ),
                (
                    "__meta_openstack_instance_image",
                    "f90f6034-2570-4974-8351-6b49732ef2eb",
                ),
                ("__meta_openstack_instance_name", "herp"),
                ("__meta_openstack_private_ip", "10.0.0.32"),
                ("__meta_openstack_public_ip", "10.10.10.2"),
            ],
            p1,
        ),
        row(
            &[
                ("__address__", "10.0.0.31:0"),
                ("__meta_openstack_instance_flavor", "m1.medium"),
                (
                    "__meta_openstack_instance_id",
                    "9e5476bd-a4ec-4653-93d6-72c93aa682ba",
                ),
                (
                    "__meta_openstack_instance_image",
                    "f90f6034-2570-4974-8351-6b49732ef2eb",
                ),
                ("__meta_openstack_instance_name", "derp"),
                ("__meta_openstack_private_ip", "10.0.0.31"),
            ],
            p1,
        ),
        row(
            &[
                ("__address__", "10.0.0.33:0"),
                ("__meta_openstack_instance_flavor", "m1.small"),
                (
                    "__meta_openstack_instance_id",
                    "9e5476bd-a4ec-4653-93d6-72c93aa682bb",
                ),
                ("__meta_openstack_instance_name", "merp"),
                ("__meta_openstack_private_ip", "10.0.0.33"),
                ("__meta_openstack_tag_env", "prod"),
            ],
            p1,
        ),
        row(
            &[
                ("__address__", "10.0.0.34:0"),
                ("__meta_openstack_instance_flavor", "m1.small"),
                (
                    "__meta_openstack_instance_id",
                    "9e5476bd-a4ec-4653-93d6-72c93aa682bb",
                ),
                ("__meta_openstack_instance_name", "merp"),
                ("__meta_openstack_private_ip", "10.0.0.34"),
                ("__meta_openstack_tag_env", "prod"),
                ("__meta_openstack_public_ip", "10.10.10.4"),
            ],
            p1,
        ),
        row(
            &[
                ("__address__", "10.0.0.33:0"),
                ("__meta_openstack_instance_flavor", "m1.small"),
                (
                    "__meta_openstack_instance_id",
                    "87caf8ed-d92a-41f6-9dcd-d1399e39899f",
                ),
                ("__meta_openstack_instance_name", "merp-project2"),
                ("__meta_openstack_private_ip", "10.0.0.33"),
                ("__meta_openstack_tag_env", "prod"),
            ],
            p2,
        ),
        row(
            &[
                ("__address__", "10.0.0.34:0"),
                ("__meta_openstack_instance_flavor", "m1.small"),
                (
                    "__meta_openstack_instance_id",
                    "87caf8ed-d92a-41f6-9dcd-d1399e39899f",
                ),
                ("__meta_openstack_instance_name", "merp-project2"),
                ("__meta_openstack_private_ip", "10.0.0.34"),
                ("__meta_openstack_tag_env", "prod"),
                ("__meta_openstack_public_ip", "10.10.10.24"),
            ],
            p2,
        ),
    ]
}

/// loadbalancer_test.go, TestOpenstackSDLoadBalancerRefresh: a versioned identity endpoint
/// (no version document), an application credential with a project scope, Octavia's lists.
#[test]
fn loadbalancers_with_an_application_credential() {
    let auth = json!({"auth": {
        "identity": {"methods": ["application_credential"],
            "application_credential": {"id": "app-id", "secret": "app-secret"}},
        "scope": {"project": {"id": "fcad67a6189847c4aecfa3c81a05783b"}}}});
    let cloud = Cloud::start(auth, 3);
    let yaml = format!(
        "scrape_configs:
  - job_name: openstack
    openstack_sd_configs:
      - identity_endpoint: {}/v3
        application_credential_id: app-id
        application_credential_secret: app-secret
        project_id: fcad67a6189847c4aecfa3c81a05783b
        region: RegionOne
        role: loadbalancer
",
        cloud.url()
    );
    let (_dir, path) = config_dir(&yaml);
    let got = check_service_discovery(&path, "openstack", PREFIXES);
    let lb = |pairs: &[(&str, &str)]| {
        let mut l = labels(pairs);
        l.insert(
            "__meta_openstack_loadbalancer_operating_status".into(),
            "ONLINE".into(),
        );
        l.insert(
            "__meta_openstack_loadbalancer_provisioning_status".into(),
            "ACTIVE".into(),
        );
        l.insert(
            "__meta_openstack_loadbalancer_provider".into(),
            "amphora".into(),
        );
        l
    };
    let want = vec![
        lb(&[
            ("__address__", "10.0.0.32:9273"),
            (
                "__meta_openstack_loadbalancer_id",
                "ef079b0c-e610-4dfb-b1aa-b49f07ac48e5",
            ),
            ("__meta_openstack_loadbalancer_name", "lb1"),
            ("__meta_openstack_loadbalancer_availability_zone", "az1"),
            ("__meta_openstack_loadbalancer_floating_ip", "192.168.1.2"),
            ("__meta_openstack_loadbalancer_vip", "10.0.0.32"),
            ("__meta_openstack_loadbalancer_tags", "tag1,tag2"),
            (
                "__meta_openstack_project_id",
                "fcad67a6189847c4aecfa3c81a05783b",
            ),
        ]),
        lb(&[
            ("__address__", "10.0.2.78:8080"),
            (
                "__meta_openstack_loadbalancer_id",
                "d92c471e-8d3e-4b9f-b2b5-9c72a9e3ef54",
            ),
            ("__meta_openstack_loadbalancer_name", "lb3"),
            ("__meta_openstack_loadbalancer_availability_zone", "az3"),
            ("__meta_openstack_loadbalancer_floating_ip", "192.168.3.4"),
            ("__meta_openstack_loadbalancer_vip", "10.0.2.78"),
            ("__meta_openstack_loadbalancer_tags", "tag5,tag6"),
            (
                "__meta_openstack_project_id",
                "ac57f03dba1a4fdebff3e67201bc7a85",
            ),
        ]),
        lb(&[
            ("__address__", "10.0.3.99:9090"),
            (
                "__meta_openstack_loadbalancer_id",
                "f5c7e918-df38-4a5a-a7d4-d9c27ab2cf67",
            ),
            ("__meta_openstack_loadbalancer_name", "lb4"),
            ("__meta_openstack_loadbalancer_availability_zone", "az1"),
            ("__meta_openstack_loadbalancer_floating_ip", "192.168.4.5"),
            ("__meta_openstack_loadbalancer_vip", "10.0.3.99"),
            (
                "__meta_openstack_project_id",
                "fa8c372dfe4d4c92b0c4e3a2d9b3c9fa",
            ),
        ]),
        lb(&[
            ("__address__", "10.0.4.88:9876"),
            (
                "__meta_openstack_loadbalancer_id",
                "e83a6d92-7a3e-4567-94b3-20c83b32a75e",
            ),
            ("__meta_openstack_loadbalancer_name", "lb5"),
            ("__meta_openstack_loadbalancer_availability_zone", "az4"),
            ("__meta_openstack_loadbalancer_vip", "10.0.4.88"),
            (
                "__meta_openstack_project_id",
                "a5d3b2e1e6f34cd9a5f7c2f01a6b8e29",
            ),
        ]),
    ];
    assert_eq!(got, want);
    assert!(
        cloud.seen("GET", "/").is_empty(),
        "a versioned endpoint needs no version document"
    );
    assert_eq!(cloud.seen("GET", "/v2.0/lbaas/listeners").len(), 3);
}

/// Prometheus' OpenStack client has no HTTP settings but `tls_config`: a cloud behind a
/// corporate proxy is reached with `HTTPS_PROXY` and the proxy's CA in `SSL_CERT_FILE`, as Go's
/// default transport does.
#[test]
fn an_https_cloud_through_the_environments_proxy() {
    let cloud = Cloud::start(password_auth(), 1);
    cloud.state.lock().unwrap().public_base = Some("https://keystone.example.cloud:5000/".into());
    let proxy = TlsProxy::start(cloud.server.addr);
    let (_dir, path) = config_dir(&config(
        "https://keystone.example.cloud:5000",
        "hypervisor",
        "",
    ));
    let ca = proxy_ca_file();
    let (json, stderr) = check_sd(
        &path,
        "openstack",
        &[
            ("HTTPS_PROXY", &proxy.url()),
            ("SSL_CERT_FILE", ca.to_str().unwrap()),
        ],
    )
    .unwrap();
    let addresses: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["discoveredLabels"]["__address__"].as_str().unwrap())
        .collect();
    assert_eq!(addresses, ["172.16.70.14:0", "172.16.70.13:0"], "{stderr}");
    assert!(proxy.seen().iter().all(|s| s
        == &tls_proxy::Seen {
            connect: "keystone.example.cloud:5000".into(),
            sni: Some("keystone.example.cloud".into())
        }));
    assert_eq!(cloud.seen("GET", "/os-hypervisors/detail").len(), 2);
}

/// Wrong credentials: Keystone refuses, the job has no targets and the error says why.
#[test]
fn wrong_credentials_give_no_targets() {
    let cloud = Cloud::start(json!({"auth": "something else"}), 10);
    let (_dir, path) = config_dir(&config(&format!("{}/", cloud.url()), "hypervisor", ""));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_promsd"))
        .args([
            "check",
            "service-discovery",
            "--timeout=5s",
            path.to_str().unwrap(),
            "openstack",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("172.16.70.14"), "{stdout}");
    assert!(cloud.seen("GET", "/os-hypervisors/detail").is_empty());
    assert!(!cloud.seen("POST", "/v3/auth/tokens").is_empty());
}

/// `promsd run`: refreshes authenticate anew; while the cloud fails (5xx, then 429) the last
/// good targets stay; once it answers again, changes show.
#[test]
fn failures_keep_the_last_good_targets() {
    let cloud = Cloud::start(password_auth(), 1);
    let yaml = config(
        &format!("{}/", cloud.url()),
        "hypervisor",
        "        refresh_interval: 1s\n",
    );
    let (dir, path) = config_dir(&yaml);
    let (_promsd, port) = start_promsd(dir.path(), &path, &[]);
    let addresses = |want: usize| {
        get_ok(port, "/api/v1/sd/openstack").and_then(|body| {
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
    let first = wait_for("two hypervisors", || addresses(2));
    assert_eq!(first, vec!["172.16.70.13:0", "172.16.70.14:0"]);
    for status in [503, 429] {
        cloud.state.lock().unwrap().failing = Some(status);
        let before = cloud.state.lock().unwrap().seen.len();
        wait_for("failing refreshes", || {
            (cloud.state.lock().unwrap().seen.len() >= before + 2).then_some(())
        });
        assert_eq!(addresses(2), Some(first.clone()), "last good state kept");
    }
    {
        let mut s = cloud.state.lock().unwrap();
        s.hypervisors.truncate(1);
        s.failing = None;
    }
    let last = wait_for("one hypervisor", || addresses(1));
    assert_eq!(last, vec!["172.16.70.14:0"]);
    let tokens = cloud.seen("POST", "/v3/auth/tokens").len();
    assert!(tokens >= 2, "every refresh authenticates: {tokens}");
}
