//! Go's regular-expression syntax (RE2, as parsed by Go's `regexp/syntax` with `Perl` flags),
//! translated into the `regex` crate's syntax.
//!
//! Prometheus compiles relabel regexes with Go's `regexp`. The `regex` crate has nearly the same
//! semantics (leftmost-first, RE2-style automata, same flags `imsU`) but a different surface:
//! Unicode-aware `\d \w \s \b` (Go's are ASCII), class set operations (`[a&&b]`), `\<`, `\>`,
//! `{,n}`, no `\Q…\E`, no octal escapes, stricter group names, no `(?)`. So every pattern is
//! parsed here with Go's rules, rejected with Go's error message where Go rejects it, and
//! re-emitted as an equivalent pattern that the `regex` crate (and `regex-automata`, its engine)
//! reads exactly one way:
//! literals escaped, Perl classes spelled out as ASCII classes, flags as explicit diffs, every
//! repeated operand wrapped in `(?:…)`, and captures emitted unnamed (names are kept here, in
//! Go's numbering, for `$name` expansion).
//!
//! Go's parser is followed operation by operation (`parse`, `parsePerlFlags`, `parseClass`,
//! `parseEscape`, `parseRepeat`, `repeatIsValid`); error expressions are the same slices of the
//! pattern that Go reports.

use std::fmt;

/// Go's `regexp/syntax` error: ``error parsing regexp: <code>: `<expr>` ``.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub code: &'static str,
    pub expr: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error parsing regexp: {}: `{}`", self.code, self.expr)
    }
}

impl std::error::Error for SyntaxError {}

pub(crate) const ERR_INVALID_CHAR_RANGE: &str = "invalid character class range";
pub(crate) const ERR_INVALID_ESCAPE: &str = "invalid escape sequence";
pub(crate) const ERR_INVALID_NAMED_CAPTURE: &str = "invalid named capture";
pub(crate) const ERR_INVALID_PERL_OP: &str = "invalid or unsupported Perl syntax";
pub(crate) const ERR_INVALID_REPEAT_OP: &str = "invalid nested repetition operator";
pub(crate) const ERR_INVALID_REPEAT_SIZE: &str = "invalid repeat count";
pub(crate) const ERR_MISSING_BRACKET: &str = "missing closing ]";
pub(crate) const ERR_MISSING_PAREN: &str = "missing closing )";
pub(crate) const ERR_MISSING_REPEAT_ARGUMENT: &str = "missing argument to repetition operator";
pub(crate) const ERR_TRAILING_BACKSLASH: &str = "trailing backslash at end of expression";
pub(crate) const ERR_UNEXPECTED_PAREN: &str = "unexpected )";
pub(crate) const ERR_NESTING_DEPTH: &str = "expression nests too deeply";
pub(crate) const ERR_LARGE: &str = "expression too large";

fn err(code: &'static str, expr: &str) -> SyntaxError {
    SyntaxError {
        code,
        expr: expr.to_owned(),
    }
}

/// A Go pattern in `regex` crate syntax, with Go's capture names by group number.
#[derive(Clone, Debug)]
pub struct Translated {
    pub pattern: String,
    /// `names[i]` is the name of group `i` (index 0, the whole match, is always `None`).
    pub names: Vec<Option<String>>,
}

/// Go's maximum count in `x{n,m}`, and of the product of nested counts.
const MAX_REPEAT: u64 = 1000;
/// Go's `maxHeight`: the parser refuses deeper trees. We bound group nesting by it.
const MAX_HEIGHT: usize = 1000;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Flags {
    fold_case: bool,
    /// Go's flag is `OneLine` (set by default in Perl mode); `(?m)` clears it.
    multi_line: bool,
    dot_nl: bool,
    non_greedy: bool,
}

impl Flags {
    const PERL: Flags = Flags {
        fold_case: false,
        multi_line: false,
        dot_nl: false,
        non_greedy: false,
    };

    /// `(?<on>-<off>)` to go from `self` to `to`; empty when nothing changes.
    fn diff(self, to: Flags) -> (String, String) {
        let mut on = String::new();
        let mut off = String::new();
        for (was, is, c) in [
            (self.fold_case, to.fold_case, 'i'),
            (self.multi_line, to.multi_line, 'm'),
            (self.dot_nl, to.dot_nl, 's'),
            (self.non_greedy, to.non_greedy, 'U'),
        ] {
            if was != is {
                if is {
                    on.push(c)
                } else {
                    off.push(c)
                }
            }
        }
        (on, off)
    }
}

/// The thing a repetition operator would apply to: a span of the output.
#[derive(Clone, Copy)]
struct Atom {
    start: usize,
    end: usize,
    /// Largest product of nested `{n,m}` counts inside (Go's `repeatIsValid`), at least 1.
    factor: u64,
}

