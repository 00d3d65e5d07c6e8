//! MSK through the CLI: Prometheus' msk_test.go `TestMSKDiscoveryRefresh` cases
//! `ClusterWithBrokersUsingClustersConfig` and `ClusterWithBrokersAndControllersUsingClustersConfig`
//! served as REST-JSON (DescribeClusterV2 / ListNodes with the ARN as one escaped path
//! segment, signed as `kafka`), and ListClustersV2 / ListNodes pages.

use std::sync::Arc;

use serde_json::{json, Value};

use super::fixture::*;

const AK: &str = "AKIDMSK";
const SK: &str = "msk-secret";

const ARN1: &str = "arn:aws:kafka:us-west-2:123456789012:cluster/test-cluster/abc-123";
const ARN2: &str = "arn:aws:kafka:us-west-2:123456789012:cluster/kraft-cluster/xyz-789";

fn cluster1() -> Value {
    json!({
        "clusterName": "test-cluster", "clusterArn": ARN1, "state": "ACTIVE",
        "clusterType": "PROVISIONED", "currentVersion": "1.2.3",
        "creationTime": "2023-01-01T00:00:00.000Z",
        "tags": {"Environment": "production", "Team": "platform"},
        "provisioned": {
            "currentBrokerSoftwareInfo": {
                "configurationArn": "arn:aws:kafka:us-west-2:123456789012:configuration/my-config/abc-123",
                "configurationRevision": 1, "kafkaVersion": "2.8.1"
            },
            "openMonitoring": {"prometheus": {"jmxExporter": {"enabledInBroker": true}, "nodeExporter": {"enabledInBroker": true}}},
            "numberOfBrokerNodes": 1
        }
    })
}

fn cluster2() -> Value {
    json!({
        "clusterName": "kraft-cluster", "clusterArn": ARN2, "state": "ACTIVE",
        "clusterType": "PROVISIONED", "currentVersion": "1.0.0",
        "tags": {"Type": "kraft"},
        "provisioned": {
            "currentBrokerSoftwareInfo": {
                "configurationArn": "arn:aws:kafka:us-west-2:123456789012:configuration/config/xyz",
                "configurationRevision": 2, "kafkaVersion": "3.3.1"
            },
            "openMonitoring": {"prometheus": {"jmxExporter": {"enabledInBroker": true}, "nodeExporter": {"enabledInBroker": false}}}
        }
    })
}

fn broker(n: u32, name: &str, subnet: &str, ip: &str, eni: &str, added: &str) -> Value {
    json!({
        "nodeARN": format!("arn:aws:kafka:us-west-2:123456789012:node/broker-{n}"),
        "addedToClusterTime": added, "instanceType": "kafka.m5.large", "nodeType": "BROKER",
        "brokerNodeInfo": {
            "brokerId": n as f64, "clientSubnet": subnet, "clientVpcIpAddress": ip,
            "endpoints": [format!("b-{n}.{name}.kafka.us-west-2.amazonaws.com")], "attachedENIId": eni
        }
    })
}

fn controller(n: u32) -> Value {
    json!({
        "nodeARN": format!("arn:aws:kafka:us-west-2:123456789012:node/controller-{n}"),
        "addedToClusterTime": "2023-06-01T00:00:00Z", "instanceType": "kafka.m5.large",
        "controllerNodeInfo": {"endpoints": [format!("c-{n}.kraft-cluster.xyz789.kafka.us-west-2.amazonaws.com")]}
    })
}

fn nodes(arn: &str) -> Vec<Value> {
    match arn {
        ARN1 => vec![broker(
            1,
            "test-cluster.abc123",
            "subnet-12345",
            "10.0.1.100",
            "eni-12345",
            "2023-01-01T00:00:00Z",
        )],
        ARN2 => vec![
            broker(
                1,
                "kraft-cluster.xyz789",
                "subnet-abc123",
                "10.0.2.100",
                "eni-broker-1",
                "2023-06-01T00:00:00Z",
            ),
            broker(
                2,
                "kraft-cluster.xyz789",
                "subnet-abc124",
                "10.0.2.101",
                "eni-broker-2",
                "2023-06-01T00:00:00Z",
            ),
            controller(1),
            controller(2),
        ],
        _ => vec![],
    }
}

