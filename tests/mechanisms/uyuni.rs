//! Uyuni SD end to end against an XML-RPC Uyuni fixture that checks every call's exact body
//! (as `github.com/kolo/xmlrpc` encodes it) and the session token: `promsd check
//! service-discovery` for the labels (from `uyuni.go`, Prometheus' tests assert none), and
//! `promsd run` for Prometheus' `uyuni_test.go` error cases and the token's reuse.

use std::sync::{Arc, Mutex};

use super::registries_kit::*;
use super::support;

const HEADER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

fn call(method: &str, params: &str) -> String {
    format!("{HEADER}<methodCall><methodName>{method}</methodName><params>{params}</params></methodCall>")
}

fn string(s: &str) -> String {
    format!("<param><value><string>{s}</string></value></param>")
}

const IDS: &str = "<param><value><array><data><value><int>1000010000</int></value><value><int>1000010001</int></value></data></array></value></param>";

fn answer(value: &str) -> Reply {
    Reply::new(
        200,
        "text/xml",
        format!("<?xml version=\"1.0\"?>\n<methodResponse><params><param><value>{value}</value></param></params></methodResponse>"),
    )
}

fn member(name: &str, value: &str) -> String {
    format!("<member><name>{name}</name><value>{value}</value></member>")
}

fn groups_answer() -> Reply {
    let group = |id: i32, name: &str| {
        format!(
            "<value><struct>{}{}</struct></value>",
            member("id", &format!("<int>{id}</int>")),
            member("name", &format!("<string>{name}</string>"))
        )
    };
    let system = |id: &str, groups: &str| {
        format!(
            "<value><struct>{}{}</struct></value>",
            member("id", &format!("<int>{id}</int>")),
            member(
                "system_groups",
                &format!("<array><data>{groups}</data></array>")
            )
        )
    };
    answer(&format!(
        "<array><data>{}{}</data></array>",
        system(
            "1000010000",
            &format!("{}{}", group(1, "web"), group(2, "prod"))
        ),
        system("1000010001", "")
    ))
}

fn endpoints_answer() -> Reply {
    let endpoint = |system: &str,
                    name: &str,
                    port: i32,
                    path: &str,
                    module: &str,
                    exporter: &str,
                    tls: i32| {
        format!(
            "<value><struct>{}{}{}{}{}{}{}</struct></value>",
            member("system_id", &format!("<int>{system}</int>")),
            member("endpoint_name", &format!("<string>{name}</string>")),
            member("port", &format!("<int>{port}</int>")),
            member("path", &format!("<string>{path}</string>")),
            member("module", &format!("<string>{module}</string>")),
            member("exporter_name", &format!("<string>{exporter}</string>")),
            member("tls_enabled", &format!("<boolean>{tls}</boolean>")),
        )
    };
    answer(&format!(
        "<array><data>{}{}{}</data></array>",
        endpoint(
            "1000010000",
            "node_exporter",
            9100,
            "/metrics",
            "",
            "node_exporter",
            0
        ),
        endpoint(
            "1000010000",
            "apache_exporter",
            9117,
            "/apache",
            "apache",
            "apache_exporter",
            1
        ),
        endpoint(
            "1000010001",
            "node_exporter",
            9100,
            "/metrics",
            "",
            "node_exporter",
            0
        ),
    ))
}

fn networks_answer() -> Reply {
    let network = |system: &str, host: &str| {
        format!(
            "<value><struct>{}{}{}{}</struct></value>",
            member("system_id", &format!("<int>{system}</int>")),
            member("hostname", &format!("<string>{host}</string>")),
            member(
                "primary_fqdn",
                &format!("<string>{host}.example.com</string>")
            ),
            member("ip", "<string>10.0.0.1</string>"),
        )
    };
    answer(&format!(
        "<array><data>{}{}</data></array>",
        network("1000010000", "minion1"),
        network("1000010001", "minion2")
    ))
}

/// A Uyuni that knows user `gopher` with password `hole & co` and issues token `tok-N` at the
/// N-th login; `fail` makes every call after a login answer 500.
fn uyuni(fail: Arc<Mutex<bool>>) -> Fixture {
    let logins = Arc::new(Mutex::new(0));
    Fixture::start(move |r| {
        let body = r.body_text();
        if r.method != "POST"
            || r.path != "/uyuni/rpc/api"
            || r.header("content-type") != Some("text/xml")
        {
            return Reply::new(404, "text/plain", "not found");
        }
        let mut n = logins.lock().unwrap();
        if body
            == call(
                "auth.login",
                &format!(
                    "{}{}<param><value><int>600</int></value></param>",
                    string("gopher"),
                    string("hole &amp; co")
                ),
            )
        {
            *n += 1;
            return answer(&format!("\n\t\ttok-{n}\n\t"));
        }
        if *fail.lock().unwrap() {
            return Reply::new(500, "text/xml", "");
        }
        let token = format!("tok-{n}");
        if body
            == call(
                "system.listSystemGroupsForSystemsWithEntitlement",
                &format!("{}{}", string(&token), string("monitoring_entitled")),
            )
        {
            groups_answer()
        } else if body
            == call(
                "system.monitoring.listEndpoints",
                &format!("{}{IDS}", string(&token)),
            )
        {
            endpoints_answer()
        } else if body
            == call(
                "system.getNetworkForSystems",
                &format!("{}{IDS}", string(&token)),
            )
        {
            networks_answer()
        } else {
            Reply::new(
                200,
                "text/xml",
                "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>-1</int></value></member><member><name>faultString</name><value><string>unexpected call</string></value></member></struct></value></fault></methodResponse>",
            )
        }
    })
}

