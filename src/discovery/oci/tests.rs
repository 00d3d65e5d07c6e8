//! Prometheus' `discovery/oci/oci_test.go`, ported: each test names the upstream one. The
//! refresh tests drive [`refresh_group`] through a table-backed [`OciApi`] instead of Go's
//! closure stubs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use promsd_actors::model::labels_map;
use serde_json::json;

use super::api::{Compartment, Instance, Vnic, VnicAttachment};
use super::refresh::{list_all_compartments, refresh_group, OciApi};
use super::targets::{instance_labels, join_ipv6, stringify_defined_tag, VnicInfo};
use super::*;
use crate::discovery::kit::ApiError;

const TEST_COMPARTMENT: &str = "ocid1.compartment.oc1..comp001";
const TEST_TENANCY: &str = "ocid1.tenancy.oc1..test001";

fn make_instance() -> Instance {
    Instance {
        id: Some("ocid1.instance.oc1.iad.aaa001".into()),
        display_name: Some("test-instance-1".into()),
        shape: Some("VM.Standard.E4.Flex".into()),
        availability_domain: Some("US-ASHBURN-AD-1".into()),
        fault_domain: Some("FAULT-DOMAIN-1".into()),
        image_id: Some("ocid1.image.oc1.iad.img001".into()),
        region: Some("us-ashburn-1".into()),
        compartment_id: Some(TEST_COMPARTMENT.into()),
        lifecycle_state: "RUNNING".into(),
        ..Default::default()
    }
}

fn make_vnic(id: &str, private_ip: &str, public_ip: &str) -> Vnic {
    Vnic {
        id: Some(id.into()),
        is_primary: Some(true),
        private_ip: Some(private_ip.into()),
        public_ip: (!public_ip.is_empty()).then(|| public_ip.into()),
        ..Default::default()
    }
}

fn primary_only(id: &str, private_ip: &str, public_ip: &str) -> VnicInfo {
    VnicInfo {
        id: id.into(),
        private_ip: private_ip.into(),
        public_ip: public_ip.into(),
        ..Default::default()
    }
}

fn labels(inst: &Instance, vnic: &VnicInfo, tenancy: &str, port: i64) -> BTreeMap<String, String> {
    labels_map(&instance_labels(inst, vnic, tenancy, port))
}

// ---- instanceLabels ----

