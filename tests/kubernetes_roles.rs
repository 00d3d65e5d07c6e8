//! Kubernetes SD roles node, service, endpoints, endpointslice and ingress, and
//! `attach_metadata`, against the fixture API server: every `__meta_kubernetes_*` label as
//! Prometheus' `discovery/kubernetes` emits it (expected sets written out from its Go code and
//! documentation), and groups rebuilt when an object they read changes.

mod support;

use serde_json::{json, Value};
use support::kube_fixture::KubeFixture;
use support::*;

fn yaml(fixture: &KubeFixture, role: &str, extra: &str) -> String {
    format!("role: {role}\napi_server: {}\n{extra}", fixture.url)
}

fn node(name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": "n-uid", "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"providerID": "aws:///eu-west-1a/i-0abc"},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-01-01T00:00:00Z"},
                           {"type": "MemoryPressure", "status": "False"}],
            "addresses": [{"type": "Hostname", "address": name},
                          {"type": "ExternalIP", "address": "203.0.113.7"},
                          {"type": "InternalIP", "address": "10.0.0.7"},
                          {"type": "InternalIP", "address": "10.0.0.8"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
        }
    })
}

#[tokio::test]
async fn node_role() {
    let fixture = KubeFixture::start();
    fixture.apply(
        "nodes",
        node("node-a", json!({"kubernetes.io/os": "linux"})),
    );
    let mut only_hostname = node("node-b", json!({}));
    only_hostname["status"]["addresses"] = json!([{"type": "Hostname", "address": "node-b"}]);
    fixture.apply("nodes", only_hostname);
    let mut no_address = node("node-c", json!({}));
    no_address["status"]["addresses"] = json!([]);
    fixture.apply("nodes", no_address);

    let mut d = discoverer(&config(&yaml(&fixture, "node", "")));
    let groups = next_full(&mut d).await;
    assert_eq!(groups.len(), 2, "a node without addresses has no group");
    let g = group(&groups, "node/node-a");
    assert_eq!(
        group_labels(g),
        map(&[
            (
                "__meta_kubernetes_node_annotation_node_alpha_kubernetes_io_ttl",
                "0"
            ),
            (
                "__meta_kubernetes_node_annotationpresent_node_alpha_kubernetes_io_ttl",
                "true"
            ),
            ("__meta_kubernetes_node_condition_memorypressure", "false"),
            ("__meta_kubernetes_node_condition_ready", "true"),
            ("__meta_kubernetes_node_label_kubernetes_io_os", "linux"),
            (
                "__meta_kubernetes_node_labelpresent_kubernetes_io_os",
                "true"
            ),
            ("__meta_kubernetes_node_name", "node-a"),
            (
                "__meta_kubernetes_node_provider_id",
                "aws:///eu-west-1a/i-0abc"
            ),
        ])
    );
    assert_eq!(
        target_labels(g),
        vec![map(&[
            ("__address__", "10.0.0.7:10250"),
            ("__meta_kubernetes_node_address_ExternalIP", "203.0.113.7"),
            ("__meta_kubernetes_node_address_Hostname", "node-a"),
            ("__meta_kubernetes_node_address_InternalIP", "10.0.0.7"),
            ("instance", "node-a"),
        ])]
    );
    let b = group(&groups, "node/node-b");
    assert_eq!(b.targets[0].get("__address__"), Some("node-b:10250"));

    fixture.delete("nodes", "", "node-b");
    let changed = next_changed(&mut d).await;
    assert_eq!(&*changed[0].source, "node/node-b");
    assert!(changed[0].targets.is_empty());
}

fn service(ns: &str, name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "uid": "s-uid",
                     "labels": {"app": name}, "annotations": {"team": "core"}},
        "spec": spec,
        "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.1"}, {"hostname": "lb.example"}, {"ip": "198.51.100.2"}]}}
    })
}

