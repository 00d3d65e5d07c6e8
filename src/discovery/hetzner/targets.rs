//! The targets Prometheus makes of Hetzner's answers: one group, source `hetzner`, one target
//! per server, for either role.
//!
//! Both roles set `__address__` (`<public IPv4>:<port>`), `__meta_hetzner_role`,
//! `__meta_hetzner_server_id`, `__meta_hetzner_server_name`, `__meta_hetzner_server_status`,
//! `__meta_hetzner_public_ipv4` and (when known) `__meta_hetzner_public_ipv6_network`.
//!
//! - hcloud ([`hcloud_group`]): `__meta_hetzner_hcloud_*`: image (when the server has one),
//!   location and network zone (also under their old `datacenter_location*` names), server
//!   type, cores, CPU type, memory and disk (integer gigabytes), `private_ipv4_<network name>`
//!   for each attached network the network list names, and `label_<key>` /
//!   `labelpresent_<key>` for each server label, keys with every character outside
//!   `[a-zA-Z0-9_]` replaced by `_`. Addresses print as Go's `net.IP` prints them (so a
//!   server without a public IPv4 shows `<nil>`, as in Prometheus).
//! - robot ([`robot_group`]): `__meta_hetzner_datacenter` and
//!   `__meta_hetzner_robot_datacenter` (lowercased), `__meta_hetzner_robot_product`,
//!   `__meta_hetzner_robot_cancelled`; the IPv6 network is the first subnet that is not IPv4,
//!   as `<ip>/<mask>`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use promsd_actors::{intern, LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};

use super::api::{Network, RobotEntry, Server};
pub use crate::discovery::kit::join_host_port;
pub use crate::discovery::kit::sanitize_label_name;

/// The one source of both roles.
pub const SOURCE: &str = "hetzner";

/// Go's `net.ParseIP`: IPv4-mapped IPv6 addresses are IPv4.
fn parse_go_ip(s: &str) -> Option<IpAddr> {
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
        v4 => Some(v4),
    }
}

/// Go's `net.ParseIP(s).String()`: the canonical form, `<nil>` for what does not parse.
pub fn go_ip_string(s: &str) -> String {
    parse_go_ip(s).map_or_else(|| "<nil>".to_owned(), |ip| ip.to_string())
}

/// Go's `net.ParseCIDR(s)` network, printed: `2001:db8::/64` (host bits cleared), `<nil>` for
/// what does not parse.
pub fn go_cidr_network_string(s: &str) -> String {
    let parsed = s.split_once('/').and_then(|(ip, bits)| {
        // Go accepts only decimal digits, no sign, no leading `+`.
        if bits.is_empty() || bits.len() > 3 || !bits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let bits: u32 = bits.parse().ok()?;
        // Go's ParseCIDR keeps an IPv4 address 4 bytes long even when written as v4-mapped.
        match ip.parse::<IpAddr>().ok()? {
            IpAddr::V4(v4) if bits <= 32 => {
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                Some(format!(
                    "{}/{bits}",
                    std::net::Ipv4Addr::from(u32::from(v4) & mask)
                ))
            }
            IpAddr::V6(v6) if bits <= 128 => {
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                let net = Ipv6Addr::from(u128::from(v6) & mask);
                Some(format!("{net}/{bits}"))
            }
            _ => None,
        }
    });
    parsed.unwrap_or_else(|| "<nil>".to_owned())
}

/// Names used on every target, interned once.
struct Names {
    role: Name,
    server_id: Name,
    server_name: Name,
    server_status: Name,
    public_ipv4: Name,
    public_ipv6_network: Name,
    address: Name,
}

impl Names {
    fn get() -> Names {
        Names {
            role: Name::new("__meta_hetzner_role"),
            server_id: Name::new("__meta_hetzner_server_id"),
            server_name: Name::new("__meta_hetzner_server_name"),
            server_status: Name::new("__meta_hetzner_server_status"),
            public_ipv4: Name::new("__meta_hetzner_public_ipv4"),
            public_ipv6_network: Name::new("__meta_hetzner_public_ipv6_network"),
            address: Name::new(ADDRESS_LABEL),
        }
    }
}