#[test]
fn instance_labels_core_labels() {
    let l = labels(
        &make_instance(),
        &primary_only("ocid1.vnic.oc1..v001", "10.0.0.5", "203.0.113.1"),
        TEST_TENANCY,
        9100,
    );
    let expected: BTreeMap<String, String> = [
        ("__address__", "10.0.0.5:9100"),
        ("__meta_oci_instance_id", "ocid1.instance.oc1.iad.aaa001"),
        ("__meta_oci_instance_name", "test-instance-1"),
        ("__meta_oci_instance_state", "RUNNING"),
        ("__meta_oci_instance_shape", "VM.Standard.E4.Flex"),
        ("__meta_oci_availability_domain", "US-ASHBURN-AD-1"),
        ("__meta_oci_fault_domain", "FAULT-DOMAIN-1"),
        ("__meta_oci_region", "us-ashburn-1"),
        ("__meta_oci_tenancy_id", TEST_TENANCY),
        (
            "__meta_oci_compartment_id",
            "ocid1.compartment.oc1..comp001",
        ),
        ("__meta_oci_image_id", "ocid1.image.oc1.iad.img001"),
        ("__meta_oci_vnic_id", "ocid1.vnic.oc1..v001"),
        ("__meta_oci_private_ip", "10.0.0.5"),
        ("__meta_oci_public_ip", "203.0.113.1"),
        ("__meta_oci_hostname_label", ""),
        ("__meta_oci_ipv6_addresses", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(l, expected);
}

#[test]
fn instance_labels_address_private_then_public() {
    // TestInstanceLabels_AddressIsPrivateIPWhenBothPresent / _AddressFallsBackToPublicIP
    let i = make_instance();
    assert_eq!(
        labels(&i, &primary_only("v", "10.0.0.5", "203.0.113.1"), "t", 80)["__address__"],
        "10.0.0.5:80"
    );
    assert_eq!(
        labels(&i, &primary_only("v", "", "203.0.113.1"), "t", 80)["__address__"],
        "203.0.113.1:80"
    );
}

#[test]
fn instance_labels_freeform_tags_sanitized() {
    let mut i = make_instance();
    for (k, v) in [
        ("environment", "production"),
        ("My-Tag.Key", "value"),
        ("123numeric", "v"),
        ("Env", "upper"),
        ("env", "lower"),
    ] {
        i.freeform_tags.insert(k.into(), v.into());
    }
    let l = labels(&i, &primary_only("v", "10.0.0.1", ""), "t", 80);
    assert_eq!(l["__meta_oci_tag_environment"], "production");
    assert_eq!(l["__meta_oci_tag_My_Tag_Key"], "value");
    assert_eq!(l["__meta_oci_tag_123numeric"], "v");
    assert_eq!(l["__meta_oci_tag_Env"], "upper");
    assert_eq!(l["__meta_oci_tag_env"], "lower");
}

#[test]
fn instance_labels_defined_tags_stringify_scalars() {
    // As the SDK decodes them from JSON (IntValue arrives as a JSON number too).
    let mut i = make_instance();
    let tags: BTreeMap<String, serde_json::Value> = serde_json::from_value(json!({
        "CreatedBy": "user@example.com", "CostCenter": "42", "FloatValue": 100,
        "DecimalRate": 0.5, "BoolValue": true, "IntValue": 7, "NilValue": null,
        "SliceValue": ["a"]
    }))
    .unwrap();
    i.defined_tags.insert("Oracle-Tags".into(), tags);
    let l = labels(&i, &primary_only("v", "10.0.0.1", ""), "t", 80);
    let p = "__meta_oci_defined_tag_Oracle_Tags_";
    assert_eq!(l[&format!("{p}CreatedBy")], "user@example.com");
    assert_eq!(l[&format!("{p}CostCenter")], "42");
    assert_eq!(l[&format!("{p}FloatValue")], "100");
    assert_eq!(l[&format!("{p}DecimalRate")], "0.5");
    assert_eq!(l[&format!("{p}BoolValue")], "true");
    assert_eq!(l[&format!("{p}IntValue")], "7");
    assert!(!l.contains_key(&format!("{p}NilValue")));
    assert!(!l.contains_key(&format!("{p}SliceValue")));
}

#[test]
fn stringify_defined_tag_table() {
    // TestStringifyDefinedTag, for the values JSON can carry.
    for (input, want) in [
        (json!("abc"), Some("abc")),
        (json!(""), Some("")),
        (json!(true), Some("true")),
        (json!(false), Some("false")),
        (json!(42.0), Some("42")),
        (json!(2.25), Some("2.25")),
        (json!(1.5), Some("1.5")),
        (json!(7), Some("7")),
        (json!(-9), Some("-9")),
        (json!(null), None),
        (json!(["a"]), None),
        (json!({"a": 1}), None),
    ] {
        assert_eq!(stringify_defined_tag(&input).as_deref(), want, "{input}");
    }
}

#[test]
fn instance_labels_nil_optional_fields() {
    let i = Instance {
        lifecycle_state: "RUNNING".into(),
        ..Default::default()
    };
    let l = labels(&i, &primary_only("", "10.0.0.1", ""), "t", 80);
    assert_eq!(l["__address__"], "10.0.0.1:80");
    assert_eq!(l["__meta_oci_instance_id"], "");
    assert_eq!(l["__meta_oci_image_id"], "");
}

#[test]
fn instance_labels_port_in_address() {
    for port in [80, 9100, 9182, 443] {
        let l = labels(
            &make_instance(),
            &primary_only("v", "10.0.0.1", ""),
            "t",
            port,
        );
        assert_eq!(l["__address__"], format!("10.0.0.1:{port}"));
    }
}

#[test]
fn instance_labels_ipv6_and_hostname() {
    let v = VnicInfo {
        id: "ocid1.vnic.oc1..v001".into(),
        private_ip: "10.0.0.5".into(),
        ipv6_addresses: vec!["2001:db8::1".into(), "2001:db8::2".into()],
        hostname_label: "web-1".into(),
        ..Default::default()
    };
    let l = labels(&make_instance(), &v, TEST_TENANCY, 9100);
    assert_eq!(l["__meta_oci_ipv6_addresses"], ",2001:db8::1,2001:db8::2,");
    assert_eq!(l["__meta_oci_hostname_label"], "web-1");
    // TestInstanceLabels_IPv6OnlyAddress
    let v = VnicInfo {
        private_ip: String::new(),
        hostname_label: String::new(),
        ..v
    };
    assert_eq!(
        labels(&make_instance(), &v, TEST_TENANCY, 9100)["__address__"],
        "[2001:db8::1]:9100"
    );
}

#[test]
fn join_ipv6_table() {
    // TestJoinIPv6
    assert_eq!(join_ipv6(&[]), "");
    assert_eq!(join_ipv6(&["2001:db8::1".into()]), ",2001:db8::1,");
    assert_eq!(
        join_ipv6(&["2001:db8::1".into(), "2001:db8::2".into()]),
        ",2001:db8::1,2001:db8::2,"
    );
}

// ---- refresh, through a table-backed API ----

#[derive(Default)]
struct Fake {
    compartments: HashMap<String, Vec<Compartment>>,
    page_size: usize,
    denied: Vec<String>,
    instances: HashMap<String, Result<Vec<Instance>, String>>,
    attachments: Option<Result<Vec<VnicAttachment>, String>>,
    vnics: HashMap<String, Result<Vnic, String>>,
    calls: Mutex<HashMap<String, usize>>,
}

impl Fake {
    fn count(&self, what: &str) {
        *self
            .calls
            .lock()
            .unwrap()
            .entry(what.to_owned())
            .or_default() += 1;
    }
    fn calls(&self, what: &str) -> usize {
        self.calls.lock().unwrap().get(what).copied().unwrap_or(0)
    }
}

impl OciApi for Fake {
    async fn list_compartments(
        &self,
        parent: &str,
        page: Option<String>,
    ) -> Result<(Vec<Compartment>, Option<String>), ApiError> {
        self.count(parent);
        if self.denied.iter().any(|d| d == parent) {
            return Err("permission denied".into());
        }
        let all = self.compartments.get(parent).cloned().unwrap_or_default();
        if self.page_size == 0 || self.page_size >= all.len() {
            return Ok((all, None));
        }
        let start: usize = page.map_or(0, |p| p.parse().unwrap());
        let end = start + self.page_size;
        if end >= all.len() {
            return Ok((all[start..].to_vec(), None));
        }
        Ok((all[start..end].to_vec(), Some(end.to_string())))
    }

    async fn list_instances(&self, compartment: &str) -> Result<Vec<Instance>, ApiError> {
        match self.instances.get(compartment) {
            None => Ok(vec![]),
            Some(r) => r.clone().map_err(ApiError::Other),
        }
    }

    async fn list_vnic_attachments(
        &self,
        _compartment: &str,
        instance: &str,
    ) -> Result<Vec<VnicAttachment>, ApiError> {
        self.count("attachments");
        match &self.attachments {
            Some(r) => r.clone().map_err(ApiError::Other),
            None => Ok(self
                .vnics
                .keys()
                .map(|v| attachment(v))
                .filter(|_| !instance.is_empty())
                .collect()),
        }
    }

    async fn get_vnic(&self, vnic: &str) -> Result<Vnic, ApiError> {
        self.count("get_vnic");
        self.vnics
            .get(vnic)
            .cloned()
            .unwrap_or_else(|| Err("unexpected VNIC ID".into()))
            .map_err(ApiError::Other)
    }
}

fn attachment(vnic: &str) -> VnicAttachment {
    VnicAttachment {
        vnic_id: Some(vnic.into()),
        lifecycle_state: "ATTACHED".into(),
    }
}

fn single_instance(inst: Instance, vnic: Vnic) -> Fake {
    Fake {
        instances: HashMap::from([(TEST_COMPARTMENT.to_owned(), Ok(vec![inst]))]),
        vnics: HashMap::from([(vnic.id.clone().unwrap(), Ok(vnic))]),
        ..Default::default()
    }
}

fn run(api: &Fake, compartments: &[&str]) -> Result<Vec<BTreeMap<String, String>>, ApiError> {
    let compartments: Vec<String> = compartments.iter().map(|c| c.to_string()).collect();
    let group = futures::executor::block_on(refresh_group(api, &compartments, TEST_TENANCY, 9100))?;
    assert_eq!(&*group.source, "OCI");
    Ok(group.targets.iter().map(labels_map).collect())
}

#[test]
fn refresh_single_instance() {
    let api = single_instance(
        make_instance(),
        make_vnic("ocid1.vnic.oc1..v001", "10.0.0.5", "203.0.113.10"),
    );
    let t = run(&api, &[TEST_COMPARTMENT]).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["__address__"], "10.0.0.5:9100");
    assert_eq!(
        t[0]["__meta_oci_instance_id"],
        "ocid1.instance.oc1.iad.aaa001"
    );
    assert_eq!(t[0]["__meta_oci_vnic_id"], "ocid1.vnic.oc1..v001");
    assert_eq!(t[0]["__meta_oci_private_ip"], "10.0.0.5");
    assert_eq!(t[0]["__meta_oci_public_ip"], "203.0.113.10");
    assert_eq!(t[0]["__meta_oci_tenancy_id"], TEST_TENANCY);
}

#[test]
fn refresh_primary_vnic_ipv6_sorted_and_hostname_and_ipv6_only() {
    // TestRefresh_PrimaryVnicIPv6SortedAndHostname, TestRefresh_IPv6OnlyInstanceNotSkipped
    let vnic = Vnic {
        id: Some("ocid1.vnic.oc1..v001".into()),
        is_primary: Some(true),
        private_ip: Some("10.0.0.5".into()),
        ipv6_addresses: vec!["2001:db8::2".into(), "2001:db8::1".into()],
        hostname_label: Some("web-1".into()),
        ..Default::default()
    };
    let t = run(
        &single_instance(make_instance(), vnic.clone()),
        &[TEST_COMPARTMENT],
    )
    .unwrap();
    assert_eq!(
        t[0]["__meta_oci_ipv6_addresses"],
        ",2001:db8::1,2001:db8::2,"
    );
    assert_eq!(t[0]["__meta_oci_hostname_label"], "web-1");
    let ipv6_only = Vnic {
        private_ip: None,
        hostname_label: None,
        ..vnic
    };
    let t = run(
        &single_instance(make_instance(), ipv6_only),
        &[TEST_COMPARTMENT],
    )
    .unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["__address__"], "[2001:db8::1]:9100");
}

