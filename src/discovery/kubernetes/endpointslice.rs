//! Role `endpointslice` (Prometheus' `endpointslice.go`): a group per EndpointSlice
//! (`endpointslice/<namespace>/<name>`), a target per endpoint, port and address, with the
//! endpoint's conditions (ready, serving, terminating), and the pod targets and extra container
//! ports as in role `endpoints`. The group carries the labels of the service named by the
//! slice's `kubernetes.io/service-name` label. The secondary slice of a dual-stack service (its
//! address type not the service's primary IP family) has no targets.

use std::sync::Arc;

use promsd_actors::{LabelSet, Str, TargetGroup};

use super::discoverer::{Lookup, RoleBuilder};
use super::endpoints::{resolve_pod, SeenPods};
use super::labels::{
    add_object_meta, bool_value, names, number, sanitize, Labels, ADDRESS, NAMESPACE, TRUE,
};
use super::objects::{object_key, EndpointSlice, Kind, Object, Service, SliceEndpoint, SlicePort};
use super::pod::{
    add_namespace_labels, add_node_labels, pod_labels, CONTAINER_IMAGE, CONTAINER_INIT,
    CONTAINER_NAME, CONTAINER_PORT_NAME, CONTAINER_PORT_NUMBER, CONTAINER_PORT_PROTOCOL,
};
use super::service::service_labels;
use super::AttachMetadata;

names! {
    SLICE_NAME = "__meta_kubernetes_endpointslice_name";
    ADDRESS_TYPE = "__meta_kubernetes_endpointslice_address_type";
    PORT_NAME = "__meta_kubernetes_endpointslice_port_name";
    PORT_PROTOCOL = "__meta_kubernetes_endpointslice_port_protocol";
    PORT = "__meta_kubernetes_endpointslice_port";
    APP_PROTOCOL = "__meta_kubernetes_endpointslice_port_app_protocol";
    READY = "__meta_kubernetes_endpointslice_endpoint_conditions_ready";
    SERVING = "__meta_kubernetes_endpointslice_endpoint_conditions_serving";
    TERMINATING = "__meta_kubernetes_endpointslice_endpoint_conditions_terminating";
    ZONE = "__meta_kubernetes_endpointslice_endpoint_zone";
    HOSTNAME = "__meta_kubernetes_endpointslice_endpoint_hostname";
    NODE_NAME = "__meta_kubernetes_endpointslice_endpoint_node_name";
    TARGET_KIND = "__meta_kubernetes_endpointslice_address_target_kind";
    TARGET_NAME = "__meta_kubernetes_endpointslice_address_target_name";
}

/// The label naming a slice's service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

pub struct EndpointSliceRole {
    attach: AttachMetadata,
}

impl EndpointSliceRole {
    pub fn new(attach: AttachMetadata) -> Self {
        EndpointSliceRole { attach }
    }
}

impl RoleBuilder for EndpointSliceRole {
    fn primary(&self) -> Kind {
        Kind::EndpointSlice
    }

    fn source(&self, key: &str) -> Str {
        Arc::from(format!("endpointslice/{key}"))
    }

    fn build(&self, object: &Object, lookup: &mut Lookup<'_>) -> Option<TargetGroup> {
        let Object::EndpointSlice(eps) = object else {
            return None;
        };
        let source = self.source(&object_key(&eps.meta.namespace, &eps.meta.name));
        let mut labels = Labels::default();
        labels.set(&NAMESPACE, &eps.meta.namespace);
        labels.set(&ADDRESS_TYPE, &eps.address_type);
        add_object_meta(&mut labels, &eps.meta, "endpointslice", &SLICE_NAME);
        let mut service = None;
        if let Some(name) = eps.meta.label(SERVICE_NAME_LABEL) {
            let key = object_key(&eps.meta.namespace, name);
            if let Some(Object::Service(svc)) = lookup.get(Kind::Service, key) {
                labels.merge(&service_labels(svc));
                service = Some(svc);
            }
        }
        if self.attach.namespace {
            add_namespace_labels(&mut labels, eps.meta.namespace.str(), lookup);
        }
        if non_primary_ip_family_slice(service, eps) {
            return Some(TargetGroup::new(source, Vec::new(), labels.finish()));
        }
        let mut targets = Vec::new();
        let mut seen = SeenPods::default();
        for ep in eps.endpoints.iter() {
            for port in eps.ports.iter() {
                for addr in ep.addresses.iter() {
                    targets.push(self.target(addr, ep, port, lookup, &mut seen));
                }
            }
        }
        seen.extra_port_targets(self.attach, lookup, &mut targets);
        Some(TargetGroup::new(source, targets, labels.finish()))
    }
}