#[tokio::test]
async fn service_role() {
    let fixture = KubeFixture::start();
    fixture.apply(
        "services",
        service(
            "default",
            "web",
            json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "ports": [
                {"name": "http", "port": 80, "protocol": "TCP"},
                {"name": "dns", "port": 53, "protocol": "UDP"}]}),
        ),
    );
    fixture.apply(
        "services",
        service(
            "default",
            "ext",
            json!({"type": "ExternalName", "externalName": "db.example.com", "ports": [{"port": 5432, "protocol": "TCP"}]}),
        ),
    );
    fixture.apply(
        "services",
        service(
            "default",
            "lb",
            json!({"type": "LoadBalancer", "clusterIP": "10.96.0.11", "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}),
        ),
    );
    let mut d = discoverer(&config(&yaml(&fixture, "service", "")));
    let groups = next_full(&mut d).await;
    let g = group(&groups, "svc/default/web");
    assert_eq!(
        group_labels(g),
        map(&[
            ("__meta_kubernetes_namespace", "default"),
            ("__meta_kubernetes_service_annotation_team", "core"),
            ("__meta_kubernetes_service_annotationpresent_team", "true"),
            ("__meta_kubernetes_service_label_app", "web"),
            ("__meta_kubernetes_service_labelpresent_app", "true"),
            ("__meta_kubernetes_service_name", "web"),
        ])
    );
    assert_eq!(
        target_labels(g),
        sorted(vec![
            map(&[
                ("__address__", "web.default.svc:80"),
                ("__meta_kubernetes_service_cluster_ip", "10.96.0.10"),
                ("__meta_kubernetes_service_port_name", "http"),
                ("__meta_kubernetes_service_port_number", "80"),
                ("__meta_kubernetes_service_port_protocol", "TCP"),
                ("__meta_kubernetes_service_type", "ClusterIP"),
            ]),
            map(&[
                ("__address__", "web.default.svc:53"),
                ("__meta_kubernetes_service_cluster_ip", "10.96.0.10"),
                ("__meta_kubernetes_service_port_name", "dns"),
                ("__meta_kubernetes_service_port_number", "53"),
                ("__meta_kubernetes_service_port_protocol", "UDP"),
                ("__meta_kubernetes_service_type", "ClusterIP"),
            ]),
        ])
    );
    assert_eq!(
        target_labels(group(&groups, "svc/default/ext")),
        vec![map(&[
            ("__address__", "ext.default.svc:5432"),
            ("__meta_kubernetes_service_external_name", "db.example.com"),
            ("__meta_kubernetes_service_port_name", ""),
            ("__meta_kubernetes_service_port_number", "5432"),
            ("__meta_kubernetes_service_port_protocol", "TCP"),
            ("__meta_kubernetes_service_type", "ExternalName"),
        ])]
    );
    assert_eq!(
        target_labels(group(&groups, "svc/default/lb")),
        vec![map(&[
            ("__address__", "lb.default.svc:443"),
            ("__meta_kubernetes_service_cluster_ip", "10.96.0.11"),
            (
                "__meta_kubernetes_service_loadbalancer_ip",
                "198.51.100.1,198.51.100.2"
            ),
            ("__meta_kubernetes_service_port_name", "https"),
            ("__meta_kubernetes_service_port_number", "443"),
            ("__meta_kubernetes_service_port_protocol", "TCP"),
            ("__meta_kubernetes_service_type", "LoadBalancer"),
        ])]
    );
}

fn backend_pod(ns: &str, name: &str, ip: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "labels": {"app": "web"}},
        "spec": {"nodeName": "node-a", "containers": [
            {"name": "app", "image": "web:1", "ports": [
                {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                {"name": "admin", "containerPort": 9000, "protocol": "TCP"}]}]},
        "status": {"phase": "Running", "podIP": ip, "hostIP": "10.0.0.7",
                   "conditions": [{"type": "Ready", "status": "True"}]}
    })
}

