//! The renderer's bytes against serde_json's for the same targets, shard bodies, and ETags.

use std::sync::Arc;

use promsd_actors::GroupKey;

use super::body::{render_http_sd, render_http_sd_shards, Rendered};
use crate::server::pipeline::test_support::{
    insert, many, results, serde_json_body, target, test_pipeline,
};
use crate::server::pipeline::{GroupOutcomes, JobResults};
use crate::shard::Shard;

#[test]
fn the_body_is_what_serde_json_writes_for_the_same_targets() {
    let tricky = results(vec![
        vec![
            target("a:1", &[("quote", "say \"hi\""), ("path", "C:\\dir")], true),
            target(
                "b:2",
                &[("ctl", "line\nnext\ttab\u{1}\u{1f}"), ("del", "\u{7f}")],
                true,
            ),
            target(
                "c:3",
                &[("utf8", "é ☃ 😀"), ("html", "<a href='x'>&amp;</a>")],
                true,
            ),
        ],
        vec![
            target("gone:1", &[], false),
            target("d:4", &[("", "x")], true),
        ],
    ]);
    let whole = Arc::new(render_http_sd(&tricky));
    assert_eq!(
        String::from_utf8(whole.to_vec()).unwrap(),
        String::from_utf8(serde_json_body(&tricky, None)).unwrap()
    );
    let large = many(1000);
    let body = Arc::new(render_http_sd(&large));
    assert_eq!(body.to_vec(), serde_json_body(&large, None));
    assert_eq!(body.len(), body.to_vec().len());
    assert_eq!(body.targets(), large.kept);
    for size in [1, 100, 4096] {
        assert_eq!(
            body.chunks(size).collect::<Vec<_>>().concat(),
            body.to_vec()
        );
    }
    // Labels shared by a group's targets are stored once: the group's text is much
    // shorter than its entries.
    let shared: Vec<(String, String)> = (0..8)
        .map(|i| (format!("label_{i}"), format!("value of label {i}")))
        .collect();
    let shared: Vec<(&str, &str)> = shared
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let alike = results(vec![(0..10)
        .map(|i| target(&format!("10.0.0.{i}:80"), &shared, true))
        .collect()]);
    let group = alike
        .groups
        .values()
        .next()
        .unwrap()
        .entries
        .clone()
        .unwrap();
    let entries_len: usize = group.entries.iter().map(|e| e.len as usize).sum();
    assert!(
        group.text.len() * 3 < entries_len,
        "{} vs {entries_len}",
        group.text.len()
    );
    assert_eq!(
        Arc::new(render_http_sd(&alike)).to_vec(),
        serde_json_body(&alike, None)
    );
    let empty = Arc::new(render_http_sd(&JobResults::default()));
    assert_eq!(empty.to_vec(), b"[]");
    assert_eq!(empty.chunks(10).count(), 1);
}

#[test]
fn shard_bodies_hold_each_shards_targets_in_identity_order() {
    let results = many(2000);
    let whole = Arc::new(render_http_sd(&results));
    for count in [1u32, 3, 16] {
        let bodies: Vec<Arc<Rendered>> = render_http_sd_shards(&results, count)
            .into_iter()
            .map(Arc::new)
            .collect();
        assert_eq!(bodies.len(), count as usize);
        let mut total = 0;
        for (index, rendered) in bodies.iter().enumerate() {
            let shard = Shard {
                index: index as u32,
                count,
            };
            assert_eq!(
                rendered.to_vec(),
                serde_json_body(&results, Some(shard)),
                "shard {index} of {count}"
            );
            let targets: Vec<serde_json::Value> =
                serde_json::from_slice(&rendered.to_vec()).unwrap();
            total += targets.len();
        }
        assert_eq!(total, results.kept);
        if count == 1 {
            assert_eq!(bodies[0].etag, whole.etag, "same body, same ETag");
        }
    }
    // Each group keeps the owners of the last count asked for: asking for another count
    // and back must not reuse the wrong ones.
    for (index, rendered) in render_http_sd_shards(&results, 3).into_iter().enumerate() {
        let shard = Shard {
            index: index as u32,
            count: 3,
        };
        assert_eq!(
            Arc::new(rendered).to_vec(),
            serde_json_body(&results, Some(shard))
        );
    }
}

#[test]
fn etags_follow_the_content_not_the_history() {
    let a = many(300);
    // The same targets reached another way: groups inserted in another order, one of them
    // replaced and then restored.
    let mut b = JobResults::new(&test_pipeline());
    let groups: Vec<(GroupKey, Arc<GroupOutcomes>)> = a
        .groups
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, outcomes) in groups.iter().rev() {
        insert(&mut b, key.clone(), outcomes.group.targets.clone());
    }
    let (key, outcomes) = &groups[3];
    insert(&mut b, key.clone(), vec![target("other:1", &[], true)]);
    let changed = render_http_sd(&b).etag;
    insert(&mut b, key.clone(), outcomes.group.targets.clone());
    assert_eq!(render_http_sd(&a).etag, render_http_sd(&b).etag);
    assert_ne!(render_http_sd(&a).etag, changed);
}
