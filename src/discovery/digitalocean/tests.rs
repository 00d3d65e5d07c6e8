//! Prometheus' `discovery/digitalocean` tests, ported: the same mock answers (kept as test
//! data in `tests/mechanisms/testdata/digitalocean/`), the same expected label sets.

use std::collections::BTreeMap;

use promsd_actors::model::labels_map;

use super::api::{DatabaseList, DropletList};
use super::refresh::next_page;
use super::targets::{databases_group, droplets_group};
use super::*;

const PAGE1: &str =
    include_str!("../../../tests/mechanisms/testdata/digitalocean/droplets_page1.json");
const PAGE2: &str =
    include_str!("../../../tests/mechanisms/testdata/digitalocean/droplets_page2.json");
const DB1: &str =
    include_str!("../../../tests/mechanisms/testdata/digitalocean/databases_page1.json");
const DB2: &str =
    include_str!("../../../tests/mechanisms/testdata/digitalocean/databases_page2.json");

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// digitalocean_test.go, `TestDigitalOceanSDRefresh`: two pages of droplets.
#[test]
fn droplets_refresh_labels_and_pages() {
    let page1: DropletList = serde_json::from_str(PAGE1).unwrap();
    let page2: DropletList = serde_json::from_str(PAGE2).unwrap();
    assert_eq!(next_page(page1.links.as_ref().unwrap()).unwrap(), Some(2));
    assert_eq!(next_page(page2.links.as_ref().unwrap()).unwrap(), None);
    let mut droplets = page1.droplets;
    droplets.extend(page2.droplets);
    let group = droplets_group(&droplets, 80);
    assert_eq!(&*group.source, "DigitalOcean");
    assert_eq!(group.targets.len(), 4);
    let want = [
        map(&[
            ("__address__", "104.236.32.182:80"),
            ("__meta_digitalocean_droplet_id", "3164444"),
            ("__meta_digitalocean_droplet_name", "example.com"),
            ("__meta_digitalocean_image", "ubuntu-16-04-x64"),
            ("__meta_digitalocean_image_name", "14.04 x64"),
            ("__meta_digitalocean_private_ipv4", ""),
            ("__meta_digitalocean_public_ipv4", "104.236.32.182"),
            (
                "__meta_digitalocean_public_ipv6",
                "2604:A880:0800:0010:0000:0000:02DD:4001",
            ),
            ("__meta_digitalocean_region", "nyc3"),
            ("__meta_digitalocean_size", "s-1vcpu-1gb"),
            ("__meta_digitalocean_status", "active"),
            (
                "__meta_digitalocean_vpc",
                "f9b0769c-e118-42fb-a0c4-fed15ef69662",
            ),
            ("__meta_digitalocean_features", ",backups,ipv6,virtio,"),
        ]),
        map(&[
            ("__address__", "104.131.186.241:80"),
            ("__meta_digitalocean_droplet_id", "3164494"),
            ("__meta_digitalocean_droplet_name", "prometheus"),
            ("__meta_digitalocean_image", "ubuntu-16-04-x64"),
            ("__meta_digitalocean_image_name", "14.04 x64"),
            ("__meta_digitalocean_private_ipv4", ""),
            ("__meta_digitalocean_public_ipv4", "104.131.186.241"),
            ("__meta_digitalocean_public_ipv6", ""),
            ("__meta_digitalocean_region", "nyc3"),
            ("__meta_digitalocean_size", "s-1vcpu-1gb"),
            ("__meta_digitalocean_status", "active"),
            (
                "__meta_digitalocean_vpc",
                "f9b0769c-e118-42fb-a0c4-fed15ef69662",
            ),
            ("__meta_digitalocean_tags", ",monitor,"),
            ("__meta_digitalocean_features", ",virtio,"),
        ]),
        map(&[
            ("__address__", "167.172.111.118:80"),
            ("__meta_digitalocean_droplet_id", "175072239"),
            ("__meta_digitalocean_droplet_name", "prometheus-demo-old"),
            ("__meta_digitalocean_image", "ubuntu-18-04-x64"),
            ("__meta_digitalocean_image_name", "18.04.3 (LTS) x64"),
            ("__meta_digitalocean_private_ipv4", "10.135.64.211"),
            ("__meta_digitalocean_public_ipv4", "167.172.111.118"),
            ("__meta_digitalocean_public_ipv6", ""),
            ("__meta_digitalocean_region", "fra1"),
            ("__meta_digitalocean_size", "s-1vcpu-1gb"),
            ("__meta_digitalocean_status", "off"),
            (
                "__meta_digitalocean_vpc",
                "953d698c-dc84-11e8-80bc-3cfdfea9fba1",
            ),
            ("__meta_digitalocean_features", ",ipv6,private_networking,"),
        ]),
        map(&[
            ("__address__", "138.65.56.69:80"),
            ("__meta_digitalocean_droplet_id", "176011507"),
            ("__meta_digitalocean_droplet_name", "prometheus-demo"),
            ("__meta_digitalocean_image", "ubuntu-18-04-x64"),
            ("__meta_digitalocean_image_name", "18.04.3 (LTS) x64"),
            ("__meta_digitalocean_private_ipv4", "10.135.64.212"),
            ("__meta_digitalocean_public_ipv4", "138.65.56.69"),
            ("__meta_digitalocean_public_ipv6", "2a03:b0c0:3:f0::cf2:4"),
            ("__meta_digitalocean_region", "fra1"),
            ("__meta_digitalocean_size", "s-1vcpu-1gb"),
            ("__meta_digitalocean_status", "active"),
            (
                "__meta_digitalocean_vpc",
                "953d698c-dc84-11e8-80bc-3cfdfea9fba1",
            ),
            ("__meta_digitalocean_features", ",ipv6,private_networking,"),
        ]),
    ];
    for (i, want) in want.iter().enumerate() {
        assert_eq!(&labels_map(&group.targets[i]), want, "item {i}");
    }
}

