//! Config loading, member decoding and labels. Prometheus' `zookeeper_test.go` asserts no
//! labels (its one test, `TestNewDiscoveryError`, is ported at the end); the expected label
//! sets here are derived from `parseServersetMember` and `parseNerveMember` in `zookeeper.go`.

use std::collections::BTreeMap;

use futures::StreamExt;
use promsd_actors::model::labels_map;
use promsd_actors::{BuildContext, DiscoveryConfig, RefreshMetrics};

use super::api::{parse_nerve, parse_serverset, Endpoint, NerveMember, ServersetMember};
use super::targets::{sanitize_label_name, Flavor};
use super::treecache::{check_path, roots};
use super::*;

fn serverset(yaml: &str) -> Result<ServersetSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

fn nerve(yaml: &str) -> Result<NerveSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn config_defaults_and_prometheus_validation() {
    let c = serverset("servers: [zk1:2181, zk2]\npaths: [/aurora/jobs]\n").unwrap();
    assert_eq!(c.servers, ["zk1:2181", "zk2"]);
    assert_eq!(c.paths, ["/aurora/jobs"]);
    assert_eq!(c.timeout, Duration::from_secs(10));
    // conf.good.yml's nerve job, as config_test.go expects it.
    let c = nerve("servers:\n  - localhost\npaths:\n  - /monitoring\n").unwrap();
    assert_eq!(
        c,
        NerveSdConfig::new(vec!["localhost".into()], vec!["/monitoring".into()])
    );
    assert_eq!(
        nerve("servers: [a]\npaths: [/x]\ntimeout: 1m30s\n")
            .unwrap()
            .timeout,
        Duration::from_secs(90)
    );
    for (name, parse) in [
        ("serverset", serverset as fn(&str) -> Result<_, String>),
        ("nerve", |y| {
            nerve(y).map(|c| ServersetSdConfig::new(c.servers, c.paths))
        }),
    ] {
        for (yaml, message) in [
            (
                "paths: [/a]\n".to_string(),
                format!("{name} SD config must contain at least one Zookeeper server"),
            ),
            (
                "servers: null\npaths: [/a]\n".into(),
                format!("{name} SD config must contain at least one Zookeeper server"),
            ),
            (
                "servers: [a]\n".into(),
                format!("{name} SD config must contain at least one path"),
            ),
            (
                "servers: [a]\npaths: [/a, b/c]\n".into(),
                format!("{name} SD config paths must begin with '/': b/c"),
            ),
        ] {
            let err = parse(&yaml).unwrap_err();
            assert!(err.contains(&message), "{name} {yaml:?}: {err}");
        }
        let err = parse("servers: [a]\npaths: [/a]\npath: /b\n").unwrap_err();
        assert!(err.contains("unknown field `path`"), "{err}");
    }
    // `timeout: null` is Go's zero value.
    assert_eq!(
        serverset("servers: [a]\npaths: [/a]\ntimeout: null\n")
            .unwrap()
            .timeout,
        Duration::default()
    );
}

#[test]
fn identity_and_mechanism() {
    let a = serverset("servers: [a]\npaths: [/a]\n").unwrap();
    let b = serverset("servers: [a]\npaths: [/b]\n").unwrap();
    assert_eq!(a.mechanism(), "serverset");
    assert_eq!(
        nerve("servers: [a]\npaths: [/a]\n").unwrap().mechanism(),
        "nerve"
    );
    assert_ne!(a.identity(), b.identity());
    assert_eq!(
        a.identity(),
        serverset("servers: [a]\npaths: [/a]\ntimeout: 10s\n")
            .unwrap()
            .identity()
    );
}

/// A member as Aurora writes it (Twitter's `ServiceInstance` JSON).
const AURORA_MEMBER: &str = r#"{
  "serviceEndpoint": {"host": "10.0.1.17", "port": 31245},
  "additionalEndpoints": {
    "http": {"host": "10.0.1.17", "port": 31245},
    "health-check": {"host": "10.0.1.17", "port": 31246},
    "aurora.admin": {"host": "10.0.1.17", "port": 31247}
  },
  "status": "ALIVE",
  "shard": 3
}"#;

