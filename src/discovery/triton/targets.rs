//! The targets Prometheus makes of Triton's answers: one group, its source the endpoint URL
//! asked, one target per container (role `container`) or compute node (role `cn`):
//! - `__address__`: `<vm_uuid>.<dns_suffix>:<port>` (containers) or
//!   `<server_uuid>.<dns_suffix>:<port>` (compute nodes);
//! - containers: `__meta_triton_machine_id` (vm_uuid), `_machine_alias`, `_machine_brand`,
//!   `_machine_image`, `_server_id`, and `__meta_triton_groups` (`,a,b,`) when in groups;
//! - compute nodes: `__meta_triton_machine_id` (server_uuid), `_machine_alias` (hostname).

use promsd_actors::{LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};

use super::api::{ComputeNodeDiscoveryResponse, DiscoveryResponse};

fn label_set(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_labels(
        pairs
            .iter()
            .map(|(n, v)| (Name::new(n), Str::from(*v)))
            .collect(),
    )
}

/// The group of a `container` answer.
pub fn containers(
    source: &str,
    dr: &DiscoveryResponse,
    dns_suffix: &str,
    port: i64,
) -> TargetGroup {
    let targets = dr
        .containers
        .iter()
        .map(|c| {
            let address = format!("{}.{dns_suffix}:{port}", c.vm_uuid);
            let groups = format!(",{},", c.groups.join(","));
            let mut pairs = vec![
                (ADDRESS_LABEL, address.as_str()),
                ("__meta_triton_machine_id", c.vm_uuid.as_str()),
                ("__meta_triton_machine_alias", c.vm_alias.as_str()),
                ("__meta_triton_machine_brand", c.vm_brand.as_str()),
                ("__meta_triton_machine_image", c.vm_image_uuid.as_str()),
                ("__meta_triton_server_id", c.server_uuid.as_str()),
            ];
            if !c.groups.is_empty() {
                pairs.push(("__meta_triton_groups", groups.as_str()));
            }
            label_set(&pairs)
        })
        .collect();
    TargetGroup::new(source, targets, LabelSet::new())
}

/// The group of a `cn` answer.
pub fn compute_nodes(
    source: &str,
    dr: &ComputeNodeDiscoveryResponse,
    dns_suffix: &str,
    port: i64,
) -> TargetGroup {
    let targets = dr
        .cns
        .iter()
        .map(|cn| {
            let address = format!("{}.{dns_suffix}:{port}", cn.server_uuid);
            label_set(&[
                (ADDRESS_LABEL, address.as_str()),
                ("__meta_triton_machine_id", cn.server_uuid.as_str()),
                ("__meta_triton_machine_alias", cn.server_hostname.as_str()),
            ])
        })
        .collect();
    TargetGroup::new(source, targets, LabelSet::new())
}
