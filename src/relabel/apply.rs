//! Applying relabel rules to a target's labels, exactly as Prometheus' `relabel.ProcessBuilder`.
//!
//! Rules work on a [`LabelBuilder`]: a small sorted vector of `(name, value)` that a caller
//! reuses from target to target, together with the scratch buffers the rules need, so that a
//! rule which changes nothing allocates nothing. As in Prometheus' `labels.Builder`, setting an
//! empty value deletes the label and reading a missing label gives `""`.
//!
//! One deliberate choice where Prometheus is not deterministic: when `labelmap` maps two labels
//! onto the same name, Prometheus keeps the one it visits last, in an order that depends on Go's
//! map iteration; here labels are visited in name order, so the greatest source name wins.

use std::cell::Cell;
use std::cmp::Ordering;
use std::fmt;

use md5::{Digest, Md5};
use promsd_actors::model::{intern, LabelSet, Name, Str};

use super::config::{Action, RelabelConfig};
use super::gofmt::{to_lower, to_upper};
use super::regexp::Slots;

/// A target's labels while rules run, plus reusable scratch space.
#[derive(Clone, Default)]
pub struct LabelBuilder {
    labels: Vec<(Name, Str)>,
    /// Boxed so that taking it out while rules run moves a pointer, not the buffers.
    scratch: Option<Box<Scratch>>,
    /// A second vector for merges, kept for its capacity.
    spare: Vec<(Name, Str)>,
    hints: PositionHints,
}

/// Where each recently looked-up name was last found, or would have been inserted: targets of
/// one job have mostly the same label names, so a name is nearly always at the same index as in
/// the previous target, counted from the start (names before those that vary) or from the end
/// (names after them). A hint is only a guess, checked before use (the name at that index is
/// the very same name, or the index is between a smaller and a greater name), so a stale hint
/// costs a search, never a wrong answer. Two-way set-associative, keyed by the name's address.
#[derive(Clone)]
struct PositionHints(Box<[Cell<Hint>; HINT_SLOTS]>);

#[derive(Clone, Copy, Default)]
struct Hint {
    /// The name's address.
    key: usize,
    from_start: u32,
    from_end: u32,
}

/// Slots in [`PositionHints`] (a power of two).
const HINT_SLOTS: usize = 256;

impl Default for PositionHints {
    fn default() -> Self {
        PositionHints(Box::new(std::array::from_fn(|_| Cell::default())))
    }
}

impl PositionHints {
    /// The hint for `key`, if any: two-way, so that two names whose addresses hash alike do
    /// not keep evicting each other.
    fn get(&self, key: usize) -> Option<Hint> {
        let h = Self::set_of(key);
        [&self.0[h], &self.0[h + 1]]
            .into_iter()
            .map(Cell::get)
            .find(|hint| hint.key == key)
    }

    fn put(&self, hint: Hint) {
        let h = Self::set_of(hint.key);
        let (first, second) = (&self.0[h], &self.0[h + 1]);
        if second.get().key == hint.key {
            second.set(hint);
        } else {
            if first.get().key != hint.key {
                second.set(first.get());
            }
            first.set(hint);
        }
    }

    /// The first of the two slots `key` may be in.
    fn set_of(key: usize) -> usize {
        let h =
            (key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - HINT_SLOTS.trailing_zeros());
        h as usize & !1
    }
}

#[derive(Clone, Default)]
struct Scratch {
    joined: String,
    target: String,
    value: String,
    slots: Slots,
    pending: Vec<(Name, Str)>,
    names: NameCache,
}

/// What a name-based rule (`labelmap`, `labeldrop`, `labelkeep`) decided for a label name:
/// `None` when the regex does not match, else the mapped name (for `labelmap`; the name itself
/// for the others). A direct-mapped cache keyed by (rule id, name); names are interned and an
/// entry holds its name, so a name's address identifies it while the entry lives. Label names repeat across targets, so most
/// lookups hit.
#[derive(Clone, Default)]
struct NameCache {
    slots: Vec<Option<NameEntry>>,
}