#[test]
fn refresh_resolves_primary_vnic_and_stops() {
    let mut api = single_instance(
        make_instance(),
        make_vnic("ocid1.vnic.oc1..p", "10.0.0.1", "203.0.113.1"),
    );
    let mut secondary = make_vnic("ocid1.vnic.oc1..s", "10.0.0.2", "203.0.113.2");
    secondary.is_primary = Some(false);
    api.vnics.insert("ocid1.vnic.oc1..s".into(), Ok(secondary));
    api.attachments = Some(Ok(vec![
        attachment("ocid1.vnic.oc1..p"),
        attachment("ocid1.vnic.oc1..s"),
    ]));
    let t = run(&api, &[TEST_COMPARTMENT]).unwrap();
    assert_eq!(t[0]["__address__"], "10.0.0.1:9100");
    assert_eq!(t[0]["__meta_oci_vnic_id"], "ocid1.vnic.oc1..p");
    assert_eq!(t[0]["__meta_oci_public_ip"], "203.0.113.1");
    assert_eq!(
        api.calls("get_vnic"),
        1,
        "must stop after resolving the primary VNIC"
    );
}

#[test]
fn refresh_multiple_compartments_one_group() {
    let (c1, c2, c3) = (
        "ocid1.compartment.oc1..c001",
        "ocid1.compartment.oc1..c002",
        "ocid1.compartment.oc1..c003",
    );
    let inst = |id: &str, c: &str| Instance {
        id: Some(id.into()),
        compartment_id: Some(c.into()),
        ..make_instance()
    };
    let api = Fake {
        instances: HashMap::from([
            (
                c1.to_owned(),
                Ok(vec![inst("ocid1.instance.oc1..i001", c1)]),
            ),
            (
                c2.to_owned(),
                Ok(vec![inst("ocid1.instance.oc1..i002", c2)]),
            ),
        ]),
        vnics: HashMap::from([(
            "ocid1.vnic.oc1..v001".to_owned(),
            Ok(make_vnic("ocid1.vnic.oc1..v001", "10.0.0.1", "")),
        )]),
        ..Default::default()
    };
    let t = run(&api, &[c1, c2, c3]).unwrap();
    let comps: Vec<&str> = t
        .iter()
        .map(|l| l["__meta_oci_compartment_id"].as_str())
        .collect();
    assert_eq!(comps, [c1, c2]);
    // TestRefresh_DisappearingCompartmentCleared: fewer compartments, fewer targets; none, an
    // empty group.
    assert_eq!(run(&api, &[c1]).unwrap().len(), 1);
    assert!(run(&api, &[c3]).unwrap().is_empty());
}

