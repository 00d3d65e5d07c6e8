//! OCI SD end to end: `promsd check service-discovery` and `promsd run` against a fixture that
//! plays `https://identity.us-ashburn-1.oci.oraclecloud.com` (ListCompartments) and
//! `https://iaas.us-ashburn-1.oraclecloud.com` (ListInstances, ListVnicAttachments, GetVnic),
//! reached through the intercepting proxy with `proxy_url` + `tls_config.ca_file`. Every request's
//! OCI HTTP signature is verified with the openssl CLI against the public half of the test key
//! (`testdata/oci/key.pem`, PKCS#8, made once with `openssl genpkey`); lists are served in pages
//! of two with `opc-next-page`. The instances are `oci_test.go`'s `makeInstance` with the VNICs
//! of its refresh tests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::support::http_fixture::{HttpFixture, Request, Response};
use crate::support::tls_proxy::{proxy_ca_file, TlsProxy};
use crate::support::{check_sd, get_ok, start_promsd, wait_for};

const TENANCY: &str = "ocid1.tenancy.oc1..test001";
const USER: &str = "ocid1.user.oc1..u001";
const FINGERPRINT: &str = "aa:bb:cc:dd:ee:ff";
const IDENTITY: &str = "identity.us-ashburn-1.oci.oraclecloud.com";
const IAAS: &str = "iaas.us-ashburn-1.oraclecloud.com";

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mechanisms/testdata/oci")
        .join(name)
}

