//! Assignment of targets to scrapers: shard `i` of `n` by rendezvous hashing.
//!
//! A target's identity is its job plus its scrape URL (`__scheme__`, `__address__`,
//! `__metrics_path__`, `__param_*`), hashed with xxh3 so that every replica and version of promsd
//! agrees. Each shard scores the identity (a 64-bit mix of the identity hash and the shard number)
//! and the highest score wins: shards are disjoint and cover every target, and going from `n` to
//! `n + 1` shards moves only the ~1/(n+1) of targets that the new shard wins.

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

/// SplitMix64's finalizer: a fast, well-distributed 64-bit mix.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The shard (0-based, below `shards`) that owns the target with identity hash `identity`.
pub fn shard_of(identity: u64, shards: u32) -> u32 {
    assert!(shards > 0, "at least one shard");
    (0..shards)
        .max_by_key(|&shard| {
            (
                mix(identity ^ mix(u64::from(shard).wrapping_add(0x9e37_79b9_7f4a_7c15))),
                shard,
            )
        })
        .unwrap_or(0)
}

/// [`shard_of`] for many identities and one shard count: each shard's seed is computed once,
/// so assigning a target costs one mix per shard instead of two.
#[derive(Clone, Debug)]
pub struct ShardOwner {
    seeds: Vec<u64>,
}

impl ShardOwner {
    pub fn new(shards: u32) -> Self {
        assert!(shards > 0, "at least one shard");
        ShardOwner {
            seeds: (0..shards)
                .map(|shard| mix(u64::from(shard).wrapping_add(0x9e37_79b9_7f4a_7c15)))
                .collect(),
        }
    }

    /// The number of shards.
    pub fn count(&self) -> u32 {
        self.seeds.len() as u32
    }

    /// The shard that owns `identity`: the same as `shard_of(identity, shards)`.
    pub fn of(&self, identity: u64) -> u32 {
        let mut best = (mix(identity ^ self.seeds[0]), 0u32);
        for (shard, seed) in self.seeds.iter().enumerate().skip(1) {
            // Later shards win ties, as `max_by_key` lets the last maximum win.
            let score = (mix(identity ^ seed), shard as u32);
            if score > best {
                best = score;
            }
        }
        best.1
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
        if count == 0 || count > 100_000 {
            return Err(format!("shards must be between 1 and 100000, got {count}"));
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
    fn shard_owner_agrees_with_shard_of() {
        let ids = identities(2_000);
        for n in [1u32, 2, 7, 1000] {
            let owner = ShardOwner::new(n);
            for id in ids.iter().copied().chain([0, u64::MAX]) {
                assert_eq!(
                    owner.of(id),
                    shard_of(id, n),
                    "identity {id:#x}, {n} shards"
                );
            }
        }
    }

    #[test]
    fn query_parameters_are_checked() {
        assert_eq!(Shard::from_query(None, None), Ok(None));
        assert_eq!(
            Shard::from_query(Some("2"), Some("3")),
            Ok(Some(Shard { index: 2, count: 3 }))
        );
        for (i, n) in [
            (Some("3"), Some("3")),
            (Some("-1"), Some("3")),
            (Some("0"), Some("0")),
            (Some("x"), Some("2")),
            (Some("0"), None),
            (None, Some("2")),
        ] {
            assert!(Shard::from_query(i, n).is_err(), "{i:?} {n:?}");
        }
    }
}