impl EndpointSliceRole {
    fn target<'a>(
        &self,
        addr: &Str,
        ep: &SliceEndpoint,
        port: &SlicePort,
        lookup: &mut Lookup<'a>,
        seen: &mut SeenPods<'a>,
    ) -> LabelSet {
        let mut t = Labels::with_capacity(24);
        let address = match port.port {
            Some(p) => super::labels::join_host_port(addr, i64::from(p)),
            None => addr.clone(),
        };
        t.set(&ADDRESS, address);
        if let Some(name) = &port.name {
            t.set(&PORT_NAME, name);
        }
        if let Some(protocol) = &port.protocol {
            t.set(&PORT_PROTOCOL, protocol);
        }
        if let Some(p) = port.port {
            t.set(&PORT, number(i64::from(p)));
        }
        if let Some(app) = &port.app_protocol {
            t.set(&APP_PROTOCOL, app);
        }
        if let Some(b) = ep.ready {
            t.set(&READY, bool_value(b));
        }
        if let Some(b) = ep.serving {
            t.set(&SERVING, bool_value(b));
        }
        if let Some(b) = ep.terminating {
            t.set(&TERMINATING, bool_value(b));
        }
        if let Some(h) = &ep.hostname {
            t.set(&HOSTNAME, h.clone());
        }
        if let Some(r) = &ep.target_ref {
            t.set(&TARGET_KIND, &r.kind);
            t.set(&TARGET_NAME, r.name.clone());
        }
        if let Some(n) = &ep.node_name {
            t.set(&NODE_NAME, n);
        }
        if let Some(z) = &ep.zone {
            t.set(&ZONE, z);
        }
        for (k, v) in ep.deprecated_topology.iter() {
            let name = sanitize(k);
            t.set_dynamic(
                &format!("__meta_kubernetes_endpointslice_endpoint_topology_{name}"),
                v,
            );
            t.set_dynamic(
                &format!("__meta_kubernetes_endpointslice_endpoint_topology_present_{name}"),
                TRUE.clone(),
            );
        }
        if self.attach.node {
            match ep.target_ref.as_ref().filter(|r| &*r.kind == "Node") {
                Some(r) => {
                    add_node_labels(&mut t, &r.name, lookup);
                }
                None => {
                    if let Some(n) = &ep.node_name {
                        add_node_labels(&mut t, n.str(), lookup);
                    }
                }
            }
        }
        if let Some(pod) = resolve_pod(ep.target_ref.as_ref(), lookup) {
            t.merge(&pod_labels(pod, self.attach, lookup));
            if let Some(p) = port.port {
                for c in pod.containers() {
                    if let Some(cport) = c.ports.iter().find(|cp| cp.number == p) {
                        t.set(&CONTAINER_NAME, c.name);
                        t.set(&CONTAINER_IMAGE, c.image);
                        t.set(&CONTAINER_PORT_NAME, &cport.name);
                        t.set(&CONTAINER_PORT_NUMBER, number(i64::from(p)));
                        t.set(&CONTAINER_PORT_PROTOCOL, &cport.protocol);
                        t.set(&CONTAINER_INIT, bool_value(c.init));
                    }
                }
            }
            seen.add(pod, port.port);
        }
        t.finish()
    }
}

/// Whether `eps` is the secondary slice of a dual-stack service: its address type is not the
/// service's primary IP family.
fn non_primary_ip_family_slice(svc: Option<&Service>, eps: &EndpointSlice) -> bool {
    let Some(svc) = svc else { return false };
    let Some(policy) = &svc.ip_family_policy else {
        return false;
    };
    if &**policy != "PreferDualStack" && &**policy != "RequireDualStack" {
        return false;
    }
    svc.ip_families
        .first()
        .is_some_and(|primary| *eps.address_type != **primary)
}
