//! The targets Prometheus makes of Linode's answers: one group, source `Linode`, one target
//! per instance that has an IPv4 address.
//!
//! For each of the instance's IPv4 addresses, in order, the address list says whether it is
//! public: the first public one is `__meta_linode_public_ipv4` (and `__address__`, with the
//! port), the first private one `__meta_linode_private_ipv4`, every other one joins
//! `__meta_linode_extra_ips`; each kept address brings its reverse DNS
//! (`public_ipv4_rdns`, `private_ipv4_rdns`) unless it is empty or `"null"`. The SLAAC
//! address (`ipv6` without its prefix) is `public_ipv6` (and `public_ipv6_rdns`) when the
//! address list has it; the IPv6 ranges routed to it are `ipv6_ranges` (`range/prefix`).
//! Also `instance_id`, `instance_label`, `image`, `region`, `type`, `status`, `group`,
//! `gpus`, `hypervisor`, `backups` (`enabled`/`disabled`), `specs_disk_bytes`,
//! `specs_memory_bytes`, `specs_transfer_bytes` (MiB × 2²⁰), `specs_vcpus`, and `tags`. Lists
//! (`tags`, `extra_ips`, `ipv6_ranges`) are joined by the tag separator with one around them
//! (`,a,b,`), only when not empty.

use std::net::IpAddr;

use promsd_actors::{intern, LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};

use super::api::{Instance, IpAddress, Ipv6Range};
use crate::discovery::kit::join_host_port;

pub const SOURCE: &str = "Linode";

/// Go's `net.IP.String()` of a parsed address (IPv4-mapped addresses print as IPv4).
fn go_ip_string(s: &str) -> Option<String> {
    Some(match s.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        v4 => v4.to_string(),
    })
}

fn rdns(value: &str) -> &str {
    if value == "null" {
        ""
    } else {
        value
    }
}

fn joined(items: &[String], separator: &str) -> String {
    format!("{separator}{}{separator}", items.join(separator))
}

/// Checks that every instance address parses, as linodego's decoding of `[]*net.IP` does.
pub fn check_addresses(instances: &[Instance]) -> Result<(), String> {
    for instance in instances {
        for ip in instance.ipv4.iter().flatten() {
            if go_ip_string(ip).is_none() {
                return Err(format!("invalid IP address: {ip}"));
            }
        }
    }
    Ok(())
}

pub fn group(
    instances: &[Instance],
    ips: &[IpAddress],
    ranges: &[Ipv6Range],
    port: u64,
    separator: &str,
) -> TargetGroup {
    let name = |s: &str| Name::new(&format!("__meta_linode_{s}"));
    let address = Name::new(ADDRESS_LABEL);
    let targets = instances
        .iter()
        .filter(|instance| !instance.ipv4.is_empty())
        .map(|instance| {
            let (mut private_ipv4, mut public_ipv4, mut public_ipv6) = ("", "", "");
            let (mut private_rdns, mut public_rdns, mut public_ipv6_rdns) = ("", "", "");
            let mut extra_ips: Vec<String> = Vec::new();
            let mut ipv6_ranges: Vec<String> = Vec::new();
            for ip in &instance.ipv4 {
                // A `null` entry is Go's nil IP, which prints as `<nil>`.
                let ip = ip.as_deref().map_or_else(
                    || "<nil>".to_owned(),
                    |s| go_ip_string(s).unwrap_or_default(),
                );
                for detailed in ips.iter().filter(|d| d.address == ip) {
                    if detailed.public && public_ipv4.is_empty() {
                        public_ipv4 = &detailed.address;
                        public_rdns = rdns(&detailed.rdns);
                    } else if !detailed.public && private_ipv4.is_empty() {
                        private_ipv4 = &detailed.address;
                        private_rdns = rdns(&detailed.rdns);
                    } else {
                        extra_ips.push(detailed.address.clone());
                    }
                }
            }
            if !instance.ipv6.is_empty() {
                let slaac = instance.ipv6.split('/').next().unwrap_or("");
                for detailed in ips.iter().filter(|d| d.address == slaac) {
                    public_ipv6 = &detailed.address;
                    if !detailed.rdns.is_empty() && detailed.rdns != "null" {
                        public_ipv6_rdns = &detailed.rdns;
                    }
                }
                for range in ranges.iter().filter(|r| r.route_target == slaac) {
                    ipv6_ranges.push(format!("{}/{}", range.range, range.prefix));
                }
            }
            let specs = &instance.specs;
            let mut labels: Vec<(Name, Str)> = vec![
                (address.clone(), join_host_port(public_ipv4, port).into()),
                (name("instance_id"), instance.id.to_string().into()),
                (name("instance_label"), instance.label.as_str().into()),
                (name("image"), intern(&instance.image)),
                (name("private_ipv4"), private_ipv4.into()),
                (name("public_ipv4"), public_ipv4.into()),
                (name("public_ipv6"), public_ipv6.into()),
                (name("private_ipv4_rdns"), private_rdns.into()),
                (name("public_ipv4_rdns"), public_rdns.into()),
                (name("public_ipv6_rdns"), public_ipv6_rdns.into()),
                (name("region"), intern(&instance.region)),
                (name("type"), intern(&instance.kind)),
                (name("status"), intern(&instance.status)),
                (name("group"), intern(&instance.group)),
                (name("gpus"), intern(&specs.gpus.to_string())),
                (name("hypervisor"), intern(&instance.hypervisor)),
                (
                    name("backups"),
                    intern(if instance.backups.enabled {
                        "enabled"
                    } else {
                        "disabled"
                    }),
                ),
                (
                    name("specs_disk_bytes"),
                    intern(&(specs.disk << 20).to_string()),
                ),
                (
                    name("specs_memory_bytes"),
                    intern(&(specs.memory << 20).to_string()),
                ),
                (name("specs_vcpus"), intern(&specs.vcpus.to_string())),
                (
                    name("specs_transfer_bytes"),
                    intern(&(specs.transfer << 20).to_string()),
                ),
            ];
            if !instance.tags.is_empty() {
                labels.push((name("tags"), joined(&instance.tags, separator).into()));
            }
            if !extra_ips.is_empty() {
                labels.push((name("extra_ips"), joined(&extra_ips, separator).into()));
            }
            if !ipv6_ranges.is_empty() {
                labels.push((name("ipv6_ranges"), joined(&ipv6_ranges, separator).into()));
            }
            LabelSet::from_labels(labels)
        })
        .collect();
    TargetGroup::new(SOURCE, targets, LabelSet::new())
}
