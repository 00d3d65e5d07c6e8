//! ECS through the CLI: Prometheus' ecs_test.go `TestECSDiscoveryRefresh` cases
//! `SingleClusterWithTasks` (awsvpc, the ENI's public IP from EC2) and
//! `TaskWithBridgeNetworking` (the container instance's EC2 instance) in one cluster listing,
//! served as ECS JSON 1.1 and EC2 Query answers. EC2 is reached at its own endpoint (here
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