fn escaped(arn: &str) -> String {
    arn.replace(':', "%3A").replace('/', "%2F")
}

fn responder() -> Responder {
    Arc::new(|call: &Call| {
        assert_eq!(call.service, "kafka");
        assert_eq!(call.method, "GET");
        let path = call.path.as_str();
        if path == "/api/v2/clusters" {
            // Two pages of provisioned clusters.
            let page = match call.param("nextToken") {
                None => json!({"clusterInfoList": [cluster1()], "nextToken": "p2"}),
                Some("p2") => json!({"clusterInfoList": [cluster2()]}),
                Some(other) => panic!("unexpected token {other}"),
            };
            return json(page);
        }
        for (arn, cluster) in [(ARN1, cluster1()), (ARN2, cluster2())] {
            if path == format!("/api/v2/clusters/{arn}") {
                return json(json!({"clusterInfo": cluster}));
            }
            if path == format!("/v1/clusters/{arn}/nodes") {
                assert_eq!(call.param("maxResults"), Some("100"));
                // Nodes in pages of one.
                let all = nodes(arn);
                let i: usize = call.param("nextToken").map_or(0, |t| t.parse().unwrap());
                let mut page = json!({"nodeInfoList": [all[i].clone()]});
                if i + 1 < all.len() {
                    page["nextToken"] = json!((i + 1).to_string());
                }
                return json(page);
            }
        }
        (
            404,
            "application/json",
            json!({"message": "not found"}).to_string(),
        )
    })
}

