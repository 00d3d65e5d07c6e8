//! Release-mode harness for Kubernetes SD (role pod) against the fixture API server of the
//! tests: 10,000 pods of 3 containers each.
//!
//! Measures (1) the time from starting the discoverer to its first full state (list of 20 pages
//! of 500 over HTTP, decode, groups built), and the CPU time the SD's thread spent on it (which,
//! unlike the wall time, does not depend on what else the machine runs), (2) the heap the SD keeps per pod once that state
//! was handed over and dropped, and (3) the latency of a pod update, from the fixture's write to
//! the changed group coming out of the discoverer, over 200 updates.
//!
//! The heap figure comes from a counting global allocator: the live heap after the full state
//! was delivered and dropped, minus the live heap before the discoverer started (the fixture's
//! 10k pods are already in memory then). It is everything the SD holds: the watch's store (the
//! compact objects and their hash table), its deduplicated values, the event broadcast buffer,
//! the discoverer's state, kube's client and the open watch connection with its buffers. It
//! counts bytes as requested (`Layout::size`); glibc's own per-allocation overhead is shown
//! apart (`malloc_usable_size`), with the number of allocations kept. As a check, the heap that
//! dropping the discoverer frees at the end is printed too: the SD's own heap alone, whatever
//! the fixture allocated meanwhile (it keeps every update in its history).
//!
//! Run: `cargo run --release --example kubernetes_bench [pods]`

#[path = "../tests/support/kube_fixture.rs"]
mod kube_fixture;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use promsd::discovery::kubernetes::KubernetesSdConfig;
use promsd_actors::{BuildContext, DiscoveryConfig, RefreshMetrics, Update};
use serde_json::{json, Value};

struct Counting;

/// Live bytes as requested.
static HEAP: AtomicIsize = AtomicIsize::new(0);
/// Live bytes as glibc's malloc holds them: usable size plus its 8-byte chunk header.
static MALLOC: AtomicIsize = AtomicIsize::new(0);
/// Live allocations.
static COUNT: AtomicIsize = AtomicIsize::new(0);

