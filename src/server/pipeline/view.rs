//! What the pipeline publishes: an immutable [`TargetsView`] of every job that HTTP handlers
//! read without locking the pipeline, each job's view caching the HTTP SD bodies asked of it
//! until the job changes.

use std::sync::{Arc, Mutex, OnceLock, RwLock};

use promsd_actors::Str;

use super::results::JobResults;
use crate::server::http_sd::body::{render_http_sd, render_http_sd_shards, Rendered};
use crate::shard::Shard;

/// The bodies rendered for one way of asking: the whole job (`None`), or every shard of a
/// shard count (rendered together: one pass assigns every target to its shard).
type RenderKey = Option<u32>;
type RenderSlot = Arc<OnceLock<Vec<Arc<Rendered>>>>;

/// How many ways of asking (the whole job, or a shard count) a view keeps rendered: the
/// least recently asked goes when another comes, so that requests naming ever new shard counts
/// hold no more than this many counts' bodies.
pub const RENDERED_WAYS: usize = 4;

/// One job as HTTP handlers see it: immutable results plus lazily rendered bodies.
#[derive(Debug)]
pub struct JobView {
    pub name: Str,
    pub results: JobResults,
    /// At most [`RENDERED_WAYS`] ways, least recently asked first.
    rendered: Mutex<Vec<(RenderKey, RenderSlot)>>,
}

impl JobView {
    pub(super) fn new(name: Str, results: JobResults) -> Self {
        JobView {
            name,
            results,
            rendered: Mutex::new(Vec::new()),
        }
    }

    /// The job's kept targets (of `shard`, if given) in Prometheus' HTTP SD JSON, assembled
    /// once per change from the groups' entries: one group per target, its labels the final
    /// labels, targets in identity order. The first request for a shard assembles every shard
    /// of its count. Concurrent requests for the same body wait for one assembly; others are
    /// not held up.
    pub fn http_sd(&self, shard: Option<Shard>) -> Arc<Rendered> {
        let slot = {
            let mut rendered = self.rendered.lock().expect("render cache poisoned");
            let key = shard.map(|s| s.count);
            let slot = match rendered.iter().position(|(k, _)| *k == key) {
                Some(i) => rendered.remove(i).1,
                None => RenderSlot::default(),
            };
            // Most recently asked last; the least recently asked way goes first.
            if rendered.len() >= RENDERED_WAYS {
                rendered.remove(0);
            }
            rendered.push((key, slot.clone()));
            slot
        };
        let bodies = slot.get_or_init(|| match shard {
            None => vec![Arc::new(render_http_sd(&self.results))],
            Some(s) => render_http_sd_shards(&self.results, s.count)
                .into_iter()
                .map(Arc::new)
                .collect(),
        });
        bodies[shard.map_or(0, |s| s.index as usize)].clone()
    }

    /// The body for `shard` if it is already assembled.
    pub fn cached_http_sd(&self, shard: Option<Shard>) -> Option<Arc<Rendered>> {
        let mut cache = self.rendered.lock().expect("render cache poisoned");
        let key = shard.map(|s| s.count);
        let i = cache.iter().position(|(k, _)| *k == key)?;
        // A hit makes the way the most recently asked.
        let entry = cache.remove(i);
        cache.push(entry);
        let bodies = cache.last()?.1.get()?;
        Some(bodies[shard.map_or(0, |s| s.index as usize)].clone())
    }
}

/// Every job's view at one moment.
#[derive(Clone, Debug, Default)]
pub struct TargetsView {
    pub jobs: im::OrdMap<Str, Arc<JobView>>,
}

/// Where the pipeline publishes its views; HTTP handlers read the latest.
#[derive(Clone, Default)]
pub struct SharedView(Arc<RwLock<Arc<TargetsView>>>);

impl SharedView {
    pub fn latest(&self) -> Arc<TargetsView> {
        self.0.read().expect("view lock poisoned").clone()
    }

    pub(super) fn publish(&self, view: TargetsView) {
        *self.0.write().expect("view lock poisoned") = Arc::new(view);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::pipeline::test_support::many;

    #[test]
    fn bodies_are_rendered_once_per_view_and_all_shards_of_a_count_together() {
        let view = JobView::new(Str::from("j"), many(500));
        assert!(view.cached_http_sd(None).is_none());
        let whole = view.http_sd(None);
        assert!(Arc::ptr_eq(&whole, &view.cached_http_sd(None).unwrap()));
        assert!(Arc::ptr_eq(&whole, &view.http_sd(None)));

        let shard = |index| Some(Shard { index, count: 4 });
        assert!(view.cached_http_sd(shard(2)).is_none());
        let first = view.http_sd(shard(0));
        for index in 1..4 {
            assert!(
                view.cached_http_sd(shard(index)).is_some(),
                "shard {index} rendered with shard 0"
            );
        }
        assert!(Arc::ptr_eq(&first, &view.http_sd(shard(0))));
        assert!(view
            .cached_http_sd(Some(Shard { index: 0, count: 5 }))
            .is_none());
    }

    #[test]
    fn a_large_shard_count_costs_what_a_small_one_does_and_caches_stay_bounded() {
        use crate::shard::{ASSIGNMENTS, MAX_SHARDS};
        let assignments = |count: u32| {
            let view = JobView::new(Str::from("j"), many(2_000));
            ASSIGNMENTS.with(|a| a.set(0));
            view.http_sd(Some(Shard { index: 1, count }));
            ASSIGNMENTS.with(|a| a.get())
        };
        let small = assignments(4);
        assert!(small > 0);
        assert_eq!(assignments(MAX_SHARDS), small, "one assignment per target");

        // Ever new shard counts: at most RENDERED_WAYS of them stay rendered.
        let view = JobView::new(Str::from("j"), many(500));
        for count in 2..40 {
            view.http_sd(Some(Shard { index: 0, count }));
            assert!(view.rendered.lock().unwrap().len() <= RENDERED_WAYS);
        }
        assert!(view
            .cached_http_sd(Some(Shard {
                index: 0,
                count: 39
            }))
            .is_some());
        assert!(view
            .cached_http_sd(Some(Shard { index: 0, count: 2 }))
            .is_none());
        // A cached hit counts as a use: the way asked through the cache stays.
        let cached = |count| {
            view.cached_http_sd(Some(Shard { index: 0, count }))
                .is_some()
        };
        assert!(cached(36));
        view.http_sd(Some(Shard {
            index: 0,
            count: 40,
        }));
        assert!(cached(36));
        assert!(!cached(37));
    }
}
