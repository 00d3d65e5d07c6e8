//! Prometheus' Scaleway tables (discovery/scaleway/instance_test.go) against `targets`, on its
//! testdata; baremetal on answers shaped as Scaleway's API reference shows them; the config's
//! checks (config_test.go's scaleway_*.bad.yml).

use std::collections::{BTreeMap, HashMap};

use promsd_actors::model::labels_map;

use super::api::{
    BaremetalOffers, BaremetalOses, BaremetalServers, InstanceServers, IpamIps, Page,
};
use super::{targets, Role, ScalewaySdConfig};

macro_rules! testdata {
    ($file:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/mechanisms/scaleway/",
            $file
        ))
    };
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The rows of instance_test.go, TestScalewayInstanceRefresh.
pub fn instance_table() -> Vec<BTreeMap<String, String>> {
    vec![
        labels(&[
            ("__address__", "10.70.60.57:80"),
            ("__meta_scaleway_instance_boot_type", "local"),
            ("__meta_scaleway_instance_hostname", "scw-nervous-shirley"),
            (
                "__meta_scaleway_instance_id",
                "93c18a61-b681-49d0-a1cc-62b43883ae89",
            ),
            ("__meta_scaleway_instance_image_arch", "x86_64"),
            (
                "__meta_scaleway_instance_image_id",
                "45a86b35-eca6-4055-9b34-ca69845da146",
            ),
            (
                "__meta_scaleway_instance_image_name",
                "Ubuntu 18.04 Bionic Beaver",
            ),
            ("__meta_scaleway_instance_location_cluster_id", "40"),
            ("__meta_scaleway_instance_location_hypervisor_id", "1601"),
            ("__meta_scaleway_instance_location_node_id", "29"),
            ("__meta_scaleway_instance_name", "scw-nervous-shirley"),
            (
                "__meta_scaleway_instance_organization_id",
                "cb334986-b054-4725-9d3a-40850fdc6015",
            ),
            ("__meta_scaleway_instance_private_ipv4", "10.70.60.57"),
            (
                "__meta_scaleway_instance_project_id",
                "cb334986-b054-4725-9d5a-30850fdc6015",
            ),
            (
                "__meta_scaleway_instance_public_ipv6",
                "2001:bc8:630:1e1c::1",
            ),
            ("__meta_scaleway_instance_region", "fr-par"),
            (
                "__meta_scaleway_instance_security_group_id",
                "a6a794b7-c05b-4b20-b9fe-e17a9bb85cf0",
            ),
            (
                "__meta_scaleway_instance_security_group_name",
                "Default security group",
            ),
            ("__meta_scaleway_instance_status", "running"),
            ("__meta_scaleway_instance_type", "DEV1-S"),
            ("__meta_scaleway_instance_zone", "fr-par-1"),
        ]),
        labels(&[
            ("__address__", "10.193.162.9:80"),
            ("__meta_scaleway_instance_boot_type", "local"),
            ("__meta_scaleway_instance_hostname", "scw-quizzical-feistel"),
            (
                "__meta_scaleway_instance_id",
                "5b6198b4-c677-41b5-9c05-04557264ae1f",
            ),
            ("__meta_scaleway_instance_image_arch", "x86_64"),
            (
                "__meta_scaleway_instance_image_id",
                "71733b74-260f-4d0d-8f18-f37dcfa56d6f",
            ),
            ("__meta_scaleway_instance_image_name", "Debian Buster"),
            ("__meta_scaleway_instance_location_cluster_id", "4"),
            ("__meta_scaleway_instance_location_hypervisor_id", "201"),
            ("__meta_scaleway_instance_location_node_id", "5"),
            ("__meta_scaleway_instance_name", "scw-quizzical-feistel"),
            (
                "__meta_scaleway_instance_organization_id",
                "cb334986-b054-4725-9d3a-40850fdc6015",
            ),
            ("__meta_scaleway_instance_private_ipv4", "10.193.162.9"),
            (
                "__meta_scaleway_instance_project_id",
                "cb334986-b054-4725-9d5a-30850fdc6015",
            ),
            ("__meta_scaleway_instance_public_ipv4", "151.115.45.127"),
            (
                "__meta_scaleway_instance_public_ipv6",
                "2001:bc8:1e00:6204::1",
            ),
            ("__meta_scaleway_instance_region", "fr-par"),
            (
                "__meta_scaleway_instance_security_group_id",
                "d35dd210-8392-44dc-8854-121e419a0f56",
            ),
            (
                "__meta_scaleway_instance_security_group_name",
                "Default security group",
            ),
            ("__meta_scaleway_instance_status", "running"),
            ("__meta_scaleway_instance_type", "DEV1-S"),
            ("__meta_scaleway_instance_zone", "fr-par-1"),
        ]),
        labels(&[
            ("__address__", "51.158.183.115:80"),
            ("__meta_scaleway_instance_boot_type", "local"),
            ("__meta_scaleway_instance_hostname", "routed-dualstack"),
            (
                "__meta_scaleway_instance_id",
                "4904366a-7e26-4b65-b97b-6392c761247a",
            ),
            ("__meta_scaleway_instance_image_arch", "x86_64"),
            (
                "__meta_scaleway_instance_image_id",
                "3e0a5b84-1d69-4993-8fa4-0d7df52d5160",
            ),
            (
                "__meta_scaleway_instance_image_name",
                "Ubuntu 22.04 Jammy Jellyfish",
            ),
            ("__meta_scaleway_instance_location_cluster_id", "19"),
            ("__meta_scaleway_instance_location_hypervisor_id", "1201"),
            ("__meta_scaleway_instance_location_node_id", "24"),
            ("__meta_scaleway_instance_name", "routed-dualstack"),
            (
                "__meta_scaleway_instance_organization_id",
                "20b3d507-96ac-454c-a795-bc731b46b12f",
            ),
            (
                "__meta_scaleway_instance_project_id",
                "20b3d507-96ac-454c-a795-bc731b46b12f",
            ),
            ("__meta_scaleway_instance_public_ipv4", "51.158.183.115"),
            (
                "__meta_scaleway_instance_public_ipv4_addresses",
                ",51.158.183.115,",
            ),
            (
                "__meta_scaleway_instance_public_ipv6_addresses",
                ",2001:bc8:1640:1568:dc00:ff:fe21:91b,",
            ),
            ("__meta_scaleway_instance_region", "nl-ams"),
            (
                "__meta_scaleway_instance_security_group_id",
                "984414da-9fc2-49c0-a925-fed6266fe092",
            ),
            (
                "__meta_scaleway_instance_security_group_name",
                "Default security group",
            ),
            ("__meta_scaleway_instance_status", "running"),
            ("__meta_scaleway_instance_type", "DEV1-S"),
            ("__meta_scaleway_instance_zone", "nl-ams-1"),
        ]),
        labels(&[
            ("__address__", "163.172.136.10:80"),
            ("__meta_scaleway_instance_boot_type", "local"),
            ("__meta_scaleway_instance_hostname", "multiple-ips"),
            (
                "__meta_scaleway_instance_id",
                "658abbf4-e6c6-4239-a483-3307763cf6e0",
            ),
            ("__meta_scaleway_instance_image_arch", "x86_64"),
            (
                "__meta_scaleway_instance_image_id",
                "f583f58c-1ea5-44ab-a1e6-2b2e7df32a86",
            ),
            (
                "__meta_scaleway_instance_image_name",
                "Ubuntu 24.04 Noble Numbat",
            ),
            ("__meta_scaleway_instance_location_cluster_id", "7"),
            ("__meta_scaleway_instance_location_hypervisor_id", "801"),
            ("__meta_scaleway_instance_location_node_id", "95"),
            ("__meta_scaleway_instance_name", "multiple-ips"),
            (
                "__meta_scaleway_instance_organization_id",
                "ee7bd9e1-9cbd-4724-b2f4-19e50f3cf38b",
            ),
            (
                "__meta_scaleway_instance_project_id",
                "ee7bd9e1-9cbd-4724-b2f4-19e50f3cf38b",
            ),
            ("__meta_scaleway_instance_public_ipv4", "163.172.136.10"),
            (
                "__meta_scaleway_instance_public_ipv4_addresses",
                ",163.172.136.10,212.47.248.223,51.15.231.134,",
            ),
            (
                "__meta_scaleway_instance_public_ipv6_addresses",
                ",2001:bc8:710:4a69:dc00:ff:fe58:40c1,2001:bc8:710:d::,2001:bc8:710:5417::,",
            ),
            ("__meta_scaleway_instance_region", "fr-par"),
            (
                "__meta_scaleway_instance_security_group_id",
                "0fe819c3-274d-472a-b3f5-ddb258d2d8bb",
            ),
            (
                "__meta_scaleway_instance_security_group_name",
                "Default security group",
            ),
            ("__meta_scaleway_instance_status", "running"),
            ("__meta_scaleway_instance_type", "PLAY2-PICO"),
            ("__meta_scaleway_instance_zone", "fr-par-1"),
        ]),
    ]
}

