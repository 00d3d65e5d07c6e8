//! Config loading, the request, the endpoint, and the resources parser, ported from
//! Prometheus' `discovery/xds/kuma_test.go` and `client_test.go` (cited per test). The
//! resources of `testKumaMadsV1Resources` are served as protojson in
//! `tests/mechanisms/kuma/mads_v1.json`, the body Prometheus' test server sends for them.

use std::collections::BTreeMap;

use promsd_actors::model::labels_map;

use super::api::{
    parse_response, DiscoveryRequest, Node, Resource, MONITORING_ASSIGNMENT_TYPE_URL,
};
use super::targets::parse_resources;
use super::*;

const MADS_V1: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/mechanisms/kuma/mads_v1.json"
));

fn parse(yaml: &str) -> Result<KumaSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// `TestKumaMadsV1ResourceParserValidResources` and `TestKumaHTTPDiscoveryRefresh`'s
/// expected targets.
fn expected_targets() -> Vec<BTreeMap<String, String>> {
    vec![
        labels(&[
            ("__address__", "10.1.4.32:9090"),
            ("__metrics_path__", "/custom-metrics"),
            ("__scheme__", "http"),
            ("instance", "prometheus-01"),
            ("__meta_kuma_mesh", "metrics"),
            ("__meta_kuma_service", "prometheus"),
            ("__meta_kuma_label_team", "infra"),
            ("__meta_kuma_label_kuma_io_zone", "us-east-1"),
            ("__meta_kuma_label_commit_hash", "620506a88"),
            ("__meta_kuma_dataplane", "prometheus-01"),
        ]),
        labels(&[
            ("__address__", "10.1.4.33:9090"),
            ("__metrics_path__", ""),
            ("__scheme__", "http"),
            ("instance", "prometheus-02"),
            ("__meta_kuma_mesh", "metrics"),
            ("__meta_kuma_service", "prometheus"),
            ("__meta_kuma_label_team", "infra"),
            ("__meta_kuma_label_kuma_io_zone", "us-east-1"),
            ("__meta_kuma_label_commit_hash", "3513bba00"),
            ("__meta_kuma_dataplane", "prometheus-02"),
        ]),
        labels(&[
            ("__address__", "10.1.1.1"),
            ("__metrics_path__", ""),
            ("__scheme__", "http"),
            ("instance", "elasticsearch-01"),
            ("__meta_kuma_mesh", "data"),
            ("__meta_kuma_service", "elasticsearch"),
            ("__meta_kuma_label_role", "ml"),
            ("__meta_kuma_dataplane", "elasticsearch-01"),
        ]),
    ]
}

/// conf.good.yml's `service-kuma` job, as config_test.go expects it.
#[test]
fn config_defaults_as_conf_good() {
    let c = parse(
        "server: http://kuma-control-plane.kuma-system.svc:5676\nclient_id: main-prometheus\n",
    )
    .unwrap();
    assert_eq!(c.server, "http://kuma-control-plane.kuma-system.svc:5676");
    assert_eq!(c.client_id, "main-prometheus");
    assert_eq!(c.refresh_interval, Duration::from_secs(15));
    assert_eq!(c.fetch_timeout, Duration::from_secs(120));
    assert_eq!(c.http_client_config, HttpClientConfig::default());
    assert_eq!(c.mechanism(), "kuma");
}

#[test]
fn config_validation_as_prometheus() {
    for (yaml, message) in [
        ("client_id: a\n", "kuma SD server must not be empty: "),
        ("server: null\n", "kuma SD server must not be empty: "),
        (
            "server: kuma-cp:5676\n",
            "kuma SD server must not be empty and have a scheme: kuma-cp:5676",
        ),
        (
            "server: /v3/x\n",
            "kuma SD server must not be empty and have a scheme: /v3/x",
        ),
        (
            "server: http://\n",
            "kuma SD server must not be empty and have a scheme: http://",
        ),
        (
            "server: http://a\nbearer_token: x\nbearer_token_file: y\n",
            "at most one of bearer_token & bearer_token_file must be configured",
        ),
        (
            "server: http://a\nrefresh_interval: 0s\n",
            "refresh_interval must be greater than 0",
        ),
    ] {
        let err = parse(yaml).unwrap_err();
        assert!(err.contains(message), "{yaml:?}: {err}");
    }
    let err = parse("server: http://a\nfetch_timeuot: 1m\n").unwrap_err();
    assert!(err.contains("unknown field `fetch_timeuot`"), "{err}");
    // The HTTP client settings are read inline; secrets tell identities apart, never printed.
    let a = parse("server: http://a\nbasic_auth: {username: u, password: one-secret}\n").unwrap();
    let b = parse("server: http://a\nbasic_auth: {username: u, password: two-secret}\n").unwrap();
    assert_ne!(a.identity(), b.identity());
    assert!(!format!("{a:?}").contains("one-secret"));
    assert!(!serde_yaml::to_string(&a).unwrap().contains("one-secret"));
}

