//! serverset and Nerve SD against a REAL ZooKeeper server (Debian's `zookeeper` package, which
//! `scripts/test` installs): each test starts its own server on a free 127.0.0.1 port with its
//! own data directory, and stops it by PID. Members are created, changed and deleted at several
//! depths with a ZooKeeper client; the session is lost by restarting the server on a fresh data
//! directory (the server no longer knows the session), and the connection by restarting it on
//! the same one (the session survives).
//!
//! The discoverer stream is driven directly (exact updates: what goes out, and what does not),
//! and the engine end to end from a prometheus.yml: `promsd check service-discovery` and
//! `promsd run` serving HTTP SD. Expected labels are those `zookeeper.go` builds.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use promsd::discovery::zookeeper::{NerveSdConfig, ServersetSdConfig};
use promsd_actors::model::labels_map;
use promsd_actors::{BuildContext, Discoverer, DiscoveryConfig, RefreshMetrics, Update};
use zookeeper_client as zk;

use crate::support::{self, Process};

/// Every wait in these tests is bounded by this generous deadline.
const DEADLINE: Duration = Duration::from_secs(60);

const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";

// ---------------------------------------------------------------------------------------------
// The server

/// A ZooKeeper server process on 127.0.0.1, killed by its PID when dropped.
struct Server {
    port: u16,
    dir: tempfile::TempDir,
    data: PathBuf,
    process: Option<Process>,
    starts: u32,
}

impl Server {
    /// Starts a server on a free port with an empty data directory.
    fn start() -> Server {
        assert!(
            Path::new(ZOOKEEPER_JAR).exists(),
            "{ZOOKEEPER_JAR} is missing: install Debian's zookeeper package (scripts/test does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data-0");
        let mut server = Server {
            port: support::free_port(),
            dir,
            data,
            process: None,
            starts: 0,
        };
        server.run();
        server
    }

    fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the process on `self.data` and waits until it answers `ruok`.
    fn run(&mut self) {
        std::fs::create_dir_all(&self.data).unwrap();
        self.starts += 1;
        let config = self.dir.path().join(format!("zoo-{}.cfg", self.starts));
        // A short tick lets sessions be short: the minimum session timeout is two ticks.
        std::fs::write(
            &config,
            format!(
                "tickTime=500\nclientPortAddress=127.0.0.1\nclientPort={}\ndataDir={}\n\
                 admin.enableServer=false\n4lw.commands.whitelist=ruok\n",
                self.port,
                self.data.display()
            ),
        )
        .unwrap();
        let process = Process::start(
            &format!("zookeeper-{}", self.starts),
            "java",
            &[
                "-Xmx96m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                ZOOKEEPER_JAR,
                "org.apache.zookeeper.server.ZooKeeperServerMain",
                config.to_str().unwrap(),
            ],
            self.dir.path(),
        );
        let port = self.port;
        let end = Instant::now() + DEADLINE;
        while !ruok(port) {
            assert!(
                Instant::now() < end,
                "ZooKeeper did not start; log:\n{}",
                process.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self.process = Some(process);
    }

    /// Kills the process (by PID) and waits for it to be gone.
    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.child.kill();
            let _ = process.child.wait();
        }
    }

