//! Prometheus' `discovery/hetzner` tests, ported: the same mock answers (kept as test data in
//! `tests/mechanisms/testdata/hetzner/`), the same expected label sets.

use std::collections::BTreeMap;

use promsd_actors::model::labels_map;

use super::api::{NetworkList, RobotEntry, ServerList};
use super::refresh::go_query_escape;
use super::targets::{go_cidr_network_string, go_ip_string, hcloud_group, robot_group};
use super::*;

const SERVERS: &str =
    include_str!("../../../tests/mechanisms/testdata/hetzner/hcloud_servers.json");
const NETWORKS: &str =
    include_str!("../../../tests/mechanisms/testdata/hetzner/hcloud_networks.json");
const ROBOT: &str = include_str!("../../../tests/mechanisms/testdata/hetzner/robot_servers.json");

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// hcloud_test.go, `TestHCloudSDRefresh`.
#[test]
fn hcloud_refresh_labels() {
    let servers: ServerList = serde_json::from_str(SERVERS).unwrap();
    let networks: NetworkList = serde_json::from_str(NETWORKS).unwrap();
    let group = hcloud_group(&servers.servers, &networks.networks, 80);
    assert_eq!(&*group.source, "hetzner");
    assert_eq!(group.targets.len(), 3);
    let want = [
        map(&[
            ("__address__", "1.2.3.4:80"),
            ("__meta_hetzner_role", "hcloud"),
            ("__meta_hetzner_server_id", "42"),
            ("__meta_hetzner_server_name", "my-server"),
            ("__meta_hetzner_server_status", "running"),
            ("__meta_hetzner_public_ipv4", "1.2.3.4"),
            ("__meta_hetzner_public_ipv6_network", "2001:db8::/64"),
            ("__meta_hetzner_hcloud_image_name", "ubuntu-20.04"),
            (
                "__meta_hetzner_hcloud_image_description",
                "Ubuntu 20.04 Standard 64 bit",
            ),
            ("__meta_hetzner_hcloud_image_os_flavor", "ubuntu"),
            ("__meta_hetzner_hcloud_image_os_version", "20.04"),
            ("__meta_hetzner_hcloud_location", "fsn1"),
            ("__meta_hetzner_hcloud_location_network_zone", "eu-central"),
            ("__meta_hetzner_hcloud_datacenter_location", "fsn1"),
            (
                "__meta_hetzner_hcloud_datacenter_location_network_zone",
                "eu-central",
            ),
            ("__meta_hetzner_hcloud_cpu_cores", "1"),
            ("__meta_hetzner_hcloud_cpu_type", "shared"),
            ("__meta_hetzner_hcloud_memory_size_gb", "1"),
            ("__meta_hetzner_hcloud_disk_size_gb", "25"),
            ("__meta_hetzner_hcloud_server_type", "cx11"),
            ("__meta_hetzner_hcloud_private_ipv4_mynet", "10.0.0.2"),
            ("__meta_hetzner_hcloud_labelpresent_my_key", "true"),
            ("__meta_hetzner_hcloud_label_my_key", "my-value"),
        ]),
        map(&[
            ("__address__", "1.2.3.5:80"),
            ("__meta_hetzner_role", "hcloud"),
            ("__meta_hetzner_server_id", "44"),
            ("__meta_hetzner_server_name", "another-server"),
            ("__meta_hetzner_server_status", "stopped"),
            ("__meta_hetzner_public_ipv4", "1.2.3.5"),
            ("__meta_hetzner_public_ipv6_network", "2001:db9::/64"),
            ("__meta_hetzner_hcloud_image_name", "ubuntu-20.04"),
            (
                "__meta_hetzner_hcloud_image_description",
                "Ubuntu 20.04 Standard 64 bit",
            ),
            ("__meta_hetzner_hcloud_image_os_flavor", "ubuntu"),
            ("__meta_hetzner_hcloud_image_os_version", "20.04"),
            ("__meta_hetzner_hcloud_location", "fsn1"),
            ("__meta_hetzner_hcloud_location_network_zone", "eu-central"),
            ("__meta_hetzner_hcloud_datacenter_location", "fsn1"),
            (
                "__meta_hetzner_hcloud_datacenter_location_network_zone",
                "eu-central",
            ),
            ("__meta_hetzner_hcloud_cpu_cores", "2"),
            ("__meta_hetzner_hcloud_cpu_type", "shared"),
            ("__meta_hetzner_hcloud_memory_size_gb", "1"),
            ("__meta_hetzner_hcloud_disk_size_gb", "50"),
            ("__meta_hetzner_hcloud_server_type", "cpx11"),
            ("__meta_hetzner_hcloud_labelpresent_key", "true"),
            ("__meta_hetzner_hcloud_labelpresent_other_key", "true"),
            ("__meta_hetzner_hcloud_label_key", ""),
            ("__meta_hetzner_hcloud_label_other_key", "value"),
        ]),
        map(&[
            ("__address__", "1.2.3.6:80"),
            ("__meta_hetzner_role", "hcloud"),
            ("__meta_hetzner_server_id", "36"),
            ("__meta_hetzner_server_name", "deleted-image-server"),
            ("__meta_hetzner_server_status", "stopped"),
            ("__meta_hetzner_public_ipv4", "1.2.3.6"),
            ("__meta_hetzner_public_ipv6_network", "2001:db7::/64"),
            ("__meta_hetzner_hcloud_location", "fsn1"),
            ("__meta_hetzner_hcloud_location_network_zone", "eu-central"),
            ("__meta_hetzner_hcloud_datacenter_location", "fsn1"),
            (
                "__meta_hetzner_hcloud_datacenter_location_network_zone",
                "eu-central",
            ),
            ("__meta_hetzner_hcloud_cpu_cores", "2"),
            ("__meta_hetzner_hcloud_cpu_type", "shared"),
            ("__meta_hetzner_hcloud_memory_size_gb", "1"),
            ("__meta_hetzner_hcloud_disk_size_gb", "50"),
            ("__meta_hetzner_hcloud_server_type", "cpx11"),
        ]),
    ];
    for (i, want) in want.iter().enumerate() {
        assert_eq!(&labels_map(&group.targets[i]), want, "item {i}");
    }
}

