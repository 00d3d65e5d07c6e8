//! Triton SD end to end: `promsd check service-discovery` against a Triton Container Monitor
//! fixture over HTTPS that requires a client certificate (test CA, server and client
//! certificates kept in `testdata/triton/`), serving the answers of Prometheus'
//! `discovery/triton/triton_test.go`.

use std::path::PathBuf;

use super::registries_kit::*;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mechanisms/testdata/triton")
        .join(name)
}

const CONTAINERS: &str = r#"{"containers":[
    {"groups":["foo","bar","baz"],"server_uuid":"44454c4c-5000-104d-8037-b7c04f5a5131",
     "vm_alias":"server01","vm_brand":"lx","vm_image_uuid":"7b27a514-89d7-11e6-bee6-3f96f367bee7",
     "vm_uuid":"ad466fbf-46a2-4027-9b64-8d3cdb7e9072"},
    {"server_uuid":"a5894692-bd32-4ca1-908a-e2dda3c3a5e6","vm_alias":"server02","vm_brand":"kvm",
     "vm_image_uuid":"a5894692-bd32-4ca1-908a-e2dda3c3a5e6","vm_uuid":"7b27a514-89d7-11e6-bee6-3f96f367bee7"}]}"#;

const CNS: &str = r#"{"cns":[
    {"server_uuid":"44454c4c-5000-104d-8037-b7c04f5a5131","server_hostname":"server01"},
    {"server_uuid":"a5894692-bd32-4ca1-908a-e2dda3c3a5e6","server_hostname":"server02"}]}"#;

fn triton_fixture() -> Fixture {
    let tls = tls_server_config(
        &testdata("server.pem"),
        &testdata("server.key"),
        &testdata("ca.pem"),
    );
    Fixture::start_tls(tls, |r| match (r.path.as_str(), r.query.as_str()) {
        ("/v1/discover", "groups=foo%2Cbar") => Reply::json(CONTAINERS),
        ("/v1/gz/discover", "") => Reply::json(format!("{CNS}\n")),
        _ => Reply::new(404, "text/plain", "not found"),
    })
}

fn config(dir: &std::path::Path, fixture: &Fixture, extra: &str, client_cert: bool) -> PathBuf {
    let cert = if client_cert {
        format!(
            "          cert_file: {}\n          key_file: {}\n",
            testdata("client.pem").display(),
            testdata("client.key").display()
        )
    } else {
        String::new()
    };
    write_config(
        dir,
        &format!(
            "scrape_configs:\n  - job_name: triton\n    triton_sd_configs:\n      - account: testAccount\n        dns_suffix: triton.example.com\n        endpoint: 127.0.0.1\n        port: {}\n{extra}        tls_config:\n          ca_file: {}\n{cert}",
            fixture.port,
            testdata("ca.pem").display()
        ),
    )
}

/// `TestTritonSDRefreshMultipleTargets` with `groups` (`TestTritonSDNewGroupsConfig`), over
/// TLS with the client certificate.
#[test]
fn discovers_containers() {
    let fixture = triton_fixture();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fixture, "        groups: [foo, bar]\n", true);
    let (code, json, stderr) = check_sd(&config, "triton");
    assert_eq!(code, Some(0), "{stderr}");
    let port = fixture.port.to_string();
    let address = |uuid: &str| format!("{uuid}.triton.example.com:{port}");
    let a = address("ad466fbf-46a2-4027-9b64-8d3cdb7e9072");
    let b = address("7b27a514-89d7-11e6-bee6-3f96f367bee7");
    let mut want = vec![
        labels(&[
            ("__address__", &a),
            ("__meta_triton_groups", ",foo,bar,baz,"),
            ("__meta_triton_machine_alias", "server01"),
            ("__meta_triton_machine_brand", "lx"),
            (
                "__meta_triton_machine_id",
                "ad466fbf-46a2-4027-9b64-8d3cdb7e9072",
            ),
            (
                "__meta_triton_machine_image",
                "7b27a514-89d7-11e6-bee6-3f96f367bee7",
            ),
            (
                "__meta_triton_server_id",
                "44454c4c-5000-104d-8037-b7c04f5a5131",
            ),
        ]),
        labels(&[
            ("__address__", &b),
            ("__meta_triton_machine_alias", "server02"),
            ("__meta_triton_machine_brand", "kvm"),
            (
                "__meta_triton_machine_id",
                "7b27a514-89d7-11e6-bee6-3f96f367bee7",
            ),
            (
                "__meta_triton_machine_image",
                "a5894692-bd32-4ca1-908a-e2dda3c3a5e6",
            ),
            (
                "__meta_triton_server_id",
                "a5894692-bd32-4ca1-908a-e2dda3c3a5e6",
            ),
        ]),
    ];
    want.sort();
    assert_eq!(discovered(&json), want);
}

/// `TestTritonSDRefreshCNsWithHostname`: role `cn`.
#[test]
fn discovers_compute_nodes() {
    let fixture = triton_fixture();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fixture, "        role: cn\n", true);
    let (code, json, stderr) = check_sd(&config, "triton");
    assert_eq!(code, Some(0), "{stderr}");
    let port = fixture.port;
    let mut want = vec![
        labels(&[
            (
                "__address__",
                &format!("44454c4c-5000-104d-8037-b7c04f5a5131.triton.example.com:{port}"),
            ),
            ("__meta_triton_machine_alias", "server01"),
            (
                "__meta_triton_machine_id",
                "44454c4c-5000-104d-8037-b7c04f5a5131",
            ),
        ]),
        labels(&[
            (
                "__address__",
                &format!("a5894692-bd32-4ca1-908a-e2dda3c3a5e6.triton.example.com:{port}"),
            ),
            ("__meta_triton_machine_alias", "server02"),
            (
                "__meta_triton_machine_id",
                "a5894692-bd32-4ca1-908a-e2dda3c3a5e6",
            ),
        ]),
    ];
    want.sort();
    assert_eq!(discovered(&json), want);
}

/// Without the client certificate the endpoint refuses the handshake: no targets.
#[test]
fn client_certificate_is_required() {
    let fixture = triton_fixture();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fixture, "        role: cn\n", false);
    let (_, json, _) = check_sd_within(&config, "triton", "3s");
    assert!(discovered(&json).is_empty(), "{json}");
    assert!(fixture.requests().is_empty());
}

/// Prometheus' own tests skip verification (`InsecureSkipVerify: true`): the server is not
/// verified, the client certificate is still presented.
#[test]
fn insecure_skip_verify_still_presents_the_client_certificate() {
    let fixture = triton_fixture();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "scrape_configs:\n  - job_name: triton\n    triton_sd_configs:\n      - account: testAccount\n        dns_suffix: triton.example.com\n        endpoint: 127.0.0.1\n        port: {}\n        role: cn\n        tls_config:\n          insecure_skip_verify: true\n          cert_file: {}\n          key_file: {}\n",
            fixture.port,
            testdata("client.pem").display(),
            testdata("client.key").display()
        ),
    );
    let (code, json, stderr) = check_sd(&config, "triton");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(discovered(&json).len(), 2, "{json}");
}
