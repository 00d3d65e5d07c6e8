//! The targets Prometheus makes of Nomad's service registrations: all in one group with source
//! `Nomad`, one per registration, with `__address__` `<address>:<port>` and
//! `__meta_nomad_address`, `__meta_nomad_dc`, `__meta_nomad_namespace`, `__meta_nomad_node_id`,
//! `__meta_nomad_service`, `__meta_nomad_service_address`, `__meta_nomad_service_id`,
//! `__meta_nomad_service_port`, and `__meta_nomad_tags` (the tags joined by the tag separator,
//! with the separator around them) when there are tags.

use promsd_actors::{LabelSet, Name, Str, ADDRESS_LABEL};

use super::api::ServiceRegistration;
use crate::discovery::kit::join_host_port;

/// The target of one registration.
pub fn target(instance: &ServiceRegistration, tag_separator: &str) -> LabelSet {
    let port = instance.port.to_string();
    let mut labels: Vec<(Name, Str)> = Vec::with_capacity(10);
    let mut put = |name: &str, value: &str| labels.push((Name::new(name), Str::from(value)));
    put(ADDRESS_LABEL, &join_host_port(&instance.address, &port));
    put("__meta_nomad_address", &instance.address);
    put("__meta_nomad_dc", &instance.datacenter);
    put("__meta_nomad_namespace", &instance.namespace);
    put("__meta_nomad_node_id", &instance.node_id);
    put("__meta_nomad_service", &instance.service_name);
    put("__meta_nomad_service_address", &instance.address);
    put("__meta_nomad_service_id", &instance.id);
    put("__meta_nomad_service_port", &port);
    if !instance.tags.is_empty() {
        let tags = format!(
            "{tag_separator}{}{tag_separator}",
            instance.tags.join(tag_separator)
        );
        put("__meta_nomad_tags", &tags);
    }
    LabelSet::from_labels(labels)
}