fn config(dir: &std::path::Path, fixture: &Fixture, extra: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            "scrape_configs:\n  - job_name: uyuni\n    uyuni_sd_configs:\n      - server: {}/uyuni\n        username: gopher\n        password: 'hole & co'\n{extra}",
            fixture.url()
        ),
    )
}

#[test]
fn discovers_every_monitoring_endpoint() {
    let fixture = uyuni(Arc::default());
    let dir = tempfile::tempdir().unwrap();
    let (code, json, stderr) = check_sd(&config(dir.path(), &fixture, ""), "uyuni");
    assert_eq!(code, Some(0), "{stderr}");
    let target = |address: &str,
                  host: &str,
                  system: &str,
                  groups: &str,
                  name: &str,
                  exporter: &str,
                  module: &str,
                  path: &str,
                  scheme: &str| {
        labels(&[
            ("__address__", address),
            ("__meta_uyuni_minion_hostname", host),
            ("__meta_uyuni_primary_fqdn", &format!("{host}.example.com")),
            ("__meta_uyuni_system_id", system),
            ("__meta_uyuni_groups", groups),
            ("__meta_uyuni_endpoint_name", name),
            ("__meta_uyuni_exporter", exporter),
            ("__meta_uyuni_proxy_module", module),
            ("__meta_uyuni_metrics_path", path),
            ("__meta_uyuni_scheme", scheme),
        ])
    };
    let mut want = vec![
        target(
            "minion1:9100",
            "minion1",
            "1000010000",
            "web,prod",
            "node_exporter",
            "node_exporter",
            "",
            "/metrics",
            "http",
        ),
        target(
            "minion1:9117",
            "minion1",
            "1000010000",
            "web,prod",
            "apache_exporter",
            "apache_exporter",
            "apache",
            "/apache",
            "https",
        ),
        target(
            "minion2:9100",
            "minion2",
            "1000010001",
            "",
            "node_exporter",
            "node_exporter",
            "",
            "/metrics",
            "http",
        ),
    ];
    want.sort();
    assert_eq!(discovered(&json), want);
    let methods: Vec<String> = fixture
        .requests()
        .iter()
        .map(|r| {
            let body = r.body_text();
            body.split("<methodName>")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        methods,
        [
            "auth.login",
            "system.listSystemGroupsForSystemsWithEntitlement",
            "system.monitoring.listEndpoints",
            "system.getNetworkForSystems"
        ]
    );
}

fn logins(fixture: &Fixture) -> usize {
    fixture
        .requests()
        .iter()
        .filter(|r| r.body_text().contains("<methodName>auth.login<"))
        .count()
}

/// `TestUyuniSDSkipLogin`: the token is reused while fresh; `TestUyuniSDLogin`: a failing call
/// after the login fails the refresh with Prometheus' message, keeps the last good targets and
/// forces a new login; `TestUyuniSDHandleError`: a failing login.
#[test]
fn token_reuse_and_prometheus_errors() {
    let fail = Arc::new(Mutex::new(false));
    let fixture = uyuni(fail.clone());
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fixture, "        refresh_interval: 1s\n");
    let (_daemon, port) = support::start_promsd(dir.path(), &config, &[]);
    let count = |groups: &[serde_json::Value]| -> usize {
        groups
            .iter()
            .map(|g| g["targets"].as_array().map_or(0, Vec::len))
            .sum()
    };
    let good = support::wait_for("three targets", || {
        served(port, "uyuni").filter(|g| count(g) == 3)
    });
    // Two more refreshes on the same token.
    support::wait_for("two more refreshes", || {
        (fixture.requests().len() >= 10).then_some(())
    });
    assert_eq!(logins(&fixture), 1, "the token is reused");

    *fail.lock().unwrap() = true;
    support::wait_for("the groups call to fail", || {
        last_errors(port)
            .iter()
            .any(|e| e == "unable to get the managed system groups information of monitored clients: request error: bad status code - 500")
            .then_some(())
    });
    support::wait_for("a new login after the failure", || {
        (logins(&fixture) >= 2).then_some(())
    });
    assert_eq!(
        served(port, "uyuni").unwrap(),
        good,
        "the last good state stands"
    );

    fixture.set_handler(|_| Reply::new(500, "application/xml", ""));
    support::wait_for("the login to fail", || {
        last_errors(port)
            .iter()
            .any(|e| e == "unable to login to Uyuni API: request error: bad status code - 500")
            .then_some(())
    });
    assert_eq!(served(port, "uyuni").unwrap(), good);
}
