//! Label selectors in PromQL syntax (`{job="node", instance=~"10\\.0\\..*"}`), for the
//! `match[]` filter of the targets API.
//!
//! The four operators `=`, `!=`, `=~`, `!~` behave as in Prometheus 3: regexes are Go's RE2,
//! anchored at both ends with `.` matching a newline, compiled by `relabel::Regexp` (the one RE2
//! translation in promsd; `\d`, `\w`, `\s` and `\b` are ASCII as in RE2, `\s` without `\v`). A
//! label a target lacks has the empty value, so `{team=""}` selects targets without `team`.
//! Label names may be quoted (`{"service.name"="x"}`), as Prometheus 3 allows. String literals
//! take Go's escapes in `"..."` and `'...'`, and none in `` `...` ``.

use std::fmt;

use crate::relabel::Regexp;

/// How a matcher compares a label's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One `name op "value"` condition.
#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<Regexp>,
}

impl Matcher {
    /// Builds a matcher; a regex operator compiles `value` as the relabel rules do (Go's RE2,
    /// anchored, `.` matching a newline).
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Self, String> {
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regexp::new(value)
                    .map_err(|e| format!("invalid regex {value:?} for label {name:?}: {e}"))?,
            ),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            name: name.to_owned(),
            op,
            value: value.to_owned(),
            regex,
        })
    }

    /// Whether a label value (empty when the label is absent) satisfies this matcher.
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            (_, None) => unreachable!("regex matchers always hold a compiled regex"),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

/// A `{...}` selector: every matcher must hold.
#[derive(Clone, Debug, Default)]
pub struct Selector {
    pub matchers: Vec<Matcher>,
}

impl Selector {
    /// Parses `{name op "value", ...}`. The error names what was expected and the byte offset.
    pub fn parse(input: &str) -> Result<Self, String> {
        Parser { input, pos: 0 }.selector()
    }

    /// Whether a target whose label `name` has value `lookup(name)` (absent = "") is selected.
    pub fn matches<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.matchers
            .iter()
            .all(|m| m.matches(lookup(&m.name).unwrap_or("")))
    }
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, what: &str) -> String {
        let found = match self.rest().chars().next() {
            Some(c) => format!("{c:?}"),
            None => "the end".to_owned(),
        };
        format!(
            "bad selector {:?}: expected {what} at offset {}, found {found}",
            self.input, self.pos
        )
    }

    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.input.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn selector(mut self) -> Result<Selector, String> {
        if !self.eat("{") {
            return Err(self.error("'{' (a selector such as {job=\"node\"})"));
        }
        let mut matchers = Vec::new();
        loop {
            if self.eat("}") {
                break;
            }
            let name = self.label_name()?;
            let op = if self.eat("=~") {
                MatchOp::Regex
            } else if self.eat("!~") {
                MatchOp::NotRegex
            } else if self.eat("!=") {
                MatchOp::NotEqual
            } else if self.eat("=") {
                MatchOp::Equal
            } else {
                return Err(self.error("one of =, !=, =~, !~"));
            };
            self.skip_space();
            let value = self.string()?;
            matchers.push(
                Matcher::new(&name, op, &value)
                    .map_err(|e| format!("bad selector {:?}: {e}", self.input))?,
            );
            if self.eat("}") {
                break;
            }
            if !self.eat(",") {
                return Err(self.error("',' or '}'"));
            }
        }
        self.skip_space();
        if !self.rest().is_empty() {
            return Err(self.error("nothing after '}'"));
        }
        Ok(Selector { matchers })
    }

    fn label_name(&mut self) -> Result<String, String> {
        self.skip_space();
        if self.rest().starts_with(['"', '\'', '`']) {
            return self.string();
        }
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            return Err(self.error("a label name"));
        }
        let name = rest[..len].to_owned();
        self.pos += len;
        Ok(name)
    }

    /// A string literal: `"..."` or `'...'` with Go's escapes, or `` `...` `` raw.
    fn string(&mut self) -> Result<String, String> {
        let input: &'a str = self.input;
        let start = self.pos;
        let text = &input[start..];
        let quote = match text.chars().next() {
            Some(q @ ('"' | '\'' | '`')) => q,
            _ => return Err(self.error("a quoted string")),
        };
        let mut out = String::new();
        let mut i = 1;
        while let Some(c) = text[i..].chars().next() {
            if c == quote {
                self.pos = start + i + 1;
                return Ok(out);
            }
            if c != '\\' || quote == '`' {
                out.push(c);
                i += c.len_utf8();
                continue;
            }
            let escape_at = i;
            let Some(e) = text[i + 1..].chars().next() else {
                break;
            };
            i += 2;
            let simple = match e {
                'a' => Some('\x07'),
                'b' => Some('\x08'),
                'f' => Some('\x0c'),
                'n' => Some('\n'),
                'r' => Some('\r'),
                't' => Some('\t'),
                'v' => Some('\x0b'),
                '\\' | '"' | '\'' => Some(e),
                _ => None,
            };
            let decoded = match (simple, e) {
                (Some(s), _) => Some(s),
                (None, 'x') => hex(text, &mut i, 2, 16),
                (None, 'u') => hex(text, &mut i, 4, 16),
                (None, 'U') => hex(text, &mut i, 8, 16),
                (None, '0'..='7') => {
                    i -= 1;
                    hex(text, &mut i, 3, 8)
                }
                _ => None,
            };
            match decoded {
                Some(d) => out.push(d),
                None => {
                    self.pos = start + escape_at;
                    return Err(self.error("a valid escape sequence"));
                }
            }
        }
        self.pos = input.len();
        Err(self.error(&format!("a closing {quote}")))
    }
}

