//! The daemon's targets pipeline on one job of 1M targets (10k groups of 100, as DESIGN.md's
//! benchmarks): what handling a `SyncTargets` whose delta changes one group costs (population,
//! relabeling and shard identity of its 100 targets, and publishing a new view). It must not
//! grow with the job: the same figure is measured on a job of 10k targets for comparison.

mod common;

use criterion::{criterion_group, criterion_main, Criterion};

fn one_group_change(c: &mut Criterion, name: &str, rules: &str, groups: usize) {
    // Loaded on first use, so that a filtered run sets up only what it measures.
    let mut pipeline: Option<common::Pipeline> = None;
    let mut generation = 0;
    c.bench_function(name, |b| {
        let pipeline = pipeline.get_or_insert_with(|| common::Pipeline::loaded(rules, groups, 100));
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                generation += 1;
                total += pipeline.change(vec![common::group(4242 % groups, 100, generation)]);
            }
            total
        })
    });
}

fn bench(c: &mut Criterion) {
    one_group_change(c, "pipeline_one_group_change/1m_no_rules", "", 10_000);
    one_group_change(
        c,
        "pipeline_one_group_change/1m_typical_rules",
        common::TYPICAL_RULES,
        10_000,
    );
    one_group_change(
        c,
        "pipeline_one_group_change/10k_typical_rules",
        common::TYPICAL_RULES,
        100,
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