/// `TestMakeXDSResourceHttpEndpoint*` and `TestCreateNewHTTPResourceClient`: the path joined
/// to the server's, the query being `fetch-timeout` alone (in Prometheus' duration format).
#[test]
fn endpoint_as_make_xds_resource_http_endpoint_url() {
    let two_minutes = Duration::from_secs(120);
    assert_eq!(
        endpoint("http://127.0.0.1:5000", two_minutes).unwrap(),
        "http://127.0.0.1:5000/v3/discovery:monitoringassignments?fetch-timeout=2m"
    );
    assert_eq!(
        endpoint(
            "https://cp.example:5676/prefix/?x=1",
            Duration::from_secs(90)
        )
        .unwrap(),
        "https://cp.example:5676/prefix/v3/discovery:monitoringassignments?fetch-timeout=1m30s"
    );
    assert_eq!(
        endpoint("grpc://127.0.0.1", two_minutes).unwrap_err(),
        "invalid xDS server URL protocol. must be either 'http' or 'https'"
    );
    // A scheme other than http(s) passes config loading and fails when discovery starts.
    let c = parse("server: grpc://127.0.0.1:5676\n").unwrap();
    let ctx = BuildContext {
        provider: "kuma/0".into(),
        config_name: "job".into(),
        refresh_metrics: promsd_actors::RefreshMetrics::default(),
    };
    let err = c.build(&ctx).err().unwrap();
    assert_eq!(
        err.message(),
        "kuma_sd: invalid xDS server URL protocol. must be either 'http' or 'https'"
    );
}

/// The `DiscoveryRequest` as protojson marshals it with proto names: empty fields left out.
#[test]
fn discovery_request_json() {
    let first = DiscoveryRequest {
        version_info: "",
        node: Node {
            id: "main-prometheus",
        },
        type_url: MONITORING_ASSIGNMENT_TYPE_URL,
        response_nonce: "",
    };
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        r#"{"node":{"id":"main-prometheus"},"type_url":"type.googleapis.com/kuma.observability.v1.MonitoringAssignment"}"#
    );
    let next = DiscoveryRequest {
        version_info: "1",
        response_nonce: "abc",
        ..first
    };
    assert_eq!(
        serde_json::to_string(&next).unwrap(),
        r#"{"version_info":"1","node":{"id":"main-prometheus"},"type_url":"type.googleapis.com/kuma.observability.v1.MonitoringAssignment","response_nonce":"abc"}"#
    );
}

/// `TestKumaMadsV1ResourceParserValidResources`.
#[test]
fn valid_resources() {
    let response = parse_response(MADS_V1.as_bytes()).unwrap();
    assert_eq!(response.version_info, "1");
    assert_eq!(response.nonce, "abc");
    let targets = parse_resources(&response).unwrap();
    let got: Vec<_> = targets.iter().map(labels_map).collect();
    assert_eq!(got, expected_targets());
    let group = targets::group(targets);
    assert_eq!(&*group.source, "kuma");
    assert!(group.labels.is_empty());
}

/// `TestKumaMadsV1ResourceParserEmptySlice` and `TestKumaMadsV1ResourceParserInvalidTypeURL`.
#[test]
fn empty_resources_and_invalid_type_url() {
    let response = parse_response(
        br#"{"typeUrl": "type.googleapis.com/kuma.observability.v1.MonitoringAssignment"}"#,
    )
    .unwrap();
    assert!(parse_resources(&response).unwrap().is_empty());
    let response = parse_response(
        br#"{"type_url": "type.googleapis.com/some.api.v1.Monitoring", "resources": []}"#,
    )
    .unwrap();
    assert_eq!(
        parse_resources(&response).unwrap_err(),
        "received invalid typeURL for Kuma MADS v1 Resource: type.googleapis.com/some.api.v1.Monitoring"
    );
}

