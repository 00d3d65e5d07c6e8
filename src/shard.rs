//! Assignment of targets to scrapers: shard `i` of `n` by jump consistent hash.
//!
//! A target's identity is its job plus its scrape URL (`__scheme__`, `__address__`,
//! `__metrics_path__`, `__param_*`), hashed with xxh3 so that every replica and version of promsd
//! agrees. The identity hash picks its shard by Lamping and Veach's jump consistent hash: shards
//! are disjoint and cover every target, going from `n` to `n + 1` shards moves only the
//! ~1/(n+1) of targets that the new shard takes, and assigning a target costs O(log n) (about
//! `ln n` steps) whatever the shard count, where the rendezvous hashing of earlier versions cost one
//! hash per shard. The count is capped at [`MAX_SHARDS`].

use promsd_actors::LabelSet;
use xxhash_rust::xxh3::xxh3_64;

/// The identity hash of a target with final labels `labels` in job `job`.
pub fn target_identity(job: &str, labels: &LabelSet) -> u64 {
    thread_local! {
        static KEY: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(128));
    }
    KEY.with_borrow_mut(|key| {
        key.clear();
        key.push_str(job);
        key.push('\0');
        key.push_str(labels.get("__scheme__").unwrap_or("http"));
        key.push_str("://");
        key.push_str(labels.get("__address__").unwrap_or(""));
        key.push_str(labels.get("__metrics_path__").unwrap_or(""));
        let mut first = true;
        for (name, value) in labels.iter() {
            if let Some(param) = name.strip_prefix("__param_") {
                key.push(if first { '?' } else { '&' });
                first = false;
                key.push_str(param);
                key.push('=');
                key.push_str(value);
            }
        }
        xxh3_64(key.as_bytes())
    })
}

/// The largest shard count a request (`?shards=`) or the file SD output may ask for.
pub const MAX_SHARDS: u32 = 10_000;

