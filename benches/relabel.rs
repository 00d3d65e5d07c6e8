//! Relabeling cost at scale: 1M Kubernetes-like targets (16 `__meta_kubernetes_*` labels each)
//! through a 10-rule chain typical of a Kubernetes pods job (keep, replace, labelmap, hashmod,
//! labeldrop). The target is under 1 CPU-second per 1M targets.
//!
//! Run with `cargo bench --bench relabel`. Each iteration processes 1M targets (50k distinct
//! label sets, cycled) on one thread, and the time reported is that thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`), so the figure is CPU-seconds per 1M targets even on a busy
//! machine. Each loop asks for the next targets' memory ahead (`prefetch_ahead`), as the
//! library's loops over a group's targets do.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promsd::relabel::{
    prefetch_ahead, process, LabelBuilder, Populator, RelabelConfig, ScrapeParams,
};
use promsd_actors::model::LabelSet;

/// The daemon's allocator (see `src/main.rs`), so that the figure is what `promsd run` spends.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const TARGETS: usize = 1_000_000;
const DISTINCT: usize = 50_000;

const CHAIN: &str = r#"
- source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
  regex: "true"
  action: keep
- source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
  regex: (.+)
  target_label: __metrics_path__
- source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
  regex: ([^:]+)(?::\d+)?;(\d+)
  replacement: $1:$2
  target_label: __address__
- regex: __meta_kubernetes_pod_label_(.+)
  action: labelmap
- source_labels: [__meta_kubernetes_namespace]
  target_label: namespace
- source_labels: [__meta_kubernetes_pod_name]
  target_label: pod
- source_labels: [__meta_kubernetes_pod_container_name]
  target_label: container
- source_labels: [__address__]
  modulus: 4
  target_label: __tmp_hash
  action: hashmod
- source_labels: [__tmp_hash]
  regex: "[0-3]"
  action: keep
- regex: __tmp_hash|pod_template_hash
  action: labeldrop
"#;

fn target(i: usize) -> LabelSet {
    let ns = format!("namespace-{}", i % 50);
    let app = format!("app-{}", i % 500);
    let pod = format!("{app}-{:08x}", i.wrapping_mul(2654435761));
    LabelSet::from_pairs([
        (
            "__address__",
            format!("10.{}.{}.{}:8080", i >> 16 & 255, i >> 8 & 255, i & 255),
        ),
        ("__meta_kubernetes_namespace", ns),
        ("__meta_kubernetes_pod_name", pod.clone()),
        ("__meta_kubernetes_pod_uid", format!("uid-{i:032x}")),
        (
            "__meta_kubernetes_pod_ip",
            format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255),
        ),
        (
            "__meta_kubernetes_pod_node_name",
            format!("node-{}", i % 300),
        ),
        (
            "__meta_kubernetes_pod_host_ip",
            format!("192.168.{}.{}", i / 256 % 256, i % 256),
        ),
        ("__meta_kubernetes_pod_phase", "Running".to_owned()),
        ("__meta_kubernetes_pod_ready", "true".to_owned()),
        ("__meta_kubernetes_pod_container_name", "main".to_owned()),
        (
            "__meta_kubernetes_pod_container_port_number",
            "8080".to_owned(),
        ),
        ("__meta_kubernetes_pod_label_app", app),
        (
            "__meta_kubernetes_pod_label_pod_template_hash",
            format!("{:x}", i % 977),
        ),
        ("__meta_kubernetes_pod_labelpresent_app", "true".to_owned()),
        (
            "__meta_kubernetes_pod_annotation_prometheus_io_scrape",
            "true".to_owned(),
        ),
        (
            "__meta_kubernetes_pod_annotation_prometheus_io_port",
            "9102".to_owned(),
        ),
        (
            "__meta_kubernetes_pod_annotation_prometheus_io_path",
            "/metrics".to_owned(),
        ),
    ])
}

/// [`target`] with 0–3 of four extra pod labels, varying from target to target.
fn mixed_target(i: usize) -> LabelSet {
    const EXTRA: [&str; 4] = [
        "__meta_kubernetes_pod_label_tier",
        "__meta_kubernetes_pod_label_version",
        "__meta_kubernetes_pod_label_team",
        "__meta_kubernetes_pod_labelpresent_tier",
    ];
    let base = target(i);
    let extra = (i % 7) % 4;
    LabelSet::from_pairs(
        base.iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .chain(
                EXTRA[..extra]
                    .iter()
                    .map(|n| (n.to_string(), format!("v{}", i % 3))),
            ),
    )
}