#[test]
fn serverset_labels_as_parse_serverset_member_builds_them() {
    let labels = Flavor::Serverset
        .target(
            AURORA_MEMBER.as_bytes(),
            "/aurora/jobs/web/member_0000000003",
        )
        .unwrap();
    assert_eq!(
        labels_map(&labels),
        map(&[
            ("__address__", "10.0.1.17:31245"),
            ("__meta_serverset_endpoint_host", "10.0.1.17"),
            ("__meta_serverset_endpoint_port", "31245"),
            ("__meta_serverset_endpoint_host_http", "10.0.1.17"),
            ("__meta_serverset_endpoint_port_http", "31245"),
            ("__meta_serverset_endpoint_host_health_check", "10.0.1.17"),
            ("__meta_serverset_endpoint_port_health_check", "31246"),
            ("__meta_serverset_endpoint_host_aurora_admin", "10.0.1.17"),
            ("__meta_serverset_endpoint_port_aurora_admin", "31247"),
            ("__meta_serverset_status", "ALIVE"),
            ("__meta_serverset_shard", "3"),
            (
                "__meta_serverset_path",
                "/aurora/jobs/web/member_0000000003"
            ),
        ])
    );
    // Missing fields are zero values; STARTING and DEAD members stay targets; IPv6 hosts are
    // bracketed in the address only.
    let labels = Flavor::Serverset
        .target(
            br#"{"serviceEndpoint": {"host": "2001:db8::1", "port": 80}, "status": "DEAD"}"#,
            "/s/m",
        )
        .unwrap();
    assert_eq!(
        labels_map(&labels),
        map(&[
            ("__address__", "[2001:db8::1]:80"),
            ("__meta_serverset_endpoint_host", "2001:db8::1"),
            ("__meta_serverset_endpoint_port", "80"),
            ("__meta_serverset_status", "DEAD"),
            ("__meta_serverset_shard", "0"),
            ("__meta_serverset_path", "/s/m"),
        ])
    );
    // A top-level null is a member of zero values, as json.Unmarshal leaves the struct.
    let labels = Flavor::Serverset.target(b"null", "/s/n").unwrap();
    assert_eq!(labels.get("__address__"), Some(":0"));
    assert_eq!(labels.get("__meta_serverset_status"), Some(""));
}

#[test]
fn nerve_labels_as_parse_nerve_member_builds_them() {
    let labels = Flavor::Nerve
        .target(
            br#"{"host": "10.2.3.4", "port": 8080, "name": "web-i-abc123", "weight": 10}"#,
            "/nerve/services/web/services/i-abc123_web",
        )
        .unwrap();
    assert_eq!(
        labels_map(&labels),
        map(&[
            ("__address__", "10.2.3.4:8080"),
            ("__meta_nerve_endpoint_host", "10.2.3.4"),
            ("__meta_nerve_endpoint_port", "8080"),
            ("__meta_nerve_endpoint_name", "web-i-abc123"),
            (
                "__meta_nerve_path",
                "/nerve/services/web/services/i-abc123_web"
            ),
        ])
    );
}

