//! Uyuni's config, XML-RPC and labels. Prometheus' `uyuni_test.go` asserts only errors (ported
//! end to end in `tests/mechanisms/uyuni.rs`); the labels follow `uyuni.go`.

use super::xmlrpc::{self, Param, Value};
use super::*;

fn parse(yaml: &str) -> Result<UyuniSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_prometheus_errors() {
    let c = parse("server: https://localhost:1234\nusername: gopher\npassword: hole\n").unwrap();
    assert_eq!(c.entitlement, "monitoring_entitled");
    assert_eq!(c.separator, ",");
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    for (yaml, message) in [
        ("server:\n", "Uyuni SD configuration requires server host"),
        ("server: s\npassword: p\n", "Uyuni SD configuration requires a username"),
        ("server: s\nusername: u\n", "Uyuni SD configuration requires a password"),
        (
            "server: \"server\"\nusername: \"username\"\npassword: \"password\"\nbearer_token: foo\nbearer_token_file: foo\n",
            "at most one of bearer_token & bearer_token_file must be configured",
        ),
        ("server: s\nusername: u\npassword: p\nrefresh_interval: 0s\n", "refresh"),
    ] {
        let err = parse(yaml).unwrap_err();
        assert!(err.contains(message), "{yaml:?}: {err}");
    }
    let a = parse("server: s\nusername: u\npassword: one\n").unwrap();
    let b = parse("server: s\nusername: u\npassword: two\n").unwrap();
    assert_ne!(a.identity(), b.identity());
    assert!(!serde_yaml::to_string(&a).unwrap().contains("one"));
}

#[test]
fn api_url_joins_the_path() {
    assert_eq!(
        api_url("https://localhost:1234"),
        "https://localhost:1234/rpc/api"
    );
    assert_eq!(api_url("http://h/uyuni/"), "http://h/uyuni/rpc/api");
    assert_eq!(api_url("server"), "server/rpc/api");
}

#[test]
fn calls_are_encoded_as_kolo_xmlrpc_does() {
    assert_eq!(
        xmlrpc::method_call(
            "auth.login",
            &[Param::Str("user"), Param::Str("p<&>\"'\n"), Param::Int(600)]
        ),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodCall><methodName>auth.login</methodName><params>\
         <param><value><string>user</string></value></param>\
         <param><value><string>p&lt;&amp;&gt;&#34;&#39;&#xA;</string></value></param>\
         <param><value><int>600</int></value></param></params></methodCall>"
    );
    assert_eq!(
        xmlrpc::method_call("m", &[Param::Str("t"), Param::Ints(&[1, 2])]),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodCall><methodName>m</methodName><params>\
         <param><value><string>t</string></value></param>\
         <param><value><array><data><value><int>1</int></value><value><int>2</int></value></data></array></value></param>\
         </params></methodCall>"
    );
}

#[test]
fn answers_are_decoded_as_kolo_xmlrpc_does() {
    // `TestUyuniSDLogin`'s token: an untyped value is its trimmed text.
    let login = "<?xml version=\"1.0\"?>\n<methodResponse>\n\t<params>\n\t\t<param>\n\t\t\t<value>\n\t\t\t\ta token\n\t\t\t</value>\n\t\t</param>\n\t</params>\n</methodResponse>";
    assert_eq!(
        xmlrpc::response(login).unwrap(),
        Value::Str("a token".into())
    );
    let fault = "<methodResponse><fault><value><struct>\
        <member><name>faultCode</name><value><int>2950</int></value></member>\
        <member><name>faultString</name><value><string>Either the password or username is incorrect.</string></value></member>\
        </struct></value></fault></methodResponse>";
    assert_eq!(
        xmlrpc::response(fault).unwrap_err(),
        "Fault(2950): Either the password or username is incorrect."
    );
    let wrong = "<methodResponse><params><param><value><array><data><value><struct>\
        <member><name>id</name><value><string>x</string></value></member>\
        </struct></value></data></array></value></param></params></methodResponse>";
    let answer = xmlrpc::response(wrong).unwrap();
    assert_eq!(
        decode_groups(&answer).unwrap_err(),
        "error: type mismatch - can't unmarshal string to int"
    );
}

#[test]
fn labels_follow_uyuni_go() {
    let groups_answer = xmlrpc::response(
        "<methodResponse><params><param><value><array><data>\
         <value><struct><member><name>id</name><value><int>1000010000</int></value></member>\
         <member><name>system_groups</name><value><array><data>\
           <value><struct><member><name>id</name><value><i4>1</i4></value></member><member><name>name</name><value><string>web</string></value></member></struct></value>\
           <value><struct><member><name>id</name><value><i4>2</i4></value></member><member><name>name</name><value><string>prod</string></value></member></struct></value>\
         </data></array></value></member></struct></value>\
         </data></array></value></param></params></methodResponse>",
    )
    .unwrap();
    let (ids, groups) = decode_groups(&groups_answer).unwrap();
    assert_eq!(ids, [1000010000]);
    let endpoints = vec![targets::Endpoint {
        system_id: 1000010000,
        endpoint_name: "node_exporter".into(),
        port: 9100,
        path: "/metrics".into(),
        module: "".into(),
        exporter_name: "node".into(),
        tls_enabled: true,
    }];
    let networks = [(
        1000010000,
        targets::Network {
            hostname: "minion1".into(),
            primary_fqdn: "minion1.example.com".into(),
        },
    )]
    .into_iter()
    .collect();
    let t = targets::targets(&endpoints, &groups, &networks, ";");
    let labels = promsd_actors::model::labels_map(&t[0]);
    let want: std::collections::BTreeMap<String, String> = [
        ("__address__", "minion1:9100"),
        ("__meta_uyuni_minion_hostname", "minion1"),
        ("__meta_uyuni_primary_fqdn", "minion1.example.com"),
        ("__meta_uyuni_system_id", "1000010000"),
        ("__meta_uyuni_groups", "web;prod"),
        ("__meta_uyuni_endpoint_name", "node_exporter"),
        ("__meta_uyuni_exporter", "node"),
        ("__meta_uyuni_proxy_module", ""),
        ("__meta_uyuni_metrics_path", "/metrics"),
        ("__meta_uyuni_scheme", "https"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(labels, want);
}
