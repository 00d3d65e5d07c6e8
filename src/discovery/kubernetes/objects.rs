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

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::{Api, Client};
use serde::{Deserialize, Deserializer};

use promsd_actors::intern;

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

/// A string that repeats across objects (a namespace, a label key or value, an image, a node
/// name), deduplicated per watch by [`Dedup`]: a thin pointer (8 bytes, half an [`Str`]) to
/// the one shared [`Str`], which is also what the labels built from it hold.
#[derive(Clone)]
pub struct Sym(Arc<Str>);

impl Sym {
    /// The shared string, to put in a label (no copy).
    pub fn str(&self) -> &Str {
        &self.0
    }
}

impl std::ops::Deref for Sym {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Sym {
    fn eq(&self, other: &Sym) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}

impl Eq for Sym {}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self.0, f)
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&Sym> for Str {
    fn from(s: &Sym) -> Str {
        s.0.as_ref().clone()
    }
}

impl std::hash::Hash for Sym {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (**self.0).hash(h)
    }
}

impl std::borrow::Borrow<str> for Sym {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Labels or annotations: (key, value) pairs sorted by key. The same set repeats on every
/// replica of a workload, so it is deduplicated as a whole.
pub type Pairs = Arc<[(Sym, Sym)]>;

/// Deduplicates what repeats across the objects of one watch: strings, label and annotation
/// sets, pods' container specs.
#[derive(Default)]
pub struct Dedup {
    strings: SharedSet<Sym>,
    pairs: SharedSet<Pairs>,
    containers: SharedSet<Arc<ContainerSpecs>>,
}

/// Deduplicated values of one type. Values no object holds any more are dropped when the set
/// has doubled since the last sweep.
struct SharedSet<E> {
    set: HashSet<E>,
    sweep_at: usize,
}

impl<E> Default for SharedSet<E> {
    fn default() -> Self {
        SharedSet {
            set: HashSet::new(),
            sweep_at: 0,
        }
    }
}

/// A shared value: how many hold it (the set's own copy included).
trait Holders {
    fn holders(&self) -> usize;
}

impl Holders for Sym {
    fn holders(&self) -> usize {
        Arc::strong_count(&self.0)
    }
}

impl<T: ?Sized> Holders for Arc<T> {
    fn holders(&self) -> usize {
        Arc::strong_count(self)
    }
}

impl<E: Holders + Clone + Eq + std::hash::Hash> SharedSet<E> {
    /// The shared copy of `value`, made by `make` when there is none yet.
    fn get<Q>(&mut self, value: &Q, make: impl FnOnce(&Q) -> E) -> E
    where
        E: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        if let Some(found) = self.set.get(value) {
            return found.clone();
        }
        let shared = make(value);
        self.set.insert(shared.clone());
        if self.set.len() > self.sweep_at.max(1024) {
            self.set.retain(|e| e.holders() > 1);
            self.sweep_at = self.set.len() * 2;
        }
        shared
    }
}

impl Dedup {
    pub fn get(&mut self, s: &str) -> Sym {
        self.strings.get(s, |s| Sym(Arc::new(Arc::from(s))))
    }

    fn opt(&mut self, s: &Option<String>) -> Sym {
        self.get(s.as_deref().unwrap_or(""))
    }

    fn pairs(&mut self, wire: Vec<(String, String)>) -> Pairs {
        let pairs: Vec<(Sym, Sym)> = wire
            .iter()
            .map(|(k, v)| (self.get(k), self.get(v)))
            .collect();
        self.pairs.get(&pairs[..], |p| p.into())
    }

    fn containers(&mut self, specs: ContainerSpecs) -> Arc<ContainerSpecs> {
        self.containers.get(&specs, |s| Arc::new(s.clone()))
    }
}

fn own(s: Option<String>) -> Str {
    Arc::from(s.unwrap_or_default())
}

fn empty() -> Str {
    intern("")
}

// ---------------------------------------------------------------------------------------------
// Compact objects: what the store keeps per object. Strings unique to an object (its name, uid,
// IPs, container IDs) are `Str`, shared with the labels built from them; repeated strings are
// [`Sym`]s; lists are boxed slices (no spare capacity).

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pod {
    pub meta: Meta,
    pub node_name: Sym,
    pub phase: Sym,
    pub pod_ip: Str,
    pub host_ip: Sym,
    /// The Ready condition's status in lower case, `unknown` without one.
    pub ready: Sym,
    /// What the pod declares of its containers, shared with every pod of the same spec.
    specs: Arc<ContainerSpecs>,
    /// Each container's ID (from its status, empty when it has none yet), in `specs` order.
    ids: Box<[Str]>,
}

