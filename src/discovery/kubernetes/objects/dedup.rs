//! Interning per watch: what repeats across objects (strings, label and annotation sets, pods'
//! container specs) is stored once and shared, so the store of a whole cluster stays small.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use promsd_actors::intern;

use super::pod::ContainerSpecs;
use super::Str;

/// A string that repeats across objects (a namespace, a label key or value, an image, a node
/// name), deduplicated per watch by [`Dedup`]: a thin pointer (8 bytes, half an [`Str`]) to
/// the one shared [`Str`], which is also what the labels built from it hold.
#[derive(Clone)]
pub struct Sym(Arc<Str>);

impl Sym {
    /// The shared string, to put in a label (no copy).
    pub fn str(&self) -> &Str {
        &self.0
    }
}

impl std::ops::Deref for Sym {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Sym {
    fn eq(&self, other: &Sym) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}

impl Eq for Sym {}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self.0, f)
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&Sym> for Str {
    fn from(s: &Sym) -> Str {
        s.0.as_ref().clone()
    }
}

impl std::hash::Hash for Sym {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (**self.0).hash(h)
    }
}

impl std::borrow::Borrow<str> for Sym {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Labels or annotations: (key, value) pairs sorted by key. The same set repeats on every
/// replica of a workload, so it is deduplicated as a whole.
pub type Pairs = Arc<[(Sym, Sym)]>;

/// Deduplicates what repeats across the objects of one watch: strings, label and annotation
/// sets, pods' container specs.
#[derive(Default)]
pub struct Dedup {
    strings: SharedSet<Sym>,
    pairs: SharedSet<Pairs>,
    containers: SharedSet<Arc<ContainerSpecs>>,
}

/// Deduplicated values of one type. Values no object holds any more are dropped when the set
/// has doubled since the last sweep.
struct SharedSet<E> {
    set: HashSet<E>,
    sweep_at: usize,
}

impl<E> Default for SharedSet<E> {
    fn default() -> Self {
        SharedSet {
            set: HashSet::new(),
            sweep_at: 0,
        }
    }
}

/// A shared value: how many hold it (the set's own copy included).
trait Holders {
    fn holders(&self) -> usize;
}

impl Holders for Sym {
    fn holders(&self) -> usize {
        Arc::strong_count(&self.0)
    }
}

impl<T: ?Sized> Holders for Arc<T> {
    fn holders(&self) -> usize {
        Arc::strong_count(self)
    }
}

impl<E: Holders + Clone + Eq + std::hash::Hash> SharedSet<E> {
    /// The shared copy of `value`, made by `make` when there is none yet.
    fn get<Q>(&mut self, value: &Q, make: impl FnOnce(&Q) -> E) -> E
    where
        E: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        if let Some(found) = self.set.get(value) {
            return found.clone();
        }
        let shared = make(value);
        self.set.insert(shared.clone());
        if self.set.len() > self.sweep_at.max(1024) {
            self.set.retain(|e| e.holders() > 1);
            self.sweep_at = self.set.len() * 2;
        }
        shared
    }
}

impl Dedup {
    pub fn get(&mut self, s: &str) -> Sym {
        self.strings.get(s, |s| Sym(Arc::new(Arc::from(s))))
    }

    pub(super) fn opt(&mut self, s: &Option<String>) -> Sym {
        self.get(s.as_deref().unwrap_or(""))
    }

    pub(super) fn pairs(&mut self, wire: Vec<(String, String)>) -> Pairs {
        let pairs: Vec<(Sym, Sym)> = wire
            .iter()
            .map(|(k, v)| (self.get(k), self.get(v)))
            .collect();
        self.pairs.get(&pairs[..], |p| p.into())
    }

    pub(super) fn containers(&mut self, specs: ContainerSpecs) -> Arc<ContainerSpecs> {
        self.containers.get(&specs, |s| Arc::new(s.clone()))
    }
}

pub(super) fn own(s: Option<String>) -> Str {
    Arc::from(s.unwrap_or_default())
}

pub(super) fn empty() -> Str {
    intern("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_shares_repeated_values() {
        let mut d = Dedup::default();
        let a = d.get("nginx:1.25");
        let b = d.get("nginx:1.25");
        assert!(Arc::ptr_eq(a.str(), b.str()));
    }
}
