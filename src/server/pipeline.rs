//! The daemon's targets pipeline: a subscriber actor that turns the engine's `SyncTargets` into
//! relabeled targets per job, and publishes them as an immutable [`TargetsView`] that HTTP
//! handlers read without locking the pipeline.
//!
//! Only the groups named in each delta are populated and relabeled again, and the result is
//! kept per group, so serving a change costs O(changed groups). Per target only a summary is
//! kept (kept or why dropped, shard identity) beside the group's HTTP SD entries; label sets are
//! recomputed from the group when the API asks. A job's view assembles its HTTP SD body (per
//! shard) once per change and caches its order and ETag; the bytes are written as they are sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use actix::prelude::*;
use bytes::Bytes;
use prometheus_client::metrics::gauge::Gauge;
use promsd_actors::{
    prefetch, Delta, GroupKey, JobDelta, LabelSet, Snapshot, Str, SyncTargets, TargetGroup,
    ADDRESS_LABEL,
};

use crate::shard::{Shard, ShardOwner};

/// One discovered target after population and relabeling, as [`Populate`] returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetOutcome {
    /// The final labels, if the target is kept.
    pub labels: Option<LabelSet>,
    /// Why the target was dropped (the rule, or the validation error), if it was; shared by
    /// every target the same rule dropped.
    pub dropped_because: Option<Str>,
    /// Shard identity (`shard::target_identity`) of a kept target.
    pub identity: u64,
}

/// What the pipeline keeps of a target: whether it is kept and its shard identity. Its labels
/// are not kept: a kept target's final labels are already in its HTTP SD entry, and both
/// label sets are recomputed from its group when the API asks ([`JobResults::outcomes`],
/// [`JobResults::discovered`]), which costs a relabeling of one group per target shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSummary {
    /// Why the target was dropped, if it was.
    pub dropped_because: Option<Str>,
    /// Shard identity of a kept target.
    pub identity: u64,
}

impl TargetSummary {
    pub fn is_kept(&self) -> bool {
        self.dropped_because.is_none()
    }
}

/// Populates and relabels one group of a job.
pub type Populate = Arc<dyn Fn(&TargetGroup) -> Vec<TargetOutcome> + Send + Sync>;

/// The discovered labels (before relabeling) of target `index` of a group of a job.
pub type Discover = Arc<dyn Fn(&TargetGroup, usize) -> LabelSet + Send + Sync>;

/// How a job's targets are populated; `fingerprint` changes when its settings do.
#[derive(Clone)]
pub struct JobPipeline {
    pub populate: Populate,
    pub discover: Discover,
    pub fingerprint: String,
}

impl std::fmt::Debug for JobPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobPipeline")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// One group's targets after population, beside the discovered group they came from
/// (shared with the engine's snapshot, not copied).
#[derive(Debug)]
pub struct GroupOutcomes {
    pub group: Arc<TargetGroup>,
    pub targets: Box<[TargetSummary]>,
    /// Its kept targets as HTTP SD entries, rendered when the group was populated.
    entries: Option<Arc<GroupEntries>>,
}

impl std::ops::Deref for GroupOutcomes {
    type Target = [TargetSummary];

    fn deref(&self) -> &[TargetSummary] {
        &self.targets
    }
}

/// A job's relabeled targets, group by group.
#[derive(Clone, Debug, Default)]
pub struct JobResults {
    pub groups: im::OrdMap<GroupKey, Arc<GroupOutcomes>>,
    pub kept: usize,
    pub dropped: usize,
    /// Every provider of the job delivered its first state.
    pub ready: bool,
    /// Served from the warm-start state file until fresh discovery is ready.
    pub stale: bool,
    /// How the groups were populated: to recompute labels for the API.
    pipeline: Option<JobPipeline>,
}

/// A group populated and rendered, ready to be inserted into a job's results.
struct PopulatedGroup {
    key: GroupKey,
    outcomes: GroupOutcomes,
}

impl PopulatedGroup {
    fn new(key: GroupKey, group: Arc<TargetGroup>, outcomes: Vec<TargetOutcome>) -> Self {
        let entries = outcomes
            .iter()
            .any(|t| t.labels.is_some())
            .then(|| Arc::new(GroupEntries::render(&outcomes)));
        let targets = outcomes
            .into_iter()
            .map(|t| TargetSummary {
                dropped_because: match t.labels {
                    Some(_) => None,
                    None => Some(t.dropped_because.unwrap_or_else(|| Str::from("dropped"))),
                },
                identity: t.identity,
            })
            .collect();
        PopulatedGroup {
            key,
            outcomes: GroupOutcomes {
                group,
                targets,
                entries,
            },
        }
    }
}

