//! Lightsail (`lightsail_sd_configs`, `aws_sd_configs` role `lightsail`): instances from one
//! GetInstances call (JSON 1.1, `X-Amz-Target: Lightsail_20161128.GetInstances`, body `{}`;
//! Prometheus reads the first page only).
//!
//! One target per instance with a private IP: `__address__` `<private ip>:<port>`, labels
//! `__meta_lightsail_availability_zone`, `_blueprint_id`, `_bundle_id`, `_instance_name`,
//! `_instance_state`, `_instance_support_code`, `_ipv6_addresses` (`,a,b,`), `_private_ip`,
//! `_public_ip`, `_region`, `_tag_<key>`; each only when the API gave it.

use promsd_actors::{LabelSet, TargetGroup, ADDRESS_LABEL};
use serde::Deserialize;

use super::{group, join_host_port, sanitize, RefreshFuture, Service, Session};

pub const TARGET: &str = "Lightsail_20161128.GetInstances";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetInstancesResponse {
    #[serde(default)]
    pub instances: Option<Vec<Instance>>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub support_code: Option<String>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub blueprint_id: Option<String>,
    #[serde(default)]
    pub bundle_id: Option<String>,
    #[serde(default)]
    pub private_ip_address: Option<String>,
    #[serde(default)]
    pub public_ip_address: Option<String>,
    #[serde(default)]
    pub ipv6_addresses: Option<Vec<String>>,
    #[serde(default)]
    pub state: Option<State>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(default)]
    pub availability_zone: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct State {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Tag {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

/// The targets of a GetInstances answer.
pub fn targets(region: &str, port: i64, answer: &GetInstancesResponse) -> Vec<LabelSet> {
    let mut out = Vec::new();
    for inst in answer.instances.iter().flatten() {
        let Some(ip) = &inst.private_ip_address else {
            continue;
        };
        let mut l: Vec<(String, String)> = vec![
            ("__meta_lightsail_private_ip".into(), ip.clone()),
            ("__meta_lightsail_region".into(), region.to_owned()),
        ];
        let mut put = |name: &str, value: &Option<String>| {
            if let Some(v) = value {
                l.push((format!("__meta_lightsail_{name}"), v.clone()));
            }
        };
        put(
            "availability_zone",
            &inst
                .location
                .as_ref()
                .and_then(|l| l.availability_zone.clone()),
        );
        put("blueprint_id", &inst.blueprint_id);
        put("bundle_id", &inst.bundle_id);
        put("instance_name", &inst.name);
        put(
            "instance_state",
            &inst.state.as_ref().and_then(|s| s.name.clone()),
        );
        put("instance_support_code", &inst.support_code);
        put("public_ip", &inst.public_ip_address);
        l.push((ADDRESS_LABEL.into(), join_host_port(ip, port)));
        if let Some(v6) = inst.ipv6_addresses.as_ref().filter(|a| !a.is_empty()) {
            l.push((
                "__meta_lightsail_ipv6_addresses".into(),
                format!(",{},", v6.join(",")),
            ));
        }
        for t in inst.tags.iter().flatten() {
            if let (Some(k), Some(v)) = (&t.key, &t.value) {
                l.push((format!("__meta_lightsail_tag_{}", sanitize(k)), v.clone()));
            }
        }
        out.push(LabelSet::from_pairs(l));
    }
    out
}

pub struct Lightsail {
    client: super::client::ServiceClient,
}

impl Lightsail {
    async fn pass(&mut self, session: &Session) -> Result<Vec<TargetGroup>, String> {
        let body = self
            .client
            .json(TARGET, &serde_json::json!({}))
            .await
            .map_err(|e| {
                format!("could not get instances: operation error Lightsail: GetInstances, {e}")
            })?;
        let answer: GetInstancesResponse = serde_json::from_slice(&body)
            .map_err(|e| format!("could not get instances: decoding the answer: {e}"))?;
        Ok(vec![group(
            &session.region,
            targets(&session.region, session.settings.port, &answer),
        )])
    }
}

impl Service for Lightsail {
    fn new(session: &Session) -> Self {
        Lightsail {
            client: session.service("lightsail", "lightsail"),
        }
    }

    fn refresh<'a>(&'a mut self, session: &'a Session) -> RefreshFuture<'a> {
        Box::pin(self.pass(session))
    }
}