#[test]
fn refresh_list_instances_error_fails_the_refresh() {
    let api = Fake {
        instances: HashMap::from([(
            TEST_COMPARTMENT.to_owned(),
            Err("OCI API unavailable".to_owned()),
        )]),
        ..Default::default()
    };
    let err = run(&api, &[TEST_COMPARTMENT]).unwrap_err().to_string();
    assert!(err.contains("listing OCI instances in compartment ocid1.compartment.oc1..comp001: OCI API unavailable"), "{err}");
}

#[test]
fn refresh_empty_compartment() {
    assert!(run(&Fake::default(), &[TEST_COMPARTMENT])
        .unwrap()
        .is_empty());
}

#[test]
fn refresh_vnic_errors_and_no_primary_skip_the_instance() {
    // TestRefresh_VnicAttachmentError_InstanceSkipped
    let mut api = single_instance(
        make_instance(),
        make_vnic("ocid1.vnic.oc1..v001", "10.0.0.5", ""),
    );
    api.attachments = Some(Err("VNIC list failed".into()));
    assert!(run(&api, &[TEST_COMPARTMENT]).unwrap().is_empty());
    // TestRefresh_GetVnicError_InstanceSkipped
    let mut api = single_instance(
        make_instance(),
        make_vnic("ocid1.vnic.oc1..v001", "10.0.0.5", ""),
    );
    api.vnics
        .insert("ocid1.vnic.oc1..v001".into(), Err("GetVnic failed".into()));
    assert!(run(&api, &[TEST_COMPARTMENT]).unwrap().is_empty());
    // TestRefresh_NoPrimaryVnic_InstanceDropped
    let mut non_primary = make_vnic("ocid1.vnic.oc1..v001", "10.0.0.5", "");
    non_primary.is_primary = Some(false);
    assert!(run(
        &single_instance(make_instance(), non_primary),
        &[TEST_COMPARTMENT]
    )
    .unwrap()
    .is_empty());
}

