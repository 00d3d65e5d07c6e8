//! HTTP SD of one job of 100k targets (10k groups of 10, 4 labels each, populated by the
//! daemon's real pipeline: 14 final labels per target): what the first `GET /api/v1/sd/{job}`
//! after a change costs.
//!
//! - `assemble_whole_job`: ordering the job's entries (rendered per group when the group was
//!   relabeled) by identity and computing the ETag: once per change.
//! - `write_out_whole_job`: producing the body's bytes in 64 KiB chunks: once per 200 response.
//! - `assemble_all_shards_of_1000`: the first request for a shard of 1,000 after a change
//!   assembles every shard of that count (owners are cached per unchanged group, so this is
//!   the cost after a change, not the first ever).
//!
//! Each iteration publishes a new view of the job without changing a group (so no relabeling is
//! timed) and assembles it.

mod common;

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use promsd::shard::Shard;

const GROUPS: usize = 10_000;
const PER_GROUP: usize = 10;

fn bench(c: &mut Criterion) {
    let mut pipeline = common::Pipeline::loaded("", GROUPS, PER_GROUP);
    let body = pipeline.job().http_sd(None);
    eprintln!(
        "http_sd_render: {} targets, body {:.1} MiB ({:.0} bytes per target)",
        body.targets(),
        body.len() as f64 / (1 << 20) as f64,
        body.len() as f64 / body.targets() as f64
    );
    let mut group = c.benchmark_group("http_sd_100k");
    group.sample_size(20);
    group.throughput(Throughput::Elements((GROUPS * PER_GROUP) as u64));
    group.bench_function("assemble_whole_job", |b| assemble(b, &mut pipeline, None));
    let rendered = pipeline.job().http_sd(None);
    group.bench_function("write_out_whole_job", |b| {
        b.iter(|| {
            rendered
                .chunks(64 * 1024)
                .map(|chunk| black_box(chunk).len())
                .sum::<usize>()
        })
    });
    let shard = Some(Shard {
        index: 0,
        count: 1000,
    });
    pipeline.job().http_sd(shard);
    group.bench_function("assemble_all_shards_of_1000", |b| {
        assemble(b, &mut pipeline, shard)
    });
    group.finish();
}

/// Times assembling `shard`'s body (all shards of its count) from a fresh view of the same job.
fn assemble(b: &mut criterion::Bencher, pipeline: &mut common::Pipeline, shard: Option<Shard>) {
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            pipeline.republish();
            let job = pipeline.job();
            let started = Instant::now();
            black_box(job.http_sd(shard));
            total += started.elapsed();
        }
        total
    })
}

criterion_group!(benches, bench);
criterion_main!(benches);
