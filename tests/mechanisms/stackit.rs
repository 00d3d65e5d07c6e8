//! STACKIT SD end to end (bearer token, and the service-account key flow):
//! `promsd check service-discovery` against a fixture that plays the IaaS API at
//! `iaas.api.eu01.stackit.cloud` (the default region), reached with `proxy_url` +
//! `tls_config.ca_file` through the intercepting proxy. The fixture checks the token, the
//! path and `details=true`, and answers `mock_test.go`'s server list. The key flow's token is
//! kept across refreshes of a running daemon and renewed with the refresh token once expired;
//! the private key and the token endpoint come from the `STACKIT_*` environment and the
//! credentials file as the SDK reads them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::check_sd;
use crate::support::http_fixture::{HttpFixture, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};

const HOST: &str = "iaas.api.eu01.stackit.cloud";
const TOKEN: &str = "LRK9DAWQ1ZAEFSrCNEEzLCUwhYX1U3g7wMg4dTlkkDC96fyDuyJ39nVbVjCKSDfj";
const PROJECT: &str = "00000000-0000-0000-0000-000000000000";

#[test]
fn servers_with_a_bearer_token_through_the_proxy() {
    let fixture = HttpFixture::start(|req| {
        let want = format!("/v1/projects/{PROJECT}/servers?details=true");
        if req.header("host") != Some(HOST)
            || req.method != "GET"
            || req.target != want
            || req.header("authorization") != Some(&format!("Bearer {TOKEN}"))
            || req.header("accept") != Some("application/json")
        {
            return Response::json(401, "{}");
        }
        Response::json(
            200,
            include_str!("../../src/discovery/stackit/testdata/servers.json"),
        )
    });
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: stackit\n    stackit_sd_configs:\n      - project: {PROJECT}\n        bearer_token: {TOKEN}\n        proxy_url: '{}'\n        tls_config: {{ca_file: '{}'}}\n",
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    let (json, stderr) = check_sd(&config, "stackit", &[]).unwrap();
    let targets = json.as_array().unwrap();
    assert_eq!(targets.len(), 1, "{json} {stderr}");
    let labels: BTreeMap<String, String> = targets[0]["discoveredLabels"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("__meta_") || *k == "__address__")
        .map(|(k, v): (&String, &Value)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let want: BTreeMap<String, String> = [
        ("__address__", "192.0.2.1:80"),
        ("__meta_stackit_project", PROJECT),
        ("__meta_stackit_id", "b4176700-596a-4f80-9fc8-5f9c58a606e1"),
        ("__meta_stackit_type", "g1.1"),
        ("__meta_stackit_private_ipv4_test", "10.0.0.153"),
        ("__meta_stackit_public_ipv4", "192.0.2.1"),
        (
            "__meta_stackit_labelpresent_provisionSTACKITServerAgent",
            "true",
        ),
        ("__meta_stackit_label_provisionSTACKITServerAgent", "true"),
        ("__meta_stackit_labelpresent_stackit_project_id", "true"),
        ("__meta_stackit_name", "runcommandtest"),
        ("__meta_stackit_availability_zone", "eu01-3"),
        ("__meta_stackit_status", "INACTIVE"),
        ("__meta_stackit_power_status", "STOPPED"),
        ("__meta_stackit_label_stackit_project_id", PROJECT),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(labels, want);
    assert!(proxy.seen().contains(&Seen {
        connect: format!("{HOST}:443"),
        sni: Some(HOST.into())
    }));
}

fn testdata(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mechanisms/stackit_testdata")
        .join(name)
}

/// Verifies an RS512 JWT with openssl against the kept public key (not promsd's code).
fn openssl_verifies(input: &str, signature: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let (i, s) = (dir.path().join("input"), dir.path().join("sig"));
    std::fs::write(&i, input).unwrap();
    std::fs::write(&s, signature).unwrap();
    std::process::Command::new("openssl")
        .args(["dgst", "-sha512", "-verify"])
        .arg(testdata("public.pem"))
        .arg("-signature")
        .arg(&s)
        .arg(&i)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `TestServerSDRefresh`'s "default with service account key": the key JSON of the upstream
/// test with a kept PKCS#1 key as `private_key_path`; the token endpoint
/// (`service-account.api.stackit.cloud`) verifies the JWT's signature and claims.
#[test]
fn service_account_key_flow_through_the_proxy() {
    use base64::Engine as _;
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let e = errors.clone();
    let fixture = HttpFixture::start(move |req| {
        let fail = |m: String| {
            e.lock().unwrap().push(m);
            Response::json(401, "{}")
        };
        match req.header("host") {
            Some("service-account.api.stackit.cloud") => {
                if req.method != "POST" || req.target != "/token" {
                    return fail(format!("token {} {}", req.method, req.target));
                }
                let form: BTreeMap<String, String> = url::form_urlencoded::parse(&req.body)
                    .into_owned()
                    .collect();
                // As upstream's mock: the form starts with the assertion (Go sorts the keys).
                if !req.body_text().starts_with("assertion=ey") {
                    return fail(format!("body {}", req.body_text()));
                }
                if form.get("grant_type").map(String::as_str)
                    != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
                {
                    return fail(format!("form {form:?}"));
                }
                let jwt = form.get("assertion").cloned().unwrap_or_default();
                let parts: Vec<&str> = jwt.split('.').collect();
                let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                let decode = |p: &str| -> Value {
                    serde_json::from_slice(&b64.decode(p).unwrap_or_default())
                        .unwrap_or(Value::Null)
                };
                if parts.len() != 3 {
                    return fail("not a JWT".into());
                }
                let (header, claims) = (decode(parts[0]), decode(parts[1]));
                if header["alg"] != "RS512"
                    || header["kid"] != "123e4567-e89b-12d3-a456-426614174000"
                {
                    return fail(format!("header {header}"));
                }
                if claims["iss"] != "stackit@sa.stackit.cloud"
                    || claims["sub"] != "123e4567-e89b-12d3-a456-426614174001"
                    || claims["aud"]
                        != "https://stackit-service-account-prod.apps.01.cf.eu01.stackit.cloud"
                    || !claims["jti"].is_string()
                    || claims["exp"].as_u64() != claims["iat"].as_u64().map(|i| i + 3600)
                {
                    return fail(format!("claims {claims}"));
                }
                let sig = b64.decode(parts[2]).unwrap_or_default();
                if !openssl_verifies(&format!("{}.{}", parts[0], parts[1]), &sig) {
                    return fail("bad JWT signature".into());
                }
                Response::json(200, format!(r#"{{"access_token": "{TOKEN}"}}"#))
            }
            Some(HOST) => {
                if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
                    return fail(format!("api auth {:?}", req.header("authorization")));
                }
                Response::json(
                    200,
                    include_str!("../../src/discovery/stackit/testdata/servers.json"),
                )
            }
            other => fail(format!("host {other:?}")),
        }
    });
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let key = r#"{"Active": true, "Credentials": {"Aud": "https://stackit-service-account-prod.apps.01.cf.eu01.stackit.cloud", "Iss": "stackit@sa.stackit.cloud", "Kid": "123e4567-e89b-12d3-a456-426614174000", "Sub": "123e4567-e89b-12d3-a456-426614174001"}, "ID": "123e4567-e89b-12d3-a456-426614174002", "KeyAlgorithm": "RSA_2048", "KeyOrigin": "USER_PROVIDED", "KeyType": "USER_MANAGED", "PublicKey": "...", "ValidUntil": "2025-04-05T13:34:56Z"}"#;
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: stackit\n    stackit_sd_configs:\n      - project: {PROJECT}\n        service_account_key: '{key}'\n        private_key_path: '{}'\n        proxy_url: '{}'\n        tls_config: {{ca_file: '{}'}}\n",
            testdata("key.pem").display(),
            proxy.url(),
            proxy_ca_file().display()
        ),
    )
    .unwrap();
    let (json, stderr) = check_sd(&config, "stackit", &[]).unwrap();
    assert!(
        errors.lock().unwrap().is_empty(),
        "{:?}",
        errors.lock().unwrap()
    );
    assert_eq!(json.as_array().unwrap().len(), 1, "{json} {stderr}");
    assert!(proxy.seen().contains(&Seen {
        connect: "service-account.api.stackit.cloud:443".into(),
        sni: Some("service-account.api.stackit.cloud".into())
    }));
}

/// A JWT-shaped token (unsigned: only its `exp` matters to the client) with a marker claim.
fn token_jwt(exp: i64, marker: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.c2ln",
        b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64.encode(format!(r#"{{"exp":{exp},"m":"{marker}"}}"#))
    )
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn form_of(req: &crate::support::http_fixture::Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

/// A running daemon with two STACKIT jobs refreshing every second, each with its own token
/// endpoint (the key's `credentials.tokenEndpoint`): job `a` gets an access token valid for an
/// hour, so the endpoint is asked once across several refreshes; job `b` gets access tokens
/// already expired and a refresh token valid for an hour, so each later refresh renews with
/// `grant_type=refresh_token`. Every API request carries the token just issued for its job.
#[test]
fn access_token_kept_across_refreshes_and_renewed_after_expiry() {
    // The access token last issued per job, and every refresh token issued (job `b`).
    let issued = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::<String, String>::new()));
    let refreshes = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (iss, refs, errs) = (issued.clone(), refreshes.clone(), errors.clone());
    let fixture = HttpFixture::start(move |req| {
        let path = req.path().to_owned();
        if let Some(job) = path
            .strip_suffix("/token")
            .map(|p| p.trim_start_matches('/'))
        {
            let mut refs = refs.lock().unwrap();
            let n = refs.len();
            let (access_exp, refresh) = match job {
                "a" => (unix_now() + 3600, String::new()),
                _ => {
                    refs.push(token_jwt(unix_now() + 3600, &format!("r{n}")));
                    (unix_now() - 100, refs[n].clone())
                }
            };
            let access = token_jwt(access_exp, &format!("{job}{n}"));
            iss.lock().unwrap().insert(job.to_owned(), access.clone());
            return Response::json(
                200,
                serde_json::json!({"access_token": access, "refresh_token": refresh, "expires_in": 3600, "token_type": "Bearer"}).to_string(),
            );
        }
        let job = if path.contains("/projects/pa/") {
            "a"
        } else {
            "b"
        };
        let want = iss.lock().unwrap().get(job).cloned().unwrap_or_default();
        if req.header("authorization") != Some(&format!("Bearer {want}")) {
            errs.lock()
                .unwrap()
                .push(format!("{path}: {:?}", req.header("authorization")));
            return Response::json(401, "{}");
        }
        Response::json(200, r#"{"items": []}"#)
    });
    let dir = tempfile::tempdir().unwrap();
    let key = |job: &str| {
        serde_json::json!({"credentials": {
            "aud": "https://stackit-service-account-prod.apps.01.cf.eu01.stackit.cloud",
            "iss": "stackit@sa.stackit.cloud", "kid": "k", "sub": "123e4567-e89b-12d3-a456-426614174001",
            "tokenEndpoint": format!("{}/{job}/token", fixture.url())
        }})
        .to_string()
    };
    let job = |name: &str| {
        format!(
            "  - job_name: {name}\n    stackit_sd_configs:\n      - project: p{name}\n        endpoint: {}\n        refresh_interval: 1s\n        service_account_key: '{}'\n        private_key_path: '{}'\n",
            fixture.url(),
            key(name),
            testdata("key.pem").display()
        )
    };
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!("scrape_configs:\n{}{}", job("a"), job("b")),
    )
    .unwrap();
    let (_promsd, _port) = crate::support::start_promsd(dir.path(), &config, &[]);
    let count = |f: &dyn Fn(&crate::support::http_fixture::Request) -> bool| {
        fixture.requests().iter().filter(|r| f(r)).count()
    };
    crate::support::wait_for("three refreshes of each job", || {
        let a = count(&|r| r.path().contains("/projects/pa/"));
        let b = count(&|r| r.path().contains("/projects/pb/"));
        (a >= 3 && b >= 3).then_some(())
    });
    assert!(
        errors.lock().unwrap().is_empty(),
        "{:?}",
        errors.lock().unwrap()
    );
    let requests = fixture.requests();
    let token_requests = |job: &str| -> Vec<BTreeMap<String, String>> {
        requests
            .iter()
            .filter(|r| r.path() == format!("/{job}/token"))
            .map(form_of)
            .collect()
    };
    let a = token_requests("a");
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(
        a[0]["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let b = token_requests("b");
    assert!(b.len() >= 3, "{b:?}");
    assert_eq!(
        b[0]["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    for (i, renewal) in b.iter().enumerate().skip(1) {
        assert_eq!(renewal["grant_type"], "refresh_token", "{renewal:?}");
        assert_eq!(
            renewal["refresh_token"],
            refreshes.lock().unwrap()[i - 1],
            "renewal {i} uses the refresh token issued just before"
        );
    }
}

/// Only `service_account_key` configured: the private key comes from the credentials file named
/// by `STACKIT_CREDENTIALS_PATH` (its `STACKIT_PRIVATE_KEY_PATH`), the token endpoint from
/// `STACKIT_TOKEN_BASEURL`; the JWT is verified by openssl against the kept public key. Without
/// the file, the discoverer cannot be created and the job has no targets.
#[test]
fn private_key_and_token_endpoint_from_the_stackit_environment() {
    use base64::Engine as _;
    let fixture = HttpFixture::start(move |req| {
        if req.path() == "/token" {
            let form = form_of(req);
            let jwt = form.get("assertion").cloned().unwrap_or_default();
            let parts: Vec<&str> = jwt.split('.').collect();
            let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(parts.get(2).unwrap_or(&""))
                .unwrap_or_default();
            if parts.len() != 3 || !openssl_verifies(&format!("{}.{}", parts[0], parts[1]), &sig) {
                return Response::json(401, "{}");
            }
            return Response::json(200, format!(r#"{{"access_token": "{TOKEN}"}}"#));
        }
        if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return Response::json(401, "{}");
        }
        Response::json(
            200,
            include_str!("../../src/discovery/stackit/testdata/servers.json"),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials.json");
    std::fs::write(
        &creds,
        serde_json::json!({"STACKIT_PRIVATE_KEY_PATH": testdata("key.pem")}).to_string(),
    )
    .unwrap();
    let key = r#"{"credentials": {"aud": "a", "iss": "stackit@sa.stackit.cloud", "kid": "k", "sub": "123e4567-e89b-12d3-a456-426614174001"}}"#;
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: stackit\n    stackit_sd_configs:\n      - project: {PROJECT}\n        endpoint: {}\n        service_account_key: '{key}'\n",
            fixture.url()
        ),
    )
    .unwrap();
    let token_url = format!("{}/token", fixture.url());
    let home = dir.path().display().to_string();
    let (json, stderr) = check_sd(
        &config,
        "stackit",
        &[
            ("HOME", &home),
            ("STACKIT_CREDENTIALS_PATH", creds.to_str().unwrap()),
            ("STACKIT_TOKEN_BASEURL", &token_url),
        ],
    )
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1, "{json} {stderr}");
    assert_eq!(
        fixture
            .requests()
            .iter()
            .filter(|r| r.path() == "/token")
            .count(),
        1
    );
    // No credentials file ($HOME has none): no key, no discoverer, no targets.
    let (json, _) = check_sd(
        &config,
        "stackit",
        &[("HOME", &home), ("STACKIT_TOKEN_BASEURL", &token_url)],
    )
    .unwrap_or((serde_json::json!([]), String::new()));
    assert_eq!(json, serde_json::json!([]));
}