fn held(ptr: *mut u8) -> isize {
    if ptr.is_null() {
        return 0;
    }
    (unsafe { libc::malloc_usable_size(ptr.cast()) } + 8) as isize
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        HEAP.fetch_add(layout.size() as isize, Ordering::Relaxed);
        MALLOC.fetch_add(held(ptr), Ordering::Relaxed);
        COUNT.fetch_add(1, Ordering::Relaxed);
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HEAP.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        MALLOC.fetch_sub(held(ptr), Ordering::Relaxed);
        COUNT.fetch_sub(1, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = held(ptr);
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            HEAP.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
            MALLOC.fetch_add(held(new) - old, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Live heap: (bytes requested, bytes glibc holds, allocations).
fn heap() -> (isize, isize, isize) {
    (
        HEAP.load(Ordering::Relaxed),
        MALLOC.load(Ordering::Relaxed),
        COUNT.load(Ordering::Relaxed),
    )
}

fn minus(a: (isize, isize, isize), b: (isize, isize, isize)) -> (isize, isize, isize) {
    (a.0 - b.0, a.1 - b.1, a.2 - b.2)
}

/// CPU time the Kubernetes SD's thread (`promsd-kubernetes`, where every watch and role runs)
/// has used, from `/proc/self/task/<tid>/schedstat`.
fn sd_thread_cpu() -> Duration {
    for task in std::fs::read_dir("/proc/self/task").expect("reading /proc/self/task") {
        let dir = task.expect("reading /proc/self/task").path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        // The kernel keeps the first 15 bytes of a thread's name.
        if comm.trim_end() == "promsd-kubernet" {
            let stat = std::fs::read_to_string(dir.join("schedstat")).expect("reading schedstat");
            let ns: u64 = stat.split_whitespace().next().unwrap().parse().unwrap();
            return Duration::from_nanos(ns);
        }
    }
    panic!("no promsd-kubernetes thread");
}

/// A pod as a real cluster shows it: 3 containers with a port each, container IDs, labels,
/// annotations, owner, managed fields (skipped by the decoder).
fn pod(i: usize, generation: usize) -> Value {
    let ns = format!("ns-{}", i % 20);
    let name = format!("app-{}-{:05}-x7k2p", i % 50, i);
    let container = |c: usize, port: u16| {
        json!({"name": format!("c{c}"), "image": format!("registry.example.com/team/app-{}:v1.{c}", i % 50),
               "ports": [{"name": "metrics", "containerPort": port, "protocol": "TCP"}],
               "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}}})
    };
    let status = |c: usize| {
        json!({"name": format!("c{c}"), "ready": true, "restartCount": 0,
               "containerID": format!("containerd://{:064x}", i * 3 + c + generation * 1_000_000)})
    };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": ns, "uid": format!("6b1d2c9e-{i:04}-4c1f-9e7a-{generation:012}"),
            "labels": {"app": format!("app-{}", i % 50), "pod-template-hash": "7d9f8c6b5",
                       "app.kubernetes.io/part-of": "shop"},
            "annotations": {"prometheus.io/scrape": "true"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": format!("app-{}-7d9f8c6b5", i % 50), "uid": "x", "controller": true}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                               "fieldsV1": {"f:metadata": {"f:labels": {}}}}]
        },
        "spec": {"nodeName": format!("node-{}", i % 100),
                 "containers": [container(0, 8080), container(1, 9090), container(2, 9100)],
                 "volumes": [{"name": "token", "projected": {"sources": []}}]},
        "status": {"phase": "Running", "podIP": format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256),
                   "hostIP": format!("192.168.0.{}", i % 100),
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [status(0), status(1), status(2)]}
    })
}

fn main() {
    let pods: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let fixture = kube_fixture::KubeFixture::start();
    for i in 0..pods {
        fixture.apply("pods", pod(i, 0));
    }
    let config: KubernetesSdConfig =
        serde_yaml::from_str(&format!("role: pod\napi_server: {}\n", fixture.url)).unwrap();
    let ctx = BuildContext {
        provider: "kubernetes/0".into(),
        config_name: "bench".into(),
        refresh_metrics: RefreshMetrics::default(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Warm the process-wide parts (runtime thread, TLS setup, interned label names) on a
        // tiny list first, so the heap figures below are the state of 10k pods.
        let warm = kube_fixture::KubeFixture::start();
        warm.apply("pods", pod(0, 0));
        let warm_config: KubernetesSdConfig =
            serde_yaml::from_str(&format!("role: pod\napi_server: {}\n", warm.url)).unwrap();
        let mut d = warm_config.build(&ctx).unwrap();
        d.next().await.unwrap().unwrap();
        drop(d);
        drop(warm);
        tokio::time::sleep(Duration::from_millis(300)).await;

        let before = heap();
        let cpu_before = sd_thread_cpu();
        let start = Instant::now();
        let mut d = config.build(&ctx).unwrap();
        let first = loop {
            match d.next().await.expect("discoverer ended") {
                Ok(Update::Full(groups)) => break groups,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(e) => eprintln!("error item: {e}"),
            }
        };
        let listed = start.elapsed();
        let listed_cpu = sd_thread_cpu() - cpu_before;
        let targets: usize = first.iter().map(|g| g.targets.len()).sum();
        let with_groups = minus(heap(), before);
        drop(first);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let retained = minus(heap(), before);
        let per_pod = |bytes: isize| bytes as f64 / pods as f64;
        println!("pods: {pods}, targets: {targets}");
        println!(
            "initial list to full state delivered: {:.1} ms ({:.1} ms CPU on the SD's thread)",
            listed.as_secs_f64() * 1e3,
            listed_cpu.as_secs_f64() * 1e3
        );
        println!(
            "heap held by the SD after delivery (groups dropped): {:.0} bytes/pod ({:.1} MiB); \
             as glibc malloc holds it: {:.0} bytes/pod in {:.1} allocations/pod",
            per_pod(retained.0),
            retained.0 as f64 / (1 << 20) as f64,
            per_pod(retained.1),
            per_pod(retained.2),
        );
        println!(
            "heap including the delivered groups: {:.0} bytes/pod",
            per_pod(with_groups.0)
        );

        // Update latency: 200 different pods lose readiness, one after the other.
        let mut latencies = Vec::new();
        for n in 0..200 {
            let i = (n * 37) % pods;
            let mut p = pod(i, 0);
            p["status"]["conditions"][0]["status"] = json!("False");
            let sent = Instant::now();
            fixture.apply("pods", p);
            loop {
                match d.next().await.expect("discoverer ended") {
                    Ok(Update::Changed(groups)) if !groups.is_empty() => break,
                    _ => continue,
                }
            }
            latencies.push(sent.elapsed());
        }
        latencies.sort();
        let pct =
            |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
        println!(
            "pod update to changed group: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            pct(0.5).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            latencies.last().unwrap().as_secs_f64() * 1e3
        );

        // What dropping the discoverer frees is the SD's own heap (the fixture's grew with the
        // updates' history): it should match the figure above.
        let before_drop = heap();
        drop(d);
        tokio::time::sleep(Duration::from_millis(500)).await;
        println!(
            "heap freed by dropping the discoverer: {:.0} bytes/pod",
            per_pod(minus(before_drop, heap()).0)
        );
    });
}
