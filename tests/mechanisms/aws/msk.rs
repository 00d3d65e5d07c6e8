//! MSK through the CLI: the eight cases of Prometheus' msk_test.go `TestMSKDiscoveryRefresh`
//! served as REST-JSON (DescribeClusterV2 / ListNodes with the ARN as one escaped path
//! segment, signed as `kafka`), and ListClustersV2 / ListNodes pages. `upstream_refresh_cases`
//! keeps the two with brokers and controllers; `upstream_refresh_table` the other six, each
//! from its own data store served as upstream's `mockMSKClient` serves it.

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

/// Upstream's `mskDataStore`: the clusters and each cluster's nodes.
struct Store {
    clusters: Vec<Value>,
    nodes: Vec<(&'static str, Vec<Value>)>,
}

/// Serves a store as `mockMSKClient` does: DescribeClusterV2 by ARN (404 when absent),
/// ListClustersV2 filtered by `clusterTypeFilter`, ListNodes of a cluster (in pages of one, so
/// pagination must be followed; none for an unknown cluster).
fn store_responder(store: Store) -> Responder {
    Arc::new(move |call: &Call| {
        assert_eq!(call.service, "kafka");
        assert_eq!(call.method, "GET");
        let path = call.path.as_str();
        if path == "/api/v2/clusters" {
            let list: Vec<&Value> = store
                .clusters
                .iter()
                .filter(|c| {
                    call.param("clusterTypeFilter")
                        .is_none_or(|t| c["clusterType"] == t)
                })
                .collect();
            return json(json!({ "clusterInfoList": list }));
        }
        for cluster in &store.clusters {
            let arn = cluster["clusterArn"].as_str().unwrap();
            if path == format!("/api/v2/clusters/{arn}") {
                return json(json!({ "clusterInfo": cluster }));
            }
        }
        if let Some(arn) = path
            .strip_prefix("/v1/clusters/")
            .and_then(|p| p.strip_suffix("/nodes"))
        {
            assert_eq!(call.param("maxResults"), Some("100"));
            let all = store
                .nodes
                .iter()
                .find(|(a, _)| *a == arn)
                .map(|(_, n)| n.clone())
                .unwrap_or_default();
            if all.is_empty() {
                return json(json!({}));
            }
            let i: usize = call.param("nextToken").map_or(0, |t| t.parse().unwrap());
            let mut page = json!({"nodeInfoList": [all[i].clone()]});
            if i + 1 < all.len() {
                page["nextToken"] = json!((i + 1).to_string());
            }
            return json(page);
        }
        (
            404,
            "application/json",
            json!({"message": "not found"}).to_string(),
        )
    })
}

fn node(
    arn: &str,
    instance: &str,
    added: &str,
    broker: Option<Value>,
    controller: Option<Value>,
) -> Value {
    let mut n = json!({"nodeARN": arn, "addedToClusterTime": added, "instanceType": instance});
    if let Some(b) = broker {
        n["brokerNodeInfo"] = b;
    }
    if let Some(c) = controller {
        n["controllerNodeInfo"] = c;
    }
    n
}

fn monitoring(jmx: bool, node_exporter: bool) -> Value {
    json!({"prometheus": {"jmxExporter": {"enabledInBroker": jmx}, "nodeExporter": {"enabledInBroker": node_exporter}}})
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const SERVERLESS: &str = "arn:aws:kafka:us-west-2:123456789012:cluster/serverless-cluster/def-456";
const NO_MONITORING: &str =
    "arn:aws:kafka:us-west-2:123456789012:cluster/no-monitoring-cluster/ghi-789";
const AUTO: &str = "arn:aws:kafka:us-west-2:123456789012:cluster/auto-discovered-cluster/xyz-123";
const MULTI: &str = "arn:aws:kafka:us-east-1:123456789012:cluster/multi-endpoint-cluster/abc-999";

fn broker3() -> Value {
    node(
        "arn:aws:kafka:us-west-2:123456789012:node/broker-3",
        "kafka.m5.large",
        "2023-01-01T00:00:00Z",
        Some(json!({
            "brokerId": 3.0, "clientSubnet": "subnet-12345", "clientVpcIpAddress": "10.0.3.100",
            "endpoints": ["b-3.no-monitoring-cluster.ghi789.kafka.us-west-2.amazonaws.com"],
            "attachedENIId": "eni-12345"
        })),
        None,
    )
}

fn broker3_labels(more: &[(&str, &str)]) -> Labels {
    let mut l = labels(&[
        (
            "__address__",
            "b-3.no-monitoring-cluster.ghi789.kafka.us-west-2.amazonaws.com:80",
        ),
        ("__meta_msk_cluster_name", "no-monitoring-cluster"),
        ("__meta_msk_cluster_arn", NO_MONITORING),
        ("__meta_msk_cluster_state", "ACTIVE"),
        ("__meta_msk_cluster_type", "PROVISIONED"),
        ("__meta_msk_cluster_version", "1.2.3"),
        ("__meta_msk_cluster_kafka_version", "2.8.1"),
        ("__meta_msk_node_type", "BROKER"),
        (
            "__meta_msk_node_arn",
            "arn:aws:kafka:us-west-2:123456789012:node/broker-3",
        ),
        ("__meta_msk_node_added_time", "2023-01-01T00:00:00Z"),
        ("__meta_msk_node_instance_type", "kafka.m5.large"),
        ("__meta_msk_node_attached_eni", "eni-12345"),
        ("__meta_msk_broker_id", "3"),
        ("__meta_msk_broker_client_subnet", "subnet-12345"),
        ("__meta_msk_broker_client_vpc_ip", "10.0.3.100"),
        ("__meta_msk_broker_endpoint_index", "0"),
    ]);
    l.extend(labels(more));
    l
}

/// One case: name, region, configured clusters (`None`: no `clusters` key), store, targets.
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Store,
    Vec<Labels>,
);

/// The six `TestMSKDiscoveryRefresh` cases not in `upstream_refresh_cases`: (name, region,
/// configured clusters or `None` for no `clusters` key, store, expected targets).
fn refresh_table() -> Vec<Case> {
    vec![
        (
            "ServerlessClusterProducesNoTargets",
            "us-west-2",
            Some(SERVERLESS),
            Store {
                clusters: vec![json!({
                    "clusterName": "serverless-cluster", "clusterArn": SERVERLESS, "state": "ACTIVE",
                    "clusterType": "SERVERLESS", "currentVersion": "1.0.0"
                })],
                nodes: vec![(
                    SERVERLESS,
                    vec![node(
                        "arn:aws:kafka:us-west-2:123456789012:node/broker-2",
                        "kafka.m5.xlarge",
                        "2023-01-01T00:00:00Z",
                        Some(json!({
                            "brokerId": 2.0, "clientSubnet": "subnet-67890", "clientVpcIpAddress": "10.0.2.100",
                            "endpoints": ["b-2.serverless-cluster.def456.kafka.us-west-2.amazonaws.com"],
                            "attachedENIId": "eni-67890"
                        })),
                        None,
                    )],
                )],
            },
            vec![],
        ),
        (
            "ProvisionedClusterWithoutOpenMonitoring",
            "us-west-2",
            Some(NO_MONITORING),
            Store {
                clusters: vec![json!({
                    "clusterName": "no-monitoring-cluster", "clusterArn": NO_MONITORING, "state": "ACTIVE",
                    "clusterType": "PROVISIONED", "currentVersion": "1.2.3",
                    "provisioned": {"currentBrokerSoftwareInfo": {
                        "configurationArn": "arn:aws:kafka:us-west-2:123456789012:configuration/my-config/ghi-789",
                        "configurationRevision": 2, "kafkaVersion": "2.8.1"
                    }}
                })],
                nodes: vec![(NO_MONITORING, vec![broker3()])],
            },
            vec![broker3_labels(&[
                (
                    "__meta_msk_cluster_configuration_arn",
                    "arn:aws:kafka:us-west-2:123456789012:configuration/my-config/ghi-789",
                ),
                ("__meta_msk_cluster_configuration_revision", "2"),
            ])],
        ),
        (
            "ProvisionedClusterWithoutCustomConfiguration",
            "us-west-2",
            Some(NO_MONITORING),
            Store {
                clusters: vec![json!({
                    "clusterName": "no-monitoring-cluster", "clusterArn": NO_MONITORING, "state": "ACTIVE",
                    "clusterType": "PROVISIONED", "currentVersion": "1.2.3",
                    "provisioned": {
                        "currentBrokerSoftwareInfo": {"kafkaVersion": "2.8.1"},
                        "openMonitoring": monitoring(true, true)
                    }
                })],
                nodes: vec![(NO_MONITORING, vec![broker3()])],
            },
            vec![broker3_labels(&[
                ("__meta_msk_cluster_jmx_exporter_enabled", "true"),
                ("__meta_msk_broker_node_exporter_enabled", "true"),
            ])],
        ),
        (
            "NoClustersWithEmptyClustersConfig",
            "us-east-1",
            Some(""),
            Store {
                clusters: vec![],
                nodes: vec![],
            },
            vec![],
        ),
        (
            "ClusterWithBrokersUsingListClusters",
            "us-west-2",
            None,
            Store {
                clusters: vec![json!({
                    "clusterName": "auto-discovered-cluster", "clusterArn": AUTO, "state": "ACTIVE",
                    "clusterType": "PROVISIONED", "currentVersion": "1.0.0",
                    "provisioned": {
                        "currentBrokerSoftwareInfo": {
                            "configurationArn": "arn:aws:kafka:us-west-2:123456789012:configuration/config/xyz",
                            "configurationRevision": 1, "kafkaVersion": "3.3.1"
                        },
                        "openMonitoring": monitoring(true, true)
                    }
                })],
                nodes: vec![(
                    AUTO,
                    vec![node(
                        "arn:aws:kafka:us-west-2:123456789012:node/broker-auto",
                        "kafka.m5.large",
                        "2023-01-01T00:00:00Z",
                        Some(json!({
                            "brokerId": 1.0, "clientSubnet": "subnet-auto", "clientVpcIpAddress": "10.0.1.200",
                            "endpoints": ["b-auto.cluster.kafka.us-west-2.amazonaws.com"],
                            "attachedENIId": "eni-auto"
                        })),
                        None,
                    )],
                )],
            },
            vec![labels(&[
                (
                    "__address__",
                    "b-auto.cluster.kafka.us-west-2.amazonaws.com:80",
                ),
                ("__meta_msk_cluster_name", "auto-discovered-cluster"),
                ("__meta_msk_cluster_arn", AUTO),
                ("__meta_msk_cluster_state", "ACTIVE"),
                ("__meta_msk_cluster_type", "PROVISIONED"),
                ("__meta_msk_cluster_version", "1.0.0"),
                ("__meta_msk_cluster_jmx_exporter_enabled", "true"),
                (
                    "__meta_msk_cluster_configuration_arn",
                    "arn:aws:kafka:us-west-2:123456789012:configuration/config/xyz",
                ),
                ("__meta_msk_cluster_configuration_revision", "1"),
                ("__meta_msk_cluster_kafka_version", "3.3.1"),
                ("__meta_msk_node_type", "BROKER"),
                (
                    "__meta_msk_node_arn",
                    "arn:aws:kafka:us-west-2:123456789012:node/broker-auto",
                ),
                ("__meta_msk_node_added_time", "2023-01-01T00:00:00Z"),
                ("__meta_msk_node_instance_type", "kafka.m5.large"),
                ("__meta_msk_node_attached_eni", "eni-auto"),
                ("__meta_msk_broker_id", "1"),
                ("__meta_msk_broker_client_subnet", "subnet-auto"),
                ("__meta_msk_broker_client_vpc_ip", "10.0.1.200"),
                ("__meta_msk_broker_node_exporter_enabled", "true"),
                ("__meta_msk_broker_endpoint_index", "0"),
            ])],
        ),
        (
            "NodesWithMultipleEndpointsUsingClustersConfig",
            "us-east-1",
            Some(MULTI),
            Store {
                clusters: vec![json!({
                    "clusterName": "multi-endpoint-cluster", "clusterArn": MULTI, "state": "ACTIVE",
                    "clusterType": "PROVISIONED", "currentVersion": "2.0.0",
                    "provisioned": {
                        "currentBrokerSoftwareInfo": {
                            "configurationArn": "arn:aws:kafka:us-east-1:123456789012:configuration/config/abc",
                            "configurationRevision": 1, "kafkaVersion": "3.4.0"
                        },
                        "openMonitoring": monitoring(true, true)
                    }
                })],
                nodes: vec![(
                    MULTI,
                    vec![
                        node(
                            "arn:aws:kafka:us-east-1:123456789012:node/broker-multi",
                            "kafka.m5.xlarge",
                            "2023-08-01T00:00:00Z",
                            Some(json!({
                                "brokerId": 3.0, "clientSubnet": "subnet-multi-1", "clientVpcIpAddress": "10.0.3.50",
                                "endpoints": [
                                    "b-3-1.cluster.kafka.us-east-1.amazonaws.com",
                                    "b-3-2.cluster.kafka.us-east-1.amazonaws.com",
                                    "b-3-3.cluster.kafka.us-east-1.amazonaws.com"
                                ],
                                "attachedENIId": "eni-multi-broker"
                            })),
                            None,
                        ),
                        node(
                            "arn:aws:kafka:us-east-1:123456789012:node/controller-multi",
                            "kafka.m5.large",
                            "2023-08-01T00:00:00Z",
                            None,
                            Some(json!({"endpoints": [
                                "c-1-1.cluster.kafka.us-east-1.amazonaws.com",
                                "c-1-2.cluster.kafka.us-east-1.amazonaws.com",
                                "c-1-3.cluster.kafka.us-east-1.amazonaws.com",
                                "c-1-4.cluster.kafka.us-east-1.amazonaws.com"
                            ]})),
                        ),
                    ],
                )],
            },
            multi_expected(),
        ),
    ]
}

fn multi_expected() -> Vec<Labels> {
    let cluster = [
        ("__meta_msk_cluster_name", "multi-endpoint-cluster"),
        ("__meta_msk_cluster_arn", MULTI),
        ("__meta_msk_cluster_state", "ACTIVE"),
        ("__meta_msk_cluster_type", "PROVISIONED"),
        ("__meta_msk_cluster_version", "2.0.0"),
        ("__meta_msk_cluster_jmx_exporter_enabled", "true"),
        (
            "__meta_msk_cluster_configuration_arn",
            "arn:aws:kafka:us-east-1:123456789012:configuration/config/abc",
        ),
        ("__meta_msk_cluster_configuration_revision", "1"),
        ("__meta_msk_cluster_kafka_version", "3.4.0"),
        ("__meta_msk_node_added_time", "2023-08-01T00:00:00Z"),
    ];
    let mut out = Vec::new();
    for i in 0..3 {
        let mut l = labels(&cluster);
        l.extend(labels(&[
            ("__meta_msk_node_type", "BROKER"),
            (
                "__meta_msk_node_arn",
                "arn:aws:kafka:us-east-1:123456789012:node/broker-multi",
            ),
            ("__meta_msk_node_instance_type", "kafka.m5.xlarge"),
            ("__meta_msk_node_attached_eni", "eni-multi-broker"),
            ("__meta_msk_broker_id", "3"),
            ("__meta_msk_broker_client_subnet", "subnet-multi-1"),
            ("__meta_msk_broker_client_vpc_ip", "10.0.3.50"),
            ("__meta_msk_broker_node_exporter_enabled", "true"),
            ("__meta_msk_broker_endpoint_index", &i.to_string()),
            (
                "__address__",
                &format!("b-3-{}.cluster.kafka.us-east-1.amazonaws.com:80", i + 1),
            ),
        ]));
        out.push(l);
    }
    for i in 0..4 {
        let mut l = labels(&cluster);
        l.extend(labels(&[
            ("__meta_msk_node_type", "CONTROLLER"),
            (
                "__meta_msk_node_arn",
                "arn:aws:kafka:us-east-1:123456789012:node/controller-multi",
            ),
            ("__meta_msk_node_instance_type", "kafka.m5.large"),
            ("__meta_msk_controller_endpoint_index", &i.to_string()),
            (
                "__address__",
                &format!("c-1-{}.cluster.kafka.us-east-1.amazonaws.com:80", i + 1),
            ),
        ]));
        out.push(l);
    }
    out
}

#[test]
fn upstream_refresh_table() {
    for (name, region, clusters, store, mut expected) in refresh_table() {
        let f = Fixture::start(&[(AK, SK)], store_responder(store));
        let extra = match clusters {
            None => String::new(),
            Some("") => "        clusters: []\n".to_owned(),
            Some(arn) => format!("        clusters: [\"{arn}\"]\n"),
        };
        let yaml = format!("scrape_configs:\n  - job_name: msk\n    msk_sd_configs:\n      - region: {region}\n        endpoint: {}\n        access_key: {AK}\n        secret_key: {SK}\n{extra}", f.url);
        let got = check_sd(&yaml, "msk", &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        expected.sort();
        assert_eq!(got, expected, "{name}");
        assert!(f.rejected().is_empty(), "{name}: {:?}", f.rejected());
        let calls = f.calls();
        assert!(calls.iter().all(|c| c.region == region), "{name}");
        // Configured clusters are described one by one; without them the provisioned ones are listed.
        let described = calls
            .iter()
            .any(|c| c.path.starts_with("/api/v2/clusters/"));
        let listed = calls
            .iter()
            .any(|c| c.param("clusterTypeFilter") == Some("PROVISIONED"));
        match clusters {
            Some(arn) if !arn.is_empty() => assert!(described && !listed, "{name}"),
            _ => assert!(listed && !described, "{name}"),
        }
    }
}
