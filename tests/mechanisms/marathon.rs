//! Marathon SD end to end: `promsd check service-discovery` and `promsd run` against Marathon
//! fixtures serving the apps of Prometheus' `discovery/marathon/marathon_test.go`, with the
//! DC/OS token checked.

use super::registries_kit::*;

/// `marathonTestAppListWithContainerNetworkAndPortMappings` and
/// `marathonTestAppListWithPortDefinitions` as Marathon serves them.
const APPS: &str = r#"{"apps": [
  {"id": "test-service", "tasksRunning": 1, "labels": {"prometheus": "yes", "team.name": "a"},
   "container": {"docker": {"image": "repo/image:tag"},
     "portMappings": [
       {"labels": {"prometheus": "yes"}, "containerPort": 8080, "hostPort": 31000, "servicePort": 0},
       {"labels": {}, "containerPort": 1234, "hostPort": 32000}]},
   "networks": [{"mode": "container", "name": "test-network"}],
   "tasks": [{"id": "test-task-1", "host": "mesos-slave1", "ports": [],
              "ipAddresses": [{"ipAddress": "1.2.3.4", "protocol": "IPv4"}]}]},
  {"id": "/other/service", "tasksRunning": 1, "labels": null,
   "container": {"docker": {"image": "repo/other:tag"}},
   "portDefinitions": [{"labels": {}, "port": 31000}, {"labels": {"prometheus": "yes"}, "port": 32000}],
   "requirePorts": false,
   "tasks": [{"id": "other-task-1", "host": "mesos-slave2", "ports": [1234, 5678]}]}
]}"#;

fn marathon_fixture(token: &'static str) -> Fixture {
    Fixture::start(move |r| {
        if r.header("authorization") != Some(token) {
            return Reply::new(401, "text/plain", "unauthorized");
        }
        if r.method == "GET" && r.path == "/v2/apps/" && r.query == "embed=apps.tasks" {
            Reply::json(APPS)
        } else {
            Reply::new(404, "text/plain", "not found")
        }
    })
}

#[test]
fn discovers_every_task_port_with_the_dcos_token() {
    let one = marathon_fixture("token=s3cr3t");
    let two = marathon_fixture("token=s3cr3t");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "s3cr3t\n").unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "scrape_configs:\n  - job_name: marathon\n    marathon_sd_configs:\n      - servers: ['{}', '{}']\n        auth_token_file: token\n",
            one.url(),
            two.url()
        ),
    );
    let (code, json, stderr) = check_sd(&config, "marathon");
    assert_eq!(code, Some(0), "{stderr}");
    let app = |id, image| {
        vec![
            ("__meta_marathon_app", id),
            ("__meta_marathon_image", image),
        ]
    };
    let mut expected = vec![];
    for (address, index, mapping) in [
        ("1.2.3.4:8080", "0", Some("yes")),
        ("1.2.3.4:1234", "1", None),
    ] {
        let mut l = app("test-service", "repo/image:tag");
        l.extend([
            ("__address__", address),
            ("__meta_marathon_task", "test-task-1"),
            ("__meta_marathon_port_index", index),
            ("__meta_marathon_app_label_prometheus", "yes"),
            ("__meta_marathon_app_label_team_name", "a"),
        ]);
        if let Some(m) = mapping {
            l.push(("__meta_marathon_port_mapping_label_prometheus", m));
        }
        expected.push(labels(&l));
    }
    for (address, index, definition) in [
        ("mesos-slave2:1234", "0", None),
        ("mesos-slave2:5678", "1", Some("yes")),
    ] {
        let mut l = app("/other/service", "repo/other:tag");
        l.extend([
            ("__address__", address),
            ("__meta_marathon_task", "other-task-1"),
            ("__meta_marathon_port_index", index),
        ]);
        if let Some(d) = definition {
            l.push(("__meta_marathon_port_definition_label_prometheus", d));
        }
        expected.push(labels(&l));
    }
    expected.sort();
    assert_eq!(discovered(&json), expected);
    let requests: Vec<Recorded> = one.requests().into_iter().chain(two.requests()).collect();
    assert_eq!(requests.len(), 1, "one server asked per refresh");
    assert_eq!(requests[0].header("authorization"), Some("token=s3cr3t"));
}

/// `TestMarathonSDHandleError` / `Test500ErrorHttpResponseWithValidJSONBody`: failures keep the
/// last good targets (and an app that disappears is removed, `TestMarathonSDRemoveApp`).
#[test]
fn failures_keep_the_last_good_state() {
    let fixture = marathon_fixture("token=t");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "scrape_configs:\n  - job_name: marathon\n    marathon_sd_configs:\n      - servers: ['{}']\n        auth_token: t\n        refresh_interval: 1s\n",
            fixture.url()
        ),
    );
    last_good_state_is_kept(dir.path(), &config, "marathon", &fixture, 4, |_| {
        Reply::new(500, "application/json", "{}")
    });
}
