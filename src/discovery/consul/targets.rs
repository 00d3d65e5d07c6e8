//! What Consul's health endpoint answers, and the targets Prometheus makes of it.
//!
//! Each instance (`/v1/health/service/<name>` entry) is one target with these labels:
//! - `__address__`: `<service address>:<service port>`, or `<node address>:<service port>` when
//!   the service has no address of its own; an address holding `:` is bracketed (Go's
//!   `net.JoinHostPort`), so `[2001:db8::1]:80`.
//! - `__meta_consul_address` (node address), `__meta_consul_node` (node name),
//!   `__meta_consul_service_address`, `__meta_consul_service_port`, `__meta_consul_service_id`,
//!   `__meta_consul_namespace`, `__meta_consul_partition` (empty outside Consul Enterprise).
//! - `__meta_consul_tags`: the tags joined by the tag separator, with the separator around them
//!   (`,a,b,`; `,,` without tags), so that relabel regexes need not care about positions.
//! - `__meta_consul_health`: the aggregated status of the instance's checks (Consul's
//!   `HealthChecks.AggregatedStatus`): `maintenance` > `critical` > `warning` > `passing`;
//!   `passing` without checks; empty if a check has another status.
//! - `__meta_consul_metadata_<key>` (node metadata), `__meta_consul_service_metadata_<key>`
//!   (service metadata), `__meta_consul_tagged_address_<key>` (node tagged addresses), each key
//!   with every character outside `[a-zA-Z0-9_]` replaced by `_`. Where two keys become the
//!   same label, the last key in byte order wins (Prometheus picks one at random).
//!
//! The group carries `__meta_consul_service` and `__meta_consul_dc`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

pub use crate::discovery::kit::join_host_port;
pub use crate::discovery::kit::sanitize_label_name;
use promsd_actors::{LabelSet, Name, Str, TargetGroup, ADDRESS_LABEL};
use serde::{Deserialize, Deserializer};

/// A JSON value that may be `null` (Go decodes it as the zero value).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One entry of `/v1/health/service/<name>`: an instance, its node and its checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ServiceEntry {
    #[serde(rename = "Node", default, deserialize_with = "nullable")]
    pub node: Node,
    #[serde(rename = "Service", default, deserialize_with = "nullable")]
    pub service: AgentService,
    #[serde(rename = "Checks", default, deserialize_with = "nullable")]
    pub checks: Vec<HealthCheck>,
}

/// The node part of a [`ServiceEntry`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Node {
    #[serde(rename = "Node", default, deserialize_with = "nullable")]
    pub node: String,
    #[serde(rename = "Address", default, deserialize_with = "nullable")]
    pub address: String,
    #[serde(rename = "TaggedAddresses", default, deserialize_with = "nullable")]
    pub tagged_addresses: BTreeMap<String, String>,
    #[serde(rename = "Meta", default, deserialize_with = "nullable")]
    pub meta: BTreeMap<String, String>,
}

/// The service part of a [`ServiceEntry`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AgentService {
    #[serde(rename = "ID", default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(rename = "Tags", default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(rename = "Address", default, deserialize_with = "nullable")]
    pub address: String,
    #[serde(rename = "Meta", default, deserialize_with = "nullable")]
    pub meta: BTreeMap<String, String>,
    #[serde(rename = "Port", default, deserialize_with = "nullable")]
    pub port: i64,
    #[serde(rename = "Namespace", default, deserialize_with = "nullable")]
    pub namespace: String,
    #[serde(rename = "Partition", default, deserialize_with = "nullable")]
    pub partition: String,
}

/// One check of a [`ServiceEntry`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct HealthCheck {
    #[serde(rename = "CheckID", default, deserialize_with = "nullable")]
    pub check_id: String,
    #[serde(rename = "Status", default, deserialize_with = "nullable")]
    pub status: String,
}

/// Consul's `HealthChecks.AggregatedStatus`.
pub fn aggregated_status(checks: &[HealthCheck]) -> &'static str {
    // Consul tracks `passing` too, but without worse news the answer is `passing` either way.
    let (mut warning, mut critical, mut maintenance) = (false, false, false);
    for check in checks {
        if check.check_id == "_node_maintenance"
            || check.check_id.starts_with("_service_maintenance:")
        {
            maintenance = true;
            continue;
        }
        match check.status.as_str() {
            "passing" => {}
            "warning" => warning = true,
            "critical" => critical = true,
            _ => return "",
        }
    }
    if maintenance {
        "maintenance"
    } else if critical {
        "critical"
    } else if warning {
        "warning"
    } else {
        "passing"
    }
}

/// Label names shared by every target.
struct Names {
    address: Name,
    consul_address: Name,
    node: Name,
    namespace: Name,
    partition: Name,
    tags: Name,
    service_address: Name,
    service_port: Name,
    service_id: Name,
    health: Name,
    service: Name,
    dc: Name,
}