    /// Stops the server and starts it again on the same port: on the same data directory
    /// (sessions survive), or on `data` (a server that never knew the sessions).
    fn restart_on(&mut self, data: Option<PathBuf>) {
        self.stop();
        if let Some(data) = data {
            self.data = data;
        }
        self.run();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ruok(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(b"ruok").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer == "imok"
}

// ---------------------------------------------------------------------------------------------
// Writing members

async fn client(server: &Server) -> zk::Client {
    tokio::time::timeout(DEADLINE, zk::Client::connect(&server.connect_string()))
        .await
        .expect("connected in time")
        .expect("connected")
}

fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

/// Creates (with its parents) or overwrites the znode at `path`.
async fn put(client: &zk::Client, path: &str, data: &str) {
    if let Some(i) = path.rfind('/').filter(|&i| i > 0) {
        client.mkdir(&path[..i], &persistent()).await.unwrap();
    }
    match client.create(path, data.as_bytes(), &persistent()).await {
        Ok(_) => {}
        Err(zk::Error::NodeExists) => {
            client.set_data(path, data.as_bytes(), None).await.unwrap();
        }
        Err(e) => panic!("create {path}: {e}"),
    }
}

/// Deletes the znode at `path` and everything below it, children first.
async fn delete_tree(client: &zk::Client, path: &str) {
    let mut order = vec![path.to_owned()];
    let mut i = 0;
    while i < order.len() {
        let children = client.list_children(&order[i]).await.unwrap();
        let parent = order[i].clone();
        order.extend(children.into_iter().map(|c| format!("{parent}/{c}")));
        i += 1;
    }
    for p in order.iter().rev() {
        client.delete(p, None).await.unwrap();
    }
}

fn serverset_member(host: &str, port: u16, status: &str, shard: i32) -> String {
    format!(
        r#"{{"serviceEndpoint": {{"host": "{host}", "port": {port}}},
            "additionalEndpoints": {{"http": {{"host": "{host}", "port": {port}}},
                                    "admin-port": {{"host": "{host}", "port": {}}}}},
            "status": "{status}", "shard": {shard}}}"#,
        port + 1
    )
}

/// The labels Prometheus' `parseServersetMember` builds for [`serverset_member`].
fn serverset_labels(
    path: &str,
    host: &str,
    port: u16,
    status: &str,
    shard: i32,
) -> BTreeMap<String, String> {
    let admin = (port + 1).to_string();
    let port = port.to_string();
    [
        ("__address__", format!("{host}:{port}")),
        ("__meta_serverset_endpoint_host", host.into()),
        ("__meta_serverset_endpoint_port", port.clone()),
        ("__meta_serverset_endpoint_host_http", host.into()),
        ("__meta_serverset_endpoint_port_http", port),
        ("__meta_serverset_endpoint_host_admin_port", host.into()),
        ("__meta_serverset_endpoint_port_admin_port", admin),
        ("__meta_serverset_status", status.into()),
        ("__meta_serverset_shard", shard.to_string()),
        ("__meta_serverset_path", path.into()),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v))
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Following the discoverer

type Labels = BTreeMap<String, String>;

/// The discoverer of a config, run on its own task; its items arrive on a channel.
struct Running {
    items: tokio::sync::mpsc::UnboundedReceiver<Result<Update, String>>,
    task: tokio::task::JoinHandle<()>,
    /// The state so far: source -> the one target's labels.
    state: BTreeMap<String, Labels>,
    errors: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn start(config: &dyn DiscoveryConfig) -> Running {
    let ctx = BuildContext {
        provider: format!("{}/0", config.mechanism()).into(),
        config_name: "job".into(),
        refresh_metrics: RefreshMetrics::default(),
    };
    let mut discoverer: Discoverer = config.build(&ctx).unwrap();
    let (tx, items) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Some(item) = discoverer.next().await {
            if tx.send(item.map_err(|e| e.to_string())).is_err() {
                return;
            }
        }
    });
    Running {
        items,
        task,
        state: BTreeMap::new(),
        errors: Vec::new(),
    }
}

impl Running {
    /// The next good update (errors are kept aside), applied to the state.
    async fn next_update(&mut self) -> Update {
        let end = tokio::time::Instant::now() + DEADLINE;
        loop {
            let item = match tokio::time::timeout_at(end, self.items.recv()).await {
                Ok(Some(item)) => item,
                Ok(None) => panic!("the discoverer ended"),
                Err(_) => panic!(
                    "no update within {DEADLINE:?}; state {:#?}, errors {:?}",
                    self.state, self.errors
                ),
            };
            match item {
                Err(e) => self.errors.push(e),
                Ok(update) => {
                    self.apply(&update);
                    return update;
                }
            }
        }
    }

