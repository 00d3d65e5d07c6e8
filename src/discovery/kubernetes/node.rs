//! Role `node` (Prometheus' `node.go`): a group per node (`node/<name>`) with one target at the
//! kubelet's port on the node's first address, by type priority: InternalIP, InternalDNS,
//! ExternalIP, ExternalDNS, LegacyHostIP, Hostname. A node without any address has no group.

use std::sync::Arc;

use promsd_actors::{Str, TargetGroup};

use super::discoverer::{Lookup, RoleBuilder};
use super::labels::{add_object_meta, join_host_port, names, sanitize, Labels, ADDRESS, INSTANCE};
use super::objects::{Kind, Node, Object};

names! {
    NODE_NAME = "__meta_kubernetes_node_name";
    NODE_PROVIDER_ID = "__meta_kubernetes_node_provider_id";
}

/// Address types in the order `__address__` prefers them.
const ADDRESS_PRIORITY: [&str; 6] = [
    "InternalIP",
    "InternalDNS",
    "ExternalIP",
    "ExternalDNS",
    "LegacyHostIP",
    "Hostname",
];

pub struct NodeRole;

impl RoleBuilder for NodeRole {
    fn primary(&self) -> Kind {
        Kind::Node
    }

    fn source(&self, key: &str) -> Str {
        Arc::from(format!("node/{key}"))
    }

    fn build(&self, object: &Object, _: &mut Lookup<'_>) -> Option<TargetGroup> {
        let Object::Node(node) = object else {
            return None;
        };
        let address = ADDRESS_PRIORITY.iter().find_map(|ty| {
            node.addresses
                .iter()
                .find(|(t, _)| &**t == *ty)
                .map(|(_, a)| a)
        })?;
        let mut target = Labels::with_capacity(2 + node.addresses.len());
        target.set(
            &ADDRESS,
            join_host_port(address, i64::from(node.kubelet_port)),
        );
        target.set(&INSTANCE, node.meta.name.clone());
        // The first address of each type.
        for (i, (ty, addr)) in node.addresses.iter().enumerate() {
            if node.addresses[..i].iter().any(|(t, _)| t == ty) {
                continue;
            }
            target.set_dynamic(
                &sanitize(&format!("__meta_kubernetes_node_address_{ty}")),
                addr,
            );
        }
        Some(TargetGroup::new(
            self.source(&node.meta.name),
            vec![target.finish()],
            node_labels(node).finish(),
        ))
    }
}

/// Prometheus' `nodeLabels`.
fn node_labels(node: &Node) -> Labels {
    let mut l = Labels::with_capacity(
        2 + node.conditions.len() + 2 * (node.meta.labels.len() + node.meta.annotations.len()),
    );
    l.set(&NODE_PROVIDER_ID, &node.provider_id);
    for (ty, status) in node.conditions.iter() {
        let name = format!(
            "__meta_kubernetes_node_condition_{}",
            sanitize(&ty.to_lowercase())
        );
        l.set_dynamic(&name, Arc::from(status.to_lowercase()));
    }
    add_object_meta(&mut l, &node.meta, "node", &NODE_NAME);
    l
}
