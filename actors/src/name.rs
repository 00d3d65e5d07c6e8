//! Label names, interned: one copy of each distinct name in use, so that two names are equal
//! exactly when they point to the same copy, and a name costs one pointer per label.
//!
//! The interner holds only names that something still holds (within a constant factor): an
//! HTTP SD server inventing thousands of new label names on every refresh must not grow promsd
//! for ever. Each copy carries a count of the [`Name`]s pointing to it; a name nobody holds is
//! freed by the next sweep, which runs when the interner has doubled since the last one (so
//! its cost is amortized over the insertions, and the names held are at least half of it).
//!
//! Counting would put two atomic operations per label on the relabel hot path (a label set
//! copied, then dropped), so a name held by many label sets at once (`PROMOTE_AT`) becomes
//! *immortal*: its count is no longer kept and it is never freed. At most `IMMORTAL_CAP`
//! names are promoted for the life of the process, so the memory of the immortal ones is
//! bounded too; past the cap names are counted as any other.

use std::alloc::{self, Layout};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{LazyLock, RwLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Set in an entry's count when it is immortal; counts never reach it otherwise.
const IMMORTAL: usize = 1 << (usize::BITS - 1);
/// Holders at which a name is promoted to immortal.
const PROMOTE_AT: usize = 1 << 10;
/// Names promoted for the life of the process, at most.
const IMMORTAL_CAP: usize = 4096;
/// The interner is swept when it has more entries than this, at least.
const MIN_SWEEP_AT: usize = 1024;

/// One interned name: its holders' count, then its length and bytes in the same allocation.
#[repr(C)]
struct Entry {
    count: AtomicUsize,
    len: usize,
}

impl Entry {
    fn layout(len: usize) -> Layout {
        Layout::new::<Entry>()
            .extend(Layout::array::<u8>(len).expect("label name length"))
            .expect("label name length")
            .0
            .pad_to_align()
    }

    /// A new entry for `text` with one holder.
    fn allocate(text: &str) -> NonNull<Entry> {
        let layout = Entry::layout(text.len());
        // SAFETY: the layout has a non-zero size (the header); the header is written before
        // anything reads it and the bytes are copied right after it, within the allocation.
        unsafe {
            let ptr = alloc::alloc(layout).cast::<Entry>();
            let Some(ptr) = NonNull::new(ptr) else {
                alloc::handle_alloc_error(layout)
            };
            ptr.as_ptr().write(Entry {
                count: AtomicUsize::new(1),
                len: text.len(),
            });
            std::ptr::copy_nonoverlapping(
                text.as_ptr(),
                ptr.as_ptr().add(1).cast::<u8>(),
                text.len(),
            );
            ptr
        }
    }

    /// Frees an entry that no [`Name`] points to.
    ///
    /// # Safety
    /// `entry` came from [`Entry::allocate`], is no longer in the interner and nothing holds it.
    unsafe fn free(entry: NonNull<Entry>) {
        let layout = Entry::layout(entry.as_ref().len);
        alloc::dealloc(entry.as_ptr().cast::<u8>(), layout);
    }

    fn text(&self) -> &str {
        // SAFETY: `allocate` copied `len` bytes of a `str` right after the header.
        unsafe {
            let bytes = (self as *const Entry).add(1).cast::<u8>();
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(bytes, self.len))
        }
    }

    /// One more holder. Promotes the entry to immortal when it reaches `PROMOTE_AT` holders.
    #[inline]
    fn acquire(&self) {
        if self.count.load(AtomicOrdering::Relaxed) & IMMORTAL != 0 {
            return;
        }
        let before = self.count.fetch_add(1, AtomicOrdering::Relaxed);
        if before == PROMOTE_AT {
            self.promote();
        }
    }

    #[cold]
    fn promote(&self) {
        let promoted = PROMOTED.fetch_add(1, AtomicOrdering::Relaxed);
        if promoted < IMMORTAL_CAP {
            self.count.fetch_or(IMMORTAL, AtomicOrdering::Relaxed);
        } else {
            PROMOTED.fetch_sub(1, AtomicOrdering::Relaxed);
        }
    }

    /// One holder fewer. The entry is freed by a later sweep if it was the last.
    #[inline]
    fn release(&self) {
        if self.count.load(AtomicOrdering::Relaxed) & IMMORTAL != 0 {
            return;
        }
        self.count.fetch_sub(1, AtomicOrdering::Release);
    }
}

static PROMOTED: AtomicUsize = AtomicUsize::new(0);

/// A pointer to an entry of the interner, hashed and compared as its text so that the set
/// can be searched with a `&str`.
struct Slot(NonNull<Entry>);

impl Slot {
    fn entry(&self) -> &Entry {
        // SAFETY: entries in the interner are live (only a sweep frees them, after removal).
        unsafe { self.0.as_ref() }
    }
}

impl Borrow<str> for Slot {
    fn borrow(&self) -> &str {
        self.entry().text()
    }
}

impl PartialEq for Slot {
    fn eq(&self, other: &Slot) -> bool {
        self.0 == other.0
    }
}

impl Eq for Slot {}

impl Hash for Slot {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.entry().text().hash(state)
    }
}

struct Interner {
    slots: HashSet<Slot>,
    /// The next insertion past this many entries sweeps.
    sweep_at: usize,
}

// SAFETY: the entries are immutable but for their atomic counts.
unsafe impl Send for Interner {}
unsafe impl Sync for Interner {}