static NAMES: LazyLock<Names> = LazyLock::new(|| Names {
    address: Name::new(ADDRESS_LABEL),
    consul_address: Name::new("__meta_consul_address"),
    node: Name::new("__meta_consul_node"),
    namespace: Name::new("__meta_consul_namespace"),
    partition: Name::new("__meta_consul_partition"),
    tags: Name::new("__meta_consul_tags"),
    service_address: Name::new("__meta_consul_service_address"),
    service_port: Name::new("__meta_consul_service_port"),
    service_id: Name::new("__meta_consul_service_id"),
    health: Name::new("__meta_consul_health"),
    service: Name::new("__meta_consul_service"),
    dc: Name::new("__meta_consul_dc"),
});

const METADATA_PREFIX: &str = "__meta_consul_metadata_";
const SERVICE_METADATA_PREFIX: &str = "__meta_consul_service_metadata_";
const TAGGED_ADDRESS_PREFIX: &str = "__meta_consul_tagged_address_";

/// The labels of a service's group: `__meta_consul_service` and `__meta_consul_dc`.
pub fn group_labels(service: &str, datacenter: &str) -> LabelSet {
    let n = &*NAMES;
    LabelSet::from_labels(vec![
        (n.service.clone(), Str::from(service)),
        (n.dc.clone(), Str::from(datacenter)),
    ])
}

/// The target of one instance.
pub fn target(entry: &ServiceEntry, tag_separator: &str) -> LabelSet {
    let n = &*NAMES;
    let service = &entry.service;
    let node = &entry.node;
    let port = service.port.to_string();
    let host = if service.address.is_empty() {
        &node.address
    } else {
        &service.address
    };
    let tags = format!(
        "{tag_separator}{}{tag_separator}",
        service.tags.join(tag_separator)
    );
    let mut pairs: Vec<(Name, Str)> =
        Vec::with_capacity(10 + node.meta.len() + service.meta.len() + node.tagged_addresses.len());
    pairs.extend([
        (n.address.clone(), Str::from(join_host_port(host, &port))),
        (n.consul_address.clone(), Str::from(node.address.as_str())),
        (n.node.clone(), Str::from(node.node.as_str())),
        (n.namespace.clone(), Str::from(service.namespace.as_str())),
        (n.partition.clone(), Str::from(service.partition.as_str())),
        (n.tags.clone(), Str::from(tags)),
        (
            n.service_address.clone(),
            Str::from(service.address.as_str()),
        ),
        (n.service_port.clone(), Str::from(port)),
        (n.service_id.clone(), Str::from(service.id.as_str())),
        (
            n.health.clone(),
            Str::from(aggregated_status(&entry.checks)),
        ),
    ]);
    for (prefix, map) in [
        (METADATA_PREFIX, &node.meta),
        (SERVICE_METADATA_PREFIX, &service.meta),
        (TAGGED_ADDRESS_PREFIX, &node.tagged_addresses),
    ] {
        for (key, value) in map {
            let name = format!("{prefix}{}", sanitize_label_name(key));
            pairs.push((Name::new(&name), Str::from(value.as_str())));
        }
    }
    LabelSet::from_labels(pairs)
}

