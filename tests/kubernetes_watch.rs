//! Kubernetes SD against a fixture API server, driving the real kube client: role pod's labels,
//! adds, updates and deletes as changed groups, a relist after `410 Gone` as a full state,
//! bookmarks, credentials, one shared watch for several SD configs, and the engine end to end.

mod support;

use std::time::Duration;

use actix::Actor;
use serde_json::{json, Value};
use support::kube_fixture::KubeFixture;
use support::*;

use promsd_actors::testing::RecordingSubscriber;
use promsd_actors::{ApplyConfig, ManagerActor, ManagerOptions, Subscribe, Update};

fn pod(ns: &str, name: &str, ip: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": ns, "uid": format!("uid-{name}"),
            "labels": {"app": "web", "app.kubernetes.io/tier": "front"},
            "annotations": {"prometheus.io/scrape": "true"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9",
                                 "uid": "rs-uid", "controller": true}],
            "managedFields": [{"manager": "kubelet", "operation": "Update"}]
        },
        "spec": {
            "nodeName": "node-a",
            "containers": [
                {"name": "app", "image": "web:1.0", "ports": [
                    {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                    {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]},
                {"name": "sidecar", "image": "proxy:2"}
            ],
            "initContainers": [
                {"name": "init", "image": "busybox", "ports": [{"containerPort": 7000, "protocol": "UDP"}]}
            ]
        },
        "status": {
            "phase": "Running", "podIP": ip, "hostIP": "192.168.0.10",
            "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": "app", "containerID": "containerd://aaa"},
                {"name": "sidecar", "containerID": "containerd://bbb"}
            ],
            "initContainerStatuses": [{"name": "init", "containerID": "containerd://ccc"}]
        }
    })
}

fn pod_config(fixture: &KubeFixture, extra: &str) -> String {
    format!("role: pod\napi_server: {}\n{extra}", fixture.url)
}

/// Prometheus' `buildPod` for the pod above: group labels, then one target per container port
/// and one per port-less container, init containers flagged.
#[tokio::test]
async fn pod_role_labels_are_prometheus_own() {
    let fixture = KubeFixture::start();
    fixture.apply("pods", pod("default", "web-1", "10.1.0.5"));
    let mut d = discoverer(&config(&pod_config(&fixture, "")));
    let groups = next_full(&mut d).await;
    assert_eq!(groups.len(), 1);
    let g = group(&groups, "pod/default/web-1");
    assert_eq!(
        group_labels(g),
        map(&[
            ("__meta_kubernetes_namespace", "default"),
            (
                "__meta_kubernetes_pod_annotation_prometheus_io_scrape",
                "true"
            ),
            (
                "__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape",
                "true"
            ),
            ("__meta_kubernetes_pod_controller_kind", "ReplicaSet"),
            ("__meta_kubernetes_pod_controller_name", "web-7d9"),
            ("__meta_kubernetes_pod_host_ip", "192.168.0.10"),
            ("__meta_kubernetes_pod_ip", "10.1.0.5"),
            ("__meta_kubernetes_pod_label_app", "web"),
            (
                "__meta_kubernetes_pod_label_app_kubernetes_io_tier",
                "front"
            ),
            ("__meta_kubernetes_pod_labelpresent_app", "true"),
            (
                "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_tier",
                "true"
            ),
            ("__meta_kubernetes_pod_name", "web-1"),
            ("__meta_kubernetes_pod_node_name", "node-a"),
            ("__meta_kubernetes_pod_phase", "Running"),
            ("__meta_kubernetes_pod_ready", "true"),
            ("__meta_kubernetes_pod_uid", "uid-web-1"),
        ])
    );
    assert_eq!(
        target_labels(g),
        sorted(vec![
            map(&[
                ("__address__", "10.1.0.5:8080"),
                ("__meta_kubernetes_pod_container_id", "containerd://aaa"),
                ("__meta_kubernetes_pod_container_image", "web:1.0"),
                ("__meta_kubernetes_pod_container_init", "false"),
                ("__meta_kubernetes_pod_container_name", "app"),
                ("__meta_kubernetes_pod_container_port_name", "http"),
                ("__meta_kubernetes_pod_container_port_number", "8080"),
                ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
            ]),
            map(&[
                ("__address__", "10.1.0.5:9090"),
                ("__meta_kubernetes_pod_container_id", "containerd://aaa"),
                ("__meta_kubernetes_pod_container_image", "web:1.0"),
                ("__meta_kubernetes_pod_container_init", "false"),
                ("__meta_kubernetes_pod_container_name", "app"),
                ("__meta_kubernetes_pod_container_port_name", "metrics"),
                ("__meta_kubernetes_pod_container_port_number", "9090"),
                ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
            ]),
            map(&[
                ("__address__", "10.1.0.5"),
                ("__meta_kubernetes_pod_container_id", "containerd://bbb"),
                ("__meta_kubernetes_pod_container_image", "proxy:2"),
                ("__meta_kubernetes_pod_container_init", "false"),
                ("__meta_kubernetes_pod_container_name", "sidecar"),
            ]),
            map(&[
                ("__address__", "10.1.0.5:7000"),
                ("__meta_kubernetes_pod_container_id", "containerd://ccc"),
                ("__meta_kubernetes_pod_container_image", "busybox"),
                ("__meta_kubernetes_pod_container_init", "true"),
                ("__meta_kubernetes_pod_container_name", "init"),
                ("__meta_kubernetes_pod_container_port_name", ""),
                ("__meta_kubernetes_pod_container_port_number", "7000"),
                ("__meta_kubernetes_pod_container_port_protocol", "UDP"),
            ]),
        ])
    );
}

