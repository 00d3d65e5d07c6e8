//! GCE instances as the targets Prometheus' `discovery/gce` makes of them.
//!
//! An instance without a network interface is no target. Otherwise its labels are:
//! - `__address__`: the first interface's `networkIP` and `port`, written `IP:port` as
//!   `fmt.Sprintf("%s:%d")` does (an IPv6 address is not bracketed).
//! - `__meta_gce_project` (the config's), `__meta_gce_zone` (the instance's zone URL),
//!   `__meta_gce_instance_id`, `__meta_gce_instance_name`, `__meta_gce_instance_status`,
//!   `__meta_gce_machine_type` (its URL).
//! - `__meta_gce_network`, `__meta_gce_subnetwork`, `__meta_gce_private_ip`: of the first
//!   interface; `__meta_gce_interface_ipv4_<name>`: each interface's `networkIP`.
//! - `__meta_gce_tags`: the network tags joined by the tag separator, with the separator
//!   around them (`,a,b,`), when there is a tag.
//! - `__meta_gce_metadata_<key>`: each metadata item that has a value.
//! - `__meta_gce_label_<key>`: each label.
//! - `__meta_gce_public_ip`: the first interface's first access config's `natIP`, when its
//!   type is `ONE_TO_ONE_NAT`.
//!
//! Names built from keys have every character outside `[a-zA-Z0-9_]` replaced by `_`.

use std::sync::LazyLock;

use promsd_actors::{intern, LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};

use super::api;
pub use crate::discovery::kit::sanitize_label_name;

struct Names {
    project: Name,
    zone: Name,
    network: Name,
    subnetwork: Name,
    public_ip: Name,
    private_ip: Name,
    instance_id: Name,
    instance_name: Name,
    instance_status: Name,
    tags: Name,
    machine_type: Name,
    address: Name,
}

static NAMES: LazyLock<Names> = LazyLock::new(|| Names {
    project: Name::new("__meta_gce_project"),
    zone: Name::new("__meta_gce_zone"),
    network: Name::new("__meta_gce_network"),
    subnetwork: Name::new("__meta_gce_subnetwork"),
    public_ip: Name::new("__meta_gce_public_ip"),
    private_ip: Name::new("__meta_gce_private_ip"),
    instance_id: Name::new("__meta_gce_instance_id"),
    instance_name: Name::new("__meta_gce_instance_name"),
    instance_status: Name::new("__meta_gce_instance_status"),
    tags: Name::new("__meta_gce_tags"),
    machine_type: Name::new("__meta_gce_machine_type"),
    address: Name::new(ADDRESS_LABEL),
});

/// What every target of one config shares.
#[derive(Clone, Debug)]
pub struct Context {
    pub project: String,
    pub zone: String,
    pub port: i64,
    pub tag_separator: String,
}

impl Context {
    /// The group's source, `GCE_<project>_<zone>`.
    pub fn source(&self) -> String {
        format!("GCE_{}_{}", self.project, self.zone)
    }
}

/// The labels of one instance, `None` for an instance without a network interface.
pub fn instance(ctx: &Context, inst: &api::Instance) -> Option<LabelSet> {
    let primary = inst.network_interfaces.first()?;
    let n = &*NAMES;
    let default_iface = api::NetworkInterface::default();
    let primary = primary.as_ref().unwrap_or(&default_iface);
    let mut labels: Vec<(Name, Str)> = vec![
        (n.project.clone(), intern(&ctx.project)),
        (n.zone.clone(), intern(&inst.zone)),
        (n.instance_id.clone(), inst.id.to_string().into()),
        (n.instance_name.clone(), inst.name.as_str().into()),
        (n.instance_status.clone(), intern(&inst.status)),
        (n.machine_type.clone(), intern(&inst.machine_type)),
        (n.network.clone(), intern(&primary.network)),
        (n.subnetwork.clone(), intern(&primary.subnetwork)),
        (n.private_ip.clone(), primary.network_ip.as_str().into()),
        (
            n.address.clone(),
            format!("{}:{}", primary.network_ip, ctx.port).into(),
        ),
    ];
    for iface in &inst.network_interfaces {
        let iface = iface.as_ref().unwrap_or(&default_iface);
        let name = format!(
            "__meta_gce_interface_ipv4_{}",
            sanitize_label_name(&iface.name)
        );
        labels.push((Name::new(&name), iface.network_ip.as_str().into()));
    }
    if let Some(tags) = inst.tags.as_ref().filter(|t| !t.items.is_empty()) {
        let sep = &ctx.tag_separator;
        let joined = format!("{sep}{}{sep}", tags.items.join(sep));
        labels.push((n.tags.clone(), joined.into()));
    }
    if let Some(metadata) = &inst.metadata {
        for item in metadata.items.iter().flatten() {
            if let Some(value) = &item.value {
                let name = format!("__meta_gce_metadata_{}", sanitize_label_name(&item.key));
                labels.push((Name::new(&name), value.as_str().into()));
            }
        }
    }
    for (key, value) in &inst.labels {
        let name = format!("__meta_gce_label_{}", sanitize_label_name(key));
        labels.push((Name::new(&name), value.as_str().into()));
    }
    if let Some(Some(ac)) = primary.access_configs.first() {
        if ac.kind == "ONE_TO_ONE_NAT" {
            labels.push((n.public_ip.clone(), ac.nat_ip.as_str().into()));
        }
    }
    Some(LabelSet::from_labels(labels))
}

/// The one group of a refresh.
pub fn group(ctx: &Context, instances: &[api::Instance]) -> TargetGroup {
    let targets = instances
        .iter()
        .filter_map(|inst| instance(ctx, inst))
        .collect();
    TargetGroup::new(ctx.source(), targets, LabelSet::new())
}