/// instance_test.go, TestScalewayInstanceRefresh.
#[test]
fn instance_refresh() {
    let page: InstanceServers = serde_json::from_str(testdata!("instance.json")).unwrap();
    let (_, servers) = page.into_items();
    assert!(targets::ipam_lookups(&servers).unwrap().is_empty());
    let got: Vec<_> = targets::instance_targets(&servers, &HashMap::new(), 80)
        .unwrap()
        .iter()
        .map(labels_map)
        .collect();
    assert_eq!(got, instance_table());
}

/// instance_test.go, TestScalewayInstanceRefreshIPAMPrivateNIC.
#[test]
fn instance_refresh_ipam_private_nic() {
    let page: InstanceServers = serde_json::from_str(
        r#"{"servers": [{
            "id": "78d6aa69-6a5f-47bd-9f1a-3cdde6973d96", "name": "ipam-only",
            "public_ip": null, "public_ips": [], "private_ip": null,
            "private_nics": [{"id": "2d17a5a0-f8e5-4e7f-a029-f7c8d182af53"}],
            "zone": "fr-par-1"}]}"#,
    )
    .unwrap();
    let (_, servers) = page.into_items();
    assert_eq!(
        targets::ipam_lookups(&servers).unwrap(),
        vec![(
            "fr-par".to_owned(),
            vec!["2d17a5a0-f8e5-4e7f-a029-f7c8d182af53".to_owned()]
        )]
    );
    let ips: IpamIps = serde_json::from_str(
        r#"{"ips": [{"id": "b50244c4-b0b1-4cc9-a78c-26034b4967d3", "address": "10.0.0.7/32",
            "is_ipv6": false, "resource": {"type": "instance_private_nic",
            "id": "2d17a5a0-f8e5-4e7f-a029-f7c8d182af53"}, "region": "fr-par"}],
            "total_count": 1}"#,
    )
    .unwrap();
    let nic_ips = targets::private_nic_ips(&ips.into_items().1);
    let got = targets::instance_targets(&servers, &nic_ips, 80).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].get("__address__"), Some("10.0.0.7:80"));
    assert_eq!(
        got[0].get("__meta_scaleway_instance_private_ipv4"),
        Some("10.0.0.7")
    );
}

