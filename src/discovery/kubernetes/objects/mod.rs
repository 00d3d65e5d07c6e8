//! What promsd keeps of each Kubernetes object: only the fields the labels read.
//!
//! Each resource has a *wire* type, decoded straight from the API's JSON (serde skips every field
//! not named here: `managedFields`, `spec.volumes`, ...), and a *compact* type kept in the shared
//! watch's store, converted on arrival.
//!
//! The store holds every object of a cluster, so the compact types are laid out for size (the
//! SD keeps about 740 bytes per pod of 3 containers, store and all, `examples/kubernetes_bench.rs`)
//! without copying strings into labels:
//! - strings unique to an object (name, uid, IPs, container IDs) are `Arc<str>`, the very
//!   allocation the labels built from them hold;
//! - values that repeat across objects (namespaces, label keys and values, images, node names)
//!   are [`Sym`]s, 8-byte pointers to one shared `Arc<str>` per watch;
//! - what repeats as a whole on every replica of a workload, a label or annotation set and a
//!   pod's container specs (names, images, ports), is shared as a whole, so a pod of a
//!   Deployment pays for neither;
//! - lists are boxed slices (no spare capacity) and no other kind is larger than a pod.
//!
//! [`Dedup`] does the sharing, per watch.
//!
//! # Layout
//! - `dedup.rs`: the interning ([`Sym`], [`Pairs`], [`Dedup`]), shared by every kind;
//! - `wire.rs`: what every wire type shares (the [`Wire`] trait, `metadata`, the `kube::Resource`
//!   impls) and the metadata-only kinds (namespaces, ReplicaSets, Jobs);
//! - one file per resource (`pod.rs`, `node.rs`, `service.rs`, `endpoints.rs`,
//!   `endpointslice.rs`, `ingress.rs`): its compact type, its wire type and the conversion.
//!
//! Adding a kind adds its file, a [`Kind`] and an [`Object`] variant.

use std::fmt;
use std::sync::Arc;

mod dedup;
mod endpoints;
mod endpointslice;
mod ingress;
mod node;
mod pod;
mod service;
mod wire;

pub use dedup::{Dedup, Pairs, Sym};
pub use endpoints::{EndpointAddress, EndpointSubset, Endpoints, TargetRef, WireEndpoints};
pub use endpointslice::{EndpointSlice, SliceEndpoint, SlicePort, WireEndpointSlice};
pub use ingress::{Ingress, IngressRule, WireIngress};
pub use node::{Node, WireNode};
pub use pod::{Container, ContainerPort, ContainerSpecs, Pod, WirePod};
pub use service::{Service, ServicePort, WireService};
pub use wire::{Wire, WireJob, WireMeta, WireNamespace, WireReplicaSet};

/// A shared string.
pub type Str = Arc<str>;

/// The resources promsd watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Pod,
    Node,
    Service,
    Endpoints,
    EndpointSlice,
    Ingress,
    Namespace,
    ReplicaSet,
    Job,
}

impl Kind {
    /// The resource's plural name, as in its API path.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Pod => "pods",
            Kind::Node => "nodes",
            Kind::Service => "services",
            Kind::Endpoints => "endpoints",
            Kind::EndpointSlice => "endpointslices",
            Kind::Ingress => "ingresses",
            Kind::Namespace => "namespaces",
            Kind::ReplicaSet => "replicasets",
            Kind::Job => "jobs",
        }
    }

    /// Whether objects of this kind live in a namespace.
    pub fn namespaced(self) -> bool {
        !matches!(self, Kind::Node | Kind::Namespace)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.plural())
    }
}

/// An object's store key: `namespace/name`, or `name` for cluster-scoped objects.
pub fn object_key(namespace: &str, name: &str) -> Str {
    if namespace.is_empty() {
        Arc::from(name)
    } else {
        Arc::from(format!("{namespace}/{name}"))
    }
}

/// The metadata the labels read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    pub name: Str,
    /// Empty for cluster-scoped objects.
    pub namespace: Sym,
    pub uid: Str,
    pub labels: Pairs,
    pub annotations: Pairs,
    /// The owner reference marked `controller: true`, if any.
    pub controller: Option<OwnerRef>,
}

impl Meta {
    pub fn label(&self, key: &str) -> Option<&Sym> {
        self.labels
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &self.labels[i].1)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerRef {
    pub kind: Sym,
    pub name: Sym,
}

/// A stored object of any kind. Namespaces, ReplicaSets and Jobs keep their metadata only.
/// Pods are the many objects: no other kind is larger (a test checks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Object {
    Pod(Pod),
    Node(Node),
    Service(Service),
    Endpoints(Endpoints),
    EndpointSlice(EndpointSlice),
    Ingress(Ingress),
    Namespace(Meta),
    ReplicaSet(Meta),
    Job(Meta),
}

impl Object {
    pub fn meta(&self) -> &Meta {
        match self {
            Object::Pod(o) => &o.meta,
            Object::Node(o) => &o.meta,
            Object::Service(o) => &o.meta,
            Object::Endpoints(o) => &o.meta,
            Object::EndpointSlice(o) => &o.meta,
            Object::Ingress(o) => &o.meta,
            Object::Namespace(m) | Object::ReplicaSet(m) | Object::Job(m) => m,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stored object is as large as the largest kind: keep that kind the pod.
    #[test]
    fn no_kind_is_larger_than_a_pod() {
        assert_eq!(
            std::mem::size_of::<Object>(),
            std::mem::size_of::<Pod>() + 8
        );
    }
}
