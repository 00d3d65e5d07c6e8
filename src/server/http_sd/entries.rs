//! One group's kept targets as HTTP SD JSON entries, rendered right after the group is
//! relabeled and shared by every view until the group changes. A job's body
//! ([`super::body`]) is these entries in identity order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use promsd_actors::{Str, ADDRESS_LABEL};

use crate::server::pipeline::{Outcome, TargetOutcome};
use crate::shard::ShardOwner;

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
pub(crate) struct GroupEntries {
    /// Every distinct piece, back to back.
    pub(super) text: Box<[u8]>,
    /// Where piece `i` ends in `text` (it starts where piece `i - 1` ends).
    pub(super) piece_ends: Box<[u32]>,
    /// The pieces of every entry in turn: entry `e`'s are `layout[e.first..next.first]`.
    layout: Box<[u32]>,
    pub(super) entries: Box<[Entry]>,
    /// The shard of each entry for the shard count last asked for.
    owners: Mutex<Option<(u32, Arc<[u32]>)>>,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Entry {
    pub(super) identity: u64,
    /// xxh3 of the entry's text: bodies' ETags are computed from these.
    pub(super) hash: u64,
    /// Its first piece in `layout`.
    first: u32,
    /// The length of its text.
    pub(super) len: u32,
}

/// Piece `number` of `text`, whose pieces end at `piece_ends`.
fn piece<'a>(text: &'a [u8], piece_ends: &[u32], number: u32) -> &'a [u8] {
    let number = number as usize;
    let start = match number {
        0 => 0,
        n => piece_ends[n - 1] as usize,
    };
    &text[start..piece_ends[number] as usize]
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
        piece(&self.text, &self.piece_ends, number)
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
    pub(crate) fn render(outcomes: &[TargetOutcome]) -> GroupEntries {
        let mut table = PieceTable::new();
        let mut layout: Vec<u32> = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        let (mut piece, mut whole) = (Vec::with_capacity(256), Vec::with_capacity(1024));
        for outcome in outcomes {
            let Outcome::Kept { labels, identity } = outcome else {
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
                identity: *identity,
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
        piece(&self.text, &self.piece_ends, number)
    }

    /// The piece numbers of entry `e`: its address, then its labels.
    pub(super) fn pieces(&self, e: usize) -> &[u32] {
        let end = self
            .entries
            .get(e + 1)
            .map_or(self.layout.len(), |next| next.first as usize);
        &self.layout[self.entries[e].first as usize..end]
    }

    /// Appends entry `e`'s text to `out`.
    pub(super) fn write(&self, e: usize, out: &mut Vec<u8>) {
        let pieces = self.pieces(e);
        out.reserve(self.entries[e].len as usize);
        out.extend_from_slice(b"{\"targets\":[");
        out.extend_from_slice(self.piece(pieces[0]));
        out.extend_from_slice(b"],\"labels\":{");
        for (j, &number) in pieces[1..].iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(self.piece(number));
        }
        out.extend_from_slice(b"}}");
    }

    /// Entry `e`'s text.
    pub(super) fn text(&self, e: usize) -> Vec<u8> {
        let mut text = Vec::with_capacity(self.entries[e].len as usize);
        self.write(e, &mut text);
        text
    }

    /// The shard of each entry among `owner`'s shards; kept for the next view while the group
    /// is unchanged, so that a change costs shard assignment of the changed groups only.
    pub(super) fn owners(&self, owner: &ShardOwner) -> Arc<[u32]> {
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
