//! Role `endpoints` (Prometheus' `endpoints.go`): a group per Endpoints object
//! (`endpoints/<namespace>/<name>`), a target per address and port (ready addresses, then
//! not-ready ones), carrying the pod's labels when the address is a pod, and a target for every
//! container port of such a pod that no endpoint port covers. The group carries the service's
//! labels when a service of the same name exists.

use std::sync::Arc;

use promsd_actors::{LabelSet, Str, TargetGroup};

use super::discoverer::{Lookup, RoleBuilder};
use super::labels::{
    add_object_meta, bool_value, join_host_port, names, number, Labels, ADDRESS, NAMESPACE,
};
use super::objects::{object_key, EndpointAddress, Kind, Object, Pod, ServicePort, TargetRef};
use super::pod::{
    add_namespace_labels, add_node_labels, pod_labels, CONTAINER_IMAGE, CONTAINER_INIT,
    CONTAINER_NAME, CONTAINER_PORT_NAME, CONTAINER_PORT_NUMBER, CONTAINER_PORT_PROTOCOL,
};
use super::service::service_labels;
use super::AttachMetadata;

names! {
    ENDPOINTS_NAME = "__meta_kubernetes_endpoints_name";
    NODE_NAME = "__meta_kubernetes_endpoint_node_name";
    HOSTNAME = "__meta_kubernetes_endpoint_hostname";
    READY = "__meta_kubernetes_endpoint_ready";
    PORT_NAME = "__meta_kubernetes_endpoint_port_name";
    PORT_PROTOCOL = "__meta_kubernetes_endpoint_port_protocol";
    TARGET_KIND = "__meta_kubernetes_endpoint_address_target_kind";
    TARGET_NAME = "__meta_kubernetes_endpoint_address_target_name";
}

pub struct EndpointsRole {
    attach: AttachMetadata,
}

impl EndpointsRole {
    pub fn new(attach: AttachMetadata) -> Self {
        EndpointsRole { attach }
    }
}

impl RoleBuilder for EndpointsRole {
    fn primary(&self) -> Kind {
        Kind::Endpoints
    }

    fn source(&self, key: &str) -> Str {
        Arc::from(format!("endpoints/{key}"))
    }

    fn build(&self, object: &Object, lookup: &mut Lookup<'_>) -> Option<TargetGroup> {
        let Object::Endpoints(eps) = object else {
            return None;
        };
        let mut labels = Labels::default();
        labels.set(&NAMESPACE, &eps.meta.namespace);
        let key = object_key(&eps.meta.namespace, &eps.meta.name);
        if let Some(Object::Service(svc)) = lookup.get(Kind::Service, key.clone()) {
            labels.merge(&service_labels(svc));
        }
        add_object_meta(&mut labels, &eps.meta, "endpoints", &ENDPOINTS_NAME);
        if self.attach.namespace {
            add_namespace_labels(&mut labels, eps.meta.namespace.str(), lookup);
        }
        let mut targets = Vec::new();
        let mut seen = SeenPods::default();
        for subset in eps.subsets.iter() {
            for port in subset.ports.iter() {
                for (addresses, ready) in [
                    (&subset.addresses, true),
                    (&subset.not_ready_addresses, false),
                ] {
                    for addr in addresses.iter() {
                        let t = self.target(addr, port, ready, lookup, &mut seen);
                        targets.push(t);
                    }
                }
            }
        }
        seen.extra_port_targets(self.attach, lookup, &mut targets);
        Some(TargetGroup::new(
            self.source(&key),
            targets,
            labels.finish(),
        ))
    }
}

