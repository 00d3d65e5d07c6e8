//! OVHcloud SD end to end: `promsd check service-discovery` against a fixture that plays the
//! OVHcloud API at `eu.api.ovh.com` (`endpoint: ovh-eu`), reached through the intercepting
//! proxy named by `HTTPS_PROXY` with its CA in `SSL_CERT_FILE` (OVHcloud SD has no HTTP
//! settings in Prometheus). The fixture serves `/1.0/auth/time` with a clock 1000s behind the
//! local one and VERIFIES every other request's `X-Ovh-*` headers: the signature is recomputed
//! with the system's `sha1sum` (not promsd's code) over secret, consumer key, method, full URL,
//! empty body and timestamp, and the timestamp must be the server's clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::check_sd;
use crate::support::http_fixture::{HttpFixture, Request, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};

const HOST: &str = "eu.api.ovh.com";
const KEY: &str = "TDPKJdwZwAQPwKX2";
const SECRET: &str = "9ufkBmLaTQ9nz5yMUlg79taH0GNnzDjk";
const CONSUMER: &str = "5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY";
/// The server's clock lags the local one by this much.
const SKEW: i64 = 1000;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

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

#[derive(Default)]
struct Ovh {
    errors: Mutex<Vec<String>>,
    signed: Mutex<Vec<String>>,
}

impl Ovh {
    fn error(&self, e: String) -> Response {
        self.errors.lock().unwrap().push(e.clone());
        Response::json(400, json!({"message": e}).to_string())
    }

    fn handle(&self, req: &Request) -> Response {
        if req.header("host") != Some(HOST) {
            return self.error(format!("host {:?}", req.header("host")));
        }
        if req.header("x-ovh-application") != Some(KEY)
            || req.header("accept") != Some("application/json")
        {
            return self.error(format!("headers {:?}", req.headers));
        }
        if req.target == "/1.0/auth/time" {
            if req.header("x-ovh-signature").is_some() {
                return self.error("signed /auth/time".into());
            }
            return Response::json(200, (now() - SKEW).to_string());
        }
        let ts = req.header("x-ovh-timestamp").unwrap_or("");
        let ts_n: i64 = ts.parse().unwrap_or(0);
        if (ts_n - (now() - SKEW)).abs() > 30 {
            return self.error(format!("timestamp {ts} not the server's clock"));
        }
        if req.header("x-ovh-consumer") != Some(CONSUMER) {
            return self.error(format!("consumer {:?}", req.header("x-ovh-consumer")));
        }
        let url = format!("https://{HOST}{}", req.target);
        let want = format!(
            "$1${}",
            sha1_hex(&format!("{SECRET}+{CONSUMER}+{}+{url}++{ts}", req.method))
        );
        if req.header("x-ovh-signature") != Some(want.as_str()) {
            return Response::json(
                400,
                r#"{"errorCode":"INVALID_SIGNATURE","httpCode":"400 Bad Request","message":"Invalid signature"}"#,
            );
        }
        self.signed.lock().unwrap().push(req.target.clone());
        let body = match req.target.as_str() {
            "/1.0/vps" => json!(["abc", "v6only", "broken"]),
            "/1.0/vps/abc" => serde_json::from_str::<Value>(include_str!(
                "../../src/discovery/ovhcloud/testdata/vps/vps_details.json"
            ))
            .unwrap(),
            "/1.0/vps/abc/ips" => json!(["192.0.2.1/32", "2001:0db1::1/64"]),
            "/1.0/vps/v6only" => json!({"name": "v6only", "displayName": "six", "state": "running",
                "model": {"datacenter": ["gra", "sbg"], "vcore": 2}}),
            "/1.0/vps/v6only/ips" => json!(["2001:db8::5"]),
            "/1.0/vps/broken" => json!({"name": "broken"}),
            "/1.0/vps/broken/ips" => {
                return Response::json(500, r#"{"message":"Internal server error"}"#)
            }
            "/1.0/dedicated/server" => json!(["abcde"]),
            "/1.0/dedicated/server/abcde" => serde_json::from_str::<Value>(include_str!(
                "../../src/discovery/ovhcloud/testdata/dedicated_server/dedicated_servers_details.json"
            ))
            .unwrap(),
            "/1.0/dedicated/server/abcde/ips" => serde_json::from_str::<Value>(include_str!(
                "../../src/discovery/ovhcloud/testdata/dedicated_server/dedicated_servers_abcde_ips.json"
            ))
            .unwrap(),
            other => return self.error(format!("unexpected {} {other}", req.method)),
        };
        Response::json(200, body.to_string())
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
                .filter(|(k, v)| {
                    (k.starts_with("__meta_") || *k == "__address__")
                        && !v.as_str().unwrap().is_empty()
                })
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            (labels["__address__"].clone(), labels)
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The fixture, the check's JSON and stderr (or its failure), and the proxy's connections.
type Run = (Arc<Ovh>, Result<(Value, String), String>, Vec<Seen>);

fn run(service: &str, secret: &str) -> Run {
    run_with(service, secret, "60s")
}

fn run_with(service: &str, secret: &str, timeout: &str) -> Run {
    let ovh = Arc::new(Ovh::default());
    let o = ovh.clone();
    let fixture = HttpFixture::start(move |req| o.handle(req));
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: ovh\n    ovhcloud_sd_configs:\n      - endpoint: ovh-eu\n        application_key: {KEY}\n        application_secret: {secret}\n        consumer_key: {CONSUMER}\n        service: {service}\n"
        ),
    )
    .unwrap();
    let env = [
        ("HTTPS_PROXY", proxy.url()),
        ("NO_PROXY", String::new()),
        (
            "SSL_CERT_FILE",
            proxy_ca_file().to_str().unwrap().to_owned(),
        ),
        ("HOME", dir.path().to_str().unwrap().to_owned()),
    ];
    let result = if timeout == "60s" {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        check_sd(&config, "ovh", &env)
    } else {
        // A refresh that never succeeds: the check ends at its (short) timeout.
        let output = std::process::Command::new(crate::support::promsd_bin())
            .args([
                "check",
                "service-discovery",
                config.to_str().unwrap(),
                "ovh",
            ])
            .args(["--timeout", timeout])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        serde_json::from_slice(&output.stdout)
            .map(|json| (json, stderr.clone()))
            .map_err(|_| stderr)
    };
    let seen = proxy.seen();
    (ovh, result, seen)
}

#[test]
fn vps_signed_with_the_servers_clock_through_the_environments_proxy() {
    let (ovh, result, seen) = run("vps", SECRET);
    let (json, stderr) = result.unwrap();
    assert!(
        ovh.errors.lock().unwrap().is_empty(),
        "{:?}",
        ovh.errors.lock().unwrap()
    );
    let p = "__meta_ovhcloud_vps_";
    let abc = labels(&[
        ("__address__", "192.0.2.1"),
        (&format!("{p}ipv4"), "192.0.2.1"),
        (&format!("{p}cluster"), "cluster_test"),
        (&format!("{p}datacenter"), "[]"),
        (&format!("{p}disk"), "40"),
        (&format!("{p}display_name"), "abc"),
        (&format!("{p}maximum_additional_ip"), "16"),
        (&format!("{p}memory"), "2048"),
        (&format!("{p}memory_limit"), "2048"),
        (&format!("{p}model_name"), "vps-value-1-2-40"),
        (&format!("{p}name"), "abc"),
        (&format!("{p}netboot_mode"), "local"),
        (&format!("{p}offer"), "VPS abc"),
        (&format!("{p}offer_type"), "ssd"),
        (&format!("{p}state"), "running"),
        (&format!("{p}vcore"), "1"),
        (&format!("{p}model_vcore"), "1"),
        (&format!("{p}version"), "2019v1"),
        (&format!("{p}zone"), "zone"),
    ]);
    let six = labels(&[
        ("__address__", "2001:db8::5"),
        (&format!("{p}ipv6"), "2001:db8::5"),
        (&format!("{p}datacenter"), "[gra sbg]"),
        (&format!("{p}disk"), "0"),
        (&format!("{p}display_name"), "six"),
        (&format!("{p}maximum_additional_ip"), "0"),
        (&format!("{p}memory"), "0"),
        (&format!("{p}memory_limit"), "0"),
        (&format!("{p}name"), "v6only"),
        (&format!("{p}state"), "running"),
        (&format!("{p}vcore"), "0"),
        (&format!("{p}model_vcore"), "2"),
    ]);
    let want: BTreeMap<_, _> = [
        ("192.0.2.1".to_string(), abc),
        ("2001:db8::5".to_string(), six),
    ]
    .into_iter()
    .collect();
    assert_eq!(discovered(&json), want, "{stderr}");
    // The instance label is the server's name.
    let instances: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["discoveredLabels"]["instance"].as_str())
        .collect();
    assert!(
        instances.contains(&"abc") && instances.contains(&"v6only"),
        "{json}"
    );
    assert!(ovh.signed.lock().unwrap().contains(&"/1.0/vps".to_string()));
    assert!(
        seen.contains(&Seen {
            connect: format!("{HOST}:443"),
            sni: Some(HOST.into())
        }),
        "{seen:?}"
    );
}

