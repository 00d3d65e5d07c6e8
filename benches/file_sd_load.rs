//! File SD's initial load through its public discoverer: 100k targets in 100 JSON files (groups
//! of 10 targets with 4 labels, the shape of `bench/compare-prometheus`), from the first poll
//! of a new discoverer to its first (full) update: listing, reading (from the page cache) and
//! decoding every file. The file SD room's release harness (`examples/file_sd_bench.rs`)
//! covers rewrites; this is the per-target parse cost as a criterion figure.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::StreamExt;
use promsd::discovery::file::{FileMetrics, FileSdConfig, Tuning};
use promsd_actors::Update;

const FILES: usize = 100;
const TARGETS_PER_FILE: usize = 1000;
const PER_GROUP: usize = 10;

fn render(f: usize) -> String {
    let groups: Vec<String> = (0..TARGETS_PER_FILE / PER_GROUP)
        .map(|g| {
            let targets: Vec<String> = (0..PER_GROUP)
                .map(|t| {
                    let i = f * TARGETS_PER_FILE + g * PER_GROUP + t;
                    format!("\"10.{}.{}.{}:9100\"", (i >> 16) & 255, (i >> 8) & 255, i & 255)
                })
                .collect();
            format!(
                "{{\"targets\":[{}],\"labels\":{{\"env\":\"prod\",\"dc\":\"dc{}\",\"team\":\"team{}\",\"rack\":\"rack{}\"}}}}",
                targets.join(","),
                g % 3,
                g % 16,
                (f * 100 + g) % 500
            )
        })
        .collect();
    format!("[{}]\n", groups.join(",\n"))
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for f in 0..FILES {
        std::fs::write(dir.path().join(format!("targets-{f:04}.json")), render(f)).unwrap();
    }
    let config = FileSdConfig::new(
        vec![format!("{}/*.json", dir.path().display())],
        "5m".parse().unwrap(),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tuning = Tuning {
        watch: false,
        ..Tuning::default()
    };
    let mut group = c.benchmark_group("file_sd_initial_load_100k");
    group.sample_size(10);
    group.throughput(Throughput::Elements((FILES * TARGETS_PER_FILE) as u64));
    group.bench_function("100_files", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut stream = config.discoverer(FileMetrics::new(), tuning);
                match tokio::time::timeout(Duration::from_secs(60), stream.next()).await {
                    Ok(Some(Ok(Update::Full(groups)))) => {
                        assert_eq!(groups.len(), FILES * TARGETS_PER_FILE / PER_GROUP);
                        groups
                    }
                    other => panic!("unexpected first item: {other:?}"),
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
