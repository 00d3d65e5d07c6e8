//! Config reading and validation of Consul SD, against Prometheus' `TestUnmarshalConfig` and
//! defaults.

use super::*;

fn parse(yaml: &str) -> Result<ConsulSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn defaults_are_prometheus_defaults() {
    let c = parse("{}").unwrap();
    assert_eq!(c, ConsulSdConfig::default());
    assert_eq!(c.server, "localhost:8500");
    assert_eq!(c.scheme, "http");
    assert_eq!(c.tag_separator, ",");
    assert!(c.allow_stale);
    assert_eq!(c.refresh_interval, Duration::from_secs(30));
    assert_eq!(c.watch_timeout, StdDuration::from_secs(120));
    assert!(c.http_client_config.follow_redirects && c.http_client_config.enable_http2);
}

#[test]
fn reads_every_key() {
    let c = parse(
        r#"
server: consul.example:8501
path_prefix: /consul
token: t0k3n
datacenter: dc1
namespace: ns1
partition: p1
scheme: https
tag_separator: ";"
allow_stale: false
refresh_interval: 1m30s
services: [web, db]
tags: [prod]
node_meta: {rack: "2304"}
filter: 'ServiceName != "x"'
health_filter: 'Service.Tags contains "canary"'
tls_config: {insecure_skip_verify: true}
"#,
    )
    .unwrap();
    assert_eq!(c.server, "consul.example:8501");
    assert_eq!(c.path_prefix, "/consul");
    assert_eq!(c.token.expose(), "t0k3n");
    assert_eq!(
        (&*c.datacenter, &*c.namespace, &*c.partition),
        ("dc1", "ns1", "p1")
    );
    assert_eq!((&*c.scheme, &*c.tag_separator), ("https", ";"));
    assert!(!c.allow_stale);
    assert_eq!(c.refresh_interval, Duration::from_secs(90));
    assert_eq!(c.services, ["web", "db"]);
    assert_eq!(c.tags, ["prod"]);
    assert_eq!(c.node_meta.get("rack").map(String::as_str), Some("2304"));
    assert_eq!(c.filter, r#"ServiceName != "x""#);
    assert_eq!(c.health_filter, r#"Service.Tags contains "canary""#);
    assert!(c.http_client_config.tls_config.insecure_skip_verify);
}

/// Prometheus' `TestUnmarshalConfig` "good" case: deprecated username and password become
/// basic auth, and stay as written.
#[test]
fn username_and_password_become_basic_auth() {
    let c = parse("server: localhost:8500\nusername: 123\npassword: 1234\n").unwrap();
    assert_eq!(c.username, "123");
    assert_eq!(c.password.expose(), "1234");
    let basic = c.http_client_config.basic_auth.unwrap();
    assert_eq!(basic.username, "123");
    assert_eq!(basic.password.expose(), "1234");
}

#[test]
fn rejects_what_prometheus_rejects() {
    for (yaml, message) in [
        (
            "server: localhost:8500\nusername: 123\npassword: 1234\nbasic_auth:\n  username: 12345\n  password: 123456\n",
            "at most one of consul SD configuration username and password and basic auth can be configured",
        ),
        (
            "server: localhost:8500\ntoken: 1234567\nauthorization:\n  credentials: 12345678\n",
            "at most one of consul SD token, authorization, or oauth2 can be configured",
        ),
        (
            "server: localhost:8500\ntoken: 1234567\noauth2:\n  client_id: 10\n  client_secret: 11\n  token_url: http://example.com\n",
            "at most one of consul SD token, authorization, or oauth2 can be configured",
        ),
        ("server: ''", "consul SD configuration requires a server address"),
        ("server: '   '", "consul SD configuration requires a server address"),
        ("server: null", "consul SD configuration requires a server address"),
        (
            "bearer_token: a\nbearer_token_file: b",
            "at most one of bearer_token & bearer_token_file must be configured",
        ),
        ("refresh_interval: 5", "not a valid duration string"),
    ] {
        let err = parse(yaml).unwrap_err();
        assert!(err.contains(message), "{yaml:?}: {err}");
    }
}

#[test]
fn unknown_keys_are_errors_at_their_position() {
    let err = serde_yaml::from_str::<ConsulSdConfig>("server: a:1\nservice: [x]\n").unwrap_err();
    assert!(err.to_string().contains("unknown field `service`"), "{err}");
    let loc = err.location().unwrap();
    assert_eq!((loc.line(), loc.column()), (2, 1));
}

#[test]
fn null_values_take_go_zero_values() {
    let c = parse("allow_stale: null\nservices: null\ntag_separator: null\n").unwrap();
    assert!(!c.allow_stale);
    assert!(c.services.is_empty());
    assert_eq!(c.tag_separator, "");
}

#[test]
fn secrets_never_print_but_make_identities_differ() {
    let a = parse("token: hunter2\npassword: hunter3\nusername: u\n").unwrap();
    let b = parse("token: hunter4\npassword: hunter3\nusername: u\n").unwrap();
    let shown = format!("{a:?}\n{}", serde_yaml::to_string(&a).unwrap());
    for secret in ["hunter2", "hunter3"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert_ne!(a.identity(), b.identity());
    assert_eq!(a.identity(), a.clone().identity());
    let c = parse("token: hunter2\npassword: other\nusername: u\n").unwrap();
    assert_ne!(a.identity(), c.identity());
    let d = parse("basic_auth: {username: u, password: p1}").unwrap();
    let e = parse("basic_auth: {username: u, password: p2}").unwrap();
    assert_ne!(d.identity(), e.identity());
    let f = parse("proxy_url: http://u:p1@proxy:3128").unwrap();
    let g = parse("proxy_url: http://u:p2@proxy:3128").unwrap();
    assert_ne!(f.identity(), g.identity());
    assert!(!format!("{f:?}").contains("p1"));
}

#[test]
fn config_refuses_zero_refresh_interval_and_build_bad_schemes() {
    let ctx = BuildContext {
        provider: "consul/0".into(),
        config_name: "job".into(),
        refresh_metrics: promsd_actors::RefreshMetrics::default(),
    };
    let err = |yaml: &str| match parse(yaml).unwrap().build(&ctx) {
        Ok(_) => panic!("{yaml:?} built"),
        Err(e) => e.to_string(),
    };
    assert!(parse("refresh_interval: 0s")
        .unwrap_err()
        .contains("refresh_interval must be greater than 0"));
    assert_eq!(err("server: 'ftp://c:1'"), "Unknown protocol scheme: ftp");
    assert_eq!(err("scheme: ftp"), "unsupported protocol scheme \"ftp\"");
    assert!(parse("{}").unwrap().build(&ctx).is_ok());
}

#[test]
fn relative_files_join_the_config_directory() {
    let mut c = parse("authorization: {credentials_file: token}").unwrap();
    c.resolve_paths(Path::new("/etc/prometheus"));
    assert_eq!(
        c.http_client_config.authorization.unwrap().credentials_file,
        "/etc/prometheus/token"
    );
}
