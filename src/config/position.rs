//! Where things are in a YAML file: an index from YAML path (`scrape_configs[2].job_name`) to
//! line and column, so that errors found after parsing (duplicate job names, a timeout greater
//! than its interval) still point at the offending key. Built from the parser's events in one
//! pass, which also rejects a key repeated in one map, as Prometheus' strict YAML decoder does.

use std::collections::{HashMap, HashSet};
use std::fmt;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, Scanner, TScalarStyle, TokenType};

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A key found twice in one map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    /// The path of the map it is repeated in.
    pub map: String,
    pub position: Position,
}

/// A scalar tagged `!!binary` (base64, which Prometheus' decoder decodes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryScalar {
    /// The path of the map or sequence holding it.
    pub parent: String,
    /// Whether it is a map's key.
    pub is_key: bool,
    pub position: Position,
    /// The value as written (base64).
    pub text: String,
    /// The decoded bytes; `None` if `text` is not base64.
    pub decoded: Option<Vec<u8>>,
}

/// Positions of the keys (and sequence items) of one YAML document.
#[derive(Debug, Default)]
pub struct YamlIndex {
    /// Path → position of the key (of the item, for a sequence item).
    nodes: HashMap<String, Position>,
    /// Path → scalar value, for scalar values.
    scalars: HashMap<String, String>,
    /// Sequence path → start of each item, in order.
    items: HashMap<String, Vec<Position>>,
    /// The first key repeated within one map, if any.
    pub duplicate: Option<DuplicateKey>,
    /// Scalars tagged `!!binary`, in document order.
    pub binary: Vec<BinaryScalar>,
}

