//! OVHcloud SD's config, IP parsing, signature and labels, ported from Prometheus'
//! `discovery/ovhcloud/ovhcloud_test.go`, `vps_test.go` and `dedicated_server_test.go`
//! (their testdata is in `testdata/`).

use promsd_actors::model::labels_map;

use super::api::{DedicatedServer, Server, Vps};
use super::refresh::{server_path, signature};
use super::targets::{group, parse_ip_list};
use super::*;

fn parse(yaml: &str) -> Result<OvhcloudSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

const KEY: &str = "TDPKJdwZwAQPwKX2";
const SECRET: &str = "9ufkBmLaTQ9nz5yMUlg79taH0GNnzDjk";
const CONSUMER: &str = "5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY";

#[test]
fn config_defaults_and_validation() {
    let c = parse(&format!(
        "service: vps\napplication_key: {KEY}\napplication_secret: {SECRET}\nconsumer_key: {CONSUMER}\n"
    ))
    .unwrap();
    assert_eq!(c.endpoint, "ovh-eu");
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    assert_eq!(c.service, Service::Vps);
    // getMockConf: a URL endpoint and 1m.
    let c = parse(&format!("endpoint: https://localhost:1234\napplication_key: {KEY}\napplication_secret: {SECRET}\nconsumer_key: {CONSUMER}\nrefresh_interval: 1m\nservice: dedicated_server\n")).unwrap();
    assert_eq!(c.service, Service::DedicatedServer);
    assert_eq!(endpoint_url(&c.endpoint).unwrap(), "https://localhost:1234");
    for (yaml, message) in [
        ("endpoint: ''\n", "endpoint can not be empty"),
        ("service: vps\n", "application key can not be empty"),
        ("application_key: k\n", "application secret can not be empty"),
        (
            "application_key: k\napplication_secret: s\n",
            "consumer key can not be empty",
        ),
        (
            "application_key: k\napplication_secret: s\nconsumer_key: c\n",
            "unknown service: ",
        ),
        (
            "application_key: k\napplication_secret: s\nconsumer_key: c\nservice: fakeservice\n",
            "unknown service: fakeservice",
        ),
        (
            "application_key: k\napplication_secret: s\nconsumer_key: c\nservice: vps\nrefresh_interval: 0s\n",
            "refresh_interval must be greater than 0",
        ),
        (
            "application_key: k\napplication_secret: s\nconsumer_key: c\nservice: vps\nproxy_url: http://x\n",
            "unknown field `proxy_url`",
        ),
    ] {
        let e = parse(yaml).unwrap_err();
        assert!(e.contains(message), "{yaml}: {e}");
    }
}

#[test]
fn endpoints_as_go_ovh() {
    assert_eq!(
        endpoint_url("ovh-eu").unwrap(),
        "https://eu.api.ovh.com/1.0"
    );
    assert_eq!(
        endpoint_url("ovh-us").unwrap(),
        "https://api.us.ovhcloud.com/1.0"
    );
    assert_eq!(
        endpoint_url("http://127.0.0.1:1/api/1.0").unwrap(),
        "http://127.0.0.1:1/api/1.0"
    );
    assert!(endpoint_url("ovh-mars")
        .unwrap_err()
        .contains("unknown endpoint 'ovh-mars'"));
    assert!(endpoint_url("https://x/")
        .unwrap_err()
        .contains("tailing slash"));
}

/// `TestParseIPs`.
#[test]
fn parse_ips() {
    let err = Err("could not parse IP addresses from list".to_string());
    for (input, ok) in [
        ("A.b", false),
        ("0.0.0.0", false),
        ("", false),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", true),
        ("bbb:cccc:1111", false),
        ("192.0.2.1/23", false),
        ("192.0.2.1/32", true),
    ] {
        let got = parse_ip_list(&[input.to_string()]);
        if ok {
            assert!(got.is_ok(), "{input}");
        } else {
            assert_eq!(got, err, "{input}");
        }
    }
}

#[test]
fn signature_and_paths() {
    // Checked against the system's `sha1sum`, not ring.
    let text = "s+c+GET+https://eu.api.ovh.com/1.0/vps++1700000000";
    assert_eq!(
        signature(
            "s",
            "c",
            "GET",
            "https://eu.api.ovh.com/1.0/vps",
            "",
            1700000000
        ),
        format!("$1${}", sha1_hex(text))
    );
    assert_eq!(server_path("/vps", "abc", ""), "/vps/abc");
    assert_eq!(server_path("/vps", "a b/c", "ips"), "/vps/a+b%2Fc/ips");
    assert_eq!(
        server_path("/dedicated/server", "ns1.ip-1-2-3.eu", "ips"),
        "/dedicated/server/ns1.ip-1-2-3.eu/ips"
    );
    assert_eq!(server_path("/dedicated/server", "..", ""), "/dedicated");
}

