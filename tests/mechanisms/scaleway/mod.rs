//! Scaleway SD end to end: `promsd check service-discovery` with the default `api_url`
//! (`https://api.scaleway.com`) reached through the TLS-intercepting proxy (`proxy_url` +
//! `tls_config.ca_file`), against a fixture Instance / IPAM / Elastic Metal API that requires
//! the secret key in `X-Auth-Token`, paginates with `page` and a total count, and serves
//! Prometheus' `discovery/scaleway/testdata/instance.json`. Expected labels: the tables of
//! `instance_test.go` (and baremetal rows from answers shaped as the API reference shows).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::support::check_sd;
use crate::support::http_fixture::{HttpFixture, Request, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mechanisms/scaleway/");
const SECRET: &str = "6d6579e5-a5b9-49fc-a35f-b4feb9b87301";
const PROJECT: &str = "8feda53f-15f0-447f-badf-ebe32dad2fc0";
const ACCESS: &str = "SCW0W8NG6024YHRJ7723";

type Labels = BTreeMap<String, String>;

fn data(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DATA}{file}")).unwrap()).unwrap()
}

/// One page of `items` (`per` a page) for the request's `page`.
fn page_of(req: &Request, items: &[Value], per: usize) -> Vec<Value> {
    let page: usize = req.param("page").map_or(1, |p| p.parse().unwrap());
    items
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .cloned()
        .collect()
}

/// The fixture API: `servers` for the Instance API, IPAM answering `nic_ips`.
struct Api {
    fixture: HttpFixture,
}