enum Frame {
    Map {
        path: String,
        key: Option<String>,
        seen: HashSet<String>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

fn position(m: &Marker) -> Position {
    Position {
        line: m.line(),
        column: m.col() + 1,
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// Decodes base64 as Go's `base64.StdEncoding` does for go-yaml's `!!binary` (line breaks are
/// ignored, padding is required).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

impl YamlIndex {
    /// Indexes the first document of `text`; `None` if the parser rejects it (the typed
    /// parse then reports the syntax error).
    pub fn build(text: &str) -> Option<YamlIndex> {
        let mut index = YamlIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        // The parser marks an empty sequence item (`-` and nothing) where the next token
        // starts; the `-` tokens tell where it really is.
        let dashes: Vec<Position> = Scanner::new(text.chars())
            .filter(|t| matches!(t.1, TokenType::BlockEntry))
            .map(|t| position(&t.0))
            .collect();
        let mut parser = Parser::new_from_str(text);
        loop {
            let (event, marker) = parser.next_token().ok()?;
            let pos = position(&marker);
            match event {
                Event::StreamEnd | Event::DocumentEnd => break,
                Event::StreamStart | Event::DocumentStart | Event::Nothing => {}
                Event::Scalar(value, style, _, tag) => {
                    let is_binary = tag.as_ref().is_some_and(|t| {
                        matches!(t.handle.as_str(), "tag:yaml.org,2002:" | "!!")
                            && t.suffix == "binary"
                    });
                    if is_binary {
                        let (parent, is_key) = match stack.last() {
                            Some(Frame::Map { path, key, .. }) => (path.clone(), key.is_none()),
                            Some(Frame::Seq { path, .. }) => (path.clone(), false),
                            None => (String::new(), false),
                        };
                        index.binary.push(BinaryScalar {
                            parent,
                            is_key,
                            position: pos,
                            decoded: decode_base64(&value),
                            text: value.clone(),
                        });
                    }
                    let in_seq = matches!(stack.last(), Some(Frame::Seq { .. }));
                    let pos = if in_seq && value.is_empty() && style == TScalarStyle::Plain {
                        // An empty entry's mark is just after its dash.
                        match dashes.iter().rev().find(|d| **d < pos) {
                            Some(d) => Position {
                                line: d.line,
                                column: d.column.saturating_sub(1).max(1),
                            },
                            None => pos,
                        }
                    } else {
                        pos
                    };
                    if let Some(path) = index.node(&mut stack, pos, Some(&value), true) {
                        index.scalars.insert(path, value);
                    }
                }
                Event::Alias(_) => {
                    index.node(&mut stack, pos, None, true);
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let path = index.node(&mut stack, pos, None, false).unwrap_or_default();
                    stack.push(if matches!(event, Event::MappingStart(..)) {
                        Frame::Map {
                            path,
                            key: None,
                            seen: HashSet::new(),
                        }
                    } else {
                        index.items.entry(path.clone()).or_default();
                        Frame::Seq { path, next: 0 }
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                    index.value_done(&mut stack);
                }
            }
        }
        Some(index)
    }

    /// Records a node starting at `pos` (`complete` unless it opens a collection). Returns the
    /// node's path when it is a value (not a key).
    fn node(
        &mut self,
        stack: &mut [Frame],
        pos: Position,
        scalar: Option<&str>,
        complete: bool,
    ) -> Option<String> {
        let Some(top) = stack.last_mut() else {
            return Some(String::new());
        };
        match top {
            Frame::Map { path, key, seen } => match key {
                None => {
                    // A key. Non-scalar keys get a placeholder name.
                    let name = scalar.unwrap_or("?").to_owned();
                    let full = join(path, &name);
                    if seen.is_empty() && path.ends_with(']') {
                        // The parser marks a block map's start at its first key's colon: a
                        // map that is a sequence item starts where its first key does.
                        self.nodes.insert(path.clone(), pos);
                        if let Some((seq, _)) = path.rsplit_once('[') {
                            if let Some(last) = self.items.get_mut(seq).and_then(|v| v.last_mut()) {
                                *last = pos;
                            }
                        }
                    }
                    if name != "<<" && !seen.insert(name.clone()) && self.duplicate.is_none() {
                        self.duplicate = Some(DuplicateKey {
                            key: name.clone(),
                            map: path.clone(),
                            position: pos,
                        });
                    }
                    self.nodes.entry(full).or_insert(pos);
                    *key = Some(name);
                    None
                }
                Some(k) => {
                    let full = join(path, k);
                    if complete {
                        *key = None;
                    }
                    Some(full)
                }
            },
            Frame::Seq { path, next } => {
                let full = format!("{path}[{next}]");
                self.items.entry(path.clone()).or_default().push(pos);
                self.nodes.entry(full.clone()).or_insert(pos);
                if complete {
                    *next += 1;
                }
                Some(full)
            }
        }
    }

    /// A collection value ended: its parent moves on.
    fn value_done(&mut self, stack: &mut [Frame]) {
        match stack.last_mut() {
            Some(Frame::Map { key, .. }) => *key = None,
            Some(Frame::Seq { next, .. }) => *next += 1,
            None => {}
        }
    }

    /// The position of `path`, or of its nearest indexed ancestor.
    pub fn position(&self, path: &str) -> Option<Position> {
        let mut p = path;
        loop {
            if let Some(pos) = self.nodes.get(p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// Every indexed path with its position, in no order.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, Position)> {
        self.nodes.iter().map(|(p, pos)| (p.as_str(), *pos))
    }

    /// The scalar value at `path`, if it is one.
    pub fn scalar(&self, path: &str) -> Option<&str> {
        self.scalars.get(path).map(String::as_str)
    }

    /// Which item of the sequence at `path` holds `pos`.
    pub fn item_at(&self, path: &str, pos: Position) -> Option<usize> {
        let items = self.items.get(path)?;
        let seq_start = self.nodes.get(path).copied();
        if seq_start.is_some_and(|s| pos < s) {
            return None;
        }
        items.iter().rposition(|start| *start <= pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: a
    static_configs:
      - targets: ['x:1']
  - job_name: b
    scrape_timeout: 20s
";

    #[test]
    fn finds_keys_and_items() {
        let idx = YamlIndex::build(DOC).unwrap();
        let at = |p: &str| idx.position(p).map(|p| (p.line, p.column));
        assert_eq!(at("global.scrape_interval"), Some((2, 3)));
        assert_eq!(at("scrape_configs[1].scrape_timeout"), Some((8, 5)));
        assert_eq!(
            at("scrape_configs[0].static_configs[0].targets[0]"),
            Some((6, 19))
        );
        assert_eq!(at("scrape_configs[1].job_name"), Some((7, 5)));
        // Falls back to the nearest ancestor.
        assert_eq!(at("scrape_configs[1].relabel_configs[0]"), Some((7, 5)));
        assert_eq!(idx.scalar("scrape_configs[1].job_name"), Some("b"));
        let pos = Position { line: 8, column: 7 };
        assert_eq!(idx.item_at("scrape_configs", pos), Some(1));
        assert!(idx.duplicate.is_none());
    }

    #[test]
    fn flow_style_is_indexed() {
        let idx = YamlIndex::build("a: {b: [1, {c: 2}], d: x}\n").unwrap();
        assert_eq!(idx.position("a.b[1].c").map(|p| p.column), Some(13));
        assert_eq!(idx.scalar("a.d"), Some("x"));
        assert_eq!(idx.scalar("a.b[0]"), Some("1"));
    }

    #[test]
    fn an_empty_item_is_where_its_dash_is() {
        let idx = YamlIndex::build("a:\n  - x\n  -\n  - y\nb:\n  -\n").unwrap();
        let at = |p: &str| idx.position(p).map(|p| (p.line, p.column));
        assert_eq!(at("a[1]"), Some((3, 3)));
        assert_eq!(at("a[2]"), Some((4, 5)));
        assert_eq!(at("b[0]"), Some((6, 3)));
    }

    #[test]
    fn repeated_keys_are_found() {
        let idx = YamlIndex::build("a: 1\nb:\n  c: 1\n  c: 2\n").unwrap();
        let dup = idx.duplicate.unwrap();
        assert_eq!(dup.key, "c");
        assert_eq!(dup.map, "b");
        assert_eq!((dup.position.line, dup.position.column), (4, 3));
    }

    #[test]
    fn nested_map_at_the_end_of_an_item() {
        let doc = "scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n    tls_config:\n      insecure_skip_verify: True\n";
        let idx = YamlIndex::build(doc).expect("parses");
        assert_eq!(idx.scalar("scrape_configs[0].job_name"), Some("a"));
        let pos = Position {
            line: 3,
            column: 19,
        };
        assert_eq!(idx.item_at("scrape_configs", pos), Some(0), "{idx:?}");
    }
}
