//! Docker containers to targets, as Prometheus' `discovery/moby/docker.go` builds them.
//!
//! Every container with a name gives, for each network it is attached to (after
//! `match_first_network` kept only the first by name, and with the networks of the container
//! whose network stack it shares for `container:<id>` network modes), one target per TCP port
//! (`<network IP>:<private port>`), or one target on `port` when it has no TCP port; a
//! container in `host` network mode is reached at `host_networking_host`. Labels:
//! - `__meta_docker_container_id`, `_name` (the first name), `_network_mode`, `_image` and
//!   `_image_id` (when not empty), `_label_<sanitized label>`;
//! - `__meta_docker_network_ip` (the IPv4 address, else the global IPv6 one, else empty) and
//!   the network's labels (see [`network_labels`]);
//! - `__meta_docker_port_private`, and `_port_public` with `_port_public_ip` for a published
//!   port.

use std::collections::HashMap;
use std::sync::LazyLock;

use promsd_actors::{LabelSet, Name, Str, TargetGroup};

use super::api::{Addr, Container, EndpointSettings, Network};
use super::{join_host_port, sanitize, ADDRESS};

macro_rules! names {
    ($($id:ident = $text:literal),* $(,)?) => {
        $(static $id: LazyLock<Name> = LazyLock::new(|| Name::new($text));)*
    };
}

names! {
    CONTAINER_ID = "__meta_docker_container_id",
    CONTAINER_NAME = "__meta_docker_container_name",
    CONTAINER_NETWORK_MODE = "__meta_docker_container_network_mode",
    CONTAINER_IMAGE = "__meta_docker_container_image",
    CONTAINER_IMAGE_ID = "__meta_docker_container_image_id",
    NETWORK_IP = "__meta_docker_network_ip",
    PORT_PRIVATE = "__meta_docker_port_private",
    PORT_PUBLIC = "__meta_docker_port_public",
    PORT_PUBLIC_IP = "__meta_docker_port_public_ip",
}

/// The group's source, as Prometheus names it.
pub const SOURCE: &str = "Docker";

/// The labels of the prefix `__meta_docker_` or `__meta_dockerswarm_` for each network, by
/// network ID (`discovery/moby/network.go`): `network_id`, `network_name`, `network_scope`,
/// `network_internal`, `network_ingress` and `network_label_<sanitized label>`.
pub fn network_labels(networks: &[Network], prefix: &str) -> HashMap<String, Vec<(Name, Str)>> {
    let name = |suffix: &str| Name::new(&format!("{prefix}{suffix}"));
    let (id, net_name, scope, internal, ingress) = (
        name("network_id"),
        name("network_name"),
        name("network_scope"),
        name("network_internal"),
        name("network_ingress"),
    );
    let label_prefix = format!("{prefix}network_label_");
    let mut out = HashMap::with_capacity(networks.len());
    for n in networks {
        let mut labels: Vec<(Name, Str)> = vec![
            (id.clone(), Str::from(n.id.as_str())),
            (net_name.clone(), Str::from(n.name.as_str())),
            (scope.clone(), Str::from(n.scope.as_str())),
            (internal.clone(), Str::from(go_bool(n.internal))),
            (ingress.clone(), Str::from(go_bool(n.ingress))),
        ];
        for (k, v) in &n.labels {
            labels.push((
                Name::new(&format!("{label_prefix}{}", sanitize(k))),
                Str::from(v.as_str()),
            ));
        }
        out.insert(n.id.clone(), labels);
    }
    out
}

