//! Nomad SD end to end: `promsd check service-discovery` and `promsd run` against a Nomad
//! fixture serving Prometheus' `discovery/nomad/nomad_test.go` answers, with the query options
//! Nomad's Go client sends checked.

use super::registries_kit::*;

const SERVICES: &str = r#"[{"Namespace": "default", "Services": [
    {"ServiceName": "hashicups", "Tags": ["metrics"]},
    {"ServiceName": "web api", "Tags": []}]}]"#;

const HASHICUPS: &str = r#"[{
    "ID": "_nomad-task-6a1d5f0a-7362-3f5d-9baf-5ed438918e50-group-hashicups-hashicups-hashicups_ui",
    "ServiceName": "hashicups", "Namespace": "default",
    "NodeID": "d92fdc3c-9c2b-298a-e8f4-c33f3a449f09", "Datacenter": "dc1",
    "JobID": "dashboard", "AllocID": "6a1d5f0a-7362-3f5d-9baf-5ed438918e50",
    "Tags": ["metrics"], "Address": "127.0.0.1", "Port": 30456,
    "CreateIndex": 226, "ModifyIndex": 226}]"#;

const WEB_API: &str = r#"[{"ID": "w1", "ServiceName": "web api", "Namespace": "default",
    "NodeID": "n2", "Datacenter": "dc2", "Tags": null, "Address": "::1", "Port": 8080}]"#;

fn nomad_fixture(query: &'static str) -> Fixture {
    Fixture::start(move |r| {
        if r.query != query || r.header("authorization") != Some("Bearer nomad-token") {
            return Reply::new(403, "text/plain", "Permission denied");
        }
        match r.path.as_str() {
            "/v1/services" => Reply::json(SERVICES),
            "/v1/service/hashicups" => Reply::json(HASHICUPS),
            "/v1/service/web%20api" => Reply::json(WEB_API),
            _ => Reply::new(404, "text/plain", "not found"),
        }
    })
}

/// `TestNomadSDRefresh` through the binary, plus a second service (escaped name, IPv6, no tags).
#[test]
fn discovers_every_registration() {
    let fixture = nomad_fixture("namespace=default&region=global&stale=");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "scrape_configs:\n  - job_name: nomad\n    nomad_sd_configs:\n      - server: '{}/ignored'\n        authorization: {{credentials: nomad-token}}\n",
            fixture.url()
        ),
    );
    let (code, json, stderr) = check_sd(&config, "nomad");
    assert_eq!(code, Some(0), "{stderr}");
    let mut expected = vec![
        labels(&[
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
        ]),
        labels(&[
            ("__address__", "[::1]:8080"),
            ("__meta_nomad_address", "::1"),
            ("__meta_nomad_dc", "dc2"),
            ("__meta_nomad_namespace", "default"),
            ("__meta_nomad_node_id", "n2"),
            ("__meta_nomad_service", "web api"),
            ("__meta_nomad_service_address", "::1"),
            ("__meta_nomad_service_id", "w1"),
            ("__meta_nomad_service_port", "8080"),
        ]),
    ];
    expected.sort();
    assert_eq!(discovered(&json), expected);
    let paths: Vec<String> = fixture.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/services",
            "/v1/service/hashicups",
            "/v1/service/web%20api"
        ]
    );
}

/// `allow_stale: false` sends no `stale`; namespace and region as configured.
#[test]
fn query_options_follow_the_config() {
    let fixture = nomad_fixture("namespace=ops&region=eu");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "scrape_configs:\n  - job_name: nomad\n    nomad_sd_configs:\n      - server: '{}'\n        allow_stale: false\n        namespace: ops\n        region: eu\n        tag_separator: ';'\n        authorization: {{credentials: nomad-token}}\n",
            fixture.url()
        ),
    );
    let (code, json, stderr) = check_sd(&config, "nomad");
    assert_eq!(code, Some(0), "{stderr}");
    let targets = discovered(&json);
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0]["__meta_nomad_tags"], ";metrics;");
}

#[test]
fn failures_keep_the_last_good_state() {
    let fixture = nomad_fixture("namespace=default&region=global&stale=");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "scrape_configs:\n  - job_name: nomad\n    nomad_sd_configs:\n      - server: '{}'\n        refresh_interval: 1s\n        authorization: {{credentials: nomad-token}}\n",
            fixture.url()
        ),
    );
    last_good_state_is_kept(dir.path(), &config, "nomad", &fixture, 2, |r| {
        if r.path == "/v1/services" {
            Reply::json(SERVICES)
        } else {
            Reply::new(500, "text/plain", "boom")
        }
    });
}
