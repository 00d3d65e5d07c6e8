//! Prometheus' IONOS tables (discovery/ionos/server_test.go) against `targets`, on its
//! testdata; the config's checks (config_test.go's ionos_datacenter.bad.yml).

use std::collections::BTreeMap;

use promsd_actors::model::labels_map;

use super::api::Servers;
use super::{targets, IonosSdConfig};

const SERVERS_ID: &str = "8feda53f-15f0-447f-badf-ebe32dad2fc0/servers";

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn refresh(body: &str) -> Vec<BTreeMap<String, String>> {
    let page: Servers = serde_json::from_str(body).unwrap();
    targets::server_targets(
        page.id.as_deref(),
        page.items.as_deref().unwrap_or_default(),
        80,
    )
    .iter()
    .map(labels_map)
    .collect()
}

/// The rows of server_test.go, TestIONOSServerRefresh.
pub fn server_table() -> Vec<BTreeMap<String, String>> {
    vec![
        labels(&[
            ("__address__", "85.215.243.177:80"),
            ("__meta_ionos_server_availability_zone", "ZONE_2"),
            (
                "__meta_ionos_server_boot_cdrom_id",
                "0e4d57f9-cd78-11e9-b88c-525400f64d8d",
            ),
            ("__meta_ionos_server_cpu_family", "INTEL_SKYLAKE"),
            (
                "__meta_ionos_server_id",
                "b501942c-4e08-43e6-8ec1-00e59c64e0e4",
            ),
            (
                "__meta_ionos_server_ip",
                ",85.215.243.177,185.56.150.9,85.215.238.118,",
            ),
            ("__meta_ionos_server_nic_ip_metrics", ",85.215.243.177,"),
            (
                "__meta_ionos_server_nic_ip_unnamed",
                ",185.56.150.9,85.215.238.118,",
            ),
            ("__meta_ionos_server_lifecycle", "AVAILABLE"),
            ("__meta_ionos_server_name", "prometheus-2"),
            ("__meta_ionos_server_servers_id", SERVERS_ID),
            ("__meta_ionos_server_state", "RUNNING"),
            ("__meta_ionos_server_type", "ENTERPRISE"),
        ]),
        labels(&[
            ("__address__", "85.215.248.84:80"),
            ("__meta_ionos_server_availability_zone", "ZONE_1"),
            (
                "__meta_ionos_server_boot_cdrom_id",
                "0e4d57f9-cd78-11e9-b88c-525400f64d8d",
            ),
            ("__meta_ionos_server_cpu_family", "INTEL_SKYLAKE"),
            (
                "__meta_ionos_server_id",
                "523415e6-ff8c-4dc0-86d3-09c256039b30",
            ),
            ("__meta_ionos_server_ip", ",85.215.248.84,"),
            ("__meta_ionos_server_nic_ip_unnamed", ",85.215.248.84,"),
            ("__meta_ionos_server_lifecycle", "AVAILABLE"),
            ("__meta_ionos_server_name", "prometheus-1"),
            ("__meta_ionos_server_servers_id", SERVERS_ID),
            ("__meta_ionos_server_state", "RUNNING"),
            ("__meta_ionos_server_type", "ENTERPRISE"),
        ]),
        labels(&[
            ("__address__", "10.0.0.99:80"),
            ("__meta_ionos_server_ip", ",10.0.0.99,"),
            ("__meta_ionos_server_nic_ip_unnamed", ",10.0.0.99,"),
            ("__meta_ionos_server_servers_id", SERVERS_ID),
        ]),
    ]
}

/// server_test.go, TestIONOSServerRefresh.
#[test]
fn server_refresh() {
    let body = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/mechanisms/ionos/servers.json"
    ));
    assert_eq!(refresh(body), server_table());
}

