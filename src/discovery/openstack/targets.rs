//! The targets Prometheus makes of OpenStack's answers, one function per role. Pure: the
//! ported upstream tables test these without a server.
//!
//! - `hypervisor`: `__address__` = `host_ip:port`; `__meta_openstack_hypervisor_id`,
//!   `_hostname`, `_host_ip`, `_status`, `_state`, `_type`.
//! - `instance`: one target per fixed address of a server (`__address__` = `addr:port`);
//!   `__meta_openstack_instance_id`, `_instance_status`, `_instance_name`,
//!   `_instance_flavor` (the flavor's `original_name`, else its `id`; a server with neither is
//!   skipped), `_instance_image` (when the image has an id), `_project_id`, `_user_id`,
//!   `_tag_<metadata key>` (key sanitized), `_address_pool`, `_private_ip`, and `_public_ip`
//!   when a floating IP maps to that server and address. Servers without addresses and
//!   addresses that are floating IPs themselves are skipped.
//! - `loadbalancer`: load balancers with a `PROMETHEUS` listener; `__address__` =
//!   `vip_address:<first such listener's port>`; `__meta_openstack_loadbalancer_id`, `_name`,
//!   `_operating_status`, `_provisioning_status`, `_availability_zone`, `_vip`, `_provider`,
//!   `_tags` (joined by `,`, when there are tags), `_floating_ip` (the floating IP of the VIP
//!   port, when there is one), and `__meta_openstack_project_id`.

use std::collections::{HashMap, HashSet};

use promsd_actors::{LabelSet, ADDRESS_LABEL};
use serde_json::Value;

use super::api::{FloatingIp, Hypervisor, Listener, LoadBalancer, Port, Server};

const PREFIX: &str = "__meta_openstack_";

