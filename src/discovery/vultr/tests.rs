//! Prometheus' `discovery/vultr` tests, ported: the same mock answer (kept in
//! `tests/mechanisms/testdata/vultr/`), the same expected label sets.

use std::collections::BTreeMap;

use promsd_actors::model::labels_map;

use super::api::InstanceList;
use super::refresh::go_query_escape;
use super::targets::group;
use super::*;

const INSTANCES: &str = include_str!("../../../tests/mechanisms/testdata/vultr/instances.json");

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// vultr_test.go, `TestVultrSDRefresh`.
#[test]
fn refresh_labels() {
    let list: InstanceList = serde_json::from_str(INSTANCES).unwrap();
    assert_eq!(list.meta.links.next, "");
    let group = group(&list.instances, 80);
    assert_eq!(&*group.source, "Vultr");
    let common = |address: &str, id: &str, label: &str, ip: &str, internal: &str| {
        map(&[
            ("__address__", address),
            ("__meta_vultr_instance_id", id),
            ("__meta_vultr_instance_label", label),
            ("__meta_vultr_instance_os", "Marketplace"),
            ("__meta_vultr_instance_os_id", "426"),
            ("__meta_vultr_instance_region", "ewr"),
            ("__meta_vultr_instance_plan", "vhf-2c-4gb"),
            ("__meta_vultr_instance_main_ip", ip),
            ("__meta_vultr_instance_internal_ip", internal),
            ("__meta_vultr_instance_main_ipv6", ""),
            ("__meta_vultr_instance_hostname", label),
            ("__meta_vultr_instance_server_status", "ok"),
            ("__meta_vultr_instance_vcpu_count", "2"),
            ("__meta_vultr_instance_ram_mb", "4096"),
            ("__meta_vultr_instance_disk_gb", "128"),
            ("__meta_vultr_instance_allowed_bandwidth_gb", "3000"),
        ])
    };
    let mut first = common(
        "149.28.234.27:80",
        "dbdbd38c-9884-4c92-95fe-899e50dee717",
        "np-2-eae38a19b0f3",
        "149.28.234.27",
        "10.1.96.5",
    );
    first.insert("__meta_vultr_instance_features".into(), ",backups,".into());
    first.insert(
        "__meta_vultr_instance_tags".into(),
        ",tag1,tag2,tag3,".into(),
    );
    let want = [
        first,
        common(
            "45.63.1.222:80",
            "fccb117c-62f7-4b17-995d-a8e56dd30b33",
            "np-2-fd0714b5fe42",
            "45.63.1.222",
            "10.1.96.6",
        ),
        common(
            "149.28.237.151:80",
            "c4e58767-f61b-4c5e-9bce-43761cc04868",
            "np-2-d04e7829fa43",
            "149.28.237.151",
            "10.1.96.7",
        ),
    ];
    assert_eq!(group.targets.len(), 3);
    for (i, want) in want.iter().enumerate() {
        assert_eq!(&labels_map(&group.targets[i]), want, "item {i}");
    }
}

#[test]
fn cursors_are_escaped_as_go_escapes_queries() {
    assert_eq!(go_query_escape("bmV4dF9fMTIz=="), "bmV4dF9fMTIz%3D%3D");
}

fn parse(yaml: &str) -> Result<VultrSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_validation_as_prometheus() {
    let c = parse("authorization: {credentials: abcdef}\n").unwrap();
    assert_eq!(c.port, 80);
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    for (yaml, message) in [
        (
            "refresh_interval: 0s\n",
            "refresh_interval must be greater than 0",
        ),
        ("region: x\n", "unknown field `region`"),
    ] {
        let err = parse(yaml).unwrap_err();
        assert!(err.contains(message), "{yaml:?}: {err}");
    }
}
