//! The targets Prometheus makes of the server list: one group, source `stackit`; a server
//! without `nics` or without any IP is skipped; `__address__` is the first non-empty public
//! IP, else the first private IPv4, with the port; labels `__meta_stackit_project`, `id`,
//! `name`, `availability_zone`, `status`, `power_status`, `type` (machine type),
//! `private_ipv4_<sanitized network name>`, `public_ipv4` (when there is one), and for every
//! string-valued server label `label_<sanitized key>` and `labelpresent_<sanitized key>`
//! (`true`).

use crate::discovery::kit::join_host_port;
use crate::discovery::kit::sanitize_label_name as sanitize;
use promsd_actors::{intern, LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};
use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ServerList {
    #[serde(default)]
    pub items: Option<Vec<Server>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Server {
    pub availability_zone: Option<String>,
    pub id: Option<String>,
    pub labels: Option<serde_json::Map<String, serde_json::Value>>,
    pub machine_type: Option<String>,
    pub name: Option<String>,
    pub nics: Option<Vec<Nic>>,
    pub power_status: Option<String>,
    pub status: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Nic {
    pub network_name: Option<String>,
    pub ipv4: Option<String>,
    pub public_ip: Option<String>,
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

pub fn group(servers: &[Server], project: &str, port: u64) -> TargetGroup {
    let n = |k: &str| Name::new(&format!("__meta_stackit_{k}"));
    let mut targets = Vec::new();
    for server in servers {
        let Some(nics) = &server.nics else {
            continue;
        };
        let mut labels: Vec<(Name, Str)> = vec![
            (n("project"), intern(project)),
            (n("id"), s(&server.id).into()),
            (n("name"), s(&server.name).into()),
            (n("availability_zone"), intern(s(&server.availability_zone))),
            (n("status"), intern(s(&server.status))),
            (n("power_status"), intern(s(&server.power_status))),
            (n("type"), intern(s(&server.machine_type))),
        ];
        let (mut address, mut public) = (String::new(), String::new());
        for nic in nics {
            if let Some(ip) = nic.public_ip.as_deref().filter(|ip| !ip.is_empty()) {
                if public.is_empty() {
                    public = ip.to_owned();
                    address = ip.to_owned();
                }
            }
            if let Some(ip) = nic.ipv4.as_deref().filter(|ip| !ip.is_empty()) {
                let name = n(&format!("private_ipv4_{}", sanitize(s(&nic.network_name))));
                labels.retain(|(k, _)| *k != name);
                labels.push((name, ip.into()));
                if address.is_empty() {
                    address = ip.to_owned();
                }
            }
        }
        if address.is_empty() {
            continue;
        }
        if !public.is_empty() {
            labels.push((n("public_ipv4"), public.into()));
        }
        labels.push((
            Name::new(ADDRESS_LABEL),
            join_host_port(&address, port).into(),
        ));
        for (key, value) in server.labels.iter().flatten() {
            if let Some(v) = value.as_str() {
                let key = sanitize(key);
                let present = n(&format!("labelpresent_{key}"));
                let label = n(&format!("label_{key}"));
                labels.retain(|(k, _)| *k != present && *k != label);
                labels.push((present, intern("true")));
                labels.push((label, v.into()));
            }
        }
        targets.push(LabelSet::from_labels(labels));
    }
    TargetGroup::new("stackit", targets, LabelSet::new())
}
