//! The mechanism kit's shared HTTP settings, end to end through `promsd check
//! service-discovery` with HTTP SD (the simplest HTTP-based mechanism): a fixed https host
//! reached through an intercepting proxy with `proxy_url` + `tls_config.ca_file`, a server
//! whose certificate names another host (`server_name`), credentials asserted by the server,
//! a rotated credentials file, OAuth2 client credentials, and zero intervals rejected.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::support::check_sd;
use crate::support::http_fixture::{HttpFixture, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy, TlsServer};

const TARGETS: &str = r#"[{"targets": ["10.0.0.1:9100"], "labels": {"env": "prod"}}]"#;

fn write_config(dir: &std::path::Path, sd: &str) -> std::path::PathBuf {
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        format!("scrape_configs:\n  - job_name: j\n    http_sd_configs:\n      - {sd}\n"),
    )
    .unwrap();
    path
}

fn addresses(json: &serde_json::Value) -> Vec<String> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|t| t["labels"]["__address__"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn a_fixed_https_host_is_reached_through_an_intercepting_proxy_with_its_ca() {
    let api = HttpFixture::start(|req| {
        if req.header("authorization") != Some("Bearer s3cret") {
            return Response::new(401);
        }
        Response::json(200, TARGETS)
    });
    let proxy = TlsProxy::start(api.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "{{url: 'https://sd.example.cloud/targets', authorization: {{credentials: s3cret}}, proxy_url: '{}', tls_config: {{ca_file: '{}'}}}}",
            proxy.url(),
            proxy_ca_file().display()
        ),
    );
    let (json, _) = check_sd(&config, "j", &[]).unwrap();
    assert_eq!(addresses(&json), ["10.0.0.1:9100"]);
    assert_eq!(
        json[0]["discoveredLabels"]["__meta_url"],
        "https://sd.example.cloud/targets"
    );
    assert_eq!(
        proxy.seen()[0],
        Seen {
            connect: "sd.example.cloud:443".into(),
            sni: Some("sd.example.cloud".into())
        }
    );
    let requests = api.requests();
    assert_eq!(requests[0].path(), "/targets");
    assert_eq!(requests[0].header("host"), Some("sd.example.cloud"));
}

#[test]
fn without_the_proxys_ca_the_connection_is_refused() {
    let api = HttpFixture::start(|_| Response::json(200, TARGETS));
    let proxy = TlsProxy::start(api.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "{{url: 'https://sd.example.cloud/targets', proxy_url: '{}'}}",
            proxy.url()
        ),
    );
    // No first state ever arrives: the check gives up at its timeout with the error.
    let mut command = std::process::Command::new(crate::support::promsd_bin());
    let out = command
        .args([
            "check",
            "service-discovery",
            config.to_str().unwrap(),
            "j",
            "--timeout",
            "5s",
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(api.requests().is_empty(), "{text}");
    assert!(text.to_lowercase().contains("certificate"), "{text}");
}

#[test]
fn server_name_verifies_a_certificate_issued_for_another_name() {
    let api = HttpFixture::start(|_| Response::json(200, TARGETS));
    let server = TlsServer::start("sd.internal.example", api.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "{{url: 'https://127.0.0.1:{}/targets', tls_config: {{ca_file: '{}', server_name: sd.internal.example}}}}",
            server.addr.port(),
            proxy_ca_file().display()
        ),
    );
    let (json, _) = check_sd(&config, "j", &[]).unwrap();
    assert_eq!(addresses(&json), ["10.0.0.1:9100"]);
}

#[test]
fn basic_auth_password_file_is_read_at_every_request() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let api = HttpFixture::start(move |req| {
        seen2
            .lock()
            .unwrap()
            .push(req.header("authorization").unwrap_or("").to_owned());
        Response::json(200, TARGETS)
    });
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "first\n").unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "{{url: '{}/sd', basic_auth: {{username: u, password_file: password}}}}",
            api.url()
        ),
    );
    check_sd(&config, "j", &[]).unwrap();
    std::fs::write(&password, "second").unwrap();
    check_sd(&config, "j", &[]).unwrap();
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            format!("Basic {}", b64("u:first")),
            format!("Basic {}", b64("u:second"))
        ]
    );
}

#[test]
fn oauth2_client_credentials_fetch_a_token_then_use_it() {
    let tokens = Arc::new(AtomicUsize::new(0));
    let t2 = tokens.clone();
    let api = HttpFixture::start(move |req| match req.path() {
        "/token" => {
            use base64::Engine as _;
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("client:secret")
            );
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
                .into_owned()
                .collect();
            if req.header("authorization") != Some(expected.as_str())
                || !form.contains(&("grant_type".into(), "client_credentials".into()))
                || !form.contains(&("scope".into(), "a b".into()))
                || !form.contains(&("audience".into(), "sd".into()))
            {
                return Response::new(401);
            }
            t2.fetch_add(1, Ordering::SeqCst);
            Response::json(
                200,
                r#"{"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600}"#,
            )
        }
        "/sd" if req.header("authorization") == Some("Bearer tok-1") => {
            Response::json(200, TARGETS)
        }
        _ => Response::new(403),
    });
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "{{url: '{0}/sd', oauth2: {{client_id: client, client_secret: secret, token_url: '{0}/token', scopes: [a, b], endpoint_params: {{audience: sd}}}}}}",
            api.url()
        ),
    );
    let (json, _) = check_sd(&config, "j", &[]).unwrap();
    assert_eq!(addresses(&json), ["10.0.0.1:9100"]);
    assert_eq!(tokens.load(Ordering::SeqCst), 1);
}

#[test]
fn no_proxy_hosts_skip_the_proxy() {
    let api = HttpFixture::start(|_| Response::json(200, TARGETS));
    // A proxy that would refuse everything: no backend.
    let proxy = TlsProxy::start_routes(Default::default(), None);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "{{url: '{}/sd', proxy_url: '{}', no_proxy: '127.0.0.1'}}",
            api.url(),
            proxy.url()
        ),
    );
    let (json, _) = check_sd(&config, "j", &[]).unwrap();
    assert_eq!(addresses(&json), ["10.0.0.1:9100"]);
    assert!(proxy.seen().is_empty());
}

#[test]
fn a_zero_refresh_interval_is_a_config_error_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    for (key, sd) in [
        (
            "http_sd_configs",
            "url: http://a/sd\n        refresh_interval: 0s",
        ),
        (
            "consul_sd_configs",
            "server: a:8500\n        refresh_interval: 0s",
        ),
        (
            "dns_sd_configs",
            "names: [a.example]\n        refresh_interval: 0s",
        ),
        (
            "file_sd_configs",
            "files: [a.json]\n        refresh_interval: 0s",
        ),
    ] {
        let path = dir.path().join("p.yml");
        std::fs::write(
            &path,
            format!("scrape_configs:\n  - job_name: j\n    {key}:\n      - {sd}\n"),
        )
        .unwrap();
        let err = promsd::config::Config::load_file(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("refresh_interval must be greater than 0") && err.contains("p.yml:"),
            "{key}: {err}"
        );
    }
}
