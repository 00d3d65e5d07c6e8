//! The data every part of promsd passes around: label sets and target groups.
//!
//! At a million targets every byte per target counts, so a [`LabelSet`] is one boxed slice of
//! `(name, value)` pairs sorted by name. Names are [`Name`]s: interned process-wide (a handful
//! of distinct names serve millions of targets), one pointer each (see `name.rs`); values are
//! `Arc<str>`. A
//! [`TargetGroup`] serializes in Prometheus' target-group JSON shape:
//! `{"targets": ["host:port", ...], "labels": {...}}`.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, LazyLock, RwLock};

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::name::{interned_label_names, sweep_label_names, Name};

/// A shared immutable string: label values, sources, job names.
pub type Str = Arc<str>;

/// The label holding a target's `host:port`.
pub const ADDRESS_LABEL: &str = "__address__";

static STRS: LazyLock<RwLock<HashSet<Str>>> = LazyLock::new(Default::default);

/// Returns the process-wide shared copy of a string that repeats a lot (a label value such as
/// a hashmod result); label names are [`Name`]s.
pub fn intern(s: &str) -> Str {
    if let Some(found) = STRS.read().expect("interner poisoned").get(s) {
        return found.clone();
    }
    let mut strs = STRS.write().expect("interner poisoned");
    if let Some(found) = strs.get(s) {
        return found.clone();
    }
    let shared: Str = Arc::from(s);
    strs.insert(shared.clone());
    shared
}

/// Asks the CPU to bring the memory of `value` into its cache: a hint for loops over data
/// that lies all over the heap; no effect on the program's meaning.
#[inline(always)]
pub fn prefetch<T: ?Sized>(value: &T) {
    prefetch_range(
        (value as *const T).cast::<u8>(),
        std::mem::size_of_val(value),
    );
}

/// [`prefetch`] of `len` bytes from `start`, which is never dereferenced (any address will do).
#[inline(always)]
fn prefetch_range(start: *const u8, len: usize) {
    // From the start of the first cache line, so that the last line is asked for too.
    let misalignment = start as usize % 64;
    let start = start.wrapping_sub(misalignment);
    for offset in (0..len + misalignment).step_by(64) {
        prefetch_line(start.wrapping_add(offset));
    }
}

/// Asks for the cache line holding `address`, which is never dereferenced.
#[inline(always)]
fn prefetch_line(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint and never faults; the address is not dereferenced.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// A set of labels, sorted by name, each name at most once.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelSet(Box<[(Name, Str)]>);

impl LabelSet {
    /// The empty label set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a set from pairs in any order; a later pair with the same name wins.
    pub fn from_pairs<N, V, I>(pairs: I) -> Self
    where
        N: AsRef<str>,
        V: Into<Str>,
        I: IntoIterator<Item = (N, V)>,
    {
        LabelSet::from_labels(
            pairs
                .into_iter()
                .map(|(n, v)| (Name::new(n.as_ref()), v.into()))
                .collect(),
        )
    }

    /// [`from_pairs`](Self::from_pairs) for names already interned: pairs in any order, a
    /// later pair with the same name wins.
    pub fn from_labels(mut pairs: Vec<(Name, Str)>) -> Self {
        // Stable sort keeps insertion order among equal names; keep the last of each run.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Name, Str)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match out.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => out.push(pair),
            }
        }
        LabelSet(out.into_boxed_slice())
    }

    /// Builds a set from pairs already sorted by name with unique names (not checked in release).
    pub fn from_sorted(pairs: Vec<(Name, Str)>) -> Self {
        debug_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
        LabelSet(pairs.into_boxed_slice())
    }

    /// A target identified only by its address.
    pub fn from_address(address: impl Into<Str>) -> Self {
        LabelSet(Box::new([(Name::new(ADDRESS_LABEL), address.into())]))
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(n, v)| (&**n, &**v))
    }

    /// The pairs (interned names, shared values), sorted by name.
    pub fn pairs(&self) -> &[(Name, Str)] {
        &self.0
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The set has no label.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every label of this set and of `base`; where both have a name, this set's value wins. A
    /// target's labels over its group's, as Prometheus merges them (see
    /// [`TargetGroup::merged_targets`]).
    pub fn merged_over(&self, base: &LabelSet) -> LabelSet {
        if base.is_empty() {
            return self.clone();
        }
        let (mut mine, mut theirs) = (self.0.iter().peekable(), base.0.iter().peekable());
        let mut out: Vec<(Name, Str)> = Vec::with_capacity(self.len() + base.len());
        loop {
            let pair = match (mine.peek(), theirs.peek()) {
                (Some(a), Some(b)) => match a.0.cmp(&b.0) {
                    Ordering::Less => mine.next(),
                    Ordering::Greater => theirs.next(),
                    Ordering::Equal => {
                        theirs.next();
                        mine.next()
                    }
                },
                (Some(_), None) => mine.next(),
                (None, Some(_)) => theirs.next(),
                (None, None) => break,
            };
            out.extend(pair.cloned());
        }
        LabelSet(out.into_boxed_slice())
    }

    /// Asks the CPU to bring this set's pairs into its cache, and with `values` the shared
    /// strings of its values too (which needs the pairs: prefetch them a step earlier). A hint
    /// for loops over many label sets, which lie all over the heap; no effect on the meaning.
    #[inline]
    pub fn prefetch(&self, values: bool) {
        prefetch(&*self.0);
        if values {
            for (_, value) in self.0.iter() {
                // The reference counts sit just before the string.
                prefetch_line(Arc::as_ptr(value).cast::<u8>().wrapping_sub(16));
            }
        }
    }

    /// Heap bytes owned by this set alone, not counting interned names or values shared elsewhere.
    pub fn heap_size(&self) -> usize {
        self.0.len() * std::mem::size_of::<(Name, Str)>()
            + self
                .0
                .iter()
                .map(|(_, v)| 2 * std::mem::size_of::<usize>() + v.len())
                .sum::<usize>()
    }
}