struct Frame {
    saved_flags: Flags,
    /// Largest factor of any atom inside this group so far.
    factor: u64,
    /// Where the group's `(` starts in the output.
    start: usize,
}

struct Translator<'a> {
    whole: &'a str,
    out: String,
    flags: Flags,
    frames: Vec<Frame>,
    root_factor: u64,
    last: Option<Atom>,
    names: Vec<Option<String>>,
}

/// Translates a Go regular expression (Perl flags, as `regexp.Compile` uses) into `regex` syntax.
pub fn translate(pattern: &str) -> Result<Translated, SyntaxError> {
    let mut t = Translator {
        whole: pattern,
        out: String::with_capacity(pattern.len() + 16),
        flags: Flags::PERL,
        frames: Vec::new(),
        root_factor: 1,
        last: None,
        names: vec![None],
    };
    t.run()?;
    Ok(Translated {
        pattern: t.out,
        names: t.names,
    })
}

fn next_rune(s: &str) -> (char, &str) {
    let c = s.chars().next().expect("caller checked non-empty");
    (c, &s[c.len_utf8()..])
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn unhex(c: char) -> Option<u32> {
    c.to_digit(16)
}

/// Writes `c` so that the `regex` crate reads it as that literal character, in or out of a class.
/// A class that matches nothing (what a Go literal surrogate code point can match in valid UTF-8).
const NEVER: &str = "[^\\x{0}-\\x{10FFFF}]";

fn push_literal_char(out: &mut String, c: char) {
    if c.is_ascii_punctuation() || c == ' ' {
        // Every ASCII punctuation may be escaped in `regex`, except `<` and `>` whose escapes are
        // word boundaries there; those two need no escape at all.
        if c != '<' && c != '>' && c != ' ' {
            out.push('\\');
        }
        out.push(c);
    } else if c.is_control() || c.is_whitespace() {
        use fmt::Write;
        let _ = write!(out, "\\x{{{:X}}}", c as u32);
    } else {
        out.push(c);
    }
}

/// Go's Perl classes, ASCII-only: (positive contents, is-negated).
fn perl_class(c: char) -> Option<(&'static str, bool)> {
    match c {
        'd' => Some(("0-9", false)),
        'D' => Some(("0-9", true)),
        's' => Some(("\\t\\n\\x{C}\\r ", false)),
        'S' => Some(("\\t\\n\\x{C}\\r ", true)),
        'w' => Some(("0-9A-Za-z_", false)),
        'W' => Some(("0-9A-Za-z_", true)),
        _ => None,
    }
}

const POSIX_CLASSES: [&str; 14] = [
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Go's `canonicalName`: first letter upper, the rest lower, without `_`, `-` and spaces.
fn canonical_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut first = true;
    for c in name.chars() {
        match c {
            '_' | '-' | ' ' => {}
            c if first => {
                out.push(c.to_ascii_uppercase());
                first = false;
            }
            c => out.push(c.to_ascii_lowercase()),
        }
    }
    out
}

/// Go's Unicode general categories (`unicode.Categories`) and their long aliases
/// (`unicode.CategoryAliases`), as canonical names.
const GO_CATEGORIES: &[&str] = &[
    "C",
    "Cc",
    "Cf",
    "Cn",
    "Co",
    "Cs",
    "L",
    "Lc",
    "Ll",
    "Lm",
    "Lo",
    "Lt",
    "Lu",
    "M",
    "Mc",
    "Me",
    "Mn",
    "N",
    "Nd",
    "Nl",
    "No",
    "P",
    "Pc",
    "Pd",
    "Pe",
    "Pf",
    "Pi",
    "Po",
    "Ps",
    "S",
    "Sc",
    "Sk",
    "Sm",
    "So",
    "Z",
    "Zl",
    "Zp",
    "Zs", // aliases
    "Casedletter",
    "Closepunctuation",
    "Connectorpunctuation",
    "Control",
    "Currencysymbol",
    "Dashpunctuation",
    "Decimalnumber",
    "Enclosingmark",
    "Finalpunctuation",
    "Format",
    "Initialpunctuation",
    "Letter",
    "Letternumber",
    "Lineseparator",
    "Lowercaseletter",
    "Mark",
    "Mathsymbol",
    "Modifierletter",
    "Modifiersymbol",
    "Nonspacingmark",
    "Number",
    "Openpunctuation",
    "Other",
    "Otherletter",
    "Othernumber",
    "Otherpunctuation",
    "Othersymbol",
    "Paragraphseparator",
    "Privateuse",
    "Punctuation",
    "Separator",
    "Spaceseparator",
    "Spacingmark",
    "Surrogate",
    "Symbol",
    "Titlecaseletter",
    "Unassigned",
    "Uppercaseletter",
    "Combiningmark",
    "Digit",
    "Punct",
    "Cntrl",
];

/// Go's `unicode.Scripts` (Unicode 15), as canonical names.
const GO_SCRIPTS: &[&str] = &[
    "Adlam",
    "Ahom",
    "Anatolianhieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassavah",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadianaboriginal",
    "Carian",
    "Caucasianalbanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cyprominoan",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Divesakuru",
    "Dogra",
    "Duployan",
    "Egyptianhieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjalagondi",
    "Gurmukhi",
    "Han",
    "Hangul",
    "Hanifirohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperialaramaic",
    "Inherited",
    "Inscriptionalpahlavi",
    "Inscriptionalparthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kayahli",
    "Kharoshthi",
    "Khitansmallscript",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Lineara",
    "Linearb",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaramgondi",
    "Medefaidrin",
    "Meeteimayek",
    "Mendekikakui",
    "Meroiticcursive",
    "Meroitichieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nagmundari",
    "Nandinagari",
    "Newtailue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakengpuachuehmong",
    "Ogham",
    "Olchiki",
    "Oldhungarian",
    "Olditalic",
    "Oldnortharabian",
    "Oldpermic",
    "Oldpersian",
    "Oldsogdian",
    "Oldsoutharabian",
    "Oldturkic",
    "Olduyghur",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawhhmong",
    "Palmyrene",
    "Paucinhau",
    "Phagspa",
    "Phoenician",
    "Psalterpahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "Signwriting",
    "Sinhala",
    "Sogdian",
    "Sorasompeng",
    "Soyombo",
    "Sundanese",
    "Sylotinagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Taile",
    "Taitham",
    "Taiviet",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Toto",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Warangciti",
    "Yezidi",
    "Yi",
    "Zanabazarsquare",
];

/// Whether Go's `unicodeTable` knows `name`.
fn go_knows_unicode_class(name: &str) -> bool {
    let c = canonical_name(name);
    matches!(c.as_str(), "Any" | "Assigned" | "Ascii")
        || GO_CATEGORIES.contains(&c.as_str())
        || GO_SCRIPTS.contains(&c.as_str())
}

/// The `regex` spelling of a Unicode class Go knows (the `regex` crate matches names loosely,
/// ignoring case, spaces, `_` and `-`, so Go's canonical names read the same there).
fn rust_unicode_class_name(name: &str) -> String {
    let c = canonical_name(name);
    match c.as_str() {
        "Ascii" => "ASCII".to_owned(),
        "Lc" => "LC".to_owned(),
        "Punct" => "Punctuation".to_owned(),
        "Cntrl" => "Control".to_owned(),
        "Digit" => "Decimal_Number".to_owned(),
        _ => c,
    }
}

impl<'a> Translator<'a> {
    fn run(&mut self) -> Result<(), SyntaxError> {
        let mut t: &'a str = self.whole;
        // Go's `lastRepeat`: the text from the previous repetition operator, if the previous
        // token was one.
        let mut last_repeat: Option<&'a str> = None;
        while !t.is_empty() {
            let mut repeat: Option<&'a str> = None;
            let b = t.as_bytes()[0];
            match b {
                b'(' => {
                    if t.len() >= 2 && t.as_bytes()[1] == b'?' {
                        t = self.perl_flags(t)?;
                    } else {
                        if self.frames.len() >= MAX_HEIGHT {
                            return Err(err(ERR_NESTING_DEPTH, self.whole));
                        }
                        self.open_group(None, None);
                        t = &t[1..];
                    }
                }
                b'|' => {
                    self.out.push('|');
                    self.last = None;
                    t = &t[1..];
                }
                b')' => {
                    self.close_group()?;
                    t = &t[1..];
                }
                b'^' | b'$' | b'.' => {
                    self.atom_str(if b == b'^' {
                        "^"
                    } else if b == b'$' {
                        "$"
                    } else {
                        "."
                    });
                    t = &t[1..];
                }
                b'[' => t = self.class(t)?,
                b'*' | b'+' | b'?' => {
                    let before = t;
                    let op = &t[..1];
                    let after = &t[1..];
                    t = self.repeat(op, None, before, after, last_repeat)?;
                    repeat = Some(before);
                }
                b'{' => {
                    let before = t;
                    match parse_repeat(t) {
                        None => {
                            self.literal('{');
                            t = &t[1..];
                        }
                        Some((min, max, after)) => {
                            let op = &before[..before.len() - after.len()];
                            let (Some(min), max) = (min, max) else {
                                return Err(err(ERR_INVALID_REPEAT_SIZE, op));
                            };
                            if min > MAX_REPEAT
                                || matches!(max, Some(Some(m)) if m > MAX_REPEAT)
                                || matches!(max, Some(None))
                                || matches!(max, Some(Some(m)) if min > m)
                            {
                                return Err(err(ERR_INVALID_REPEAT_SIZE, op));
                            }
                            let counts = (min, max.map(|m| m.expect("checked")));
                            t = self.repeat(op, Some(counts), before, after, last_repeat)?;
                            repeat = Some(before);
                        }
                    }
                }
                b'\\' => t = self.escape_top(t)?,
                _ => {
                    let (c, rest) = next_rune(t);
                    self.literal(c);
                    t = rest;
                }
            }
            last_repeat = repeat;
        }
        if !self.frames.is_empty() {
            return Err(err(ERR_MISSING_PAREN, self.whole));
        }
        Ok(())
    }

    fn note_factor(&mut self, factor: u64) {
        match self.frames.last_mut() {
            Some(f) => f.factor = f.factor.max(factor),
            None => self.root_factor = self.root_factor.max(factor),
        }
    }

    fn atom_str(&mut self, s: &str) {
        let start = self.out.len();
        self.out.push_str(s);
        self.last = Some(Atom {
            start,
            end: self.out.len(),
            factor: 1,
        });
    }

    fn literal(&mut self, c: char) {
        let start = self.out.len();
        push_literal_char(&mut self.out, c);
        self.last = Some(Atom {
            start,
            end: self.out.len(),
            factor: 1,
        });
    }

    fn open_group(&mut self, name: Option<&str>, flags: Option<Flags>) {
        let start = self.out.len();
        match flags {
            None => {
                self.names.push(name.map(str::to_owned));
                self.out.push('(');
            }
            Some(to) => {
                let (on, off) = self.flags.diff(to);
                self.out.push_str("(?");
                self.out.push_str(&on);
                if !off.is_empty() {
                    self.out.push('-');
                    self.out.push_str(&off);
                }
                self.out.push(':');
            }
        }
        self.frames.push(Frame {
            saved_flags: self.flags,
            factor: 1,
            start,
        });
        if let Some(to) = flags {
            self.flags = to;
        }
        self.last = None;
    }

    fn close_group(&mut self) -> Result<(), SyntaxError> {
        let Some(frame) = self.frames.pop() else {
            return Err(err(ERR_UNEXPECTED_PAREN, self.whole));
        };
        self.flags = frame.saved_flags;
        self.out.push(')');
        self.last = Some(Atom {
            start: frame.start,
            end: self.out.len(),
            factor: frame.factor,
        });
        self.note_factor(frame.factor);
        Ok(())
    }

    /// Go's `parsePerlFlags`; `t` starts with `(?`.
    fn perl_flags(&mut self, s: &'a str) -> Result<&'a str, SyntaxError> {
        let tb = s.as_bytes();
        let starts_with_p = s.len() > 4 && tb[2] == b'P' && tb[3] == b'<';
        let starts_with_name = s.len() > 3 && tb[2] == b'<';
        if starts_with_p || starts_with_name {
            let expr_start = if starts_with_name { 3 } else { 4 };
            let Some(end) = s.find('>') else {
                return Err(err(ERR_INVALID_NAMED_CAPTURE, s));
            };
            let capture = &s[..end + 1];
            let name = &s[expr_start..end];
            if name.is_empty() || !name.chars().all(|c| c == '_' || is_alnum(c)) {
                return Err(err(ERR_INVALID_NAMED_CAPTURE, capture));
            }
            if self.frames.len() >= MAX_HEIGHT {
                return Err(err(ERR_NESTING_DEPTH, self.whole));
            }
            self.open_group(Some(name), None);
            return Ok(&s[end + 1..]);
        }

        let mut t = &s[2..];
        let mut flags = self.flags;
        let mut negate = false;
        let mut saw_flag = false;
        while !t.is_empty() {
            let (c, rest) = next_rune(t);
            t = rest;
            let value = !negate;
            match c {
                'i' => {
                    flags.fold_case = value;
                    saw_flag = true;
                }
                'm' => {
                    flags.multi_line = value;
                    saw_flag = true;
                }
                's' => {
                    flags.dot_nl = value;
                    saw_flag = true;
                }
                'U' => {
                    flags.non_greedy = value;
                    saw_flag = true;
                }
                '-' => {
                    if negate {
                        break;
                    }
                    negate = true;
                    saw_flag = false;
                }
                ':' | ')' => {
                    if negate && !saw_flag {
                        break;
                    }
                    if c == ':' {
                        if self.frames.len() >= MAX_HEIGHT {
                            return Err(err(ERR_NESTING_DEPTH, self.whole));
                        }
                        self.open_group(None, Some(flags));
                    } else {
                        let (on, off) = self.flags.diff(flags);
                        if !on.is_empty() || !off.is_empty() {
                            // Flags set here last to the end of the enclosing group, in both
                            // dialects. This is not an atom: a repetition after it applies to
                            // the atom before it.
                            self.out.push_str("(?");
                            self.out.push_str(&on);
                            if !off.is_empty() {
                                self.out.push('-');
                                self.out.push_str(&off);
                            }
                            self.out.push(')');
                        }
                        self.flags = flags;
                    }
                    return Ok(t);
                }
                _ => break,
            }
        }
        Err(err(ERR_INVALID_PERL_OP, &s[..s.len() - t.len()]))
    }

    /// Go's `repeat`. `counts` is `None` for `* + ?`, else `(min, max)` with `max = None` for
    /// `{n,}`.
    fn repeat(
        &mut self,
        op: &str,
        counts: Option<(u64, Option<u64>)>,
        before: &'a str,
        mut after: &'a str,
        last_repeat: Option<&'a str>,
    ) -> Result<&'a str, SyntaxError> {
        let mut lazy = false;
        if let Some(rest) = after.strip_prefix('?') {
            after = rest;
            lazy = true;
        }
        if let Some(last) = last_repeat {
            return Err(err(
                ERR_INVALID_REPEAT_OP,
                &last[..last.len() - after.len()],
            ));
        }
        let Some(atom) = self.last else {
            return Err(err(
                ERR_MISSING_REPEAT_ARGUMENT,
                &before[..before.len() - after.len()],
            ));
        };
        let mut factor = atom.factor;
        if let Some((min, max)) = counts {
            let m = max.unwrap_or(min);
            if (min >= 2 || max.unwrap_or(0) >= 2)
                && m != 0
                && m.saturating_mul(atom.factor) > MAX_REPEAT
            {
                return Err(err(
                    ERR_INVALID_REPEAT_SIZE,
                    &before[..before.len() - after.len()],
                ));
            }
            factor = if m == 0 { 1 } else { m * atom.factor };
        }
        // Rebuild: everything before the atom, `(?:atom)op`, then what followed the atom (only
        // flag settings can sit there).
        let trailing = self.out.split_off(atom.end);
        let body = self.out.split_off(atom.start);
        self.out.push_str("(?:");
        self.out.push_str(&body);
        self.out.push(')');
        match counts {
            None => self.out.push_str(op),
            Some((min, None)) => {
                use fmt::Write;
                let _ = write!(self.out, "{{{min},}}");
            }
            Some((min, Some(max))) if min == max => {
                use fmt::Write;
                let _ = write!(self.out, "{{{min}}}");
            }
            Some((min, Some(max))) => {
                use fmt::Write;
                let _ = write!(self.out, "{{{min},{max}}}");
            }
        }
        if lazy {
            self.out.push('?');
        }
        let end = self.out.len();
        self.out.push_str(&trailing);
        self.last = Some(Atom {
            start: atom.start,
            end,
            factor,
        });
        self.note_factor(factor);
        Ok(after)
    }

    /// A backslash outside a class.
    fn escape_top(&mut self, t: &'a str) -> Result<&'a str, SyntaxError> {
        if t.len() >= 2 {
            match t.as_bytes()[1] {
                b'A' => {
                    self.atom_str("\\A");
                    return Ok(&t[2..]);
                }
                b'b' => {
                    self.atom_str("(?-u:\\b)");
                    return Ok(&t[2..]);
                }
                b'B' => {
                    self.atom_str("(?-u:\\B)");
                    return Ok(&t[2..]);
                }
                b'C' => return Err(err(ERR_INVALID_ESCAPE, &t[..2])),
                b'Q' => {
                    let body = &t[2..];
                    let (lit, rest) = match body.find("\\E") {
                        Some(i) => (&body[..i], &body[i + 2..]),
                        None => (body, ""),
                    };
                    for c in lit.chars() {
                        self.literal(c);
                    }
                    return Ok(rest);
                }
                b'z' => {
                    self.atom_str("\\z");
                    return Ok(&t[2..]);
                }
                _ => {}
            }
        }
        if t.len() >= 2 && matches!(t.as_bytes()[1], b'p' | b'P') {
            let (class, rest) = parse_unicode_class(t)?;
            let start = self.out.len();
            self.out.push_str(&class);
            self.last = Some(Atom {
                start,
                end: self.out.len(),
                factor: 1,
            });
            return Ok(rest);
        }
        if t.len() >= 2 {
            if let Some((class, negated)) = perl_class(t.as_bytes()[1] as char) {
                let start = self.out.len();
                self.out.push('[');
                if negated {
                    self.out.push('^');
                }
                self.out.push_str(class);
                self.out.push(']');
                self.last = Some(Atom {
                    start,
                    end: self.out.len(),
                    factor: 1,
                });
                return Ok(&t[2..]);
            }
        }
        let (c, rest) = parse_escape(t)?;
        match char::from_u32(c) {
            Some(c) => self.literal(c),
            None => self.atom_str(NEVER),
        }
        Ok(rest)
    }

    /// Go's `parseClass`; `s` starts with `[`.
    fn class(&mut self, s: &'a str) -> Result<&'a str, SyntaxError> {
        let mut t = &s[1..];
        let start = self.out.len();
        self.out.push('[');
        if let Some(rest) = t.strip_prefix('^') {
            self.out.push('^');
            t = rest;
        }
        let mut first = true;
        while t.is_empty() || !t.starts_with(']') || first {
            first = false;
            // POSIX [:alnum:]
            if t.len() > 2 && t.starts_with("[:") {
                if let Some(i) = t[2..].find(":]") {
                    let name = &t[..i + 4];
                    let inner = &name[2..name.len() - 2];
                    let bare = inner.strip_prefix('^').unwrap_or(inner);
                    if !POSIX_CLASSES.contains(&bare) {
                        return Err(err(ERR_INVALID_CHAR_RANGE, name));
                    }
                    self.out.push_str(name);
                    t = &t[name.len()..];
                    continue;
                }
            }
            // Unicode \p{Han}
            if t.len() >= 2 && t.starts_with('\\') && matches!(t.as_bytes()[1], b'p' | b'P') {
                let (class, rest) = parse_unicode_class(t)?;
                self.out.push_str(&class);
                t = rest;
                continue;
            }
            // Perl \d
            if t.len() >= 2 && t.starts_with('\\') {
                if let Some((class, negated)) = perl_class(t.as_bytes()[1] as char) {
                    if negated {
                        self.out.push_str("[^");
                        self.out.push_str(class);
                        self.out.push(']');
                    } else {
                        self.out.push_str(class);
                    }
                    t = &t[2..];
                    continue;
                }
            }
            // Single character or range.
            let rng = t;
            let (lo, rest) = parse_class_char(t, s)?;
            t = rest;
            let mut hi = lo;
            if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
                let (h, rest) = parse_class_char(&t[1..], s)?;
                t = rest;
                hi = h;
                if hi < lo {
                    return Err(err(ERR_INVALID_CHAR_RANGE, &rng[..rng.len() - t.len()]));
                }
            }
            push_class_range(&mut self.out, lo, hi);
        }
        self.out.push(']');
        self.last = Some(Atom {
            start,
            end: self.out.len(),
            factor: 1,
        });
        Ok(&t[1..])
    }
}

/// Go's `parseRepeat`: `{min}`, `{min,}`, `{min,max}`; `None` when not of that form (then `{` is
/// a literal). Returns `(min, max, rest)`: `max` is `None` for `{min,}`, `Some(count)` otherwise;
/// a count too large is `None` inside (Go's `-1`).
#[allow(clippy::type_complexity)]
fn parse_repeat(s: &str) -> Option<(Option<u64>, Option<Option<u64>>, &str)> {
    let s = s.strip_prefix('{')?;
    let (min, mut s) = parse_int(s)?;
    if s.is_empty() {
        return None;
    }
    let max;
    let mut min = min;
    if let Some(rest) = s.strip_prefix(',') {
        s = rest;
        if s.is_empty() {
            return None;
        }
        if s.starts_with('}') {
            max = None;
        } else {
            let (m, rest) = parse_int(s)?;
            s = rest;
            if m.is_none() {
                min = None;
            }
            max = Some(m);
        }
    } else {
        max = Some(min);
    }
    let rest = s.strip_prefix('}')?;
    Some((min, max, rest))
}

/// Go's `parseInt`: digits without leading zeros; `Some(None)` when too large (>= 1e8 before the
/// last digit).
fn parse_int(s: &str) -> Option<(Option<u64>, &str)> {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return None;
    }
    if b.len() >= 2 && b[0] == b'0' && b[1].is_ascii_digit() {
        return None;
    }
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut n: Option<u64> = Some(0);
    for &d in &b[..digits] {
        n = match n {
            Some(v) if v < 100_000_000 => Some(v * 10 + u64::from(d - b'0')),
            _ => None,
        };
    }
    Some((n, &s[digits..]))
}

/// Go's `parseUnicodeClass`: `\pL`, `\p{Greek}`, `\PL`, `\p{^Greek}`.
fn parse_unicode_class(s: &str) -> Result<(String, &str), SyntaxError> {
    let mut negated = s.as_bytes()[1] == b'P';
    let t = &s[2..];
    if t.is_empty() {
        // Go: nextRune on "" yields RuneError of size 0, read as the one-letter name "".
        return Err(err(ERR_INVALID_CHAR_RANGE, s));
    }
    let (c, after) = next_rune(t);
    let (seq, rest, mut name) = if c != '{' {
        let seq = &s[..s.len() - after.len()];
        (seq, after, &seq[2..])
    } else {
        let Some(end) = s.find('}') else {
            return Err(err(ERR_INVALID_CHAR_RANGE, s));
        };
        (&s[..end + 1], &s[end + 1..], &s[3..end])
    };
    if let Some(n) = name.strip_prefix('^') {
        negated = !negated;
        name = n;
    }
    if !go_knows_unicode_class(name) {
        return Err(err(ERR_INVALID_CHAR_RANGE, seq));
    }
    let rust = rust_unicode_class_name(name);
    let class = format!("\\{}{{{}}}", if negated { 'P' } else { 'p' }, rust);
    Ok((class, rest))
}

/// Go's `parseClassChar`.
fn parse_class_char<'s>(s: &'s str, whole_class: &str) -> Result<(u32, &'s str), SyntaxError> {
    if s.is_empty() {
        return Err(err(ERR_MISSING_BRACKET, whole_class));
    }
    if s.starts_with('\\') {
        return parse_escape(s);
    }
    let (c, rest) = next_rune(s);
    Ok((c as u32, rest))
}

