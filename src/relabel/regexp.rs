//! The relabel regex: Go RE2 syntax and semantics, anchored as Prometheus 3.x anchors it
//! (`^(?s:<regex>)$`: the whole value must match and `.` matches a newline), compiled once and
//! shared (`Arc`) by every clone of a rule.
//!
//! Replacement templates (`$1`, `${1}`, `$name`, `${name}`, `$$`) are expanded exactly as Go's
//! `regexp.Expand`: the longest run of letters, digits and `_` after `$` is the name (so `$1x` is
//! the group named `1x`, which does not exist and expands to nothing), a missing or unmatched
//! group expands to nothing, and a `$` not followed by a name is kept as is. Templates are parsed
//! once per rule, not per target.
//!
//! The few shapes that dominate real configs (the default `(.*)`, plain literals, alternations of
//! literals, `prefix(.*)` / `prefix(.+)`) are answered without running the regex engine.

use std::fmt;
use std::sync::{Arc, LazyLock};

use regex_automata::nfa::thompson::{self, backtrack::BoundedBacktracker};
use regex_automata::util::captures::Captures;
use regex_automata::{meta, util::syntax, Anchored, Input};

use super::re2::{self, SyntaxError};

/// A compiled relabel regex; cheap to clone.
#[derive(Clone)]
pub struct Regexp(Arc<Inner>);

struct Inner {
    source: Box<str>,
    regex: meta::Regex,
    /// The same pattern for capturing searches from the start of short values: the meta regex
    /// first runs a DFA to find where the match is, then this engine for the groups; relabel
    /// regexes are anchored and values short, so going straight to it halves the work. `None`
    /// for the fast shapes and for big patterns.
    backtracker: Option<Backtracker>,
    /// Go's capture names by group number (0 = the whole match).
    names: Box<[Option<Box<str>>]>,
    shape: Shape,
}

struct Backtracker {
    engine: BoundedBacktracker,
    /// Whether every match starts at the start of the value (so the search is anchored).
    anchored: bool,
}

/// Patterns whose NFA is bigger than this are not given a [`Backtracker`].
const BACKTRACKER_NFA_LIMIT: usize = 1 << 20;

/// What the anchored pattern provably is, when that lets us skip the regex engine.
#[derive(Debug)]
enum Shape {
    General,
    /// `(.*)` or `.*`: matches everything; `group` tells whether group 1 exists.
    Anything {
        group: bool,
    },
    /// `(.+)` or `.+`.
    NonEmpty {
        group: bool,
    },
    /// A literal string (no metacharacters): matches exactly it.
    Literal,
    /// `a|b|c`, literals only; `lengths` has bit `n` set when an alternative is `n` bytes long
    /// (bit 63 for 63 and more), a quick rejection for most strings.
    Literals {
        alts: Box<[Box<str>]>,
        lengths: u64,
    },
    /// `[...]` of ASCII letters, digits, `_` and ranges of them: one such byte. Bit `b` of
    /// the mask is set for each byte `b` in the class.
    ByteClass {
        mask: u128,
    },
    /// `prefix(.*)` or `prefix(.+)`: group 1 is the rest.
    Prefix {
        prefix: Box<str>,
        non_empty: bool,
    },
}

/// How big a compiled pattern may get (the `regex` crate's default is 10 MiB; Go accepts
/// patterns such as `\pL{1000}` that need more).
const SIZE_LIMIT: usize = 256 << 20;

/// The default regex `(.*)`: its identity (not only its text) tells whether a rule set a regex,
/// as Prometheus compares with its default by pointer.
pub(crate) static DEFAULT_REGEX: LazyLock<Regexp> =
    LazyLock::new(|| Regexp::new("(.*)").expect("default regex compiles"));

fn is_plain_literal(s: &str) -> bool {
    !s.contains([
        '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
    ])
}

fn shape_of(source: &str) -> Shape {
    match source {
        "(.*)" => return Shape::Anything { group: true },
        ".*" => return Shape::Anything { group: false },
        "(.+)" => return Shape::NonEmpty { group: true },
        ".+" => return Shape::NonEmpty { group: false },
        _ => {}
    }
    if is_plain_literal(source) {
        return Shape::Literal;
    }
    if source.contains('|')
        && source
            .split('|')
            .all(|alt| !alt.is_empty() && is_plain_literal(alt))
    {
        let alts: Box<[Box<str>]> = source.split('|').map(Box::from).collect();
        let lengths = alts.iter().fold(0u64, |m, a| m | 1 << a.len().min(63));
        return Shape::Literals { alts, lengths };
    }
    if let Some(mask) = byte_class_mask(source) {
        return Shape::ByteClass { mask };
    }
    for (suffix, non_empty) in [("(.*)", false), ("(.+)", true)] {
        if let Some(prefix) = source.strip_suffix(suffix) {
            if !prefix.is_empty() && is_plain_literal(prefix) {
                return Shape::Prefix {
                    prefix: prefix.into(),
                    non_empty,
                };
            }
        }
    }
    Shape::General
}

