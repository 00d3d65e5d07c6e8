//! Nomad's config, requests and labels against Prometheus' `discovery/nomad/nomad_test.go`
//! (`TestConfiguredService`, `TestNomadSDRefresh`) and `config_test.go`'s defaults.

use super::api::ServiceRegistration;
use super::*;

fn parse(yaml: &str) -> Result<NomadSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_prometheus_errors() {
    let c = parse("server: 'http://localhost:4646'\n").unwrap();
    assert!(c.allow_stale);
    assert_eq!(c.namespace, "default");
    assert_eq!(c.region, "global");
    assert_eq!(c.tag_separator, ",");
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    assert_eq!(parse("{}").unwrap().server, "http://localhost:4646");
    for (yaml, message) in [
        (
            "server: ' '\n",
            "nomad SD configuration requires a server address",
        ),
        (
            "server:\n",
            "nomad SD configuration requires a server address",
        ),
        ("refresh_interval: 0s\n", "refresh"),
        ("token: x\n", "unknown field `token`"),
    ] {
        let err = parse(yaml).unwrap_err();
        assert!(err.contains(message), "{yaml:?}: {err}");
    }
}

/// `TestConfiguredService`: a server Go's `url.Parse` rejects fails the discoverer.
#[test]
fn configured_service() {
    for (server, accepted) in [
        ("http://foo.bar:4646", true),
        ("foo.bar:4646", true),
        ("http://172.30.29.23:4646", true),
        ("172.30.29.23:4646", false),
    ] {
        let c = parse(&format!("server: '{server}'\n")).unwrap();
        assert_eq!(c.base_and_query().is_ok(), accepted, "{server}");
    }
}

#[test]
fn requests_carry_what_nomads_client_sends() {
    let c = parse("server: 'http://u:p@nomad:4646/ignored/path?x=1'\n").unwrap();
    let (base, query) = c.base_and_query().unwrap();
    assert_eq!(base.as_str(), "http://u:p@nomad:4646/");
    assert_eq!(
        query,
        [
            ("namespace", "default".to_owned()),
            ("region", "global".to_owned()),
            ("stale", String::new())
        ]
    );
    let c = parse("allow_stale: false\nnamespace: ''\nregion: eu\n").unwrap();
    assert_eq!(c.base_and_query().unwrap().1, [("region", "eu".to_owned())]);
    assert_eq!(api::path_escape("a b/c@d"), "a%20b%2Fc@d");
}

/// `TestNomadSDRefresh`: the fixture's one registration, every label.
#[test]
fn refresh_labels() {
    let instances: Vec<ServiceRegistration> = serde_json::from_str(
        r#"[{
            "ID": "_nomad-task-6a1d5f0a-7362-3f5d-9baf-5ed438918e50-group-hashicups-hashicups-hashicups_ui",
            "ServiceName": "hashicups", "Namespace": "default",
            "NodeID": "d92fdc3c-9c2b-298a-e8f4-c33f3a449f09", "Datacenter": "dc1",
            "JobID": "dashboard", "AllocID": "6a1d5f0a-7362-3f5d-9baf-5ed438918e50",
            "Tags": ["metrics"], "Address": "127.0.0.1", "Port": 30456,
            "CreateIndex": 226, "ModifyIndex": 226}]"#,
    )
    .unwrap();
    let labels = promsd_actors::model::labels_map(&targets::target(&instances[0], ","));
    let expected: std::collections::BTreeMap<String, String> = [
        ("__address__", "127.0.0.1:30456"),
        ("__meta_nomad_address", "127.0.0.1"),
        ("__meta_nomad_dc", "dc1"),
        ("__meta_nomad_namespace", "default"),
        ("__meta_nomad_node_id", "d92fdc3c-9c2b-298a-e8f4-c33f3a449f09"),
        ("__meta_nomad_service", "hashicups"),
        ("__meta_nomad_service_address", "127.0.0.1"),
        (
            "__meta_nomad_service_id",
            "_nomad-task-6a1d5f0a-7362-3f5d-9baf-5ed438918e50-group-hashicups-hashicups-hashicups_ui",
        ),
        ("__meta_nomad_service_port", "30456"),
        ("__meta_nomad_tags", ",metrics,"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(labels, expected);
    let untagged = ServiceRegistration::default();
    assert_eq!(
        targets::target(&untagged, ",").get("__meta_nomad_tags"),
        None
    );
}
