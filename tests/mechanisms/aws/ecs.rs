//! ECS through the CLI: Prometheus' ecs_test.go `TestECSDiscoveryRefresh` cases
//! `SingleClusterWithTasks` (awsvpc, the ENI's public IP from EC2) and
//! `TaskWithBridgeNetworking` (the container instance's EC2 instance) in one cluster listing,
//! and in `upstream_refresh_table` the other six (each from its own data store, served as
//! upstream's `mockECSClient` / `mockECSEC2Client` serve it), as ECS JSON 1.1 and EC2 Query
//! answers. EC2 is reached at its own endpoint (here
//! the fixture, through the SDK's `AWS_ENDPOINT_URL_EC2`), not the configured ECS endpoint.

use std::sync::Arc;

use serde_json::{json, Value};

use super::fixture::*;

const AK: &str = "AKIDECS";
const SK: &str = "ecs-secret";

const C1: &str = "arn:aws:ecs:us-west-2:123456789012:cluster/test-cluster";
const C2: &str = "arn:aws:ecs:us-west-2:123456789012:cluster/bridge-cluster";
const CI: &str = "arn:aws:ecs:us-west-2:123456789012:container-instance/bridge-cluster/abc123";

fn cluster(arn: &str) -> Value {
    if arn == C1 {
        json!({"clusterName": "test-cluster", "clusterArn": C1, "status": "ACTIVE", "tags": [{"key": "Environment", "value": "test"}]})
    } else {
        json!({"clusterName": "bridge-cluster", "clusterArn": C2, "status": "ACTIVE"})
    }
}

fn services(arn: &str) -> Vec<Value> {
    if arn == C1 {
        vec![
            json!({"serviceName": "web-service", "serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/test-cluster/web-service", "clusterArn": C1, "status": "ACTIVE", "tags": [{"key": "App", "value": "web"}]}),
        ]
    } else {
        vec![
            json!({"serviceName": "bridge-service", "serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/bridge-cluster/bridge-service", "clusterArn": C2, "status": "ACTIVE"}),
        ]
    }
}

fn tasks(arn: &str) -> Vec<Value> {
    if arn == C1 {
        vec![json!({
            "taskArn": "arn:aws:ecs:us-west-2:123456789012:task/test-cluster/task-1",
            "clusterArn": C1,
            "taskDefinitionArn": "arn:aws:ecs:us-west-2:123456789012:task-definition/web-task:1",
            "group": "service:web-service", "launchType": "FARGATE", "lastStatus": "RUNNING",
            "desiredStatus": "RUNNING", "healthStatus": "HEALTHY", "availabilityZone": "us-west-2a",
            "platformFamily": "Linux", "platformVersion": "1.4.0",
            "attachments": [{"id": "a1", "type": "ElasticNetworkInterface", "status": "ATTACHED", "details": [
                {"name": "subnetId", "value": "subnet-12345"},
                {"name": "privateIPv4Address", "value": "10.0.1.100"},
                {"name": "networkInterfaceId", "value": "eni-fargate-123"}
            ]}],
            "tags": [{"key": "Version", "value": "v1.0"}],
            "createdAt": 1.7e9
        })]
    } else {
        vec![json!({
            "taskArn": "arn:aws:ecs:us-west-2:123456789012:task/bridge-cluster/task-bridge",
            "clusterArn": C2,
            "taskDefinitionArn": "arn:aws:ecs:us-west-2:123456789012:task-definition/bridge-task:1",
            "group": "service:bridge-service", "launchType": "EC2", "lastStatus": "RUNNING",
            "desiredStatus": "RUNNING", "healthStatus": "HEALTHY", "availabilityZone": "us-west-2a",
            "containerInstanceArn": CI, "attachments": []
        })]
    }
}

fn arn_of(call: &Call, key: &str) -> String {
    call.json[key].as_str().unwrap_or("").to_owned()
}