/// The labels `podLabels` gives a target backed by `backend_pod("default", "web-1", ...)`.
fn backend_pod_labels() -> Vec<(&'static str, &'static str)> {
    vec![
        ("__meta_kubernetes_pod_host_ip", "10.0.0.7"),
        ("__meta_kubernetes_pod_ip", "10.1.0.1"),
        ("__meta_kubernetes_pod_label_app", "web"),
        ("__meta_kubernetes_pod_labelpresent_app", "true"),
        ("__meta_kubernetes_pod_name", "web-1"),
        ("__meta_kubernetes_pod_node_name", "node-a"),
        ("__meta_kubernetes_pod_phase", "Running"),
        ("__meta_kubernetes_pod_ready", "true"),
        ("__meta_kubernetes_pod_uid", "uid-web-1"),
    ]
}

fn with(base: Vec<(&'static str, &'static str)>, more: &[(&'static str, &'static str)]) -> Map {
    let mut all = base;
    all.extend_from_slice(more);
    map(&all)
}

#[tokio::test]
async fn endpoints_role() {
    let fixture = KubeFixture::start();
    fixture.apply("pods", backend_pod("default", "web-1", "10.1.0.1"));
    fixture.apply(
        "services",
        service(
            "default",
            "web",
            json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "ports": [{"port": 80}]}),
        ),
    );
    fixture.apply(
        "endpoints",
        json!({
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "subsets": [{
                "addresses": [{"ip": "10.1.0.1", "nodeName": "node-a",
                               "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "default"}}],
                "notReadyAddresses": [{"ip": "10.1.0.2", "hostname": "web-2"}],
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]
            }]
        }),
    );
    let mut d = discoverer(&config(&yaml(&fixture, "endpoints", "")));
    let groups = next_full(&mut d).await;
    let g = group(&groups, "endpoints/default/web");
    assert_eq!(
        group_labels(g),
        map(&[
            ("__meta_kubernetes_endpoints_label_app", "web"),
            ("__meta_kubernetes_endpoints_labelpresent_app", "true"),
            ("__meta_kubernetes_endpoints_name", "web"),
            ("__meta_kubernetes_namespace", "default"),
            ("__meta_kubernetes_service_annotation_team", "core"),
            ("__meta_kubernetes_service_annotationpresent_team", "true"),
            ("__meta_kubernetes_service_label_app", "web"),
            ("__meta_kubernetes_service_labelpresent_app", "true"),
            ("__meta_kubernetes_service_name", "web"),
        ])
    );
    assert_eq!(
        target_labels(g),
        sorted(vec![
            // The ready address, backed by the pod: endpoint, pod and container-port labels.
            with(
                backend_pod_labels(),
                &[
                    ("__address__", "10.1.0.1:8080"),
                    ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
                    ("__meta_kubernetes_endpoint_address_target_name", "web-1"),
                    ("__meta_kubernetes_endpoint_node_name", "node-a"),
                    ("__meta_kubernetes_endpoint_port_name", "http"),
                    ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                    ("__meta_kubernetes_endpoint_ready", "true"),
                    ("__meta_kubernetes_pod_container_image", "web:1"),
                    ("__meta_kubernetes_pod_container_init", "false"),
                    ("__meta_kubernetes_pod_container_name", "app"),
                    ("__meta_kubernetes_pod_container_port_name", "http"),
                    ("__meta_kubernetes_pod_container_port_number", "8080"),
                    ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                ],
            ),
            // The not-ready address, no pod.
            map(&[
                ("__address__", "10.1.0.2:8080"),
                ("__meta_kubernetes_endpoint_hostname", "web-2"),
                ("__meta_kubernetes_endpoint_port_name", "http"),
                ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                ("__meta_kubernetes_endpoint_ready", "false"),
            ]),
            // The pod's port no endpoint port covers.
            with(
                backend_pod_labels(),
                &[
                    ("__address__", "10.1.0.1:9000"),
                    ("__meta_kubernetes_pod_container_image", "web:1"),
                    ("__meta_kubernetes_pod_container_init", "false"),
                    ("__meta_kubernetes_pod_container_name", "app"),
                    ("__meta_kubernetes_pod_container_port_name", "admin"),
                    ("__meta_kubernetes_pod_container_port_number", "9000"),
                    ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                ],
            ),
        ])
    );

    // A change to the service or to a backing pod rebuilds the group.
    let mut svc = service(
        "default",
        "web",
        json!({"type": "ClusterIP", "ports": [{"port": 80}]}),
    );
    svc["metadata"]["labels"] = json!({"app": "web", "tier": "gold"});
    fixture.apply("services", svc);
    let changed = next_changed(&mut d).await;
    assert_eq!(&*changed[0].source, "endpoints/default/web");
    assert_eq!(
        changed[0]
            .labels
            .get("__meta_kubernetes_service_label_tier"),
        Some("gold")
    );
    let mut pod = backend_pod("default", "web-1", "10.1.0.1");
    pod["status"]["phase"] = json!("Failed");
    fixture.apply("pods", pod);
    let changed = next_changed(&mut d).await;
    assert_eq!(&*changed[0].source, "endpoints/default/web");
    assert!(changed[0]
        .targets
        .iter()
        .any(|t| t.get("__meta_kubernetes_pod_phase") == Some("Failed")));
}