/// How many of `group`'s targets are kept and dropped.
fn counts(group: &GroupOutcomes) -> (usize, usize) {
    let kept = group.iter().filter(|t| t.is_kept()).count();
    (kept, group.len() - kept)
}

/// Populates and renders `groups`, one after the other on the pipeline's thread. (Populating a
/// large job on every core was tried: on 2 cores it saved nothing at 1M targets and cost 40 %
/// more CPU, the reference counts of the labels every target shares bouncing between cores.)
fn populate_groups(
    populate: &Populate,
    groups: Vec<(GroupKey, &Arc<TargetGroup>)>,
) -> Vec<PopulatedGroup> {
    groups
        .into_iter()
        .map(|(key, group)| PopulatedGroup::new(key, group.clone(), populate(group)))
        .collect()
}

impl JobResults {
    /// Empty results of a job populated by `pipeline`.
    fn new(pipeline: &JobPipeline) -> Self {
        JobResults {
            pipeline: Some(pipeline.clone()),
            ..JobResults::default()
        }
    }

    /// Populates `group` with `pipeline` and inserts it (replacing the group under `key`).
    fn populate(&mut self, pipeline: &JobPipeline, key: GroupKey, group: &Arc<TargetGroup>) {
        let outcomes = (pipeline.populate)(group);
        self.insert_populated(PopulatedGroup::new(key, group.clone(), outcomes));
    }

    /// Inserts a populated group in place of the group under its key (one map operation: the
    /// keys are long strings with long common prefixes, and compared at every level).
    fn insert_populated(&mut self, group: PopulatedGroup) {
        let PopulatedGroup { key, outcomes } = group;
        if outcomes.is_empty() {
            self.remove(&key);
            return;
        }
        let (kept, dropped) = counts(&outcomes);
        self.kept += kept;
        self.dropped += dropped;
        if let Some(old) = self.groups.insert(key, Arc::new(outcomes)) {
            self.uncount(&old);
        }
    }

    fn remove(&mut self, key: &GroupKey) {
        if let Some(old) = self.groups.remove(key) {
            self.uncount(&old);
        }
    }

    /// Takes `group`'s targets away from the counts.
    fn uncount(&mut self, group: &GroupOutcomes) {
        let (kept, dropped) = counts(group);
        self.kept -= kept;
        self.dropped -= dropped;
    }

    /// Every target of the job, group by group.
    pub fn targets(&self) -> impl Iterator<Item = &TargetSummary> {
        self.groups.values().flat_map(|g| g.iter())
    }

    /// The discovered labels of target `index` of `group` (one of this job's), recomputed.
    pub fn discovered(&self, group: &GroupOutcomes, index: usize) -> LabelSet {
        match &self.pipeline {
            Some(pipeline) => (pipeline.discover)(&group.group, index),
            None => LabelSet::new(),
        }
    }

    /// Every target of `group` (one of this job's) with its final labels, recomputed.
    pub fn outcomes(&self, group: &GroupOutcomes) -> Vec<TargetOutcome> {
        match &self.pipeline {
            Some(pipeline) => (pipeline.populate)(&group.group),
            None => Vec::new(),
        }
    }
}

/// One group's kept targets in HTTP SD JSON, each `{"targets":["<address>"],"labels":{...}}`.
/// Rendered right after the group is relabeled, while its labels are still in the CPU's cache,
/// and shared by every view until the group changes: a job's body is then these entries in
/// identity order, and a change renders only the groups it touches.
///
/// An entry is kept as pieces: its address as a JSON string, then each label as
/// `"name":"value"`. A group's targets share most labels (the group's and the job's), so each
/// distinct piece is stored once per group and an entry is a list of piece numbers: a tenth of
/// the text for groups of ten file SD targets.
#[derive(Debug)]
struct GroupEntries {
    /// Every distinct piece, back to back.
    text: Box<[u8]>,
    /// Where piece `i` ends in `text` (it starts where piece `i - 1` ends).
    piece_ends: Box<[u32]>,
    /// The pieces of every entry in turn: entry `e`'s are `layout[e.first..next.first]`.
    layout: Box<[u32]>,
    entries: Box<[Entry]>,
    /// The shard of each entry for the shard count last asked for.
    owners: Mutex<Option<(u32, Arc<[u32]>)>>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    identity: u64,
    /// xxh3 of the entry's text: bodies' ETags are computed from these.
    hash: u64,
    /// Its first piece in `layout`.
    first: u32,
    /// The length of its text.
    len: u32,
}

