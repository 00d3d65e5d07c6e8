//! Pods: the many objects. A pod keeps its containers' IDs; what it declares of them (names,
//! images, ports) is shared with every pod of the same spec.

use std::sync::Arc;

use serde::Deserialize;

use super::dedup::{empty, own, Dedup, Sym};
use super::wire::{wire_resource, IntoCompact, WireCondition, WireMeta};
use super::{Meta, Object, Str};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::kubernetes::objects::Wire;

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
}