impl fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl fmt::Display for LabelSet {
    /// Prometheus' notation: `{a="1", b="2"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (n, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}={v:?}")?;
        }
        f.write_str("}")
    }
}

impl<N: AsRef<str>, V: Into<Str>> FromIterator<(N, V)> for LabelSet {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        LabelSet::from_pairs(iter)
    }
}

impl Serialize for LabelSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (n, v) in self.iter() {
            map.serialize_entry(n, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for LabelSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LabelSetVisitor;
        impl<'de> Visitor<'de> for LabelSetVisitor {
            type Value = LabelSet;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of label names to string values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<LabelSet, E> {
                Ok(LabelSet::new())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<LabelSet, A::Error> {
                let mut pairs: Vec<(Name, Str)> =
                    Vec::with_capacity(access.size_hint().unwrap_or(4));
                while let Some((name, value)) = access.next_entry::<LabelName, LabelValue>()? {
                    // A repeated name keeps its last value, as Go's JSON decoder does.
                    match pairs.iter_mut().find(|(n, _)| *n == name.0) {
                        Some(pair) => pair.1 = value.0,
                        None => pairs.push((name.0, value.0)),
                    }
                }
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(LabelSet(pairs.into_boxed_slice()))
            }
        }
        deserializer.deserialize_map(LabelSetVisitor)
    }
}

/// A label name read from input: interned.
struct LabelName(Name);
impl<'de> Deserialize<'de> for LabelName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        // Prometheus 3.x accepts any non-empty UTF-8 label name.
        if s.is_empty() {
            return Err(de::Error::custom("\"\" is not a valid label name"));
        }
        Ok(LabelName(Name::new(&s)))
    }
}

/// A label value read from input. YAML scalars that are not strings (numbers, booleans) are
/// taken as their text, as Prometheus' YAML decoder does for string fields.
struct LabelValue(Str);
impl<'de> Deserialize<'de> for LabelValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LabelValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string label value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<LabelValue, E> {
                Ok(LabelValue(Arc::from(s)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LabelValue, E> {
                Ok(LabelValue(Arc::from("")))
            }
        }
        d.deserialize_str(V)
    }
}

/// A group of targets sharing labels, identified within its provider by `source`.
///
/// A group with no targets, sent by a discoverer, removes the group with that source.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct TargetGroup {
    /// Identifies the group within its provider (e.g. `path/to/file.json:0`).
    pub source: Str,
    /// The targets, each a label set (at least `__address__` for most mechanisms).
    pub targets: Vec<LabelSet>,
    /// Labels common to every target of the group; a target's own label wins.
    pub labels: LabelSet,
}

impl TargetGroup {
    /// A group with this source, targets and common labels.
    pub fn new(source: impl Into<Str>, targets: Vec<LabelSet>, labels: LabelSet) -> Self {
        TargetGroup {
            source: source.into(),
            targets,
            labels,
        }
    }