/// Collects a group's distinct pieces while its entries are rendered. A label shared by the
/// group's targets is the same pair of strings in memory, so it is found by address before
/// being rendered; other pieces are found by their text.
#[derive(Default)]
struct PieceTable {
    text: Vec<u8>,
    piece_ends: Vec<u32>,
    by_text: HashMap<Box<[u8]>, u32, foldhash::fast::RandomState>,
    by_address: HashMap<(usize, usize), u32, foldhash::fast::RandomState>,
}

thread_local! {
    /// The last table's maps, emptied: their room is reused by the next group on the thread.
    static SPARE_MAPS: std::cell::Cell<Option<PieceTable>> = const { std::cell::Cell::new(None) };
}

impl PieceTable {
    /// An empty table, reusing this thread's spare maps.
    fn new() -> Self {
        SPARE_MAPS.take().unwrap_or_default()
    }

    /// The text and piece ends; the maps are kept, emptied, for the next table.
    fn finish(mut self) -> (Vec<u8>, Vec<u32>) {
        let text = std::mem::take(&mut self.text);
        let piece_ends = std::mem::take(&mut self.piece_ends);
        self.by_text.clear();
        self.by_address.clear();
        SPARE_MAPS.set(Some(self));
        (text, piece_ends)
    }

    /// Stores `piece` as a new piece (one that no other target has, such as an address).
    fn push(&mut self, piece: &[u8]) -> u32 {
        let number = u32::try_from(self.piece_ends.len()).expect("fewer than 4G pieces");
        self.text.extend_from_slice(piece);
        self.piece_ends
            .push(u32::try_from(self.text.len()).expect("a group renders to less than 4 GiB"));
        number
    }

    fn piece(&self, number: u32) -> &[u8] {
        let start = match number {
            0 => 0,
            n => self.piece_ends[n as usize - 1] as usize,
        };
        &self.text[start..self.piece_ends[number as usize] as usize]
    }

    /// The number of `piece`, stored if new.
    fn number(&mut self, piece: &[u8]) -> u32 {
        if let Some(&number) = self.by_text.get(piece) {
            return number;
        }
        let number = self.push(piece);
        self.by_text.insert(piece.into(), number);
        number
    }

    /// The number of the piece `"name":"value"`, rendered into `scratch` if not seen yet.
    fn label_number(&mut self, name: &str, value: &Str, scratch: &mut Vec<u8>) -> u32 {
        let address = (name.as_ptr() as usize, value.as_ptr() as usize);
        if let Some(&number) = self.by_address.get(&address) {
            return number;
        }
        scratch.clear();
        write_json_str(scratch, name);
        scratch.push(b':');
        write_json_str(scratch, value);
        let number = self.number(scratch);
        self.by_address.insert(address, number);
        number
    }
}

impl GroupEntries {
    fn render(outcomes: &[TargetOutcome]) -> GroupEntries {
        let mut table = PieceTable::new();
        let mut layout: Vec<u32> = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        let (mut piece, mut whole) = (Vec::with_capacity(256), Vec::with_capacity(1024));
        for outcome in outcomes {
            let Some(labels) = &outcome.labels else {
                continue;
            };
            let first = u32::try_from(layout.len()).expect("fewer than 4G pieces");
            whole.clear();
            whole.extend_from_slice(b"{\"targets\":[");
            piece.clear();
            write_json_str(&mut piece, labels.get(ADDRESS_LABEL).unwrap_or(""));
            layout.push(table.push(&piece));
            whole.extend_from_slice(&piece);
            whole.extend_from_slice(b"],\"labels\":{");
            for (j, (name, value)) in labels.pairs().iter().enumerate() {
                let number = table.label_number(name, value, &mut piece);
                layout.push(number);
                if j > 0 {
                    whole.push(b',');
                }
                whole.extend_from_slice(table.piece(number));
            }
            whole.extend_from_slice(b"}}");
            entries.push(Entry {
                identity: outcome.identity,
                hash: xxhash_rust::xxh3::xxh3_64(&whole),
                first,
                len: u32::try_from(whole.len()).expect("an entry is less than 4 GiB"),
            });
        }
        let (text, piece_ends) = table.finish();
        GroupEntries {
            text: text.into_boxed_slice(),
            piece_ends: piece_ends.into_boxed_slice(),
            layout: layout.into_boxed_slice(),
            entries: entries.into_boxed_slice(),
            owners: Mutex::new(None),
        }
    }

