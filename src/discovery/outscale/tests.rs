//! Outscale SD's config and labels: `TestVmsToLabelSets` from Prometheus'
//! `discovery/outscale/vm_test.go`, case by case, and the config's checks from
//! `outscale.go`'s `UnmarshalYAML`.

use promsd_actors::model::labels_map;

use super::refresh::request_body;
use super::targets::{vm_labels, Placement, Tag, Vm};
use super::*;

fn parse(yaml: &str) -> Result<OutscaleSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[test]
fn config_defaults_and_validation() {
    let c = parse("access_key: AK\nsecret_key: SK\n").unwrap();
    assert_eq!(c.region, "eu-west-2");
    assert_eq!(c.endpoint, "https://api.eu-west-2.outscale.com/api/v1");
    assert_eq!(c.port, 80);
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    let c = parse("region: us-east-2\naccess_key: AK\nsecret_key_file: sk\n").unwrap();
    assert_eq!(c.endpoint, "https://api.us-east-2.outscale.com/api/v1");
    let c = parse("endpoint: http://127.0.0.1:1/api\naccess_key: AK\nsecret_key: SK\n").unwrap();
    assert_eq!(c.endpoint, "http://127.0.0.1:1/api");
    for (yaml, message) in [
        (
            "region: ''\n",
            "outscale SD configuration requires a region",
        ),
        (
            "secret_key: x\n",
            "outscale SD configuration requires access_key",
        ),
        (
            "access_key: AK\n",
            "one of secret_key & secret_key_file must be configured",
        ),
        (
            "access_key: AK\nsecret_key: a\nsecret_key_file: b\n",
            "at most one of secret_key & secret_key_file must be configured",
        ),
        (
            "access_key: AK\nsecret_key: a\nrefresh_interval: 0s\n",
            "refresh_interval must be greater than 0",
        ),
        ("access_key: AK\nsecret_key: a\nbogus: 1\n", "bogus"),
    ] {
        let e = parse(yaml).unwrap_err();
        assert!(e.contains(message), "{yaml}: {e}");
    }
}

#[test]
fn request_bodies_as_osc_sdk_go() {
    assert_eq!(request_body(None), "{}\n");
    assert_eq!(request_body(Some("t1")), "{\"NextPageToken\":\"t1\"}\n");
}

fn one(vm: Vm) -> Vec<std::collections::BTreeMap<String, String>> {
    vm_labels(&[vm], "eu-west-2", 9090)
        .iter()
        .map(labels_map)
        .collect()
}

#[test]
fn vms_to_label_sets() {
    // empty
    assert!(vm_labels(&[], "eu-west-2", 9090).is_empty());
    // skip_no_ip
    assert!(one(Vm {
        vm_id: s("i-1"),
        state: s("running"),
        ..Vm::default()
    })
    .is_empty());
    // private_ip_preferred
    let out = one(Vm {
        vm_id: s("i-abc"),
        state: s("running"),
        private_ip: s("10.1.2.3"),
        public_ip: s("1.2.3.4"),
        ..Vm::default()
    });
    assert_eq!(out.len(), 1);
    let l = &out[0];
    assert_eq!(l["__address__"], "10.1.2.3:9090");
    assert_eq!(l["__meta_outscale_vm_instance_id"], "i-abc");
    assert_eq!(l["__meta_outscale_vm_region"], "eu-west-2");
    assert_eq!(l["__meta_outscale_vm_state"], "running");
    assert_eq!(l["__meta_outscale_vm_private_ip"], "10.1.2.3");
    assert_eq!(l["__meta_outscale_vm_public_ip"], "1.2.3.4");
    // public_ip_fallback
    let out = one(Vm {
        vm_id: s("i-pub"),
        state: s("running"),
        public_ip: s("203.0.113.10"),
        ..Vm::default()
    });
    assert_eq!(out[0]["__address__"], "203.0.113.10:9090");
    assert_eq!(out[0]["__meta_outscale_vm_public_ip"], "203.0.113.10");
    assert!(!out[0].contains_key("__meta_outscale_vm_private_ip"));
    // subregion_and_tags
    let out = one(Vm {
        vm_id: s("i-tagged"),
        state: s("stopped"),
        private_ip: s("10.0.0.5"),
        placement: Some(Placement {
            subregion_name: s("eu-west-2a"),
        }),
        tags: Some(vec![
            Tag {
                key: "Name".into(),
                value: "my-vm".into(),
            },
            Tag {
                key: "env".into(),
                value: "prod".into(),
            },
        ]),
        ..Vm::default()
    });
    assert_eq!(out[0]["__meta_outscale_vm_subregion"], "eu-west-2a");
    assert_eq!(out[0]["__meta_outscale_vm_tag_Name"], "my-vm");
    assert_eq!(out[0]["__meta_outscale_vm_tag_env"], "prod");
    // skips_empty_tag_key_or_value
    let out = one(Vm {
        vm_id: s("i-tags"),
        private_ip: s("10.0.0.1"),
        tags: Some(vec![
            Tag {
                key: "Good".into(),
                value: "yes".into(),
            },
            Tag {
                key: "".into(),
                value: "skip".into(),
            },
            Tag {
                key: "EmptyVal".into(),
                value: "".into(),
            },
        ]),
        ..Vm::default()
    });
    assert_eq!(out[0]["__meta_outscale_vm_tag_Good"], "yes");
    assert!(!out[0].contains_key("__meta_outscale_vm_tag_"));
    assert!(!out[0].contains_key("__meta_outscale_vm_tag_EmptyVal"));
    // state absent: empty value
    assert_eq!(out[0]["__meta_outscale_vm_state"], "");
}
