//! Eureka's config, decoding and labels against Prometheus' `discovery/eureka` tests
//! (`client_test.go`: `TestFetchApps`; `eureka_test.go`: `TestEurekaSDSendGroup`,
//! `TestEurekaSDEmptyList`) and `config_test.go`'s eureka cases.

use super::*;

const APPS: &str = include_str!("../../../tests/mechanisms/testdata/eureka_apps.xml");

fn parse(yaml: &str) -> Result<EurekaSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_prometheus_errors() {
    let c = parse("server: http://eureka.example.com:8761/eureka\n").unwrap();
    assert_eq!(c.refresh_interval, Duration::from_secs(30));
    assert!(c.http_client_config.follow_redirects && c.http_client_config.enable_http2);
    for (yaml, message) in [
        ("server:\n", "eureka_sd: empty or null eureka server"),
        ("{}", "eureka_sd: empty or null eureka server"),
        (
            "server: eureka.com\n",
            "eureka_sd: invalid eureka server URL",
        ),
        (
            "server: localhost:8761\n",
            "eureka_sd: invalid eureka server URL",
        ),
        ("server: http://\n", "eureka_sd: invalid eureka server URL"),
        (
            "server: http://a\nbearer_token: x\nbearer_token_file: y\n",
            "at most one of bearer_token & bearer_token_file must be configured",
        ),
        ("server: http://a\nrefresh_interval: 0s\n", "refresh"),
        (
            "server: http://a\nservers: [x]\n",
            "unknown field `servers`",
        ),
    ] {
        let err = parse(yaml).unwrap_err();
        assert!(err.contains(message), "{yaml:?}: {err}");
    }
}

/// `TestFetchApps`: two applications, their instances and metadata in order.
#[test]
fn decodes_apps_as_go_does() {
    let apps = api::decode(APPS).unwrap();
    assert_eq!(apps.applications.len(), 2);
    assert_eq!(apps.applications[0].name, "CONFIG-SERVICE");
    assert_eq!(apps.applications[1].name, "META-SERVICE");
    let meta = &apps.applications[1].instances;
    assert_eq!(meta.len(), 2);
    assert_eq!(
        meta[0].instance_id,
        "meta-service002.test.com:meta-service:8080"
    );
    let items = meta[0].metadata.as_ref().unwrap();
    assert_eq!(
        (&*items[0].name, &*items[0].content),
        ("project", "meta-service")
    );
    assert_eq!(
        (&*items[1].name, &*items[1].content),
        ("management.port", "8090")
    );
    assert_eq!(
        meta[1].instance_id,
        "meta-service001.test.com:meta-service:8080"
    );
}

/// `TestEurekaSDSendGroup`, with every label of the first and third targets.
#[test]
fn one_group_of_every_instance() {
    let group = targets::group(&api::decode(APPS).unwrap());
    assert_eq!(&*group.source, "eureka");
    assert_eq!(group.targets.len(), 4);
    let first = promsd_actors::model::labels_map(&group.targets[0]);
    let expected: std::collections::BTreeMap<String, String> = [
        ("__address__", "config-service001.test.com:8080"),
        ("instance", "config-service001.test.com:config-service:8080"),
        ("__meta_eureka_app_name", "CONFIG-SERVICE"),
        (
            "__meta_eureka_app_instance_hostname",
            "config-service001.test.com",
        ),
        (
            "__meta_eureka_app_instance_homepage_url",
            "http://config-service001.test.com:8080/",
        ),
        (
            "__meta_eureka_app_instance_statuspage_url",
            "http://config-service001.test.com:8080/info",
        ),
        (
            "__meta_eureka_app_instance_healthcheck_url",
            "http://config-service001.test.com 8080/health",
        ),
        ("__meta_eureka_app_instance_ip_addr", "192.133.83.31"),
        ("__meta_eureka_app_instance_vip_address", "config-service"),
        ("__meta_eureka_app_instance_secure_vip_address", ""),
        ("__meta_eureka_app_instance_status", "UP"),
        ("__meta_eureka_app_instance_country_id", "1"),
        (
            "__meta_eureka_app_instance_id",
            "config-service001.test.com:config-service:8080",
        ),
        ("__meta_eureka_app_instance_port", "8080"),
        ("__meta_eureka_app_instance_port_enabled", "true"),
        ("__meta_eureka_app_instance_secure_port", "8080"),
        ("__meta_eureka_app_instance_secure_port_enabled", "false"),
        ("__meta_eureka_app_instance_datacenterinfo_name", "MyOwn"),
        (
            "__meta_eureka_app_instance_metadata_instanceId",
            "config-service001.test.com:config-service:8080",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(first, expected);
    let third = &group.targets[2];
    assert_eq!(
        third.get("__address__"),
        Some("meta-service002.test.com:8080")
    );
    assert_eq!(
        third.get("__meta_eureka_app_instance_metadata_management_port"),
        Some("8090")
    );
    assert_eq!(
        third.get("__meta_eureka_app_instance_secure_port"),
        Some("443")
    );
}

/// `TestEurekaSDEmptyList`; and Go's decoding rules at the edges.
#[test]
fn empty_list_defaults_and_decoding_errors() {
    let empty =
        "<applications>\n<versions__delta>1</versions__delta>\n<apps__hashcode/>\n</applications>";
    assert!(targets::group(&api::decode(empty).unwrap())
        .targets
        .is_empty());
    let bare = "<applications><application><name>A</name><instance><hostName>h</hostName>\
        <metadata><x-y>a &amp; <b>c</b></x-y></metadata>\
        <dataCenterInfo><name>Amazon</name><metadata><availability-zone>z1</availability-zone></metadata></dataCenterInfo>\
        </instance></application></applications>";
    let group = targets::group(&api::decode(bare).unwrap());
    let t = &group.targets[0];
    assert_eq!(t.get("__address__"), Some("h:80"));
    assert_eq!(t.get("instance"), Some(""));
    assert_eq!(t.get("__meta_eureka_app_instance_country_id"), Some("0"));
    assert_eq!(t.get("__meta_eureka_app_instance_port"), None);
    assert_eq!(
        t.get("__meta_eureka_app_instance_metadata_x_y"),
        Some("a &amp; <b>c</b>")
    );
    assert_eq!(
        t.get("__meta_eureka_app_instance_datacenterinfo_metadata_availability_zone"),
        Some("z1")
    );
    assert!(api::decode("<applications><application><instance><port>x</port></instance></application></applications>").is_err());
    assert!(api::decode("not xml").is_err());
}
