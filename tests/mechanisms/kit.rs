//! The mechanism kit's shared HTTP settings, end to end through `promsd check
//! service-discovery` with HTTP SD (the simplest HTTP-based mechanism): a fixed https host
//! reached through an intercepting proxy with `proxy_url` + `tls_config.ca_file`, a server
//! whose certificate names another host (`server_name`), credentials asserted by the server,
//! a rotated credentials file, OAuth2 client credentials and the JWT-bearer grant (its signature
//! verified by openssl on the token server), and zero intervals rejected.

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

/// A test RSA key (PKCS#8, made once with `openssl genpkey`) and its public half.
fn rsa_testdata(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mechanisms/testdata/oci")
        .join(name)
}

/// Verifies a JWT's RS384 signature with openssl (not promsd's signer) against `public`.
fn openssl_verifies_rs384(jwt: &str, public: &std::path::Path) -> bool {
    use base64::Engine as _;
    let Some((input, signature)) = jwt.rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let dir = tempfile::tempdir().unwrap();
    let (input_file, sig_file) = (dir.path().join("input"), dir.path().join("sig"));
    std::fs::write(&input_file, input).unwrap();
    std::fs::write(&sig_file, signature).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha384", "-verify"])
        .arg(public)
        .arg("-signature")
        .arg(&sig_file)
        .arg(&input_file)
        .output()
        .expect("openssl must be installed for the JWT-bearer test");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

/// The form a token request posted.
fn token_form(
    req: &crate::support::http_fixture::Request,
) -> std::collections::BTreeMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

/// Decodes a JWT part (header or claims) as JSON.
fn jwt_part(jwt: &str, index: usize) -> serde_json::Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(index).unwrap_or("");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
}

#[test]
fn oauth2_jwt_bearer_grant_signs_an_assertion_the_token_server_verifies() {
    let seen_claims = Arc::new(std::sync::Mutex::new(None));
    let seen = seen_claims.clone();
    let api = HttpFixture::start(move |req| match req.path() {
        "/token" => {
            let form = token_form(req);
            let assertion = form.get("assertion").cloned().unwrap_or_default();
            let header = jwt_part(&assertion, 0);
            let claims = jwt_part(&assertion, 1);
            // RFC 7523: no client authentication, the assertion is the credential.
            let ok = req.header("authorization").is_none()
                && form.get("grant_type").map(String::as_str)
                    == Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
                && form.get("scope").map(String::as_str) == Some("read write")
                && form.get("resource").map(String::as_str) == Some("sd")
                && header["alg"] == "RS384"
                && header["kid"] == "key-1"
                && header["typ"] == "JWT"
                && openssl_verifies_rs384(&assertion, &rsa_testdata("public.pem"));
            *seen.lock().unwrap() = Some(claims);
            if !ok {
                return Response::new(401);
            }
            Response::json(
                200,
                r#"{"access_token": "jwt-tok", "token_type": "Bearer"}"#,
            )
        }
        "/sd" if req.header("authorization") == Some("Bearer jwt-tok") => {
            Response::json(200, TARGETS)
        }
        _ => Response::new(403),
    });
    let dir = tempfile::tempdir().unwrap();
    // An absolute path: Prometheus does not join client_certificate_key_file with the config's
    // directory (OAuth2.SetDirectory joins client_secret_file only).
    let key_file = dir.path().join("client.pem");
    std::fs::copy(rsa_testdata("key.pem"), &key_file).unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "{{url: '{0}/sd', oauth2: {{client_id: client-7, grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client_certificate_key_file: '{1}', client_certificate_key_id: key-1, signature_algorithm: RS384, iss: issuer-9, audience: 'https://login.example', claims: {{tenant: t1, sub: overridden}}, scopes: [read, write], token_url: '{0}/token', endpoint_params: {{resource: sd}}}}}}",
            api.url(),
            key_file.display()
        ),
    );
    let (json, _) = check_sd(&config, "j", &[]).unwrap();
    assert_eq!(addresses(&json), ["10.0.0.1:9100"]);
    let claims = seen_claims
        .lock()
        .unwrap()
        .clone()
        .expect("a token request");
    assert_eq!(claims["iss"], "issuer-9");
    assert_eq!(claims["aud"], "https://login.example");
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["tenant"], "t1");
    // Configured claims are copied last and win, as prometheus/common's maps.Copy.
    assert_eq!(claims["sub"], "overridden");
    assert_eq!(claims["jti"].as_str().map(str::len), Some(36));
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 600, "{claims}");
}

