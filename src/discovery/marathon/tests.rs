//! Marathon's config and targets against Prometheus' `discovery/marathon/marathon_test.go`
//! (each test below names the upstream test it ports) and `config_test.go`'s marathon cases.

use super::api::AppList;
use super::*;
use promsd_actors::TargetGroup;

fn parse(yaml: &str) -> Result<MarathonSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

fn groups(json: serde_json::Value) -> Vec<TargetGroup> {
    let apps: AppList = serde_json::from_value(json).unwrap();
    targets::groups(&apps)
}

#[test]
fn config_defaults_and_prometheus_errors() {
    let c = parse("servers: [http://m:8080]\n").unwrap();
    assert_eq!(c.refresh_interval, Duration::from_secs(30));
    assert!(c.auth_token.is_empty());
    let servers = "servers: [\"https://localhost:1234\"]\n";
    for (extra, message) in [
        ("", "marathon_sd: must contain at least one Marathon server"),
        (
            "auth_token: 1234\nauth_token_file: somefile\n",
            "marathon_sd: at most one of auth_token & auth_token_file must be configured",
        ),
        (
            "auth_token: 1234\nbasic_auth: {username: user, password: password}\n",
            "marathon_sd: at most one of basic_auth, auth_token & auth_token_file must be configured",
        ),
        (
            "auth_token: 1234\nbearer_token: 4567\n",
            "marathon_sd: at most one of bearer_token, bearer_token_file, auth_token & auth_token_file must be configured",
        ),
        (
            "auth_token_file: f\nauthorization: {credentials: 4567}\n",
            "marathon_sd: at most one of auth_token, auth_token_file & authorization must be configured",
        ),
        ("refresh_interval: 0s\n", "refresh"),
    ] {
        let yaml = if message.contains("at least one") {
            "servers:\n".to_owned()
        } else {
            format!("{servers}{extra}")
        };
        let err = parse(&yaml).unwrap_err();
        assert!(err.contains(message), "{yaml:?}: {err}");
    }
    let mut c = parse("servers: [http://m]\nauth_token_file: tok\n").unwrap();
    c.resolve_paths(Path::new("/etc/prometheus"));
    assert_eq!(c.auth_token_file, "/etc/prometheus/tok");
    let a = parse("servers: [http://m]\nauth_token: one\n").unwrap();
    let b = parse("servers: [http://m]\nauth_token: two\n").unwrap();
    assert_ne!(a.identity(), b.identity());
    assert!(!format!("{a:?}").contains("one\""));
}

fn app(tasks: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    let mut app = serde_json::json!({
        "id": "test-service",
        "tasks": tasks,
        "tasksRunning": 1,
        "labels": {"prometheus": "yes"},
        "container": {"docker": {"image": "repo/image:tag"}},
    });
    for (k, v) in extra.as_object().unwrap() {
        if k == "container" {
            for (ck, cv) in v.as_object().unwrap() {
                if ck == "docker" {
                    for (dk, dv) in cv.as_object().unwrap() {
                        app["container"]["docker"][dk] = dv.clone();
                    }
                } else {
                    app["container"][ck] = cv.clone();
                }
            }
        } else {
            app[k] = v.clone();
        }
    }
    serde_json::json!({ "apps": [app] })
}

fn task(ports: &[u32]) -> serde_json::Value {
    serde_json::json!({"id": "test-task-1", "host": "mesos-slave1", "ports": ports})
}

fn check(tg: &TargetGroup, expected: &[(&str, &str, &str)]) {
    assert_eq!(&*tg.source, "test-service");
    assert_eq!(tg.targets.len(), expected.len(), "{tg:?}");
    for (t, (address, mapping, definition)) in tg.targets.iter().zip(expected) {
        assert_eq!(t.get("__address__"), Some(*address));
        let get = |n: &str| t.get(n).unwrap_or("");
        assert_eq!(
            get("__meta_marathon_port_mapping_label_prometheus"),
            *mapping,
            "{address}"
        );
        assert_eq!(
            get("__meta_marathon_port_definition_label_prometheus"),
            *definition,
            "{address}"
        );
    }
}

/// `TestMarathonSDEmptyList`.
#[test]
fn empty_list() {
    assert!(groups(serde_json::json!({})).is_empty());
}