#[tokio::test]
async fn endpointslice_role() {
    let fixture = KubeFixture::start();
    fixture.apply("pods", backend_pod("default", "web-1", "10.1.0.1"));
    fixture.apply(
        "services",
        service(
            "default",
            "web",
            json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "ports": [{"port": 80}]}),
        ),
    );
    fixture.apply(
        "endpointslices",
        json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "web-abc", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["10.1.0.1"], "conditions": {"ready": true, "serving": true, "terminating": false},
                 "nodeName": "node-a", "zone": "eu-1a",
                 "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "default"}},
                {"addresses": ["10.1.0.2"], "conditions": {"ready": false}, "hostname": "web-2",
                 "deprecatedTopology": {"kubernetes.io/hostname": "node-b"}}
            ],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]
        }),
    );
    let mut d = discoverer(&config(&yaml(&fixture, "endpointslice", "")));
    let groups = next_full(&mut d).await;
    let g = group(&groups, "endpointslice/default/web-abc");
    assert_eq!(
        group_labels(g),
        map(&[
            ("__meta_kubernetes_endpointslice_address_type", "IPv4"),
            (
                "__meta_kubernetes_endpointslice_label_kubernetes_io_service_name",
                "web"
            ),
            (
                "__meta_kubernetes_endpointslice_labelpresent_kubernetes_io_service_name",
                "true"
            ),
            ("__meta_kubernetes_endpointslice_name", "web-abc"),
            ("__meta_kubernetes_namespace", "default"),
            ("__meta_kubernetes_service_annotation_team", "core"),
            ("__meta_kubernetes_service_annotationpresent_team", "true"),
            ("__meta_kubernetes_service_label_app", "web"),
            ("__meta_kubernetes_service_labelpresent_app", "true"),
            ("__meta_kubernetes_service_name", "web"),
        ])
    );
    let port = [
        ("__meta_kubernetes_endpointslice_port", "8080"),
        ("__meta_kubernetes_endpointslice_port_app_protocol", "http"),
        ("__meta_kubernetes_endpointslice_port_name", "http"),
        ("__meta_kubernetes_endpointslice_port_protocol", "TCP"),
    ];
    let mut not_ready = vec![
        ("__address__", "10.1.0.2:8080"),
        (
            "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
            "false",
        ),
        ("__meta_kubernetes_endpointslice_endpoint_hostname", "web-2"),
        (
            "__meta_kubernetes_endpointslice_endpoint_topology_kubernetes_io_hostname",
            "node-b",
        ),
        (
            "__meta_kubernetes_endpointslice_endpoint_topology_present_kubernetes_io_hostname",
            "true",
        ),
    ];
    not_ready.extend_from_slice(&port);
    let mut ready = backend_pod_labels();
    ready.extend_from_slice(&port);
    assert_eq!(
        target_labels(g),
        sorted(vec![
            with(
                ready,
                &[
                    ("__address__", "10.1.0.1:8080"),
                    ("__meta_kubernetes_endpointslice_address_target_kind", "Pod"),
                    (
                        "__meta_kubernetes_endpointslice_address_target_name",
                        "web-1"
                    ),
                    (
                        "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
                        "true"
                    ),
                    (
                        "__meta_kubernetes_endpointslice_endpoint_conditions_serving",
                        "true"
                    ),
                    (
                        "__meta_kubernetes_endpointslice_endpoint_conditions_terminating",
                        "false"
                    ),
                    (
                        "__meta_kubernetes_endpointslice_endpoint_node_name",
                        "node-a"
                    ),
                    ("__meta_kubernetes_endpointslice_endpoint_zone", "eu-1a"),
                    ("__meta_kubernetes_pod_container_image", "web:1"),
                    ("__meta_kubernetes_pod_container_init", "false"),
                    ("__meta_kubernetes_pod_container_name", "app"),
                    ("__meta_kubernetes_pod_container_port_name", "http"),
                    ("__meta_kubernetes_pod_container_port_number", "8080"),
                    ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                ],
            ),
            map(&not_ready),
            with(
                backend_pod_labels(),
                &[
                    ("__address__", "10.1.0.1:9000"),
                    ("__meta_kubernetes_pod_container_image", "web:1"),
                    ("__meta_kubernetes_pod_container_init", "false"),
                    ("__meta_kubernetes_pod_container_name", "app"),
                    ("__meta_kubernetes_pod_container_port_name", "admin"),
                    ("__meta_kubernetes_pod_container_port_number", "9000"),
                    ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                ],
            ),
        ])
    );

    // The secondary slice of a dual-stack service has no targets.
    let mut dual = service(
        "default",
        "web",
        json!({"type": "ClusterIP", "ipFamilyPolicy": "PreferDualStack", "ipFamilies": ["IPv6", "IPv4"], "ports": [{"port": 80}]}),
    );
    dual["metadata"]["labels"] = json!({"app": "web"});
    fixture.apply("services", dual);
    let changed = next_changed(&mut d).await;
    assert_eq!(&*changed[0].source, "endpointslice/default/web-abc");
    assert!(changed[0].targets.is_empty());
}

