//! PuppetDB SD end to end: `promsd check service-discovery` and `promsd run` against a PuppetDB
//! fixture that checks the query as Prometheus posts it and serves Prometheus' test fixture
//! (`discovery/puppetdb/fixtures/vhosts.json`).

use super::registries_kit::*;

const VHOSTS: &str = include_str!("testdata/puppetdb_vhosts.json");

const QUERY: &str = r#"resources { type = "Apache::Vhost" and exported = false }"#;

fn puppetdb_fixture() -> Fixture {
    Fixture::start(|r| {
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        if r.method != "POST"
            || r.path != "/puppetdb/pdb/query/v4"
            || r.header("content-type") != Some("application/json")
            || r.header("accept") != Some("application/json")
            || body != serde_json::json!({ "query": QUERY })
        {
            return Reply::new(400, "text/plain", "bad query");
        }
        Reply::new(200, "application/json; charset=utf-8", VHOSTS)
    })
}

fn config(dir: &std::path::Path, fixture: &Fixture, extra: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            "scrape_configs:\n  - job_name: puppetdb\n    puppetdb_sd_configs:\n      - url: {}/puppetdb/\n        query: '{QUERY}'\n        port: 9100\n{extra}",
            fixture.url()
        ),
    )
}

/// `TestPuppetDBRefreshWithParameters` through the binary (port 9100 instead of 80).
#[test]
fn discovers_resources_with_parameters() {
    let fixture = puppetdb_fixture();
    let dir = tempfile::tempdir().unwrap();
    let (code, json, stderr) = check_sd(
        &config(dir.path(), &fixture, "        include_parameters: true\n"),
        "puppetdb",
    );
    assert_eq!(code, Some(0), "{stderr}");
    let mut want = vec![
        ("__address__", "edinburgh.example.com:9100"),
        ("__meta_puppetdb_query", QUERY),
        ("__meta_puppetdb_certname", "edinburgh.example.com"),
        ("__meta_puppetdb_environment", "prod"),
        ("__meta_puppetdb_exported", "false"),
        ("__meta_puppetdb_file", "/etc/puppetlabs/code/environments/prod/modules/upstream/apache/manifests/init.pp"),
        ("__meta_puppetdb_resource", "49af83866dc5a1518968b68e58a25319107afe11"),
        ("__meta_puppetdb_tags", ",roles::hypervisor,apache,apache::vhost,class,default-ssl,profile_hypervisor,vhost,profile_apache,hypervisor,__node_regexp__edinburgh,roles,node,"),
        ("__meta_puppetdb_title", "default-ssl"),
        ("__meta_puppetdb_type", "Apache::Vhost"),
    ];
    want.extend([
        ("__meta_puppetdb_parameter_access_log", "true"),
        (
            "__meta_puppetdb_parameter_access_log_file",
            "ssl_access_log",
        ),
        ("__meta_puppetdb_parameter_buckets", "0,2,5"),
        (
            "__meta_puppetdb_parameter_coordinates",
            "60.13464726551357,-2.0513768021728893",
        ),
        ("__meta_puppetdb_parameter_docroot", "/var/www/html"),
        ("__meta_puppetdb_parameter_ensure", "absent"),
        ("__meta_puppetdb_parameter_labels_alias", "edinburgh"),
        (
            "__meta_puppetdb_parameter_options",
            "Indexes,FollowSymLinks,MultiViews",
        ),
        ("__meta_puppetdb_parameter_pi", "3.141592653589793"),
        ("__meta_puppetdb_parameter_port", "22"),
    ]);
    assert_eq!(discovered(&json), vec![labels(&want)]);
    let request = &fixture.requests()[0];
    assert_eq!(
        request.body_text(),
        r#"{"query":"resources { type = \"Apache::Vhost\" and exported = false }"}"#
    );
}

/// `TestPuppetDBInvalidFormat` / `TestPuppetDBInvalidCode`: the daemon keeps the last good
/// targets while answers are not JSON or not 200.
#[test]
fn failures_keep_the_last_good_state() {
    let fixture = puppetdb_fixture();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fixture, "        refresh_interval: 1s\n");
    let mut n = 0;
    last_good_state_is_kept(dir.path(), &config, "puppetdb", &fixture, 1, move |_| {
        n += 1;
        if n % 2 == 0 {
            Reply::new(200, "text/plain; charset=utf-8", "{}\n")
        } else {
            Reply::new(400, "text/plain", "")
        }
    });
}