#[test]
fn refresh_instance_with_nil_id_dropped() {
    let inst = Instance {
        id: None,
        ..make_instance()
    };
    let api = single_instance(inst, make_vnic("ocid1.vnic.oc1..v001", "10.0.0.5", ""));
    assert!(run(&api, &[TEST_COMPARTMENT]).unwrap().is_empty());
    assert_eq!(
        api.calls("attachments"),
        0,
        "instance with nil Id must not reach VNIC lookup"
    );
}

// ---- listAllCompartments ----

fn comp(id: &str, active: bool) -> Compartment {
    Compartment {
        id: Some(id.into()),
        lifecycle_state: if active { "ACTIVE" } else { "INACTIVE" }.into(),
    }
}

fn tree(pairs: &[(&str, Vec<Compartment>)]) -> Fake {
    Fake {
        compartments: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        ..Default::default()
    }
}

fn walk(api: &Fake) -> Vec<String> {
    let mut got = futures::executor::block_on(list_all_compartments(api, "root"));
    got.sort();
    got
}

#[test]
fn list_all_compartments_cases() {
    // TestListAllCompartments_BFSIncludesRoot
    let api = tree(&[
        ("root", vec![comp("c1", true), comp("c2", true)]),
        ("c1", vec![comp("c1a", true)]),
    ]);
    assert_eq!(walk(&api), ["c1", "c1a", "c2", "root"]);
    // TestListAllCompartments_PagedResults
    let mut api = tree(&[(
        "root",
        ["c1", "c2", "c3", "c4", "c5"]
            .iter()
            .map(|c| comp(c, true))
            .collect(),
    )]);
    api.page_size = 2;
    assert_eq!(walk(&api), ["c1", "c2", "c3", "c4", "c5", "root"]);
    assert_eq!(
        api.calls("root"),
        3,
        "5 children with page size 2 must take 3 calls"
    );
    // TestListAllCompartments_InactiveCompartmentSkipped
    let api = tree(&[(
        "root",
        vec![comp("c1", true), comp("c2-dead", false), comp("c3", true)],
    )]);
    assert_eq!(walk(&api), ["c1", "c3", "root"]);
    // TestListAllCompartments_CycleVisitedOnce
    let api = tree(&[
        ("root", vec![comp("c1", true)]),
        ("c1", vec![comp("root", true)]),
    ]);
    assert_eq!(walk(&api), ["c1", "root"]);
    assert_eq!(api.calls("root"), 1);
    // TestListAllCompartments_PermissionErrorSkipsSubtree
    let mut api = tree(&[
        ("root", vec![comp("c1", true), comp("c2", true)]),
        ("c1", vec![comp("c1a", true)]),
    ]);
    api.denied = vec!["c2".into()];
    assert_eq!(walk(&api), ["c1", "c1a", "c2", "root"]);
}

