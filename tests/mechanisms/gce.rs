//! GCE SD end to end: `promsd check service-discovery` against a fixture that plays Google's
//! token endpoint (`oauth2.googleapis.com`) and the Compute API (`compute.googleapis.com`),
//! reached through the intercepting proxy named by `HTTPS_PROXY` with its CA in
//! `SSL_CERT_FILE`, as Go programs find them (GCE SD has no HTTP settings in Prometheus).
//! The token endpoint verifies the service account's JWT with openssl (not promsd's signer)
//! against the public half of the kept test key; the Compute API accepts only the issued
//! token, checks the query (`alt`, `filter`, `pageToken`, `prettyPrint`) and serves two pages.
//! The metadata server (`GCE_METADATA_HOST`) is a plain fixture on 127.0.0.1.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::check_sd;
use crate::support::http_fixture::{HttpFixture, Request, Response};
use crate::support::tls_proxy::{proxy_ca_file, Seen, TlsProxy};

const PROJECT: &str = "my-project";
const ZONE: &str = "europe-west1-b";
const FILTER: &str = r#"(status = "RUNNING") AND (labels.env = "prod")"#;
const ZONE_URL: &str =
    "https://www.googleapis.com/compute/v1/projects/my-project/zones/europe-west1-b";
const NETWORK: &str =
    "https://www.googleapis.com/compute/v1/projects/my-project/global/networks/default";
const SUBNET: &str = "https://www.googleapis.com/compute/v1/projects/my-project/regions/europe-west1/subnetworks/default";

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mechanisms/gce_testdata")
        .join(name)
}

/// Two instances on page 1 (one without a network interface), one on page 2, as the
/// Compute API's `instances.list` answers them.
fn page(n: usize) -> Value {
    match n {
        1 => json!({
            "kind": "compute#instanceList",
            "id": "projects/my-project/zones/europe-west1-b/instances",
            "items": [
                {
                    "kind": "compute#instance", "id": "4567890123456789012", "name": "web-1",
                    "zone": ZONE_URL, "status": "RUNNING",
                    "machineType": format!("{ZONE_URL}/machineTypes/e2-small"),
                    "networkInterfaces": [
                        {"kind": "compute#networkInterface", "name": "nic0", "network": NETWORK, "subnetwork": SUBNET,
                         "networkIP": "10.132.0.2",
                         "accessConfigs": [{"kind": "compute#accessConfig", "type": "ONE_TO_ONE_NAT", "name": "External NAT", "natIP": "203.0.113.7", "networkTier": "PREMIUM"}]},
                        {"kind": "compute#networkInterface", "name": "nic1", "network": NETWORK, "networkIP": "10.8.0.3"}
                    ],
                    "tags": {"items": ["http-server", "prod"], "fingerprint": "42WmSpB8rSM="},
                    "metadata": {"kind": "compute#metadata", "fingerprint": "x", "items": [{"key": "startup-script", "value": "echo hi"}]},
                    "labels": {"env": "prod", "team": "sre"}
                },
                {"kind": "compute#instance", "id": "1", "name": "no-nic", "zone": ZONE_URL, "status": "TERMINATED"}
            ],
            "nextPageToken": "page-2",
            "selfLink": "https://www.googleapis.com/compute/v1/projects/my-project/zones/europe-west1-b/instances"
        }),
        _ => json!({
            "kind": "compute#instanceList",
            "items": [{
                "kind": "compute#instance", "id": "9", "name": "db-1", "zone": ZONE_URL, "status": "RUNNING",
                "machineType": format!("{ZONE_URL}/machineTypes/n2-standard-4"),
                "networkInterfaces": [{"name": "nic0", "network": NETWORK, "subnetwork": SUBNET, "networkIP": "10.132.0.9"}]
            }]
        }),
    }
}

