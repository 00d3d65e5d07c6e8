//! PuppetDB's config, URL, body and labels against Prometheus' `discovery/puppetdb`
//! tests (`TestPuppetSlashInURL`, `TestPuppetDBRefresh`, `TestPuppetDBRefreshWithParameters`)
//! and `config_test.go`'s puppetdb cases.

use super::*;

const VHOSTS: &str = include_str!("../../../tests/mechanisms/testdata/puppetdb_vhosts.json");

fn parse(yaml: &str) -> Result<PuppetdbSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_prometheus_errors() {
    let c = parse("url: https://puppetserver/\nquery: q\n").unwrap();
    assert_eq!(c.port, 80);
    assert!(!c.include_parameters);
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    let query = "query: 'resources { type = \"Package\" and title = \"httpd\" }'\n";
    for (yaml, message) in [
        (format!("url: http://\n{query}"), "host is missing in URL"),
        ("url: http://puppetserver/\n".to_owned(), "query missing"),
        (
            format!("url: ftp://puppet\n{query}"),
            "URL scheme must be 'http' or 'https'",
        ),
        (query.to_owned(), "URL is missing"),
        (
            format!("url: http://puppet\n{query}bearer_token: foo\nbearer_token_file: foo\n"),
            "at most one of bearer_token & bearer_token_file must be configured",
        ),
        (
            format!("url: http://puppet\n{query}refresh_interval: 0s\n"),
            "refresh",
        ),
    ] {
        let err = parse(&yaml).unwrap_err();
        assert!(err.contains(message), "{yaml:?}: {err}");
    }
}

/// `TestPuppetSlashInURL`.
#[test]
fn slash_in_url() {
    for (server, api) in [
        ("https://puppetserver", "https://puppetserver/pdb/query/v4"),
        ("https://puppetserver/", "https://puppetserver/pdb/query/v4"),
        (
            "http://puppetserver:8080/",
            "http://puppetserver:8080/pdb/query/v4",
        ),
        (
            "http://puppetserver:8080",
            "http://puppetserver:8080/pdb/query/v4",
        ),
        (
            "https://p:443/puppetdb/",
            "https://p:443/puppetdb/pdb/query/v4",
        ),
    ] {
        assert_eq!(query_url(server), api);
    }
}

#[test]
fn body_as_go_marshals_it() {
    assert_eq!(
        api::request_body(r#"facts { name = "a" and value < 5 & x }"#),
        r#"{"query":"facts { name = \"a\" and value \u003c 5 \u0026 x }"}"#
    );
}

fn expected(parameters: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    let mut labels: std::collections::BTreeMap<String, String> = [
        ("__address__", "edinburgh.example.com:80"),
        ("__meta_puppetdb_query", "vhosts"),
        ("__meta_puppetdb_certname", "edinburgh.example.com"),
        ("__meta_puppetdb_environment", "prod"),
        ("__meta_puppetdb_exported", "false"),
        ("__meta_puppetdb_file", "/etc/puppetlabs/code/environments/prod/modules/upstream/apache/manifests/init.pp"),
        ("__meta_puppetdb_resource", "49af83866dc5a1518968b68e58a25319107afe11"),
        ("__meta_puppetdb_tags", ",roles::hypervisor,apache,apache::vhost,class,default-ssl,profile_hypervisor,vhost,profile_apache,hypervisor,__node_regexp__edinburgh,roles,node,"),
        ("__meta_puppetdb_title", "default-ssl"),
        ("__meta_puppetdb_type", "Apache::Vhost"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in parameters {
        labels.insert(format!("__meta_puppetdb_parameter_{k}"), v.to_string());
    }
    labels
}

/// `TestPuppetDBRefresh` and `TestPuppetDBRefreshWithParameters`.
#[test]
fn refresh_with_and_without_parameters() {
    let resources: Vec<api::Resource> = serde_json::from_str(VHOSTS).unwrap();
    let source = "http://127.0.0.1:1/pdb/query/v4?query=vhosts";
    let plain = targets::group(source, "vhosts", 80, false, &resources);
    assert_eq!(&*plain.source, source);
    assert_eq!(plain.targets.len(), 1);
    assert_eq!(
        promsd_actors::model::labels_map(&plain.targets[0]),
        expected(&[])
    );
    let with = targets::group(source, "vhosts", 80, true, &resources);
    assert_eq!(
        promsd_actors::model::labels_map(&with.targets[0]),
        expected(&[
            ("access_log", "true"),
            ("access_log_file", "ssl_access_log"),
            ("buckets", "0,2,5"),
            ("coordinates", "60.13464726551357,-2.0513768021728893"),
            ("docroot", "/var/www/html"),
            ("ensure", "absent"),
            ("labels_alias", "edinburgh"),
            ("options", "Indexes,FollowSymLinks,MultiViews"),
            ("pi", "3.141592653589793"),
            ("port", "22"),
        ])
    );
}

#[test]
fn numbers_print_as_go_prints_float64() {
    for (f, text) in [
        (0.0, "0"),
        (22.0, "22"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-1.5, "-1.5"),
        (1e21, "1e+21"),
        (std::f64::consts::PI, "3.141592653589793"),
    ] {
        assert_eq!(targets::go_float(f), text);
    }
    let params: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        r#"{"a-b": [{"x": 1}, {"y": 2}], "n": null, "e": "", "m": {"k.1": {"z": [true, null]}}}"#,
    )
    .unwrap();
    let mut got = targets::parameter_labels(&params);
    got.sort();
    assert_eq!(
        got,
        [
            ("a_b".to_owned(), ",".to_owned()),
            ("m_k_1_z".to_owned(), "true,".to_owned())
        ]
    );
}