    fn piece(&self, number: u32) -> &[u8] {
        let number = number as usize;
        let start = match number {
            0 => 0,
            n => self.piece_ends[n - 1] as usize,
        };
        &self.text[start..self.piece_ends[number] as usize]
    }

    /// The piece numbers of entry `e`: its address, then its labels.
    fn pieces(&self, e: usize) -> &[u32] {
        let end = self
            .entries
            .get(e + 1)
            .map_or(self.layout.len(), |next| next.first as usize);
        &self.layout[self.entries[e].first as usize..end]
    }

    /// Appends entry `e`'s text to `out`.
    fn write(&self, e: usize, out: &mut Vec<u8>) {
        let pieces = self.pieces(e);
        out.reserve(self.entries[e].len as usize);
        out.extend_from_slice(b"{\"targets\":[");
        out.extend_from_slice(self.piece(pieces[0]));
        out.extend_from_slice(b"],\"labels\":{");
        let start = |number: u32| match number {
            0 => 0,
            n => self.piece_ends[n as usize - 1] as usize,
        };
        for (j, &number) in pieces[1..].iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            let (from, to) = (start(number), self.piece_ends[number as usize] as usize);
            out.extend_from_slice(&self.text[from..to]);
        }
        out.extend_from_slice(b"}}");
    }

    /// Entry `e`'s text.
    fn text(&self, e: usize) -> Vec<u8> {
        let mut text = Vec::with_capacity(self.entries[e].len as usize);
        self.write(e, &mut text);
        text
    }

    /// The shard of each entry among `owner`'s shards; kept for the next view while the group
    /// is unchanged, so that a change costs shard assignment of the changed groups only.
    fn owners(&self, owner: &ShardOwner) -> Arc<[u32]> {
        let mut cached = self.owners.lock().expect("owner cache poisoned");
        match &*cached {
            Some((count, owners)) if *count == owner.count() => owners.clone(),
            _ => {
                let owners: Arc<[u32]> =
                    self.entries.iter().map(|e| owner.of(e.identity)).collect();
                *cached = Some((owner.count(), owners.clone()));
                owners
            }
        }
    }
}

