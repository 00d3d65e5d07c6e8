//! What goes over the wire: transports, version negotiation, filters as the daemon gets them,
//! and daemons that fail or never answer.

use promsd_actors::testing::start_one_job;

use super::fixture::{Engine, Unresponsive};
use super::*;

/// The `filters` query parameter of a request URI, decoded.
fn filters_of(uri: &str) -> Option<serde_json::Value> {
    let query = uri.split_once('?')?.1;
    let (_, value) = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "filters")?;
    Some(serde_json::from_str(&value).unwrap())
}

#[actix_rt::test]
async fn over_a_unix_socket_as_the_go_client() {
    let engine = Engine::start("dockerprom");
    let config = docker_config(&format!("host: {}\n", engine.unix_host()));
    let got = by_address(refresh_once(&config, "Docker").await);
    assert_sets(
        &got,
        &by_address(expected("TestDockerSDRefresh")),
        "over a unix socket",
    );
    let seen = engine.seen();
    assert_eq!(
        seen.iter()
            .map(|s| format!("{} {}", s.method, s.uri))
            .collect::<Vec<_>>(),
        [
            "HEAD /_ping",
            "GET /v1.40/containers/json",
            "GET /v1.40/networks"
        ]
    );
    for s in &seen {
        assert_eq!(s.host, "api.moby.localhost");
        assert!(
            s.user_agent.starts_with("moby-client/v0.5.1 linux/"),
            "{}",
            s.user_agent
        );
    }
}

#[actix_rt::test]
async fn every_swarm_role_over_a_unix_socket() {
    for (role, name, uris) in [
        (
            "services",
            "TestDockerSwarmSDServicesRefresh",
            &["/_ping", "/v1.40/services", "/v1.40/networks"][..],
        ),
        (
            "tasks",
            "TestDockerSwarmTasksSDRefresh",
            &[
                "/_ping",
                "/v1.40/tasks",
                "/v1.40/services",
                "/v1.40/nodes",
                "/v1.40/networks",
            ][..],
        ),
        (
            "nodes",
            "TestDockerSwarmNodesSDRefresh",
            &["/_ping", "/v1.40/nodes"][..],
        ),
    ] {
        let engine = Engine::start("swarmprom");
        let config = swarm_config(&format!("host: {}\nrole: {role}\n", engine.unix_host()));
        let got = refresh_once(&config, "DockerSwarm").await;
        assert_sets(&got, &expected(name), role);
        assert_eq!(engine.uris(), uris, "{role}");
    }
}

#[actix_rt::test]
async fn over_tcp_as_plain_http() {
    let engine = Engine::start("swarmprom");
    let config = swarm_config(&format!(
        "host: tcp://127.0.0.1:{}\nrole: nodes\nport: 9100\n",
        engine.port
    ));
    let got = refresh_once(&config, "DockerSwarm").await;
    let want: Vec<Labels> = expected("TestDockerSwarmNodesSDRefresh")
        .into_iter()
        .map(|mut l| {
            let a = l["__address__"].replace(":80", ":9100");
            l.insert("__address__".into(), a);
            l
        })
        .collect();
    assert_sets(&got, &want, "tcp");
    let seen = engine.seen();
    assert_eq!(seen[1].host, format!("127.0.0.1:{}", engine.port));
    assert!(seen[1].user_agent.starts_with("moby-client/"));
}

#[actix_rt::test]
async fn over_http_with_prometheus_http_settings() {
    let engine = Engine::start("swarmprom");
    engine.require_bearer("s3cret");
    let config = swarm_config(&format!(
        "host: {}\nrole: nodes\nauthorization:\n  credentials: s3cret\n",
        engine.http_host()
    ));
    let got = refresh_once(&config, "DockerSwarm").await;
    assert_sets(&got, &expected("TestDockerSwarmNodesSDRefresh"), "http");
    assert!(engine
        .seen()
        .iter()
        .all(|s| s.authorization == "Bearer s3cret"));
}

