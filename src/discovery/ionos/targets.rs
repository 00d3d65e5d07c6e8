//! The targets Prometheus makes of IONOS Cloud servers. Pure: the ported upstream tables test
//! this without a server.
//!
//! A server with at least one NIC address is a target. Its addresses are collected NIC by
//! NIC, each NIC's before those of the NICs seen earlier (Prometheus prepends), so the first
//! address, `__address__` (with `port`), is the first address of the last NIC.
//! `__meta_ionos_server_ip` holds them all (`,a,b,`) and `__meta_ionos_server_nic_ip_<name>`
//! those of each NIC name (sanitized; `unnamed` without a name), in the same order.
//! Further labels, each only when the API sets the field: `_availability_zone`, `_cpu_family`,
//! `_servers_id` (the collection's id), `_id`, `_lifecycle` (metadata state), `_name`,
//! `_state` (VM state), `_type`, `_boot_cdrom_id`, `_boot_volume_id`, `_boot_image_id` (the
//! image of the first volume).

use promsd_actors::{LabelSet, ADDRESS_LABEL};

use super::api::Server;
pub use crate::discovery::kit::join_host_port;
pub use crate::discovery::kit::sanitize_label_name;

const PREFIX: &str = "__meta_ionos_server_";

fn join(items: &[String]) -> String {
    format!(",{},", items.join(","))
}

/// The targets of the servers of one collection whose id is `servers_id`.
pub fn server_targets(servers_id: Option<&str>, servers: &[Server], port: i64) -> Vec<LabelSet> {
    let mut targets = Vec::new();
    for server in servers {
        let mut ips: Vec<String> = Vec::new();
        let mut by_nic: Vec<(String, Vec<String>)> = Vec::new();
        let nics = server
            .entities
            .as_ref()
            .and_then(|e| e.nics.as_ref())
            .and_then(|n| n.items.as_deref())
            .unwrap_or_default();
        for nic in nics {
            let Some(props) = &nic.properties else {
                continue;
            };
            let name = props.name.clone().unwrap_or_else(|| "unnamed".to_owned());
            let nic_ips = props.ips.clone().unwrap_or_default();
            ips.splice(0..0, nic_ips.iter().cloned());
            match by_nic.iter_mut().find(|(n, _)| *n == name) {
                Some((_, list)) => {
                    list.splice(0..0, nic_ips);
                }
                None => by_nic.push((name, nic_ips)),
            }
        }
        if ips.is_empty() {
            continue;
        }
        let label = |name: &str| format!("{PREFIX}{name}");
        let mut labels: Vec<(String, String)> = vec![
            (ADDRESS_LABEL.to_owned(), join_host_port(&ips[0], port)),
            (label("ip"), join(&ips)),
        ];
        let props = server.properties.as_ref();
        let mut set = |name: &str, value: Option<&String>| {
            if let Some(value) = value {
                labels.push((label(name), value.clone()));
            }
        };
        set(
            "availability_zone",
            props.and_then(|p| p.availability_zone.as_ref()),
        );
        set("cpu_family", props.and_then(|p| p.cpu_family.as_ref()));
        set("servers_id", servers_id.map(str::to_owned).as_ref());
        set("id", server.id.as_ref());
        set(
            "lifecycle",
            server.metadata.as_ref().and_then(|m| m.state.as_ref()),
        );
        set("name", props.and_then(|p| p.name.as_ref()));
        set("state", props.and_then(|p| p.vm_state.as_ref()));
        set("type", props.and_then(|p| p.server_type.as_ref()));
        for (name, nic_ips) in &by_nic {
            // A NIC without addresses still names a label (`,,`), as in Prometheus.
            labels.push((
                format!("{PREFIX}nic_ip_{}", sanitize_label_name(name)),
                join(nic_ips),
            ));
        }
        let mut set = |name: &str, value: Option<&String>| {
            if let Some(value) = value {
                labels.push((label(name), value.clone()));
            }
        };
        set(
            "boot_cdrom_id",
            props
                .and_then(|p| p.boot_cdrom.as_ref())
                .and_then(|r| r.id.as_ref()),
        );
        set(
            "boot_volume_id",
            props
                .and_then(|p| p.boot_volume.as_ref())
                .and_then(|r| r.id.as_ref()),
        );
        let first_volume = server
            .entities
            .as_ref()
            .and_then(|e| e.volumes.as_ref())
            .and_then(|v| v.items.as_deref())
            .and_then(|items| items.first());
        set(
            "boot_image_id",
            first_volume
                .and_then(|v| v.properties.as_ref())
                .and_then(|p| p.image.as_ref()),
        );
        targets.push(LabelSet::from_pairs(labels));
    }
    targets
}
