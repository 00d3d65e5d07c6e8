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

use std::fmt;

use md5::{Digest, Md5};
use promsd_actors::model::{intern, LabelSet, Str};

use super::config::{Action, RelabelConfig};
use super::gofmt::{to_lower, to_upper};
use super::regexp::Slots;

/// A target's labels while rules run, plus reusable scratch space.
#[derive(Clone, Default)]
pub struct LabelBuilder {
    labels: Vec<(Str, Str)>,
    scratch: Scratch,
}

#[derive(Clone, Default)]
struct Scratch {
    joined: String,
    target: String,
    value: String,
    slots: Slots,
    pending: Vec<(Str, Str)>,
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
        self.labels.extend(
            labels
                .pairs()
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .cloned(),
        );
    }

    /// Empties the builder, keeping the allocations.
    pub fn clear(&mut self) {
        self.labels.clear();
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.labels.binary_search_by(|(n, _)| (**n).cmp(name))
    }

    /// The value of `name`, `""` when missing (Prometheus' `Builder.Get`).
    pub fn get(&self, name: &str) -> &str {
        self.find(name).map_or("", |i| &*self.labels[i].1)
    }

    fn get_shared(&self, name: &str) -> Option<&Str> {
        self.find(name).ok().map(|i| &self.labels[i].1)
    }

    /// Sets `name` to `value`; an empty value deletes `name`.
    pub fn set(&mut self, name: Str, value: Str) {
        if value.is_empty() {
            self.del(&name);
            return;
        }
        match self.find(&name) {
            Ok(i) => self.labels[i].1 = value,
            Err(i) => self.labels.insert(i, (name, value)),
        }
    }

    /// Removes `name` if present.
    pub fn del(&mut self, name: &str) {
        if let Ok(i) = self.find(name) {
            self.labels.remove(i);
        }
    }

    /// Keeps only the labels for which `keep(name)` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.labels.retain(|(n, _)| keep(n));
    }

    /// The labels, sorted by name.
    pub fn pairs(&self) -> &[(Str, Str)] {
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

    /// Appends pairs known to be sorted, unique, greater than every present name and non-empty.
    pub(crate) fn push_sorted_unchecked(&mut self, name: Str, value: Str) {
        debug_assert!(self.labels.last().is_none_or(|(n, _)| *n < name));
        self.labels.push((name, value));
    }
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
    for (i, rule) in rules.iter().enumerate() {
        if !apply_rule(rule, lb) {
            return Err(Dropped { rule: i });
        }
    }
    Ok(())
}

/// Relabels a label set: the resulting labels, or the rule that dropped it.
pub fn relabel(rules: &[RelabelConfig], labels: &LabelSet) -> Result<LabelSet, Dropped> {
    let mut lb = LabelBuilder::from_label_set(labels);
    process(rules, &mut lb)?;
    Ok(lb.to_label_set())
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
    let mut scratch = std::mem::take(&mut lb.scratch);
    let keep = apply_rule_with(rule, lb, &mut scratch);
    lb.scratch = scratch;
    keep
}

fn apply_rule_with(rule: &RelabelConfig, lb: &mut LabelBuilder, sc: &mut Scratch) -> bool {
    // The joined source values. With one source label, its shared value is kept so that a rule
    // that copies it whole allocates nothing.
    let sources = rule.source_labels();
    let single: Option<Str> = match sources {
        [one] => lb.get_shared(one).cloned(),
        _ => None,
    };
    let val: &str = match sources {
        [] => "",
        [_] => single.as_deref().unwrap_or(""),
        many => {
            sc.joined.clear();
            for (i, name) in many.iter().enumerate() {
                if i > 0 {
                    sc.joined.push_str(rule.separator());
                }
                sc.joined.push_str(lb.get(name));
            }
            &sc.joined
        }
    };
    let regex = rule.regex();
    let compiled = &rule.compiled;

    match rule.action() {
        Action::Drop => {
            if regex.is_match(val) {
                return false;
            }
        }
        Action::Keep => {
            if !regex.is_match(val) {
                return false;
            }
        }
        Action::DropEqual => {
            if lb.get(rule.target_label()) == val {
                return false;
            }
        }
        Action::KeepEqual => {
            if lb.get(rule.target_label()) != val {
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
                lb.set(intern_target(rule), shared_replacement(rule));
                return true;
            }
            if !regex.captures_at(val, 0, &mut sc.slots) {
                return true;
            }
            let target: Str = if compiled.target_has_var {
                sc.target.clear();
                compiled
                    .target_template
                    .expand(val, &sc.slots, &mut sc.target);
                if !rule.name_validation().is_valid_label_name(&sc.target) {
                    return true;
                }
                intern(&sc.target)
            } else {
                intern_target(rule)
            };
            let value: Str = if let Some(lit) = &compiled.replacement_literal {
                if lit.is_empty() {
                    lb.del(&target);
                    return true;
                }
                lit.clone()
            } else {
                // `$1` covering the whole of a single source value: share that value.
                let whole = compiled
                    .replacement_template
                    .as_single_group()
                    .and_then(|groups| {
                        groups
                            .iter()
                            .find_map(|&g| sc.slots.get(g).copied().flatten())
                    });
                match (&single, whole) {
                    (Some(shared), Some((0, end))) if end == val.len() => shared.clone(),
                    _ => {
                        sc.value.clear();
                        compiled
                            .replacement_template
                            .expand(val, &sc.slots, &mut sc.value);
                        if sc.value.is_empty() {
                            lb.del(&target);
                            return true;
                        }
                        Str::from(sc.value.as_str())
                    }
                }
            };
            lb.set(target, value);
        }
        Action::Lowercase => {
            let value = match &single {
                Some(shared) if val.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) => {
                    shared.clone()
                }
                _ => Str::from(to_lower(val)),
            };
            lb.set(intern_target(rule), value);
        }
        Action::Uppercase => {
            let value = match &single {
                Some(shared) if val.bytes().all(|b| b.is_ascii() && !b.is_ascii_lowercase()) => {
                    shared.clone()
                }
                _ => Str::from(to_upper(val)),
            };
            lb.set(intern_target(rule), value);
        }
        Action::HashMod => {
            let digest = Md5::digest(val.as_bytes());
            // The last 8 bytes, big-endian, as earlier Prometheus versions did.
            let tail: [u8; 8] = digest[8..16].try_into().expect("md5 is 16 bytes");
            let n = u64::from_be_bytes(tail) % rule.modulus();
            lb.set(intern_target(rule), hashmod_value(n, rule.modulus()));
        }
        Action::LabelMap => {
            // Every label as it was when the rule started is mapped; new names are set after.
            sc.pending.clear();
            for (name, value) in &lb.labels {
                if regex.is_match(name) {
                    regex.replace_all(
                        name,
                        &compiled.replacement_template,
                        &mut sc.slots,
                        &mut sc.target,
                    );
                    sc.pending.push((intern(&sc.target), value.clone()));
                }
            }
            for (name, value) in sc.pending.drain(..) {
                lb.set(name, value);
            }
        }
        Action::LabelDrop => lb.retain(|name| !regex.is_match(name)),
        Action::LabelKeep => lb.retain(|name| regex.is_match(name)),
    }
    true
}

fn intern_target(rule: &RelabelConfig) -> Str {
    rule.target_label_shared().clone()
}

fn shared_replacement(rule: &RelabelConfig) -> Str {
    rule.replacement_shared().clone()
}