/// Go's `net.JoinHostPort`.
pub fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Prometheus' `strutil.SanitizeLabelName`: every character outside `[a-zA-Z0-9_]` becomes `_`.
pub fn sanitize_label_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn meta(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// A hypervisor's id as gophercloud reads it: a string as is, a number in decimal.
fn hypervisor_id(id: &Value) -> Result<String, String> {
    match id {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(match n.as_i64() {
            Some(i) => i.to_string(),
            None => (n.as_f64().unwrap_or_default() as i64).to_string(),
        }),
        other => Err(format!(
            "could not extract hypervisors: ID has unexpected type: {}",
            go_type_name(other)
        )),
    }
}

fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// The `hypervisor` role's targets.
pub fn hypervisor_targets(hypervisors: &[Hypervisor], port: i64) -> Result<Vec<LabelSet>, String> {
    hypervisors
        .iter()
        .map(|h| {
            Ok(LabelSet::from_pairs([
                (ADDRESS_LABEL.to_owned(), join_host_port(&h.host_ip, port)),
                (meta("hypervisor_id"), hypervisor_id(&h.id)?),
                (meta("hypervisor_hostname"), h.hypervisor_hostname.clone()),
                (meta("hypervisor_host_ip"), h.host_ip.clone()),
                (meta("hypervisor_status"), h.status.clone()),
                (meta("hypervisor_state"), h.state.clone()),
                (meta("hypervisor_type"), h.hypervisor_type.clone()),
            ]))
        })
        .collect()
}

/// The floating IPs of the `instance` role: the one mapped to each (device, fixed address),
/// and the set of all floating addresses mapped to a known port.
pub struct FloatingIps {
    by_device: HashMap<(String, String), String>,
    present: HashSet<String>,
}

impl FloatingIps {
    pub fn new(ports: &[Port], floating_ips: &[FloatingIp]) -> Self {
        let devices: HashMap<&str, &str> = ports
            .iter()
            .map(|p| (p.id.as_str(), p.device_id.as_str()))
            .collect();
        let mut by_device = HashMap::new();
        let mut present = HashSet::new();
        for ip in floating_ips {
            // Floating IPs not associated with a fixed address of a port are skipped.
            if ip.port_id.is_empty() || ip.fixed_ip_address.is_empty() {
                continue;
            }
            let Some(device) = devices.get(ip.port_id.as_str()) else {
                tracing::warn!(port_id = %ip.port_id, "Floating IP PortID not found in portList");
                continue;
            };
            by_device.insert(
                ((*device).to_owned(), ip.fixed_ip_address.clone()),
                ip.floating_ip_address.clone(),
            );
            present.insert(ip.floating_ip_address.clone());
        }
        FloatingIps { by_device, present }
    }
}

/// The `instance` role's targets of one page of servers.
pub fn instance_targets(servers: &[Server], floating: &FloatingIps, port: i64) -> Vec<LabelSet> {
    let mut targets = Vec::new();
    for s in servers {
        if s.addresses.is_empty() {
            tracing::info!(instance = %s.id, "Got no IP address");
            continue;
        }
        let mut labels: Vec<(String, String)> = vec![
            (meta("instance_id"), s.id.clone()),
            (meta("instance_status"), s.status.clone()),
            (meta("instance_name"), s.name.clone()),
            (meta("project_id"), s.tenant_id.clone()),
            (meta("user_id"), s.user_id.clone()),
        ];
        // "original_name" exists since microversion 2.47, in favour of "id".
        let flavor = match (s.flavor.get("original_name"), s.flavor.get("id")) {
            (Some(Value::String(name)), _) => name.clone(),
            (_, Some(Value::String(id))) => id.clone(),
            _ => {
                tracing::warn!(
                    "Invalid type for both flavor original_name and flavor id, expected string"
                );
                continue;
            }
        };
        labels.push((meta("instance_flavor"), flavor));
        if let Some(Value::String(image)) = s.image.get("id") {
            labels.push((meta("instance_image"), image.clone()));
        }
        for (k, v) in &s.metadata {
            labels.push((format!("{PREFIX}tag_{}", sanitize_label_name(k)), v.clone()));
        }
        for (pool, addresses) in &s.addresses {
            let Value::Array(addresses) = addresses else {
                tracing::warn!("Invalid type for address, expected array");
                continue;
            };
            if addresses.is_empty() {
                tracing::debug!(instance = %s.id, "Got no IP address");
                continue;
            }
            for address in addresses {
                let Value::Object(address) = address else {
                    tracing::warn!("Invalid type for address, expected dict");
                    continue;
                };
                let Some(Value::String(addr)) = address.get("addr") else {
                    tracing::warn!("Invalid type for address, expected string");
                    continue;
                };
                if floating.present.contains(addr) {
                    continue;
                }
                let mut target = labels.clone();
                target.push((meta("address_pool"), pool.clone()));
                target.push((meta("private_ip"), addr.clone()));
                if let Some(public) = floating.by_device.get(&(s.id.clone(), addr.clone())) {
                    target.push((meta("public_ip"), public.clone()));
                }
                target.push((ADDRESS_LABEL.to_owned(), join_host_port(addr, port)));
                targets.push(LabelSet::from_pairs(target));
            }
        }
    }
    targets
}

/// The `loadbalancer` role's targets.
pub fn loadbalancer_targets(
    loadbalancers: &[LoadBalancer],
    listeners: &[Listener],
    floating_ips: &[FloatingIp],
) -> Vec<LabelSet> {
    let mut by_lb: HashMap<&str, Vec<&Listener>> = HashMap::new();
    for listener in listeners {
        for lb in &listener.loadbalancers {
            by_lb.entry(lb.id.as_str()).or_default().push(listener);
        }
    }
    let floating: HashMap<&str, &str> = floating_ips
        .iter()
        .filter(|f| !f.port_id.is_empty())
        .map(|f| (f.port_id.as_str(), f.floating_ip_address.as_str()))
        .collect();
    let mut targets = Vec::new();
    for lb in loadbalancers {
        let Some(lb_listeners) = by_lb.get(lb.id.as_str()) else {
            tracing::debug!(loadbalancer = %lb.id, "Got no listener");
            continue;
        };
        let Some(listener) = lb_listeners.iter().find(|l| l.protocol == "PROMETHEUS") else {
            tracing::debug!(loadbalancer = %lb.id, "Got no PROMETHEUS listener");
            continue;
        };
        let mut labels = vec![
            (
                ADDRESS_LABEL.to_owned(),
                join_host_port(&lb.vip_address, listener.protocol_port),
            ),
            (meta("loadbalancer_id"), lb.id.clone()),
            (meta("loadbalancer_name"), lb.name.clone()),
            (
                meta("loadbalancer_operating_status"),
                lb.operating_status.clone(),
            ),
            (
                meta("loadbalancer_provisioning_status"),
                lb.provisioning_status.clone(),
            ),
            (
                meta("loadbalancer_availability_zone"),
                lb.availability_zone.clone(),
            ),
            (meta("loadbalancer_vip"), lb.vip_address.clone()),
            (meta("loadbalancer_provider"), lb.provider.clone()),
            (meta("project_id"), lb.project_id.clone()),
        ];
        if !lb.tags.is_empty() {
            labels.push((meta("loadbalancer_tags"), lb.tags.join(",")));
        }
        if let Some(ip) = floating.get(lb.vip_port_id.as_str()) {
            labels.push((meta("loadbalancer_floating_ip"), (*ip).to_owned()));
        }
        targets.push(LabelSet::from_pairs(labels));
    }
    targets
}