/// The baremetal rows (no upstream test: answers as the API reference shows them).
pub fn baremetal_table() -> Vec<BTreeMap<String, String>> {
    let common = [
        (
            "__meta_scaleway_baremetal_project_id",
            "20b3d507-96ac-454c-a795-bc731b46b12f",
        ),
        ("__meta_scaleway_baremetal_zone", "fr-par-2"),
    ];
    let row = |pairs: &[(&str, &str)]| {
        let mut l = labels(pairs);
        l.extend(labels(&common));
        l
    };
    vec![
        row(&[
            ("__address__", "51.159.26.122:80"),
            (
                "__meta_scaleway_baremetal_id",
                "5a4d4e4c-9b5f-4e3c-8a41-6c1d4f2a7e01",
            ),
            ("__meta_scaleway_baremetal_name", "em-a210r-01"),
            ("__meta_scaleway_baremetal_status", "ready"),
            ("__meta_scaleway_baremetal_type", "EM-A210R-HDD"),
            ("__meta_scaleway_baremetal_os_name", "Ubuntu"),
            (
                "__meta_scaleway_baremetal_os_version",
                "22.04 LTS (Jammy Jellyfish)",
            ),
            ("__meta_scaleway_baremetal_tags", ",prod,db,"),
            ("__meta_scaleway_baremetal_public_ipv4", "51.159.26.122"),
            (
                "__meta_scaleway_baremetal_public_ipv6",
                "2001:bc8:1201:14:c6:9ff:fe6a:c1e6",
            ),
        ]),
        row(&[
            ("__address__", "[2001:bc8:1201:15::1]:80"),
            (
                "__meta_scaleway_baremetal_id",
                "6b5e5f5d-ac6a-4f4d-9b52-7d2e5a3b8f02",
            ),
            ("__meta_scaleway_baremetal_name", "em-b112x-v6only"),
            ("__meta_scaleway_baremetal_status", "ready"),
            ("__meta_scaleway_baremetal_type", "EM-B112X-SSD"),
            (
                "__meta_scaleway_baremetal_public_ipv6",
                "2001:bc8:1201:15::1",
            ),
        ]),
        row(&[
            (
                "__meta_scaleway_baremetal_id",
                "7c6f6a6e-bd7b-4a5e-8c63-8e3f6b4c9a03",
            ),
            ("__meta_scaleway_baremetal_name", "em-delivering"),
            ("__meta_scaleway_baremetal_status", "delivering"),
        ]),
    ]
}