/// robot_test.go, `TestRobotSDRefresh`.
#[test]
fn robot_refresh_labels() {
    let entries: Vec<RobotEntry> = serde_json::from_str(ROBOT).unwrap();
    let group = robot_group(&entries, 80);
    assert_eq!(&*group.source, "hetzner");
    assert_eq!(group.targets.len(), 2);
    let want = [
        map(&[
            ("__address__", "123.123.123.123:80"),
            ("__meta_hetzner_role", "robot"),
            ("__meta_hetzner_server_id", "321"),
            ("__meta_hetzner_server_name", "server1"),
            ("__meta_hetzner_server_status", "ready"),
            ("__meta_hetzner_public_ipv4", "123.123.123.123"),
            (
                "__meta_hetzner_public_ipv6_network",
                "2a01:4f8:111:4221::/64",
            ),
            ("__meta_hetzner_datacenter", "nbg1-dc1"),
            ("__meta_hetzner_robot_datacenter", "nbg1-dc1"),
            ("__meta_hetzner_robot_product", "DS 3000"),
            ("__meta_hetzner_robot_cancelled", "false"),
        ]),
        map(&[
            ("__address__", "123.123.123.124:80"),
            ("__meta_hetzner_role", "robot"),
            ("__meta_hetzner_server_id", "421"),
            ("__meta_hetzner_server_name", "server2"),
            ("__meta_hetzner_server_status", "in process"),
            ("__meta_hetzner_public_ipv4", "123.123.123.124"),
            ("__meta_hetzner_datacenter", "fsn1-dc10"),
            ("__meta_hetzner_robot_datacenter", "fsn1-dc10"),
            ("__meta_hetzner_robot_product", "X5"),
            ("__meta_hetzner_robot_cancelled", "true"),
        ]),
    ];
    for (i, want) in want.iter().enumerate() {
        assert_eq!(&labels_map(&group.targets[i]), want, "item {i}");
    }
}

#[test]
fn addresses_print_as_go_prints_them() {
    assert_eq!(go_ip_string("1.2.3.4"), "1.2.3.4");
    assert_eq!(go_ip_string("::ffff:1.2.3.4"), "1.2.3.4");
    assert_eq!(go_ip_string("2001:0db8:0000::0001"), "2001:db8::1");
    assert_eq!(go_ip_string(""), "<nil>");
    assert_eq!(go_cidr_network_string("2001:db8::1/64"), "2001:db8::/64");
    assert_eq!(go_cidr_network_string("10.1.2.3/8"), "10.0.0.0/8");
    assert_eq!(go_cidr_network_string(""), "<nil>");
    assert_eq!(go_cidr_network_string("2001:db8::/129"), "<nil>");
    // A server without public IPv4 (Hetzner answers `"ipv4": null`).
    let servers: ServerList = serde_json::from_str(
        r#"{"servers":[{"id":1,"name":"v6only","public_net":{"ipv4":null,"ipv6":null},"server_type":null,"location":null,"image":null,"labels":null}],"meta":null}"#,
    )
    .unwrap();
    let group = hcloud_group(&servers.servers, &[], 9100);
    assert_eq!(group.targets[0].get("__address__"), Some("<nil>:9100"));
    assert_eq!(
        group.targets[0].get("__meta_hetzner_public_ipv6_network"),
        Some("<nil>")
    );
}

#[test]
fn label_selector_is_escaped_as_go_escapes_queries() {
    assert_eq!(
        go_query_escape("env=prod,app!=db"),
        "env%3Dprod%2Capp%21%3Ddb"
    );
    assert_eq!(go_query_escape("a b~*"), "a+b~%2A");
}

fn parse(yaml: &str) -> Result<HetznerSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_validation_as_prometheus() {
    let c = parse("role: hcloud\n").unwrap();
    assert_eq!(c.role, Some(Role::Hcloud));
    assert_eq!(c.port, 80);
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    assert!(c.http_client_config.follow_redirects);
    for (yaml, message) in [
        ("port: 80\n", "role missing (one of: robot, hcloud)"),
        ("role:\n", "role missing (one of: robot, hcloud)"),
        ("role: invalid\n", "unknown role \"invalid\""),
        ("role: ''\n", "unknown role \"\""),
        (
            "role: robot\nrefresh_interval: 0s\n",
            "refresh_interval must be greater than 0",
        ),
        (
            "role: robot\nbearer_token: x\nbearer_token_file: y\n",
            "at most one of bearer_token & bearer_token_file must be configured",
        ),
        (
            "role: robot\nendpoint: http://x\n",
            "unknown field `endpoint`",
        ),
    ] {
        let err = parse(yaml).unwrap_err();
        assert!(err.contains(message), "{yaml:?}: {err}");
    }
}

#[test]
fn identity_differs_by_secret_and_never_prints_it() {
    let a = parse("role: robot\nbasic_auth: {username: u, password: hunter-one}\n").unwrap();
    let b = parse("role: robot\nbasic_auth: {username: u, password: hunter-two}\n").unwrap();
    assert_ne!(a.identity(), b.identity());
    assert!(!format!("{a:?}").contains("hunter"));
    assert!(!serde_yaml::to_string(&a).unwrap().contains("hunter"));
}
