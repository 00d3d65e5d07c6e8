//! The daemon's web security flags through the real binary: `--web.enable-lifecycle` (reload by
//! HTTP refused without it, as Prometheus refuses it) and `--web.config.file` in
//! exporter-toolkit's format (basic auth with bcrypt hashes, response headers, TLS with a test
//! CA and client certificates), on every endpoint. Test certificates (issued once from
//! `support/testdata/proxy-ca.pem`) and bcrypt hashes (cost 4) are kept test data.

mod support;

use std::path::{Path, PathBuf};

use base64::Engine;
use support::*;

const CONFIG: &str =
    "scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['a:1']\n";
/// bcrypt (cost 4) of "wonderland" and "builder".
const ALICE: &str = "$2y$04$aFHtZVLiJVPja1Ora0Dqb.ZGO6k33WvhWLDFxG2DZ8RILL4zI2h6q";
const BOB: &str = "$2y$04$aFHtZVLiJVPja1Ora0Dqb.nm/tN6ispuMvfUGt/kFxky/IEZHbiZy";

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/testdata")
        .join(name)
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer
        .1
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn start(dir: &Path, extra: &[&str]) -> (Process, u16) {
    std::fs::write(dir.join("prometheus.yml"), CONFIG).unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "run",
        "--config.file",
        "prometheus.yml",
        "--web.listen-address",
        &listen,
        "--discovery.update-interval",
        "200ms",
    ];
    args.extend_from_slice(extra);
    (Process::start("promsd", promsd_bin(), &args, dir), port)
}

#[test]
fn reload_by_http_is_refused_without_the_lifecycle_flag() {
    let dir = tempfile::tempdir().unwrap();
    let (promsd, port) = start(dir.path(), &[]);
    wait_for("promsd", || get_ok(port, "/-/ready"));
    for method in ["POST", "PUT"] {
        let (status, _, body) = http(method, port, "/-/reload", &[]).unwrap();
        assert_eq!(
            (status, body.as_str()),
            (403, "Lifecycle API is not enabled.")
        );
    }
    let (status, _, body) = http("GET", port, "/-/reload", &[]).unwrap();
    assert_eq!(
        (status, body.as_str()),
        (405, "Only POST or PUT requests allowed")
    );
    // SIGHUP still reloads.
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!("{CONFIG}  - job_name: extra\n    static_configs:\n      - targets: ['e:1']\n"),
    )
    .unwrap();
    promsd.signal("HUP");
    wait_for("extra job", || get_ok(port, "/api/v1/sd/extra"));
}

#[test]
fn basic_auth_and_headers_guard_every_endpoint_and_are_read_on_every_request() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        format!(
            "basic_auth_users:\n  alice: {ALICE}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        ),
    )
    .unwrap();
    let (_promsd, port) = start(
        dir.path(),
        &["--web.config.file", "web.yml", "--web.enable-lifecycle"],
    );
    let alice = basic("alice", "wonderland");
    wait_for("promsd", || {
        http("GET", port, "/-/ready", &[("Authorization", &alice)]).filter(|a| a.0 == 200)
    });
    for path in [
        "/api/v1/sd/node",
        "/api/v1/targets",
        "/metrics",
        "/-/healthy",
        "/-/ready",
        "/",
    ] {
        let denied = http("GET", port, path, &[]).unwrap();
        assert_eq!(denied.0, 401, "{path}");
        assert_eq!(header(&denied, "www-authenticate"), Some("Basic"), "{path}");
        assert_eq!(header(&denied, "x-frame-options"), Some("deny"), "{path}");
        let wrong = http(
            "GET",
            port,
            path,
            &[("Authorization", &basic("alice", "x"))],
        )
        .unwrap();
        assert_eq!(wrong.0, 401, "{path}");
        let unknown = http(
            "GET",
            port,
            path,
            &[("Authorization", &basic("mallory", "wonderland"))],
        )
        .unwrap();
        assert_eq!(unknown.0, 401, "{path}");
        let allowed = http("GET", port, path, &[("Authorization", &alice)]).unwrap();
        assert_eq!(allowed.0, 200, "{path}");
        assert_eq!(header(&allowed, "x-frame-options"), Some("deny"), "{path}");
    }
    let reload = http("POST", port, "/-/reload", &[]).unwrap();
    assert_eq!(reload.0, 401);
    let reload = http("POST", port, "/-/reload", &[("Authorization", &alice)]).unwrap();
    assert_eq!(reload.0, 200);

    // The file is read on every request: a new user works at once, without a restart.
    let bob = basic("bob", "builder");
    assert_eq!(
        http("GET", port, "/metrics", &[("Authorization", &bob)])
            .unwrap()
            .0,
        401
    );
    std::fs::write(
        &web,
        format!("basic_auth_users:\n  alice: {ALICE}\n  bob: {BOB}\n"),
    )
    .unwrap();
    let answer = http("GET", port, "/metrics", &[("Authorization", &bob)]).unwrap();
    assert_eq!(answer.0, 200);
    assert_eq!(header(&answer, "x-frame-options"), None);
    // A file that no longer parses: 500, as exporter-toolkit answers.
    std::fs::write(&web, "basic_auth_users: [").unwrap();
    assert_eq!(
        http("GET", port, "/metrics", &[("Authorization", &bob)])
            .unwrap()
            .0,
        500
    );
}