#[derive(Clone)]
struct NameEntry {
    rule: u64,
    name: Name,
    decision: Option<Name>,
}

/// Entries in the cache (a power of two).
const NAME_CACHE_SLOTS: usize = 4096;

impl NameCache {
    fn get_or(
        &mut self,
        rule: u64,
        name: &Name,
        decide: impl FnOnce() -> Option<Name>,
    ) -> Option<&Name> {
        if self.slots.is_empty() {
            self.slots = vec![None; NAME_CACHE_SLOTS];
        }
        let ptr = name.addr() as u64;
        let hash = (ptr ^ rule.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = &mut self.slots[(hash >> 52) as usize & (NAME_CACHE_SLOTS - 1)];
        match slot {
            Some(e) if e.rule == rule && e.name == *name => {}
            _ => {
                *slot = Some(NameEntry {
                    rule,
                    name: name.clone(),
                    decision: decide(),
                })
            }
        }
        slot.as_ref().and_then(|e| e.decision.as_ref())
    }
}

impl fmt::Debug for LabelBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.labels.iter().map(|(n, v)| (&**n, &**v)))
            .finish()
    }
}

impl LabelBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder holding `labels` (empty values are left out, as Prometheus' builder does).
    pub fn from_label_set(labels: &LabelSet) -> Self {
        let mut b = Self::new();
        b.reset(labels);
        b
    }

    /// Replaces the contents with `labels`, keeping the allocations.
    pub fn reset(&mut self, labels: &LabelSet) {
        self.labels.clear();
        let pairs = labels.pairs();
        if pairs.iter().all(|(_, v)| !v.is_empty()) {
            self.labels.extend_from_slice(pairs);
        } else {
            self.labels
                .extend(pairs.iter().filter(|(_, v)| !v.is_empty()).cloned());
        }
    }

    /// Empties the builder, keeping the allocations.
    pub fn clear(&mut self) {
        self.labels.clear();
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.labels
            .binary_search_by(|(n, _)| compare_bytes(n.as_bytes(), name.as_bytes()))
    }

    /// Like `find`, but the very same (interned) name is recognized without comparing bytes,
    /// and the position it had last time is tried first.
    fn find_name(&self, name: &Name) -> Result<usize, usize> {
        let key = name.addr();
        if let Some(hint) = self.hints.get(key) {
            let len = self.labels.len();
            let from_start = hint.from_start as usize;
            if let Some(found) = self.check_hint(name, key, from_start) {
                return found;
            }
            if let Some(i) = len.checked_sub(hint.from_end as usize) {
                if i != from_start {
                    if let Some(found) = self.check_hint(name, key, i) {
                        return found;
                    }
                }
            }
        }
        let found = self.find_name_unhinted(name);
        let i = found.unwrap_or_else(|i| i);
        self.hints.put(Hint {
            key,
            from_start: i as u32,
            from_end: (self.labels.len() - i) as u32,
        });
        found
    }

    /// Whether `name` is at `i` (`Ok`) or belongs at `i` (`Err`); `None` when neither.
    #[inline]
    fn check_hint(&self, name: &Name, key: usize, i: usize) -> Option<Result<usize, usize>> {
        let labels = &self.labels;
        match labels.get(i) {
            Some((n, _)) if n.addr() == key => return Some(Ok(i)),
            None if i > labels.len() => return None,
            _ => {}
        }
        let after_previous = i == 0 || compare_names(&labels[i - 1].0, name) == Ordering::Less;
        let before_next = i == labels.len() || compare_names(name, &labels[i].0) == Ordering::Less;
        (after_previous && before_next).then_some(Err(i))
    }

    /// A binary search in which the very same name is recognized by its address (a `Name` is
    /// equal to another exactly when it is the same copy).
    fn find_name_unhinted(&self, name: &Name) -> Result<usize, usize> {
        self.labels
            .binary_search_by(|(n, _)| compare_names(n, name))
    }

    /// The value of `name`, `""` when missing (Prometheus' `Builder.Get`).
    pub fn get(&self, name: &str) -> &str {
        self.find(name).map_or("", |i| &*self.labels[i].1)
    }

    /// [`get`](Self::get) for a [`Name`], faster.
    pub fn get_name(&self, name: &Name) -> &str {
        self.find_name(name).map_or("", |i| &*self.labels[i].1)
    }

    pub(crate) fn get_shared(&self, name: &Name) -> Option<&Str> {
        self.find_name(name).ok().map(|i| &self.labels[i].1)
    }

    /// Sets `name` to `value`; an empty value deletes `name`.
    pub fn set(&mut self, name: &Name, value: Str) {
        match (self.find_name(name), value.is_empty()) {
            (Ok(i), false) => self.labels[i].1 = value,
            (Err(i), false) => self.labels.insert(i, (name.clone(), value)),
            (Ok(i), true) => {
                self.labels.remove(i);
            }
            (Err(_), true) => {}
        }
    }

    /// Removes `name` if present.
    pub fn del(&mut self, name: &str) {
        if let Ok(i) = self.find(name) {
            self.labels.remove(i);
        }
    }

    /// Removes every label whose name starts with `prefix` (one contiguous range: names are
    /// sorted).
    pub fn remove_prefixed(&mut self, prefix: &str) {
        let start = self.labels.partition_point(|(n, _)| {
            compare_bytes(n.as_bytes(), prefix.as_bytes()) == Ordering::Less
        });
        let len = self.labels[start..].partition_point(|(n, _)| n.starts_with(prefix));
        self.labels.drain(start..start + len);
    }

    /// Keeps only the labels for which `keep(name)` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.labels.retain(|(n, _)| keep(n));
    }

    /// The labels, sorted by name.
    pub fn pairs(&self) -> &[(Name, Str)] {
        &self.labels
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// A label set of the current contents.
    pub fn to_label_set(&self) -> LabelSet {
        LabelSet::from_sorted(self.labels.clone())
    }

    /// Moves the contents out as a label set, leaving the builder empty (cheaper than
    /// [`to_label_set`](Self::to_label_set): no reference counts change).
    pub fn take_label_set(&mut self) -> LabelSet {
        // An exact-size vector, so that the label set takes it without reallocating; the
        // builder keeps its own capacity for the next target.
        let mut labels = Vec::with_capacity(self.labels.len());
        labels.append(&mut self.labels);
        LabelSet::from_sorted(labels)
    }

    /// Adds the pairs of `sorted` (sorted by name, unique) whose names are not present; pairs
    /// with an empty value are no labels.
    pub(crate) fn merge_sorted_absent(&mut self, sorted: &[(Name, Str)]) {
        let mut spare = std::mem::take(&mut self.spare);
        spare.clear();
        spare.reserve(self.labels.len() + sorted.len());
        let mut extra = sorted.iter().filter(|(_, v)| !v.is_empty()).peekable();
        for pair in self.labels.drain(..) {
            while let Some(next) =
                extra.next_if(|(n, _)| compare_names(n, &pair.0) == Ordering::Less)
            {
                spare.push(next.clone());
            }
            extra.next_if(|(n, _)| compare_names(n, &pair.0) == Ordering::Equal);
            spare.push(pair);
        }
        spare.extend(extra.cloned());
        self.spare = std::mem::replace(&mut self.labels, spare);
    }

    /// Appends pairs known to be sorted, unique, greater than every present name and non-empty.
    pub(crate) fn push_sorted_unchecked(&mut self, name: Name, value: Str) {
        debug_assert!(self.labels.last().is_none_or(|(n, _)| *n < name));
        self.labels.push((name, value));
    }
}