/// An independent SHA-1 through the system's `sha1sum`.
fn sha1_hex(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..40].to_string()
}

fn testdata(path: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/discovery/ovhcloud/testdata")
            .join(path),
    )
    .unwrap()
}

/// `TestOvhCloudVpsRefresh`.
#[test]
fn vps_labels() {
    let vps: Vps = serde_json::from_str(&testdata("vps/vps_details.json")).unwrap();
    let ips: Vec<String> = serde_json::from_str(&testdata("vps/vps_abc_ips.json")).unwrap();
    let ips = parse_ip_list(&ips).unwrap();
    let g = group(Service::Vps, &[(Server::Vps(vps), ips)]);
    assert_eq!(g.source.as_ref(), "ovhcloud_vps");
    assert_eq!(g.targets.len(), 1);
    let want: std::collections::BTreeMap<String, String> = [
        ("__address__", "192.0.2.1"),
        ("__meta_ovhcloud_vps_ipv4", "192.0.2.1"),
        ("__meta_ovhcloud_vps_ipv6", ""),
        ("__meta_ovhcloud_vps_cluster", "cluster_test"),
        ("__meta_ovhcloud_vps_datacenter", "[]"),
        ("__meta_ovhcloud_vps_disk", "40"),
        ("__meta_ovhcloud_vps_display_name", "abc"),
        ("__meta_ovhcloud_vps_maximum_additional_ip", "16"),
        ("__meta_ovhcloud_vps_memory", "2048"),
        ("__meta_ovhcloud_vps_memory_limit", "2048"),
        ("__meta_ovhcloud_vps_model_name", "vps-value-1-2-40"),
        ("__meta_ovhcloud_vps_name", "abc"),
        ("__meta_ovhcloud_vps_netboot_mode", "local"),
        ("__meta_ovhcloud_vps_offer", "VPS abc"),
        ("__meta_ovhcloud_vps_offer_type", "ssd"),
        ("__meta_ovhcloud_vps_state", "running"),
        ("__meta_ovhcloud_vps_vcore", "1"),
        ("__meta_ovhcloud_vps_model_vcore", "1"),
        ("__meta_ovhcloud_vps_version", "2019v1"),
        ("__meta_ovhcloud_vps_zone", "zone"),
        ("instance", "abc"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(labels_map(&g.targets[0]), want);
}

/// `TestOvhcloudDedicatedServerRefresh`.
#[test]
fn dedicated_server_labels() {
    let s: DedicatedServer =
        serde_json::from_str(&testdata("dedicated_server/dedicated_servers_details.json")).unwrap();
    let ips: Vec<String> = serde_json::from_str(&testdata(
        "dedicated_server/dedicated_servers_abcde_ips.json",
    ))
    .unwrap();
    let ips = parse_ip_list(&ips).unwrap();
    let g = group(Service::DedicatedServer, &[(Server::Dedicated(s), ips)]);
    assert_eq!(g.source.as_ref(), "ovhcloud_dedicated_server");
    let want: std::collections::BTreeMap<String, String> = [
        ("__address__", "1.2.3.4"),
        (
            "__meta_ovhcloud_dedicated_server_commercial_range",
            "Advance-1 Gen 2",
        ),
        ("__meta_ovhcloud_dedicated_server_datacenter", "gra3"),
        ("__meta_ovhcloud_dedicated_server_ipv4", "1.2.3.4"),
        ("__meta_ovhcloud_dedicated_server_ipv6", ""),
        ("__meta_ovhcloud_dedicated_server_link_speed", "123"),
        ("__meta_ovhcloud_dedicated_server_name", "abcde"),
        ("__meta_ovhcloud_dedicated_server_no_intervention", "false"),
        ("__meta_ovhcloud_dedicated_server_os", "debian11_64"),
        ("__meta_ovhcloud_dedicated_server_rack", "TESTRACK"),
        ("__meta_ovhcloud_dedicated_server_reverse", "abcde-rev"),
        ("__meta_ovhcloud_dedicated_server_server_id", "1234"),
        ("__meta_ovhcloud_dedicated_server_state", "test"),
        ("__meta_ovhcloud_dedicated_server_support_level", "pro"),
        ("instance", "abcde"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(labels_map(&g.targets[0]), want);
}

#[test]
fn datacenter_list_and_address_fallback() {
    let mut vps = Vps::default();
    vps.model.datacenter = vec!["gra".into(), "sbg".into()];
    let ips = parse_ip_list(&["2001:db8::1".to_string()]).unwrap();
    let g = group(Service::Vps, &[(Server::Vps(vps), ips)]);
    let l = labels_map(&g.targets[0]);
    assert_eq!(l["__meta_ovhcloud_vps_datacenter"], "[gra sbg]");
    assert_eq!(l["__address__"], "2001:db8::1");
}
