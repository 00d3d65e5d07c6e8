//! The targets Prometheus makes of `ReadVms` (`vmsToLabelSets`): one per VM with a private
//! or else a public IP, at `<ip>:<port>`, with `__meta_outscale_vm_instance_id`, `region`
//! (the configured one), `state`, and when present `subregion`, `private_ip`, `public_ip`,
//! and `tag_<sanitized key>` for every tag whose key and value are both non-empty.

use crate::discovery::kit::join_host_port;
use promsd_actors::{intern, LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};
use serde::Deserialize;

/// `osc.Vm`, the fields Prometheus reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Vm {
    pub vm_id: Option<String>,
    pub state: Option<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub placement: Option<Placement>,
    pub tags: Option<Vec<Tag>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Placement {
    pub subregion_name: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// `ReadVmsResponse`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReadVms {
    pub vms: Option<Vec<Vm>>,
    pub next_page_token: Option<String>,
}

pub fn vm_labels(vms: &[Vm], region: &str, port: i64) -> Vec<LabelSet> {
    let n = |k: &str| Name::new(&format!("__meta_outscale_vm_{k}"));
    let mut out = Vec::new();
    for vm in vms {
        let private = vm.private_ip.as_deref().filter(|s| !s.is_empty());
        let public = vm.public_ip.as_deref().filter(|s| !s.is_empty());
        let Some(ip) = private.or(public) else {
            continue;
        };
        let mut labels: Vec<(Name, Str)> = vec![
            (Name::new(ADDRESS_LABEL), join_host_port(ip, port).into()),
            (n("instance_id"), vm.vm_id.as_deref().unwrap_or("").into()),
            (n("region"), intern(region)),
            (n("state"), intern(vm.state.as_deref().unwrap_or(""))),
        ];
        if let Some(s) = vm
            .placement
            .as_ref()
            .and_then(|p| p.subregion_name.as_deref())
        {
            labels.push((n("subregion"), intern(s)));
        }
        if let Some(ip) = &vm.private_ip {
            labels.push((n("private_ip"), ip.as_str().into()));
        }
        if let Some(ip) = &vm.public_ip {
            labels.push((n("public_ip"), ip.as_str().into()));
        }
        for t in vm.tags.iter().flatten() {
            if t.key.is_empty() || t.value.is_empty() {
                continue;
            }
            let name = crate::discovery::aws::sanitize(&t.key);
            labels.push((n(&format!("tag_{name}")), intern(&t.value)));
        }
        out.push(LabelSet::from_labels(labels));
    }
    out
}

pub fn group(vms: &[Vm], region: &str, port: i64) -> TargetGroup {
    TargetGroup::new(
        region.to_owned(),
        vm_labels(vms, region, port),
        LabelSet::new(),
    )
}
