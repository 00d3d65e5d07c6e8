//! DNS SD against a real DNS server: a `dnsmasq` started on 127.0.0.1 on a free port for each
//! test (Debian package `dnsmasq-base`; these tests fail when it is missing). Each test points
//! the config's `nameservers` (a promsd extension) at it, and changes records by rewriting its
//! hosts file and sending SIGHUP, or by restarting it on the same port.
//!
//! The lookup counters are process-wide (as in Prometheus) and tests may share a process, so
//! tests assert that they grew, never their exact value.

use std::io::Write;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use promsd::discovery::dns::{self, DnsSdConfig};
use promsd_actors::model::labels_map;
use promsd_actors::testing::{job_addresses_are, start_one_job, OneJob};
use promsd_actors::{
    BuildContext, Discoverer, DiscoveryConfig, RefreshMetrics, TargetGroup, Update,
};

const DNSMASQ: &str = "/usr/sbin/dnsmasq";
/// Bounds every wait; generous, since a slow CI machine must not fail a correct build.
const DEADLINE: Duration = Duration::from_secs(60);

/// A dnsmasq serving the records of its config file, killed by PID when dropped.
struct Dnsmasq {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Dnsmasq {
    /// Starts dnsmasq on a free port with `records` (dnsmasq config lines) and an empty hosts
    /// file.
    fn start(records: &str) -> Dnsmasq {
        Self::start_with_hosts(records, "")
    }