/// The bytes of a bracket expression such as `[0-3]` or `[a-fA-F_]`, if it is one made only of
/// ASCII letters, digits and `_`, single or in ascending ranges (no negation, escapes or
/// classes: those take the regex engine).
fn byte_class_mask(source: &str) -> Option<u128> {
    let inner = source.strip_prefix('[')?.strip_suffix(']')?.as_bytes();
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut mask = 0u128;
    let mut i = 0;
    while i < inner.len() {
        let low = inner[i];
        if !plain(low) {
            return None;
        }
        if inner.get(i + 1) == Some(&b'-') && i + 2 < inner.len() {
            let high = inner[i + 2];
            if !plain(high) || high < low {
                return None;
            }
            for b in low..=high {
                mask |= 1 << b;
            }
            i += 3;
        } else {
            mask |= 1 << low;
            i += 1;
        }
    }
    (mask != 0).then_some(mask)
}

/// Group positions of one match (`groups[i]` is group `i`'s byte range, if it took part), and
/// the regex engine's search caches of the last regexes used, so that matching a target neither
/// allocates nor goes through the engine's shared cache pool.
#[derive(Clone, Default)]
pub(crate) struct Slots {
    groups: Vec<Option<(usize, usize)>>,
    /// Each entry keeps its regex alive, so the pointer comparison cannot be fooled by reuse.
    buffers: Buffers,
}

/// How many regexes' caches a [`Slots`] keeps.
const BUFFERS: usize = 16;

impl Slots {
    pub(crate) fn get(&self, group: usize) -> Option<(usize, usize)> {
        self.groups.get(group).copied().flatten()
    }
}

type Buffers = Vec<(Regexp, EngineBuffers)>;

/// One regex's search caches.
#[derive(Clone)]
struct EngineBuffers {
    cache: meta::Cache,
    captures: Captures,
    backtrack: Option<thompson::backtrack::Cache>,
}

/// The caches and capture buffer for `re`.
fn buffers_for<'b>(buffers: &'b mut Buffers, re: &Regexp) -> &'b mut EngineBuffers {
    let i = match buffers.iter().position(|(r, _)| Arc::ptr_eq(&r.0, &re.0)) {
        Some(i) => i,
        None => {
            if buffers.len() == BUFFERS {
                buffers.remove(0);
            }
            let regex = &re.0.regex;
            let backtracker = re.0.backtracker.as_ref();
            buffers.push((
                re.clone(),
                EngineBuffers {
                    cache: regex.create_cache(),
                    captures: match backtracker {
                        Some(b) => b.engine.create_captures(),
                        None => regex.create_captures(),
                    },
                    backtrack: backtracker.map(|b| b.engine.create_cache()),
                },
            ));
            buffers.len() - 1
        }
    };
    &mut buffers[i].1
}

impl Regexp {
    /// Compiles `source` as Prometheus does: `^(?s:<source>)$` in Go syntax. Errors are Go's.
    pub fn new(source: &str) -> Result<Regexp, SyntaxError> {
        let wrapped = format!("^(?s:{source})$");
        let translated = re2::translate(&wrapped)?;
        let regex = meta::Regex::builder()
            .syntax(syntax::Config::new().nest_limit(4 * 1000 + 16))
            .configure(
                meta::Config::new()
                    .nfa_size_limit(Some(SIZE_LIMIT))
                    .onepass_size_limit(Some(SIZE_LIMIT))
                    .dfa_size_limit(Some(SIZE_LIMIT)),
            )
            .build(&translated.pattern)
            .map_err(|e| {
                if e.size_limit().is_some() {
                    SyntaxError {
                        code: re2::ERR_LARGE,
                        expr: wrapped.clone(),
                    }
                } else {
                    SyntaxError {
                        // A pattern Go accepts that the translation could not express: never
                        // expected.
                        code: "regexp/syntax: internal error",
                        expr: format!("{wrapped} ({e})"),
                    }
                }
            })?;
        debug_assert_eq!(
            regex
                .group_info()
                .group_len(regex_automata::PatternID::ZERO),
            translated.names.len()
        );
        let shape = shape_of(source);
        let backtracker = match shape {
            Shape::General => BoundedBacktracker::builder()
                .syntax(syntax::Config::new().nest_limit(4 * 1000 + 16))
                .thompson(thompson::Config::new().nfa_size_limit(Some(BACKTRACKER_NFA_LIMIT)))
                .build(&translated.pattern)
                .ok()
                .map(|engine| Backtracker {
                    anchored: engine.get_nfa().is_always_start_anchored(),
                    engine,
                }),
            _ => None,
        };
        Ok(Regexp(Arc::new(Inner {
            source: source.into(),
            regex,
            backtracker,
            names: translated
                .names
                .into_iter()
                .map(|n| n.map(String::into_boxed_str))
                .collect(),
            shape,
        })))
    }

