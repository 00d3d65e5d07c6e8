//! Jobs for the pipeline's and the HTTP SD renderer's unit tests: a pipeline that keeps each
//! target as it is (unless it has `__drop__`), and the body serde_json writes for the same
//! targets, the reference the renderer's bytes are held to.

use std::sync::Arc;

use promsd_actors::{GroupKey, LabelSet, Str, TargetGroup};

use super::{JobPipeline, JobResults, Outcome, TargetOutcome};
use crate::shard::{target_identity, Shard};

/// A discovered target that the test pipeline keeps with exactly these labels, or drops.
pub fn target(address: &str, extra: &[(&str, &str)], kept: bool) -> LabelSet {
    let mut pairs: Vec<(String, String)> = vec![
        ("__address__".into(), address.into()),
        ("job".into(), "j".into()),
        ("instance".into(), address.into()),
    ];
    pairs.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    if !kept {
        pairs.push(("__drop__".into(), "yes".into()));
    }
    LabelSet::from_pairs(pairs)
}

fn outcome_of(target: &LabelSet) -> TargetOutcome {
    match target.get("__drop__") {
        None => Outcome::Kept {
            identity: target_identity("j", target),
            labels: target.clone(),
        },
        Some(_) => Outcome::Dropped {
            because: Str::from("dropped"),
        },
    }
}

/// Keeps each target as it is, unless it has `__drop__`.
pub fn test_pipeline() -> JobPipeline {
    JobPipeline {
        populate: Arc::new(|g: &TargetGroup| g.targets.iter().map(outcome_of).collect()),
        discover: Arc::new(|g: &TargetGroup, i: usize| g.targets[i].clone()),
        fingerprint: "test".into(),
    }
}

/// Populates `targets` as the group under `key`.
pub fn insert(results: &mut JobResults, key: GroupKey, targets: Vec<LabelSet>) {
    let group = Arc::new(TargetGroup::new(
        key.source.clone(),
        targets,
        LabelSet::new(),
    ));
    results.populate(&test_pipeline(), key, &group);
}

/// A job of `groups`, populated by [`test_pipeline`].
pub fn results(groups: Vec<Vec<LabelSet>>) -> JobResults {
    let mut results = JobResults::new(&test_pipeline());
    for (i, targets) in groups.into_iter().enumerate() {
        let key = GroupKey {
            provider: Str::from("file/0"),
            source: Str::from(format!("g{i}")),
        };
        insert(&mut results, key, targets);
    }
    results
}

/// About `n` targets in groups of ten, one in seven dropped.
pub fn many(n: usize) -> JobResults {
    results(
        (0..n / 10)
            .map(|g| {
                (0..10)
                    .map(|t| {
                        target(
                            &format!("10.0.{g}.{t}:9100"),
                            &[("team", "a")],
                            (g + t) % 7 != 0,
                        )
                    })
                    .collect()
            })
            .collect(),
    )
}

/// The renderer as first written with serde_json: the reference for the bytes.
pub fn serde_json_body(results: &JobResults, shard: Option<Shard>) -> Vec<u8> {
    let outcomes: Vec<TargetOutcome> = results
        .groups
        .values()
        .flat_map(|g| results.outcomes(g))
        .collect();
    let mut kept: Vec<(u64, &LabelSet)> = outcomes
        .iter()
        .filter_map(|t| match t {
            Outcome::Kept { labels, identity } => Some((*identity, labels)),
            Outcome::Dropped { .. } => None,
        })
        .filter(|(identity, _)| shard.is_none_or(|s| s.owns(*identity)))
        .collect();
    kept.sort();
    let mut body = vec![b'['];
    for (i, (_, labels)) in kept.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(b"{\"targets\":");
        serde_json::to_writer(&mut body, &[labels.get("__address__").unwrap_or("")]).unwrap();
        body.extend_from_slice(b",\"labels\":");
        serde_json::to_writer(&mut body, labels).unwrap();
        body.push(b'}');
    }
    body.push(b']');
    body
}