#[tokio::test]
async fn ingress_role() {
    let fixture = KubeFixture::start();
    fixture.apply(
        "ingresses",
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "site", "namespace": "web", "labels": {"app": "site"}},
            "spec": {
                "ingressClassName": "nginx",
                "tls": [{"hosts": ["*.example.com"]}],
                "rules": [
                    {"host": "www.example.com", "http": {"paths": [{"path": "/"}, {"path": "/api"}]}},
                    {"host": "plain.test"},
                    {"host": "blank.test", "http": {"paths": [{"pathType": "Prefix"}]}}
                ]
            }
        }),
    );
    let mut d = discoverer(&config(&yaml(&fixture, "ingress", "")));
    let groups = next_full(&mut d).await;
    let g = group(&groups, "ingress/web/site");
    assert_eq!(
        group_labels(g),
        map(&[
            ("__meta_kubernetes_ingress_class_name", "nginx"),
            ("__meta_kubernetes_ingress_label_app", "site"),
            ("__meta_kubernetes_ingress_labelpresent_app", "true"),
            ("__meta_kubernetes_ingress_name", "site"),
            ("__meta_kubernetes_namespace", "web"),
        ])
    );
    let target = |host: &'static str, scheme: &'static str, path: &'static str| {
        map(&[
            ("__address__", host),
            ("__meta_kubernetes_ingress_host", host),
            ("__meta_kubernetes_ingress_path", path),
            ("__meta_kubernetes_ingress_scheme", scheme),
        ])
    };
    assert_eq!(
        target_labels(g),
        sorted(vec![
            target("www.example.com", "https", "/"),
            target("www.example.com", "https", "/api"),
            target("plain.test", "http", "/"),
            target("blank.test", "http", "/"),
        ])
    );
}

fn namespace(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "labels": labels, "annotations": {"owner": "team-a"}}})
}