    /// The regex as written in the config (without the anchors).
    pub fn as_str(&self) -> &str {
        &self.0.source
    }

    /// Whether `self` is the very default regex (not merely the same text).
    pub(crate) fn is_default_instance(&self) -> bool {
        Arc::ptr_eq(&self.0, &DEFAULT_REGEX.0)
    }

    /// Whether matching is cheaper than a hash lookup (no regex engine involved).
    pub(crate) fn is_cheap(&self) -> bool {
        !matches!(self.0.shape, Shape::General)
    }

    /// Number of groups including group 0.
    pub(crate) fn slots_len(&self) -> usize {
        self.0.names.len()
    }

    /// Go's `MatchString` on the anchored pattern.
    #[inline]
    pub fn is_match(&self, s: &str) -> bool {
        match &self.0.shape {
            Shape::General => self.0.regex.is_match(s),
            _ => self.is_match_fast(s),
        }
    }

    /// [`is_match`](Self::is_match) with the caches in `slots`.
    pub(crate) fn is_match_in(&self, s: &str, slots: &mut Slots) -> bool {
        match &self.0.shape {
            Shape::General => {
                let buffers = buffers_for(&mut slots.buffers, self);
                self.0
                    .regex
                    .is_match_with(&mut buffers.cache, &Input::new(s))
            }
            _ => self.is_match_fast(s),
        }
    }

    #[inline]
    fn is_match_fast(&self, s: &str) -> bool {
        match &self.0.shape {
            Shape::Anything { .. } => true,
            Shape::NonEmpty { .. } => !s.is_empty(),
            Shape::Literal => s == &*self.0.source,
            Shape::Literals { alts, lengths } => {
                lengths & 1 << s.len().min(63) != 0 && alts.iter().any(|a| &**a == s)
            }
            Shape::ByteClass { mask } => {
                s.len() == 1 && s.as_bytes()[0] < 128 && mask & 1 << s.as_bytes()[0] != 0
            }
            Shape::Prefix { prefix, non_empty } => {
                s.len() >= prefix.len() + usize::from(*non_empty)
                    && super::apply::compare_bytes(&s.as_bytes()[..prefix.len()], prefix.as_bytes())
                        == std::cmp::Ordering::Equal
            }
            Shape::General => unreachable!("general regexes are matched by the engine"),
        }
    }

