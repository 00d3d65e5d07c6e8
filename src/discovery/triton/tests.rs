//! Triton's config, URLs and labels against Prometheus' `discovery/triton/triton_test.go`
//! (each test names the upstream test it ports) and `config_test.go`'s triton case.

use super::api::{ComputeNodeDiscoveryResponse, DiscoveryResponse};
use super::*;

fn parse(yaml: &str) -> Result<TritonSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

const CONF: &str = "account: testAccount\ndns_suffix: triton.example.com\nendpoint: 127.0.0.1\nport: 443\nversion: 1\n";

/// `TestTritonSDNew`, `TestTritonSDNewGroupsConfig`, `TestTritonSDNewCNConfig` and the
/// defaults of `config_test.go`.
#[test]
fn config_defaults_and_urls() {
    let c = parse(
        "account: testAccount\ndns_suffix: triton.example.com\nendpoint: triton.example.com\n",
    )
    .unwrap();
    assert_eq!(c.role, "container");
    assert_eq!(c.port, 9163);
    assert_eq!(c.version, 1);
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    assert_eq!(
        c.endpoint_url(),
        "https://triton.example.com:9163/v1/discover"
    );
    let c = parse(&format!("{CONF}groups: [foo, bar]\n")).unwrap();
    assert_eq!(
        c.endpoint_url(),
        "https://127.0.0.1:443/v1/discover?groups=foo%2Cbar"
    );
    let c = parse(&format!("{CONF}role: cn\n")).unwrap();
    assert_eq!(c.endpoint_url(), "https://127.0.0.1:443/v1/gz/discover");
}

#[test]
fn prometheus_errors() {
    for (yaml, message) in [
        (
            format!("{CONF}role: vm\n"),
            "triton SD configuration requires role to be 'container' or 'cn'",
        ),
        (
            "dns_suffix: d\nendpoint: e\n".to_owned(),
            "triton SD configuration requires an account",
        ),
        (
            "account: a\nendpoint: e\n".to_owned(),
            "triton SD configuration requires a dns_suffix",
        ),
        (
            "account: a\ndns_suffix: d\n".to_owned(),
            "triton SD configuration requires an endpoint",
        ),
        (
            format!("{CONF}refresh_interval: 0s\n"),
            "triton SD configuration requires RefreshInterval to be a positive integer",
        ),
        (
            format!("{CONF}tls_config: {{ca: x, ca_file: y}}\n"),
            "at most one of ca, ca_file & ca_ref must be configured",
        ),
        (
            format!("{CONF}basic_auth: {{username: u}}\n"),
            "unknown field `basic_auth`",
        ),
    ] {
        let err = parse(&yaml).unwrap_err();
        assert!(err.contains(message), "{yaml:?}: {err}");
    }
}

/// `TestTritonSDRefreshNoTargets`, `TestTritonSDRefreshMultipleTargets`.
#[test]
fn containers() {
    let none: DiscoveryResponse = serde_json::from_str("{\"containers\":[]}\n").unwrap();
    assert!(targets::containers("s", &none, "d", 443).targets.is_empty());
    let dr: DiscoveryResponse = serde_json::from_str(
        r#"{"containers":[
            {"groups":["foo","bar","baz"],"server_uuid":"44454c4c-5000-104d-8037-b7c04f5a5131",
             "vm_alias":"server01","vm_brand":"lx","vm_image_uuid":"7b27a514-89d7-11e6-bee6-3f96f367bee7",
             "vm_uuid":"ad466fbf-46a2-4027-9b64-8d3cdb7e9072"},
            {"server_uuid":"a5894692-bd32-4ca1-908a-e2dda3c3a5e6","vm_alias":"server02","vm_brand":"kvm",
             "vm_image_uuid":"a5894692-bd32-4ca1-908a-e2dda3c3a5e6","vm_uuid":"7b27a514-89d7-11e6-bee6-3f96f367bee7"}]}"#,
    )
    .unwrap();
    let g = targets::containers(
        "https://127.0.0.1:443/v1/discover",
        &dr,
        "triton.example.com",
        443,
    );
    assert_eq!(&*g.source, "https://127.0.0.1:443/v1/discover");
    assert_eq!(g.targets.len(), 2);
    let first = promsd_actors::model::labels_map(&g.targets[0]);
    let want: std::collections::BTreeMap<String, String> = [
        (
            "__address__",
            "ad466fbf-46a2-4027-9b64-8d3cdb7e9072.triton.example.com:443",
        ),
        ("__meta_triton_groups", ",foo,bar,baz,"),
        ("__meta_triton_machine_alias", "server01"),
        ("__meta_triton_machine_brand", "lx"),
        (
            "__meta_triton_machine_id",
            "ad466fbf-46a2-4027-9b64-8d3cdb7e9072",
        ),
        (
            "__meta_triton_machine_image",
            "7b27a514-89d7-11e6-bee6-3f96f367bee7",
        ),
        (
            "__meta_triton_server_id",
            "44454c4c-5000-104d-8037-b7c04f5a5131",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(first, want);
    assert_eq!(g.targets[1].get("__meta_triton_groups"), None);
}

/// `TestTritonSDRefreshCNsUUIDOnly`, `TestTritonSDRefreshCNsWithHostname`.
#[test]
fn compute_nodes() {
    let dr: ComputeNodeDiscoveryResponse = serde_json::from_str(
        r#"{"cns":[{"server_uuid":"44454c4c-5000-104d-8037-b7c04f5a5131"},
            {"server_uuid":"a5894692-bd32-4ca1-908a-e2dda3c3a5e6","server_hostname":"server02"}]}"#,
    )
    .unwrap();
    let g = targets::compute_nodes("s", &dr, "triton.example.com", 9163);
    assert_eq!(g.targets.len(), 2);
    assert_eq!(
        g.targets[0].get("__address__"),
        Some("44454c4c-5000-104d-8037-b7c04f5a5131.triton.example.com:9163")
    );
    assert_eq!(g.targets[0].get("__meta_triton_machine_alias"), Some(""));
    assert_eq!(
        g.targets[1].get("__meta_triton_machine_alias"),
        Some("server02")
    );
    assert_eq!(
        g.targets[1].get("__meta_triton_machine_id"),
        Some("a5894692-bd32-4ca1-908a-e2dda3c3a5e6")
    );
}