// ---- SDConfig validation (TestSDConfig_Validation and the valid cases) ----

fn parse(yaml: &str) -> Result<OciSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

const VALID: &str = "{region: us-ashburn-1, tenancy: ocid1.tenancy.oc1..t001, user: ocid1.user.oc1..u001, fingerprint: 'aa:bb:cc', key_file: /etc/oci/key.pem";

#[test]
fn validation_in_prometheus_order() {
    for (yaml, message) in [
        ("{tenancy: t}".to_owned(), "oci_sd: region is required"),
        ("{region: r}".into(), "oci_sd: api_key auth requires tenancy"),
        ("{region: r, tenancy: t}".into(), "oci_sd: api_key auth requires user"),
        ("{region: r, tenancy: t, user: u}".into(), "oci_sd: api_key auth requires fingerprint"),
        ("{region: r, tenancy: t, user: u, fingerprint: f}".into(), "oci_sd: api_key auth requires key_file"),
        (format!("{VALID}, key_passphrase: secret, key_passphrase_file: /etc/oci/passphrase}}"),
            "oci_sd: at most one of key_passphrase and key_passphrase_file must be configured"),
        (format!("{VALID}, auth: instance_principal}}"),
            "oci_sd: instance_principal auth must not have tenancy, user, fingerprint, key_file, key_passphrase, or key_passphrase_file set"),
        ("{region: r, auth: instance_principal, key_passphrase_file: /p}".into(), "must not have"),
        ("{region: r, auth: magic}".into(), "oci_sd: unknown auth method \"magic\", expected \"api_key\" or \"instance_principal\""),
        (format!("{VALID}, compartments: [ocid1.compartment.oc1..good, '']}}"), "oci_sd: compartments[1] must not be empty"),
        (format!("{VALID}, refresh_interval: 0s}}"), "oci_sd: refresh_interval must be positive, got 0s"),
        (format!("{VALID}, unknown: 1}}"), "unknown field"),
    ] {
        let err = parse(&yaml).unwrap_err();
        assert!(err.contains(message), "{yaml}: {err}");
    }
}

#[test]
fn valid_configs_and_defaults() {
    let c = parse(&format!("{VALID}}}")).unwrap();
    assert_eq!(c.auth, "api_key");
    assert_eq!(c.port, 80);
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    parse("{region: us-ashburn-1, auth: instance_principal}").unwrap();
    parse(&format!(
        "{VALID}, compartments: [ocid1.compartment.oc1..c001, ocid1.compartment.oc1..c002]}}"
    ))
    .unwrap();
    parse(&format!(
        "{VALID}, key_passphrase_file: /etc/oci/passphrase}}"
    ))
    .unwrap();
    // The passphrase is a secret.
    let c = parse(&format!("{VALID}, key_passphrase: hunter2}}")).unwrap();
    assert!(!serde_yaml::to_string(&c).unwrap().contains("hunter2"));
}

#[test]
fn set_directory_joins_relative_key_paths() {
    // TestSDConfig_SetDirectory_*
    let mut c = parse("{region: r, tenancy: t, user: u, fingerprint: f, key_file: keys/oci.pem, key_passphrase_file: keys/oci.pass}").unwrap();
    c.resolve_paths(Path::new("/etc/prometheus"));
    assert_eq!(c.key_file, "/etc/prometheus/keys/oci.pem");
    assert_eq!(c.key_passphrase_file, "/etc/prometheus/keys/oci.pass");
    let mut c = parse(&format!("{VALID}}}")).unwrap();
    c.resolve_paths(Path::new("/etc/prometheus"));
    assert_eq!(c.key_file, "/etc/oci/key.pem");
    let mut c = OciSdConfig::default();
    c.resolve_paths(Path::new("/etc/prometheus"));
    assert!(c.key_file.is_empty());
}

// ---- the signature's parts ----

#[test]
fn http_date_is_go_time_format() {
    let t = time::OffsetDateTime::from_unix_timestamp(1_136_239_445).unwrap();
    assert_eq!(sign::http_date(t), "Mon, 02 Jan 2006 22:04:05 GMT");
}

#[test]
fn encrypted_keys_are_refused() {
    let err = sign::parse_key(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .err()
    .unwrap();
    assert!(err.contains("encrypted"), "{err}");
}
