//! Prometheus' `discovery/moby` tests, case by case: the same testdata, the same expected label
//! sets (`expected/<Test>.json`, extracted verbatim from the upstream tables), first against
//! promsd's target functions, then through the fixture daemon and the discoverer as upstream's
//! tests go through their mock.

use promsd::discovery::moby::api::{self, Container, Network, Node, Service, Task};
use promsd::discovery::moby::docker::{docker_targets, DockerOptions};
use promsd::discovery::moby::swarm::{nodes_group, services_group, tasks_group};

use super::fixture::{testdata, Engine};
use super::*;

fn read<T: serde::de::DeserializeOwned>(dir: &str, file: &str) -> Vec<T> {
    api::decode_list(&std::fs::read(testdata(dir).join(file)).unwrap()).unwrap()
}

fn options(match_first_network: bool) -> DockerOptions {
    DockerOptions {
        port: 80,
        host_networking_host: "localhost".into(),
        match_first_network,
    }
}

fn docker_case(dir: &str, match_first_network: bool) -> Vec<Labels> {
    let containers: Vec<Container> = read(dir, "containers/json.json");
    let networks: Vec<Network> = read(dir, "networks.json");
    docker_targets(&containers, &networks, &options(match_first_network))
        .iter()
        .map(to_map)
        .collect()
}

/// docker_test.go `TestDockerSDRefresh`.
#[test]
fn docker_sd_refresh() {
    let got = by_address(docker_case("dockerprom", true));
    let want = by_address(expected("TestDockerSDRefresh"));
    assert_sets(&got, &want, "TestDockerSDRefresh");
}

/// docker_test.go `TestDockerSDRefreshMatchAllNetworks`.
#[test]
fn docker_sd_refresh_match_all_networks() {
    let got = by_address(docker_case("dockerprom", false));
    let want = by_address(expected("TestDockerSDRefreshMatchAllNetworks"));
    assert_sets(&got, &want, "TestDockerSDRefreshMatchAllNetworks");
}

/// docker_test.go `TestDockerSDRefreshIPv6Only`.
#[test]
fn docker_sd_refresh_ipv6_only() {
    let got = by_address(docker_case("dockeripv6", true));
    let want = by_address(expected("TestDockerSDRefreshIPv6Only"));
    assert_sets(&got, &want, "TestDockerSDRefreshIPv6Only");
}

fn services_case(dir: &str, file: &str) -> Vec<Labels> {
    let services: Vec<Service> = read(dir, file);
    let networks: Vec<Network> = read(dir, "networks.json");
    services_group(&services, &networks, 80)
        .unwrap()
        .targets
        .iter()
        .map(to_map)
        .collect()
}

/// services_test.go `TestDockerSwarmSDServicesRefresh` (compared in order, as upstream).
#[test]
fn swarm_services_refresh() {
    let got = services_case("swarmprom", "services.json");
    assert_sets(
        &got,
        &expected("TestDockerSwarmSDServicesRefresh"),
        "TestDockerSwarmSDServicesRefresh",
    );
}

/// services_test.go `TestDockerSwarmSDServicesRefreshWithFilters`: the daemon's filtered answer.
#[test]
fn swarm_services_refresh_with_filters() {
    let got = services_case("swarmprom", "services.json__wvKVCQ4HhD");
    assert_sets(
        &got,
        &expected("TestDockerSwarmSDServicesRefreshWithFilters"),
        "TestDockerSwarmSDServicesRefreshWithFilters",
    );
}

/// services_test.go `TestDockerSwarmSDServicesRefreshNoContainerSpec`.
#[test]
fn swarm_services_refresh_no_container_spec() {
    let got = services_case("swarmprom-plugin", "services.json");
    assert_sets(
        &got,
        &expected("TestDockerSwarmSDServicesRefreshNoContainerSpec"),
        "TestDockerSwarmSDServicesRefreshNoContainerSpec",
    );
}

/// tasks_test.go `TestDockerSwarmTasksSDRefresh`.
#[test]
fn swarm_tasks_refresh() {
    let tasks: Vec<Task> = read("swarmprom", "tasks.json");
    let services: Vec<Service> = read("swarmprom", "services.json");
    let nodes: Vec<Node> = read("swarmprom", "nodes.json");
    let networks: Vec<Network> = read("swarmprom", "networks.json");
    let got: Vec<Labels> = tasks_group(&tasks, &services, &nodes, &networks, 80)
        .unwrap()
        .targets
        .iter()
        .map(to_map)
        .collect();
    assert_sets(
        &got,
        &expected("TestDockerSwarmTasksSDRefresh"),
        "TestDockerSwarmTasksSDRefresh",
    );
}