fn responder() -> Responder {
    Arc::new(|call: &Call| {
        if call.service == "ec2" {
            return match call.action() {
                "DescribeNetworkInterfaces" => {
                    assert_eq!(call.param("NetworkInterfaceId.1"), Some("eni-fargate-123"));
                    xml(r#"<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><networkInterfaceSet><item><networkInterfaceId>eni-fargate-123</networkInterfaceId><association><publicIp>52.1.2.3</publicIp></association></item></networkInterfaceSet></DescribeNetworkInterfacesResponse>"#.into())
                }
                "DescribeInstances" => {
                    assert_eq!(call.param("InstanceId.1"), Some("i-1234567890abcdef0"));
                    xml(r#"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><reservationSet><item><instancesSet><item><instanceId>i-1234567890abcdef0</instanceId><privateIpAddress>10.0.1.50</privateIpAddress><ipAddress>54.1.2.3</ipAddress><subnetId>subnet-bridge-1</subnetId><instanceType>t3.medium</instanceType><tagSet><item><key>Name</key><value>ecs-host-1</value></item><item><key>Environment</key><value>production</value></item></tagSet></item></instancesSet></item></reservationSet></DescribeInstancesResponse>"#.into())
                }
                _ => (400, "text/xml", String::new()),
            };
        }
        assert_eq!(call.service, "ecs");
        let op = call
            .target
            .strip_prefix("AmazonEC2ContainerServiceV20141113.")
            .unwrap_or_else(|| panic!("target {}", call.target));
        let body = match op {
            "ListClusters" => {
                assert_eq!(call.json["maxResults"], json!(100));
                match call.json.get("nextToken") {
                    None => json!({"clusterArns": [C1], "nextToken": "next"}),
                    Some(_) => json!({"clusterArns": [C2]}),
                }
            }
            "DescribeClusters" => {
                let wanted: Vec<String> = call.json["clusters"]
                    .as_array()
                    .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                    .unwrap_or_default();
                if !wanted.is_empty() {
                    assert_eq!(call.json["include"], json!(["TAGS"]));
                }
                json!({"clusters": wanted.iter().map(|a| cluster(a)).collect::<Vec<_>>(), "failures": []})
            }
            "ListServices" => {
                let arn = arn_of(call, "cluster");
                json!({"serviceArns": services(&arn).iter().map(|s| s["serviceArn"].clone()).collect::<Vec<_>>()})
            }
            "ListTasks" => {
                let arn = arn_of(call, "cluster");
                json!({"taskArns": tasks(&arn).iter().map(|t| t["taskArn"].clone()).collect::<Vec<_>>()})
            }
            "DescribeServices" => json!({"services": services(&arn_of(call, "cluster"))}),
            "DescribeTasks" => json!({"tasks": tasks(&arn_of(call, "cluster"))}),
            "DescribeContainerInstances" => {
                assert_eq!(call.json["containerInstances"], json!([CI]));
                json!({"containerInstances": [{"containerInstanceArn": CI, "ec2InstanceId": "i-1234567890abcdef0", "status": "ACTIVE"}]})
            }
            other => panic!("unexpected operation {other}"),
        };
        json(body)
    })
}

#[test]
fn upstream_refresh_cases() {
    let f = Fixture::start(&[(AK, SK)], responder());
    let yaml = format!("scrape_configs:\n  - job_name: ecs\n    ecs_sd_configs:\n      - region: us-west-2\n        endpoint: {}\n        access_key: {AK}\n        secret_key: {SK}\n", f.url);
    let got = check_sd(&yaml, "ecs", &[("AWS_ENDPOINT_URL_EC2", &f.url)]).unwrap();
    let expected = label_sets(&[
        &[
            ("__address__", "10.0.1.100:80"),
            ("__meta_ecs_cluster", "test-cluster"),
            ("__meta_ecs_cluster_arn", C1),
            ("__meta_ecs_service", "web-service"),
            (
                "__meta_ecs_service_arn",
                "arn:aws:ecs:us-west-2:123456789012:service/test-cluster/web-service",
            ),
            ("__meta_ecs_service_status", "ACTIVE"),
            ("__meta_ecs_task_group", "service:web-service"),
            (
                "__meta_ecs_task_arn",
                "arn:aws:ecs:us-west-2:123456789012:task/test-cluster/task-1",
            ),
            (
                "__meta_ecs_task_definition",
                "arn:aws:ecs:us-west-2:123456789012:task-definition/web-task:1",
            ),
            ("__meta_ecs_region", "us-west-2"),
            ("__meta_ecs_availability_zone", "us-west-2a"),
            ("__meta_ecs_subnet_id", "subnet-12345"),
            ("__meta_ecs_ip_address", "10.0.1.100"),
            ("__meta_ecs_launch_type", "FARGATE"),
            ("__meta_ecs_desired_status", "RUNNING"),
            ("__meta_ecs_last_status", "RUNNING"),
            ("__meta_ecs_health_status", "HEALTHY"),
            ("__meta_ecs_platform_family", "Linux"),
            ("__meta_ecs_platform_version", "1.4.0"),
            ("__meta_ecs_network_mode", "awsvpc"),
            ("__meta_ecs_public_ip", "52.1.2.3"),
            ("__meta_ecs_tag_cluster_Environment", "test"),
            ("__meta_ecs_tag_service_App", "web"),
            ("__meta_ecs_tag_task_Version", "v1.0"),
        ],
        &[
            ("__address__", "10.0.1.50:80"),
            ("__meta_ecs_cluster", "bridge-cluster"),
            ("__meta_ecs_cluster_arn", C2),
            ("__meta_ecs_service", "bridge-service"),
            (
                "__meta_ecs_service_arn",
                "arn:aws:ecs:us-west-2:123456789012:service/bridge-cluster/bridge-service",
            ),
            ("__meta_ecs_service_status", "ACTIVE"),
            ("__meta_ecs_task_group", "service:bridge-service"),
            (
                "__meta_ecs_task_arn",
                "arn:aws:ecs:us-west-2:123456789012:task/bridge-cluster/task-bridge",
            ),
            (
                "__meta_ecs_task_definition",
                "arn:aws:ecs:us-west-2:123456789012:task-definition/bridge-task:1",
            ),
            ("__meta_ecs_region", "us-west-2"),
            ("__meta_ecs_availability_zone", "us-west-2a"),
            ("__meta_ecs_ip_address", "10.0.1.50"),
            ("__meta_ecs_subnet_id", "subnet-bridge-1"),
            ("__meta_ecs_launch_type", "EC2"),
            ("__meta_ecs_desired_status", "RUNNING"),
            ("__meta_ecs_last_status", "RUNNING"),
            ("__meta_ecs_health_status", "HEALTHY"),
            ("__meta_ecs_network_mode", "bridge"),
            ("__meta_ecs_container_instance_arn", CI),
            ("__meta_ecs_ec2_instance_id", "i-1234567890abcdef0"),
            ("__meta_ecs_ec2_instance_type", "t3.medium"),
            ("__meta_ecs_ec2_instance_private_ip", "10.0.1.50"),
            ("__meta_ecs_ec2_instance_public_ip", "54.1.2.3"),
            ("__meta_ecs_public_ip", "54.1.2.3"),
            ("__meta_ecs_tag_ec2_Name", "ecs-host-1"),
            ("__meta_ecs_tag_ec2_Environment", "production"),
        ],
    ]);
    assert_eq!(got, expected);
    assert!(f.rejected().is_empty(), "{:?}", f.rejected());
    // EC2 calls were signed for EC2 in the same region.
    assert!(f
        .calls()
        .iter()
        .any(|c| c.service == "ec2" && c.region == "us-west-2"));

    // aws_sd_configs role ecs with `clusters`: no ListClusters.
    let f2 = Fixture::start(&[(AK, SK)], responder());
    let yaml = format!("scrape_configs:\n  - job_name: aws\n    aws_sd_configs:\n      - role: ecs\n        region: us-west-2\n        endpoint: {}\n        access_key: {AK}\n        secret_key: {SK}\n        clusters: [\"{C1}\"]\n", f2.url);
    let got = check_sd(&yaml, "aws", &[("AWS_ENDPOINT_URL_EC2", &f2.url)]).unwrap();
    assert_eq!(
        got,
        vec![expected[0].clone()]
            .into_iter()
            .chain([])
            .collect::<Vec<_>>()
            .into_iter()
            .filter(|l| l["__meta_ecs_cluster"] == "test-cluster")
            .collect::<Vec<_>>()
    );
    assert!(!f2
        .calls()
        .iter()
        .any(|c| c.target.ends_with(".ListClusters")));
}

/// An EC2 instance of the store: id, private IP, public IP, subnet, type, tags.
type Ec2Instance = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

/// Upstream's `ecsDataStore`: clusters, services, tasks, container instances, EC2 instances
/// (id, private IP, public IP, subnet, type, tags) and ENI public IPs.
#[derive(Default)]
struct Store {
    clusters: Vec<Value>,
    services: Vec<Value>,
    tasks: Vec<Value>,
    container_instances: Vec<Value>,
    ec2: Vec<Ec2Instance>,
    eni_public_ips: Vec<(&'static str, &'static str)>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The values of a Query-protocol list parameter (`Name.1`, `Name.2`, ...).
fn query_list(call: &Call, name: &str) -> Vec<String> {
    (1..)
        .map_while(|i| call.param(&format!("{name}.{i}")).map(str::to_owned))
        .collect()
}

/// Serves a store as upstream's mocks do (one page each; ListTasks by cluster, by service
/// when `serviceName` is given).
fn store_responder(store: Store) -> Responder {
    Arc::new(move |call: &Call| {
        if call.service == "ec2" {
            return match call.action() {
                "DescribeNetworkInterfaces" => {
                    let mut items = String::new();
                    for id in query_list(call, "NetworkInterfaceId") {
                        if let Some((_, ip)) = store.eni_public_ips.iter().find(|(e, _)| *e == id) {
                            items.push_str(&format!("<item><networkInterfaceId>{id}</networkInterfaceId><association><publicIp>{ip}</publicIp></association></item>"));
                        }
                    }
                    xml(format!(
                        r#"<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><networkInterfaceSet>{items}</networkInterfaceSet></DescribeNetworkInterfacesResponse>"#
                    ))
                }
                "DescribeInstances" => {
                    let mut items = String::new();
                    for id in query_list(call, "InstanceId") {
                        if let Some((_, private, public, subnet, kind, tags)) =
                            store.ec2.iter().find(|i| i.0 == id)
                        {
                            let tags: String = tags
                                .iter()
                                .map(|(k, v)| {
                                    format!("<item><key>{k}</key><value>{v}</value></item>")
                                })
                                .collect();
                            items.push_str(&format!("<item><instancesSet><item><instanceId>{id}</instanceId><privateIpAddress>{private}</privateIpAddress><ipAddress>{public}</ipAddress><subnetId>{subnet}</subnetId><instanceType>{kind}</instanceType><tagSet>{tags}</tagSet></item></instancesSet></item>"));
                        }
                    }
                    xml(format!(
                        r#"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><reservationSet>{items}</reservationSet></DescribeInstancesResponse>"#
                    ))
                }
                _ => (400, "text/xml", String::new()),
            };
        }
        assert_eq!(call.service, "ecs");
        let op = call
            .target
            .strip_prefix("AmazonEC2ContainerServiceV20141113.")
            .unwrap_or_else(|| panic!("target {}", call.target));
        let cluster = arn_of(call, "cluster");
        let in_cluster = |v: &&Value| v["clusterArn"] == cluster.as_str();
        let body = match op {
            "ListClusters" => {
                json!({"clusterArns": store.clusters.iter().map(|c| c["clusterArn"].clone()).collect::<Vec<_>>()})
            }
            "DescribeClusters" => {
                let wanted = strings(&call.json["clusters"]);
                json!({"clusters": store.clusters.iter().filter(|c| wanted.iter().any(|w| c["clusterArn"] == w.as_str())).collect::<Vec<_>>()})
            }
            "ListServices" => {
                json!({"serviceArns": store.services.iter().filter(in_cluster).map(|s| s["serviceArn"].clone()).collect::<Vec<_>>()})
            }
            "DescribeServices" => {
                let wanted = strings(&call.json["services"]);
                json!({"services": store.services.iter().filter(in_cluster).filter(|s| wanted.iter().any(|w| s["serviceArn"] == w.as_str())).collect::<Vec<_>>()})
            }
            "ListTasks" => {
                let service = call.json["serviceName"]
                    .as_str()
                    .map(|n| format!("service:{n}"));
                json!({"taskArns": store.tasks.iter().filter(in_cluster).filter(|t| service.as_ref().is_none_or(|g| t["group"] == g.as_str())).map(|t| t["taskArn"].clone()).collect::<Vec<_>>()})
            }
            "DescribeTasks" => {
                let wanted = strings(&call.json["tasks"]);
                json!({"tasks": store.tasks.iter().filter(in_cluster).filter(|t| wanted.iter().any(|w| t["taskArn"] == w.as_str())).collect::<Vec<_>>()})
            }
            "DescribeContainerInstances" => {
                let wanted = strings(&call.json["containerInstances"]);
                json!({"containerInstances": store.container_instances.iter().filter(|c| wanted.iter().any(|w| c["containerInstanceArn"] == w.as_str())).collect::<Vec<_>>()})
            }
            other => panic!("unexpected operation {other}"),
        };
        json(body)
    })
}

const ACCOUNT: &str = "arn:aws:ecs:us-west-2:123456789012";

fn eni(subnet: &str, ip: &str, eni: &str) -> Value {
    json!([{"type": "ElasticNetworkInterface", "details": [
        {"name": "subnetId", "value": subnet},
        {"name": "privateIPv4Address", "value": ip},
        {"name": "networkInterfaceId", "value": eni}
    ]}])
}

fn simple_cluster(name: &str) -> Value {
    json!({"clusterName": name, "clusterArn": format!("{ACCOUNT}:cluster/{name}"), "status": "ACTIVE"})
}

fn simple_service(cluster: &str, name: &str) -> Value {
    json!({"serviceName": name, "serviceArn": format!("{ACCOUNT}:service/{cluster}/{name}"), "clusterArn": format!("{ACCOUNT}:cluster/{cluster}"), "status": "ACTIVE"})
}

#[allow(clippy::too_many_arguments)]
fn task(
    cluster: &str,
    id: &str,
    def: &str,
    group: &str,
    launch: &str,
    az: &str,
    ci: Option<&str>,
    attachments: Value,
) -> Value {
    let mut t = json!({
        "taskArn": format!("{ACCOUNT}:task/{cluster}/{id}"),
        "clusterArn": format!("{ACCOUNT}:cluster/{cluster}"),
        "taskDefinitionArn": format!("{ACCOUNT}:task-definition/{def}"),
        "group": group, "launchType": launch, "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
        "healthStatus": "HEALTHY", "availabilityZone": az, "attachments": attachments
    });
    if let Some(ci) = ci {
        t["containerInstanceArn"] = json!(format!("{ACCOUNT}:container-instance/{cluster}/{ci}"));
    }
    t
}

fn container_instance(cluster: &str, ci: &str, instance: &str) -> Value {
    json!({"containerInstanceArn": format!("{ACCOUNT}:container-instance/{cluster}/{ci}"), "ec2InstanceId": instance, "status": "ACTIVE"})
}

/// The labels every running task of these cases has.
#[allow(clippy::too_many_arguments)]
fn task_labels(
    cluster: &str,
    id: &str,
    def: &str,
    az: &str,
    launch: &str,
    mode: &str,
    ip: &str,
    subnet: &str,
) -> Vec<(String, String)> {
    [
        ("__address__", format!("{ip}:80")),
        ("__meta_ecs_cluster", cluster.to_owned()),
        (
            "__meta_ecs_cluster_arn",
            format!("{ACCOUNT}:cluster/{cluster}"),
        ),
        (
            "__meta_ecs_task_arn",
            format!("{ACCOUNT}:task/{cluster}/{id}"),
        ),
        (
            "__meta_ecs_task_definition",
            format!("{ACCOUNT}:task-definition/{def}"),
        ),
        ("__meta_ecs_region", "us-west-2".to_owned()),
        ("__meta_ecs_availability_zone", az.to_owned()),
        ("__meta_ecs_ip_address", ip.to_owned()),
        ("__meta_ecs_subnet_id", subnet.to_owned()),
        ("__meta_ecs_launch_type", launch.to_owned()),
        ("__meta_ecs_desired_status", "RUNNING".to_owned()),
        ("__meta_ecs_last_status", "RUNNING".to_owned()),
        ("__meta_ecs_health_status", "HEALTHY".to_owned()),
        ("__meta_ecs_network_mode", mode.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn service_labels(cluster: &str, service: &str) -> Vec<(String, String)> {
    vec![
        ("__meta_ecs_service".into(), service.into()),
        (
            "__meta_ecs_service_arn".into(),
            format!("{ACCOUNT}:service/{cluster}/{service}"),
        ),
        ("__meta_ecs_service_status".into(), "ACTIVE".into()),
        ("__meta_ecs_task_group".into(), format!("service:{service}")),
    ]
}

fn set(parts: &[Vec<(String, String)>], more: &[(&str, &str)]) -> Labels {
    parts
        .iter()
        .flatten()
        .cloned()
        .chain(more.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// The six `TestECSDiscoveryRefresh` cases not in `upstream_refresh_cases`: (name, region,
/// store, expected targets).
fn refresh_table() -> Vec<(&'static str, &'static str, Store, Vec<Labels>)> {
    let mixed = "mixed-cluster";
    let awsvpc = "ec2-awsvpc-cluster";
    vec![
        (
            "NoTasks",
            "us-east-1",
            Store {
                clusters: vec![
                    json!({"clusterName": "empty-cluster", "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/empty-cluster", "status": "ACTIVE"}),
                ],
                services: vec![
                    json!({"serviceName": "empty-service", "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/empty-cluster/empty-service", "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/empty-cluster", "status": "ACTIVE"}),
                ],
                ..Store::default()
            },
            vec![],
        ),
        (
            "TaskWithoutENI",
            "us-west-2",
            Store {
                clusters: vec![simple_cluster("test-cluster")],
                services: vec![simple_service("test-cluster", "service-1")],
                tasks: vec![task(
                    "test-cluster",
                    "task-1",
                    "task-def:1",
                    "service:service-1",
                    "EC2",
                    "us-west-2a",
                    None,
                    json!([]),
                )],
                ..Store::default()
            },
            vec![],
        ),
        (
            "StandaloneTaskWithCustomGroup",
            "us-west-2",
            Store {
                clusters: vec![simple_cluster("standalone-cluster")],
                tasks: vec![{
                    let mut t = task(
                        "standalone-cluster",
                        "task-standalone",
                        "standalone-task:1",
                        "batch-jobs",
                        "FARGATE",
                        "us-west-2a",
                        None,
                        eni("subnet-standalone-1", "10.0.4.10", "eni-standalone-123"),
                    );
                    t["tags"] = json!([{"key": "Role", "value": "batch"}]);
                    t
                }],
                eni_public_ips: vec![("eni-standalone-123", "52.4.5.6")],
                ..Store::default()
            },
            vec![set(
                &[task_labels(
                    "standalone-cluster",
                    "task-standalone",
                    "standalone-task:1",
                    "us-west-2a",
                    "FARGATE",
                    "awsvpc",
                    "10.0.4.10",
                    "subnet-standalone-1",
                )],
                &[
                    ("__meta_ecs_task_group", "batch-jobs"),
                    ("__meta_ecs_public_ip", "52.4.5.6"),
                    ("__meta_ecs_tag_task_Role", "batch"),
                ],
            )],
        ),
        (
            "MixedNetworkingModes",
            "us-west-2",
            Store {
                clusters: vec![simple_cluster(mixed)],
                services: vec![simple_service(mixed, "mixed-service")],
                tasks: vec![
                    task(
                        mixed,
                        "task-awsvpc",
                        "awsvpc-task:1",
                        "service:mixed-service",
                        "FARGATE",
                        "us-west-2a",
                        None,
                        eni("subnet-12345", "10.0.2.100", "eni-mixed-awsvpc"),
                    ),
                    task(
                        mixed,
                        "task-bridge",
                        "bridge-task:1",
                        "service:mixed-service",
                        "EC2",
                        "us-west-2b",
                        Some("xyz789"),
                        json!([]),
                    ),
                ],
                container_instances: vec![container_instance(
                    mixed,
                    "xyz789",
                    "i-0987654321fedcba0",
                )],
                ec2: vec![(
                    "i-0987654321fedcba0",
                    "10.0.1.75",
                    "54.2.3.4",
                    "subnet-bridge-2",
                    "t3.large",
                    vec![("Name", "mixed-host"), ("Team", "platform")],
                )],
                eni_public_ips: vec![("eni-mixed-awsvpc", "52.2.3.4")],
            },
            vec![
                set(
                    &[
                        task_labels(
                            mixed,
                            "task-awsvpc",
                            "awsvpc-task:1",
                            "us-west-2a",
                            "FARGATE",
                            "awsvpc",
                            "10.0.2.100",
                            "subnet-12345",
                        ),
                        service_labels(mixed, "mixed-service"),
                    ],
                    &[("__meta_ecs_public_ip", "52.2.3.4")],
                ),
                set(
                    &[
                        task_labels(
                            mixed,
                            "task-bridge",
                            "bridge-task:1",
                            "us-west-2b",
                            "EC2",
                            "bridge",
                            "10.0.1.75",
                            "subnet-bridge-2",
                        ),
                        service_labels(mixed, "mixed-service"),
                    ],
                    &[
                        (
                            "__meta_ecs_container_instance_arn",
                            &format!("{ACCOUNT}:container-instance/{mixed}/xyz789"),
                        ),
                        ("__meta_ecs_ec2_instance_id", "i-0987654321fedcba0"),
                        ("__meta_ecs_ec2_instance_type", "t3.large"),
                        ("__meta_ecs_ec2_instance_private_ip", "10.0.1.75"),
                        ("__meta_ecs_ec2_instance_public_ip", "54.2.3.4"),
                        ("__meta_ecs_public_ip", "54.2.3.4"),
                        ("__meta_ecs_tag_ec2_Name", "mixed-host"),
                        ("__meta_ecs_tag_ec2_Team", "platform"),
                    ],
                ),
            ],
        ),
        (
            "EC2WithAwsvpcNetworking",
            "us-west-2",
            Store {
                clusters: vec![simple_cluster(awsvpc)],
                services: vec![simple_service(awsvpc, "ec2-awsvpc-service")],
                tasks: vec![task(
                    awsvpc,
                    "task-ec2-awsvpc",
                    "ec2-awsvpc-task:1",
                    "service:ec2-awsvpc-service",
                    "EC2",
                    "us-west-2c",
                    Some("def456"),
                    eni("subnet-99999", "10.0.3.200", "eni-ec2-awsvpc"),
                )],
                container_instances: vec![container_instance(
                    awsvpc,
                    "def456",
                    "i-ec2awsvpcinstance",
                )],
                ec2: vec![(
                    "i-ec2awsvpcinstance",
                    "10.0.9.99",
                    "54.3.4.5",
                    "subnet-wrong",
                    "c5.2xlarge",
                    vec![("Name", "ec2-awsvpc-host"), ("Owner", "team-a")],
                )],
                eni_public_ips: vec![("eni-ec2-awsvpc", "52.3.4.5")],
            },
            vec![set(
                &[
                    task_labels(
                        awsvpc,
                        "task-ec2-awsvpc",
                        "ec2-awsvpc-task:1",
                        "us-west-2c",
                        "EC2",
                        "awsvpc",
                        "10.0.3.200",
                        "subnet-99999",
                    ),
                    service_labels(awsvpc, "ec2-awsvpc-service"),
                ],
                &[
                    (
                        "__meta_ecs_container_instance_arn",
                        &format!("{ACCOUNT}:container-instance/{awsvpc}/def456"),
                    ),
                    ("__meta_ecs_ec2_instance_id", "i-ec2awsvpcinstance"),
                    ("__meta_ecs_ec2_instance_type", "c5.2xlarge"),
                    ("__meta_ecs_ec2_instance_private_ip", "10.0.9.99"),
                    ("__meta_ecs_ec2_instance_public_ip", "54.3.4.5"),
                    ("__meta_ecs_public_ip", "52.3.4.5"),
                    ("__meta_ecs_tag_ec2_Name", "ec2-awsvpc-host"),
                    ("__meta_ecs_tag_ec2_Owner", "team-a"),
                ],
            )],
        ),
        (
            "TaskWithNilOptionalFields",
            "us-west-2",
            Store {
                clusters: vec![simple_cluster("nil-cluster")],
                tasks: vec![json!({
                    "taskArn": format!("{ACCOUNT}:task/nil-cluster/task-nil"),
                    "clusterArn": format!("{ACCOUNT}:cluster/nil-cluster"),
                    "taskDefinitionArn": format!("{ACCOUNT}:task-definition/nil-task:1"),
                    "launchType": "FARGATE",
                    "attachments": [{"type": "ElasticNetworkInterface", "details": [
                        {}, {"name": "subnetId"}, {"name": "privateIPv4Address", "value": "10.0.4.10"}
                    ]}]
                })],
                ..Store::default()
            },
            // Upstream's `__meta_ecs_health_status: ""` is dropped from discovered labels.
            vec![set(
                &[],
                &[
                    ("__address__", "10.0.4.10:80"),
                    ("__meta_ecs_cluster", "nil-cluster"),
                    (
                        "__meta_ecs_cluster_arn",
                        &format!("{ACCOUNT}:cluster/nil-cluster"),
                    ),
                    (
                        "__meta_ecs_task_arn",
                        &format!("{ACCOUNT}:task/nil-cluster/task-nil"),
                    ),
                    (
                        "__meta_ecs_task_definition",
                        &format!("{ACCOUNT}:task-definition/nil-task:1"),
                    ),
                    ("__meta_ecs_region", "us-west-2"),
                    ("__meta_ecs_ip_address", "10.0.4.10"),
                    ("__meta_ecs_launch_type", "FARGATE"),
                    ("__meta_ecs_network_mode", "awsvpc"),
                ],
            )],
        ),
    ]
}

#[test]
fn upstream_refresh_table() {
    for (name, region, store, mut expected) in refresh_table() {
        let f = Fixture::start(&[(AK, SK)], store_responder(store));
        let yaml = format!("scrape_configs:\n  - job_name: ecs\n    ecs_sd_configs:\n      - region: {region}\n        endpoint: {}\n        access_key: {AK}\n        secret_key: {SK}\n", f.url);
        let got = check_sd(&yaml, "ecs", &[("AWS_ENDPOINT_URL_EC2", &f.url)])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        expected.sort();
        assert_eq!(got, expected, "{name}");
        assert!(f.rejected().is_empty(), "{name}: {:?}", f.rejected());
        assert!(f.calls().iter().all(|c| c.region == region), "{name}");
    }
}