impl Api {
    fn start(instances: Vec<Value>, nic_ips: Vec<(&'static str, &'static str)>) -> Api {
        let fixture = HttpFixture::start(move |req| {
            if req.header("x-auth-token") != Some(SECRET) {
                return Response::json(
                    401,
                    r#"{"message": "bad token id", "type": "denied_authentication"}"#,
                );
            }
            let list = |key: &str, items: &[Value], per: usize| {
                let mut body = serde_json::Map::new();
                body.insert(key.into(), Value::Array(page_of(req, items, per)));
                body.insert("total_count".into(), json!(items.len()));
                Response::json(200, Value::Object(body).to_string())
            };
            match req.path() {
                "/instance/v1/zones/fr-par-1/servers" => {
                    // The Instance API's own count is the X-Total-Count header.
                    let body = json!({"servers": page_of(req, &instances, 2)});
                    Response::json(200, body.to_string())
                        .header("X-Total-Count", &instances.len().to_string())
                }
                "/ipam/v1/regions/fr-par/ips" => {
                    let wanted: Vec<String> = req
                        .query()
                        .into_iter()
                        .filter(|(k, _)| k == "resource_ids")
                        .map(|(_, v)| v)
                        .collect();
                    if req.param("resource_types").as_deref() != Some("instance_private_nic") {
                        return Response::json(400, "{}");
                    }
                    let ips: Vec<Value> = nic_ips
                        .iter()
                        .filter(|(nic, _)| wanted.iter().any(|w| w == nic))
                        .map(|(nic, ip)| {
                            json!({"id": format!("ip-{nic}"), "address": ip, "is_ipv6": false,
                                "resource": {"type": "instance_private_nic", "id": nic},
                                "region": "fr-par"})
                        })
                        .collect();
                    list("ips", &ips, 1)
                }
                "/baremetal/v1/zones/fr-par-1/servers" => list(
                    "servers",
                    data("baremetal_servers.json")["servers"]
                        .as_array()
                        .unwrap(),
                    1,
                ),
                "/baremetal/v1/zones/fr-par-1/offers" => list(
                    "offers",
                    data("baremetal_offers.json")["offers"].as_array().unwrap(),
                    1,
                ),
                "/baremetal/v1/zones/fr-par-1/os" => {
                    list("os", data("baremetal_os.json")["os"].as_array().unwrap(), 1)
                }
                _ => Response::json(404, r#"{"message": "bad url"}"#),
            }
        });
        Api { fixture }
    }

    fn requests(&self, path: &str) -> Vec<Request> {
        self.fixture
            .requests()
            .into_iter()
            .filter(|r| r.path() == path)
            .collect()
    }
}

fn run(api: &Api, sd: &str, files: &[(&str, &str)]) -> (Vec<Labels>, Vec<Seen>) {
    let proxy = TlsProxy::start(api.fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let path = dir.path().join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:
  - job_name: scaleway
    scaleway_sd_configs:
      - project_id: {PROJECT}
        access_key: {ACCESS}
        proxy_url: {}
        tls_config:
          ca_file: {}
{sd}",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    let (json, stderr) = check_sd(&path, "scaleway", &[]).unwrap();
    let targets = json
        .as_array()
        .unwrap_or_else(|| panic!("{json} {stderr}"))
        .iter()
        .map(|e| {
            serde_json::from_value::<Labels>(e["discoveredLabels"].clone())
                .unwrap()
                .into_iter()
                .filter(|(n, _)| n == "__address__" || n.starts_with("__meta_scaleway_"))
                .collect()
        })
        .collect();
    (targets, proxy.seen())
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// instance_test.go, TestScalewayInstanceRefresh: the upstream testdata over two pages, at
/// the real API host through the proxy.
#[test]
fn instances_through_the_proxy_over_two_pages() {
    let servers = data("instance.json")["servers"].as_array().unwrap().clone();
    let api = Api::start(servers, vec![]);
    let (got, seen) = run(
        &api,
        &format!("        role: instance\n        secret_key: {SECRET}\n"),
        &[],
    );
    assert_eq!(got, instance_table());
    assert!(!seen.is_empty());
    for s in &seen {
        assert_eq!(
            s,
            &Seen {
                connect: "api.scaleway.com:443".into(),
                sni: Some("api.scaleway.com".into())
            }
        );
    }
    let pages: Vec<String> = api
        .requests("/instance/v1/zones/fr-par-1/servers")
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(
        pages,
        [
            "/instance/v1/zones/fr-par-1/servers?page=1",
            "/instance/v1/zones/fr-par-1/servers?page=2"
        ]
    );
}

/// instance_test.go, TestScalewayInstanceAuthToken: the secret key from `secret_key_file`
/// (relative to the config file); filters as query parameters, sorted as Go encodes them.
#[test]
fn secret_key_file_and_filters() {
    let servers = data("instance.json")["servers"].as_array().unwrap().clone();
    let api = Api::start(servers, vec![]);
    let (got, _) = run(
        &api,
        "        role: instance
        secret_key_file: secret_key
        name_filter: scw
        tags_filter: [a, b]
",
        &[("secret_key", &format!("{SECRET}\n"))],
    );
    assert_eq!(got.len(), 4);
    let first = &api.requests("/instance/v1/zones/fr-par-1/servers")[0];
    assert_eq!(
        first.target,
        "/instance/v1/zones/fr-par-1/servers?name=scw&page=1&tags=a%2Cb"
    );
}

/// instance_test.go, TestScalewayInstanceRefreshIPAMPrivateNIC: a server with only a private
/// NIC gets its address from IPAM (two NICs asked for in one query, one has an address).
#[test]
fn private_nics_through_ipam() {
    let server = json!({
        "id": "78d6aa69-6a5f-47bd-9f1a-3cdde6973d96", "name": "ipam-only",
        "organization": "cb334986-b054-4725-9d3a-40850fdc6015",
        "project": "cb334986-b054-4725-9d5a-30850fdc6015", "commercial_type": "DEV1-S",
        "hostname": "ipam-only", "state": "running", "boot_type": "local",
        "routed_ip_enabled": true, "public_ip": null, "public_ips": [], "private_ip": null,
        "private_nics": [
            {"id": "11111111-0000-4000-8000-000000000001", "zone": "fr-par-1"},
            {"id": "2d17a5a0-f8e5-4e7f-a029-f7c8d182af53", "server_id": "78d6aa69-6a5f-47bd-9f1a-3cdde6973d96",
             "private_network_id": "18ba4ed4-d194-4b5d-9083-447325234a71",
             "mac_address": "02:00:00:00:31:90", "state": "available", "zone": "fr-par-1"}
        ],
        "zone": "fr-par-1"
    });
    let api = Api::start(
        vec![server],
        vec![("2d17a5a0-f8e5-4e7f-a029-f7c8d182af53", "10.0.0.7/32")],
    );
    let (got, _) = run(
        &api,
        &format!("        role: instance\n        secret_key: {SECRET}\n"),
        &[],
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["__address__"], "10.0.0.7:80");
    assert_eq!(got[0]["__meta_scaleway_instance_private_ipv4"], "10.0.0.7");
    let ipam = api.requests("/ipam/v1/regions/fr-par/ips");
    assert_eq!(
        ipam[0].target,
        "/ipam/v1/regions/fr-par/ips?page=1&resource_ids=11111111-0000-4000-8000-000000000001&resource_ids=2d17a5a0-f8e5-4e7f-a029-f7c8d182af53&resource_types=instance_private_nic"
    );
}

/// Elastic Metal: servers, offers and OS lists, one item a page.
#[test]
fn baremetal_servers_offers_and_os() {
    let api = Api::start(vec![], vec![]);
    let (got, _) = run(
        &api,
        &format!(
            "        role: baremetal\n        secret_key: {SECRET}\n        port: 9100\n        tags_filter: [prod, db]\n"
        ),
        &[],
    );
    let common = [
        (
            "__meta_scaleway_baremetal_project_id",
            "20b3d507-96ac-454c-a795-bc731b46b12f",
        ),
        ("__meta_scaleway_baremetal_zone", "fr-par-2"),
    ];
    let row = |pairs: &[(&str, &str)]| {
        let mut l = labels(pairs);
        l.extend(labels(&common));
        l
    };
    let want = vec![
        row(&[
            ("__address__", "51.159.26.122:9100"),
            (
                "__meta_scaleway_baremetal_id",
                "5a4d4e4c-9b5f-4e3c-8a41-6c1d4f2a7e01",
            ),
            ("__meta_scaleway_baremetal_name", "em-a210r-01"),
            ("__meta_scaleway_baremetal_status", "ready"),
            ("__meta_scaleway_baremetal_type", "EM-A210R-HDD"),
            ("__meta_scaleway_baremetal_os_name", "Ubuntu"),
            (
                "__meta_scaleway_baremetal_os_version",
                "22.04 LTS (Jammy Jellyfish)",
            ),
            ("__meta_scaleway_baremetal_tags", ",prod,db,"),
            ("__meta_scaleway_baremetal_public_ipv4", "51.159.26.122"),
            (
                "__meta_scaleway_baremetal_public_ipv6",
                "2001:bc8:1201:14:c6:9ff:fe6a:c1e6",
            ),
        ]),
        row(&[
            ("__address__", "[2001:bc8:1201:15::1]:9100"),
            (
                "__meta_scaleway_baremetal_id",
                "6b5e5f5d-ac6a-4f4d-9b52-7d2e5a3b8f02",
            ),
            ("__meta_scaleway_baremetal_name", "em-b112x-v6only"),
            ("__meta_scaleway_baremetal_status", "ready"),
            ("__meta_scaleway_baremetal_type", "EM-B112X-SSD"),
            (
                "__meta_scaleway_baremetal_public_ipv6",
                "2001:bc8:1201:15::1",
            ),
        ]),
    ];
    // The third server has no address: Prometheus keeps it as a target without
    // `__address__`, which target population then drops.
    let with_address: Vec<Labels> = got
        .into_iter()
        .filter(|l| l.contains_key("__address__"))
        .collect();
    assert_eq!(with_address, want);
    let servers = api.requests("/baremetal/v1/zones/fr-par-1/servers");
    assert_eq!(servers.len(), 3, "three pages of one server");
    assert_eq!(
        servers[0].target,
        "/baremetal/v1/zones/fr-par-1/servers?page=1&tags=prod&tags=db"
    );
    assert_eq!(api.requests("/baremetal/v1/zones/fr-par-1/offers").len(), 2);
    assert_eq!(api.requests("/baremetal/v1/zones/fr-par-1/os").len(), 2);
}

/// A wrong key: the API refuses, promsd finds no targets.
#[test]
fn a_wrong_secret_key_finds_nothing() {
    let servers = data("instance.json")["servers"].as_array().unwrap().clone();
    let api = Api::start(servers, vec![]);
    let proxy = TlsProxy::start(api.fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:
  - job_name: scaleway
    scaleway_sd_configs:
      - {{role: instance, project_id: {PROJECT}, access_key: {ACCESS}, secret_key: 00000000-0000-0000-0000-000000000001, proxy_url: '{}', tls_config: {{ca_file: '{}'}}}}
",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_promsd"))
        .args([
            "check",
            "service-discovery",
            "--timeout=5s",
            path.to_str().unwrap(),
            "scaleway",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("10.70.60.57"), "{stdout}");
    assert!(!api
        .requests("/instance/v1/zones/fr-par-1/servers")
        .is_empty());
}

fn instance_table() -> Vec<Labels> {
    let row = |pairs: &[(&str, &str)]| {
        let mut l = labels(pairs);
        l.insert("__meta_scaleway_instance_boot_type".into(), "local".into());
        l.insert(
            "__meta_scaleway_instance_image_arch".into(),
            "x86_64".into(),
        );
        l.insert("__meta_scaleway_instance_status".into(), "running".into());
        l.insert(
            "__meta_scaleway_instance_security_group_name".into(),
            "Default security group".into(),
        );
        l
    };
    vec![
        row(&[
            ("__address__", "10.70.60.57:80"),
            ("__meta_scaleway_instance_hostname", "scw-nervous-shirley"),
            (
                "__meta_scaleway_instance_id",
                "93c18a61-b681-49d0-a1cc-62b43883ae89",
            ),
            (
                "__meta_scaleway_instance_image_id",
                "45a86b35-eca6-4055-9b34-ca69845da146",
            ),
            (
                "__meta_scaleway_instance_image_name",
                "Ubuntu 18.04 Bionic Beaver",
            ),
            ("__meta_scaleway_instance_location_cluster_id", "40"),
            ("__meta_scaleway_instance_location_hypervisor_id", "1601"),
            ("__meta_scaleway_instance_location_node_id", "29"),
            ("__meta_scaleway_instance_name", "scw-nervous-shirley"),
            (
                "__meta_scaleway_instance_organization_id",
                "cb334986-b054-4725-9d3a-40850fdc6015",
            ),
            ("__meta_scaleway_instance_private_ipv4", "10.70.60.57"),
            (
                "__meta_scaleway_instance_project_id",
                "cb334986-b054-4725-9d5a-30850fdc6015",
            ),
            (
                "__meta_scaleway_instance_public_ipv6",
                "2001:bc8:630:1e1c::1",
            ),
            ("__meta_scaleway_instance_region", "fr-par"),
            (
                "__meta_scaleway_instance_security_group_id",
                "a6a794b7-c05b-4b20-b9fe-e17a9bb85cf0",
            ),
            ("__meta_scaleway_instance_type", "DEV1-S"),
            ("__meta_scaleway_instance_zone", "fr-par-1"),
        ]),
        row(&[
            ("__address__", "10.193.162.9:80"),
            ("__meta_scaleway_instance_hostname", "scw-quizzical-feistel"),
            (
                "__meta_scaleway_instance_id",
                "5b6198b4-c677-41b5-9c05-04557264ae1f",
            ),
            (
                "__meta_scaleway_instance_image_id",
                "71733b74-260f-4d0d-8f18-f37dcfa56d6f",
            ),
            ("__meta_scaleway_instance_image_name", "Debian Buster"),
            ("__meta_scaleway_instance_location_cluster_id", "4"),
            ("__meta_scaleway_instance_location_hypervisor_id", "201"),
            ("__meta_scaleway_instance_location_node_id", "5"),
            ("__meta_scaleway_instance_name", "scw-quizzical-feistel"),
            (
                "__meta_scaleway_instance_organization_id",
                "cb334986-b054-4725-9d3a-40850fdc6015",
            ),
            ("__meta_scaleway_instance_private_ipv4", "10.193.162.9"),
            (
                "__meta_scaleway_instance_project_id",
                "cb334986-b054-4725-9d5a-30850fdc6015",
            ),
            ("__meta_scaleway_instance_public_ipv4", "151.115.45.127"),
            (
                "__meta_scaleway_instance_public_ipv6",
                "2001:bc8:1e00:6204::1",
            ),
            ("__meta_scaleway_instance_region", "fr-par"),
            (
                "__meta_scaleway_instance_security_group_id",
                "d35dd210-8392-44dc-8854-121e419a0f56",
            ),
            ("__meta_scaleway_instance_type", "DEV1-S"),
            ("__meta_scaleway_instance_zone", "fr-par-1"),
        ]),
        row(&[
            ("__address__", "51.158.183.115:80"),
            ("__meta_scaleway_instance_hostname", "routed-dualstack"),
            (
                "__meta_scaleway_instance_id",
                "4904366a-7e26-4b65-b97b-6392c761247a",
            ),
            (
                "__meta_scaleway_instance_image_id",
                "3e0a5b84-1d69-4993-8fa4-0d7df52d5160",
            ),
            (
                "__meta_scaleway_instance_image_name",
                "Ubuntu 22.04 Jammy Jellyfish",
            ),
            ("__meta_scaleway_instance_location_cluster_id", "19"),
            ("__meta_scaleway_instance_location_hypervisor_id", "1201"),
            ("__meta_scaleway_instance_location_node_id", "24"),
            ("__meta_scaleway_instance_name", "routed-dualstack"),
            (
                "__meta_scaleway_instance_organization_id",
                "20b3d507-96ac-454c-a795-bc731b46b12f",
            ),
            (
                "__meta_scaleway_instance_project_id",
                "20b3d507-96ac-454c-a795-bc731b46b12f",
            ),
            ("__meta_scaleway_instance_public_ipv4", "51.158.183.115"),
            (
                "__meta_scaleway_instance_public_ipv4_addresses",
                ",51.158.183.115,",
            ),
            (
                "__meta_scaleway_instance_public_ipv6_addresses",
                ",2001:bc8:1640:1568:dc00:ff:fe21:91b,",
            ),
            ("__meta_scaleway_instance_region", "nl-ams"),
            (
                "__meta_scaleway_instance_security_group_id",
                "984414da-9fc2-49c0-a925-fed6266fe092",
            ),
            ("__meta_scaleway_instance_type", "DEV1-S"),
            ("__meta_scaleway_instance_zone", "nl-ams-1"),
        ]),
        row(&[
            ("__address__", "163.172.136.10:80"),
            ("__meta_scaleway_instance_hostname", "multiple-ips"),
            (
                "__meta_scaleway_instance_id",
                "658abbf4-e6c6-4239-a483-3307763cf6e0",
            ),
            (
                "__meta_scaleway_instance_image_id",
                "f583f58c-1ea5-44ab-a1e6-2b2e7df32a86",
            ),
            (
                "__meta_scaleway_instance_image_name",
                "Ubuntu 24.04 Noble Numbat",
            ),
            ("__meta_scaleway_instance_location_cluster_id", "7"),
            ("__meta_scaleway_instance_location_hypervisor_id", "801"),
            ("__meta_scaleway_instance_location_node_id", "95"),
            ("__meta_scaleway_instance_name", "multiple-ips"),
            (
                "__meta_scaleway_instance_organization_id",
                "ee7bd9e1-9cbd-4724-b2f4-19e50f3cf38b",
            ),
            (
                "__meta_scaleway_instance_project_id",
                "ee7bd9e1-9cbd-4724-b2f4-19e50f3cf38b",
            ),
            ("__meta_scaleway_instance_public_ipv4", "163.172.136.10"),
            (
                "__meta_scaleway_instance_public_ipv4_addresses",
                ",163.172.136.10,212.47.248.223,51.15.231.134,",
            ),
            (
                "__meta_scaleway_instance_public_ipv6_addresses",
                ",2001:bc8:710:4a69:dc00:ff:fe58:40c1,2001:bc8:710:d::,2001:bc8:710:5417::,",
            ),
            ("__meta_scaleway_instance_region", "fr-par"),
            (
                "__meta_scaleway_instance_security_group_id",
                "0fe819c3-274d-472a-b3f5-ddb258d2d8bb",
            ),
            ("__meta_scaleway_instance_type", "PLAY2-PICO"),
            ("__meta_scaleway_instance_zone", "fr-par-1"),
        ]),
    ]
}
