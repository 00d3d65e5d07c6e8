//! GCE SD's config (Prometheus' defaults, validation order and messages), the request URL,
//! the JWT, and the labels of instances: Prometheus has no GCE test, so the table below is
//! derived from `gce.go`'s `refresh`, case by case.

use std::collections::BTreeMap;

use base64::Engine as _;
use promsd_actors::model::labels_map;

use super::*;

fn parse(yaml: &str) -> Result<GceSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn defaults_are_prometheus_defaults() {
    let c = parse("project: p\nzone: z\n").unwrap();
    assert_eq!(c.port, 80);
    assert_eq!(c.tag_separator, ",");
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    assert_eq!(c.filter, "");
    let c = parse("project: p\nzone: z\nfilter: 'status = \"RUNNING\"'\nport: 9100\ntag_separator: '|'\nrefresh_interval: 2m\n").unwrap();
    assert_eq!((c.port, c.tag_separator.as_str()), (9100, "|"));
    assert_eq!(c.refresh_interval, Duration::from_secs(120));
    assert_eq!(c.filter, "status = \"RUNNING\"");
    // `null` is Go's zero value.
    assert_eq!(
        parse("project: p\nzone: z\ntag_separator:\n")
            .unwrap()
            .tag_separator,
        ""
    );
}

#[test]
fn validation_as_prometheus() {
    for (yaml, message) in [
        ("zone: z\n", "GCE SD configuration requires a project"),
        ("project: p\n", "GCE SD configuration requires a zone"),
        (
            "project: ''\nzone: ''\n",
            "GCE SD configuration requires a project",
        ),
        (
            "project: p\nzone: z\nrefresh_interval: 0s\n",
            "refresh_interval must be greater than 0",
        ),
        (
            "project: p\nzone: z\nproxy_url: http://x\n",
            "unknown field `proxy_url`",
        ),
    ] {
        let e = parse(yaml).unwrap_err();
        assert!(e.contains(message), "{yaml}: {e}");
    }
}

#[test]
fn list_urls_as_the_go_client() {
    let c = parse("project: my-project\nzone: europe-west1-b\n").unwrap();
    assert_eq!(
        refresh::list_url(&c, ""),
        "https://compute.googleapis.com/compute/v1/projects/my-project/zones/europe-west1-b/instances?alt=json&prettyPrint=false"
    );
    let c = parse("project: p\nzone: z\nfilter: '(labels.env = \"prod\") AND (name = web-*)'\n")
        .unwrap();
    assert_eq!(
        refresh::list_url(&c, "tok/2=="),
        "https://compute.googleapis.com/compute/v1/projects/p/zones/z/instances?alt=json&filter=%28labels.env+%3D+%22prod%22%29+AND+%28name+%3D+web-%2A%29&pageToken=tok%2F2%3D%3D&prettyPrint=false"
    );
}

/// The assertion x/oauth2's jwt package makes, checked field by field (its signature is
/// checked by the end-to-end test with openssl).
#[test]
fn assertion_claims() {
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/mechanisms/gce_testdata/service-account.json"
    ))
    .unwrap();
    let file: api::CredentialsFile = serde_json::from_str(&pem).unwrap();
    let key = auth::parse_key(&file.private_key).unwrap();
    let jwt = auth::assertion(
        &key,
        "kid1",
        "sd@p.iam.gserviceaccount.com",
        "https://oauth2.googleapis.com/token",
        1_700_000_000,
    )
    .unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    assert_eq!(
        b64.decode(parts[0]).unwrap(),
        br#"{"alg":"RS256","typ":"JWT","kid":"kid1"}"#
    );
    assert_eq!(
        String::from_utf8(b64.decode(parts[1]).unwrap()).unwrap(),
        r#"{"iss":"sd@p.iam.gserviceaccount.com","scope":"https://www.googleapis.com/auth/compute.readonly","aud":"https://oauth2.googleapis.com/token","exp":1700003590,"iat":1699999990}"#
    );
    assert_eq!(b64.decode(parts[2]).unwrap().len(), 256);
}

fn ctx() -> targets::Context {
    targets::Context {
        project: "my-project".into(),
        zone: "europe-west1-b".into(),
        port: 9100,
        tag_separator: ",".into(),
    }
}

fn labels(json: serde_json::Value) -> Option<BTreeMap<String, String>> {
    let inst: api::Instance = serde_json::from_value(json).unwrap();
    targets::instance(&ctx(), &inst).map(|l| labels_map(&l))
}

const ZONE: &str = "https://www.googleapis.com/compute/v1/projects/my-project/zones/europe-west1-b";