#[cfg(test)]
thread_local! {
    /// Assignments made on this thread (tests count work with it, never time).
    pub static ASSIGNMENTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The shard (0-based, below `shards`) that owns the target with identity hash `identity`:
/// jump consistent hash (Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash
/// Algorithm", 2014), bit for bit, so its published test vectors hold.
pub fn shard_of(identity: u64, shards: u32) -> u32 {
    assert!(shards > 0, "at least one shard");
    #[cfg(test)]
    ASSIGNMENTS.with(|a| a.set(a.get() + 1));
    let mut key = identity;
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < i64::from(shards) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b as u32
}

/// The assignment for one shard count, for many identities.
#[derive(Clone, Copy, Debug)]
pub struct ShardOwner {
    count: u32,
}

impl ShardOwner {
    pub fn new(shards: u32) -> Self {
        assert!(shards > 0, "at least one shard");
        ShardOwner { count: shards }
    }

    /// The number of shards.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The shard that owns `identity`: the same as `shard_of(identity, shards)`.
    pub fn of(&self, identity: u64) -> u32 {
        shard_of(identity, self.count)
    }
}

/// A validated `?shard=i&shards=n` pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Checks a request's shard parameters: both or neither, `count >= 1`, `index < count`.
    pub fn from_query(index: Option<&str>, count: Option<&str>) -> Result<Option<Shard>, String> {
        let (index, count) = match (index, count) {
            (None, None) => return Ok(None),
            (Some(_), None) => return Err("parameter shard needs shards as well".into()),
            (None, Some(_)) => return Err("parameter shards needs shard as well".into()),
            (Some(i), Some(n)) => (i, n),
        };
        let count: u32 = count
            .parse()
            .map_err(|_| format!("shards must be a positive integer, got {count:?}"))?;
        if count == 0 || count > MAX_SHARDS {
            return Err(format!(
                "shards must be between 1 and {MAX_SHARDS}, got {count}"
            ));
        }
        let index: u32 = index
            .parse()
            .map_err(|_| format!("shard must be a non-negative integer, got {index:?}"))?;
        if index >= count {
            return Err(format!("shard must be below shards ({count}), got {index}"));
        }
        Ok(Some(Shard { index, count }))
    }

    pub fn owns(&self, identity: u64) -> bool {
        shard_of(identity, self.count) == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identities(n: usize) -> Vec<u64> {
        (0..n)
            .map(|i| {
                target_identity(
                    "node",
                    &LabelSet::from_pairs([
                        ("__address__", format!("10.0.{}.{}:9100", i / 256, i % 256)),
                        ("__metrics_path__", "/metrics".to_owned()),
                        ("__scheme__", "http".to_owned()),
                    ]),
                )
            })
            .collect()
    }

    #[test]
    fn shards_are_disjoint_covering_and_balanced() {
        let ids = identities(20_000);
        let mut counts = [0usize; 8];
        for id in &ids {
            counts[shard_of(*id, 8) as usize] += 1;
        }
        assert_eq!(counts.iter().sum::<usize>(), ids.len());
        for c in counts {
            assert!((2_000..3_000).contains(&c), "unbalanced: {counts:?}");
        }
    }

    #[test]
    fn growing_by_one_shard_moves_about_one_in_n_plus_one() {
        let ids = identities(20_000);
        for n in [1u32, 3, 9] {
            let moved = ids
                .iter()
                .filter(|id| shard_of(**id, n) != shard_of(**id, n + 1))
                .count();
            let expected = ids.len() as f64 / f64::from(n + 1);
            assert!(
                (moved as f64 - expected).abs() < expected * 0.1,
                "{n}->{}: moved {moved}, expected ~{expected}",
                n + 1
            );
            // Every moved target went to the new shard.
            assert!(ids
                .iter()
                .filter(|id| shard_of(**id, n) != shard_of(**id, n + 1))
                .all(|id| shard_of(*id, n + 1) == n));
        }
    }

    #[test]
    fn identity_is_the_scrape_url_and_job() {
        let base = LabelSet::from_pairs([
            ("__address__", "a:1"),
            ("__metrics_path__", "/m"),
            ("env", "x"),
        ]);
        let relabelled = LabelSet::from_pairs([
            ("__address__", "a:1"),
            ("__metrics_path__", "/m"),
            ("env", "y"),
        ]);
        assert_eq!(
            target_identity("j", &base),
            target_identity("j", &relabelled)
        );
        assert_ne!(target_identity("j", &base), target_identity("k", &base));
        let with_param = LabelSet::from_pairs([
            ("__address__", "a:1"),
            ("__metrics_path__", "/m"),
            ("__param_module", "x"),
        ]);
        assert_ne!(
            target_identity("j", &base),
            target_identity("j", &with_param)
        );
    }

    #[test]
    fn jump_hash_matches_the_published_test_vectors() {
        // The vectors every jump hash port checks (e.g. github.com/dgryski/go-jump).
        for (key, buckets, expected) in [
            (1u64, 1u32, 0u32),
            (42, 57, 43),
            (0xDEAD_10CC, 1, 0),
            (0xDEAD_10CC, 666, 361),
            (256, 1024, 520),
        ] {
            assert_eq!(shard_of(key, buckets), expected, "key {key}, {buckets}");
        }
    }

    #[test]
    fn assignments_are_pinned() {
        // Consumers of a deployed promsd depend on these: changing the identity or the
        // function reshuffles every fleet, so it must be a deliberate, announced change.
        let target = |address: &str| {
            target_identity(
                "node",
                &LabelSet::from_pairs([
                    ("__address__", address),
                    ("__metrics_path__", "/metrics"),
                    ("__scheme__", "http"),
                ]),
            )
        };
        let pinned: Vec<(u64, u32, u32, u32)> = ["10.0.0.1:9100", "10.0.0.2:9100", "db:5432"]
            .iter()
            .map(|a| {
                let id = target(a);
                (
                    id,
                    shard_of(id, 3),
                    shard_of(id, 10),
                    shard_of(id, MAX_SHARDS),
                )
            })
            .collect();
        assert_eq!(pinned, PINNED);
    }

    #[test]
    fn assignment_work_is_one_step_per_target_whatever_the_count() {
        let ids = identities(1_000);
        for n in [1u32, 4, MAX_SHARDS] {
            ASSIGNMENTS.with(|a| a.set(0));
            let owner = ShardOwner::new(n);
            for id in &ids {
                owner.of(*id);
            }
            assert_eq!(ASSIGNMENTS.with(|a| a.get()), 1_000);
        }
    }

    #[test]
    fn query_parameters_are_checked() {
        assert_eq!(Shard::from_query(None, None), Ok(None));
        assert_eq!(
            Shard::from_query(Some("9999"), Some("10000")),
            Ok(Some(Shard {
                index: 9999,
                count: MAX_SHARDS
            }))
        );
        assert_eq!(
            Shard::from_query(Some("2"), Some("3")),
            Ok(Some(Shard { index: 2, count: 3 }))
        );
        for (i, n) in [
            (Some("3"), Some("3")),
            (Some("-1"), Some("3")),
            (Some("0"), Some("0")),
            (Some("1"), Some("10001")),
            (Some("1"), Some("99999")),
            (Some("x"), Some("2")),
            (Some("0"), None),
            (None, Some("2")),
        ] {
            assert!(Shard::from_query(i, n).is_err(), "{i:?} {n:?}");
        }
    }

    /// (identity, shard of 3, of 10, of MAX_SHARDS) for `assignments_are_pinned`.
    const PINNED: &[(u64, u32, u32, u32)] = &[
        (5438418869940368860, 0, 3, 9351),
        (7679297144435441048, 0, 4, 1180),
        (15580094585721700298, 0, 8, 939),
    ];
}