/// `TestMarathonSDSendGroup` (`marathonTestAppList`), with every label.
#[test]
fn send_group() {
    let tg = &groups(app(
        serde_json::json!([{"id": "test-task-1", "host": "mesos-slave1"}]),
        serde_json::json!({"container": {"docker": {"portMappings": [{"labels": {"prometheus": "yes"}, "hostPort": 31000}]}}}),
    ))[0];
    check(tg, &[("mesos-slave1:31000", "yes", "")]);
    assert_eq!(
        promsd_actors::model::labels_map(&tg.labels),
        [
            ("__meta_marathon_app", "test-service"),
            ("__meta_marathon_app_label_prometheus", "yes"),
            ("__meta_marathon_image", "repo/image:tag"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    );
    assert_eq!(
        tg.targets[0].get("__meta_marathon_task"),
        Some("test-task-1")
    );
    assert_eq!(tg.targets[0].get("__meta_marathon_port_index"), Some("0"));
}

/// `TestMarathonSDSendGroupWithMultiplePort`.
#[test]
fn multiple_ports() {
    let tg = &groups(app(
        serde_json::json!([{"id": "test-task-1", "host": "mesos-slave1"}]),
        serde_json::json!({"container": {"docker": {"portMappings": [
            {"labels": {"prometheus": "yes"}, "hostPort": 31000},
            {"labels": {}, "hostPort": 32000}]}}}),
    ))[0];
    check(
        tg,
        &[
            ("mesos-slave1:31000", "yes", ""),
            ("mesos-slave1:32000", "", ""),
        ],
    );
    assert_eq!(tg.targets[1].get("__meta_marathon_port_index"), Some("1"));
}

/// `TestMarathonZeroTaskPorts`.
#[test]
fn zero_task_ports() {
    let json = serde_json::json!({"apps": [{
        "id": "test-service-zero-ports",
        "tasks": [{"id": "test-task-2", "host": "mesos-slave-2", "ports": []}],
        "labels": {"prometheus": "yes"},
        "container": {"docker": {"image": "repo/image:tag"}},
    }]});
    let tg = &groups(json)[0];
    assert_eq!(&*tg.source, "test-service-zero-ports");
    assert!(tg.targets.is_empty());
}

/// `TestMarathonSDSendGroupWithPortDefinitions`: ports from the task (requirePorts false).
#[test]
fn port_definitions() {
    let tg = &groups(app(
        serde_json::json!([task(&[1234, 5678])]),
        serde_json::json!({"portDefinitions": [
            {"labels": {}, "port": 31000},
            {"labels": {"prometheus": "yes"}, "port": 32000}], "requirePorts": false}),
    ))[0];
    check(
        tg,
        &[
            ("mesos-slave1:1234", "", ""),
            ("mesos-slave1:5678", "", "yes"),
        ],
    );
}

/// `TestMarathonSDSendGroupWithPortDefinitionsRequirePorts`.
#[test]
fn port_definitions_require_ports() {
    let tg = &groups(app(
        serde_json::json!([task(&[31000, 32000])]),
        serde_json::json!({"portDefinitions": [
            {"labels": {}, "port": 31000},
            {"labels": {"prometheus": "yes"}, "port": 32000}], "requirePorts": true}),
    ))[0];
    check(
        tg,
        &[
            ("mesos-slave1:31000", "", ""),
            ("mesos-slave1:32000", "", "yes"),
        ],
    );
}

/// `TestMarathonSDSendGroupWithPorts`: host networking, ports only on the task.
#[test]
fn task_ports() {
    let tg = &groups(app(
        serde_json::json!([task(&[31000, 32000])]),
        serde_json::json!({}),
    ))[0];
    check(
        tg,
        &[
            ("mesos-slave1:31000", "", ""),
            ("mesos-slave1:32000", "", ""),
        ],
    );
}

/// `TestMarathonSDSendGroupWithContainerPortMappings`.
#[test]
fn container_port_mappings() {
    let tg = &groups(app(
        serde_json::json!([task(&[12345, 32000])]),
        serde_json::json!({"container": {"portMappings": [
            {"labels": {"prometheus": "yes"}, "hostPort": 0},
            {"labels": {}, "hostPort": 32000}]}}),
    ))[0];
    check(
        tg,
        &[
            ("mesos-slave1:12345", "yes", ""),
            ("mesos-slave1:32000", "", ""),
        ],
    );
}

/// `TestMarathonSDSendGroupWithDockerContainerPortMappings`.
#[test]
fn docker_container_port_mappings() {
    let tg = &groups(app(
        serde_json::json!([task(&[31000, 12345])]),
        serde_json::json!({"container": {"docker": {"portMappings": [
            {"labels": {"prometheus": "yes"}, "hostPort": 31000},
            {"labels": {}, "hostPort": 0}]}}}),
    ))[0];
    check(
        tg,
        &[
            ("mesos-slave1:31000", "yes", ""),
            ("mesos-slave1:12345", "", ""),
        ],
    );
}

/// `TestMarathonSDSendGroupWithContainerNetworkAndPortMapping`.
#[test]
fn container_network_and_port_mapping() {
    let tg = &groups(app(
        serde_json::json!([{"id": "test-task-1", "host": "mesos-slave1",
            "ipAddresses": [{"ipAddress": "1.2.3.4"}]}]),
        serde_json::json!({
            "container": {"portMappings": [
                {"labels": {"prometheus": "yes"}, "containerPort": 8080, "hostPort": 31000},
                {"labels": {}, "containerPort": 1234, "hostPort": 32000}]},
            "networks": [{"mode": "container", "name": "test-network"}]}),
    ))[0];
    check(tg, &[("1.2.3.4:8080", "yes", ""), ("1.2.3.4:1234", "", "")]);
}