#[tokio::test]
async fn adds_updates_and_deletes_arrive_as_changed_groups() {
    let fixture = KubeFixture::start();
    fixture.apply("pods", pod("default", "a", "10.0.0.1"));
    let mut d = discoverer(&config(&pod_config(&fixture, "")));
    assert_eq!(next_full(&mut d).await.len(), 1);

    // Add.
    fixture.apply("pods", pod("default", "b", "10.0.0.2"));
    let changed = next_changed(&mut d).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(&*changed[0].source, "pod/default/b");
    assert_eq!(changed[0].targets.len(), 4);

    // Update: the pod loses readiness.
    let mut b = pod("default", "b", "10.0.0.2");
    b["status"]["conditions"][1]["status"] = json!("False");
    fixture.apply("pods", b.clone());
    let changed = next_changed(&mut d).await;
    assert_eq!(
        changed[0].labels.get("__meta_kubernetes_pod_ready"),
        Some("false")
    );

    // An update that changes nothing the labels read (a new resource version, managed fields)
    // sends nothing; the next real change is the next item.
    b["metadata"]["managedFields"] = json!([{"manager": "other"}]);
    fixture.apply("pods", b);
    fixture.delete("pods", "default", "a");
    let changed = next_changed(&mut d).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(&*changed[0].source, "pod/default/a");
    assert!(
        changed[0].targets.is_empty(),
        "a deleted pod sends an empty group"
    );

    // A pod that loses its IP has no targets any more.
    let mut no_ip = pod("default", "b", "");
    no_ip["status"].as_object_mut().unwrap().remove("podIP");
    fixture.apply("pods", no_ip);
    let changed = next_changed(&mut d).await;
    assert_eq!(&*changed[0].source, "pod/default/b");
    assert!(changed[0].targets.is_empty());
}

