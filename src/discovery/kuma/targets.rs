//! Monitoring assignments to targets: Prometheus' `kumaMadsV1ResourceParser` and
//! `convertKumaV1MonitoringAssignment`. Every target of every assignment, in the answer's
//! order, goes into one group whose source is `kuma`.

use promsd_actors::{LabelSet, Name, Str, TargetGroup};

use super::api::{
    DiscoveryResponse, MonitoringAssignment, Resource, MONITORING_ASSIGNMENT_TYPE_URL,
};
use crate::discovery::kit::sanitize_label_name;

/// The source of Kuma's one group.
pub const SOURCE: &str = "kuma";

pub const MESH_LABEL: &str = "__meta_kuma_mesh";
pub const SERVICE_LABEL: &str = "__meta_kuma_service";
pub const DATAPLANE_LABEL: &str = "__meta_kuma_dataplane";
pub const USER_LABEL_PREFIX: &str = "__meta_kuma_label_";

/// `convertKumaUserLabels`: `__meta_kuma_label_<sanitized key>`. Keys that sanitize alike (Go's
/// map order decides there) keep the one sorting last.
fn user_labels(labels: &[(String, String)], out: &mut Vec<(Name, Str)>) {
    let mut sorted: Vec<&(String, String)> = labels.iter().collect();
    sorted.sort();
    for (key, value) in sorted {
        out.push((
            Name::new(&format!("{USER_LABEL_PREFIX}{}", sanitize_label_name(key))),
            Str::from(value.as_str()),
        ));
    }
}

/// The targets of one assignment (`convertKumaV1MonitoringAssignment`): the target's own user
/// labels, then the assignment's (which win), mesh and service, then the target's dataplane,
/// `__address__`, `instance`, `__scheme__` and `__metrics_path__` (empty ones included).
pub fn assignment_targets(assignment: &MonitoringAssignment) -> Vec<LabelSet> {
    let mut common = Vec::with_capacity(assignment.labels.len() + 2);
    user_labels(&assignment.labels, &mut common);
    common.push((Name::new(MESH_LABEL), Str::from(assignment.mesh.as_str())));
    common.push((
        Name::new(SERVICE_LABEL),
        Str::from(assignment.service.as_str()),
    ));
    assignment
        .targets
        .iter()
        .map(|target| {
            let mut pairs = Vec::with_capacity(target.labels.len() + common.len() + 5);
            user_labels(&target.labels, &mut pairs);
            pairs.extend(common.iter().cloned());
            let name = Str::from(target.name.as_str());
            pairs.push((Name::new(DATAPLANE_LABEL), name.clone()));
            pairs.push((
                Name::new(promsd_actors::ADDRESS_LABEL),
                Str::from(target.address.as_str()),
            ));
            pairs.push((Name::new("instance"), name));
            pairs.push((Name::new("__scheme__"), Str::from(target.scheme.as_str())));
            pairs.push((
                Name::new("__metrics_path__"),
                Str::from(target.metrics_path.as_str()),
            ));
            LabelSet::from_labels(pairs)
        })
        .collect()
}

/// `kumaMadsV1ResourceParser`: the response's type must be MADS v1's, and every resource a
/// monitoring assignment; one that is not rejects the whole answer.
pub fn parse_resources(response: &DiscoveryResponse) -> Result<Vec<LabelSet>, String> {
    if response.type_url != MONITORING_ASSIGNMENT_TYPE_URL {
        return Err(format!(
            "received invalid typeURL for Kuma MADS v1 Resource: {}",
            response.type_url
        ));
    }
    let mut targets = Vec::new();
    for resource in &response.resources {
        match resource {
            Resource::Assignment(assignment) => targets.extend(assignment_targets(assignment)),
            Resource::Other(name) => {
                return Err(format!(
                    "mismatched message type: got {name:?}, want \"kuma.observability.v1.MonitoringAssignment\""
                ))
            }
        }
    }
    Ok(targets)
}

/// The one group of an answer (without targets when it has none: every target is gone).
pub fn group(targets: Vec<LabelSet>) -> TargetGroup {
    TargetGroup::new(SOURCE, targets, LabelSet::new())
}
