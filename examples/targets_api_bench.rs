//! Release-mode harness for the targets API: how long one request takes at 100k targets
//! (or `--targets N`), over a real HTTP connection to a real server on 127.0.0.1, against a view
//! published by the real engine and pipeline.
//!
//! Run: `cargo run --release --example targets_api_bench -- [--targets 100000] [--requests 200]`
//!
//! The targets: 4 jobs (70%, 25%, 4%, 1% of the total) in groups of 100 targets, each target
//! with 8 `__meta_*` labels; 5% are dropped. Relabeling is a stand-in closure (the relabel room's
//! rules are not needed to measure listing): it adds `instance` and `env`, drops `__meta_*`.
//! Each case prints the latency of a request (median, p99, max over `--requests` requests), the
//! CPU time per request of the whole process (server and client; unaffected by other load on the
//! machine, to 10 ms / requests resolution) and the size of its body.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::{web, App, HttpServer};
use prometheus_client::registry::Registry;
use promsd::discovery::static_sd::StaticConfig;
use promsd::server::pipeline::SetJobs;
use promsd::server::{
    AppState, ConfigSlot, JobPipeline, Reload, SharedView, TargetOutcome, TargetsPipeline,
};
use promsd_actors::{
    ApplyConfig, DiscoveryConfig, LabelSet, ManagerActor, ManagerOptions, Name, Str, Subscribe,
    TargetGroup,
};

struct NoReload;

impl Actor for NoReload {
    type Context = Context<Self>;
}

impl Handler<Reload> for NoReload {
    type Result = Result<(), String>;

    fn handle(&mut self, _: Reload, _: &mut Self::Context) -> Self::Result {
        Err("no reloads in a benchmark".into())
    }
}

fn groups(job: &str, targets: usize) -> Vec<TargetGroup> {
    let per_group = 100;
    (0..targets.div_ceil(per_group))
        .map(|g| {
            let members = (0..per_group.min(targets - g * per_group))
                .map(|t| {
                    let n = g * per_group + t;
                    LabelSet::from_pairs([
                        (
                            "__address__",
                            format!("10.{}.{}.{}:9100", n >> 16, (n >> 8) & 255, n & 255),
                        ),
                        ("__meta_kubernetes_namespace", format!("ns-{}", g % 20)),
                        (
                            "__meta_kubernetes_pod_name",
                            format!("{job}-{n}-7d9f8c6b5-x2x9q"),
                        ),
                        (
                            "__meta_kubernetes_pod_ip",
                            format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255),
                        ),
                        (
                            "__meta_kubernetes_pod_node_name",
                            format!("node-{}", n % 500),
                        ),
                        ("__meta_kubernetes_pod_label_app", job.to_owned()),
                        (
                            "__meta_kubernetes_pod_label_team",
                            format!("team-{}", n % 13),
                        ),
                        ("__meta_kubernetes_pod_ready", "true".to_owned()),
                        (
                            "__meta_drop",
                            if n % 20 == 0 { "true" } else { "false" }.to_owned(),
                        ),
                    ])
                })
                .collect();
            TargetGroup::new(
                String::new(),
                members,
                LabelSet::from_pairs([("__meta_env", "prod")]),
            )
        })
        .collect()
}

/// A target's labels before relabeling: its own, its group's and the job's defaults.
fn discovered(job: &str, group: &TargetGroup, target: &LabelSet) -> LabelSet {
    let mut discovered: Vec<(Name, Str)> = group.labels.pairs().to_vec();
    discovered.extend(target.pairs().iter().cloned());
    discovered.extend([
        ("job".into(), job.into()),
        ("__scheme__".into(), "http".into()),
        ("__metrics_path__".into(), "/metrics".into()),
    ]);
    LabelSet::from_pairs(discovered.iter().map(|(n, v)| (&**n, v.clone())))
}

fn populate(job: &str, group: &TargetGroup) -> Vec<TargetOutcome> {
    group
        .targets
        .iter()
        .map(|target| {
            let discovered = discovered(job, group, target);
            if discovered.get("__meta_drop") == Some("true") {
                return TargetOutcome::Dropped {
                    because: "dropped by relabel rule 1 (action drop)".into(),
                };
            }
            let address = discovered.get("__address__").unwrap_or("").to_owned();
            let mut labels: Vec<(&str, Str)> = discovered
                .pairs()
                .iter()
                .filter(|(n, _)| !n.starts_with("__meta_"))
                .map(|(n, v)| (&**n, v.clone()))
                .collect();
            labels.push(("instance", address.into()));
            labels.push(("env", "prod".into()));
            let labels = LabelSet::from_pairs(labels);
            TargetOutcome::Kept {
                identity: promsd::shard::target_identity(job, &labels),
                labels,
            }
        })
        .collect()
}