/// Writes the class range `lo-hi` (Go runes, which may be surrogates) for the `regex` crate.
fn push_class_range(out: &mut String, lo: u32, hi: u32) {
    // Surrogates never occur in valid UTF-8: clip them off.
    let lo = if (0xD800..=0xDFFF).contains(&lo) {
        0xE000
    } else {
        lo
    };
    let hi = if (0xD800..=0xDFFF).contains(&hi) {
        0xD7FF
    } else {
        hi
    };
    match (char::from_u32(lo), char::from_u32(hi)) {
        (Some(l), Some(h)) if l <= h => {
            push_literal_char(out, l);
            if h != l {
                out.push('-');
                push_literal_char(out, h);
            }
        }
        _ => out.push_str(NEVER),
    }
}

/// Go's `parseEscape`: a single-character escape; `s` starts with `\`.
fn parse_escape(s: &str) -> Result<(u32, &str), SyntaxError> {
    let t = &s[1..];
    if t.is_empty() {
        return Err(err(ERR_TRAILING_BACKSLASH, ""));
    }
    let (c, mut t) = next_rune(t);
    let invalid = |t: &str| err(ERR_INVALID_ESCAPE, &s[..s.len() - t.len()]);
    match c {
        '1'..='7' if !t.starts_with(|d: char| ('0'..='7').contains(&d)) => Err(invalid(t)),
        '0'..='7' => {
            let mut r = c as u32 - '0' as u32;
            for _ in 1..3 {
                match t.as_bytes().first() {
                    Some(d @ b'0'..=b'7') => {
                        r = r * 8 + u32::from(d - b'0');
                        t = &t[1..];
                    }
                    _ => break,
                }
            }
            Ok((r, t))
        }
        'x' => {
            if t.is_empty() {
                return Err(invalid(t));
            }
            let (c, rest) = next_rune(t);
            t = rest;
            if c == '{' {
                let mut nhex = 0;
                let mut r: u32 = 0;
                loop {
                    if t.is_empty() {
                        return Err(invalid(t));
                    }
                    let (c, rest) = next_rune(t);
                    t = rest;
                    if c == '}' {
                        break;
                    }
                    let Some(v) = unhex(c) else {
                        return Err(invalid(t));
                    };
                    r = r * 16 + v;
                    if r > 0x10FFFF {
                        return Err(invalid(t));
                    }
                    nhex += 1;
                }
                if nhex == 0 {
                    return Err(invalid(t));
                }
                return Ok((r, t));
            }
            let x = unhex(c);
            if t.is_empty() {
                // Go: nextRune("") gives RuneError, which is not a hex digit.
                return Err(invalid(t));
            }
            let (c2, rest) = next_rune(t);
            t = rest;
            match (x, unhex(c2)) {
                (Some(x), Some(y)) => Ok((x * 16 + y, t)),
                _ => Err(invalid(t)),
            }
        }
        'a' => Ok((0x7, t)),
        'f' => Ok((0xc, t)),
        'n' => Ok((0xa, t)),
        'r' => Ok((0xd, t)),
        't' => Ok((0x9, t)),
        'v' => Ok((0xb, t)),
        c if c.is_ascii() && !is_alnum(c) => Ok((c as u32, t)),
        _ => Err(invalid(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> String {
        translate(p).unwrap_or_else(|e| panic!("{p}: {e}")).pattern
    }

    fn fails(p: &str) -> String {
        match translate(p) {
            Ok(t) => panic!("{p} translated to {} but Go rejects it", t.pattern),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn perl_classes_become_ascii_classes() {
        assert_eq!(ok(r"\d\D"), "[0-9][^0-9]");
        assert_eq!(ok(r"[\w-]"), r"[0-9A-Za-z_\-]");
        assert_eq!(ok(r"[^\S]"), r"[^[^\t\n\x{C}\r ]]");
        assert_eq!(ok(r"\bx\B"), r"(?-u:\b)x(?-u:\B)");
    }

    #[test]
    fn literals_are_escaped_for_the_regex_crate() {
        assert_eq!(ok(r"a&&b~~c--d#"), r"a\&\&b\~\~c\-\-d\#");
        assert_eq!(ok(r"\<\>"), "<>");
        assert_eq!(ok(r"\Qa.b*\Ec"), r"a\.b\*c");
        assert_eq!(ok(r"\101\0\x41\x{263a}"), "A\\x{0}A\u{263a}");
        assert_eq!(ok(r"a{"), r"a\{");
        assert_eq!(ok(r"a{,3}"), r"a\{\,3\}");
        assert_eq!(ok(r"[[a]]"), r"[\[a]\]");
    }

    #[test]
    fn repetitions_wrap_their_operand() {
        assert_eq!(ok("ab*"), "a(?:b)*");
        assert_eq!(ok("(a)+?"), "(?:(a))+?");
        assert_eq!(ok("^*"), "(?:^)*");
        assert_eq!(ok("a(?i)*"), "(?:a)*(?i)");
        assert_eq!(ok("a*(?i)*"), "(?:(?:a)*)*(?i)");
        assert_eq!(ok("x{2,5}"), "(?:x){2,5}");
        assert_eq!(ok("x{2,}?"), "(?:x){2,}?");
    }

    #[test]
    fn flags_are_emitted_as_differences() {
        assert_eq!(ok("(?i)a(?i)b(?-i:c)"), "(?i)ab(?-i:c)");
        assert_eq!(ok("(?)a"), "a");
        assert_eq!(ok("(?s:a)"), "(?s:a)");
        assert_eq!(ok("(?i-i)a"), "a");
    }

    #[test]
    fn group_names_follow_go() {
        let t = translate("(?P<a>x)(y)(?<1b>z)").unwrap();
        assert_eq!(t.pattern, "(x)(y)(z)");
        assert_eq!(
            t.names,
            vec![None, Some("a".into()), None, Some("1b".into())]
        );
    }

    #[test]
    fn go_errors_with_go_messages() {
        assert_eq!(
            fails(r"\1"),
            "error parsing regexp: invalid escape sequence: `\\1`"
        );
        assert_eq!(
            fails(r"a**"),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
        assert_eq!(
            fails(r"x{2}{3}"),
            "error parsing regexp: invalid nested repetition operator: `{2}{3}`"
        );
        assert_eq!(
            fails(r"x*??"),
            "error parsing regexp: invalid nested repetition operator: `*??`"
        );
        assert_eq!(
            fails(r"(?=a)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"
        );
        assert_eq!(
            fails(r"(?<=a)"),
            "error parsing regexp: invalid named capture: `(?<=a)`"
        );
        assert_eq!(
            fails(r"(?P=n)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?P`"
        );
        assert_eq!(
            fails(r"a{1001}"),
            "error parsing regexp: invalid repeat count: `{1001}`"
        );
        assert_eq!(
            fails(r"(a{100}){11}"),
            "error parsing regexp: invalid repeat count: `{11}`"
        );
        assert_eq!(
            fails(r"*"),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            fails(r"a|*"),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            fails(r"[a"),
            "error parsing regexp: missing closing ]: `[a`"
        );
        assert_eq!(
            fails(r"[z-a]"),
            "error parsing regexp: invalid character class range: `z-a`"
        );
        assert_eq!(
            fails(r"[[:foo:]]"),
            "error parsing regexp: invalid character class range: `[:foo:]`"
        );
        assert_eq!(
            fails(r"\pX"),
            "error parsing regexp: invalid character class range: `\\pX`"
        );
        assert_eq!(fails(r"a)"), "error parsing regexp: unexpected ): `a)`");
        assert_eq!(
            fails(r"(a"),
            "error parsing regexp: missing closing ): `(a`"
        );
        assert_eq!(
            fails("a\\"),
            "error parsing regexp: trailing backslash at end of expression: ``"
        );
        assert_eq!(
            fails(r"\C"),
            "error parsing regexp: invalid escape sequence: `\\C`"
        );
        assert_eq!(
            fails(r"\e"),
            "error parsing regexp: invalid escape sequence: `\\e`"
        );
        assert_eq!(
            fails(r"(?x)a"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?x`"
        );
        assert_eq!(
            fails(r"(?i-)a"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?i-)`"
        );
        assert_eq!(
            fails(r"(?P<>a)"),
            "error parsing regexp: invalid named capture: `(?P<>`"
        );
    }

    #[test]
    fn every_translation_compiles() {
        for p in [
            r"\d+\.\d+",
            r"(?i)ſ",
            r"[\p{Greek}\d]",
            r"\p{^L}",
            r"\PN",
            r"[[:^alpha:]x]",
            r"(?U)a+",
            r"(?m)^a$",
            r"x{0}",
            r"((a{10}){10}){10}",
            r"(?:)",
            r"()|",
            r"[]a]",
            r"[^\x00-\x{10FFFF}]",
            r"\pL{3}",
            r"(?s).",
            r"\Q",
            r"a\Q\E*",
            r"[-a-]",
            r"a{,3}",
            r"\x{D800}[\x{D800}]",
        ] {
            let t = ok(p);
            regex::Regex::new(&t).unwrap_or_else(|e| panic!("{p} -> {t}: {e}"));
        }
    }
}
