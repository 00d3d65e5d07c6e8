//! Lightsail through the CLI: Prometheus' lightsail_test.go cases (fully populated instance,
//! each optional field absent, only a private IP) served as GetInstances JSON 1.1 answers.

use std::sync::Arc;

use serde_json::{json, Value};

use super::fixture::*;

const AK: &str = "AKIDLIGHTSAIL";
const SK: &str = "lightsail-secret";

/// lightsail_test.go `fullyPopulatedLightsailInstance`, plus what the API also returns.
fn full() -> Value {
    json!({
        "arn": "arn:aws:lightsail:us-east-1:123456789012:Instance/1",
        "name": "instance-1",
        "supportCode": "support-code-1",
        "createdAt": 1.700000000E9,
        "location": {"availabilityZone": "us-east-1a", "regionName": "us-east-1"},
        "resourceType": "Instance",
        "blueprintId": "ubuntu_22_04",
        "blueprintName": "Ubuntu",
        "bundleId": "nano_2_0",
        "isStaticIp": false,
        "privateIpAddress": "10.0.0.1",
        "state": {"code": 16, "name": "running"}
    })
}

/// The case an instance list stands for, chosen by the signed region.
fn instances(region: &str) -> Vec<Value> {
    let mut inst = full();
    let o = inst.as_object_mut().unwrap();
    match region {
        "full" => {}
        "extras" => {
            o.insert("publicIpAddress".into(), json!("54.1.2.3"));
            o.insert(
                "ipv6Addresses".into(),
                json!(["2600:1f18::1", "2600:1f18::2"]),
            );
            o.insert(
                "tags".into(),
                json!([{"key": "env-name", "value": "prod"}, {"key": "nokey"}, {"value": "x"}]),
            );
        }
        "nil-location" => {
            o.remove("location");
        }
        "nil-location-az" => {
            o.insert("location".into(), json!({}));
        }
        "nil-state" => {
            o.remove("state");
        }
        "nil-state-name" => {
            o.insert("state".into(), json!({"code": 16}));
        }
        "nil-blueprint" => {
            o.remove("blueprintId");
        }
        "nil-bundle" => {
            o.remove("bundleId");
        }
        "nil-name" => {
            o.remove("name");
        }
        "nil-support-code" => {
            o.remove("supportCode");
        }
        "all-nil" => return vec![json!({"privateIpAddress": "10.0.0.9"})],
        "no-private-ip" => {
            o.remove("privateIpAddress");
        }
        _ => return vec![],
    }
    vec![inst]
}

fn responder() -> Responder {
    Arc::new(|call: &Call| {
        assert_eq!(call.service, "lightsail");
        assert_eq!(call.target, "Lightsail_20161128.GetInstances");
        assert_eq!(call.json, json!({}));
        json(json!({"instances": instances(&call.region)}))
    })
}

fn config(endpoint: &str, region: &str) -> String {
    format!(
        "scrape_configs:\n  - job_name: ls\n    lightsail_sd_configs:\n      - region: {region}\n        endpoint: {endpoint}\n        access_key: {AK}\n        secret_key: {SK}\n        port: 8080\n"
    )
}

const FULL: &[(&str, &str)] = &[
    ("__address__", "10.0.0.1:8080"),
    ("__meta_lightsail_availability_zone", "us-east-1a"),
    ("__meta_lightsail_blueprint_id", "ubuntu_22_04"),
    ("__meta_lightsail_bundle_id", "nano_2_0"),
    ("__meta_lightsail_instance_name", "instance-1"),
    ("__meta_lightsail_instance_state", "running"),
    ("__meta_lightsail_instance_support_code", "support-code-1"),
    ("__meta_lightsail_private_ip", "10.0.0.1"),
];

fn full_in(region: &str) -> Labels {
    let mut l = label_sets(&[FULL]).remove(0);
    l.insert("__meta_lightsail_region".into(), region.into());
    l
}

/// `TestLightsailRefreshFullyPopulated`, `TestLightsailRefreshNilOptionalFields`,
/// `TestLightsailRefreshAllOptionalFieldsNil`.
#[test]
fn upstream_cases() {
    let fixture = Fixture::start(&[(AK, SK)], responder());
    let got = check_sd(&config(&fixture.url, "full"), "ls", &[]).unwrap();
    assert_eq!(got, vec![full_in("full")]);

    for (region, absent) in [
        ("nil-location", "__meta_lightsail_availability_zone"),
        ("nil-location-az", "__meta_lightsail_availability_zone"),
        ("nil-state", "__meta_lightsail_instance_state"),
        ("nil-state-name", "__meta_lightsail_instance_state"),
        ("nil-blueprint", "__meta_lightsail_blueprint_id"),
        ("nil-bundle", "__meta_lightsail_bundle_id"),
        ("nil-name", "__meta_lightsail_instance_name"),
        ("nil-support-code", "__meta_lightsail_instance_support_code"),
    ] {
        let got = check_sd(&config(&fixture.url, region), "ls", &[]).unwrap();
        let mut expected = full_in(region);
        expected.remove(absent);
        assert_eq!(got, vec![expected], "case {region}");
    }

    let got = check_sd(&config(&fixture.url, "all-nil"), "ls", &[]).unwrap();
    assert_eq!(
        got,
        label_sets(&[&[
            ("__address__", "10.0.0.9:8080"),
            ("__meta_lightsail_private_ip", "10.0.0.9"),
            ("__meta_lightsail_region", "all-nil"),
        ]])
    );

    let got = check_sd(&config(&fixture.url, "no-private-ip"), "ls", &[]).unwrap();
    assert!(got.is_empty());

    let got = check_sd(&config(&fixture.url, "extras"), "ls", &[]).unwrap();
    let mut expected = full_in("extras");
    for (k, v) in [
        ("__meta_lightsail_public_ip", "54.1.2.3"),
        (
            "__meta_lightsail_ipv6_addresses",
            ",2600:1f18::1,2600:1f18::2,",
        ),
        ("__meta_lightsail_tag_env_name", "prod"),
    ] {
        expected.insert(k.into(), v.into());
    }
    assert_eq!(got, vec![expected]);
    assert!(fixture.rejected().is_empty(), "{:?}", fixture.rejected());
    let call = &fixture.calls()[0];
    assert_eq!(call.method, "POST");
    assert_eq!(
        call.header("content-type"),
        Some("application/x-amz-json-1.1")
    );
}

/// `aws_sd_configs` with `role: lightsail`.
#[test]
fn aws_sd_configs_role_lightsail() {
    let fixture = Fixture::start(&[(AK, SK)], responder());
    let yaml = format!(
        "scrape_configs:\n  - job_name: aws\n    aws_sd_configs:\n      - role: lightsail\n        region: full\n        endpoint: {}\n        access_key: {AK}\n        secret_key: {SK}\n        port: 8080\n",
        fixture.url
    );
    assert_eq!(check_sd(&yaml, "aws", &[]).unwrap(), vec![full_in("full")]);
}