impl Pod {
    /// Each container with its ID, its ports and whether it is an init container: the
    /// containers first, then the init containers.
    pub fn containers(&self) -> impl Iterator<Item = Container<'_>> {
        let specs = &*self.specs;
        specs
            .containers
            .iter()
            .enumerate()
            .map(move |(i, c)| Container {
                name: &c.name,
                image: &c.image,
                id: &self.ids[i],
                ports: &specs.ports[c.ports.0 as usize..c.ports.1 as usize],
                init: i >= specs.first_init as usize,
            })
    }

    /// How many containers (init containers included) the pod declares.
    pub fn container_count(&self) -> usize {
        self.ids.len()
    }
}

/// A container of a pod, as [`Pod::containers`] lists them.
pub struct Container<'a> {
    pub name: &'a Sym,
    pub image: &'a Sym,
    pub id: &'a Str,
    pub ports: &'a [ContainerPort],
    pub init: bool,
}

/// A pod's containers then init containers (from index `first_init` on), their ports in one
/// list, container after container.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContainerSpecs {
    containers: Box<[ContainerSpec]>,
    ports: Box<[ContainerPort]>,
    first_init: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ContainerSpec {
    name: Sym,
    image: Sym,
    /// Its ports' range in [`ContainerSpecs::ports`].
    ports: (u32, u32),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContainerPort {
    pub name: Sym,
    pub protocol: Sym,
    pub number: i32,
}

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingress {
    pub meta: Meta,
    pub class_name: Option<Sym>,
    pub rules: Box<[IngressRule]>,
    pub tls_hosts: Box<[Sym]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngressRule {
    pub host: Sym,
    /// `None` when the rule has no `http` section.
    pub paths: Option<Box<[Sym]>>,
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

// ---------------------------------------------------------------------------------------------
// Wire types: what is decoded from the API.

/// A wire type: decodes from the API and becomes a compact [`Object`].
pub trait Wire:
    kube::Resource<DynamicType = ()>
    + serde::de::DeserializeOwned
    + Clone
    + fmt::Debug
    + Send
    + Sync
    + 'static
{
    const KIND: Kind;
    /// The API for all namespaces (`None`) or one.
    fn api(client: Client, namespace: Option<&str>) -> Api<Self>;
    fn into_object(self, dedup: &mut Dedup) -> (Str, Object);
}

/// `metadata` as decoded: what kube's watcher needs (name, namespace, resourceVersion) as an
/// `ObjectMeta`, and what the labels need.
#[derive(Clone, Debug)]
pub struct WireMeta {
    om: ObjectMeta,
    uid: Option<String>,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    owner_references: Vec<WireOwnerRef>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOwnerRef {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    controller: Option<bool>,
}

impl<'de> Deserialize<'de> for WireMeta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            namespace: Option<String>,
            #[serde(default)]
            uid: Option<String>,
            #[serde(default)]
            resource_version: Option<String>,
            #[serde(default)]
            labels: Option<WirePairs>,
            #[serde(default)]
            annotations: Option<WirePairs>,
            #[serde(default)]
            owner_references: Option<Vec<WireOwnerRef>>,
        }
        let raw = Raw::deserialize(d)?;
        Ok(WireMeta {
            om: ObjectMeta {
                name: raw.name,
                namespace: raw.namespace,
                resource_version: raw.resource_version,
                ..ObjectMeta::default()
            },
            uid: raw.uid,
            labels: raw.labels.map(|p| p.0).unwrap_or_default(),
            annotations: raw.annotations.map(|p| p.0).unwrap_or_default(),
            owner_references: raw.owner_references.unwrap_or_default(),
        })
    }
}

/// A JSON object of strings, as (key, value) pairs sorted by key.
#[derive(Clone, Debug, Default)]
struct WirePairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for WirePairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = WirePairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<WirePairs, A::Error> {
                let mut out: Vec<(String, String)> = Vec::with_capacity(m.size_hint().unwrap_or(4));
                while let Some((k, v)) = m.next_entry::<String, Option<String>>()? {
                    out.push((k, v.unwrap_or_default()));
                }
                out.sort_by(|a, b| a.0.cmp(&b.0));
                out.dedup_by(|later, earlier| {
                    if later.0 == earlier.0 {
                        std::mem::swap(later, earlier);
                        true
                    } else {
                        false
                    }
                });
                Ok(WirePairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl WireMeta {
    fn key(&self) -> Str {
        object_key(
            self.om.namespace.as_deref().unwrap_or(""),
            self.om.name.as_deref().unwrap_or(""),
        )
    }

    fn into_meta(self, dedup: &mut Dedup) -> Meta {
        let controller = self
            .owner_references
            .into_iter()
            .find(|r| r.controller == Some(true))
            .map(|r| OwnerRef {
                kind: dedup.opt(&r.kind),
                name: dedup.opt(&r.name),
            });
        Meta {
            name: own(self.om.name),
            namespace: dedup.opt(&self.om.namespace),
            uid: own(self.uid),
            labels: dedup.pairs(self.labels),
            annotations: dedup.pairs(self.annotations),
            controller,
        }
    }
}

macro_rules! wire_resource {
    ($ty:ident, $kind:ident, $group:literal, $version:literal, $plural:literal, namespaced) => {
        wire_resource!(@impl $ty, $kind, $group, $version, $plural, NamespaceResourceScope);
        impl Wire for $ty {
            const KIND: Kind = Kind::$kind;
            fn api(client: Client, namespace: Option<&str>) -> Api<Self> {
                match namespace {
                    Some(ns) => Api::namespaced(client, ns),
                    None => Api::all(client),
                }
            }
            fn into_object(self, dedup: &mut Dedup) -> (Str, Object) {
                convert(self, dedup)
            }
        }
    };
    ($ty:ident, $kind:ident, $group:literal, $version:literal, $plural:literal, cluster) => {
        wire_resource!(@impl $ty, $kind, $group, $version, $plural, ClusterResourceScope);
        impl Wire for $ty {
            const KIND: Kind = Kind::$kind;
            fn api(client: Client, _: Option<&str>) -> Api<Self> {
                Api::all(client)
            }
            fn into_object(self, dedup: &mut Dedup) -> (Str, Object) {
                convert(self, dedup)
            }
        }
    };
    (@impl $ty:ident, $kind:ident, $group:literal, $version:literal, $plural:literal, $scope:ty) => {
        impl kube::Resource for $ty {
            type DynamicType = ();
            type Scope = $scope;
            fn kind(_: &()) -> Cow<'_, str> {
                stringify!($kind).into()
            }
            fn group(_: &()) -> Cow<'_, str> {
                $group.into()
            }
            fn version(_: &()) -> Cow<'_, str> {
                $version.into()
            }
            fn plural(_: &()) -> Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata.om
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata.om
            }
        }
    };
}

