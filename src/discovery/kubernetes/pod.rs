//! Role `pod` (Prometheus' `pod.go`): a group per pod (`pod/<namespace>/<name>`), a target
//! per declared container port (`<pod IP>:<port>`) and one per container without ports (the pod
//! IP alone), init containers included and flagged. A pod without an IP has no group; with
//! `attach_metadata.node`, neither has a pod whose node is not known (filtered by node
//! selectors). The pod labels here are also those the endpoints roles attach.

use std::sync::Arc;

use promsd_actors::{LabelSet, Str, TargetGroup};

use super::discoverer::{Lookup, RoleBuilder};
use super::labels::{
    add_labels_and_annotations, add_object_meta, bool_value, join_host_port, names, number, Labels,
    ADDRESS, NAMESPACE,
};
use super::objects::{object_key, Container, Kind, Object, Pod};
use super::AttachMetadata;

names! {
    POD_NAME = "__meta_kubernetes_pod_name";
    POD_IP = "__meta_kubernetes_pod_ip";
    POD_READY = "__meta_kubernetes_pod_ready";
    POD_PHASE = "__meta_kubernetes_pod_phase";
    POD_NODE_NAME = "__meta_kubernetes_pod_node_name";
    POD_HOST_IP = "__meta_kubernetes_pod_host_ip";
    POD_UID = "__meta_kubernetes_pod_uid";
    POD_CONTROLLER_KIND = "__meta_kubernetes_pod_controller_kind";
    POD_CONTROLLER_NAME = "__meta_kubernetes_pod_controller_name";
    POD_DEPLOYMENT_NAME = "__meta_kubernetes_pod_deployment_name";
    POD_JOB_NAME = "__meta_kubernetes_pod_job_name";
    POD_CRONJOB_NAME = "__meta_kubernetes_pod_cronjob_name";
    pub(super) CONTAINER_NAME = "__meta_kubernetes_pod_container_name";
    CONTAINER_ID = "__meta_kubernetes_pod_container_id";
    pub(super) CONTAINER_IMAGE = "__meta_kubernetes_pod_container_image";
    pub(super) CONTAINER_PORT_NAME = "__meta_kubernetes_pod_container_port_name";
    pub(super) CONTAINER_PORT_NUMBER = "__meta_kubernetes_pod_container_port_number";
    pub(super) CONTAINER_PORT_PROTOCOL = "__meta_kubernetes_pod_container_port_protocol";
    pub(super) CONTAINER_INIT = "__meta_kubernetes_pod_container_init";
    NODE_NAME = "__meta_kubernetes_node_name";
}

pub struct PodRole {
    attach: AttachMetadata,
}

impl PodRole {
    pub fn new(attach: AttachMetadata) -> Self {
        PodRole { attach }
    }
}

impl RoleBuilder for PodRole {
    fn primary(&self) -> Kind {
        Kind::Pod
    }

    fn source(&self, key: &str) -> Str {
        Arc::from(format!("pod/{key}"))
    }

    fn build(&self, object: &Object, lookup: &mut Lookup<'_>) -> Option<TargetGroup> {
        let Object::Pod(pod) = object else {
            return None;
        };
        let source = || self.source(&object_key(&pod.meta.namespace, &pod.meta.name));
        if pod.pod_ip.is_empty() {
            return Some(TargetGroup::removal(source()));
        }
        let mut labels = pod_labels(pod, self.attach, lookup);
        labels.set(&NAMESPACE, &pod.meta.namespace);
        if self.attach.node && !add_node_labels(&mut labels, pod.node_name.str(), lookup) {
            return Some(TargetGroup::removal(source()));
        }
        if self.attach.namespace {
            add_namespace_labels(&mut labels, pod.meta.namespace.str(), lookup);
        }
        let mut targets = Vec::with_capacity(pod.container_count());
        for container in pod.containers() {
            container_targets(pod, &container, &mut targets);
        }
        Some(TargetGroup::new(source(), targets, labels.finish()))
    }
}

