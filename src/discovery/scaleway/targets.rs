//! The targets Prometheus makes of Scaleway's answers. Pure: the ported upstream tables test
//! these without a server.
//!
//! `instance` (`__meta_scaleway_instance_*`): `boot_type`, `hostname`, `id`, `name`,
//! `organization_id`, `project_id`, `status`, `type` (commercial type), `zone`; `image_arch`,
//! `image_id`, `image_name` with an image; `location_cluster_id`, `_hypervisor_id`,
//! `_node_id` with a location; `security_group_id`, `_name` with a security group; `region`
//! when the zone is well formed; `tags` (`,a,b,`) with tags; `public_ipv4_addresses` and
//! `public_ipv6_addresses` (`,a,b,`) from `public_ips`; `public_ipv6` (deprecated `ipv6`),
//! `public_ipv4` (deprecated `public_ip`, unless its family is `inet6`), `private_ipv4`
//! (`private_ip`, else the IPAM address of the first private NIC that has one). The address
//! is the last of `ipv6`, `public_ip`, `private_ip`, IPAM that exists, with `port`; a server
//! without any is not a target.
//!
//! `baremetal` (`__meta_scaleway_baremetal_*`): `id`, `name`, `zone`, `status`, `project_id`;
//! `type` (the offer's name), `os_name` and `os_version` (the installed OS) when found;
//! `tags` (`,a,b,`); `public_ipv4` and `public_ipv6`: the first address of each version. The
//! address is the first IPv4 address, else the first IPv6 one, with `port`; a server without
//! addresses is still a target, without `__address__`, as in Prometheus.

use std::collections::HashMap;
use std::net::IpAddr;

use promsd_actors::{LabelSet, ADDRESS_LABEL};

use super::api::{BaremetalServer, InstanceServer, IpamIp, Offer, Os};
use super::region_of;
pub use crate::discovery::kit::join_host_port;

const INSTANCE: &str = "__meta_scaleway_instance_";
const BAREMETAL: &str = "__meta_scaleway_baremetal_";

/// An address as Go's `net.IP` decodes and prints it (IPv4-mapped IPv6 as IPv4); an error
/// where Go's decoder fails.
pub fn go_ip(text: &str) -> Result<String, String> {
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => Ok(match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        }),
        Ok(ip) => Ok(ip.to_string()),
        Err(_) => Err(format!("invalid IP address: {text}")),
    }
}

fn tags(tags: &[String]) -> String {
    format!(",{},", tags.join(","))
}

/// The servers that need an IPAM lookup: those without `private_ip`, `public_ip` and `ipv6`,
/// their private NIC ids grouped by region. A malformed zone is an error, as in Prometheus.
pub fn ipam_lookups(servers: &[InstanceServer]) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut by_region: Vec<(String, Vec<String>)> = Vec::new();
    for server in servers {
        if server.private_ip.is_some() || server.public_ip.is_some() || server.ipv6.is_some() {
            continue;
        }
        let region =
            region_of(&server.zone).ok_or_else(|| format!("invalid zone '{}'", server.zone))?;
        let ids = server
            .private_nics
            .iter()
            .flatten()
            .filter(|nic| !nic.id.is_empty())
            .map(|nic| nic.id.clone());
        match by_region.iter_mut().find(|(r, _)| *r == region) {
            Some((_, list)) => list.extend(ids),
            None => {
                let list: Vec<String> = ids.collect();
                if !list.is_empty() {
                    by_region.push((region, list));
                }
            }
        }
    }
    Ok(by_region)
}

/// The IPv4 address of each private NIC, from IPAM's answers.
pub fn private_nic_ips(ips: &[IpamIp]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for ip in ips {
        let Some(resource) = &ip.resource else {
            continue;
        };
        if ip.is_ipv6 {
            continue;
        }
        let address = ip.address.split('/').next().unwrap_or("");
        if let Ok(address) = go_ip(address) {
            out.insert(resource.id.clone(), address);
        }
    }
    out
}