fn body(items: &str) -> String {
    format!(r#"{{"id": "{SERVERS_ID}", "type": "collection", "items": [{items}]}}"#)
}

/// server_test.go, TestIONOSServerRefreshNilContainers.
#[test]
fn server_refresh_nil_containers() {
    let one = |pairs: &[(&str, &str)]| {
        let mut l = labels(pairs);
        l.insert("__meta_ionos_server_servers_id".into(), SERVERS_ID.into());
        vec![l]
    };
    type Case = (&'static str, String, Vec<BTreeMap<String, String>>);
    let cases: Vec<Case> = vec![
        (
            "NoServerItems",
            format!(r#"{{"id": "{SERVERS_ID}", "type": "collection"}}"#),
            vec![],
        ),
        (
            "NilServerProperties",
            body(
                r#"{"id": "srv-1", "type": "server", "properties": null,
                "entities": {"nics": {"items": [
                    {"id": "nic-1", "type": "nic", "properties": {"ips": ["10.0.0.1"]}}]}}}"#,
            ),
            one(&[
                ("__address__", "10.0.0.1:80"),
                ("__meta_ionos_server_id", "srv-1"),
                ("__meta_ionos_server_ip", ",10.0.0.1,"),
                ("__meta_ionos_server_nic_ip_unnamed", ",10.0.0.1,"),
            ]),
        ),
        (
            "NoNICItems",
            body(
                r#"{"id": "srv-2", "type": "server", "properties": {"name": "no-nics"},
                "entities": {"nics": {"id": "srv-2/nics", "type": "collection"}}}"#,
            ),
            vec![],
        ),
        (
            "NilNICProperties",
            body(
                r#"{"id": "srv-3", "type": "server", "properties": {"name": "nic-without-properties"},
                "entities": {"nics": {"items": [{"id": "nic-3", "type": "nic", "properties": null}]}}}"#,
            ),
            vec![],
        ),
        (
            "NilNICIps",
            body(
                r#"{"id": "srv-4", "type": "server", "properties": {"name": "nic-without-ips"},
                "entities": {"nics": {"items": [{"id": "nic-4", "type": "nic", "properties": {"name": "eth0"}}]}}}"#,
            ),
            vec![],
        ),
        (
            "NilBootCdromAndBootVolumeID",
            body(
                r#"{"id": "srv-5", "type": "server", "properties": {"bootCdrom": {}, "bootVolume": {"id": null}},
                "entities": {"nics": {"items": [
                    {"id": "nic-5", "type": "nic", "properties": {"ips": ["10.0.0.5"]}}]}}}"#,
            ),
            one(&[
                ("__address__", "10.0.0.5:80"),
                ("__meta_ionos_server_id", "srv-5"),
                ("__meta_ionos_server_ip", ",10.0.0.5,"),
                ("__meta_ionos_server_nic_ip_unnamed", ",10.0.0.5,"),
            ]),
        ),
        (
            "NoVolumeItems",
            body(
                r#"{"id": "srv-6", "type": "server", "properties": {"name": "no-volume-items"},
                "entities": {"nics": {"items": [
                    {"id": "nic-6", "type": "nic", "properties": {"ips": ["10.0.0.6"]}}]},
                    "volumes": {"id": "srv-6/volumes", "type": "collection"}}}"#,
            ),
            one(&[
                ("__address__", "10.0.0.6:80"),
                ("__meta_ionos_server_id", "srv-6"),
                ("__meta_ionos_server_ip", ",10.0.0.6,"),
                ("__meta_ionos_server_name", "no-volume-items"),
                ("__meta_ionos_server_nic_ip_unnamed", ",10.0.0.6,"),
            ]),
        ),
        (
            "NilVolumeProperties",
            body(
                r#"{"id": "srv-7", "type": "server", "properties": {"name": "volume-without-properties"},
                "entities": {"nics": {"items": [
                    {"id": "nic-7", "type": "nic", "properties": {"ips": ["10.0.0.7"]}}]},
                    "volumes": {"items": [{"id": "vol-7", "type": "volume", "properties": null}]}}}"#,
            ),
            one(&[
                ("__address__", "10.0.0.7:80"),
                ("__meta_ionos_server_id", "srv-7"),
                ("__meta_ionos_server_ip", ",10.0.0.7,"),
                ("__meta_ionos_server_name", "volume-without-properties"),
                ("__meta_ionos_server_nic_ip_unnamed", ",10.0.0.7,"),
            ]),
        ),
    ];
    for (name, body, want) in cases {
        assert_eq!(refresh(&body), want, "{name}");
    }
}

#[test]
fn boot_volume_and_image_labels() {
    let got = refresh(&body(
        r#"{"id": "s", "properties": {"bootVolume": {"id": "vol-1"}},
        "entities": {"nics": {"items": [{"properties": {"name": "a-b", "ips": ["10.1.0.1", "10.1.0.2"]}},
                                        {"properties": {"name": "c", "ips": []}}]},
                     "volumes": {"items": [{"properties": {"image": "img-1"}}, {"properties": {"image": "img-2"}}]}}}"#,
    ));
    assert_eq!(got[0]["__meta_ionos_server_boot_volume_id"], "vol-1");
    assert_eq!(got[0]["__meta_ionos_server_boot_image_id"], "img-1");
    assert_eq!(
        got[0]["__meta_ionos_server_nic_ip_a_b"],
        ",10.1.0.1,10.1.0.2,"
    );
    assert_eq!(got[0]["__meta_ionos_server_nic_ip_c"], ",,");
    assert_eq!(got[0]["__address__"], "10.1.0.1:80");
}

fn config(yaml: &str) -> Result<IonosSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_checks() {
    // conf.good.yml's ionos job.
    let c = config(
        "datacenter_id: 8feda53f-15f0-447f-badf-ebe32dad2fc0\nauthorization:\n  credentials: abcdef\n",
    )
    .unwrap();
    assert_eq!(c.port, 80);
    assert_eq!(c.refresh_interval.as_std().as_secs(), 60);
    assert!(c.http_client_config.authorization.is_some());
    // config_test.go's ionos_datacenter.bad.yml.
    assert!(config("datacenter_id: \"\"\n")
        .unwrap_err()
        .contains("datacenter id can't be empty"));
    assert!(config("datacenter_id: x\nrefresh_interval: 0s\n")
        .unwrap_err()
        .contains("refresh_interval must be greater than 0"));
    assert!(
        config("datacenter_id: x\nbearer_token: a\nbearer_token_file: b\n")
            .unwrap_err()
            .contains("at most one of bearer_token & bearer_token_file must be configured")
    );
    assert!(config("datacenter_id: x\nbogus: 1\n").is_err());
}