/// hcloud's targets: `servers` and the `networks` that name their private addresses.
pub fn hcloud_group(servers: &[Server], networks: &[Network], port: u64) -> TargetGroup {
    let n = Names::get();
    let image_name = Name::new("__meta_hetzner_hcloud_image_name");
    let image_description = Name::new("__meta_hetzner_hcloud_image_description");
    let image_os_version = Name::new("__meta_hetzner_hcloud_image_os_version");
    let image_os_flavor = Name::new("__meta_hetzner_hcloud_image_os_flavor");
    let location = Name::new("__meta_hetzner_hcloud_location");
    let location_zone = Name::new("__meta_hetzner_hcloud_location_network_zone");
    let dc_location = Name::new("__meta_hetzner_hcloud_datacenter_location");
    let dc_location_zone = Name::new("__meta_hetzner_hcloud_datacenter_location_network_zone");
    let cpu_cores = Name::new("__meta_hetzner_hcloud_cpu_cores");
    let cpu_type = Name::new("__meta_hetzner_hcloud_cpu_type");
    let memory = Name::new("__meta_hetzner_hcloud_memory_size_gb");
    let disk = Name::new("__meta_hetzner_hcloud_disk_size_gb");
    let server_type = Name::new("__meta_hetzner_hcloud_server_type");
    let role: Str = intern("hcloud");
    let true_value: Str = intern("true");

    // Prometheus compares every attachment with every network; a map by id gives the same
    // labels (for ids listed twice, the last network's name, as Prometheus' loop leaves it).
    let mut network_names: HashMap<i64, Vec<Name>> = HashMap::new();
    for network in networks {
        network_names
            .entry(network.id)
            .or_default()
            .push(Name::new(&format!(
                "__meta_hetzner_hcloud_private_ipv4_{}",
                sanitize_label_name(&network.name)
            )));
    }

    let targets = servers
        .iter()
        .map(|server| {
            let ipv4 = go_ip_string(&server.public_net.ipv4.ip);
            let mut labels: Vec<(Name, Str)> = Vec::with_capacity(24 + 2 * server.labels.len());
            labels.push((n.address.clone(), join_host_port(&ipv4, port).into()));
            labels.push((n.role.clone(), role.clone()));
            labels.push((n.server_id.clone(), server.id.to_string().into()));
            labels.push((n.server_name.clone(), server.name.as_str().into()));
            labels.push((n.server_status.clone(), intern(&server.status)));
            labels.push((n.public_ipv4.clone(), ipv4.into()));
            labels.push((
                n.public_ipv6_network.clone(),
                go_cidr_network_string(&server.public_net.ipv6.ip).into(),
            ));
            labels.push((location.clone(), intern(&server.location.name)));
            labels.push((location_zone.clone(), intern(&server.location.network_zone)));
            labels.push((dc_location.clone(), intern(&server.location.name)));
            labels.push((
                dc_location_zone.clone(),
                intern(&server.location.network_zone),
            ));
            labels.push((server_type.clone(), intern(&server.server_type.name)));
            labels.push((
                cpu_cores.clone(),
                intern(&server.server_type.cores.to_string()),
            ));
            labels.push((cpu_type.clone(), intern(&server.server_type.cpu_type)));
            // Go's int(float32): the integer part.
            labels.push((
                memory.clone(),
                intern(&(server.server_type.memory.trunc() as i64).to_string()),
            ));
            labels.push((disk.clone(), intern(&server.server_type.disk.to_string())));
            if let Some(image) = &server.image {
                labels.push((image_name.clone(), intern(&image.name)));
                labels.push((image_description.clone(), intern(&image.description)));
                labels.push((image_os_version.clone(), intern(&image.os_version)));
                labels.push((image_os_flavor.clone(), intern(&image.os_flavor)));
            }
            for private in &server.private_net {
                if let Some(names) = network_names.get(&private.network) {
                    let ip: Str = go_ip_string(&private.ip).into();
                    for name in names {
                        labels.push((name.clone(), ip.clone()));
                    }
                }
            }
            for (key, value) in &server.labels {
                let key = sanitize_label_name(key);
                labels.push((
                    Name::new(&format!("__meta_hetzner_hcloud_labelpresent_{key}")),
                    true_value.clone(),
                ));
                labels.push((
                    Name::new(&format!("__meta_hetzner_hcloud_label_{key}")),
                    value.as_str().into(),
                ));
            }
            LabelSet::from_labels(labels)
        })
        .collect();
    TargetGroup::new(SOURCE, targets, LabelSet::new())
}

/// robot's targets: the Robot webservice's server list.
pub fn robot_group(entries: &[RobotEntry], port: u64) -> TargetGroup {
    let n = Names::get();
    let datacenter = Name::new("__meta_hetzner_datacenter");
    let robot_datacenter = Name::new("__meta_hetzner_robot_datacenter");
    let product = Name::new("__meta_hetzner_robot_product");
    let cancelled = Name::new("__meta_hetzner_robot_cancelled");
    let role: Str = intern("robot");

    let targets = entries
        .iter()
        .map(|entry| {
            let server = &entry.server;
            let dc = intern(&server.dc.to_lowercase());
            let mut labels: Vec<(Name, Str)> = vec![
                (
                    n.address.clone(),
                    join_host_port(&server.server_ip, port).into(),
                ),
                (n.role.clone(), role.clone()),
                (n.server_id.clone(), server.server_number.to_string().into()),
                (n.server_name.clone(), server.server_name.as_str().into()),
                (n.server_status.clone(), intern(&server.status)),
                (n.public_ipv4.clone(), server.server_ip.as_str().into()),
                (datacenter.clone(), dc.clone()),
                (robot_datacenter.clone(), dc),
                (product.clone(), intern(&server.product)),
                (
                    cancelled.clone(),
                    intern(if server.cancelled { "true" } else { "false" }),
                ),
            ];
            // The first subnet whose address is not IPv4 (an unparsable one counts, as Go's
            // `ip.To4() == nil` holds for it).
            if let Some(subnet) = server
                .subnet
                .iter()
                .find(|s| !matches!(parse_go_ip(&s.ip), Some(IpAddr::V4(_))))
            {
                labels.push((
                    n.public_ipv6_network.clone(),
                    format!("{}/{}", subnet.ip, subnet.mask).into(),
                ));
            }
            LabelSet::from_labels(labels)
        })
        .collect();
    TargetGroup::new(SOURCE, targets, LabelSet::new())
}