    fn apply(&mut self, update: &Update) {
        if update.is_full() {
            self.state.clear();
        }
        let mut seen = std::collections::BTreeSet::new();
        for group in update.groups() {
            assert!(
                seen.insert(group.source.to_string()),
                "{} twice in one update",
                group.source
            );
            assert!(group.labels.is_empty(), "no group labels");
            match group.targets.as_slice() {
                [] => {
                    self.state.remove(&*group.source);
                }
                [target] => {
                    self.state
                        .insert(group.source.to_string(), labels_map(target));
                }
                more => panic!("{} has {} targets", group.source, more.len()),
            }
        }
    }

    /// Applies updates until `done` holds for the state.
    async fn until(&mut self, what: &str, done: impl Fn(&BTreeMap<String, Labels>) -> bool) {
        let end = Instant::now() + DEADLINE;
        while !done(&self.state) {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            self.next_update().await;
        }
    }

    fn sources(&self) -> Vec<&str> {
        self.state.keys().map(String::as_str).collect()
    }
}

/// The sources of an update, and whether each is a removal.
fn changes(update: &Update) -> Vec<(String, bool)> {
    update
        .groups()
        .iter()
        .map(|g| (g.source.to_string(), g.targets.is_empty()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tests

/// Members at the path itself and at depths 1 to 3 below it; a znode without data and one
/// that is not JSON are no targets; each create, change and delete is one changed group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serverset_members_at_every_depth_follow_creates_changes_and_deletes() {
    let server = Server::start();
    let zk = client(&server).await;
    put(&zk, "/aurora/web", "").await;
    put(
        &zk,
        "/aurora/web/member_0000000000",
        &serverset_member("10.0.0.1", 8000, "ALIVE", 0),
    )
    .await;
    put(
        &zk,
        "/aurora/web/dc1/member_0000000001",
        &serverset_member("10.0.0.2", 8000, "STARTING", 1),
    )
    .await;
    put(
        &zk,
        "/aurora/web/dc1/rack7/member_0000000002",
        &serverset_member("10.0.0.3", 8000, "DEAD", 2),
    )
    .await;
    put(&zk, "/aurora/web/bad", "not json").await;
    // The configured path's own znode is a member too.
    put(
        &zk,
        "/single",
        &serverset_member("10.9.9.9", 9000, "ALIVE", 0),
    )
    .await;

    let config = ServersetSdConfig::new(
        vec![server.connect_string()],
        vec!["/aurora/web".into(), "/single".into()],
    );
    let mut d = start(&config);
    let full = d.next_update().await;
    assert!(full.is_full());
    assert_eq!(
        d.state,
        BTreeMap::from([
            (
                "/aurora/web/dc1/member_0000000001".to_string(),
                serverset_labels(
                    "/aurora/web/dc1/member_0000000001",
                    "10.0.0.2",
                    8000,
                    "STARTING",
                    1
                )
            ),
            (
                "/aurora/web/dc1/rack7/member_0000000002".to_string(),
                serverset_labels(
                    "/aurora/web/dc1/rack7/member_0000000002",
                    "10.0.0.3",
                    8000,
                    "DEAD",
                    2
                )
            ),
            (
                "/aurora/web/member_0000000000".to_string(),
                serverset_labels(
                    "/aurora/web/member_0000000000",
                    "10.0.0.1",
                    8000,
                    "ALIVE",
                    0
                )
            ),
            (
                "/single".to_string(),
                serverset_labels("/single", "10.9.9.9", 9000, "ALIVE", 0)
            ),
        ])
    );

    // A member's data changes: that member alone.
    put(
        &zk,
        "/aurora/web/dc1/member_0000000001",
        &serverset_member("10.0.0.2", 8000, "ALIVE", 1),
    )
    .await;
    let update = d.next_update().await;
    assert_eq!(
        changes(&update),
        [("/aurora/web/dc1/member_0000000001".to_string(), false)]
    );
    assert_eq!(
        d.state["/aurora/web/dc1/member_0000000001"]["__meta_serverset_status"],
        "ALIVE"
    );

    // New members in new directories, two and three levels down.
    put(
        &zk,
        "/aurora/web/dc2/rack1/member_0000000009",
        &serverset_member("10.0.0.9", 8000, "ALIVE", 9),
    )
    .await;
    put(
        &zk,
        "/aurora/web/dc2/member_0000000010",
        &serverset_member("10.0.0.10", 8000, "ALIVE", 10),
    )
    .await;
    d.until("the members of dc2", |s| {
        s.contains_key("/aurora/web/dc2/rack1/member_0000000009")
            && s.contains_key("/aurora/web/dc2/member_0000000010")
    })
    .await;
    assert_eq!(
        d.state["/aurora/web/dc2/rack1/member_0000000009"],
        serverset_labels(
            "/aurora/web/dc2/rack1/member_0000000009",
            "10.0.0.9",
            8000,
            "ALIVE",
            9
        )
    );

    // A broken member mended, a good one broken (its data no longer decodes: it goes).
    put(
        &zk,
        "/aurora/web/bad",
        &serverset_member("10.0.0.4", 8000, "ALIVE", 4),
    )
    .await;
    d.until("the mended member", |s| s.contains_key("/aurora/web/bad"))
        .await;
    put(&zk, "/aurora/web/member_0000000000", r#"{"shard": "zero"}"#).await;
    d.until("the broken member gone", |s| {
        !s.contains_key("/aurora/web/member_0000000000")
    })
    .await;

    // Deletes: one member, then a whole directory, then the path with the member it is.
    zk.delete("/aurora/web/dc1/rack7/member_0000000002", None)
        .await
        .unwrap();
    let update = d.next_update().await;
    assert_eq!(
        changes(&update),
        [("/aurora/web/dc1/rack7/member_0000000002".to_string(), true)]
    );
    delete_tree(&zk, "/aurora/web/dc2").await;
    d.until("dc2 gone", |s| {
        !s.keys().any(|k| k.starts_with("/aurora/web/dc2"))
    })
    .await;
    zk.delete("/single", None).await.unwrap();
    d.until("/single gone", |s| !s.contains_key("/single"))
        .await;
    assert_eq!(
        d.sources(),
        ["/aurora/web/bad", "/aurora/web/dc1/member_0000000001"]
    );

    // The path comes back: its own member is read again.
    put(
        &zk,
        "/single",
        &serverset_member("10.9.9.8", 9000, "ALIVE", 0),
    )
    .await;
    d.until("/single back", |s| {
        s.get("/single")
            .is_some_and(|l| l["__address__"] == "10.9.9.8:9000")
    })
    .await;
    assert!(d.errors.is_empty(), "{:?}", d.errors);
}

/// A missing path holds nothing back and is followed once created; overlapping paths send
/// each member once; Nerve members carry Nerve's labels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nerve_with_a_missing_path_and_overlapping_paths() {
    let server = Server::start();
    let zk = client(&server).await;
    let member = |host: &str, name: &str| {
        format!(r#"{{"host": "{host}", "port": 3000, "name": "{name}", "weight": 1}}"#)
    };
    put(
        &zk,
        "/nerve/services/web/services/i-1_web",
        &member("10.1.0.1", "i-1"),
    )
    .await;
    put(
        &zk,
        "/nerve/services/web/services/az-b/i-2_web",
        &member("10.1.0.2", "i-2"),
    )
    .await;
    let config = NerveSdConfig::new(
        vec![server.connect_string()],
        vec![
            "/nerve/services/web/services".into(),
            "/nerve/services".into(),
            "/nerve/services/web".into(),
            "/later".into(),
        ],
    );
    let mut d = start(&config);
    d.next_update().await;
    assert_eq!(
        d.state["/nerve/services/web/services/az-b/i-2_web"],
        [
            ("__address__", "10.1.0.2:3000"),
            ("__meta_nerve_endpoint_host", "10.1.0.2"),
            ("__meta_nerve_endpoint_port", "3000"),
            ("__meta_nerve_endpoint_name", "i-2"),
            (
                "__meta_nerve_path",
                "/nerve/services/web/services/az-b/i-2_web"
            ),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect::<Labels>()
    );
    assert_eq!(
        d.sources(),
        [
            "/nerve/services/web/services/az-b/i-2_web",
            "/nerve/services/web/services/i-1_web"
        ]
    );
    // The missing path is created, with a member below it.
    put(&zk, "/later/db/i-3_db", &member("10.1.0.3", "i-3")).await;
    d.until("the member of the late path", |s| {
        s.contains_key("/later/db/i-3_db")
    })
    .await;
    // A change under overlapping paths is one group, sent once.
    put(
        &zk,
        "/nerve/services/web/services/i-1_web",
        &member("10.1.0.11", "i-1"),
    )
    .await;
    let update = d.next_update().await;
    assert_eq!(
        changes(&update),
        [("/nerve/services/web/services/i-1_web".to_string(), false)]
    );
    assert!(d.errors.is_empty(), "{:?}", d.errors);
}

/// A path that cannot be read (its ACL denies reading) fails, again and again, with errors;
/// it holds the first state back a few attempts only, then the other path's members go out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_path_does_not_stop_the_others() {
    let server = Server::start();
    let zk = client(&server).await;
    put(
        &zk,
        "/open/m1",
        &serverset_member("10.6.0.1", 80, "ALIVE", 1),
    )
    .await;
    let write_only = [zk::Acl::new(
        zk::Permission::CREATE | zk::Permission::DELETE,
        zk::AuthId::anyone(),
    )];
    zk.create(
        "/locked",
        b"",
        &zk::CreateMode::Persistent.with_acls(zk::Acls::new(&write_only)),
    )
    .await
    .unwrap();
    let failures_before = promsd::discovery::zookeeper::failures_total();
    let config = ServersetSdConfig::new(
        vec![server.connect_string()],
        vec!["/locked".into(), "/open".into()],
    );
    let mut d = start(&config);
    let full = d.next_update().await;
    assert!(full.is_full());
    assert_eq!(d.sources(), ["/open/m1"]);
    assert!(d.errors.len() >= 3, "{:?}", d.errors);
    assert!(
        d.errors
            .iter()
            .all(|e| e.starts_with("error reading ZooKeeper path /locked")),
        "{:?}",
        d.errors
    );
    assert!(promsd::discovery::zookeeper::failures_total() >= failures_before + 3);
    // The readable path is followed meanwhile.
    put(
        &zk,
        "/open/m2",
        &serverset_member("10.6.0.2", 80, "ALIVE", 2),
    )
    .await;
    d.until("the new member", |s| s.contains_key("/open/m2"))
        .await;
}

/// A connection lost and found within the session changes nothing and watching goes on; a
/// session the server no longer knows is an error item, the last state stands, and a new
/// session reads the trees again: the difference is sent, nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_and_session_loss_keep_the_last_state() {
    let mut server = Server::start();
    {
        let zk = client(&server).await;
        put(&zk, "/s/m1", &serverset_member("10.2.0.1", 80, "ALIVE", 1)).await;
        put(
            &zk,
            "/s/deep/m2",
            &serverset_member("10.2.0.2", 80, "ALIVE", 2),
        )
        .await;
    }
    // A second data directory holding another membership, written by a server of its own.
    let other_data = server.dir.path().join("data-other");
    {
        let mut other = Server {
            port: support::free_port(),
            dir: tempfile::tempdir().unwrap(),
            data: other_data.clone(),
            process: None,
            starts: 0,
        };
        other.run();
        let zk = client(&other).await;
        put(
            &zk,
            "/s/deep/m2",
            &serverset_member("10.2.0.22", 80, "ALIVE", 2),
        )
        .await;
        put(&zk, "/s/m3", &serverset_member("10.2.0.3", 80, "ALIVE", 3)).await;
        drop(zk);
        other.stop();
    }
    let mut config = ServersetSdConfig::new(vec![server.connect_string()], vec!["/s".into()]);
    config.timeout = promsd::common::Duration::from_secs(6);
    let mut d = start(&config);
    d.next_update().await;
    assert_eq!(d.sources(), ["/s/deep/m2", "/s/m1"]);

    // The connection is lost: the server restarts on its data, the session survives, and
    // the watches armed before still tell.
    server.restart_on(None);
    let zk = client(&server).await;
    put(&zk, "/s/m1", &serverset_member("10.2.0.1", 80, "DEAD", 1)).await;
    let update = d.next_update().await;
    assert_eq!(changes(&update), [("/s/m1".to_string(), false)]);
    assert_eq!(d.state["/s/m1"]["__meta_serverset_status"], "DEAD");
    drop(zk);

    // The session is lost: a server that never knew it, with another membership.
    server.restart_on(Some(other_data));
    let update = d.next_update().await;
    assert!(!update.is_full());
    assert_eq!(
        changes(&update),
        [
            ("/s/deep/m2".to_string(), false),
            ("/s/m1".to_string(), true),
            ("/s/m3".to_string(), false),
        ]
    );
    assert_eq!(d.state["/s/deep/m2"]["__address__"], "10.2.0.22:80");
    assert!(
        d.errors.iter().any(|e| e.contains("session")),
        "the lost session is an error item: {:?}",
        d.errors
    );
    // Watching goes on in the new session.
    let zk = client(&server).await;
    zk.delete("/s/m3", None).await.unwrap();
    let update = d.next_update().await;
    assert_eq!(changes(&update), [("/s/m3".to_string(), true)]);
}

// ---------------------------------------------------------------------------------------------
// End to end: the engine from a prometheus.yml

fn write_config(dir: &Path, server: &Server) -> PathBuf {
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        format!(
            "scrape_configs:\n\
             - job_name: aurora\n\
             \x20 serverset_sd_configs:\n\
             \x20   - servers: ['{zk}']\n\
             \x20     paths: [/aurora/jobs/web, /aurora/jobs/api]\n\
             \x20     timeout: 5s\n\
             \x20 relabel_configs:\n\
             \x20   - source_labels: [__meta_serverset_status]\n\
             \x20     regex: ALIVE\n\
             \x20     action: keep\n\
             - job_name: nerve\n\
             \x20 nerve_sd_configs:\n\
             \x20   - servers: ['{zk}']\n\
             \x20     paths: [/nerve]\n",
            zk = server.connect_string()
        ),
    )
    .unwrap();
    path
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn check_service_discovery_prints_the_members_with_prometheus_labels() {
    let server = Server::start();
    block_on(async {
        let zk = client(&server).await;
        put(
            &zk,
            "/aurora/jobs/web/member_0000000001",
            &serverset_member("10.3.0.1", 8080, "ALIVE", 1),
        )
        .await;
        put(
            &zk,
            "/aurora/jobs/api/east/member_0000000002",
            &serverset_member("10.3.0.2", 8081, "STARTING", 2),
        )
        .await;
        put(
            &zk,
            "/nerve/web/i-1",
            r#"{"host": "10.4.0.1", "port": 9100, "name": "i-1"}"#,
        )
        .await;
    });
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &server);
    let out = Command::new(support::promsd_bin())
        .args([
            "check",
            "service-discovery",
            config.to_str().unwrap(),
            "aurora",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let meta = |result: &serde_json::Value| -> Labels {
        result["discoveredLabels"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with("__meta_") || *k == "__address__")
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect()
    };
    let mut discovered: Vec<Labels> = results.iter().map(meta).collect();
    discovered.sort_by(|a, b| a["__address__"].cmp(&b["__address__"]));
    assert_eq!(
        discovered,
        [
            serverset_labels(
                "/aurora/jobs/web/member_0000000001",
                "10.3.0.1",
                8080,
                "ALIVE",
                1
            ),
            serverset_labels(
                "/aurora/jobs/api/east/member_0000000002",
                "10.3.0.2",
                8081,
                "STARTING",
                2
            ),
        ]
    );
    // The STARTING member is dropped by the job's relabeling (status is a label only).
    let kept: Vec<&serde_json::Value> = results
        .iter()
        .filter(|r| r["labels"].as_object().is_some_and(|l| !l.is_empty()))
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["labels"]["instance"], "10.3.0.1:8080");
    assert_eq!(kept[0]["labels"]["job"], "aurora");

    let out = Command::new(support::promsd_bin())
        .args([
            "check",
            "service-discovery",
            config.to_str().unwrap(),
            "nerve",
        ])
        .output()
        .unwrap();
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(
        meta(&results[0]),
        [
            ("__address__", "10.4.0.1:9100"),
            ("__meta_nerve_endpoint_host", "10.4.0.1"),
            ("__meta_nerve_endpoint_port", "9100"),
            ("__meta_nerve_endpoint_name", "i-1"),
            ("__meta_nerve_path", "/nerve/web/i-1"),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect::<Labels>()
    );
}

/// The addresses of an HTTP SD body.
fn http_sd_addresses(body: &str) -> Vec<String> {
    let groups: Vec<serde_json::Value> = serde_json::from_str(body).unwrap();
    let mut out: Vec<String> = groups
        .iter()
        .flat_map(|g| g["targets"].as_array().unwrap().iter())
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn promsd_run_follows_members_and_keeps_them_while_zookeeper_restarts() {
    let mut server = Server::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let zk = rt.block_on(client(&server));
    rt.block_on(put(
        &zk,
        "/aurora/jobs/web/member_1",
        &serverset_member("10.5.0.1", 80, "ALIVE", 1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &server);
    let (_promsd, port) = support::start_promsd(dir.path(), &config, &[]);
    let addresses = |want: &[&str]| {
        let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        support::wait_for(&format!("targets {want:?}"), || {
            support::get_ok(port, "/api/v1/sd/aurora")
                .filter(|body| http_sd_addresses(body) == want)
        });
    };
    addresses(&["10.5.0.1:80"]);
    rt.block_on(put(
        &zk,
        "/aurora/jobs/api/member_2",
        &serverset_member("10.5.0.2", 80, "ALIVE", 2),
    ));
    addresses(&["10.5.0.1:80", "10.5.0.2:80"]);
    rt.block_on(async {
        zk.delete("/aurora/jobs/web/member_1", None).await.unwrap();
    });
    addresses(&["10.5.0.2:80"]);
    drop(zk);

    // ZooKeeper goes away: the targets stay; it comes back and a change is followed.
    server.stop();
    addresses(&["10.5.0.2:80"]);
    server.restart_on(None);
    let zk = rt.block_on(client(&server));
    rt.block_on(put(
        &zk,
        "/aurora/jobs/web/member_3",
        &serverset_member("10.5.0.3", 80, "ALIVE", 3),
    ));
    addresses(&["10.5.0.2:80", "10.5.0.3:80"]);
}

/// The issue's performance figures: 10,000 serverset members (100 directories of 100) read
/// at start, then one member changed. Ignored by default; run it alone with `--ignored`.
/// Measured on the 2 shared cores of the dev machine, debug build: initial load 3.0-3.8 s
/// (reads about 2 s of it, parsing and labels 0.36 s), one change 10-35 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn ten_thousand_members_initial_load_and_one_change() {
    let server = Server::start();
    let zk = client(&server).await;
    for dir in 0..100 {
        zk.mkdir(&format!("/bench/shard-{dir:02}"), &persistent())
            .await
            .unwrap();
        let zk = &zk;
        let creates: Vec<_> = (0..100)
            .map(move |i| {
                let path = format!("/bench/shard-{dir:02}/member_{i:04}");
                let data = serverset_member(&format!("10.8.{dir}.{i}"), 8080, "ALIVE", i);
                async move {
                    let options = persistent();
                    zk.create(&path, data.as_bytes(), &options).await.unwrap();
                }
            })
            .collect();
        futures::future::join_all(creates).await;
    }
    let config = ServersetSdConfig::new(vec![server.connect_string()], vec!["/bench".into()]);
    let started = Instant::now();
    let mut d = start(&config);
    d.next_update().await;
    let initial = started.elapsed();
    assert_eq!(d.state.len(), 10_000);
    let started = Instant::now();
    put(
        &zk,
        "/bench/shard-42/member_0042",
        &serverset_member("10.8.42.42", 8080, "DEAD", 42),
    )
    .await;
    let update = d.next_update().await;
    let change = started.elapsed();
    assert_eq!(
        changes(&update),
        [("/bench/shard-42/member_0042".to_string(), false)]
    );
    println!("10,000 members: initial load {initial:?}, one change {change:?}");
}
