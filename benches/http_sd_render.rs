//! HTTP SD rendering of one job of 100k targets (10k groups of 10, 4 labels each, populated by
//! the daemon's real pipeline: 14 final labels per target): what the first `GET
//! /api/v1/sd/{job}` after a change costs, for the whole job and for one shard of 1,000 (the
//! first request for a shard of a given count renders them all, later ones are cache hits).
//!
//! Each iteration publishes a new view of the job without changing a group (so no relabeling is
//! timed) and renders it.

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promsd::shard::Shard;

const GROUPS: usize = 10_000;
const PER_GROUP: usize = 10;

fn bench(c: &mut Criterion) {
    let mut pipeline = common::Pipeline::loaded("", GROUPS, PER_GROUP);
    let body = pipeline.job().http_sd(None);
    eprintln!(
        "http_sd_render: {} targets, body {:.1} MiB ({:.0} bytes per target)",
        GROUPS * PER_GROUP,
        body.body.len() as f64 / (1 << 20) as f64,
        body.body.len() as f64 / (GROUPS * PER_GROUP) as f64
    );
    let mut group = c.benchmark_group("http_sd_render_100k");
    group.sample_size(10);
    group.throughput(Throughput::Elements((GROUPS * PER_GROUP) as u64));
    group.bench_function("whole_job", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                pipeline.republish();
                let job = pipeline.job();
                let started = std::time::Instant::now();
                criterion::black_box(job.http_sd(None));
                total += started.elapsed();
            }
            total
        })
    });
    group.bench_function("first_shard_of_1000", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                pipeline.republish();
                let job = pipeline.job();
                let started = std::time::Instant::now();
                criterion::black_box(job.http_sd(Some(Shard {
                    index: 0,
                    count: 1000,
                })));
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