impl EndpointsRole {
    fn target<'a>(
        &self,
        addr: &EndpointAddress,
        port: &ServicePort,
        ready: bool,
        lookup: &mut Lookup<'a>,
        seen: &mut SeenPods<'a>,
    ) -> LabelSet {
        let mut t = Labels::with_capacity(24);
        t.set(&ADDRESS, join_host_port(&addr.ip, i64::from(port.port)));
        t.set(&PORT_NAME, &port.name);
        t.set(&PORT_PROTOCOL, &port.protocol);
        t.set(&READY, bool_value(ready));
        if let Some(r) = &addr.target_ref {
            t.set(&TARGET_KIND, &r.kind);
            t.set(&TARGET_NAME, r.name.clone());
        }
        if let Some(node) = &addr.node_name {
            t.set(&NODE_NAME, node);
        }
        if !addr.hostname.is_empty() {
            t.set(&HOSTNAME, addr.hostname.clone());
        }
        if self.attach.node {
            if let Some(node) = &addr.node_name {
                add_node_labels(&mut t, node.str(), lookup);
            } else if let Some(r) = addr.target_ref.as_ref().filter(|r| &*r.kind == "Node") {
                add_node_labels(&mut t, &r.name, lookup);
            }
        }
        if let Some(pod) = resolve_pod(addr.target_ref.as_ref(), lookup) {
            t.merge(&pod_labels(pod, self.attach, lookup));
            for c in pod.containers() {
                if let Some(cport) = c.ports.iter().find(|p| p.number == port.port) {
                    t.set(&CONTAINER_NAME, c.name);
                    t.set(&CONTAINER_IMAGE, c.image);
                    t.set(&CONTAINER_PORT_NAME, &cport.name);
                    t.set(&CONTAINER_PORT_NUMBER, number(i64::from(port.port)));
                    t.set(&CONTAINER_PORT_PROTOCOL, &port.protocol);
                    t.set(&CONTAINER_INIT, bool_value(c.init));
                }
            }
            seen.add(pod, Some(port.port));
        }
        t.finish()
    }
}

/// The pod a target reference names, if it is a known pod.
pub(super) fn resolve_pod<'a>(r: Option<&TargetRef>, lookup: &mut Lookup<'a>) -> Option<&'a Pod> {
    let r = r.filter(|r| &*r.kind == "Pod")?;
    match lookup.get(Kind::Pod, object_key(&r.namespace, &r.name)) {
        Some(Object::Pod(pod)) => Some(pod),
        _ => None,
    }
}

/// The pods the endpoint targets pointed at, in first-seen order, with the ports they covered.
#[derive(Default)]
pub(super) struct SeenPods<'a> {
    pods: Vec<(&'a Pod, Vec<Option<i32>>)>,
}

impl<'a> SeenPods<'a> {
    pub(super) fn add(&mut self, pod: &'a Pod, port: Option<i32>) {
        match self
            .pods
            .iter_mut()
            .find(|(p, _)| p.meta.name == pod.meta.name && p.meta.namespace == pod.meta.namespace)
        {
            Some((_, ports)) => ports.push(port),
            None => self.pods.push((pod, vec![port])),
        }
    }

    /// A target for every container port of a seen pod that no endpoint port covered.
    pub(super) fn extra_port_targets(
        &self,
        attach: AttachMetadata,
        lookup: &mut Lookup<'_>,
        targets: &mut Vec<LabelSet>,
    ) {
        for (pod, covered) in &self.pods {
            if pod.pod_ip.is_empty() {
                continue;
            }
            for c in pod.containers() {
                for cport in c.ports {
                    if covered.contains(&Some(cport.number)) {
                        continue;
                    }
                    let mut t = Labels::with_capacity(24);
                    t.set(
                        &ADDRESS,
                        join_host_port(&pod.pod_ip, i64::from(cport.number)),
                    );
                    t.set(&CONTAINER_NAME, c.name);
                    t.set(&CONTAINER_IMAGE, c.image);
                    t.set(&CONTAINER_PORT_NAME, &cport.name);
                    t.set(&CONTAINER_PORT_NUMBER, number(i64::from(cport.number)));
                    t.set(&CONTAINER_PORT_PROTOCOL, &cport.protocol);
                    t.set(&CONTAINER_INIT, bool_value(c.init));
                    t.merge(&pod_labels(pod, attach, lookup));
                    targets.push(t.finish());
                }
            }
        }
    }
}
