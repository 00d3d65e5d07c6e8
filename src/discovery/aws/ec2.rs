//! EC2 (`ec2_sd_configs`, `aws_sd_configs` role `ec2`): instances from DescribeInstances
//! (Query protocol, `NextToken` pages, the configured `filters` as `Filter.N.Name` /
//! `Filter.N.Value.M`), zone IDs from DescribeAvailabilityZones (read once: until it has
//! succeeded, each refresh tries again and `__meta_ec2_availability_zone_id` is empty).
//!
//! One target per instance that has a private IPv4 address or an IPv6 address:
//! `__address__` is `<private ip>:<port>`, else `[<default ipv6>]:<port>`; labels
//! `__meta_ec2_ami`, `_architecture`, `_availability_zone`, `_availability_zone_id`,
//! `_instance_id`, `_instance_lifecycle`, `_instance_state`, `_instance_type`, `_owner_id`,
//! `_platform`, `_primary_subnet_id`, `_private_dns_name`, `_private_ip`, `_public_dns_name`,
//! `_public_ip`, `_region`, `_subnet_id` (`,a,b,`), `_vpc_id`, `_ipv6_addresses`,
//! `_primary_ipv6_addresses` (by device index, empty slots kept), `_default_ipv6_address` and
//! `_tag_<key>`.

use std::collections::HashMap;

use promsd_actors::{LabelSet, TargetGroup, ADDRESS_LABEL};
use serde::Deserialize;

use super::xml::{self, Items};
use super::{group, join_host_port, sanitize, Filter, RefreshFuture, Service, Session};

/// EC2's API version.
pub const VERSION: &str = "2016-11-15";