/// `strconv.FormatBool`.
pub fn go_bool(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// The settings of a Docker SD config that shape its targets.
#[derive(Clone, Debug)]
pub struct DockerOptions {
    /// The port of containers without a TCP port.
    pub port: i64,
    /// The address of containers in `host` network mode.
    pub host_networking_host: String,
    /// Keep only the first network (by name) of a container on several.
    pub match_first_network: bool,
}

/// `container:<id>` network mode: the ID of the container whose network stack is shared.
fn connected_container(mode: &str) -> Option<&str> {
    mode.split_once(':')
        .and_then(|(kind, id)| (kind == "container").then_some(id))
}

/// `netip.Addr.String()` of the endpoint's address: IPv4, else global IPv6, else empty.
fn endpoint_ip(n: &EndpointSettings) -> String {
    match (n.ip_address, n.global_ipv6_address) {
        (Addr(Some(ip)), _) | (Addr(None), Addr(Some(ip))) => ip.to_string(),
        _ => String::new(),
    }
}

/// The single group of a Docker refresh: every target of every container.
pub fn docker_group(
    containers: &[Container],
    networks: &[Network],
    options: &DockerOptions,
) -> TargetGroup {
    TargetGroup::new(
        SOURCE,
        docker_targets(containers, networks, options),
        LabelSet::new(),
    )
}

/// The targets of `containers` (see the module's documentation).
pub fn docker_targets(
    containers: &[Container],
    networks: &[Network],
    options: &DockerOptions,
) -> Vec<LabelSet> {
    let network_labels = network_labels(networks, "__meta_docker_");
    // Prometheus indexes containers by ID; with a repeated ID the last one wins.
    let by_id: HashMap<&str, &Container> = containers.iter().map(|c| (c.id.as_str(), c)).collect();
    let fallback_port = options.port.to_string();
    let host_networking_host = Str::from(options.host_networking_host.as_str());
    let mut targets = Vec::new();

    for c in containers {
        let Some(first_name) = c.names.first() else {
            continue;
        };
        let mut common: Vec<(Name, Str)> = vec![
            (CONTAINER_ID.clone(), Str::from(c.id.as_str())),
            (CONTAINER_NAME.clone(), Str::from(first_name.as_str())),
            (
                CONTAINER_NETWORK_MODE.clone(),
                Str::from(c.host_config.network_mode.as_str()),
            ),
        ];
        if !c.image.is_empty() {
            common.push((CONTAINER_IMAGE.clone(), Str::from(c.image.as_str())));
        }
        if !c.image_id.is_empty() {
            common.push((CONTAINER_IMAGE_ID.clone(), Str::from(c.image_id.as_str())));
        }
        for (k, v) in &c.labels {
            common.push((
                Name::new(&format!("__meta_docker_container_label_{}", sanitize(k))),
                Str::from(v.as_str()),
            ));
        }

        let mut endpoints = &c.network_settings.networks;
        if endpoints.is_empty() {
            // A container sharing another's network stack has no networks of its own: follow
            // `container:<id>` modes to the first container that has some. Prometheus follows
            // a cycle forever; promsd stops after as many steps as there are containers.
            let mut mode = c.host_config.network_mode.as_str();
            let mut steps = 0;
            while let Some(id) = connected_container(mode) {
                steps += 1;
                let Some(shared) = by_id.get(id).filter(|_| steps <= containers.len()) else {
                    break;
                };
                endpoints = &shared.network_settings.networks;
                mode = shared.host_config.network_mode.as_str();
                if !endpoints.is_empty() {
                    break;
                }
            }
        }

        // Networks in name order; with match_first_network and more than one network, only
        // the first that is not null.
        let mut chosen: Vec<&EndpointSettings> = endpoints.values().flatten().collect();
        if options.match_first_network && endpoints.len() > 1 {
            chosen.truncate(1);
        }

        for n in chosen {
            let ip = Str::from(endpoint_ip(n));
            let net_labels = network_labels.get(&n.network_id).map(Vec::as_slice);
            let mut added = false;
            for p in c.ports.iter().filter(|p| p.kind == "tcp") {
                let private = p.private_port.to_string();
                let mut labels: Vec<(Name, Str)> =
                    Vec::with_capacity(8 + common.len() + net_labels.map_or(0, <[_]>::len));
                labels.push((NETWORK_IP.clone(), ip.clone()));
                labels.push((PORT_PRIVATE.clone(), Str::from(private.as_str())));
                if p.public_port > 0 {
                    labels.push((PORT_PUBLIC.clone(), Str::from(p.public_port.to_string())));
                    let public_ip = match p.ip {
                        Addr(Some(ip)) => ip.to_string(),
                        Addr(None) => String::new(),
                    };
                    labels.push((PORT_PUBLIC_IP.clone(), Str::from(public_ip)));
                }
                labels.extend(common.iter().cloned());
                labels.extend(net_labels.into_iter().flatten().cloned());
                labels.push((ADDRESS.clone(), Str::from(join_host_port(&ip, &private))));
                targets.push(LabelSet::from_labels(labels));
                added = true;
            }
            if !added {
                // No TCP port: the configured port, or the host networking host for a
                // container on the host's network (which never has ports).
                let mut labels: Vec<(Name, Str)> =
                    Vec::with_capacity(2 + common.len() + net_labels.map_or(0, <[_]>::len));
                labels.push((NETWORK_IP.clone(), ip.clone()));
                labels.extend(common.iter().cloned());
                labels.extend(net_labels.into_iter().flatten().cloned());
                let address = if c.host_config.network_mode != "host" {
                    Str::from(join_host_port(&ip, &fallback_port))
                } else {
                    host_networking_host.clone()
                };
                labels.push((ADDRESS.clone(), address));
                targets.push(LabelSet::from_labels(labels));
            }
        }
    }
    targets
}
