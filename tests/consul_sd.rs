//! Consul SD against a Consul HTTP API fixture: a real actix-web server on 127.0.0.1:0 that
//! implements `/v1/agent/self`, `/v1/catalog/services` and `/v1/health/service/<name>` with
//! `X-Consul-Index` and real blocking queries (a request with `index` is held until the index
//! moves past it, the data is restored from a snapshot, or `wait` runs out).
//!
//! The tests drive the discoverer stream directly (exact labels, filters, services coming and
//! going, index reset, server errors, token header) and, once, through the engine
//! (`ManagerActor` and a recording subscriber) from a YAML snippet.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures::StreamExt;
use promsd::discovery::consul::{self, ConsulSdConfig};
use promsd_actors::testing::{job_addresses_are, start_one_job, OneJob};
use promsd_actors::{
    BuildContext, Discoverer, DiscoveryConfig, LabelSet, RefreshMetrics, Str, TargetGroup, Update,
};
use serde_json::json;
use tokio::sync::watch;

/// Every wait in these tests is bounded by this generous deadline.
const DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// The fixture

/// One registered service instance and its node.
#[derive(Clone, Debug)]
struct Instance {
    service: String,
    id: String,
    node: String,
    node_address: String,
    node_meta: BTreeMap<String, String>,
    tagged_addresses: BTreeMap<String, String>,
    address: String,
    port: u16,
    tags: Vec<String>,
    meta: BTreeMap<String, String>,
    checks: Vec<(String, String)>,
}

impl Instance {
    fn new(service: &str, id: &str, node_address: &str, port: u16) -> Self {
        Instance {
            service: service.into(),
            id: id.into(),
            node: format!("node-{node_address}"),
            node_address: node_address.into(),
            node_meta: BTreeMap::new(),
            tagged_addresses: BTreeMap::new(),
            address: String::new(),
            port,
            tags: Vec::new(),
            meta: BTreeMap::new(),
            checks: vec![("serfHealth".into(), "passing".into())],
        }
    }

    fn tags(mut self, tags: &[&str]) -> Self {
        self.tags = tags.iter().map(|t| t.to_string()).collect();
        self
    }

    fn node_meta(mut self, key: &str, value: &str) -> Self {
        self.node_meta.insert(key.into(), value.into());
        self
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "Node": {
                "ID": "b78c2e48-5ef3-1814-31b8-0d880f50471e",
                "Node": self.node,
                "Address": self.node_address,
                "Datacenter": "fixture-dc",
                "TaggedAddresses": self.tagged_addresses,
                "Meta": self.node_meta,
                "CreateIndex": 1,
                "ModifyIndex": 1
            },
            "Service": {
                "ID": self.id,
                "Service": self.service,
                "Tags": self.tags,
                "Address": self.address,
                "Meta": self.meta,
                "Port": self.port,
                "Weights": {"Passing": 1, "Warning": 1},
                "EnableTagOverride": false,
                "CreateIndex": 1,
                "ModifyIndex": 1
            },
            "Checks": self.checks.iter().map(|(id, status)| json!({
                "Node": self.node,
                "CheckID": id,
                "Name": id,
                "Status": status,
            })).collect::<Vec<_>>()
        })
    }
}

/// A request as the fixture saw it.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    query: Vec<(String, String)>,
    token: Option<String>,
    authorization: Option<String>,
}

