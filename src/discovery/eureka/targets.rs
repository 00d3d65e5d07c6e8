//! The targets Prometheus makes of Eureka's applications: one per instance, all in one group
//! with source `eureka`.
//!
//! - `__address__`: `<hostName>:<port>`, or `<hostName>:80` without a `<port>`; `instance`:
//!   the instance id (a discovered label, so it survives relabeling unless replaced).
//! - `__meta_eureka_app_name`, and `__meta_eureka_app_instance_` + `hostname`,
//!   `homepage_url`, `statuspage_url`, `healthcheck_url`, `ip_addr`, `vip_address`,
//!   `secure_vip_address`, `status`, `country_id`, `id` on every target; `port` and
//!   `port_enabled` with a `<port>`, `secure_port` and `secure_port_enabled` with a
//!   `<securePort>`, `datacenterinfo_name` with a `<dataCenterInfo>`.
//! - `..._metadata_<name>` and `..._datacenterinfo_metadata_<name>`: each metadata child, its
//!   name sanitized (`[^a-zA-Z0-9_]` to `_`) and its raw inner XML as the value.

use promsd_actors::{intern, LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};

use super::api::{Applications, Instance};
use crate::discovery::kit::join_host_port;
use crate::discovery::kit::sanitize_label_name;

const PREFIX: &str = "__meta_eureka_app_instance_";

/// The one group of an `/apps` answer.
pub fn group(apps: &Applications) -> TargetGroup {
    let mut targets = Vec::new();
    for app in &apps.applications {
        let name: Str = Str::from(app.name.as_str());
        for instance in &app.instances {
            targets.push(target(&name, instance));
        }
    }
    TargetGroup::new("eureka", targets, LabelSet::new())
}

fn target(app_name: &Str, t: &Instance) -> LabelSet {
    let port = t
        .port
        .map_or_else(|| "80".to_owned(), |p| p.port.to_string());
    let mut labels: Vec<(Name, Str)> = Vec::with_capacity(20);
    // Values most instances share (status, ports, data center, VIPs) are interned: one copy
    // serves every target.
    let mut put = |name: &str, value: &str| labels.push((Name::new(name), Str::from(value)));
    put(ADDRESS_LABEL, &join_host_port(&t.host_name, &port));
    put("instance", &t.instance_id);
    labels.push((Name::new("__meta_eureka_app_name"), app_name.clone()));
    let own = [
        ("hostname", &t.host_name),
        ("homepage_url", &t.home_page_url),
        ("statuspage_url", &t.status_page_url),
        ("healthcheck_url", &t.health_check_url),
        ("ip_addr", &t.ip_addr),
        ("id", &t.instance_id),
    ];
    for (name, value) in own {
        labels.push((
            Name::new(&format!("{PREFIX}{name}")),
            Str::from(value.as_str()),
        ));
    }
    let mut shared = |name: &str, value: &str| {
        labels.push((Name::new(&format!("{PREFIX}{name}")), intern(value)));
    };
    shared("vip_address", &t.vip_address);
    shared("secure_vip_address", &t.secure_vip_address);
    shared("status", &t.status);
    shared("country_id", &t.country_id.to_string());
    if let Some(p) = t.port {
        shared("port", &p.port.to_string());
        shared("port_enabled", if p.enabled { "true" } else { "false" });
    }
    if let Some(p) = t.secure_port {
        shared("secure_port", &p.port.to_string());
        shared(
            "secure_port_enabled",
            if p.enabled { "true" } else { "false" },
        );
    }
    if let Some(info) = &t.data_center_info {
        shared("datacenterinfo_name", &info.name);
        for tag in info.metadata.iter().flatten() {
            let name = sanitize_label_name(&tag.name);
            shared(&format!("datacenterinfo_metadata_{name}"), &tag.content);
        }
    }
    for tag in t.metadata.iter().flatten() {
        let name = sanitize_label_name(&tag.name);
        labels.push((
            Name::new(&format!("{PREFIX}metadata_{name}")),
            Str::from(tag.content.as_str()),
        ));
    }
    LabelSet::from_labels(labels)
}
