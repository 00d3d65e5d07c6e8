//! Docker Swarm services, tasks and nodes to targets, as Prometheus'
//! `discovery/moby/{services,tasks,nodes}.go` build them. Every role gives one group, source
//! `DockerSwarm`.
//!
//! - services: for each virtual IP of a service, one target per TCP endpoint port
//!   (`<VIP>:<published port>`, with `__meta_dockerswarm_service_endpoint_port_name` and
//!   `_publish_mode`), or one on `port` when it has none; with the service's labels
//!   ([`service_labels`] plus `_task_container_hostname` and `_task_container_image` for a
//!   container service, and `_updating_status` while an update runs) and the VIP network's.
//! - tasks: one target per TCP port of the task's port status (`<node address>:<published
//!   port>`), then for each address of each network attachment one target per TCP port of its
//!   service (`<address>:<published port>`), or one on `port`; labels `__meta_dockerswarm_task_*`,
//!   `_container_label_*`, the reduced service labels ([`service_labels`]) and node labels
//!   ([`node_labels`]), `_task_port_publish_mode`, and the attachment network's labels.
//! - nodes: one target per node (`<node address>:<port>`) with every `__meta_dockerswarm_node_*`
//!   label.

use std::collections::HashMap;
use std::sync::LazyLock;

use promsd_actors::{LabelSet, Name, Str, TargetGroup};

use super::api::{Network, Node, PortConfig, Service, Task};
use super::docker::{go_bool, network_labels};
use super::{join_host_port, sanitize, ADDRESS};

macro_rules! names {
    ($($id:ident = $text:literal),* $(,)?) => {
        $(static $id: LazyLock<Name> = LazyLock::new(|| Name::new($text));)*
    };
}

names! {
    SERVICE_ID = "__meta_dockerswarm_service_id",
    SERVICE_NAME = "__meta_dockerswarm_service_name",
    SERVICE_MODE = "__meta_dockerswarm_service_mode",
    SERVICE_ENDPOINT_PORT_NAME = "__meta_dockerswarm_service_endpoint_port_name",
    SERVICE_ENDPOINT_PORT_PUBLISH_MODE = "__meta_dockerswarm_service_endpoint_port_publish_mode",
    SERVICE_UPDATING_STATUS = "__meta_dockerswarm_service_updating_status",
    SERVICE_TASK_CONTAINER_IMAGE = "__meta_dockerswarm_service_task_container_image",
    SERVICE_TASK_CONTAINER_HOSTNAME = "__meta_dockerswarm_service_task_container_hostname",
    TASK_ID = "__meta_dockerswarm_task_id",
    TASK_DESIRED_STATE = "__meta_dockerswarm_task_desired_state",
    TASK_STATE = "__meta_dockerswarm_task_state",
    TASK_CONTAINER_ID = "__meta_dockerswarm_task_container_id",
    TASK_SLOT = "__meta_dockerswarm_task_slot",
    TASK_PORT_PUBLISH_MODE = "__meta_dockerswarm_task_port_publish_mode",
    NODE_ADDRESS = "__meta_dockerswarm_node_address",
    NODE_AVAILABILITY = "__meta_dockerswarm_node_availability",
    NODE_ENGINE_VERSION = "__meta_dockerswarm_node_engine_version",
    NODE_HOSTNAME = "__meta_dockerswarm_node_hostname",
    NODE_ID = "__meta_dockerswarm_node_id",
    NODE_MANAGER_ADDRESS = "__meta_dockerswarm_node_manager_address",
    NODE_MANAGER_LEADER = "__meta_dockerswarm_node_manager_leader",
    NODE_MANAGER_REACHABILITY = "__meta_dockerswarm_node_manager_reachability",
    NODE_PLATFORM_ARCHITECTURE = "__meta_dockerswarm_node_platform_architecture",
    NODE_PLATFORM_OS = "__meta_dockerswarm_node_platform_os",
    NODE_ROLE = "__meta_dockerswarm_node_role",
    NODE_STATUS = "__meta_dockerswarm_node_status",
}

/// The groups' source, as Prometheus names it.
pub const SOURCE: &str = "DockerSwarm";

/// The prefix of every swarm label.
const PREFIX: &str = "__meta_dockerswarm_";

type Labels = Vec<(Name, Str)>;

fn s(text: &str) -> Str {
    Str::from(text)
}

fn sanitized(prefix: &str, labels: &std::collections::BTreeMap<String, String>) -> Labels {
    labels
        .iter()
        .map(|(k, v)| (Name::new(&format!("{prefix}{}", sanitize(k))), s(v)))
        .collect()
}

