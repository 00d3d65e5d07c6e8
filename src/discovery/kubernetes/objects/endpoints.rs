//! Endpoints (core/v1): subsets of ready and not-ready addresses with their ports. Their target
//! reference is shared by EndpointSlices.

use std::sync::Arc;

use serde::Deserialize;

use super::dedup::{empty, own, Dedup, Sym};
use super::service::{service_ports, ServicePort, WirePort};
use super::wire::{wire_resource, IntoCompact, WireMeta};
use super::{Meta, Object, Str};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub meta: Meta,
    pub subsets: Box<[EndpointSubset]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSubset {
    pub addresses: Box<[EndpointAddress]>,
    pub not_ready_addresses: Box<[EndpointAddress]>,
    pub ports: Box<[ServicePort]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointAddress {
    pub ip: Str,
    pub hostname: Str,
    pub node_name: Option<Sym>,
    pub target_ref: Option<TargetRef>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetRef {
    pub kind: Sym,
    pub name: Str,
    pub namespace: Sym,
}

// Endpoints.

#[derive(Clone, Debug, Deserialize)]
pub struct WireEndpoints {
    metadata: WireMeta,
    #[serde(default)]
    subsets: Option<Vec<WireSubset>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSubset {
    #[serde(default)]
    addresses: Option<Vec<WireEndpointAddress>>,
    #[serde(default)]
    not_ready_addresses: Option<Vec<WireEndpointAddress>>,
    #[serde(default)]
    ports: Option<Vec<WirePort>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEndpointAddress {
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    node_name: Option<String>,
    #[serde(default)]
    target_ref: Option<WireTargetRef>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct WireTargetRef {
    #[serde(default)]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) namespace: Option<String>,
}

wire_resource!(WireEndpoints, Endpoints, "", "v1", "endpoints", namespaced);

pub(super) fn target_ref(r: Option<WireTargetRef>, dedup: &mut Dedup) -> Option<TargetRef> {
    r.map(|r| TargetRef {
        kind: dedup.opt(&r.kind),
        name: own(r.name),
        namespace: dedup.opt(&r.namespace),
    })
}

fn endpoint_addresses(
    list: Option<Vec<WireEndpointAddress>>,
    dedup: &mut Dedup,
) -> Box<[EndpointAddress]> {
    list.unwrap_or_default()
        .into_iter()
        .map(|a| EndpointAddress {
            ip: own(a.ip),
            hostname: a.hostname.map(Arc::from).unwrap_or_else(empty),
            node_name: a.node_name.map(|n| dedup.get(&n)),
            target_ref: target_ref(a.target_ref, dedup),
        })
        .collect()
}

impl IntoCompact for WireEndpoints {
    fn into_compact(self, dedup: &mut Dedup) -> (Str, Object) {
        let key = self.metadata.key();
        let subsets = self
            .subsets
            .unwrap_or_default()
            .into_iter()
            .map(|s| EndpointSubset {
                addresses: endpoint_addresses(s.addresses, dedup),
                not_ready_addresses: endpoint_addresses(s.not_ready_addresses, dedup),
                ports: service_ports(s.ports, dedup),
            })
            .collect();
        let endpoints = Endpoints {
            meta: self.metadata.into_meta(dedup),
            subsets,
        };
        (key, Object::Endpoints(endpoints))
    }
}
