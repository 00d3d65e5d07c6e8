//! Role `service` (Prometheus' `service.go`): a group per service (`svc/<namespace>/<name>`),
//! a target per service port at `<name>.<namespace>.svc:<port>`. The service labels here are
//! also those the endpoints roles attach to their groups.

use std::sync::Arc;

use promsd_actors::{Str, TargetGroup};

use super::discoverer::{Lookup, RoleBuilder};
use super::labels::{add_object_meta, join_host_port, names, number, Labels, ADDRESS, NAMESPACE};
use super::objects::{Kind, Object, Service};
use super::pod::add_namespace_labels;
use super::AttachMetadata;

names! {
    SERVICE_NAME = "__meta_kubernetes_service_name";
    PORT_NAME = "__meta_kubernetes_service_port_name";
    PORT_NUMBER = "__meta_kubernetes_service_port_number";
    PORT_PROTOCOL = "__meta_kubernetes_service_port_protocol";
    CLUSTER_IP = "__meta_kubernetes_service_cluster_ip";
    LOADBALANCER_IP = "__meta_kubernetes_service_loadbalancer_ip";
    EXTERNAL_NAME = "__meta_kubernetes_service_external_name";
    SERVICE_TYPE = "__meta_kubernetes_service_type";
}

pub struct ServiceRole {
    attach: AttachMetadata,
}

impl ServiceRole {
    pub fn new(attach: AttachMetadata) -> Self {
        ServiceRole { attach }
    }
}

impl RoleBuilder for ServiceRole {
    fn primary(&self) -> Kind {
        Kind::Service
    }

    fn source(&self, key: &str) -> Str {
        Arc::from(format!("svc/{key}"))
    }

    fn build(&self, object: &Object, lookup: &mut Lookup<'_>) -> Option<TargetGroup> {
        let Object::Service(svc) = object else {
            return None;
        };
        let mut labels = service_labels(svc);
        if self.attach.namespace {
            add_namespace_labels(&mut labels, svc.meta.namespace.str(), lookup);
        }
        let host = format!("{}.{}.svc", svc.meta.name, svc.meta.namespace);
        let targets = svc
            .ports
            .iter()
            .map(|port| {
                let mut t = Labels::with_capacity(7);
                t.set(&ADDRESS, join_host_port(&host, i64::from(port.port)));
                t.set(&PORT_NAME, &port.name);
                t.set(&PORT_NUMBER, number(i64::from(port.port)));
                t.set(&PORT_PROTOCOL, &port.protocol);
                t.set(&SERVICE_TYPE, &svc.service_type);
                if &*svc.service_type == "ExternalName" {
                    t.set(&EXTERNAL_NAME, &svc.external_name);
                } else {
                    t.set(&CLUSTER_IP, &svc.cluster_ip);
                }
                if &*svc.service_type == "LoadBalancer" {
                    t.set(&LOADBALANCER_IP, &svc.load_balancer_ip);
                }
                t.finish()
            })
            .collect();
        Some(TargetGroup::new(
            Arc::from(format!("svc/{}/{}", svc.meta.namespace, svc.meta.name)),
            targets,
            labels.finish(),
        ))
    }
}

/// Prometheus' `serviceLabels`: namespace, name, labels and annotations.
pub(super) fn service_labels(svc: &Service) -> Labels {
    let mut l = Labels::with_capacity(2 + 2 * (svc.meta.labels.len() + svc.meta.annotations.len()));
    l.set(&NAMESPACE, &svc.meta.namespace);
    add_object_meta(&mut l, &svc.meta, "service", &SERVICE_NAME);
    l
}