#[tokio::test]
async fn gone_watch_relists_and_sends_a_full_state_without_vanished_objects() {
    let fixture = KubeFixture::start();
    fixture.apply("pods", pod("default", "a", "10.0.0.1"));
    fixture.apply("pods", pod("default", "b", "10.0.0.2"));
    let mut d = discoverer(&config(&pod_config(&fixture, "")));
    assert_eq!(next_full(&mut d).await.len(), 2);
    eventually("the pod watch", || fixture.open_watches("pods") == 1).await;

    // The event of b's deletion is lost, then the server expires the watch (410 Gone).
    fixture.delete_silently("pods", "default", "b");
    fixture.expire_watches();
    let (update, errors) = next_update(&mut d).await;
    assert!(
        errors
            .iter()
            .any(|e| e.message().contains("410") || e.message().contains("too old")),
        "the 410 is reported as an error item: {errors:?}"
    );
    let Update::Full(groups) = update else {
        panic!("a relist sends a full state, got {update:?}")
    };
    let sources: Vec<&str> = groups.iter().map(|g| &*g.source).collect();
    assert_eq!(sources, ["pod/default/a"]);
    assert_eq!(fixture.list_requests("pods"), 2, "one list, one relist");

    // Watching goes on after the relist.
    fixture.apply("pods", pod("default", "c", "10.0.0.3"));
    assert_eq!(&*next_changed(&mut d).await[0].source, "pod/default/c");
}

#[tokio::test]
async fn a_closed_watch_resumes_from_the_last_bookmark_without_relisting() {
    let fixture = KubeFixture::start();
    fixture.apply("pods", pod("default", "a", "10.0.0.1"));
    let mut d = discoverer(&config(&pod_config(&fixture, "")));
    next_full(&mut d).await;
    eventually("the pod watch", || fixture.open_watches("pods") == 1).await;
    let first_watch = fixture.requests().into_iter().find(|r| r.watch).unwrap();
    assert_eq!(
        first_watch
            .query
            .get("allowWatchBookmarks")
            .map(String::as_str),
        Some("true")
    );

    // The bookmark is queued on the watch's stream before the stream is ended: the client reads
    // it before the end of the response, as from a real API server.
    let bookmark = fixture.bookmark();
    fixture.close_watches();
    eventually("a second watch", || fixture.watch_requests("pods") == 2).await;
    let rewatch = fixture
        .requests()
        .into_iter()
        .filter(|r| r.watch)
        .nth(1)
        .unwrap();
    assert_eq!(
        rewatch.query.get("resourceVersion"),
        Some(&bookmark.to_string()),
        "the watch resumes from the bookmark's version"
    );
    assert_eq!(fixture.list_requests("pods"), 1, "no relist");
    fixture.apply("pods", pod("default", "b", "10.0.0.2"));
    assert_eq!(&*next_changed(&mut d).await[0].source, "pod/default/b");
}

#[tokio::test]
async fn bearer_token_is_sent_and_a_wrong_one_is_an_error_item() {
    let fixture = KubeFixture::start_with_token(Some("s3cret"));
    fixture.apply("pods", pod("default", "a", "10.0.0.1"));
    let mut good = discoverer(&config(&pod_config(&fixture, "bearer_token: s3cret\n")));
    assert_eq!(next_full(&mut good).await.len(), 1);

    let mut bad = discoverer(&config(&pod_config(&fixture, "bearer_token: wrong\n")));
    let error = next_item(&mut bad).await.unwrap_err();
    assert!(
        error.message().contains("401") || error.message().contains("Unauthorized"),
        "{error}"
    );
}

/// Two SD configs with role pod and the same namespaces, and a role endpoints config (which
/// reads pods too), share one pod list and watch; the watch stops with its last subscriber.
#[tokio::test]
async fn sd_configs_share_one_watch_per_resource() {
    let fixture = KubeFixture::start();
    fixture.apply("pods", pod("default", "a", "10.0.0.1"));
    let first = config(&pod_config(&fixture, "namespaces: {names: [default]}\n"));
    let second = config(&pod_config(
        &fixture,
        "namespaces: {names: [default]}\nattach_metadata: {namespace: true}\n",
    ));
    let endpoints = config(&format!(
        "role: endpoints\napi_server: {}\nnamespaces: {{names: [default]}}\n",
        fixture.url
    ));
    let mut d1 = discoverer(&first);
    let mut d2 = discoverer(&second);
    let mut d3 = discoverer(&endpoints);
    assert_eq!(next_full(&mut d1).await.len(), 1);
    assert_eq!(next_full(&mut d2).await.len(), 1);
    next_full(&mut d3).await;

    fixture.apply("pods", pod("default", "b", "10.0.0.2"));
    assert_eq!(&*next_changed(&mut d1).await[0].source, "pod/default/b");
    assert_eq!(&*next_changed(&mut d2).await[0].source, "pod/default/b");
    assert_eq!(
        fixture.list_requests("pods"),
        1,
        "one pod list for three configs"
    );
    assert_eq!(
        fixture.watch_requests("pods"),
        1,
        "one pod watch for three configs"
    );
    assert_eq!(fixture.watch_requests("namespaces"), 1);
    assert_eq!(fixture.watch_requests("endpoints"), 1);

    drop(d1);
    drop(d2);
    eventually("the namespace watch to stop", || {
        fixture.open_watches("namespaces") == 0
    })
    .await;
    assert_eq!(
        fixture.open_watches("pods"),
        1,
        "the endpoints role still reads pods"
    );
    drop(d3);
    eventually("the pod watch to stop", || {
        fixture.open_watches("pods") == 0
    })
    .await;
}

