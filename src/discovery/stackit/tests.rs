//! STACKIT SD's config checks (`stackit.go`), the list URL (`server.go`) and the labels of
//! `TestServerSDRefresh` (`server_test.go`, answers from `mock_test.go` in
//! `testdata/servers.json`).

use promsd_actors::model::labels_map;

use super::refresh::servers_url;
use super::targets::{group, ServerList};
use super::*;

fn parse(yaml: &str) -> Result<StackitSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_validation() {
    let c = parse("project: p\n").unwrap();
    assert_eq!((c.region.as_str(), c.port), ("eu01", 80));
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    assert_eq!(
        servers_url(&c).unwrap(),
        "https://iaas.api.eu01.stackit.cloud/v1/projects/p/servers?details=true"
    );
    let c = parse("project: p\nendpoint: http://127.0.0.1:8/base/?b=1&a=2\n").unwrap();
    assert_eq!(
        servers_url(&c).unwrap(),
        "http://127.0.0.1:8/base/v1/projects/p/servers?a=2&b=1&details=true"
    );
    for (yaml, message) in [
        (
            "region: ''\n",
            "stackit_sd: endpoint and region missing",
        ),
        (
            "endpoint: '://invalid'\n",
            "stackit_sd: invalid endpoint \"://invalid\": parse \"://invalid\": missing protocol scheme",
        ),
        ("refresh_interval: 0s\n", "refresh_interval must be greater than 0"),
        ("bogus: 1\n", "bogus"),
    ] {
        let e = parse(yaml).unwrap_err();
        assert!(e.contains(message), "{yaml}: {e}");
    }
}

/// `TestServerSDRefresh`: one target (the second server has no NICs).
#[test]
fn server_labels() {
    let list: ServerList = serde_json::from_str(include_str!("testdata/servers.json")).unwrap();
    let g = group(
        &list.items.unwrap(),
        "00000000-0000-0000-0000-000000000000",
        80,
    );
    assert_eq!(g.source.as_ref(), "stackit");
    assert_eq!(g.targets.len(), 1);
    let want: std::collections::BTreeMap<String, String> = [
        ("__address__", "192.0.2.1:80"),
        (
            "__meta_stackit_project",
            "00000000-0000-0000-0000-000000000000",
        ),
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
        (
            "__meta_stackit_label_stackit_project_id",
            "00000000-0000-0000-0000-000000000000",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(labels_map(&g.targets[0]), want);
}