/// `global`, `replicated` or empty (jobs).
fn service_mode(service: &Service) -> &'static str {
    if service.spec.mode.global.is_some() {
        "global"
    } else if service.spec.mode.replicated.is_some() {
        "replicated"
    } else {
        ""
    }
}

/// The labels every role shares for a service: `service_id`, `service_name`, `service_mode`
/// and `service_label_<sanitized label>` (what the tasks role carries).
pub fn service_labels(service: &Service) -> Labels {
    let mut labels = vec![
        (SERVICE_ID.clone(), s(&service.id)),
        (SERVICE_NAME.clone(), s(&service.spec.name)),
        (SERVICE_MODE.clone(), s(service_mode(service))),
    ];
    labels.extend(sanitized(
        "__meta_dockerswarm_service_label_",
        &service.spec.labels,
    ));
    labels
}

/// The labels the tasks role carries for a node: `node_id`, `node_role`, `node_address`,
/// `node_availability`, `node_hostname`, `node_platform_architecture`, `node_platform_os`,
/// `node_status` and `node_label_<sanitized label>`.
pub fn node_labels(node: &Node) -> Labels {
    let mut labels = vec![
        (NODE_ID.clone(), s(&node.id)),
        (NODE_ROLE.clone(), s(&node.spec.role)),
        (NODE_ADDRESS.clone(), s(&node.status.addr)),
        (NODE_AVAILABILITY.clone(), s(&node.spec.availability)),
        (NODE_HOSTNAME.clone(), s(&node.description.hostname)),
        (
            NODE_PLATFORM_ARCHITECTURE.clone(),
            s(&node.description.platform.architecture),
        ),
        (NODE_PLATFORM_OS.clone(), s(&node.description.platform.os)),
        (NODE_STATUS.clone(), s(&node.status.state)),
    ];
    labels.extend(sanitized(
        "__meta_dockerswarm_node_label_",
        &node.spec.labels,
    ));
    labels
}

fn group(targets: Vec<LabelSet>) -> TargetGroup {
    TargetGroup::new(SOURCE, targets, LabelSet::new())
}

fn target(parts: &[&[(Name, Str)]], address: String) -> LabelSet {
    let mut labels: Labels = Vec::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + 1);
    for part in parts {
        labels.extend(part.iter().cloned());
    }
    labels.push((ADDRESS.clone(), Str::from(address)));
    LabelSet::from_labels(labels)
}

/// The services role (`services.go`).
pub fn services_group(
    services: &[Service],
    networks: &[Network],
    port: i64,
) -> Result<TargetGroup, String> {
    let network_labels = network_labels(networks, PREFIX);
    let fallback_port = port.to_string();
    let mut targets = Vec::new();
    for service in services {
        let mut common = service_labels(service);
        if let Some(spec) = &service.spec.task_template.container_spec {
            common.push((SERVICE_TASK_CONTAINER_HOSTNAME.clone(), s(&spec.hostname)));
            common.push((SERVICE_TASK_CONTAINER_IMAGE.clone(), s(&spec.image)));
        }
        if let Some(status) = &service.update_status {
            common.push((SERVICE_UPDATING_STATUS.clone(), s(&status.state)));
        }
        for vip in &service.endpoint.virtual_ips {
            let ip = vip.addr.ip()?;
            let net = network_labels
                .get(&vip.network_id)
                .map_or(&[][..], Vec::as_slice);
            let mut added = false;
            for e in service
                .endpoint
                .ports
                .iter()
                .filter(|e| e.protocol == "tcp")
            {
                let own = [
                    (SERVICE_ENDPOINT_PORT_NAME.clone(), s(&e.name)),
                    (
                        SERVICE_ENDPOINT_PORT_PUBLISH_MODE.clone(),
                        s(&e.publish_mode),
                    ),
                ];
                targets.push(target(
                    &[&own, &common, net],
                    join_host_port(&ip, e.published_port),
                ));
                added = true;
            }
            if !added {
                targets.push(target(&[&common, net], join_host_port(&ip, &fallback_port)));
            }
        }
    }
    Ok(group(targets))
}

