//! Prometheus' `discovery/linode` tests, ported: the same testdata (kept in
//! `tests/mechanisms/testdata/linode/`), the same expected label sets.

use std::collections::BTreeMap;

use promsd_actors::model::labels_map;

use super::api::{Instance, IpAddress, Ipv6Range, Page};
use super::refresh::base_url;
use super::targets::group;
use super::*;

macro_rules! testdata {
    ($dir:literal, $file:literal) => {
        include_str!(concat!(
            "../../../tests/mechanisms/testdata/linode/",
            $dir,
            "/v4/",
            $file
        ))
    };
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn targets(instances: &str, ips: &str, ranges: &str) -> Vec<BTreeMap<String, String>> {
    let instances: Page<Instance> = serde_json::from_str(instances).unwrap();
    let ips: Page<IpAddress> = serde_json::from_str(ips).unwrap();
    let ranges: Page<Ipv6Range> = serde_json::from_str(ranges).unwrap();
    let group = group(&instances.data, &ips.data, &ranges.data, 80, ",");
    assert_eq!(&*group.source, "Linode");
    group.targets.iter().map(labels_map).collect()
}

/// linode_test.go, `TestLinodeSDRefresh`, case `no_region`.
pub(crate) fn no_region_want() -> Vec<BTreeMap<String, String>> {
    vec![
        map(&[
            ("__address__", "45.33.82.151:80"),
            ("__meta_linode_instance_id", "26838044"),
            (
                "__meta_linode_instance_label",
                "prometheus-linode-sd-exporter-1",
            ),
            ("__meta_linode_image", "linode/arch"),
            ("__meta_linode_private_ipv4", "192.168.170.51"),
            ("__meta_linode_public_ipv4", "45.33.82.151"),
            (
                "__meta_linode_public_ipv6",
                "2600:3c03::f03c:92ff:fe1a:1382",
            ),
            ("__meta_linode_private_ipv4_rdns", ""),
            (
                "__meta_linode_public_ipv4_rdns",
                "li1028-151.members.linode.com",
            ),
            ("__meta_linode_public_ipv6_rdns", ""),
            ("__meta_linode_region", "us-east"),
            ("__meta_linode_type", "g6-standard-2"),
            ("__meta_linode_status", "running"),
            ("__meta_linode_tags", ",monitoring,"),
            ("__meta_linode_group", ""),
            ("__meta_linode_gpus", "0"),
            ("__meta_linode_hypervisor", "kvm"),
            ("__meta_linode_backups", "disabled"),
            ("__meta_linode_specs_disk_bytes", "85899345920"),
            ("__meta_linode_specs_memory_bytes", "4294967296"),
            ("__meta_linode_specs_vcpus", "2"),
            ("__meta_linode_specs_transfer_bytes", "4194304000"),
            ("__meta_linode_extra_ips", ",96.126.108.16,192.168.201.25,"),
        ]),
        map(&[
            ("__address__", "139.162.196.43:80"),
            ("__meta_linode_instance_id", "26848419"),
            (
                "__meta_linode_instance_label",
                "prometheus-linode-sd-exporter-2",
            ),
            ("__meta_linode_image", "linode/debian10"),
            ("__meta_linode_private_ipv4", ""),
            ("__meta_linode_public_ipv4", "139.162.196.43"),
            (
                "__meta_linode_public_ipv6",
                "2a01:7e00::f03c:92ff:fe1a:9976",
            ),
            ("__meta_linode_private_ipv4_rdns", ""),
            (
                "__meta_linode_public_ipv4_rdns",
                "li1359-43.members.linode.com",
            ),
            ("__meta_linode_public_ipv6_rdns", ""),
            ("__meta_linode_region", "eu-west"),
            ("__meta_linode_type", "g6-standard-2"),
            ("__meta_linode_status", "running"),
            ("__meta_linode_tags", ",monitoring,"),
            ("__meta_linode_group", ""),
            ("__meta_linode_gpus", "0"),
            ("__meta_linode_hypervisor", "kvm"),
            ("__meta_linode_backups", "disabled"),
            ("__meta_linode_specs_disk_bytes", "85899345920"),
            ("__meta_linode_specs_memory_bytes", "4294967296"),
            ("__meta_linode_specs_vcpus", "2"),
            ("__meta_linode_specs_transfer_bytes", "4194304000"),
        ]),
        map(&[
            ("__address__", "192.53.120.25:80"),
            ("__meta_linode_instance_id", "26837938"),
            (
                "__meta_linode_instance_label",
                "prometheus-linode-sd-exporter-3",
            ),
            ("__meta_linode_image", "linode/ubuntu20.04"),
            ("__meta_linode_private_ipv4", ""),
            ("__meta_linode_public_ipv4", "192.53.120.25"),
            (
                "__meta_linode_public_ipv6",
                "2600:3c04::f03c:92ff:fe1a:fb68",
            ),
            ("__meta_linode_private_ipv4_rdns", ""),
            (
                "__meta_linode_public_ipv4_rdns",
                "li2216-25.members.linode.com",
            ),
            ("__meta_linode_public_ipv6_rdns", ""),
            ("__meta_linode_region", "ca-central"),
            ("__meta_linode_type", "g6-standard-1"),
            ("__meta_linode_status", "running"),
            ("__meta_linode_tags", ",monitoring,"),
            ("__meta_linode_group", ""),
            ("__meta_linode_gpus", "0"),
            ("__meta_linode_hypervisor", "kvm"),
            ("__meta_linode_backups", "disabled"),
            ("__meta_linode_specs_disk_bytes", "53687091200"),
            ("__meta_linode_specs_memory_bytes", "2147483648"),
            ("__meta_linode_specs_vcpus", "1"),
            ("__meta_linode_specs_transfer_bytes", "2097152000"),
            ("__meta_linode_ipv6_ranges", ",2600:3c04:e001:456::/64,"),
        ]),
        map(&[
            ("__address__", "66.228.47.103:80"),
            ("__meta_linode_instance_id", "26837992"),
            (
                "__meta_linode_instance_label",
                "prometheus-linode-sd-exporter-4",
            ),
            ("__meta_linode_image", "linode/ubuntu20.04"),
            ("__meta_linode_private_ipv4", "192.168.148.94"),
            ("__meta_linode_public_ipv4", "66.228.47.103"),
            (
                "__meta_linode_public_ipv6",
                "2600:3c03::f03c:92ff:fe1a:fb4c",
            ),
            ("__meta_linode_private_ipv4_rdns", ""),
            (
                "__meta_linode_public_ipv4_rdns",
                "li328-103.members.linode.com",
            ),
            ("__meta_linode_public_ipv6_rdns", ""),
            ("__meta_linode_region", "us-east"),
            ("__meta_linode_type", "g6-nanode-1"),
            ("__meta_linode_status", "running"),
            ("__meta_linode_tags", ",monitoring,"),
            ("__meta_linode_group", ""),
            ("__meta_linode_gpus", "0"),
            ("__meta_linode_hypervisor", "kvm"),
            ("__meta_linode_backups", "disabled"),
            ("__meta_linode_specs_disk_bytes", "26843545600"),
            ("__meta_linode_specs_memory_bytes", "1073741824"),
            ("__meta_linode_specs_vcpus", "1"),
            ("__meta_linode_specs_transfer_bytes", "1048576000"),
            ("__meta_linode_extra_ips", ",172.104.18.104,"),
            ("__meta_linode_ipv6_ranges", ",2600:3c03:e000:123::/64,"),
        ]),
    ]
}

#[test]
fn refresh_without_region() {
    let got = targets(
        testdata!("no_region_filter", "linode/instances.json"),
        testdata!("no_region_filter", "networking/ips.json"),
        testdata!("no_region_filter", "networking/ipv6/ranges.json"),
    );
    assert_eq!(got, no_region_want());
}

/// Cases `us-east` and `us-central` (region `ca-central`): their expected targets are the
/// `no_region` targets of that region.
#[test]
fn refresh_with_region() {
    let all = no_region_want();
    let got = targets(
        testdata!("us-east", "linode/instances.json"),
        testdata!("us-east", "networking/ips.json"),
        testdata!("us-east", "networking/ipv6/ranges.json"),
    );
    assert_eq!(got, [all[0].clone(), all[3].clone()]);
    let got = targets(
        testdata!("ca-central", "linode/instances.json"),
        testdata!("ca-central", "networking/ips.json"),
        testdata!("ca-central", "networking/ipv6/ranges.json"),
    );
    assert_eq!(got, [all[2].clone()]);
}

#[test]
fn base_url_as_linodego_builds_it() {
    assert_eq!(base_url(None, None), "https://api.linode.com/v4");
    assert_eq!(
        base_url(Some("http://127.0.0.1:8080/"), Some("v4beta")),
        "http://127.0.0.1:8080/v4beta"
    );
}

fn parse(yaml: &str) -> Result<LinodeSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_validation_as_prometheus() {
    let c = parse("authorization: {credentials: abcdef}\n").unwrap();
    assert_eq!(c.port, 80);
    assert_eq!(c.tag_separator, ",");
    assert_eq!(c.region, "");
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    for (yaml, message) in [
        (
            "refresh_interval: 0s\n",
            "refresh_interval must be greater than 0",
        ),
        ("role: x\n", "unknown field `role`"),
    ] {
        let err = parse(yaml).unwrap_err();
        assert!(err.contains(message), "{yaml:?}: {err}");
    }
}