static INTERNER: LazyLock<RwLock<Interner>> = LazyLock::new(|| {
    RwLock::new(Interner {
        slots: HashSet::new(),
        sweep_at: MIN_SWEEP_AT,
    })
});

impl Interner {
    /// Frees every entry that nothing holds.
    fn sweep(&mut self) {
        self.slots.retain(|slot| {
            // Acquire: every holder's use of the entry happens before its release.
            if slot.entry().count.load(AtomicOrdering::Acquire) != 0 {
                return true;
            }
            // SAFETY: no Name points to it (count 0), and no new one can be made from the
            // interner while we hold its write lock; it is removed from the set right here.
            unsafe { Entry::free(slot.0) };
            false
        });
        self.sweep_at = (2 * self.slots.len()).max(MIN_SWEEP_AT);
    }
}

/// How many label names the interner holds now (in use, immortal, or released since the last
/// sweep): bounded by about twice the names in use.
pub fn interned_label_names() -> usize {
    INTERNER.read().expect("interner poisoned").slots.len()
}

/// Frees now the interned names nobody holds (sweeps otherwise run as the interner grows);
/// returns how many names it holds after.
pub fn sweep_label_names() -> usize {
    let mut interner = INTERNER.write().expect("interner poisoned");
    interner.sweep();
    interner.slots.len()
}

/// A label name, interned (see the module's documentation): equal to another exactly when it
/// is the same copy; its hash is its text's, so maps keyed by names can be searched with a
/// `&str`. Cloning one is copying a pointer (and, for a name held by few, counting a holder).
pub struct Name(NonNull<Entry>);

// SAFETY: an entry is immutable but for its atomic count, and lives while a Name points to it.
unsafe impl Send for Name {}
unsafe impl Sync for Name {}

impl Name {
    /// The interned copy of `s`.
    pub fn new(s: &str) -> Name {
        {
            let interner = INTERNER.read().expect("interner poisoned");
            if let Some(slot) = interner.slots.get(s) {
                // Under the read lock: no sweep can free the entry in between.
                slot.entry().acquire();
                return Name(slot.0);
            }
        }
        let mut interner = INTERNER.write().expect("interner poisoned");
        if let Some(slot) = interner.slots.get(s) {
            slot.entry().acquire();
            return Name(slot.0);
        }
        if interner.slots.len() >= interner.sweep_at {
            interner.sweep();
        }
        let entry = Entry::allocate(s);
        interner.slots.insert(Slot(entry));
        Name(entry)
    }

    #[inline]
    fn entry(&self) -> &Entry {
        // SAFETY: this Name counts as a holder (or the entry is immortal), so it is not freed.
        unsafe { self.0.as_ref() }
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        self.entry().text()
    }

    /// The address of the one copy: a key for caches of per-name facts. Another name may
    /// reuse it once this one is freed, so a cache keyed by it must hold the `Name` too.
    pub fn addr(&self) -> usize {
        self.0.as_ptr() as usize
    }
}

impl Clone for Name {
    #[inline]
    fn clone(&self) -> Name {
        self.entry().acquire();
        Name(self.0)
    }
}

impl Drop for Name {
    #[inline]
    fn drop(&mut self) {
        self.entry().release();
    }
}

impl Deref for Name {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Name {
    #[inline]
    fn eq(&self, other: &Name) -> bool {
        self.0 == other.0
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Ord for Name {
    /// Byte-wise (code point) order of the names, as Prometheus sorts labels.
    fn cmp(&self, other: &Name) -> Ordering {
        if self == other {
            Ordering::Equal
        } else {
            self.as_str().cmp(other.as_str())
        }
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Name {
    /// As the text hashes, so that maps keyed by names can be searched with a `&str`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::new(s)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Name::new(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_share_one_copy_and_order_by_text() {
        let a = Name::new("name_test_a");
        let b = Name::new(&String::from("name_test_a"));
        let c = Name::new("name_test_b");
        assert_eq!(a, b);
        assert_eq!(a.addr(), b.addr());
        assert_ne!(a, c);
        assert!(a < c);
        assert_eq!(&*a, "name_test_a");
        assert_eq!(a.clone(), a);
    }

    #[test]
    fn names_nobody_holds_are_freed_by_a_sweep() {
        let kept = Name::new("name_test_kept_across_sweeps");
        for round in 0..20 {
            let held: Vec<Name> = (0..5_000)
                .map(|i| Name::new(&format!("name_test_invented_{round}_{i}")))
                .collect();
            assert!(held.iter().all(|n| n.starts_with("name_test_invented_")));
        }
        let after = sweep_label_names();
        // Other tests of this process hold a few names; none of the 100,000 invented ones.
        assert!(after < 1_000, "{after} names interned after the sweep");
        assert_eq!(&*kept, "name_test_kept_across_sweeps");
        assert_eq!(Name::new("name_test_kept_across_sweeps"), kept);
    }

    #[test]
    fn a_name_held_by_many_stops_being_counted_and_stays() {
        let name = Name::new("name_test_popular");
        let holders: Vec<Name> = (0..PROMOTE_AT + 1).map(|_| name.clone()).collect();
        assert!(name.entry().count.load(AtomicOrdering::Relaxed) & IMMORTAL != 0);
        drop(holders);
        drop(name);
        sweep_label_names();
        let again = Name::new("name_test_popular");
        assert!(again.entry().count.load(AtomicOrdering::Relaxed) & IMMORTAL != 0);
    }
}