/// Label-name order, recognizing the very same (interned) name without reading it.
#[inline]
pub(crate) fn compare_names(a: &Name, b: &Name) -> Ordering {
    if a == b {
        Ordering::Equal
    } else {
        compare_bytes(a.as_bytes(), b.as_bytes())
    }
}

/// Byte-wise (so UTF-8 code point) order, 8 bytes at a time: label names share long prefixes
/// (`__meta_kubernetes_pod_`), where this beats a call to `memcmp`.
#[inline]
pub(crate) fn compare_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_be_bytes(a[i..i + 8].try_into().expect("8 bytes"));
        let y = u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if x != y {
            return x.cmp(&y);
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
    }
    a.len().cmp(&b.len())
}

/// A target dropped by a `keep`, `drop`, `keepequal` or `dropequal` rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dropped {
    /// Index of the rule in its list.
    pub rule: usize,
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dropped by relabel rule {}", self.rule)
    }
}

impl std::error::Error for Dropped {}

/// Applies `rules` in order to `lb` (Prometheus' `ProcessBuilder`); stops at the rule that drops
/// the target.
pub fn process(rules: &[RelabelConfig], lb: &mut LabelBuilder) -> Result<(), Dropped> {
    let mut scratch = lb.scratch.take().unwrap_or_default();
    let result = rules
        .iter()
        .position(|rule| !apply_rule_with(rule, lb, &mut scratch))
        .map_or(Ok(()), |i| Err(Dropped { rule: i }));
    lb.scratch = Some(scratch);
    result
}