#[test]
fn baremetal_refresh() {
    let servers: BaremetalServers =
        serde_json::from_str(testdata!("baremetal_servers.json")).unwrap();
    let offers: BaremetalOffers = serde_json::from_str(testdata!("baremetal_offers.json")).unwrap();
    let oses: BaremetalOses = serde_json::from_str(testdata!("baremetal_os.json")).unwrap();
    let got: Vec<_> = targets::baremetal_targets(
        &servers.into_items().1,
        &offers.into_items().1,
        &oses.into_items().1,
        80,
    )
    .unwrap()
    .iter()
    .map(labels_map)
    .collect();
    assert_eq!(got, baremetal_table());
}

#[test]
fn baremetal_unknown_ip_version_fails_and_empty_is_ipv4() {
    let servers: BaremetalServers = serde_json::from_str(
        r#"{"servers": [{"id": "a", "ips": [{"address": "10.1.1.1", "version": ""}]}]}"#,
    )
    .unwrap();
    let got = targets::baremetal_targets(&servers.into_items().1, &[], &[], 9100).unwrap();
    assert_eq!(got[0].get("__address__"), Some("10.1.1.1:9100"));
    let servers: BaremetalServers = serde_json::from_str(
        r#"{"servers": [{"id": "a", "ips": [{"address": "10.1.1.1", "version": "IPv5"}]}]}"#,
    )
    .unwrap();
    assert_eq!(
        targets::baremetal_targets(&servers.into_items().1, &[], &[], 80).unwrap_err(),
        "unknown IP version: IPv5"
    );
}

fn config(yaml: &str) -> Result<ScalewaySdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