#[test]
fn dedicated_servers() {
    let (ovh, result, _) = run("dedicated_server", SECRET);
    let (json, stderr) = result.unwrap();
    assert!(
        ovh.errors.lock().unwrap().is_empty(),
        "{:?}",
        ovh.errors.lock().unwrap()
    );
    let p = "__meta_ovhcloud_dedicated_server_";
    let want: BTreeMap<_, _> = [(
        "1.2.3.4".to_string(),
        labels(&[
            ("__address__", "1.2.3.4"),
            (&format!("{p}commercial_range"), "Advance-1 Gen 2"),
            (&format!("{p}datacenter"), "gra3"),
            (&format!("{p}ipv4"), "1.2.3.4"),
            (&format!("{p}link_speed"), "123"),
            (&format!("{p}name"), "abcde"),
            (&format!("{p}no_intervention"), "false"),
            (&format!("{p}os"), "debian11_64"),
            (&format!("{p}rack"), "TESTRACK"),
            (&format!("{p}reverse"), "abcde-rev"),
            (&format!("{p}server_id"), "1234"),
            (&format!("{p}state"), "test"),
            (&format!("{p}support_level"), "pro"),
        ]),
    )]
    .into_iter()
    .collect();
    assert_eq!(discovered(&json), want, "{stderr}");
}

#[test]
fn a_wrong_secret_is_refused_by_the_api() {
    let (ovh, result, _) = run_with("vps", "not-the-secret", "3s");
    // The list request fails: no targets, and nothing was served signed.
    if let Ok((json, _)) = &result {
        assert_eq!(json.as_array().map_or(0, Vec::len), 0, "{json}");
    }
    assert!(ovh.signed.lock().unwrap().is_empty());
}