/// Relabels a label set: the resulting labels, or the rule that dropped it.
pub fn relabel(rules: &[RelabelConfig], labels: &LabelSet) -> Result<LabelSet, Dropped> {
    let mut lb = LabelBuilder::from_label_set(labels);
    process(rules, &mut lb)?;
    Ok(lb.take_label_set())
}

/// One step of [`relabel_steps`]: the labels after a rule, or `None` if that rule dropped them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub rule: usize,
    pub labels: Option<LabelSet>,
}

/// The labels after each rule, for showing how a target came out as it did. Stops after the
/// rule that drops the target (that step has `labels: None`).
pub fn relabel_steps(rules: &[RelabelConfig], labels: &LabelSet) -> Vec<Step> {
    let mut lb = LabelBuilder::from_label_set(labels);
    let mut steps = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        if apply_rule(rule, &mut lb) {
            steps.push(Step {
                rule: i,
                labels: Some(lb.to_label_set()),
            });
        } else {
            steps.push(Step {
                rule: i,
                labels: None,
            });
            break;
        }
    }
    steps
}

/// The decimal text of a `hashmod` result; small moduli share interned strings.
fn hashmod_value(n: u64, modulus: u64) -> Str {
    let text = n.to_string();
    if modulus <= 4096 {
        intern(&text)
    } else {
        Str::from(text)
    }
}

/// Prometheus' `relabel`: applies one rule, false when it drops the target.
fn apply_rule(rule: &RelabelConfig, lb: &mut LabelBuilder) -> bool {
    let mut scratch = lb.scratch.take().unwrap_or_default();
    let keep = apply_rule_with(rule, lb, &mut scratch);
    lb.scratch = Some(scratch);
    keep
}