/// Every branch of `gce.go`'s `refresh` loop.
#[test]
fn labels_as_gce_go_builds_them() {
    // No network interface: no target.
    assert_eq!(labels(serde_json::json!({"id": "1", "name": "a"})), None);
    assert_eq!(
        labels(serde_json::json!({"id": "1", "name": "a", "networkInterfaces": []})),
        None
    );

    // Everything: two interfaces, a NAT, tags, metadata (one without a value), labels.
    let got = labels(serde_json::json!({
        "id": "18446744073709551615",
        "name": "web-1",
        "zone": ZONE,
        "status": "RUNNING",
        "machineType": format!("{ZONE}/machineTypes/e2-small"),
        "networkInterfaces": [
            {"name": "nic0", "network": "https://www.googleapis.com/compute/v1/projects/my-project/global/networks/default",
             "subnetwork": "https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1/subnetworks/default",
             "networkIP": "10.132.0.2",
             "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "name": "External NAT", "natIP": "203.0.113.7"}]},
            {"name": "nic-1.b", "network": "n2", "networkIP": "10.8.0.3"}
        ],
        "tags": {"items": ["http-server", "prod"], "fingerprint": "x"},
        "metadata": {"items": [{"key": "startup-script", "value": "echo hi"}, {"key": "empty"}, {"key": "null", "value": null}]},
        "labels": {"env": "prod", "team.name": "sre"}
    }))
    .unwrap();
    let want: BTreeMap<String, String> = [
        ("__address__", "10.132.0.2:9100"),
        ("__meta_gce_instance_id", "18446744073709551615"),
        ("__meta_gce_instance_name", "web-1"),
        ("__meta_gce_instance_status", "RUNNING"),
        ("__meta_gce_interface_ipv4_nic0", "10.132.0.2"),
        ("__meta_gce_interface_ipv4_nic_1_b", "10.8.0.3"),
        ("__meta_gce_label_env", "prod"),
        ("__meta_gce_label_team_name", "sre"),
        ("__meta_gce_machine_type", &format!("{ZONE}/machineTypes/e2-small")),
        ("__meta_gce_metadata_startup_script", "echo hi"),
        ("__meta_gce_network", "https://www.googleapis.com/compute/v1/projects/my-project/global/networks/default"),
        ("__meta_gce_private_ip", "10.132.0.2"),
        ("__meta_gce_project", "my-project"),
        ("__meta_gce_public_ip", "203.0.113.7"),
        ("__meta_gce_subnetwork", "https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1/subnetworks/default"),
        ("__meta_gce_tags", ",http-server,prod,"),
        ("__meta_gce_zone", ZONE),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(got, want);

    // A bare interface: empty network labels; no tags label for an empty tag list; an access
    // config of another type gives no public IP; IPv6 is not bracketed (`%s:%d`).
    let got = labels(serde_json::json!({
        "id": 7, "name": "b", "networkInterfaces": [
            {"networkIP": "fd00::1", "accessConfigs": [{"type": "DIRECT_IPV6", "natIP": "x"}]}
        ],
        "tags": {"items": []}, "metadata": {}
    }))
    .unwrap();
    assert_eq!(got["__address__"], "fd00::1:9100");
    assert_eq!(got["__meta_gce_interface_ipv4_"], "fd00::1");
    assert_eq!(got["__meta_gce_instance_id"], "7");
    assert_eq!(got["__meta_gce_network"], "");
    assert!(!got.contains_key("__meta_gce_tags"));
    assert!(!got.contains_key("__meta_gce_public_ip"));

    // Only the primary interface's first access config counts.
    let got = labels(serde_json::json!({
        "id": "8", "networkInterfaces": [
            {"networkIP": "10.0.0.1", "accessConfigs": [{"type": "DIRECT_IPV6"}, {"type": "ONE_TO_ONE_NAT", "natIP": "1.2.3.4"}]},
            {"networkIP": "10.0.0.2", "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "natIP": "5.6.7.8"}]}
        ]
    }))
    .unwrap();
    assert!(!got.contains_key("__meta_gce_public_ip"));

    // The tag separator surrounds the list.
    let inst: api::Instance = serde_json::from_value(serde_json::json!({
        "networkInterfaces": [{"networkIP": "10.0.0.1"}], "tags": {"items": ["a"]}
    }))
    .unwrap();
    let mut c = ctx();
    c.tag_separator = ";".into();
    assert_eq!(
        targets::instance(&c, &inst).unwrap().get("__meta_gce_tags"),
        Some(";a;")
    );
    assert_eq!(c.source(), "GCE_my-project_europe-west1-b");
}