    /// The leftmost-first match starting the search at byte `at` (anchors still refer to the
    /// whole of `s`), with its groups in `slots`. Go's `FindStringSubmatchIndex` when `at == 0`.
    pub(crate) fn captures_at(&self, s: &str, at: usize, all: &mut Slots) -> bool {
        all.groups.clear();
        let slots = &mut all.groups;
        let whole = Some((0, s.len()));
        let fast = |slots: &mut Vec<Option<(usize, usize)>>,
                    hit: bool,
                    group: Option<Option<(usize, usize)>>| {
            if hit {
                slots.push(whole);
                slots.extend(group);
            }
            hit
        };
        match &self.0.shape {
            // Every fast shape is anchored at the start: nothing matches after position 0.
            _ if at > 0 && !matches!(self.0.shape, Shape::General) => false,
            Shape::Anything { group } => fast(slots, true, group.then_some(whole)),
            Shape::NonEmpty { group } => fast(slots, !s.is_empty(), group.then_some(whole)),
            Shape::Literal | Shape::Literals { .. } | Shape::ByteClass { .. } => {
                fast(slots, self.is_match_fast(s), None)
            }
            Shape::Prefix { prefix, .. } => {
                let hit = self.is_match_fast(s);
                fast(slots, hit, Some(Some((prefix.len(), s.len()))))
            }
            Shape::General => {
                let buffers = buffers_for(&mut all.buffers, self);
                let caps = &mut buffers.captures;
                let searched = match (&self.0.backtracker, &mut buffers.backtrack) {
                    (Some(bt), Some(cache))
                        if at == 0 && s.len() <= bt.engine.max_haystack_len() =>
                    {
                        let anchored = if bt.anchored {
                            Anchored::Yes
                        } else {
                            Anchored::No
                        };
                        let input = Input::new(s).anchored(anchored);
                        bt.engine.try_search(cache, &input, caps).is_ok()
                    }
                    _ => false,
                };
                if !searched {
                    self.0.regex.search_captures_with(
                        &mut buffers.cache,
                        &Input::new(s).range(at..),
                        caps,
                    );
                }
                if !caps.is_match() {
                    return false;
                }
                all.groups.extend(
                    (0..caps.group_len()).map(|i| caps.get_group(i).map(|sp| (sp.start, sp.end))),
                );
                true
            }
        }
    }

    /// Go's `ReplaceAllString(s, template)` into `dst`.
    pub(crate) fn replace_all(
        &self,
        s: &str,
        template: &Template,
        slots: &mut Slots,
        dst: &mut String,
    ) {
        dst.clear();
        let mut last_match_end = 0;
        let mut search_pos = 0;
        while search_pos <= s.len() {
            if !self.captures_at(s, search_pos, slots) {
                break;
            }
            let (a0, a1) = slots.get(0).expect("group 0 of a match");
            dst.push_str(&s[last_match_end..a0]);
            // No replacement for an empty match right after the previous match.
            if a1 > last_match_end || a0 == 0 {
                template.expand(s, slots, dst);
            }
            last_match_end = a1;
            let width = s[search_pos..].chars().next().map_or(1, char::len_utf8);
            if search_pos + width > a1 {
                search_pos += width;
            } else if search_pos + 1 > a1 {
                search_pos += 1;
            } else {
                search_pos = a1;
            }
        }
        dst.push_str(&s[last_match_end..]);
    }
}

impl fmt::Debug for Regexp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Regexp({:?})", self.as_str())
    }
}

impl fmt::Display for Regexp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Regexp {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Regexp {}

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(Box<str>),
    /// The first of these groups that took part in the match (a number names one group; a name
    /// may name several).
    Groups(Box<[usize]>),
}

/// A replacement template (`replacement`, or a `target_label` with `$`) parsed against its rule's
/// regex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Box<[Part]>,
}

/// Go's `unicode.IsLetter || unicode.IsDigit || '_'`, the characters of a `$name`.
fn name_len(s: &str) -> usize {
    static NAME: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\A[\p{L}\p{Nd}_]+").expect("valid"));
    NAME.find(s).map_or(0, |m| m.end())
}

/// Go's `extract`: after a `$`, `(name, rest)` or `None` when malformed.
fn extract(s: &str) -> Option<(&str, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let n = name_len(body);
    if n == 0 {
        return None;
    }
    let name = &body[..n];
    let mut rest = &body[n..];
    if brace {
        rest = rest.strip_prefix('}')?;
    }
    Some((name, rest))
}

/// Go's number parsing of a `$name`: digits only, no leading zero, at most nine digits' worth.
fn group_number(name: &str) -> Option<usize> {
    let mut num: usize = 0;
    for b in name.bytes() {
        if !b.is_ascii_digit() || num >= 100_000_000 {
            return None;
        }
        num = num * 10 + usize::from(b - b'0');
    }
    if name.len() > 1 && name.starts_with('0') {
        return None;
    }
    Some(num)
}