fn common(
    name: &str,
    arn: &str,
    version: &str,
    kafka: &str,
    config: &str,
    rev: &str,
) -> Vec<(String, String)> {
    [
        ("__meta_msk_cluster_name", name),
        ("__meta_msk_cluster_arn", arn),
        ("__meta_msk_cluster_state", "ACTIVE"),
        ("__meta_msk_cluster_type", "PROVISIONED"),
        ("__meta_msk_cluster_version", version),
        ("__meta_msk_cluster_jmx_exporter_enabled", "true"),
        ("__meta_msk_cluster_configuration_arn", config),
        ("__meta_msk_cluster_configuration_revision", rev),
        ("__meta_msk_cluster_kafka_version", kafka),
        ("__meta_msk_node_instance_type", "kafka.m5.large"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn with(mut base: Vec<(String, String)>, more: &[(&str, &str)]) -> Labels {
    base.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    base.into_iter().collect()
}

fn expected_cluster1() -> Vec<Labels> {
    let c = common(
        "test-cluster",
        ARN1,
        "1.2.3",
        "2.8.1",
        "arn:aws:kafka:us-west-2:123456789012:configuration/my-config/abc-123",
        "1",
    );
    vec![with(
        c,
        &[
            (
                "__address__",
                "b-1.test-cluster.abc123.kafka.us-west-2.amazonaws.com:80",
            ),
            ("__meta_msk_cluster_tag_Environment", "production"),
            ("__meta_msk_cluster_tag_Team", "platform"),
            ("__meta_msk_node_type", "BROKER"),
            (
                "__meta_msk_node_arn",
                "arn:aws:kafka:us-west-2:123456789012:node/broker-1",
            ),
            ("__meta_msk_node_added_time", "2023-01-01T00:00:00Z"),
            ("__meta_msk_node_attached_eni", "eni-12345"),
            ("__meta_msk_broker_id", "1"),
            ("__meta_msk_broker_client_subnet", "subnet-12345"),
            ("__meta_msk_broker_client_vpc_ip", "10.0.1.100"),
            ("__meta_msk_broker_node_exporter_enabled", "true"),
            ("__meta_msk_broker_endpoint_index", "0"),
        ],
    )]
}

fn expected_cluster2() -> Vec<Labels> {
    let c = common(
        "kraft-cluster",
        ARN2,
        "1.0.0",
        "3.3.1",
        "arn:aws:kafka:us-west-2:123456789012:configuration/config/xyz",
        "2",
    );
    let mut out = Vec::new();
    for (n, subnet, ip) in [
        ("1", "subnet-abc123", "10.0.2.100"),
        ("2", "subnet-abc124", "10.0.2.101"),
    ] {
        out.push(with(
            c.clone(),
            &[
                (
                    "__address__",
                    &format!("b-{n}.kraft-cluster.xyz789.kafka.us-west-2.amazonaws.com:80"),
                ),
                ("__meta_msk_cluster_tag_Type", "kraft"),
                ("__meta_msk_node_type", "BROKER"),
                (
                    "__meta_msk_node_arn",
                    &format!("arn:aws:kafka:us-west-2:123456789012:node/broker-{n}"),
                ),
                ("__meta_msk_node_added_time", "2023-06-01T00:00:00Z"),
                ("__meta_msk_node_attached_eni", &format!("eni-broker-{n}")),
                ("__meta_msk_broker_id", n),
                ("__meta_msk_broker_client_subnet", subnet),
                ("__meta_msk_broker_client_vpc_ip", ip),
                ("__meta_msk_broker_node_exporter_enabled", "false"),
                ("__meta_msk_broker_endpoint_index", "0"),
            ],
        ));
    }
    for n in ["1", "2"] {
        out.push(with(
            c.clone(),
            &[
                (
                    "__address__",
                    &format!("c-{n}.kraft-cluster.xyz789.kafka.us-west-2.amazonaws.com:80"),
                ),
                ("__meta_msk_cluster_tag_Type", "kraft"),
                ("__meta_msk_node_type", "CONTROLLER"),
                (
                    "__meta_msk_node_arn",
                    &format!("arn:aws:kafka:us-west-2:123456789012:node/controller-{n}"),
                ),
                ("__meta_msk_node_added_time", "2023-06-01T00:00:00Z"),
                ("__meta_msk_controller_endpoint_index", "0"),
            ],
        ));
    }
    out
}

fn yaml(url: &str, key: &str, extra: &str) -> String {
    format!("scrape_configs:\n  - job_name: msk\n    {key}:\n      - region: us-west-2\n        endpoint: {url}\n        access_key: {AK}\n        secret_key: {SK}\n{extra}")
}

#[test]
fn upstream_refresh_cases() {
    let f = Fixture::start(&[(AK, SK)], responder());
    let got = check_sd(
        &yaml(
            &f.url,
            "msk_sd_configs",
            &format!("        clusters: [\"{ARN1}\"]\n"),
        ),
        "msk",
        &[],
    )
    .unwrap();
    let mut expected = expected_cluster1();
    expected.sort();
    assert_eq!(got, expected, "ClusterWithBrokersUsingClustersConfig");

    let got = check_sd(
        &yaml(
            &f.url,
            "msk_sd_configs",
            &format!("        clusters: [\"{ARN2}\"]\n"),
        ),
        "msk",
        &[],
    )
    .unwrap();
    let mut expected = expected_cluster2();
    expected.sort();
    assert_eq!(
        got, expected,
        "ClusterWithBrokersAndControllersUsingClustersConfig"
    );
    assert!(f.rejected().is_empty(), "{:?}", f.rejected());
    // The ARN travels as one escaped path segment.
    let raw: Vec<String> = f.calls().iter().map(|c| c.raw_path.clone()).collect();
    assert!(
        raw.contains(&format!("/api/v2/clusters/{}", escaped(ARN2))),
        "{raw:?}"
    );
    assert!(
        raw.contains(&format!("/v1/clusters/{}/nodes", escaped(ARN2))),
        "{raw:?}"
    );
}

#[test]
fn list_clusters_pages_and_aws_role() {
    let f = Fixture::start(&[(AK, SK)], responder());
    let got = check_sd(
        &yaml(&f.url, "aws_sd_configs", "        role: msk\n"),
        "msk",
        &[],
    )
    .unwrap();
    let mut expected = expected_cluster1();
    expected.extend(expected_cluster2());
    expected.sort();
    assert_eq!(got, expected);
    let calls = f.calls();
    let listing: Vec<_> = calls
        .iter()
        .filter(|c| c.path == "/api/v2/clusters" && c.param("clusterTypeFilter").is_some())
        .collect();
    assert_eq!(listing.len(), 2);
    assert!(listing
        .iter()
        .all(|c| c.param("clusterTypeFilter") == Some("PROVISIONED")
            && c.param("maxResults") == Some("100")));
}
