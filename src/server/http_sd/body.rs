//! A job's HTTP SD body, whole or per shard: its kept targets' entries in identity order (ties
//! by their text, so that the order is total), an ETag derived from the entries' hashes, and
//! the bytes written out in chunks as the connection takes them.

use std::sync::Arc;

use bytes::Bytes;
use promsd_actors::prefetch;

use super::entries::GroupEntries;
use crate::server::pipeline::JobResults;
use crate::shard::ShardOwner;

/// A job's HTTP SD body (or one shard's): `[`, the entries of its kept targets in identity
/// order separated by commas, `]`. The entries stay in their groups' buffers; the body is
/// written out in chunks when sent, never held whole.
#[derive(Debug)]
pub struct Rendered {
    /// Derived from the entries' hashes in order: equal bodies have equal ETags, on every
    /// replica.
    pub etag: String,
    groups: Arc<[Arc<GroupEntries>]>,
    /// (group index, entry index) of each target in order.
    order: Vec<(u32, u32)>,
    len: usize,
}

impl Rendered {
    /// The body's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Targets in the body.
    pub fn targets(&self) -> usize {
        self.order.len()
    }

    /// The body in chunks of about `size` bytes, in order.
    pub fn chunks(self: &Arc<Self>, size: usize) -> impl Iterator<Item = Bytes> + Send + 'static {
        let rendered = self.clone();
        let mut next = 0usize;
        let mut opened = false;
        let mut done = false;
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            let mut chunk = Vec::with_capacity(size.min(rendered.len) + 1024);
            if !opened {
                chunk.push(b'[');
                opened = true;
            }
            while chunk.len() < size && next < rendered.order.len() {
                if next > 0 {
                    chunk.push(b',');
                }
                // Entries in identity order lie all over the heap: ask for the group of one
                // far ahead, then for the parts of a nearer one (its group is cached by then).
                if let Some(&(g, _)) = rendered.order.get(next + 2 * PREFETCH_AHEAD) {
                    prefetch(&*rendered.groups[g as usize]);
                }
                if let Some(&(g, e)) = rendered.order.get(next + PREFETCH_AHEAD) {
                    let group = &rendered.groups[g as usize];
                    prefetch(group.pieces(e as usize));
                    prefetch(&group.text[..group.text.len().min(512)]);
                    prefetch(&group.piece_ends[..group.piece_ends.len().min(16)]);
                }
                let (g, e) = rendered.order[next];
                rendered.groups[g as usize].write(e as usize, &mut chunk);
                next += 1;
            }
            if next == rendered.order.len() {
                chunk.push(b']');
                done = true;
            }
            Some(Bytes::from(chunk))
        })
    }

    /// The whole body in one buffer (for writing files, and tests).
    pub fn to_vec(self: &Arc<Self>) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.len);
        for chunk in self.chunks(1 << 20) {
            body.extend_from_slice(&chunk);
        }
        body
    }
}

/// How many entries ahead of the one being copied the next is fetched from memory.
const PREFETCH_AHEAD: usize = 8;

/// An entry's place in a body, with what assembling the body needs from it, so that the
/// pass after sorting reads this array in order instead of every group's entries at random.
#[derive(Clone, Copy)]
struct Placed {
    identity: u64,
    hash: u64,
    group: u32,
    entry: u32,
    len: u32,
    shard: u32,
}

/// Every kept target's entry, in identity order; ties (the same scrape URL with other labels)
/// by their text, so that the order is total. With `owners`, each entry's shard is filled in.
fn entries_in_identity_order(
    groups: &[Arc<GroupEntries>],
    owners: Option<&[Arc<[u32]>]>,
) -> Vec<Placed> {
    let mut placed: Vec<Placed> = Vec::with_capacity(groups.iter().map(|g| g.entries.len()).sum());
    for (g, group) in groups.iter().enumerate() {
        let shards = owners.map(|o| &o[g]);
        placed.extend(group.entries.iter().enumerate().map(|(e, entry)| Placed {
            identity: entry.identity,
            hash: entry.hash,
            group: g as u32,
            entry: e as u32,
            len: entry.len,
            shard: shards.map_or(0, |s| s[e]),
        }));
    }
    let text = |p: &Placed| groups[p.group as usize].text(p.entry as usize);
    placed.sort_unstable_by(|a, b| {
        a.identity
            .cmp(&b.identity)
            .then_with(|| text(a).cmp(&text(b)))
    });
    placed
}

/// A body of `placed`'s entries, in that order: its length and ETag.
fn assemble<'a>(
    groups: Arc<[Arc<GroupEntries>]>,
    placed: impl Iterator<Item = &'a Placed> + Clone,
) -> Rendered {
    let hashes: Vec<u8> = placed.clone().flat_map(|p| p.hash.to_le_bytes()).collect();
    let order: Vec<(u32, u32)> = placed.clone().map(|p| (p.group, p.entry)).collect();
    let len = 2 + order.len().saturating_sub(1) + placed.map(|p| p.len as usize).sum::<usize>();
    Rendered {
        etag: format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&hashes)),
        groups,
        order,
        len,
    }
}

/// The entries of every group with kept targets, in key order.
fn kept_entries(results: &JobResults) -> Arc<[Arc<GroupEntries>]> {
    results
        .groups
        .values()
        .filter_map(|g| g.entries.clone())
        .collect()
}

/// The whole job's body.
pub(crate) fn render_http_sd(results: &JobResults) -> Rendered {
    let groups = kept_entries(results);
    let placed = entries_in_identity_order(&groups, None);
    assemble(groups, placed.iter())
}

/// Every shard's body for `count` shards, in shard order.
pub(crate) fn render_http_sd_shards(results: &JobResults, count: u32) -> Vec<Rendered> {
    let groups = kept_entries(results);
    let owner = ShardOwner::new(count);
    let owners: Vec<Arc<[u32]>> = groups.iter().map(|g| g.owners(&owner)).collect();
    let placed = entries_in_identity_order(&groups, Some(&owners));
    let mut shards: Vec<Vec<Placed>> = vec![Vec::new(); count as usize];
    for p in placed {
        shards[p.shard as usize].push(p);
    }
    shards
        .iter()
        .map(|placed| assemble(groups.clone(), placed.iter()))
        .collect()
}