/// The tasks role (`tasks.go`): `services` and `nodes` are every service and node (listed
/// without the config's filters).
pub fn tasks_group(
    tasks: &[Task],
    services: &[Service],
    nodes: &[Node],
    networks: &[Network],
    port: i64,
) -> Result<TargetGroup, String> {
    let service_info: HashMap<&str, (Labels, &[PortConfig])> = services
        .iter()
        .map(|sv| {
            (
                sv.id.as_str(),
                (service_labels(sv), sv.endpoint.ports.as_slice()),
            )
        })
        .collect();
    let node_info: HashMap<&str, Labels> = nodes
        .iter()
        .map(|n| (n.id.as_str(), node_labels(n)))
        .collect();
    let network_labels = network_labels(networks, PREFIX);
    let fallback_port = port.to_string();
    let mut targets = Vec::new();

    for task in tasks {
        let mut common: Labels = vec![
            (TASK_ID.clone(), s(&task.id)),
            (TASK_DESIRED_STATE.clone(), s(&task.desired_state)),
            (TASK_STATE.clone(), s(&task.status.state)),
            (TASK_SLOT.clone(), Str::from(task.slot.to_string())),
        ];
        if let Some(status) = &task.status.container_status {
            common.push((TASK_CONTAINER_ID.clone(), s(&status.container_id)));
        }
        if let Some(spec) = &task.spec.container_spec {
            common.extend(sanitized(
                "__meta_dockerswarm_container_label_",
                &spec.labels,
            ));
        }
        let (service, service_ports) = match service_info.get(task.service_id.as_str()) {
            Some((labels, ports)) => (labels.as_slice(), *ports),
            None => (&[][..], &[][..]),
        };
        common.extend(service.iter().cloned());
        let node = node_info
            .get(task.node_id.as_str())
            .map_or(&[][..], Vec::as_slice);
        common.extend(node.iter().cloned());
        let common = LabelSet::from_labels(common).pairs().to_vec();
        let node_address = common
            .iter()
            .find(|(n, _)| *n == *NODE_ADDRESS)
            .map_or("", |(_, v)| v);

        for p in task
            .status
            .port_status
            .ports
            .iter()
            .filter(|p| p.protocol == "tcp")
        {
            let own = [(TASK_PORT_PUBLISH_MODE.clone(), s(&p.publish_mode))];
            targets.push(target(
                &[&own, &common],
                join_host_port(node_address, p.published_port),
            ));
        }

        for attachment in &task.networks_attachments {
            let net = network_labels
                .get(&attachment.network.id)
                .map_or(&[][..], Vec::as_slice);
            for address in &attachment.addresses {
                let ip = address.ip()?;
                let mut added = false;
                for p in service_ports.iter().filter(|p| p.protocol == "tcp") {
                    let own = [(TASK_PORT_PUBLISH_MODE.clone(), s(&p.publish_mode))];
                    targets.push(target(
                        &[&own, &common, net],
                        join_host_port(&ip, p.published_port),
                    ));
                    added = true;
                }
                if !added {
                    targets.push(target(&[&common, net], join_host_port(&ip, &fallback_port)));
                }
            }
        }
    }
    Ok(group(targets))
}

/// The nodes role (`nodes.go`).
pub fn nodes_group(nodes: &[Node], port: i64) -> TargetGroup {
    let port = port.to_string();
    let targets = nodes
        .iter()
        .map(|n| {
            let mut labels: Labels = vec![
                (NODE_ID.clone(), s(&n.id)),
                (NODE_ROLE.clone(), s(&n.spec.role)),
                (NODE_AVAILABILITY.clone(), s(&n.spec.availability)),
                (NODE_HOSTNAME.clone(), s(&n.description.hostname)),
                (
                    NODE_PLATFORM_ARCHITECTURE.clone(),
                    s(&n.description.platform.architecture),
                ),
                (NODE_PLATFORM_OS.clone(), s(&n.description.platform.os)),
                (
                    NODE_ENGINE_VERSION.clone(),
                    s(&n.description.engine.engine_version),
                ),
                (NODE_STATUS.clone(), s(&n.status.state)),
                (NODE_ADDRESS.clone(), s(&n.status.addr)),
            ];
            if let Some(m) = &n.manager_status {
                labels.push((NODE_MANAGER_LEADER.clone(), s(go_bool(m.leader))));
                labels.push((NODE_MANAGER_REACHABILITY.clone(), s(&m.reachability)));
                labels.push((NODE_MANAGER_ADDRESS.clone(), s(&m.addr)));
            }
            labels.extend(sanitized("__meta_dockerswarm_node_label_", &n.spec.labels));
            labels.push((
                ADDRESS.clone(),
                Str::from(join_host_port(&n.status.addr, &port)),
            ));
            LabelSet::from_labels(labels)
        })
        .collect();
    group(targets)
}