#[actix_rt::test]
async fn filters_reach_the_daemon_as_the_go_client_encodes_them() {
    // Docker: the container list carries the filters, networks do not.
    let engine = Engine::start("dockerprom");
    let config = docker_config(&format!(
        "host: {}\nfilters:\n- name: label\n  values: [\"prometheus.io/scrape=true\", \"a<b&c\"]\n- name: status\n  values: [running]\n",
        engine.unix_host()
    ));
    let mut running = Running::start(&config);
    // Upstream's mock has no file for a filtered container list: the daemon answers 500.
    assert!(running.next().await.is_err());
    let uris = engine.uris();
    let containers = uris
        .iter()
        .find(|u| u.contains("/containers/json"))
        .unwrap();
    assert_eq!(
        containers,
        "/v1.40/containers/json?filters=%7B%22label%22%3A%7B%22a%5Cu003cb%5Cu0026c%22%3Atrue%2C%22prometheus.io%2Fscrape%3Dtrue%22%3Atrue%7D%2C%22status%22%3A%7B%22running%22%3Atrue%7D%7D"
    );
    assert_eq!(
        filters_of(containers).unwrap(),
        serde_json::json!({"label": {"prometheus.io/scrape=true": true, "a<b&c": true}, "status": {"running": true}})
    );
    drop(running);

    // Tasks: the task list is filtered; services, nodes and networks are listed whole.
    let engine = Engine::start("swarmprom");
    let config = swarm_config(&format!(
        "host: {}\nrole: tasks\nfilters:\n- name: desired-state\n  values: [running]\n",
        engine.unix_host()
    ));
    let mut running = Running::start(&config);
    assert!(running.next().await.is_err(), "no file for this filter");
    let uris = engine.uris();
    assert_eq!(
        filters_of(&uris[1]).unwrap(),
        serde_json::json!({"desired-state": {"running": true}})
    );

    // Nodes.
    let engine = Engine::start("swarmprom");
    let config = swarm_config(&format!(
        "host: {}\nrole: nodes\nfilters:\n- name: role\n  values: [manager]\n",
        engine.http_host()
    ));
    let mut running = Running::start(&config);
    assert!(running.next().await.is_err(), "no file for this filter");
    assert_eq!(
        filters_of(&engine.uris()[1]).unwrap(),
        serde_json::json!({"role": {"manager": true}})
    );
}

#[actix_rt::test]
async fn the_api_version_is_negotiated() {
    let set = |v: Option<&'static str>| {
        move |h: &mut Vec<(String, String)>| {
            h.retain(|(k, _)| k != "Api-Version");
            if let Some(v) = v {
                h.push(("Api-Version".into(), v.into()));
            }
        }
    };
    // A newer daemon than the client: the client's highest version.
    let engine = Engine::start_with("swarmprom", set(Some("1.99")));
    let config = swarm_config(&format!("host: {}\nrole: nodes\n", engine.http_host()));
    let mut running = Running::start(&config);
    // The fixture serves its own version's paths only.
    assert!(running.next().await.is_err());
    assert_eq!(engine.uris()[1], "/v1.55/nodes");
    drop(running);

    // An older one (but supported): its version.
    let engine = Engine::start_with("swarmprom", set(Some("1.43")));
    let config = swarm_config(&format!("host: {}\nrole: nodes\n", engine.http_host()));
    let got = refresh_once(&config, "DockerSwarm").await;
    assert_eq!(got.len(), 5);
    assert_eq!(engine.uris(), ["/_ping", "/v1.43/nodes"]);

    // Older than the client supports: not negotiated, the request goes at the highest version
    // and the next request pings again.
    let engine = Engine::start_with("swarmprom", set(Some("1.30")));
    engine.repeat();
    let config = swarm_config(&format!("host: {}\nrole: nodes\n", engine.http_host()));
    let mut running = Running::start(&config);
    assert!(running.next().await.is_err());
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while engine.uris().len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refresh is retried"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(engine.uris()[..3], ["/_ping", "/v1.55/nodes", "/_ping"]);
    drop(running);

    // No version header: the client's highest version.
    let engine = Engine::start_with("swarmprom", set(None));
    let config = swarm_config(&format!("host: {}\nrole: nodes\n", engine.http_host()));
    let mut running = Running::start(&config);
    assert!(running.next().await.is_err());
    assert_eq!(engine.uris()[..2], ["/_ping", "/v1.55/nodes"]);
}

