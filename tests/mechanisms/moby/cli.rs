//! Through the engine from a prometheus.yml: `promsd check service-discovery CONFIG JOB`, one
//! case per mechanism and role, the discovered labels compared with upstream's tables.

use super::fixture::Engine;
use super::*;

/// Runs `promsd check service-discovery` on `yaml` for `job`: each entry's discovered
/// `__meta_*` and `__address__` labels, and its final labels.
fn check_service_discovery(yaml: &str, job: &str) -> Vec<(Labels, Labels)> {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, yaml).unwrap();
    let (json, _) = crate::support::check_sd(&config, job, &[]).unwrap();
    let entries: Vec<serde_json::Value> = serde_json::from_value(json).unwrap();
    entries
        .iter()
        .map(|e| {
            let discovered: Labels = serde_json::from_value(e["discoveredLabels"].clone()).unwrap();
            let labels: Labels = serde_json::from_value(e["labels"].clone()).unwrap();
            let discovered = discovered
                .into_iter()
                .filter(|(k, _)| k.starts_with("__meta_") || k == "__address__")
                .collect();
            (discovered, labels)
        })
        .collect()
}

/// Upstream's expected labels as the CLI prints discovered labels: without empty values.
fn printed(sets: Vec<Labels>) -> Vec<Labels> {
    sets.into_iter()
        .map(|l| l.into_iter().filter(|(_, v)| !v.is_empty()).collect())
        .collect()
}

#[test]
fn docker_over_a_unix_socket() {
    let engine = Engine::start("dockerprom");
    let yaml = format!(
        "scrape_configs:\n  - job_name: docker\n    docker_sd_configs:\n      - host: {}\n    relabel_configs:\n      - source_labels: [__meta_docker_container_label_prometheus_job]\n        target_label: service\n",
        engine.unix_host()
    );
    let entries = check_service_discovery(&yaml, "docker");
    let got = by_address(entries.iter().map(|(d, _)| d.clone()).collect());
    assert_sets(
        &got,
        &by_address(printed(expected("TestDockerSDRefresh"))),
        "docker via check service-discovery",
    );
    let node = entries
        .iter()
        .find(|(d, _)| d["__address__"] == "172.19.0.2:9100")
        .unwrap();
    assert_eq!(node.1["service"], "node");
    assert_eq!(node.1["instance"], "172.19.0.2:9100");
    assert_eq!(node.1["job"], "docker");
}

#[test]
fn swarm_roles_over_http_and_tcp() {
    for (role, name, scheme) in [
        ("services", "TestDockerSwarmSDServicesRefresh", "http"),
        ("tasks", "TestDockerSwarmTasksSDRefresh", "tcp"),
        ("nodes", "TestDockerSwarmNodesSDRefresh", "http"),
    ] {
        let engine = Engine::start("swarmprom");
        let yaml = format!(
            "scrape_configs:\n  - job_name: swarm\n    dockerswarm_sd_configs:\n      - host: {scheme}://127.0.0.1:{}\n        role: {role}\n",
            engine.port
        );
        let entries = check_service_discovery(&yaml, "swarm");
        let got: Vec<Labels> = entries.into_iter().map(|(d, _)| d).collect();
        // promtool prints targets in discovery order within the group.
        assert_sets(&got, &printed(expected(name)), role);
    }
}

#[test]
fn services_filtered_by_the_daemon() {
    let engine = Engine::start("swarmprom");
    let yaml = format!(
        "scrape_configs:\n  - job_name: swarm\n    dockerswarm_sd_configs:\n      - host: {}\n        role: services\n        filters:\n          - name: name\n            values: [mon_node-exporter, mon_grafana]\n",
        engine.unix_host()
    );
    let got: Vec<Labels> = check_service_discovery(&yaml, "swarm")
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    assert_sets(
        &got,
        &printed(expected("TestDockerSwarmSDServicesRefreshWithFilters")),
        "filtered services",
    );
}

/// A remote daemon over TLS behind a corporate proxy: `https://` host, `proxy_url`,
/// `tls_config.ca_file` and authentication, as Prometheus' HTTP settings apply to `https`.
#[test]
fn swarm_nodes_over_https_through_a_proxy() {
    use crate::support::tls_proxy::{proxy_ca_file, TlsProxy};
    let engine = Engine::start("swarmprom");
    engine.require_bearer("swarm-token");
    let proxy = TlsProxy::start(([127, 0, 0, 1], engine.port).into());
    let yaml = format!(
        "scrape_configs:\n  - job_name: swarm\n    dockerswarm_sd_configs:\n      - host: https://swarm-manager.example:2376\n        role: nodes\n        proxy_url: {}\n        tls_config:\n          ca_file: {}\n        authorization:\n          credentials: swarm-token\n",
        proxy.url(),
        proxy_ca_file().display()
    );
    let got: Vec<Labels> = check_service_discovery(&yaml, "swarm")
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    assert_sets(
        &got,
        &printed(expected("TestDockerSwarmNodesSDRefresh")),
        "https through a proxy",
    );
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    for s in seen {
        assert_eq!(s.connect, "swarm-manager.example:2376");
        assert_eq!(s.sni.as_deref(), Some("swarm-manager.example"));
    }
    assert_eq!(engine.uris(), ["/_ping", "/v1.40/nodes"]);
    assert!(engine
        .seen()
        .iter()
        .all(|s| s.host == "swarm-manager.example:2376"));
}