/// digitalocean_db_test.go, `TestDigitalOceanDBRefresh` (port 9273).
#[test]
fn databases_refresh_labels() {
    let page1: DatabaseList = serde_json::from_str(DB1).unwrap();
    let page2: DatabaseList = serde_json::from_str(DB2).unwrap();
    let mut databases = page1.databases;
    databases.extend(page2.databases);
    let group = databases_group(&databases, 9273);
    assert_eq!(&*group.source, "DigitalOcean Databases");
    let want = [
        map(&[
            (
                "__address__",
                "do-fra1-pg-trading-001-do-user-XXXXX-0.f.db.ondigitalocean.com:9273",
            ),
            (
                "__meta_digitalocean_db_id",
                "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30",
            ),
            ("__meta_digitalocean_db_name", "do-fra1-pg-trading-001"),
            ("__meta_digitalocean_db_engine", "pg"),
            ("__meta_digitalocean_db_version", "16"),
            ("__meta_digitalocean_db_status", "online"),
            ("__meta_digitalocean_db_region", "fra1"),
            ("__meta_digitalocean_db_size", "db-s-1vcpu-2gb"),
            ("__meta_digitalocean_db_num_nodes", "1"),
            (
                "__meta_digitalocean_db_host",
                "do-fra1-pg-trading-001-do-user-XXXXX-0.f.db.ondigitalocean.com",
            ),
            ("__meta_digitalocean_db_tag_prod", "true"),
            ("__meta_digitalocean_db_tag_market", "true"),
        ]),
        map(&[
            ("__address__", "private-db-host:9273"),
            (
                "__meta_digitalocean_db_id",
                "a0b1c2d3-e4f5-4677-8899-001122334455",
            ),
            ("__meta_digitalocean_db_name", "private-db"),
            ("__meta_digitalocean_db_engine", "mysql"),
            ("__meta_digitalocean_db_version", "8"),
            ("__meta_digitalocean_db_status", "online"),
            ("__meta_digitalocean_db_region", "nyc1"),
            ("__meta_digitalocean_db_size", "db-s-2vcpu-4gb"),
            ("__meta_digitalocean_db_num_nodes", "2"),
            ("__meta_digitalocean_db_host", "public-db-host"),
            ("__meta_digitalocean_db_private_host", "private-db-host"),
        ]),
    ];
    assert_eq!(group.targets.len(), 2);
    for (i, want) in want.iter().enumerate() {
        assert_eq!(&labels_map(&group.targets[i]), want, "item {i}");
    }
}

#[test]
fn godo_links_give_the_next_page() {
    let links = |json: &str| -> api::Links { serde_json::from_str(json).unwrap() };
    assert_eq!(next_page(&links("{}")).unwrap(), None);
    assert_eq!(
        next_page(&links(
            r#"{"pages":{"next":"https://api.digitalocean.com/v2/droplets?page=2"}}"#
        ))
        .unwrap(),
        Some(2)
    );
    assert_eq!(
        next_page(&links(
            r#"{"pages":{"prev":"https://api.digitalocean.com/v2/droplets?page=4&per_page=1","next":"x"}}"#
        ))
        .unwrap(),
        Some(6)
    );
    assert!(next_page(&links(
        r#"{"pages":{"prev":"https://a/v2/droplets","next":"x"}}"#
    ))
    .is_err());
}

fn parse(yaml: &str) -> Result<DigitalOceanSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_validation_as_prometheus() {
    let c = parse("authorization: {credentials: abcdef}\n").unwrap();
    assert_eq!(c.role, Some(Role::Droplets));
    assert_eq!(c.port, 80);
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    assert_eq!(
        parse("role: databases\n").unwrap().role,
        Some(Role::Databases)
    );
    for (yaml, message) in [
        ("role:\n", "role missing (one of: droplets, databases)"),
        ("role: nodes\n", "unknown DigitalOcean SD role \"nodes\""),
        (
            "refresh_interval: 0s\n",
            "refresh_interval must be greater than 0",
        ),
        ("url: http://x\n", "unknown field `url`"),
    ] {
        let err = parse(yaml).unwrap_err();
        assert!(err.contains(message), "{yaml:?}: {err}");
    }
}
