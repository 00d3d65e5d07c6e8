//! The targets Prometheus makes of Vultr's instance list: one group, source `Vultr`, one
//! target per instance at `<main IP>:<port>`, with `__meta_vultr_instance_id`, `label`, `os`,
//! `os_id`, `region`, `plan`, `main_ip`, `main_ipv6`, `internal_ip`, `hostname`,
//! `server_status`, `vcpu_count`, `ram_mb`, `disk_gb`, `allowed_bandwidth_gb`, and
//! `features` / `tags` joined by `,` with a `,` around them (`,a,b,`), only when there are
//! any.

use promsd_actors::{intern, LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};

use super::api::Instance;
use crate::discovery::kit::join_host_port;

pub const SOURCE: &str = "Vultr";

fn surrounded(items: &[String]) -> String {
    format!(",{},", items.join(","))
}

pub fn group(instances: &[Instance], port: u64) -> TargetGroup {
    let name = |s: &str| Name::new(&format!("__meta_vultr_instance_{s}"));
    let address = Name::new(ADDRESS_LABEL);
    let targets = instances
        .iter()
        .map(|i| {
            let mut labels: Vec<(Name, Str)> = vec![
                (address.clone(), join_host_port(&i.main_ip, port).into()),
                (name("id"), i.id.as_str().into()),
                (name("label"), i.label.as_str().into()),
                (name("os"), intern(&i.os)),
                (name("os_id"), intern(&i.os_id.to_string())),
                (name("region"), intern(&i.region)),
                (name("plan"), intern(&i.plan)),
                (name("vcpu_count"), intern(&i.vcpu_count.to_string())),
                (name("ram_mb"), intern(&i.ram.to_string())),
                (
                    name("allowed_bandwidth_gb"),
                    intern(&i.allowed_bandwidth.to_string()),
                ),
                (name("disk_gb"), intern(&i.disk.to_string())),
                (name("main_ip"), i.main_ip.as_str().into()),
                (name("main_ipv6"), i.v6_main_ip.as_str().into()),
                (name("internal_ip"), i.internal_ip.as_str().into()),
                (name("hostname"), i.hostname.as_str().into()),
                (name("server_status"), intern(&i.server_status)),
            ];
            if !i.features.is_empty() {
                labels.push((name("features"), intern(&surrounded(&i.features))));
            }
            if !i.tags.is_empty() {
                labels.push((name("tags"), surrounded(&i.tags).into()));
            }
            LabelSet::from_labels(labels)
        })
        .collect();
    TargetGroup::new(SOURCE, targets, LabelSet::new())
}