/// nodes_test.go `TestDockerSwarmNodesSDRefresh`.
#[test]
fn swarm_nodes_refresh() {
    let nodes: Vec<Node> = read("swarmprom", "nodes.json");
    let got: Vec<Labels> = nodes_group(&nodes, 80).targets.iter().map(to_map).collect();
    assert_sets(
        &got,
        &expected("TestDockerSwarmNodesSDRefresh"),
        "TestDockerSwarmNodesSDRefresh",
    );
}

/// A virtual IP or task address without an address fails the refresh, as `net.ParseCIDR` of
/// the zero prefix does in Prometheus.
#[test]
fn a_missing_address_fails_the_refresh() {
    let services: Vec<Service> =
        api::decode_list(br#"[{"ID":"s","Endpoint":{"VirtualIPs":[{"NetworkID":"n"}]}}]"#).unwrap();
    let err = services_group(&services, &[], 80).unwrap_err();
    assert!(
        err.contains("invalid CIDR address: invalid Prefix"),
        "{err}"
    );
    assert!(
        api::decode_list::<Service>(br#"[{"Endpoint":{"VirtualIPs":[{"Addr":"10.0.0.1"}]}}]"#)
            .is_err()
    );
}

/// Containers sharing a network stack (`container:<id>`) take the networks of the first one
/// along the chain that has some; a cycle ends (Prometheus would loop forever).
#[test]
fn shared_network_stacks_are_followed_and_cycles_end() {
    let containers: Vec<Container> = api::decode_list(
        br#"[
        {"Id":"a","Names":["/a"],"HostConfig":{"NetworkMode":"container:b"},"Ports":[{"PrivatePort":9100,"Type":"tcp"}]},
        {"Id":"b","Names":["/b"],"HostConfig":{"NetworkMode":"container:c"},"NetworkSettings":{"Networks":{}}},
        {"Id":"c","Names":["/c"],"HostConfig":{"NetworkMode":"net"},"NetworkSettings":{"Networks":{"net":{"NetworkID":"n1","IPAddress":"10.0.0.3"}}}},
        {"Id":"x","Names":["/x"],"HostConfig":{"NetworkMode":"container:y"}},
        {"Id":"y","Names":["/y"],"HostConfig":{"NetworkMode":"container:x"}},
        {"Id":"z","Names":[],"HostConfig":{"NetworkMode":"net"},"NetworkSettings":{"Networks":{"net":{"NetworkID":"n1","IPAddress":"10.0.0.9"}}}}
    ]"#,
    )
    .unwrap();
    let targets: Vec<Labels> = docker_targets(&containers, &[], &options(true))
        .iter()
        .map(to_map)
        .collect();
    let addresses: Vec<(&str, &str)> = targets
        .iter()
        .map(|t| {
            (
                t["__meta_docker_container_name"].as_str(),
                t["__address__"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        addresses,
        [
            ("/a", "10.0.0.3:9100"),
            ("/b", "10.0.0.3:80"),
            ("/c", "10.0.0.3:80")
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// The same cases through the fixture daemon and the discoverer, as upstream runs them (its
// mock's Go mux redirects `/networks` to `/networks/`).

#[actix_rt::test]
async fn upstream_docker_cases_through_the_daemon() {
    for (dir, extra, name) in [
        ("dockerprom", "", "TestDockerSDRefresh"),
        (
            "dockerprom",
            "match_first_network: false\n",
            "TestDockerSDRefreshMatchAllNetworks",
        ),
        ("dockeripv6", "", "TestDockerSDRefreshIPv6Only"),
    ] {
        let engine = Engine::start(dir);
        engine.go_mux();
        let config = docker_config(&format!("host: {}\n{extra}", engine.http_host()));
        let got = by_address(refresh_once(&config, "Docker").await);
        assert_sets(&got, &by_address(expected(name)), name);
        // Go's mux redirected the network list, as in upstream's test.
        assert!(engine.uris().contains(&"/v1.40/networks/".to_owned()));
    }
}

#[actix_rt::test]
async fn upstream_swarm_cases_through_the_daemon() {
    for (dir, yaml, name) in [
        ("swarmprom", "role: services\n", "TestDockerSwarmSDServicesRefresh"),
        (
            "swarmprom",
            "role: services\nfilters:\n- name: name\n  values: [\"mon_node-exporter\", \"mon_grafana\"]\n",
            "TestDockerSwarmSDServicesRefreshWithFilters",
        ),
        (
            "swarmprom-plugin",
            "role: services\n",
            "TestDockerSwarmSDServicesRefreshNoContainerSpec",
        ),
        ("swarmprom", "role: tasks\n", "TestDockerSwarmTasksSDRefresh"),
        ("swarmprom", "role: nodes\n", "TestDockerSwarmNodesSDRefresh"),
    ] {
        let engine = Engine::start(dir);
        engine.go_mux();
        let config = swarm_config(&format!("host: {}\n{yaml}", engine.http_host()));
        let got = refresh_once(&config, "DockerSwarm").await;
        assert_sets(&got, &expected(name), name);
    }
}