#[actix_rt::test]
async fn negotiation_happens_once_and_failures_keep_the_last_good_state() {
    let engine = Engine::start("swarmprom");
    engine.repeat();
    let config = swarm_config(&format!(
        "host: {}\nrole: nodes\nrefresh_interval: 50ms\n",
        engine.unix_host()
    ));
    let job = start_one_job("swarm", vec![config], Duration::from_millis(10)).await;
    let has_nodes = |messages: &[promsd_actors::messages::SyncTargets]| {
        messages
            .last()
            .is_some_and(|m| promsd_actors::testing::addresses(m, "swarm").len() == 5)
    };
    job.recording.wait_for(DEADLINE, has_nodes).await.unwrap();
    // Several refreshes, one ping.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while engine
        .uris()
        .iter()
        .filter(|u| *u == "/v1.40/nodes")
        .count()
        < 3
    {
        assert!(tokio::time::Instant::now() < deadline, "refreshes go on");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(engine.uris().iter().filter(|u| *u == "/_ping").count(), 1);

    // The daemon fails: the targets stay.
    engine.fail(true);
    let failed_from = engine.seen().len();
    while engine.seen().len() < failed_from + 3 {
        assert!(tokio::time::Instant::now() < deadline, "refreshes go on");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last = job.recording.last().unwrap();
    assert_eq!(promsd_actors::testing::addresses(&last, "swarm").len(), 5);
    engine.fail(false);
}

#[actix_rt::test]
async fn a_daemon_that_does_not_answer_times_out() {
    let daemon = Unresponsive::start();
    for config in [
        docker_config(&format!(
            "host: unix://{}\nrefresh_interval: 200ms\n",
            daemon.socket.display()
        )),
        docker_config(&format!(
            "host: http://127.0.0.1:{}\nrefresh_interval: 200ms\n",
            daemon.port
        )),
        swarm_config(&format!(
            "host: tcp://127.0.0.1:{}\nrole: nodes\nrefresh_interval: 200ms\n",
            daemon.port
        )),
    ] {
        let mut running = Running::start(&config);
        let err = running.next().await.unwrap_err();
        assert!(!err.is_empty());
    }
}

#[actix_rt::test]
async fn a_host_the_go_client_cannot_use_fails_to_start() {
    for host in ["localhost:2375", "npipe:////./pipe/docker_engine"] {
        let config = docker_config(&format!("host: {host}\n"));
        let ctx = BuildContext {
            provider: "docker/0".into(),
            config_name: "job".into(),
            refresh_metrics: RefreshMetrics::default(),
        };
        assert!(config.build(&ctx).is_err(), "{host}");
    }
}

#[test]
fn secrets_tell_configs_apart_and_are_never_printed() {
    let a = swarm_config(
        "host: http://a\nrole: nodes\nbasic_auth: {username: u, password: hunter-one}\n",
    );
    let b = swarm_config(
        "host: http://a\nrole: nodes\nbasic_auth: {username: u, password: hunter-two}\n",
    );
    assert_ne!(a.identity(), b.identity());
    assert!(!format!("{a:?}").contains("hunter"));
    let c = docker_config("host: http://a\nauthorization: {credentials: hunter-three}\n");
    let d = docker_config("host: http://a\nauthorization: {credentials: hunter-four}\n");
    assert_ne!(c.identity(), d.identity());
    assert!(!format!("{c:?}").contains("hunter"));
    // Same settings, same provider.
    assert_eq!(
        docker_config("host: unix:///a\n").identity(),
        docker_config("host: unix:///a\nport: 80\n").identity()
    );
}

#[actix_rt::test]
async fn a_failing_daemon_is_reported_as_prometheus_words_it() {
    let engine = Engine::start("swarmprom");
    engine.fail(true);
    let config = swarm_config(&format!("host: {}\nrole: nodes\n", engine.unix_host()));
    let mut running = Running::start(&config);
    let err = running.next().await.unwrap_err();
    assert!(
        err.contains("error while listing swarm nodes: ")
            && err.contains("Error response from daemon: the fixture fails on purpose"),
        "{err}"
    );
}
