//! STACKIT SD end to end (bearer token; the service-account key flow is not done yet):
//! `promsd check service-discovery` against a fixture that plays the IaaS API at
//! `iaas.api.eu01.stackit.cloud` (the default region), reached with `proxy_url` +
//! `tls_config.ca_file` through the intercepting proxy. The fixture checks the token, the
//! path and `details=true`, and answers `mock_test.go`'s server list.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::check_sd;
use crate::support::http_fixture::{HttpFixture, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};

const HOST: &str = "iaas.api.eu01.stackit.cloud";
const TOKEN: &str = "LRK9DAWQ1ZAEFSrCNEEzLCUwhYX1U3g7wMg4dTlkkDC96fyDuyJ39nVbVjCKSDfj";
const PROJECT: &str = "00000000-0000-0000-0000-000000000000";

#[test]
fn servers_with_a_bearer_token_through_the_proxy() {
    let fixture = HttpFixture::start(|req| {
        let want = format!("/v1/projects/{PROJECT}/servers?details=true");
        if req.header("host") != Some(HOST)
            || req.method != "GET"
            || req.target != want
            || req.header("authorization") != Some(&format!("Bearer {TOKEN}"))
            || req.header("accept") != Some("application/json")
        {
            return Response::json(401, "{}");
        }
        Response::json(
            200,
            include_str!("../../src/discovery/stackit/testdata/servers.json"),
        )
    });
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: stackit\n    stackit_sd_configs:\n      - project: {PROJECT}\n        bearer_token: {TOKEN}\n        proxy_url: '{}'\n        tls_config: {{ca_file: '{}'}}\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    let (json, stderr) = check_sd(&config, "stackit", &[]).unwrap();
    let targets = json.as_array().unwrap();
    assert_eq!(targets.len(), 1, "{json} {stderr}");
    let labels: BTreeMap<String, String> = targets[0]["discoveredLabels"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("__meta_") || *k == "__address__")
        .map(|(k, v): (&String, &Value)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let want: BTreeMap<String, String> = [
        ("__address__", "192.0.2.1:80"),
        ("__meta_stackit_project", PROJECT),
        ("__meta_stackit_id", "b4176700-596a-4f80-9fc8-5f9c58a606e1"),
        ("__meta_stackit_type", "g1.1"),
        ("__meta_stackit_private_ipv4_test", "10.0.0.153"),
        ("__meta_stackit_public_ipv4", "192.0.2.1"),
        (
            "__meta_stackit_labelpresent_provisionSTACKITServerAgent",
            "true",
        ),
        ("__meta_stackit_label_provisionSTACKITServerAgent", "true"),
        ("__meta_stackit_labelpresent_stackit_project_id", "true"),
        ("__meta_stackit_name", "runcommandtest"),
        ("__meta_stackit_availability_zone", "eu01-3"),
        ("__meta_stackit_status", "INACTIVE"),
        ("__meta_stackit_power_status", "STOPPED"),
        ("__meta_stackit_label_stackit_project_id", PROJECT),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(labels, want);
    assert!(proxy.seen().contains(&Seen {
        connect: format!("{HOST}:443"),
        sni: Some(HOST.into())
    }));
}