/// DescribeInstances' answer.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeInstancesResponse {
    #[serde(default)]
    pub reservation_set: Items<Reservation>,
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub next_token: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub instances_set: Items<Instance>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub instance_id: Option<String>,
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub image_id: Option<String>,
    #[serde(default)]
    pub instance_state: Option<InstanceState>,
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub private_dns_name: Option<String>,
    #[serde(rename = "dnsName", default, deserialize_with = "xml::opt_text")]
    pub public_dns_name: Option<String>,
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub placement: Option<Placement>,
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub platform: Option<String>,
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub subnet_id: Option<String>,
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub vpc_id: Option<String>,
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub private_ip_address: Option<String>,
    #[serde(rename = "ipAddress", default, deserialize_with = "xml::opt_text")]
    pub public_ip_address: Option<String>,
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub architecture: Option<String>,
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub instance_lifecycle: Option<String>,
    #[serde(default)]
    pub network_interface_set: Items<NetworkInterface>,
    #[serde(default)]
    pub tag_set: Items<Tag>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct InstanceState {
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub availability_zone: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub attachment: Option<Attachment>,
    #[serde(default)]
    pub ipv6_addresses_set: Items<Ipv6Address>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(default)]
    pub device_index: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ipv6Address {
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub ipv6_address: Option<String>,
    #[serde(default)]
    pub is_primary_ipv6: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Tag {
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub value: Option<String>,
}

/// DescribeAvailabilityZones' answer.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeAvailabilityZonesResponse {
    #[serde(default)]
    pub availability_zone_info: Items<AvailabilityZone>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityZone {
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub zone_name: Option<String>,
    #[serde(default, deserialize_with = "xml::opt_text")]
    pub zone_id: Option<String>,
}

/// Zone name -> zone ID, as Prometheus' `refreshAZIDs` keeps it.
pub fn az_map(answer: &DescribeAvailabilityZonesResponse) -> HashMap<String, String> {
    answer
        .availability_zone_info
        .iter()
        .filter_map(|az| Some((az.zone_name.clone()?, az.zone_id.clone()?)))
        .collect()
}

const SEP: &str = ",";

fn joined(items: &[String]) -> String {
    format!("{SEP}{}{SEP}", items.join(SEP))
}

/// The instance's default IPv6 address, its primary IPv6 addresses by device index, and all
/// its IPv6 addresses (Prometheus' `getInstanceIPv6Addresses`).
fn ipv6_addresses(i: &Instance) -> (Option<String>, Option<Vec<String>>, Option<Vec<String>>) {
    let mut primary: Option<Vec<String>> = None;
    let mut all: Option<Vec<String>> = None;
    if i.vpc_id.is_none() {
        return (None, primary, all);
    }
    for eni in i.network_interface_set.iter() {
        if eni.subnet_id.is_none() {
            continue;
        }
        for addr in eni.ipv6_addresses_set.iter() {
            let address = addr.ipv6_address.clone().unwrap_or_default();
            all.get_or_insert_with(Vec::new).push(address.clone());
            if addr.is_primary_ipv6 == Some(true) {
                let index = eni
                    .attachment
                    .as_ref()
                    .and_then(|a| a.device_index)
                    .unwrap_or(0)
                    .max(0) as usize;
                let primary = primary.get_or_insert_with(Vec::new);
                while primary.len() <= index {
                    primary.push(String::new());
                }
                primary[index] = address;
            }
        }
    }
    let default = primary
        .iter()
        .flatten()
        .chain(all.iter().flatten())
        .find(|a| !a.is_empty())
        .cloned();
    (default, primary, all)
}

/// The targets of one DescribeInstances page (Prometheus' `refresh` loop body).
pub fn targets(
    region: &str,
    port: i64,
    az_ids: Option<&HashMap<String, String>>,
    answer: &DescribeInstancesResponse,
    out: &mut Vec<LabelSet>,
) {
    for r in answer.reservation_set.iter() {
        for inst in r.instances_set.iter() {
            let (default_v6, primary_v6, all_v6) = ipv6_addresses(inst);
            if inst.private_ip_address.is_none() && default_v6.is_none() {
                continue;
            }
            let mut l: Vec<(&str, String)> = Vec::with_capacity(24);
            l.push((
                "__meta_ec2_instance_id",
                inst.instance_id.clone().unwrap_or_default(),
            ));
            l.push(("__meta_ec2_region", region.to_owned()));
            if let Some(owner) = &r.owner_id {
                l.push(("__meta_ec2_owner_id", owner.clone()));
            }
            if let Some(v6) = &default_v6 {
                l.push(("__meta_ec2_default_ipv6_address", v6.clone()));
            }
            match (&inst.private_ip_address, &default_v6) {
                (Some(ip), _) => {
                    l.push(("__meta_ec2_private_ip", ip.clone()));
                    l.push((ADDRESS_LABEL, join_host_port(ip, port)));
                }
                (None, Some(v6)) => l.push((ADDRESS_LABEL, join_host_port(v6, port))),
                (None, None) => unreachable!("skipped above"),
            }
            if let Some(dns) = &inst.private_dns_name {
                l.push(("__meta_ec2_private_dns_name", dns.clone()));
            }
            if let Some(p) = inst.platform.as_ref().filter(|p| !p.is_empty()) {
                l.push(("__meta_ec2_platform", p.clone()));
            }
            if let Some(ip) = &inst.public_ip_address {
                l.push(("__meta_ec2_public_ip", ip.clone()));
                l.push((
                    "__meta_ec2_public_dns_name",
                    inst.public_dns_name.clone().unwrap_or_default(),
                ));
            }
            if let Some(p) = &primary_v6 {
                l.push(("__meta_ec2_primary_ipv6_addresses", joined(p)));
            }
            if let Some(a) = &all_v6 {
                l.push(("__meta_ec2_ipv6_addresses", joined(a)));
            }
            l.push(("__meta_ec2_ami", inst.image_id.clone().unwrap_or_default()));
            let az = inst
                .placement
                .as_ref()
                .and_then(|p| p.availability_zone.clone())
                .unwrap_or_default();
            let az_id = az_ids.and_then(|m| m.get(&az)).cloned().unwrap_or_default();
            l.push(("__meta_ec2_availability_zone", az));
            l.push(("__meta_ec2_availability_zone_id", az_id));
            l.push((
                "__meta_ec2_instance_state",
                inst.instance_state
                    .as_ref()
                    .and_then(|s| s.name.clone())
                    .unwrap_or_default(),
            ));
            l.push((
                "__meta_ec2_instance_type",
                inst.instance_type.clone().unwrap_or_default(),
            ));
            if let Some(lc) = inst.instance_lifecycle.as_ref().filter(|v| !v.is_empty()) {
                l.push(("__meta_ec2_instance_lifecycle", lc.clone()));
            }
            if let Some(arch) = inst.architecture.as_ref().filter(|v| !v.is_empty()) {
                l.push(("__meta_ec2_architecture", arch.clone()));
            }
            if let Some(vpc) = &inst.vpc_id {
                l.push(("__meta_ec2_vpc_id", vpc.clone()));
                l.push((
                    "__meta_ec2_primary_subnet_id",
                    inst.subnet_id.clone().unwrap_or_default(),
                ));
                let mut subnets: Vec<String> = Vec::new();
                for eni in inst.network_interface_set.iter() {
                    if let Some(s) = &eni.subnet_id {
                        if !subnets.contains(s) {
                            subnets.push(s.clone());
                        }
                    }
                }
                l.push(("__meta_ec2_subnet_id", joined(&subnets)));
            }
            let mut tags: Vec<(String, String)> = Vec::new();
            for t in inst.tag_set.iter() {
                if let (Some(k), Some(v)) = (&t.key, &t.value) {
                    tags.push((format!("__meta_ec2_tag_{}", sanitize(k)), v.clone()));
                }
            }
            out.push(LabelSet::from_pairs(
                l.into_iter().map(|(k, v)| (k.to_owned(), v)).chain(tags),
            ));
        }
    }
}

/// The DescribeInstances form parameters of the configured filters.
pub fn filter_params(filters: &[Filter]) -> Vec<(String, String)> {
    let mut params = Vec::new();
    for (i, f) in filters.iter().enumerate() {
        params.push((format!("Filter.{}.Name", i + 1), f.name.clone()));
        for (j, v) in f.values.iter().enumerate() {
            params.push((format!("Filter.{}.Value.{}", i + 1, j + 1), v.clone()));
        }
    }
    params
}

/// The EC2 discoverer's state across refreshes.
pub struct Ec2 {
    client: super::client::ServiceClient,
    az_ids: Option<HashMap<String, String>>,
}

impl Ec2 {
    async fn pass(&mut self, session: &Session) -> Result<Vec<TargetGroup>, String> {
        if self.az_ids.is_none() {
            match self
                .client
                .query("DescribeAvailabilityZones", VERSION, Vec::new())
                .await
            {
                Ok(body) => {
                    let answer: DescribeAvailabilityZonesResponse =
                        xml::decode("DescribeAvailabilityZones", &body)?;
                    self.az_ids = Some(az_map(&answer));
                }
                Err(e) => tracing::debug!(err = %e, "Unable to describe availability zones"),
            }
        }
        let filters = filter_params(&session.settings.filters);
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params: Vec<(&str, String)> = filters
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            if let Some(t) = &token {
                params.push(("NextToken", t.clone()));
            }
            let body = self
                .client
                .query("DescribeInstances", VERSION, params)
                .await
                .map_err(|e| {
                    format!(
                        "could not describe instances: operation error EC2: DescribeInstances, {e}"
                    )
                })?;
            let answer: DescribeInstancesResponse = xml::decode("DescribeInstances", &body)?;
            targets(
                &session.region,
                session.settings.port,
                self.az_ids.as_ref(),
                &answer,
                &mut found,
            );
            match answer.next_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(vec![group(&session.region, found)])
    }
}

impl Service for Ec2 {
    fn new(session: &Session) -> Self {
        Ec2 {
            client: session.service("ec2", "ec2"),
            az_ids: None,
        }
    }

    fn refresh<'a>(&'a mut self, session: &'a Session) -> RefreshFuture<'a> {
        Box::pin(self.pass(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_owner_id_is_a_label() {
        let body = "<DescribeInstancesResponse>\n  <reservationSet>\n    <item>\n      <ownerId></ownerId>\n      <groupSet/>\n      <instancesSet><item><instanceId>i</instanceId><privateIpAddress>1.2.3.4</privateIpAddress></item></instancesSet>\n    </item>\n  </reservationSet>\n</DescribeInstancesResponse>";
        let answer: DescribeInstancesResponse = xml::decode("x", body.as_bytes()).unwrap();
        let mut out = Vec::new();
        targets("r", 80, None, &answer, &mut out);
        assert_eq!(out[0].get("__meta_ec2_owner_id"), Some(""));
    }
}