/// The targets, as derived from `gce.go` (labels with empty values are dropped by target
/// building, as in Prometheus).
fn expected() -> BTreeMap<String, BTreeMap<String, String>> {
    let web: BTreeMap<String, String> = [
        ("__address__", "10.132.0.2:9100"),
        ("__meta_gce_instance_id", "4567890123456789012"),
        ("__meta_gce_instance_name", "web-1"),
        ("__meta_gce_instance_status", "RUNNING"),
        ("__meta_gce_interface_ipv4_nic0", "10.132.0.2"),
        ("__meta_gce_interface_ipv4_nic1", "10.8.0.3"),
        ("__meta_gce_label_env", "prod"),
        ("__meta_gce_label_team", "sre"),
        (
            "__meta_gce_machine_type",
            &format!("{ZONE_URL}/machineTypes/e2-small"),
        ),
        ("__meta_gce_metadata_startup_script", "echo hi"),
        ("__meta_gce_network", NETWORK),
        ("__meta_gce_private_ip", "10.132.0.2"),
        ("__meta_gce_project", PROJECT),
        ("__meta_gce_public_ip", "203.0.113.7"),
        ("__meta_gce_subnetwork", SUBNET),
        ("__meta_gce_tags", ",http-server,prod,"),
        ("__meta_gce_zone", ZONE_URL),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let db: BTreeMap<String, String> = [
        ("__address__", "10.132.0.9:9100"),
        ("__meta_gce_instance_id", "9"),
        ("__meta_gce_instance_name", "db-1"),
        ("__meta_gce_instance_status", "RUNNING"),
        ("__meta_gce_interface_ipv4_nic0", "10.132.0.9"),
        (
            "__meta_gce_machine_type",
            &format!("{ZONE_URL}/machineTypes/n2-standard-4"),
        ),
        ("__meta_gce_network", NETWORK),
        ("__meta_gce_private_ip", "10.132.0.9"),
        ("__meta_gce_project", PROJECT),
        ("__meta_gce_subnetwork", SUBNET),
        ("__meta_gce_zone", ZONE_URL),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    [("web-1".to_owned(), web), ("db-1".to_owned(), db)].into()
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
            (labels["__meta_gce_instance_name"].clone(), labels)
        })
        .collect()
}

