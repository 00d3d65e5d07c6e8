//! Nodes: conditions, addresses and the kubelet port.

use serde::Deserialize;

use super::dedup::{Dedup, Sym};
use super::wire::{wire_resource, IntoCompact, WireCondition, WireMeta};
use super::{Meta, Object, Str};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub meta: Meta,
    pub provider_id: Sym,
    /// (condition type, status), in the object's order.
    pub conditions: Box<[(Sym, Sym)]>,
    /// (address type, address), in the object's order.
    pub addresses: Box<[(Sym, Sym)]>,
    pub kubelet_port: i32,
}

// Nodes.

#[derive(Clone, Debug, Deserialize)]
pub struct WireNode {
    metadata: WireMeta,
    #[serde(default)]
    spec: Option<WireNodeSpec>,
    #[serde(default)]
    status: Option<WireNodeStatus>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct WireNodeSpec {
    #[serde(default, rename = "providerID")]
    provider_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireNodeStatus {
    #[serde(default)]
    conditions: Option<Vec<WireCondition>>,
    #[serde(default)]
    addresses: Option<Vec<WireNodeAddress>>,
    #[serde(default)]
    daemon_endpoints: Option<WireDaemonEndpoints>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireNodeAddress {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDaemonEndpoints {
    #[serde(default)]
    kubelet_endpoint: Option<WireDaemonEndpoint>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct WireDaemonEndpoint {
    #[serde(default, rename = "Port")]
    port: Option<i32>,
}

wire_resource!(WireNode, Node, "", "v1", "nodes", cluster);

impl IntoCompact for WireNode {
    fn into_compact(self, dedup: &mut Dedup) -> (Str, Object) {
        let key = self.metadata.key();
        let status = self.status.unwrap_or_default();
        let node = Node {
            meta: self.metadata.into_meta(dedup),
            provider_id: dedup.opt(&self.spec.unwrap_or_default().provider_id),
            conditions: status
                .conditions
                .unwrap_or_default()
                .into_iter()
                .map(|c| (dedup.opt(&c.kind), dedup.opt(&c.status)))
                .collect(),
            addresses: status
                .addresses
                .unwrap_or_default()
                .into_iter()
                .map(|a| (dedup.opt(&a.kind), dedup.opt(&a.address)))
                .collect(),
            kubelet_port: status
                .daemon_endpoints
                .and_then(|d| d.kubelet_endpoint)
                .and_then(|k| k.port)
                .unwrap_or(0),
        };
        (key, Object::Node(node))
    }
}