#[test]
fn a_bad_web_config_stops_the_start_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        "http_server_config:\n  headers:\n    Server: promsd\n",
    )
    .unwrap();
    let (mut promsd, _) = start(dir.path(), &["--web.config.file", "web.yml"]);
    assert_eq!(promsd.wait_exit(), Some(1));
    assert!(
        promsd
            .log()
            .contains("HTTP header \"Server\" can not be configured"),
        "{}",
        promsd.log()
    );
}

fn tls_client(identity: bool) -> reqwest::Client {
    let ca = std::fs::read(testdata("proxy-ca.pem")).unwrap();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
    if identity {
        let mut pem = std::fs::read(testdata("web/client.pem")).unwrap();
        pem.extend(std::fs::read(testdata("web/client.key")).unwrap());
        builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

#[test]
fn tls_with_a_test_ca_and_verified_client_certificates() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["server.pem", "server.key"] {
        std::fs::copy(testdata(&format!("web/{f}")), dir.path().join(f)).unwrap();
    }
    std::fs::copy(testdata("proxy-ca.pem"), dir.path().join("ca.pem")).unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\n",
    )
    .unwrap();
    let (_promsd, port) = start(dir.path(), &["--web.config.file", "web.yml"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = tls_client(true);
        let get = |path: &str| client.get(format!("https://localhost:{port}{path}")).send();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Ok(r) = get("/-/ready").await {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(std::time::Instant::now() < deadline, "promsd over TLS");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let body = get("/api/v1/sd/node").await.unwrap().text().await.unwrap();
        assert!(body.contains("a:1"), "{body}");
        // By IP too: the certificate names 127.0.0.1.
        let r = client
            .get(format!("https://127.0.0.1:{port}/-/healthy"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // Without a client certificate: the handshake fails.
        let refused = tls_client(false)
            .get(format!("https://localhost:{port}/-/healthy"))
            .send()
            .await;
        assert!(refused.is_err(), "{refused:?}");
    });
    // Plain HTTP gets no answer.
    assert!(http("GET", port, "/-/healthy", &[]).is_none_or(|a| a.0 != 200));
}

#[test]
fn require_any_client_cert_takes_a_certificate_no_ca_vouches_for() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["server.pem", "server.key"] {
        std::fs::copy(testdata(&format!("web/{f}")), dir.path().join(f)).unwrap();
    }
    std::fs::write(
        dir.path().join("web.yml"),
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n",
    )
    .unwrap();
    let (_promsd, port) = start(dir.path(), &["--web.config.file", "web.yml"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = tls_client(true);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let answer = client
                .get(format!("https://localhost:{port}/-/healthy"))
                .send()
                .await;
            if answer.is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "promsd over TLS");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let refused = tls_client(false)
            .get(format!("https://localhost:{port}/-/healthy"))
            .send()
            .await;
        assert!(refused.is_err(), "{refused:?}");
    });
}