/// A JSON string as serde_json writes it: quotes, and escapes only for `"`, `\` and control
/// characters (rare in labels: such strings take serde_json's own path).
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let plain = s.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    });
    if plain {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(out, s).expect("writing to a Vec");
    }
}

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
    fn new(name: Str, results: JobResults) -> Self {
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
fn render_http_sd(results: &JobResults) -> Rendered {
    let groups = kept_entries(results);
    let placed = entries_in_identity_order(&groups, None);
    assemble(groups, placed.iter())
}

/// Every shard's body for `count` shards, in shard order.
fn render_http_sd_shards(results: &JobResults, count: u32) -> Vec<Rendered> {
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

    fn publish(&self, view: TargetsView) {
        *self.0.write().expect("view lock poisoned") = Arc::new(view);
    }
}

/// Called with every job whose view changed (for the file SD output).
pub type OnJobChange = Box<dyn FnMut(&Arc<JobView>) + Send>;

/// Replaces the jobs' settings (on start and reload); jobs whose fingerprint changed are
/// populated again from the last snapshot.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetJobs(pub HashMap<Str, JobPipeline>);

/// The subscriber actor between the engine and the HTTP handlers.
pub struct TargetsPipeline {
    settings: HashMap<Str, JobPipeline>,
    results: HashMap<Str, JobResults>,
    snapshot: Option<Arc<Snapshot>>,
    view: SharedView,
    on_change: Option<OnJobChange>,
    /// Warm-start groups per job, served until the job's discovery is ready.
    warm: HashMap<Str, Vec<Arc<TargetGroup>>>,
    stale_jobs: Gauge,
}

impl TargetsPipeline {
    pub fn new(view: SharedView, on_change: Option<OnJobChange>) -> Self {
        TargetsPipeline {
            settings: HashMap::new(),
            results: HashMap::new(),
            snapshot: None,
            view,
            on_change,
            warm: HashMap::new(),
            stale_jobs: Gauge::default(),
        }
    }

    /// Serves `warm` groups for each job until its fresh discovery is ready; `stale_jobs`
    /// counts the jobs served so.
    pub fn with_warm_start(
        mut self,
        warm: HashMap<Str, Vec<Arc<TargetGroup>>>,
        stale_jobs: Gauge,
    ) -> Self {
        self.warm = warm;
        self.stale_jobs = stale_jobs;
        self
    }

    /// The job's results from its warm-start groups, if it has some and is not ready.
    fn populate_warm(&self, job: &Str, ready: bool) -> Option<JobResults> {
        if ready {
            return None;
        }
        let (settings, groups) = (self.settings.get(job)?, self.warm.get(job)?);
        let mut results = JobResults {
            stale: true,
            ..JobResults::new(settings)
        };
        for group in groups {
            let key = GroupKey {
                provider: Str::from("state-file"),
                source: group.source.clone(),
            };
            results.populate(settings, key, group);
        }
        Some(results)
    }

    /// Fresh discovery is ready for `job`: its warm state is not needed any more.
    fn drop_warm(&mut self, job: &Str) {
        self.warm.remove(job);
    }

    fn count_stale(&self) {
        let stale = self.results.values().filter(|r| r.stale).count();
        self.stale_jobs.set(stale as i64);
    }

    fn populate_job(&self, job: &Str, snapshot: &Snapshot) -> JobResults {
        let mut results = JobResults::default();
        if let (Some(settings), Some(targets)) = (self.settings.get(job), snapshot.job(job)) {
            results = JobResults::new(settings);
            for group in populate_groups(&settings.populate, targets.groups().collect()) {
                results.insert_populated(group);
            }
            results.ready = targets.is_ready();
        }
        results
    }

    /// Publishes a new view in which `changed` jobs are rebuilt and the others reused.
    fn publish(&mut self, changed: &[Str]) {
        let mut view = (*self.view.latest()).clone();
        let gone: Vec<Str> = view
            .jobs
            .keys()
            .filter(|job| !self.results.contains_key(*job))
            .cloned()
            .collect();
        for job in gone {
            view.jobs.remove(&job);
        }
        for job in changed {
            if let Some(results) = self.results.get(job) {
                let job_view = Arc::new(JobView::new(job.clone(), results.clone()));
                if let Some(notify) = self.on_change.as_mut() {
                    notify(&job_view);
                }
                view.jobs.insert(job.clone(), job_view);
            }
        }
        self.view.publish(view);
    }
}

impl Actor for TargetsPipeline {
    type Context = Context<Self>;
}

impl Handler<SyncTargets> for TargetsPipeline {
    type Result = ();

    fn handle(&mut self, msg: SyncTargets, _: &mut Self::Context) {
        let snapshot = msg.snapshot;
        let mut changed: Vec<Str> = Vec::new();
        match &*msg.delta {
            Delta::Full => {
                self.results.clear();
                for (job, targets) in snapshot.jobs() {
                    let results = match self.populate_warm(job, targets.is_ready()) {
                        Some(warm) => warm,
                        None => {
                            self.drop_warm(job);
                            self.populate_job(job, &snapshot)
                        }
                    };
                    self.results.insert(job.clone(), results);
                    changed.push(job.clone());
                }
            }
            Delta::Changes { jobs, removed_jobs } => {
                for job in removed_jobs {
                    self.results.remove(job);
                }
                for (job, delta) in jobs {
                    let Some(targets) = snapshot.job(job) else {
                        continue;
                    };
                    changed.push(job.clone());
                    if let Some(warm) = self.populate_warm(job, targets.is_ready()) {
                        self.results.insert(job.clone(), warm);
                        continue;
                    }
                    self.drop_warm(job);
                    if self.results.get(job).is_some_and(|r| r.stale) {
                        // Fresh discovery replaces the warm state whole.
                        let results = self.populate_job(job, &snapshot);
                        self.results.insert(job.clone(), results);
                        continue;
                    }
                    match delta {
                        JobDelta::Reset => {
                            let results = self.populate_job(job, &snapshot);
                            self.results.insert(job.clone(), results);
                        }
                        JobDelta::Groups {
                            changed: groups,
                            removed,
                        } => {
                            let settings = self.settings.get(job).cloned();
                            let results =
                                self.results.entry(job.clone()).or_insert_with(
                                    || match &settings {
                                        Some(settings) => JobResults::new(settings),
                                        None => JobResults::default(),
                                    },
                                );
                            for key in removed {
                                results.remove(key);
                            }
                            if let Some(settings) = settings {
                                let groups = groups.iter().map(|(k, g)| (k.clone(), g)).collect();
                                for group in populate_groups(&settings.populate, groups) {
                                    results.insert_populated(group);
                                }
                            }
                            results.ready = targets.is_ready();
                        }
                    }
                }
            }
        }
        self.snapshot = Some(snapshot);
        self.count_stale();
        self.publish(&changed);
    }
}

impl Handler<SetJobs> for TargetsPipeline {
    type Result = ();

    fn handle(&mut self, msg: SetJobs, _: &mut Self::Context) {
        let old = std::mem::replace(&mut self.settings, msg.0);
        let changed: Vec<Str> = self
            .settings
            .iter()
            .filter(|(job, s)| old.get(*job).is_none_or(|o| o.fingerprint != s.fingerprint))
            .map(|(job, _)| job.clone())
            .collect();
        if let Some(snapshot) = self.snapshot.clone() {
            for job in &changed {
                if let Some(targets) = snapshot.job(job) {
                    let results = match self.populate_warm(job, targets.is_ready()) {
                        Some(warm) => warm,
                        None => self.populate_job(job, &snapshot),
                    };
                    self.results.insert(job.clone(), results);
                }
            }
            self.results
                .retain(|job, _| self.settings.contains_key(job));
            self.publish(&changed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::target_identity;

    /// A discovered target that the test pipeline keeps with exactly these labels, or drops.
    fn target(address: &str, extra: &[(&str, &str)], kept: bool) -> LabelSet {
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
        let kept = target.get("__drop__").is_none();
        TargetOutcome {
            identity: if kept {
                target_identity("j", target)
            } else {
                0
            },
            dropped_because: (!kept).then(|| Str::from("dropped")),
            labels: kept.then(|| target.clone()),
        }
    }

    /// Keeps each target as it is, unless it has `__drop__`.
    fn test_pipeline() -> JobPipeline {
        JobPipeline {
            populate: Arc::new(|g: &TargetGroup| g.targets.iter().map(outcome_of).collect()),
            discover: Arc::new(|g: &TargetGroup, i: usize| g.targets[i].clone()),
            fingerprint: "test".into(),
        }
    }

    fn insert(results: &mut JobResults, key: GroupKey, targets: Vec<LabelSet>) {
        let group = Arc::new(TargetGroup::new(
            key.source.clone(),
            targets,
            LabelSet::new(),
        ));
        results.populate(&test_pipeline(), key, &group);
    }

    fn results(groups: Vec<Vec<LabelSet>>) -> JobResults {
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

    /// The renderer as first written with serde_json: the reference for the bytes.
    fn serde_json_body(results: &JobResults, shard: Option<Shard>) -> Vec<u8> {
        let outcomes: Vec<TargetOutcome> = results
            .groups
            .values()
            .flat_map(|g| results.outcomes(g))
            .collect();
        let mut kept: Vec<(u64, &LabelSet)> = outcomes
            .iter()
            .filter_map(|t| t.labels.as_ref().map(|l| (t.identity, l)))
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

    fn many(n: usize) -> JobResults {
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
    fn populated_groups_keep_their_order_outcomes_and_discovered_group() {
        let pipeline = test_pipeline();
        let groups: Vec<(GroupKey, Arc<TargetGroup>)> = (0..5)
            .map(|g| {
                let targets = vec![
                    target(&format!("h{g}:1"), &[], true),
                    target(&format!("h{g}:2"), &[], g % 2 == 0),
                ];
                let key = GroupKey {
                    provider: Str::from("p"),
                    source: Str::from(format!("s{g}")),
                };
                let group = TargetGroup::new(key.source.clone(), targets, LabelSet::new());
                (key, Arc::new(group))
            })
            .collect();
        let borrowed = groups.iter().map(|(k, g)| (k.clone(), g)).collect();
        let populated = populate_groups(&pipeline.populate, borrowed);
        assert_eq!(populated.len(), groups.len());
        for ((key, group), populated) in groups.iter().zip(&populated) {
            assert_eq!(&populated.key, key, "in the order given");
            assert!(
                Arc::ptr_eq(&populated.outcomes.group, group),
                "shared, not copied"
            );
            let expected: Vec<(bool, u64)> = (pipeline.populate)(group)
                .iter()
                .map(|t| (t.labels.is_some(), t.identity))
                .collect();
            let kept: Vec<(bool, u64)> = populated
                .outcomes
                .iter()
                .map(|t| (t.is_kept(), t.identity))
                .collect();
            assert_eq!(kept, expected);
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