/// Converts a wire object, by its `From`-like function below.
fn convert<W: IntoCompact>(w: W, dedup: &mut Dedup) -> (Str, Object) {
    w.into_compact(dedup)
}

trait IntoCompact {
    fn into_compact(self, dedup: &mut Dedup) -> (Str, Object);
}

// Pods.

#[derive(Clone, Debug, Deserialize)]
pub struct WirePod {
    metadata: WireMeta,
    #[serde(default)]
    spec: Option<WirePodSpec>,
    #[serde(default)]
    status: Option<WirePodStatus>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePodSpec {
    #[serde(default)]
    node_name: Option<String>,
    #[serde(default)]
    containers: Option<Vec<WireContainer>>,
    #[serde(default)]
    init_containers: Option<Vec<WireContainer>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireContainer {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    ports: Option<Vec<WireContainerPort>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireContainerPort {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    container_port: Option<i32>,
    #[serde(default)]
    protocol: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePodStatus {
    #[serde(default)]
    phase: Option<String>,
    #[serde(default, rename = "podIP")]
    pod_ip: Option<String>,
    #[serde(default, rename = "hostIP")]
    host_ip: Option<String>,
    #[serde(default)]
    conditions: Option<Vec<WireCondition>>,
    #[serde(default)]
    container_statuses: Option<Vec<WireContainerStatus>>,
    #[serde(default)]
    init_container_statuses: Option<Vec<WireContainerStatus>>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireCondition {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireContainerStatus {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "containerID")]
    container_id: Option<String>,
}

wire_resource!(WirePod, Pod, "", "v1", "pods", namespaced);

/// Appends a pod's containers (or init containers): their specs and ports, and their IDs.
fn add_containers(
    list: Option<Vec<WireContainer>>,
    statuses: &Option<Vec<WireContainerStatus>>,
    dedup: &mut Dedup,
    specs: &mut ContainerSpecs,
    ids: &mut Vec<Str>,
) {
    let mut containers = std::mem::take(&mut specs.containers).into_vec();
    let mut ports = std::mem::take(&mut specs.ports).into_vec();
    for c in list.unwrap_or_default() {
        let id = statuses
            .iter()
            .flatten()
            .find(|s| s.name == c.name)
            .and_then(|s| s.container_id.as_deref())
            .map_or_else(empty, Arc::from);
        ids.push(id);
        let first_port = ports.len() as u32;
        ports.extend(
            c.ports
                .unwrap_or_default()
                .into_iter()
                .map(|p| ContainerPort {
                    name: dedup.opt(&p.name),
                    protocol: dedup.opt(&p.protocol),
                    number: p.container_port.unwrap_or(0),
                }),
        );
        containers.push(ContainerSpec {
            name: dedup.opt(&c.name),
            image: dedup.opt(&c.image),
            ports: (first_port, ports.len() as u32),
        });
    }
    specs.containers = containers.into_boxed_slice();
    specs.ports = ports.into_boxed_slice();
}

impl IntoCompact for WirePod {
    fn into_compact(self, dedup: &mut Dedup) -> (Str, Object) {
        let key = self.metadata.key();
        let spec = self.spec.unwrap_or_default();
        let status = self.status.unwrap_or_default();
        let ready = match status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.kind.as_deref() == Some("Ready"))
        {
            Some(c) => dedup.get(&c.status.as_deref().unwrap_or("").to_lowercase()),
            None => dedup.get("unknown"),
        };
        let mut specs = ContainerSpecs {
            containers: Box::default(),
            ports: Box::default(),
            first_init: 0,
        };
        let mut ids = Vec::new();
        add_containers(
            spec.containers,
            &status.container_statuses,
            dedup,
            &mut specs,
            &mut ids,
        );
        specs.first_init = ids.len() as u32;
        add_containers(
            spec.init_containers,
            &status.init_container_statuses,
            dedup,
            &mut specs,
            &mut ids,
        );
        let pod = Pod {
            meta: self.metadata.into_meta(dedup),
            node_name: dedup.opt(&spec.node_name),
            phase: dedup.opt(&status.phase),
            pod_ip: own(status.pod_ip),
            host_ip: dedup.opt(&status.host_ip),
            ready,
            specs: dedup.containers(specs),
            ids: ids.into_boxed_slice(),
        };
        (key, Object::Pod(pod))
    }
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
struct WirePort {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    port: Option<i32>,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    app_protocol: Option<String>,
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

fn service_ports(ports: Option<Vec<WirePort>>, dedup: &mut Dedup) -> Box<[ServicePort]> {
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
struct WireTargetRef {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

wire_resource!(WireEndpoints, Endpoints, "", "v1", "endpoints", namespaced);

fn target_ref(r: Option<WireTargetRef>, dedup: &mut Dedup) -> Option<TargetRef> {
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

// Ingresses (networking.k8s.io/v1).

#[derive(Clone, Debug, Deserialize)]
pub struct WireIngress {
    metadata: WireMeta,
    #[serde(default)]
    spec: Option<WireIngressSpec>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIngressSpec {
    #[serde(default)]
    ingress_class_name: Option<String>,
    #[serde(default)]
    rules: Option<Vec<WireIngressRule>>,
    #[serde(default)]
    tls: Option<Vec<WireIngressTls>>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireIngressRule {
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    http: Option<WireIngressHttp>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireIngressHttp {
    #[serde(default)]
    paths: Option<Vec<WireIngressPath>>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireIngressPath {
    #[serde(default)]
    path: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireIngressTls {
    #[serde(default)]
    hosts: Option<Vec<String>>,
}

wire_resource!(
    WireIngress,
    Ingress,
    "networking.k8s.io",
    "v1",
    "ingresses",
    namespaced
);

impl IntoCompact for WireIngress {
    fn into_compact(self, dedup: &mut Dedup) -> (Str, Object) {
        let key = self.metadata.key();
        let spec = self.spec.unwrap_or_default();
        let ingress = Ingress {
            meta: self.metadata.into_meta(dedup),
            class_name: spec.ingress_class_name.map(|c| dedup.get(&c)),
            rules: spec
                .rules
                .unwrap_or_default()
                .into_iter()
                .map(|r| IngressRule {
                    host: dedup.opt(&r.host),
                    paths: r.http.map(|h| {
                        h.paths
                            .unwrap_or_default()
                            .into_iter()
                            .map(|p| dedup.opt(&p.path))
                            .collect()
                    }),
                })
                .collect(),
            tls_hosts: spec
                .tls
                .unwrap_or_default()
                .into_iter()
                .flat_map(|t| t.hosts.unwrap_or_default())
                .map(|h| dedup.get(&h))
                .collect(),
        };
        (key, Object::Ingress(ingress))
    }
}

// Metadata-only kinds: namespaces, ReplicaSets (for deployments), Jobs (for cron jobs).

macro_rules! meta_only {
    ($ty:ident, $kind:ident, $group:literal, $plural:literal, $scope:ident) => {
        #[derive(Clone, Debug, Deserialize)]
        pub struct $ty {
            metadata: WireMeta,
        }
        wire_resource!($ty, $kind, $group, "v1", $plural, $scope);
        impl IntoCompact for $ty {
            fn into_compact(self, dedup: &mut Dedup) -> (Str, Object) {
                (
                    self.metadata.key(),
                    Object::$kind(self.metadata.into_meta(dedup)),
                )
            }
        }
    };
}

meta_only!(WireNamespace, Namespace, "", "namespaces", cluster);
meta_only!(
    WireReplicaSet,
    ReplicaSet,
    "apps",
    "replicasets",
    namespaced
);
meta_only!(WireJob, Job, "batch", "jobs", namespaced);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_keeps_only_what_labels_read() {
        let json = r#"{"metadata":{"name":"p","namespace":"ns","uid":"u1","resourceVersion":"7",
            "labels":{"b":"2","a":"1"},"managedFields":[{"manager":"x"}],
            "ownerReferences":[{"kind":"ReplicaSet","name":"rs","controller":true,"apiVersion":"apps/v1","uid":"x"}]},
            "spec":{"nodeName":"n1","volumes":[{"name":"v"}],"containers":[{"name":"c","image":"i",
              "ports":[{"name":"http","containerPort":80,"protocol":"TCP"}]}]},
            "status":{"phase":"Running","podIP":"10.0.0.1","hostIP":"1.1.1.1",
              "conditions":[{"type":"Ready","status":"True"}],
              "containerStatuses":[{"name":"c","containerID":"docker://abc"}]}}"#;
        let wire: WirePod = serde_json::from_str(json).unwrap();
        assert_eq!(
            kube::ResourceExt::resource_version(&wire).as_deref(),
            Some("7")
        );
        let (key, obj) = wire.into_object(&mut Dedup::default());
        assert_eq!(&*key, "ns/p");
        let Object::Pod(pod) = obj else { panic!() };
        assert_eq!(&*pod.ready, "true");
        let container = pod.containers().next().unwrap();
        assert_eq!(&**container.id, "docker://abc");
        assert_eq!(container.ports[0].number, 80);
        assert!(!container.init);
        assert_eq!(&*pod.meta.labels[0].0, "a");
        assert_eq!(&*pod.meta.controller.as_ref().unwrap().name, "rs");
    }

    #[test]
    fn nulls_are_empty() {
        let json = r#"{"metadata":{"name":"p","namespace":"ns","labels":null},"spec":{"containers":null},"status":null}"#;
        let wire: WirePod = serde_json::from_str(json).unwrap();
        let (_, obj) = wire.into_object(&mut Dedup::default());
        let Object::Pod(pod) = obj else { panic!() };
        assert_eq!(pod.container_count(), 0);
        assert_eq!(&*pod.ready, "unknown");
    }

    #[test]
    fn dedup_shares_repeated_values() {
        let mut d = Dedup::default();
        let a = d.get("nginx:1.25");
        let b = d.get("nginx:1.25");
        assert!(Arc::ptr_eq(a.str(), b.str()));
    }

    #[test]
    fn init_containers_follow_with_their_own_ports() {
        let json = r#"{"metadata":{"name":"p","namespace":"ns"},
            "spec":{"containers":[{"name":"a","ports":[{"containerPort":1},{"containerPort":2}]},{"name":"b"}],
              "initContainers":[{"name":"i","ports":[{"containerPort":3}]}]}}"#;
        let wire: WirePod = serde_json::from_str(json).unwrap();
        let (_, obj) = wire.into_object(&mut Dedup::default());
        let Object::Pod(pod) = obj else { panic!() };
        let seen: Vec<(&str, Vec<i32>, bool)> = pod
            .containers()
            .map(|c| {
                (
                    &**c.name,
                    c.ports.iter().map(|p| p.number).collect(),
                    c.init,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a", vec![1, 2], false),
                ("b", vec![], false),
                ("i", vec![3], true)
            ]
        );
    }

    /// Every stored object is as large as the largest kind: keep that kind the pod.
    #[test]
    fn no_kind_is_larger_than_a_pod() {
        assert_eq!(
            std::mem::size_of::<Object>(),
            std::mem::size_of::<Pod>() + 8
        );
    }
}