/// Verifies an RS256 JWT's signature with openssl against the kept public key.
fn openssl_verifies(signing_input: &str, signature: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let (input, sig) = (dir.path().join("input"), dir.path().join("sig"));
    std::fs::write(&input, signing_input).unwrap();
    std::fs::write(&sig, signature).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(testdata("public.pem"))
        .arg("-signature")
        .arg(&sig)
        .arg(&input)
        .output()
        .expect("openssl must be installed for the GCE tests");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

#[derive(Default)]
struct Google {
    tokens: AtomicUsize,
    /// Reject the first token with 401, as a revoked token is.
    revoke_first: std::sync::atomic::AtomicBool,
    /// Answer the second page with this status (0: normally).
    fail_with: AtomicUsize,
    errors: Mutex<Vec<String>>,
}

impl Google {
    fn error(&self, e: String) -> Response {
        self.errors.lock().unwrap().push(e.clone());
        Response::json(400, json!({"error": e}).to_string())
    }

    /// The JWT-bearer grant, every part of the assertion checked.
    fn token(&self, req: &Request) -> Response {
        if req.method != "POST" || req.target != "/token" {
            return self.error(format!("token request {} {}", req.method, req.target));
        }
        let form: BTreeMap<String, String> = url::form_urlencoded::parse(&req.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if form.get("grant_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
            || form.len() != 2
        {
            return self.error(format!("token form {form:?}"));
        }
        let jwt = form.get("assertion").cloned().unwrap_or_default();
        let parts: Vec<&str> = jwt.split('.').collect();
        if parts.len() != 3 {
            return self.error(format!("assertion {jwt}"));
        }
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let decode = |p: &str| -> Value {
            serde_json::from_slice(&b64.decode(p).unwrap_or_default()).unwrap_or(Value::Null)
        };
        let (header, claims) = (decode(parts[0]), decode(parts[1]));
        let sa: Value =
            serde_json::from_slice(&std::fs::read(testdata("service-account.json")).unwrap())
                .unwrap();
        if header != json!({"alg": "RS256", "typ": "JWT", "kid": sa["private_key_id"]}) {
            return self.error(format!("JWT header {header}"));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let iat = claims["iat"].as_i64().unwrap_or(0);
        if claims["iss"] != sa["client_email"]
            || claims["aud"] != "https://oauth2.googleapis.com/token"
            || claims["scope"] != "https://www.googleapis.com/auth/compute.readonly"
            || claims["exp"].as_i64() != Some(iat + 3600)
            || (now - iat).abs() > 300
        {
            return self.error(format!("JWT claims {claims}"));
        }
        let signature = b64.decode(parts[2]).unwrap_or_default();
        if !openssl_verifies(&format!("{}.{}", parts[0], parts[1]), &signature) {
            return Response::json(
                400,
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
            );
        }
        let n = self.tokens.fetch_add(1, Ordering::SeqCst) + 1;
        Response::json(200, json!({"access_token": format!("ya29.test-{n}"), "expires_in": 3599, "token_type": "Bearer"}).to_string())
    }

    fn compute(&self, req: &Request) -> Response {
        let n = self.tokens.load(Ordering::SeqCst);
        let auth = req.header("authorization").unwrap_or("");
        let valid = (1..=n)
            .filter(|i| !(*i == 1 && self.revoke_first.load(Ordering::SeqCst)))
            .any(|i| auth == format!("Bearer ya29.test-{i}"));
        if !valid {
            return Response::json(
                401,
                r#"{"error":{"code":401,"message":"Request had invalid authentication credentials."}}"#,
            );
        }
        let base = format!("/compute/v1/projects/{PROJECT}/zones/{ZONE}/instances");
        let filter: String = url::form_urlencoded::byte_serialize(FILTER.as_bytes()).collect();
        let first = format!("{base}?alt=json&filter={filter}&prettyPrint=false");
        let second = format!("{base}?alt=json&filter={filter}&pageToken=page-2&prettyPrint=false");
        if req.method == "GET" && req.target == first {
            return Response::json(200, page(1).to_string());
        }
        if req.method == "GET" && req.target == second {
            let status = self.fail_with.load(Ordering::SeqCst);
            if status != 0 {
                return Response::json(
                    status as u16,
                    r#"{"error":{"code":503,"message":"backendError"}}"#,
                );
            }
            return Response::json(200, page(2).to_string());
        }
        self.error(format!("compute request {} {}", req.method, req.target))
    }
}

fn write_config(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:\n  - job_name: gce\n    gce_sd_configs:\n      - project: {PROJECT}\n        zone: {ZONE}\n        filter: '{FILTER}'\n        port: 9100\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn service_account_jwt_and_pages_through_the_environments_proxy() {
    let google = Arc::new(Google::default());
    let g = google.clone();
    let fixture = HttpFixture::start(move |req| match req.header("host") {
        Some("oauth2.googleapis.com") => g.token(req),
        Some("compute.googleapis.com") => g.compute(req),
        other => g.error(format!("unexpected host {other:?}")),
    });
    let proxy = TlsProxy::start(fixture.addr);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let credentials = testdata("service-account.json");
    let (json, stderr) = check_sd(
        &config,
        "gce",
        &[
            ("HTTPS_PROXY", &proxy.url()),
            ("NO_PROXY", ""),
            ("SSL_CERT_FILE", proxy_ca_file().to_str().unwrap()),
            (
                "GOOGLE_APPLICATION_CREDENTIALS",
                credentials.to_str().unwrap(),
            ),
            ("HOME", dir.path().to_str().unwrap()),
        ],
    )
    .unwrap();
    assert!(
        google.errors.lock().unwrap().is_empty(),
        "{:?}",
        google.errors.lock().unwrap()
    );
    assert_eq!(discovered(&json), expected(), "{stderr}");
    assert_eq!(google.tokens.load(Ordering::SeqCst), 1);
    let seen = proxy.seen();
    for host in ["oauth2.googleapis.com", "compute.googleapis.com"] {
        assert!(
            seen.contains(&Seen {
                connect: format!("{host}:443"),
                sni: Some(host.into())
            }),
            "{seen:?}"
        );
    }
}

#[test]
fn metadata_server_token_at_gce_metadata_host() {
    let google = Arc::new(Google::default());
    let g = google.clone();
    let fixture = HttpFixture::start(move |req| match req.header("host") {
        Some("compute.googleapis.com") => g.compute(req),
        other => g.error(format!("unexpected host {other:?}")),
    });
    let proxy = TlsProxy::start(fixture.addr);
    let g = google.clone();
    let metadata = HttpFixture::start(move |req| {
        let want = "/computeMetadata/v1/instance/service-accounts/default/token?scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcompute.readonly";
        if req.target != want || req.header("metadata-flavor") != Some("Google") {
            return g.error(format!("metadata request {} {:?}", req.target, req.headers));
        }
        let n = g.tokens.fetch_add(1, Ordering::SeqCst) + 1;
        Response::json(200, json!({"access_token": format!("ya29.test-{n}"), "expires_in": 3599, "token_type": "Bearer"}).to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let (json, stderr) = check_sd(
        &config,
        "gce",
        &[
            ("HTTPS_PROXY", &proxy.url()),
            ("NO_PROXY", ""),
            ("SSL_CERT_FILE", proxy_ca_file().to_str().unwrap()),
            ("GOOGLE_APPLICATION_CREDENTIALS", ""),
            ("HOME", dir.path().to_str().unwrap()),
            ("GCE_METADATA_HOST", &metadata.addr.to_string()),
        ],
    )
    .unwrap();
    assert!(
        google.errors.lock().unwrap().is_empty(),
        "{:?}",
        google.errors.lock().unwrap()
    );
    assert_eq!(discovered(&json), expected(), "{stderr}");
    assert_eq!(metadata.requests().len(), 1);
    // The metadata server is reached directly, never through the proxy.
    assert!(proxy
        .seen()
        .iter()
        .all(|s| s.connect == "compute.googleapis.com:443"));
}

fn start_google() -> (Arc<Google>, HttpFixture, TlsProxy) {
    let google = Arc::new(Google::default());
    let g = google.clone();
    let fixture = HttpFixture::start(move |req| match req.header("host") {
        Some("oauth2.googleapis.com") => g.token(req),
        Some("compute.googleapis.com") => g.compute(req),
        other => g.error(format!("unexpected host {other:?}")),
    });
    let proxy = TlsProxy::start(fixture.addr);
    (google, fixture, proxy)
}

fn service_account_env<'a>(
    proxy: &'a str,
    home: &'a str,
    credentials: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("HTTPS_PROXY", proxy),
        ("NO_PROXY", ""),
        ("SSL_CERT_FILE", proxy_ca_file_str()),
        ("GOOGLE_APPLICATION_CREDENTIALS", credentials),
        ("HOME", home),
    ]
}

fn proxy_ca_file_str() -> &'static str {
    static CA: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CA.get_or_init(|| proxy_ca_file().to_str().unwrap().to_owned())
}

#[test]
fn a_revoked_token_is_renewed_once() {
    let (google, _fixture, proxy) = start_google();
    google.revoke_first.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let credentials = testdata("service-account.json");
    let (url, home) = (proxy.url(), dir.path().to_str().unwrap().to_owned());
    let (json, stderr) = check_sd(
        &config,
        "gce",
        &service_account_env(&url, &home, credentials.to_str().unwrap()),
    )
    .unwrap();
    assert_eq!(discovered(&json), expected(), "{stderr}");
    assert_eq!(google.tokens.load(Ordering::SeqCst), 2);
}

#[test]
fn failures_keep_the_last_good_targets() {
    let (google, fixture, proxy) = start_google();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:\n  - job_name: gce\n    gce_sd_configs:\n      - project: {PROJECT}\n        zone: {ZONE}\n        filter: '{FILTER}'\n        refresh_interval: 1s\n"
        ),
    )
    .unwrap();
    let credentials = testdata("service-account.json");
    let port = crate::support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut command = std::process::Command::new(crate::support::promsd_bin());
    command
        .args([
            "run",
            "--config.file",
            config.to_str().unwrap(),
            "--web.listen-address",
            &listen,
            "--discovery.update-interval",
            "200ms",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in service_account_env(
        &proxy.url(),
        dir.path().to_str().unwrap(),
        credentials.to_str().unwrap(),
    ) {
        command.env(k, v);
    }
    /// Stops the daemon (by its own handle) when the test ends.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _daemon = Kill(command.spawn().unwrap());
    let count = || {
        crate::support::get_ok(port, "/api/v1/sd/gce")
            .and_then(|b| serde_json::from_str::<Value>(&b).ok())
            .map(|v| {
                v.as_array().map_or(0, |groups| {
                    groups
                        .iter()
                        .map(|g| g["targets"].as_array().map_or(0, Vec::len))
                        .sum::<usize>()
                })
            })
    };
    crate::support::wait_for("the two GCE targets", || (count() == Some(2)).then_some(()));
    for status in [503usize, 429] {
        google.fail_with.store(status, Ordering::SeqCst);
        let before = fixture.requests().len();
        crate::support::wait_for("refused refreshes", || {
            let refused = fixture.requests()[before..]
                .iter()
                .filter(|r| r.target.contains("pageToken=page-2"))
                .count();
            (refused >= 2).then_some(())
        });
        assert_eq!(
            count(),
            Some(2),
            "the last good state stands during {status}s"
        );
    }
}
