//! Eureka SD end to end: `promsd check service-discovery` and `promsd run` against a Eureka
//! fixture serving Prometheus' test answer (`discovery/eureka/client_test.go`'s `appsXML`).

use super::registries_kit::*;

const APPS: &str = include_str!("testdata/eureka_apps.xml");

fn eureka_fixture(body: &'static str) -> Fixture {
    Fixture::start(move |r| {
        if r.method == "GET" && r.path == "/eureka/apps" {
            Reply::new(200, "application/xml", body)
        } else {
            Reply::new(404, "text/plain", "not found")
        }
    })
}

fn config(dir: &std::path::Path, fixture: &Fixture, extra: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            "scrape_configs:\n  - job_name: eureka\n    eureka_sd_configs:\n      - server: {}/eureka\n        refresh_interval: 1s\n{extra}",
            fixture.url()
        ),
    )
}

/// `TestEurekaSDSendGroup` through the binary: four targets with every label, the request as
/// Prometheus sends it (GET, XML asked for, basic auth applied).
#[test]
fn discovers_every_instance() {
    let fixture = eureka_fixture(APPS);
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &fixture,
        "        basic_auth: {username: user, password: pass}\n",
    );
    let (code, json, stderr) = check_sd(&config, "eureka");
    assert_eq!(code, Some(0), "{stderr}");
    let targets = discovered(&json);
    assert_eq!(targets.len(), 4, "{json}");
    let addresses: Vec<&str> = targets.iter().map(|t| t["__address__"].as_str()).collect();
    assert_eq!(
        addresses,
        [
            "config-service001.test.com:8080",
            "config-service002.test.com:8080",
            "meta-service001.test.com:8080",
            "meta-service002.test.com:8080"
        ]
    );
    assert_eq!(
        targets[2],
        labels(&[
            ("__address__", "meta-service001.test.com:8080"),
            ("instance", "meta-service001.test.com:meta-service:8080"),
            ("__meta_eureka_app_name", "META-SERVICE"),
            (
                "__meta_eureka_app_instance_hostname",
                "meta-service001.test.com"
            ),
            (
                "__meta_eureka_app_instance_homepage_url",
                "http://meta-service001.test.com:8080/"
            ),
            (
                "__meta_eureka_app_instance_statuspage_url",
                "http://meta-service001.test.com:8080/info"
            ),
            (
                "__meta_eureka_app_instance_healthcheck_url",
                "http://meta-service001.test.com:8080/health"
            ),
            ("__meta_eureka_app_instance_ip_addr", "192.133.87.236"),
            ("__meta_eureka_app_instance_vip_address", "meta-service"),
            (
                "__meta_eureka_app_instance_secure_vip_address",
                "meta-service"
            ),
            ("__meta_eureka_app_instance_status", "UP"),
            ("__meta_eureka_app_instance_country_id", "1"),
            (
                "__meta_eureka_app_instance_id",
                "meta-service001.test.com:meta-service:8080"
            ),
            ("__meta_eureka_app_instance_port", "8080"),
            ("__meta_eureka_app_instance_port_enabled", "true"),
            ("__meta_eureka_app_instance_secure_port", "443"),
            ("__meta_eureka_app_instance_secure_port_enabled", "false"),
            ("__meta_eureka_app_instance_datacenterinfo_name", "MyOwn"),
            (
                "__meta_eureka_app_instance_metadata_project",
                "meta-service"
            ),
            (
                "__meta_eureka_app_instance_metadata_management_port",
                "8090"
            ),
        ])
    );
    // The final labels keep the discovered `instance`, not the address.
    let kept = json
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["labels"]["__address__"] == "meta-service001.test.com:8080")
        .unwrap();
    assert_eq!(
        kept["labels"]["instance"],
        "meta-service001.test.com:meta-service:8080"
    );
    let request = &fixture.requests()[0];
    assert_eq!((&*request.method, &*request.path), ("GET", "/eureka/apps"));
    assert_eq!(request.header("accept"), Some("application/xml"));
    assert_eq!(request.header("authorization"), Some("Basic dXNlcjpwYXNz"));
}

/// `TestEurekaSDEmptyList`: an empty registry is no targets, not an error.
#[test]
fn empty_registry() {
    let fixture = eureka_fixture(
        "<applications>\n<versions__delta>1</versions__delta>\n<apps__hashcode/>\n</applications>",
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, json, stderr) = check_sd(&config(dir.path(), &fixture, ""), "eureka");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(discovered(&json).is_empty(), "{json}");
}

/// `TestEurekaSDHandleError`: a 500 fails the refresh; the daemon keeps the last good targets.
#[test]
fn failures_keep_the_last_good_state() {
    let fixture = eureka_fixture(APPS);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fixture, "");
    last_good_state_is_kept(dir.path(), &config, "eureka", &fixture, 4, |_| {
        Reply::new(500, "application/xml", "")
    });
}

/// An https Eureka behind a corporate proxy: `proxy_url` and the proxy's CA in `tls_config`.
#[test]
fn reaches_an_https_server_through_a_proxy() {
    use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};
    let fixture = eureka_fixture(APPS);
    let proxy = TlsProxy::start(format!("127.0.0.1:{}", fixture.port).parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "scrape_configs:\n  - job_name: eureka\n    eureka_sd_configs:\n      - server: https://eureka.example.com:8761/eureka\n        proxy_url: {}\n        tls_config:\n          ca_file: {}\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    );
    let (code, json, stderr) = check_sd(&config, "eureka");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(discovered(&json).len(), 4, "{json}");
    assert_eq!(
        proxy.seen()[0],
        Seen {
            connect: "eureka.example.com:8761".into(),
            sni: Some("eureka.example.com".into())
        }
    );
    assert_eq!(fixture.requests()[0].path, "/eureka/apps");
}