/// CPU time of the measuring thread.
struct ThreadCpuTime(WallTime);

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass and reads nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu_time()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_time() - start
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.0.formatter()
    }
}

fn bench(c: &mut Criterion<ThreadCpuTime>) {
    let rules: Vec<RelabelConfig> = serde_yaml::from_str(CHAIN).expect("chain parses");
    assert_eq!(rules.len(), 10);
    let targets: Vec<LabelSet> = (0..DISTINCT).map(target).collect();
    let mut params = ScrapeParams::new("kubernetes-pods");
    params.relabel_configs = rules.clone();
    let populator = Populator::new(&params);

    // Sanity: the chain keeps the targets and does what a Kubernetes job expects.
    let sample = populator.populate(&targets[7], &LabelSet::new(), &mut LabelBuilder::new());
    let out = sample.result.expect("kept");
    assert_eq!(out.get("__address__"), Some("10.0.0.7:9102"));
    assert_eq!(out.get("app"), Some("app-7"));
    assert_eq!(out.get("namespace"), Some("namespace-7"));
    assert!(out.get("__tmp_hash").is_none() && out.get("pod_template_hash").is_none());

    let mut group = c.benchmark_group("relabel");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(TARGETS as u64));

    // The floor under the figures below: each target's labels copied into the builder and
    // out as a new label set, no rule applied.
    group.bench_function("copy_1M_targets_no_rules", |b| {
        let mut lb = LabelBuilder::new();
        b.iter(|| {
            let mut kept = 0usize;
            for i in 0..TARGETS {
                prefetch_ahead(&targets, i % DISTINCT);
                lb.reset(&targets[i % DISTINCT]);
                kept += black_box(lb.take_label_set()).len();
            }
            kept
        })
    });
    group.bench_function("process_1M_targets_10_rules", |b| {
        let mut lb = LabelBuilder::new();
        b.iter(|| {
            let mut kept = 0usize;
            for i in 0..TARGETS {
                prefetch_ahead(&targets, i % DISTINCT);
                lb.reset(&targets[i % DISTINCT]);
                if process(&rules, &mut lb).is_ok() {
                    kept += black_box(lb.take_label_set()).len();
                }
            }
            kept
        })
    });

    // Targets whose label names change from one to the next (0–3 extra pod labels, in an order
    // that repeats only every 7 targets): what a job of mixed deployments looks like, and the
    // worst case for the builder's memory of the previous target's names.
    let mixed: Vec<LabelSet> = (0..DISTINCT).map(mixed_target).collect();
    group.bench_function("process_1M_mixed_targets_10_rules", |b| {
        let mut lb = LabelBuilder::new();
        b.iter(|| {
            let mut kept = 0usize;
            for i in 0..TARGETS {
                prefetch_ahead(&mixed, i % DISTINCT);
                lb.reset(&mixed[i % DISTINCT]);
                if process(&rules, &mut lb).is_ok() {
                    kept += black_box(lb.take_label_set()).len();
                }
            }
            kept
        })
    });

    group.bench_function("populate_1M_targets_10_rules", |b| {
        let mut lb = LabelBuilder::new();
        let group_labels = LabelSet::new();
        b.iter(|| {
            let mut kept = 0usize;
            for i in 0..TARGETS {
                prefetch_ahead(&targets, i % DISTINCT);
                let t = populator.populate(&targets[i % DISTINCT], &group_labels, &mut lb);
                kept += usize::from(black_box(t).result.is_ok());
            }
            kept
        })
    });
    group.bench_function("scrape_labels_1M_targets_10_rules", |b| {
        let mut lb = LabelBuilder::new();
        let group_labels = LabelSet::new();
        b.iter(|| {
            let mut kept = 0usize;
            for i in 0..TARGETS {
                prefetch_ahead(&targets, i % DISTINCT);
                let labels =
                    populator.scrape_labels(&targets[i % DISTINCT], &group_labels, &mut lb);
                kept += usize::from(black_box(labels).is_ok());
            }
            kept
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime(WallTime));
    targets = bench
}
criterion_main!(benches);