/// Verifies the request's `Authorization: Signature ...` with openssl: the signing string is
/// rebuilt from what the server received. Returns why it does not verify.
fn verify_signature(req: &Request) -> Result<(), String> {
    use base64::Engine as _;
    let auth = req.header("authorization").ok_or("no Authorization")?;
    let params = auth.strip_prefix("Signature ").ok_or("not a Signature")?;
    let mut fields = BTreeMap::new();
    for part in params.split(',') {
        let (k, v) = part.split_once('=').ok_or("bad parameter")?;
        fields.insert(k.to_owned(), v.trim_matches('"').to_owned());
    }
    if fields.get("version").map(String::as_str) != Some("1")
        || fields.get("algorithm").map(String::as_str) != Some("rsa-sha256")
        || fields.get("keyId") != Some(&format!("{TENANCY}/{USER}/{FINGERPRINT}"))
        || fields.get("headers").map(String::as_str) != Some("date (request-target) host")
    {
        return Err(format!("unexpected parameters {fields:?}"));
    }
    let date = req.header("date").ok_or("no Date")?;
    let skew =
        date_skew_seconds(date).ok_or_else(|| format!("Date {date:?} is not an HTTP date"))?;
    // OCI refuses requests whose Date is more than 5 minutes off.
    if skew.abs() > 300 {
        return Err(format!("Date {date:?} is {skew}s off"));
    }
    let signing = format!(
        "date: {date}\n(request-target): {} {}\nhost: {}",
        req.method.to_lowercase(),
        req.target,
        req.header("host").unwrap_or("")
    );
    let signature = base64::engine::general_purpose::STANDARD
        .decode(&fields["signature"])
        .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data"), signing).unwrap();
    std::fs::write(dir.path().join("sig"), signature).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(testdata("public.pem"))
        .arg("-signature")
        .arg(dir.path().join("sig"))
        .arg(dir.path().join("data"))
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// Seconds between an HTTP date (`Tue, 08 Dec 2026 01:01:14 GMT`) and now.
fn date_skew_seconds(date: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let rest = date.strip_suffix(" GMT")?.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split([' ', ':']).collect();
    let [day, month, year, h, m, s] = parts[..] else {
        return None;
    };
    let month = MONTHS.iter().position(|x| *x == month)? as u8 + 1;
    let date = time::Date::from_calendar_date(
        year.parse().ok()?,
        time::Month::try_from(month).ok()?,
        day.parse().ok()?,
    )
    .ok()?
    .with_hms(h.parse().ok()?, m.parse().ok()?, s.parse().ok()?)
    .ok()?
    .assume_utc();
    Some((date - time::OffsetDateTime::now_utc()).whole_seconds())
}

fn instance(n: u32, compartment: &str) -> Value {
    json!({
        "id": format!("ocid1.instance.oc1.iad.aaa00{n}"),
        "displayName": format!("test-instance-{n}"),
        "shape": "VM.Standard.E4.Flex",
        "availabilityDomain": "US-ASHBURN-AD-1",
        "faultDomain": "FAULT-DOMAIN-1",
        "imageId": "ocid1.image.oc1.iad.img001",
        "region": "us-ashburn-1",
        "compartmentId": compartment,
        "lifecycleState": "RUNNING",
        "freeformTags": if n == 1 { json!({"environment": "production", "My-Tag.Key": "value"}) } else { json!({}) },
        "definedTags": if n == 1 { json!({"Oracle-Tags": {"CreatedBy": "user@example.com", "FloatValue": 100, "DecimalRate": 0.5, "BoolValue": true, "NilValue": null, "SliceValue": ["a"]}}) } else { json!({}) },
        "timeCreated": "2024-01-01T00:00:00.000Z"
    })
}

/// Items `[2(page-1), 2 page)` of `all`, with `opc-next-page` when more remain.
fn paged(req: &Request, all: Vec<Value>) -> Response {
    let page: usize = req.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let start = (page - 1) * 2;
    let items: Vec<Value> = all.iter().skip(start).take(2).cloned().collect();
    let mut response = Response::json(200, Value::Array(items).to_string());
    if start + 2 < all.len() {
        response = response.header("opc-next-page", &(page + 1).to_string());
    }
    response
}

const COMP_A: &str = "ocid1.compartment.oc1..comp001";
const COMP_B: &str = "ocid1.compartment.oc1..comp002";

/// The fixture API; `mode` 1 makes ListInstances fail with 500.
fn oci_api(mode: Arc<AtomicUsize>) -> impl Fn(&Request) -> Response + Send + Sync {
    move |req| {
        if let Err(why) = verify_signature(req) {
            return Response::json(
                401,
                json!({"code": "NotAuthenticated", "message": why}).to_string(),
            );
        }
        let host = req.header("host").unwrap_or("");
        let compartment = req.param("compartmentId").unwrap_or_default();
        match (host, req.path()) {
            (IDENTITY, "/20160918/compartments") => {
                let children = match compartment.as_str() {
                    TENANCY => vec![
                        json!({"id": COMP_A, "lifecycleState": "ACTIVE"}),
                        json!({"id": "ocid1.compartment.oc1..dead", "lifecycleState": "INACTIVE"}),
                        json!({"id": COMP_B, "lifecycleState": "ACTIVE"}),
                    ],
                    _ => vec![],
                };
                paged(req, children)
            }
            (IAAS, "/20160918/instances") => {
                if mode.load(Ordering::SeqCst) == 1 {
                    return Response::json(500, r#"{"code":"InternalError"}"#);
                }
                let all = match compartment.as_str() {
                    COMP_A => vec![
                        instance(1, COMP_A),
                        instance(2, COMP_A),
                        instance(3, COMP_A),
                    ],
                    COMP_B => vec![instance(4, COMP_B)],
                    _ => vec![],
                };
                paged(req, all)
            }
            (IAAS, "/20160918/vnicAttachments") => {
                let inst = req.param("instanceId").unwrap_or_default();
                let n = inst.chars().last().unwrap();
                let mut all = vec![
                    json!({"vnicId": format!("ocid1.vnic.oc1..s{n}"), "lifecycleState": "ATTACHED"}),
                ];
                all.push(json!({"vnicId": format!("ocid1.vnic.oc1..d{n}"), "lifecycleState": "DETACHED"}));
                all.push(json!({"vnicId": format!("ocid1.vnic.oc1..p{n}"), "lifecycleState": "ATTACHED"}));
                paged(req, all)
            }
            (IAAS, path) if path.starts_with("/20160918/vnics/") => {
                let id = path.rsplit('/').next().unwrap();
                let n = id.chars().last().unwrap();
                let vnic = match (&id["ocid1.vnic.oc1..".len()..id.len() - 1], n) {
                    ("s", _) => json!({"id": id, "isPrimary": false, "privateIp": "10.0.9.9"}),
                    ("p", '1') => {
                        json!({"id": id, "isPrimary": true, "privateIp": "10.0.0.5", "publicIp": "203.0.113.10",
                                          "ipv6Addresses": ["2001:db8::2", "2001:db8::1"], "hostnameLabel": "web-1"})
                    }
                    ("p", '2') => {
                        json!({"id": id, "isPrimary": true, "ipv6Addresses": ["2001:db8::2", "2001:db8::1"]})
                    }
                    // Instance 3: no usable address, dropped.
                    ("p", '3') => json!({"id": id, "isPrimary": true}),
                    _ => json!({"id": id, "isPrimary": true, "publicIp": "203.0.113.4"}),
                };
                Response::json(200, vnic.to_string())
            }
            _ => Response::json(404, r#"{"code":"NotAuthorizedOrNotFound"}"#),
        }
    }
}

fn write_config(dir: &std::path::Path, proxy: &TlsProxy, key: &str, extra: &str) -> PathBuf {
    std::fs::copy(testdata(key), dir.join("oci.pem")).unwrap();
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:\n  - job_name: oci\n    oci_sd_configs:\n      - region: us-ashburn-1\n        tenancy: {TENANCY}\n        user: {USER}\n        fingerprint: '{FINGERPRINT}'\n        key_file: oci.pem\n        port: 9100\n        proxy_url: '{}'\n        tls_config: {{ca_file: '{}'}}\n{extra}",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    path
}

fn meta_labels(json: &Value) -> Vec<BTreeMap<String, String>> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["discoveredLabels"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| k.starts_with("__meta_") || *k == "__address__")
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .collect()
}

/// Auto-discovered compartments (BFS from the tenancy, INACTIVE skipped), every list paged,
/// every request signed and verified; labels as `instanceLabels` builds them
/// (`TestInstanceLabels_CoreLabels`, `_FreeformTagsSanitized`, `_DefinedTagsStringifyScalars`,
/// `TestRefresh_PrimaryVnicIPv6SortedAndHostname`, `_IPv6OnlyInstanceNotSkipped`,
/// `_NoPrimaryVnic_InstanceDropped`).
#[test]
fn instances_of_every_compartment_through_the_proxy_signed() {
    let api = HttpFixture::start(oci_api(Arc::new(AtomicUsize::new(0))));
    let proxy = TlsProxy::start(api.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &proxy, "key.pem", "");
    let (json, _) = check_sd(&config, "oci", &[]).unwrap();
    let got = meta_labels(&json);
    let unauthorized: Vec<_> = api
        .requests()
        .iter()
        .filter_map(|r| verify_signature(r).err())
        .collect();
    assert!(unauthorized.is_empty(), "{unauthorized:?}");
    assert_eq!(got.len(), 3, "{got:#?}");
    let core = |n: u32, comp: &str| -> BTreeMap<String, String> {
        [
            (
                "__meta_oci_instance_id",
                format!("ocid1.instance.oc1.iad.aaa00{n}"),
            ),
            ("__meta_oci_instance_name", format!("test-instance-{n}")),
            ("__meta_oci_instance_state", "RUNNING".into()),
            ("__meta_oci_instance_shape", "VM.Standard.E4.Flex".into()),
            ("__meta_oci_availability_domain", "US-ASHBURN-AD-1".into()),
            ("__meta_oci_fault_domain", "FAULT-DOMAIN-1".into()),
            ("__meta_oci_region", "us-ashburn-1".into()),
            ("__meta_oci_tenancy_id", TENANCY.into()),
            ("__meta_oci_compartment_id", comp.into()),
            ("__meta_oci_image_id", "ocid1.image.oc1.iad.img001".into()),
            ("__meta_oci_vnic_id", format!("ocid1.vnic.oc1..p{n}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    };
    let with = |mut base: BTreeMap<String, String>, extra: &[(&str, &str)]| {
        for (k, v) in extra {
            base.insert(k.to_string(), v.to_string());
        }
        base
    };
    let mut got = got;
    got.sort_by(|a, b| a["__meta_oci_instance_id"].cmp(&b["__meta_oci_instance_id"]));
    assert_eq!(
        got[0],
        with(
            core(1, COMP_A),
            &[
                ("__address__", "10.0.0.5:9100"),
                ("__meta_oci_private_ip", "10.0.0.5"),
                ("__meta_oci_public_ip", "203.0.113.10"),
                ("__meta_oci_hostname_label", "web-1"),
                ("__meta_oci_ipv6_addresses", ",2001:db8::1,2001:db8::2,"),
                ("__meta_oci_tag_environment", "production"),
                ("__meta_oci_tag_My_Tag_Key", "value"),
                (
                    "__meta_oci_defined_tag_Oracle_Tags_CreatedBy",
                    "user@example.com"
                ),
                ("__meta_oci_defined_tag_Oracle_Tags_FloatValue", "100"),
                ("__meta_oci_defined_tag_Oracle_Tags_DecimalRate", "0.5"),
                ("__meta_oci_defined_tag_Oracle_Tags_BoolValue", "true"),
            ]
        )
    );
    // promtool's JSON leaves empty labels out (private/public IP, hostname here).
    assert_eq!(
        got[1],
        with(
            core(2, COMP_A),
            &[
                ("__address__", "[2001:db8::1]:9100"),
                ("__meta_oci_ipv6_addresses", ",2001:db8::1,2001:db8::2,"),
            ]
        )
    );
    assert_eq!(
        got[2],
        with(
            core(4, COMP_B),
            &[
                ("__address__", "203.0.113.4:9100"),
                ("__meta_oci_public_ip", "203.0.113.4"),
            ]
        )
    );

    // Both real hosts, through the proxy, with their names as SNI.
    let connects: std::collections::BTreeSet<String> =
        proxy.seen().iter().map(|s| s.connect.clone()).collect();
    assert_eq!(
        connects,
        [format!("{IAAS}:443"), format!("{IDENTITY}:443")]
            .into_iter()
            .collect()
    );
    assert!(proxy
        .seen()
        .iter()
        .all(|s| s.sni.as_deref() == Some(s.connect.trim_end_matches(":443"))));
    // The Go SDK's requests: sorted query keys, limit=100, opc-next-page followed.
    let targets: Vec<String> = api.requests().iter().map(|r| r.target.clone()).collect();
    for expected in [
        format!("/20160918/compartments?accessLevel=ACCESSIBLE&compartmentId={TENANCY}&compartmentIdInSubtree=false&limit=100"),
        format!("/20160918/compartments?accessLevel=ACCESSIBLE&compartmentId={TENANCY}&compartmentIdInSubtree=false&limit=100&page=2"),
        format!("/20160918/compartments?accessLevel=ACCESSIBLE&compartmentId={COMP_A}&compartmentIdInSubtree=false&limit=100"),
        format!("/20160918/instances?compartmentId={COMP_A}&limit=100"),
        format!("/20160918/instances?compartmentId={COMP_A}&limit=100&page=2"),
        format!("/20160918/vnicAttachments?compartmentId={COMP_A}&instanceId=ocid1.instance.oc1.iad.aaa001&limit=100"),
        format!("/20160918/vnicAttachments?compartmentId={COMP_A}&instanceId=ocid1.instance.oc1.iad.aaa001&limit=100&page=2"),
        "/20160918/vnics/ocid1.vnic.oc1..s1".to_owned(),
        "/20160918/vnics/ocid1.vnic.oc1..p1".to_owned(),
    ] {
        assert!(targets.contains(&expected), "{expected} not in {targets:#?}");
    }
    // The detached VNIC is never fetched, the inactive compartment never listed.
    assert!(!targets
        .iter()
        .any(|t| t.contains("..d1") || t.contains("..dead")));
}

/// A key the API does not know: every request is refused (401) and the refresh fails, as the
/// status API shows.
#[test]
fn a_wrong_key_is_refused_by_the_verifier() {
    let api = HttpFixture::start(oci_api(Arc::new(AtomicUsize::new(0))));
    let proxy = TlsProxy::start(api.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &proxy,
        "other_key.pem",
        "        compartments: [ocid1.compartment.oc1..comp001]\n        refresh_interval: 1s\n",
    );
    let (_process, port) = start_promsd(dir.path(), &config, &["--web.ready-timeout", "1s"]);
    wait_for("a refused refresh", || {
        get_ok(port, "/api/v1/status/sd").filter(|b| b.contains("401"))
    });
    assert!(api.requests().iter().all(|r| verify_signature(r).is_err()));
}

/// `TestRefresh_ListInstancesError_PropagatesError`: a failing ListInstances (500) fails the
/// refresh and the last good targets stay; explicit compartments skip ListCompartments.
#[test]
fn a_failed_instance_listing_keeps_the_last_good_targets() {
    let mode = Arc::new(AtomicUsize::new(0));
    let api = HttpFixture::start(oci_api(mode.clone()));
    let proxy = TlsProxy::start(api.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &proxy,
        "key.pem",
        "        compartments: [ocid1.compartment.oc1..comp002]\n        refresh_interval: 1s\n",
    );
    let (_process, port) = start_promsd(dir.path(), &config, &[]);
    let count = |body: &str| {
        serde_json::from_str::<Value>(body)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["targets"].as_array().unwrap().len())
            .sum::<usize>()
    };
    wait_for("the instance", || {
        get_ok(port, "/api/v1/sd/oci").filter(|b| count(b) == 1)
    });
    mode.store(1, Ordering::SeqCst);
    let before = api.requests().len();
    wait_for("two failed refreshes", || {
        (api.requests().len() >= before + 2).then_some(())
    });
    assert_eq!(count(&get_ok(port, "/api/v1/sd/oci").unwrap()), 1);
    assert!(!api
        .requests()
        .iter()
        .any(|r| r.path().contains("compartments")));
}