/// `TestKumaMadsV1ResourceParserInvalidResources`: one resource that is not a monitoring
/// assignment rejects the whole answer.
#[test]
fn one_bad_resource_rejects_the_answer() {
    let body = MADS_V1.replacen(
        r#""service": "grafana","#,
        r#""service": "grafana", "unknown_field": {"x": [1]},"#,
        1,
    );
    // Unknown fields are ignored.
    assert_eq!(
        parse_resources(&parse_response(body.as_bytes()).unwrap())
            .unwrap()
            .len(),
        3
    );
    // A registered type that is not an assignment: decoded, then rejected by the parser.
    let body = MADS_V1.replacen(
        "type.googleapis.com/kuma.observability.v1.MonitoringAssignment",
        "type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest",
        1,
    );
    let response = parse_response(body.as_bytes()).unwrap();
    assert!(matches!(response.resources[0], Resource::Other(_)));
    assert!(parse_resources(&response)
        .unwrap_err()
        .contains("mismatched message type"));
    // An empty Any has no type at all.
    let response = parse_response(
        br#"{"type_url": "type.googleapis.com/kuma.observability.v1.MonitoringAssignment", "resources": [{}]}"#,
    )
    .unwrap();
    assert!(parse_resources(&response).is_err());
    // Decoding errors: a type outside the registry, no @type, a wrong field type, a field
    // given twice (under its two names too), a null element, a map of non-strings.
    for bad in [
        MADS_V1.replacen(
            "kuma.observability.v1.MonitoringAssignment",
            "kuma.observability.v1.Other",
            1,
        ),
        MADS_V1.replacen(
            r#""@type": "type.googleapis.com/kuma.observability.v1.MonitoringAssignment","#,
            "",
            1,
        ),
        MADS_V1.replacen(r#""mesh": "data""#, r#""mesh": 7"#, 1),
        MADS_V1.replacen(r#""mesh": "data""#, r#""mesh": "data", "mesh": "x""#, 1),
        MADS_V1.replacen(
            r#""metrics_path": "/custom-metrics""#,
            r#""metrics_path": "/a", "metricsPath": "/b""#,
            1,
        ),
        MADS_V1.replacen(r#""targets": ["#, r#""targets": [null, "#, 1),
        MADS_V1.replacen(r#"{"role": "ml"}"#, r#"{"role": 1}"#, 1),
        MADS_V1.replacen(r#""nonce": "abc""#, r#""nonce": ["abc"]"#, 1),
        "[]".to_owned(),
        "{".to_owned(),
    ] {
        assert!(parse_response(bad.as_bytes()).is_err(), "{bad}");
    }
}

/// protojson's JSON names are read as well as proto names; null is a default.
#[test]
fn json_names_and_nulls() {
    let response = parse_response(
        br#"{"versionInfo": "7", "typeUrl": "type.googleapis.com/kuma.observability.v1.MonitoringAssignment",
             "nonce": null, "canary": true,
             "resources": [{"mesh": "m", "@type": "x/kuma.observability.v1.MonitoringAssignment",
                            "service": null, "labels": null,
                            "targets": [{"name": "n", "address": "a:1", "metricsPath": "/p", "scheme": "https"}]}]}"#,
    )
    .unwrap();
    assert_eq!(response.version_info, "7");
    assert_eq!(response.nonce, "");
    let targets = parse_resources(&response).unwrap();
    assert_eq!(
        labels_map(&targets[0]),
        labels(&[
            ("__address__", "a:1"),
            ("__metrics_path__", "/p"),
            ("__scheme__", "https"),
            ("instance", "n"),
            ("__meta_kuma_mesh", "m"),
            ("__meta_kuma_service", ""),
            ("__meta_kuma_dataplane", "n"),
        ])
    );
}

/// The assignment's labels win over a target's own of the same name.
#[test]
fn assignment_labels_win_over_target_labels() {
    let response = parse_response(
        br#"{"type_url": "type.googleapis.com/kuma.observability.v1.MonitoringAssignment",
             "resources": [{"@type": "type.googleapis.com/kuma.observability.v1.MonitoringAssignment",
                            "mesh": "m", "service": "s", "labels": {"team": "a", "kuma.io/zone": "z"},
                            "targets": [{"name": "n", "address": "a:1", "labels": {"team": "b", "kuma_io/zone": "t", "own": "o"}}]}]}"#,
    )
    .unwrap();
    let target = labels_map(&parse_resources(&response).unwrap()[0]);
    assert_eq!(target["__meta_kuma_label_team"], "a");
    assert_eq!(target["__meta_kuma_label_kuma_io_zone"], "z");
    assert_eq!(target["__meta_kuma_label_own"], "o");
}