/// Reads `digits` digits of `radix` at `text[*i..]` as one character, advancing `i`.
fn hex(text: &str, i: &mut usize, digits: usize, radix: u32) -> Option<char> {
    let code = text
        .get(*i..*i + digits)
        .filter(|d| d.chars().all(|c| c.is_digit(radix)))
        .and_then(|d| u32::from_str_radix(d, radix).ok())
        .and_then(char::from_u32)?;
    *i += digits;
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(selector: &str, labels: &[(&str, &str)]) -> bool {
        let selector = Selector::parse(selector).unwrap();
        selector.matches(|name| labels.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
    }

    #[test]
    fn the_four_operators() {
        let labels = [("job", "node"), ("instance", "10.0.0.1:9100")];
        assert!(select(r#"{job="node"}"#, &labels));
        assert!(!select(r#"{job="nod"}"#, &labels));
        assert!(select(r#"{job!="api"}"#, &labels));
        assert!(!select(r#"{job!="node"}"#, &labels));
        assert!(select(r#"{instance=~"10\\.0\\..*"}"#, &labels));
        assert!(!select(r#"{instance!~"10\\.0\\..*"}"#, &labels));
        assert!(select(r#"{job="node", instance=~".*:9100"}"#, &labels));
        assert!(!select(r#"{job="node", instance=~".*:9200"}"#, &labels));
    }

    #[test]
    fn regexes_are_anchored_and_dot_matches_newline() {
        assert!(!select(r#"{job=~"nod"}"#, &[("job", "node")]));
        assert!(!select(r#"{job=~"ode"}"#, &[("job", "node")]));
        assert!(select(r#"{job=~"no|node"}"#, &[("job", "node")]));
        assert!(select(r#"{v=~"a.b"}"#, &[("v", "a\nb")]));
    }

    #[test]
    fn an_absent_label_is_empty() {
        assert!(select(r#"{team=""}"#, &[("job", "node")]));
        assert!(!select(r#"{team!=""}"#, &[("job", "node")]));
        assert!(select(r#"{team=~"|x"}"#, &[]));
        assert!(select("{}", &[]));
    }

    #[test]
    fn digit_and_word_classes_are_ascii_as_in_re2() {
        assert!(select(r#"{v=~"\\d+"}"#, &[("v", "123")]));
        assert!(!select(r#"{v=~"\\d+"}"#, &[("v", "١٢٣")]));
        assert!(!select(r#"{v=~"\\w+"}"#, &[("v", "é")]));
        assert!(select(r#"{v=~"[\\d.]+"}"#, &[("v", "1.2")]));
        assert!(select(r#"{v=~"[[a]+"}"#, &[("v", "[a[")]));
        assert!(select(r#"{v=~"[]a]+"}"#, &[("v", "]a")]));
        assert!(select(r#"{v=~"[[:alpha:]]+"}"#, &[("v", "abc")]));
        assert!(select(r#"{v=~"[a&&b]+"}"#, &[("v", "a&b")]));
    }

    #[test]
    fn space_class_is_re2s_without_vertical_tab() {
        // RE2's \s is [\t\n\f\r ]: a vertical tab is not a space, in or out of a class.
        assert!(select(r#"{v=~"a\\sb"}"#, &[("v", "a b")]));
        assert!(select(r#"{v=~"a\\sb"}"#, &[("v", "a\tb")]));
        assert!(!select(r#"{v=~"a\\sb"}"#, &[("v", "a\u{b}b")]));
        assert!(!select(r#"{v=~"a[\\s]b"}"#, &[("v", "a\u{b}b")]));
        assert!(select(r#"{v=~"a\\Sb"}"#, &[("v", "a\u{b}b")]));
    }

    #[test]
    fn quoting_escapes_and_spacing() {
        assert!(select(
            r#" { "service.name" = 'a\'b' , x=`c\d`, y="\x41\u00e9\101\n", } "#,
            &[("service.name", "a'b"), ("x", "c\\d"), ("y", "Aé\u{41}\n")]
        ));
    }

    #[test]
    fn errors_name_what_was_expected_and_where() {
        let error = Selector::parse(r#"job="node""#).unwrap_err();
        assert!(error.contains("expected '{'"), "{error}");
        let error = Selector::parse(r#"{job=="node"}"#).unwrap_err();
        assert!(error.contains("a quoted string at offset 5"), "{error}");
        let error = Selector::parse(r#"{job="node""#).unwrap_err();
        assert!(error.contains("',' or '}'"), "{error}");
        let error = Selector::parse(r#"{job~"node"}"#).unwrap_err();
        assert!(
            error.contains("one of =, !=, =~, !~ at offset 4"),
            "{error}"
        );
        let error = Selector::parse(r#"{job=~"(node"}"#).unwrap_err();
        assert!(error.contains("invalid regex \"(node\""), "{error}");
        let error = Selector::parse(r#"{job="no"} x"#).unwrap_err();
        assert!(error.contains("nothing after '}'"), "{error}");
        let error = Selector::parse(r#"{job="a\qb"}"#).unwrap_err();
        assert!(error.contains("a valid escape sequence"), "{error}");
        let error = Selector::parse(r#"{1job="a"}"#).unwrap_err();
        assert!(error.contains("a label name at offset 1"), "{error}");
    }
}