/// From YAML through the engine: the manager runs the config and a subscriber sees the pod's
/// targets, then a new pod.
#[actix_rt::test]
async fn engine_delivers_kubernetes_targets_to_subscribers() {
    let fixture = KubeFixture::start();
    fixture.apply("pods", pod("default", "a", "10.0.0.1"));
    let yaml = format!(
        "- role: pod\n  api_server: {}\n  selectors: [{{role: pod, label: 'app=web'}}]\n",
        fixture.url
    );
    let configs: Vec<promsd::discovery::kubernetes::KubernetesSdConfig> =
        serde_yaml::from_str(&yaml).unwrap();
    let manager = ManagerActor::new(ManagerOptions {
        interval: Duration::from_millis(50),
        ..ManagerOptions::default()
    })
    .start();
    let (subscriber, recording) = RecordingSubscriber::start();
    let _subscription = manager
        .send(Subscribe(subscriber.clone().recipient()))
        .await
        .unwrap();
    let jobs = [(
        "kubernetes-pods".to_owned(),
        configs
            .into_iter()
            .map(|c| std::sync::Arc::new(c) as std::sync::Arc<dyn promsd_actors::DiscoveryConfig>)
            .collect(),
    )]
    .into();
    let outcome = manager.send(ApplyConfig { jobs }).await.unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    let addresses =
        |m: &promsd_actors::SyncTargets| promsd_actors::testing::addresses(m, "kubernetes-pods");
    recording
        .wait_for(DEADLINE, |m| {
            m.last().is_some_and(|m| {
                addresses(m)
                    == [
                        "10.0.0.1",
                        "10.0.0.1:7000",
                        "10.0.0.1:8080",
                        "10.0.0.1:9090",
                    ]
            })
        })
        .await
        .unwrap();
    let mut other = pod("default", "db", "10.0.0.9");
    other["metadata"]["labels"] = json!({"app": "db"});
    fixture.apply("pods", other);
    fixture.apply("pods", pod("default", "b", "10.0.0.2"));
    recording
        .wait_for(DEADLINE, |m| {
            m.last().is_some_and(|m| addresses(m).len() == 8)
        })
        .await
        .unwrap();
    let last = recording.last().unwrap();
    assert!(
        !addresses(&last).iter().any(|a| a.starts_with("10.0.0.9")),
        "the label selector reached the server"
    );
}

/// `kubeconfig_file`: the current context's server and user token are used.
#[tokio::test]
async fn kubeconfig_file_names_server_and_credentials() {
    let fixture = KubeFixture::start_with_token(Some("from-kubeconfig"));
    fixture.apply("pods", pod("default", "a", "10.0.0.1"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\n\
             clusters:\n- name: fixture\n  cluster:\n    server: {}\n\
             users:\n- name: me\n  user:\n    token: from-kubeconfig\n\
             contexts:\n- name: test\n  context:\n    cluster: fixture\n    user: me\n",
            fixture.url
        ),
    )
    .unwrap();
    let mut d = discoverer(&config(&format!(
        "role: pod\nkubeconfig_file: {}\n",
        path.display()
    )));
    assert_eq!(next_full(&mut d).await.len(), 1);
}