fn apply_rule_with(rule: &RelabelConfig, lb: &mut LabelBuilder, sc: &mut Scratch) -> bool {
    // The joined source values. With one source label, its value is borrowed, so that a rule
    // that only reads it touches no reference count and one that copies it whole allocates
    // nothing.
    let sources = rule.source_labels();
    let single: Option<&Str> = match sources {
        [one] => lb.get_shared(one),
        _ => None,
    };
    let val: &str = match sources {
        [] => "",
        [_] => single.map_or("", |v| &**v),
        many => {
            sc.joined.clear();
            for (i, name) in many.iter().enumerate() {
                if i > 0 {
                    sc.joined.push_str(rule.separator());
                }
                sc.joined.push_str(lb.get_name(name));
            }
            &sc.joined
        }
    };
    let regex = rule.regex();
    let compiled = &rule.compiled;

    match rule.action() {
        Action::Drop => {
            if regex.is_match_in(val, &mut sc.slots) {
                return false;
            }
        }
        Action::Keep => {
            if !regex.is_match_in(val, &mut sc.slots) {
                return false;
            }
        }
        Action::DropEqual => {
            if lb.get_name(rule.target_label_name()) == val {
                return false;
            }
        }
        Action::KeepEqual => {
            if lb.get_name(rule.target_label_name()) != val {
                return false;
            }
        }
        Action::Replace => {
            // Fast path to add or delete a label.
            if val.is_empty()
                && regex.is_default_instance()
                && !compiled.target_has_var
                && !compiled.replacement_has_var
            {
                lb.set(rule.target_label_name(), rule.replacement_shared().clone());
                return true;
            }
            if !regex.captures_at(val, 0, &mut sc.slots) {
                return true;
            }
            let templated: Name;
            let target: &Name = if compiled.target_has_var {
                sc.target.clear();
                compiled
                    .target_template
                    .expand(val, &sc.slots, &mut sc.target);
                if !rule.name_validation().is_valid_label_name(&sc.target) {
                    return true;
                }
                templated = Name::new(&sc.target);
                &templated
            } else {
                rule.target_label_name()
            };
            let value: Str = if let Some(lit) = &compiled.replacement_literal {
                if lit.is_empty() {
                    lb.del(target);
                    return true;
                }
                lit.clone()
            } else {
                // `$1` covering the whole of a single source value: share that value.
                let whole = compiled
                    .replacement_template
                    .as_single_group()
                    .and_then(|groups| groups.iter().find_map(|&g| sc.slots.get(g)));
                match (single, whole) {
                    (Some(shared), Some((0, end))) if end == val.len() => shared.clone(),
                    _ => {
                        sc.value.clear();
                        compiled
                            .replacement_template
                            .expand(val, &sc.slots, &mut sc.value);
                        if sc.value.is_empty() {
                            lb.del(target);
                            return true;
                        }
                        Str::from(sc.value.as_str())
                    }
                }
            };
            lb.set(target, value);
        }
        Action::Lowercase => {
            let value = match single {
                Some(shared) if val.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) => {
                    shared.clone()
                }
                _ => Str::from(to_lower(val)),
            };
            lb.set(rule.target_label_name(), value);
        }
        Action::Uppercase => {
            let value = match single {
                Some(shared) if val.bytes().all(|b| b.is_ascii() && !b.is_ascii_lowercase()) => {
                    shared.clone()
                }
                _ => Str::from(to_upper(val)),
            };
            lb.set(rule.target_label_name(), value);
        }
        Action::HashMod => {
            let digest = Md5::digest(val.as_bytes());
            // The last 8 bytes, big-endian, as earlier Prometheus versions did.
            let tail: [u8; 8] = digest[8..16].try_into().expect("md5 is 16 bytes");
            // A modulus of 0 fails validation; a rule that skipped it (only the config loader
            // reads rules unvalidated, and validates them all) leaves the target as it is.
            let Some(n) = u64::from_be_bytes(tail).checked_rem(rule.modulus()) else {
                return true;
            };
            let value = match compiled.hashmod_values.get(n as usize) {
                Some(v) => v.clone(),
                None => hashmod_value(n, rule.modulus()),
            };
            lb.set(rule.target_label_name(), value);
        }
        Action::LabelMap => {
            // Every label as it was when the rule started is mapped; new names are set after.
            sc.pending.clear();
            for (name, value) in &lb.labels {
                let (slots, target) = (&mut sc.slots, &mut sc.target);
                let mapped = sc.names.get_or(compiled.id, name, || {
                    regex.is_match_in(name, slots).then(|| {
                        regex.replace_all(name, &compiled.replacement_template, slots, target);
                        Name::new(target)
                    })
                });
                if let Some(mapped) = mapped {
                    sc.pending.push((mapped.clone(), value.clone()));
                }
            }
            for (name, value) in sc.pending.drain(..) {
                lb.set(&name, value);
            }
        }
        Action::LabelDrop | Action::LabelKeep => {
            let keep_matching = rule.action() == Action::LabelKeep;
            if regex.is_cheap() {
                lb.retain(|name| regex.is_match(name) == keep_matching);
            } else {
                let (names, slots) = (&mut sc.names, &mut sc.slots);
                lb.labels.retain(|(name, _)| {
                    let matched = names
                        .get_or(compiled.id, name, || {
                            regex.is_match_in(name, slots).then(|| name.clone())
                        })
                        .is_some();
                    matched == keep_matching
                });
            }
        }
    }
    true
}
