//! Services: ports, type, cluster and external addresses. Their ports' wire type is shared by
//! Endpoints and EndpointSlices.

use serde::Deserialize;

use super::dedup::{Dedup, Sym};
use super::wire::{wire_resource, IntoCompact, WireMeta};
use super::{Meta, Object, Str};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub meta: Meta,
    pub ports: Box<[ServicePort]>,
    pub service_type: Sym,
    /// Deduplicated: `None` repeats on every headless service.
    pub cluster_ip: Sym,
    pub external_name: Sym,
    /// `status.loadBalancer.ingress[].ip` joined with commas, else `spec.loadBalancerIP`.
    pub load_balancer_ip: Sym,
    pub ip_family_policy: Option<Sym>,
    pub ip_families: Box<[Sym]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    pub name: Sym,
    pub port: i32,
    pub protocol: Sym,
}

// Services.

#[derive(Clone, Debug, Deserialize)]
pub struct WireService {
    metadata: WireMeta,
    #[serde(default)]
    spec: Option<WireServiceSpec>,
    #[serde(default)]
    status: Option<WireServiceStatus>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireServiceSpec {
    #[serde(default)]
    ports: Option<Vec<WirePort>>,
    #[serde(default, rename = "type")]
    service_type: Option<String>,
    #[serde(default, rename = "clusterIP")]
    cluster_ip: Option<String>,
    #[serde(default)]
    external_name: Option<String>,
    #[serde(default, rename = "loadBalancerIP")]
    load_balancer_ip: Option<String>,
    #[serde(default)]
    ip_family_policy: Option<String>,
    #[serde(default)]
    ip_families: Option<Vec<String>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WirePort {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) port: Option<i32>,
    #[serde(default)]
    pub(super) protocol: Option<String>,
    #[serde(default)]
    pub(super) app_protocol: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireServiceStatus {
    #[serde(default)]
    load_balancer: Option<WireLoadBalancer>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct WireLoadBalancer {
    #[serde(default)]
    ingress: Option<Vec<WireLoadBalancerIngress>>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireLoadBalancerIngress {
    #[serde(default)]
    ip: Option<String>,
}

wire_resource!(WireService, Service, "", "v1", "services", namespaced);

pub(super) fn service_ports(ports: Option<Vec<WirePort>>, dedup: &mut Dedup) -> Box<[ServicePort]> {
    ports
        .unwrap_or_default()
        .into_iter()
        .map(|p| ServicePort {
            name: dedup.opt(&p.name),
            port: p.port.unwrap_or(0),
            protocol: dedup.opt(&p.protocol),
        })
        .collect()
}

impl IntoCompact for WireService {
    fn into_compact(self, dedup: &mut Dedup) -> (Str, Object) {
        let key = self.metadata.key();
        let spec = self.spec.unwrap_or_default();
        let ingress_ips: Vec<String> = self
            .status
            .and_then(|s| s.load_balancer)
            .and_then(|l| l.ingress)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|i| i.ip.filter(|ip| !ip.is_empty()))
            .collect();
        let load_balancer_ip = if ingress_ips.is_empty() {
            dedup.opt(&spec.load_balancer_ip)
        } else {
            dedup.get(&ingress_ips.join(","))
        };
        let service = Service {
            meta: self.metadata.into_meta(dedup),
            ports: service_ports(spec.ports, dedup),
            service_type: dedup.opt(&spec.service_type),
            cluster_ip: dedup.opt(&spec.cluster_ip),
            external_name: dedup.opt(&spec.external_name),
            load_balancer_ip,
            ip_family_policy: spec.ip_family_policy.map(|p| dedup.get(&p)),
            ip_families: spec
                .ip_families
                .unwrap_or_default()
                .iter()
                .map(|f| dedup.get(f))
                .collect(),
        };
        (key, Object::Service(service))
    }
}