fn container_targets(pod: &Pod, c: &Container<'_>, targets: &mut Vec<LabelSet>) {
    if c.ports.is_empty() {
        let mut t = Labels::with_capacity(5);
        t.set(&ADDRESS, pod.pod_ip.clone());
        t.set(&CONTAINER_NAME, c.name);
        t.set(&CONTAINER_ID, c.id.clone());
        t.set(&CONTAINER_IMAGE, c.image);
        t.set(&CONTAINER_INIT, bool_value(c.init));
        targets.push(t.finish());
        return;
    }
    for port in c.ports {
        let mut t = Labels::with_capacity(8);
        t.set(
            &ADDRESS,
            join_host_port(&pod.pod_ip, i64::from(port.number)),
        );
        t.set(&CONTAINER_NAME, c.name);
        t.set(&CONTAINER_ID, c.id.clone());
        t.set(&CONTAINER_IMAGE, c.image);
        t.set(&CONTAINER_PORT_NUMBER, number(i64::from(port.number)));
        t.set(&CONTAINER_PORT_NAME, &port.name);
        t.set(&CONTAINER_PORT_PROTOCOL, &port.protocol);
        t.set(&CONTAINER_INIT, bool_value(c.init));
        targets.push(t.finish());
    }
}

/// Prometheus' `podLabels`: the pod's own labels, which endpoints targets backed by the pod
/// carry too.
pub(super) fn pod_labels(pod: &Pod, attach: AttachMetadata, lookup: &mut Lookup<'_>) -> Labels {
    let mut l =
        Labels::with_capacity(12 + 2 * (pod.meta.labels.len() + pod.meta.annotations.len()));
    l.set(&POD_IP, pod.pod_ip.clone());
    l.set(&POD_READY, &pod.ready);
    l.set(&POD_PHASE, &pod.phase);
    l.set(&POD_NODE_NAME, &pod.node_name);
    l.set(&POD_HOST_IP, &pod.host_ip);
    l.set(&POD_UID, pod.meta.uid.clone());
    add_object_meta(&mut l, &pod.meta, "pod", &POD_NAME);
    if let Some(owner) = &pod.meta.controller {
        if !owner.kind.is_empty() {
            l.set(&POD_CONTROLLER_KIND, &owner.kind);
        }
        if !owner.name.is_empty() {
            l.set(&POD_CONTROLLER_NAME, &owner.name);
        }
        match &*owner.kind {
            "ReplicaSet" if attach.deployment => {
                let key = object_key(&pod.meta.namespace, &owner.name);
                if let Some(Object::ReplicaSet(rs)) = lookup.get(Kind::ReplicaSet, key) {
                    if let Some(rs_owner) =
                        rs.controller.as_ref().filter(|o| &*o.kind == "Deployment")
                    {
                        l.set(&POD_DEPLOYMENT_NAME, &rs_owner.name);
                    }
                }
            }
            "Job" => {
                if attach.job {
                    l.set(&POD_JOB_NAME, &owner.name);
                }
                if attach.cronjob {
                    let key = object_key(&pod.meta.namespace, &owner.name);
                    if let Some(Object::Job(job)) = lookup.get(Kind::Job, key) {
                        if let Some(job_owner) =
                            job.controller.as_ref().filter(|o| &*o.kind == "CronJob")
                        {
                            l.set(&POD_CRONJOB_NAME, &job_owner.name);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    l
}

/// Prometheus' `addNodeLabels`: the node's name, labels and annotations. False when the node
/// is not known.
pub(super) fn add_node_labels(
    labels: &mut Labels,
    node_name: &Str,
    lookup: &mut Lookup<'_>,
) -> bool {
    match lookup.get(Kind::Node, node_name.clone()) {
        Some(Object::Node(node)) => {
            add_object_meta(labels, &node.meta, "node", &NODE_NAME);
            true
        }
        _ => false,
    }
}

/// Prometheus' `addNamespaceLabels`: the namespace's labels and annotations.
pub(super) fn add_namespace_labels(labels: &mut Labels, namespace: &Str, lookup: &mut Lookup<'_>) {
    if let Some(Object::Namespace(meta)) = lookup.get(Kind::Namespace, namespace.clone()) {
        add_labels_and_annotations(labels, meta, "namespace");
    }
}