    /// The group that removes `source` when sent by a discoverer.
    pub fn removal(source: impl Into<Str>) -> Self {
        TargetGroup::new(source, Vec::new(), LabelSet::new())
    }

    /// Every target's labels merged with the group's labels (the target's own value wins, as
    /// in Prometheus), in target order: each target's discovered labels as a mechanism found
    /// them, before the defaults (`job`, `__scheme__`, ...) and relabeling that a scrape job
    /// applies (the `promsd` crate's `relabel` module does that).
    pub fn merged_targets(&self) -> impl ExactSizeIterator<Item = LabelSet> + '_ {
        self.targets.iter().map(|t| t.merged_over(&self.labels))
    }

    /// This group in the lossless form: see [`Lossless`].
    pub fn lossless(&self) -> Lossless<&TargetGroup> {
        Lossless(self)
    }

    /// Approximate heap bytes owned by this group (targets and labels), for memory accounting.
    pub fn heap_size(&self) -> usize {
        self.targets.capacity() * std::mem::size_of::<LabelSet>()
            + self.targets.iter().map(LabelSet::heap_size).sum::<usize>()
            + self.labels.heap_size()
    }
}

/// Prometheus' target-group shape: targets as their addresses, labels omitted when empty.
impl Serialize for TargetGroup {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Addresses<'a>(&'a [LabelSet]);
        impl Serialize for Addresses<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(|t| t.get(ADDRESS_LABEL).unwrap_or("")))
            }
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("targets", &Addresses(&self.targets))?;
        if !self.labels.is_empty() {
            map.serialize_entry("labels", &self.labels)?;
        }
        map.end()
    }
}

/// A target group in full, for embedders that serialize what they discovered:
/// `{"source": "...", "labels": {...}, "targets": [{"__address__": "a:1", ...}, ...]}`, every
/// target with all of its own labels.
///
/// `TargetGroup`'s own `Serialize` writes Prometheus' target-group shape (file and HTTP SD),
/// which keeps only each target's address: a Kubernetes pod's `__meta_*` labels, which sit on
/// the target, would be lost. Wrap a group (`Lossless(&group)`, or [`TargetGroup::lossless`])
/// to keep them; `Lossless<TargetGroup>` reads the same form back.
///
/// ```
/// use promsd_actors::{LabelSet, Lossless, TargetGroup};
///
/// let group = TargetGroup::new(
///     "pods",
///     vec![LabelSet::from_pairs([("__address__", "10.0.0.1:80"), ("__meta_pod", "web-1")])],
///     LabelSet::from_pairs([("namespace", "prod")]),
/// );
/// let json = serde_json::to_string(&group.lossless()).unwrap();
/// assert_eq!(
///     json,
///     r#"{"source":"pods","labels":{"namespace":"prod"},"targets":[{"__address__":"10.0.0.1:80","__meta_pod":"web-1"}]}"#
/// );
/// let back: Lossless<TargetGroup> = serde_json::from_str(&json).unwrap();
/// assert_eq!(back.0, group);
/// // Prometheus' shape keeps only the address:
/// assert_eq!(
///     serde_json::to_string(&group).unwrap(),
///     r#"{"targets":["10.0.0.1:80"],"labels":{"namespace":"prod"}}"#
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lossless<T>(pub T);

impl<G: Borrow<TargetGroup>> Serialize for Lossless<G> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let group = self.0.borrow();
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("source", &*group.source)?;
        map.serialize_entry("labels", &group.labels)?;
        map.serialize_entry("targets", &group.targets)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Lossless<TargetGroup> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(default)]
            source: String,
            #[serde(default)]
            labels: LabelSet,
            #[serde(default)]
            targets: Vec<LabelSet>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(Lossless(TargetGroup::new(
            raw.source,
            raw.targets,
            raw.labels,
        )))
    }
}

/// Reads Prometheus' target-group shape (`targets`, `labels`; other keys are errors, as in
/// Prometheus). The source is left empty: the mechanism that read the group names it.
impl<'de> Deserialize<'de> for TargetGroup {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(default)]
            targets: Option<Vec<LabelValueOwned>>,
            #[serde(default)]
            labels: Option<LabelSet>,
        }
        struct LabelValueOwned(Str);
        impl<'de> Deserialize<'de> for LabelValueOwned {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                LabelValue::deserialize(d).map(|v| LabelValueOwned(v.0))
            }
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(TargetGroup {
            source: Arc::from(""),
            targets: raw
                .targets
                .unwrap_or_default()
                .into_iter()
                .map(|a| LabelSet::from_address(a.0))
                .collect(),
            labels: raw.labels.unwrap_or_default(),
        })
    }
}