    /// Starts dnsmasq on a free port with `records` (dnsmasq config lines) and a hosts file of
    /// `ip name` lines (see [`Dnsmasq::set_hosts`]).
    fn start_with_hosts(records: &str, hosts: &str) -> Dnsmasq {
        assert!(
            Path::new(DNSMASQ).exists(),
            "{DNSMASQ} is missing: install the Debian package dnsmasq-base"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hosts"), hosts).unwrap();
        let mut server = Dnsmasq {
            child: None,
            port: 0,
            dir,
        };
        let mut last_error = String::new();
        // Another process may take the free port before dnsmasq binds it: try a few.
        for _ in 0..10 {
            server.port = free_port();
            match server.spawn(records) {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("dnsmasq did not start: {last_error}");
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self, records: &str) -> Result<(), String> {
        let conf = self.dir.path().join("dnsmasq.conf");
        let log = self.dir.path().join("dnsmasq.log");
        let hosts = self.dir.path().join("hosts");
        std::fs::write(
            &conf,
            format!("addn-hosts={}\n{records}\n", hosts.display()),
        )
        .unwrap();
        let _ = std::fs::remove_file(&log);
        let mut child = Command::new(DNSMASQ)
            .arg(format!("--port={}", self.port))
            .args([
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                "--keep-in-foreground",
                "--pid-file=",
                // Keeps root (CI runs as root); ignored by a dnsmasq started by another user.
                "--user=root",
            ])
            .arg(format!("--conf-file={}", conf.display()))
            .arg(format!("--log-facility={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {DNSMASQ}: {e}"))?;
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut err) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
                }
                return Err(format!("dnsmasq exited with {status}: {stderr}"));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if start.elapsed() > DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                return Err("dnsmasq did not listen in time".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills dnsmasq: the port stops answering.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Restarts dnsmasq on the same port with other records.
    fn restart(&mut self, records: &str) {
        self.stop();
        let start = Instant::now();
        while let Err(e) = self.spawn(records) {
            // The port may take a moment to be free again.
            assert!(start.elapsed() < DEADLINE, "dnsmasq did not restart: {e}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Replaces the hosts file (`ip name` lines) and makes dnsmasq read it again.
    fn set_hosts(&self, lines: &str) {
        let path: PathBuf = self.dir.path().join("hosts.new");
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(lines.as_bytes()).unwrap();
        f.sync_all().unwrap();
        std::fs::rename(&path, self.dir.path().join("hosts")).unwrap();
        let pid = self.child.as_ref().expect("dnsmasq running").id();
        let status = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "SIGHUP to dnsmasq failed");
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port free for both UDP and TCP on 127.0.0.1 at the time of asking.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn config(yaml: &str) -> DnsSdConfig {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

fn ctx() -> BuildContext {
    BuildContext {
        provider: "dns/0".into(),
        config_name: "job".into(),
        refresh_metrics: RefreshMetrics::default(),
    }
}

async fn next(d: &mut Discoverer) -> Result<Update, promsd_actors::DiscoveryError> {
    tokio::time::timeout(DEADLINE, d.next())
        .await
        .expect("the discoverer sent nothing in time")
        .expect("the discoverer ended")
}

/// The next good item, skipping errors.
async fn next_update(d: &mut Discoverer) -> Update {
    loop {
        if let Ok(update) = next(d).await {
            return update;
        }
    }
}

/// The groups of a discoverer's first item, which must be its full state.
async fn first_state(config: &DnsSdConfig) -> Vec<TargetGroup> {
    let mut d = config.build(&ctx()).unwrap();
    match next(&mut d).await.unwrap() {
        Update::Full(groups) => groups,
        other => panic!("first item is not the full state: {other:?}"),
    }
}

/// Each target's labels, sorted by address.
fn targets(group: &TargetGroup) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = group
        .targets
        .iter()
        .map(|t| labels_map(t).into_iter().collect())
        .collect();
    out.sort_by(|a, b| a[0].1.cmp(&b[0].1));
    out
}

/// The labels Prometheus gives a DNS target, sorted by name as a label set is.
fn labels(
    address: &str,
    name: &str,
    srv: (&str, &str),
    mx: &str,
    ns: &str,
) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = [
        ("__address__", address),
        ("__meta_dns_mx_record_target", mx),
        ("__meta_dns_name", name),
        ("__meta_dns_ns_record_target", ns),
        ("__meta_dns_srv_record_port", srv.1),
        ("__meta_dns_srv_record_target", srv.0),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    v.sort();
    v
}

fn addresses(groups: &[TargetGroup], source: &str) -> Vec<String> {
    let mut out: Vec<String> = groups
        .iter()
        .filter(|g| &*g.source == source)
        .flat_map(|g| g.targets.iter())
        .map(|t| t.get("__address__").unwrap().to_owned())
        .collect();
    out.sort();
    out
}

const ZONE: &str = "\
local=/example.test/
srv-host=_http._tcp.example.test,web1.example.test,8080,0,0
srv-host=_http._tcp.example.test,web2.example.test,8081,10,0
host-record=web1.example.test,10.0.0.1,fd00::1
host-record=web1.example.test,10.0.0.2
mx-host=example.test,mail.example.test,10
auth-zone=example.test
auth-server=ns1.example.test,127.0.0.1
auth-sec-servers=ns2.example.test
";

#[tokio::test]
async fn every_record_type_becomes_targets_with_prometheus_labels() {
    let server = Dnsmasq::start(ZONE);
    let ns = server.addr();

    let srv = "_http._tcp.example.test";
    let groups = first_state(&config(&format!("names: ['{srv}']\nnameservers: ['{ns}']"))).await;
    assert_eq!(groups.len(), 1);
    assert_eq!(&*groups[0].source, srv);
    assert!(groups[0].labels.is_empty());
    assert_eq!(
        targets(&groups[0]),
        [
            labels(
                "web1.example.test:8080",
                srv,
                ("web1.example.test.", "8080"),
                "",
                ""
            ),
            labels(
                "web2.example.test:8081",
                srv,
                ("web2.example.test.", "8081"),
                "",
                ""
            ),
        ]
    );

    // A name written without the final dot keeps its spelling in labels and source.
    let a = "web1.example.test";
    let groups = first_state(&config(&format!(
        "names: ['{a}']\ntype: A\nport: 9100\nnameservers: ['{ns}']"
    )))
    .await;
    assert_eq!(&*groups[0].source, a);
    assert_eq!(
        targets(&groups[0]),
        [
            labels("10.0.0.1:9100", a, ("", ""), "", ""),
            labels("10.0.0.2:9100", a, ("", ""), "", ""),
        ]
    );

    let groups = first_state(&config(&format!(
        "names: ['{a}.']\ntype: AAAA\nport: 9100\nnameservers: ['{ns}']"
    )))
    .await;
    assert_eq!(
        targets(&groups[0]),
        [labels(
            "[fd00::1]:9100",
            "web1.example.test.",
            ("", ""),
            "",
            ""
        )]
    );

    let groups = first_state(&config(&format!(
        "names: [example.test]\ntype: MX\nport: 25\nnameservers: ['{ns}']"
    )))
    .await;
    assert_eq!(
        targets(&groups[0]),
        [labels(
            "mail.example.test:25",
            "example.test",
            ("", ""),
            "mail.example.test.",
            ""
        )]
    );

    // dnsmasq serves NS records for a zone it is authoritative for, on the addresses named in
    // `auth-server` (without one, dnsmasq 2.90 answers NS queries with malformed records).
    let groups = first_state(&config(&format!(
        "names: [example.test]\ntype: NS\nport: 53\nnameservers: ['{ns}']"
    )))
    .await;
    assert_eq!(
        targets(&groups[0]),
        [
            labels(
                "ns1.example.test:53",
                "example.test",
                ("", ""),
                "",
                "ns1.example.test."
            ),
            labels(
                "ns2.example.test:53",
                "example.test",
                ("", ""),
                "",
                "ns2.example.test."
            ),
        ]
    );
}

#[tokio::test]
async fn changed_records_are_seen_at_the_next_refresh() {
    let mut server =
        Dnsmasq::start_with_hosts("local=/example.test/", "10.0.0.1 web.example.test\n");
    let config = config(&format!(
        "names: [web.example.test, _api._tcp.example.test]\ntype: A\nport: 80\nrefresh_interval: 100ms\nnameservers: ['{}']",
        server.addr()
    ));
    let mut d = config.build(&ctx()).unwrap();
    let Update::Full(groups) = next(&mut d).await.unwrap() else {
        panic!("first item is not the full state")
    };
    // A name that does not exist has no group at all.
    assert_eq!(groups.len(), 1);
    assert_eq!(addresses(&groups, "web.example.test"), ["10.0.0.1:80"]);

    // SIGHUP: dnsmasq reads its hosts file again; the resolver's cache must not hide it.
    server.set_hosts("10.0.0.1 web.example.test\n10.0.0.3 web.example.test\n");
    let update = next_update(&mut d).await;
    assert!(!update.is_full());
    assert_eq!(
        addresses(update.groups(), "web.example.test"),
        ["10.0.0.1:80", "10.0.0.3:80"]
    );

    // A restart with other records on the same port.
    server.restart("local=/example.test/\nhost-record=web.example.test,10.0.0.4");
    let update = next_update(&mut d).await;
    // The hosts file still names two addresses; the host-record adds a third.
    assert_eq!(
        addresses(update.groups(), "web.example.test"),
        ["10.0.0.1:80", "10.0.0.3:80", "10.0.0.4:80"]
    );
}

#[tokio::test]
async fn a_server_that_is_down_keeps_the_last_targets_and_counts_failures() {
    let mut server = Dnsmasq::start(ZONE);
    let config = config(&format!(
        "names: ['_http._tcp.example.test', 'web1.example.test']\nrefresh_interval: 200ms\nnameservers: ['{}']",
        server.addr()
    ));
    let mut d = config.build(&ctx()).unwrap();
    let Update::Full(groups) = next(&mut d).await.unwrap() else {
        panic!("first item is not the full state")
    };
    assert_eq!(
        addresses(&groups, "_http._tcp.example.test"),
        ["web1.example.test:8080", "web2.example.test:8081"]
    );
    // web1 has A records but no SRV record: it exists with no targets, so it has no group.
    assert_eq!(groups.len(), 1);

    let failures_before = dns::lookup_failures_total();
    let lookups_before = dns::lookups_total();
    server.stop();
    // Every name fails: the refresh fails, and nothing else comes out of the discoverer.
    let err = next(&mut d).await.expect_err("a failure, not an update");
    assert!(
        err.message().contains("lookup failed for all 2 names"),
        "{err}"
    );
    assert!(dns::lookup_failures_total() >= failures_before + 2);
    assert!(dns::lookups_total() >= lookups_before + 2);

    // Back with a changed record: the next good refresh changes only what changed.
    server.restart(&ZONE.replace("8081", "9091"));
    let Update::Changed(changed) = next_update(&mut d).await else {
        panic!("not a change")
    };
    assert_eq!(changed.len(), 1);
    let srv = "_http._tcp.example.test";
    assert_eq!(
        targets(&changed[0]),
        [
            labels(
                "web1.example.test:8080",
                srv,
                ("web1.example.test.", "8080"),
                "",
                ""
            ),
            labels(
                "web2.example.test:9091",
                srv,
                ("web2.example.test.", "9091"),
                "",
                ""
            ),
        ]
    );
}

#[tokio::test]
async fn nxdomain_removes_a_name_while_a_failing_name_keeps_its_targets() {
    let first = "\
local=/example.test/
local=/other.test/
srv-host=_a._tcp.example.test,a.example.test,1001
srv-host=_b._tcp.example.test,b.example.test,1002
srv-host=_c._tcp.other.test,c.other.test,1003
srv-host=_d._tcp.example.test,d.example.test,1004
";
    let mut server = Dnsmasq::start(first);
    let config = config(&format!(
        "names: ['_a._tcp.example.test', '_b._tcp.example.test', '_c._tcp.other.test', '_d._tcp.example.test']\nrefresh_interval: 200ms\nnameservers: ['{}']",
        server.addr()
    ));
    let mut d = config.build(&ctx()).unwrap();
    let Update::Full(groups) = next(&mut d).await.unwrap() else {
        panic!("first item is not the full state")
    };
    assert_eq!(groups.len(), 4);

    let failures_before = dns::lookup_failures_total();
    // a changes; b is gone (NXDOMAIN); other.test is no longer served, so c's lookup is
    // REFUSED; d's name still exists (it has an A record) but has no SRV record.
    server.restart(
        "\
local=/example.test/
srv-host=_a._tcp.example.test,a.example.test,2001
txt-record=_d._tcp.example.test,present
",
    );
    // A refresh that overlaps the restart may see some names fail: gather changes until a, b
    // and d have changed, and check that c never does.
    let mut seen: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    while seen.len() < 3 {
        let Update::Changed(changed) = next_update(&mut d).await else {
            panic!("not a change")
        };
        for g in &changed {
            assert_ne!(
                &*g.source, "_c._tcp.other.test",
                "a failed name must keep its targets"
            );
            seen.insert(
                g.source.to_string(),
                addresses(std::slice::from_ref(g), &g.source),
            );
        }
    }
    let seen: Vec<(&str, Vec<String>)> =
        seen.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    assert_eq!(
        seen,
        [
            (
                "_a._tcp.example.test",
                vec!["a.example.test:2001".to_owned()]
            ),
            ("_b._tcp.example.test", vec![]),
            ("_d._tcp.example.test", vec![]),
        ],
        "a changed, b (NXDOMAIN) and d (no SRV record) removed"
    );
    assert!(dns::lookup_failures_total() > failures_before);
}

#[tokio::test]
async fn a_thousand_names_resolve_with_none_lost() {
    let mut records = String::from("local=/example.test/\n");
    for i in 0..1000 {
        records.push_str(&format!(
            "srv-host=_s{i}._tcp.example.test,host{i}.example.test,{}\n",
            10_000 + i
        ));
    }
    let server = Dnsmasq::start(&records);
    let names: Vec<String> = (0..1000)
        .map(|i| format!("'_s{i}._tcp.example.test'"))
        .collect();
    let config = config(&format!(
        "names: [{}]\nnameservers: ['{}']",
        names.join(", "),
        server.addr()
    ));
    let groups = first_state(&config).await;
    assert_eq!(groups.len(), 1000);
    for i in 0..1000 {
        assert_eq!(
            addresses(&groups, &format!("_s{i}._tcp.example.test")),
            [format!("host{i}.example.test:{}", 10_000 + i)]
        );
    }
}

#[actix::test]
async fn dns_sd_runs_in_the_engine_from_a_yaml_config() {
    let server = Dnsmasq::start_with_hosts("local=/example.test/", "10.1.0.1 node.example.test\n");
    let yaml = format!(
        "
names:
  - node.example.test
type: A
port: 9100
refresh_interval: 100ms
nameservers: ['{}']
",
        server.addr()
    );
    let config: std::sync::Arc<dyn DiscoveryConfig> = std::sync::Arc::new(config(&yaml));
    assert_eq!(config.mechanism(), "dns");

    let OneJob {
        manager: _manager,
        subscriber: _subscriber,
        subscription: _subscription,
        recording,
        ..
    } = start_one_job("node", vec![config], Duration::from_millis(50)).await;
    let has = |want: &'static [&'static str]| job_addresses_are("node", want);
    let messages = recording
        .wait_for(DEADLINE, has(&["10.1.0.1:9100"]))
        .await
        .unwrap();
    let snapshot = &messages.last().unwrap().snapshot;
    let (_, group) = snapshot.job("node").unwrap().groups().next().unwrap();
    assert_eq!(&*group.source, "node.example.test");
    assert_eq!(
        group.targets[0].get("__meta_dns_name"),
        Some("node.example.test")
    );

    server.set_hosts("10.1.0.2 node.example.test\n");
    recording
        .wait_for(DEADLINE, has(&["10.1.0.2:9100"]))
        .await
        .unwrap();
}

/// A scrape config's discovery keys, read through the registry as the config loader reads them.
struct DiscoveryKeys(Vec<std::sync::Arc<dyn DiscoveryConfig>>);

impl<'de> serde::Deserialize<'de> for DiscoveryKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = DiscoveryKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scrape config")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<DiscoveryKeys, A::Error> {
                let mut configs = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    match promsd::discovery::next_sd_configs(&key, &mut map)? {
                        Some(list) => {
                            configs.extend(list.into_iter().map(promsd::discovery::into_discovery))
                        }
                        None => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(DiscoveryKeys(configs))
            }
        }
        d.deserialize_map(Keys)
    }
}

#[test]
fn dns_sd_configs_is_read_through_the_registry() {
    assert!(promsd::discovery::IMPLEMENTED.contains(&"dns"));
    let keys: DiscoveryKeys = serde_yaml::from_str(
        "
job_name: web
dns_sd_configs:
  - names: [_http._tcp.example.test]
  - names: [web.example.test]
    type: A
    port: 80
",
    )
    .unwrap();
    assert_eq!(keys.0.len(), 2);
    assert!(keys.0.iter().all(|c| c.mechanism() == "dns"));
    assert_ne!(keys.0[0].identity(), keys.0[1].identity());

    let err = serde_yaml::from_str::<DiscoveryKeys>(
        "job_name: web\ndns_sd_configs:\n  - names: [web.example.test]\n    type: A\n",
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("a port is required in DNS-SD configs for all record types except SRV"),
        "{err}"
    );
}