impl Seen {
    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn params(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[derive(Default)]
struct State {
    /// The Raft index: bumped by every write.
    index: u64,
    /// Bumped by a snapshot restore: wakes every blocked query, as Consul's abandon channel.
    restores: u64,
    datacenter: String,
    instances: Vec<Instance>,
    /// Index of the last write to each service; the catalog's index is the highest.
    service_index: HashMap<String, u64>,
    catalog_index: u64,
    /// Path → how many of its next answers are a 500.
    failures: HashMap<String, u32>,
    seen: Vec<Seen>,
}

impl State {
    fn touch(&mut self, service: &str) {
        self.index += 1;
        self.service_index.insert(service.to_owned(), self.index);
        self.catalog_index = self.index;
    }

    fn node_meta_matches(instance: &Instance, wanted: &[&str]) -> bool {
        wanted.iter().all(|kv| {
            let (k, v) = kv.split_once(':').unwrap_or((kv, ""));
            instance.node_meta.get(k).map(String::as_str) == Some(v)
        })
    }

    /// The index a query of `path` would answer with.
    fn index_of(&self, path: &str) -> u64 {
        match path.strip_prefix("/v1/health/service/") {
            Some(service) => self
                .service_index
                .get(service)
                .copied()
                .unwrap_or(self.catalog_index),
            None => self.catalog_index,
        }
    }
}

/// The fixture Consul: its address, its state, and a channel that signals every write.
#[derive(Clone)]
struct Consul {
    state: Arc<Mutex<State>>,
    changed: Arc<watch::Sender<u64>>,
}

/// Stops the fixture's server when the test ends.
struct Fixture {
    consul: Consul,
    server: String,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let stop = self.handle.stop(false);
        actix_rt::spawn(stop);
    }
}

impl std::ops::Deref for Fixture {
    type Target = Consul;
    fn deref(&self) -> &Consul {
        &self.consul
    }
}

fn parse_wait(wait: &str) -> Duration {
    if let Some(ms) = wait.strip_suffix("ms") {
        Duration::from_millis(ms.parse().unwrap())
    } else if let Some(s) = wait.strip_suffix('s') {
        Duration::from_secs(s.parse().unwrap())
    } else if let Some(m) = wait.strip_suffix('m') {
        Duration::from_secs(60 * m.parse::<u64>().unwrap())
    } else {
        panic!("bad wait {wait:?}")
    }
}

async fn handle(req: HttpRequest, consul: web::Data<Consul>) -> HttpResponse {
    let path = req.path().to_owned();
    let query: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let seen = Seen {
        path: path.clone(),
        query,
        token: req
            .headers()
            .get("X-Consul-Token")
            .map(|v| v.to_str().unwrap().to_owned()),
        authorization: req
            .headers()
            .get("Authorization")
            .map(|v| v.to_str().unwrap().to_owned()),
    };
    let min_index: u64 = seen.param("index").map_or(0, |i| i.parse().unwrap());
    let wait = seen
        .param("wait")
        .map_or(Duration::from_secs(300), parse_wait);
    let restores_at_start = {
        let mut state = consul.state.lock().unwrap();
        state.seen.push(seen.clone());
        state.restores
    };
    consul.changed.send_modify(|n| *n += 1);

    // A blocking query: hold until the index moves past `index`, a restore, or `wait`.
    if min_index > 0 && path != "/v1/agent/self" {
        let deadline = tokio::time::Instant::now() + wait;
        let mut changes = consul.changed.subscribe();
        loop {
            {
                let state = consul.state.lock().unwrap();
                if state.index_of(&path) > min_index || state.restores != restores_at_start {
                    break;
                }
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
    }

    let mut state = consul.state.lock().unwrap();
    if let Some(left) = state.failures.get_mut(&path).filter(|n| **n > 0) {
        *left -= 1;
        return HttpResponse::InternalServerError().body("injected failure\n");
    }
    let node_meta = seen.params("node-meta");
    let index = state.index_of(&path);
    let body = if path == "/v1/agent/self" {
        json!({"Config": {"Datacenter": state.datacenter}, "Member": {}})
    } else if path == "/v1/catalog/services" {
        let mut services: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for i in &state.instances {
            if State::node_meta_matches(i, &node_meta) {
                let tags = services.entry(&i.service).or_default();
                for t in &i.tags {
                    if !tags.contains(&t.as_str()) {
                        tags.push(t);
                    }
                }
            }
        }
        json!(services)
    } else if let Some(service) = path.strip_prefix("/v1/health/service/") {
        let tags = seen.params("tag");
        let entries: Vec<serde_json::Value> = state
            .instances
            .iter()
            .filter(|i| i.service == service)
            .filter(|i| State::node_meta_matches(i, &node_meta))
            .filter(|i| tags.iter().all(|t| i.tags.iter().any(|it| it == t)))
            .map(Instance::to_json)
            .collect();
        json!(entries)
    } else {
        return HttpResponse::NotFound().body("no such endpoint");
    };
    HttpResponse::Ok()
        .insert_header(("X-Consul-Index", index.to_string()))
        .insert_header(("X-Consul-KnownLeader", "true"))
        .insert_header(("X-Consul-LastContact", "0"))
        .json(body)
}

impl Consul {
    fn start(datacenter: &str) -> Fixture {
        Self::start_at(datacenter, "127.0.0.1:0".parse().unwrap())
    }

    /// Starts the fixture on `address` (port 0: any free port).
    fn start_at(datacenter: &str, address: std::net::SocketAddr) -> Fixture {
        let consul = Consul {
            state: Arc::new(Mutex::new(State {
                index: 1,
                catalog_index: 1,
                datacenter: datacenter.into(),
                ..State::default()
            })),
            changed: Arc::new(watch::channel(0).0),
        };
        let data = web::Data::new(consul.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::get().to(handle))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .bind(address)
        .unwrap();
        let address = server.addrs()[0].to_string();
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Fixture {
            consul,
            server: address,
            handle,
        }
    }

    fn write(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap());
        self.changed.send_modify(|n| *n += 1);
    }

    fn register(&self, instance: Instance) {
        self.write(|s| {
            s.instances
                .retain(|i| !(i.service == instance.service && i.id == instance.id));
            s.touch(&instance.service.clone());
            s.instances.push(instance);
        });
    }

    fn deregister(&self, service: &str, id: &str) {
        self.write(|s| {
            s.instances
                .retain(|i| !(i.service == service && i.id == id));
            s.touch(service);
        });
    }

    /// Many unrelated writes: the Raft index jumps to `index`.
    fn advance_index_to(&self, index: u64) {
        self.write(|s| s.index = index);
    }

    /// A snapshot restore: the data becomes `instances`, every index drops to `index`, and every
    /// blocked query is woken.
    fn restore(&self, index: u64, instances: Vec<Instance>) {
        self.write(|s| {
            s.index = index;
            s.catalog_index = index;
            for i in s.service_index.values_mut() {
                *i = index;
            }
            for i in &instances {
                s.service_index.insert(i.service.clone(), index);
            }
            s.instances = instances;
            s.restores += 1;
        });
    }

    fn fail_next(&self, path: &str, times: u32) {
        self.write(|s| {
            s.failures.insert(path.to_owned(), times);
        });
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn seen_on(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }

    /// Waits until the requests seen satisfy `condition`.
    async fn wait_for_requests(&self, what: &str, condition: impl Fn(&[Seen]) -> bool) {
        let mut changes = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if condition(&self.state.lock().unwrap().seen) {
                return;
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(deadline) => panic!("timed out waiting for {what}; seen: {:#?}", self.seen()),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn config(fixture: &Fixture, yaml: &str) -> ConsulSdConfig {
    let yaml = format!("server: {}\nrefresh_interval: 10ms\n{yaml}", fixture.server);
    serde_yaml::from_str(&yaml).unwrap()
}

/// A running discoverer, driven by its own task as the engine's provider drives it, so that
/// its watches keep querying while the test looks elsewhere.
struct Running {
    items: tokio::sync::mpsc::UnboundedReceiver<Result<Update, String>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn start(config: &ConsulSdConfig) -> Running {
    let ctx = BuildContext {
        provider: "consul/0".into(),
        config_name: "job".into(),
        refresh_metrics: RefreshMetrics::default(),
    };
    let mut discoverer: Discoverer = config.build(&ctx).unwrap();
    let (tx, items) = tokio::sync::mpsc::unbounded_channel();
    let task = actix_rt::spawn(async move {
        while let Some(item) = discoverer.next().await {
            if tx.send(item.map_err(|e| e.to_string())).is_err() {
                return;
            }
        }
    });
    Running { items, task }
}

async fn next(d: &mut Running) -> Result<Update, String> {
    match tokio::time::timeout(DEADLINE, d.items.recv()).await {
        Ok(Some(item)) => item,
        Ok(None) => panic!("the discoverer ended"),
        Err(_) => panic!("no update within {DEADLINE:?}"),
    }
}

async fn next_ok(d: &mut Running) -> Update {
    next(d).await.unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_pairs(pairs.iter().map(|(n, v)| (*n, Str::from(*v))))
}

fn addresses(group: &TargetGroup) -> Vec<&str> {
    let mut out: Vec<&str> = group
        .targets
        .iter()
        .map(|t| t.get("__address__").unwrap())
        .collect();
    out.sort();
    out
}

/// Sources and sorted addresses of an update's groups.
fn summary(update: &Update) -> Vec<(String, Vec<&str>)> {
    update
        .groups()
        .iter()
        .map(|g| (g.source.to_string(), addresses(g)))
        .collect()
}

fn metrics_text() -> String {
    let mut registry = prometheus_client::registry::Registry::default();
    consul::register_metrics(&mut registry);
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    out
}

fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} not in\n{text}"))
        .parse()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tests

/// Every label Prometheus emits, for an instance with node metadata, service metadata, tagged
/// addresses, tags and checks, with the datacenter learnt from the agent.
#[actix_rt::test]
async fn labels_are_exactly_prometheus_labels() {
    let consul = Consul::start("fixture-dc");
    let mut web = Instance::new("web", "web-1", "10.1.0.1", 8080).tags(&["prod", "v1"]);
    web.node = "node1".into();
    web.node_meta.insert("rack_name".into(), "2304".into());
    web.node_meta.insert("az-name".into(), "a".into());
    web.tagged_addresses
        .insert("lan".into(), "192.168.10.10".into());
    web.tagged_addresses
        .insert("wan".into(), "10.0.10.10".into());
    web.meta.insert("version".into(), "1.0.0".into());
    web.checks.push(("service:web-1".into(), "warning".into()));
    let mut v6 = Instance::new("web", "web-2", "10.1.0.2", 9090);
    v6.address = "2001:db8::2".into();
    consul.register(web);
    consul.register(v6);

    let mut d = start(&config(&consul, ""));
    let full = next_ok(&mut d).await;
    let Update::Full(groups) = full else {
        panic!("{full:?}")
    };
    assert_eq!(groups.len(), 1);
    let group = &groups[0];
    assert_eq!(&*group.source, "web");
    assert_eq!(
        group.labels,
        labels(&[
            ("__meta_consul_dc", "fixture-dc"),
            ("__meta_consul_service", "web"),
        ])
    );
    assert_eq!(
        group.targets,
        [
            labels(&[
                ("__address__", "10.1.0.1:8080"),
                ("__meta_consul_address", "10.1.0.1"),
                ("__meta_consul_health", "warning"),
                ("__meta_consul_metadata_az_name", "a"),
                ("__meta_consul_metadata_rack_name", "2304"),
                ("__meta_consul_namespace", ""),
                ("__meta_consul_node", "node1"),
                ("__meta_consul_partition", ""),
                ("__meta_consul_service_address", ""),
                ("__meta_consul_service_id", "web-1"),
                ("__meta_consul_service_metadata_version", "1.0.0"),
                ("__meta_consul_service_port", "8080"),
                ("__meta_consul_tagged_address_lan", "192.168.10.10"),
                ("__meta_consul_tagged_address_wan", "10.0.10.10"),
                ("__meta_consul_tags", ",prod,v1,"),
            ]),
            labels(&[
                ("__address__", "[2001:db8::2]:9090"),
                ("__meta_consul_address", "10.1.0.2"),
                ("__meta_consul_health", "passing"),
                ("__meta_consul_namespace", ""),
                ("__meta_consul_node", "node-10.1.0.2"),
                ("__meta_consul_partition", ""),
                ("__meta_consul_service_address", "2001:db8::2"),
                ("__meta_consul_service_id", "web-2"),
                ("__meta_consul_service_port", "9090"),
                ("__meta_consul_tags", ",,"),
            ]),
        ]
    );
    assert_eq!(consul.seen_on("/v1/agent/self").len(), 1);
}

/// A configured datacenter is sent as `dc` and labels the groups; the agent is not asked.
/// `tag_separator` joins the tags.
#[actix_rt::test]
async fn configured_datacenter_and_tag_separator() {
    let consul = Consul::start("agent-dc");
    consul.register(Instance::new("web", "w1", "10.0.0.1", 80).tags(&["a", "b"]));
    let mut d = start(&config(&consul, "datacenter: dc9\ntag_separator: ';'"));
    let Update::Full(groups) = next_ok(&mut d).await else {
        panic!()
    };
    assert_eq!(groups[0].labels.get("__meta_consul_dc"), Some("dc9"));
    assert_eq!(
        groups[0].targets[0].get("__meta_consul_tags"),
        Some(";a;b;")
    );
    assert!(consul.seen_on("/v1/agent/self").is_empty());
    for seen in consul.seen() {
        assert_eq!(seen.param("dc"), Some("dc9"), "{seen:?}");
    }
}

/// Services appearing in the catalog are watched and sent; services leaving it are removed;
/// an instance change of one service sends that service alone.
#[actix_rt::test]
async fn services_added_changed_and_removed() {
    let consul = Consul::start("dc1");
    consul.register(Instance::new("web", "w1", "10.0.0.1", 80));
    consul.register(Instance::new("db", "d1", "10.0.0.2", 5432));
    let mut d = start(&config(&consul, ""));
    assert_eq!(
        summary(&next_ok(&mut d).await),
        [
            ("db".to_owned(), vec!["10.0.0.2:5432"]),
            ("web".to_owned(), vec!["10.0.0.1:80"])
        ]
    );

    consul.register(Instance::new("cache", "c1", "10.0.0.3", 6379));
    let update = next_ok(&mut d).await;
    assert!(!update.is_full());
    assert_eq!(
        summary(&update),
        [("cache".to_owned(), vec!["10.0.0.3:6379"])]
    );

    consul.register(Instance::new("web", "w2", "10.0.0.4", 80));
    let update = next_ok(&mut d).await;
    assert_eq!(
        summary(&update),
        [("web".to_owned(), vec!["10.0.0.1:80", "10.0.0.4:80"])]
    );

    // Whichever sees it first, the catalog or db's own watch, db's group goes away.
    consul.deregister("db", "d1");
    let update = next_ok(&mut d).await;
    assert!(!update.is_full());
    assert_eq!(summary(&update), [("db".to_owned(), vec![])]);
}

/// With `services`, only those are watched, directly on the health endpoint (no catalog), as
/// Prometheus does; a configured service that does not exist has no targets.
#[actix_rt::test]
async fn configured_services_are_watched_without_the_catalog() {
    let consul = Consul::start("dc1");
    consul.register(Instance::new("web", "w1", "10.0.0.1", 80));
    consul.register(Instance::new("db", "d1", "10.0.0.2", 5432));
    let mut d = start(&config(&consul, "services: [web, missing]"));
    assert_eq!(
        summary(&next_ok(&mut d).await),
        [("web".to_owned(), vec!["10.0.0.1:80"])]
    );
    assert!(consul.seen_on("/v1/catalog/services").is_empty());
    assert!(consul.seen_on("/v1/health/service/db").is_empty());
    assert!(!consul.seen_on("/v1/health/service/missing").is_empty());

    consul.register(Instance::new("missing", "m1", "10.0.0.9", 1));
    assert_eq!(
        summary(&next_ok(&mut d).await),
        [("missing".to_owned(), vec!["10.0.0.9:1"])]
    );
}

/// `tags`: only services carrying every tag are watched (decided on the catalog's tags), and
/// the health query asks for the tags, so instances without them are left out by Consul.
#[actix_rt::test]
async fn tag_filter() {
    let consul = Consul::start("dc1");
    consul.register(Instance::new("web", "w1", "10.0.0.1", 80).tags(&["prod", "http"]));
    consul.register(Instance::new("web", "w2", "10.0.0.2", 80).tags(&["canary"]));
    consul.register(Instance::new("db", "d1", "10.0.0.3", 5432).tags(&["http"]));
    let mut d = start(&config(&consul, "tags: [prod, http]"));
    assert_eq!(
        summary(&next_ok(&mut d).await),
        [("web".to_owned(), vec!["10.0.0.1:80"])]
    );
    assert!(consul.seen_on("/v1/health/service/db").is_empty());
    let web = consul.seen_on("/v1/health/service/web");
    assert_eq!(web[0].params("tag"), ["prod", "http"]);
    assert_eq!(consul.seen_on("/v1/catalog/services")[0].param("tag"), None);

    // db gains the tags: now it is watched.
    consul.register(Instance::new("db", "d1", "10.0.0.3", 5432).tags(&["http", "prod"]));
    let update = next_ok(&mut d).await;
    assert_eq!(summary(&update), [("db".to_owned(), vec!["10.0.0.3:5432"])]);
}

/// `node_meta` is sent as `node-meta=key:value` to both endpoints, which keep only matching
/// nodes; `filter` goes to the catalog and `health_filter` to the health endpoint only;
/// `allow_stale` (default) sends `stale`; the token goes in `X-Consul-Token` on every request.
#[actix_rt::test]
async fn query_parameters_and_token() {
    let consul = Consul::start("dc1");
    consul.register(Instance::new("web", "w1", "10.0.0.1", 80).node_meta("rack", "r1"));
    consul.register(Instance::new("web", "w2", "10.0.0.2", 80).node_meta("rack", "r2"));
    consul.register(Instance::new("db", "d1", "10.0.0.3", 5432).node_meta("rack", "r2"));
    let mut d = start(&config(
        &consul,
        "node_meta: {rack: r1}\ntoken: s3cr3t\nfilter: 'ServiceName != \"x\"'\nhealth_filter: 'Checks.Status == \"passing\"'\nnamespace: team-a\npartition: part-b",
    ));
    assert_eq!(
        summary(&next_ok(&mut d).await),
        [("web".to_owned(), vec!["10.0.0.1:80"])]
    );
    let catalog = &consul.seen_on("/v1/catalog/services")[0];
    assert_eq!(catalog.params("node-meta"), ["rack:r1"]);
    assert_eq!(catalog.param("filter"), Some(r#"ServiceName != "x""#));
    assert_eq!(catalog.param("stale"), Some(""));
    assert_eq!(catalog.param("wait"), Some("120000ms"));
    assert_eq!(catalog.param("index"), None);
    let health = &consul.seen_on("/v1/health/service/web")[0];
    assert_eq!(health.params("node-meta"), ["rack:r1"]);
    assert_eq!(
        health.param("filter"),
        Some(r#"Checks.Status == "passing""#)
    );
    assert_eq!(health.param("stale"), Some(""));
    for seen in consul.seen() {
        assert_eq!(seen.token.as_deref(), Some("s3cr3t"), "{seen:?}");
        assert_eq!(seen.param("ns"), Some("team-a"), "{seen:?}");
        assert_eq!(seen.param("partition"), Some("part-b"), "{seen:?}");
    }

    // Later queries block on the last index.
    consul
        .wait_for_requests("a blocking catalog query", |seen| {
            seen.iter()
                .any(|s| s.path == "/v1/catalog/services" && s.param("index").is_some())
        })
        .await;

    // Without `allow_stale` (and without a token): no `stale`, no token header.
    drop(d);
    let stale_off = config(&consul, "allow_stale: false\nservices: [web]");
    let mut d = start(&stale_off);
    next_ok(&mut d).await;
    let tokenless: Vec<Seen> = consul
        .seen_on("/v1/health/service/web")
        .into_iter()
        .filter(|s| s.token.is_none())
        .collect();
    assert!(!tokenless.is_empty());
    for seen in tokenless {
        assert_eq!(seen.param("stale"), None, "{seen:?}");
    }
}

/// The deprecated `username`/`password` become basic auth; `authorization` reads its
/// credentials file at each request, so a rotated token is used without a restart.
#[actix_rt::test]
async fn http_client_authentication() {
    let consul = Consul::start("dc1");
    consul.register(Instance::new("web", "w1", "10.0.0.1", 80));
    let mut d = start(&config(
        &consul,
        "services: [web]\nusername: u\npassword: p",
    ));
    next_ok(&mut d).await;
    // base64("u:p")
    assert_eq!(
        consul.seen_on("/v1/health/service/web")[0]
            .authorization
            .as_deref(),
        Some("Basic dTpw")
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "first\n").unwrap();
    let c = config(
        &consul,
        &format!(
            "services: [db]\nauthorization: {{type: Token, credentials_file: '{}'}}",
            file.display()
        ),
    );
    let mut d = start(&c);
    next_ok(&mut d).await;
    let seen = consul.seen_on("/v1/health/service/db");
    assert_eq!(seen[0].authorization.as_deref(), Some("Token first"));
    std::fs::write(&file, "second\n").unwrap();
    // The change answers the query blocked with the old token; the queries after it carry the
    // new one.
    consul.register(Instance::new("db", "d1", "10.0.0.2", 5432));
    next_ok(&mut d).await;
    consul
        .wait_for_requests("a query with the rotated token", |seen| {
            seen.iter().any(|s| {
                s.path == "/v1/health/service/db"
                    && s.authorization.as_deref() == Some("Token second")
            })
        })
        .await;
}

/// A query whose `wait` runs out with the same index sends nothing, and the watch goes on
/// asking with that index until a change comes.
#[actix_rt::test]
async fn wait_running_out_sends_nothing_and_watching_goes_on() {
    let consul = Consul::start("dc1");
    consul.register(Instance::new("web", "w1", "10.0.0.1", 80));
    let mut c = config(&consul, "services: [web]");
    c.watch_timeout = Duration::from_millis(50);
    let mut d = start(&c);
    next_ok(&mut d).await;
    let index = consul.state.lock().unwrap().index.to_string();
    consul
        .wait_for_requests("three queries with the same index", |seen| {
            seen.iter()
                .filter(|s| s.param("index") == Some(&index))
                .count()
                >= 3
        })
        .await;
    assert_eq!(
        consul.seen_on("/v1/health/service/web")[1].param("wait"),
        Some("50ms")
    );
    consul.register(Instance::new("web", "w2", "10.0.0.2", 80));
    let update = next_ok(&mut d).await;
    assert!(!update.is_full());
    assert_eq!(
        summary(&update),
        [("web".to_owned(), vec!["10.0.0.1:80", "10.0.0.2:80"])]
    );
}

/// After a snapshot restore the index goes backwards: the new data is sent, the next query
/// starts over without an index, and later changes (at indexes below the old one) are seen.
#[actix_rt::test]
async fn index_going_backwards_resets_the_watch() {
    let consul = Consul::start("dc1");
    consul.register(Instance::new("web", "w1", "10.0.0.1", 80));
    let mut d = start(&config(&consul, "services: [web]"));
    next_ok(&mut d).await;

    consul.advance_index_to(100);
    consul.register(Instance::new("web", "w2", "10.0.0.2", 80));
    assert_eq!(
        summary(&next_ok(&mut d).await),
        [("web".to_owned(), vec!["10.0.0.1:80", "10.0.0.2:80"])]
    );
    consul
        .wait_for_requests("a query blocking on index 101", |seen| {
            seen.iter().any(|s| s.param("index") == Some("101"))
        })
        .await;

    consul.restore(5, vec![Instance::new("web", "w9", "10.0.0.9", 80)]);
    assert_eq!(
        summary(&next_ok(&mut d).await),
        [("web".to_owned(), vec!["10.0.0.9:80"])]
    );
    consul.register(Instance::new("web", "w10", "10.0.0.10", 80));
    assert_eq!(
        summary(&next_ok(&mut d).await),
        [("web".to_owned(), vec!["10.0.0.10:80", "10.0.0.9:80"])]
    );
    consul.register(Instance::new("web", "w11", "10.0.0.11", 80));
    assert_eq!(
        summary(&next_ok(&mut d).await),
        [(
            "web".to_owned(),
            vec!["10.0.0.10:80", "10.0.0.11:80", "10.0.0.9:80"]
        )]
    );
    // The query after the one that went backwards asked without an index.
    let indexes: Vec<Option<String>> = consul
        .seen_on("/v1/health/service/web")
        .iter()
        .map(|s| s.param("index").map(str::to_owned))
        .collect();
    let old = indexes
        .iter()
        .position(|i| i.as_deref() == Some("101"))
        .unwrap();
    assert_eq!(indexes[old + 1], None, "{indexes:?}");
}

/// A 500 from the health endpoint is an error item and is counted; the last good state stands
/// (nothing is removed) and the watch recovers with the change it missed.
#[actix_rt::test]
async fn server_errors_keep_last_state_are_counted_and_recover() {
    let consul = Consul::start("dc1");
    consul.register(Instance::new("web", "w1", "10.0.0.1", 80));
    let mut d = start(&config(&consul, ""));
    next_ok(&mut d).await;
    let before = metrics_text();

    consul.fail_next("/v1/health/service/web", 2);
    consul.register(Instance::new("web", "w2", "10.0.0.2", 80));
    for _ in 0..2 {
        let err = next(&mut d).await.unwrap_err();
        assert_eq!(
            err,
            "error refreshing service \"web\": Unexpected response code: 500 (injected failure)"
        );
    }
    assert_eq!(
        summary(&next_ok(&mut d).await),
        [("web".to_owned(), vec!["10.0.0.1:80", "10.0.0.2:80"])]
    );
    let after = metrics_text();
    let failures = "prometheus_sd_consul_rpc_failures_total";
    assert!(metric(&after, failures) >= metric(&before, failures) + 2);
    let calls =
        "prometheus_sd_consul_rpc_duration_seconds_count{endpoint=\"catalog\",call=\"service\"}";
    assert!(metric(&after, calls) >= metric(&before, calls) + 3);
    let catalog_calls =
        "prometheus_sd_consul_rpc_duration_seconds_count{endpoint=\"catalog\",call=\"services\"}";
    assert!(metric(&after, catalog_calls) >= 1);
}

/// A failing catalog (and agent) delays the first state; errors come out as items meanwhile.
#[actix_rt::test]
async fn first_state_waits_for_a_catalog_that_fails() {
    let consul = Consul::start("dc1");
    consul.register(Instance::new("web", "w1", "10.0.0.1", 80));
    consul.fail_next("/v1/agent/self", 1);
    consul.fail_next("/v1/catalog/services", 1);
    let mut d = start(&config(&consul, ""));
    assert_eq!(
        next(&mut d).await.unwrap_err(),
        "error retrieving datacenter name: Unexpected response code: 500 (injected failure)"
    );
    assert_eq!(
        next(&mut d).await.unwrap_err(),
        "error refreshing service list: Unexpected response code: 500 (injected failure)"
    );
    let full = next_ok(&mut d).await;
    assert!(full.is_full());
    assert_eq!(summary(&full), [("web".to_owned(), vec!["10.0.0.1:80"])]);
}

/// An empty catalog is a full state without groups (Prometheus sends an empty group).
#[actix_rt::test]
async fn empty_catalog_is_an_empty_full_state() {
    let consul = Consul::start("dc1");
    let mut d = start(&config(&consul, "tags: [missing]"));
    assert_eq!(next_ok(&mut d).await, Update::Full(vec![]));
}

/// A server that is down: errors, not a hang; a server that comes up later is read.
#[actix_rt::test]
async fn an_unreachable_server_is_an_error_and_read_once_it_comes_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let c: ConsulSdConfig =
        serde_yaml::from_str(&format!("server: {address}\nrefresh_interval: 10ms")).unwrap();
    let mut d = start(&c);
    let err = next(&mut d).await.unwrap_err();
    assert!(
        err.starts_with(&format!(
            "error retrieving datacenter name: error sending request for url (http://{address}/v1/agent/self)"
        )),
        "{err}"
    );

    let consul = Consul::start_at("dc1", address);
    consul.register(Instance::new("web", "w1", "10.0.0.1", 80));
    // Errors until the discoverer's next attempt reaches the server.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let update = loop {
        match next(&mut d).await {
            Ok(update) => break update,
            Err(err) if tokio::time::Instant::now() < deadline => {
                assert!(err.starts_with("error retrieving datacenter name"), "{err}")
            }
            Err(err) => panic!("the server that came up was never read: {err}"),
        }
    };
    assert!(update.is_full());
    assert_eq!(summary(&update), [("web".to_owned(), vec!["10.0.0.1:80"])]);
}

/// Through the engine: a YAML snippet as written in prometheus.yml, a manager, a subscriber.
#[actix_rt::test]
async fn engine_delivers_consul_targets_and_their_changes() {
    let consul = Consul::start("dc1");
    consul.register(Instance::new("web", "w1", "10.0.0.1", 80).tags(&["prod"]));
    consul.register(Instance::new("db", "d1", "10.0.0.2", 5432));
    let yaml = format!(
        "server: '{}'\ntags: [prod]\nrefresh_interval: 10ms\ntoken: engine-token\n",
        consul.server
    );
    let config: ConsulSdConfig = serde_yaml::from_str(&yaml).unwrap();
    let config: Arc<dyn DiscoveryConfig> = Arc::new(config);

    let OneJob {
        manager: _manager,
        subscriber: _subscriber,
        subscription: _subscription,
        recording,
        ..
    } = start_one_job("consul-job", vec![config], Duration::from_millis(10)).await;
    let has = |want: &'static [&'static str]| job_addresses_are("consul-job", want);
    let messages = recording
        .wait_for(DEADLINE, has(&["10.0.0.1:80"]))
        .await
        .unwrap();
    let job = messages.last().unwrap().snapshot.job("consul-job").unwrap();
    let (_, group) = job.groups().next().unwrap();
    assert_eq!(group.labels.get("__meta_consul_service"), Some("web"));
    assert_eq!(group.labels.get("__meta_consul_dc"), Some("dc1"));
    assert_eq!(group.targets[0].get("__meta_consul_tags"), Some(",prod,"));

    consul.register(Instance::new("web", "w2", "10.0.0.3", 80).tags(&["prod"]));
    recording
        .wait_for(DEADLINE, has(&["10.0.0.1:80", "10.0.0.3:80"]))
        .await
        .unwrap();
    consul.deregister("web", "w1");
    consul.deregister("web", "w2");
    recording.wait_for(DEADLINE, has(&[])).await.unwrap();
    assert!(consul
        .seen()
        .iter()
        .all(|s| s.token.as_deref() == Some("engine-token")));
}

/// A body over the kit's limit (100 MiB) is an error, read no further: here a server that
/// announces 200 MiB. Consul has no size setting in Prometheus, so the default limit holds.
#[actix_rt::test]
async fn a_body_over_the_limit_is_an_error() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Consul-Index: 1\r\n\
                  Content-Length: 209715200\r\n\r\n{\"web\": [",
            );
        }
    });
    let c: ConsulSdConfig = serde_yaml::from_str(&format!(
        "server: {address}\ndatacenter: dc1\nrefresh_interval: 10ms"
    ))
    .unwrap();
    let mut d = start(&c);
    let err = next(&mut d).await.unwrap_err();
    assert!(
        err.starts_with("error refreshing service list: response body from http://")
            && err.ends_with("exceeds the limit of 104857600 bytes"),
        "{err}"
    );
}