#[test]
fn members_decode_as_go_encoding_json_decodes_them() {
    let endpoint = |host: &str, port| Endpoint {
        host: host.into(),
        port,
    };
    // Keys match case-insensitively (Go folds ſ to s and the Kelvin sign to k); unknown keys
    // are ignored; a repeated key decodes into the same field again (objects merge, the last
    // value wins); null leaves a field as it was, and makes a map nil.
    let m = parse_serverset(
        r#"{"SERVICEENDPOINT": {"HOST": "a", "Port": 1}, "ſtatus": "ALIVE", "extra": [1, {}],
            "serviceEndpoint": {"port": 2}, "shard": null, "Shard": 7, "shard": null,
            "additionalendpoints": {"x": {"host": "b", "port": 3}, "y": null},
            "additionalEndpoints": {"z": {"port": 4}}}"#
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        m,
        ServersetMember {
            service_endpoint: endpoint("a", 2),
            additional_endpoints: Some(BTreeMap::from([
                ("x".to_string(), endpoint("b", 3)),
                ("y".to_string(), endpoint("", 0)),
                ("z".to_string(), endpoint("", 4)),
            ])),
            status: "ALIVE".into(),
            shard: 7,
        }
    );
    let m = parse_serverset(br#"{"additionalEndpoints": {"x": {}}, "additionalEndpoints": null}"#)
        .unwrap();
    assert_eq!(m.additional_endpoints, None);
    assert_eq!(
        parse_nerve(br#"{"HOST": "h", "port": -1, "name": null}"#).unwrap(),
        NerveMember {
            host: "h".into(),
            port: -1,
            name: String::new(),
        }
    );
    // Bytes that are not UTF-8 read as U+FFFD inside strings.
    assert_eq!(
        parse_nerve(b"{\"host\": \"a\xffb\", \"port\": 1}")
            .unwrap()
            .host,
        "a\u{FFFD}b"
    );
    // Errors: syntax, wrong types (an int takes only an integer literal of 64 bits), a
    // top-level value that is not an object, trailing data, no data at all.
    for bad in [
        "",
        " ",
        "{",
        "[]",
        "\"member\"",
        "42",
        r#"{"host": "a"} x"#,
        r#"{"host": 1}"#,
        r#"{"port": "80"}"#,
        r#"{"port": 80.0}"#,
        r#"{"port": 1e3}"#,
        r#"{"port": 9223372036854775808}"#,
        r#"{"port": true}"#,
        r#"{"name": ["a"]}"#,
    ] {
        assert!(parse_nerve(bad.as_bytes()).is_err(), "nerve {bad:?}");
    }
    for bad in [
        r#"{"serviceEndpoint": "a:1"}"#,
        r#"{"serviceEndpoint": {"port": "1"}}"#,
        r#"{"additionalEndpoints": []}"#,
        r#"{"additionalEndpoints": {"a": 1}}"#,
        r#"{"shard": "1"}"#,
        r#"{"status": 1}"#,
    ] {
        assert!(
            parse_serverset(bad.as_bytes()).is_err(),
            "serverset {bad:?}"
        );
    }
}

#[test]
fn unparsable_members_are_removals_with_the_reason() {
    let path = promsd_actors::Str::from("/s/bad");
    let (group, error) = Flavor::Serverset.group(br#"{"shard": "x"}"#, &path);
    assert!(group.targets.is_empty());
    assert_eq!(&*group.source, "/s/bad");
    let error = error.unwrap();
    assert!(
        error.starts_with("error unmarshaling serverset member \"/s/bad\": "),
        "{error}"
    );
    let (group, error) = Flavor::Nerve.group(br#"{"host": "h", "port": 1}"#, &path);
    assert_eq!(group.targets.len(), 1);
    assert!(group.labels.is_empty());
    assert!(error.is_none());
}

#[test]
fn label_names_sanitized_as_strutil() {
    assert_eq!(sanitize_label_name("http"), "http");
    assert_eq!(sanitize_label_name("health-check.v2"), "health_check_v2");
    assert_eq!(sanitize_label_name("ünï"), "_n_");
    assert_eq!(sanitize_label_name("9lives"), "9lives");
}

#[test]
fn overlapping_paths_are_one_tree_and_bad_paths_are_set_apart() {
    let paths = |ps: &[&str]| ps.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    let (kept, invalid) = roots(&paths(&[
        "/a/b", "/a", "/ab", "/a", "/c/d/e", "/c/d", "/x/",
    ]));
    assert_eq!(kept, ["/a", "/ab", "/c/d"]);
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0].0, "/x/");
    let (kept, _) = roots(&paths(&["/a", "/", "/b/c"]));
    assert_eq!(kept, ["/"]);
    assert!(check_path("/").is_ok());
    assert!(check_path("/a/b-c_d.e").is_ok());
    for bad in ["/a/", "/a//b", "/a/./b", "/a/..", "/a\u{0}b", "a"] {
        assert!(check_path(bad).is_err(), "{bad:?}");
    }
}

/// Prometheus' `TestNewDiscoveryError`: a server that cannot be reached is an error (an
/// error item here: `build` does no I/O).
#[tokio::test]
async fn unreachable_server_is_an_error() {
    let mut config = ServersetSdConfig::new(vec!["unreachable.invalid".into()], vec!["/".into()]);
    config.timeout = Duration::from_secs(1);
    let ctx = BuildContext {
        provider: "serverset/0".into(),
        config_name: "job".into(),
        refresh_metrics: RefreshMetrics::default(),
    };
    let mut discoverer = config.build(&ctx).unwrap();
    let item = tokio::time::timeout(std::time::Duration::from_secs(60), discoverer.next())
        .await
        .expect("an item in time")
        .expect("the stream goes on");
    let err = item.unwrap_err();
    assert!(
        err.message()
            .contains("could not connect to ZooKeeper at unreachable.invalid"),
        "{err}"
    );
}