/// `attach_metadata: {node: true, namespace: true, deployment: true, job: true, cronjob: true}`
/// on role pod: node and namespace labels, owners resolved through ReplicaSets and Jobs, pods
/// on unknown nodes dropped, and a node or namespace change rebuilding its pods.
#[tokio::test]
async fn attach_metadata_on_pods() {
    let fixture = KubeFixture::start();
    fixture.apply("nodes", node("node-a", json!({"zone": "a"})));
    fixture.apply("namespaces", namespace("default", json!({"env": "prod"})));
    fixture.apply(
        "replicasets",
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-7d9", "namespace": "default",
               "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": true}]}}),
    );
    fixture.apply(
        "jobs",
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "backup-123", "namespace": "default",
               "ownerReferences": [{"kind": "CronJob", "name": "backup", "controller": true}]}}),
    );
    let mut web = backend_pod("default", "web-1", "10.1.0.1");
    web["metadata"]["ownerReferences"] =
        json!([{"kind": "ReplicaSet", "name": "web-7d9", "controller": true}]);
    fixture.apply("pods", web);
    let mut job = backend_pod("default", "backup-123-x", "10.1.0.3");
    job["metadata"]["ownerReferences"] =
        json!([{"kind": "Job", "name": "backup-123", "controller": true}]);
    fixture.apply("pods", job);
    let mut elsewhere = backend_pod("default", "lost", "10.1.0.9");
    elsewhere["spec"]["nodeName"] = json!("node-unknown");
    fixture.apply("pods", elsewhere);

    let mut d = discoverer(&config(&yaml(
        &fixture,
        "pod",
        "attach_metadata: {node: true, namespace: true, deployment: true, job: true, cronjob: true}\n",
    )));
    let groups = next_full(&mut d).await;
    assert_eq!(groups.len(), 2, "the pod on an unknown node has no group");
    let web = group_labels(group(&groups, "pod/default/web-1"));
    let attached = map(&[
        ("__meta_kubernetes_namespace_annotation_owner", "team-a"),
        (
            "__meta_kubernetes_namespace_annotationpresent_owner",
            "true",
        ),
        ("__meta_kubernetes_namespace_label_env", "prod"),
        ("__meta_kubernetes_namespace_labelpresent_env", "true"),
        (
            "__meta_kubernetes_node_annotation_node_alpha_kubernetes_io_ttl",
            "0",
        ),
        (
            "__meta_kubernetes_node_annotationpresent_node_alpha_kubernetes_io_ttl",
            "true",
        ),
        ("__meta_kubernetes_node_label_zone", "a"),
        ("__meta_kubernetes_node_labelpresent_zone", "true"),
        ("__meta_kubernetes_node_name", "node-a"),
        ("__meta_kubernetes_pod_controller_kind", "ReplicaSet"),
        ("__meta_kubernetes_pod_controller_name", "web-7d9"),
        ("__meta_kubernetes_pod_deployment_name", "web"),
    ]);
    for (k, v) in &attached {
        assert_eq!(web.get(k), Some(v), "{k}");
    }
    let backup = group_labels(group(&groups, "pod/default/backup-123-x"));
    assert_eq!(
        backup
            .get("__meta_kubernetes_pod_job_name")
            .map(String::as_str),
        Some("backup-123")
    );
    assert_eq!(
        backup
            .get("__meta_kubernetes_pod_cronjob_name")
            .map(String::as_str),
        Some("backup")
    );
    assert!(!backup.contains_key("__meta_kubernetes_pod_deployment_name"));

    // A namespace label change rebuilds the pods of that namespace.
    fixture.apply(
        "namespaces",
        namespace("default", json!({"env": "staging"})),
    );
    let changed = next_changed(&mut d).await;
    group(&changed, "pod/default/backup-123-x");
    let web = group(&changed, "pod/default/web-1");
    assert_eq!(
        web.labels.get("__meta_kubernetes_namespace_label_env"),
        Some("staging")
    );

    // The unknown node appears: its pod gets a group.
    fixture.apply("nodes", node("node-unknown", json!({})));
    let changed = next_changed(&mut d).await;
    assert_eq!(&*changed[0].source, "pod/default/lost");
    assert_eq!(changed[0].targets.len(), 2);
}