impl Template {
    pub(crate) fn new(template: &str, regex: &Regexp) -> Template {
        let mut parts: Vec<Part> = Vec::new();
        let mut lit = String::new();
        let mut t = template;
        while let Some(i) = t.find('$') {
            lit.push_str(&t[..i]);
            t = &t[i + 1..];
            if let Some(rest) = t.strip_prefix('$') {
                lit.push('$');
                t = rest;
                continue;
            }
            let Some((name, rest)) = extract(t) else {
                lit.push('$');
                continue;
            };
            t = rest;
            let groups: Box<[usize]> = match group_number(name) {
                Some(n) if n < regex.slots_len() => Box::new([n]),
                Some(_) => Box::new([]),
                None => regex
                    .0
                    .names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.as_deref() == Some(name))
                    .map(|(i, _)| i)
                    .collect(),
            };
            if !lit.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut lit).into()));
            }
            if !groups.is_empty() {
                parts.push(Part::Groups(groups));
            }
        }
        lit.push_str(t);
        if !lit.is_empty() {
            parts.push(Part::Literal(lit.into()));
        }
        Template {
            parts: parts.into(),
        }
    }

    /// The template's text when it refers to no group.
    pub(crate) fn as_literal(&self) -> Option<&str> {
        match &*self.parts {
            [] => Some(""),
            [Part::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// When the template is exactly one group reference (`$1`), that group's candidates.
    pub(crate) fn as_single_group(&self) -> Option<&[usize]> {
        match &*self.parts {
            [Part::Groups(g)] => Some(g),
            _ => None,
        }
    }

    /// Appends the expansion for the match in `slots` over `s` to `dst`.
    pub(crate) fn expand(&self, s: &str, slots: &Slots, dst: &mut String) {
        for part in self.parts.iter() {
            match part {
                Part::Literal(l) => dst.push_str(l),
                Part::Groups(groups) => {
                    if let Some((a, b)) = groups.iter().find_map(|&g| slots.get(g)) {
                        dst.push_str(&s[a..b]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::{prop_assert_eq, prop_assume};

    fn expand(regex: &str, template: &str, s: &str) -> Option<String> {
        let re = Regexp::new(regex).unwrap();
        let mut slots = Slots::default();
        if !re.captures_at(s, 0, &mut slots) {
            return None;
        }
        let mut out = String::new();
        Template::new(template, &re).expand(s, &slots, &mut out);
        Some(out)
    }

    #[test]
    fn anchored_and_dot_matches_newline() {
        let re = Regexp::new("a.c").unwrap();
        assert!(re.is_match("a\nc"));
        assert!(!re.is_match("xabc"));
        assert!(!re.is_match("abcx"));
        // Alternation stays inside the anchors.
        let re = Regexp::new("a|b").unwrap();
        assert!(re.is_match("b") && !re.is_match("ab"));
    }

    #[test]
    fn perl_classes_are_ascii() {
        assert!(!Regexp::new(r"\d").unwrap().is_match("٣"));
        assert!(!Regexp::new(r"\w+").unwrap().is_match("é"));
        assert!(!Regexp::new(r"\s").unwrap().is_match("\u{a0}"));
        assert!(!Regexp::new(r"\s").unwrap().is_match("\u{b}"));
        assert!(!Regexp::new(r"é\b").unwrap().is_match("é"));
        assert!(Regexp::new(r"\pL+").unwrap().is_match("é"));
    }

    #[test]
    fn expansion_follows_go() {
        assert_eq!(expand("(a)(b)", "$1-$2", "ab").unwrap(), "a-b");
        assert_eq!(expand("(a)(b)", "${1}x", "ab").unwrap(), "ax");
        assert_eq!(expand("(a)(b)", "$1x", "ab").unwrap(), "");
        assert_eq!(expand("(a)(b)", "$3|$$|$", "ab").unwrap(), "|$|$");
        assert_eq!(expand("(a)(b)", "${1", "ab").unwrap(), "${1");
        assert_eq!(expand("(?P<x>a)(b)", "$x.${x}", "ab").unwrap(), "a.a");
        assert_eq!(expand("(?P<x>a)|(?P<x>b)", "[$x]", "b").unwrap(), "[b]");
        assert_eq!(expand("(a)?b", "[$1]", "b").unwrap(), "[]");
        assert_eq!(expand("(a)", "$01|$0", "a").unwrap(), "|a");
        assert_eq!(expand("(a)", "$é", "a").unwrap(), "");
    }

    #[test]
    fn only_plain_bracket_expressions_are_byte_classes() {
        for source in ["[0-3]", "[abc]", "[a-c_x]", "[_]"] {
            assert!(
                matches!(shape_of(source), Shape::ByteClass { .. }),
                "{source}"
            );
        }
        for source in [
            "[^0-3]",
            "[3-0]",
            "[a-]",
            "[-a]",
            "[\\d]",
            "[[:alpha:]]",
            "[]",
            "[.]",
        ] {
            assert!(
                !matches!(shape_of(source), Shape::ByteClass { .. }),
                "{source}"
            );
        }
    }

    #[test]
    fn fast_shapes_agree_with_the_engine() {
        for source in [
            "(.*)", ".*", "(.+)", ".+", "abc", "a|bc|", "a|bc", "pre_(.*)", "pre_(.+)", "[0-3]",
            "[abc]", "[a-c_x]", "[9a-bZ]",
        ] {
            let fast = Regexp::new(source).unwrap();
            // The same pattern wrapped in a no-op group goes through the engine.
            let slow = Regexp::new(&format!("(?:{source})")).unwrap();
            assert!(matches!(slow.0.shape, Shape::General), "{source}");
            for s in [
                "", "a", "bc", "abc", "pre_", "pre_x", "pre", "x\ny", "0", "3", "4", "03", "_",
                "Z", "x", "é", "\n", "b\n",
            ] {
                assert_eq!(fast.is_match(s), slow.is_match(s), "{source} on {s:?}");
                let (mut a, mut b) = (Slots::default(), Slots::default());
                assert_eq!(
                    fast.captures_at(s, 0, &mut a),
                    slow.captures_at(s, 0, &mut b),
                    "{source} on {s:?}"
                );
                assert_eq!(a.groups, b.groups, "{source} on {s:?}");
            }
        }
    }

    /// The groups the meta regex alone finds (what [`Regexp::captures_at`] did before it went
    /// straight to the backtracker).
    fn meta_groups(re: &Regexp, s: &str, at: usize) -> Option<Vec<Option<(usize, usize)>>> {
        let mut caps = re.0.regex.create_captures();
        re.0.regex
            .search_captures(&Input::new(s).range(at..), &mut caps);
        caps.is_match().then(|| {
            (0..caps.group_len())
                .map(|i| caps.get_group(i).map(|sp| (sp.start, sp.end)))
                .collect()
        })
    }

    proptest::proptest! {
        /// Captures found by the backtracker are the meta regex's, whether the pattern is
        /// anchored or escapes its anchors, the value matches or not, fits or is too long.
        #[test]
        fn backtracker_captures_agree_with_the_meta_regex(
            pattern in 0usize..7,
            s in "[a-c:;0-9é]{0,12}",
            repeat in 1usize..3,
        ) {
            let pattern = [
                r"([^:]+)(?::\d+)?;(\d+)",
                "(a|ab)(c|bcd)?(.*)",
                "b)|(c",
                "(?P<x>a+)|(?P<x>b+)",
                r"(\w*)(é?)(\d+)?",
                "(a*)*b",
                "x?(.{3,})",
            ][pattern];
            let re = Regexp::new(pattern).unwrap();
            prop_assume!(re.0.backtracker.is_some());
            let s = s.repeat(repeat);
            let mut slots = Slots::default();
            for at in [0, 1] {
                if at > s.len() || !s.is_char_boundary(at) {
                    continue;
                }
                let ours = re.captures_at(&s, at, &mut slots).then(|| slots.groups.clone());
                prop_assert_eq!(ours, meta_groups(&re, &s, at), "{} on {:?} at {}", pattern, s, at);
            }
        }
    }

    #[test]
    fn values_too_long_for_the_backtracker_still_match() {
        let re = Regexp::new("(a+)b").unwrap();
        let max = re.0.backtracker.as_ref().unwrap().engine.max_haystack_len();
        let long = format!("{}b", "a".repeat(max + 10));
        let mut slots = Slots::default();
        assert!(re.captures_at(&long, 0, &mut slots));
        assert_eq!(slots.get(1), Some((0, max + 10)));
    }

    #[test]
    fn replace_all_follows_go() {
        let re = Regexp::new("(.*)").unwrap();
        let mut out = String::new();
        let mut slots = Slots::default();
        re.replace_all("abc", &Template::new("x_$1", &re), &mut slots, &mut out);
        assert_eq!(out, "x_abc");
        // A pattern that escapes its anchors matches more than once.
        let re = Regexp::new("b)|(c").unwrap();
        re.replace_all("bac", &Template::new("[$1]", &re), &mut slots, &mut out);
        assert_eq!(out, "[]a[c]");
    }

    #[test]
    fn go_errors_keep_the_anchors() {
        assert_eq!(
            Regexp::new("(a").unwrap_err().to_string(),
            "error parsing regexp: missing closing ): `^(?s:(a)$`"
        );
        assert_eq!(
            Regexp::new("a)").unwrap_err().to_string(),
            "error parsing regexp: unexpected ): `^(?s:a))$`"
        );
    }
}