/// The group of one service: its instances as targets, in Consul's order.
pub fn service_group(
    service: &str,
    labels: LabelSet,
    entries: &[ServiceEntry],
    tag_separator: &str,
) -> TargetGroup {
    TargetGroup::new(
        service,
        entries.iter().map(|e| target(e, tag_separator)).collect(),
        labels,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instance of Prometheus' own `consul_test.go` (`ServiceTestAnswer`).
    const PROMETHEUS_TEST_ANSWER: &str = r#"
[{
	"Node": {
		"ID": "b78c2e48-5ef3-1814-31b8-0d880f50471e",
		"Node": "node1",
		"Address": "1.1.1.1",
		"Datacenter": "test-dc",
		"TaggedAddresses": {"lan": "192.168.10.10", "wan": "10.0.10.10"},
		"Meta": {"rack_name": "2304"},
		"CreateIndex": 1,
		"ModifyIndex": 1
	},
	"Service": {
		"ID": "test",
		"Service": "test",
		"Tags": ["tag1"],
		"Address": "",
		"Meta": {"version":"1.0.0","environment":"staging"},
		"Port": 3341,
		"Weights": {"Passing": 1, "Warning": 1},
		"EnableTagOverride": false,
		"ProxyDestination": "",
		"Proxy": {},
		"Connect": {},
		"CreateIndex": 1,
		"ModifyIndex": 1
	},
	"Checks": [{
		"Node": "node1",
		"CheckID": "serfHealth",
		"Name": "Serf Health Status",
		"Status": "passing"
	}]
}]"#;

    fn labels(pairs: &[(&str, &str)]) -> LabelSet {
        LabelSet::from_pairs(pairs.iter().map(|(n, v)| (*n, Str::from(*v))))
    }

    #[test]
    fn labels_of_prometheus_test_instance() {
        let entries: Vec<ServiceEntry> = serde_json::from_str(PROMETHEUS_TEST_ANSWER).unwrap();
        let group = service_group("test", group_labels("test", "test-dc"), &entries, ",");
        assert_eq!(&*group.source, "test");
        assert_eq!(
            group.labels,
            labels(&[
                ("__meta_consul_dc", "test-dc"),
                ("__meta_consul_service", "test")
            ])
        );
        assert_eq!(
            group.targets,
            [labels(&[
                ("__address__", "1.1.1.1:3341"),
                ("__meta_consul_address", "1.1.1.1"),
                ("__meta_consul_health", "passing"),
                ("__meta_consul_metadata_rack_name", "2304"),
                ("__meta_consul_namespace", ""),
                ("__meta_consul_node", "node1"),
                ("__meta_consul_partition", ""),
                ("__meta_consul_service_address", ""),
                ("__meta_consul_service_id", "test"),
                ("__meta_consul_service_metadata_environment", "staging"),
                ("__meta_consul_service_metadata_version", "1.0.0"),
                ("__meta_consul_service_port", "3341"),
                ("__meta_consul_tagged_address_lan", "192.168.10.10"),
                ("__meta_consul_tagged_address_wan", "10.0.10.10"),
                ("__meta_consul_tags", ",tag1,"),
            ])]
        );
    }

    #[test]
    fn service_address_wins_and_ipv6_is_bracketed() {
        let entry = |service_address: &str, node_address: &str| ServiceEntry {
            node: Node {
                address: node_address.into(),
                ..Node::default()
            },
            service: AgentService {
                address: service_address.into(),
                port: 9100,
                ..AgentService::default()
            },
            checks: Vec::new(),
        };
        let address = |e: &ServiceEntry| target(e, ",").get("__address__").unwrap().to_owned();
        assert_eq!(address(&entry("10.0.0.2", "10.0.0.1")), "10.0.0.2:9100");
        assert_eq!(address(&entry("", "10.0.0.1")), "10.0.0.1:9100");
        assert_eq!(
            address(&entry("2001:db8::2", "10.0.0.1")),
            "[2001:db8::2]:9100"
        );
        assert_eq!(address(&entry("", "fe80::1")), "[fe80::1]:9100");
        assert_eq!(address(&entry("web.local", "")), "web.local:9100");
    }

    #[test]
    fn tags_are_surrounded_by_the_separator() {
        let mut e = ServiceEntry::default();
        assert_eq!(target(&e, ",").get("__meta_consul_tags"), Some(",,"));
        e.service.tags = vec!["a".into(), "b".into()];
        assert_eq!(target(&e, ",").get("__meta_consul_tags"), Some(",a,b,"));
        assert_eq!(target(&e, ";").get("__meta_consul_tags"), Some(";a;b;"));
    }

    #[test]
    fn metadata_keys_are_sanitized() {
        let mut e = ServiceEntry::default();
        e.node.meta.insert("rack-name".into(), "r1".into());
        e.service.meta.insert("app.kubernetes/ü".into(), "x".into());
        e.node
            .tagged_addresses
            .insert("lan_ipv4".into(), "10.0.0.1".into());
        let t = target(&e, ",");
        assert_eq!(t.get("__meta_consul_metadata_rack_name"), Some("r1"));
        assert_eq!(
            t.get("__meta_consul_service_metadata_app_kubernetes__"),
            Some("x")
        );
        assert_eq!(
            t.get("__meta_consul_tagged_address_lan_ipv4"),
            Some("10.0.0.1")
        );
    }

    #[test]
    fn health_is_aggregated_as_consul_does() {
        let check = |id: &str, status: &str| HealthCheck {
            check_id: id.into(),
            status: status.into(),
        };
        assert_eq!(aggregated_status(&[]), "passing");
        assert_eq!(aggregated_status(&[check("a", "passing")]), "passing");
        assert_eq!(
            aggregated_status(&[check("a", "passing"), check("b", "warning")]),
            "warning"
        );
        assert_eq!(
            aggregated_status(&[check("a", "critical"), check("b", "warning")]),
            "critical"
        );
        assert_eq!(
            aggregated_status(&[
                check("a", "critical"),
                check("_service_maintenance:web", "critical")
            ]),
            "maintenance"
        );
        assert_eq!(
            aggregated_status(&[check("_node_maintenance", "critical")]),
            "maintenance"
        );
        assert_eq!(
            aggregated_status(&[check("a", "passing"), check("b", "unknown")]),
            ""
        );
    }

    #[test]
    fn nulls_decode_as_go_zero_values() {
        let entries: Vec<ServiceEntry> = serde_json::from_str(
            r#"[{"Node": null, "Service": {"Tags": null, "Meta": null, "Port": 80, "Address": "h"}, "Checks": null}]"#,
        )
        .unwrap();
        let t = target(&entries[0], ",");
        assert_eq!(t.get("__address__"), Some("h:80"));
        assert_eq!(t.get("__meta_consul_tags"), Some(",,"));
        assert_eq!(t.get("__meta_consul_node"), Some(""));
    }
}
