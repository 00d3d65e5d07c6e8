//! The target groups Prometheus makes of Marathon's apps: one group per app (source: the app
//! id) labelled `__meta_marathon_app`, `__meta_marathon_image` and
//! `__meta_marathon_app_label_<label>`; in it one target per task and port:
//! - ports come from `container.portMappings`, else `container.docker.portMappings` (labels
//!   `__meta_marathon_port_mapping_label_<label>`; the container port in a container network,
//!   else the host port), else `portDefinitions` (labels
//!   `__meta_marathon_port_definition_label_<label>`; the port only with `requirePorts`), else
//!   the first task's own `ports` that has any (no port labels);
//! - a port of 0 is the task's port at the same index when the task has as many ports;
//! - `__address__` is `<host>:<port>`, the host being the task's first IP address in a container
//!   network, else the task's host; `__meta_marathon_task` is the task id and
//!   `__meta_marathon_port_index` the port's index.
//!
//! Label names are sanitized (`[^a-zA-Z0-9_]` to `_`); where two become one, the last in byte
//! order wins (Prometheus picks one at random).

use std::collections::BTreeMap;

use promsd_actors::{LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};

use super::api::{App, AppList, PortMapping, Task};
use crate::discovery::kit::join_host_port;
use crate::discovery::kit::sanitize_label_name;

const PORT_MAPPING_PREFIX: &str = "__meta_marathon_port_mapping_label_";
const PORT_DEFINITION_PREFIX: &str = "__meta_marathon_port_definition_label_";

/// One group per app.
pub fn groups(apps: &AppList) -> Vec<TargetGroup> {
    apps.apps.iter().map(group).collect()
}

fn group(app: &App) -> TargetGroup {
    let mut labels = vec![
        (Name::new("__meta_marathon_app"), Str::from(app.id.as_str())),
        (
            Name::new("__meta_marathon_image"),
            Str::from(app.container.docker.image.as_str()),
        ),
    ];
    for (name, value) in &app.labels {
        labels.push((
            Name::new(&format!(
                "__meta_marathon_app_label_{}",
                sanitize_label_name(name)
            )),
            Str::from(value.as_str()),
        ));
    }
    TargetGroup::new(app.id.as_str(), targets(app), LabelSet::from_labels(labels))
}

fn extract_port_mappings(
    mappings: &[PortMapping],
    container_net: bool,
) -> (Vec<u32>, Vec<&BTreeMap<String, String>>) {
    mappings
        .iter()
        .map(|m| {
            let port = if container_net {
                m.container_port
            } else {
                m.host_port
            };
            (port, &m.labels)
        })
        .unzip()
}

fn targets(app: &App) -> Vec<LabelSet> {
    let container_net = app.is_container_net();
    let (mut ports, labels, prefix): (Vec<u32>, Vec<&BTreeMap<String, String>>, &str) =
        if !app.container.port_mappings.is_empty() {
            let (p, l) = extract_port_mappings(&app.container.port_mappings, container_net);
            (p, l, PORT_MAPPING_PREFIX)
        } else if !app.container.docker.port_mappings.is_empty() {
            let (p, l) = extract_port_mappings(&app.container.docker.port_mappings, container_net);
            (p, l, PORT_MAPPING_PREFIX)
        } else if !app.port_definitions.is_empty() {
            let (p, l) = app
                .port_definitions
                .iter()
                .map(|d| (if app.require_ports { d.port } else { 0 }, &d.labels))
                .unzip();
            (p, l, PORT_DEFINITION_PREFIX)
        } else {
            (Vec::new(), Vec::new(), "")
        };

    let mut targets = Vec::new();
    for task in &app.tasks {
        // Without ports from the app, the first task with ports gives them for every task.
        if ports.is_empty() && !task.ports.is_empty() {
            ports = task.ports.clone();
        }
        for (i, &port) in ports.iter().enumerate() {
            let port = if port == 0 && task.ports.len() == ports.len() {
                task.ports[i]
            } else {
                port
            };
            let mut target = vec![
                (
                    Name::new(ADDRESS_LABEL),
                    Str::from(endpoint(task, port, container_net).as_str()),
                ),
                (
                    Name::new("__meta_marathon_task"),
                    Str::from(task.id.as_str()),
                ),
                (
                    Name::new("__meta_marathon_port_index"),
                    Str::from(i.to_string().as_str()),
                ),
            ];
            if let Some(port_labels) = labels.get(i) {
                for (name, value) in port_labels.iter() {
                    target.push((
                        Name::new(&format!("{prefix}{}", sanitize_label_name(name))),
                        Str::from(value.as_str()),
                    ));
                }
            }
            targets.push(LabelSet::from_labels(target));
        }
    }
    targets
}

fn endpoint(task: &Task, port: u32, container_net: bool) -> String {
    let host = match task.ip_addresses.first() {
        Some(ip) if container_net => &ip.address,
        _ => &task.host,
    };
    join_host_port(host, port)
}