/// CPU time this process (server and client) has used, in seconds: unlike wall time, it does
/// not grow when other processes compete for the cores.
fn cpu_seconds() -> f64 {
    let stat = procfs::process::Process::myself().unwrap().stat().unwrap();
    (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

fn main() {
    let total = arg("--targets", 100_000);
    let requests = arg("--requests", 200);
    actix_rt::System::new().block_on(async move {
        let jobs: Vec<(&str, usize)> = vec![
            ("node", total * 70 / 100),
            ("kubernetes-pods", total * 25 / 100),
            ("api", total * 4 / 100),
            ("blackbox", total - total * 99 / 100),
        ];
        let manager = ManagerActor::new(ManagerOptions::default()).start();
        let view = SharedView::default();
        let pipeline_arbiter = Arbiter::new();
        let pipeline_view = view.clone();
        let pipeline = TargetsPipeline::start_in_arbiter(&pipeline_arbiter.handle(), move |_| {
            TargetsPipeline::new(pipeline_view, None)
        });
        let settings: HashMap<Str, JobPipeline> = jobs
            .iter()
            .map(|(job, _)| {
                let name = (*job).to_owned();
                let settings = JobPipeline {
                    populate: Arc::new({
                        let name = name.clone();
                        move |g: &TargetGroup| populate(&name, g)
                    }),
                    discover: Arc::new(move |g: &TargetGroup, i: usize| {
                        discovered(&name, g, &g.targets[i])
                    }),
                    fingerprint: "bench".into(),
                };
                (Str::from(*job), settings)
            })
            .collect();
        pipeline.send(SetJobs(settings)).await.unwrap();
        let _subscription1 = manager
            .send(Subscribe(pipeline.clone().recipient()))
            .await
            .unwrap();
        let configs: BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>> = jobs
            .iter()
            .map(|(job, n)| {
                let config: Arc<dyn DiscoveryConfig> = Arc::new(StaticConfig::new(groups(job, *n)));
                ((*job).to_owned(), vec![config])
            })
            .collect();
        let started = Instant::now();
        manager.send(ApplyConfig { jobs: configs }).await.unwrap();
        loop {
            let latest = view.latest();
            let listed: usize = latest
                .jobs
                .values()
                .map(|j| j.results.kept + j.results.dropped)
                .sum();
            if listed == total && latest.jobs.len() == jobs.len() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "pipeline never caught up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        println!(
            "{total} targets in the view after {:.2?}",
            started.elapsed()
        );

        let state = web::Data::new(AppState {
            view: view.clone(),
            registry: Arc::new(Registry::default()),
            reload: NoReload.start().recipient(),
            ready_deadline: Instant::now(),
            discovery: manager.clone().recipient(),
            notify_discovery: manager.clone().recipient(),
            alertmanagers: Default::default(),
            config: ConfigSlot::default(),
            enable_lifecycle: false,
            enable_admin_api: false,
            snapshot: manager.clone().recipient(),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(promsd::server::routes)
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let address = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);

        let client = reqwest::Client::new();
        let enc =
            |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
        let deep = total - total / 1000;
        // `{i}` in a query is replaced by the request's number: a new filter each time, so the
        // matches are never reused (the cold cost); without it, pages after the first reuse them.
        let regex = enc(r#"{__meta_kubernetes_pod_node_name=~"node-4..", nonce!="{i}"}"#);
        let equality =
            enc(r#"{job="node", __meta_kubernetes_pod_label_team="team-3", nonce!="{i}"}"#);
        let cases: Vec<(String, String, usize)> = vec![
            ("first page of 100".into(), "limit=100".into(), requests),
            (
                format!("page of 100 at offset {deep}"),
                format!("limit=100&offset={deep}"),
                requests,
            ),
            (
                "page of 100, one job, state=dropped".into(),
                "scrapePool=node&state=dropped&limit=100&offset=1000".into(),
                requests,
            ),
            (
                "match[] regex, new filter each time (all targets tested)".into(),
                format!("limit=100&match[]={regex}"),
                requests,
            ),
            (
                "match[] regex, same filter, next pages (matches reused)".into(),
                format!(
                    "limit=100&offset=200&match[]={}",
                    enc(r#"{__meta_kubernetes_pod_node_name=~"node-4.."}"#)
                ),
                requests,
            ),
            (
                "match[] equality, new filter each time (all targets tested)".into(),
                format!("limit=100&match[]={equality}"),
                requests,
            ),
            (
                "search, new text each time (every value scanned)".into(),
                "limit=100&search=-4242-{i}".into(),
                requests,
            ),
            (
                "search, same text again (matches reused)".into(),
                "limit=100&search=-4242-".into(),
                requests,
            ),
            (
                "everything, unpaged (Prometheus' shape)".into(),
                String::new(),
                5,
            ),
        ];
        println!(
            "{:<62} {:>9} {:>9} {:>9} {:>9} {:>12}",
            "case", "median", "p99", "max", "CPU/req", "body bytes"
        );
        for (name, query, n) in cases {
            let mut times = Vec::with_capacity(n);
            let mut size = 0;
            let cpu_before = cpu_seconds();
            for i in 0..n {
                let query = query
                    .replace(&enc("{i}"), &i.to_string())
                    .replace("{i}", &i.to_string());
                let url = format!("http://{address}/api/v1/targets?{query}");
                let t = Instant::now();
                let response = client.get(&url).send().await.unwrap();
                assert!(
                    response.status().is_success(),
                    "{url}: {}",
                    response.status()
                );
                size = response.bytes().await.unwrap().len();
                times.push(t.elapsed());
            }
            let cpu = Duration::from_secs_f64((cpu_seconds() - cpu_before) / n as f64);
            times.sort();
            let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
            println!(
                "{name:<62} {:>9.2?} {:>9.2?} {:>9.2?} {cpu:>9.2?} {size:>12}",
                pct(0.5),
                pct(0.99),
                times[times.len() - 1]
            );
        }
        let url = format!("http://{address}/api/v1/status/sd");
        let t = Instant::now();
        for _ in 0..requests {
            client
                .get(&url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
        }
        println!(
            "{:<66} {:>9.2?} (mean)",
            "status/sd",
            t.elapsed() / requests as u32
        );
        handle.stop(false).await;
        pipeline_arbiter.stop();
    });
}
