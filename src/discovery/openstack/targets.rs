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
use std::sync::LazyLock;

use promsd_actors::{LabelSet, Name, Str, ADDRESS_LABEL};
use serde_json::Value;

use super::api::{FloatingIp, Hypervisor, Listener, LoadBalancer, Port, Server};
pub use crate::discovery::kit::join_host_port;
pub use crate::discovery::kit::sanitize_label_name;

const PREFIX: &str = "__meta_openstack_";

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

/// Label values of one refresh, each distinct value allocated once: the targets of a server
/// share its id, name and status, and servers share their project, user, flavor, pool and
/// metadata values.
#[derive(Default)]
pub struct SharedValues(HashMap<String, Str>);

impl SharedValues {
    pub fn get(&mut self, value: &str) -> Str {
        if let Some(shared) = self.0.get(value) {
            return shared.clone();
        }
        let shared: Str = Str::from(value);
        self.0.insert(value.to_owned(), shared.clone());
        shared
    }
}

static INSTANCE_NAMES: LazyLock<[Name; 10]> = LazyLock::new(|| {
    [
        "instance_id",
        "instance_status",
        "instance_name",
        "project_id",
        "user_id",
        "instance_flavor",
        "instance_image",
        "address_pool",
        "private_ip",
        "public_ip",
    ]
    .map(|n| Name::new(&meta(n)))
});

/// The `instance` role's targets of one page of servers.
pub fn instance_targets(
    servers: &[Server],
    floating: &FloatingIps,
    port: i64,
    values: &mut SharedValues,
) -> Vec<LabelSet> {
    let [id, status, name, project, user, flavor_name, image_name, pool_name, private, public] =
        INSTANCE_NAMES.clone();
    let address_name = Name::new(ADDRESS_LABEL);
    let mut targets = Vec::new();
    for s in servers {
        if s.addresses.is_empty() {
            tracing::info!(instance = %s.id, "Got no IP address");
            continue;
        }
        // "original_name" exists since microversion 2.47, in favour of "id".
        let flavor = match (s.flavor.get("original_name"), s.flavor.get("id")) {
            (Some(Value::String(name)), _) => name,
            (_, Some(Value::String(id))) => id,
            _ => {
                tracing::warn!(
                    "Invalid type for both flavor original_name and flavor id, expected string"
                );
                continue;
            }
        };
        let mut labels: Vec<(Name, Str)> = vec![
            (id.clone(), values.get(&s.id)),
            (status.clone(), values.get(&s.status)),
            (name.clone(), values.get(&s.name)),
            (project.clone(), values.get(&s.tenant_id)),
            (user.clone(), values.get(&s.user_id)),
            (flavor_name.clone(), values.get(flavor)),
        ];
        if let Some(Value::String(image)) = s.image.get("id") {
            labels.push((image_name.clone(), values.get(image)));
        }
        for (k, v) in &s.metadata {
            labels.push((
                Name::new(&format!("{PREFIX}tag_{}", sanitize_label_name(k))),
                values.get(v),
            ));
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
                let mut target = Vec::with_capacity(labels.len() + 4);
                target.extend(labels.iter().cloned());
                target.push((pool_name.clone(), values.get(pool)));
                target.push((private.clone(), Str::from(addr.as_str())));
                if let Some(ip) = floating.by_device.get(&(s.id.clone(), addr.clone())) {
                    target.push((public.clone(), Str::from(ip.as_str())));
                }
                target.push((address_name.clone(), Str::from(join_host_port(addr, port))));
                targets.push(LabelSet::from_labels(target));
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
