//! Outscale SD end to end: `promsd check service-discovery` against a fixture that plays the
//! OUTSCALE API (`ReadVms`) at its default endpoint `https://api.eu-west-2.outscale.com/api/v1`,
//! reached with `proxy_url` + `tls_config.ca_file` through the intercepting proxy. Every
//! request's SigV4 signature is verified with botocore (tests/mechanisms/aws/sigv4_verify.py,
//! not promsd's signer), with osc-sdk-go's scope (region `eu-west-2`, service `oapi`); the
//! body must be osc-sdk-go's (`{}` then `{"NextPageToken":...}`, newline-terminated), and the
//! VMs come in two pages.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::check_sd;
use crate::support::http_fixture::{HttpFixture, Request, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};

const HOST: &str = "api.eu-west-2.outscale.com";
const AK: &str = "AKOSC0000000000EXAMPLE";
const SK: &str = "sk-osc-example-secret-0123456789abcdef";

/// botocore's verdict on one request.
fn verify(req: &Request) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mechanisms/aws/sigv4_verify.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(json!({ AK: SK }).to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with botocore");
    let line = json!({
        "method": req.method,
        "url": format!("https://{HOST}{}", req.target),
        "headers": req.headers,
        "body_b64": base64::engine::general_purpose::STANDARD.encode(&req.body),
    });
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{line}").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(json!({"ok": false, "error": "no answer"}))
}

#[derive(Default)]
struct Osc {
    errors: Mutex<Vec<String>>,
    pages: Mutex<Vec<String>>,
}

impl Osc {
    fn error(&self, e: String) -> Response {
        self.errors.lock().unwrap().push(e.clone());
        Response::json(
            400,
            json!({"Errors": [{"Code": "4000", "Details": e}]}).to_string(),
        )
    }

    fn handle(&self, req: &Request) -> Response {
        if req.header("host") != Some(HOST)
            || req.method != "POST"
            || req.target != "/api/v1/ReadVms"
        {
            return self.error(format!(
                "{} {} {:?}",
                req.method,
                req.target,
                req.header("host")
            ));
        }
        if req.header("content-type") != Some("application/json") {
            return self.error(format!("content type {:?}", req.header("content-type")));
        }
        let verdict = verify(req);
        if verdict["ok"] != true {
            return Response::json(
                401,
                json!({"Errors": [{"Code": "1", "Type": "AccessDenied", "Details": verdict.to_string()}]}).to_string(),
            );
        }
        if verdict["region"] != "eu-west-2" || verdict["service"] != "oapi" {
            return self.error(format!("scope {verdict}"));
        }
        let body = req.body_text();
        self.pages.lock().unwrap().push(body.clone());
        let ctx = json!({"RequestId": "0475ca1e-d0c5-441d-712a-da55a4175157"});
        match body.as_str() {
            "{}\n" => Response::json(200, json!({
                "Vms": [
                    {"VmId": "i-abc", "State": "running", "PrivateIp": "10.1.2.3", "PublicIp": "1.2.3.4",
                     "Placement": {"SubregionName": "eu-west-2a", "Tenancy": "default"},
                     "Tags": [{"Key": "Name", "Value": "my-vm"}, {"Key": "team.name", "Value": "sre"}, {"Key": "", "Value": "x"}, {"Key": "EmptyVal", "Value": ""}]},
                    {"VmId": "i-noip", "State": "pending"}
                ],
                "NextPageToken": "cGFnZS0y",
                "ResponseContext": ctx,
            }).to_string()),
            "{\"NextPageToken\":\"cGFnZS0y\"}\n" => Response::json(200, json!({
                "Vms": [{"VmId": "i-pub", "State": "stopped", "PublicIp": "203.0.113.10"}],
                "ResponseContext": ctx,
            }).to_string()),
            other => self.error(format!("body {other:?}")),
        }
    }
}

fn discovered(json: &Value) -> BTreeMap<String, BTreeMap<String, String>> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let labels: BTreeMap<String, String> = t["discoveredLabels"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| k.starts_with("__meta_") || *k == "__address__")
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            (labels["__meta_outscale_vm_instance_id"].clone(), labels)
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn read_vms_signed_and_paged_through_the_proxy() {
    let osc = Arc::new(Osc::default());
    let o = osc.clone();
    let fixture = HttpFixture::start(move |req| o.handle(req));
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sk"), format!("  {SK}\n")).unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: osc\n    outscale_sd_configs:\n      - access_key: {AK}\n        secret_key_file: sk\n        port: 9090\n        proxy_url: '{}'\n        tls_config: {{ca_file: '{}'}}\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    let (json, stderr) = check_sd(&config, "osc", &[]).unwrap();
    assert!(
        osc.errors.lock().unwrap().is_empty(),
        "{:?}",
        osc.errors.lock().unwrap()
    );
    let p = "__meta_outscale_vm_";
    let want: BTreeMap<_, _> = [
        (
            "i-abc".to_string(),
            labels(&[
                ("__address__", "10.1.2.3:9090"),
                (&format!("{p}instance_id"), "i-abc"),
                (&format!("{p}region"), "eu-west-2"),
                (&format!("{p}state"), "running"),
                (&format!("{p}subregion"), "eu-west-2a"),
                (&format!("{p}private_ip"), "10.1.2.3"),
                (&format!("{p}public_ip"), "1.2.3.4"),
                (&format!("{p}tag_Name"), "my-vm"),
                (&format!("{p}tag_team_name"), "sre"),
            ]),
        ),
        (
            "i-pub".to_string(),
            labels(&[
                ("__address__", "203.0.113.10:9090"),
                (&format!("{p}instance_id"), "i-pub"),
                (&format!("{p}region"), "eu-west-2"),
                (&format!("{p}state"), "stopped"),
                (&format!("{p}public_ip"), "203.0.113.10"),
            ]),
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(discovered(&json), want, "{stderr}");
    assert_eq!(osc.pages.lock().unwrap().len(), 2);
    let seen = proxy.seen();
    assert!(
        seen.contains(&Seen {
            connect: format!("{HOST}:443"),
            sni: Some(HOST.into())
        }),
        "{seen:?}"
    );
}

#[test]
fn a_wrong_secret_is_refused() {
    let osc = Arc::new(Osc::default());
    let o = osc.clone();
    let fixture = HttpFixture::start(move |req| o.handle(req));
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: osc\n    outscale_sd_configs:\n      - access_key: {AK}\n        secret_key: wrong\n        proxy_url: '{}'\n        tls_config: {{ca_file: '{}'}}\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    let output = Command::new(crate::support::promsd_bin())
        .args([
            "check",
            "service-discovery",
            config.to_str().unwrap(),
            "osc",
            "--timeout",
            "3s",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap_or(json!([]));
    assert_eq!(json.as_array().map_or(0, Vec::len), 0, "{json}");
    assert!(osc.pages.lock().unwrap().is_empty());
}