/// The `instance` role's targets.
pub fn instance_targets(
    servers: &[InstanceServer],
    private_nic_ips: &HashMap<String, String>,
    port: i64,
) -> Result<Vec<LabelSet>, String> {
    let mut targets = Vec::new();
    for server in servers {
        let label = |name: &str| format!("{INSTANCE}{name}");
        let mut labels: Vec<(String, String)> = vec![
            (label("boot_type"), server.boot_type.clone()),
            (label("hostname"), server.hostname.clone()),
            (label("id"), server.id.clone()),
            (label("name"), server.name.clone()),
            (label("organization_id"), server.organization.clone()),
            (label("project_id"), server.project.clone()),
            (label("status"), server.state.clone()),
            (label("type"), server.commercial_type.clone()),
            (label("zone"), server.zone.clone()),
        ];
        if let Some(image) = &server.image {
            labels.push((label("image_arch"), image.arch.clone()));
            labels.push((label("image_id"), image.id.clone()));
            labels.push((label("image_name"), image.name.clone()));
        }
        if let Some(location) = &server.location {
            labels.push((label("location_cluster_id"), location.cluster_id.clone()));
            labels.push((
                label("location_hypervisor_id"),
                location.hypervisor_id.clone(),
            ));
            labels.push((label("location_node_id"), location.node_id.clone()));
        }
        if let Some(group) = &server.security_group {
            labels.push((label("security_group_id"), group.id.clone()));
            labels.push((label("security_group_name"), group.name.clone()));
        }
        if let Some(region) = region_of(&server.zone) {
            labels.push((label("region"), region));
        }
        if !server.tags.is_empty() {
            labels.push((label("tags"), tags(&server.tags)));
        }
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for ip in server.public_ips.iter().flatten() {
            match ip.family.as_str() {
                "inet" => v4.push(go_ip(&ip.address)?),
                "inet6" => v6.push(go_ip(&ip.address)?),
                _ => {}
            }
        }
        if !v6.is_empty() {
            labels.push((label("public_ipv6_addresses"), tags(&v6)));
        }
        if !v4.is_empty() {
            labels.push((label("public_ipv4_addresses"), tags(&v4)));
        }
        let mut addr = String::new();
        if let Some(ipv6) = &server.ipv6 {
            let ip = go_ip(&ipv6.address)?;
            labels.push((label("public_ipv6"), ip.clone()));
            addr = ip;
        }
        if let Some(public) = &server.public_ip {
            let ip = go_ip(&public.address)?;
            if public.family != "inet6" {
                labels.push((label("public_ipv4"), ip.clone()));
            }
            addr = ip;
        }
        if let Some(private) = &server.private_ip {
            labels.push((label("private_ipv4"), private.clone()));
            addr = private.clone();
        }
        if addr.is_empty() {
            let found = server
                .private_nics
                .iter()
                .flatten()
                .find_map(|nic| private_nic_ips.get(&nic.id).filter(|ip| !ip.is_empty()));
            if let Some(ip) = found {
                labels.push((label("private_ipv4"), ip.clone()));
                addr = ip.clone();
            }
        }
        if !addr.is_empty() {
            labels.push((ADDRESS_LABEL.to_owned(), join_host_port(&addr, port)));
            targets.push(LabelSet::from_pairs(labels));
        }
    }
    Ok(targets)
}

/// The `baremetal` role's targets.
pub fn baremetal_targets(
    servers: &[BaremetalServer],
    offers: &[Offer],
    oses: &[Os],
    port: i64,
) -> Result<Vec<LabelSet>, String> {
    let mut targets = Vec::new();
    for server in servers {
        let label = |name: &str| format!("{BAREMETAL}{name}");
        let mut labels: Vec<(String, String)> = vec![
            (label("id"), server.id.clone()),
            (label("name"), server.name.clone()),
            (label("zone"), server.zone.clone()),
            (label("status"), server.status.clone()),
            (label("project_id"), server.project_id.clone()),
        ];
        if let Some(offer) = offers.iter().find(|o| o.id == server.offer_id) {
            labels.push((label("type"), offer.name.clone()));
        }
        if let Some(install) = &server.install {
            if let Some(os) = oses.iter().find(|o| o.id == install.os_id) {
                labels.push((label("os_name"), os.name.clone()));
                labels.push((label("os_version"), os.version.clone()));
            }
        }
        if !server.tags.is_empty() {
            labels.push((label("tags"), tags(&server.tags)));
        }
        let (mut v4, mut v6, mut address): (Option<String>, Option<String>, Option<String>) =
            (None, None, None);
        for ip in server.ips.iter().flatten() {
            let version = if ip.version.is_empty() {
                "IPv4"
            } else {
                ip.version.as_str()
            };
            match version {
                "IPv4" => {
                    if v4.is_some() {
                        continue;
                    }
                    let ip = go_ip(&ip.address)?;
                    address = Some(join_host_port(&ip, port));
                    v4 = Some(ip);
                }
                "IPv6" => {
                    if v6.is_some() {
                        continue;
                    }
                    let ip = go_ip(&ip.address)?;
                    if address.is_none() {
                        address = Some(join_host_port(&ip, port));
                    }
                    v6 = Some(ip);
                }
                other => return Err(format!("unknown IP version: {other}")),
            }
        }
        if let Some(ip) = v4 {
            labels.push((label("public_ipv4"), ip));
        }
        if let Some(ip) = v6 {
            labels.push((label("public_ipv6"), ip));
        }
        if let Some(address) = address {
            labels.push((ADDRESS_LABEL.to_owned(), address));
        }
        targets.push(LabelSet::from_pairs(labels));
    }
    Ok(targets)
}