const KEYS: &str =
    "project_id: 11111111-1111-1111-1111-111111111112\naccess_key: SCWXXXXXXXXXXXXXXXXX\n";

#[test]
fn config_defaults_and_checks() {
    // conf.good.yml's scaleway job.
    let c = config(&format!(
        "role: instance\n{KEYS}secret_key: 11111111-1111-1111-1111-111111111111\n"
    ))
    .unwrap();
    assert_eq!(c.api_url, "https://api.scaleway.com");
    assert_eq!(c.zone, "fr-par-1");
    assert_eq!(c.port, 80);
    assert_eq!(c.role(), Role::Instance);
    assert_eq!(c.refresh_interval.as_std().as_secs(), 60);
    let err = |yaml: &str| config(yaml).unwrap_err();
    // config_test.go's scaleway_role.bad.yml, scaleway_no_secret.bad.yml,
    // scaleway_two_secrets.bad.yml.
    assert!(err(&format!("role: invalid\n{KEYS}secret_key_file: bar\n"))
        .contains("unknown role \"invalid\""));
    assert!(err(&format!("role: instance\n{KEYS}"))
        .contains("one of secret_key & secret_key_file must be configured"));
    assert!(err(&format!(
        "role: instance\n{KEYS}secret_key_file: bar\nsecret_key: 11111111-1111-1111-1111-111111111112\n"
    ))
    .contains("at most one of secret_key & secret_key_file must be configured"));
    assert!(err(&format!("{KEYS}secret_key_file: bar\n"))
        .contains("role missing (one of: instance, baremetal)"));
    assert!(err("role: baremetal\nsecret_key_file: bar\n").contains("project_id is mandatory"));
    // The SDK client's checks.
    assert!(
        err(&format!("role: instance\n{KEYS}secret_key: not-a-uuid\n"))
            .contains("scaleway-sdk-go: invalid secret key format")
    );
    assert!(
        !err(&format!("role: instance\n{KEYS}secret_key: not-a-uuid\n")).contains("not-a-uuid")
    );
    assert!(err(&format!(
        "role: instance\n{KEYS}secret_key_file: bar\nzone: mars-1\n"
    ))
    .contains("scaleway-sdk-go: invalid default zone format 'mars-1'"));
    assert!(err(&format!(
        "role: instance\n{KEYS}secret_key_file: bar\napi_url: https://api.example.com/\n"
    ))
    .contains("it should not have a trailing slash"));
    assert!(err(
        "role: instance\nproject_id: p\naccess_key: SCWXXXXXXXXXXXXXXXXX\nsecret_key_file: bar\n"
    )
    .contains("scaleway-sdk-go: invalid project ID format 'p'"));
    assert!(err(&format!(
        "role: instance\n{KEYS}secret_key_file: bar\nrefresh_interval: 0s\n"
    ))
    .contains("refresh_interval must be greater than 0"));
    assert!(err(&format!(
        "role: instance\n{KEYS}secret_key_file: bar\nbogus: 1\n"
    ))
    .contains("bogus"));
    // HTTP client settings are inline.
    let c = config(&format!(
        "role: baremetal\n{KEYS}secret_key_file: bar\nproxy_url: http://proxy:3128\ntags_filter: [a, b]\n"
    ))
    .unwrap();
    assert_eq!(c.http_client_config.proxy.proxy_url, "http://proxy:3128");
    assert_eq!(c.tags_filter, ["a", "b"]);
}

#[test]
fn ips_print_as_go_does() {
    assert_eq!(targets::go_ip("::ffff:10.0.0.1").unwrap(), "10.0.0.1");
    assert_eq!(targets::go_ip("2001:0db8::0001").unwrap(), "2001:db8::1");
    assert!(targets::go_ip("nope").is_err());
    assert_eq!(super::region_of("nl-ams-1").as_deref(), Some("nl-ams"));
    assert_eq!(super::region_of("bad"), None);
}
