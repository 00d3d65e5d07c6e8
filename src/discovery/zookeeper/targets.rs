//! Members to targets: the labels Prometheus' `parseServersetMember` and `parseNerveMember`
//! build, one target per member znode, in a group whose source is the znode's path.

use promsd_actors::{LabelSet, Name, Str, TargetGroup};

use super::api::{self, Endpoint};
use crate::discovery::kit::join_host_port;
pub use crate::discovery::kit::sanitize_label_name;

pub const SERVERSET_PATH: &str = "__meta_serverset_path";
pub const SERVERSET_ENDPOINT_HOST: &str = "__meta_serverset_endpoint_host";
pub const SERVERSET_ENDPOINT_PORT: &str = "__meta_serverset_endpoint_port";
pub const SERVERSET_STATUS: &str = "__meta_serverset_status";
pub const SERVERSET_SHARD: &str = "__meta_serverset_shard";
pub const NERVE_PATH: &str = "__meta_nerve_path";
pub const NERVE_ENDPOINT_HOST: &str = "__meta_nerve_endpoint_host";
pub const NERVE_ENDPOINT_PORT: &str = "__meta_nerve_endpoint_port";
pub const NERVE_ENDPOINT_NAME: &str = "__meta_nerve_endpoint_name";

/// Which member format a config reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavor {
    Serverset,
    Nerve,
}

impl Flavor {
    /// The target of the member stored at `path`, or why its data is not a member.
    pub fn target(self, data: &[u8], path: &str) -> Result<LabelSet, String> {
        match self {
            Flavor::Serverset => api::parse_serverset(data)
                .map(|m| serverset_labels(&m, path))
                .map_err(|e| format!("error unmarshaling serverset member {path:?}: {e}")),
            Flavor::Nerve => api::parse_nerve(data)
                .map(|m| nerve_labels(&m, path))
                .map_err(|e| format!("error unmarshaling nerve member {path:?}: {e}")),
        }
    }

    /// The group of the member at `path`: one target, or a removal when the data is not a
    /// member (the error is returned beside it, for the log).
    pub fn group(self, data: &[u8], path: &Str) -> (TargetGroup, Option<String>) {
        match self.target(data, path) {
            Ok(target) => (
                TargetGroup::new(path.clone(), vec![target], LabelSet::new()),
                None,
            ),
            Err(e) => (TargetGroup::removal(path.clone()), Some(e)),
        }
    }
}

fn pair(name: &str, value: impl Into<Str>) -> (Name, Str) {
    (Name::new(name), value.into())
}

/// `parseServersetMember`'s labels. Additional endpoints go by their sanitized name; two
/// names that sanitize alike (Go's map order decides there) keep the one sorting last.
pub fn serverset_labels(member: &api::ServersetMember, path: &str) -> LabelSet {
    let Endpoint { host, port } = &member.service_endpoint;
    let mut pairs = vec![
        pair(SERVERSET_PATH, path),
        pair(promsd_actors::ADDRESS_LABEL, join_host_port(host, *port)),
        pair(SERVERSET_ENDPOINT_HOST, host.as_str()),
        pair(SERVERSET_ENDPOINT_PORT, port.to_string()),
        pair(SERVERSET_STATUS, member.status.as_str()),
        pair(SERVERSET_SHARD, member.shard.to_string()),
    ];
    for (name, endpoint) in member.additional_endpoints.iter().flatten() {
        let clean = sanitize_label_name(name);
        pairs.push(pair(
            &format!("{SERVERSET_ENDPOINT_HOST}_{clean}"),
            endpoint.host.as_str(),
        ));
        pairs.push(pair(
            &format!("{SERVERSET_ENDPOINT_PORT}_{clean}"),
            endpoint.port.to_string(),
        ));
    }
    LabelSet::from_labels(pairs)
}

/// `parseNerveMember`'s labels.
pub fn nerve_labels(member: &api::NerveMember, path: &str) -> LabelSet {
    LabelSet::from_labels(vec![
        pair(NERVE_PATH, path),
        pair(
            promsd_actors::ADDRESS_LABEL,
            join_host_port(&member.host, member.port),
        ),
        pair(NERVE_ENDPOINT_HOST, member.host.as_str()),
        pair(NERVE_ENDPOINT_PORT, member.port.to_string()),
        pair(NERVE_ENDPOINT_NAME, member.name.as_str()),
    ])
}
