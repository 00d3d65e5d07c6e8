//! The targets Prometheus makes of OVHcloud servers: one group, source `ovhcloud_<service>`,
//! one target per server at its IP without a port (the last IPv4 of its list, else the last
//! IPv6), `instance` set to its name, and
//! - VPS: `__meta_ovhcloud_vps_` + `offer`, `datacenter` (Go's `%+v` of the list: `[a b]`),
//!   `model_vcore`, `maximum_additional_ip`, `version`, `model_name`, `disk`, `memory`,
//!   `zone`, `display_name`, `cluster`, `state`, `name`, `netboot_mode`, `memory_limit`,
//!   `offer_type`, `vcore`, `ipv4`, `ipv6`;
//! - dedicated servers: `__meta_ovhcloud_dedicated_server_` + `state`, `commercial_range`,
//!   `link_speed`, `rack`, `no_intervention`, `os`, `support_level`, `server_id`, `reverse`,
//!   `datacenter`, `name`, `ipv4`, `ipv6`.

use std::net::IpAddr;

use promsd_actors::{intern, LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};

use super::api::{DedicatedServer, Server, Vps};
use super::Service;

/// Prometheus' `parseIPList`: addresses, or prefixes of exactly 32 bits (others skipped);
/// unspecified addresses skipped; an unparsable entry or an empty result is an error.
pub fn parse_ip_list(list: &[String]) -> Result<Vec<IpAddr>, String> {
    const ERR: &str = "could not parse IP addresses from list";
    let mut out = Vec::new();
    for ip in list {
        let addr = match ip.parse::<IpAddr>() {
            Ok(a) => a,
            Err(_) => {
                let (addr, bits) = ip.split_once('/').ok_or(ERR)?;
                let addr: IpAddr = addr.parse().map_err(|_| ERR)?;
                let max = if addr.is_ipv4() { 32 } else { 128 };
                // netip.ParsePrefix: decimal bits, no sign, no leading zero, within range.
                if bits.is_empty()
                    || !bits.bytes().all(|b| b.is_ascii_digit())
                    || (bits.len() > 1 && bits.starts_with('0'))
                {
                    return Err(ERR.into());
                }
                let bits: u32 = bits.parse().map_err(|_| ERR)?;
                if bits > max {
                    return Err(ERR.into());
                }
                if bits != 32 {
                    continue;
                }
                addr
            }
        };
        if !addr.is_unspecified() {
            out.push(addr);
        }
    }
    if out.is_empty() {
        return Err(ERR.into());
    }
    Ok(out)
}

/// The last IPv4 and the last IPv6 of the list.
fn last_of_each(ips: &[IpAddr]) -> (String, String) {
    let (mut v4, mut v6) = (String::new(), String::new());
    for ip in ips {
        match ip {
            IpAddr::V4(a) => v4 = a.to_string(),
            IpAddr::V6(a) => v6 = a.to_string(),
        }
    }
    (v4, v6)
}

/// Go's `fmt.Sprintf("%+v", []string)`.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

fn vps_target(s: &Vps, ips: &[IpAddr]) -> LabelSet {
    let n = |k: &str| Name::new(&format!("__meta_ovhcloud_vps_{k}"));
    let (v4, v6) = last_of_each(ips);
    let address = if v4.is_empty() {
        v6.clone()
    } else {
        v4.clone()
    };
    let m = &s.model;
    let labels: Vec<(Name, Str)> = vec![
        (Name::new(ADDRESS_LABEL), address.into()),
        (Name::new("instance"), s.name.as_str().into()),
        (n("offer"), intern(&m.offer)),
        (n("datacenter"), intern(&go_list(&m.datacenter))),
        (n("model_vcore"), intern(&m.vcore.to_string())),
        (
            n("maximum_additional_ip"),
            intern(&m.maximum_additional_ip.to_string()),
        ),
        (n("version"), intern(&m.version)),
        (n("model_name"), intern(&m.name)),
        (n("disk"), intern(&m.disk.to_string())),
        (n("memory"), intern(&m.memory.to_string())),
        (n("zone"), intern(&s.zone)),
        (n("display_name"), s.display_name.as_str().into()),
        (n("cluster"), intern(&s.cluster)),
        (n("state"), intern(&s.state)),
        (n("name"), s.name.as_str().into()),
        (n("netboot_mode"), intern(&s.netboot_mode)),
        (n("memory_limit"), intern(&s.memory_limit.to_string())),
        (n("offer_type"), intern(&s.offer_type)),
        (n("vcore"), intern(&s.vcore.to_string())),
        (n("ipv4"), v4.into()),
        (n("ipv6"), v6.into()),
    ];
    LabelSet::from_labels(labels)
}

fn dedicated_target(s: &DedicatedServer, ips: &[IpAddr]) -> LabelSet {
    let n = |k: &str| Name::new(&format!("__meta_ovhcloud_dedicated_server_{k}"));
    let (v4, v6) = last_of_each(ips);
    let address = if v4.is_empty() {
        v6.clone()
    } else {
        v4.clone()
    };
    let labels: Vec<(Name, Str)> = vec![
        (Name::new(ADDRESS_LABEL), address.into()),
        (Name::new("instance"), s.name.as_str().into()),
        (n("state"), intern(&s.state)),
        (n("commercial_range"), intern(&s.commercial_range)),
        (n("link_speed"), intern(&s.link_speed.to_string())),
        (n("rack"), intern(&s.rack)),
        (n("no_intervention"), intern(&s.no_intervention.to_string())),
        (n("os"), intern(&s.os)),
        (n("support_level"), intern(&s.support_level)),
        (n("server_id"), s.server_id.to_string().into()),
        (n("reverse"), s.reverse.as_str().into()),
        (n("datacenter"), intern(&s.datacenter)),
        (n("name"), s.name.as_str().into()),
        (n("ipv4"), v4.into()),
        (n("ipv6"), v6.into()),
    ];
    LabelSet::from_labels(labels)
}

/// One server's target.
pub fn target(server: &Server, ips: &[IpAddr]) -> LabelSet {
    match server {
        Server::Vps(s) => vps_target(s, ips),
        Server::Dedicated(s) => dedicated_target(s, ips),
    }
}

/// The group of a refresh.
pub fn group(service: Service, servers: &[(Server, Vec<IpAddr>)]) -> TargetGroup {
    let targets = servers.iter().map(|(s, ips)| target(s, ips)).collect();
    TargetGroup::new(
        format!("ovhcloud_{}", service.as_str()),
        targets,
        LabelSet::new(),
    )
}