/// A label set as an ordered map, handy in tests and when building sets by hand.
pub fn labels_map(set: &LabelSet) -> BTreeMap<String, String> {
    set.iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_duplicate_wins_and_names_sorted() {
        let set = LabelSet::from_pairs([("b", "1"), ("a", "2"), ("b", "3")]);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![("a", "2"), ("b", "3")]);
        assert_eq!(set.get("b"), Some("3"));
        assert_eq!(set.get("c"), None);
    }

    #[test]
    fn names_are_interned() {
        let a = LabelSet::from_pairs([("job_name_x", "1")]);
        let b = LabelSet::from_pairs([("job_name_x", "2")]);
        assert_eq!(a.pairs()[0].0.addr(), b.pairs()[0].0.addr());
        assert_eq!(a.pairs()[0].0, Name::new("job_name_x"));
        assert_ne!(a.pairs()[0].0, Name::new("job_name_y"));
    }

    #[test]
    fn group_json_round_trip_in_prometheus_shape() {
        let json = r#"{"targets":["a:1","b:2"],"labels":{"env":"prod","dc":"x"}}"#;
        let group: TargetGroup = serde_json::from_str(json).unwrap();
        assert_eq!(group.targets.len(), 2);
        assert_eq!(group.targets[1].get(ADDRESS_LABEL), Some("b:2"));
        assert_eq!(
            serde_json::to_string(&group).unwrap(),
            r#"{"targets":["a:1","b:2"],"labels":{"dc":"x","env":"prod"}}"#
        );
        let bare: TargetGroup = serde_json::from_str(r#"{"targets":["a:1"]}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&bare).unwrap(),
            r#"{"targets":["a:1"]}"#
        );
    }

    #[test]
    fn merged_targets_keep_the_targets_own_values_over_the_groups() {
        let group = TargetGroup::new(
            "g",
            vec![
                LabelSet::from_pairs([("__address__", "a:1"), ("env", "canary"), ("z", "1")]),
                LabelSet::from_address("b:2"),
            ],
            LabelSet::from_pairs([("env", "prod"), ("dc", "x")]),
        );
        let merged: Vec<LabelSet> = group.merged_targets().collect();
        assert_eq!(
            merged[0],
            LabelSet::from_pairs([
                ("__address__", "a:1"),
                ("dc", "x"),
                ("env", "canary"),
                ("z", "1")
            ])
        );
        assert_eq!(
            merged[1],
            LabelSet::from_pairs([("__address__", "b:2"), ("dc", "x"), ("env", "prod")])
        );
    }

    #[test]
    fn the_lossless_form_keeps_per_target_labels_and_round_trips() {
        let group = TargetGroup::new(
            "src",
            vec![LabelSet::from_pairs([
                ("__address__", "a:1"),
                ("__meta_k", "v"),
            ])],
            LabelSet::new(),
        );
        let json = serde_json::to_string(&Lossless(&group)).unwrap();
        assert!(json.contains(r#""__meta_k":"v""#), "{json}");
        assert!(!serde_json::to_string(&group).unwrap().contains("__meta_k"));
        let back: Lossless<TargetGroup> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0, group);
        assert!(serde_json::from_str::<Lossless<TargetGroup>>(r#"{"extra":1}"#).is_err());
    }

    #[test]
    fn group_json_rejects_unknown_keys_and_keeps_last_duplicate_label() {
        assert!(serde_json::from_str::<TargetGroup>(r#"{"targets":[],"extra":1}"#).is_err());
        let group: TargetGroup =
            serde_json::from_str(r#"{"targets":[],"labels":{"a":"1","a":"2"}}"#).unwrap();
        assert_eq!(group.labels.get("a"), Some("2"));
    }

    #[test]
    fn an_empty_label_name_is_rejected_as_in_prometheus() {
        let err =
            serde_json::from_str::<TargetGroup>(r#"{"targets":[],"labels":{"":"x"}}"#).unwrap_err();
        assert!(
            err.to_string().contains("\"\" is not a valid label name"),
            "{err}"
        );
    }
}