#[test]
fn oauth2_jwt_bearer_defaults_iss_to_client_id_and_aud_to_token_url() {
    let seen_claims = Arc::new(std::sync::Mutex::new(None));
    let seen = seen_claims.clone();
    let api = HttpFixture::start(move |req| match req.path() {
        "/token" => {
            let form = token_form(req);
            let assertion = form.get("assertion").cloned().unwrap_or_default();
            *seen.lock().unwrap() = Some((jwt_part(&assertion, 0), jwt_part(&assertion, 1)));
            Response::json(200, r#"{"access_token": "jwt-tok", "expires_in": 3600}"#)
        }
        "/sd" if req.header("authorization") == Some("Bearer jwt-tok") => {
            Response::json(200, TARGETS)
        }
        _ => Response::new(403),
    });
    let dir = tempfile::tempdir().unwrap();
    let key = std::fs::read_to_string(rsa_testdata("key.pem")).unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: j\n    http_sd_configs:\n      - url: '{0}/sd'\n        oauth2:\n          client_id: client-7\n          grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer\n          token_url: '{0}/token'\n          client_certificate_key: |\n{1}",
            api.url(),
            key.lines().map(|l| format!("            {l}\n")).collect::<String>()
        ),
    )
    .unwrap();
    let (json, _) = check_sd(&config, "j", &[]).unwrap();
    assert_eq!(addresses(&json), ["10.0.0.1:9100"]);
    let (header, claims) = seen_claims
        .lock()
        .unwrap()
        .clone()
        .expect("a token request");
    assert_eq!(header["alg"], "RS256");
    assert!(header.get("kid").is_none(), "{header}");
    assert_eq!(claims["iss"], "client-7");
    assert_eq!(claims["sub"], "client-7");
    assert_eq!(claims["aud"], format!("{}/token", api.url()));
    assert!(claims.get("scope").is_none(), "{claims}");
}

#[test]
fn a_secret_ref_loads_and_its_discoverer_cannot_be_created_with_prometheus_message() {
    // Prometheus runs no secret manager: the config loads, and NewClientFromConfig fails in the
    // mechanism's NewDiscovery with prometheus/common's message. No request is ever sent.
    let api = HttpFixture::start(|_| Response::json(200, TARGETS));
    for (settings, message) in [
        (
            "basic_auth: {username: u, password_ref: vault-pw}",
            "unable to use password: cannot use secret ref without manager",
        ),
        (
            "authorization: {credentials_ref: vault-token}",
            "unable to use credentials: cannot use secret ref without manager",
        ),
        (
            "oauth2: {client_id: c, client_secret_ref: vault-secret, token_url: 'http://127.0.0.1:1/t'}",
            "unable to use client secret: cannot use secret ref without manager",
        ),
        (
            "tls_config: {ca_ref: vault-ca}",
            "unable to use CA cert: cannot use secret ref without manager",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), &format!("{{url: '{}/sd', {settings}}}", api.url()));
        let checked = std::process::Command::new(crate::support::promsd_bin())
            .args(["check", "config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(checked.status.success(), "{settings}: {checked:?}");
        // promtool's `check service-discovery` stops there: "Could not create new
        // discoverer", exit 1.
        let failed = check_sd(&config, "j", &[]).unwrap_err();
        assert!(failed.starts_with("exit Some(1)"), "{settings}: {failed}");
        assert!(
            failed.contains(&format!("Could not create new discoverer {message}")),
            "{settings}: {failed}"
        );
    }
    assert!(api.requests().is_empty());
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
