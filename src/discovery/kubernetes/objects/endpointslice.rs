//! EndpointSlices (discovery.k8s.io/v1): endpoints with their conditions, and ports.

use std::sync::Arc;

use serde::Deserialize;

use super::dedup::{Dedup, Sym};
use super::endpoints::{target_ref, TargetRef, WireTargetRef};
use super::service::WirePort;
use super::wire::WirePairs;
use super::wire::{wire_resource, IntoCompact, WireMeta};
use super::{Meta, Object, Str};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSlice {
    pub meta: Meta,
    pub address_type: Sym,
    pub endpoints: Box<[SliceEndpoint]>,
    pub ports: Box<[SlicePort]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceEndpoint {
    pub addresses: Box<[Str]>,
    pub ready: Option<bool>,
    pub serving: Option<bool>,
    pub terminating: Option<bool>,
    pub hostname: Option<Str>,
    pub node_name: Option<Sym>,
    pub zone: Option<Sym>,
    pub target_ref: Option<TargetRef>,
    /// Sorted by key.
    pub deprecated_topology: Box<[(Sym, Sym)]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlicePort {
    pub name: Option<Sym>,
    pub port: Option<i32>,
    pub protocol: Option<Sym>,
    pub app_protocol: Option<Sym>,
}

// EndpointSlices (discovery.k8s.io/v1).

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEndpointSlice {
    metadata: WireMeta,
    #[serde(default)]
    address_type: Option<String>,
    #[serde(default)]
    endpoints: Option<Vec<WireSliceEndpoint>>,
    #[serde(default)]
    ports: Option<Vec<WirePort>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSliceEndpoint {
    #[serde(default)]
    addresses: Option<Vec<String>>,
    #[serde(default)]
    conditions: Option<WireSliceConditions>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    target_ref: Option<WireTargetRef>,
    #[serde(default)]
    node_name: Option<String>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    deprecated_topology: Option<WirePairs>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct WireSliceConditions {
    #[serde(default)]
    ready: Option<bool>,
    #[serde(default)]
    serving: Option<bool>,
    #[serde(default)]
    terminating: Option<bool>,
}

wire_resource!(
    WireEndpointSlice,
    EndpointSlice,
    "discovery.k8s.io",
    "v1",
    "endpointslices",
    namespaced
);

impl IntoCompact for WireEndpointSlice {
    fn into_compact(self, dedup: &mut Dedup) -> (Str, Object) {
        let key = self.metadata.key();
        let endpoints = self
            .endpoints
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let conditions = e.conditions.unwrap_or_default();
                SliceEndpoint {
                    addresses: e
                        .addresses
                        .unwrap_or_default()
                        .into_iter()
                        .map(Arc::from)
                        .collect(),
                    ready: conditions.ready,
                    serving: conditions.serving,
                    terminating: conditions.terminating,
                    hostname: e.hostname.map(Arc::from),
                    node_name: e.node_name.map(|n| dedup.get(&n)),
                    zone: e.zone.map(|z| dedup.get(&z)),
                    target_ref: target_ref(e.target_ref, dedup),
                    deprecated_topology: e
                        .deprecated_topology
                        .unwrap_or_default()
                        .0
                        .into_iter()
                        .map(|(k, v)| (dedup.get(&k), dedup.get(&v)))
                        .collect(),
                }
            })
            .collect();
        let ports = self
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(|p| SlicePort {
                name: p.name.map(|n| dedup.get(&n)),
                port: p.port,
                protocol: p.protocol.map(|n| dedup.get(&n)),
                app_protocol: p.app_protocol.map(|n| dedup.get(&n)),
            })
            .collect();
        let slice = EndpointSlice {
            meta: self.metadata.into_meta(dedup),
            address_type: dedup.opt(&self.address_type),
            endpoints,
            ports,
        };
        (key, Object::EndpointSlice(slice))
    }
}
